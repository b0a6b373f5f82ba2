use std::path::{Path, PathBuf};

use jiff::Timestamp;

use super::*;
use crate::jsonc::KeyPath;
use crate::plan::{SwitchRecord, TargetState};
use crate::target::Kind;

fn record(slot: &[&str], original: &str, written: &str) -> SwitchRecord {
    SwitchRecord {
        slot: KeyPath::new(slot.iter().copied()),
        original: original.to_owned(),
        provider: "zai".to_owned(),
        written: written.to_owned(),
        previous: None,
        at: "2026-09-11T14:45:20Z".parse::<Timestamp>().unwrap(),
        reason: "zai five_hour 93% >= 90%".to_owned(),
        streak: 0,
    }
}

fn state(path: &str, kind: Kind, switches: Vec<SwitchRecord>) -> TargetState {
    let mut s = TargetState::new(PathBuf::from(path), path.to_owned(), kind);
    s.switches = switches;
    s
}

#[test]
fn a_project_config_routes_its_model_and_agents_for_its_dir() {
    let states = [state(
        "/p/opencode.json",
        Kind::OpenCode,
        vec![
            record(
                &["model"],
                r#""zai/glm-4.6""#,
                r#""deepseek/deepseek-chat""#,
            ),
            record(
                &["agent", "review", "model"],
                r#""github-copilot/gpt-5""#,
                r#""anthropic/claude-sonnet-4-5""#,
            ),
            record(&["small_model"], r#""zai/glm-4.5-air""#, r#""deepseek/x""#),
        ],
    )];
    let routes = build(&states, Some(Path::new("/home/u/.config/opencode")));
    assert_eq!(routes.version, VERSION);
    let got: Vec<_> = routes
        .routes
        .iter()
        .map(|r| {
            (
                r.scope.as_deref(),
                r.agent.as_deref(),
                r.slot.as_str(),
                r.from.as_str(),
                r.to.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                Some(Path::new("/p")),
                Some("review"),
                "agent.review.model",
                "github-copilot/gpt-5",
                "anthropic/claude-sonnet-4-5"
            ),
            (
                Some(Path::new("/p")),
                None,
                "model",
                "zai/glm-4.6",
                "deepseek/deepseek-chat"
            ),
        ],
        "small_model is left out: no prompt is sent with it"
    );
}

#[test]
fn scopes_global_dotdir_and_agent_files() {
    let cfg = Path::new("/home/u/.config/opencode");
    let states = [
        state(
            "/home/u/.config/opencode/opencode.json",
            Kind::OpenCode,
            vec![record(&["model"], r#""a/1""#, r#""b/2""#)],
        ),
        state(
            "/q/.opencode/opencode.jsonc",
            Kind::OpenCode,
            vec![record(&["model"], r#""a/1""#, r#""b/2""#)],
        ),
        state(
            "/q/.opencode/agent/docs.md",
            Kind::OpenCodeAgent,
            vec![record(&["model"], "zai/glm-4.6", "deepseek/deepseek-chat")],
        ),
        state(
            "/home/u/.config/opencode/agents/plan.md",
            Kind::OpenCodeAgent,
            vec![record(&["model"], "\"a/1\"", "b/2")],
        ),
        state(
            "/c/.claude/settings.json",
            Kind::Claude,
            vec![record(&["model"], r#""opus""#, r#""glm-4.6""#)],
        ),
    ];
    let routes = build(&states, Some(cfg));
    let got: Vec<_> = routes
        .routes
        .iter()
        .map(|r| {
            (
                r.config.to_str().unwrap(),
                r.scope.as_deref().map(|s| s.to_str().unwrap()),
                r.agent.as_deref(),
                r.from.as_str(),
                r.to.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "/home/u/.config/opencode/agents/plan.md",
                None,
                Some("plan"),
                "a/1",
                "b/2"
            ),
            (
                "/home/u/.config/opencode/opencode.json",
                None,
                None,
                "a/1",
                "b/2"
            ),
            (
                "/q/.opencode/agent/docs.md",
                Some("/q"),
                Some("docs"),
                "zai/glm-4.6",
                "deepseek/deepseek-chat"
            ),
            (
                "/q/.opencode/opencode.jsonc",
                Some("/q"),
                None,
                "a/1",
                "b/2"
            ),
        ],
        "Claude Code targets have no routes"
    );
}

#[test]
fn no_records_no_routes_and_the_document_holds_no_reason_or_provider() {
    assert!(build(&[], None).routes.is_empty());
    let states = [state(
        "/p/opencode.json",
        Kind::OpenCode,
        vec![record(
            &["model"],
            r#""zai/glm-4.6""#,
            r#""deepseek/deepseek-chat""#,
        )],
    )];
    let text = serde_json::to_string(&build(&states, None)).unwrap();
    assert_eq!(
        text,
        r#"{"version":1,"routes":[{"config":"/p/opencode.json","scope":"/p","agent":null,"slot":"model","from":"zai/glm-4.6","to":"deepseek/deepseek-chat","since":"2026-09-11T14:45:20Z"}]}"#
    );
}
