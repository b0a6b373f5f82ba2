//! The health of a model on a provider, from every source's latest report (docs/design.md,
//! Decisions).

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};

use super::{human_duration, velocity};
use crate::quota::{Level, QuotaBook, Report, Sample, SourceEntry, Window, percent};

/// A judgement with the reason that decided it, naming the provider. Shared: a pass hands the
/// same few healths to thousands of slots, whose views hold one or two each.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Health(Arc<Judged>);

#[derive(Debug, PartialEq)]
pub(crate) struct Judged {
    pub(crate) state: State,
    pub(crate) provider: Arc<str>,
    /// What decided it: `zai five_hour 92% >= 90%`, `zai status RED`, `zai: HTTP 401`.
    pub(crate) why: Arc<str>,
}

impl std::ops::Deref for Health {
    type Target = Judged;

    fn deref(&self) -> &Judged {
        &self.0
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    Known(Level),
    /// Monitored, but no source can tell now: never chosen, never a reason to switch.
    Unknown,
    /// No source covers the provider: never a reason to switch, fine as a fallback.
    Unmonitored,
}

impl Health {
    pub(crate) fn new(state: State, provider: Arc<str>, why: Arc<str>) -> Health {
        Health(Arc::new(Judged {
            state,
            provider,
            why,
        }))
    }

    pub(crate) fn level(&self) -> Option<Level> {
        match self.state {
            State::Known(level) => Some(level),
            _ => None,
        }
    }

    /// GREEN or unmonitored: a candidate that may be chosen freely.
    pub(crate) fn is_healthy(&self) -> bool {
        matches!(self.state, State::Known(Level::Green) | State::Unmonitored)
    }

    pub(crate) fn is(&self, level: Level) -> bool {
        self.level() == Some(level)
    }

    /// Whether this model is at or past `level` (UNKNOWN and unmonitored never are).
    pub(crate) fn reaches(&self, level: Level) -> bool {
        self.level().is_some_and(|l| l >= level)
    }

    /// The status as output names it.
    pub(crate) fn name(&self) -> &'static str {
        match self.state {
            State::Known(level) => level.name(),
            State::Unknown => "UNKNOWN",
            State::Unmonitored => "UNMONITORED",
        }
    }
}

/// Judges models against the book, the policy and a given "now".
pub(crate) struct Judge<'a> {
    pub(crate) policy: &'a super::Policy,
    pub(crate) book: &'a QuotaBook,
    pub(crate) now: Timestamp,
}

impl Judge<'_> {
    /// Every window whose reset has passed since its data was observed, as `(provider, window,
    /// reset)`: it counts as 0% until new data arrives, which a user should be able to see.
    pub(crate) fn passed_resets(&self) -> Vec<(&str, &str, Timestamp)> {
        let mut out: Vec<_> = (self.book.sources.values())
            .flat_map(|entry| &entry.providers)
            .flat_map(|(provider, report)| {
                (report.windows.iter()).filter_map(move |(name, w)| {
                    let at = w.resets_at.filter(|at| *at <= self.now)?;
                    Some((provider.as_str(), name.as_str(), at))
                })
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// The health of `model` served by `provider`; with `model` `None`, every window counts.
    pub(crate) fn health(&self, provider: &str, model: Option<&str>) -> Health {
        let health = |state, why: String| Health::new(state, provider.into(), why.into());
        let mut worst: Option<(Level, String)> = None;
        let mut unknown = Vec::new();
        let mut covered = false;
        for (source, entry, report) in self.book.reports(provider) {
            covered = true;
            let age = entry.at.map(|at| self.now.duration_since(at));
            let judged = match (&report.error, age) {
                (Some(error), _) => Err(format!("{provider}: {error}")),
                (None, None) => Err(format!("{provider}: no data yet from {source}")),
                (None, Some(age)) if age > self.policy.stale_after => Err(format!(
                    "{provider}: data from {source} is {} old",
                    human_duration(age.as_secs_f64())
                )),
                (None, Some(_)) => Ok(self.report_level(entry, provider, model, report)),
            };
            match judged {
                Ok((level, why)) if worst.as_ref().is_none_or(|(w, _)| level > *w) => {
                    worst = Some((level, why));
                }
                Ok(_) => {}
                Err(why) => unknown.push(why),
            }
        }
        match worst {
            Some((level, why)) => health(State::Known(level), why),
            None if covered => health(State::Unknown, unknown.join("; ")),
            None => match self.book.pending().as_slice() {
                [] => health(State::Unmonitored, format!("{provider} is not monitored")),
                // A source that may cover it has not answered yet.
                pending => health(
                    State::Unknown,
                    format!("{provider}: {}", pending.join("; ")),
                ),
            },
        }
    }

    fn report_level(
        &self,
        entry: &SourceEntry,
        provider: &str,
        model: Option<&str>,
        report: &Report,
    ) -> (Level, String) {
        if let Some(status) = report.status {
            return (status, format!("{provider} status {}", status.name()));
        }
        let mut worst = (Level::Green, format!("{provider} GREEN"));
        for (name, window) in &report.windows {
            if model.is_some_and(|m| !window.applies_to(m)) {
                continue;
            }
            let (level, why) = self.window_level(entry, provider, name, window);
            if level > worst.0 {
                worst = (level, why);
            }
        }
        worst
    }

    /// One window's level and the reason for it, as `entry`'s source reported it.
    pub(crate) fn window_level(
        &self,
        entry: &SourceEntry,
        provider: &str,
        name: &str,
        window: &Window,
    ) -> (Level, String) {
        if window.resets_at.is_some_and(|at| at <= self.now) {
            return (Level::Green, format!("{provider} {name} has reset"));
        }
        if let Some(status) = window.status {
            return (
                status,
                format!("{provider} {name} status {}", status.name()),
            );
        }
        let t = self.policy.thresholds(provider, name);
        let used = window.utilization;
        if used >= t.red {
            return (
                Level::Red,
                format!("{provider} {name} {} >= {}", percent(used), percent(t.red)),
            );
        }
        if let Some(remaining) = self.time_to_full(entry.samples(provider, name), window) {
            return (
                Level::Red,
                format!(
                    "{provider} {name} {} projected to reach 100% in {}",
                    percent(used),
                    human_duration(remaining.as_secs_f64())
                ),
            );
        }
        if used >= t.yellow {
            return (
                Level::Yellow,
                format!(
                    "{provider} {name} {} >= {}",
                    percent(used),
                    percent(t.yellow)
                ),
            );
        }
        (Level::Green, format!("{provider} {name} {}", percent(used)))
    }

    /// The time from now until the window is projected to be spent, when that is within the
    /// safety margin and before the window resets.
    fn time_to_full(&self, samples: &[Sample], window: &Window) -> Option<SignedDuration> {
        let slope = velocity::slope(samples).filter(|s| *s > 0.0)?;
        let latest = samples.last()?.at;
        let full_at =
            latest.as_millisecond() as f64 / 1000.0 + (100.0 - window.utilization) / slope;
        let remaining = full_at - self.now.as_millisecond() as f64 / 1000.0;
        let before_reset = window
            .resets_at
            .is_none_or(|reset| full_at < reset.as_millisecond() as f64 / 1000.0);
        let at_risk = remaining < self.policy.safety_margin.as_secs_f64() && before_reset;
        at_risk.then(|| {
            SignedDuration::try_from_secs_f64(remaining.max(0.0)).unwrap_or(SignedDuration::MAX)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::engine::Policy;
    use crate::quota::Observation;

    fn ts(s: i64) -> Timestamp {
        Timestamp::from_second(s).unwrap()
    }

    fn window(util: f64) -> Window {
        Window {
            utilization: util,
            resets_at: None,
            status: None,
            models: None,
        }
    }

    fn observe(book: &mut QuotaBook, source: &str, at: i64, provider: &str, report: Report) {
        let mut providers = BTreeMap::new();
        providers.insert(provider.to_owned(), report);
        book.record(&Observation {
            source: source.into(),
            at: ts(at),
            providers,
        });
    }

    fn windows(list: &[(&str, Window)]) -> Report {
        Report {
            windows: list
                .iter()
                .map(|(n, w)| ((*n).to_owned(), w.clone()))
                .collect(),
            ..Report::default()
        }
    }

    #[test]
    fn thresholds_and_explicit_status() {
        let policy = Policy::default();
        let mut book = QuotaBook::default();
        observe(
            &mut book,
            "f",
            0,
            "zai",
            windows(&[("five_hour", window(92.0))]),
        );
        observe(
            &mut book,
            "f2",
            0,
            "ds",
            windows(&[("balance", window(80.0))]),
        );
        observe(
            &mut book,
            "f3",
            0,
            "mm",
            Report {
                status: Some(Level::Red),
                ..windows(&[("w", window(1.0))])
            },
        );
        let judge = Judge {
            policy: &policy,
            book: &book,
            now: ts(10),
        };
        let zai = judge.health("zai", Some("glm"));
        assert_eq!(zai.state, State::Known(Level::Red));
        assert_eq!(&*zai.why, "zai five_hour 92% >= 90%");
        assert_eq!(judge.health("ds", None).state, State::Known(Level::Yellow));
        assert_eq!(&*judge.health("mm", None).why, "mm status RED");
        assert_eq!(judge.health("other", None).state, State::Unmonitored);
    }

    #[test]
    fn scoped_windows_apply_only_to_their_models() {
        let policy = Policy::default();
        let mut book = QuotaBook::default();
        let opus = Window {
            models: Some(vec!["opus".into()]),
            ..window(99.0)
        };
        observe(
            &mut book,
            "f",
            0,
            "anthropic",
            windows(&[("five_hour", window(20.0)), ("seven_day_opus", opus)]),
        );
        let judge = Judge {
            policy: &policy,
            book: &book,
            now: ts(10),
        };
        assert!(judge.health("anthropic", Some("opus")).is(Level::Red));
        assert!(judge.health("anthropic", Some("sonnet")).is(Level::Green));
        assert!(judge.health("anthropic", None).is(Level::Red));
    }

    #[test]
    fn stale_errored_and_unanswered_are_unknown() {
        let policy = Policy::default();
        let mut book = QuotaBook::default();
        observe(
            &mut book,
            "f",
            0,
            "zai",
            windows(&[("five_hour", window(10.0))]),
        );
        observe(&mut book, "g", 0, "kimi", Report::failed("HTTP 401"));
        let judge = Judge {
            policy: &policy,
            book: &book,
            now: ts(601),
        };
        let zai = judge.health("zai", None);
        assert_eq!(zai.state, State::Unknown);
        assert!(zai.why.contains("10m old"), "{}", zai.why);
        assert_eq!(&*judge.health("kimi", None).why, "kimi: HTTP 401");
    }

    #[test]
    fn worst_known_source_wins_and_unknown_only_if_none_knows() {
        let policy = Policy::default();
        let mut book = QuotaBook::default();
        observe(
            &mut book,
            "a",
            0,
            "zai",
            windows(&[("five_hour", window(10.0))]),
        );
        observe(
            &mut book,
            "b",
            0,
            "zai",
            windows(&[("five_hour", window(80.0))]),
        );
        observe(&mut book, "c", 0, "zai", Report::failed("boom"));
        let judge = Judge {
            policy: &policy,
            book: &book,
            now: ts(1),
        };
        assert!(judge.health("zai", None).is(Level::Yellow));
    }

    #[test]
    fn passed_reset_counts_as_zero() {
        let policy = Policy::default();
        let mut book = QuotaBook::default();
        let w = Window {
            resets_at: Some(ts(100)),
            ..window(95.0)
        };
        observe(&mut book, "f", 0, "zai", windows(&[("five_hour", w)]));
        let before = Judge {
            policy: &policy,
            book: &book,
            now: ts(99),
        };
        assert!(before.health("zai", None).is(Level::Red));
        let after = Judge {
            policy: &policy,
            book: &book,
            now: ts(100),
        };
        assert!(after.health("zai", None).is(Level::Green));
        assert_eq!(before.passed_resets(), []);
        assert_eq!(after.passed_resets(), [("zai", "five_hour", ts(100))]);
    }

    #[test]
    fn projection_turns_a_fast_window_red() {
        let policy = Policy::default();
        let mut book = QuotaBook::default();
        // 10% per 5 minutes: from 60% at t=900 it is full in 20 minutes, beyond the margin.
        for (t, u) in [(0, 30.0), (300, 40.0), (600, 50.0), (900, 60.0)] {
            observe(
                &mut book,
                "f",
                t,
                "zai",
                windows(&[("five_hour", window(u))]),
            );
        }
        let judge = Judge {
            policy: &policy,
            book: &book,
            now: ts(900),
        };
        assert!(judge.health("zai", None).is(Level::Green));
        // At 70%, 15 minutes remain: within the 15-minute margin once a second passes.
        observe(
            &mut book,
            "f",
            1200,
            "zai",
            windows(&[("five_hour", window(70.0))]),
        );
        let judge = Judge {
            policy: &policy,
            book: &book,
            now: ts(1201),
        };
        let h = judge.health("zai", None);
        assert!(h.is(Level::Red), "{h:?}");
        assert!(
            h.why.contains("projected to reach 100% in 14m"),
            "{}",
            h.why
        );
        // Not when the window resets first.
        let w = Window {
            resets_at: Some(ts(1500)),
            ..window(70.0)
        };
        observe(&mut book, "f", 1200, "zai", windows(&[("five_hour", w)]));
        let judge = Judge {
            policy: &policy,
            book: &book,
            now: ts(1201),
        };
        assert!(judge.health("zai", None).is(Level::Green));
    }
}
