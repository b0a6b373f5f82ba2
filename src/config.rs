//! The switcher config file (README, "Configuration"): JSON5, every field optional, unknown
//! fields rejected at any depth with the field's path and position, so typos never pass silently.
//!
//! It is read as written, then checked into a [`Config`] whose values are what they mean:
//! durations as durations, each `sources` entry as its kind's own fields.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, Visitor};

use crate::engine::Policy;
use crate::quota::Level;
use crate::source::{RawSource, SourceConfig};
use crate::target::Candidate;
use crate::time::seconds;

/// A valid config.
#[derive(Clone, Debug, Default)]
pub struct Config {
    pub targets: Option<Vec<String>>,
    pub poll_interval: Option<Duration>,
    pub recovery_hold: Option<u32>,
    pub switch_at: Option<SwitchAt>,
    pub thresholds: Option<ThresholdsConfig>,
    pub provider_thresholds: Option<BTreeMap<String, ProviderThresholds>>,
    pub safety_margin: Option<Duration>,
    pub stale_after: Option<Duration>,
    pub aliases: Option<BTreeMap<String, String>>,
    pub fallbacks: Option<BTreeMap<String, Vec<Candidate>>>,
    pub profiles: Option<BTreeMap<String, ProfileConfig>>,
    pub sources: Option<Vec<SourceConfig>>,
    pub on_switch: Option<Vec<String>>,
    /// Read the signals dir as a source (README, "Signals"); `None` means yes.
    pub signals: Option<bool>,
    /// Desktop notifications; `None`: on when a desktop session is present.
    pub notify: Option<bool>,
    /// What is valid but probably not meant, found by [`Config::parse`].
    pub warnings: Vec<ConfigError>,
}

/// A field's path (`sources[1].region`) and what is wrong with it, or worth a warning.
type FieldNote = (String, String);

/// The config as written: what [`Config::parse`] checks.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Written {
    targets: Option<Vec<String>>,
    poll_interval: Option<f64>,
    recovery_hold: Option<u32>,
    switch_at: Option<SwitchAt>,
    thresholds: Option<ThresholdsConfig>,
    #[serde(default, deserialize_with = "some_unique_keys")]
    provider_thresholds: Option<BTreeMap<String, ProviderThresholds>>,
    safety_margin: Option<f64>,
    stale_after: Option<f64>,
    #[serde(default, deserialize_with = "some_unique_keys")]
    aliases: Option<BTreeMap<String, String>>,
    #[serde(default, deserialize_with = "some_unique_keys")]
    fallbacks: Option<BTreeMap<String, Vec<Candidate>>>,
    #[serde(default, deserialize_with = "some_unique_keys")]
    profiles: Option<BTreeMap<String, ProfileConfig>>,
    sources: Option<Vec<RawSource>>,
    on_switch: Option<Vec<String>>,
    signals: Option<bool>,
    notify: Option<bool>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SwitchAt {
    Yellow,
    Red,
}

impl From<SwitchAt> for Level {
    fn from(s: SwitchAt) -> Level {
        match s {
            SwitchAt::Yellow => Level::Yellow,
            SwitchAt::Red => Level::Red,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdsConfig {
    pub yellow: Option<f64>,
    pub red: Option<f64>,
}

/// `{yellow?, red?, <window>: {yellow?, red?}}`: the provider's own levels beside per-window ones.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProviderThresholds {
    pub provider: ThresholdsConfig,
    pub windows: BTreeMap<String, ThresholdsConfig>,
}

impl<'de> Deserialize<'de> for ProviderThresholds {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ProviderThresholds;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of `yellow`, `red` and per-window `{yellow, red}` objects")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = ProviderThresholds::default();
                let mut seen = std::collections::HashSet::new();
                while let Some(key) = map.next_key::<String>()? {
                    if !seen.insert(key.clone()) {
                        return Err(twice(&key));
                    }
                    match key.as_str() {
                        "yellow" => out.provider.yellow = Some(map.next_value()?),
                        "red" => out.provider.red = Some(map.next_value()?),
                        _ => {
                            out.windows.insert(key, map.next_value_seed(Window)?);
                        }
                    }
                }
                Ok(out)
            }
        }
        deserializer.deserialize_map(V)
    }
}

/// JSON5 lets an object give a key twice, and the last would silently win; in a config that is
/// always a mistake.
fn twice<E: serde::de::Error>(key: &str) -> E {
    E::custom(format_args!("`{key}` is given twice"))
}

/// An object as a map, refusing a key given twice.
fn unique_keys<'de, D, V>(deserializer: D) -> Result<BTreeMap<String, V>, D::Error>
where
    D: Deserializer<'de>,
    V: Deserialize<'de>,
{
    struct Unique<V>(std::marker::PhantomData<V>);
    impl<'de, V: Deserialize<'de>> Visitor<'de> for Unique<V> {
        type Value = BTreeMap<String, V>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some(key) = map.next_key::<String>()? {
                if out.contains_key(&key) {
                    return Err(twice(&key));
                }
                let value = map.next_value()?;
                out.insert(key, value);
            }
            Ok(out)
        }
    }
    deserializer.deserialize_map(Unique(std::marker::PhantomData))
}

/// [`unique_keys`] for an optional field, where `null` is as good as absent.
fn some_unique_keys<'de, D, V>(deserializer: D) -> Result<Option<BTreeMap<String, V>>, D::Error>
where
    D: Deserializer<'de>,
    V: Deserialize<'de>,
{
    struct Map<V>(BTreeMap<String, V>);
    impl<'de, V: Deserialize<'de>> Deserialize<'de> for Map<V> {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            unique_keys(deserializer).map(Map)
        }
    }
    Ok(Option::<Map<V>>::deserialize(deserializer)?.map(|m| m.0))
}

/// A window's entry in `provider_thresholds`, which must be an object: a number there is most
/// likely a misspelt `yellow` or `red`, and the error says so rather than just "expected `{`".
struct Window;

impl<'de> DeserializeSeed<'de> for Window {
    type Value = ThresholdsConfig;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Window {
    type Value = ThresholdsConfig;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "a window's `{yellow, red}` object (a provider's own levels are `yellow` and `red`)",
        )
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        ThresholdsConfig::deserialize(serde::de::value::MapAccessDeserializer::new(map))
    }
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileConfig {
    pub provider: String,
    pub model: Option<String>,
    #[serde(default, deserialize_with = "unique_keys")]
    pub env: BTreeMap<String, String>,
}

/// A config that cannot be used, located as precisely as possible.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub file: PathBuf,
    /// 1-based line and column, when known.
    pub position: Option<(usize, usize)>,
    /// The field's path (`thresholds.yelow`, `sources[1].region`), when known.
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "config {}", self.file.display())?;
        if let Some((line, column)) = self.position {
            write!(f, ":{line}:{column}")?;
        }
        f.write_str(": ")?;
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        f.write_str(&self.message)
    }
}

impl ConfigError {
    /// An error of `field`, placed where `text`, the file's, writes it (see [`locate`]).
    pub(crate) fn at_field(file: &Path, text: &str, field: String, message: String) -> Self {
        ConfigError {
            file: file.to_owned(),
            position: locate(text, &field),
            field: Some(field),
            message,
        }
    }
}

impl Config {
    /// Parses and validates a config file's text.
    pub fn parse(text: &str, file: &Path) -> Result<Config, ConfigError> {
        // `touch config.json5` is a natural first step: say what the file needs.
        if text.trim().is_empty() {
            return Err(ConfigError {
                file: file.to_owned(),
                position: Some((1, 1)),
                field: None,
                message: "the file is empty: a config is one JSON5 object, `{}` at the least"
                    .to_owned(),
            });
        }
        let mut de = json5::Deserializer::from_str(text);
        let written: Written = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            // `?` stands for a member the deserializer had not named yet.
            let path = e.path().to_string();
            let path = path.strip_suffix(".?").unwrap_or(&path);
            let field = (path != "?" && path != ".").then(|| path.to_owned());
            syntax_error(text, file, field, e.into_inner())
        })?;
        // The deserializer stops after the config object; a second object or a stray tail after
        // it must not be ignored silently. `from_str` checks for one.
        json5::from_str::<serde::de::IgnoredAny>(text)
            .map_err(|e| syntax_error(text, file, None, e))?;
        let placed =
            |(field, message): FieldNote| ConfigError::at_field(file, text, field, message);
        let (mut config, warnings) = written.check().map_err(placed)?;
        config.warnings = warnings.into_iter().map(placed).collect();
        Ok(config)
    }
}

impl Written {
    /// Checks what the types alone cannot: ranges, required fields, fields valid for a kind.
    /// Returns the config with the warnings.
    fn check(self) -> Result<(Config, Vec<FieldNote>), FieldNote> {
        let mut warnings = Vec::new();
        let err = |field: &str, message: &str| Err((field.to_owned(), message.to_owned()));
        let poll_interval = duration("poll_interval", self.poll_interval, true)?;
        let safety_margin = duration("safety_margin", self.safety_margin, false)?;
        let stale_after = duration("stale_after", self.stale_after, false)?;
        // Each level is checked against what it inherits, so a `yellow` that only clashes with
        // the default `red` is caught, and the message says where the other value came from.
        let built_in = Policy::default().thresholds;
        let defaults = [
            InForce::new(built_in.yellow, "the default"),
            InForce::new(built_in.red, "the default"),
        ];
        let global = check_thresholds(
            "thresholds",
            self.thresholds.as_ref(),
            &defaults,
            &mut warnings,
        )?;
        for (provider, p) in self.provider_thresholds.iter().flatten() {
            let field = format!("provider_thresholds.{provider}");
            let inherited = check_thresholds(&field, Some(&p.provider), &global, &mut warnings)?;
            for (window, t) in &p.windows {
                let field = format!("{field}.{window}");
                check_thresholds(&field, Some(t), &inherited, &mut warnings)?;
            }
        }
        for (i, target) in self.targets.iter().flatten().enumerate() {
            if target.trim().is_empty() {
                return err(&format!("targets[{i}]"), "a target path must not be empty");
            }
        }
        for (from, to) in self.aliases.iter().flatten() {
            if from.trim().is_empty() || to.trim().is_empty() {
                return err(&format!("aliases.{from}"), "alias names must not be empty");
            }
        }
        for (model, chain) in self.fallbacks.iter().flatten() {
            for (i, candidate) in chain.iter().enumerate() {
                let field = format!("fallbacks.{model}[{i}]");
                match candidate {
                    Candidate::Model(id) if id.trim().is_empty() => {
                        return err(&field, "a fallback must not be empty");
                    }
                    Candidate::Profile(name)
                        if !self.profiles.as_ref().is_some_and(|p| p.contains_key(name)) =>
                    {
                        return err(&field, &format!("no profile named `{name}` in `profiles`"));
                    }
                    _ => {}
                }
            }
        }
        for (name, profile) in self.profiles.iter().flatten() {
            if profile.provider.trim().is_empty() {
                return err(&format!("profiles.{name}.provider"), "must not be empty");
            }
            if profile.env.is_empty() && profile.model.is_none() {
                return err(
                    &format!("profiles.{name}"),
                    "a profile must set `env` or `model`",
                );
            }
        }
        let sources = self
            .sources
            .map(|entries| {
                let read = |(i, raw)| {
                    SourceConfig::read(raw).map_err(|(name, m)| (format!("sources[{i}].{name}"), m))
                };
                entries.into_iter().enumerate().map(read).collect()
            })
            .transpose()?;
        if self
            .on_switch
            .as_ref()
            .is_some_and(|argv| argv.first().is_none_or(|c| c.is_empty()))
        {
            return err("on_switch", "must name a command: [\"program\", \"arg\"…]");
        }
        let config = Config {
            targets: self.targets,
            poll_interval,
            recovery_hold: self.recovery_hold,
            switch_at: self.switch_at,
            thresholds: self.thresholds,
            provider_thresholds: self.provider_thresholds,
            safety_margin,
            stale_after,
            aliases: self.aliases,
            fallbacks: self.fallbacks,
            profiles: self.profiles,
            sources,
            on_switch: self.on_switch,
            signals: self.signals,
            notify: self.notify,
            warnings: Vec::new(),
        };
        Ok((config, warnings))
    }
}

/// A json5 error as a config error, placed: json5 gives errors at the end of the text no
/// position, so they get the end's.
fn syntax_error(text: &str, file: &Path, field: Option<String>, e: json5::Error) -> ConfigError {
    use json5::ErrorCode as C;
    let eof = matches!(
        e.code(),
        Some(
            C::EofParsingArray
                | C::EofParsingBool
                | C::EofParsingComment
                | C::EofParsingEscapeSequence
                | C::EofParsingIdentifier
                | C::EofParsingNull
                | C::EofParsingNumber
                | C::EofParsingObject
                | C::EofParsingString
                | C::EofParsingValue
        )
    );
    let position = e
        .position()
        .map(|p| (p.line + 1, p.column + 1))
        .or_else(|| eof.then(|| line_column(text, text.len())));
    // json5 places a key given twice at the object that holds it: point at the second one.
    let position = match (position, twice_named(&e.to_string())) {
        (Some((line, column)), Some(key)) => (offset(text, line, column)
            .and_then(|open| duplicate_key(text, open, key)))
        .map_or(position, |at| Some(line_column(text, at))),
        _ => position,
    };
    let message = match e.code() {
        Some(C::TrailingCharacters) => "unexpected text after the config object".to_owned(),
        Some(C::ExpectedOpeningBracket) => "expected an array, `[…]`".to_owned(),
        Some(C::ExpectedOpeningBrace) => "expected an object, `{…}`".to_owned(),
        _ => {
            let message = e.to_string();
            let message = match message.rfind(" at line ") {
                Some(i) => message[..i].to_owned(),
                None => message,
            };
            match message.strip_prefix("EOF parsing ") {
                Some(what) if eof => format!("the file ends inside {what}"),
                _ => message,
            }
        }
    };
    ConfigError {
        file: file.to_owned(),
        position,
        field,
        message,
    }
}

/// The key a "given twice" error names: serde's own message for a struct's field, or ours for
/// a map's key.
fn twice_named(message: &str) -> Option<&str> {
    let key = (message.strip_prefix("duplicate field `")).or_else(|| {
        message
            .strip_prefix('`')
            .filter(|_| message.contains("` is given twice"))
    })?;
    key.split('`').next()
}

/// Where each line of `text` starts, lines broken as JSON5 breaks them (LF, CRLF, CR, U+2028,
/// U+2029), so that the positions given here agree with json5's own.
fn line_starts(text: &str) -> Vec<usize> {
    let mut starts = vec![0];
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\r' if chars.peek().is_some_and(|&(_, next)| next == '\n') => {}
            '\n' | '\r' | '\u{2028}' | '\u{2029}' => starts.push(i + c.len_utf8()),
            _ => {}
        }
    }
    starts
}

/// The 1-based line and column (in characters) of byte `at` in `text`.
fn line_column(text: &str, at: usize) -> (usize, usize) {
    let starts = line_starts(text);
    let line = starts.partition_point(|&start| start <= at);
    (line, text[starts[line - 1]..at].chars().count() + 1)
}

/// The byte offset of 1-based `line` and `column` (in characters) in `text`, if there is one.
fn offset(text: &str, line: usize, column: usize) -> Option<usize> {
    let starts = line_starts(text);
    let start = *starts.get(line.checked_sub(1)?)?;
    let end = starts.get(line).copied().unwrap_or(text.len());
    (text[start..end].char_indices())
        .nth(column.checked_sub(1)?)
        .map(|(i, _)| start + i)
}

/// Where the second member named `key` of the object opening at `open` starts.
fn duplicate_key(text: &str, open: usize, key: &str) -> Option<usize> {
    let mut named = children(text, open).filter(|c| c.name.as_deref() == Some(key));
    named.nth(1).map(|second| second.start)
}

/// Where `field` (`sources[1].kind`, `provider_thresholds.zai.five_hour`, as the checks name
/// them) is written in `text`, a config that parses: the line and column of its member's name or
/// its array element, or of the nearest enclosing one that is written (a required field that is
/// missing is placed at its entry). `None` when not even the top-level field is written. A key
/// that holds a dot (`fallbacks.zai/glm-4.6`) is matched whole: at each object the longest name
/// that the rest of the field starts with wins.
fn locate(text: &str, field: &str) -> Option<(usize, usize)> {
    let (mut open, mut rest, mut found) = (skip_trivia(text, 0), field, None);
    while let Some(child) = child_at(text, open, &mut rest) {
        found = Some(child.start);
        open = child.value;
    }
    found.map(|at| line_column(text, at))
}

/// The child of the container at `open` that `rest` (`.name…` or `[index]…`) begins with, if it
/// is written; `rest` is left with what follows it.
fn child_at<'t>(text: &'t str, open: usize, rest: &mut &str) -> Option<Child<'t>> {
    if rest.is_empty() {
        return None;
    }
    if let Some(index) = rest.strip_prefix('[') {
        let (index, after) = index.split_once(']')?;
        let child = children(text, open).nth(index.parse().ok()?)?;
        *rest = after;
        return Some(child);
    }
    let path = rest.strip_prefix('.').unwrap_or(rest);
    let named = |name: &str| {
        path.strip_prefix(name)
            .is_some_and(|after| after.is_empty() || after.starts_with(['.', '[']))
    };
    let child = children(text, open)
        .filter(|c| c.name.as_deref().is_some_and(named))
        .max_by_key(|c| c.name.as_deref().map_or(0, str::len))?;
    *rest = &path[child.name.as_deref().map_or(0, str::len)..];
    Some(child)
}

/// A member of an object (with its name) or an element of an array (without): where it starts,
/// and where its value does.
struct Child<'t> {
    name: Option<Cow<'t, str>>,
    start: usize,
    value: usize,
}

/// The members of the object, or the elements of the array, whose bracket is at `open` (none if
/// there is no bracket there). A name is given as it reads, escapes decoded.
fn children(text: &str, open: usize) -> impl Iterator<Item = Child<'_>> {
    let bytes = text.as_bytes();
    let object = bytes.get(open) == Some(&b'{');
    let container = object || bytes.get(open) == Some(&b'[');
    let mut at = open + 1;
    std::iter::from_fn(move || {
        if !container {
            return None;
        }
        at = skip_trivia(text, at);
        if matches!(bytes.get(at), None | Some(b'}' | b']')) {
            return None;
        }
        let start = at;
        let (name, value) = if object {
            let name_end = skip_token(text, start);
            let name = name_as_read(&text[start..name_end]);
            // The name, then `:`, then the value. (A text that json5 stopped reading at a name
            // given twice may have something else after that name.)
            let colon = skip_trivia(text, name_end);
            let value = colon + usize::from(bytes.get(colon) == Some(&b':'));
            (Some(name), skip_trivia(text, value))
        } else {
            (None, start)
        };
        // Past the value to the comma after it, if any.
        at = skip_trivia(text, skip_token(text, value));
        if bytes.get(at) == Some(&b',') {
            at += 1;
        }
        Some(Child { name, start, value })
    })
}

/// A member's name as written (quoted or not) as it reads: without its quotes, escapes decoded
/// (`"poll_\u0069nterval"`).
fn name_as_read(written: &str) -> Cow<'_, str> {
    let quoted = matches!(written.as_bytes(), [b'"', .., b'"'] | [b'\'', .., b'\'']);
    if written.contains('\\') {
        let string = if quoted {
            written.into()
        } else {
            format!("\"{written}\"")
        };
        Cow::Owned(json5::from_str(&string).unwrap_or_default())
    } else if quoted {
        Cow::Borrowed(&written[1..written.len() - 1])
    } else {
        Cow::Borrowed(written)
    }
}

/// Past whitespace and comments from `at`.
fn skip_trivia(text: &str, mut at: usize) -> usize {
    loop {
        let rest = &text[at..];
        let trimmed = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
        at += rest.len() - trimmed.len();
        if trimmed.starts_with("//") {
            at += trimmed
                .find(['\n', '\r', '\u{2028}', '\u{2029}'])
                .unwrap_or(trimmed.len());
        } else if let Some(comment) = trimmed.strip_prefix("/*") {
            at += comment.find("*/").map_or(trimmed.len(), |end| end + 4);
        } else {
            return at;
        }
    }
}

/// Past the token or the whole value that starts at `at`: a string, a container with all it
/// holds, or a name, number or keyword.
fn skip_token(text: &str, at: usize) -> usize {
    let bytes = text.as_bytes();
    match bytes.get(at) {
        Some(&quote @ (b'"' | b'\'')) => {
            let mut end = at + 1;
            while end < bytes.len() && bytes[end] != quote {
                end += if bytes[end] == b'\\' { 2 } else { 1 };
            }
            (end + 1).min(bytes.len())
        }
        Some(b'{' | b'[') => {
            let mut end = at + 1;
            loop {
                end = skip_trivia(text, end);
                match bytes.get(end) {
                    None => return bytes.len(),
                    Some(b'}' | b']') => return end + 1,
                    Some(b',' | b':') => end += 1,
                    Some(_) => end = skip_token(text, end),
                }
            }
        }
        // A name, a number or a keyword ends where a delimiter, a space or a comment begins.
        _ => {
            let rest = &text[at..];
            let end = rest
                .find(|c: char| c.is_whitespace() || c == '\u{feff}' || ",:{}[]/\"'".contains(c))
                .unwrap_or(rest.len());
            // At least one character, whole (none at the end of the text).
            at + end.max(rest.chars().next().map_or(0, char::len_utf8))
        }
    }
}

/// A number of seconds as a duration (see [`seconds`]); the error names `field`.
fn duration(
    field: &str,
    value: Option<f64>,
    positive: bool,
) -> Result<Option<Duration>, FieldNote> {
    value
        .map(|v| seconds(v, positive))
        .transpose()
        .map_err(|m| (field.to_owned(), m))
}

/// A threshold in force at some level of the config, and where it was set.
#[derive(Clone, Debug)]
struct InForce {
    value: f64,
    from: String,
}

impl InForce {
    fn new(value: f64, from: &str) -> InForce {
        InForce {
            value,
            from: from.to_owned(),
        }
    }
}

/// Checks one level of thresholds over what it inherits (`[yellow, red]`) and returns what is
/// in force beneath it. Both set at one level with yellow above red is an error; a clash with an
/// inherited value is a warning, since the one set may be all the user meant to change (a window
/// whose yellow is above its red goes from GREEN straight to RED).
fn check_thresholds(
    field: &str,
    t: Option<&ThresholdsConfig>,
    inherited: &[InForce; 2],
    warnings: &mut Vec<FieldNote>,
) -> Result<[InForce; 2], FieldNote> {
    let t = t.copied().unwrap_or_default();
    let mut in_force = inherited.clone();
    for ((name, value), slot) in [("yellow", t.yellow), ("red", t.red)]
        .into_iter()
        .zip(&mut in_force)
    {
        let Some(v) = value else { continue };
        if !(0.0..=100.0).contains(&v) {
            return Err((
                format!("{field}.{name}"),
                format!("expected a percentage 0-100, got {v}"),
            ));
        }
        *slot = InForce::new(v, &format!("{field}.{name}"));
    }
    let [yellow, red] = &in_force;
    if yellow.value > red.value {
        let (y, r) = (yellow.value, red.value);
        let never = "so it goes from GREEN straight to RED";
        match (t.yellow.is_some(), t.red.is_some()) {
            (true, true) => {
                let message = format!("yellow ({y}) must not be above red ({r})");
                return Err((field.to_owned(), message));
            }
            (true, false) => warnings.push((
                field.to_owned(),
                format!("yellow ({y}) is above red ({r}, {}), {never}", red.from),
            )),
            (false, true) => warnings.push((
                field.to_owned(),
                format!("red ({r}) is below yellow ({y}, {}), {never}", yellow.from),
            )),
            // Inherited as they are, and warned about where they were set.
            (false, false) => {}
        }
    }
    Ok(in_force)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, String> {
        Config::parse(text, Path::new("c.json5")).map_err(|e| e.to_string())
    }

    #[test]
    fn parses_the_spec_example() {
        let config = parse(crate::fuzz::config::FULL).unwrap();
        let pt = &config.provider_thresholds.unwrap()["anthropic"];
        assert_eq!(pt.provider.red, Some(85.0));
        assert_eq!(pt.windows["seven_day"].yellow, Some(80.0));
    }

    #[test]
    fn unknown_fields_are_named_at_any_depth() {
        let e = parse("{thresholds: {yelow: 3}}").unwrap_err();
        assert_eq!(
            e,
            "config c.json5:1:15: thresholds.yelow: unknown field `yelow`, expected `yellow` or `red`"
        );
        let e = parse("{provider_thresholds: {anthropic: {seven_day: {rd: 3}}}}").unwrap_err();
        assert!(
            e.contains("provider_thresholds.anthropic.seven_day.rd: unknown field `rd`"),
            "{e}"
        );
        let e = parse("{provider_thresholds: {zai: {redd: 85}}}").unwrap_err();
        assert_eq!(
            e,
            "config c.json5:1:36: provider_thresholds.zai.redd: invalid type: integer `85`, \
             expected a window's `{yellow, red}` object (a provider's own levels are `yellow` \
             and `red`)"
        );
        let e = parse("{profiles: {glm: {provider: 'zai', envv: {}}}}").unwrap_err();
        assert!(e.contains("profiles.glm.envv: unknown field"), "{e}");
        let e = parse("{pol_interval: 3}").unwrap_err();
        assert!(e.contains("pol_interval: unknown field"), "{e}");
    }

    #[test]
    fn validation_names_the_field() {
        let cases = [
            (
                "{thresholds: {yellow: 95, red: 90}}",
                "thresholds: yellow (95) must not be above red (90)",
            ),
            (
                "{thresholds: {red: 190}}",
                "thresholds.red: expected a percentage",
            ),
            (
                "{provider_thresholds: {zai: {five_hour: {yellow: 95, red: 90}}}}",
                "provider_thresholds.zai.five_hour: yellow (95) must not be above red (90)",
            ),
            (
                "{poll_interval: 0}",
                "poll_interval: expected a positive number",
            ),
            (
                "{switch_at: 'orange'}",
                "switch_at: unknown variant `orange`",
            ),
            (
                "{sources: [{kind: 'claude', region: 'china'}]}",
                "sources[0].region: not a field of source kind `claude`",
            ),
            (
                "{sources: [{kind: 'nope'}]}",
                "sources[0].kind: unknown source kind `nope`",
            ),
            (
                "{sources: [{kind: 'file'}]}",
                "sources[0].path: required for source kind `file`",
            ),
            (
                "{sources: [{kind: 'file', path: 'q', pth: 1}]}",
                "sources[0].pth: unknown field",
            ),
            (
                "{fallbacks: {opus: ['profile:nope']}}",
                "fallbacks.opus[0]: no profile named `nope`",
            ),
            ("{on_switch: []}", "on_switch: must name a command"),
            (
                "{targets: ['a.json', ' ']}",
                "targets[1]: a target path must not be empty",
            ),
            ("{aliases: {a: 'x', a: 'y'}}", "aliases: `a` is given twice"),
            (
                "{provider_thresholds: {zai: {red: 80, red: 85}}}",
                "provider_thresholds.zai: `red` is given twice",
            ),
            (
                "{profiles: {g: {provider: 'zai', env: {A: '1', A: '2'}}}}",
                "profiles.g.env: `A` is given twice",
            ),
            ("{recovery_hold: -1}", "recovery_hold: invalid value"),
        ];
        for (text, expected) in cases {
            let e = parse(text).unwrap_err();
            assert!(e.contains(expected), "{text}: {e}");
        }
    }

    #[test]
    fn thresholds_that_clash_with_inherited_ones_are_warned_about() {
        let warnings = |text: &str| -> Vec<String> {
            let config = Config::parse(text, Path::new("c.json5")).unwrap();
            config.warnings.iter().map(ToString::to_string).collect()
        };
        let never = "so it goes from GREEN straight to RED";
        assert_eq!(
            warnings("{thresholds: {yellow: 95}}"),
            [format!(
                "config c.json5:1:2: thresholds: yellow (95) is above red (90, the default), {never}"
            )]
        );
        assert_eq!(
            warnings("{thresholds: {red: 50}, provider_thresholds: {zai: {yellow: 40}}}"),
            [format!(
                "config c.json5:1:2: thresholds: red (50) is below yellow (75, the default), {never}"
            )]
        );
        assert_eq!(
            warnings("{provider_thresholds: {anthropic: {yellow: 85, five_hour: {red: 80}}}}"),
            [format!(
                "config c.json5:1:48: provider_thresholds.anthropic.five_hour: red (80) is below \
                 yellow (85, provider_thresholds.anthropic.yellow), {never}"
            )]
        );
        assert!(
            warnings("{thresholds: {red: 95}, provider_thresholds: {zai: {yellow: 92}}}")
                .is_empty()
        );
    }

    #[test]
    fn a_checked_field_is_placed_at_its_name_or_element() {
        let text = "// sources first\n{\n  sources: [\n    { kind: 'file', path: 'q.json' },\n    /* x */ {kind: \"bogus\"},\n  ],\n  fallbacks: {'zai/glm-4.6': [], zai: ['a/b']},\n  \"profiles\": {p: {provider: 'zai', model: 'a/b'}},\n}\n";
        let cases = [
            ("sources", Some((3, 3))),
            ("sources[1]", Some((5, 13))),
            ("sources[1].kind", Some((5, 14))),
            ("sources[0].path", Some((4, 21))),
            ("sources[2]", Some((3, 3))),
            ("fallbacks.zai/glm-4.6", Some((7, 15))),
            ("fallbacks.zai", Some((7, 34))),
            ("fallbacks.zai[0]", Some((7, 40))),
            ("profiles.p.provider", Some((8, 20))),
            ("profiles.p.model", Some((8, 37))),
            ("profiles.p.env", Some((8, 16))),
            ("thresholds", None),
        ];
        for (field, at) in cases {
            assert_eq!(locate(text, field), at, "{field}");
        }
        let e = Config::parse(text, Path::new("c.json5")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("config c.json5:5:14: sources[1].kind: unknown source kind `bogus`"),
            "{e}"
        );
    }

    #[test]
    fn names_are_matched_as_they_read_and_text_json5_stopped_in_is_walked_safely() {
        let error = |text: &str| Config::parse(text, Path::new("c.json5")).unwrap_err();
        // Escaped names, quoted and not, and a byte-order mark after a name.
        let e = error("{\n  \"poll_\\u0069nterval\": -5 }");
        assert_eq!(e.position, Some((2, 3)), "{e}");
        let e = error("{\n  sour\\u0063es: [{kind: 'bogus'}] }");
        assert_eq!(e.position, Some((2, 19)), "{e}");
        assert_eq!(locate("{kind\u{feff}: 1}", "kind"), Some((1, 2)));
        // json5 stops at a name given twice, before a full-width colon it never read.
        let e = error("{\n  \"poll_interval\": 60,\n  \"poll_interval\"\u{ff1a} 30\n}");
        assert!(
            e.to_string()
                .starts_with("config c.json5:3:3: duplicate field"),
            "{e}"
        );
        let e = error("{profiles: {glm: {provider: 'zai', model: 'm'}, glm\u{ff1a} {}}}");
        assert!(e.to_string().contains("`glm` is given twice"), "{e}");
    }

    /// Placing reads text json5 may have stopped in (a name given twice): any text, any field.
    #[test]
    fn placing_never_panics() {
        use crate::fuzz::{check, config::FULL, jsonish_text, mutated};
        use proptest::prelude::*;
        let texts = prop_oneof![jsonish_text(), mutated(vec![FULL.to_owned()])];
        check("config::placing_never_panics", texts, |text| {
            for field in [
                "sources[1].kind",
                "fallbacks.opus",
                "thresholds",
                "a[9]",
                "[",
                ".",
                "",
            ] {
                let _ = locate(&text, field);
            }
            for (open, _) in text.match_indices(['{', '[']) {
                let _ = duplicate_key(&text, open, "poll_interval");
            }
            Ok(())
        });
    }

    #[test]
    fn text_after_the_config_object_is_an_error() {
        for (tail, at) in [
            ("garbage", "1:19"),
            (" {}", "1:20"),
            ("\n{thresholds: {red: 50}}", "2:1"),
            ("]", "1:19"),
            ("\0", "1:19"),
        ] {
            let text = format!("{{recovery_hold: 1}}{tail}");
            assert_eq!(
                parse(&text).unwrap_err(),
                format!("config c.json5:{at}: unexpected text after the config object"),
                "{text:?}"
            );
        }
        assert!(parse("{recovery_hold: 1} // done\n /* really */ \n").is_ok());
    }

    #[test]
    fn a_key_given_twice_is_placed_at_its_second_occurrence() {
        assert_eq!(
            parse("{\n  recovery_hold: 3,\n  stale_after: 600,\n  recovery_hold: 4,\n}\n")
                .unwrap_err(),
            "config c.json5:4:3: duplicate field `recovery_hold`"
        );
        assert_eq!(
            parse("{\n  thresholds: { red: 90, // red: no\n    yellow: 50, 'red': 80 },\n}")
                .unwrap_err(),
            "config c.json5:3:17: thresholds: duplicate field `red`"
        );
        assert_eq!(
            parse(
                "{\n  fallbacks: { \"a/b\": [\"a/b\", '{'],\n    /* \"a/b\" */ \"a/b\": [] },\n}"
            )
            .unwrap_err(),
            "config c.json5:3:17: fallbacks: `a/b` is given twice"
        );
        // Names with letters beyond ASCII, and lines broken by a lone CR, as JSON5 reads them.
        assert_eq!(
            parse("{aliases: {na: 'x', naïve: 'y',\r  na: 'z'}}").unwrap_err(),
            "config c.json5:2:3: aliases: `na` is given twice"
        );
    }

    #[test]
    fn syntax_errors_have_positions() {
        let e = parse("{\n  recovery_hold: 1\n  bad}").unwrap_err();
        assert!(e.starts_with("config c.json5:3:"), "{e}");
        assert_eq!(
            parse(" \n").unwrap_err(),
            "config c.json5:1:1: the file is empty: a config is one JSON5 object, `{}` at the least"
        );
        assert_eq!(
            parse("{\n  fallbacks: {opus: ['son").unwrap_err(),
            "config c.json5:2:21: fallbacks.opus[0]: the file ends inside string"
        );
        assert_eq!(
            parse("{ fallbacks: {").unwrap_err(),
            "config c.json5:1:14: fallbacks: the file ends inside object"
        );
        assert_eq!(
            parse("{ targets: 'x' }").unwrap_err(),
            "config c.json5:1:12: targets: expected an array, `[…]`"
        );
        assert_eq!(
            parse("{ thresholds: 3 }").unwrap_err(),
            "config c.json5:1:15: thresholds: expected an object, `{…}`"
        );
    }
}
