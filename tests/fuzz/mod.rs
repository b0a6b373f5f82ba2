//! Fuzzing with proptest: everything that reads outside input — the JSONC layer, Markdown agent
//! files, the switcher config, status documents, every provider source's `parse` and the
//! limit-message table — on arbitrary text, arbitrary JSON trees and mutated real inputs. None
//! may panic; an `Err` is the right answer to garbage.
//!
//! Every property runs `PROPTEST_CASES` cases — proptest's own setting — or [`DEFAULT_CASES`]
//! when it is unset, so `cargo test` stays quick and one variable scales them all. The full run,
//! about a million cases:
//!
//! ```sh
//! PROPTEST_CASES=62500 cargo test --release --lib -- fuzz:: jsonc::props:: markdown::
//! ```
//!
//! A failure is shrunk and its seed saved under `proptest-regressions/fuzz/`, which is committed
//! so every later run replays it first.
//!
//! These files live with the tests, not in `src/`, yet are compiled into the library's unit
//! tests (`lib.rs` includes them by `#[path]`): they feed every parser of outside input, and most
//! of those are crate-private. Exposing them all as a public API only for the fuzzers would
//! hide dead code from the compiler and freeze internals as an interface.

pub(crate) mod config;
mod jsonc;
mod limits;
mod markdown;
mod parsers;
mod values;

use std::fmt::Debug;
use std::path::Path;
use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestRunner};
use serde_json::Value;

pub use values::{json_value, reshaped};

/// Cases per property when `PROPTEST_CASES` is unset: 23,750 over the 19 properties.
pub const DEFAULT_CASES: u32 = 1_250;

/// The proptest config of every property: `PROPTEST_CASES` cases if set (proptest reads it),
/// else [`DEFAULT_CASES`].
pub fn config() -> Config {
    let mut config = Config::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = DEFAULT_CASES;
    }
    // Properties that skip cases (`prop_assume!`) must not give up on a long run.
    config.max_global_rejects = config.cases.max(1024);
    config
}

/// Runs one property; failures are persisted in `proptest-regressions/fuzz/<caller's file>.txt`.
#[track_caller]
pub fn check<S>(name: &str, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S: Strategy,
    S::Value: Debug,
{
    let mut config = config();
    let caller = Path::new(std::panic::Location::caller().file());
    let file = format!(
        "{}/proptest-regressions/fuzz/{}.txt",
        env!("CARGO_MANIFEST_DIR"),
        caller.file_stem().unwrap_or_default().to_string_lossy()
    );
    config.failure_persistence = Some(Box::new(FileFailurePersistence::Direct(Box::leak(
        file.into_boxed_str(),
    ))));
    let mut runner = TestRunner::new(config);
    if let Err(e) = runner.run(&strategy, test) {
        panic!("{name}: {e}");
    }
}

/// Text that looks like JSON, JSON5 or JSONC often enough to get past the first character.
pub fn jsonish_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[\\[\\]{}:,\"'\\\\/*a-zA-Z0-9 \\n\\r\\t.eE+\\-_\u{0}\u{feff}é]{0,80}",
        prop::collection::vec(prop::sample::select(TOKENS), 0..40).prop_map(|t| t.concat()),
    ]
}

/// Fragments that parsers treat specially; mutations insert them and `jsonish_text` strings them.
const TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "\"",
    "'",
    "\\",
    ",",
    ":",
    "/*",
    "*/",
    "//",
    "\n",
    "\r\n",
    "\r",
    "\t",
    " ",
    "\0",
    "\u{1}",
    "\u{feff}",
    "\u{2028}",
    "\u{a0}",
    "\\u",
    "\\ud800",
    "\\udc00",
    "\\u00e9",
    "\\x41",
    "\\0",
    "\\",
    "1e999",
    "-1e400",
    "-",
    "+",
    "0x1F",
    ".5",
    "1.",
    "-0",
    "NaN",
    "Infinity",
    "null",
    "true",
    "false",
    "\"a\"",
    "\"model\"",
    "\"windows\"",
    "é",
    "😀",
    "99999999999999999999999",
    "1e-400",
];

/// One edit of a byte string.
#[derive(Clone, Debug)]
pub enum Mutation {
    Flip(Index, u8),
    Truncate(Index),
    Insert(Index, &'static str),
    InsertByte(Index, u8),
    Delete(Index, usize),
    Repeat(Index, usize),
}

pub fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), 0u8..8).prop_map(|(i, bit)| Mutation::Flip(i, 1 << bit)),
        any::<Index>().prop_map(Mutation::Truncate),
        (any::<Index>(), prop::sample::select(TOKENS)).prop_map(|(i, t)| Mutation::Insert(i, t)),
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::InsertByte(i, b)),
        (any::<Index>(), 1usize..16).prop_map(|(i, n)| Mutation::Delete(i, n)),
        (any::<Index>(), 1usize..32).prop_map(|(i, n)| Mutation::Repeat(i, n)),
    ]
}

/// Applies mutations to bytes; the result may be any bytes at all.
pub fn mutate(input: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut b = input.to_vec();
    for m in mutations {
        let at = |i: &Index, len: usize| if len == 0 { 0 } else { i.index(len + 1) };
        match m {
            Mutation::Flip(i, bit) if !b.is_empty() => {
                let i = i.index(b.len());
                b[i] ^= bit;
            }
            Mutation::Flip(..) => {}
            Mutation::Truncate(i) => b.truncate(at(i, b.len())),
            Mutation::Insert(i, t) => {
                let i = at(i, b.len());
                b.splice(i..i, t.bytes());
            }
            Mutation::InsertByte(i, byte) => b.insert(at(i, b.len()), *byte),
            Mutation::Delete(i, n) => {
                let i = at(i, b.len());
                b.drain(i..(i + n).min(b.len()));
            }
            Mutation::Repeat(i, n) => {
                let i = at(i, b.len());
                let span = b[i..(i + n).min(b.len())].to_vec();
                b.splice(i..i, span);
            }
        }
    }
    b
}

/// `seeds` mutated at the byte level, then read as text the way `read_limited` would have
/// refused it: invalid UTF-8 becomes U+FFFD, so the text differs from the seed anyway.
pub fn mutated(seeds: Vec<String>) -> impl Strategy<Value = String> {
    (
        prop::sample::select(seeds),
        prop::collection::vec(mutation(), 1..6),
    )
        .prop_map(|(seed, ms)| String::from_utf8_lossy(&mutate(seed.as_bytes(), &ms)).into_owned())
}

/// Every provider fixture: `(kind, file name, text)`.
pub fn fixtures() -> &'static [(String, String, String)] {
    static FIXTURES: OnceLock<Vec<(String, String, String)>> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/providers");
        let mut out = Vec::new();
        for kind in std::fs::read_dir(&root).expect("fixtures/providers") {
            let kind = kind.unwrap().path();
            for file in std::fs::read_dir(&kind).unwrap() {
                let path = file.unwrap().path();
                if path.extension().is_some_and(|e| e == "json") {
                    out.push((
                        kind.file_name().unwrap().to_string_lossy().into_owned(),
                        path.file_name().unwrap().to_string_lossy().into_owned(),
                        std::fs::read_to_string(&path).unwrap(),
                    ));
                }
            }
        }
        out.sort();
        out
    })
}

/// Every key and string value in the fixtures, for generators to draw from.
pub fn words() -> &'static [String] {
    static WORDS: OnceLock<Vec<String>> = OnceLock::new();
    WORDS.get_or_init(|| {
        fn collect(v: &Value, out: &mut Vec<String>) {
            match v {
                Value::String(s) => out.push(s.clone()),
                Value::Array(items) => items.iter().for_each(|i| collect(i, out)),
                Value::Object(map) => map.iter().for_each(|(k, v)| {
                    out.push(k.clone());
                    collect(v, out);
                }),
                _ => {}
            }
        }
        let mut out = Vec::new();
        for (_, _, text) in fixtures() {
            if let Ok(v) = serde_json::from_str::<Value>(text) {
                collect(&v, &mut out);
            }
        }
        out.extend(config::KEYS.iter().map(|k| (*k).to_owned()));
        out.sort();
        out.dedup();
        out
    })
}
