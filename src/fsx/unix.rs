//! The Unix side of [`crate::fsx`]: modes, owners, non-blocking opens, signal-0 liveness checks,
//! and the atomic exchange of two names on the systems that have one (Linux's `renameat2`,
//! macOS's `renameatx_np`).

use std::fs::{self, File, Metadata, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Opens for reading without waiting: opening a FIFO would otherwise wait for a writer, forever.
/// Regular files ignore the flag.
pub fn open_without_waiting(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(path)
}

/// FIFOs and devices are already told apart by their metadata here.
pub fn is_disk_file(_file: &File) -> bool {
    true
}

/// Its owner may not write the file (`chmod u-w`, `chmod 444`).
pub fn write_protected(meta: &Metadata) -> bool {
    meta.permissions().mode() & 0o200 == 0
}

/// The file's identity, size and change times ([`super::Stamp`]).
pub fn stamp(meta: &Metadata) -> Option<super::Stamp> {
    Some(super::Stamp {
        file: (meta.dev(), meta.ino()),
        len: meta.len(),
        modified: (meta.mtime(), meta.mtime_nsec()),
        changed: (meta.ctime(), meta.ctime_nsec()),
    })
}

/// Options that create a file only its owner can read.
pub fn private_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.mode(0o600);
    options
}

pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

pub fn make_private(path: &Path) {
    if let Ok(meta) = fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        let _ = fs::set_permissions(path, fs::Permissions::from_mode(0o600));
    }
}

/// Gives the replacement the mode and, where permitted, the owner of the file it replaces.
pub fn keep_mode_and_owner(file: &File, meta: &Metadata) -> io::Result<()> {
    file.set_permissions(meta.permissions())?;
    // Keeping the owner needs privileges we rarely have; the mode is what matters.
    let _ = rustix::fs::fchown(
        file,
        Some(rustix::fs::Uid::from_raw(meta.uid())),
        Some(rustix::fs::Gid::from_raw(meta.gid())),
    );
    Ok(())
}

/// Syncs a directory so a rename in it survives a crash. Best effort: some filesystems refuse.
pub fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// How many files this process may have open at once (the soft limit); `None` if unlimited.
pub fn open_files_limit() -> Option<u64> {
    rustix::process::getrlimit(rustix::process::Resource::Nofile).current
}

pub fn process_alive(pid: u32) -> bool {
    let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return false;
    };
    // Signal 0 checks without sending: "no such process" is the only sure answer.
    !matches!(
        rustix::process::test_kill_process(pid),
        Err(rustix::io::Errno::SRCH)
    )
}

/// Atomically swaps the files named `a` and `b`. `Ok(false)`: this system or filesystem cannot
/// (an old kernel, a network or FAT filesystem), and nothing was changed.
#[cfg(any(target_os = "linux", target_os = "android", target_vendor = "apple"))]
pub fn exchange(a: &Path, b: &Path) -> io::Result<bool> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    use rustix::io::Errno;
    // `RENAME_EXCHANGE` on Linux, `RENAME_SWAP` on Apple systems.
    match renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE) {
        Ok(()) => Ok(true),
        Err(e) if [Errno::INVAL, Errno::NOSYS, Errno::NOTSUP, Errno::OPNOTSUPP].contains(&e) => {
            Ok(false)
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android", target_vendor = "apple")))]
pub fn exchange(_a: &Path, _b: &Path) -> io::Result<bool> {
    Ok(false)
}

/// A file in `dir` with no name, readable by its owner only (`O_TMPFILE`), that
/// [`link_unnamed`] can name. `None` where there is none to be had (a filesystem or a kernel
/// that refuses it). Any error here is met again by the named temp file the caller makes
/// instead, with its words.
#[cfg(target_os = "linux")]
pub fn create_unnamed(dir: &Path) -> Option<File> {
    use rustix::fs::{CWD, Mode, OFlags, openat};
    let flags = OFlags::TMPFILE | OFlags::WRONLY | OFlags::CLOEXEC;
    let fd = openat(CWD, dir, flags, Mode::from_raw_mode(0o600)).ok()?;
    Some(File::from(fd))
}

/// Gives the file made by [`create_unnamed`] the name `to` (which must not exist): by its
/// descriptor (`AT_EMPTY_PATH`, which needs no privilege since Linux 6.10), else through `/proc`.
#[cfg(target_os = "linux")]
pub fn link_unnamed(file: &File, to: &Path) -> io::Result<()> {
    use std::os::fd::AsRawFd;

    use rustix::fs::{AtFlags, CWD, linkat};
    use rustix::io::Errno;
    match linkat(file, "", CWD, to, AtFlags::EMPTY_PATH) {
        Err(e) if e != Errno::EXIST => {
            let by_fd = format!("/proc/self/fd/{}", file.as_raw_fd());
            Ok(linkat(
                CWD,
                by_fd.as_str(),
                CWD,
                to,
                AtFlags::SYMLINK_FOLLOW,
            )?)
        }
        linked => Ok(linked?),
    }
}

#[cfg(not(target_os = "linux"))]
pub fn create_unnamed(_dir: &Path) -> Option<File> {
    None
}

#[cfg(not(target_os = "linux"))]
pub fn link_unnamed(_file: &File, _to: &Path) -> io::Result<()> {
    Err(io::ErrorKind::Unsupported.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    use crate::fsx::{Expected, MAX_FILE, WriteOutcome, prepare, read_limited, write_atomic};

    #[test]
    fn writes_keep_mode_and_follow_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.json");
        fs::write(&real, "old").unwrap();
        fs::set_permissions(&real, fs::Permissions::from_mode(0o640)).unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert_eq!(
            write_atomic(&link, Some("old"), "new").unwrap(),
            WriteOutcome::Written
        );
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_to_string(&real).unwrap(), "new");
        assert_eq!(
            fs::metadata(&real).unwrap().permissions().mode() & 0o777,
            0o640
        );
        let leftovers: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 2, "no temp file left");
    }

    #[test]
    fn writes_through_a_linked_directory_land_in_it() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        fs::create_dir(&real).unwrap();
        fs::write(real.join("a.json"), "old").unwrap();
        std::os::unix::fs::symlink(&real, dir.path().join("link")).unwrap();
        let through = dir.path().join("link/a.json");
        assert_eq!(
            write_atomic(&through, Some("old"), "new").unwrap(),
            WriteOutcome::Written
        );
        write_atomic(&dir.path().join("link/b.json"), None, "made").unwrap();
        assert_eq!(fs::read_to_string(real.join("a.json")).unwrap(), "new");
        assert_eq!(fs::read_to_string(real.join("b.json")).unwrap(), "made");
        assert!(
            fs::symlink_metadata(dir.path().join("link"))
                .unwrap()
                .is_symlink()
        );
        let mut names: Vec<_> = fs::read_dir(&real)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        assert_eq!(names, ["a.json", "b.json"], "no temp file left");
    }

    #[test]
    fn new_files_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        write_atomic(&path, None, "{}").unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn a_fifo_or_device_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo.json");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.unwrap().success());
        // Without a writer, a blocking open would never return.
        let err = read_limited(&fifo, 1024).unwrap_err();
        assert_eq!(err.to_string(), "not a regular file");
        let err = read_limited(Path::new("/dev/zero"), 1024).unwrap_err();
        assert_eq!(err.to_string(), "not a regular file");
        let err = read_limited(dir.path(), MAX_FILE).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::IsADirectory);
    }

    #[cfg(any(target_os = "linux", target_vendor = "apple"))]
    #[test]
    fn exchange_swaps_two_files() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        fs::write(&a, "A").unwrap();
        fs::write(&b, "B").unwrap();
        // A filesystem without the exchange (some CI temp dirs) leaves both alone.
        let swapped = exchange(&a, &b).unwrap();
        let expected = if swapped { ["B", "A"] } else { ["A", "B"] };
        assert_eq!(
            [
                fs::read_to_string(&a).unwrap(),
                fs::read_to_string(&b).unwrap()
            ],
            expected
        );
    }

    #[test]
    fn a_prepared_write_has_no_name_until_it_lands() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.json");
        fs::write(&path, "old").unwrap();
        let names = || fs::read_dir(dir.path()).unwrap().count();
        // Where the temp dir's filesystem has unnamed files, a write prepares one.
        let unnamed = create_unnamed(dir.path()).is_some();
        let prepare = || {
            let prepared = prepare(&path, |out| out.write_all(b"new")).unwrap();
            assert_eq!(prepared.is_some(), unnamed);
            prepared
        };
        let Some(dropped) = prepare() else { return };
        assert_eq!(names(), 1, "prepared, not yet named");
        drop(dropped);
        assert_eq!(
            (names(), fs::read_to_string(&path).unwrap()),
            (1, "old".into())
        );
        // Landed on a file that changed meanwhile: nothing is written, nothing is left.
        let prepared = prepare().unwrap();
        fs::write(&path, "changed").unwrap();
        let old = || {
            Some(Expected {
                text: "old",
                seen: None,
            })
        };
        assert_eq!(prepared.land(old()).unwrap(), Some(WriteOutcome::Conflict));
        assert_eq!(
            (names(), fs::read_to_string(&path).unwrap()),
            (1, "changed".into())
        );
        fs::write(&path, "old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        assert_eq!(
            prepare().unwrap().land(old()).unwrap(),
            Some(WriteOutcome::Written)
        );
        assert_eq!(
            (names(), fs::read_to_string(&path).unwrap()),
            (1, "new".into())
        );
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o640
        );
    }
}
