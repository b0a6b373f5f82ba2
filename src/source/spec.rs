//! A configured source, resolved: how it is polled once, what its answer is, and how the answer
//! goes into the quota book (with the earliest time it may be polled again).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use jiff::Timestamp;

use crate::config::SourceConfig;
use crate::engine::QuotaBook;
use crate::provider::Aliases;
use crate::quota::{Observation, Report};

use super::{BUILTIN, Build, Fault, Poll, Provider, Reports, file, http, schedule};

/// A configured source, resolved.
#[derive(Clone, Debug)]
pub struct SourceSpec {
    /// Stable identity in the quota book.
    pub id: String,
    /// The providers it covers, when known before it answers.
    pub covers: Vec<String>,
    /// What messages call it (`status file ~/quota.json`).
    pub label: String,
    /// Seconds between polls.
    pub interval: f64,
    /// Seconds an attempt may take.
    pub timeout: f64,
    pub kind: SourceKind,
}

#[derive(Clone, Debug)]
pub enum SourceKind {
    File { path: PathBuf },
    Provider(Arc<dyn Provider>),
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
        /// Seconds the source asked us to wait.
        retry_after: Option<f64>,
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
    pub fn file(path: PathBuf, label: String, interval: f64) -> SourceSpec {
        SourceSpec {
            id: format!("file:{}", path.display()),
            covers: Vec::new(),
            label: format!("status file {label}"),
            interval,
            timeout: 10.0,
            kind: SourceKind::File { path },
        }
    }

    /// A built-in source from its config entry; errors name the entry's field.
    pub fn builtin(
        config: &SourceConfig,
        build: &Build<'_>,
        poll_interval: f64,
    ) -> Result<SourceSpec, Fault> {
        let builtin = BUILTIN
            .iter()
            .find(|b| b.kind == config.kind)
            .ok_or(("kind", format!("unknown source kind `{}`", config.kind)))?;
        let provider = (builtin.build)(config, build)?;
        Ok(SourceSpec {
            id: provider.id(),
            covers: provider.covers(),
            label: provider.label(),
            interval: config
                .interval
                .unwrap_or(poll_interval.max(builtin.min_interval)),
            timeout: config.timeout.unwrap_or(10.0),
            kind: SourceKind::Provider(Arc::from(provider)),
        })
    }

    /// Every auto-detectable source whose credentials are found (README, Quota sources).
    pub fn detected(build: &Build<'_>, poll_interval: f64) -> Vec<SourceSpec> {
        BUILTIN
            .iter()
            .filter(|b| b.detect)
            .filter_map(|b| {
                let config = SourceConfig {
                    kind: b.kind.to_owned(),
                    ..SourceConfig::default()
                };
                let spec = SourceSpec::builtin(&config, build, poll_interval).ok()?;
                match &spec.kind {
                    SourceKind::Provider(p) if p.found() => Some(spec),
                    _ => None,
                }
            })
            .collect()
    }

    /// The status file's path, for a `file` source.
    pub fn file_path(&self) -> Option<&Path> {
        match &self.kind {
            SourceKind::File { path } => Some(path),
            SourceKind::Provider(_) => None,
        }
    }

    /// One attempt to read the source; `now` is when its data counts as observed.
    pub async fn poll(
        &self,
        client: &reqwest::Client,
        aliases: &Aliases,
        now: impl Fn() -> Timestamp,
    ) -> Answer {
        let result = match &self.kind {
            SourceKind::File { path } => {
                return match file::read(path, aliases) {
                    Ok(providers) => self.observed(now(), providers),
                    Err(error) => Answer::Failed {
                        error,
                        forget_data: true,
                        retry_after: None,
                    },
                };
            }
            SourceKind::Provider(provider) => {
                let poll = Poll {
                    client,
                    timeout: self.timeout,
                    aliases,
                    now: now(),
                };
                (provider.fetch(&poll).await, provider.forgets_data())
            }
        };
        match result {
            (Ok(providers), _) => self.observed(now(), providers),
            (Err(f), forgets) => Answer::Failed {
                forget_data: forgets || f.credential,
                error: f.error,
                retry_after: f.retry_after,
            },
        }
    }

    fn observed(&self, at: Timestamp, providers: Reports) -> Answer {
        Answer::Observed(Observation {
            source: self.id.clone(),
            at,
            providers,
        })
    }

    /// Whether a one-shot run should poll it now: status files always; others once any
    /// `Retry-After` or backoff recorded in the book has passed.
    pub fn due(&self, book: &QuotaBook, now: Timestamp) -> bool {
        self.file_path().is_some()
            || book
                .sources
                .get(&self.id)
                .and_then(|e| e.next_poll)
                .is_none_or(|t| t <= now)
    }

    /// Makes the providers it covers known to the book before it has data for them: with `error`,
    /// as failed; without, as not answered yet. Either way they are UNKNOWN, not unmonitored.
    pub fn expect(&self, book: &mut QuotaBook, error: Option<&str>) {
        if self.covers.is_empty() {
            return;
        }
        let entry = book.sources.entry(self.id.clone()).or_default();
        let placeholder = || error.map_or_else(Report::default, Report::failed);
        for provider in &self.covers {
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

    /// Records an answer in the book, with the earliest time the source may be polled again.
    pub fn record(&self, book: &mut QuotaBook, answer: &Answer, now: Timestamp) {
        let (failures, retry_after) = match answer {
            Answer::Observed(o) => {
                book.record(o);
                (0, None)
            }
            Answer::Failed {
                error,
                forget_data,
                retry_after,
            } => {
                book.record_failure(&self.id, error, *forget_data);
                self.expect(book, Some(error.as_str()));
                (book.sources[&self.id].failures, *retry_after)
            }
        };
        // Only a failure (its backoff, a Retry-After) delays the next poll: a one-shot run after a
        // success polls again, whenever it comes.
        let next = (failures > 0).then(|| {
            let delay = schedule::delay(self.interval, failures, retry_after, 0.0);
            now.checked_add(jiff::SignedDuration::from_secs_f64(delay))
                .unwrap_or(now)
        });
        if let Some(entry) = book.sources.get_mut(&self.id) {
            entry.next_poll = next;
        }
    }
}

/// Narrows a book read from the shared state dir to `sources`: what other sources left there (an
/// earlier `--quota-file`, another switcher's sources) is not judged, and the providers of a
/// source that has not answered yet are UNKNOWN.
pub fn focus(book: &mut QuotaBook, sources: &[SourceSpec]) {
    book.sources
        .retain(|id, _| sources.iter().any(|s| &s.id == id));
    for source in sources {
        source.expect(book, None);
    }
}

/// Polls sources concurrently; answers come back in the order given.
pub async fn poll_all(
    sources: Vec<SourceSpec>,
    aliases: &Aliases,
    now: Timestamp,
) -> Vec<(SourceSpec, Answer)> {
    let client = http::client();
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
    use crate::settings::Env;

    #[test]
    fn claude_is_polled_at_most_every_two_minutes_unless_told() {
        let dir = tempfile::tempdir().unwrap();
        let env = Env::for_tests(dir.path(), &[]);
        let build = Build {
            env: &env,
            config_dir: dir.path(),
        };
        let interval = |entry: SourceConfig, poll: f64| {
            SourceSpec::builtin(&entry, &build, poll).unwrap().interval
        };
        let claude = SourceConfig {
            kind: "claude".into(),
            ..SourceConfig::default()
        };
        assert_eq!(interval(claude.clone(), 60.0), 120.0);
        assert_eq!(interval(claude.clone(), 600.0), 600.0);
        assert_eq!(
            interval(
                SourceConfig {
                    interval: Some(30.0),
                    ..claude
                },
                60.0
            ),
            30.0
        );
        let zai = SourceConfig {
            kind: "zai".into(),
            ..SourceConfig::default()
        };
        assert_eq!(interval(zai, 60.0), 60.0);
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
                },
                60.0,
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
        let dir = tempfile::tempdir().unwrap();
        let env = Env::for_tests(dir.path(), &[("Z_AI_API_KEY", "k")]);
        let config = SourceConfig {
            kind: "zai".into(),
            ..SourceConfig::default()
        };
        let spec = SourceSpec::builtin(
            &config,
            &Build {
                env: &env,
                config_dir: dir.path(),
            },
            60.0,
        )
        .unwrap();
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
        spec.expect(&mut book, None);
        assert_eq!(state(&book).state, State::Unknown);
        let failed = Answer::Failed {
            error: "HTTP 500".into(),
            forget_data: false,
            retry_after: None,
        };
        spec.record(&mut book, &failed, now);
        assert_eq!(state(&book).why, "zai: HTTP 500");
        let ok = Answer::Observed(Observation {
            source: spec.id.clone(),
            at: now,
            providers: Reports::from([("zai".into(), Report::default())]),
        });
        spec.record(&mut book, &ok, now);
        spec.record(&mut book, &failed, now);
        assert!(
            state(&book).is(crate::quota::Level::Green),
            "earlier data is kept until stale"
        );
    }
}
