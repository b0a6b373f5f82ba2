//! The signals dir: status documents that agents and hooks leave in `<state dir>/signals/`, read
//! by every switcher as one more source — by one-shot runs once, by the daemon at each change.

use std::fs;

use crate::harness::{CHAINS, Sandbox};

const TARGET: &str = "{\n  \"model\": \"zai-coding-plan/glm-4.6\"\n}\n";
const NOW: &str = "2026-11-21T12:00:00Z";
const AFTER_RESET: &str = "2026-11-21T20:00:01Z";

/// A status document saying `provider` is spent until `resets_at`, as the plugin writes it.
fn red_until(provider: &str, resets_at: &str) -> String {
    format!(
        r#"{{"{provider}": {{"windows": {{"limit": {{"utilization": 100, "resets_at": "{resets_at}"}}}},
             "source": {{"agent": "opencode", "rule": "zai-usage-limit"}}}}}}"#
    )
}

/// A target on zai, chains, no status file and no API source: only signals can tell.
fn sandbox(config: &str) -> Sandbox {
    let mut s = Sandbox::new();
    s.write("opencode.json", TARGET)
        .config(&CHAINS.replace("fallbacks", &format!("sources: [], {config} fallbacks")));
    s.env("SWITCHER_NOW", NOW);
    s
}

fn signal(s: &Sandbox, name: &str, text: &str) {
    let dir = s.state_dir().join("signals");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join(name), text).unwrap();
}

fn switched(s: &Sandbox) -> bool {
    s.read("opencode.json").contains("deepseek/deepseek-chat")
}

#[test]
fn once_switches_on_a_signal_alone_unless_signals_are_off() {
    for (config, switches) in [("", true), ("signals: false,", false)] {
        let s = sandbox(config);
        let zai = red_until("zai-coding-plan", "2026-11-21T20:00:00Z");
        signal(&s, "opencode-zai-coding-plan.json", &zai);
        s.once("opencode.json").code(0);
        assert_eq!(
            switched(&s),
            switches,
            "{config}: {}",
            s.read("opencode.json")
        );
    }
}

#[test]
fn a_broken_signal_is_warned_about_once_and_the_others_still_count() {
    let s = sandbox("");
    signal(&s, "hook.json", "{\"zai\": {\"status\": ");
    signal(
        &s,
        "opencode-zai-coding-plan.json",
        &red_until("zai-coding-plan", "2026-11-21T20:00:00Z"),
    );
    // Not signals: a temp file being written, another kind of file, a directory.
    signal(&s, ".opencode-kimi.json.switcher-tmp-9-x", "{");
    signal(&s, "notes.txt", "{");
    fs::create_dir_all(s.state_dir().join("signals/old.json")).unwrap();
    let out = s.once("opencode.json");
    out.code(0);
    assert!(switched(&s));
    let warnings: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("warning") && !l.contains("running sessions follow"))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", out.stderr);
    assert!(warnings[0].contains("hook.json"), "{}", out.stderr);
}

#[test]
fn once_from_cron_restores_after_the_reset_and_the_hold() {
    let mut s = sandbox("recovery_hold: 2,");
    signal(
        &s,
        "opencode-zai-coding-plan.json",
        &red_until("zai-coding-plan", "2026-11-21T20:00:00Z"),
    );
    s.once("opencode.json").code(0);
    assert!(switched(&s));
    // The file stays; its window's reset has passed, so it counts as 0% from then on.
    s.env("SWITCHER_NOW", AFTER_RESET);
    s.once("opencode.json").code(0);
    assert!(switched(&s), "restored before the hold");
    s.once("opencode.json").code(0);
    assert_eq!(s.read("opencode.json"), TARGET);
}

#[test]
fn the_daemon_switches_when_a_signal_is_renamed_in_and_restores_after_its_reset() {
    let s = Sandbox::new();
    // Polls are an hour apart (the dir's own reads five minutes): only changes are seen in time.
    s.write("opencode.json", TARGET).config(&CHAINS.replace(
        "fallbacks",
        "sources: [], poll_interval: 3600, recovery_hold: 2, fallbacks",
    ));
    let d = s.daemon(&["opencode.json"]);
    assert!(
        d.log().contains("but those named in the signals dir"),
        "{}",
        d.log()
    );
    let dir = s.state_dir().join("signals");
    assert!(dir.is_dir(), "made at start");
    // Written as writers do: a temp name beside it (ignored), then renamed into place.
    let rename_in = |name: &str, text: &str| {
        let tmp = dir.join(format!(".{name}.tmp"));
        fs::write(&tmp, text).unwrap();
        fs::rename(&tmp, dir.join(name)).unwrap();
    };
    let resets_at = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(2);
    rename_in(
        "opencode-zai.json",
        &red_until("zai-coding-plan", &resets_at.to_string()),
    );
    d.wait("the switch", || switched(&s));
    d.wait("the reset", || jiff::Timestamp::now() > resets_at);
    // Each change to the dir is a read of it, and each read an observation of zai, now at 0%.
    for n in 1..=2 {
        assert!(switched(&s), "restored before the hold");
        let seen = d.count("observed");
        rename_in(
            &format!("hook-{n}.json"),
            r#"{"kimi": {"status": "GREEN"}}"#,
        );
        d.wait_line("observed", seen + 1);
    }
    d.wait("the restore", || s.read("opencode.json") == TARGET);
    assert_eq!(d.stop(), 0);
}
