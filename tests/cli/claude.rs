//! Claude Code targets: `model` and `env` slots, scoped windows, base-URL providers, and
//! endpoint profiles, on real-shaped settings files.

use crate::harness::Sandbox;

/// A settings file as Claude Code writes it, with hooks, permissions and a status line.
const SETTINGS: &str = r#"{
  "$schema": "https://json.schemastore.org/claude-code-settings.json",
  "model": "opus",
  "permissions": {
    "allow": ["Bash(npm run test:*)", "Read(~/.zshrc)"],
    "deny": ["Read(./.env)", "Read(./secrets/**)"]
  },
  "env": {
    "DISABLE_TELEMETRY": "1",
    "ANTHROPIC_DEFAULT_HAIKU_MODEL": "claude-haiku-4-5"
  },
  "hooks": {
    "PostToolUse": [
      { "matcher": "Edit|Write", "hooks": [{ "type": "command", "command": "npx prettier --write \"$FILE\"" }] }
    ]
  },
  "statusLine": { "type": "command", "command": "~/.claude/statusline.sh", "padding": 0 },
  "includeCoAuthoredBy": false
}
"#;

const CANARY: &str = "zai-canary-token-5b1e9d";

const PROFILES: &str = r#"
  profiles: {
    glm: { provider: "zai", model: "opus",
           env: { ANTHROPIC_BASE_URL: "https://api.z.ai/api/anthropic",
                  ANTHROPIC_AUTH_TOKEN: "${ZAI_API_KEY}",
                  ANTHROPIC_DEFAULT_OPUS_MODEL: "glm-4.6",
                  ANTHROPIC_DEFAULT_SONNET_MODEL: "glm-4.6" } },
    kimi: { provider: "kimi", model: "opus",
            env: { ANTHROPIC_BASE_URL: "https://api.kimi.com/coding/",
                   ANTHROPIC_AUTH_TOKEN: "${KIMI_API_KEY}" } },
  },"#;

fn sandbox(chains: &str) -> Sandbox {
    let mut s = Sandbox::new();
    s.env("ZAI_API_KEY", CANARY)
        .env("KIMI_API_KEY", "kimi-canary-token-77aa");
    s.write(".claude/settings.json", SETTINGS)
        .config(&format!("{{ {PROFILES} fallbacks: {{ {chains} }} }}"));
    s
}

const TARGET: &str = ".claude/settings.json";
const OPUS_WEEK_SPENT: &str = r#"{"claude": {"windows": {"five_hour": {"utilization": 20},
    "seven_day_opus": {"utilization": 99, "models": ["opus"]}}}}"#;
const FIVE_HOUR_SPENT: &str = r#"{"claude": {"windows": {"five_hour": {"utilization": 96},
    "seven_day_opus": {"utilization": 30, "models": ["opus"]}}}, "zai": {"status": "GREEN"}}"#;
const ANTHROPIC_GREEN: &str =
    r#"{"claude": {"windows": {"five_hour": {"utilization": 10}}}, "zai": {"status": "GREEN"}}"#;

fn strict_json(text: &str) {
    serde_json::from_str::<serde_json::Value>(text)
        .unwrap_or_else(|e| panic!("not strict JSON ({e}):\n{text}"));
}

#[test]
fn opus_week_spent_switches_opus_to_sonnet_touching_only_that_value() {
    let s = sandbox(r#""opus": ["sonnet", "profile:glm"]"#);
    s.quota(OPUS_WEEK_SPENT);
    s.once(TARGET).code(0).stdout_is(
        ".claude/settings.json: model: opus -> sonnet (anthropic seven_day_opus 99% >= 90%)\n",
    );
    assert_eq!(
        s.read(TARGET),
        SETTINGS.replace("\"model\": \"opus\"", "\"model\": \"sonnet\"")
    );
    s.run(&["watch", TARGET, "--restore"]).code(0);
    assert_eq!(s.read(TARGET), SETTINGS);
}

#[test]
fn env_slots_are_switched_in_place() {
    let s = sandbox(r#""claude-haiku-4-5": ["claude-3-5-haiku"]"#);
    s.quota(r#"{"claude": {"windows": {"five_hour": {"utilization": 20}, "seven_day_haiku": {"utilization": 95, "models": ["haiku-4-5"]}}}}"#);
    s.once(TARGET).code(0).stdout_is(
        ".claude/settings.json: env.ANTHROPIC_DEFAULT_HAIKU_MODEL: claude-haiku-4-5 -> claude-3-5-haiku (anthropic seven_day_haiku 95% >= 90%)\n",
    );
    assert_eq!(
        s.read(TARGET),
        SETTINGS.replace("\"claude-haiku-4-5\"", "\"claude-3-5-haiku\"")
    );
}

#[test]
fn a_spent_five_hour_window_blocks_every_anthropic_model() {
    let s = sandbox(r#""opus": ["sonnet"]"#);
    s.quota(FIVE_HOUR_SPENT);
    s.once(TARGET).code(3).stdout_is("");
    assert_eq!(s.read(TARGET), SETTINGS);
}

#[test]
fn the_provider_comes_from_the_base_url_host() {
    let s = Sandbox::new();
    let settings = r#"{"model": "glm-4.6", "env": {"ANTHROPIC_BASE_URL": "https://api.z.ai/api/anthropic", "ANTHROPIC_AUTH_TOKEN": "tok-canary-z"}}"#;
    s.write(TARGET, settings)
        .config(r#"{fallbacks: {"glm-4.6": ["glm-4.5-air"]}}"#);
    // Anthropic's limits do not govern a z.ai endpoint.
    s.quota(r#"{"claude": {"status": "RED"}}"#);
    s.once(TARGET).code(0).stdout_is("");
    s.quota(r#"{"zai": {"status": "RED"}}"#);
    s.once(TARGET).code(3);
    let json = s.run(&["status", TARGET, "--json"]).json();
    assert_eq!(json["slots"][0]["provider"], "zai");
    assert!(
        !s.run(&["status", TARGET, "--json"])
            .stdout
            .contains("tok-canary-z")
    );
}

#[test]
fn a_profile_switch_and_its_byte_exact_restore() {
    let s = sandbox(r#""opus": ["sonnet", "profile:glm"]"#);
    s.quota(FIVE_HOUR_SPENT);
    s.once(TARGET).code(0).stdout_is(
        ".claude/settings.json: model: opus -> profile:glm (anthropic five_hour 96% >= 90%)\n",
    );
    let switched = s.read(TARGET);
    strict_json(&switched);
    let expected = SETTINGS.replace(
        "    \"ANTHROPIC_DEFAULT_HAIKU_MODEL\": \"claude-haiku-4-5\"\n  },",
        &format!(
            "    \"ANTHROPIC_DEFAULT_HAIKU_MODEL\": \"claude-haiku-4-5\",\n    \"ANTHROPIC_AUTH_TOKEN\": \"{CANARY}\",\n    \"ANTHROPIC_BASE_URL\": \"https://api.z.ai/api/anthropic\",\n    \"ANTHROPIC_DEFAULT_OPUS_MODEL\": \"glm-4.6\",\n    \"ANTHROPIC_DEFAULT_SONNET_MODEL\": \"glm-4.6\"\n  }},"
        ),
    );
    assert_eq!(switched, expected);
    // The slot shows the profile; the keys it set are not slots of their own.
    let json = s.run(&["status", TARGET, "--json"]).json();
    let slots: Vec<(String, String, String)> = json["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["slot"].as_str().unwrap().into(),
                v["current"].as_str().unwrap().into(),
                v["provider"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        slots,
        [
            ("model".into(), "profile:glm".into(), "zai".into()),
            (
                "env.ANTHROPIC_DEFAULT_HAIKU_MODEL".into(),
                "claude-haiku-4-5".into(),
                "zai".into()
            )
        ]
    );
    // Anthropic recovers: after the hold, every key goes back, byte for byte.
    s.quota(ANTHROPIC_GREEN);
    s.once(TARGET).code(0).stdout_is("");
    s.once(TARGET).code(0).stdout_is("");
    s.once(TARGET).code(0).stdout_is(
        ".claude/settings.json: model: profile:glm -> opus (anthropic GREEN for 3 observations)\n",
    );
    assert_eq!(s.read(TARGET), SETTINGS);
}

#[test]
fn restore_leaves_a_profile_byte_exactly_and_keeps_what_changed() {
    let s = sandbox(r#""opus": ["profile:glm"]"#);
    s.write(TARGET, "{\n  \"model\": \"opus\"\n}\n");
    s.quota(FIVE_HOUR_SPENT);
    s.once(TARGET).code(0);
    s.run(&["watch", "--restore"])
        .code(0)
        .stdout_is(".claude/settings.json: model: profile:glm -> opus (restored)\n");
    assert_eq!(
        s.read(TARGET),
        "{\n  \"model\": \"opus\"\n}\n",
        "the env object it added is gone too"
    );
    // A key edited while the profile was active is kept, and its value masked.
    s.once(TARGET).code(0);
    let edited = s
        .read(TARGET)
        .replace(CANARY, "my-own-token-123")
        .replace("glm-4.6", "glm-4.5");
    s.write(TARGET, &edited);
    let out = s.run(&["watch", "--restore"]);
    out.code(0);
    assert!(
        out.stdout.contains(
            ".claude/settings.json: env.ANTHROPIC_AUTH_TOKEN: kept *** (changed since switch)"
        ),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("env.ANTHROPIC_DEFAULT_OPUS_MODEL: kept glm-4.5 (changed since switch)"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("my-own-token"), "{}", out.stdout);
    let text = s.read(TARGET);
    strict_json(&text);
    assert!(
        text.contains("my-own-token-123") && !text.contains("api.z.ai"),
        "{text}"
    );
}

#[test]
fn a_profile_with_an_unset_variable_is_skipped_with_a_warning() {
    let mut s = sandbox(r#""opus": ["profile:glm"]"#);
    s.env("ZAI_API_KEY", "");
    s.quota(FIVE_HOUR_SPENT);
    s.once(TARGET)
        .code(3)
        .stderr_has("profile:glm: ${ZAI_API_KEY} is not set; skipped");
    assert_eq!(s.read(TARGET), SETTINGS);
}

#[test]
fn a_profile_never_overrides_a_credential_the_target_holds() {
    let s = sandbox(r#""opus": ["profile:glm", "sonnet"]"#);
    let with_key = SETTINGS.replace(
        "\"DISABLE_TELEMETRY\": \"1\",",
        "\"DISABLE_TELEMETRY\": \"1\",\n    \"ANTHROPIC_API_KEY\": \"sk-ant-canary-0001\",",
    );
    s.write(TARGET, &with_key).quota(FIVE_HOUR_SPENT);
    let out = s.once(TARGET);
    out.code(3).stderr_has("profile:glm: the target holds ANTHROPIC_API_KEY; a profile never overrides or leaves behind a credential; skipped");
    assert!(!out.stderr.contains("sk-ant-canary"));
    assert_eq!(s.read(TARGET), with_key);
}

#[test]
fn canary_tokens_never_leave_the_target() {
    let s = sandbox(r#""opus": ["profile:glm"]"#);
    s.quota(FIVE_HOUR_SPENT);
    let dry = s.run(&["watch", TARGET, "--once", "--dry-run", "-vvv"]);
    dry.code(0);
    assert!(
        dry.stdout
            .contains("+    \"ANTHROPIC_AUTH_TOKEN\": \"***\","),
        "{}",
        dry.stdout
    );
    let runs = [
        dry,
        s.run(&["watch", TARGET, "--once", "--json", "-vvv"]),
        s.run(&["status", TARGET, "-vvv"]),
        s.run(&["status", TARGET, "--json"]),
        s.run(&["watch", TARGET, "--restore", "--dry-run", "-vvv"]),
        s.run(&["watch", TARGET, "--restore", "--json", "-vvv"]),
    ];
    for out in &runs {
        assert!(
            !out.stdout.contains(CANARY),
            "stdout leaks the token:\n{}",
            out.stdout
        );
        assert!(
            !out.stderr.contains(CANARY),
            "stderr leaks the token:\n{}",
            out.stderr
        );
    }
    for file in s.state_files() {
        let text = std::fs::read_to_string(s.state_dir().join(&file)).unwrap_or_default();
        assert!(!text.contains(CANARY), "{file} holds the token");
    }
}

#[test]
fn canary_tokens_stay_out_of_the_state_dir_while_a_profile_is_active() {
    let s = sandbox(r#""opus": ["profile:glm"]"#);
    s.quota(FIVE_HOUR_SPENT);
    s.once(TARGET).code(0);
    assert!(
        s.read(TARGET).contains(CANARY),
        "the token is written where Claude Code reads it"
    );
    let state = s.state_files();
    assert!(state.iter().any(|f| f.starts_with("targets/")));
    for file in state {
        let text = std::fs::read_to_string(s.state_dir().join(&file)).unwrap_or_default();
        assert!(!text.contains(CANARY), "{file} holds the token");
    }
}

#[test]
fn an_unhealthy_profile_moves_to_the_next_profile_in_two_writes() {
    let s = sandbox(r#""opus": ["profile:glm", "profile:kimi"]"#);
    s.quota(FIVE_HOUR_SPENT);
    s.once(TARGET).code(0);
    s.quota(r#"{"claude": {"windows": {"five_hour": {"utilization": 96}}}, "zai": {"status": "RED"}, "kimi": {"status": "GREEN"}}"#);
    let out = s.run(&["watch", TARGET, "--once", "-v"]);
    out.code(0)
        .stderr_has("leaving profile:glm for profile:kimi");
    assert_eq!(
        out.stdout,
        ".claude/settings.json: model: opus -> profile:kimi (anthropic five_hour 96% >= 90%)\n"
    );
    let text = s.read(TARGET);
    strict_json(&text);
    assert!(
        text.contains("api.kimi.com") && !text.contains("api.z.ai") && !text.contains("glm-4.6"),
        "{text}"
    );
    s.run(&["watch", "--restore"]).code(0);
    assert_eq!(s.read(TARGET), SETTINGS);
}

#[test]
fn a_move_between_profiles_is_carried_out_even_when_the_original_would_not_be_left_anew() {
    let s = sandbox(r#""opus": ["profile:glm", "profile:kimi"]"#);
    s.quota(FIVE_HOUR_SPENT);
    s.once(TARGET).code(0);
    // z.ai is out; the five-hour window is down to YELLOW: not bad enough to leave opus for, but
    // not GREEN enough to go back to either. The move to kimi, decided while leaving glm, stands.
    s.quota(r#"{"claude": {"windows": {"five_hour": {"utilization": 80}}}, "zai": {"status": "RED"}, "kimi": {"status": "GREEN"}}"#);
    s.once(TARGET)
        .code(0)
        .stdout_is(".claude/settings.json: model: opus -> profile:kimi (zai status RED)\n");
    let text = s.read(TARGET);
    strict_json(&text);
    assert!(
        text.contains("api.kimi.com") && !text.contains("api.z.ai"),
        "{text}"
    );
    s.run(&["watch", "--restore"]).code(0);
    assert_eq!(s.read(TARGET), SETTINGS);
}

#[test]
fn an_unhealthy_profile_moves_to_a_model_on_the_original_endpoint() {
    let s = sandbox(r#""opus": ["profile:glm", "sonnet"]"#);
    s.quota(FIVE_HOUR_SPENT);
    s.once(TARGET).code(0);
    // The five-hour window is fine again but the opus week is spent, and z.ai is out.
    s.quota(r#"{"claude": {"windows": {"five_hour": {"utilization": 20}, "seven_day_opus": {"utilization": 99, "models": ["opus"]}}}, "zai": {"status": "RED"}}"#);
    s.once(TARGET)
        .code(0)
        .stdout_is(".claude/settings.json: model: profile:glm -> sonnet (zai status RED)\n");
    assert_eq!(
        s.read(TARGET),
        SETTINGS.replace("\"model\": \"opus\"", "\"model\": \"sonnet\"")
    );
    s.run(&["watch", "--restore"]).code(0);
    assert_eq!(s.read(TARGET), SETTINGS);
}

#[test]
fn claude_settings_are_discovered_and_claude_config_dir_is_honoured() {
    let mut s = sandbox(r#""opus": ["sonnet"]"#);
    s.quota(OPUS_WEEK_SPENT);
    std::fs::create_dir_all(s.home().join(".claude")).unwrap();
    std::fs::write(s.home().join(".claude/settings.json"), SETTINGS).unwrap();
    let out = s.run(&["watch", "--once"]);
    out.code(0);
    assert!(
        out.stdout.ends_with(
            ".claude/settings.json: model: opus -> sonnet (anthropic seven_day_opus 99% >= 90%)\n"
        ),
        "{}",
        out.stdout
    );
    let dir = s.path("claude-config");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("settings.json"), SETTINGS).unwrap();
    s.env("CLAUDE_CONFIG_DIR", dir.to_str().unwrap());
    let out = s.run(&["watch", "claude-config/settings.json", "--once"]);
    out.code(0);
    assert!(
        out.stdout
            .contains("claude-config/settings.json: model: opus -> sonnet"),
        "{}",
        out.stdout
    );
}

#[test]
fn the_daemon_switches_a_claude_target_to_a_profile_without_logging_the_token() {
    let s = sandbox(r#""opus": ["sonnet", "profile:glm"]"#);
    s.quota(ANTHROPIC_GREEN);
    let d = s.daemon(&[TARGET, "-vvv"]);
    s.rename_over("quota.json", FIVE_HOUR_SPENT);
    d.wait("the profile switch", || s.read(TARGET).contains("api.z.ai"));
    d.wait_line("to=profile:glm", 1);
    assert!(!d.log().contains(CANARY), "{}", d.log());
    assert_eq!(d.stop(), 0);
}

#[test]
fn a_context_suffix_uses_the_chain_of_the_bare_id_and_stays_in_the_file() {
    // Claude Code itself rewrites `opus` to `opus[1m]`; a config keyed `opus` keeps applying.
    let s = sandbox(r#""opus": ["sonnet"]"#);
    let settings = SETTINGS.replace("\"model\": \"opus\"", "\"model\": \"opus[1m]\"");
    s.write(TARGET, &settings).quota(OPUS_WEEK_SPENT);
    s.once(TARGET).code(0).stdout_is(
        ".claude/settings.json: model: opus[1m] -> sonnet (anthropic seven_day_opus 99% >= 90%)\n",
    );
    s.run(&["watch", TARGET, "--restore"]).code(0);
    assert_eq!(s.read(TARGET), settings);
}

#[test]
fn leaving_a_profile_warns_of_a_key_edited_meanwhile_and_keeps_it() {
    let s = sandbox(r#""opus": ["profile:glm"]"#);
    s.write(TARGET, "{\n  \"model\": \"opus\"\n}\n");
    s.quota(FIVE_HOUR_SPENT);
    s.once(TARGET).code(0);
    let edited = s.read(TARGET).replace("glm-4.6", "glm-4.5");
    s.write(TARGET, &edited);
    s.quota(ANTHROPIC_GREEN);
    s.once(TARGET).code(0);
    s.once(TARGET).code(0);
    let out = s.once(TARGET);
    out.code(0).stderr_has(
        "warning: .claude/settings.json: env.ANTHROPIC_DEFAULT_OPUS_MODEL: changed to glm-4.5 \
         since the switch; kept",
    );
    assert!(s.read(TARGET).contains("glm-4.5"));
}
