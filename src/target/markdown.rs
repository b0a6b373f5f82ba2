//! Markdown agent files (OpenCode's and Claude Code's agents defined in Markdown): the YAML front
//! matter between a first line `---` and the next line `---`, and in it the top-level `model:`
//! key. Pure: it finds the value's byte span and rewrites only those bytes, as the JSONC layer
//! does for JSON, so the body, the other keys, comments, line endings and a BOM stay as they were.
//!
//! Only what can be edited exactly is managed: a value on the key's own line, bare or single- or
//! double-quoted, optionally followed by a `# comment`. Every form a YAML reader could see
//! differently from a line scanner — a block scalar, a flow collection, an anchor, an alias, a
//! tag, a value continued on the next line, a second `model:` — is reported as unmanaged with its
//! line and left alone. A null value and `inherit` (Claude Code's "use the parent's model") are
//! not models: such a file has no slot.

use std::ops::Range;

/// How a value is written; a new value keeps its original's style where it can.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Quote {
    Bare,
    Single,
    Double,
}

/// The front matter's `model:` value, as found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ModelValue {
    /// The value's bytes in the file, quotes included, comment and line end excluded.
    pub(crate) span: Range<usize>,
    /// The decoded model id.
    pub(crate) model: String,
    pub(crate) quote: Quote,
    /// 1-based line of the value.
    pub(crate) line: usize,
}

/// What a file's front matter says about its model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Found {
    /// No front matter, no top-level `model:`, or a value that is not a model (null, `inherit`).
    Nothing,
    Model(ModelValue),
    /// A `model:` in a form this module does not edit; `line` is 1-based.
    Unmanaged {
        line: usize,
        why: &'static str,
    },
}

/// One line of the text: where it starts and its content without the line end.
#[derive(Clone, Copy)]
struct Line<'a> {
    start: usize,
    text: &'a str,
}

fn lines(text: &str, from: usize) -> impl Iterator<Item = Line<'_>> {
    let mut pos = from;
    std::iter::from_fn(move || {
        if pos >= text.len() {
            return None;
        }
        let rest = &text[pos..];
        let (len, next) = match rest.find('\n') {
            Some(i) => (i, pos + i + 1),
            None => (rest.len(), text.len()),
        };
        let line = &rest[..len];
        let line = line.strip_suffix('\r').unwrap_or(line);
        let out = Line {
            start: pos,
            text: line,
        };
        pos = next;
        Some(out)
    })
}

/// A front matter delimiter: `---` alone on its line (trailing blanks allowed).
fn is_delimiter(line: &str) -> bool {
    line.trim_end_matches([' ', '\t']) == "---"
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// Finds the top-level `model:` of the front matter.
pub(crate) fn find_model(text: &str) -> Found {
    let start = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let mut all = lines(text, start);
    if !all.next().is_some_and(|first| is_delimiter(first.text)) {
        return Found::Nothing;
    }
    // The front matter's lines, up to (not including) the closing delimiter; none is closed, none.
    let mut matter = Vec::new();
    let mut closed = false;
    for line in all {
        if is_delimiter(line.text) {
            closed = true;
            break;
        }
        matter.push(line);
    }
    if !closed {
        return Found::Nothing;
    }
    let mut models = Vec::new();
    let mut i = 0;
    while i < matter.len() {
        let line = matter[i];
        i += 1;
        let Some((key, value_at)) = top_level_key(line.text) else {
            continue;
        };
        let value = &line.text[value_at..];
        // A quoted value left open continues on the next lines: none of them is a key.
        if let Some(quote) = opening_quote(value)
            && closing_quote(value, quote).is_none()
        {
            while i < matter.len() && closing_quote(matter[i].text, quote).is_none() {
                i += 1;
            }
            i += 1;
        }
        if key == "model" {
            models.push((line, value_at, i));
        }
    }
    match models.as_slice() {
        [] => Found::Nothing,
        [(line, value_at, next)] => read_value(text, &matter, *line, *value_at, *next),
        [_, (second, ..), ..] => Found::Unmanaged {
            line: line_number(text, second.start),
            why: "it is given more than once",
        },
    }
}

/// A line's top-level key and where its value starts (just after the `:`), or `None` for a
/// comment, an indented line or a line without a key.
fn top_level_key(line: &str) -> Option<(String, usize)> {
    let first = line.chars().next()?;
    if is_blank(first) || first == '#' {
        return None;
    }
    let (key, after) = match first {
        '"' | '\'' => {
            let end = closing_quote(line, first)?;
            let key = decode_quoted(&line[..end], first)?;
            let rest = &line[end..];
            let colon = rest.len() - rest.trim_start_matches(is_blank).len();
            (key, end + colon)
        }
        _ => {
            let colon = line
                .char_indices()
                .find(|&(i, c)| c == ':' && line[i + 1..].chars().next().is_none_or(is_blank))?
                .0;
            (line[..colon].trim_end_matches(is_blank).to_owned(), colon)
        }
    };
    line[after..]
        .strip_prefix(':')
        .filter(|rest| rest.chars().next().is_none_or(is_blank))
        .map(|_| (key, after + 1))
}

fn opening_quote(value: &str) -> Option<char> {
    value
        .trim_start_matches(is_blank)
        .chars()
        .next()
        .filter(|c| matches!(c, '"' | '\''))
}

/// The byte just past the quote that closes a scalar opened by `quote` at the start of `text`
/// (after blanks), or `None` when it does not close on this line. On a continuation line (no
/// opening quote) the first closing quote counts.
fn closing_quote(text: &str, quote: char) -> Option<usize> {
    let trimmed = text.trim_start_matches(is_blank);
    let offset = text.len() - trimmed.len();
    let (body_at, body) = match trimmed.strip_prefix(quote) {
        Some(body) => (offset + 1, body),
        None => (0, text),
    };
    let mut chars = body.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match (quote, c) {
            ('"', '\\') => {
                chars.next();
            }
            ('\'', '\'') if chars.peek().is_some_and(|&(_, n)| n == '\'') => {
                chars.next();
            }
            (q, c) if q == c => return Some(body_at + i + 1),
            _ => {}
        }
    }
    None
}

fn line_number(text: &str, at: usize) -> usize {
    text[..at].bytes().filter(|&b| b == b'\n').count() + 1
}

/// Reads the value of the one `model:` line; `next` indexes the front matter line after it.
fn read_value(
    text: &str,
    matter: &[Line<'_>],
    line: Line<'_>,
    value_at: usize,
    next: usize,
) -> Found {
    let number = line_number(text, line.start);
    let unmanaged = |why| Found::Unmanaged { line: number, why };
    let rest = &line.text[value_at..];
    // A lone CR (and, to YAML 1.1 readers, NEL, LS and PS) ends a line: what follows it is not
    // part of the value, whatever a line scanner sees.
    if rest.contains(['\r', '\u{85}', '\u{2028}', '\u{2029}']) {
        return unmanaged("broken by a line break other than LF or CRLF");
    }
    let lead = rest.len() - rest.trim_start_matches(is_blank).len();
    let value = &rest[lead..];
    let start = line.start + value_at + lead;
    // Whether a following line carries on this value: the next line that is neither blank nor a
    // comment is indented further than the key.
    let continued = matter[next.min(matter.len())..]
        .iter()
        .find(|l| {
            let t = l.text.trim_start_matches(is_blank);
            !t.is_empty() && !t.starts_with('#')
        })
        .is_some_and(|l| l.text.starts_with(is_blank));
    let Some(first) = value.chars().next().filter(|&c| c != '#') else {
        return if continued {
            unmanaged("the value is on the following lines")
        } else {
            Found::Nothing
        };
    };
    let (len, quote) = match first {
        '"' | '\'' => match closing_quote(value, first) {
            Some(end) => (
                end,
                if first == '"' {
                    Quote::Double
                } else {
                    Quote::Single
                },
            ),
            None => return unmanaged("a quoted value continued on the next line"),
        },
        '|' | '>' => return unmanaged("a block scalar"),
        '[' | '{' => return unmanaged("a flow collection"),
        '&' => return unmanaged("an anchor"),
        '*' => return unmanaged("an alias"),
        '!' => return unmanaged("a tag"),
        '@' | '`' | '%' | ',' | ']' | '}' => return unmanaged("not a plain value"),
        '-' | '?' | ':' if value[1..].chars().next().is_none_or(is_blank) => {
            return unmanaged("not a plain value");
        }
        _ => (plain_len(value), Quote::Bare),
    };
    if continued {
        return unmanaged("the value is continued on the next line");
    }
    let tail = value[len..].trim_start_matches(is_blank);
    let comment = tail.starts_with('#') && value[len..].starts_with(is_blank);
    if !tail.is_empty() && !comment {
        return unmanaged("text follows the value");
    }
    let raw = &value[..len];
    let model = match quote {
        Quote::Bare => {
            if raw.contains(": ") {
                return unmanaged("not a plain value");
            }
            match plain_kind(raw) {
                Plain::Null => return Found::Nothing,
                Plain::Other => return unmanaged("the value is not a string"),
                Plain::Str => raw.to_owned(),
            }
        }
        Quote::Single => match decode_quoted(raw, '\'') {
            Some(m) => m,
            None => return unmanaged("a quoted value this tool does not read"),
        },
        Quote::Double => match decode_quoted(raw, '"') {
            Some(m) => m,
            None => return unmanaged("an escape this tool does not read"),
        },
    };
    if model == "inherit" {
        return Found::Nothing;
    }
    Found::Model(ModelValue {
        span: start..start + len,
        model,
        quote,
        line: number,
    })
}

/// The length of a plain scalar: up to a ` #` comment or the line's end, trailing blanks excluded.
fn plain_len(value: &str) -> usize {
    let mut end = value.len();
    let bytes = value.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'#' && i > 0 && matches!(bytes[i - 1], b' ' | b'\t') {
            end = i;
            break;
        }
    }
    value[..end].trim_end_matches(is_blank).len()
}

enum Plain {
    Str,
    Null,
    /// A boolean or a number: YAML does not read it as a string.
    Other,
}

fn plain_kind(raw: &str) -> Plain {
    match raw {
        "~" | "null" | "Null" | "NULL" => return Plain::Null,
        "true" | "True" | "TRUE" | "false" | "False" | "FALSE" => return Plain::Other,
        ".inf" | ".Inf" | ".INF" | "-.inf" | "+.inf" | ".nan" | ".NaN" | ".NAN" => {
            return Plain::Other;
        }
        _ => {}
    }
    let digits = raw.trim_start_matches(['+', '-']);
    let numeric = raw.parse::<f64>().is_ok()
        || ["0x", "0o"].iter().any(|p| {
            digits
                .strip_prefix(p)
                .is_some_and(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_hexdigit()))
        });
    if numeric
        && !raw.is_empty()
        && raw
            .chars()
            .all(|c| !c.is_alphabetic() || "eExXoOabcdefABCDEF".contains(c))
    {
        Plain::Other
    } else {
        Plain::Str
    }
}

/// Decodes a quoted scalar, quotes included; `None` for an escape outside what model ids need.
fn decode_quoted(raw: &str, quote: char) -> Option<String> {
    let body = raw.strip_prefix(quote)?.strip_suffix(quote)?;
    if quote == '\'' {
        return Some(body.replace("''", "'"));
    }
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let unicode = |chars: &mut std::str::Chars<'_>, n: usize| {
            let hex: String = chars.by_ref().take(n).collect();
            (hex.len() == n)
                .then(|| u32::from_str_radix(&hex, 16).ok())
                .flatten()
                .and_then(char::from_u32)
        };
        out.push(match chars.next()? {
            '0' => '\0',
            'a' => '\u{7}',
            'b' => '\u{8}',
            't' | '\t' => '\t',
            'n' => '\n',
            'v' => '\u{b}',
            'f' => '\u{c}',
            'r' => '\r',
            'e' => '\u{1b}',
            ' ' => ' ',
            '"' => '"',
            '/' => '/',
            '\\' => '\\',
            'N' => '\u{85}',
            '_' => '\u{a0}',
            'L' => '\u{2028}',
            'P' => '\u{2029}',
            'x' => unicode(&mut chars, 2)?,
            'u' => unicode(&mut chars, 4)?,
            'U' => unicode(&mut chars, 8)?,
            _ => return None,
        });
    }
    Some(out)
}

/// The text for `model` written in `quote`'s style: bare only when YAML reads it back as the same
/// string, single-quoted only when it has no control characters; else double-quoted.
pub(crate) fn render(model: &str, quote: Quote) -> String {
    let control = model.chars().any(needs_escape);
    match quote {
        Quote::Bare if plain_safe(model) => model.to_owned(),
        Quote::Single if !control => format!("'{}'", model.replace('\'', "''")),
        _ => {
            let mut out = String::with_capacity(model.len() + 2);
            out.push('"');
            for c in model.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\t' => out.push_str("\\t"),
                    c if needs_escape(c) => out.push_str(&format!("\\u{:04x}", c as u32)),
                    c => out.push(c),
                }
            }
            out.push('"');
            out
        }
    }
}

/// Characters written as escapes: controls, and those some YAML readers take for line breaks.
fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}')
}

/// Whether `model` can be written bare and read back unchanged.
fn plain_safe(model: &str) -> bool {
    let Some(first) = model.chars().next() else {
        return false;
    };
    !"-?:,[]{}#&*!|>'\"%@`".contains(first)
        && !model.chars().any(|c| c.is_whitespace() || needs_escape(c))
        && !model.ends_with(':')
        && !model.contains(" #")
        && matches!(plain_kind(model), Plain::Str)
        && model != "inherit"
}

/// `text` with the found value replaced by `model` (in the value's style).
#[cfg(test)]
pub(crate) fn set_model(text: &str, found: &ModelValue, model: &str) -> String {
    splice(text, found.span.clone(), &render(model, found.quote))
}

/// `text` with `span` replaced by `raw` verbatim (a recorded original, on restore).
pub(crate) fn splice(text: &str, span: Range<usize>, raw: &str) -> String {
    let mut out = String::with_capacity(text.len() + raw.len());
    out.push_str(&text[..span.start]);
    out.push_str(raw);
    out.push_str(&text[span.end..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(text: &str) -> ModelValue {
        match find_model(text) {
            Found::Model(m) => m,
            other => panic!("{other:?} in {text:?}"),
        }
    }

    fn unmanaged(text: &str) -> (usize, &'static str) {
        match find_model(text) {
            Found::Unmanaged { line, why } => (line, why),
            other => panic!("{other:?} in {text:?}"),
        }
    }

    #[test]
    fn reads_bare_single_and_double_quoted_values_with_comments() {
        let cases = [
            ("---\nmodel: opus\n---\nbody\n", "opus", Quote::Bare, "opus"),
            (
                "---\ndescription: x\nmodel: zai-coding-plan/glm-4.7 # cheap\n---\n",
                "zai-coding-plan/glm-4.7",
                Quote::Bare,
                "zai-coding-plan/glm-4.7",
            ),
            (
                "---\nmodel: 'sonnet'\n---\n",
                "sonnet",
                Quote::Single,
                "'sonnet'",
            ),
            (
                "---\nmodel:\t\"opus[1m]\"  # x\n---\n",
                "opus[1m]",
                Quote::Double,
                "\"opus[1m]\"",
            ),
            (
                "---\nmodel : 'it''s'\n---\n",
                "it's",
                Quote::Single,
                "'it''s'",
            ),
            (
                "---\nmodel: \"a\\u00e9\\\"b\"\n---\n",
                "aé\"b",
                Quote::Double,
                "\"a\\u00e9\\\"b\"",
            ),
            (
                "---\n\"model\": haiku\n---\n",
                "haiku",
                Quote::Bare,
                "haiku",
            ),
            (
                "---\nmodel: openrouter/qwen/qwen3:free\n---\n",
                "openrouter/qwen/qwen3:free",
                Quote::Bare,
                "openrouter/qwen/qwen3:free",
            ),
            (
                "---\nmodel: anthropic/claude-sonnet-4-5#high\n---\n",
                "anthropic/claude-sonnet-4-5#high",
                Quote::Bare,
                "anthropic/claude-sonnet-4-5#high",
            ),
        ];
        for (text, expected, quote, raw) in cases {
            let m = model(text);
            assert_eq!((m.model.as_str(), m.quote), (expected, quote), "{text:?}");
            assert_eq!(&text[m.span.clone()], raw, "{text:?}");
        }
    }

    #[test]
    fn crlf_a_bom_and_trailing_blanks_on_delimiters() {
        let text = "\u{feff}---  \r\nname: x\r\nmodel: sonnet\r\n---\r\nbody\r\n";
        let m = model(text);
        assert_eq!(m.model, "sonnet");
        assert_eq!(m.line, 3);
        let out = set_model(text, &m, "opus");
        assert_eq!(
            out,
            "\u{feff}---  \r\nname: x\r\nmodel: opus\r\n---\r\nbody\r\n"
        );
    }

    #[test]
    fn no_slot_without_front_matter_model_or_a_real_value() {
        for text in [
            "",
            "# Agent\nmodel: opus\n",
            "---\nmodel: opus\n",
            "text\n---\nmodel: opus\n---\n",
            "---\nname: x\n---\nmodel: opus\n",
            "---\nmodel:\n---\n",
            "---\nmodel: ~\n---\n",
            "---\nmodel: null # none\n---\n",
            "---\nmodel: inherit\n---\n",
            "---\nmodel: \"inherit\"\n---\n",
            "---\noptions:\n  model: opus\n---\n",
            "---\n# model: opus\n---\n",
        ] {
            assert_eq!(find_model(text), Found::Nothing, "{text:?}");
        }
    }

    #[test]
    fn forms_it_does_not_edit_are_named_with_their_line() {
        let cases = [
            ("---\nmodel: |\n  opus\n---\n", 2, "a block scalar"),
            ("---\nmodel: >-\n  opus\n---\n", 2, "a block scalar"),
            ("---\nmodel: [opus]\n---\n", 2, "a flow collection"),
            ("---\nmodel: &m opus\n---\n", 2, "an anchor"),
            ("---\nmodel: *m\n---\n", 2, "an alias"),
            ("---\nmodel: !!str opus\n---\n", 2, "a tag"),
            (
                "---\nmodel: opus\nx: 1\nmodel: sonnet\n---\n",
                4,
                "it is given more than once",
            ),
            (
                "---\nmodel: opus\n  continued\n---\n",
                2,
                "the value is continued on the next line",
            ),
            (
                "---\nmodel:\n  provider: x\n---\n",
                2,
                "the value is on the following lines",
            ),
            (
                "---\nmodel: \"opus\n  x\"\n---\n",
                2,
                "a quoted value continued on the next line",
            ),
            ("---\nmodel: 'a' b\n---\n", 2, "text follows the value"),
            ("---\nmodel: 4.5\n---\n", 2, "the value is not a string"),
            ("---\nmodel: true\n---\n", 2, "the value is not a string"),
            (
                "---\r\nmodel: opus\r\r\n---\r\n",
                2,
                "broken by a line break other than LF or CRLF",
            ),
            (
                "---\nmodel: 'a\u{2028}b'\n---\n",
                2,
                "broken by a line break other than LF or CRLF",
            ),
            (
                "---\nmodel: \"\\q\"\n---\n",
                2,
                "an escape this tool does not read",
            ),
        ];
        for (text, line, why) in cases {
            assert_eq!(unmanaged(text), (line, why), "{text:?}");
        }
    }

    #[test]
    fn keys_inside_block_scalars_and_open_quotes_are_not_the_model() {
        let text = "---\ndescription: |\n  model: nope\n\nexample: \"line one\nmodel: nope\"\nmodel: sonnet\n---\nmodel: body\n";
        let m = model(text);
        assert_eq!((m.model.as_str(), m.line), ("sonnet", 7));
    }

    #[test]
    fn comments_after_a_value_are_not_a_continuation() {
        let m = model("---\nmodel: opus\n  # about the model\ntools: x\n---\n");
        assert_eq!(m.model, "opus");
    }

    #[test]
    fn a_new_value_keeps_the_style_where_yaml_reads_it_back() {
        assert_eq!(
            render("deepseek/deepseek-chat", Quote::Bare),
            "deepseek/deepseek-chat"
        );
        assert_eq!(render("opus[1m]", Quote::Bare), "opus[1m]");
        assert_eq!(render("a b", Quote::Bare), "\"a b\"");
        assert_eq!(render("null", Quote::Bare), "\"null\"");
        assert_eq!(render("1.5", Quote::Bare), "\"1.5\"");
        assert_eq!(render("-x", Quote::Bare), "\"-x\"");
        assert_eq!(render("it's", Quote::Single), "'it''s'");
        assert_eq!(render("a\nb", Quote::Single), "\"a\\nb\"");
        assert_eq!(render("q\"\\", Quote::Double), "\"q\\\"\\\\\"");
    }

    #[test]
    fn an_edit_changes_only_the_value_and_a_raw_splice_undoes_it() {
        let text = "---\r\nname: rev # keep\r\nmodel: 'zai/glm-4.7'   # plan\r\ncolor: red\r\n---\r\nBody model: x\r\n";
        let m = model(text);
        let out = set_model(text, &m, "deepseek/deepseek-chat");
        assert_eq!(
            out,
            "---\r\nname: rev # keep\r\nmodel: 'deepseek/deepseek-chat'   # plan\r\ncolor: red\r\n---\r\nBody model: x\r\n"
        );
        let again = model(&out);
        assert_eq!(again.model, "deepseek/deepseek-chat");
        assert_eq!(splice(&out, again.span, &text[m.span.clone()]), text);
    }

    mod props {
        use proptest::prelude::*;

        use super::super::*;

        /// A model line: the text before the value, the value's raw text, its decoded model and
        /// what follows it on the line.
        fn model_line() -> impl Strategy<Value = (String, String, String, String)> {
            let key = prop_oneof![Just("model:"), Just("\"model\":"), Just("model :")];
            let sep = prop_oneof![Just(" "), Just("\t"), Just("   ")];
            let id = "[a-z][a-z0-9./_-]{0,20}(\\[1m\\]|#high)?";
            let value = prop_oneof![
                id.prop_map(|m| (m.clone(), m)),
                "[a-z' /é-]{0,12}".prop_map(|m| (format!("'{}'", m.replace('\'', "''")), m)),
                "[a-z\" /é\\\\-]{0,12}".prop_map(|m| (serde_json::to_string(&m).unwrap(), m)),
            ]
            .prop_filter("a model", |(_, m)| {
                !matches!(m.as_str(), "inherit" | "null" | "true" | "false")
            });
            let tail = prop_oneof![Just(""), Just("  "), Just(" # why"), Just("\t# x: y")];
            (key, sep, value, tail)
                .prop_map(|(k, s, (raw, model), t)| (format!("{k}{s}"), raw, model, t.to_owned()))
        }

        fn other_lines() -> impl Strategy<Value = Vec<String>> {
            prop::collection::vec(
                prop_oneof![
                    "[a-z]{1,8}: [a-z ]{0,10}"
                        .prop_filter("another key", |l| !l.starts_with("model:"))
                        .prop_map(|l| vec![l]),
                    Just(vec![
                        "description: |".to_owned(),
                        "  model: not-this".to_owned(),
                        "".to_owned(),
                        "  ---".to_owned()
                    ]),
                    Just(vec![
                        "example: \"open".to_owned(),
                        "model: not-this\"".to_owned()
                    ]),
                    Just(vec![
                        "tools:".to_owned(),
                        "  - Read".to_owned(),
                        "  - model: x".to_owned()
                    ]),
                    Just(vec!["# model: commented".to_owned()]),
                    Just(vec!["color: red # model: x".to_owned()]),
                ],
                0..4,
            )
            .prop_map(|groups| groups.concat())
        }

        prop_compose! {
            fn document()(
                bom in any::<bool>(),
                crlf in any::<bool>(),
                delim in prop_oneof![Just("---"), Just("---  ")],
                before in other_lines(),
                (lead, raw, model, tail) in model_line(),
                after in other_lines(),
                body in "[a-z:\\- \n]{0,40}",
            ) -> (String, String, String) {
                let nl = if crlf { "\r\n" } else { "\n" };
                let mut text = String::from(if bom { "\u{feff}" } else { "" });
                text.push_str(delim);
                text.push_str(nl);
                for l in &before { text.push_str(l); text.push_str(nl); }
                text.push_str(&format!("{lead}{raw}{tail}{nl}"));
                for l in &after { text.push_str(l); text.push_str(nl); }
                text.push_str("---");
                text.push_str(nl);
                text.push_str(&body.replace('\n', nl));
                (text, raw, model)
            }
        }

        proptest! {
            #[test]
            fn finds_the_generated_model((text, raw, model) in document()) {
                let Found::Model(m) = find_model(&text) else { panic!("{text:?}") };
                prop_assert_eq!(&m.model, &model);
                prop_assert_eq!(&text[m.span.clone()], raw.as_str());
            }

            #[test]
            fn an_edit_touches_only_the_value_and_undoes((text, raw, _) in document(), new in any::<String>()) {
                prop_assume!(new != "inherit");
                let Found::Model(m) = find_model(&text) else { panic!("{text:?}") };
                let out = set_model(&text, &m, &new);
                prop_assert_eq!(&out[..m.span.start], &text[..m.span.start]);
                let suffix = &text[m.span.end..];
                prop_assert!(out.ends_with(suffix));
                let Found::Model(again) = find_model(&out) else { panic!("{out:?}") };
                prop_assert_eq!(&again.model, &new);
                prop_assert_eq!(splice(&out, again.span, &raw), text);
            }

            #[test]
            fn a_foreign_line_break_on_the_model_line_is_left_alone(
                (text, _, _) in document(),
                brk in prop::sample::select(vec!['\r', '\u{85}', '\u{2028}', '\u{2029}']),
                at in any::<prop::sample::Index>(),
            ) {
                let Found::Model(m) = find_model(&text) else { panic!("{text:?}") };
                // Anywhere after the key, up to the line's end.
                let end = text[m.span.end..].find(['\r', '\n']).map_or(text.len(), |i| m.span.end + i);
                let mut pos = m.span.start + at.index(end - m.span.start + 1);
                while !text.is_char_boundary(pos) { pos -= 1; }
                // A CR just before the LF makes a CRLF line end, which is fine.
                prop_assume!(!(brk == '\r' && text[pos..].starts_with('\n')));
                let broken = format!("{}{brk}{}", &text[..pos], &text[pos..]);
                // Left alone; named on its own line, or on a later `model:` that the broken
                // quote now seems to reach.
                prop_assert!(
                    matches!(find_model(&broken), Found::Unmanaged { line, .. } if line >= m.line),
                    "{broken:?}"
                );
            }

            #[test]
            fn arbitrary_text_never_panics_and_spans_are_sound(text in any::<String>(), (doc, _, _) in document(), cut in any::<prop::sample::Index>()) {
                for t in [text.clone(), format!("---\n{text}\n---\n"), {
                    let mut at = cut.index(doc.len() + 1);
                    while !doc.is_char_boundary(at) { at -= 1; }
                    format!("{}{}", &doc[..at], text)
                }] {
                    if let Found::Model(m) = find_model(&t) {
                        prop_assert!(t.is_char_boundary(m.span.start) && t.is_char_boundary(m.span.end));
                        let out = set_model(&t, &m, "x/y");
                        prop_assert!(matches!(find_model(&out), Found::Model(n) if n.model == "x/y"));
                    }
                }
            }
        }
    }
}
