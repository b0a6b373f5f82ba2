use std::io::Write;
use std::path::Path;

use super::*;
use crate::source::testing::{at, judged, window};

const ZONE: TimeZone = TimeZone::UTC;

/// The lines of a fixture in `fixtures/claude-logs/`.
fn fixture(name: &str) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/claude-logs")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    text.lines().map(str::to_owned).collect()
}

fn hit(line: &str, now: &str) -> Option<Hit> {
    match entry::read(line.as_bytes(), at(now), &ZONE) {
        Line::Limit(hit) => Some(hit),
        Line::Nothing => None,
        Line::Bad(why) => panic!("{line}: {why}"),
    }
}

#[test]
fn the_structured_fields_give_provider_reset_and_window() {
    let lines = fixture("structured.jsonl");
    let first = hit(&lines[0], "2026-11-21T12:00:00Z").unwrap();
    assert_eq!(first.provider, "anthropic");
    assert_eq!(first.how, "usage_limit_reached");
    assert_eq!(first.window, "five_hour");
    assert_eq!(first.at, at("2026-11-21T11:40:00Z"));
    assert_eq!(first.resets_at, Some(at("2026-11-21T16:40:00Z")));
    // `quotaLimits` beats the text, which names no zone and no seconds; no timestamp: the time
    // given for it (the file's change).
    let second = hit(&lines[1], "2026-10-08T18:00:00Z").unwrap();
    assert_eq!(second.resets_at, Some(at("2026-10-09T02:00:00Z")));
    assert_eq!(second.at, at("2026-10-08T18:00:00Z"));
    assert_eq!(second.how, "usage_limit_reached");
}

#[test]
fn older_texts_go_through_the_limit_table_and_throttles_and_answers_do_not_count() {
    let lines = fixture("text.jsonl");
    let pipe = hit(&lines[0], "2026-11-21T12:00:00Z").unwrap();
    assert_eq!(pipe.how, "anthropic-pipe-epoch");
    assert_eq!(pipe.resets_at, Some(at("2025-08-15T22:00:00Z")));
    let session = hit(&lines[1], "2026-11-21T12:00:00Z").unwrap();
    assert_eq!(session.how, "anthropic-resets-clock");
    // 9:50pm in Saigon (UTC+7) after 13:40 UTC (20:40 there).
    assert_eq!(session.resets_at, Some(at("2026-08-19T14:50:00Z")));
    for (i, line) in lines.iter().enumerate().skip(2) {
        assert_eq!(hit(line, "2026-11-21T12:00:00Z"), None, "line {}", i + 1);
    }
    // The model quoting a limit message is not one.
    let quoted = r#"{"type":"assistant","timestamp":"2026-11-21T11:00:00Z","message":{"model":"claude-opus-4-6","content":[{"type":"text","text":"The CLI prints You've hit your 5-hour limit · resets 11:12am (UTC) when"}]}}"#;
    assert_eq!(hit(quoted, "2026-11-21T12:00:00Z"), None);
    let opus = r#"{"type":"assistant","isApiErrorMessage":true,"timestamp":"2026-12-05T12:56:15Z","message":{"model":"<synthetic>","content":[{"type":"text","text":"You've hit your Opus limit · resets Dec 7, 12:56pm (UTC)"}]}}"#;
    assert_eq!(hit(opus, "2026-12-05T13:00:00Z").unwrap().window, "opus");
}

#[test]
fn bad_lines_are_reported_not_read() {
    for bad in [
        &b"{\"type\":\"assistant\",\"apiError\":\"usage_limit_rea"[..],
        b"limit: not json",
        b"[\"limit\"]",
    ] {
        assert!(matches!(
            entry::read(bad, at("2026-11-21T12:00:00Z"), &ZONE),
            Line::Bad(_)
        ));
    }
    // Most lines are never parsed.
    assert_eq!(
        entry::read(b"not json at all", at("2026-11-21T12:00:00Z"), &ZONE),
        Line::Nothing
    );
}

/// A projects dir with one project whose session's cwd is `cwd`.
struct Projects {
    _home: tempfile::TempDir,
    dir: PathBuf,
    file: PathBuf,
    source: ClaudeLogs,
}

impl Projects {
    fn new() -> Projects {
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join(".claude/projects");
        let file = dir.join("-work-app/0b0c.jsonl");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        let source = ClaudeLogs::new(
            dir.clone(),
            Some(home.path().join(".claude/settings.json")),
            None,
        );
        Projects {
            _home: home,
            dir,
            file,
            source,
        }
    }

    fn append(&self, text: &str) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.file)
            .unwrap();
        f.write_all(text.as_bytes()).unwrap();
    }

    fn read(&self, now: &str) -> Reports {
        self.source.read(&Aliases::default(), at(now)).unwrap()
    }
}

const STRUCTURED: &str = r#"{"type":"assistant","timestamp":"2026-11-21T11:40:00.000Z","cwd":"CWD","isApiErrorMessage":true,"apiError":"usage_limit_reached","apiErrorParams":{"rate_limit_info":{"resetsAt":1795279200,"rateLimitType":"RLT"}},"message":{"model":"<synthetic>","content":[{"type":"text","text":"You've hit your limit"}]}}"#;

#[test]
fn a_limit_makes_its_provider_red_until_the_reset_and_then_green() {
    let p = Projects::new();
    p.append("{\"type\":\"user\",\"message\":{\"content\":\"hi\"}}\n");
    assert!(p.read("2026-11-21T11:41:00Z").is_empty());
    p.append(&format!("{}\n", STRUCTURED.replace("RLT", "five_hour")));
    let reports = p.read("2026-11-21T11:41:00Z");
    let report = &reports["anthropic"];
    window(report, "five_hour", 100.0, Some("2026-11-21T16:40:00Z"));
    assert_eq!(
        judged(&reports, "anthropic", &["opus"], at("2026-11-21T11:41:00Z")),
        ["RED"]
    );
    // Remembered at later reads; past its reset it counts as 0%.
    let later = p.read("2026-11-27T00:00:00Z");
    assert_eq!(
        judged(&later, "anthropic", &["opus"], at("2026-11-27T00:00:00Z")),
        ["GREEN"]
    );
    // Forgotten past the look-back.
    assert!(p.read("2026-11-29T00:00:00Z").is_empty());
}

#[test]
fn an_opus_limit_spares_the_other_models_and_no_reset_means_an_hour() {
    let p = Projects::new();
    p.append(&format!(
        "{}\n",
        STRUCTURED.replace("RLT", "seven_day_opus")
    ));
    let no_reset = r#"{"type":"assistant","isApiErrorMessage":true,"timestamp":"2026-11-21T11:50:00Z","message":{"model":"<synthetic>","content":[{"type":"text","text":"You've hit your Sonnet limit"}]}}"#;
    p.append(&format!("{no_reset}\n"));
    let reports = p.read("2026-11-21T11:55:00Z");
    assert_eq!(
        judged(
            &reports,
            "anthropic",
            &["claude-opus-4-6", "claude-sonnet-4-5", "claude-haiku-4-5"],
            at("2026-11-21T11:55:00Z")
        ),
        ["RED", "RED", "GREEN"]
    );
    window(
        &reports["anthropic"],
        "sonnet",
        100.0,
        Some("2026-11-21T12:50:00Z"),
    );
}

#[test]
fn only_new_lines_count_and_a_partial_one_waits_for_its_newline() {
    let p = Projects::new();
    let line = STRUCTURED.replace("RLT", "five_hour");
    let (head, rest) = line.split_at(60);
    p.append(head);
    assert!(p.read("2026-11-21T11:41:00Z").is_empty());
    p.append(rest);
    assert!(p.read("2026-11-21T11:41:00Z").is_empty(), "no newline yet");
    p.append("\n");
    assert!(p.read("2026-11-21T11:41:00Z").contains_key("anthropic"));
    // A file appearing later, deeper (a subagent's), is read too.
    let sub = p.dir.join("-work-app/0b0c/subagents/agent-1.jsonl");
    std::fs::create_dir_all(sub.parent().unwrap()).unwrap();
    let zai = r#"{"type":"assistant","isApiErrorMessage":true,"timestamp":"2026-11-21T11:42:00Z","message":{"model":"<synthetic>","content":[{"type":"text","text":"API Error: 429 {\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"Usage limit reached for 5 hour. Your limit will reset at 2026-11-21 21:35:41\"}}"}]}}"#;
    std::fs::write(&sub, format!("{zai}\n")).unwrap();
    let reports = p.read("2026-11-21T11:43:00Z");
    window(
        &reports["zai"],
        "limit",
        100.0,
        Some("2026-11-21T13:35:41Z"),
    );
}

#[test]
fn a_first_read_looks_back_only_as_far_as_a_limit_can_last() {
    let p = Projects::new();
    p.append(&format!("{}\n", STRUCTURED.replace("RLT", "five_hour")));
    // The line is 8 days old at this read.
    assert!(p.read("2026-11-29T12:00:00Z").is_empty());
    // A file not changed within the look-back is not read at all, only followed from its end.
    let q = Projects::new();
    q.append(&format!("{}\n", STRUCTURED.replace("RLT", "five_hour")));
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(8 * 24 * 3600);
    std::fs::File::options()
        .append(true)
        .open(&q.file)
        .unwrap()
        .set_modified(old)
        .unwrap();
    let now = Timestamp::now().to_string();
    assert!(q.read(&now).is_empty());
    let fresh = STRUCTURED
        .replace("RLT", "five_hour")
        .replace("2026-11-21T11:40:00.000Z", &now);
    q.append(&format!("{fresh}\n"));
    assert!(q.read(&now).contains_key("anthropic"));
}

#[test]
fn a_live_line_is_its_sessions_endpoint_and_an_old_one_stays_anthropic() {
    let p = Projects::new();
    let project = p._home.path().join("app");
    std::fs::create_dir_all(project.join(".claude")).unwrap();
    std::fs::write(
        project.join(".claude/settings.json"),
        r#"{"env": {"ANTHROPIC_BASE_URL": "https://api.z.ai/api/anthropic"}}"#,
    )
    .unwrap();
    let cwd = project.display().to_string();
    // Claude's own structured subscription limit is Anthropic's whatever the endpoint.
    let structured = STRUCTURED.replace("RLT", "five_hour").replace("CWD", &cwd);
    p.append(&format!("{structured}\n"));
    let reports = p.read("2026-11-21T11:41:00Z");
    assert!(reports.contains_key("anthropic") && !reports.contains_key("zai"));
    // A text is the endpoint's.
    let line = format!(
        r#"{{"type":"assistant","timestamp":"2026-11-21T11:40:00Z","cwd":"{cwd}","isApiErrorMessage":true,"message":{{"model":"<synthetic>","content":[{{"type":"text","text":"Claude AI usage limit reached|1795279200"}}]}}}}"#
    );
    let r = Projects::new();
    r.append(&format!("{line}\n"));
    assert!(r.read("2026-11-21T11:41:00Z").contains_key("zai"));
    let q = Projects::new();
    q.append(&format!("{line}\n"));
    let reports = q.read("2026-11-21T13:00:00Z");
    assert!(reports.contains_key("anthropic") && !reports.contains_key("zai"));
}

#[test]
fn bad_input_is_skipped_and_never_a_limit() {
    let p = Projects::new();
    p.append("limit but not json\n");
    p.append(&format!("{}\n", "x".repeat(tail::MAX_LINE + 1)));
    p.append("{\"type\":\"assistant\",\"isApiErrorMessage\":true,\"apiError\":\"usage_limit_rea");
    assert!(p.read("2026-11-21T11:41:00Z").is_empty());
    let memory = p.source.memory.lock().unwrap();
    assert!(memory.warned_long);
    assert!(memory.warned_bad.contains(&p.file));
}

#[test]
fn the_line_the_real_claude_code_wrote_is_a_five_hour_limit() {
    let line = &fixture("claude-code-2.1.332-five-hour.jsonl")[0];
    let hit = hit(line, "2026-12-06T02:30:00Z").unwrap();
    assert_eq!(hit.at, at("2026-12-06T02:29:09.907Z"));
    assert_eq!(hit.window, "five_hour");
    // The structured reset keeps its seconds; the text ("resets 3:59am (UTC)") drops them.
    assert_eq!(hit.resets_at, Some(at("2026-12-06T03:59:09Z")));
    assert_eq!(hit.cwd.as_deref(), Some("/tmp/cl-e2e/proj"));
    let text = r#"{"type":"assistant","isApiErrorMessage":true,"timestamp":"2026-12-06T02:29:09.907Z","message":{"model":"<synthetic>","content":[{"type":"text","text":"You've hit your 5-hour limit · resets 3:59am (UTC) · out of usage credits"}]}}"#;
    assert_eq!(hit_text_reset(text), Some(at("2026-12-06T03:59:00Z")));
}

fn hit_text_reset(line: &str) -> Option<Timestamp> {
    hit(line, "2026-12-06T02:30:00Z").and_then(|h| h.resets_at)
}

#[test]
fn a_line_without_a_timestamp_dates_from_the_files_change_not_the_read() {
    let p = Projects::new();
    p.append("{\"type\":\"assistant\",\"isApiErrorMessage\":true,\"message\":{\"model\":\"<synthetic>\",\"content\":[{\"type\":\"text\",\"text\":\"You've hit your limit\"}]}}\n");
    let changed = std::time::SystemTime::now() - std::time::Duration::from_secs(3 * 3600);
    std::fs::File::options()
        .append(true)
        .open(&p.file)
        .unwrap()
        .set_modified(changed)
        .unwrap();
    // Three hours on, the hour it names no reset for is over: not RED at a new run's read.
    let now = Timestamp::now();
    let reports = p.read(&now.to_string());
    assert_eq!(judged(&reports, "anthropic", &["opus"], now), ["GREEN"]);
    let limit = &reports["anthropic"].windows["limit"];
    assert!(limit.resets_at.is_some_and(|r| r < now), "{limit:?}");
}
