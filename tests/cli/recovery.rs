//! Rule 2 across `--once` runs: recovery streaks, re-picking, and state that persists between
//! runs the way cron would run them.

use crate::harness::{CHAINS, OPENCODE, Sandbox};

const RED: &str =
    r#"{"zai": {"status": "RED"}, "deepseek": {"status": "GREEN"}, "kimi": {"status": "GREEN"}}"#;
const GREEN: &str =
    r#"{"zai": {"status": "GREEN"}, "deepseek": {"status": "GREEN"}, "kimi": {"status": "GREEN"}}"#;
const YELLOW: &str = r#"{"zai": {"status": "YELLOW"}, "deepseek": {"status": "GREEN"}, "kimi": {"status": "GREEN"}}"#;

#[test]
fn restores_after_exactly_recovery_hold_green_runs() {
    let s = Sandbox::new();
    s.write("opencode.json", OPENCODE).config(CHAINS).quota(RED);
    s.once("opencode.json").code(0);
    s.quota(GREEN);
    s.once("opencode.json").code(0).stdout_is("");
    s.once("opencode.json").code(0).stdout_is("");
    s.once("opencode.json").code(0).stdout_is(
        "opencode.json: agent.build.model: deepseek/deepseek-chat -> zai-coding-plan/glm-4.6 (zai GREEN for 3 observations)\n\
         opencode.json: model: deepseek/deepseek-chat -> zai-coding-plan/glm-4.6 (zai GREEN for 3 observations)\n",
    );
    assert_eq!(s.read("opencode.json"), OPENCODE);
    assert!(
        s.state_files().iter().all(|f| !f.starts_with("targets/")),
        "records are gone"
    );
}

#[test]
fn a_non_green_run_resets_the_streak() {
    let s = Sandbox::new();
    s.write("opencode.json", OPENCODE)
        .config(&CHAINS.replace("fallbacks", "recovery_hold: 2, fallbacks"));
    s.quota(RED);
    s.once("opencode.json");
    s.quota(GREEN);
    s.once("opencode.json").stdout_is("");
    s.quota(YELLOW);
    s.once("opencode.json").stdout_is("");
    s.quota(GREEN);
    s.once("opencode.json").stdout_is("");
    let out = s.once("opencode.json");
    assert!(
        out.stdout.contains("(zai GREEN for 2 observations)"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_run_that_cannot_read_the_provider_neither_counts_nor_resets() {
    let s = Sandbox::new();
    s.write("opencode.json", OPENCODE)
        .config(&CHAINS.replace("fallbacks", "recovery_hold: 2, fallbacks"));
    s.quota(RED);
    s.once("opencode.json");
    s.quota(GREEN);
    s.once("opencode.json").stdout_is("");
    s.quota("{ not json");
    s.once("opencode.json").code(0).stdout_is("");
    s.once("opencode.json").code(0).stdout_is("");
    s.quota(GREEN);
    let out = s.once("opencode.json");
    assert!(
        out.stdout.contains("(zai GREEN for 2 observations)"),
        "{}",
        out.stdout
    );
}

#[test]
fn an_original_no_source_covers_any_more_is_restored() {
    let s = Sandbox::new();
    s.write("opencode.json", r#"{"model": "zai-coding-plan/glm-4.6"}"#)
        .config(CHAINS)
        .quota(RED);
    s.once("opencode.json");
    s.quota(r#"{"deepseek": {"status": "GREEN"}}"#);
    s.once("opencode.json").stdout_is(
        "opencode.json: model: deepseek/deepseek-chat -> zai-coding-plan/glm-4.6 (zai is not monitored any more)\n",
    );
}

#[test]
fn several_agents_and_targets_restore_on_the_same_run() {
    let s = Sandbox::new();
    s.write("opencode.json", OPENCODE)
        .write(
            "other/opencode.json",
            r#"{"model": "zai-coding-plan/glm-4.6"}"#,
        )
        .config(&CHAINS.replace("fallbacks", "recovery_hold: 2, fallbacks"))
        .quota(RED);
    let both = ["watch", "opencode.json", "other/opencode.json", "--once"];
    assert_eq!(s.run(&both).stdout.lines().count(), 3);
    s.quota(GREEN);
    s.run(&both).code(0).stdout_is("");
    let out = s.run(&both);
    out.code(0);
    assert_eq!(
        out.stdout.lines().count(),
        3,
        "all three slots restore together:\n{}",
        out.stdout
    );
    assert!(
        out.stdout
            .lines()
            .all(|l| l.ends_with("(zai GREEN for 2 observations)"))
    );
}

#[test]
fn re_picks_when_the_fallback_goes_unhealthy() {
    let s = Sandbox::new();
    s.write("opencode.json", r#"{"model": "zai-coding-plan/glm-4.6"}"#)
        .config(CHAINS)
        .quota(RED);
    s.once("opencode.json");
    s.quota(r#"{"zai": {"status": "RED"}, "deepseek": {"windows": {"balance": {"utilization": 97}}}, "kimi": {"status": "GREEN"}}"#);
    s.once("opencode.json").code(0).stdout_is(
        "opencode.json: model: deepseek/deepseek-chat -> kimi-for-coding/k2 (deepseek balance 97% >= 90%)\n",
    );
    // The original is still the one restored to, later.
    s.quota(r#"{"zai": {"status": "YELLOW"}, "deepseek": {"status": "RED"}, "kimi": {"status": "RED"}}"#);
    s.once("opencode.json").code(0).stdout_is(
        "opencode.json: model: kimi-for-coding/k2 -> zai-coding-plan/glm-4.6 (kimi status RED; zai only YELLOW)\n",
    );
}

#[test]
fn a_fallback_going_red_while_the_original_is_green_goes_home_early() {
    let s = Sandbox::new();
    s.write("opencode.json", r#"{"model": "zai-coding-plan/glm-4.6"}"#)
        .config(CHAINS)
        .quota(RED);
    s.once("opencode.json");
    s.quota(r#"{"zai": {"status": "GREEN"}, "deepseek": {"status": "RED"}}"#);
    s.once("opencode.json").stdout_is(
        "opencode.json: model: deepseek/deepseek-chat -> zai-coding-plan/glm-4.6 (deepseek status RED; zai GREEN)\n",
    );
}

#[test]
fn projection_from_samples_persisted_across_runs() {
    let mut s = Sandbox::new();
    s.write("opencode.json", r#"{"model": "zai-coding-plan/glm-4.6"}"#)
        .config(CHAINS);
    // 12% every 5 minutes: at 76% the window is projected full in 10 minutes, within the
    // 15-minute safety margin, though below the 90% threshold.
    for (time, used) in [("12:00", 40), ("12:05", 52), ("12:10", 64)] {
        s.env("SWITCHER_NOW", &format!("2026-11-21T{time}:00Z"));
        s.quota(&format!(
            r#"{{"zai": {{"windows": {{"five_hour": {{"utilization": {used}}}}}}}}}"#
        ));
        s.once("opencode.json").code(0).stdout_is("");
    }
    s.env("SWITCHER_NOW", "2026-11-21T12:15:00Z");
    s.quota(r#"{"zai": {"windows": {"five_hour": {"utilization": 76}}}}"#);
    s.once("opencode.json").code(0).stdout_is(
        "opencode.json: model: zai-coding-plan/glm-4.6 -> deepseek/deepseek-chat (zai five_hour 76% projected to reach 100% in 10m)\n",
    );
}

#[test]
fn a_window_whose_reset_has_passed_counts_as_zero_and_v_says_so() {
    let mut s = Sandbox::new();
    s.env("SWITCHER_NOW", "2026-11-21T16:00:00Z");
    s.write("opencode.json", OPENCODE).config(CHAINS).quota(
        r#"{"zai": {"windows": {"five_hour": {"utilization": 100, "resets_at": "2026-11-21T15:00:00Z"}}}}"#,
    );
    let out = s.run(&["watch", "opencode.json", "--once", "-v"]);
    out.code(0).stdout_is("").stderr_has(
        "zai five_hour: its reset at 2026-11-21T15:00:00Z has passed; counted as 0% until new data",
    );
    assert_eq!(s.read("opencode.json"), OPENCODE);
}
