//! The `claude-logs` source (README, "Claude Code transcripts"): Claude Code's session
//! transcripts (`$CLAUDE_CONFIG_DIR/projects/**/*.jsonl`, default `~/.claude/projects`) as a
//! source. When Claude Code is refused for a spent quota it writes the error into the
//! transcript at once; this source reads the lines appended since its last read and turns such a
//! line into its provider RED until the reset the line names (an hour when it names none).
//!
//! Reading is incremental and in flat memory ([`tail`]): each file keeps an offset in this
//! process, files appear at any time, a partial last line waits for its newline, and a huge line
//! is skipped. A process reads back only as far as a limit could still be in force: at its first
//! read (the daemon's start, every one-shot run) only files changed within [`LOOKBACK`], the
//! longest window, and in them only lines written within it. What it found is remembered per
//! provider and window, the newest line winning, and answered at every read until it is older
//! than the look-back: after the reset the window counts as 0% (README, "Decisions"), so the
//! provider's recovery is observed too.
//!
//! The provider is `anthropic` for Claude's own messages: always for the structured fields
//! (Claude's subscription limit), and for a text when it is older than [`LIVE`], since switcher
//! may have changed the endpoint since. A text read as it is written is the provider of the
//! session's endpoint: the `ANTHROPIC_BASE_URL` its settings name (the project's
//! `.claude/settings.local.json`, `.claude/settings.json`, then the user's), as for a Claude
//! Code target, except a URL this tool's endpoint profile wrote, which stands for the one it
//! replaced (the state dir's records tell). Another provider's own message (z.ai's through its
//! Anthropic-compatible endpoint) names that provider.

mod entry;
mod tail;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Map, Value, json};

use crate::fsx;
use crate::jsonc::{Document, KeyPath, unquote};
use crate::plan::ProfileRecord;
use crate::provider::Aliases;
use crate::state::StateDir;
use crate::target::claude as claude_target;

use super::http::Failure;
use super::{Build, Fault, Fetch, Poll, Provider, Reports, Watch, signals, status_doc};

use entry::{Hit, Line};
use tail::Position;

/// How far back a limit can still be in force: the longest window, a week.
pub(crate) const LOOKBACK: SignedDuration = SignedDuration::from_hours(7 * 24);

/// How long a limit that names no reset lasts.
const NO_RESET: SignedDuration = SignedDuration::from_hours(1);

/// A line at most this old is read as it is written: its session's settings still name the
/// endpoint it used.
const LIVE: SignedDuration = SignedDuration::from_mins(2);

/// Settings files larger than this are not read for an endpoint.
const MAX_SETTINGS: u64 = 1024 * 1024;

/// How deep under the projects dir transcripts are looked for (`<project>/<session>.jsonl`,
/// `<project>/<session>/subagents/agent-*.jsonl`).
const MAX_DEPTH: usize = 6;

/// Whether a path is a transcript: `*.jsonl`, not a dot-file.
pub(crate) fn is_transcript(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    !name.starts_with('.') && name.len() > ".jsonl".len() && name.ends_with(".jsonl")
}

/// The source.
#[derive(Debug)]
pub struct ClaudeLogs {
    /// The projects dir.
    dir: PathBuf,
    /// The user's Claude Code settings, where a session's endpoint is set when its project
    /// does not set one.
    user_settings: Option<PathBuf>,
    /// The state dir: a base URL this tool's profile wrote is not the endpoint a line used.
    state_dir: Option<PathBuf>,
    memory: Mutex<Memory>,
}

/// What this process has read.
#[derive(Debug, Default)]
struct Memory {
    files: HashMap<PathBuf, Position>,
    /// The newest limit per provider and window.
    found: BTreeMap<(String, String), Found>,
    /// Files already warned about for a line that is not JSON.
    warned_bad: HashSet<PathBuf>,
    /// Whether a too long line was warned about (once per process).
    warned_long: bool,
}

#[derive(Clone, Debug, PartialEq)]
struct Found {
    at: Timestamp,
    resets_at: Option<Timestamp>,
    how: String,
    file: String,
}

/// A `claude-logs` entry's source: `path` (the projects dir), else `projects` in Claude Code's
/// config dir.
pub fn build(path: Option<&str>, build: &Build<'_>) -> Result<Box<dyn Provider>, Fault> {
    let claude_dir = build.env.claude_dir();
    let dir = match path {
        Some(path) => (build.env)
            .expand_path(path, build.config_dir)
            .map_err(|m| ("path", m))?,
        None => claude_dir.as_ref().map(|d| d.join("projects")).ok_or((
            "kind",
            "cannot locate Claude Code's config dir: set HOME or CLAUDE_CONFIG_DIR".to_owned(),
        ))?,
    };
    Ok(Box::new(ClaudeLogs::new(
        dir,
        claude_dir.map(|d| d.join("settings.json")),
        build.state_dir.map(Path::to_owned),
    )))
}

impl ClaudeLogs {
    pub fn new(
        dir: PathBuf,
        user_settings: Option<PathBuf>,
        state_dir: Option<PathBuf>,
    ) -> ClaudeLogs {
        ClaudeLogs {
            dir,
            user_settings,
            state_dir,
            memory: Mutex::default(),
        }
    }

    /// Reads what was appended since the last read and answers every limit still remembered.
    fn read(&self, aliases: &Aliases, now: Timestamp) -> Result<Reports, String> {
        let files = match transcripts(&self.dir) {
            Ok(files) => files,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(format!("cannot list {}: {e}", self.dir.display())),
        };
        let zone = TimeZone::system();
        let since = now - LOOKBACK;
        let mut memory = self.memory.lock().unwrap_or_else(|e| e.into_inner());
        let memory = &mut *memory;
        let mut hits = Vec::new();
        for (path, file) in &files {
            let at = memory.files.entry(path.clone()).or_insert_with(|| {
                // First seen: one changed before the look-back holds no limit in force, and is
                // followed from its end.
                let old = (file.modified.and_then(|m| Timestamp::try_from(m).ok()))
                    .is_some_and(|m| m < since);
                Position {
                    offset: if old { file.len } else { 0 },
                    id: if old { file.id } else { None },
                    skipping: false,
                }
            });
            // Nothing appended (most files, at most reads): not even opened.
            if file.len == at.offset && file.id == at.id {
                continue;
            }
            let mut bad = None;
            // A line without a timestamp was written by the file's last change at the latest.
            let written = (file.modified.and_then(|m| Timestamp::try_from(m).ok()))
                .map_or(now, |m| m.min(now));
            let read = tail::read_new(path, at, |line| match entry::read(line, written, &zone) {
                Line::Limit(hit) => hits.push((path.clone(), hit)),
                Line::Bad(why) => {
                    bad.get_or_insert(why);
                }
                Line::Nothing => {}
            });
            match read {
                Ok(read) => {
                    // Common (a pasted image) and harmless: said once, where the daemon logs.
                    if read.too_long > 0 && !memory.warned_long {
                        memory.warned_long = true;
                        tracing::info!(
                            "{}: skipped a line longer than {} KiB (no limit message is that \
                             long); further ones are skipped silently",
                            path.display(),
                            tail::MAX_LINE / 1024
                        );
                    }
                }
                // Gone between the listing and the read.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => tracing::debug!("cannot read {}: {e}", path.display()),
            }
            if let Some(why) = bad
                && memory.warned_bad.insert(path.clone())
            {
                tracing::warn!(
                    "{}: skipped a line that is {why}; further ones in this file are skipped \
                     silently",
                    path.display()
                );
            }
        }
        let present: HashSet<&PathBuf> = files.iter().map(|(p, _)| p).collect();
        memory.files.retain(|p, _| present.contains(p));
        memory.warned_bad.retain(|p| present.contains(p));
        for (path, hit) in hits.into_iter().filter(|(_, h)| h.at >= since) {
            let provider = self.provider(&hit, aliases, now);
            tracing::debug!(
                provider = %provider,
                file = %path.display(),
                "usage limit in a Claude Code transcript"
            );
            let found = Found {
                at: hit.at,
                resets_at: hit.resets_at,
                how: hit.how,
                file: path.display().to_string(),
            };
            let slot = memory.found.entry((provider, hit.window));
            match slot {
                std::collections::btree_map::Entry::Occupied(mut old) => {
                    if old.get().at <= found.at {
                        old.insert(found);
                    }
                }
                std::collections::btree_map::Entry::Vacant(v) => {
                    v.insert(found);
                }
            }
        }
        memory.found.retain(|_, f| f.at >= since);
        status_doc::parse(&document(&memory.found).to_string(), aliases)
    }

    /// The provider a limit line means: the message's own (Claude's structured subscription
    /// limit is always Anthropic's), or for Claude's own text read as it is written, the
    /// endpoint the session's settings name. A base URL this tool's profile wrote there is not
    /// the one the line used (the switch may have been caused by this very line): the URL it
    /// replaced is, or when the profile added the key, the next settings file's.
    fn provider(&self, hit: &Hit, aliases: &Aliases, now: Timestamp) -> String {
        let family = aliases.resolve(&hit.provider);
        if hit.how == entry::STRUCTURED
            || family != aliases.resolve("anthropic")
            || now.duration_since(hit.at) > LIVE
        {
            return family;
        }
        let project = hit.cwd.as_deref().map(|cwd| Path::new(cwd).join(".claude"));
        let places = [
            project.as_ref().map(|p| p.join("settings.local.json")),
            project.as_ref().map(|p| p.join("settings.json")),
            self.user_settings.clone(),
        ];
        let mut profiles = None;
        for settings in places.into_iter().flatten() {
            let Ok(text) = fsx::read_limited(&settings, MAX_SETTINGS) else {
                continue;
            };
            let Ok(doc) = Document::parse(&text) else {
                continue;
            };
            let Some(node) = doc.get(&KeyPath::new(["env", "ANTHROPIC_BASE_URL"])) else {
                continue;
            };
            let Some(url) = doc.str(node) else {
                continue;
            };
            let profiles = profiles.get_or_insert_with(|| self.profiles());
            match profile_wrote(profiles, &settings, doc.raw(node)) {
                Some(Some(original)) => {
                    return claude_target::endpoint_provider(Some(&original), aliases);
                }
                Some(None) => continue,
                None => return claude_target::endpoint_provider(Some(&url), aliases),
            }
        }
        family
    }

    /// The active profile records in the state dir (none when it cannot be read).
    fn profiles(&self) -> Vec<(PathBuf, ProfileRecord)> {
        let Some(dir) = &self.state_dir else {
            return Vec::new();
        };
        // Only Claude Code settings files have profiles.
        let claude = |_: &Path, kind| kind == crate::target::Kind::Claude;
        let Ok(states) = StateDir::new(dir.clone()).targets_where(&[], claude) else {
            return Vec::new();
        };
        states
            .into_iter()
            .flatten()
            .filter_map(|s| Some((s.target, s.profile?)))
            .collect()
    }
}

/// Whether a profile of this tool wrote `raw` as `settings`' base URL: then the URL it replaced
/// (`Some(None)` when it added the key).
fn profile_wrote(
    profiles: &[(PathBuf, ProfileRecord)],
    settings: &Path,
    raw: &str,
) -> Option<Option<String>> {
    let settings = fsx::canonical(settings).ok()?;
    let key = KeyPath::new(["env", "ANTHROPIC_BASE_URL"]);
    profiles
        .iter()
        .filter(|(target, _)| *target == settings)
        .flat_map(|(_, record)| &record.keys)
        .find(|k| k.path == key && k.written.is(raw))
        .map(|k| k.original.as_deref().map(unquote))
}

/// The limits found, as a status document: each provider at 100% in each window until its
/// reset, the way a signal says it ([`signals::red_until`]); an Opus or Sonnet limit governs
/// only those models.
fn document(found: &BTreeMap<(String, String), Found>) -> Value {
    let mut doc = Map::new();
    for ((provider, window), f) in found {
        let resets_at = f.resets_at.unwrap_or(f.at + NO_RESET);
        let about = json!({ "writer": "claude-logs", "file": f.file, "at": f.at.to_string(), "how": f.how });
        let mut signal = signals::red_until(provider, resets_at, about);
        let mut entry = signal[provider.as_str()].take();
        let mut limit = entry["windows"]["limit"].take();
        if let Some(model) = entry::scope(window) {
            limit["models"] = json!([model]);
        }
        let into = doc.entry(provider.clone()).or_insert_with(|| {
            entry["windows"] = json!({});
            entry
        });
        into["windows"][window.as_str()] = limit;
    }
    Value::Object(doc)
}

/// What the listing saw of a transcript.
struct Listed {
    modified: Option<SystemTime>,
    len: u64,
    id: Option<(u64, u64)>,
}

/// Every transcript under `dir`.
fn transcripts(dir: &Path) -> io::Result<Vec<(PathBuf, Listed)>> {
    let mut out = Vec::new();
    let mut stack = vec![(dir.to_owned(), 0)];
    let mut first = true;
    while let Some((dir, depth)) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if first => return Err(e),
            Err(_) => continue,
        };
        first = false;
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                if depth < MAX_DEPTH {
                    stack.push((path, depth + 1));
                }
            } else if is_transcript(&path)
                && let Ok(meta) = std::fs::metadata(&path)
                && meta.is_file()
            {
                let listed = Listed {
                    modified: meta.modified().ok(),
                    len: meta.len(),
                    id: tail::identity(&meta),
                };
                out.push((path, listed));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

impl Provider for ClaudeLogs {
    fn id(&self) -> String {
        format!("claude-logs:{}", self.dir.display())
    }

    fn label(&self) -> String {
        "claude-logs".to_owned()
    }

    /// Claude Code has been used here.
    fn found(&self) -> bool {
        self.dir.is_dir()
    }

    fn local(&self) -> bool {
        true
    }

    fn watched(&self) -> Option<Watch<'_>> {
        Some(Watch::Dir {
            path: &self.dir,
            accepts: is_transcript,
            recursive: true,
        })
    }

    fn fetch<'a>(&'a self, poll: &'a Poll<'a>) -> Fetch<'a> {
        Box::pin(async move { self.read(poll.aliases, poll.now).map_err(Failure::new) })
    }
}
