//! Linux: the watcher's own inotify backend, in place of notify's.
//!
//! notify's inotify backend asks the kernel for open and access events as well, and cannot be told
//! not to, so every process that merely opened or read a file in a watched directory (an editor,
//! an indexer, the agent itself) woke the daemon. This one asks only for what can change a file's
//! content or name — a file closed after writing, created, deleted, renamed in or out, and the
//! watched directory itself deleted or moved — so an idle daemon stays asleep however busy its
//! directories are. In-place writes are seen when the writer closes the file, as every editor and
//! agent does; an attribute change (mode, times) is no event.
//!
//! Events arrive on the daemon's async thread (the descriptor is non-blocking and read when the
//! runtime says it is readable) and are handed to the watcher's handler as notify events, so the
//! handler is the same on every system. A directory watched recursively gets a watch for each
//! directory under it, and for each one created or moved in later.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use notify::event::{AccessKind, AccessMode, CreateKind, ModifyKind, RemoveKind, RenameMode};
use notify::{Event, EventKind, RecursiveMode};
use rustix::fs::inotify::{self, CreateFlags, ReadFlags, WatchFlags};
use rustix::io::Errno;
use tokio::io::unix::AsyncFd;

/// What can change a file: nothing about opens, reads or attributes.
const MASK: WatchFlags = WatchFlags::CLOSE_WRITE
    .union(WatchFlags::MOVED_TO)
    .union(WatchFlags::MOVED_FROM)
    .union(WatchFlags::CREATE)
    .union(WatchFlags::DELETE)
    .union(WatchFlags::DELETE_SELF)
    .union(WatchFlags::MOVE_SELF);

/// A watch on an inotify descriptor, until dropped.
pub(super) struct Inotify {
    fd: Arc<OwnedFd>,
    watches: Arc<Mutex<Watches>>,
    reader: tokio::task::JoinHandle<()>,
}

/// Which directory each watch descriptor stands for, and the other way round.
#[derive(Default)]
struct Watches {
    dirs: HashMap<i32, (PathBuf, bool)>,
    descriptors: HashMap<PathBuf, i32>,
}

impl Inotify {
    /// Starts reading events on the current tokio runtime; `handler` gets each one.
    pub(super) fn new(
        handler: impl FnMut(notify::Result<Event>) + Send + 'static,
    ) -> io::Result<Inotify> {
        let fd = Arc::new(inotify::init(CreateFlags::CLOEXEC | CreateFlags::NONBLOCK)?);
        let watches = Arc::new(Mutex::new(Watches::default()));
        // SAFETY: the descriptor is an `OwnedFd` behind an `Arc` that the `AsyncFd` holds a
        // clone of, so it stays open, and the same, for as long as the `AsyncFd` lives.
        let readable = unsafe { AsyncFd::register(fd.clone()) }.map_err(io::Error::from)?;
        let reader = tokio::spawn(read(readable, watches.clone(), handler));
        Ok(Inotify {
            fd,
            watches,
            reader,
        })
    }

    /// Watches `dir` (and, with `Recursive`, every directory under it).
    pub(super) fn watch(&mut self, dir: &Path, mode: RecursiveMode) -> io::Result<()> {
        let mut watches = self.watches.lock().unwrap_or_else(|e| e.into_inner());
        watches.add(&self.fd, dir, mode == RecursiveMode::Recursive)
    }
}

impl Drop for Inotify {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl Watches {
    fn add(&mut self, fd: &OwnedFd, dir: &Path, recursive: bool) -> io::Result<()> {
        let wd = inotify::add_watch(fd, dir, MASK)?;
        // The same path on another inode (a directory made anew): its old watch is stale.
        if let Some(old) = self.descriptors.insert(dir.to_owned(), wd)
            && old != wd
        {
            self.dirs.remove(&old);
            let _ = inotify::remove_watch(fd, old);
        }
        self.dirs.insert(wd, (dir.to_owned(), recursive));
        if recursive {
            // Best effort below the top: a subdirectory that cannot be read or vanished has
            // nothing to report.
            for entry in std::fs::read_dir(dir)?.flatten() {
                let path = entry.path();
                if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    let _ = self.add(fd, &path, true);
                }
            }
        }
        Ok(())
    }

    fn forget(&mut self, wd: i32) {
        if let Some((dir, _)) = self.dirs.remove(&wd)
            && self.descriptors.get(&dir) == Some(&wd)
        {
            self.descriptors.remove(&dir);
        }
    }
}

/// Reads events until the task is aborted (the watcher dropped) or the descriptor fails.
async fn read(
    fd: AsyncFd<Arc<OwnedFd>>,
    watches: Arc<Mutex<Watches>>,
    mut handler: impl FnMut(notify::Result<Event>),
) {
    let mut buf = [MaybeUninit::<u8>::uninit(); 8192];
    loop {
        let mut ready = match fd.readable().await {
            Ok(ready) => ready,
            Err(e) => return handler(Err(notify::Error::io(e))),
        };
        let mut events = inotify::Reader::new(fd.get_ref(), &mut buf);
        loop {
            match events.next() {
                Ok(event) => {
                    let mut watches = watches.lock().unwrap_or_else(|e| e.into_inner());
                    if let Some(event) = translate(&event, &mut watches, fd.get_ref()) {
                        drop(watches);
                        handler(event);
                    }
                }
                Err(Errno::AGAIN) => {
                    ready.clear_ready();
                    break;
                }
                Err(Errno::INTR) => {}
                Err(e) => return handler(Err(notify::Error::io(e.into()))),
            }
        }
    }
}

/// One kernel event as a notify event, with the watches kept up to date on the way.
fn translate(
    event: &inotify::Event<'_>,
    watches: &mut Watches,
    fd: &OwnedFd,
) -> Option<notify::Result<Event>> {
    let flags = event.events();
    if flags.contains(ReadFlags::QUEUE_OVERFLOW) {
        return Some(Err(notify::Error::generic(
            "too many file events at once: some changes may be seen only at the next poll",
        )));
    }
    if flags.contains(ReadFlags::IGNORED) {
        watches.forget(event.wd());
        return None;
    }
    let (dir, recursive) = watches.dirs.get(&event.wd())?.clone();
    let path = match event.file_name() {
        Some(name) => dir.join(OsStr::from_bytes(name.to_bytes())),
        None => dir.clone(),
    };
    let is_dir = flags.contains(ReadFlags::ISDIR);
    let kind = if flags.contains(ReadFlags::CLOSE_WRITE) {
        EventKind::Access(AccessKind::Close(AccessMode::Write))
    } else if flags.contains(ReadFlags::MOVED_TO) {
        EventKind::Modify(ModifyKind::Name(RenameMode::To))
    } else if flags.contains(ReadFlags::MOVED_FROM) {
        EventKind::Modify(ModifyKind::Name(RenameMode::From))
    } else if flags.contains(ReadFlags::CREATE) {
        EventKind::Create(if is_dir {
            CreateKind::Folder
        } else {
            CreateKind::File
        })
    } else if flags.contains(ReadFlags::DELETE) {
        EventKind::Remove(if is_dir {
            RemoveKind::Folder
        } else {
            RemoveKind::File
        })
    } else if flags.contains(ReadFlags::DELETE_SELF) {
        EventKind::Remove(RemoveKind::Folder)
    } else if flags.contains(ReadFlags::MOVE_SELF) {
        // Its watch would follow it to wherever it went, under its old name: drop it. If a
        // directory comes back at that path, the watcher watches it anew.
        let _ = inotify::remove_watch(fd, event.wd());
        watches.forget(event.wd());
        EventKind::Modify(ModifyKind::Name(RenameMode::From))
    } else {
        return None;
    };
    // A directory made or moved in under a recursive watch is watched with it.
    if recursive && is_dir && flags.intersects(ReadFlags::CREATE | ReadFlags::MOVED_TO) {
        let _ = watches.add(fd, &path, true);
    }
    Some(Ok(Event::new(kind).add_path(path)))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    /// Whether the kernel has queued an event on `fd` (which is non-blocking).
    fn queued(fd: &OwnedFd) -> bool {
        let mut buf = [MaybeUninit::<u8>::uninit(); 4096];
        let next = inotify::Reader::new(fd, &mut buf).next().map(|_| ());
        match next {
            Ok(()) => true,
            Err(Errno::AGAIN) => false,
            Err(e) => panic!("reading inotify: {e}"),
        }
    }

    /// The kernel queues nothing for another process's opens, reads or attribute changes in a
    /// watched directory, so nothing wakes the daemon; a file closed after writing is queued.
    #[test]
    fn opens_reads_and_attribute_changes_queue_nothing_a_write_does() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("opencode.json");
        std::fs::write(&file, "{}").unwrap();
        let fd = inotify::init(CreateFlags::CLOEXEC | CreateFlags::NONBLOCK).unwrap();
        inotify::add_watch(&fd, dir.path(), MASK).unwrap();
        for _ in 0..3 {
            std::fs::read_to_string(&file).unwrap();
            std::fs::File::open(&file).unwrap();
        }
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let _ = std::fs::read_dir(dir.path()).unwrap().count();
        assert!(
            !queued(&fd),
            "an open, a read or a mode change woke the watch"
        );
        std::fs::write(&file, "{\"model\": \"a/b\"}").unwrap();
        assert!(queued(&fd), "a write was not seen");
    }
}
