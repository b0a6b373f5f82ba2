//! Resource bounds: files above 64 MiB are refused unread, provider answers above 4 MiB are cut
//! off, durations from a config or a server cannot overflow what the tool computes with them, and
//! on Linux the executable needs no relocating at its start.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::harness::{OPENCODE, Sandbox};

const LIMIT: u64 = 64 << 20;
/// Far beyond memory: reading it would take minutes or end in an OOM kill, so a quick refusal
/// shows the file was never read.
const HUGE: u64 = 1 << 40;
const ZAI: &str = "/api/monitor/usage/quota/limit";

/// Grows `rel` to `len` bytes without writing them (a sparse file).
fn sparse(s: &Sandbox, rel: &str, len: u64) {
    let file = File::options()
        .create(true)
        .append(true)
        .open(s.path(rel))
        .unwrap();
    file.set_len(len).unwrap();
}

/// Length and modification time: what changes if anything writes the file.
fn stamp(s: &Sandbox, rel: &str) -> (u64, std::time::SystemTime) {
    let meta = fs::metadata(s.path(rel)).unwrap();
    (meta.len(), meta.modified().unwrap())
}

/// `build.rs` links the binary at a fixed address: the ELF header says `ET_EXEC` (2), where a
/// position-independent executable, relocated at every start, says `ET_DYN` (3). Unless the build
/// asked for the latter (`SWITCHER_PIE=1`).
#[test]
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn the_linux_binary_is_not_relocated_at_start() {
    let wanted = if option_env!("SWITCHER_PIE") == Some("1") {
        3
    } else {
        2
    };
    let mut header = [0u8; 18];
    File::open(env!("CARGO_BIN_EXE_switcher"))
        .unwrap()
        .read_exact(&mut header)
        .unwrap();
    assert_eq!(&header[..4], b"\x7fELF");
    assert_eq!(
        u16::from_le_bytes([header[16], header[17]]),
        wanted,
        "e_type"
    );
}

#[test]
fn a_target_above_64_mib_is_refused_unread() {
    for len in [LIMIT + 1, HUGE] {
        let s = Sandbox::new();
        s.write("opencode.json", OPENCODE)
            .config(r#"{fallbacks: {"zai-coding-plan/glm-4.6": ["deepseek/deepseek-chat"]}}"#)
            .quota(r#"{"zai": {"status": "RED"}}"#);
        sparse(&s, "opencode.json", len);
        let before = stamp(&s, "opencode.json");
        let start = Instant::now();
        let out = s.once("opencode.json");
        out.code(1).stderr_has(&format!(
            "error: opencode.json: cannot read: file is {} MiB, above the 64 MiB limit",
            len.div_ceil(1 << 20)
        ));
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{:?}",
            start.elapsed()
        );
        assert_eq!(stamp(&s, "opencode.json"), before);
        assert_eq!(
            fs::read_dir(s.work()).unwrap().count(),
            3,
            "no temp file left"
        );
    }
}

#[test]
fn a_target_of_exactly_64_mib_is_read() {
    let s = Sandbox::new();
    s.write("opencode.json", OPENCODE);
    sparse(&s, "opencode.json", LIMIT);
    // Read, and refused for what it holds (NUL bytes after the object), not for its size.
    let out = s.once("opencode.json");
    out.code(1).stderr_has("error: opencode.json:8:1: ");
    assert!(!out.stderr.contains("limit"), "{}", out.stderr);
}

#[test]
fn a_status_file_above_64_mib_is_refused_unread() {
    for len in [LIMIT + 1, HUGE] {
        let s = Sandbox::new();
        s.write("opencode.json", OPENCODE)
            .config(r#"{fallbacks: {"zai-coding-plan/glm-4.6": ["deepseek/deepseek-chat"]}}"#)
            .quota(r#"{"zai": {"status": "GREEN"}}"#);
        s.once("opencode.json").code(0).stdout_is("");
        s.quota(r#"{"zai": {"status": "RED"}}"#);
        sparse(&s, "quota.json", len);
        let start = Instant::now();
        let out = s.run(&["watch", "opencode.json", "--once", "--json"]);
        out.code(0).stderr_has(&format!(
            "warning: status file quota.json: file is {} MiB, above the 64 MiB limit; \
             the providers it covered are UNKNOWN",
            len.div_ceil(1 << 20)
        ));
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{:?}",
            start.elapsed()
        );
        assert_eq!(out.stderr.matches("warning:").count(), 1, "{}", out.stderr);
        assert_eq!(out.json()["providers"]["zai"]["status"], "UNKNOWN");
        assert_eq!(s.read("opencode.json"), OPENCODE);
    }
}

#[test]
fn a_config_above_64_mib_is_refused_unread() {
    let s = Sandbox::new();
    s.write("opencode.json", OPENCODE).config("{}");
    sparse(&s, "switcher.json5", HUGE);
    s.once("opencode.json")
        .code(1)
        .stderr_has("switcher.json5: cannot read: file is 1048576 MiB, above the 64 MiB limit");
    assert!(s.state_files().is_empty());
}

fn zai_sandbox(base_url: &str) -> Sandbox {
    let mut s = Sandbox::new();
    s.env("Z_AI_API_KEY", "canary-zai-key");
    // The fixture's windows reset on 2026-11-21 and 2026-11-24: read it as of a time before then.
    s.env("SWITCHER_NOW", "2026-11-21T12:00:00Z");
    s.write("opencode.json", OPENCODE).config(&format!(
        "{{ fallbacks: {{ 'zai-coding-plan/glm-4.6': ['deepseek/deepseek-chat'] }},
            sources: [{{ kind: 'zai', base_url: '{base_url}', timeout: 5 }}] }}"
    ));
    s
}

fn exhausted() -> String {
    fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/providers/zai/exhausted.json"
    ))
    .unwrap()
}

/// Checks a run whose zai answer was refused: one warning saying why, zai UNKNOWN, no change.
fn refused_answer(s: &Sandbox, why: &str) {
    let out = s.run(&["watch", "opencode.json", "--once", "--json"]);
    out.code(0).stderr_has(why);
    assert_eq!(out.stderr.matches("warning:").count(), 1, "{}", out.stderr);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    let json = out.json();
    assert_eq!(json["providers"]["zai"]["status"], "UNKNOWN");
    assert_eq!(json["changes"], serde_json::json!([]));
    assert_eq!(s.read("opencode.json"), OPENCODE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_answer_above_4_mib_is_refused() {
    let server = MockServer::start().await;
    // Valid JSON padded past the limit: only its size is wrong.
    let mut body = exhausted();
    body.push_str(&" ".repeat((4 << 20) + 1 - body.len()));
    Mock::given(method("GET"))
        .and(path(ZAI))
        .respond_with(ResponseTemplate::new(200).set_body_string(body))
        .mount(&server)
        .await;
    let s = zai_sandbox(&server.uri());
    refused_answer(&s, "zai: the answer is larger than 4 MiB");
    tokio::task::yield_now().await;
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_answer_of_exactly_4_mib_is_read() {
    let server = MockServer::start().await;
    let mut body = exhausted();
    body.push_str(&" ".repeat((4 << 20) - body.len()));
    Mock::given(method("GET"))
        .and(path(ZAI))
        .respond_with(ResponseTemplate::new(200).set_body_string(body))
        .mount(&server)
        .await;
    let s = zai_sandbox(&server.uri());
    s.once("opencode.json").code(0).stdout_is(
        "opencode.json: agent.build.model: zai-coding-plan/glm-4.6 -> deepseek/deepseek-chat \
         (zai five_hour 100% >= 90%)\n\
         opencode.json: model: zai-coding-plan/glm-4.6 -> deepseek/deepseek-chat \
         (zai five_hour 100% >= 90%)\n",
    );
    tokio::task::yield_now().await;
    drop(server);
}

/// An answer without a length that never ends: reading stops at the limit, memory stays bounded
/// and the run ends.
#[test]
fn an_endless_provider_answer_is_cut_off() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    let server = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut conn = loop {
            match listener.accept() {
                Ok((conn, _)) => break conn,
                Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
                Err(e) => panic!("no request came: {e}"),
            }
        };
        conn.set_nonblocking(false).unwrap();
        let mut request = [0u8; 4096];
        let _ = conn.read(&mut request);
        let chunk = format!("{:x}\r\n{}\r\n", 1 << 16, " ".repeat(1 << 16));
        conn.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            .unwrap();
        let mut sent = 0usize;
        // Stops when the client hangs up, or after 64 MiB at the latest.
        while sent < 64 << 20 && conn.write_all(chunk.as_bytes()).is_ok() {
            sent += 1 << 16;
        }
        sent
    });
    let s = zai_sandbox(&format!("http://{addr}"));
    refused_answer(&s, "zai: the answer is larger than 4 MiB");
    let sent = server.join().unwrap();
    assert!(sent < 64 << 20, "the client kept reading: {sent} bytes");
}

/// A `Retry-After` far in the future used to overflow the next-poll time and panic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_absurd_retry_after_is_capped_not_a_panic() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(ZAI))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1e300"))
        .mount(&server)
        .await;
    let s = zai_sandbox(&server.uri());
    refused_answer(&s, "zai: HTTP 429: rate limited");
    // The next poll waits as asked, within a year: the second run does not ask again.
    s.once("opencode.json").code(0);
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    tokio::task::yield_now().await;
    drop(server);
}

/// An absurd but finite `poll_interval` used to overflow the same computation.
#[test]
fn an_absurd_poll_interval_is_not_a_panic() {
    let s = Sandbox::new();
    s.write("opencode.json", OPENCODE)
        .config(r#"{poll_interval: 1e300, fallbacks: {"zai-coding-plan/glm-4.6": ["deepseek/deepseek-chat"]}}"#)
        .quota(r#"{"zai": {"status": "RED"}}"#);
    s.once("opencode.json").code(0).stdout_is(
        "opencode.json: agent.build.model: zai-coding-plan/glm-4.6 -> deepseek/deepseek-chat \
         (zai status RED)\n\
         opencode.json: model: zai-coding-plan/glm-4.6 -> deepseek/deepseek-chat (zai status RED)\n",
    );
    s.run(&["status", "opencode.json"]).code(0);
}
