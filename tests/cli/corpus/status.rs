//! Malformed status files: never an error exit. A file that cannot be used gets one warning
//! naming it and makes the providers of its last good read UNKNOWN; a document with one bad
//! entry blinds only that provider. Nothing switches, nothing is written.

use serde_json::Value;

use super::{Input, NOT_UTF8, each, junk, lines_with, nested, run_untouched};
use crate::harness::Sandbox;

/// A real status file naming two providers, both healthy.
const REAL: &str = r#"{"zai": {"status": "GREEN"},
 "deepseek": {"windows": {"balance": {"utilization": 10, "resets_at": null}}}}
"#;

/// A target with a model on each provider, and chains that would move both if they went RED.
const TARGET: &str =
    r#"{"model": "zai-coding-plan/glm-4.6", "small_model": "deepseek/deepseek-chat"}"#;
const CONFIG: &str = r#"{fallbacks: {"zai-coding-plan/glm-4.6": ["kimi-for-coding/k2"],
                                     "deepseek/deepseek-chat": ["kimi-for-coding/k2"]}}"#;

/// What must happen to the two providers.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// The file is unusable: both UNKNOWN.
    Both,
    /// zai's entry is malformed: zai UNKNOWN, deepseek still GREEN.
    ZaiOnly,
}

/// One sandbox per worker, with a good read on record so the file's providers are known.
fn setup() -> Sandbox {
    let s = Sandbox::new();
    s.write("opencode.json", TARGET).config(CONFIG).quota(REAL);
    s.once("opencode.json").code(0).stdout_is("");
    s
}

fn whole_file() -> Vec<(Input, Expect)> {
    let mut out = super::truncations(REAL, Expect::Both);
    let texts = [
        "",
        " \n",
        "\u{feff}",
        "\u{feff}\u{feff}{}",
        "\0",
        "{}\0",
        "\0{}",
        "{\"zai\": {\"status\": \"GR\0EEN\"}}",
        r#"{"zai": {"status": "\x41"}}"#,
        r#"{"zai": {"status": "\u12"}}"#,
        r#"{"\ud800": {}}"#,
        r#"{"zai": {"status": "\udc00"}}"#,
        r#"{"zai": {"status": "GREEN'}}"#,
        r#"{"zai": {"windows": {"w": {"utilization": 1e400}}}}"#,
        r#"{"zai": {"windows": {"w": {"utilization": -1e400}}}}"#,
        r#"{"zai": {"status": "GREEN"}} x"#,
        r#"{"zai": {}}{}"#,
        r#"{"zai" {}}"#,
        r#"{"zai": {},}"#,
        r#"{'zai': {}}"#,
        r#"{zai: {}}"#,
        "[]",
        "[{\"zai\": {}}]",
        "\"zai\"",
        "42",
        "null",
        "true",
        "{\"zai\": NaN}",
        "{\"zai\": 01}",
    ];
    for text in texts {
        out.push((Input::new(format!("{text:?}"), text), Expect::Both));
    }
    for (name, text) in [
        ("arrays", nested(100_000, "[", "", "]")),
        ("objects", nested(100_000, "{\"zai\": ", "{}", "}")),
        (
            "windows",
            format!(
                "{{\"zai\": {{\"windows\": {}}}}}",
                nested(100_000, "{\"w\": ", "{}", "}")
            ),
        ),
        ("unclosed objects", "{\"a\": ".repeat(100_000)),
    ] {
        out.push((
            Input::new(format!("{name} nested 100000 deep"), text),
            Expect::Both,
        ));
    }
    for (i, seq) in NOT_UTF8.iter().enumerate() {
        let mut bytes = br#"{"zai": {"status": ""#.to_vec();
        bytes.extend_from_slice(seq);
        bytes.extend_from_slice(br#""}}"#);
        out.push((Input::new(format!("not UTF-8 #{i}"), bytes), Expect::Both));
    }
    for seed in 20..23 {
        let mut bytes = junk(seed, 200);
        bytes.push(0xff);
        out.push((
            Input::new(format!("binary junk #{seed}"), bytes),
            Expect::Both,
        ));
    }
    out.push((Input::directory(), Expect::Both));
    out.push((Input::fifo(), Expect::Both));
    out
}

/// zai's entry with a wrong type or value at every field it has; deepseek's stays good.
fn bad_entries() -> Vec<(Input, Expect)> {
    let entries = [
        "1",
        "\"RED\"",
        "[]",
        "null",
        "true",
        r#"{"status": 1}"#,
        r#"{"status": []}"#,
        r#"{"status": {}}"#,
        r#"{"status": "PURPLE"}"#,
        r#"{"status": ""}"#,
        r#"{"windows": 1}"#,
        r#"{"windows": []}"#,
        r#"{"windows": "w"}"#,
        r#"{"windows": {"w": 1}}"#,
        r#"{"windows": {"w": "x"}}"#,
        r#"{"windows": {"w": []}}"#,
        r#"{"windows": {"w": null}}"#,
        r#"{"windows": {"w": {}}}"#,
        r#"{"windows": {"w": {"utilization": "92"}}}"#,
        r#"{"windows": {"w": {"utilization": []}}}"#,
        r#"{"windows": {"w": {"utilization": {}}}}"#,
        r#"{"windows": {"w": {"utilization": true}}}"#,
        r#"{"windows": {"w": {"utilization": 5, "resets_at": 1}}}"#,
        r#"{"windows": {"w": {"utilization": 5, "resets_at": "tomorrow"}}}"#,
        r#"{"windows": {"w": {"utilization": 5, "resets_at": "2026-13-01T00:00:00Z"}}}"#,
        r#"{"windows": {"w": {"utilization": 5, "resets_at": "9999-12-31T23:59:59Z"}}}"#,
        r#"{"windows": {"w": {"utilization": 5, "resets_at": {}}}}"#,
        r#"{"windows": {"w": {"utilization": 5, "status": 2}}}"#,
        r#"{"windows": {"w": {"utilization": 5, "status": "UNKNOWN"}}}"#,
        r#"{"windows": {"w": {"utilization": 5, "status": "BLUE"}}}"#,
        r#"{"windows": {"w": {"utilization": 5, "models": "opus"}}}"#,
        r#"{"windows": {"w": {"utilization": 5, "models": [1]}}}"#,
        r#"{"windows": {"w": {"utilization": 5, "models": {}}}}"#,
        r#"{"windows": {"w": {"resets_at": null}}}"#,
    ];
    entries
        .iter()
        .map(|e| {
            let text = format!(r#"{{"zai": {e}, "deepseek": {{"status": "GREEN"}}}}"#);
            (Input::new(format!("zai: {e}"), text), Expect::ZaiOnly)
        })
        .collect()
}

fn warned(s: &Sandbox, input: &Input, expect: Expect) -> Result<(), String> {
    input.place(s, "quota.json");
    let out = run_untouched(s, &["watch", "opencode.json", "--once", "--json"])?;
    let warnings = lines_with(&out, "warning: ");
    let json: Value = serde_json::from_str(&out.stdout)
        .map_err(|e| format!("exit {}: {e}\n{}", out.code, out.stderr))?;
    let status = |p: &str| {
        json["providers"][p]["status"]
            .as_str()
            .unwrap_or("-")
            .to_owned()
    };
    let (prefix, deepseek) = match expect {
        Expect::Both => ("warning: status file quota.json: ", "UNKNOWN"),
        Expect::ZaiOnly => (
            "warning: status file quota.json: zai: malformed entry: ",
            "GREEN",
        ),
    };
    let ok = out.code == 0
        && warnings.len() == 1
        && warnings[0].starts_with(prefix)
        && warnings[0].ends_with("UNKNOWN")
        && json["changes"] == serde_json::json!([])
        && status("zai") == "UNKNOWN"
        && status("deepseek") == deepseek;
    if !ok {
        return Err(format!("exit {}\n{}\n{}", out.code, out.stderr, out.stdout));
    }
    Ok(())
}

#[test]
fn malformed_status_files_warn_and_make_their_providers_unknown() {
    let mut corpus = whole_file();
    let whole = corpus.len();
    corpus.extend(bad_entries());
    println!(
        "quota.json: {whole} unusable files, {} bad entries",
        corpus.len() - whole
    );
    each(&corpus, setup, |s, i, e| warned(s, i, *e));
}

/// Not malformed, so not in the corpus: a BOM (some editors and Windows tools write one), CRLF
/// line ends and a duplicate key (the last counts, as in every JSON reader) are read normally.
#[test]
fn unusual_but_valid_status_files_are_read() {
    for text in [
        "\u{feff}{\"zai\": {\"status\": \"RED\"}}",
        "{\r\n\"zai\": {\"status\": \"GREEN\"},\r\n\"zai\": {\"status\": \"RED\"}\r\n}\r\n",
    ] {
        let s = Sandbox::new();
        s.write("opencode.json", TARGET).config(CONFIG).quota(text);
        let out = s.once("opencode.json");
        out.code(0).stdout_is(
            "opencode.json: model: zai-coding-plan/glm-4.6 -> kimi-for-coding/k2 (zai status RED)\n",
        );
        // Of warnings, only the one about running sessions (no plugin here) is expected.
        let warnings = (out.stderr.lines())
            .filter(|l| l.contains("warning") && !l.contains("running sessions follow"));
        assert_eq!(warnings.count(), 0, "{text:?}: {}", out.stderr);
    }
}
