//! The journal: every switch and restore, by `--once`, `--restore` and the daemon, shown by
//! `switcher log` with reasons, newest last; `--since` and `--json` narrow and shape it.

use crate::harness::{CHAINS, OPENCODE, Sandbox};

const RED: &str = r#"{"zai": {"windows": {"five_hour": {"utilization": 93.5}}}}"#;
const GREEN: &str = r#"{"zai": {"windows": {"five_hour": {"utilization": 10}}}}"#;

fn sandbox() -> Sandbox {
    let mut s = Sandbox::new();
    s.env("TZ", "UTC");
    s.write("opencode.json", OPENCODE)
        .config(&CHAINS.replace("fallbacks", "recovery_hold: 1, fallbacks"));
    s
}

#[test]
fn once_and_restore_are_journalled_and_log_shows_them_newest_last() {
    let mut s = sandbox();
    s.quota(RED);
    s.env("SWITCHER_NOW", "2026-11-21T19:00:00Z");
    s.once("opencode.json").code(0);
    s.env("SWITCHER_NOW", "2026-11-21T20:30:00Z");
    s.quota(GREEN);
    s.once("opencode.json").code(0);
    s.quota(RED);
    s.env("SWITCHER_NOW", "2026-11-21T21:00:00Z");
    s.once("opencode.json").code(0);
    s.run(&["watch", "--restore"]).code(0);

    let log = s.run(&["log"]);
    log.code(0).stdout_is(
        "2026-11-21 19:00:00  opencode.json: agent.build.model: zai-coding-plan/glm-4.6 -> deepseek/deepseek-chat (zai five_hour 93.5% >= 90%)\n\
         2026-11-21 19:00:00  opencode.json: model: zai-coding-plan/glm-4.6 -> deepseek/deepseek-chat (zai five_hour 93.5% >= 90%)\n\
         2026-11-21 20:30:00  opencode.json: agent.build.model: deepseek/deepseek-chat -> zai-coding-plan/glm-4.6 (zai GREEN for 1 observation)\n\
         2026-11-21 20:30:00  opencode.json: model: deepseek/deepseek-chat -> zai-coding-plan/glm-4.6 (zai GREEN for 1 observation)\n\
         2026-11-21 21:00:00  opencode.json: agent.build.model: zai-coding-plan/glm-4.6 -> deepseek/deepseek-chat (zai five_hour 93.5% >= 90%)\n\
         2026-11-21 21:00:00  opencode.json: model: zai-coding-plan/glm-4.6 -> deepseek/deepseek-chat (zai five_hour 93.5% >= 90%)\n\
         2026-11-21 21:00:00  opencode.json: agent.build.model: deepseek/deepseek-chat -> zai-coding-plan/glm-4.6 (restored)\n\
         2026-11-21 21:00:00  opencode.json: model: deepseek/deepseek-chat -> zai-coding-plan/glm-4.6 (restored)\n",
    );

    // The last 20 minutes as of 21:00: the last switch and the restore.
    let recent = s.run(&["log", "--since", "20m"]);
    assert_eq!(
        recent.code(0).stdout.lines().count(),
        4,
        "{}",
        recent.stdout
    );
    let since = s.run(&["log", "--since", "2026-11-21T20:00:00Z"]);
    assert_eq!(since.code(0).stdout.lines().count(), 6, "{}", since.stdout);

    let json = s.run(&["log", "--since", "1h", "--json"]).json();
    let entries = json["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 6);
    assert_eq!(
        entries[0],
        serde_json::json!({
            "at": "2026-11-21T20:30:00Z", "kind": "restore", "target": "opencode.json",
            "path": s.real("opencode.json"), "slot": "agent.build.model", "from": "deepseek/deepseek-chat",
            "to": "zai-coding-plan/glm-4.6", "reason": "zai GREEN for 1 observation"
        })
    );
    assert_eq!(entries[5]["reason"], "restored");
}

#[test]
fn dry_runs_and_kept_slots_are_not_journalled() {
    let s = sandbox();
    s.quota(RED);
    s.run(&["watch", "opencode.json", "--once", "--dry-run"])
        .code(0);
    s.run(&["log"]).code(0).stdout_is("");
    assert!(!s.state_dir().join("journal.jsonl").exists());
    s.once("opencode.json").code(0);
    // The user edits one switched slot; `--restore` keeps it and journals only the other.
    s.write(
        "opencode.json",
        &s.read("opencode.json")
            .replacen("deepseek/deepseek-chat", "my/own", 1),
    );
    s.run(&["watch", "--restore"]).code(0);
    let log = s.run(&["log"]).stdout;
    assert_eq!(log.lines().count(), 3, "{log}");
    assert_eq!(log.matches("(restored)").count(), 1, "{log}");
}

#[test]
fn the_daemon_journals_its_switches() {
    let s = sandbox();
    s.quota(GREEN);
    let daemon = s.daemon(&["opencode.json"]);
    s.rename_over("quota.json", RED);
    daemon.wait_line("switched", 2);
    let log = s.run(&["log"]);
    assert_eq!(
        log.code(0)
            .stdout
            .matches(" -> deepseek/deepseek-chat (zai five_hour 93.5% >= 90%)")
            .count(),
        2,
        "{}",
        log.stdout
    );
    daemon.stop();
}

#[test]
fn a_bad_since_is_a_usage_error() {
    let s = sandbox();
    s.run(&["log", "--since", "yesterday"])
        .code(2)
        .stderr_has("expected a span");
}
