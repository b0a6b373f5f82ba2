//! Secrets stay secret: canary tokens given every way a credential can be given never appear in
//! output at the most verbose level, in errors, in `--json`, in `--dry-run` diffs or in the state
//! dir. (Each source's own credential file is covered in `providers.rs`; profiles in `claude.rs`.)

use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::harness::{Output, Sandbox};

const CANARY: &str = "sk-canary-7d1e55aa";

/// API-key sources, with a model of their provider and the OpenCode id their key may sit under.
const KEYED: &[(&str, &str, &str)] = &[
    ("deepseek", "deepseek/deepseek-chat", "deepseek"),
    ("kimi", "kimi-for-coding/k2", ""),
    ("minimax", "minimax/MiniMax-M2", "minimax-coding-plan"),
    ("moonshot", "moonshotai/kimi-k2", "moonshotai"),
    ("openrouter", "openrouter/qwen/qwen3-coder", "openrouter"),
    ("zai", "zai-coding-plan/glm-4.6", "zai-coding-plan"),
];

fn assert_hidden(s: &Sandbox, outputs: &[Output], what: &str) {
    for out in outputs {
        assert!(
            !out.stdout.contains(CANARY),
            "{what}: stdout leaks:\n{}",
            out.stdout
        );
        assert!(
            !out.stderr.contains(CANARY),
            "{what}: stderr leaks:\n{}",
            out.stderr
        );
    }
    for file in s.state_files() {
        let text = std::fs::read_to_string(s.state_dir().join(&file)).unwrap_or_default();
        assert!(!text.contains(CANARY), "{what}: {file} holds the token");
    }
}

/// Every run that could show a token, at the most verbose level.
fn all_outputs(s: &Sandbox) -> Vec<Output> {
    vec![
        s.run(&["watch", "opencode.json", "--once", "--dry-run", "-vvv"]),
        s.run(&["watch", "opencode.json", "--once", "--json", "-vvv"]),
        s.run(&["watch", "opencode.json", "--once", "-vvv"]),
        s.run(&["status", "opencode.json", "-vvv"]),
        s.run(&["status", "opencode.json", "--json", "-vvv"]),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_from_the_config_and_from_opencode_never_show() {
    for answer in [401, 200] {
        let server = MockServer::start().await;
        Mock::given(wiremock::matchers::any())
            .respond_with(
                ResponseTemplate::new(answer)
                    .set_body_string(format!("{{\"echo\": \"{CANARY}\"}}")),
            )
            .mount(&server)
            .await;
        for (kind, model, opencode_id) in KEYED {
            // Given literally in the switcher config.
            let s = Sandbox::new();
            s.write("opencode.json", &format!("{{\"model\": \"{model}\"}}")).config(&format!(
                "{{ fallbacks: {{'{model}': ['x/y']}}, sources: [{{kind: '{kind}', base_url: '{}', api_key: '{CANARY}'}}] }}",
                server.uri()
            ));
            assert_hidden(
                &s,
                &all_outputs(&s),
                &format!("{kind} api_key, HTTP {answer}"),
            );
            // Found in OpenCode's auth.json.
            if opencode_id.is_empty() {
                continue;
            }
            let s = Sandbox::new();
            let auth = s.home().join(".local/share/opencode/auth.json");
            std::fs::create_dir_all(auth.parent().unwrap()).unwrap();
            std::fs::write(
                &auth,
                format!(r#"{{"{opencode_id}": {{"type": "api", "key": "{CANARY}"}}}}"#),
            )
            .unwrap();
            s.write("opencode.json", &format!("{{\"model\": \"{model}\"}}")).config(&format!(
                "{{ fallbacks: {{'{model}': ['x/y']}}, sources: [{{kind: '{kind}', base_url: '{}'}}] }}",
                server.uri()
            ));
            let outputs = all_outputs(&s);
            assert!(
                !outputs[2].stderr.contains("no API key"),
                "{kind}: the OpenCode key was not found:\n{}",
                outputs[2].stderr
            );
            assert_hidden(&s, &outputs, &format!("{kind} OpenCode key, HTTP {answer}"));
        }
        tokio::task::yield_now().await;
        drop(server);
    }
}

#[test]
fn a_broken_credential_file_is_reported_without_its_content() {
    let s = Sandbox::new();
    let creds = s.home().join(".claude/.credentials.json");
    std::fs::create_dir_all(creds.parent().unwrap()).unwrap();
    std::fs::write(
        &creds,
        format!("{{\"claudeAiOauth\": {{\"accessToken\": \"{CANARY}\""),
    )
    .unwrap();
    s.write("opencode.json", r#"{"model": "anthropic/claude-opus-4-1"}"#)
        .config("{ sources: [{kind: 'claude', base_url: 'http://127.0.0.1:9'}] }");
    let out = s.run(&["watch", "opencode.json", "--once", "-vvv"]);
    out.code(0)
        .stderr_has(".credentials.json is not valid JSON");
    assert_hidden(&s, &[out], "broken credentials");
}

#[test]
fn credentials_in_a_target_are_masked_in_diffs() {
    let s = Sandbox::new();
    s.write(
        "opencode.json",
        &format!(
            "{{\n  \"provider\": {{ \"zai\": {{ \"options\": {{ \"apiKey\": \"{CANARY}\" }} }} }},\n  \"model\": \"zai/glm-4.6\",\n  \"small_model\": \"zai/glm-4.6\"\n}}\n"
        ),
    )
    .config("{fallbacks: {'zai/glm-4.6': ['deepseek/chat']}}")
    .quota(r#"{"zai": {"status": "RED"}}"#);
    let out = s.run(&["watch", "opencode.json", "--once", "--dry-run", "-vvv"]);
    out.code(0);
    assert!(
        out.stdout.contains("\"apiKey\": \"***\""),
        "the key line is in the diff's context, masked:\n{}",
        out.stdout
    );
    assert_hidden(&s, &[out], "OpenCode apiKey");
    // Claude Code: a credential of the target's own env, next to a switched slot.
    let s = Sandbox::new();
    s.write(
        ".claude/settings.json",
        &format!("{{\n  \"env\": {{\n    \"ANTHROPIC_MODEL\": \"opus\",\n    \"GITHUB_TOKEN\": \"{CANARY}\"\n  }}\n}}\n"),
    )
    .config("{fallbacks: {'opus': ['sonnet']}}")
    .quota(r#"{"claude": {"windows": {"seven_day_opus": {"utilization": 99, "models": ["opus"]}}}}"#);
    let out = s.run(&[
        "watch",
        ".claude/settings.json",
        "--once",
        "--dry-run",
        "-vvv",
    ]);
    out.code(0);
    assert!(
        out.stdout.contains("\"GITHUB_TOKEN\": \"***\""),
        "{}",
        out.stdout
    );
    assert_hidden(&s, &[out], "Claude env token");
}
