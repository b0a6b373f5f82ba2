//! Live switches for Claude Code: the alias key that steers a running session, the two writes
//! that clear a key this tool added (`""`, then removed), byte-exact restores through both, and
//! `status` naming the slots running sessions follow only at restart (README, Running sessions).

use crate::harness::Sandbox;

const TARGET: &str = ".claude/settings.json";
/// Opus's weekly window is spent: opus is RED, the rest of Anthropic is GREEN.
const OPUS_WEEK_SPENT: &str = r#"{"claude": {"windows": {"five_hour": {"utilization": 20},
    "seven_day_opus": {"utilization": 99, "models": ["opus"]}}}}"#;
const ANTHROPIC_GREEN: &str = r#"{"claude": {"windows": {"five_hour": {"utilization": 10}}}}"#;
const FIVE_HOUR_SPENT: &str = r#"{"claude": {"windows": {"five_hour": {"utilization": 96}}},
    "zai": {"status": "GREEN"}}"#;

/// Settings in Claude Code's own layout: `env` without the opus alias key.
const SETTINGS: &str = "{\n  \"model\": \"opus\",\n  \"env\": {\n    \"DISABLE_TELEMETRY\": \"1\"\n  },\n  \"includeCoAuthoredBy\": false\n}\n";

fn sandbox(settings: &str, config: &str) -> Sandbox {
    let mut s = Sandbox::new();
    s.env("ZAI_API_KEY", "zai-live-canary-31f0");
    s.write(TARGET, settings).config(config);
    s
}

const CHAIN: &str = r#"{ fallbacks: { opus: ["claude-sonnet-4-5"] } }"#;

fn strict(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not strict JSON ({e}):\n{text}"))
}

fn state_text(s: &Sandbox) -> String {
    s.state_files()
        .iter()
        .map(|f| std::fs::read_to_string(s.state_dir().join(f)).unwrap_or_default())
        .collect()
}

#[test]
fn a_switch_of_an_alias_also_steers_the_alias_key_and_restore_gives_the_bytes_back() {
    let s = sandbox(SETTINGS, CHAIN);
    s.quota(OPUS_WEEK_SPENT);
    s.once(TARGET).code(0).stdout_is(
        ".claude/settings.json: model: opus -> claude-sonnet-4-5 (anthropic seven_day_opus 99% >= 90%)\n",
    );
    // A running session keeps `model: opus` but resolves it through the alias key per request.
    assert_eq!(
        s.read(TARGET),
        "{\n  \"model\": \"claude-sonnet-4-5\",\n  \"env\": {\n    \"DISABLE_TELEMETRY\": \"1\",\n    \"ANTHROPIC_DEFAULT_OPUS_MODEL\": \"claude-sonnet-4-5\"\n  },\n  \"includeCoAuthoredBy\": false\n}\n"
    );
    assert!(state_text(&s).contains("steers"), "{}", state_text(&s));
    // The key it added is not a slot of its own.
    let status = s.run(&["status", TARGET, "--json"]).code(0).json();
    let slots: Vec<&str> = status["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["slot"].as_str().unwrap())
        .collect();
    assert_eq!(slots, ["model"]);
    // Restore: `""` first (sessions fall back to opus's own model), removed once settled.
    s.run(&["watch", "--restore"])
        .code(0)
        .stdout_is(".claude/settings.json: model: claude-sonnet-4-5 -> opus (restored)\n");
    assert_eq!(s.read(TARGET), SETTINGS);
    assert!(!state_text(&s).contains("ANTHROPIC_DEFAULT_OPUS_MODEL"));
}

#[test]
fn a_steer_adds_and_removes_env_itself_when_the_file_has_none() {
    let settings = "{\n    \"model\": \"opus[1m]\"\n}";
    let s = sandbox(settings, CHAIN);
    s.quota(OPUS_WEEK_SPENT);
    s.once(TARGET).code(0);
    let v = strict(&s.read(TARGET));
    assert_eq!(v["model"], "claude-sonnet-4-5");
    assert_eq!(
        v["env"]["ANTHROPIC_DEFAULT_OPUS_MODEL"],
        "claude-sonnet-4-5"
    );
    // Recovery through the ordinary rules also clears the steer, then removes it.
    s.quota(ANTHROPIC_GREEN);
    for _ in 0..2 {
        s.once(TARGET).code(0).stdout_is("");
    }
    s.once(TARGET).code(0).stdout_is(
        ".claude/settings.json: model: claude-sonnet-4-5 -> opus[1m] (anthropic GREEN for 3 observations)\n",
    );
    assert_eq!(s.read(TARGET), settings);
}

#[test]
fn the_users_own_alias_key_is_never_steered_and_status_says_restart() {
    let settings =
        "{\"model\": \"opus\", \"env\": {\"ANTHROPIC_DEFAULT_OPUS_MODEL\": \"claude-opus-4-1\"}}";
    let s = sandbox(settings, CHAIN);
    s.quota(OPUS_WEEK_SPENT);
    s.once(TARGET).code(0);
    assert_eq!(
        s.read(TARGET),
        settings.replacen("\"model\": \"opus\"", "\"model\": \"claude-sonnet-4-5\"", 1)
    );
    let out = s.run(&["status", TARGET]);
    assert!(
        out.code(0)
            .stdout
            .contains("running sessions follow at restart"),
        "{}",
        out.stdout
    );
    s.run(&["watch", "--restore"]).code(0);
    assert_eq!(s.read(TARGET), settings);
}

#[test]
fn status_names_the_slots_running_sessions_follow_only_at_restart() {
    let settings = r#"{"model": "claude-opus-4-1", "env": {"ANTHROPIC_MODEL": "sonnet", "ANTHROPIC_DEFAULT_HAIKU_MODEL": "claude-haiku-4-5"}}"#;
    let s = sandbox(
        settings,
        r#"{ fallbacks: { "claude-opus-4-1": ["claude-sonnet-4-5"], sonnet: ["claude-haiku-4-5"],
             "claude-haiku-4-5": ["claude-3-5-haiku"] } }"#,
    );
    s.quota(ANTHROPIC_GREEN);
    let json = s.run(&["status", TARGET, "--json"]).code(0).json();
    let follows: Vec<(String, Option<String>)> = json["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["slot"].as_str().unwrap().to_owned(),
                v["running_sessions"].as_str().map(str::to_owned),
            )
        })
        .collect();
    assert_eq!(
        follows,
        [
            ("model".to_owned(), Some("at_restart".to_owned())),
            ("env.ANTHROPIC_MODEL".to_owned(), None),
            ("env.ANTHROPIC_DEFAULT_HAIKU_MODEL".to_owned(), None),
        ]
    );
    let text = s.run(&["status", TARGET]).code(0).stdout.clone();
    let restart: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("running sessions follow at restart"))
        .collect();
    assert_eq!(restart.len(), 1, "{text}");
    assert!(restart[0].trim_start().starts_with("model"), "{text}");
}

#[test]
fn leaving_a_profile_clears_its_endpoint_and_token_then_removes_them() {
    let settings =
        "{\n  \"model\": \"opus\",\n  \"env\": {\n    \"DISABLE_TELEMETRY\": \"1\"\n  }\n}\n";
    let s = sandbox(
        settings,
        r#"{ profiles: { glm: { provider: "zai", model: "glm-4.6",
               env: { ANTHROPIC_BASE_URL: "https://api.z.ai/api/anthropic",
                      ANTHROPIC_AUTH_TOKEN: "${ZAI_API_KEY}" } } },
             fallbacks: { opus: ["profile:glm"] } }"#,
    );
    s.quota(FIVE_HOUR_SPENT);
    s.once(TARGET).code(0);
    let v = strict(&s.read(TARGET));
    assert_eq!(v["model"], "glm-4.6");
    // The running session keeps `model: opus`: the alias key carries the profile's model.
    assert_eq!(v["env"]["ANTHROPIC_DEFAULT_OPUS_MODEL"], "glm-4.6");
    assert_eq!(v["env"]["ANTHROPIC_AUTH_TOKEN"], "zai-live-canary-31f0");
    assert!(!state_text(&s).contains("zai-live-canary-31f0"));
    // The daemon leaves it: every key the profile added is first `""`, then gone.
    s.quota(ANTHROPIC_GREEN);
    s.config(
        r#"{ recovery_hold: 1, profiles: { glm: { provider: "zai", model: "glm-4.6",
               env: { ANTHROPIC_BASE_URL: "https://api.z.ai/api/anthropic",
                      ANTHROPIC_AUTH_TOKEN: "${ZAI_API_KEY}" } } },
             fallbacks: { opus: ["profile:glm"] } }"#,
    );
    let d = s.daemon(&[TARGET]);
    d.wait("the profile left and its keys removed", || {
        s.read(TARGET) == settings
    });
    assert_eq!(d.stop(), 0);
    let state = state_text(&s);
    assert!(
        !state.contains("clearing") && !state.contains("zai-live-canary-31f0"),
        "{state}"
    );
}

#[test]
fn the_daemon_clears_a_steer_in_two_writes() {
    let s = sandbox(
        SETTINGS,
        r#"{ recovery_hold: 1, fallbacks: { opus: ["claude-sonnet-4-5"] } }"#,
    );
    s.quota(OPUS_WEEK_SPENT);
    let d = s.daemon(&[TARGET]);
    d.wait("the steer", || {
        s.read(TARGET)
            .contains("\"ANTHROPIC_DEFAULT_OPUS_MODEL\": \"claude-sonnet-4-5\"")
    });
    let seen_empty = std::sync::atomic::AtomicBool::new(false);
    s.rename_over("quota.json", ANTHROPIC_GREEN);
    d.wait("the original, byte for byte", || {
        let text = s.read(TARGET);
        if text.contains("\"ANTHROPIC_DEFAULT_OPUS_MODEL\": \"\"") {
            seen_empty.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        text == SETTINGS
    });
    assert!(
        seen_empty.load(std::sync::atomic::Ordering::Relaxed),
        "the key held \"\" between the two writes"
    );
    assert_eq!(d.stop(), 0);
}

#[test]
fn a_restore_killed_between_its_two_writes_is_finished_by_the_next_run() {
    let s = sandbox(SETTINGS, CHAIN);
    s.quota(OPUS_WEEK_SPENT);
    s.once(TARGET).code(0);
    let restore = s.spawn(&["watch".into(), "--restore".into()]);
    restore.wait("the first write", || {
        s.read(TARGET)
            .contains("\"ANTHROPIC_DEFAULT_OPUS_MODEL\": \"\"")
    });
    // The restore is journalled before the wait: a run killed while waiting has told it.
    let journal = s.state_dir().join("journal.jsonl");
    restore.wait("the restore in the journal", || {
        std::fs::read_to_string(&journal).is_ok_and(|j| j.contains("\"kind\":\"restore\""))
    });
    // Killed while it waits for running sessions to read the empty value.
    drop(restore);
    assert!(
        s.read(TARGET)
            .contains("\"ANTHROPIC_DEFAULT_OPUS_MODEL\": \"\""),
        "killed before its second write"
    );
    assert!(state_text(&s).contains("clearing"), "{}", state_text(&s));
    s.run(&["watch", "--restore"]).code(0).stdout_is("");
    assert_eq!(s.read(TARGET), SETTINGS);
    assert!(s.state_files().iter().all(|f| !f.starts_with("targets/")));
    // Journalled once, by the killed run.
    let restores = std::fs::read_to_string(&journal).unwrap();
    assert_eq!(
        restores.matches("\"kind\":\"restore\"").count(),
        1,
        "{restores}"
    );
}

#[test]
fn a_steer_follows_a_move_from_a_model_fallback_to_a_profile_and_back_home() {
    let config = r#"{ profiles: { glm: { provider: "zai", model: "glm-4.6",
               env: { ANTHROPIC_BASE_URL: "https://api.z.ai/api/anthropic",
                      ANTHROPIC_AUTH_TOKEN: "${ZAI_API_KEY}" } } },
             fallbacks: { opus: ["claude-sonnet-4-5", "profile:glm"] } }"#;
    let s = sandbox(SETTINGS, config);
    s.quota(OPUS_WEEK_SPENT);
    s.once(TARGET).code(0);
    let v = strict(&s.read(TARGET));
    assert_eq!(
        v["env"]["ANTHROPIC_DEFAULT_OPUS_MODEL"],
        "claude-sonnet-4-5"
    );
    // Now every Anthropic model is out: the profile, whose model the steer now carries.
    s.quota(FIVE_HOUR_SPENT);
    s.once(TARGET)
        .code(0)
        .stdout_is(".claude/settings.json: model: claude-sonnet-4-5 -> profile:glm (anthropic five_hour 96% >= 90%)\n");
    let v = strict(&s.read(TARGET));
    assert_eq!(v["model"], "glm-4.6");
    assert_eq!(v["env"]["ANTHROPIC_DEFAULT_OPUS_MODEL"], "glm-4.6");
    assert_eq!(
        v["env"]["ANTHROPIC_BASE_URL"],
        "https://api.z.ai/api/anthropic"
    );
    s.run(&["watch", "--restore"]).code(0);
    assert_eq!(s.read(TARGET), SETTINGS);
}

#[test]
fn a_dry_run_restore_shows_the_file_as_the_run_leaves_it() {
    let s = sandbox(SETTINGS, CHAIN);
    s.quota(OPUS_WEEK_SPENT);
    s.once(TARGET).code(0);
    let out = s.run(&["watch", "--restore", "--dry-run"]);
    out.code(0);
    assert!(
        out.stdout.contains("ANTHROPIC_DEFAULT_OPUS_MODEL") && !out.stdout.contains("\"\""),
        "{}",
        out.stdout
    );
    assert!(
        s.read(TARGET)
            .contains("\"ANTHROPIC_DEFAULT_OPUS_MODEL\": \"claude-sonnet-4-5\"")
    );
}

/// Both opus and the first fallback spent: `model-x` moves on to `model-y`.
const OPUS_AND_X_SPENT: &str = r#"{"claude": {"windows": {"five_hour": {"utilization": 20},
    "seven_day_opus": {"utilization": 99, "models": ["opus"]},
    "x_week": {"utilization": 99, "models": ["model-x"]}}}}"#;

#[test]
fn runs_killed_at_any_point_of_a_steer_move_or_a_clearing_leave_the_original_to_restore() {
    // Kill points across the pass, its write, and the wait between the two writes.
    for (i, delay_ms) in [0u64, 3, 15, 40, 120, 400, 1500, 3100]
        .into_iter()
        .enumerate()
    {
        let s = sandbox(
            SETTINGS,
            r#"{ fallbacks: { opus: ["model-x", "model-y"] } }"#,
        );
        s.quota(OPUS_WEEK_SPENT);
        s.once(TARGET).code(0);
        assert!(
            s.read(TARGET)
                .contains("\"ANTHROPIC_DEFAULT_OPUS_MODEL\": \"model-x\"")
        );
        s.quota(OPUS_AND_X_SPENT);
        // Odd rounds kill the move to model-y, even ones a restore.
        let args: Vec<String> = if i % 2 == 1 {
            [
                "watch",
                TARGET,
                "--once",
                "--quota-file",
                "quota.json",
                "--config",
                "switcher.json5",
            ]
            .map(String::from)
            .to_vec()
        } else {
            ["watch", "--restore"].map(String::from).to_vec()
        };
        let run = s.spawn(&args);
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        drop(run);
        let text = s.read(TARGET);
        strict(&text);
        s.run(&["watch", "--restore"]).code(0);
        assert_eq!(
            s.read(TARGET),
            SETTINGS,
            "round {i} (killed after {delay_ms} ms)"
        );
    }
}
