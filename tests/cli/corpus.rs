//! A corpus of malformed input, generated where it can be: every truncation of real files, wrong
//! types at every slot, invalid escapes and UTF-8, control characters, nesting 100,000 deep, junk.
//! Each goes through the real binary; each must end with its documented exit code and a message
//! that says where or why, without a panic and without changing a byte of any file.
//!
//! Valid but unusual input (BOM, CRLF, comments, duplicate keys) belongs to `bytes.rs` and the
//! property tests: it must succeed. Wrong types in a target's slots are the exception kept here:
//! the file is valid JSONC, so it is left alone rather than refused.

mod configs;
mod status;
mod targets;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::harness::{Output, Sandbox};

/// What a test writes where a file should be.
#[derive(Clone, Debug)]
pub enum Content {
    Bytes(Vec<u8>),
    Directory,
    /// A named pipe with no writer: opening it for reading would wait forever.
    Fifo,
}

#[derive(Clone, Debug)]
pub struct Input {
    pub name: String,
    pub content: Content,
}

impl Input {
    pub fn new(name: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Input {
        Input {
            name: name.into(),
            content: Content::Bytes(bytes.into()),
        }
    }

    pub fn directory() -> Input {
        Input {
            name: "a directory".into(),
            content: Content::Directory,
        }
    }

    pub fn fifo() -> Input {
        Input {
            name: "a FIFO".into(),
            content: Content::Fifo,
        }
    }

    /// Puts the input at `rel` in the sandbox, replacing whatever was there.
    pub fn place(&self, s: &Sandbox, rel: &str) {
        let path = s.path(rel);
        if path.is_dir() {
            fs::remove_dir_all(&path).unwrap();
        }
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        match &self.content {
            Content::Bytes(b) => {
                let _ = fs::remove_file(&path);
                fs::write(&path, b).unwrap();
            }
            Content::Directory => {
                let _ = fs::remove_file(&path);
                fs::create_dir(&path).unwrap();
            }
            Content::Fifo => {
                let _ = fs::remove_file(&path);
                let made = std::process::Command::new("mkfifo").arg(&path).status();
                assert!(made.unwrap().success(), "mkfifo {}", path.display());
            }
        }
    }
}

/// Every prefix of `text` shorter than its last closing brace: none of them is a whole document.
pub fn truncations<E: Clone>(text: &str, expect: E) -> Vec<(Input, E)> {
    let end = text.rfind('}').expect("a document");
    (0..end)
        .map(|n| {
            let input = Input::new(format!("truncated to {n} bytes"), &text.as_bytes()[..n]);
            (input, expect.clone())
        })
        .collect()
}

/// `open` repeated `depth` times, `inner`, then `close` as often.
pub fn nested(depth: usize, open: &str, inner: &str, close: &str) -> String {
    format!("{}{inner}{}", open.repeat(depth), close.repeat(depth))
}

/// Deterministic junk: `n` pseudo-random bytes from `seed`.
pub fn junk(seed: u64, n: usize) -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..n).map(|_| rng.u8(..)).collect()
}

/// Byte sequences that are not UTF-8: a stray continuation, overlong forms, an encoded
/// surrogate, a code point past U+10FFFF, a cut sequence, bytes that never occur.
pub const NOT_UTF8: &[&[u8]] = &[
    b"\x80",
    b"\xc0\xaf",
    b"\xe0\x80\xaf",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"\xe2\x82",
    b"\xff",
    b"\xfe\xff",
];

/// Every file under the sandbox's work dir with its bytes (a directory as `None`).
pub fn snapshot(s: &Sandbox) -> BTreeMap<String, Option<Vec<u8>>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Option<Vec<u8>>>) {
        for entry in fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            if path.is_dir() {
                out.insert(rel, None);
                walk(root, &path, out);
            } else if !path.is_file() {
                out.insert(rel, Some(b"(not a file)".to_vec()));
            } else {
                out.insert(rel, Some(fs::read(&path).unwrap()));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(&s.work(), &s.work(), &mut out);
    out
}

/// Runs `args` and checks what every input shares: no panic, and no file in the work dir changed,
/// appeared or vanished (no write, no temp file left behind).
pub fn run_untouched(s: &Sandbox, args: &[&str]) -> Result<Output, String> {
    let before = snapshot(s);
    let out = s.run(args);
    if out.code == 101 || out.stderr.contains("panicked") {
        return Err(format!("panicked:\n{}", out.stderr));
    }
    if snapshot(s) != before {
        return Err(format!("a file changed\nstderr:\n{}", out.stderr));
    }
    Ok(out)
}

/// The lines of stderr that start with `prefix`.
pub fn lines_with<'a>(out: &'a Output, prefix: &str) -> Vec<&'a str> {
    out.stderr
        .lines()
        .filter(|l| l.starts_with(prefix))
        .collect()
}

/// `line:column: message` at the start of `rest`, with a line no further than the text has.
pub fn position(rest: &str, lines: usize) -> Result<(), String> {
    let mut parts = rest.splitn(3, ':');
    let line: usize = parts
        .next()
        .unwrap_or_default()
        .parse()
        .map_err(|_| "no line")?;
    let column: usize = parts
        .next()
        .unwrap_or_default()
        .parse()
        .map_err(|_| "no column")?;
    let message = parts.next().unwrap_or_default().trim();
    if line == 0 || line > lines || column == 0 || message.is_empty() {
        return Err(format!(
            "bad position {line}:{column} ({lines} lines): {message:?}"
        ));
    }
    Ok(())
}

/// Checks every input, with what is expected of it, on a few threads, one sandbox each (made by
/// `setup`), and reports every failure at once.
pub fn each<E: Sync>(
    inputs: &[(Input, E)],
    setup: impl Fn() -> Sandbox + Sync,
    check: impl Fn(&Sandbox, &Input, &E) -> Result<(), String> + Sync,
) {
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                let s = setup();
                while let Some((input, expect)) = inputs.get(next.fetch_add(1, Ordering::Relaxed)) {
                    if let Err(e) = check(&s, input, expect) {
                        failures
                            .lock()
                            .unwrap()
                            .push(format!("{}: {e}", input.name));
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(
        failures.is_empty(),
        "{} of {} inputs failed:\n{}",
        failures.len(),
        inputs.len(),
        failures[..failures.len().min(20)].join("\n---\n")
    );
}

/// The number of lines in a file as an error position counts them, `breaks` being the line
/// breaks of its format.
pub fn line_count(input: &Input, breaks: &[char]) -> usize {
    match &input.content {
        Content::Bytes(b) => {
            let text = String::from_utf8_lossy(b).replace("\r\n", "\n");
            text.split(breaks).count()
        }
        Content::Directory | Content::Fifo => 1,
    }
}
