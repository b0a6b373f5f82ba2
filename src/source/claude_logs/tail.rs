//! Following files that only grow: each read takes the complete lines appended since the last
//! one, in a fixed amount of memory however large the file.
//!
//! A file keeps an offset: the start of the first line not yet read. A last line without its
//! newline is being written and waits for it. A file that got shorter, or is another file under
//! the same name (rotated, replaced), is read again from its start. A line longer than the cap
//! is skipped to its end without being held in memory (a transcript line can hold a pasted
//! image); the caller hears of it.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Seek, SeekFrom};
use std::path::Path;

/// Lines longer than this are skipped: an error line is a few hundred bytes.
pub(crate) const MAX_LINE: usize = 256 * 1024;

/// Where a followed file is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Position {
    /// The start of the first unread line (or the point reached inside a line being skipped).
    pub(crate) offset: u64,
    /// The file's identity (device and inode on Unix), to tell a replaced file.
    pub(crate) id: Option<(u64, u64)>,
    /// In the middle of a line longer than the cap: the rest of it is skipped.
    pub(crate) skipping: bool,
}

/// What one read found besides the lines.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Read {
    /// Lines longer than [`MAX_LINE`] skipped, by their number counted from the read's start.
    pub(crate) too_long: usize,
    /// Whether the file was read again from its start (it shrank or was replaced).
    pub(crate) restarted: bool,
}

/// The identity of an open file.
pub(crate) fn identity(meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Some((meta.dev(), meta.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        None
    }
}

/// Reads the complete lines appended to `path` since `at`, handing each (without its newline)
/// to `line`, and moves `at` past them.
pub(crate) fn read_new(
    path: &Path,
    at: &mut Position,
    mut line: impl FnMut(&[u8]),
) -> io::Result<Read> {
    let file = File::open(path)?;
    let meta = file.metadata()?;
    let id = identity(&meta);
    let mut read = Read::default();
    if meta.len() < at.offset || (at.id.is_some() && id != at.id) {
        *at = Position::default();
        read.restarted = true;
    }
    at.id = id;
    if meta.len() == at.offset {
        return Ok(read);
    }
    let mut reader = BufReader::with_capacity(64 * 1024, file);
    reader.seek(SeekFrom::Start(at.offset))?;
    let mut buf: Vec<u8> = Vec::new();
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            // End of file: a partial line waits for its newline (read again next time); a line
            // being skipped stays skipped.
            return Ok(read);
        }
        let (part, complete) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (&chunk[..i], true),
            None => (chunk, false),
        };
        let used = part.len() + usize::from(complete);
        if !at.skipping {
            if buf.len() + part.len() > MAX_LINE {
                at.skipping = true;
                read.too_long += 1;
                // What was gathered of it is consumed too.
                at.offset += buf.len() as u64;
                buf = Vec::new();
            } else {
                buf.extend_from_slice(part);
            }
        }
        reader.consume(used);
        if at.skipping {
            // Skipped bytes are never read again.
            at.offset += used as u64;
            if complete {
                at.skipping = false;
            }
        } else if complete {
            at.offset += buf.len() as u64 + 1;
            line(&buf);
            buf.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn lines(path: &Path, at: &mut Position) -> (Vec<String>, Read) {
        let mut out = Vec::new();
        let read = read_new(path, at, |l| {
            out.push(String::from_utf8_lossy(l).into_owned())
        })
        .unwrap();
        (out, read)
    }

    fn append(path: &Path, text: &[u8]) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        f.write_all(text).unwrap();
    }

    #[test]
    fn only_new_complete_lines_are_read_and_a_partial_one_waits() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        append(&path, b"one\ntwo\nthr");
        let mut at = Position::default();
        assert_eq!(lines(&path, &mut at).0, ["one", "two"]);
        assert_eq!(at.offset, 8);
        assert!(lines(&path, &mut at).0.is_empty(), "nothing new");
        append(&path, b"ee\nfour\n");
        assert_eq!(lines(&path, &mut at).0, ["three", "four"]);
    }

    #[test]
    fn a_shrunk_or_replaced_file_is_read_from_its_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        append(&path, b"one\ntwo\n");
        let mut at = Position::default();
        lines(&path, &mut at);
        std::fs::write(&path, b"x\n").unwrap();
        let (got, read) = lines(&path, &mut at);
        assert_eq!((got, read.restarted), (vec!["x".to_owned()], true));
        // Renamed over: another inode, even when it is longer.
        let other = dir.path().join("b.jsonl");
        std::fs::write(&other, b"new one\nnew two\n").unwrap();
        std::fs::rename(&other, &path).unwrap();
        let (got, read) = lines(&path, &mut at);
        assert_eq!(got, ["new one", "new two"]);
        assert_eq!(read.restarted, cfg!(unix));
    }

    #[test]
    fn a_huge_line_is_skipped_without_holding_it_even_across_reads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        let huge = vec![b'x'; MAX_LINE + 10];
        append(&path, b"before\n");
        append(&path, &huge);
        let mut at = Position::default();
        let (got, read) = lines(&path, &mut at);
        assert_eq!((got, read.too_long), (vec!["before".to_owned()], 1));
        assert!(at.skipping);
        append(&path, b"still the huge one\nafter\n");
        let (got, read) = lines(&path, &mut at);
        assert_eq!((got, read.too_long), (vec!["after".to_owned()], 0));
        // A line exactly at the cap is kept.
        let mut exact = vec![b'y'; MAX_LINE];
        exact.push(b'\n');
        append(&path, &exact);
        assert_eq!(lines(&path, &mut at).0[0].len(), MAX_LINE);
    }
}
