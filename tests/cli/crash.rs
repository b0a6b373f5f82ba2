//! Crash safety (README, Reliability): `switcher` killed with SIGKILL at random points while it
//! switches and restores. After every kill the target parses and holds exactly its old or its new
//! content, and a following `--restore` gives back the original bytes.
//!
//! The default run makes a few dozen kills; `cargo test -- --ignored` makes over a thousand.

use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant};

use crate::harness::Sandbox;

/// A target with what byte-exactness can trip on: a BOM, CRLF, comments, trailing commas,
/// escapes and non-ASCII text.
const ORIGINAL: &str = "\u{feff}{\r\n    // main model — «GLM»\r\n    \"model\": \"zai-coding-plan/glm-4.6\",\r\n    \"agent\": {\r\n        \"build\": { \"model\": \"zai-coding-plan/glm-4.6\", \"prompt\": \"\\u00e9t\\u00e9 \\\"quoted\\\"\", },\r\n    },\r\n}\r\n";
const RED: &str = r#"{"zai": {"status": "RED"}}"#;

fn switched() -> String {
    ORIGINAL.replace("\"zai-coding-plan/glm-4.6\"", "\"deepseek/deepseek-chat\"")
}

#[derive(Default, Debug)]
struct Tally {
    kills: usize,
    /// Runs that finished before the signal arrived.
    finished: usize,
    /// Kills after which the target still held its old content, or already its new one.
    left_old: usize,
    left_new: usize,
    /// Kills that left a temp file beside the target: killed in the middle of a write.
    mid_write: usize,
}

/// The median duration of a whole `switcher` run here, to spread kills over it.
fn typical_run(s: &Sandbox) -> Duration {
    let mut times: Vec<Duration> = (0..5)
        .map(|_| {
            let start = Instant::now();
            s.once("opencode.json").code(0);
            s.run(&["watch", "--restore"]).code(0);
            start.elapsed() / 2
        })
        .collect();
    times.sort();
    times[2]
}

fn kill_runs(target_kills: usize) -> Tally {
    let s = Sandbox::new();
    s.write("opencode.json", ORIGINAL)
        .config("{recovery_hold: 1, fallbacks: {'zai-coding-plan/glm-4.6': ['deepseek/deepseek-chat']}}")
        .quota(RED);
    let typical = typical_run(&s);
    let seed = fastrand::u64(..);
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut tally = Tally::default();
    let mut round = 0usize;
    while tally.kills < target_kills {
        round += 1;
        assert!(
            round < target_kills * 20,
            "too few kills landed (seed {seed}): {tally:?}"
        );
        // Odd rounds kill a switch; even rounds kill a restore of a completed switch.
        let restoring = round.is_multiple_of(2);
        if restoring {
            s.once("opencode.json").code(0);
            assert_eq!(s.read("opencode.json"), switched());
        }
        let before = s.read("opencode.json");
        let after = if restoring {
            ORIGINAL.to_owned()
        } else {
            switched()
        };
        let args: &[&str] = if restoring {
            &["watch", "--restore"]
        } else {
            &[
                "watch",
                "opencode.json",
                "--once",
                "--quota-file",
                "quota.json",
                "--config",
                "switcher.json5",
            ]
        };
        let mut child = s
            .command(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let delay = typical.mul_f64(rng.f64() * 1.3);
        std::thread::sleep(delay);
        let _ = child.kill();
        let status = child.wait().unwrap();
        if status.signal() == Some(9) {
            tally.kills += 1;
            if s.temp_files() > 0 {
                tally.mid_write += 1;
            }
        } else {
            assert_eq!(
                status.code(),
                Some(0),
                "an unkilled run failed (seed {seed})"
            );
            tally.finished += 1;
        }
        let now = s.read("opencode.json");
        if now == before {
            tally.left_old += 1;
        } else if now == after {
            tally.left_new += 1;
        } else {
            panic!("round {round} (seed {seed}): the target is neither old nor new:\n{now:?}");
        }
        // Whatever the kill left, a restore puts back the original bytes, and no temp file.
        let restore = s.run(&["watch", "--restore"]);
        restore.code(0);
        assert_eq!(
            s.read("opencode.json"),
            ORIGINAL,
            "round {round} (seed {seed}): {}",
            restore.stderr
        );
        assert_eq!(
            s.temp_files(),
            0,
            "round {round}: a temp file outlived the restore"
        );
    }
    eprintln!("crash harness (seed {seed}, run ~{typical:?}): {tally:?}");
    tally
}

#[test]
fn sigkill_at_random_points_never_corrupts_or_loses_the_original() {
    let kills = std::env::var("SWITCHER_CRASH_KILLS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(50);
    let tally = kill_runs(kills);
    assert!(tally.kills >= kills);
}

#[test]
#[ignore = "the full count: cargo test -- --ignored"]
fn a_thousand_sigkills() {
    let tally = kill_runs(1000);
    assert!(
        tally.left_old > 0 && tally.left_new > 0,
        "kills landed on both sides of the write: {tally:?}"
    );
}
