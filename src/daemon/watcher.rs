//! The watcher: reports changes to targets, status files, the files of the signals dir and
//! whatever happens in agent dirs.
//!
//! It watches the directories that hold them, not the files: editors and agents save by writing a
//! new file and renaming it over the old one, and a watch on the old file would die with it. It
//! reports only the paths it was asked about, and only events that can change content — opening
//! or reading a file is an event too, and our own reads must not look like changes. Bursts are
//! debounced by the daemon loop, except when the event itself says the writer is done; whether a
//! change is real (and not our own write) is the applier's call, by content.
//!
//! A directory's watch dies with the directory, so its parent is watched for it to come back (on
//! Linux only once it is gone, so that a busy parent does not wake the daemon): when the
//! directory is created (again), it is reported like a changed file, and the daemon watches it
//! anew and looks at the files in it.
//!
//! Some directories are watched whole: the signals dir (its files, by name) and the agent dirs
//! (README, Targets: Markdown agents), nested folders included, so that agent files created,
//! renamed or deleted later are seen; every path under an agent dir is reported, and the applier
//! decides what it is.
//!
//! On Linux the events come from the daemon's own inotify backend (`daemon/inotify.rs`), which
//! asks the kernel only for events that can change a file, so that other processes opening and
//! reading files in these directories do not wake the daemon; elsewhere from notify's.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use notify::event::{AccessKind, AccessMode, CreateKind, ModifyKind, RemoveKind, RenameMode};
use notify::{EventKind, RecursiveMode};

/// Where events come from: on Linux, a watch that asks for nothing but changes.
#[cfg(target_os = "linux")]
type Backend = super::inotify::Inotify;
#[cfg(not(target_os = "linux"))]
type Backend = notify::RecommendedWatcher;

#[cfg(target_os = "linux")]
fn backend(
    handler: impl FnMut(notify::Result<notify::Event>) + Send + 'static,
) -> Result<Backend, String> {
    Backend::new(handler).map_err(|e| e.to_string())
}

#[cfg(not(target_os = "linux"))]
fn backend(
    handler: impl FnMut(notify::Result<notify::Event>) + Send + 'static,
) -> Result<Backend, String> {
    notify::recommended_watcher(handler).map_err(|e| e.to_string())
}

#[cfg(target_os = "linux")]
fn watch(backend: &mut Backend, dir: &Path, mode: RecursiveMode) -> Result<(), String> {
    backend.watch(dir, mode).map_err(|e| e.to_string())
}

#[cfg(not(target_os = "linux"))]
fn watch(backend: &mut Backend, dir: &Path, mode: RecursiveMode) -> Result<(), String> {
    use notify::Watcher as _;
    backend.watch(dir, mode).map_err(|e| e.to_string())
}

/// A directory watched whole: a change to any path in it (or under it, when `recursive`) that
/// `accepts` takes counts.
#[derive(Clone)]
pub(crate) struct WholeDir {
    pub(crate) path: PathBuf,
    pub(crate) recursive: bool,
    pub(crate) accepts: fn(&Path) -> bool,
}

impl WholeDir {
    fn mode(&self) -> RecursiveMode {
        if self.recursive {
            RecursiveMode::Recursive
        } else {
            RecursiveMode::NonRecursive
        }
    }

    /// Whether a change of `kind` to `path` counts. Under a recursive watch a directory counts
    /// too (the files in it are looked for), whatever its name; our own temp files never do.
    fn holds(&self, path: &Path, kind: &EventKind) -> bool {
        let inside = if self.recursive {
            path.starts_with(&self.path) && path != self.path
        } else {
            path.parent() == Some(&self.path)
        };
        inside
            && ((self.accepts)(path) || (self.recursive && may_be_dir(kind)))
            && !crate::fsx::is_temp(path)
    }
}

/// Watches until dropped.
pub(crate) struct Watcher {
    inner: Backend,
    /// The directories holding the files and the directories watched whole, resolved as far as
    /// they exist.
    dirs: BTreeSet<PathBuf>,
    /// Every name of every file asked about.
    files: Vec<PathBuf>,
    /// The directories watched whole, resolved as far as they exist.
    whole: Vec<WholeDir>,
    /// The parents watched to see a directory of ours come back.
    parents: BTreeSet<PathBuf>,
}

impl Watcher {
    /// Whether `path` is one of the watched directories (reported when it is created).
    pub(crate) fn is_dir(&self, path: &Path) -> bool {
        self.dirs.contains(path)
    }

    /// Watches `dir` again after it was created, and returns the files asked about in it (and
    /// the directory itself, when it is watched whole). If it is gone instead, watches its
    /// parent until it comes back, and returns nothing.
    pub(crate) fn rewatch(&mut self, dir: &Path) -> Vec<PathBuf> {
        let whole = self.whole.iter().find(|d| d.path == dir);
        let mode = whole.map_or(RecursiveMode::NonRecursive, WholeDir::mode);
        let mut watched = watch(&mut self.inner, dir, mode);
        if watched.is_err() && !dir.exists() {
            watch_parent(&mut self.inner, &mut self.parents, dir);
            // Made again before its parent was watched: no event will say so.
            if !dir.exists() {
                return Vec::new();
            }
            watched = watch(&mut self.inner, dir, mode);
        }
        if let Err(e) = watched {
            tracing::warn!("cannot watch {}: {e}", dir.display());
        }
        let mut changed: Vec<PathBuf> = self
            .files
            .iter()
            .filter(|f| f.parent() == Some(dir))
            .cloned()
            .collect();
        if whole.is_some() {
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

/// Whether the event may be about a directory: not when it says it is about a file (Linux's
/// events always say; other systems' often cannot).
fn may_be_dir(kind: &EventKind) -> bool {
    !matches!(
        kind,
        EventKind::Access(_)
            | EventKind::Create(CreateKind::File)
            | EventKind::Remove(RemoveKind::File)
            | EventKind::Modify(ModifyKind::Data(_) | ModifyKind::Metadata(_))
    )
}

/// Whether an event about a directory of ours says it appeared or went away (renamed, either
/// way, or removed).
fn came_or_went(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::Create(_) | EventKind::Remove(_) | EventKind::Modify(ModifyKind::Name(_))
    )
}

/// Watches the parent of `dir`, once, to see `dir` made again. On Linux a parent is watched
/// only while a directory of ours is missing from it: a busy parent (the home directory, `/tmp`)
/// would otherwise wake the daemon for every name made or removed in it. Elsewhere every
/// parent is watched from the start, since not every system reports a directory's own removal.
fn watch_parent(backend: &mut Backend, parents: &mut BTreeSet<PathBuf>, dir: &Path) {
    if let Some(parent) = dir.parent()
        && !parents.contains(parent)
        && watch(backend, parent, RecursiveMode::NonRecursive).is_ok()
    {
        parents.insert(parent.to_owned());
    }
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
    let whole: Vec<WholeDir> = (dirs.iter())
        .map(|d| WholeDir {
            path: crate::fsx::canonical(&d.path).unwrap_or_else(|_| d.path.clone()),
            ..d.clone()
        })
        .collect();
    // A directory inside a recursively watched one is already watched with it.
    let mut all_dirs: BTreeSet<PathBuf> = names
        .iter()
        .filter_map(|f| f.parent().and_then(|d| crate::fsx::canonical(d).ok()))
        .filter(|d| !(whole.iter()).any(|w| w.recursive && d.starts_with(&w.path)))
        .collect();
    all_dirs.extend(whole.iter().map(|d| d.path.clone()));
    let wanted: HashSet<PathBuf> = names.iter().cloned().collect();
    let wanted_dirs = all_dirs.clone();
    let wanted_whole = whole.clone();
    let in_whole =
        move |path: &Path, kind: &EventKind| wanted_whole.iter().any(|d| d.holds(path, kind));
    let handler = move |result: notify::Result<notify::Event>| match result {
        Ok(event) => {
            for path in event.paths {
                let change = if wanted.contains(&path) || in_whole(&path, &event.kind) {
                    classify(&event.kind)
                } else if wanted_dirs.contains(&path) {
                    // A directory of ours appearing or going: the daemon watches it anew, or
                    // watches for it. Anything else about it changes no file.
                    came_or_went(&event.kind).then_some(Change::Complete)
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
    let mut watcher = backend(handler).map_err(|e| format!("cannot watch files: {e}"))?;
    let mut parents = BTreeSet::new();
    if !cfg!(target_os = "linux") {
        for dir in &all_dirs {
            watch_parent(&mut watcher, &mut parents, dir);
        }
    }
    for dir in &all_dirs {
        let whole = whole.iter().find(|d| d.path == *dir);
        let mode = whole.map_or(RecursiveMode::NonRecursive, WholeDir::mode);
        let mut watched = watch(&mut watcher, dir, mode);
        if watched.is_err() && !dir.exists() {
            watch_parent(&mut watcher, &mut parents, dir);
            // Made in the meantime, before its parent was watched.
            if dir.exists() {
                watched = watch(&mut watcher, dir, mode);
            }
        }
        match watched {
            Ok(()) => {}
            // Watched for in its parent: it is looked at when it is created.
            Err(_) if !dir.exists() && dir.parent().is_some_and(Path::exists) => {}
            // An agent dir of a scope that does not exist (no `.opencode` here): nothing to see.
            Err(_) if !dir.exists() && whole.is_some() => {}
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
        whole,
        parents,
    })
}
