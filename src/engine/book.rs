//! The quota book: the latest answer of every source, and usage samples for projections.
//!
//! It is plain data, persisted as is in the state dir, so one-shot runs from cron see what earlier
//! runs observed; applying an observation or a failure is a pure update.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::velocity;
use crate::quota::{Observation, Report};

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
                let excess = samples.len().saturating_sub(velocity::WINDOW);
                samples.drain(..excess);
            }
        }
        entry.at = Some(observation.at);
        entry.providers = observation.providers.clone();
        entry.error = None;
        entry.failures = 0;
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

    /// Every provider some source covers.
    pub fn providers(&self) -> std::collections::BTreeSet<&str> {
        self.sources
            .values()
            .flat_map(|e| e.providers.keys().map(String::as_str))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quota::Window;

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
}
