//! Bad input gets a clear error and loses nothing.

use crate::harness::{CHAINS, OPENCODE, Sandbox};

#[test]
fn an_unparsable_target_exits_1_naming_file_line_column_and_is_untouched() {
    let s = Sandbox::new();
    let broken = "{\n  \"model\": \"zai/glm\",\n  \"agent\" {}\n}\n";
    s.write("opencode.json", broken)
        .config(CHAINS)
        .quota(r#"{"zai": {"status": "RED"}}"#);
    let out = s.once("opencode.json");
    out.code(1)
        .stderr_has("error: opencode.json:3:11: Expected colon");
    assert_eq!(s.read("opencode.json"), broken);
    assert!(out.stdout.is_empty());
}

#[test]
fn an_invalid_config_exits_1_naming_the_field_before_any_write() {
    let s = Sandbox::new();
    s.write("opencode.json", OPENCODE)
        .quota(r#"{"zai": {"status": "RED"}}"#);
    s.config(
        r#"{fallbacks: {"zai-coding-plan/glm-4.6": ["deepseek/chat"]}, thresholds: {yelow: 50}}"#,
    );
    s.once("opencode.json").code(1).stderr_has(
        "switcher.json5:1:74: thresholds.yelow: unknown field `yelow`, expected `yellow` or `red`",
    );
    assert_eq!(s.read("opencode.json"), OPENCODE);
    assert!(s.state_files().is_empty());
    s.config("{recovery_hold: 'three'}");
    s.once("opencode.json")
        .code(1)
        .stderr_has("recovery_hold: expected number");
    s.config("{sources: [{kind: 'file', path: 'q.json', region: 'china'}]}");
    s.once("opencode.json")
        .code(1)
        .stderr_has("switcher.json5:1:43: sources[0].region: not a field of source kind `file`");
    // Checked once the config is read, and placed at its field all the same.
    s.config("{sources: [{kind: 'zai', api_key_env: 'SWITCHER_TEST_UNSET'}]}");
    s.once("opencode.json")
        .code(1)
        .stderr_has("switcher.json5:1:26: sources[0].api_key_env: $SWITCHER_TEST_UNSET is not set");
    // Two names of one provider: placed at the one kept second.
    s.config("{provider_thresholds: {zai: {red: 80},\n  'zai-coding-plan': {red: 85}}}");
    s.once("opencode.json").code(1).stderr_has(
        "switcher.json5:2:3: provider_thresholds.zai-coding-plan: `zai` and `zai-coding-plan` are \
         the same provider (zai); keep one",
    );
}

#[test]
fn a_threshold_clashing_with_an_inherited_one_is_a_warning_not_an_error() {
    let s = Sandbox::new();
    s.write("opencode.json", OPENCODE)
        .config(&CHAINS.replace("fallbacks", "thresholds: {yellow: 95}, fallbacks"))
        .quota(r#"{"zai": {"windows": {"w": {"utilization": 92}}}}"#);
    // 92% is past the default red (90): RED, and switched, despite yellow at 95.
    s.once("opencode.json").code(0).stderr_has(
        "switcher.json5:2:3: thresholds: yellow (95) is above red (90, the default), \
         so it goes from GREEN straight to RED",
    );
    assert!(s.read("opencode.json").contains("deepseek/deepseek-chat"));
}

#[test]
fn an_unreadable_quota_history_is_warned_about_once_and_replaced() {
    let s = Sandbox::new();
    s.write("opencode.json", OPENCODE)
        .config(CHAINS)
        .quota(r#"{"zai": {"status": "RED"}}"#);
    std::fs::create_dir_all(s.state_dir()).unwrap();
    std::fs::write(s.state_dir().join("quota.json"), "{not json").unwrap();
    let out = s.once("opencode.json");
    out.code(0)
        .stderr_has("quota.json is unreadable (key must be a string at line 1 column 2); starting with no quota history");
    let stderr = &out.stderr;
    assert_eq!(stderr.matches("is unreadable").count(), 1, "{stderr}");
    assert!(!stderr.contains("originals"), "{stderr}");
    assert!(s.read("opencode.json").contains("deepseek/deepseek-chat"));
    let saved = std::fs::read_to_string(s.state_dir().join("quota.json")).unwrap();
    assert!(saved.contains("\"zai\""), "{saved}");
}

#[test]
fn records_that_cannot_be_saved_leave_the_target_as_it_was() {
    let s = Sandbox::new();
    s.write("opencode.json", OPENCODE)
        .config(CHAINS)
        .quota(r#"{"zai": {"status": "RED"}}"#);
    s.once("opencode.json").code(0);
    let switched = s.read("opencode.json");
    // The records are read-only: they load, but a save that adds a switch is refused. The state
    // is written before the target, so the target is not written at all.
    let records = s
        .state_dir()
        .join(format!("targets/{}.json", s.state_key("opencode.json")));
    let mut mode = std::fs::metadata(&records).unwrap().permissions();
    mode.set_readonly(true);
    std::fs::set_permissions(&records, mode).unwrap();
    s.quota(r#"{"zai": {"status": "RED"}, "copilot": {"status": "RED"}}"#);
    s.once("opencode.json").code(1).stderr_has("read-only");
    assert_eq!(s.read("opencode.json"), switched);
    assert_eq!(s.temp_files(), 0);
}

#[test]
fn a_missing_explicit_config_is_an_error_and_a_missing_default_is_not() {
    let s = Sandbox::new();
    s.write("opencode.json", OPENCODE);
    s.run_exact(&["watch", "opencode.json", "--once", "--config", "nope.json5"])
        .code(1)
        .stderr_has("nope.json5: cannot read");
    s.run_exact(&["watch", "opencode.json", "--once"]).code(0);
    let mut s = s;
    s.env("SWITCHER_CONFIG", "also-nope.json5");
    s.run_exact(&["watch", "opencode.json", "--once"])
        .code(1)
        .stderr_has("also-nope.json5");
}

#[test]
fn the_default_config_is_read_from_xdg_config_home() {
    let s = Sandbox::new();
    s.write("opencode.json", OPENCODE)
        .quota(r#"{"zai": {"status": "RED"}}"#);
    let dir = s.home().join(".config/switcher");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("config.json5"), CHAINS).unwrap();
    assert_eq!(s.once("opencode.json").code(0).stdout.lines().count(), 2);
}

#[test]
fn a_malformed_status_file_makes_its_providers_unknown_with_a_warning() {
    let s = Sandbox::new();
    s.write("opencode.json", r#"{"model": "zai-coding-plan/glm-4.6"}"#)
        .config(&CHAINS.replace("fallbacks", "recovery_hold: 1, fallbacks"))
        .quota(r#"{"zai": {"status": "RED"}}"#);
    s.once("opencode.json").code(0);
    // Broken: zai is UNKNOWN (named at the last good read), so nothing moves, nothing crashes.
    s.quota(r#"{"zai": {"status": "GREEN""#);
    let out = s.once("opencode.json");
    out.code(0)
        .stderr_has("warning: status file quota.json:")
        .stderr_has("the providers it covered are UNKNOWN");
    assert_eq!(out.stdout, "");
    let json = s.run(&["status", "--json", "opencode.json"]).json();
    assert_eq!(json["providers"]["zai"]["status"], "UNKNOWN");
    // One bad entry blinds only its provider.
    s.quota(r#"{"zai": {"windows": {"five_hour": {"utilization": "lots"}}}, "deepseek": {"status": "GREEN"}}"#);
    s.once("opencode.json")
        .code(0)
        .stderr_has("zai: malformed entry: window `five_hour`: `utilization` must be a number");
    // A missing status file is a warning too.
    std::fs::remove_file(s.path("quota.json")).unwrap();
    s.run_exact(&[
        "watch",
        "opencode.json",
        "--once",
        "--quota-file",
        "quota.json",
        "--config",
        "switcher.json5",
    ])
    .code(0)
    .stderr_has("status file quota.json: No such file");
}

#[test]
fn an_unknown_target_kind_suggests_kind() {
    let s = Sandbox::new();
    s.write("agent.json", OPENCODE)
        .config(CHAINS)
        .quota(r#"{"zai": {"status": "RED"}}"#);
    s.once("agent.json")
        .code(1)
        .stderr_has("agent.json: cannot tell which agent")
        .stderr_has("--kind");
    let out = s.run(&["watch", "agent.json", "--once", "--kind", "opencode"]);
    out.code(0);
    assert_eq!(out.stdout.lines().count(), 2);
}

#[test]
fn a_missing_target_or_a_directory_is_said_to_be_unreadable_not_of_an_unknown_kind() {
    let s = Sandbox::new();
    s.config(CHAINS).quota(r#"{"zai": {"status": "RED"}}"#);
    s.once("nothere.json")
        .code(1)
        .stderr_has("nothere.json: cannot read: No such file");
    std::fs::create_dir(s.path("somedir")).unwrap();
    s.once("somedir")
        .code(1)
        .stderr_has("somedir: cannot read: is a directory");
}

#[test]
fn no_target_is_an_error_and_discovery_finds_opencode_json() {
    let s = Sandbox::new();
    s.run_exact(&["watch", "--once"])
        .code(1)
        .stderr_has("no target");
    s.run_exact(&["status"]).code(1).stderr_has("no target");
    s.write("opencode.json", OPENCODE)
        .config(CHAINS)
        .quota(r#"{"zai": {"status": "RED"}}"#);
    let out = s.run(&["watch", "--once"]);
    out.code(0);
    assert!(
        out.stdout.starts_with("opencode.json: agent.build.model:"),
        "{}",
        out.stdout
    );
}

#[test]
fn config_targets_resolve_against_the_config_directory() {
    let s = Sandbox::new();
    s.write("proj/opencode.json", OPENCODE)
        .quota(r#"{"zai": {"status": "RED"}}"#);
    s.write(
        "conf/switcher.json5",
        &CHAINS.replace("fallbacks", "targets: ['../proj/opencode.json'], fallbacks"),
    );
    let out = s.run_exact(&[
        "watch",
        "--once",
        "--config",
        "conf/switcher.json5",
        "--quota-file",
        "quota.json",
    ]);
    out.code(0);
    assert!(
        out.stdout
            .starts_with("../proj/opencode.json: agent.build.model:"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_missing_target_is_an_error() {
    let s = Sandbox::new();
    s.once("opencode.json")
        .code(1)
        .stderr_has("opencode.json: cannot read: No such file");
}

#[test]
fn usage_errors_exit_2() {
    let s = Sandbox::new();
    s.run_exact(&["watch", "--once", "--restore"]).code(2);
    s.run_exact(&["watch", "--dry-run"]).code(2);
    s.run_exact(&["frobnicate"]).code(2);
    s.run_exact(&["watch", "--kind", "vim"]).code(2);
}

#[test]
fn a_bad_switcher_now_is_named() {
    let mut s = Sandbox::new();
    s.write("opencode.json", OPENCODE);
    s.env("SWITCHER_NOW", "yesterday");
    s.run_exact(&["watch", "opencode.json", "--once"])
        .code(1)
        .stderr_has("SWITCHER_NOW: expected an RFC 3339 time");
}

#[test]
fn quota_data_of_a_source_no_longer_configured_is_not_judged() {
    let s = Sandbox::new();
    s.write("opencode.json", OPENCODE)
        .config(CHAINS)
        .quota(r#"{"zai": {"status": "RED"}}"#);
    s.once("opencode.json").code(0);
    s.run(&["watch", "--restore"]).code(0);
    // The state dir still holds what quota.json said; without that source it says nothing.
    s.config(&CHAINS.replace("fallbacks", "sources: [], fallbacks"));
    s.run_exact(&[
        "watch",
        "opencode.json",
        "--once",
        "--config",
        "switcher.json5",
    ])
    .code(0)
    .stdout_is("");
    let json = s
        .run_exact(&[
            "status",
            "opencode.json",
            "--json",
            "--config",
            "switcher.json5",
        ])
        .json();
    assert_eq!(json["providers"], serde_json::json!({}));
}

#[test]
fn one_file_reached_twice_is_one_target() {
    let s = Sandbox::new();
    s.write("opencode.json", OPENCODE)
        .config(CHAINS)
        .quota(r#"{"zai": {"status": "RED"}}"#);
    let out = s.run(&["watch", "opencode.json", "./opencode.json", "--once"]);
    out.code(0);
    assert_eq!(
        out.stdout.lines().count(),
        2,
        "each slot switched once:\n{}",
        out.stdout
    );
    // Discovery inside OpenCode's own config dir finds it as ./opencode.json and under
    // $XDG_CONFIG_HOME: the daemon must not lock itself out.
    std::fs::create_dir_all(s.home().join(".config")).unwrap();
    std::os::unix::fs::symlink(s.work(), s.home().join(".config/opencode")).unwrap();
    s.run(&["watch", "--restore"]).code(0);
    let d = s.daemon(&[]);
    d.wait_line("watching 1 target(s): opencode.json", 1);
    assert_eq!(d.stop(), 0);
}

#[test]
fn a_read_only_target_is_refused_and_kept_as_it_is() {
    use std::os::unix::fs::PermissionsExt;
    let s = Sandbox::new();
    s.write("opencode.json", OPENCODE)
        .config(CHAINS)
        .quota(r#"{"zai": {"status": "RED"}}"#);
    let target = s.path("opencode.json");
    // Its owner may not write it (`chmod u-w` of a group-writable file): read-only to them.
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o464)).unwrap();
    let out = s.once("opencode.json");
    out.code(1)
        .stderr_has("opencode.json: cannot write: the file is read-only");
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    assert_eq!(s.read("opencode.json"), OPENCODE);
    let mode = std::fs::metadata(&target).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o464);
    // A dry run says what the run would do.
    s.run(&["watch", "opencode.json", "--once", "--dry-run"])
        .code(1)
        .stderr_has("the file is read-only");
    assert!(
        !s.state_dir().join("targets").exists(),
        "no record of a switch that cannot land"
    );
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).unwrap();
    s.once("opencode.json").code(0);
    assert!(s.read("opencode.json").contains("deepseek/deepseek-chat"));
}

#[test]
fn runs_reading_other_status_files_keep_each_others_quota_history() {
    let s = Sandbox::new();
    s.write("opencode.json", OPENCODE).config(CHAINS);
    s.write("a.json", r#"{"zai": {"status": "GREEN"}}"#);
    s.write("b.json", r#"{"zai": {"status": "GREEN"}}"#);
    for file in ["a.json", "b.json", "a.json"] {
        s.run_exact(&[
            "watch",
            "opencode.json",
            "--once",
            "--config",
            "switcher.json5",
            "--quota-file",
            file,
        ])
        .code(0);
    }
    // Each run read the book once and updated what it read: the other's source is still there.
    let book: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(s.state_dir().join("quota.json")).unwrap())
            .unwrap();
    let sources: Vec<&String> = (book["sources"].as_object().unwrap().keys())
        .filter(|k| k.starts_with("file:"))
        .collect();
    assert_eq!(sources.len(), 2, "{sources:?}");
    assert!(sources.iter().any(|k| k.ends_with("a.json")), "{sources:?}");
    assert!(sources.iter().any(|k| k.ends_with("b.json")), "{sources:?}");
}
