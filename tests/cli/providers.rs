//! Built-in provider sources through the binary, against a loopback server serving the
//! fixtures of `fixtures/providers/`: the switch they decide, the request they send, and that
//! their tokens appear nowhere but in the request.

use std::path::Path;
use std::time::Duration;

use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::harness::Sandbox;

/// One source: how to give it credentials, what it must send, and a model it governs.
struct Case {
    kind: &'static str,
    /// Environment variables to set (`TOKEN` stands for the canary token).
    env: &'static [(&'static str, &'static str)],
    /// Credential files to write under HOME: (path, fixture, the fixture's token to replace).
    files: &'static [(&'static str, &'static str, &'static str)],
    method: &'static str,
    path: &'static str,
    /// Headers the request must carry (`TOKEN` stands for the canary token).
    headers: &'static [(&'static str, &'static str)],
    /// Other endpoints the source calls, answered with a fixture: (method, path, fixture).
    also: &'static [(&'static str, &'static str, &'static str)],
    /// A model the source's provider serves, and the provider's id.
    model: &'static str,
    provider: &'static str,
    /// A spent answer: a real one where one was captured (`fixtures/providers/<kind>/ORIGINS.md`),
    /// and the time it is read at (before its windows reset).
    exhausted: (&'static str, &'static str),
    /// The reason that answer gives for switching away from `model`.
    reason: &'static str,
}

/// When the invented fixtures are read: before their resets.
const NOW: &str = "2026-11-21T12:00:00Z";

const TOKEN: &str = "canary-token-0c4f71";

const CASES: &[Case] = &[
    Case {
        kind: "claude",
        env: &[],
        files: &[(
            ".claude/.credentials.json",
            "credentials.json",
            "sk-ant-oat01-canary-access-token",
        )],
        method: "GET",
        path: "/api/oauth/usage",
        headers: &[
            ("authorization", "Bearer TOKEN"),
            ("anthropic-beta", "oauth-2025-04-20"),
        ],
        also: &[],
        model: "anthropic/claude-opus-4-1",
        provider: "anthropic",
        exhausted: (
            "walled-seat-2026-07-26-session100-critical-partial.json",
            "2026-07-26T20:00:00Z",
        ),
        reason: "anthropic five_hour status RED",
    },
    Case {
        kind: "codex",
        env: &[],
        files: &[(".codex/auth.json", "auth.json", "codex-canary-access-token")],
        method: "GET",
        path: "/backend-api/wham/usage",
        headers: &[
            ("authorization", "Bearer TOKEN"),
            ("chatgpt-account-id", "acct-1234-abcd"),
        ],
        also: &[],
        model: "openai/gpt-5-codex",
        provider: "openai",
        exhausted: (
            "plus-2026-05-limit-reached-5h-100.json",
            "2026-05-13T01:00:00Z",
        ),
        reason: "openai status RED",
    },
    Case {
        kind: "copilot",
        env: &[],
        files: &[(
            ".config/github-copilot/hosts.json",
            "hosts.json",
            "gho_copilotcanaryhoststoken",
        )],
        method: "GET",
        path: "/copilot_internal/user",
        headers: &[
            ("authorization", "token TOKEN"),
            ("editor-version", "vscode/1.96.2"),
            ("x-github-api-version", "2025-04-01"),
        ],
        also: &[],
        model: "github-copilot/gpt-5",
        provider: "copilot",
        exhausted: ("exhausted.json", NOW),
        reason: "copilot chat 100% >= 90%",
    },
    Case {
        kind: "deepseek",
        env: &[("DEEPSEEK_API_KEY", "TOKEN")],
        files: &[],
        method: "GET",
        path: "/user/balance",
        headers: &[("authorization", "Bearer TOKEN")],
        also: &[],
        model: "deepseek/deepseek-chat",
        provider: "deepseek",
        exhausted: ("exhausted.json", NOW),
        reason: "deepseek balance status RED",
    },
    Case {
        kind: "gemini",
        env: &[],
        files: &[(
            ".gemini/oauth_creds.json",
            "oauth_creds.json",
            "ya29.gemini-canary-access-token",
        )],
        method: "POST",
        path: "/v1internal:retrieveUserQuota",
        headers: &[("authorization", "Bearer TOKEN")],
        also: &[(
            "POST",
            "/v1internal:loadCodeAssist",
            "load_code_assist.json",
        )],
        model: "google/gemini-2.5-pro",
        provider: "gemini",
        exhausted: (
            "free-2026-05-14-seven-models-pro-spent-yapcap.json",
            "2026-05-14T12:00:00Z",
        ),
        reason: "gemini gemini-2.5-pro 100% >= 90%",
    },
    Case {
        kind: "kimi",
        env: &[("KIMI_CODE_API_KEY", "TOKEN")],
        files: &[],
        method: "GET",
        path: "/coding/v1/usages",
        headers: &[("authorization", "Bearer TOKEN")],
        also: &[],
        model: "kimi-for-coding/k2",
        provider: "kimi",
        exhausted: (
            "live-intermediate-5h-exhausted-openusage.json",
            "2026-07-24T15:00:00Z",
        ),
        reason: "kimi five_hour 100% >= 90%",
    },
    Case {
        kind: "minimax",
        env: &[("MINIMAX_API_KEY", "TOKEN")],
        files: &[],
        method: "GET",
        path: "/v1/api/openplatform/coding_plan/remains",
        headers: &[("authorization", "Bearer TOKEN")],
        also: &[],
        model: "minimax/MiniMax-M2",
        provider: "minimax",
        exhausted: (
            "token-plan-2026-08-general-5h-spent-status2-weekly-unlimited.json",
            "2026-08-07T02:00:00Z",
        ),
        reason: "minimax general status RED",
    },
    Case {
        kind: "moonshot",
        env: &[("MOONSHOT_API_KEY", "TOKEN")],
        files: &[],
        method: "GET",
        path: "/v1/users/me/balance",
        headers: &[("authorization", "Bearer TOKEN")],
        also: &[],
        model: "moonshotai/kimi-k2",
        provider: "moonshot",
        exhausted: ("exhausted.json", NOW),
        reason: "moonshot balance status RED",
    },
    Case {
        kind: "openrouter",
        env: &[("OPENROUTER_API_KEY", "TOKEN")],
        files: &[],
        method: "GET",
        path: "/api/v1/key",
        headers: &[("authorization", "Bearer TOKEN")],
        also: &[("GET", "/api/v1/credits", "credits_exhausted.json")],
        model: "openrouter/qwen/qwen3-coder",
        provider: "openrouter",
        exhausted: ("exhausted.json", NOW),
        reason: "openrouter balance status RED",
    },
    Case {
        kind: "zai",
        env: &[("Z_AI_API_KEY", "TOKEN")],
        files: &[],
        method: "GET",
        path: "/api/monitor/usage/quota/limit",
        headers: &[("authorization", "Bearer TOKEN")],
        also: &[],
        model: "zai-coding-plan/glm-4.6",
        provider: "zai",
        exhausted: (
            "pro-tokens-5h-spent-100-weekly30.json",
            "2026-09-02T05:00:00Z",
        ),
        reason: "zai five_hour 100% >= 90%",
    },
];

fn token(text: &str) -> String {
    text.replace("TOKEN", TOKEN)
}

fn fixture(kind: &str, name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/providers")
            .join(kind)
            .join(name),
    )
    .unwrap()
}

fn sandbox(case: &Case, server: &MockServer, timeout: f64) -> Sandbox {
    sandbox_at(case, server, timeout, NOW)
}

fn sandbox_at(case: &Case, server: &MockServer, timeout: f64, now: &str) -> Sandbox {
    let mut s = Sandbox::new();
    s.env("SWITCHER_NOW", now);
    for (k, v) in case.env {
        s.env(k, &token(v));
    }
    for (rel, name, original) in case.files {
        let path = s.home().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, fixture(case.kind, name).replace(original, TOKEN)).unwrap();
    }
    s.write(
        "opencode.json",
        &format!("{{\"model\": \"{}\"}}", case.model),
    )
    .config(&format!(
        "{{ fallbacks: {{ '{}': ['fallback/model'] }},
            sources: [{{ kind: '{}', base_url: '{}', timeout: {timeout} }}] }}",
        case.model,
        case.kind,
        server.uri(),
    ));
    s
}

async fn serve(case: &Case, response: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    for (verb, at, name) in case.also {
        Mock::given(method(*verb))
            .and(path(*at))
            .respond_with(ResponseTemplate::new(200).set_body_string(fixture(case.kind, name)))
            .mount(&server)
            .await;
    }
    let mut mock = Mock::given(method(case.method)).and(path(case.path));
    for (name, value) in case.headers {
        mock = mock.and(header(*name, token(value).as_str()));
    }
    mock.respond_with(response).mount(&server).await;
    server
}

/// Drops a mock server from a fresh scheduling budget: its drop blocks on its own state, which
/// livelocks once a long test loop has spent tokio's cooperative budget.
async fn release(server: MockServer) {
    tokio::task::yield_now().await;
    drop(server);
}

fn assert_no_token(s: &Sandbox, outputs: &[&crate::harness::Output]) {
    for out in outputs {
        assert!(
            !out.stdout.contains(TOKEN) && !out.stderr.contains(TOKEN),
            "a token leaked:\n{}\n{}",
            out.stdout,
            out.stderr
        );
    }
    for file in s.state_files() {
        let text = std::fs::read_to_string(s.state_dir().join(&file)).unwrap_or_default();
        assert!(!text.contains(TOKEN), "{file} holds the token");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_source_decides_a_switch_from_its_answer() {
    for case in CASES {
        let (spent, now) = case.exhausted;
        let server = serve(
            case,
            ResponseTemplate::new(200).set_body_string(fixture(case.kind, spent)),
        )
        .await;
        let s = sandbox_at(case, &server, 5.0, now);
        let out = s.run(&["watch", "opencode.json", "--once", "-vvv"]);
        out.code(0).stdout_is(&format!(
            "opencode.json: model: {} -> fallback/model ({})\n",
            case.model, case.reason
        ));
        let json = s.run(&["status", "opencode.json", "--json", "-vvv"]);
        json.code(0);
        assert_ne!(
            json.json()["providers"][case.provider]["status"],
            "UNKNOWN",
            "{}",
            case.kind
        );
        let requests = server.received_requests().await.unwrap();
        assert!(
            !requests.is_empty(),
            "{}: the request did not match method, path and headers",
            case.kind
        );
        assert_no_token(&s, &[&out, &json]);
        release(server).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_leave_the_provider_unknown_with_one_warning() {
    for case in CASES {
        let failures: Vec<(&str, ResponseTemplate, &str)> = vec![
            ("401", ResponseTemplate::new(401), "HTTP 401"),
            (
                "429",
                ResponseTemplate::new(429).insert_header("Retry-After", "120"),
                "HTTP 429",
            ),
            ("500", ResponseTemplate::new(500), "HTTP 500"),
            (
                "timeout",
                ResponseTemplate::new(200)
                    .set_body_string("{}")
                    .set_delay(Duration::from_secs(3)),
                "no answer within",
            ),
            (
                "not JSON",
                ResponseTemplate::new(200).set_body_string("<html>maintenance</html>"),
                "",
            ),
        ];
        for (what, response, expected) in failures {
            let server = serve(case, response).await;
            let s = sandbox(case, &server, 0.5);
            let out = s.run(&["watch", "opencode.json", "--once", "--json"]);
            out.code(0);
            assert_eq!(
                out.stderr.matches("warning:").count(),
                1,
                "{} {what}:\n{}",
                case.kind,
                out.stderr
            );
            assert!(
                out.stderr.contains(expected),
                "{} {what}:\n{}",
                case.kind,
                out.stderr
            );
            let json = out.json();
            assert_eq!(
                json["changes"],
                serde_json::json!([]),
                "{} {what}",
                case.kind
            );
            assert_eq!(
                json["providers"][case.provider]["status"], "UNKNOWN",
                "{} {what}",
                case.kind
            );
            let error = json["providers"][case.provider]["error"]
                .as_str()
                .unwrap_or_default();
            assert!(
                error.contains(expected) && !error.contains("no data yet"),
                "{} {what}: {error}",
                case.kind
            );
            assert_no_token(&s, &[&out]);
            if what == "429" {
                // The next allowed poll is kept: a second run uses the last data, asks nothing.
                let asked = server.received_requests().await.unwrap().len();
                s.once("opencode.json").code(0);
                assert_eq!(
                    server.received_requests().await.unwrap().len(),
                    asked,
                    "{} {what}",
                    case.kind
                );
            }
            release(server).await;
        }
    }
}

#[test]
fn a_command_source_feeds_a_status_document() {
    let s = Sandbox::new();
    s.write("opencode.json", r#"{"model": "zai/glm-4.6"}"#)
        .write("status.json", r#"{"zai-coding-plan": {"status": "RED"}}"#)
        .config(
            r#"{ fallbacks: { 'zai/glm-4.6': ['deepseek/chat'] }, recovery_hold: 1,
                 sources: [{ kind: 'command', command: ['sh', '-c', 'cat status.json || { echo quota service down >&2; exit 2; }'] }] }"#,
        );
    s.once("opencode.json")
        .code(0)
        .stdout_is("opencode.json: model: zai/glm-4.6 -> deepseek/chat (zai status RED)\n");
    // The same command now fails: its providers are UNKNOWN at once, so nothing moves.
    std::fs::remove_file(s.path("status.json")).unwrap();
    let out = s.once("opencode.json");
    out.code(0)
        .stdout_is("")
        .stderr_has("sh exited with status 2");
    assert!(s.read("opencode.json").contains("deepseek/chat"));
    let json = s.run(&["status", "opencode.json", "--json"]).json();
    assert_eq!(json["providers"]["zai"]["status"], "UNKNOWN");
}

#[test]
fn a_command_that_fails_before_its_first_answer_leaves_its_slots_unknown() {
    let s = Sandbox::new();
    s.write("opencode.json", r#"{"model": "zai/glm-4.6"}"#).config(
        r#"{ fallbacks: { 'zai/glm-4.6': ['deepseek/chat'] },
             sources: [{ kind: 'command', command: ['sh', '-c', 'echo unauthorized >&2; exit 1'] }] }"#,
    );
    let out = s.once("opencode.json");
    out.code(0).stdout_is("");
    let json = s.run(&["status", "opencode.json", "--json"]).json();
    assert_eq!(json["slots"][0]["status"], "UNKNOWN", "{json}");
    assert_eq!(json["slots"][0]["provider"], "zai", "{json}");
    assert!(
        !json.to_string().contains(r#""*""#),
        "no provider is named `*`: {json}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_credentials_forget_earlier_data_but_a_server_error_keeps_it() {
    let case = CASES.iter().find(|c| c.kind == "zai").unwrap();
    let server = serve(
        case,
        ResponseTemplate::new(200).set_body_string(fixture("zai", "ok.json")),
    )
    .await;
    let mut s = sandbox(case, &server, 5.0);
    s.once("opencode.json").code(0);
    let status = |s: &Sandbox| {
        s.run(&["status", "opencode.json", "--json"]).json()["providers"]["zai"]["status"].clone()
    };
    assert_eq!(status(&s), "GREEN");
    // A server error: the data of a moment ago still stands (until stale_after).
    server.reset().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    s.once("opencode.json").code(0);
    assert_eq!(status(&s), "GREEN");
    // A rejected key (once the backoff after the 503 has passed): nothing that key once said can
    // be trusted any more.
    s.env("SWITCHER_NOW", "2026-11-21T12:05:00Z");
    server.reset().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    s.once("opencode.json")
        .code(0)
        .stderr_has("HTTP 401: check the API key");
    assert_eq!(status(&s), "UNKNOWN");
    release(server).await;
}
