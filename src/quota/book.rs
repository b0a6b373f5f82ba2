//! The quota book: the latest answer of every source, and usage samples for projections.
//!
//! It is plain data, persisted as is in the state dir, so one-shot runs from cron see what earlier
//! runs observed. Every change to it is a pure update here: an answer, a failure, the providers a
//! source covers before it first answers, the sources a run is about, the time a source may be
//! polled again.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{ANY, Observation, Report};

/// Usage samples kept per window: as many as a projection fits a line through.
pub const SAMPLES: usize = 10;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct QuotaBook {
    /// Keyed by source id.
    #[serde(default)]
    pub sources: BTreeMap<String, SourceEntry>,
}

/// What one source last told us.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SourceEntry {
    /// When the reports below were observed; `None` until the source first answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Timestamp>,
    #[serde(default)]
    pub providers: BTreeMap<String, Report>,
    /// Why the latest attempt failed, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The earliest time the source may be polled again (`Retry-After`, backoff).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_poll: Option<Timestamp>,
    /// Consecutive failed polls, for backoff.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub failures: u32,
    /// Provider → window → the latest usage samples, oldest first. Kept per source: two
    /// sources never agree to the decimal, and mixed they would look like resets.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub samples: BTreeMap<String, BTreeMap<String, Vec<Sample>>>,
}

impl SourceEntry {
    pub fn samples(&self, provider: &str, window: &str) -> &[Sample] {
        self.samples
            .get(provider)
            .and_then(|w| w.get(window))
            .map_or(&[], Vec::as_slice)
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub at: Timestamp,
    pub utilization: f64,
}

impl QuotaBook {
    /// Records a successful answer: it replaces the source's previous one.
    pub fn record(&mut self, observation: &Observation) {
        let entry = self.sources.entry(observation.source.clone()).or_default();
        for (provider, report) in &observation.providers {
            for (name, window) in &report.windows {
                let samples = entry
                    .samples
                    .entry(provider.clone())
                    .or_default()
                    .entry(name.clone())
                    .or_default();
                // Usage that went down means the window reset: older samples no longer apply.
                if samples
                    .last()
                    .is_some_and(|s| window.utilization < s.utilization)
                {
                    samples.clear();
                }
                if samples.last().is_some_and(|s| s.at >= observation.at) {
                    samples.pop();
                }
                samples.push(Sample {
                    at: observation.at,
                    utilization: window.utilization,
                });
                let excess = samples.len().saturating_sub(SAMPLES);
                samples.drain(..excess);
            }
        }
        entry.at = Some(observation.at);
        entry.providers = observation.providers.clone();
        entry.error = None;
        entry.failures = 0;
        // Only a failure (its backoff, a Retry-After) delays the next poll.
        entry.next_poll = None;
    }

    /// Records a failed attempt. A source whose last good data must not outlive a failure (a
    /// status file that no longer parses) marks every provider it named as failed; others keep
    /// their data until it goes stale.
    pub fn record_failure(&mut self, source: &str, error: &str, forget_data: bool) {
        let entry = self.sources.entry(source.to_owned()).or_default();
        entry.error = Some(error.to_owned());
        entry.failures = entry.failures.saturating_add(1);
        if forget_data {
            for report in entry.providers.values_mut() {
                *report = Report::failed(error);
            }
        }
    }

    /// Makes the providers `source` covers known before it has data for them: with `error`, as
    /// failed; without, as not answered yet. Either way they are UNKNOWN, not unmonitored.
    pub fn expect(&mut self, source: &str, covers: &[String], error: Option<&str>) {
        if covers.is_empty() {
            return;
        }
        let entry = self.sources.entry(source.to_owned()).or_default();
        let placeholder = || error.map_or_else(Report::default, Report::failed);
        // Once the source has answered, its answer says whom it covers.
        let answered = entry.at.is_some();
        for provider in covers.iter().filter(|p| !(answered && *p == ANY)) {
            match error {
                // A failure before any answer replaces a "not answered yet" placeholder…
                Some(error) if entry.at.is_none() => {
                    entry
                        .providers
                        .insert(provider.clone(), Report::failed(error));
                }
                // …but a placeholder never replaces a failure or data.
                _ => {
                    entry
                        .providers
                        .entry(provider.clone())
                        .or_insert_with(placeholder);
                }
            }
        }
    }

    /// Narrows the book to `sources` (id and the providers each covers): what other sources left
    /// in it (an earlier `--quota-file`, another switcher's sources) is not judged, and the
    /// providers of a source that has not answered yet are UNKNOWN.
    pub fn focus<'a>(&mut self, sources: impl IntoIterator<Item = (&'a str, &'a [String])>) {
        let sources: Vec<_> = sources.into_iter().collect();
        let ids: BTreeSet<&str> = sources.iter().map(|(id, _)| *id).collect();
        self.sources.retain(|id, _| ids.contains(id.as_str()));
        for (id, covers) in sources {
            self.expect(id, covers, None);
        }
    }

    /// Keeps `source` from being polled before `at` (a backoff, a `Retry-After`).
    pub fn hold(&mut self, source: &str, at: Timestamp) {
        if let Some(entry) = self.sources.get_mut(source) {
            entry.next_poll = Some(at);
        }
    }

    /// Whether `source` may be polled at `now`: once any hold recorded for it has passed.
    pub fn due(&self, source: &str, now: Timestamp) -> bool {
        self.sources
            .get(source)
            .and_then(|e| e.next_poll)
            .is_none_or(|t| t <= now)
    }

    /// Every source's report on `provider`, with when it was observed.
    pub fn reports<'a>(
        &'a self,
        provider: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a SourceEntry, &'a Report)> + 'a {
        self.sources.iter().filter_map(move |(id, entry)| {
            entry
                .providers
                .get(provider)
                .map(|r| (id.as_str(), entry, r))
        })
    }

    /// Every provider some source covers by name.
    pub fn providers(&self) -> BTreeSet<&str> {
        self.sources
            .values()
            .flat_map(|e| e.providers.keys().map(String::as_str))
            .filter(|p| *p != ANY)
            .collect()
    }

    /// Why a provider no source names is UNKNOWN all the same: the sources that cover [`ANY`]
    /// provider and have not answered yet, each with its failure, if any.
    pub fn pending(&self) -> Vec<String> {
        self.sources
            .iter()
            .filter(|(_, entry)| entry.at.is_none())
            .filter_map(|(id, entry)| {
                let report = entry.providers.get(ANY)?;
                Some(match &report.error {
                    Some(error) => format!("{id}: {error}"),
                    None => format!("no data yet from {id}"),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quota::Window;

    #[test]
    fn a_source_covering_any_provider_holds_them_until_it_answers() {
        let mut book = QuotaBook::default();
        let any = vec![ANY.to_owned()];
        book.focus([("cmd", any.as_slice())]);
        assert_eq!(book.pending(), ["no data yet from cmd"]);
        book.expect("cmd", &any, Some("HTTP 401"));
        assert_eq!(book.pending(), ["cmd: HTTP 401"]);
        assert!(book.providers().is_empty(), "no provider is named `*`");
        book.record(&obs("cmd", 10, 5.0));
        book.focus([("cmd", any.as_slice())]);
        assert!(book.pending().is_empty(), "its answer says whom it covers");
        assert_eq!(book.providers().into_iter().collect::<Vec<_>>(), ["zai"]);
    }

    fn obs(source: &str, at: i64, util: f64) -> Observation {
        let mut windows = BTreeMap::new();
        windows.insert(
            "five_hour".to_owned(),
            Window {
                utilization: util,
                resets_at: None,
                status: None,
                models: None,
            },
        );
        let mut providers = BTreeMap::new();
        providers.insert(
            "zai".to_owned(),
            Report {
                windows,
                ..Report::default()
            },
        );
        Observation {
            source: source.into(),
            at: Timestamp::from_second(at).unwrap(),
            providers,
        }
    }

    #[test]
    fn samples_are_bounded_and_cleared_on_reset() {
        let mut book = QuotaBook::default();
        for i in 0..15 {
            book.record(&obs("f", i * 60, i as f64));
        }
        assert_eq!(book.sources["f"].samples("zai", "five_hour").len(), 10);
        book.record(&obs("f", 2000, 1.0));
        assert_eq!(book.sources["f"].samples("zai", "five_hour").len(), 1);
        // Another source's samples of the same window are its own.
        book.record(&obs("g", 2060, 0.5));
        assert_eq!(book.sources["f"].samples("zai", "five_hour").len(), 1);
        assert_eq!(book.sources["g"].samples("zai", "five_hour").len(), 1);
    }

    #[test]
    fn failures_forget_or_keep_data() {
        let mut book = QuotaBook::default();
        book.record(&obs("api", 0, 50.0));
        book.record(&obs("file", 0, 50.0));
        book.record_failure("api", "HTTP 500", false);
        book.record_failure("file", "bad JSON", true);
        assert!(book.sources["api"].providers["zai"].error.is_none());
        assert_eq!(
            book.sources["file"].providers["zai"].error.as_deref(),
            Some("bad JSON")
        );
        assert_eq!(book.reports("zai").count(), 2);
        assert_eq!(book.sources["api"].failures, 1);
    }

    #[test]
    fn holds_delay_polls_and_focus_keeps_only_the_sources_asked_about() {
        let mut book = QuotaBook::default();
        book.record(&obs("api", 0, 50.0));
        book.record(&obs("old", 0, 50.0));
        let (before, after) = (
            Timestamp::from_second(59).unwrap(),
            Timestamp::from_second(60).unwrap(),
        );
        book.hold("api", after);
        assert!(!book.due("api", before));
        assert!(book.due("api", after));
        assert!(book.due("never-seen", before));
        book.record(&obs("api", 1, 50.0));
        assert!(book.due("api", before), "an answer lifts the hold");
        let covers = ["kimi".to_owned()];
        book.focus([("api", &[][..]), ("new", &covers[..])]);
        assert_eq!(book.sources.keys().collect::<Vec<_>>(), ["api", "new"]);
        assert_eq!(book.sources["new"].providers["kimi"], Report::default());
    }
}
