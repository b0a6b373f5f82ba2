use std::fs;

use serde_json::json;

use super::*;
use crate::provider::Aliases;
use crate::quota::Level;

fn red_until(provider: &str, at: &str) -> Value {
    json!({ provider: { "windows": { "limit": { "utilization": 100, "resets_at": at } } } })
}

fn put(dir: &Path, name: &str, text: &str) {
    fs::write(dir.join(name), text).unwrap();
}

#[test]
fn signal_names() {
    for (name, ok) in [
        ("opencode-zai.json", true),
        ("CLAUDE.JSON", true),
        (".opencode-zai.json", false),
        (".x.json.switcher-tmp.12.0", false),
        ("x.json.tmp", false),
        ("x.json5", false),
        (".json", false),
        ("notes.txt", false),
    ] {
        assert_eq!(is_signal(Path::new(name)), ok, "{name}");
    }
    assert_eq!(
        file_safe("opencode-zai-coding-plan"),
        "opencode-zai-coding-plan"
    );
    assert_eq!(file_safe("a/b c"), "a_b_c");
    assert_eq!(file_safe(".."), "_.");
    assert_eq!(file_safe(""), "_");
}

#[test]
fn the_dir_is_read_whole_and_only_its_signals() {
    let tmp = tempfile::tempdir().unwrap();
    let signals = Signals::new(dir(tmp.path()));
    let aliases = Aliases::default();
    assert_eq!(
        signals.read(&aliases),
        Ok(Reports::new()),
        "no dir: no signal"
    );
    let d = dir(tmp.path());
    fs::create_dir_all(d.join("sub.json")).unwrap();
    put(
        &d,
        "opencode-zai-coding-plan.json",
        &red_until("zai-coding-plan", "2026-11-21T20:00:00Z").to_string(),
    );
    put(
        &d,
        ".opencode-kimi.json.switcher-tmp-1-x",
        r#"{"kimi": {"status": "RED"}}"#,
    );
    put(&d, "half.json.tmp", r#"{"deepseek": {"status": "RE"#);
    put(&d, "notes.txt", "not JSON");
    let reports = signals.read(&aliases).unwrap();
    assert_eq!(reports.keys().collect::<Vec<_>>(), ["zai"]);
    assert_eq!(reports["zai"].windows["limit"].utilization, 100.0);
    // A huge file is refused without being read, like a status file.
    let huge = fs::File::create(d.join("huge.json")).unwrap();
    huge.set_len(fsx::MAX_FILE + 1).unwrap();
    let reports = signals.read(&aliases).unwrap();
    assert_eq!(reports.keys().collect::<Vec<_>>(), ["zai"]);
}

#[test]
fn several_files_on_one_provider_count_side_by_side() {
    let mut memory = Memory::default();
    let aliases = Aliases::default();
    let doc = |v: Value| status_doc::parse(&v.to_string(), &aliases);
    let (reports, warnings) = combine(
        vec![
            (
                "a.json".into(),
                doc(json!({"zai": {"windows": {"limit": {"utilization": 10}}}})),
            ),
            ("b.json".into(), doc(json!({"zai": {"status": "RED"}}))),
            ("c.json".into(), doc(json!({"zai": {"error": "HTTP 500"}}))),
        ],
        &mut memory,
    );
    assert!(warnings.is_empty());
    let zai = &reports["zai"];
    assert_eq!(zai.error, None, "known data beats an error");
    assert_eq!(zai.windows["limit"].utilization, 10.0);
    assert_eq!(zai.windows["as b.json"].status, Some(Level::Red));
}

#[test]
fn an_unreadable_file_blinds_only_what_it_named() {
    let mut memory = Memory::default();
    let aliases = Aliases::default();
    let doc = |v: Value| status_doc::parse(&v.to_string(), &aliases);
    let zai = || {
        (
            "zai.json".to_owned(),
            doc(red_until("zai", "2026-11-21T20:00:00Z")),
        )
    };
    let kimi = doc(json!({"kimi": {"status": "RED"}, "deepseek": {"status": "GREEN"}}));
    combine(vec![("kimi.json".into(), kimi), zai()], &mut memory);
    let broken = || {
        (
            "kimi.json".to_owned(),
            Err("expected value at line 1 column 1".to_owned()),
        )
    };
    let (reports, warnings) = combine(vec![broken(), zai()], &mut memory);
    assert_eq!(warnings.len(), 1);
    assert!(
        warnings[0].starts_with("kimi.json: expected value"),
        "{}",
        warnings[0]
    );
    for p in ["kimi", "deepseek"] {
        let error = reports[p].error.as_deref().unwrap();
        assert!(error.starts_with("signal file kimi.json: "), "{error}");
    }
    assert_eq!(reports["zai"].error, None);
    // Warned once while it stays broken the same way.
    let (_, warnings) = combine(vec![broken(), zai()], &mut memory);
    assert!(warnings.is_empty());
    // Gone: it names nothing any more.
    let (reports, _) = combine(vec![zai()], &mut memory);
    assert_eq!(reports.keys().collect::<Vec<_>>(), ["zai"]);
    // A file never read well here: what the last answer had that no file names now.
    let mut fresh = Memory {
        recalled: ["kimi".to_owned(), "zai".to_owned()].into(),
        ..Memory::default()
    };
    let (reports, warnings) = combine(vec![broken(), zai()], &mut fresh);
    assert_eq!(warnings.len(), 1);
    assert!(reports["kimi"].error.is_some());
    assert_eq!(reports["zai"].error, None);
}

#[test]
fn a_malformed_entry_names_its_file() {
    let mut memory = Memory::default();
    let aliases = Aliases::default();
    let bad = status_doc::parse(r#"{"zai": {"status": "PURPLE"}}"#, &aliases);
    let (reports, _) = combine(vec![("hook.json".into(), bad)], &mut memory);
    assert_eq!(
        reports["zai"].malformed.as_deref(),
        Some("hook.json: unknown status `PURPLE`")
    );
    assert_eq!(
        reports["zai"].error.as_deref(),
        Some("hook.json: malformed entry: unknown status `PURPLE`")
    );
}

#[test]
fn write_puts_a_private_signal_in_place() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let doc = red_until("anthropic", "2026-11-21T20:00:00Z");
    let path = write(&state, "claude statusline", &doc).unwrap();
    assert_eq!(path, dir(&state).join("claude_statusline.json"));
    let text = fs::read_to_string(&path).unwrap();
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), doc);
    // Written again, replaced; nothing else left in the dir, not even what a killed writer left.
    fs::write(
        dir(&state).join(".claude_statusline.json.switcher-tmp.999999999.3"),
        "{",
    )
    .unwrap();
    write(
        &state,
        "claude statusline",
        &json!({"anthropic": {"status": "GREEN"}}),
    )
    .unwrap();
    let names: Vec<_> = fs::read_dir(dir(&state))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["claude_statusline.json"]);
    let reports = Signals::new(dir(&state)).read(&Aliases::default()).unwrap();
    assert_eq!(reports["anthropic"].status, Some(Level::Green));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir(&state)), 0o700);
        assert_eq!(mode(&state), 0o700);
    }
}

#[test]
fn a_spent_quota_reads_back_red_until_its_reset() {
    let at: jiff::Timestamp = "2026-11-21T20:00:00Z".parse().unwrap();
    let doc = super::red_until("claude", at, json!({"agent": "claude-code"}));
    assert_eq!(doc["claude"]["source"]["agent"], "claude-code");
    let reports = status_doc::parse(&doc.to_string(), &Aliases::default()).unwrap();
    let limit = &reports["anthropic"].windows["limit"];
    assert_eq!((limit.utilization, limit.resets_at), (100.0, Some(at)));
    let bare = super::red_until("zai", at, Value::Null);
    assert!(bare["zai"].get("source").is_none());
}
