//! Malformed targets, OpenCode and Claude Code: exit 1 with one error naming `file:line:col` or
//! the reason, and the file untouched, even with a switch pending for its model.

use super::{
    Input, NOT_UTF8, each, junk, line_count, lines_with, nested, position, run_untouched,
    truncations,
};
use crate::harness::{OPENCODE, Sandbox};

/// One kind of target: where it lives, a real one, and a config and quota under which its model
/// would be switched at once if the file were accepted.
struct Kind {
    rel: &'static str,
    real: &'static str,
    /// The real file's first model value, which syntax fragments replace.
    model: &'static str,
    config: &'static str,
    quota: &'static str,
    slots: &'static [&'static [&'static str]],
    containers: &'static [&'static [&'static str]],
}

const CLAUDE: &str = r#"{
  "model": "opus",
  "env": {
    "ANTHROPIC_DEFAULT_SONNET_MODEL": "claude-sonnet-4-5",
    "DISABLE_TELEMETRY": "1"
  }
}
"#;

const KINDS: [Kind; 2] = [
    Kind {
        rel: "opencode.json",
        real: OPENCODE,
        model: "\"zai-coding-plan/glm-4.6\"",
        config: r#"{fallbacks: {"zai-coding-plan/glm-4.6": ["deepseek/deepseek-chat"]}}"#,
        quota: r#"{"zai": {"status": "RED"}}"#,
        slots: &[
            &["model"],
            &["small_model"],
            &["agent", "build", "model"],
            &["agents", "build", "model"],
            &["mode", "build", "model"],
        ],
        containers: &[
            &["agent"],
            &["agent", "build"],
            &["agents", "build"],
            &["mode"],
        ],
    },
    Kind {
        rel: ".claude/settings.json",
        real: CLAUDE,
        model: "\"opus\"",
        config: r#"{fallbacks: {opus: ["sonnet"], "claude-sonnet-4-5": ["haiku"]}}"#,
        quota: r#"{"anthropic": {"windows": {"seven_day_opus": {"utilization": 99, "models": ["opus"]}}}}"#,
        slots: &[
            &["model"],
            &["env", "ANTHROPIC_MODEL"],
            &["env", "ANTHROPIC_DEFAULT_OPUS_MODEL"],
            &["env", "ANTHROPIC_DEFAULT_SONNET_MODEL"],
            &["env", "ANTHROPIC_DEFAULT_HAIKU_MODEL"],
            &["env", "ANTHROPIC_SMALL_FAST_MODEL"],
            &["env", "CLAUDE_CODE_SUBAGENT_MODEL"],
        ],
        containers: &[&["env"]],
    },
];

/// How a refusal must read.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// `file:line:col: message`
    Position,
    NotUtf8,
    NotObject,
    Directory,
    NotAFile,
}

/// Values in a model's place that no JSONC reader accepts.
fn bad_values() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = [
        r#""\x41""#,
        r#""\u12""#,
        r#""\uZZZZ""#,
        r#""\a""#,
        r#""\'""#,
        r#""\U00000041""#,
        r#""\u{41}""#,
        r#""\v""#,
        r#""\0""#,
        r#""\ud800""#,
        r#""\udc00""#,
        r#""\ud800\u0041""#,
        r#""\ud800x""#,
        r#""\udbff\udbff""#,
        r#""\uDFFF""#,
        "'zai/glm'",
        "zai/glm",
        "0x1F",
        "+1",
        ".5",
        "1.",
        "01",
        "-",
        "1e",
        "1e+",
        "NaN",
        "Infinity",
        "-Infinity",
        "undefined",
        "True",
        "nul",
        "[1 2]",
        "[1,,2]",
        "{\"a\" 1}",
        "{\"a\":}",
        "{,}",
        "[,]",
        "{\"a\": 1 \"b\": 2}",
        "\"a\" \"b\"",
        "",
        "}",
        "\"unterminated",
        "\0\"x\"",
        "\"x\"\0",
    ]
    .iter()
    .map(|v| (format!("value {v:?}"), (*v).to_owned()))
    .collect();
    for b in 0u8..0x20 {
        out.push((
            format!("raw control character {b:#04x} in a string"),
            format!("\"zai{}glm\"", b as char),
        ));
    }
    for (name, depth, open, inner, close) in [
        ("arrays", 100_000, "[", "", "]"),
        ("objects", 100_000, "{\"a\": ", "1", "}"),
        ("arrays just past the parser's limit", 513, "[", "", "]"),
        ("unclosed arrays", 100_000, "[", "", ""),
    ] {
        out.push((
            format!("{name} nested {depth} deep"),
            nested(depth, open, inner, close),
        ));
    }
    out
}

/// Whole files that are not a document at all.
fn bad_files() -> Vec<(String, String)> {
    [
        "",
        " \n\t\r\n",
        "// only a comment\n",
        "/* unterminated",
        "\u{feff}",
        "\u{feff}\n",
        "\u{feff}\u{feff}{}",
        "{}{}",
        "{} x",
        "{}\0",
        "\0{}",
        "{\"model\": \"x\"",
        "[{",
        "{\"model\": \"x",
        "{\"model\": \"x\",,}",
        "}",
        ":",
        "{\"a\": 1}]",
    ]
    .iter()
    .map(|f| (format!("file {f:?}"), (*f).to_owned()))
    .chain([
        (
            "unclosed objects 100000 deep".to_owned(),
            "{\"a\": ".repeat(100_000),
        ),
        (
            "arrays 100000 deep".to_owned(),
            nested(100_000, "[", "", "]"),
        ),
    ])
    .collect()
}

/// The bytes `{"a": {"b": RAW}}` for a path `[a, b]`.
fn at_path(path: &[&str], raw: &str) -> String {
    path.iter().rev().fold(raw.to_owned(), |inner, key| {
        format!("{{\"{key}\": {inner}}}")
    })
}

/// The corpus for one kind, each input with how its refusal must read.
fn corpus(kind: &Kind) -> Vec<(Input, Expect)> {
    let mut out = Vec::new();
    for (name, value) in bad_values() {
        let text = kind.real.replacen(kind.model, &value, 1);
        out.push((Input::new(name, text), Expect::Position));
    }
    for (name, text) in bad_files() {
        out.push((Input::new(name, text), Expect::Position));
    }
    for raw in [
        "[]",
        "[{\"model\": \"opus\"}]",
        "\"opus\"",
        "42",
        "null",
        "true",
        "-0",
        "1e999",
    ] {
        out.push((
            Input::new(format!("top level {raw}"), raw),
            Expect::NotObject,
        ));
    }
    out.push((Input::directory(), Expect::Directory));
    out.push((Input::fifo(), Expect::NotAFile));
    out
}

/// Bytes that are not UTF-8 in a model, at the start, as junk, and cut characters: refused as
/// unreadable.
fn not_utf8(kind: &Kind) -> Vec<Input> {
    let mut out = Vec::new();
    for (i, seq) in NOT_UTF8.iter().enumerate() {
        let at = kind.real.find(kind.model).unwrap() + 1;
        let mut bytes = kind.real.as_bytes().to_vec();
        bytes.splice(at..at, seq.iter().copied());
        out.push(Input::new(format!("not UTF-8 #{i} in the model"), bytes));
        let mut bytes = seq.to_vec();
        bytes.extend_from_slice(kind.real.as_bytes());
        out.push(Input::new(format!("not UTF-8 #{i} first"), bytes));
    }
    for seed in 0..4 {
        let mut bytes = junk(seed, 256);
        bytes.push(0xff);
        out.push(Input::new(format!("binary junk #{seed}"), bytes));
    }
    out
}

fn setup(kind: &Kind, pending_switch: bool) -> Sandbox {
    let s = Sandbox::new();
    if pending_switch {
        s.config(kind.config).quota(kind.quota);
    }
    s
}

fn refused(kind: &Kind, s: &Sandbox, input: &Input, expect: Expect) -> Result<(), String> {
    input.place(s, kind.rel);
    let out = run_untouched(s, &["watch", kind.rel, "--once"])?;
    let errors = lines_with(&out, "error: ");
    if out.code != 1 || !out.stdout.is_empty() || errors.len() != 1 {
        return Err(format!("exit {}\n{}{}", out.code, out.stdout, out.stderr));
    }
    let rest = errors[0]
        .strip_prefix(&format!("error: {}:", kind.rel))
        .ok_or_else(|| format!("does not name the file: {}", errors[0]))?;
    match expect {
        Expect::Position => position(rest, line_count(input, &['\n'])),
        Expect::NotObject if rest == " expected a JSON object at the top level" => Ok(()),
        Expect::Directory if rest.starts_with(" cannot read: Is a directory") => Ok(()),
        Expect::NotUtf8 if rest == " cannot read: file is not valid UTF-8" => Ok(()),
        Expect::NotAFile if rest == " cannot read: not a regular file" => Ok(()),
        _ => Err(format!("unexpected message: {}", errors[0])),
    }
}

#[test]
fn every_truncation_of_a_real_target_is_refused() {
    for kind in &KINDS {
        let inputs = truncations(kind.real, Expect::Position);
        println!("{}: {} truncations", kind.rel, inputs.len());
        each(
            &inputs,
            || setup(kind, false),
            |s, i, e| refused(kind, s, i, *e),
        );
    }
}

#[test]
fn a_cut_multibyte_character_is_refused_as_not_utf8() {
    let demo = include_str!("../../../fixtures/demo/opencode.json");
    let kind = &KINDS[0];
    let inputs: Vec<(Input, Expect)> = (1..demo.len())
        .filter(|n| !demo.is_char_boundary(*n))
        .map(|n| {
            let input = Input::new(format!("demo cut at byte {n}"), &demo.as_bytes()[..n]);
            (input, Expect::NotUtf8)
        })
        .collect();
    println!("{}: {} cut characters", kind.rel, inputs.len());
    assert_eq!(inputs.len(), 5, "—, «, é and »");
    each(
        &inputs,
        || setup(kind, true),
        |s, i, e| refused(kind, s, i, *e),
    );
}

#[test]
fn malformed_targets_are_refused_and_untouched() {
    for kind in &KINDS {
        let mut corpus = corpus(kind);
        corpus.extend(not_utf8(kind).into_iter().map(|i| (i, Expect::NotUtf8)));
        println!("{}: {} malformed inputs", kind.rel, corpus.len());
        each(
            &corpus,
            || setup(kind, true),
            |s, i, e| refused(kind, s, i, *e),
        );
    }
}

/// Valid JSONC with a non-string where a model or its container belongs: not a slot, so nothing
/// is managed, written or refused.
#[test]
fn wrong_types_at_every_slot_are_left_alone() {
    let values = [
        "42",
        "1e999999",
        "-123456789012345678901234567890",
        "null",
        "true",
    ];
    let model_like = ["[\"zai-coding-plan/glm-4.6\"]", "{\"model\": \"opus\"}"];
    for kind in &KINDS {
        let mut inputs = Vec::new();
        for slot in kind.slots {
            for raw in values.iter().chain(&model_like) {
                let name = format!("{} = {raw}", slot.join("."));
                inputs.push((Input::new(name, at_path(slot, raw)), ()));
            }
        }
        for container in kind.containers {
            for raw in ["42", "null", "\"opus\"", "[{\"model\": \"opus\"}]"] {
                let name = format!("{} = {raw}", container.join("."));
                inputs.push((Input::new(name, at_path(container, raw)), ()));
            }
        }
        println!("{}: {} wrong-type inputs", kind.rel, inputs.len());
        each(
            &inputs,
            || setup(kind, true),
            |s, input, ()| {
                input.place(s, kind.rel);
                let out = run_untouched(s, &["watch", kind.rel, "--once", "--json"])?;
                let json: serde_json::Value = serde_json::from_str(&out.stdout)
                    .map_err(|e| format!("{e}: {}", out.stderr))?;
                if out.code != 0 || json["slots"] != serde_json::json!([]) {
                    return Err(format!("exit {}: {}\n{}", out.code, out.stdout, out.stderr));
                }
                Ok(())
            },
        );
    }
}
