//! Quota sources: where provider health comes from. Each source answers with an observation of
//! the providers it covers, or fails; a failing source never takes the others down.

pub mod file;
pub mod status_doc;

use std::path::PathBuf;

use jiff::Timestamp;

use crate::provider::Aliases;
use crate::quota::Observation;

/// A configured source, resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct SourceSpec {
    /// Stable identity in the quota book (`file:/abs/path`).
    pub id: String,
    /// What messages call it (`status file ~/quota.json`).
    pub label: String,
    /// Seconds between polls.
    pub interval: f64,
    pub kind: SourceKind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum SourceKind {
    File { path: PathBuf },
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
    },
}

impl SourceSpec {
    pub fn file(path: PathBuf, label: String, interval: f64) -> SourceSpec {
        SourceSpec {
            id: format!("file:{}", path.display()),
            label: format!("status file {label}"),
            interval,
            kind: SourceKind::File { path },
        }
    }

    /// Reads the source once.
    pub fn read(&self, aliases: &Aliases, now: Timestamp) -> Answer {
        match &self.kind {
            SourceKind::File { path } => match file::read(path, aliases) {
                Ok(providers) => Answer::Observed(Observation {
                    source: self.id.clone(),
                    at: now,
                    providers,
                }),
                Err(error) => Answer::Failed {
                    error,
                    forget_data: true,
                },
            },
        }
    }
}
