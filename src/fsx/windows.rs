//! The Windows side of [`crate::fsx`]. Windows has no mode bits (a new file takes its directory's
//! inherited access list, which under the user's profile is private to the user), no way to
//! exchange two names atomically, and no FIFOs, but has pipes and devices behind file names.

use std::fs::{self, File, Metadata, OpenOptions};
use std::io;
use std::os::windows::io::AsRawHandle;
use std::path::Path;

use windows_sys::Win32::Foundation::{
    CloseHandle, ERROR_INVALID_PARAMETER, GetLastError, STILL_ACTIVE,
};
use windows_sys::Win32::Storage::FileSystem::{FILE_TYPE_DISK, GetFileType};
use windows_sys::Win32::System::Threading::{
    GetExitCodeProcess, OpenProcess, PROCESS_QUERY_LIMITED_INFORMATION,
};

/// Opening never waits for a peer on Windows: a pipe's client end opens or fails at once.
pub fn open_without_waiting(path: &Path) -> io::Result<File> {
    File::open(path)
}

/// A file on a disk, not a pipe or a device (`NUL`, `CON`, `\\.\pipe\…`), whose reads could
/// wait for a writer or never end.
pub fn is_disk_file(file: &File) -> bool {
    // SAFETY: the handle is open for the duration of the call (`file` is borrowed).
    unsafe { GetFileType(file.as_raw_handle()) == FILE_TYPE_DISK }
}

/// No stamp here: Windows has no exchange of two names, so the content is always compared.
pub fn stamp(_meta: &Metadata) -> Option<super::Stamp> {
    None
}

/// The file's read-only attribute is set.
pub fn write_protected(meta: &Metadata) -> bool {
    meta.permissions().readonly()
}

/// No mode to give: the file takes the access list its directory passes down.
pub fn private_options() -> OpenOptions {
    OpenOptions::new()
}

pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

pub fn make_private(_path: &Path) {}

/// Nothing worth copying: the access list comes from the directory, and the read-only flag (the
/// only permission std sees here) copied onto the temp file would stop it being removed.
pub fn keep_mode_and_owner(_file: &File, _meta: &Metadata) -> io::Result<()> {
    Ok(())
}

/// A directory cannot be flushed on Windows; NTFS journals the rename itself.
pub fn sync_dir(_dir: &Path) {}

/// Windows sets no limit a pass of many targets could reach.
pub fn open_files_limit() -> Option<u64> {
    None
}

pub fn process_alive(pid: u32) -> bool {
    // SAFETY: plain calls with a process id; the handle, when one is returned, is closed here.
    unsafe {
        let handle = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid);
        if handle.is_null() {
            // Only "no such process" is sure; a process we may not query (another user's) lives.
            return GetLastError() != ERROR_INVALID_PARAMETER;
        }
        let mut code = 0u32;
        let queried = GetExitCodeProcess(handle, &mut code);
        CloseHandle(handle);
        queried == 0 || code == STILL_ACTIVE as u32
    }
}

/// Windows cannot swap two names atomically: the caller re-reads, then replaces.
pub fn exchange(_a: &Path, _b: &Path) -> io::Result<bool> {
    Ok(false)
}

/// No unnamed files here: writes name their temp file from the start.
pub fn create_unnamed(_dir: &Path) -> Option<File> {
    None
}

pub fn link_unnamed(_file: &File, _to: &Path) -> io::Result<()> {
    Err(io::ErrorKind::Unsupported.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fsx::{MAX_FILE, read_limited};

    #[test]
    fn a_device_is_refused() {
        assert!(read_limited(Path::new("NUL"), MAX_FILE).is_err());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.json");
        fs::write(&path, "{}").unwrap();
        assert!(is_disk_file(&File::open(&path).unwrap()));
    }

    #[test]
    fn this_process_is_alive() {
        assert!(process_alive(std::process::id()));
    }
}
