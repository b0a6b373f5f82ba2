use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::*;
use crate::journal::Entry;
use crate::quota::Window;
use crate::tui::snapshot::SwitchRow;

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn snapshot() -> Snapshot {
    let window = |used: f64, resets: Option<&str>| Window {
        utilization: used,
        resets_at: resets.map(at),
        status: None,
        models: None,
    };
    Snapshot {
        providers: vec![
            ProviderRow {
                name: "anthropic".into(),
                status: "YELLOW",
                level: Some(Level::Yellow),
                observed: Some(at("2026-11-21T18:59:30Z")),
                note: None,
                windows: vec![
                    WindowRow {
                        name: "five_hour".into(),
                        window: window(80.0, Some("2026-11-21T20:05:00Z")),
                        level: Level::Yellow,
                        // 1% a minute: full in 20 min, before the reset.
                        slope: Some(1.0 / 60.0),
                    },
                    WindowRow {
                        name: "seven_day".into(),
                        window: window(40.5, Some("2026-11-25T09:00:00Z")),
                        level: Level::Green,
                        slope: None,
                    },
                ],
            },
            ProviderRow {
                name: "zai".into(),
                status: "RED",
                level: Some(Level::Red),
                observed: Some(at("2026-11-21T18:58:00Z")),
                note: None,
                windows: vec![WindowRow {
                    name: "five_hour".into(),
                    window: window(93.5, Some("2026-11-21T21:30:00Z")),
                    level: Level::Red,
                    // 1% an hour: 96% when it resets.
                    slope: Some(1.0 / 3600.0),
                }],
            },
        ],
        switches: vec![SwitchRow {
            target: "opencode.json".into(),
            slot: "model".into(),
            current: "deepseek/deepseek-chat".into(),
            original: "zai-coding-plan/glm-4.6".into(),
            reason: "zai five_hour 93.5% >= 90%".into(),
        }],
        events: (0..12)
            .map(|i| Entry {
                at: at("2026-11-21T18:00:00Z") + jiff::SignedDuration::from_mins(i),
                kind: "switch".into(),
                target: "opencode.json".into(),
                path: None,
                slot: format!("agent.a{i}.model"),
                from: "zai-coding-plan/glm-4.6".into(),
                to: "deepseek/deepseek-chat".into(),
                reason: "zai five_hour 93.5% >= 90%".into(),
            })
            .collect(),
        targets: 1,
        errors: vec![],
    }
}

fn screen(snap: &Snapshot, width: u16, height: u16) -> Vec<String> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|f| draw(f, snap, at("2026-11-21T19:00:00Z"), Paint(false)))
        .unwrap();
    let buffer = terminal.backend().buffer().clone();
    (0..height)
        .map(|y| {
            (0..width)
                .map(|x| buffer[(x, y)].symbol().to_owned())
                .collect::<String>()
                .trim_end()
                .to_owned()
        })
        .collect()
}

#[test]
fn an_80_by_24_terminal_shows_providers_switches_and_the_newest_events() {
    let lines = screen(&snapshot(), 80, 24);
    let text = lines.join("\n");
    assert!(
        lines[0].starts_with(" switcher · 2 providers · 1 target · 19:00:00"),
        "{text}"
    );
    assert!(lines[0].ends_with("q quits"), "{text}");
    for expected in [
        "anthropic  YELLOW  observed 30s ago",
        "  five_hour  ██████████████████░░░░░    80% resets in 1h05m · full in 20m",
        "  seven_day  █████████░░░░░░░░░░░░░░  40.5% resets in 3d14h",
        "zai        RED     observed 2m ago",
        "93.5% resets in 2h30m · ≈96% at reset",
        "│opencode.json: model: zai-coding-plan/glm-4.6 → deepseek/deepseek-chat ",
        "│  since zai five_hour 93.5% >= 90% ",
        "opencode.json: agent.a11.model → deepseek/deepseek-chat (zai five",
    ] {
        assert!(text.contains(expected), "missing {expected:?}:\n{text}");
    }
    // The oldest events give way to the newest; none is cut in the middle of the list.
    assert!(!text.contains("agent.a0.model"), "{text}");
    assert!(lines.iter().all(|l| l.chars().count() <= 80));
}

#[test]
fn providers_that_do_not_fit_are_counted_not_cut_silently() {
    let mut snap = snapshot();
    let more = snap.providers.clone();
    snap.providers.extend(more.clone());
    snap.providers.extend(more);
    // 6 providers, 15 lines: an 80×24 screen has room for 14 beside the switch and 1 event.
    let text = screen(&snap, 80, 24).join("\n");
    assert!(
        text.contains("… 2 more lines: a taller terminal shows them"),
        "{text}"
    );
    let text = screen(&snap, 80, 40).join("\n");
    assert!(!text.contains("more lines"), "{text}");
}

#[test]
fn empty_and_tiny_terminals_still_draw() {
    let text = screen(&Snapshot::default(), 80, 24).join("\n");
    assert!(text.contains("no quota data yet"), "{text}");
    assert!(
        text.contains("none: every slot holds its original"),
        "{text}"
    );
    assert!(text.contains("no switch or restore yet"), "{text}");
    screen(&snapshot(), 20, 5);
    screen(&snapshot(), 200, 60);
}
