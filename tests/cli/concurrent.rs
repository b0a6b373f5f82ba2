//! Concurrent writers (README, Reliability): while the daemon switches a target back and forth,
//! another process edits another key of the same file many times a second. No write of the daemon
//! may be based on content older than its re-check, so every edit made by rename-over must survive.
//!
//! A writer that truncates and rewrites the file in place has no atomic step to compare against:
//! between its `open(O_TRUNC)` and its write the file is empty, and a daemon swapping its
//! version in at that instant wins. The compare-and-swap narrows that window to the kernel's own
//! lookup-to-truncate time (measured: 0 lost in three ten-second runs, 1 in 344 under heavy
//! parallel load, against 2.6–5% lost without the swap check), so for in-place writers the test
//! tolerates 1%.
//!
//! The default run edits for a few seconds; `cargo test -- --ignored` runs ten seconds per writer.

use std::fs;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::harness::Sandbox;

const TARGET: &str =
    "{\n  \"model\": \"zai-coding-plan/glm-4.6\",\n  \"edit\": 0,\n  \"theme\": \"dark\"\n}\n";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Writer {
    /// Writes a temp file and renames it over the target, as editors do.
    RenameOver,
    /// Truncates the target and writes into it.
    InPlace,
}

#[derive(Debug)]
struct Report {
    writer: Writer,
    edits: u64,
    lost: u64,
    switches: usize,
    per_second: f64,
}

fn edit_value(text: &str) -> Option<u64> {
    let start = text.find("\"edit\": ")? + 8;
    let end = start + text[start..].find(|c: char| !c.is_ascii_digit())?;
    text[start..end].parse().ok()
}

fn run(writer: Writer, seconds: u64) -> Report {
    let s = Sandbox::new();
    s.write("opencode.json", TARGET)
        .config("{recovery_hold: 1, poll_interval: 3600, fallbacks: {'zai-coding-plan/glm-4.6': ['deepseek/deepseek-chat']}}")
        .quota(r#"{"zai": {"status": "GREEN"}}"#);
    let d = s.daemon(&["opencode.json"]);
    let stop = Arc::new(AtomicBool::new(false));

    // Flips the provider so the daemon keeps switching and restoring.
    let flipper = {
        let (stop, quota, tmp) = (
            stop.clone(),
            s.path("quota.json"),
            s.path("quota.json.flip"),
        );
        std::thread::spawn(move || {
            let mut red = true;
            while !stop.load(Ordering::Relaxed) {
                let status = if red { "RED" } else { "GREEN" };
                fs::write(&tmp, format!(r#"{{"zai": {{"status": "{status}"}}}}"#)).unwrap();
                fs::rename(&tmp, &quota).unwrap();
                red = !red;
                std::thread::sleep(Duration::from_millis(25));
            }
        })
    };

    let target = s.path("opencode.json");
    let tmp = s.path("opencode.json.editor");
    let (mut edits, mut lost) = (0u64, 0u64);
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(seconds) {
        let text = fs::read_to_string(&target).unwrap();
        let Some(seen) = edit_value(&text) else {
            // Our own in-place write read half-done: read again.
            continue;
        };
        if seen < edits {
            lost += 1;
        }
        edits += 1;
        let next = text.replacen(
            &format!("\"edit\": {seen}"),
            &format!("\"edit\": {edits}"),
            1,
        );
        match writer {
            Writer::RenameOver => {
                fs::write(&tmp, &next).unwrap();
                fs::rename(&tmp, &target).unwrap();
            }
            Writer::InPlace => {
                let mut file = fs::OpenOptions::new()
                    .write(true)
                    .truncate(true)
                    .open(&target)
                    .unwrap();
                file.write_all(next.as_bytes()).unwrap();
            }
        }
        std::thread::sleep(Duration::from_millis(8));
    }
    let per_second = edits as f64 / start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    flipper.join().unwrap();
    // Once the daemon has settled, the last edit is still there.
    std::thread::sleep(Duration::from_millis(300));
    let last = edit_value(&s.read("opencode.json"));
    if last != Some(edits) {
        lost += 1;
    }
    let switches = d.count("info: switched") + d.count("info: restored");
    assert!(!d.log().contains("panicked"), "{}", d.log());
    assert_eq!(d.stop(), 0);
    let report = Report {
        writer,
        edits,
        lost,
        switches,
        per_second,
    };
    eprintln!("concurrent {writer:?} for {seconds} s: {report:?}");
    report
}

fn check(report: &Report) {
    assert!(
        report.edits > 100,
        "too few edits to prove much: {report:?}"
    );
    assert!(
        report.per_second >= 50.0,
        "too slow an editor to prove much: {report:?}"
    );
    // How often the daemon manages to switch depends on how often the editor clobbers it; that
    // it switched at all shows it worked throughout.
    assert!(
        report.switches >= 2,
        "the daemon did not switch: {report:?}"
    );
    match report.writer {
        Writer::RenameOver => assert_eq!(report.lost, 0, "edits were overwritten: {report:?}"),
        Writer::InPlace => assert!(
            report.lost * 100 <= report.edits,
            "more than 1% of the edits were overwritten: {report:?}"
        ),
    }
}

fn seconds() -> u64 {
    std::env::var("SWITCHER_CONCURRENT_SECONDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3)
}

#[test]
fn edits_made_by_rename_over_while_the_daemon_switches_are_all_kept() {
    check(&run(Writer::RenameOver, seconds()));
}

#[test]
fn edits_made_in_place_while_the_daemon_switches_are_kept_but_for_a_rare_race() {
    check(&run(Writer::InPlace, seconds()));
}

#[test]
#[ignore = "the full run: cargo test -- --ignored"]
fn ten_seconds_of_each_writer() {
    for writer in [Writer::RenameOver, Writer::InPlace] {
        check(&run(writer, 10));
    }
}
