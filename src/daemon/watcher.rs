//! The watcher: reports changes to targets, status files and the files of the signals dir.
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

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use notify::event::{AccessKind, AccessMode, ModifyKind, RenameMode};
use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher as _};

/// A directory watched whole: a change to any file in it whose name `accepts` takes counts.
#[derive(Clone)]
pub(crate) struct WholeDir {
    pub(crate) path: PathBuf,
    pub(crate) accepts: fn(&Path) -> bool,
}

/// Watches until dropped.
pub(crate) struct Watcher {
    inner: RecommendedWatcher,
    /// The directories holding the files and the directories watched whole, resolved as far as
    /// they exist.
    dirs: BTreeSet<PathBuf>,
    /// Every name of every file asked about.
    files: Vec<PathBuf>,
    /// The directories watched whole, resolved as far as they exist.
    whole: BTreeSet<PathBuf>,
}

impl Watcher {
    /// Whether `path` is one of the watched directories (reported when it is created).
    pub(crate) fn is_dir(&self, path: &Path) -> bool {
        self.dirs.contains(path)
    }

    /// Watches `dir` again after it was created, and returns the files asked about in it (and
    /// the directory itself, when it is watched whole).
    pub(crate) fn rewatch(&mut self, dir: &Path) -> Vec<PathBuf> {
        if let Err(e) = self.inner.watch(dir, RecursiveMode::NonRecursive) {
            tracing::warn!("cannot watch {}: {e}", dir.display());
        }
        let mut changed: Vec<PathBuf> = self
            .files
            .iter()
            .filter(|f| f.parent() == Some(dir))
            .cloned()
            .collect();
        if self.whole.contains(dir) {
            changed.push(dir.to_owned());
        }
        changed
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

/// Starts watching the directories of `files`, and `dirs` whole (each with the file names that
/// count in it); `changed` gets each changed path among them, once per raw event: a file asked
/// about, a file in a directory watched whole, or a directory of ours that appeared.
pub(crate) fn start(
    files: &[PathBuf],
    dirs: &[WholeDir],
    changed: impl Fn(PathBuf, Change) + Send + 'static,
) -> Result<Watcher, String> {
    let names: Vec<PathBuf> = files.iter().flat_map(|f| aliases_of(f)).collect();
    let whole: Vec<WholeDir> = dirs
        .iter()
        .filter_map(|d| {
            let path = crate::fsx::canonical(&d.path).ok()?;
            Some(WholeDir { path, ..d.clone() })
        })
        .collect();
    let mut all_dirs: BTreeSet<PathBuf> = names
        .iter()
        .filter_map(|f| f.parent().and_then(|d| crate::fsx::canonical(d).ok()))
        .collect();
    all_dirs.extend(whole.iter().map(|d| d.path.clone()));
    let wanted: HashSet<PathBuf> = names.iter().cloned().collect();
    let wanted_dirs = all_dirs.clone();
    let wanted_whole = whole.clone();
    let in_whole = move |path: &Path| {
        path.parent()
            .is_some_and(|dir| (wanted_whole.iter()).any(|d| d.path == dir && (d.accepts)(path)))
    };
    let handler = move |result: notify::Result<notify::Event>| match result {
        Ok(event) => {
            for path in event.paths {
                let change = if wanted.contains(&path) || in_whole(&path) {
                    classify(&event.kind)
                } else if wanted_dirs.contains(&path) {
                    // A directory of ours appearing; anything else about it changes no file.
                    created(&event.kind).then_some(Change::Complete)
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
    let parents: BTreeSet<&Path> = all_dirs.iter().filter_map(|d| d.parent()).collect();
    for parent in parents {
        // Only to see a directory of ours come back; a missing one has nothing to report.
        let _ = watcher.watch(parent, RecursiveMode::NonRecursive);
    }
    for dir in &all_dirs {
        match watcher.watch(dir, RecursiveMode::NonRecursive) {
            Ok(()) => {}
            // Watched for in its parent: it is looked at when it is created.
            Err(_) if !dir.exists() && dir.parent().is_some_and(Path::exists) => {}
            Err(e) => tracing::warn!(
                "cannot watch {}: {e}; changes there are seen at the next poll only",
                dir.display()
            ),
        }
    }
    Ok(Watcher {
        inner: watcher,
        dirs: all_dirs,
        files: names,
        whole: whole.into_iter().map(|d| d.path).collect(),
    })
}
