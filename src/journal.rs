//! The journal (README, History): every switch and restore that any run mode made, one JSON
//! object a line in `journal.jsonl` in the state dir, oldest first, for `switcher log` and the
//! live view. It is bounded: past [`MAX_BYTES`] it is trimmed to its newest half, so a daemon
//! that runs for years keeps the last few thousand events and no more.
//!
//! Appends happen under the state dir's `journal.lock`, so concurrent switchers neither
//! interleave lines nor lose them to a trim. What is written is what the change lines print,
//! secrets already masked.

use std::borrow::Cow;
use std::fs;
use std::io::{self, Write};
use std::path::Path;

use jiff::Timestamp;
use serde::{Deserialize, Serialize, Serializer};

use crate::fsx;
use crate::jsonc::KeyPath;
use crate::state::{StateDir, StateError, lines};

/// The file, in the state dir.
pub(crate) const FILE: &str = "journal.jsonl";
/// Past this size the journal keeps only its newest half.
const MAX_BYTES: u64 = 512 * 1024;

/// One switch or restore.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Entry {
    pub(crate) at: Timestamp,
    /// `switch` or `restore`.
    pub(crate) kind: String,
    pub(crate) target: String,
    /// The file's canonical path (absent from entries of versions before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) path: Option<String>,
    pub(crate) slot: String,
    pub(crate) from: String,
    pub(crate) to: String,
    pub(crate) reason: String,
}

impl Entry {
    /// The change line, as `--once` prints it.
    pub(crate) fn line(&self) -> String {
        format!(
            "{}: {}: {} -> {} ({})",
            self.target, self.slot, self.from, self.to, self.reason
        )
    }
}

/// An entry as a pass writes it, borrowed from the pass's changes: a big config's thousands of
/// switches are journaled without a copy of each string. It serialises as [`Entry`] reads.
#[derive(Serialize)]
pub(crate) struct NewEntry<'a> {
    #[serde(serialize_with = "lines::timestamp")]
    pub(crate) at: Timestamp,
    pub(crate) kind: &'a str,
    #[serde(serialize_with = "lines::shared")]
    pub(crate) target: &'a str,
    #[serde(serialize_with = "lines::shared")]
    pub(crate) path: Cow<'a, str>,
    #[serde(serialize_with = "as_display")]
    pub(crate) slot: &'a KeyPath,
    #[serde(serialize_with = "lines::shared")]
    pub(crate) from: &'a str,
    #[serde(serialize_with = "lines::shared")]
    pub(crate) to: &'a str,
    #[serde(serialize_with = "lines::shared")]
    pub(crate) reason: &'a str,
}

fn as_display<S: Serializer>(path: &&KeyPath, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(path)
}

/// Appends `entries` ([`Entry`] or [`NewEntry`]), trimming the journal when it has grown past
/// its bound. Entries that the trim would drop at once (a big config's thousands of switches)
/// are not written: the journal becomes the newest that fit.
pub(crate) fn append<E: Serialize>(
    state_dir: &StateDir,
    entries: impl DoubleEndedIterator<Item = E>,
) -> Result<(), StateError> {
    Lines::of(entries).append(state_dir)
}

/// Entries serialised, ready to be appended (see [`append`]): made apart from the append, so that
/// a pass can make them while its write lands.
pub(crate) struct Lines {
    text: Vec<u8>,
    /// The entries alone fill the journal's budget: they replace it.
    replaces_all: bool,
    /// Those lines, written and synced ahead of the append ([`Lines::write_ahead`]).
    ahead: Option<fsx::Prepared>,
}

impl Lines {
    /// The lines of `entries` (oldest first), the newest that fit in the journal's budget: only
    /// those are made.
    pub(crate) fn of<E: Serialize>(entries: impl DoubleEndedIterator<Item = E>) -> Lines {
        let budget = (MAX_BYTES / 2) as usize;
        let mut lines = Vec::new();
        let mut size = 0;
        for entry in entries.rev() {
            let mut line = serde_json::to_vec(&entry).expect("an entry serialises");
            line.push(b'\n');
            size += line.len();
            if size > budget {
                break;
            }
            lines.push(line);
        }
        Lines {
            text: lines.into_iter().rev().flatten().collect(),
            replaces_all: size > budget,
            ahead: None,
        }
    }

    /// Lines that replace the journal whole do not depend on what it holds: they are written and
    /// synced now, to a file with no name beside it, and the append only names that file. A pass
    /// so writes them while its target's write lands. Nothing is seen until the append, and
    /// nothing is left if the lines are dropped instead. Where no such file can be made, the
    /// append writes them as before.
    pub(crate) fn write_ahead(&mut self, state_dir: &StateDir) {
        if self.replaces_all {
            let path = state_dir.root().join(FILE);
            self.ahead = fsx::prepare(&path, |out| out.write_all(&self.text))
                .ok()
                .flatten();
        }
    }

    /// Appends the lines under the journal's lock, trimming it past its bound.
    pub(crate) fn append(self, state_dir: &StateDir) -> Result<(), StateError> {
        let Lines {
            text,
            replaces_all,
            ahead,
        } = self;
        if text.is_empty() && !replaces_all {
            return Ok(());
        }
        state_dir.with_lock("journal", |root| {
            let path = root.join(FILE);
            if replaces_all {
                fsx::remove_stale_temps(root, FILE);
                if let Some(ahead) = ahead
                    && ahead.land(None)?.is_some()
                {
                    #[cfg(test)]
                    NAMED_AHEAD.set(NAMED_AHEAD.get() + 1);
                    return Ok(());
                }
                return fsx::write_atomic_with(&path, None, |out| out.write_all(&text)).map(|_| ());
            }
            let mut options = fs::OpenOptions::new();
            options.create(true).append(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(&path)?;
            fsx::make_private(&path);
            file.write_all(&text)?;
            if file.metadata()?.len() > MAX_BYTES {
                let all = fs::read_to_string(&path)?;
                fsx::remove_stale_temps(root, FILE);
                fsx::write_atomic(&path, None, newest(&all, MAX_BYTES / 2))?;
            }
            Ok(())
        })
    }
}

#[cfg(test)]
thread_local! {
    /// Tests: how many appends on this thread named lines written ahead.
    static NAMED_AHEAD: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// The newest whole lines of `text` that fit in `budget` bytes.
fn newest(text: &str, budget: u64) -> &str {
    let budget = budget as usize;
    if text.len() <= budget {
        return text;
    }
    let cut = text.len() - budget;
    match text[cut..].find('\n') {
        Some(i) => &text[cut + i + 1..],
        None => "",
    }
}

/// Every entry, oldest first. A line that does not parse (a hand edit, a torn write of a
/// crashed run) is skipped; a missing journal is an empty one.
pub(crate) fn read(root: &Path) -> io::Result<Vec<Entry>> {
    let text = match fsx::read_limited(&root.join(FILE), MAX_BYTES * 4) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut entries: Vec<Entry> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    // Appends from several switchers arrive in lock order, which is nearly time order.
    entries.sort_by_key(|e| e.at);
    Ok(entries)
}

/// Where `log --since` starts: a span back from now, or a time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Since {
    Span(jiff::SignedDuration),
    At(Timestamp),
}

impl Since {
    /// The first instant shown, as of `now`.
    pub(crate) fn start(self, now: Timestamp) -> Timestamp {
        match self {
            Since::Span(span) => now - span,
            Since::At(at) => at,
        }
    }
}

/// Reads `--since` (a clap value parser, so a bad one is a usage error).
pub(crate) fn parse_since(text: &str) -> Result<Since, String> {
    parse_span(text)
        .map(Since::Span)
        .or_else(|| text.parse().ok().map(Since::At))
        .ok_or_else(|| {
            "expected a span (`2h`, `30m`, `1d`, `1h30m`) or an RFC 3339 time".to_owned()
        })
}

/// A span for `--since`: `90s`, `30m`, `2h`, `1d`, `1w`, or several (`1h30m`); `None` if it is
/// not one.
pub(crate) fn parse_span(text: &str) -> Option<jiff::SignedDuration> {
    let mut total: i64 = 0;
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let n: i64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit = rest.chars().next()?;
        let seconds = match unit {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(seconds)?)?;
        rest = &rest[1..];
    }
    Some(jiff::SignedDuration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(at: i64, slot: &str) -> Entry {
        Entry {
            at: Timestamp::from_second(at).unwrap(),
            kind: "switch".into(),
            target: "opencode.json".into(),
            path: Some("/p/opencode.json".into()),
            slot: slot.into(),
            from: "zai/glm-4.6".into(),
            to: "deepseek/deepseek-chat".into(),
            reason: "zai five_hour 92% >= 90%".into(),
        }
    }

    #[test]
    fn a_new_entry_reads_back_as_an_entry() {
        let slot = KeyPath::new(["agent", "my.agent", "model"]);
        let new = NewEntry {
            at: Timestamp::from_second(20).unwrap(),
            kind: "switch",
            target: "opencode.json",
            path: "/p/opencode.json".into(),
            slot: &slot,
            from: "zai/glm-4.6",
            to: "deepseek/deepseek-chat",
            reason: "zai five_hour 92% >= 90%",
        };
        let read: Entry = serde_json::from_str(&serde_json::to_string(&new).unwrap()).unwrap();
        assert_eq!(
            read,
            Entry {
                slot: "agent.\"my.agent\".model".into(),
                ..entry(20, "")
            }
        );
    }

    #[test]
    fn spans() {
        assert_eq!(parse_span("90s").unwrap().as_secs(), 90);
        assert_eq!(parse_span("2h").unwrap().as_secs(), 7200);
        assert_eq!(parse_span("1h30m").unwrap().as_secs(), 5400);
        assert_eq!(parse_span("1w").unwrap().as_secs(), 604_800);
        for bad in ["", "2", "h", "2x", "2h3", "-1h", "99999999999999999999s"] {
            assert_eq!(parse_span(bad), None, "{bad}");
        }
    }

    #[test]
    fn appends_read_back_oldest_first_and_the_journal_stays_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let state_dir = StateDir::new(dir.path().to_owned());
        assert_eq!(read(dir.path()).unwrap(), vec![]);
        append(&state_dir, [entry(20, "model")].iter()).unwrap();
        append(&state_dir, [entry(10, "small_model")].iter()).unwrap();
        let slots: Vec<String> = read(dir.path())
            .unwrap()
            .into_iter()
            .map(|e| e.slot)
            .collect();
        assert_eq!(slots, ["small_model", "model"]);

        let many: Vec<Entry> = (0..3000)
            .map(|i| entry(100 + i, "agent.build.model"))
            .collect();
        for chunk in many.chunks(100) {
            append(&state_dir, chunk.iter()).unwrap();
        }
        let size = fs::metadata(dir.path().join(FILE)).unwrap().len();
        assert!(size <= MAX_BYTES, "{size}");
        let kept = read(dir.path()).unwrap();
        assert!(kept.len() > 500, "{}", kept.len());
        assert_eq!(
            kept.last().unwrap().at.as_second(),
            3099,
            "the newest survive"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join(FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_batch_past_the_bound_leaves_its_newest_entries_as_a_trim_would() {
        let dir = tempfile::tempdir().unwrap();
        let state_dir = StateDir::new(dir.path().to_owned());
        append(&state_dir, [entry(1, "model")].iter()).unwrap();
        let many: Vec<Entry> = (0..5000)
            .map(|i| entry(100 + i, "agent.build.model"))
            .collect();
        append(&state_dir, many.iter()).unwrap();
        let text = fs::read_to_string(dir.path().join(FILE)).unwrap();
        let all: String = many
            .iter()
            .map(|e| serde_json::to_string(e).unwrap() + "\n")
            .collect();
        assert!(all.len() as u64 > MAX_BYTES);
        assert_eq!(text, newest(&all, MAX_BYTES / 2));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join(FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_batch_written_ahead_is_seen_once_appended_and_never_if_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let state_dir = StateDir::new(dir.path().to_owned());
        append(&state_dir, [entry(1, "model")].iter()).unwrap();
        let before = fs::read_to_string(dir.path().join(FILE)).unwrap();
        let listing = || {
            let mut names: Vec<_> = (fs::read_dir(dir.path()).unwrap())
                .map(|e| e.unwrap().file_name())
                .collect();
            names.sort();
            names
        };
        let names = listing();
        let many: Vec<Entry> = (0..5000)
            .map(|i| entry(100 + i, "agent.build.model"))
            .collect();
        let all: String = (many.iter())
            .map(|e| serde_json::to_string(e).unwrap() + "\n")
            .collect();

        let mut dropped = Lines::of(many.iter());
        dropped.write_ahead(&state_dir);
        drop(dropped);
        let mut lines = Lines::of(many.iter());
        lines.write_ahead(&state_dir);
        // Where the filesystem makes files with no name: the append names that file.
        let ahead = lines.ahead.is_some();
        // Written ahead, nothing shows: neither the lines nor a file of them.
        assert_eq!(fs::read_to_string(dir.path().join(FILE)).unwrap(), before);
        assert_eq!(listing(), names);
        lines.append(&state_dir).unwrap();
        assert_eq!(NAMED_AHEAD.get(), usize::from(ahead));
        let text = fs::read_to_string(dir.path().join(FILE)).unwrap();
        assert_eq!(text, newest(&all, MAX_BYTES / 2));
        assert_eq!(listing(), names);
    }

    #[test]
    fn a_torn_line_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let good = serde_json::to_string(&entry(5, "model")).unwrap();
        fs::write(dir.path().join(FILE), format!("{good}\n{{\"at\": \"20\n")).unwrap();
        assert_eq!(read(dir.path()).unwrap(), vec![entry(5, "model")]);
    }
}
