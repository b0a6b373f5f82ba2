//! The human view of `switcher status`: which sources answer, each provider's status with its
//! windows as bars (used percent, reset countdown), the data's age or the error, and every slot
//! of every target with its original and why it holds what it holds.

use std::fmt::Write as _;
use std::path::Path;

use super::{ProviderView, providers};
use crate::apply::TargetRun;
use crate::engine::{Health, Judge, State, human_duration};
use crate::plan::SlotView;
use crate::quota::{Level, percent};

const BAR: usize = 20;

/// What `status` says about the sources themselves.
pub(crate) struct Sources<'a> {
    pub(crate) labels: Vec<&'a str>,
    /// They were found by auto-detection rather than configured.
    pub(crate) detected: bool,
    /// The signals dir's label, when it is read.
    pub(crate) signals: Option<&'a str>,
}

/// Paints words when the output is a terminal that wants colour.
#[derive(Clone, Copy)]
struct Paint(bool);

impl Paint {
    /// The status word, padded so what follows lines up.
    fn state(self, health: &Health) -> String {
        let code = match health.state {
            State::Known(level) => level_code(level),
            State::Unknown => "35",
            State::Unmonitored => "2",
        };
        let name = health.name();
        format!(
            "{}{}",
            self.wrap(code, name),
            " ".repeat(11usize.saturating_sub(name.len()))
        )
    }

    fn level(self, level: Level, text: &str) -> String {
        self.wrap(level_code(level), text)
    }

    fn dim(self, text: &str) -> String {
        self.wrap("2", text)
    }

    fn wrap(self, code: &str, text: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
}

fn level_code(level: Level) -> &'static str {
    match level {
        Level::Green => "32",
        Level::Yellow => "33",
        Level::Red => "31",
    }
}

/// Pads to a width, by characters (names may be non-ASCII).
fn pad(text: &str, width: usize) -> String {
    let n = text.chars().count();
    format!("{text}{}", " ".repeat(width.saturating_sub(n)))
}

fn bar(utilization: f64) -> String {
    let filled = ((utilization.clamp(0.0, 100.0) / 100.0) * BAR as f64).round() as usize;
    format!("{}{}", "█".repeat(filled), "░".repeat(BAR - filled))
}

pub(crate) fn status_text(
    runs: &[TargetRun],
    judge: &Judge<'_>,
    sources: &Sources<'_>,
    color: bool,
) -> String {
    let paint = Paint(color);
    let mut out = String::new();
    let unless = sources.signals.map_or(String::new(), |label| {
        format!(" unless the {label} names it")
    });
    match (sources.labels.is_empty(), sources.detected) {
        (true, true) => {
            let _ = writeln!(
                out,
                "Sources: none configured and none detected; every provider is unmonitored{unless}"
            );
        }
        (true, false) => {
            let _ = writeln!(out, "Sources: none; every provider is unmonitored{unless}");
        }
        (false, detected) => {
            let how = if detected {
                " (auto-detected: no source is configured)"
            } else {
                ""
            };
            let mut labels = sources.labels.clone();
            labels.extend(sources.signals);
            let _ = writeln!(out, "Sources{how}: {}", labels.join(", "));
        }
    }
    let providers = providers(judge);
    let name_width = providers
        .keys()
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(0)
        .max(8);
    for (name, p) in &providers {
        out.push('\n');
        provider(&mut out, name, p, name_width, judge, paint);
    }
    // Agent files are shown under their scope: the JSON target that brought them, else a
    // heading of its own.
    let mut groups: Vec<(&str, Vec<&TargetRun>)> = Vec::new();
    for run in runs {
        if let Some(scope) = &run.scope {
            match groups.iter_mut().find(|(s, _)| s == scope) {
                Some((_, members)) => members.push(run),
                None => groups.push((scope, vec![run])),
            }
        }
    }
    for run in runs.iter().filter(|r| r.scope.is_none()) {
        let _ = writeln!(out, "\n{}", run.target);
        if run.slots.is_empty() {
            out.push_str("  no model slots\n");
        }
        let slot_width = width(run.slots.iter().map(|s| s.slot.to_string()));
        let current_width = width(run.slots.iter().map(|s| s.current.clone()));
        for s in &run.slots {
            let name = s.slot.to_string();
            slot_line(&mut out, "  ", (&name, slot_width), s, current_width, paint);
        }
        if let Some(at) = groups.iter().position(|(scope, _)| *scope == run.target) {
            let (scope, members) = groups.remove(at);
            agents(&mut out, scope, &members, paint);
        }
    }
    for (scope, members) in groups {
        let _ = writeln!(out, "\n{scope}");
        agents(&mut out, scope, &members, paint);
    }
    // Padding leaves spaces at line ends; trim them.
    out.lines().map(|l| format!("{}\n", l.trim_end())).collect()
}

fn width(texts: impl Iterator<Item = impl AsRef<str>>) -> usize {
    texts.map(|t| t.as_ref().chars().count()).max().unwrap_or(0)
}

/// One slot: its name padded to a width, its current model, its status and why.
fn slot_line(
    out: &mut String,
    indent: &str,
    (name, name_width): (&str, usize),
    s: &SlotView,
    current_width: usize,
    paint: Paint,
) {
    let _ = write!(
        out,
        "{indent}{}  {}  ",
        pad(name, name_width),
        pad(&s.current, current_width)
    );
    let why = match &s.reason {
        Some(reason) => format!("on a fallback since {reason}; original {}", s.original),
        None if !s.managed => format!("{}; no fallback chain", s.health.why),
        None => s.health.why.to_string(),
    };
    let why = if s.at_restart {
        format!("{why}; running sessions follow at restart")
    } else {
        why
    };
    let _ = writeln!(out, "{}  {}", paint.state(&s.health), paint.dim(&why));
}

/// The agent files of a scope, one line each, named from the scope's directory: every agent at
/// a glance, those without a model of their own too.
fn agents(out: &mut String, scope: &str, members: &[&TargetRun], paint: Paint) {
    let base = Path::new(scope);
    // A JSON target's agents are named from its directory; a dir's from itself.
    let base = if base.extension().is_some() {
        base.parent().unwrap_or(Path::new(""))
    } else {
        base
    };
    let name = |run: &TargetRun| {
        Path::new(&run.target)
            .strip_prefix(base)
            .map_or_else(|_| run.target.clone(), |p| p.display().to_string())
    };
    let _ = writeln!(out, "  agents ({})", members.len());
    let name_width = width(members.iter().map(|r| name(r)));
    let current_width = width(
        members
            .iter()
            .flat_map(|r| r.slots.iter().map(|s| s.current.clone())),
    );
    for run in members {
        let shown = name(run);
        for s in &run.slots {
            slot_line(out, "    ", (&shown, name_width), s, current_width, paint);
        }
        if run.slots.is_empty() {
            let remark = run.remark.as_deref().unwrap_or("no model slots");
            let _ = writeln!(
                out,
                "    {}  {}",
                pad(&shown, name_width),
                paint.dim(&format!("{}{remark}", " ".repeat(current_width + 15)))
            );
        }
    }
}

fn provider(
    out: &mut String,
    name: &str,
    p: &ProviderView,
    width: usize,
    judge: &Judge<'_>,
    paint: Paint,
) {
    let _ = write!(out, "{}  {}", pad(name, width), paint.state(&p.health));
    match (&p.health.state, p.age) {
        (State::Unknown, _) => {
            let _ = write!(out, "  {}", p.health.why);
        }
        (_, Some(age)) => {
            let _ = write!(
                out,
                "  {}",
                paint.dim(&format!("observed {} ago", human_duration(age)))
            );
            if let Some(error) = &p.error {
                let _ = write!(
                    out,
                    "  {}",
                    paint.dim(&format!("(last attempt failed: {error})"))
                );
            }
        }
        _ => {}
    }
    out.push('\n');
    let window_width = p
        .windows
        .iter()
        .map(|w| w.name.chars().count())
        .max()
        .unwrap_or(0);
    for w in &p.windows {
        let used = percent(w.window.utilization);
        let _ = write!(
            out,
            "  {}  {}  {:>6}  {:<6}",
            pad(&w.name, window_width),
            paint.level(w.level, &bar(w.window.utilization)),
            used,
            paint.level(w.level, w.level.name()),
        );
        if let Some(reset) = w.window.resets_at {
            let left = reset.duration_since(judge.now).as_secs_f64();
            let when = if left > 0.0 {
                format!("resets in {}", human_duration(left))
            } else {
                "has reset".to_owned()
            };
            let _ = write!(out, "  {when}");
        }
        if let Some(models) = &w.window.models {
            let _ = write!(out, "  {}", paint.dim(&format!("({} only)", scope(models))));
        }
        out.push('\n');
    }
}

/// A window's model scope as a user reads it: an exact entry (`=gemini-2.5-flash`) without its
/// marker.
fn scope(models: &[String]) -> String {
    let names: Vec<&str> = (models.iter())
        .map(|m| m.strip_prefix(crate::quota::EXACT).unwrap_or(m))
        .collect();
    names.join(", ")
}
