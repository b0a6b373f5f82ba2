//! Rule 1 and the choice of a fallback, through the binary.

use crate::harness::{CHAINS, OPENCODE, Sandbox};

fn sandbox(quota: &str) -> Sandbox {
    let s = Sandbox::new();
    s.write("opencode.json", OPENCODE)
        .config(CHAINS)
        .quota(quota);
    s
}

#[test]
fn switches_on_an_explicit_red_status() {
    let s = sandbox(r#"{"zai": {"status": "RED"}, "deepseek": {"status": "GREEN"}}"#);
    s.once("opencode.json").code(0).stdout_is(
        "opencode.json: agent.build.model: zai-coding-plan/glm-4.6 -> deepseek/deepseek-chat (zai status RED)\n\
         opencode.json: model: zai-coding-plan/glm-4.6 -> deepseek/deepseek-chat (zai status RED)\n",
    );
    assert_eq!(
        s.read("opencode.json"),
        OPENCODE.replace("zai-coding-plan/glm-4.6", "deepseek/deepseek-chat")
    );
}

#[test]
fn a_provider_named_twice_in_one_status_file_is_judged_by_the_worse_entry() {
    let s = sandbox(r#"{"zai": {"status": "RED"}, "zai-coding-plan": {"status": "GREEN"}}"#);
    let out = s.once("opencode.json");
    out.code(0);
    assert!(
        out.stdout.contains(
            "model: zai-coding-plan/glm-4.6 -> deepseek/deepseek-chat (zai as zai status RED)"
        ),
        "{}",
        out.stdout
    );
}

#[test]
fn switches_on_a_window_computed_red() {
    let s = sandbox(r#"{"zai": {"windows": {"five_hour": {"utilization": 92}}}}"#);
    s.once("opencode.json")
        .code(0)
        .stdout_is(
            "opencode.json: agent.build.model: zai-coding-plan/glm-4.6 -> deepseek/deepseek-chat (zai five_hour 92% >= 90%)\n\
             opencode.json: model: zai-coding-plan/glm-4.6 -> deepseek/deepseek-chat (zai five_hour 92% >= 90%)\n",
        );
}

#[test]
fn no_switch_on_yellow_unknown_or_unmonitored() {
    for quota in [
        r#"{"zai": {"windows": {"five_hour": {"utilization": 80}}}}"#,
        r#"{"zai": {"status": "YELLOW"}}"#,
        r#"{"zai": {"error": "HTTP 401"}}"#,
        r#"{"zai": {"status": "UNKNOWN"}}"#,
        r#"{"deepseek": {"status": "RED"}}"#,
        "{}",
    ] {
        let s = sandbox(quota);
        s.once("opencode.json").code(0).stdout_is("");
        assert_eq!(s.read("opencode.json"), OPENCODE, "{quota}");
    }
}

#[test]
fn switch_at_yellow_leaves_a_yellow_original() {
    let s = sandbox(r#"{"zai": {"windows": {"five_hour": {"utilization": 80}}}}"#);
    s.config(&CHAINS.replace("fallbacks", "switch_at: 'yellow', fallbacks"));
    let out = s.once("opencode.json");
    out.code(0);
    assert_eq!(out.stdout.lines().count(), 2, "{}", out.stdout);
}

#[test]
fn moves_down_the_chain_past_unhealthy_and_unknown_candidates() {
    let s = sandbox(r#"{"zai": {"status": "RED"}, "deepseek": {"error": "timeout"}}"#);
    let out = s.once("opencode.json");
    out.code(0);
    assert!(
        out.stdout
            .contains("-> kimi-for-coding/k2 (zai status RED)"),
        "{}",
        out.stdout
    );
    let s = sandbox(r#"{"zai": {"status": "RED"}, "deepseek": {"status": "RED"}}"#);
    assert!(
        s.once("opencode.json")
            .stdout
            .contains("-> kimi-for-coding/k2")
    );
}

#[test]
fn takes_the_first_yellow_when_nothing_is_green_and_the_original_is_red() {
    let s = sandbox(
        r#"{"zai": {"status": "RED"}, "deepseek": {"status": "YELLOW"}, "kimi": {"status": "YELLOW"}}"#,
    );
    let out = s.once("opencode.json");
    out.code(0);
    assert!(
        out.stdout.contains("model: zai-coding-plan/glm-4.6 -> deepseek/deepseek-chat (zai status RED; no GREEN fallback, deepseek is YELLOW)"),
        "{}",
        out.stdout
    );
}

#[test]
fn exits_3_when_a_slot_must_stay_on_red() {
    let s = sandbox(
        r#"{"zai": {"status": "RED"}, "deepseek": {"status": "RED"}, "kimi": {"status": "RED"}}"#,
    );
    s.once("opencode.json").code(3).stdout_is("").stderr_has(
        "warning: opencode.json: model: stays on zai-coding-plan/glm-4.6 (zai status RED): no healthy candidate",
    );
    assert_eq!(s.read("opencode.json"), OPENCODE);
    // A RED model in an unmanaged slot (no chain, no record) is not a reason for exit 3.
    let s = Sandbox::new();
    s.write("opencode.json", r#"{"model": "zai/glm"}"#)
        .quota(r#"{"zai": {"status": "RED"}}"#);
    s.once("opencode.json").code(0);
}

#[test]
fn fallback_models_beside_the_slot_win_over_the_config() {
    let s = sandbox(r#"{"zai": {"status": "RED"}}"#);
    s.write(
        "opencode.json",
        r#"{"agent": {"a": {"model": "zai/glm", "fallback_models": ["minimax/m2"]}}, "model": "zai/glm"}"#,
    );
    s.config(r#"{fallbacks: {"zai/glm": ["deepseek/chat"]}}"#);
    s.once("opencode.json").code(0).stdout_is(
        "opencode.json: agent.a.model: zai/glm -> minimax/m2 (zai status RED)\n\
         opencode.json: model: zai/glm -> deepseek/chat (zai status RED)\n",
    );
}

#[test]
fn fallback_models_that_are_not_model_ids_are_named_and_the_config_used() {
    let s = sandbox(r#"{"zai": {"status": "RED"}}"#);
    s.write(
        "opencode.json",
        r#"{"model": "zai/glm", "fallback_models": "minimax/m2"}"#,
    );
    s.config(r#"{fallbacks: {"zai/glm": ["deepseek/chat"]}}"#);
    s.once("opencode.json")
        .code(0)
        .stdout_is("opencode.json: model: zai/glm -> deepseek/chat (zai status RED)\n")
        .stderr_has(
            "warning: opencode.json: model: `fallback_models` is not an array of model ids; \
             using the config's fallbacks",
        );
}

#[test]
fn every_opencode_slot_kind_is_managed() {
    let s = sandbox(r#"{"zai": {"status": "RED"}}"#);
    s.write(
        "opencode.jsonc",
        r#"{"small_model": "zai/a", "agents": {"x": {"model": "zai/a"}}, "mode": {"old": {"model": "zai/a"}},
            "agent": {"my.agent": {"model": "zai/a"}}}"#,
    );
    s.config(r#"{fallbacks: {"zai/a": ["deepseek/chat"]}}"#);
    let out = s.once("opencode.jsonc");
    out.code(0);
    let slots: Vec<&str> = out
        .stdout
        .lines()
        .map(|l| l.split(": ").nth(1).unwrap())
        .collect();
    assert_eq!(
        slots,
        [
            "agent.\"my.agent\".model",
            "agents.x.model",
            "mode.old.model",
            "small_model"
        ]
    );
}

#[test]
fn aliases_map_provider_names() {
    let s = Sandbox::new();
    s.write(
        "opencode.json",
        r#"{"model": "github-copilot/gpt-5", "small_model": "zai-coding-plan/glm-4.5-air", "agent": {"a": {"model": "anthropic/claude-opus-4"}}}"#,
    );
    s.config(
        r#"{fallbacks: {"github-copilot/gpt-5": ["x/1"], "zai-coding-plan/glm-4.5-air": ["x/2"], "anthropic/claude-opus-4": ["x/3"]},
            aliases: {"my-bigmodel": "zai"}}"#,
    );
    s.quota(r#"{"copilot": {"status": "RED"}, "my-bigmodel": {"status": "RED"}, "claude": {"status": "RED"}}"#);
    let out = s.once("opencode.json");
    out.code(0);
    assert_eq!(out.stdout.lines().count(), 3, "{}", out.stdout);
    assert!(out.stdout.contains("(copilot status RED)"));
    assert!(out.stdout.contains("(zai status RED)"));
    assert!(out.stdout.contains("(anthropic status RED)"));
}

#[test]
fn profile_candidates_are_skipped_for_opencode() {
    let s = sandbox(r#"{"zai": {"status": "RED"}}"#);
    s.config(
        r#"{fallbacks: {"zai-coding-plan/glm-4.6": ["profile:glm", "deepseek/chat"]},
            profiles: {glm: {provider: "zai", env: {A: "b"}}}}"#,
    );
    let out = s.once("opencode.json");
    out.code(0)
        .stderr_has("profile:glm: profiles apply to Claude Code targets only; skipped");
    assert!(out.stdout.contains("-> deepseek/chat"));
}

#[test]
fn several_targets_are_processed_independently() {
    let s = sandbox(r#"{"zai": {"status": "RED"}}"#);
    s.write("b/opencode.json", r#"{"model": "zai-coding-plan/glm-4.6"}"#);
    s.write("broken/opencode.json", "{ nope");
    let out = s.run(&[
        "watch",
        "opencode.json",
        "broken/opencode.json",
        "b/opencode.json",
        "--once",
    ]);
    out.code(1).stderr_has("broken/opencode.json:1:3:");
    assert!(
        out.stdout.contains("b/opencode.json: model:"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("\nopencode.json: model:") || out.stdout.starts_with("opencode.json"),
        "{}",
        out.stdout
    );
}

#[test]
fn dry_run_writes_nothing_and_shows_a_diff() {
    let s = sandbox(r#"{"zai": {"status": "RED"}}"#);
    let out = s.run(&["watch", "opencode.json", "--once", "--dry-run"]);
    out.code(0);
    assert!(
        out.stdout
            .contains("opencode.json: model: zai-coding-plan/glm-4.6 -> deepseek/deepseek-chat")
    );
    assert!(
        out.stdout.contains(
            "-  \"model\": \"zai-coding-plan/glm-4.6\",\n+  \"model\": \"deepseek/deepseek-chat\","
        ),
        "{}",
        out.stdout
    );
    assert_eq!(s.read("opencode.json"), OPENCODE);
    assert_eq!(s.state_files(), Vec::<String>::new(), "no lock, no state");
    // It exits as the real pass would.
    let s = sandbox(
        r#"{"zai": {"status": "RED"}, "deepseek": {"status": "RED"}, "kimi": {"status": "RED"}}"#,
    );
    s.run(&["watch", "opencode.json", "--once", "--dry-run"])
        .code(3);
}

#[test]
fn json_output_has_the_contract_shape() {
    let s = sandbox(
        r#"{"zai": {"windows": {"five_hour": {"utilization": 95, "resets_at": "2030-01-01T00:00:00Z"}}},
            "copilot": {"error": "HTTP 401"}}"#,
    );
    let out = s.run(&["watch", "opencode.json", "--once", "--json"]);
    out.code(0);
    let json = out.json();
    let change = &json["changes"][1];
    assert_eq!(change["target"], "opencode.json");
    assert_eq!(change["path"], s.real("opencode.json"));
    assert_eq!(change["slot"], "model");
    assert_eq!(change["from"], "zai-coding-plan/glm-4.6");
    assert_eq!(change["to"], "deepseek/deepseek-chat");
    assert_eq!(change["reason"], "zai five_hour 95% >= 90%");
    let slots = json["slots"].as_array().unwrap();
    assert_eq!(slots.len(), 3);
    let review = slots
        .iter()
        .find(|s| s["slot"] == "agent.review.model")
        .unwrap();
    assert_eq!(
        review,
        &serde_json::json!({"target": "opencode.json", "path": s.real("opencode.json"), "slot": "agent.review.model", "current": "github-copilot/gpt-5",
                            "original": "github-copilot/gpt-5", "provider": "copilot", "status": "UNKNOWN"})
    );
    let model = slots.iter().find(|s| s["slot"] == "model").unwrap();
    assert_eq!(model["original"], "zai-coding-plan/glm-4.6");
    assert_eq!(model["status"], "UNMONITORED");
    assert_eq!(
        json["providers"]["zai"],
        serde_json::json!({"status": "RED", "windows": {"five_hour": {"utilization": 95.0, "resets_at": "2030-01-01T00:00:00Z", "status": "RED"}}})
    );
    assert_eq!(json["providers"]["copilot"]["status"], "UNKNOWN");
    assert_eq!(json["providers"]["copilot"]["error"], "copilot: HTTP 401");
}

#[test]
fn status_shows_slots_and_writes_nothing() {
    let s = sandbox(r#"{"zai": {"windows": {"five_hour": {"utilization": 95}}}}"#);
    s.once("opencode.json").code(0);
    let before = s.state_files();
    let quota_before = std::fs::read(s.state_dir().join("quota.json")).unwrap();
    let out = s.run(&["status", "opencode.json"]);
    out.code(0);
    assert!(out.stdout.contains("zai"), "{}", out.stdout);
    assert!(
        out.stdout.contains(
            "model               deepseek/deepseek-chat  UNMONITORED  on a fallback since zai five_hour 95% >= 90%; original zai-coding-plan/glm-4.6"
        ),
        "{}",
        out.stdout
    );
    assert_eq!(s.state_files(), before);
    assert_eq!(
        std::fs::read(s.state_dir().join("quota.json")).unwrap(),
        quota_before
    );
    let json = s.run(&["status", "opencode.json", "--json"]).json();
    assert_eq!(json["changes"], serde_json::json!([]));
    assert_eq!(json["slots"].as_array().unwrap().len(), 3);
}

#[test]
fn provider_and_window_thresholds_override_the_global_ones() {
    let s = sandbox(
        r#"{"zai": {"windows": {"five_hour": {"utilization": 86}, "weekly": {"utilization": 93}}}}"#,
    );
    // Global red is 90: the weekly window alone is RED.
    let out = s.once("opencode.json");
    assert!(
        out.stdout.contains("(zai weekly 93% >= 90%)"),
        "{}",
        out.stdout
    );
    let s = sandbox(
        r#"{"zai": {"windows": {"five_hour": {"utilization": 86}, "weekly": {"utilization": 93}}}}"#,
    );
    s.config(&CHAINS.replace(
        "fallbacks",
        "provider_thresholds: {'zai-coding-plan': {red: 85, weekly: {red: 95}}}, fallbacks",
    ));
    let out = s.once("opencode.json");
    assert!(
        out.stdout.contains("(zai five_hour 86% >= 85%)"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_variant_uses_the_chain_of_its_full_id_else_of_the_bare_id() {
    let s = Sandbox::new();
    s.write(
        "opencode.json",
        r#"{"model": "zai-coding-plan/glm-4.6#high", "small_model": "zai-coding-plan/glm-4.6#low"}"#,
    )
    .config(
        r#"{ fallbacks: {
            "zai-coding-plan/glm-4.6": ["deepseek/deepseek-chat"],
            "zai-coding-plan/glm-4.6#high": ["kimi-for-coding/k2"] } }"#,
    )
    .quota(r#"{"zai": {"status": "RED"}}"#);
    s.once("opencode.json").code(0).stdout_is(
        "opencode.json: model: zai-coding-plan/glm-4.6#high -> kimi-for-coding/k2 (zai status RED)\n\
         opencode.json: small_model: zai-coding-plan/glm-4.6#low -> deepseek/deepseek-chat (zai status RED)\n",
    );
}
