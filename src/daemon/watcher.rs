//! The watcher: reports changes to targets and status files.
//!
//! It watches the directories that hold them, not the files: editors and agents save by writing a
//! new file and renaming it over the old one, and a watch on the old file would die with it. It
//! reports only the paths it was asked about, and only events that can change content — opening
//! or reading a file is an event too, and our own reads must not look like changes. Bursts are
//! debounced by the daemon loop, except when the event itself says the writer is done; whether a change is real (and not our own write) is the
//! applier's call, by content.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use notify::event::{AccessKind, AccessMode, ModifyKind, RenameMode};
use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher as _};

/// Watches until dropped.
pub struct Watcher {
    _inner: RecommendedWatcher,
}

/// The names under which change events can report `path`: as given (absolute), and through its
/// resolved directory and its resolved file (for symlinks).
pub fn aliases_of(path: &Path) -> Vec<PathBuf> {
    let mut out = vec![path.to_owned()];
    if let (Some(dir), Some(name)) = (path.parent(), path.file_name())
        && let Ok(dir) = dir.canonicalize()
    {
        out.push(dir.join(name));
    }
    if let Ok(real) = path.canonicalize() {
        out.push(real);
    }
    out.sort();
    out.dedup();
    out
}

/// What an event says about a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// The writer is done: a file was renamed into place or closed after writing.
    Complete,
    /// Content changed, and more may follow.
    Ongoing,
}

fn classify(kind: &EventKind) -> Option<Change> {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write))
        | EventKind::Modify(ModifyKind::Name(RenameMode::To | RenameMode::Both)) => {
            Some(Change::Complete)
        }
        // Opening or reading a file (our own reads included) changes nothing.
        EventKind::Access(_) => None,
        _ => Some(Change::Ongoing),
    }
}

/// Starts watching the directories of `files`; `changed` gets each changed path among them, once
/// per raw event.
pub fn start(
    files: &[PathBuf],
    changed: impl Fn(PathBuf, Change) + Send + 'static,
) -> Result<Watcher, String> {
    let wanted: HashSet<PathBuf> = files.iter().flat_map(|f| aliases_of(f)).collect();
    let dirs: BTreeSet<PathBuf> = wanted
        .iter()
        .filter_map(|f| f.parent().and_then(|d| d.canonicalize().ok()))
        .collect();
    let handler = move |result: notify::Result<notify::Event>| match result {
        Ok(event) => {
            for path in event.paths {
                if wanted.contains(&path) {
                    tracing::trace!(kind = ?event.kind, path = %path.display(), "file event");
                    if let Some(change) = classify(&event.kind) {
                        changed(path, change);
                    }
                }
            }
        }
        Err(e) => tracing::warn!("file watching: {e}"),
    };
    let mut watcher =
        notify::recommended_watcher(handler).map_err(|e| format!("cannot watch files: {e}"))?;
    for dir in dirs {
        if let Err(e) = watcher.watch(&dir, RecursiveMode::NonRecursive) {
            tracing::warn!(
                "cannot watch {}: {e}; changes there are seen at the next poll only",
                dir.display()
            );
        }
    }
    Ok(Watcher { _inner: watcher })
}
