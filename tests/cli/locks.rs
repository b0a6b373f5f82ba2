//! A lock of the state dir that another switcher holds and does not let go of (a cron `--once`
//! stopped with SIGSTOP, a slow NFS home): the daemon keeps watching, reading and answering
//! signals around it, a one-shot run gives up with exit 1, and both name the lock and its holder.

use std::time::Instant;

use crate::harness::{CHAINS, Sandbox};

const TARGET: &str = "{\n  \"model\": \"zai-coding-plan/glm-4.6\",\n  \"theme\": \"dark\"\n}\n";
const RED: &str = r#"{"zai": {"status": "RED"}}"#;
const GREEN: &str = r#"{"zai": {"status": "GREEN"}}"#;
const HOLDER: &str = "pid 4242: switcher watch --once";
/// How long a switcher waits for a held lock before giving up on it.
const LOCK_TIMEOUT_SECS: u64 = 5;

fn sandbox(quota: &str) -> Sandbox {
    let s = Sandbox::new();
    s.write("opencode.json", TARGET)
        .config(&CHAINS.replace("fallbacks", "poll_interval: 3600, fallbacks"))
        .quota(quota);
    s
}

fn switched(s: &Sandbox) -> bool {
    s.read("opencode.json").contains("deepseek/deepseek-chat")
}

#[test]
fn the_daemon_works_around_a_held_state_lock_and_stops_at_once() {
    let s = sandbox(RED);
    let held = s.hold_lock("quota.lock", HOLDER);
    // It starts watching while its first pass waits for the lock…
    let d = s.daemon(&["opencode.json"]);
    // …gives up on the lock with its holder named, and acts on the data it read.
    d.wait_line(&format!("quota.lock is held by {HOLDER}"), 1);
    d.wait("the switch", || switched(&s));
    // It still sees the status file change while the next wait is on.
    let seen = d.count("observed");
    s.rename_over("quota.json", GREEN);
    d.wait_line("observed", seen + 1);
    // A signal calls that wait off: it exits 0 without waiting the lock out.
    let stopping = Instant::now();
    assert_eq!(d.stop(), 0);
    assert!(
        stopping.elapsed().as_secs() < LOCK_TIMEOUT_SECS,
        "waited {:?} to stop",
        stopping.elapsed()
    );
    // The target's own lock is released: a restore (which needs no quota lock) can take it.
    s.run(&["watch", "opencode.json", "--restore"]).code(0);
    assert_eq!(s.read("opencode.json"), TARGET);
    drop(held);
}

#[test]
fn a_one_shot_run_gives_up_on_a_held_state_lock_with_exit_1() {
    let s = sandbox(RED);
    let _held = s.hold_lock("quota.lock", HOLDER);
    s.once("opencode.json")
        .code(1)
        .stderr_has(&format!("quota.lock is held by {HOLDER}; gave up after"));
    assert_eq!(s.read("opencode.json"), TARGET, "nothing is written");
}
