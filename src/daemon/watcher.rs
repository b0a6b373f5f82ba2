//! The watcher: reports changes to targets and status files.
//!
//! It watches the directories that hold them, not the files: editors and agents save by writing a
//! new file and renaming it over the old one, and a watch on the old file would die with it. It
//! reports only the paths it was asked about, and only events that can change content — opening
//! or reading a file is an event too, and our own reads must not look like changes. Bursts are
//! debounced by the daemon loop, except when the event itself says the writer is done; whether a
//! change is real (and not our own write) is the applier's call, by content.
//!
//! A directory's watch dies with the directory, so each directory's parent is watched too: when
//! the directory is created (again), it is reported like a changed file, and the daemon watches
//! it anew and looks at the files in it.
//!
//! Agent dirs (README, Targets: Markdown agents) are watched whole, nested folders included, so
//! that agent files created, renamed or deleted later are seen: every path under them is
//! reported, and the applier decides what it is.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use notify::event::{AccessKind, AccessMode, ModifyKind, RenameMode};
use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher as _};

/// Watches until dropped.
pub(crate) struct Watcher {
    inner: RecommendedWatcher,
    /// The directories holding the files, resolved as far as they exist, and the agent dirs.
    dirs: BTreeSet<PathBuf>,
    /// The agent dirs, watched with everything under them.
    roots: BTreeSet<PathBuf>,
    /// Every name of every file asked about.
    files: Vec<PathBuf>,
}

impl Watcher {
    /// Whether `path` is one of the watched directories (reported when it is created).
    pub(crate) fn is_dir(&self, path: &Path) -> bool {
        self.dirs.contains(path)
    }

    /// Watches `dir` again after it was created, and returns the files asked about in it (for
    /// an agent dir, the dir itself: whatever is in it is new).
    pub(crate) fn rewatch(&mut self, dir: &Path) -> Vec<PathBuf> {
        let root = self.roots.contains(dir);
        let mode = if root {
            RecursiveMode::Recursive
        } else {
            RecursiveMode::NonRecursive
        };
        if let Err(e) = self.inner.watch(dir, mode) {
            tracing::warn!("cannot watch {}: {e}", dir.display());
        }
        if root {
            return vec![dir.to_owned()];
        }
        self.files
            .iter()
            .filter(|f| f.parent() == Some(dir))
            .cloned()
            .collect()
    }
}

/// The names under which change events can report `path`: as given (absolute), and through its
/// resolved directory (as far as it exists) and its resolved file (for symlinks).
pub(crate) fn aliases_of(path: &Path) -> Vec<PathBuf> {
    let mut out = vec![path.to_owned()];
    if let (Some(dir), Some(name)) = (path.parent(), path.file_name())
        && let Ok(dir) = crate::fsx::canonical(dir)
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
pub(crate) enum Change {
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

fn created(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::Create(_)
            | EventKind::Modify(ModifyKind::Name(RenameMode::To | RenameMode::Both))
    )
}

/// Starts watching the directories of `files`, and the agent dirs `roots` whole; `changed` gets
/// each changed path among the files or under the roots, once per raw event.
pub(crate) fn start(
    files: &[PathBuf],
    roots: &[PathBuf],
    changed: impl Fn(PathBuf, Change) + Send + 'static,
) -> Result<Watcher, String> {
    let names: Vec<PathBuf> = files.iter().flat_map(|f| aliases_of(f)).collect();
    let roots: BTreeSet<PathBuf> = roots
        .iter()
        .map(|r| crate::fsx::canonical(r).unwrap_or_else(|_| r.clone()))
        .collect();
    // A directory inside an agent dir is already watched with it.
    let mut dirs: BTreeSet<PathBuf> = names
        .iter()
        .filter_map(|f| f.parent().and_then(|d| crate::fsx::canonical(d).ok()))
        .filter(|d| !roots.iter().any(|r| d.starts_with(r)))
        .collect();
    dirs.extend(roots.iter().cloned());
    let wanted: HashSet<PathBuf> = names.iter().cloned().collect();
    let wanted_dirs = dirs.clone();
    let wanted_roots = roots.clone();
    let handler = move |result: notify::Result<notify::Event>| match result {
        Ok(event) => {
            for path in event.paths {
                let under_root = || {
                    wanted_roots
                        .iter()
                        .any(|r| path.starts_with(r) && path != *r)
                };
                let change = if wanted.contains(&path) {
                    classify(&event.kind)
                } else if wanted_dirs.contains(&path) {
                    // A directory of ours appearing; anything else about it changes no file.
                    created(&event.kind).then_some(Change::Complete)
                } else if under_root() {
                    classify(&event.kind)
                } else {
                    continue;
                };
                tracing::trace!(kind = ?event.kind, path = %path.display(), "file event");
                if let Some(change) = change {
                    changed(path, change);
                }
            }
        }
        Err(e) => tracing::warn!("file watching: {e}"),
    };
    let mut watcher =
        notify::recommended_watcher(handler).map_err(|e| format!("cannot watch files: {e}"))?;
    let parents: BTreeSet<&Path> = dirs.iter().filter_map(|d| d.parent()).collect();
    for parent in parents {
        // Only to see a directory of ours come back; a missing one has nothing to report.
        let _ = watcher.watch(parent, RecursiveMode::NonRecursive);
    }
    for dir in &dirs {
        let mode = if roots.contains(dir) {
            RecursiveMode::Recursive
        } else {
            RecursiveMode::NonRecursive
        };
        match watcher.watch(dir, mode) {
            Ok(()) => {}
            // Watched for in its parent: it is looked at when it is created.
            Err(_) if !dir.exists() && dir.parent().is_some_and(Path::exists) => {}
            // An agent dir of a scope that does not exist (no `.opencode` here): nothing to see.
            Err(_) if !dir.exists() && roots.contains(dir) => {}
            Err(e) => tracing::warn!(
                "cannot watch {}: {e}; changes there are seen at the next poll only",
                dir.display()
            ),
        }
    }
    Ok(Watcher {
        inner: watcher,
        dirs,
        roots,
        files: names,
    })
}
