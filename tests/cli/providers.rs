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
    /// Extra fields of its config entry.
    entry: &'static str,
    /// Environment variables to set.
    env: &'static [(&'static str, &'static str)],
    /// Credential files to write, relative to HOME.
    files: &'static [(&'static str, &'static str)],
    method: &'static str,
    path: &'static str,
    /// Headers the request must carry.
    headers: &'static [(&'static str, &'static str)],
    /// A model the source's provider serves, and the provider's id.
    model: &'static str,
    provider: &'static str,
    /// The reason the exhausted fixture gives for switching away from `model`.
    reason: &'static str,
}

const TOKEN: &str = "canary-token-0c4f71";

const CASES: &[Case] = &[Case {
    kind: "zai",
    entry: "",
    env: &[("Z_AI_API_KEY", TOKEN)],
    files: &[],
    method: "GET",
    path: "/api/monitor/usage/quota/limit",
    headers: &[("authorization", "Bearer canary-token-0c4f71")],
    model: "zai-coding-plan/glm-4.6",
    provider: "zai",
    reason: "zai five_hour 100% >= 90%",
}];

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
    let mut s = Sandbox::new();
    s.env("SWITCHER_NOW", "2026-11-21T12:00:00Z");
    for (k, v) in case.env {
        s.env(k, v);
    }
    for (rel, content) in case.files {
        let path = s.home().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    s.write(
        "opencode.json",
        &format!("{{\"model\": \"{}\"}}", case.model),
    )
    .config(&format!(
        "{{ fallbacks: {{ '{}': ['fallback/model'] }},
            sources: [{{ kind: '{}', base_url: '{}', timeout: {timeout} {} }}] }}",
        case.model,
        case.kind,
        server.uri(),
        case.entry
    ));
    s
}

async fn serve(case: &Case, response: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    let mut mock = Mock::given(method(case.method)).and(path(case.path));
    for (name, value) in case.headers {
        mock = mock.and(header(*name, *value));
    }
    mock.respond_with(response).mount(&server).await;
    server
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
        let server = serve(
            case,
            ResponseTemplate::new(200).set_body_string(fixture(case.kind, "exhausted.json")),
        )
        .await;
        let s = sandbox(case, &server, 5.0);
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
                s.once("opencode.json").code(0);
                assert_eq!(
                    server.received_requests().await.unwrap().len(),
                    1,
                    "{} {what}",
                    case.kind
                );
            }
        }
    }
}
