//! `switcher statusline` (README, "Claude Code status line"): the command Claude Code runs after
//! every message to draw its status line. Claude Code hands it a JSON document on stdin; when
//! that holds `rate_limits` (the five-hour and seven-day windows of a claude.ai subscription,
//! `used_percentage` 0–100 and `resets_at` unix seconds) they are recorded in the signals dir as
//! provider `anthropic` — an observation that costs no API call and needs no credential. Then it
//! prints one short line: the model, both windows with a small bar and the time to their reset,
//! and the switches in force for the session's project (in Claude Code's files only).
//!
//! It runs after every message, so it does as little as it can: no config, no source, no lock;
//! the signal file is written only when what it says changed. Whatever its input, it prints a
//! line and exits 0: a status line that errors shows nothing at all. `--then CMD...` runs the
//! user's own status-line command with the same stdin and prints its output after ours, which is
//! printed and flushed first; a command still running after two seconds is killed.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use serde_json::{Map, Value, json};

use crate::engine::human_duration;
use crate::env::Env;
use crate::error::Outcome;
use crate::source::signals;
use crate::state::StateDir;
use crate::target::Kind;

/// The signal file's writer name.
const WRITER: &str = "claude-statusline";

/// More stdin than this is not a status-line document.
const MAX_INPUT: u64 = 1024 * 1024;

/// How long the user's own status line (`--then`) may run: Claude Code waits for the whole
/// output, and a newer message replaces the line anyway.
const THEN_TIMEOUT: Duration = Duration::from_secs(2);

/// Cells in a window's bar.
const BAR: usize = 5;

/// The windows Claude Code hands over, and how the line names them.
const WINDOWS: [(&str, &str); 2] = [("five_hour", "5h"), ("seven_day", "7d")];

/// What the line says about one window.
#[derive(Clone, Debug, PartialEq)]
struct Use {
    percent: f64,
    resets_at: Option<Timestamp>,
}

/// What the status line reads from its input.
#[derive(Clone, Debug, Default, PartialEq)]
struct Input {
    model: Option<String>,
    /// The project's dir (`workspace.project_dir`, else the current one).
    dir: Option<PathBuf>,
    windows: Vec<(&'static str, &'static str, Use)>,
}

/// Reads Claude Code's status-line JSON; anything else gives an empty input.
fn parse(text: &str) -> Input {
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return Input::default();
    };
    let model = (value["model"]["display_name"].as_str())
        .or(value["model"]["id"].as_str())
        .filter(|m| !m.trim().is_empty())
        .map(|m| m.trim().to_owned());
    let dir = [
        &value["workspace"]["project_dir"],
        &value["workspace"]["current_dir"],
        &value["cwd"],
    ]
    .into_iter()
    .find_map(|v| v.as_str().filter(|d| !d.is_empty()))
    .map(PathBuf::from);
    let windows = WINDOWS
        .iter()
        .filter_map(|&(name, short)| {
            let window = &value["rate_limits"][name];
            // A window without its reset is not one Claude Code handed over whole: left out,
            // so a stray figure never judges a provider for good.
            let percent = number(&window["used_percentage"])?.clamp(0.0, 100.0);
            let resets_at = number(&window["resets_at"])
                .filter(|s| *s > 0.0)
                .map(|s| if s >= 1e12 { s } else { s * 1000.0 })
                .and_then(|ms| Timestamp::from_millisecond(ms as i64).ok())?;
            let resets_at = Some(resets_at);
            Some((name, short, Use { percent, resets_at }))
        })
        .collect();
    Input {
        model,
        dir,
        windows,
    }
}

fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|n: &f64| n.is_finite())
}

/// The signal the windows make: a status document for `anthropic`; none without windows.
fn document(input: &Input) -> Option<Value> {
    if input.windows.is_empty() {
        return None;
    }
    let mut windows = Map::new();
    for (name, _, used) in &input.windows {
        let mut window = json!({ "utilization": used.percent });
        if let Some(at) = used.resets_at {
            window["resets_at"] = json!(at.to_string());
        }
        windows.insert((*name).to_owned(), window);
    }
    Some(json!({ "anthropic": { "windows": windows } }))
}

/// The line: model, windows, switches.
fn line(input: &Input, switches: &[String], now: Timestamp) -> String {
    let mut parts = Vec::new();
    if let Some(model) = &input.model {
        parts.push(format!("[{model}]"));
    }
    for (_, short, used) in &input.windows {
        // A window past its reset has started again: 0%, as switcher judges it (README, How
        // it decides), until Claude Code hands over the new figure.
        let (used_percent, reset) = match used.resets_at {
            Some(at) if at > now => (
                used.percent,
                format!(" ↻{}", human_duration(at.duration_since(now).as_secs_f64())),
            ),
            Some(_) => (0.0, String::new()),
            None => (used.percent, String::new()),
        };
        let filled = ((used_percent.clamp(0.0, 100.0) / 100.0) * BAR as f64).round() as usize;
        let bar = format!("{}{}", "█".repeat(filled), "░".repeat(BAR - filled));
        let percent = crate::quota::percent(used_percent);
        parts.push(format!("{short} {bar} {percent}{reset}"));
    }
    match switches {
        [] => {}
        [one] => parts.push(format!("⇄ {one}")),
        [first, rest @ ..] => parts.push(format!("⇄ {first} +{}", rest.len())),
    }
    if parts.is_empty() {
        return "switcher".to_owned();
    }
    parts.join(" │ ")
}

/// The switches in force in `dir`'s project: recorded for a target under it, or for Claude
/// Code's user-level files (which every project uses). `from→to`, or `→profile <name>`.
fn switches(state_dir: &Path, dir: Option<&Path>, claude_dir: Option<&Path>) -> Vec<String> {
    let Some(dir) = dir else {
        return Vec::new();
    };
    let real = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_owned());
    let scopes: Vec<PathBuf> = [Some(dir), claude_dir]
        .into_iter()
        .flatten()
        .map(real)
        .collect();
    // Only what a Claude Code session reads: an OpenCode switch in the same project is not this
    // session's.
    let wanted = |target: &Path, kind| {
        matches!(kind, Kind::Claude | Kind::ClaudeAgent)
            && scopes.iter().any(|s| target.starts_with(s))
    };
    let Ok(states) = StateDir::new(state_dir.to_owned()).targets_where(&[], wanted) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for state in states.into_iter().flatten() {
        if let Some(profile) = &state.profile {
            let from = state.kind.decode(&profile.original);
            out.push(format!("{from}→profile {}", profile.profile));
        }
        for switch in &state.switches {
            let (from, to) = (
                switch.original_model(state.kind),
                state.kind.decode(&switch.written),
            );
            out.push(format!("{from}→{to}"));
        }
    }
    out.dedup();
    out
}

/// Writes the signal unless the file already says the same.
fn record(state_dir: &Path, document: &Value) {
    let path = signals::dir(state_dir).join(format!("{WRITER}.json"));
    let mut text = serde_json::to_string_pretty(document).unwrap_or_default();
    text.push('\n');
    if std::fs::read_to_string(&path).is_ok_and(|old| old == text) {
        return;
    }
    if let Err(e) = signals::write(state_dir, WRITER, document) {
        eprintln!("switcher statusline: cannot write {}: {e}", path.display());
    }
}

/// Runs the user's own status line with the same stdin: one argument is a shell command (as
/// Claude Code runs it), several are a program and its arguments. Its stdout, trimmed; nothing
/// when it is still running after [`THEN_TIMEOUT`] (it is killed, with what it started).
fn then(command: &[String], stdin: &[u8]) -> Option<String> {
    let mut cmd = match command {
        [] => return None,
        [line] if cfg!(windows) => {
            let mut c = Command::new("cmd");
            c.args(["/C", line]);
            c
        }
        [line] => {
            let mut c = Command::new("sh");
            c.args(["-c", line]);
            c
        }
        [program, args @ ..] => {
            let mut c = Command::new(program);
            c.args(args);
            c
        }
    };
    crate::hooks::own_group(&mut cmd);
    let child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) => {
            eprintln!("switcher statusline: cannot run {}: {e}", command[0]);
            return None;
        }
    };
    // Fed and read aside, so that a command that reads nothing, or writes much, cannot block
    // the wait below. A command that does not read its stdin closes the pipe: not an error.
    // Without a thread (a process limit), the command reads an empty stdin, and its output is
    // not shown.
    if let Some(mut input) = child.stdin.take() {
        let stdin = stdin.to_vec();
        let _ = std::thread::Builder::new().spawn(move || {
            let _ = input.write_all(&stdin);
        });
    }
    let (tx, rx) = std::sync::mpsc::channel();
    if let Some(output) = child.stdout.take() {
        let _ = std::thread::Builder::new().spawn(move || {
            let mut bytes = Vec::new();
            let _ = output.take(MAX_INPUT).read_to_end(&mut bytes);
            let _ = tx.send(bytes);
        });
    }
    let deadline = Instant::now() + THEN_TIMEOUT;
    if !matches!(crate::hooks::wait_until(&mut child, deadline), Ok(Some(_))) {
        eprintln!(
            "switcher statusline: {} still running after {} s; killed",
            command[0],
            THEN_TIMEOUT.as_secs()
        );
        return None;
    }
    // What it left running may still hold the pipe: what was written by now is its output.
    let bytes = rx
        .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        .ok()?;
    let text = String::from_utf8_lossy(&bytes);
    let text = text.trim_end_matches(['\n', '\r']);
    (!text.is_empty()).then(|| text.to_owned())
}

/// The command: record, print, chain. Always exits 0.
pub(crate) fn run(state_dir: Option<PathBuf>, command: &[String], env: &Env) -> Outcome {
    let mut stdin = Vec::new();
    let input = std::io::stdin();
    if !input.is_terminal() {
        let _ = input.lock().take(MAX_INPUT).read_to_end(&mut stdin);
    }
    let parsed = parse(&String::from_utf8_lossy(&stdin));
    let now = (env.var("SWITCHER_NOW").and_then(|t| t.parse().ok())).unwrap_or_else(Timestamp::now);
    let mut switches_in_force = Vec::new();
    if let Some(state_dir) = &state_dir {
        if let Some(document) = document(&parsed) {
            record(state_dir, &document);
        }
        let claude_dir = env.claude_dir();
        switches_in_force = switches(state_dir, parsed.dir.as_deref(), claude_dir.as_deref());
    }
    // Ours first, flushed: whatever the user's command does, the line is there.
    let mut out = line(&parsed, &switches_in_force, now);
    out.push('\n');
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(out.as_bytes());
    let _ = stdout.flush();
    if let Some(mut theirs) = then(command, &stdin) {
        theirs.push('\n');
        let _ = stdout.write_all(theirs.as_bytes());
        let _ = stdout.flush();
    }
    Outcome::Ok
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape Claude Code hands a status-line command (README, "Claude Code status line").
    const INPUT: &str = r#"{"session_id":"s","transcript_path":"/h/.claude/projects/-w-app/s.jsonl","cwd":"/w/app",
        "model":{"id":"claude-opus-4-6","display_name":"Opus 4.6"},
        "workspace":{"current_dir":"/w/app/src","project_dir":"/w/app"},
        "version":"2.1.332","cost":{"total_cost_usd":0.42},
        "rate_limits":{"five_hour":{"used_percentage":23.5,"resets_at":1795279200},
                       "seven_day":{"used_percentage":41,"resets_at":1795786800}}}"#;

    fn now() -> Timestamp {
        "2026-11-21T14:10:00Z".parse().unwrap()
    }

    #[test]
    fn windows_become_an_anthropic_signal_and_a_line() {
        let input = parse(INPUT);
        assert_eq!(input.model.as_deref(), Some("Opus 4.6"));
        assert_eq!(input.dir.as_deref(), Some(Path::new("/w/app")));
        let doc = document(&input).unwrap();
        assert_eq!(
            doc["anthropic"]["windows"]["five_hour"]["utilization"],
            23.5
        );
        assert_eq!(
            doc["anthropic"]["windows"]["five_hour"]["resets_at"],
            "2026-11-21T16:40:00Z"
        );
        let reports =
            crate::source::status_doc::parse(&doc.to_string(), &Default::default()).unwrap();
        assert_eq!(reports["anthropic"].windows["seven_day"].utilization, 41.0);
        assert_eq!(
            line(&input, &["opus→glm-4.6".to_owned()], now()),
            "[Opus 4.6] │ 5h █░░░░ 23.5% ↻2h30m │ 7d ██░░░ 41% ↻5d23h │ ⇄ opus→glm-4.6"
        );
    }

    #[test]
    fn what_the_real_claude_code_hands_over() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/claude-logs/statusline-stdin-2.1.332.json");
        let input = parse(&std::fs::read_to_string(path).unwrap());
        assert_eq!(input.model.as_deref(), Some("Opus 5.5"));
        assert_eq!(input.dir.as_deref(), Some(Path::new("/tmp/cl-e2e/proj")));
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        assert_eq!(
            line(&input, &[], at("2026-12-06T02:29:28Z")),
            "[Opus 5.5] │ 5h ██░░░ 35% ↻1h30m │ 7d ██░░░ 42% ↻3d07h"
        );
        // Past the five-hour reset: that window has started again.
        assert_eq!(
            line(&input, &[], at("2026-12-06T04:00:00Z")),
            "[Opus 5.5] │ 5h ░░░░░ 0% │ 7d ██░░░ 42% ↻3d05h"
        );
    }

    #[test]
    fn bad_or_partial_input_gives_a_minimal_line_and_no_signal() {
        for text in ["", "garbage", "[]", "{}", r#"{"rate_limits": null}"#] {
            let input = parse(text);
            assert_eq!(document(&input), None, "{text}");
            assert_eq!(line(&input, &[], now()), "switcher", "{text}");
        }
        // No reset: not recorded; out of range: clamped; not a number: dropped.
        let odd = parse(
            r#"{"model":{"id":"m"},"rate_limits":{"five_hour":{"used_percentage":"12"},
                "seven_day":{"used_percentage":-3,"resets_at":1795786800}}}"#,
        );
        assert_eq!(line(&odd, &[], now()), "[m] │ 7d ░░░░░ 0% ↻5d23h");
        let high = parse(
            r#"{"rate_limits":{"five_hour":{"used_percentage":250,"resets_at":"1795279200"},
                "seven_day":{"used_percentage":"NaN","resets_at":1795786800}}}"#,
        );
        let doc = document(&high).unwrap();
        assert_eq!(
            doc["anthropic"]["windows"]["five_hour"]["utilization"],
            100.0
        );
        assert!(doc["anthropic"]["windows"].get("seven_day").is_none());
        let inf = parse(r#"{"rate_limits":{"five_hour":{"used_percentage":1e999,"resets_at":1}}}"#);
        assert_eq!(document(&inf), None);
        assert_eq!(
            line(&Input::default(), &["a→b".into(), "c→d".into()], now()),
            "⇄ a→b +1"
        );
    }

    #[test]
    fn only_claude_code_switches_are_shown() {
        let state = tempfile::tempdir().unwrap();
        let project = tempfile::tempdir().unwrap();
        let project = project.path().canonicalize().unwrap();
        let dir = StateDir::new(state.path().to_owned());
        for (kind, file, from, to) in [
            ("claude", ".claude/settings.json", "opus", "sonnet"),
            ("claude-agent", ".claude/agents/r.md", "opus", "haiku"),
            (
                "opencode",
                "opencode.json",
                "zai/glm-4.6",
                "deepseek/deepseek-chat",
            ),
            (
                "opencode-agent",
                ".opencode/agent/p.md",
                "zai/glm-4.6",
                "kimi/k2",
            ),
        ] {
            let record: crate::plan::TargetState = serde_json::from_value(json!({
                "version": 1, "target": project.join(file), "display": file, "kind": kind,
                "switches": [{"slot": ["model"], "original": format!("\"{from}\""),
                    "provider": "p", "written": format!("\"{to}\""),
                    "at": "2026-11-21T14:00:00Z", "reason": "r"}]
            }))
            .unwrap();
            dir.save_target(&record).unwrap();
        }
        let mut shown = switches(state.path(), Some(&project), None);
        shown.sort();
        assert_eq!(shown, ["opus→haiku", "opus→sonnet"]);
    }
}
