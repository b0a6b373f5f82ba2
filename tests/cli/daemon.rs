//! `switcher watch` as a daemon: reacting to status files and target edits, never fighting the
//! user, locks and signals. Every wait has a deadline; nothing sleeps a fixed time to pass.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::time::{Duration, Instant};

use crate::harness::{CHAINS, Sandbox};

const TARGET: &str = "{\n  \"model\": \"zai-coding-plan/glm-4.6\",\n  \"theme\": \"dark\"\n}\n";
const RED: &str = r#"{"zai": {"status": "RED"}}"#;
const GREEN: &str = r#"{"zai": {"status": "GREEN"}}"#;

fn sandbox() -> Sandbox {
    let s = Sandbox::new();
    s.write("opencode.json", TARGET)
        .config(&CHAINS.replace("fallbacks", "poll_interval: 3600, fallbacks"))
        .quota(GREEN);
    s
}

fn switched(s: &Sandbox) -> bool {
    s.read("opencode.json").contains("deepseek/deepseek-chat")
}

#[test]
fn a_status_file_change_switches_the_target() {
    let s = sandbox();
    let d = s.daemon(&["opencode.json"]);
    s.rename_over("quota.json", RED);
    d.wait("the switch", || switched(&s));
    d.wait_line("info: switched target=opencode.json slot=model from=zai-coding-plan/glm-4.6 to=deepseek/deepseek-chat reason=zai status RED", 1);
    assert_eq!(
        s.read("opencode.json"),
        TARGET.replace("zai-coding-plan/glm-4.6", "deepseek/deepseek-chat")
    );
    assert_eq!(d.stop(), 0);
}

#[test]
fn a_poll_interval_past_stale_after_is_warned_about() {
    let s = sandbox();
    s.config(&CHAINS.replace(
        "fallbacks",
        "poll_interval: 900, stale_after: 600, fallbacks",
    ));
    let d = s.daemon(&["opencode.json"]);
    d.wait_line(
        "warning: status file quota.json: polled every 900 s, but data older than stale_after (600 s) is \
         UNKNOWN; its providers will be UNKNOWN between polls",
        1,
    );
    assert_eq!(d.stop(), 0);
}

#[test]
fn a_status_file_given_twice_is_read_as_often_as_either_asks() {
    let s = sandbox();
    s.config(&CHAINS.replace(
        "fallbacks",
        "poll_interval: 900, sources: [{kind: 'file', path: 'quota.json', interval: 30}], fallbacks",
    ));
    // `--quota-file quota.json` (every 900 s) and the config's entry (every 30 s) are one source.
    let d = s.daemon(&["opencode.json"]);
    assert!(d.log().contains("1 source(s)"), "{}", d.log());
    assert!(!d.log().contains("polled every"), "{}", d.log());
    assert_eq!(d.stop(), 0);
}

#[test]
fn recovers_after_recovery_hold_observations() {
    let s = sandbox();
    let d = s.daemon(&["opencode.json"]);
    s.rename_over("quota.json", RED);
    d.wait("the switch", || switched(&s));
    let seen = d.count("observed");
    for n in 1..=3 {
        assert!(
            switched(&s),
            "restored before the hold: after {} observations",
            n - 1
        );
        s.rename_over("quota.json", GREEN);
        d.wait_line("observed", seen + n);
    }
    d.wait("the restore", || !switched(&s));
    d.wait_line("reason=zai GREEN for 3 observations", 1);
    assert_eq!(s.read("opencode.json"), TARGET);
}

#[test]
fn an_unrelated_edit_by_rename_over_survives_and_the_daemon_still_reacts() {
    let s = sandbox();
    let d = s.daemon(&["opencode.json"]);
    s.rename_over("quota.json", RED);
    d.wait("the switch", || switched(&s));
    let edited = s.read("opencode.json").replace("\"dark\"", "\"light\"");
    s.rename_over("opencode.json", &edited);
    // Recovery afterwards restores the model and keeps the edit.
    let seen = d.count("observed");
    for n in 1..=3 {
        s.rename_over("quota.json", GREEN);
        d.wait_line("observed", seen + n);
    }
    d.wait("the restore", || !switched(&s));
    assert_eq!(
        s.read("opencode.json"),
        TARGET.replace("\"dark\"", "\"light\"")
    );
}

#[test]
fn an_edit_of_a_managed_slot_is_adopted() {
    let s = sandbox();
    let d = s.daemon(&["opencode.json"]);
    s.rename_over("quota.json", RED);
    d.wait("the switch", || switched(&s));
    s.rename_over(
        "opencode.json",
        &TARGET.replace("zai-coding-plan/glm-4.6", "kimi-for-coding/k2"),
    );
    d.wait_line(
        "changed to kimi-for-coding/k2 since the switch; adopting it",
        1,
    );
    let seen = d.count("observed");
    for n in 1..=4 {
        s.rename_over("quota.json", GREEN);
        d.wait_line("observed", seen + n);
    }
    assert!(
        s.read("opencode.json").contains("kimi-for-coding/k2"),
        "the user's choice stays"
    );
    assert_eq!(d.count("restored"), 0);
}

#[test]
fn a_malformed_target_does_not_stop_it() {
    let s = sandbox();
    let d = s.daemon(&["opencode.json"]);
    s.rename_over("opencode.json", "{ \"model\": ");
    d.wait_line("warning: opencode.json:1:", 1);
    // Still broken: reported once, not again and again.
    s.rename_over("opencode.json", "{ \"model\": ");
    s.rename_over("quota.json", RED);
    d.wait_line("observed", 2);
    assert_eq!(d.count("warning: opencode.json:1:"), 1);
    // Fixed: picked up again, and switched by the latest data.
    s.rename_over("opencode.json", TARGET);
    d.wait("the switch", || switched(&s));
    d.wait_line("readable again", 1);
}

#[test]
fn our_own_write_triggers_no_second_write() {
    let s = sandbox();
    let d = s.daemon(&["opencode.json"]);
    s.rename_over("quota.json", RED);
    d.wait("the switch", || switched(&s));
    let meta = fs::metadata(s.path("opencode.json")).unwrap();
    let (inode, mtime) = (meta.ino(), meta.mtime_nsec());
    // A bounded window: nothing may happen in it.
    let end = Instant::now() + Duration::from_millis(500);
    while Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
        let now = fs::metadata(s.path("opencode.json")).unwrap();
        assert_eq!(
            (now.ino(), now.mtime_nsec()),
            (inode, mtime),
            "the target was written again"
        );
    }
    assert_eq!(d.count("switched"), 1);
}

#[test]
fn a_deleted_and_recreated_target_is_picked_up() {
    let s = sandbox();
    let d = s.daemon(&["opencode.json"]);
    fs::remove_file(s.path("opencode.json")).unwrap();
    d.wait_line("opencode.json: cannot read", 1);
    s.rename_over("quota.json", RED);
    d.wait_line("observed", 2);
    fs::write(s.path("opencode.json"), TARGET).unwrap();
    d.wait("the switch", || switched(&s));
}

#[test]
fn a_target_whose_directory_is_removed_and_made_again_is_picked_up() {
    let s = sandbox();
    s.quota(RED);
    fs::create_dir(s.path("proj")).unwrap();
    s.write("proj/opencode.json", TARGET);
    let d = s.daemon(&["proj/opencode.json", "later/opencode.json"]);
    // A target in a directory that does not exist yet is no reason to stop.
    d.wait_line("later/opencode.json: cannot read", 1);
    let done = |rel: &str| s.read(rel).contains("deepseek/deepseek-chat");
    d.wait("the first switch", || done("proj/opencode.json"));
    fs::remove_dir_all(s.path("proj")).unwrap();
    fs::create_dir(s.path("proj")).unwrap();
    fs::write(s.path("proj/opencode.json"), TARGET).unwrap();
    d.wait("the switch in the new directory", || {
        s.path("proj/opencode.json").exists() && done("proj/opencode.json")
    });
    fs::create_dir(s.path("later")).unwrap();
    fs::write(s.path("later/opencode.json"), TARGET).unwrap();
    d.wait("the switch in the late directory", || {
        done("later/opencode.json")
    });
    assert!(!d.log().contains("inotify"), "{}", d.log());
    assert_eq!(d.stop(), 0);
}

#[test]
fn a_standing_warning_is_given_once_not_at_every_pass() {
    let s = sandbox();
    let target = TARGET.replace("\"theme\"", "\"fallback_models\": \"nope\", \"theme\"");
    s.write("opencode.json", &target);
    let d = s.daemon(&["opencode.json"]);
    for (i, quota) in [RED, GREEN, RED].into_iter().enumerate() {
        s.rename_over("quota.json", quota);
        d.wait_line("observed", i + 2);
    }
    d.wait_line("info: switched", 1);
    assert_eq!(d.count("is not an array of model ids"), 1, "{}", d.log());
    assert_eq!(d.stop(), 0);
}

#[test]
fn a_second_switcher_on_the_same_target_exits_1_naming_the_holder() {
    let s = sandbox();
    let d = s.daemon(&["opencode.json"]);
    let out = s.once("opencode.json");
    out.code(1)
        .stderr_has("opencode.json: managed by another switcher (pid ");
    assert!(
        out.stderr.contains(&format!("pid {}:", d.pid())),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("watch -v opencode.json"),
        "{}",
        out.stderr
    );
    let mut second = s.spawn(&["watch".into(), "opencode.json".into()]);
    assert_eq!(second.exit_code(), 1);
    assert!(
        second.log().contains("managed by another switcher"),
        "{}",
        second.log()
    );
}

#[test]
fn sigterm_exits_0_and_releases_the_lock() {
    let s = sandbox();
    let d = s.daemon(&["opencode.json"]);
    assert_eq!(d.stop(), 0);
    s.once("opencode.json").code(0);
}

#[test]
fn json_logs_are_one_object_per_line() {
    let s = sandbox();
    let d = s.daemon(&["opencode.json", "--json"]);
    s.rename_over("quota.json", RED);
    d.wait("the switch", || switched(&s));
    d.wait_line("\"switched\"", 1);
    for line in d.log().lines() {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(value["level"].is_string(), "{line}");
    }
    let log = d.log();
    let switch = log.lines().find(|l| l.contains("\"switched\"")).unwrap();
    let value: serde_json::Value = serde_json::from_str(switch).unwrap();
    assert_eq!(value["fields"]["slot"], "model");
    assert_eq!(value["fields"]["to"], "deepseek/deepseek-chat");
}

#[test]
fn on_switch_runs_with_the_change_in_its_environment() {
    let s = Sandbox::new();
    s.write("opencode.json", TARGET).quota(RED).write(
        "hook.sh",
        "#!/bin/sh\necho \"$SWITCHER_TARGET|$SWITCHER_SLOT|$SWITCHER_FROM|$SWITCHER_TO|$SWITCHER_REASON\" >> \"$0.log\"\n",
    );
    fs::set_permissions(
        s.path("hook.sh"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let hook = s.path("hook.sh").display().to_string();
    s.config(&CHAINS.replace(
        "fallbacks",
        &format!("on_switch: [{hook:?}], poll_interval: 3600, fallbacks"),
    ));
    // One-shot runs wait for it.
    s.run(&["watch", "opencode.json", "--once", "--dry-run"])
        .code(0);
    assert!(!s.path("hook.sh.log").exists(), "not in --dry-run");
    s.once("opencode.json").code(0);
    assert_eq!(
        s.read("hook.sh.log"),
        "opencode.json|model|zai-coding-plan/glm-4.6|deepseek/deepseek-chat|zai status RED\n"
    );
    s.run(&["watch", "opencode.json", "--restore"]).code(0);
    assert!(s.read("hook.sh.log").ends_with(
        "opencode.json|model|deepseek/deepseek-chat|zai-coding-plan/glm-4.6|restored\n"
    ));
    // The daemon runs it without waiting for it.
    fs::remove_file(s.path("hook.sh.log")).unwrap();
    let d = s.daemon(&["opencode.json"]);
    d.wait("the hook", || {
        s.path("hook.sh.log").exists() && s.read("hook.sh.log").contains("zai status RED")
    });
}

#[test]
fn a_failing_or_slow_hook_never_blocks_a_pass() {
    let s = Sandbox::new();
    s.write("opencode.json", TARGET)
        .quota(RED)
        .write("hook.sh", "#!/bin/sh\nexit 7\n");
    fs::set_permissions(
        s.path("hook.sh"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let hook = s.path("hook.sh").display().to_string();
    s.config(&CHAINS.replace("fallbacks", &format!("on_switch: [{hook:?}], fallbacks")));
    let out = s.once("opencode.json");
    out.code(0)
        .stderr_has("on_switch for opencode.json: model failed: exit status: 7");
    assert!(switched(&s));
    s.config(&CHAINS.replace("fallbacks", "on_switch: ['/no/such/program'], fallbacks"));
    s.run(&["watch", "opencode.json", "--restore"])
        .code(0)
        .stderr_has("cannot run /no/such/program");
}
