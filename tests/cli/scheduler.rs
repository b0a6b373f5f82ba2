//! The poll scheduler against a loopback HTTP source (a quota-sentinel daemon served by
//! wiremock): one poll per source however many targets use it, what a failed poll says, and a
//! `Retry-After` carried over to one-shot runs. Timings (intervals, backoff, `Retry-After` in the
//! daemon) are tested under tokio's paused clock in `daemon::poller` and `source::schedule`, not
//! here against the wall clock.

use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::harness::Sandbox;

const TARGET: &str = r#"{"model": "zai-coding-plan/glm-4.6"}"#;

fn config(uri: &str, interval: f64) -> String {
    format!(
        "{{ fallbacks: {{ 'zai-coding-plan/glm-4.6': ['deepseek/deepseek-chat'] }},
            sources: [{{ kind: 'quota-sentinel', base_url: '{uri}', interval: {interval}, api_key_env: 'SENTINEL_KEY' }}] }}"
    )
}

fn sandbox(uri: &str, interval: f64) -> Sandbox {
    let mut s = Sandbox::new();
    s.env("SENTINEL_KEY", "canary-sentinel-key-7f3a");
    s.write("a/opencode.json", TARGET)
        .write("b/opencode.json", TARGET)
        .config(&config(uri, interval));
    s
}

async fn requests(server: &MockServer) -> usize {
    server.received_requests().await.unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_request_per_interval_for_two_targets_sharing_a_provider() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/providers"))
        .and(header("X-API-Key", "canary-sentinel-key-7f3a"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(r#"{"providers": {"zai": {"status": "RED"}}}"#),
        )
        .mount(&server)
        .await;
    let s = sandbox(&server.uri(), 3600.0);
    let d = s.daemon(&["a/opencode.json", "b/opencode.json"]);
    d.wait("both switched", || {
        s.read("a/opencode.json").contains("deepseek")
            && s.read("b/opencode.json").contains("deepseek")
    });
    assert_eq!(requests(&server).await, 1);
    let log = d.log();
    assert!(!log.contains("canary-sentinel-key"), "{log}");
    for file in s.state_files() {
        let text = std::fs::read_to_string(s.state_dir().join(&file)).unwrap_or_default();
        assert!(!text.contains("canary-sentinel-key"), "{file}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_error_keeps_the_last_data_and_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let s = sandbox(&server.uri(), 0.2);
    let d = s.daemon(&["a/opencode.json"]);
    // The daemon keeps polling after a failure (the spacing is the paused-clock tests' business).
    d.wait_line("HTTP 500", 2);
    assert!(requests(&server).await >= 2, "{}", d.log());
    assert!(
        d.log()
            .contains("HTTP 500; its providers keep their last data until it is stale"),
        "{}",
        d.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn honours_retry_after_also_across_one_shot_runs() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "3600"))
        .mount(&server)
        .await;
    let s = sandbox(&server.uri(), 0.2);
    let d = s.daemon(&["a/opencode.json"]);
    d.wait_line("HTTP 429", 1);
    let log = d.log();
    assert_eq!(d.stop(), 0);
    assert_eq!(requests(&server).await, 1, "{log}");
    // The next allowed poll is in the state dir: a one-shot run uses the last data instead.
    s.once("a/opencode.json").code(0);
    assert_eq!(requests(&server).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_source_leaves_providers_unknown_and_exits_0_with_one_warning() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let s = sandbox(&server.uri(), 60.0);
    let out = s.once("a/opencode.json");
    out.code(0).stdout_is("");
    assert_eq!(out.stderr.matches("warning:").count(), 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("quota-sentinel http://127.0.0.1:"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("canary"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_shot_runs_poll_every_time_after_a_success() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"zai": {"status": "GREEN"}}"#))
        .mount(&server)
        .await;
    let s = sandbox(&server.uri(), 3600.0);
    for n in 1..=3 {
        s.once("a/opencode.json").code(0);
        assert_eq!(requests(&server).await, n, "each run reads quota once");
    }
}
