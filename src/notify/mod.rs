//! Desktop notifications (README, Notifications): what is worth telling a person who is not
//! looking at a terminal, and never twice.
//!
//! This part is pure: from a pass's runs and the judgement it was made with, the notices — a
//! switch or a restore (what, where, why), a provider that governs a managed slot crossing into
//! YELLOW or RED, and a RED provider that a slot waits on resetting within five minutes — and,
//! from what was sent before ([`Sent`], kept in the state dir), the ones not sent yet in their
//! provider's reset period. [`desktop`] shows them.

pub(crate) mod desktop;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::apply::TargetRun;
use crate::engine::{Health, Judge, human_duration};
use crate::plan::{Change, ChangeKind, SlotView};
use crate::quota::Level;

/// How long before a reset the "resets in" notice comes.
const SOON: SignedDuration = SignedDuration::from_mins(5);
/// The period of a provider that names no reset time.
const DEFAULT_PERIOD: SignedDuration = SignedDuration::from_hours(1);

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Event {
    Switch,
    Restore,
    Yellow,
    Red,
    ResetSoon,
}

/// One notification, about one provider.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Notice {
    pub(crate) event: Event,
    pub(crate) provider: String,
    /// The end of the provider's reset period: no other notice of this event and provider
    /// before then.
    pub(crate) until: Timestamp,
    pub(crate) summary: String,
    pub(crate) body: String,
}

/// What has been notified, persisted so that one-shot runs from cron do not repeat it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Sent {
    #[serde(default)]
    pub(crate) sent: Vec<SentNotice>,
    /// The level each provider governing a managed slot was last seen at, to tell a crossing.
    #[serde(default)]
    pub(crate) levels: BTreeMap<String, Level>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct SentNotice {
    pub(crate) event: Event,
    pub(crate) provider: String,
    pub(crate) until: Timestamp,
}

impl Sent {
    /// Keeps the notices whose event and provider have not been notified in their period yet,
    /// and remembers them; forgets periods that have ended.
    pub(crate) fn admit(&mut self, notices: Vec<Notice>, now: Timestamp) -> Vec<Notice> {
        self.sent.retain(|s| s.until > now);
        let mut out = Vec::new();
        for notice in notices {
            let known = self
                .sent
                .iter()
                .any(|s| s.event == notice.event && s.provider == notice.provider);
            if !known {
                self.sent.push(SentNotice {
                    event: notice.event,
                    provider: notice.provider.clone(),
                    until: notice.until.max(now),
                });
                out.push(notice);
            }
        }
        out
    }
}

/// The notices a pass gives. `levels` is updated with the levels seen; with `switching` false
/// (`--restore`), only its changes are told.
pub(crate) fn notices(
    runs: &[TargetRun],
    judge: &Judge<'_>,
    levels: &mut BTreeMap<String, Level>,
    switching: bool,
) -> Vec<Notice> {
    let mut out = changes(runs, judge);
    if switching {
        out.extend(crossings(runs, judge, levels));
        out.extend(resets_soon(runs, judge));
    }
    out
}

/// A switch or restore of one provider, with every slot it moved.
fn changes(runs: &[TargetRun], judge: &Judge<'_>) -> Vec<Notice> {
    let mut groups: BTreeMap<(Event, String), Vec<(&str, &Change)>> = BTreeMap::new();
    for run in runs {
        for change in &run.changes {
            let event = match change.kind {
                ChangeKind::Switch => Event::Switch,
                ChangeKind::Restore => Event::Restore,
                ChangeKind::Kept => continue,
            };
            let view = run.slots.iter().find(|s| s.slot == change.slot);
            let provider = match (event, view) {
                (
                    Event::Switch,
                    Some(SlotView {
                        waits_on: Some(h), ..
                    }),
                ) => h.provider.to_string(),
                (Event::Restore, Some(view)) => view.health.provider.to_string(),
                // The reason names the provider first (`zai five_hour 92% >= 90%`).
                _ => (change.reason.split_whitespace().next())
                    .unwrap_or_default()
                    .to_owned(),
            };
            groups
                .entry((event, provider))
                .or_default()
                .push((&run.target, change));
        }
    }
    groups
        .into_iter()
        .map(|((event, provider), changes)| {
            let summary = match event {
                Event::Switch => format!("switcher: moved off {provider}"),
                _ => format!("switcher: back on {provider}"),
            };
            let mut body = String::new();
            let mut reasons: Vec<&str> = Vec::new();
            for (target, c) in &changes {
                let _ = writeln!(body, "{target}: {}: {} → {}", c.slot, c.from, c.to);
                if !reasons.contains(&&*c.reason) {
                    reasons.push(&c.reason);
                }
            }
            let _ = write!(body, "why: {}", reasons.join("; "));
            Notice {
                until: period_end(judge, &provider, None),
                event,
                provider,
                summary,
                body,
            }
        })
        .collect()
}

/// Providers governing a managed slot that have crossed into YELLOW or RED since last seen.
fn crossings(
    runs: &[TargetRun],
    judge: &Judge<'_>,
    levels: &mut BTreeMap<String, Level>,
) -> Vec<Notice> {
    let mut now: BTreeMap<String, (Level, &Health, Vec<String>)> = BTreeMap::new();
    for run in runs {
        for slot in run.slots.iter().filter(|s| s.managed) {
            let Some(level) = slot.health.level() else {
                continue;
            };
            let entry = (now.entry(slot.health.provider.to_string())).or_insert((
                level,
                &slot.health,
                Vec::new(),
            ));
            if level > entry.0 {
                (entry.0, entry.1) = (level, &slot.health);
            }
            entry.2.push(format!("{}: {}", run.target, slot.slot));
        }
    }
    let mut out = Vec::new();
    for (provider, (level, health, slots)) in now {
        let before = levels
            .insert(provider.clone(), level)
            .unwrap_or(Level::Green);
        let event = match level {
            Level::Red => Event::Red,
            Level::Yellow => Event::Yellow,
            Level::Green => continue,
        };
        if level <= before {
            continue;
        }
        let stays = if level == Level::Red {
            "\nno healthy fallback: they stay on it"
        } else {
            ""
        };
        out.push(Notice {
            until: period_end(judge, &provider, None),
            summary: format!("switcher: {provider} is {}", level.name()),
            body: format!("{}\nused by {}{stays}", health.why, slots.join(", ")),
            event,
            provider,
        });
    }
    out
}

/// A RED provider that a slot waits on (its original, or the model it is stuck on) resets
/// within [`SOON`].
fn resets_soon(runs: &[TargetRun], judge: &Judge<'_>) -> Vec<Notice> {
    let mut by_provider: BTreeMap<String, (Timestamp, Vec<String>)> = BTreeMap::new();
    for run in runs {
        for slot in &run.slots {
            let (health, model, what) = match &slot.waits_on {
                Some(h) => (
                    h,
                    &slot.original,
                    format!("can go back to {}", slot.original),
                ),
                None if slot.managed => (&slot.health, &slot.current, "stays on it".to_owned()),
                None => continue,
            };
            if !health.is(Level::Red) {
                continue;
            }
            let Some(at) = red_until(judge, &health.provider, model) else {
                continue;
            };
            let left = at.duration_since(judge.now);
            if left <= SignedDuration::ZERO || left > SOON {
                continue;
            }
            let entry = by_provider
                .entry(health.provider.to_string())
                .or_insert((at, Vec::new()));
            entry.0 = entry.0.max(at);
            entry
                .1
                .push(format!("{}: {} {what}", run.target, slot.slot));
        }
    }
    by_provider
        .into_iter()
        .map(|(provider, (at, slots))| {
            let left = at.duration_since(judge.now).as_secs_f64();
            Notice {
                event: Event::ResetSoon,
                summary: format!("switcher: {provider} resets in {}", minutes(left)),
                body: format!("then {}", slots.join("\n")),
                until: at,
                provider,
            }
        })
        .collect()
}

/// `5 min`, rounded up: a notice never promises a reset sooner than it comes.
fn minutes(seconds: f64) -> String {
    if seconds < 60.0 {
        return human_duration(seconds);
    }
    format!("{} min", (seconds / 60.0).ceil() as u64)
}

/// When every RED window of `provider` that governs `model` has reset: `None` if one names no
/// reset time, or the provider's own status says RED.
fn red_until(judge: &Judge<'_>, provider: &str, model: &str) -> Option<Timestamp> {
    let mut until: Option<Timestamp> = None;
    for (_, entry, report) in judge.book.reports(provider) {
        if report.status == Some(Level::Red) {
            return None;
        }
        for (name, window) in report.windows.iter().filter(|(_, w)| w.applies_to(model)) {
            if judge.window_level(entry, provider, name, window).0 == Level::Red {
                let at = window.resets_at?;
                until = Some(until.map_or(at, |u| u.max(at)));
            }
        }
    }
    until
}

/// The end of `provider`'s current reset period: the earliest reset still to come among its
/// windows that are not GREEN, else among all of them, else an hour from now.
fn period_end(judge: &Judge<'_>, provider: &str, model: Option<&str>) -> Timestamp {
    let mut unhealthy = Vec::new();
    let mut all = Vec::new();
    for (_, entry, report) in judge.book.reports(provider) {
        for (name, window) in &report.windows {
            if model.is_some_and(|m| !window.applies_to(m)) {
                continue;
            }
            let Some(at) = window.resets_at.filter(|at| *at > judge.now) else {
                continue;
            };
            all.push(at);
            if judge.window_level(entry, provider, name, window).0 > Level::Green {
                unhealthy.push(at);
            }
        }
    }
    (unhealthy.into_iter().min())
        .or_else(|| all.into_iter().min())
        .unwrap_or(judge.now + DEFAULT_PERIOD)
}

#[cfg(test)]
mod tests;
