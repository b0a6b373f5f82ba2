//! The signals dir (README, "Signals"): `<state dir>/signals/`, where anything that hears of a
//! limit first — the OpenCode plugin, Claude Code's status line, a transcript reader, a user's
//! hook — leaves a status document, one file per writer, replaced atomically. Every switcher
//! reads the whole dir as one more source, unless the config says `signals: false`.
//!
//! Each `*.json` file is read like a status file ([`file::read`]); dot-files and other names are
//! temp files being written, or not ours. Files appear, change and disappear at any time: what
//! the dir holds now is the answer. Several files naming one provider count as several sources
//! would — every window side by side, the worst known status wins. A file that cannot be read
//! is warned about once (until it changes its complaint) and makes the providers it named at its
//! last good read UNKNOWN; the others still count.
//!
//! The source covers only the providers some file names: a provider no signal names is never
//! made UNKNOWN by it, so a provider with no other source is unmonitored once its signal goes.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::Value;

use crate::fsx;
use crate::quota::{Report, SourceEntry};

use super::http::Failure;
use super::{Fetch, Poll, Provider, Reports, Watch, file, status_doc};

/// The source's identity in the quota book.
pub const ID: &str = "signals";

/// The signals dir of a state dir.
pub fn dir(state_dir: &Path) -> PathBuf {
    state_dir.join("signals")
}

/// Whether a name in the dir is a signal: `*.json`, not a dot-file (writers write a dot-named
/// temp file, then rename it; `*.tmp` is not `*.json` either).
pub fn is_signal(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(OsStr::to_str) else {
        return false;
    };
    !name.starts_with('.')
        && name.len() > ".json".len()
        && name
            .get(name.len() - ".json".len()..)
            .is_some_and(|ext| ext.eq_ignore_ascii_case(".json"))
}

/// Writes `document` (a status document) as `<state dir>/signals/<writer>.json`, atomically and
/// private to the user, creating the dir if needed; returns the file's path. `writer` names the
/// writer (`claude-statusline`, `opencode-zai-coding-plan`): anything but letters, digits, `.`,
/// `_` and `-` becomes `_`.
pub fn write(state_dir: &Path, writer: &str, document: &Value) -> io::Result<PathBuf> {
    let dir = dir(state_dir);
    fsx::create_private_dir(&dir)?;
    let name = format!("{}.json", file_safe(writer));
    let path = dir.join(&name);
    // What a killed writer (a status line cut short) left of this file goes.
    fsx::remove_stale_temps(&dir, &name);
    let mut text = serde_json::to_string_pretty(document).map_err(io::Error::other)?;
    text.push('\n');
    fsx::write_atomic(&path, None, &text)?;
    Ok(path)
}

/// The signal for a spent quota, as the OpenCode plugin writes it: `provider` at 100% in a
/// window `limit` until `resets_at`. `about` (where it came from: agent, rule, message…) is kept
/// under `source`, which readers ignore; `Value::Null` leaves it out.
pub fn red_until(provider: &str, resets_at: jiff::Timestamp, about: Value) -> Value {
    let window = serde_json::json!({ "utilization": 100, "resets_at": resets_at.to_string() });
    let mut entry = serde_json::json!({ "windows": { "limit": window } });
    if !about.is_null() {
        entry["source"] = about;
    }
    serde_json::json!({ provider: entry })
}

/// A file name part for a writer, as the OpenCode plugin makes it; never a dot-file.
fn file_safe(writer: &str) -> String {
    let safe: String = writer
        .chars()
        .map(|c| match c {
            'A'..='Z' | 'a'..='z' | '0'..='9' | '.' | '_' | '-' => c,
            _ => '_',
        })
        .collect();
    match safe.strip_prefix('.') {
        _ if safe.is_empty() => "_".to_owned(),
        Some(rest) => format!("_{rest}"),
        None => safe,
    }
}

/// The signals dir as a source.
#[derive(Debug)]
pub struct Signals {
    dir: PathBuf,
    memory: Mutex<Memory>,
}

/// What earlier reads of this process (or the book, at start) said.
#[derive(Debug, Default)]
struct Memory {
    /// Per file, the providers its last good read named.
    named: BTreeMap<String, BTreeSet<String>>,
    /// Per unreadable file, what it was last warned about.
    warned: BTreeMap<String, String>,
    /// The providers the source's last recorded answer had: for a file this process never read
    /// well, what it may have named.
    recalled: BTreeSet<String>,
}

impl Signals {
    pub fn new(dir: PathBuf) -> Signals {
        Signals {
            dir,
            memory: Mutex::default(),
        }
    }

    fn read(&self, aliases: &crate::provider::Aliases) -> Result<Reports, String> {
        let files = match list(&self.dir) {
            Ok(files) => files,
            // No dir, no signal: nothing is covered (the daemon creates it to watch it).
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(format!("cannot list {}: {e}", self.dir.display())),
        };
        let reads = files
            .into_iter()
            .map(|(name, path)| (name, file::read(&path, aliases)))
            .collect();
        let mut memory = self.memory.lock().unwrap_or_else(|e| e.into_inner());
        let (reports, warnings) = combine(reads, &mut memory);
        for warning in warnings {
            tracing::warn!("signal file {}{warning}", self.dir.join("").display());
        }
        Ok(reports)
    }
}

/// The signal files in `dir`, by name, in name order; subdirectories are skipped.
fn list(dir: &Path) -> io::Result<Vec<(String, PathBuf)>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        // A symlink to a file counts; a directory named `x.json` does not.
        if is_signal(&path) && !path.is_dir() {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            files.push((name.into_owned(), path));
        }
    }
    files.sort();
    Ok(files)
}

/// Folds the reads of the dir's files into one answer, and says what to warn about.
fn combine(
    reads: Vec<(String, Result<Reports, String>)>,
    memory: &mut Memory,
) -> (Reports, Vec<String>) {
    let mut warnings = Vec::new();
    let mut per_provider: BTreeMap<String, Vec<(String, Report)>> = BTreeMap::new();
    let present: BTreeSet<String> = reads.iter().map(|(name, _)| name.clone()).collect();
    let mut unreadable = Vec::new();
    for (name, read) in reads {
        match read {
            Ok(reports) => {
                memory.warned.remove(&name);
                memory
                    .named
                    .insert(name.clone(), reports.keys().cloned().collect());
                for (provider, report) in reports {
                    per_provider
                        .entry(provider)
                        .or_default()
                        .push((name.clone(), report));
                }
            }
            Err(error) => {
                if memory.warned.get(&name) != Some(&error) {
                    warnings.push(format!(
                        "{name}: {error}; the providers it named are UNKNOWN until it is fixed"
                    ));
                    memory.warned.insert(name.clone(), error.clone());
                }
                unreadable.push((name, error));
            }
        }
    }
    memory.named.retain(|name, _| present.contains(name));
    memory.warned.retain(|name, _| present.contains(name));
    for (name, error) in unreadable {
        let named = match memory.named.get(&name) {
            Some(named) => named.clone(),
            // Never read well here: any provider the last answer had that no file names now.
            None => (memory.recalled.iter())
                .filter(|p| !per_provider.contains_key(*p))
                .cloned()
                .collect(),
        };
        for provider in named {
            let report = Report::failed(format!("signal file {name}: {error}"));
            per_provider
                .entry(provider)
                .or_default()
                .push((name.clone(), report));
        }
    }
    let reports: Reports = per_provider
        .into_iter()
        .map(|(provider, mut from)| {
            // Known data first, so that windows are labelled by the file that gave them.
            from.sort_by_key(|(_, report)| report.error.is_some());
            let (first, mut report) = from.remove(0);
            if from.is_empty() {
                // Alone, it still says which file it came from when it is at fault (an
                // unreadable file's report already does).
                let name = |text: String| {
                    if text.starts_with("signal file ") {
                        text
                    } else {
                        format!("{first}: {text}")
                    }
                };
                report.malformed = report.malformed.map(name);
                report.error = report.error.map(name);
            }
            for (name, other) in from {
                status_doc::merge(&mut report, &first, other, &name);
            }
            (provider, report)
        })
        .collect();
    memory.recalled = reports.keys().cloned().collect();
    (reports, warnings)
}

impl Provider for Signals {
    fn id(&self) -> String {
        ID.to_owned()
    }

    fn label(&self) -> String {
        "signals dir".to_owned()
    }

    fn forgets_data(&self) -> bool {
        true
    }

    fn local(&self) -> bool {
        true
    }

    fn watched(&self) -> Option<Watch<'_>> {
        Some(Watch::Dir {
            path: &self.dir,
            accepts: is_signal,
            recursive: false,
        })
    }

    fn recall(&self, previous: &SourceEntry) {
        let mut memory = self.memory.lock().unwrap_or_else(|e| e.into_inner());
        memory.recalled = previous.providers.keys().cloned().collect();
    }

    fn fetch<'a>(&'a self, poll: &'a Poll<'a>) -> Fetch<'a> {
        Box::pin(async move { self.read(poll.aliases).map_err(Failure::new) })
    }
}

#[cfg(test)]
mod tests;
