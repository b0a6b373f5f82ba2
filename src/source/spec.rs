//! A configured source, resolved: how it is polled once, what its answer is, and how the answer
//! goes into the quota book (with the earliest time it may be polled again).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;

use crate::provider::Aliases;
use crate::quota::{Observation, QuotaBook};

use super::file::StatusFile;
use super::signals::Signals;
use super::{Build, Fault, KINDS, Poll, Provider, SourceConfig, Watch, http, schedule};

/// How long an attempt may take unless the entry's `timeout` says otherwise.
const TIMEOUT: Duration = Duration::from_secs(10);

/// A configured source, resolved.
#[derive(Clone, Debug)]
pub struct SourceSpec {
    /// Stable identity in the quota book.
    pub id: String,
    /// The providers it covers, when known before it answers.
    pub covers: Vec<String>,
    /// What messages call it (`status file ~/quota.json`).
    pub label: String,
    /// Between polls.
    pub interval: Duration,
    /// How long an attempt may take.
    pub timeout: Duration,
    pub provider: Arc<dyn Provider>,
}

/// How one attempt to read a source ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    Observed(Observation),
    Failed {
        error: String,
        /// Whether the providers it last named lose their data now (a broken status file) or
        /// keep it until stale (an API that failed once).
        forget_data: bool,
        /// How long the source asked us to wait.
        retry_after: Option<Duration>,
    },
}

impl Answer {
    /// Says what an answer means for the user (a failure, a malformed entry) and adds the
    /// providers it observed to `observed`.
    pub fn note(&self, label: &str, observed: &mut BTreeSet<String>) {
        match self {
            Answer::Observed(o) => {
                tracing::debug!(source = %label, providers = o.providers.len(), "observed");
                observed.extend(o.providers.keys().cloned());
                for (provider, report) in &o.providers {
                    if let Some(why) = &report.malformed {
                        let effect = match report.error {
                            Some(_) => "it is UNKNOWN",
                            None => "the entry is ignored; another entry for it counts",
                        };
                        tracing::warn!("{label}: {provider}: malformed entry: {why}; {effect}");
                    }
                }
            }
            Answer::Failed {
                error,
                forget_data: true,
                ..
            } => tracing::warn!("{label}: {error}; the providers it covered are UNKNOWN"),
            Answer::Failed { error, .. } => tracing::warn!(
                "{label}: {error}; its providers keep their last data until it is stale"
            ),
        }
    }
}

impl SourceSpec {
    fn new(provider: Arc<dyn Provider>, interval: Duration, timeout: Duration) -> SourceSpec {
        SourceSpec {
            id: provider.id(),
            covers: provider.covers(),
            label: provider.label(),
            interval,
            timeout,
            provider,
        }
    }

    /// A status file named on the command line (`label` is the path as given).
    pub fn file(path: PathBuf, label: String, interval: Duration) -> SourceSpec {
        SourceSpec::new(Arc::new(StatusFile::new(path, label)), interval, TIMEOUT)
    }

    /// The signals dir of `state_dir`, read every `interval` besides its changes.
    pub fn signals(state_dir: &Path, interval: Duration) -> SourceSpec {
        let signals = Signals::new(super::signals::dir(state_dir));
        SourceSpec::new(Arc::new(signals), interval, TIMEOUT)
    }

    /// A source from its config entry; errors name the entry's field.
    pub fn configured(
        config: &SourceConfig,
        build: &Build<'_>,
        poll_interval: Duration,
    ) -> Result<SourceSpec, Fault> {
        let provider = config.kind.build(config.base_url.as_deref(), build)?;
        let interval = config
            .interval
            .unwrap_or(poll_interval.max(provider.min_interval()));
        let timeout = config.timeout.unwrap_or(TIMEOUT);
        Ok(SourceSpec::new(provider.into(), interval, timeout))
    }

    /// Every auto-detectable source whose credentials are found (README, "Quota sources").
    pub fn detected(build: &Build<'_>, poll_interval: Duration) -> Vec<SourceSpec> {
        KINDS
            .iter()
            .filter(|kind| kind.detect)
            .filter_map(SourceConfig::bare)
            .filter_map(|config| SourceSpec::configured(&config, build, poll_interval).ok())
            .filter(|spec| spec.provider.found())
            .collect()
    }

    /// What the daemon watches for a source read from disk (a status file, the signals dir).
    pub fn watched(&self) -> Option<Watch<'_>> {
        self.provider.watched()
    }

    /// Whether it is the signals dir, which status output names apart from the sources.
    pub fn is_signals(&self) -> bool {
        self.id == super::signals::ID
    }

    /// Tells the source what the book last recorded for it, before it is first read.
    pub fn recall(&self, book: &QuotaBook) {
        if let Some(entry) = book.sources.get(&self.id) {
            self.provider.recall(entry);
        }
    }

    /// One attempt to read the source; `now` is when its data counts as observed.
    pub async fn poll(
        &self,
        client: &http::Client,
        aliases: &Aliases,
        now: impl Fn() -> Timestamp,
    ) -> Answer {
        let poll = Poll {
            client,
            timeout: self.timeout,
            aliases,
            now: now(),
        };
        match self.provider.fetch(&poll).await {
            Ok(providers) => Answer::Observed(Observation {
                source: self.id.clone(),
                at: now(),
                providers,
            }),
            Err(f) => Answer::Failed {
                forget_data: self.provider.forgets_data() || f.credential,
                error: f.error,
                retry_after: f.retry_after,
            },
        }
    }

    /// Whether a one-shot run should poll it now: what is read from disk always; others once any
    /// `Retry-After` or backoff recorded in the book has passed.
    pub fn due(&self, book: &QuotaBook, now: Timestamp) -> bool {
        self.watched().is_some() || book.due(&self.id, now)
    }

    /// Records an answer in the book, with the earliest time the source may be polled again.
    pub fn record(&self, book: &mut QuotaBook, answer: &Answer, now: Timestamp) {
        match answer {
            Answer::Observed(o) => book.record(o),
            Answer::Failed {
                error,
                forget_data,
                retry_after,
            } => {
                book.record_failure(&self.id, error, *forget_data);
                book.expect(&self.id, &self.covers, Some(error));
                let failures = book.sources[&self.id].failures;
                let delay = schedule::delay(self.interval, failures, *retry_after, 0.0);
                book.hold(&self.id, now.checked_add(delay).unwrap_or(now));
            }
        }
    }
}

/// Narrows a book read from the shared state dir to `sources` (see [`QuotaBook::focus`]).
pub fn focus(book: &mut QuotaBook, sources: &[SourceSpec]) {
    book.focus(sources.iter().map(|s| (s.id.as_str(), s.covers.as_slice())));
}

/// Polls sources concurrently; answers come back in the order given.
pub async fn poll_all(
    sources: Vec<SourceSpec>,
    aliases: &Aliases,
    now: Timestamp,
) -> Vec<(SourceSpec, Answer)> {
    let client = http::Client::new();
    let mut set = tokio::task::JoinSet::new();
    for (i, spec) in sources.into_iter().enumerate() {
        let (client, aliases) = (client.clone(), aliases.clone());
        set.spawn(async move {
            let answer = spec.poll(&client, &aliases, || now).await;
            (i, spec, answer)
        });
    }
    let mut answers: Vec<_> = set.join_all().await;
    answers.sort_by_key(|(i, _, _)| *i);
    answers
        .into_iter()
        .map(|(_, spec, answer)| (spec, answer))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::Env;
    use crate::source::{RawSource, Reports};

    const MINUTE: Duration = Duration::from_secs(60);

    /// A source from a JSON5 entry, polled every `poll_interval` unless it says otherwise.
    fn spec(entry: &str, vars: &[(&str, &str)], poll_interval: Duration) -> SourceSpec {
        let dir = tempfile::tempdir().unwrap();
        let env = Env::for_tests(dir.path(), vars);
        let raw: RawSource = json5::from_str(entry).unwrap();
        let build = Build {
            env: &env,
            config_dir: dir.path(),
            state_dir: None,
        };
        let config = SourceConfig::read(raw).unwrap();
        SourceSpec::configured(&config, &build, poll_interval).unwrap()
    }

    #[test]
    fn claude_is_polled_at_most_every_two_minutes_unless_told() {
        let interval = |entry, poll| spec(entry, &[], poll).interval;
        let claude = "{kind: 'claude'}";
        assert_eq!(interval(claude, MINUTE), 2 * MINUTE);
        assert_eq!(interval(claude, 10 * MINUTE), 10 * MINUTE);
        let told = "{kind: 'claude', interval: 30}";
        assert_eq!(interval(told, MINUTE), MINUTE / 2);
        assert_eq!(interval("{kind: 'zai'}", MINUTE), MINUTE);
    }

    #[test]
    fn detection_uses_only_sources_whose_credentials_are_found() {
        let dir = tempfile::tempdir().unwrap();
        let build = |vars: &[(&str, &str)]| {
            let env = Env::for_tests(dir.path(), vars);
            SourceSpec::detected(
                &Build {
                    env: &env,
                    config_dir: dir.path(),
                    state_dir: None,
                },
                MINUTE,
            )
            .into_iter()
            .map(|s| s.label)
            .collect::<Vec<_>>()
        };
        assert!(!build(&[]).contains(&"zai".to_owned()));
        assert!(build(&[("Z_AI_API_KEY", "k")]).contains(&"zai".to_owned()));
    }

    #[test]
    fn covered_providers_are_unknown_until_answered_and_keep_data_through_failures() {
        use crate::engine::{Judge, Policy, State};
        let spec = spec("{kind: 'zai'}", &[("Z_AI_API_KEY", "k")], MINUTE);
        let now: Timestamp = "2026-11-21T12:00:00Z".parse().unwrap();
        let policy = Policy::default();
        let state = |book: &QuotaBook| {
            Judge {
                policy: &policy,
                book,
                now,
            }
            .health("zai", None)
        };
        let mut book = QuotaBook::default();
        assert_eq!(state(&book).state, State::Unmonitored);
        focus(&mut book, std::slice::from_ref(&spec));
        assert_eq!(state(&book).state, State::Unknown);
        let failed = Answer::Failed {
            error: "HTTP 500".into(),
            forget_data: false,
            retry_after: None,
        };
        spec.record(&mut book, &failed, now);
        assert_eq!(&*state(&book).why, "zai: HTTP 500");
        assert!(!spec.due(&book, now), "a failure holds the next poll back");
        assert!(spec.due(&book, now + 2 * MINUTE));
        let ok = Answer::Observed(Observation {
            source: spec.id.clone(),
            at: now,
            providers: Reports::from([("zai".into(), crate::quota::Report::default())]),
        });
        spec.record(&mut book, &ok, now);
        assert!(spec.due(&book, now), "an answer does not");
        spec.record(&mut book, &failed, now);
        assert!(
            state(&book).is(crate::quota::Level::Green),
            "earlier data is kept until stale"
        );
    }
}
