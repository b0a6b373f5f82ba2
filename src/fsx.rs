//! Filesystem primitives every write goes through: the one atomic compare-and-swap write, bounded
//! reads, leftover-temp cleanup, private files and advisory locks (docs/design.md, Writing a
//! target).
//!
//! A write goes to a uniquely and recognisably named temp file beside the destination, is synced,
//! and renamed over it; the directory is synced after. Just before the rename the destination is
//! re-read, and if it no longer holds what the caller planned from, nothing is written and the
//! caller re-plans. Where the system can exchange two names atomically (Linux, macOS) the rename
//! is an exchange: the displaced file is compared with the planned-from content once more and
//! swapped back if a writer slipped in between, which closes the check-to-rename window. Elsewhere
//! (Windows, or a filesystem that refuses the exchange) that window stays open, as small as one
//! re-read. Where the exchange exists, a target whose stamp (identity, size, change times) is
//! still the one seen when it was read is not re-read before it: the comparison after the
//! exchange decides alone, and a big target is read once rather than twice.
//!
//! A write can also wait for another step to succeed ([`write_atomic_after`]): on Linux its
//! content is written meanwhile to a file with no name (`O_TMPFILE`) beside the destination, which
//! is named as a temp file and swapped in as above once the step has succeeded. A target is so
//! written while its records are saved; a crash before the naming leaves nothing.
//!
//! What differs between systems lives in `fsx/unix.rs` and `fsx/windows.rs`, behind the same few
//! functions.

#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as sys;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as sys;

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Targets and status files above this size are refused rather than read.
pub const MAX_FILE: u64 = 64 * 1024 * 1024;

/// Marks temp files as ours: `.<name>.switcher-tmp.<pid>.<n>`.
const TEMP_TAG: &str = ".switcher-tmp.";

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// How a compare-and-swap write ended.
#[derive(Debug, PartialEq, Eq)]
pub enum WriteOutcome {
    Written,
    /// The destination changed since it was read. Nothing was written.
    Conflict,
}

/// What a file's metadata says of its content: the same file (device and inode), its size and
/// its modification and change times. A file written between two equal stamps was written within
/// the filesystem's timestamp granularity without changing size, which a write that expects
/// content still catches after its exchange (see [`write_atomic_if`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    file: (u64, u64),
    len: u64,
    modified: (i64, i64),
    changed: (i64, i64),
}

/// What a compare-and-swap write expects to replace: the content it planned from and, when the
/// caller read it with [`read_stamped`], the file's stamp then.
#[derive(Clone, Copy, Debug)]
pub struct Expected<'a> {
    pub text: &'a str,
    pub seen: Option<Stamp>,
}

/// Reads a UTF-8 file, refusing one larger than `limit` bytes without reading it, and anything
/// that is not a file (a directory fails on reading).
pub fn read_limited(path: &Path, limit: u64) -> io::Result<String> {
    read_open(path, limit).map(|(text, ..)| text)
}

/// [`read_limited`], with the file's stamp as it was read: none if it was written meanwhile.
pub fn read_stamped(path: &Path, limit: u64) -> io::Result<(String, Option<Stamp>)> {
    let (text, seen) = read_seen(path, limit)?;
    Ok((text, seen.map(|seen| seen.stamp)))
}

/// A file as it was read, kept open. While it is open no other file can take its identity
/// (device and inode), so a path whose stamp is still this one names this very file, unwritten
/// since (within the filesystem's timestamp granularity, for a write in place that keeps the
/// size; files written by [`write_atomic`] are always new files).
#[derive(Debug)]
pub struct Seen {
    _file: File,
    stamp: Stamp,
}

impl Seen {
    /// `path` still names the file read, with the size and times it had then: one `stat`.
    pub fn unchanged(&self, path: &Path) -> bool {
        fs::metadata(path).ok().as_ref().and_then(sys::stamp) == Some(self.stamp)
    }
}

/// [`read_limited`], with the file kept as [`Seen`]: none where the system gives no stamp, or
/// if the file was written while it was read.
pub fn read_seen(path: &Path, limit: u64) -> io::Result<(String, Option<Seen>)> {
    let (text, file, before) = read_open(path, limit)?;
    let after = file.metadata()?;
    let stamp = sys::stamp(&before).filter(|&stamp| sys::stamp(&after) == Some(stamp));
    Ok((text, stamp.map(|stamp| Seen { _file: file, stamp })))
}

/// The text of the file at `path`, the file still open, and its metadata before it was read.
fn read_open(path: &Path, limit: u64) -> io::Result<(String, File, fs::Metadata)> {
    let file = sys::open_without_waiting(path)?;
    let meta = file.metadata()?;
    if (!meta.is_file() && !meta.is_dir()) || !sys::is_disk_file(&file) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    let size = meta.len();
    if size > limit {
        return Err(too_large(size, limit));
    }
    let mut bytes = Vec::with_capacity(size as usize);
    // The file may grow after the size check: read one byte past the limit to notice.
    (&file).take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(bytes.len() as u64, limit));
    }
    let text = String::from_utf8(bytes)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "file is not valid UTF-8"))?;
    Ok((text, file, meta))
}

fn too_large(size: u64, limit: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "file is {} MiB, above the {} MiB limit",
            size.div_ceil(1 << 20),
            limit >> 20
        ),
    )
}

/// Atomically replaces `path` with `content`, if it still holds `expected` (`None`: write
/// unconditionally). A symlink is followed: its destination is replaced and the link stays. The
/// destination's mode and, where permitted, owner are kept; a new file is created mode 0600.
pub fn write_atomic(
    path: &Path,
    expected: Option<&str>,
    content: &str,
) -> io::Result<WriteOutcome> {
    let expected = expected.map(|text| Expected { text, seen: None });
    write_atomic_with(path, expected, |out| out.write_all(content.as_bytes()))
}

/// Refuses a file its owner may not write (`chmod u-w`): one its owner protects, which a rename
/// would replace as easily as any other. A missing file passes.
pub fn refuse_protected(path: &Path) -> io::Result<()> {
    match fs::metadata(path) {
        Ok(meta) if meta.is_file() && sys::write_protected(&meta) => Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "the file is read-only; make it writable to let switcher change it",
        )),
        _ => Ok(()),
    }
}

/// The buffered temp file a [`write_atomic_with`] fills. A concrete type rather than a `dyn
/// Write`, so that a serializer's many small writes are copies into its buffer, not calls.
pub type TempWriter<'a> = io::BufWriter<&'a File>;

/// [`write_atomic`] with the content streamed by `fill` into the temp file (buffered), so a big
/// state file is never held whole in memory.
pub fn write_atomic_with(
    path: &Path,
    expected: Option<Expected<'_>>,
    fill: impl FnOnce(&mut TempWriter<'_>) -> io::Result<()>,
) -> io::Result<WriteOutcome> {
    let landed = write_atomic_if(path, expected, fill, || true)?;
    Ok(landed.expect("a write told to land lands or fails"))
}

/// [`write_atomic_with`] that asks `go`, once the content is synced in its temp file, whether
/// to put it in place; `Ok(None)` when told not to (the temp file is removed). A second thread
/// can so prepare a file while the first decides whether it should land.
pub fn write_atomic_if(
    path: &Path,
    expected: Option<Expected<'_>>,
    fill: impl FnOnce(&mut TempWriter<'_>) -> io::Result<()>,
    go: impl FnOnce() -> bool,
) -> io::Result<Option<WriteOutcome>> {
    let Place { real, dir, name } = place(path)?;
    let (temp, file) = create_temp(&dir, &name)?;
    let prepared = fill_and_sync(&file, &real, fill);
    drop(file);
    let prepared = prepared.map(|()| go());
    let outcome = match prepared {
        Ok(true) => swap_in(&temp, &real, expected)?,
        Ok(false) => {
            let _ = fs::remove_file(&temp);
            return Ok(None);
        }
        Err(e) => {
            let _ = fs::remove_file(&temp);
            return Err(e);
        }
    };
    if outcome == WriteOutcome::Written {
        sys::sync_dir(&dir);
    }
    Ok(Some(outcome))
}

/// Where a write of `path` goes: the file a symlink leads to (refused if its owner protects it),
/// its directory and its name.
struct Place {
    real: PathBuf,
    dir: PathBuf,
    name: String,
}

fn place(path: &Path) -> io::Result<Place> {
    // Only a link at the end needs resolving, since the write replaces the file it leads to.
    // Through linked directories the temp file, the rename and the directory's sync act on the
    // same directory by the path as given.
    let real = match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => canonical(path)?,
        _ => path.to_owned(),
    };
    refuse_protected(&real)?;
    let dir = (real.parent())
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_owned();
    let name = (real.file_name())
        .ok_or_else(|| io::Error::other("not a file path"))?
        .to_string_lossy()
        .into_owned();
    Ok(Place { real, dir, name })
}

/// Writes the content into the new file, gives it the mode and owner of the file it will
/// replace, and syncs it.
fn fill_and_sync(
    file: &File,
    real: &Path,
    fill: impl FnOnce(&mut TempWriter<'_>) -> io::Result<()>,
) -> io::Result<()> {
    let mut out = io::BufWriter::with_capacity(1 << 16, file);
    fill(&mut out)?;
    out.flush()?;
    drop(out);
    if let Ok(meta) = fs::metadata(real) {
        sys::keep_mode_and_owner(file, &meta)?;
    }
    file.sync_all()
}

/// [`write_atomic_with`], once `first` has succeeded (an `Err` of it: nothing is written). Where
/// the system allows, the content is written and synced meanwhile, on this thread while `first`
/// runs on another, to a file with no name ([`prepare`]) that is named and swapped in only after
/// `first` has succeeded: a crash before then leaves nothing. A pass so writes its target while
/// it saves the records that must be durable first. Where no unnamed file can be made or named, or
/// no thread started, `first` runs and then the write is made from a named temp file.
pub fn write_atomic_after<E: Send>(
    path: &Path,
    expected: Option<Expected<'_>>,
    fill: impl Fn(&mut TempWriter<'_>) -> io::Result<()>,
    first: impl Fn() -> Result<(), E> + Sync,
) -> Result<io::Result<WriteOutcome>, E> {
    let (done, prepared) = std::thread::scope(|s| {
        let Ok(running) = std::thread::Builder::new().spawn_scoped(s, &first) else {
            return (first(), Ok(None));
        };
        let prepared = prepare(path, &fill);
        let done = (running.join()).unwrap_or_else(|e| std::panic::resume_unwind(e));
        (done, prepared)
    });
    done?;
    let landed = match prepared {
        Ok(Some(prepared)) => prepared.land(expected),
        other => other.map(|_| None),
    };
    Ok(match landed {
        Ok(Some(outcome)) => Ok(outcome),
        Ok(None) => write_atomic_with(path, expected, fill),
        Err(e) => Err(e),
    })
}

/// A replacement written and synced beside its destination in a file with no name yet (Linux's
/// `O_TMPFILE`): nothing of it is seen, nor left behind by a crash, until [`Prepared::land`]
/// names it and swaps it in.
pub(crate) struct Prepared {
    place: Place,
    file: File,
}

/// Writes what `fill` gives to an unnamed file beside `path` and syncs it. `Ok(None)` where no
/// unnamed file is to be had (other systems, some filesystems).
pub(crate) fn prepare(
    path: &Path,
    fill: impl FnOnce(&mut TempWriter<'_>) -> io::Result<()>,
) -> io::Result<Option<Prepared>> {
    let place = place(path)?;
    let Some(file) = sys::create_unnamed(&place.dir) else {
        return Ok(None);
    };
    fill_and_sync(&file, &place.real, fill)?;
    Ok(Some(Prepared { place, file }))
}

impl Prepared {
    /// Names the prepared file as a temp file beside its destination and puts it in place as
    /// [`write_atomic_with`] would (`expected` checked the same way). `Ok(None)` when it cannot
    /// be named (a security module that refuses the link, say): nothing was changed. Dropped
    /// instead, it vanishes.
    pub(crate) fn land(self, expected: Option<Expected<'_>>) -> io::Result<Option<WriteOutcome>> {
        let Place { real, dir, name } = self.place;
        let temp = loop {
            let temp = temp_path(&dir, &name);
            match link_unnamed(&self.file, &temp) {
                Ok(()) => break temp,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(_) => return Ok(None),
            }
        };
        drop(self.file);
        let outcome = swap_in(&temp, &real, expected)?;
        if outcome == WriteOutcome::Written {
            sys::sync_dir(&dir);
        }
        Ok(Some(outcome))
    }
}

/// Puts `temp` in place of `real` if `real` still holds `expected`. Removes `temp` whenever it
/// holds our content or the content we planned from; never when it holds another writer's.
/// Where the names can be exchanged, a file whose stamp is still the one `expected` saw is not
/// read before the exchange: the displaced file is compared after it (a big target is read
/// once, not twice).
fn swap_in(temp: &Path, real: &Path, expected: Option<Expected<'_>>) -> io::Result<WriteOutcome> {
    let discard = || {
        let _ = fs::remove_file(temp);
    };
    let Some(Expected {
        text: expected,
        seen,
    }) = expected
    else {
        return fs::rename(temp, real)
            .map(|()| WriteOutcome::Written)
            .inspect_err(|_| discard());
    };
    let unmoved = seen.is_some() && fs::metadata(real).ok().and_then(|m| sys::stamp(&m)) == seen;
    let check = || match holds(real, expected) {
        Ok(true) => Ok(true),
        Ok(false) => {
            discard();
            Ok(false)
        }
        Err(e) => {
            discard();
            Err(e)
        }
    };
    if !unmoved && !check()? {
        return Ok(WriteOutcome::Conflict);
    }
    match exchange(temp, real) {
        Ok(true) => {
            // `temp` now names what was displaced: it must be what we planned from. If it is
            // not, or cannot be told, it goes back.
            let displaced = holds(temp, expected);
            if displaced.as_ref().is_ok_and(|same| *same) {
                discard();
                return Ok(WriteOutcome::Written);
            }
            match exchange(temp, real) {
                Ok(true) => {}
                put_back => {
                    let why = put_back
                        .err()
                        .map_or("refused".to_owned(), |e| e.to_string());
                    return Err(io::Error::other(format!(
                        "another writer's version was displaced and could not be put back \
                         ({why}); it is kept in {}",
                        temp.display()
                    )));
                }
            }
            // Our content is in `temp` again.
            discard();
            return displaced.map(|_| WriteOutcome::Conflict);
        }
        // No exchange here: the re-read is the check, made now if the stamp stood for it.
        Ok(false) if unmoved && !check()? => return Ok(WriteOutcome::Conflict),
        Ok(false) => {}
        Err(e) => {
            discard();
            return Err(e);
        }
    }
    fs::rename(temp, real)
        .map(|()| WriteOutcome::Written)
        .inspect_err(|_| discard())
}

#[cfg(test)]
thread_local! {
    /// Tests: exchanges refused (as on a filesystem without them), and the files compared.
    static NO_EXCHANGE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// Tests: unnamed files that cannot be named (as under a security module that refuses it).
    static NO_LINK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    static COMPARED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// [`sys::exchange`], which a test can make refuse.
fn exchange(a: &Path, b: &Path) -> io::Result<bool> {
    #[cfg(test)]
    if NO_EXCHANGE.get() {
        return Ok(false);
    }
    sys::exchange(a, b)
}

/// [`sys::link_unnamed`], which a test can make refuse.
fn link_unnamed(file: &File, to: &Path) -> io::Result<()> {
    #[cfg(test)]
    if NO_LINK.get() {
        return Err(io::ErrorKind::PermissionDenied.into());
    }
    sys::link_unnamed(file, to)
}

/// Whether the file at `path` holds exactly `expected`, compared as it is read: a big target is
/// checked without a second copy of it in memory.
fn holds(path: &Path, expected: &str) -> io::Result<bool> {
    #[cfg(test)]
    COMPARED.set(COMPARED.get() + 1);
    let mut file = sys::open_without_waiting(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() || !sys::is_disk_file(&file) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    if meta.len() != expected.len() as u64 {
        return Ok(false);
    }
    let mut rest = expected.as_bytes();
    let mut chunk = vec![0; (64 << 10).min(rest.len() + 1)];
    loop {
        let n = match file.read(&mut chunk) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n == 0 {
            return Ok(rest.is_empty());
        }
        // Grown since its size was read: not what was planned from.
        if n > rest.len() || chunk[..n] != rest[..n] {
            return Ok(false);
        }
        rest = &rest[n..];
    }
}

/// A name for a temp file of `name` in `dir` that no other of this process's writes has taken.
fn temp_path(dir: &Path, name: &str) -> PathBuf {
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    dir.join(format!(".{name}{TEMP_TAG}{}.{n}", std::process::id()))
}

fn create_temp(dir: &Path, name: &str) -> io::Result<(PathBuf, File)> {
    loop {
        let path = temp_path(dir, name);
        match sys::private_options()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(file) => return Ok((path, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            // The file may be writable when its directory is not: say which refused.
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("cannot create a file in {}: {e}", dir.display()),
                ));
            }
        }
    }
}

/// Whether `path` names a temp file of this module's writes (of any process).
pub fn is_temp(path: &Path) -> bool {
    let owner = path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| temp_owner(n, None));
    owner
        .and_then(|o| o.split_once('.'))
        .is_some_and(|(pid, n)| {
            [pid, n]
                .iter()
                .all(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
        })
}

/// Removes temp files for `name` in `dir` that a killed run left behind: those whose process no
/// longer exists. Returns how many were removed.
pub fn remove_stale_temps(dir: &Path, name: &str) -> usize {
    sweep(dir, Some(name))
}

/// Removes the temp files killed runs left in `dir`, whatever file they were for, the first time
/// it is called for `dir` in this process; later calls do nothing. A run over many targets in one
/// directory lists it once, not once per target.
pub fn sweep_once(dir: &Path) -> usize {
    static SWEPT: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());
    let first = (SWEPT.lock())
        .unwrap_or_else(|e| e.into_inner())
        .insert(dir.to_owned());
    if first { sweep(dir, None) } else { 0 }
}

/// Removes the temps of dead processes in `dir`: for the file `name`, or for any file.
fn sweep(dir: &Path, name: Option<&str>) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(rest) = file_name.to_str().and_then(|n| temp_owner(n, name)) else {
            continue;
        };
        let pid = rest.split('.').next().and_then(|p| p.parse::<u32>().ok());
        if pid.is_some_and(|pid| !process_alive(pid)) && fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// For a temp file's name (`.<name>.switcher-tmp.<pid>.<n>`) of `name` (or of any file), what
/// follows the tag: `<pid>.<n>`.
fn temp_owner<'a>(file_name: &'a str, name: Option<&str>) -> Option<&'a str> {
    let rest = file_name.strip_prefix('.')?;
    match name {
        Some(name) => rest.strip_prefix(name)?.strip_prefix(TEMP_TAG),
        None => rest.rsplit_once(TEMP_TAG).map(|(_, owner)| owner),
    }
}

fn process_alive(pid: u32) -> bool {
    pid == std::process::id() || sys::process_alive(pid)
}

/// Creates `dir` and its parents, private to the user (on Windows, as private as the directory
/// it is created in: the user's profile is).
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    sys::create_private_dir(dir)
}

/// How many files this process may have open at once; `None` if the system sets no limit.
pub fn open_files_limit() -> Option<u64> {
    sys::open_files_limit()
}

/// Makes a file private to the user if it is not (state written by an older or careless
/// process). Best effort.
pub fn make_private(path: &Path) {
    sys::make_private(path);
}

/// The path with symlinks resolved; for a missing file (or directory), its nearest existing
/// ancestor resolved, joined with the rest (so a target can be locked, watched for and reported
/// before it exists).
pub fn canonical(path: &Path) -> io::Result<PathBuf> {
    match fs::canonicalize(path) {
        Ok(p) => Ok(p),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let parent = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let name = path.file_name().ok_or(e)?;
            Ok(canonical(parent)?.join(name))
        }
        Err(e) => Err(e),
    }
}

/// An exclusive advisory lock on a lock file, held until dropped.
#[derive(Debug)]
pub struct FileLock {
    _file: File,
}

fn open_lock_file(path: &Path) -> io::Result<File> {
    sys::private_options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
}

/// Takes the lock if it is free and records `holder` in the file; if another process holds it,
/// returns what that process recorded.
pub fn try_lock(path: &Path, holder: &str) -> io::Result<Result<FileLock, String>> {
    let mut file = open_lock_file(path)?;
    match file.try_lock() {
        Ok(()) => {
            // Written over the last holder, then cut to length: truncating the file to nothing
            // first would free its block and allocate another (ext4 then flushes it at close,
            // and discards the freed one on a `discard` mount), a disk write per lock taken.
            file.write_all(holder.as_bytes())?;
            file.set_len(holder.len() as u64)?;
            Ok(Ok(FileLock { _file: file }))
        }
        Err(fs::TryLockError::WouldBlock) => {
            // Unreadable while locked on Windows (its locks are mandatory). For the moment
            // between another process's lock and its write, empty (a new lock file) or still
            // naming the holder before it.
            let mut recorded = String::new();
            let _ = file.read_to_string(&mut recorded);
            let recorded = recorded.trim();
            Ok(Err(if recorded.is_empty() {
                "which one cannot be read".to_owned()
            } else {
                recorded.to_owned()
            }))
        }
        Err(fs::TryLockError::Error(e)) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_to_overwrite_changed_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.json");
        fs::write(&path, "theirs").unwrap();
        assert_eq!(
            write_atomic(&path, Some("mine"), "new").unwrap(),
            WriteOutcome::Conflict
        );
        assert_eq!(fs::read_to_string(&path).unwrap(), "theirs");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_write_after_a_step_lands_only_once_the_step_succeeded_however_it_is_made() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.json");
        let names = || fs::read_dir(dir.path()).unwrap().count();
        let fill = |out: &mut TempWriter<'_>| out.write_all(b"new");
        // Made with no name, or (the link refused, as by a security module) from a named temp.
        for refuse_link in [false, true] {
            fs::write(&path, "old").unwrap();
            let old = Some(Expected {
                text: "old",
                seen: None,
            });
            let failed = write_atomic_after(&path, old, fill, || Err("no records"));
            assert_eq!(failed.unwrap_err(), "no records");
            assert_eq!(
                (names(), fs::read_to_string(&path).unwrap()),
                (1, "old".into())
            );
            // While the step runs, and the content is being written, no name appears.
            let step = || {
                std::thread::sleep(std::time::Duration::from_millis(20));
                if names() == 1 {
                    Ok(())
                } else {
                    Err("a name appeared")
                }
            };
            NO_LINK.set(refuse_link);
            let written = write_atomic_after(&path, old, fill, step);
            NO_LINK.set(false);
            assert_eq!(written.unwrap().unwrap(), WriteOutcome::Written);
            assert_eq!(
                (names(), fs::read_to_string(&path).unwrap()),
                (1, "new".into())
            );
        }
    }

    #[test]
    fn a_write_told_not_to_go_leaves_the_file_and_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.json");
        fs::write(&path, "old").unwrap();
        let fill = |out: &mut TempWriter<'_>| out.write_all(b"new");
        // Asked once the content is in its temp file, which is then removed.
        let mut temps = None;
        let go = || {
            temps = Some(fs::read_dir(dir.path()).unwrap().count());
            false
        };
        assert_eq!(write_atomic_if(&path, None, fill, go).unwrap(), None);
        assert_eq!(temps, Some(2));
        assert_eq!(fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        let old = Expected {
            text: "old",
            seen: None,
        };
        let landed = write_atomic_if(&path, Some(old), fill, || true).unwrap();
        assert_eq!(landed, Some(WriteOutcome::Written));
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_file_read_with_its_stamp_is_replaced_only_if_it_still_holds_what_was_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.json");
        let write = |expected: Expected<'_>| {
            write_atomic_with(&path, Some(expected), |out| out.write_all(b"new")).unwrap()
        };
        fs::write(&path, "old").unwrap();
        let (text, seen) = read_stamped(&path, 1024).unwrap();
        assert_eq!(write(Expected { text: &text, seen }), WriteOutcome::Written);
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        // Changed in place since it was read, to the same size, maybe within the clock's
        // granularity: told by the stamp, or by the displaced file after the exchange.
        fs::write(&path, "old").unwrap();
        let (text, seen) = read_stamped(&path, 1024).unwrap();
        fs::write(&path, "OLD").unwrap();
        assert_eq!(
            write(Expected { text: &text, seen }),
            WriteOutcome::Conflict
        );
        assert_eq!(fs::read_to_string(&path).unwrap(), "OLD");
        // A stamp that does not match the content expected (as one taken in the same tick as a
        // write would): the content still decides.
        let (_, seen) = read_stamped(&path, 1024).unwrap();
        let text = "old";
        assert_eq!(write(Expected { text, seen }), WriteOutcome::Conflict);
        assert_eq!(fs::read_to_string(&path).unwrap(), "OLD");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn an_unmoved_stamp_spares_the_read_before_an_exchange_and_only_that() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.json");
        // Whether this filesystem exchanges names at all (some CI temp dirs do not).
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        fs::write(&a, "a").unwrap();
        fs::write(&b, "b").unwrap();
        let exchanges = sys::exchange(&a, &b).unwrap();
        let compared = |refuse: bool, forged: bool, stamped: bool| {
            NO_EXCHANGE.set(refuse);
            fs::write(&path, "old").unwrap();
            let (text, seen) = read_stamped(&path, 1024).unwrap();
            let text = if forged { "OLD" } else { text.as_str() };
            let seen = seen.filter(|_| stamped);
            COMPARED.set(0);
            let fill = |out: &mut TempWriter<'_>| out.write_all(b"new");
            let outcome = write_atomic_with(&path, Some(Expected { text, seen }), fill).unwrap();
            NO_EXCHANGE.set(false);
            assert_eq!(
                fs::read_dir(dir.path()).unwrap().count(),
                3,
                "no temp file left"
            );
            (outcome, COMPARED.get())
        };
        use WriteOutcome::{Conflict, Written};
        // With an exchange, the displaced file alone is compared when the stamp has not moved;
        // without a stamp, the file before the exchange too.
        if exchanges {
            assert_eq!(compared(false, false, true), (Written, 1));
            assert_eq!(compared(false, false, false), (Written, 2));
            assert_eq!(compared(false, true, true), (Conflict, 1));
        }
        // Without one, the file is compared before the rename, stamp or not.
        assert_eq!(compared(true, false, true), (Written, 1));
        assert_eq!(compared(true, true, true), (Conflict, 1));
        assert_eq!(fs::read_to_string(&path).unwrap(), "old");
    }

    #[test]
    fn a_lock_records_its_holder_over_a_longer_earlier_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.lock");
        drop(
            try_lock(&path, "pid 123456: switcher watch --once a.json")
                .unwrap()
                .unwrap(),
        );
        let held = try_lock(&path, "pid 7: switcher watch").unwrap().unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "pid 7: switcher watch");
        assert_eq!(
            try_lock(&path, "pid 8: x").unwrap().unwrap_err(),
            "pid 7: switcher watch"
        );
        drop(held);
    }

    #[test]
    fn read_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        fs::write(&path, vec![b' '; 2048]).unwrap();
        let err = read_limited(&path, 1024).unwrap_err();
        assert!(err.to_string().contains("above the"), "{err}");
        assert_eq!(read_limited(&path, 4096).unwrap().len(), 2048);
    }

    #[test]
    fn stale_temps_of_dead_processes_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let dead = dir.path().join(format!(".t.json{TEMP_TAG}999999999.0"));
        let mine = dir
            .path()
            .join(format!(".t.json{TEMP_TAG}{}.0", std::process::id()));
        fs::write(&dead, "x").unwrap();
        fs::write(&mine, "x").unwrap();
        assert_eq!(remove_stale_temps(dir.path(), "t.json"), 1);
        assert!(!dead.exists() && mine.exists());
    }

    #[test]
    fn a_directory_is_swept_once_for_every_file() {
        let dir = tempfile::tempdir().unwrap();
        let dead = |name: &str| dir.path().join(format!(".{name}{TEMP_TAG}999999999.3"));
        let mine = dir
            .path()
            .join(format!(".a.json{TEMP_TAG}{}.0", std::process::id()));
        for name in ["a.json", "b.md", "x.switcher-tmp.json"] {
            fs::write(dead(name), "x").unwrap();
        }
        fs::write(&mine, "x").unwrap();
        fs::write(dir.path().join("a.json"), "kept").unwrap();
        assert_eq!(sweep_once(dir.path()), 3);
        assert!(mine.exists() && dir.path().join("a.json").exists());
        fs::write(dead("a.json"), "x").unwrap();
        assert_eq!(sweep_once(dir.path()), 0, "once per directory");
        assert!(dead("a.json").exists());
    }

    #[test]
    fn a_temp_file_that_cannot_be_created_names_its_directory() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("gone");
        let e = create_temp(&gone, "a.json").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert!(e.to_string().contains(&gone.display().to_string()), "{e}");
    }

    #[test]
    fn temp_files_are_told_by_name() {
        assert!(is_temp(Path::new("/d/.agent.md.switcher-tmp.42.7")));
        assert!(!is_temp(Path::new("/d/agent.md")));
        assert!(!is_temp(Path::new("/d/.notes.switcher-tmp.md")));
    }

    #[test]
    fn lock_names_its_holder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        let held = try_lock(&path, "pid 1: switcher watch").unwrap().unwrap();
        // Windows' locks are mandatory: the record cannot be read while the lock is held.
        let named = if cfg!(windows) {
            "which one cannot be read"
        } else {
            "pid 1: switcher watch"
        };
        assert_eq!(try_lock(&path, "other").unwrap().unwrap_err(), named);
        drop(held);
        // A process another test forks at this moment holds a copy of the descriptor (and so
        // the lock) until its exec closes it: allow for that, within bounds.
        let free = (0..500).any(|_| {
            let free = try_lock(&path, "other").unwrap().is_ok();
            if !free {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            free
        });
        assert!(free, "the lock was not released");
    }
}
