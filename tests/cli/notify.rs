//! Desktop notifications, observed on a real session bus: each test starts a private
//! `dbus-daemon --session` and serves `org.freedesktop.Notifications` on it, recording every
//! `Notify` call. Where no `dbus-daemon` is installed the tests say so and pass.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use crate::harness::{CHAINS, OPENCODE, Sandbox};

/// One `Notify` call: its summary and body.
type Call = (String, String);

/// A private session bus with a notification service on it.
struct Bus {
    daemon: Child,
    address: String,
    calls: Arc<Mutex<Vec<Call>>>,
    _runtime: tokio::runtime::Runtime,
    _server: zbus::Connection,
    /// The bus's socket lives here, so it goes with the test (the session bus's own default is
    /// a socket in /tmp that a killed daemon leaves behind).
    _socket_dir: tempfile::TempDir,
}

struct Server {
    calls: Arc<Mutex<Vec<Call>>>,
}

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl Server {
    #[allow(clippy::too_many_arguments)]
    fn notify(
        &self,
        _app_name: String,
        _replaces_id: u32,
        _app_icon: String,
        summary: String,
        body: String,
        _actions: Vec<String>,
        _hints: HashMap<String, zbus::OwnedVariant>,
        _expire_timeout: i32,
    ) -> u32 {
        let mut calls = self.calls.lock().unwrap();
        calls.push((summary, body));
        calls.len() as u32
    }

    fn get_capabilities(&self) -> Vec<String> {
        vec!["body".into()]
    }

    fn get_server_information(&self) -> (String, String, String, String) {
        ("test".into(), "switcher".into(), "1".into(), "1.2".into())
    }
}

impl Bus {
    /// Starts the bus and the service, or `None` (said on stderr) without a `dbus-daemon`.
    fn start() -> Option<Bus> {
        let socket_dir = tempfile::tempdir().unwrap();
        let listen = format!("--address=unix:dir={}", socket_dir.path().display());
        let started = Command::new("dbus-daemon")
            .args([
                "--session",
                "--print-address",
                "--nofork",
                "--nopidfile",
                &listen,
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn();
        let mut daemon = match started {
            Ok(child) => child,
            Err(e) => {
                eprintln!("skipped: no dbus-daemon to test notifications with ({e})");
                return None;
            }
        };
        let mut address = String::new();
        BufReader::new(daemon.stdout.take().unwrap())
            .read_line(&mut address)
            .unwrap();
        let address = address.trim().to_owned();
        let calls = Arc::new(Mutex::new(Vec::new()));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let server = Server {
            calls: calls.clone(),
        };
        let connection = runtime
            .block_on(
                zbus::connection::Builder::address(address.as_str())
                    .name("org.freedesktop.Notifications")
                    .serve_at("/org/freedesktop/Notifications", server)
                    .build(),
            )
            .expect("the notification service starts");
        Some(Bus {
            daemon,
            address,
            calls,
            _runtime: runtime,
            _server: connection,
            _socket_dir: socket_dir,
        })
    }

    /// A sandbox whose runs see this bus and a display, as in a desktop session.
    fn sandbox(&self) -> Sandbox {
        let mut s = Sandbox::new();
        s.env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .env("DISPLAY", ":99");
        s
    }

    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    /// Waits (with a deadline) until `n` calls have arrived; returns them all.
    fn wait_calls(&self, n: usize) -> Vec<Call> {
        let start = std::time::Instant::now();
        while self.calls().len() < n {
            assert!(
                start.elapsed() < crate::harness::DEADLINE,
                "{n} notifications expected, got {:?}",
                self.calls()
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        self.calls()
    }
}

impl Drop for Bus {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

const NOW: &str = "2026-11-21T19:00:00Z";
/// zai's five-hour window is spent until 21:00; copilot is YELLOW.
const RED: &str = r#"{
  "zai": {"windows": {"five_hour": {"utilization": 93.5, "resets_at": "2026-11-21T21:00:00Z"}}},
  "copilot": {"windows": {"premium_interactions": {"utilization": 80, "resets_at": "2026-12-01T00:00:00Z"}}},
  "deepseek": {"status": "GREEN"}
}"#;
const GREEN: &str = r#"{
  "zai": {"windows": {"five_hour": {"utilization": 1, "resets_at": "2026-11-22T02:00:00Z"}}},
  "copilot": {"windows": {"premium_interactions": {"utilization": 80, "resets_at": "2026-12-01T00:00:00Z"}}},
  "deepseek": {"status": "GREEN"}
}"#;

/// The same without reset times, for runs on the real clock.
const RED_NOW: &str = r#"{
  "zai": {"windows": {"five_hour": {"utilization": 93.5}}},
  "copilot": {"windows": {"premium_interactions": {"utilization": 80}}},
  "deepseek": {"status": "GREEN"}
}"#;
const GREEN_NOW: &str = r#"{
  "zai": {"windows": {"five_hour": {"utilization": 1}}},
  "copilot": {"windows": {"premium_interactions": {"utilization": 80}}},
  "deepseek": {"status": "GREEN"}
}"#;

#[test]
fn a_switch_a_crossing_a_reset_and_a_restore_each_notify_once() {
    let Some(bus) = Bus::start() else { return };
    let mut s = bus.sandbox();
    s.write("opencode.json", OPENCODE)
        .config(&CHAINS.replace("fallbacks", "recovery_hold: 1, fallbacks"))
        .quota(RED);
    s.env("SWITCHER_NOW", NOW);
    s.once("opencode.json").code(0);
    let calls = bus.wait_calls(2);
    assert_eq!(
        calls,
        [
            (
                "switcher: moved off zai".to_owned(),
                "opencode.json: agent.build.model: zai-coding-plan/glm-4.6 → deepseek/deepseek-chat\n\
                 opencode.json: model: zai-coding-plan/glm-4.6 → deepseek/deepseek-chat\n\
                 why: zai five_hour 93.5% >= 90%"
                    .to_owned()
            ),
            (
                "switcher: copilot is YELLOW".to_owned(),
                "copilot premium_interactions 80% >= 75%\nused by opencode.json: agent.review.model"
                    .to_owned()
            ),
        ]
    );

    // The same state again, and an hour later: nothing new to say.
    s.once("opencode.json").code(0);
    s.env("SWITCHER_NOW", "2026-11-21T20:00:00Z");
    s.once("opencode.json").code(0);
    assert_eq!(bus.calls().len(), 2, "{:?}", bus.calls());

    // Four minutes before zai resets: once, however many runs.
    s.env("SWITCHER_NOW", "2026-11-21T20:56:00Z");
    s.once("opencode.json").code(0);
    s.env("SWITCHER_NOW", "2026-11-21T20:57:00Z");
    s.once("opencode.json").code(0);
    let calls = bus.wait_calls(3);
    assert_eq!(calls.len(), 3, "{calls:?}");
    assert_eq!(calls[2].0, "switcher: zai resets in 4 min");
    assert_eq!(
        calls[2].1,
        "then opencode.json: agent.build.model can go back to zai-coding-plan/glm-4.6\n\
         opencode.json: model can go back to zai-coding-plan/glm-4.6"
    );

    // Reset and recovered.
    s.quota(GREEN);
    s.env("SWITCHER_NOW", "2026-11-21T21:01:00Z");
    s.once("opencode.json").code(0);
    let calls = bus.wait_calls(4);
    assert_eq!(calls.len(), 4, "{calls:?}");
    assert_eq!(calls[3].0, "switcher: back on zai");
    assert!(
        calls[3].1.ends_with("why: zai GREEN for 1 observation"),
        "{}",
        calls[3].1
    );
}

#[test]
fn off_when_the_config_says_so_or_without_a_desktop() {
    let Some(bus) = Bus::start() else { return };
    let s = bus.sandbox();
    s.write("opencode.json", OPENCODE)
        .config(&CHAINS.replace("fallbacks", "notify: false, fallbacks"))
        .quota(RED_NOW);
    assert!(s.once("opencode.json").code(0).stdout.contains(" -> "));
    // No display: not a desktop session, so off by default.
    let mut s = Sandbox::new();
    s.env("DBUS_SESSION_BUS_ADDRESS", &bus.address);
    s.write("opencode.json", OPENCODE)
        .config(CHAINS)
        .quota(RED_NOW);
    assert!(s.once("opencode.json").code(0).stdout.contains(" -> "));
    assert!(
        s.run(&["watch", "--restore"])
            .code(0)
            .stdout
            .contains("(restored)")
    );
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(bus.calls(), vec![]);
    // `notify: true` turns them on even so.
    s.config(&CHAINS.replace("fallbacks", "notify: true, fallbacks"));
    s.once("opencode.json").code(0);
    assert_eq!(bus.wait_calls(1)[0].0, "switcher: moved off zai");
}

#[test]
fn restore_and_the_daemon_notify_and_nothing_is_repeated_across_them() {
    let Some(bus) = Bus::start() else { return };
    let s = bus.sandbox();
    s.write("opencode.json", OPENCODE)
        .config(&CHAINS.replace("fallbacks", "notify: true, fallbacks"))
        .quota(GREEN_NOW);
    let daemon = s.daemon(&["opencode.json"]);
    s.rename_over("quota.json", RED_NOW);
    daemon.wait_line("switched", 2);
    let calls = bus.wait_calls(2);
    assert!(
        calls.iter().any(|c| c.0 == "switcher: moved off zai"),
        "{calls:?}"
    );
    assert!(
        calls.iter().any(|c| c.0 == "switcher: copilot is YELLOW"),
        "{calls:?}"
    );
    assert_eq!(daemon.stop(), 0);
    // A one-shot run sees what the daemon notified.
    s.once("opencode.json").code(0);
    s.run(&["watch", "--restore"]).code(0);
    let calls = bus.wait_calls(3);
    assert_eq!(calls.len(), 3, "{calls:?}");
    assert_eq!(calls[2].0, "switcher: back on zai");
    assert!(calls[2].1.ends_with("why: restored"), "{}", calls[2].1);
}

#[test]
fn a_profile_token_never_reaches_a_notification() {
    let Some(bus) = Bus::start() else { return };
    let mut s = bus.sandbox();
    s.env("ZAI_API_KEY", "canary-secret-4242");
    s.write(
        "home/.claude/settings.json",
        "{\n  \"model\": \"opus\"\n}\n",
    );
    s.config(
        r#"{
  fallbacks: { opus: ["profile:glm"] },
  profiles: { glm: { provider: "zai", model: "opus",
    env: { ANTHROPIC_BASE_URL: "https://api.z.ai/api/anthropic", ANTHROPIC_AUTH_TOKEN: "${ZAI_API_KEY}" } } },
}"#,
    )
    .quota(r#"{"anthropic": {"status": "RED"}, "zai": {"status": "GREEN"}}"#);
    s.run(&[
        "watch",
        "home/.claude/settings.json",
        "--kind",
        "claude",
        "--once",
    ])
    .code(0);
    let calls = bus.wait_calls(1);
    assert_eq!(calls[0].0, "switcher: moved off anthropic");
    for (summary, body) in &calls {
        assert!(
            !summary.contains("canary") && !body.contains("canary"),
            "{body}"
        );
    }
    s.run(&["watch", "--restore"]).code(0);
    for (summary, body) in &bus.wait_calls(2) {
        assert!(
            !summary.contains("canary") && !body.contains("canary"),
            "{body}"
        );
    }
}
