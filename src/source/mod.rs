//! Quota sources: where provider health comes from. Each source answers with an observation of
//! the providers it covers, or fails; a failing source never takes the others down.
//!
//! Every source has the same shape: a pure `parse` of what it reads, and a thin `fetch` that reads
//! it. [`SourceSpec::poll`] runs one attempt of any of them.

pub mod credentials;
pub mod file;
pub mod http;
pub mod quota_sentinel;
pub mod schedule;
pub mod status_doc;

use std::path::PathBuf;

use jiff::Timestamp;

use crate::engine::QuotaBook;
use crate::provider::Aliases;
use crate::quota::Observation;

pub use quota_sentinel::QuotaSentinel;

/// A configured source, resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct SourceSpec {
    /// Stable identity in the quota book: the same account polled through two entries is one
    /// source, polled once.
    pub id: String,
    /// What messages call it (`status file ~/quota.json`).
    pub label: String,
    /// Seconds between polls.
    pub interval: f64,
    /// Seconds an attempt may take.
    pub timeout: f64,
    pub kind: SourceKind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum SourceKind {
    File { path: PathBuf },
    QuotaSentinel(QuotaSentinel),
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

impl SourceSpec {
    pub fn file(path: PathBuf, label: String, interval: f64) -> SourceSpec {
        SourceSpec {
            id: format!("file:{}", path.display()),
            label: format!("status file {label}"),
            interval,
            timeout: 10.0,
            kind: SourceKind::File { path },
        }
    }

    /// Whether this source is the status file at `path`.
    pub fn is_file(&self, path: &std::path::Path) -> bool {
        matches!(&self.kind, SourceKind::File { path: p } if p == path)
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
            SourceKind::QuotaSentinel(q) => q.fetch(client, self.timeout, aliases).await,
        };
        match result {
            Ok(providers) => self.observed(now(), providers),
            Err(f) => Answer::Failed {
                error: f.error,
                forget_data: false,
                retry_after: f.retry_after,
            },
        }
    }

    fn observed(
        &self,
        at: Timestamp,
        providers: std::collections::BTreeMap<String, crate::quota::Report>,
    ) -> Answer {
        Answer::Observed(Observation {
            source: self.id.clone(),
            at,
            providers,
        })
    }

    /// Whether a one-shot run should poll it now: status files always; others once any
    /// `Retry-After` or backoff recorded in the book has passed.
    pub fn due(&self, book: &QuotaBook, now: Timestamp) -> bool {
        matches!(self.kind, SourceKind::File { .. })
            || book
                .sources
                .get(&self.id)
                .and_then(|e| e.next_poll)
                .is_none_or(|t| t <= now)
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
                (book.sources[&self.id].failures, *retry_after)
            }
        };
        let delay = schedule::delay(self.interval, failures, retry_after, 0.0);
        let next = now
            .checked_add(jiff::SignedDuration::from_secs_f64(delay))
            .unwrap_or(now);
        if let Some(entry) = book.sources.get_mut(&self.id) {
            entry.next_poll = Some(next);
        }
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
