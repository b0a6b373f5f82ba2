use std::path::{Path, PathBuf};

use jiff::Timestamp;

use super::*;
use crate::jsonc::KeyPath;
use crate::plan::{SwitchRecord, TargetState};
use crate::target::Kind;

fn record(slot: &[&str], original: &str, written: &str) -> SwitchRecord {
    SwitchRecord {
        slot: KeyPath::new(slot.iter().copied()),
        original: original.into(),
        provider: "zai".into(),
        written: written.into(),
        previous: None,
        held: Vec::new(),
        at: "2026-09-11T14:45:20Z".parse::<Timestamp>().unwrap(),
        reason: "zai five_hour 93% >= 90%".into(),
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
                &*r.from,
                &*r.to,
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
                &*r.from,
                &*r.to,
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
fn an_agent_in_a_nested_folder_is_named_by_its_path_and_scoped_to_its_project() {
    // OpenCode names an agent file by its path below `agent(s)/`, without `.md`.
    let cfg = Path::new("/home/u/.config/opencode");
    let agent = |path: &str| {
        let record = record(&["model"], "zai/glm-4.6", "deepseek/deepseek-chat");
        state(path, Kind::OpenCodeAgent, vec![record])
    };
    let states = [
        agent("/q/.opencode/agent/team/review.md"),
        agent("/q/.opencode/agents/agent/v1.2.md"),
        agent("/home/u/.config/opencode/agent/ops/deep/deploy.md"),
        // Given elsewhere, with `--kind opencode-agent`: its stem, and the dir above its own.
        agent("/x/notes/agent/docs.md"),
    ];
    let routes = build(&states, Some(cfg));
    let got: Vec<_> = (routes.routes.iter())
        .map(|r| {
            let scope = r.scope.as_deref().map(|s| s.to_str().unwrap());
            (scope, r.agent.as_deref())
        })
        .collect();
    assert_eq!(
        got,
        [
            (None, Some("ops/deep/deploy")),
            (Some("/q"), Some("team/review")),
            (Some("/q"), Some("agent/v1.2")),
            (Some("/x/notes"), Some("docs")),
        ]
    );
    for state in &states {
        assert_eq!(
            scope_of(&state.target, Kind::OpenCodeAgent, &[cfg]),
            routes
                .routes
                .iter()
                .find(|r| *r.config == *state.target)
                .unwrap()
                .scope
                .as_deref()
                .map(Path::to_owned),
        );
    }
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

#[test]
fn restored_routes_hold_for_a_while_and_a_newer_restore_replaces_an_older_one() {
    let t = |s: &str| s.parse::<Timestamp>().unwrap();
    let mut moved = record(&["model"], r#""zai/glm-4.6""#, r#""kimi/k2""#);
    moved.held = vec![r#""deepseek/chat""#.to_owned()];
    let states = [state("/p/opencode.json", Kind::OpenCode, vec![moved])];
    let switched = build(&states, None);
    let from = |r: &Routes| -> Vec<(String, String, bool)> {
        (r.routes.iter().chain(&r.restored))
            .map(|r| (r.from.to_string(), r.to.to_string(), r.earlier))
            .collect()
    };
    let pair = |f: &str, t: &str, e: bool| (f.to_owned(), t.to_owned(), e);
    assert_eq!(
        from(&switched),
        [
            pair("zai/glm-4.6", "kimi/k2", false),
            pair("deepseek/chat", "kimi/k2", true)
        ]
    );
    // Still switched: nothing is restored.
    let again = carry(Some(&switched), switched.clone(), t("2026-09-12T00:00:00Z"));
    assert!(again.restored.is_empty());
    // Restored at t1.
    let t1 = t("2026-09-12T10:00:00Z");
    let restored = carry(Some(&switched), build(&[], None), t1);
    assert!(restored.routes.is_empty());
    assert_eq!(
        from(&restored),
        [
            pair("deepseek/chat", "zai/glm-4.6", false),
            pair("kimi/k2", "zai/glm-4.6", false)
        ]
    );
    assert!(restored.restored.iter().all(|r| r.since == t1));
    // Kept by later passes, then dropped once RESTORED_FOR has passed.
    let later = carry(Some(&restored), build(&[], None), t1 + RESTORED_FOR / 2);
    assert_eq!(later, restored);
    let gone = carry(Some(&restored), build(&[], None), t1 + RESTORED_FOR);
    assert!(gone.restored.is_empty());
    // Switched again and restored again: the newer restore replaces the older for the model
    // both wrote, and the older one's other model stays.
    let mut second = record(&["model"], r#""zai/glm-4.6""#, r#""kimi/k2""#);
    second.at = t1;
    let states = [state("/p/opencode.json", Kind::OpenCode, vec![second])];
    let reswitched = carry(Some(&restored), build(&states, None), t1);
    assert_eq!(reswitched.restored, restored.restored);
    let t2 = t("2026-09-13T10:00:00Z");
    let twice = carry(Some(&reswitched), build(&[], None), t2);
    let since: Vec<_> = twice.restored.iter().map(|r| (&*r.from, r.since)).collect();
    assert_eq!(since, [("deepseek/chat", t1), ("kimi/k2", t2)]);
}

#[test]
fn a_routes_document_without_restored_routes_reads_and_writes_as_before() {
    let doc = r#"{"version": 1, "routes": []}"#;
    let routes: Routes = serde_json::from_str(doc).unwrap();
    assert!(routes.restored.is_empty());
    let text = serde_json::to_string(&routes).unwrap();
    assert_eq!(text, r#"{"version":1,"routes":[]}"#);
}

#[test]
fn refresh_takes_a_pass_s_records_as_given_and_the_others_from_the_state_dir() {
    let dir = tempfile::tempdir().unwrap();
    let state_dir = crate::state::StateDir::new(dir.path().join("state"));
    let glm = r#""zai/glm-4.6""#;
    let on_disk = state(
        "/p/opencode.json",
        Kind::OpenCode,
        vec![record(&["model"], glm, r#""deepseek/stale""#)],
    );
    let other = state(
        "/q/opencode.json",
        Kind::OpenCode,
        vec![record(&["model"], glm, r#""deepseek/q""#)],
    );
    state_dir.save_target(&on_disk).unwrap();
    state_dir.save_target(&other).unwrap();
    // The pass's own records win over the copy in the state dir, which is not read.
    let fresh = state(
        "/p/opencode.json",
        Kind::OpenCode,
        vec![record(&["model"], glm, r#""deepseek/fresh""#)],
    );
    store::refresh(&state_dir, None, &[&fresh]);
    let text = std::fs::read_to_string(dir.path().join("state").join(FILE)).unwrap();
    let routes: Routes = serde_json::from_str(&text).unwrap();
    let to: Vec<(&str, &str)> = (routes.routes.iter())
        .map(|r| (r.config.to_str().unwrap(), &*r.to))
        .collect();
    assert_eq!(
        to,
        [
            ("/p/opencode.json", "deepseek/fresh"),
            ("/q/opencode.json", "deepseek/q")
        ]
    );
}
