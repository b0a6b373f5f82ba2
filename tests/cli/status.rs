//! `switcher status`: the human view (a snapshot) and `--json`.

use crate::harness::Sandbox;

const TARGET: &str = r#"{
  "model": "zai-coding-plan/glm-4.6",
  "small_model": "minimax/MiniMax-M2",
  "agent": { "plan": { "model": "anthropic/claude-opus-4-1" } }
}
"#;

const QUOTA: &str = r#"{
  "zai": { "windows": {
    "five_hour": { "utilization": 93.5, "resets_at": "2026-11-21T14:30:00Z" },
    "weekly": { "utilization": 41, "resets_at": "2026-11-25T00:00:00Z" } } },
  "claude": { "windows": {
    "five_hour": { "utilization": 35, "resets_at": "2026-11-21T13:05:00Z" },
    "seven_day_opus": { "utilization": 99, "models": ["opus"] } } },
  "minimax": { "error": "HTTP 401" },
  "deepseek": { "status": "GREEN" }
}"#;

fn sandbox() -> Sandbox {
    let mut s = Sandbox::new();
    s.env("SWITCHER_NOW", "2026-11-21T12:00:00Z");
    s.write("opencode.json", TARGET).quota(QUOTA).config(
        r#"{fallbacks: {"zai-coding-plan/glm-4.6": ["deepseek/deepseek-chat"],
                        "anthropic/claude-opus-4-1": ["anthropic/claude-sonnet-4-5"]}}"#,
    );
    s.once("opencode.json").code(0);
    s
}

#[test]
fn the_human_view() {
    let s = sandbox();
    s.run(&["status", "opencode.json"]).code(0).stdout_is(
        "Sources: status file quota.json, signals dir

anthropic  RED          observed 0s ago
  five_hour       ███████░░░░░░░░░░░░░     35%  GREEN   resets in 1h05m
  seven_day_opus  ████████████████████     99%  RED     (opus only)

deepseek   GREEN        observed 0s ago

minimax    UNKNOWN      minimax: HTTP 401

zai        RED          observed 0s ago
  five_hour  ███████████████████░   93.5%  RED     resets in 2h30m
  weekly     ████████░░░░░░░░░░░░     41%  GREEN   resets in 3d12h

opencode.json
  agent.plan.model  anthropic/claude-sonnet-4-5  GREEN        on a fallback since anthropic seven_day_opus 99% >= 90%; original anthropic/claude-opus-4-1; running sessions follow at restart
  model             deepseek/deepseek-chat       GREEN        on a fallback since zai five_hour 93.5% >= 90%; original zai-coding-plan/glm-4.6; running sessions follow at restart
  small_model       minimax/MiniMax-M2           UNKNOWN      minimax: HTTP 401; no fallback chain
",
    );
}

#[test]
fn no_colour_unless_a_terminal() {
    let out = sandbox().run(&["status", "opencode.json"]);
    assert!(!out.stdout.contains('\x1b'), "{}", out.stdout);
}

#[test]
fn the_live_view_without_a_terminal_says_what_to_run_instead() {
    sandbox()
        .run(&["status", "opencode.json", "--watch"])
        .code(1)
        .stderr_has("the live view needs a terminal; `switcher status` prints once");
}

#[test]
fn json() {
    let s = sandbox();
    let json = s.run(&["status", "opencode.json", "--json"]).json();
    assert_eq!(json["changes"], serde_json::json!([]));
    assert_eq!(
        json["slots"][1],
        serde_json::json!({"target": "opencode.json", "path": s.real("opencode.json"), "slot": "model", "current": "deepseek/deepseek-chat",
                           "original": "zai-coding-plan/glm-4.6", "provider": "deepseek", "status": "GREEN",
                           "running_sessions": "at_restart"})
    );
    assert_eq!(
        json["providers"]["minimax"],
        serde_json::json!({"status": "UNKNOWN", "windows": {}, "error": "minimax: HTTP 401"})
    );
    assert_eq!(
        json["providers"]["zai"]["windows"]["weekly"]["resets_at"],
        "2026-11-25T00:00:00Z"
    );
    assert_eq!(
        json["providers"]["anthropic"]["windows"]["seven_day_opus"]["status"],
        "RED"
    );
}

#[test]
fn without_sources_it_says_so() {
    let s = Sandbox::new();
    s.write("opencode.json", TARGET);
    let out = s.run(&["status", "opencode.json"]);
    out.code(0);
    assert!(
        out.stdout.starts_with(
            "Sources: none configured and none detected; every provider is unmonitored unless \
             the signals dir "
        ),
        "{}",
        out.stdout
    );
    s.config("{sources: []}");
    assert!(
        s.run(&["status"])
            .stdout
            .starts_with("Sources: none; every provider is unmonitored unless the signals dir ")
    );
    s.config("{sources: [], signals: false}");
    assert!(
        s.run(&["status"])
            .stdout
            .starts_with("Sources: none; every provider is unmonitored\n")
    );
}
