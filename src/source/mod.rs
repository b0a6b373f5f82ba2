//! Quota sources: where provider health comes from. Each source answers with an observation of
//! the providers it covers, or fails; a failing source never takes the others down.
//!
//! A status file (`file`) is special: the daemon watches it. Every other source is a
//! [`Provider`]: one module with the same shape — a pure `parse` of the answer, a `build` that
//! resolves its config entry and credentials, and a thin `fetch` — registered once in
//! [`BUILTIN`].

pub mod balance;
pub mod claude;
pub mod codex;
pub mod command;
pub mod copilot;
pub mod credentials;
pub mod deepseek;
pub mod file;
pub mod gemini;
pub mod http;
pub mod keyed;
pub mod kimi;
pub mod minimax;
pub mod moonshot;
pub mod number;
pub mod openrouter;
pub mod quota_sentinel;
pub mod schedule;
mod spec;
pub mod status_doc;
pub mod zai;

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;

use jiff::Timestamp;

use crate::config::SourceConfig;
use crate::provider::Aliases;
use crate::quota::Report;
use crate::settings::Env;

pub use credentials::Fault;
pub use http::Failure;
pub use spec::{Answer, SourceSpec, focus, poll_all};

/// What one answer says, keyed by canonical provider id.
pub type Reports = BTreeMap<String, Report>;

/// A future a [`Provider`] returns from `fetch`.
pub type Fetch<'a> = Pin<Box<dyn Future<Output = Result<Reports, Failure>> + Send + 'a>>;

/// What a poll needs besides the source itself.
pub struct Poll<'a> {
    pub client: &'a reqwest::Client,
    /// Seconds the attempt may take.
    pub timeout: f64,
    pub aliases: &'a Aliases,
    /// When the answer counts as observed (`SWITCHER_NOW` in one-shot runs).
    pub now: Timestamp,
}

/// A source that answers for providers when polled.
pub trait Provider: fmt::Debug + Send + Sync {
    /// Identity in the quota book: one account configured twice is one source, polled once.
    fn id(&self) -> String;
    /// What messages call it (`zai (global)`).
    fn label(&self) -> String;
    /// Whether its credentials were found; auto-detection uses only sources whose were.
    fn found(&self) -> bool {
        true
    }
    /// The providers it reports on, when known before it answers: until it does, and while it
    /// fails without earlier data, they are UNKNOWN rather than unmonitored.
    fn covers(&self) -> Vec<String> {
        Vec::new()
    }
    /// Whether a failure makes its providers UNKNOWN at once (like a broken status file) rather
    /// than keeping their last data until it is stale (like an API that failed once).
    fn forgets_data(&self) -> bool {
        false
    }
    /// One attempt.
    fn fetch<'a>(&'a self, poll: &'a Poll<'a>) -> Fetch<'a>;
}

/// What building a source needs: the captured environment and where relative paths start.
pub struct Build<'a> {
    pub env: &'a Env,
    pub config_dir: &'a Path,
}

/// One built-in kind of source.
pub struct Builtin {
    pub kind: &'static str,
    /// The fewest seconds between polls unless the entry's own `interval` says otherwise: a floor
    /// under `poll_interval` for a source that rate-limits readily.
    pub min_interval: f64,
    /// Whether auto-detection considers it (a source that needs configuration cannot be found).
    pub detect: bool,
    pub build: BuildFn,
}

/// Builds a source from its config entry, resolving its credentials; errors name the field.
pub type BuildFn = fn(&SourceConfig, &Build<'_>) -> Result<Box<dyn Provider>, Fault>;

/// Every built-in source, alphabetically.
pub const BUILTIN: &[Builtin] = &[
    Builtin {
        kind: "claude",
        min_interval: 120.0,
        detect: true,
        build: claude::build,
    },
    Builtin {
        kind: "codex",
        min_interval: 0.0,
        detect: true,
        build: codex::build,
    },
    Builtin {
        kind: "command",
        min_interval: 0.0,
        detect: false,
        build: command::build,
    },
    Builtin {
        kind: "copilot",
        min_interval: 0.0,
        detect: true,
        build: copilot::build,
    },
    Builtin {
        kind: "deepseek",
        min_interval: 0.0,
        detect: true,
        build: deepseek::build,
    },
    Builtin {
        kind: "gemini",
        min_interval: 0.0,
        detect: true,
        build: gemini::build,
    },
    Builtin {
        kind: "kimi",
        min_interval: 0.0,
        detect: true,
        build: kimi::build,
    },
    Builtin {
        kind: "minimax",
        min_interval: 0.0,
        detect: true,
        build: minimax::build,
    },
    Builtin {
        kind: "moonshot",
        min_interval: 0.0,
        detect: true,
        build: moonshot::build,
    },
    Builtin {
        kind: "openrouter",
        min_interval: 0.0,
        detect: true,
        build: openrouter::build,
    },
    Builtin {
        kind: "quota-sentinel",
        min_interval: 0.0,
        detect: false,
        build: quota_sentinel::build,
    },
    Builtin {
        kind: "zai",
        min_interval: 0.0,
        detect: true,
        build: zai::build,
    },
];

/// Unit-test helpers shared by the source modules.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// Builds a source from a JSON5 config entry in an environment rooted at `dir`.
    pub fn build(
        entry: &str,
        dir: &Path,
        vars: &[(&str, &str)],
    ) -> Result<Box<dyn Provider>, Fault> {
        let config: SourceConfig = json5::from_str(entry).expect("valid entry");
        let env = Env::for_tests(dir, vars);
        let builtin = BUILTIN
            .iter()
            .find(|b| b.kind == config.kind)
            .expect("known kind");
        (builtin.build)(
            &config,
            &Build {
                env: &env,
                config_dir: dir,
            },
        )
    }

    /// Polls a source once, as the daemon would.
    pub async fn fetch(provider: &dyn Provider, now: Timestamp) -> Result<Reports, Failure> {
        let client = http::client();
        let aliases = Aliases::default();
        provider
            .fetch(&Poll {
                client: &client,
                timeout: 5.0,
                aliases: &aliases,
                now,
            })
            .await
    }

    /// The "now" every source test polls at.
    pub fn now() -> Timestamp {
        "2026-11-21T12:00:00Z".parse().unwrap()
    }

    /// Writes `text` to `dir/rel`, making the directories on the way (a credential file in a
    /// test home); returns the file's path.
    pub fn write(dir: &Path, rel: &str, text: &str) -> std::path::PathBuf {
        let file = dir.join(rel);
        std::fs::create_dir_all(file.parent().expect("a file in a directory")).unwrap();
        std::fs::write(&file, text).unwrap();
        file
    }

    /// A fixture body from `fixtures/providers/<kind>/<name>`.
    pub fn fixture(kind: &str, name: &str) -> String {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/providers")
            .join(kind)
            .join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }
}
