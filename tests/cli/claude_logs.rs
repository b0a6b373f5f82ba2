//! The `claude-logs` source: Claude Code's transcripts under `$CLAUDE_CONFIG_DIR/projects` (default
//! `~/.claude/projects`), where a refused request is written as it happens.

use std::fs;
use std::io::Write;
use std::path::PathBuf;

use crate::harness::Sandbox;

const SETTINGS: &str = "{\n  \"model\": \"claude-opus-4-6\"\n}\n";
const SWITCHED: &str = "{\n  \"model\": \"claude-sonnet-4-5\"\n}\n";
const NOW: &str = "2026-11-21T12:00:00Z";

/// A usage-limit line as Claude Code 2.1.33x writes it, at `at`, for the Opus weekly window
/// (which resets on 2026-11-27).
fn opus_limit(at: &str) -> String {
    opus_limit_until(at, 1795786800)
}

fn opus_limit_until(at: &str, resets_at: i64) -> String {
    format!(
        r#"{{"type":"assistant","timestamp":"{at}","cwd":"/nowhere","isApiErrorMessage":true,"error":"rate_limit","apiErrorStatus":429,"apiError":"usage_limit_reached","apiErrorParams":{{"rate_limit_info":{{"resetsAt":{resets_at},"rateLimitType":"seven_day_opus"}}}},"message":{{"model":"<synthetic>","content":[{{"type":"text","text":"You've hit your Opus limit · resets Nov 27, 1:40pm (UTC)"}}]}}}}"#
    )
}

/// A Claude Code target on Opus with Sonnet as its fallback, and no source configured: the
/// transcripts are found because Claude Code's projects dir exists.
fn sandbox() -> Sandbox {
    let mut s = Sandbox::new();
    s.write(".claude/settings.json", SETTINGS)
        .config("{ fallbacks: { \"claude-opus-4-6\": [\"claude-sonnet-4-5\"] } }");
    s.env("SWITCHER_NOW", NOW);
    fs::create_dir_all(s.home().join(".claude/projects/-work-app")).unwrap();
    s
}

fn transcript(s: &Sandbox, rel: &str) -> PathBuf {
    s.home().join(".claude/projects").join(rel)
}

fn append(path: &PathBuf, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut f = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

#[test]
fn once_switches_on_a_usage_limit_in_a_transcript_found_by_detection() {
    let s = sandbox();
    let file = transcript(&s, "-work-app/1f2e.jsonl");
    append(
        &file,
        "{\"type\":\"user\",\"message\":{\"content\":\"hi\"}}\n",
    );
    append(&file, &format!("{}\n", opus_limit("2026-11-21T11:58:00Z")));
    s.run(&["watch", ".claude/settings.json", "--once"])
        .code(0)
        .stdout_is(
            ".claude/settings.json: model: claude-opus-4-6 -> claude-sonnet-4-5 (anthropic seven_day_opus 100% >= 90%)\n",
        );
    assert_eq!(s.read(".claude/settings.json"), SWITCHED);
    let status = s.run(&["status", ".claude/settings.json"]);
    assert!(status.stdout.contains("claude-logs"), "{}", status.stdout);
}

#[test]
fn a_limit_older_than_a_week_or_a_throttle_switches_nothing() {
    let s = sandbox();
    let file = transcript(&s, "-work-app/1f2e.jsonl");
    append(&file, &format!("{}\n", opus_limit("2026-11-13T11:58:00Z")));
    append(
        &file,
        "{\"type\":\"assistant\",\"timestamp\":\"2026-11-21T11:59:00Z\",\"isApiErrorMessage\":true,\"message\":{\"model\":\"<synthetic>\",\"content\":[{\"type\":\"text\",\"text\":\"API Error: Request rejected (429) · Rate limited. Please try again later.\"}]}}\n",
    );
    s.run(&["watch", ".claude/settings.json", "--once"])
        .code(0)
        .stdout_is("");
    assert_eq!(s.read(".claude/settings.json"), SETTINGS);
}

#[test]
fn bad_lines_are_skipped_with_at_most_one_warning_each_and_never_switch() {
    let s = sandbox();
    let file = transcript(&s, "-work-app/1f2e.jsonl");
    append(&file, "this limit line is not JSON\n");
    append(&file, &format!("{}\n", "y".repeat(300 * 1024)));
    append(&file, "{\"limit\": [1, 2\n");
    // A limit line still being written: no newline yet.
    append(&file, &opus_limit("2026-11-21T11:58:00Z")[..120]);
    let out = s.run(&["watch", ".claude/settings.json", "--once"]);
    out.code(0).stdout_is("");
    assert_eq!(s.read(".claude/settings.json"), SETTINGS);
    let warnings: Vec<&str> = out.stderr.lines().filter(|l| l.contains("warn")).collect();
    assert_eq!(warnings.len(), 1, "one for the file: {}", out.stderr);
    assert!(warnings[0].contains("not JSON"), "{}", out.stderr);
    // The long line is said once, at -v (where the daemon logs by default).
    let out = s.run(&["watch", ".claude/settings.json", "--once", "-v"]);
    assert_eq!(
        out.stderr.matches("longer than 256 KiB").count(),
        1,
        "{}",
        out.stderr
    );
}

#[test]
fn sources_configured_without_it_leave_the_transcripts_unread() {
    let s = sandbox();
    s.config("{ sources: [], fallbacks: { \"claude-opus-4-6\": [\"claude-sonnet-4-5\"] } }");
    append(
        &transcript(&s, "-work-app/1f2e.jsonl"),
        &format!("{}\n", opus_limit("2026-11-21T11:58:00Z")),
    );
    s.run(&["watch", ".claude/settings.json", "--once"])
        .code(0)
        .stdout_is("");
    // Named explicitly, with its own path.
    s.config(&format!(
        "{{ sources: [{{kind: 'claude-logs', path: '{}'}}], fallbacks: {{ \"claude-opus-4-6\": [\"claude-sonnet-4-5\"] }} }}",
        s.home().join(".claude/projects").display()
    ));
    s.run(&["watch", ".claude/settings.json", "--once"]).code(0);
    assert_eq!(s.read(".claude/settings.json"), SWITCHED);
}

#[test]
fn the_daemon_switches_when_a_limit_is_appended_even_in_a_project_made_after_its_start() {
    let s = sandbox();
    let old = transcript(&s, "-work-app/1f2e.jsonl");
    append(
        &old,
        "{\"type\":\"user\",\"message\":{\"content\":\"hi\"}}\n",
    );
    let d = s.daemon(&[".claude/settings.json"]);
    assert!(d.log().contains("claude-logs"), "{}", d.log());
    // A session in a project Claude Code had never seen: its dir appears, then the file.
    let new = transcript(&s, "-work-other/9a8b.jsonl");
    append(
        &new,
        "{\"type\":\"user\",\"message\":{\"content\":\"go\"}}\n",
    );
    std::thread::sleep(std::time::Duration::from_millis(200));
    let now = jiff::Timestamp::now();
    let line = opus_limit_until(&now.to_string(), now.as_second() + 3 * 24 * 3600);
    append(&new, &format!("{line}\n"));
    d.wait("the switch", || s.read(".claude/settings.json") == SWITCHED);
    assert_eq!(d.stop(), 0);
}

/// A Claude Code session on `opus` in the work dir whose chain is an endpoint profile, with a
/// limit line 30 s old: switching writes z.ai's base URL into the very settings a live line's
/// endpoint is read from.
fn profile_sandbox(line: &str) -> Sandbox {
    let mut s = Sandbox::new();
    s.env("SWITCHER_NOW", NOW)
        .env("ZAI_API_KEY", "zai-canary-token-31c7");
    s.write(".claude/settings.json", "{\"model\":\"opus\"}\n")
        .config(
            r#"{ profiles: { glm: { provider: "zai", model: "opus",
              env: { ANTHROPIC_BASE_URL: "https://api.z.ai/api/anthropic",
                     ANTHROPIC_AUTH_TOKEN: "${ZAI_API_KEY}" } } },
            fallbacks: { opus: ["profile:glm"] } }"#,
        );
    let line = line.replace("/nowhere", &s.work().display().to_string());
    append(&transcript(&s, "-p/s.jsonl"), &format!("{line}\n"));
    s
}

fn stays_on_the_profile(s: &Sandbox) {
    for run in 0..3 {
        s.run(&["watch", ".claude/settings.json", "--once"]).code(0);
        let settings = s.read(".claude/settings.json");
        assert!(
            settings.contains("api.z.ai"),
            "run {run} left the profile:\n{settings}"
        );
    }
    let status = s.run(&["status", ".claude/settings.json", "--json"]).json();
    let text = status.to_string();
    assert!(!text.contains("\"zai\":{\"status\":\"RED\""), "{text}");
}

#[test]
fn a_structured_limit_is_anthropic_s_even_once_the_profile_points_elsewhere() {
    let line = format!(
        r#"{{"type":"assistant","timestamp":"2026-11-21T11:59:30Z","cwd":"/nowhere","isApiErrorMessage":true,"error":"rate_limit","apiErrorStatus":429,"apiError":"usage_limit_reached","apiErrorParams":{{"rate_limit_info":{{"status":"rejected","resetsAt":{},"rateLimitType":"five_hour"}}}},"message":{{"model":"<synthetic>","content":[{{"type":"text","text":"You've hit your 5-hour limit · resets 4pm (UTC)"}}]}}}}"#,
        1795276800
    );
    stays_on_the_profile(&profile_sandbox(&line));
}

#[test]
fn a_live_text_limit_is_not_blamed_on_the_endpoint_the_switcher_wrote() {
    // Before 2.1.33x only the text: read as the endpoint's, which the profile has since replaced.
    let line = r#"{"type":"assistant","timestamp":"2026-11-21T11:59:30Z","cwd":"/nowhere","isApiErrorMessage":true,"message":{"model":"<synthetic>","content":[{"type":"text","text":"Claude AI usage limit reached|1795276800"}]}}"#;
    stays_on_the_profile(&profile_sandbox(line));
}
