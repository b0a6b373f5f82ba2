//! `--restore`, user edits (rule 3) and crash reconciliation.

use std::fs;

use crate::harness::{CHAINS, OPENCODE, Sandbox};

const RED: &str = r#"{"zai": {"status": "RED"}}"#;

fn switched() -> Sandbox {
    let s = Sandbox::new();
    s.write("opencode.json", OPENCODE).config(CHAINS).quota(RED);
    s.once("opencode.json").code(0);
    s
}

#[test]
fn restore_once_restore_round_trips() {
    let s = switched();
    s.run(&["watch", "opencode.json", "--restore"]).code(0).stdout_is(
        "opencode.json: agent.build.model: deepseek/deepseek-chat -> zai-coding-plan/glm-4.6 (restored)\n\
         opencode.json: model: deepseek/deepseek-chat -> zai-coding-plan/glm-4.6 (restored)\n",
    );
    assert_eq!(s.read("opencode.json"), OPENCODE);
    s.once("opencode.json").code(0);
    assert_ne!(s.read("opencode.json"), OPENCODE);
    s.run(&["watch", "opencode.json", "--restore"]).code(0);
    assert_eq!(s.read("opencode.json"), OPENCODE);
    // Idempotent.
    s.run(&["watch", "opencode.json", "--restore"])
        .code(0)
        .stdout_is("");
    assert_eq!(s.read("opencode.json"), OPENCODE);
}

#[test]
fn restore_without_target_covers_every_recorded_target() {
    let s = switched();
    s.write("b/opencode.json", r#"{"model": "zai-coding-plan/glm-4.6"}"#);
    s.once("b/opencode.json").code(0);
    // Restore needs neither the config nor quota: run it bare from another directory.
    let out = s.run_exact(&["watch", "--restore"]);
    out.code(0);
    assert_eq!(out.stdout.lines().count(), 3, "{}", out.stdout);
    assert_eq!(s.read("opencode.json"), OPENCODE);
    assert_eq!(
        s.read("b/opencode.json"),
        r#"{"model": "zai-coding-plan/glm-4.6"}"#
    );
}

#[test]
fn a_user_edit_is_kept_by_restore() {
    let s = switched();
    let edited = s
        .read("opencode.json")
        .replacen("\"deepseek/deepseek-chat\"", "\"my/own\"", 1);
    s.write("opencode.json", &edited);
    s.run(&["watch", "opencode.json", "--restore"]).code(0).stdout_is(
        "opencode.json: agent.build.model: deepseek/deepseek-chat -> zai-coding-plan/glm-4.6 (restored)\n\
         opencode.json: model: kept my/own (changed since switch)\n",
    );
    assert!(s.read("opencode.json").contains("\"model\": \"my/own\""));
    let json = s
        .run(&["watch", "opencode.json", "--restore", "--json"])
        .json();
    assert_eq!(
        json["changes"],
        serde_json::json!([]),
        "the edit was adopted: nothing left to report"
    );
}

#[test]
fn restore_reports_kept_slots_in_json() {
    let s = switched();
    let edited = s
        .read("opencode.json")
        .replacen("\"deepseek/deepseek-chat\"", "\"my/own\"", 1);
    s.write("opencode.json", &edited);
    let json = s
        .run(&["watch", "opencode.json", "--restore", "--json"])
        .json();
    let kept = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["slot"] == "model")
        .unwrap()
        .clone();
    assert_eq!(
        kept,
        serde_json::json!({"target": "opencode.json", "path": s.real("opencode.json"), "slot": "model", "from": "my/own", "to": "my/own", "reason": "kept"})
    );
}

#[test]
fn restore_json_lists_the_slots_as_restored() {
    let s = switched();
    let json = s
        .run(&["watch", "opencode.json", "--restore", "--json"])
        .json();
    let slots = json["slots"].as_array().unwrap();
    assert_eq!(slots.len(), 3);
    let model = slots.iter().find(|v| v["slot"] == "model").unwrap();
    assert_eq!(model["current"], "zai-coding-plan/glm-4.6");
    assert_eq!(model["original"], "zai-coding-plan/glm-4.6");
    // Judged from the last saved quota data: a restore reads no source.
    assert_eq!(model["status"], "RED");
}

#[test]
fn a_user_edit_is_adopted_by_a_pass() {
    let s = switched();
    let edited = s.read("opencode.json").replacen(
        "\"deepseek/deepseek-chat\"",
        "\"deepseek/deepseek-reasoner\"",
        1,
    );
    s.write("opencode.json", &edited);
    s.quota(r#"{"zai": {"status": "GREEN"}}"#);
    for _ in 0..4 {
        s.once("opencode.json").code(0);
    }
    // The build agent went home after the hold; the user's choice stayed.
    let text = s.read("opencode.json");
    assert!(
        text.contains("\"model\": \"deepseek/deepseek-reasoner\""),
        "{text}"
    );
    assert!(
        text.contains("\"build\": { \"model\": \"zai-coding-plan/glm-4.6\" }"),
        "{text}"
    );
}

#[test]
fn restore_dry_run_changes_nothing() {
    let s = switched();
    let before = s.read("opencode.json");
    let state = s.state_files();
    let out = s.run(&["watch", "opencode.json", "--restore", "--dry-run"]);
    out.code(0);
    assert!(
        out.stdout.contains("(restored)")
            && out
                .stdout
                .contains("+  \"model\": \"zai-coding-plan/glm-4.6\""),
        "{}",
        out.stdout
    );
    assert_eq!(s.read("opencode.json"), before);
    assert_eq!(s.state_files(), state);
}

#[test]
fn a_record_whose_write_never_landed_is_dropped() {
    let s = switched();
    // As if the run had died after saving state but before writing the target.
    s.write("opencode.json", OPENCODE);
    s.quota(r#"{"zai": {"status": "GREEN"}}"#);
    s.once("opencode.json").code(0).stdout_is("");
    assert!(
        s.state_files().iter().all(|f| !f.starts_with("targets/")),
        "{:?}",
        s.state_files()
    );
    s.run(&["watch", "opencode.json", "--restore"])
        .code(0)
        .stdout_is("");
}

#[test]
fn temp_files_of_killed_runs_are_removed() {
    let s = Sandbox::new();
    s.write("opencode.json", OPENCODE).config(CHAINS).quota(RED);
    let leftover = s.path(".opencode.json.switcher-tmp.999999999.0");
    fs::write(&leftover, "partial").unwrap();
    s.once("opencode.json").code(0);
    assert!(!leftover.exists());
}

#[test]
fn a_locked_target_is_refused_naming_the_holder() {
    let s = switched();
    let lock = format!("locks/{}.lock", s.state_key("opencode.json"));
    let held = s.hold_lock(&lock, "pid 4242: switcher watch");
    let before = s.read("opencode.json");
    s.run(&["watch", "opencode.json", "--restore"])
        .code(1)
        .stderr_has("opencode.json: managed by another switcher (pid 4242: switcher watch)");
    assert_eq!(s.read("opencode.json"), before);
    // Read-only modes take no lock.
    s.run(&["watch", "opencode.json", "--restore", "--dry-run"])
        .code(0);
    s.run(&["status", "opencode.json"]).code(0);
    drop(held);
    s.run(&["watch", "opencode.json", "--restore"]).code(0);
}

#[test]
fn a_corrupt_state_file_fails_only_its_target() {
    let s = switched();
    s.write("b/opencode.json", r#"{"model": "zai-coding-plan/glm-4.6"}"#);
    s.once("b/opencode.json").code(0);
    let state = s
        .state_dir()
        .join(format!("targets/{}.json", s.state_key("b/opencode.json")));
    fs::write(&state, "{").unwrap();
    let out = s.run_exact(&["watch", "--restore"]);
    out.code(1)
        .stderr_has("is unreadable")
        .stderr_has("move it away");
    assert_eq!(
        s.read("opencode.json"),
        OPENCODE,
        "the other target is restored"
    );
    assert_eq!(
        s.read("b/opencode.json"),
        r#"{"model": "deepseek/deepseek-chat"}"#,
        "its own is left alone"
    );
}

#[test]
fn a_restore_of_every_recorded_target_names_each_by_its_path_from_here() {
    let s = Sandbox::new();
    s.write("p1/opencode.json", OPENCODE)
        .write("p2/opencode.json", OPENCODE)
        .config(CHAINS)
        .quota(RED);
    let config = s.path("switcher.json5");
    let quota = s.path("quota.json");
    let from = |dir: &std::path::Path, args: &[&str]| {
        let mut full: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_ref()).collect();
        full.extend([
            "--config".as_ref(),
            config.as_os_str(),
            "--quota-file".as_ref(),
            quota.as_os_str(),
        ]);
        let mut cmd = s.command(&full);
        cmd.current_dir(dir);
        crate::harness::run_with_deadline(cmd)
    };
    // Each project switched from its own dir: both were given as `opencode.json`.
    for p in ["p1", "p2"] {
        from(&s.path(p), &["watch", "opencode.json", "--once"]).code(0);
    }
    // Restored from elsewhere: each is named by its full path, in text and in `--json`.
    let json = from(&s.home(), &["watch", "--restore", "--dry-run", "--json"]).json();
    let changes = json["changes"].as_array().unwrap();
    for p in ["p1", "p2"] {
        let real = s.real(&format!("{p}/opencode.json"));
        let mine: Vec<_> = changes
            .iter()
            .filter(|c| c["path"] == real.as_str())
            .collect();
        assert_eq!(mine.len(), 2, "{p}: {changes:?}");
        assert!(
            mine.iter().all(|c| c["target"] == real.as_str()),
            "{mine:?}"
        );
    }
    // From the dir above both: by their paths from there.
    let out = from(&s.work(), &["watch", "--restore"]);
    out.code(0);
    for p in ["p1", "p2"] {
        assert!(
            out.stdout.contains(&format!(
                "{p}/opencode.json: model: deepseek/deepseek-chat -> "
            )),
            "{}",
            out.stdout
        );
    }
    assert_eq!(s.read("p1/opencode.json"), OPENCODE);
    assert_eq!(s.read("p2/opencode.json"), OPENCODE);
}
