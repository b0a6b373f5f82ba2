//! Quota sources: where provider health comes from. Each source answers with an observation of
//! the providers it covers, or fails; a failing source never takes the others down.
//!
//! Every kind of source is one row of [`KINDS`], which the config's validation, auto-detection
//! and building all read. A status file (`file`) and the signals dir are special: the daemon watches them. Every other
//! source is a [`Provider`]: one module with the same shape — a pure `parse` of the answer, a
//! `build` that resolves its config entry and credentials, and a thin `fetch`. The API-key
//! sources share one [`keyed::KeyedSource`], each module describing only what sets it apart.

pub mod balance;
pub mod claude;
pub mod claude_logs;
mod claude_version;
pub mod codex;
pub mod command;
pub mod copilot;
pub mod credentials;
pub mod deepseek;
pub mod entry;
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
pub mod signals;
mod spec;
pub mod status_doc;
pub mod zai;

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::time::Duration;

use jiff::Timestamp;

use crate::env::Env;
use crate::provider::Aliases;
use crate::quota::{Report, SourceEntry};

pub use credentials::Fault;
pub use entry::{Fields, KeyConfig, KindConfig, RawSource, Region, SourceConfig};
pub use http::Failure;
pub use spec::{Answer, SourceSpec, focus, poll_all};

/// What one answer says, keyed by canonical provider id.
pub type Reports = BTreeMap<String, Report>;

/// A future a [`Provider`] returns from `fetch`.
pub type Fetch<'a> = Pin<Box<dyn Future<Output = Result<Reports, Failure>> + Send + 'a>>;

/// What a poll needs besides the source itself.
pub struct Poll<'a> {
    pub client: &'a http::Client,
    /// How long the attempt may take.
    pub timeout: Duration,
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
    /// The least time between polls unless the entry's own `interval` says otherwise: a floor
    /// under `poll_interval` for a source that rate-limits readily.
    fn min_interval(&self) -> Duration {
        Duration::ZERO
    }
    /// A file or directory the daemon watches, reading the source again at each change; a
    /// one-shot run reads it whatever the book says about its next poll.
    fn watched(&self) -> Option<Watch<'_>> {
        None
    }
    /// Whether it only reads local files, synchronously: a run whose due sources all do starts
    /// its async runtime without the I/O driver (sockets, child processes, signals).
    fn local(&self) -> bool {
        false
    }
    /// Hears what the book last recorded for it, before its first read in this process (the
    /// signals dir uses it to know what an unreadable file may have named).
    fn recall(&self, _previous: &SourceEntry) {}
    /// One attempt.
    fn fetch<'a>(&'a self, poll: &'a Poll<'a>) -> Fetch<'a>;
}

/// What the daemon watches for a source.
#[derive(Clone, Copy, Debug)]
pub enum Watch<'a> {
    /// One file (a status file).
    File(&'a Path),
    /// Every file in a directory that `accepts` takes (the signals dir), or under it when
    /// `recursive` (Claude Code's transcripts).
    Dir {
        path: &'a Path,
        accepts: fn(&Path) -> bool,
        recursive: bool,
    },
}

impl<'a> Watch<'a> {
    pub fn path(self) -> &'a Path {
        match self {
            Watch::File(path) | Watch::Dir { path, .. } => path,
        }
    }
}

/// What building a source needs: the captured environment and where relative paths start.
pub struct Build<'a> {
    pub env: &'a Env,
    pub config_dir: &'a Path,
    /// The state dir, whose records tell what this tool wrote (`claude-logs` reads them); `None`
    /// where no switching follows (detection for `init`, tests).
    pub state_dir: Option<&'a Path>,
}

/// One kind of source.
pub struct Kind {
    /// Its `kind` in the config.
    pub name: &'static str,
    /// Whether auto-detection tries it (a source that needs configuration cannot be found).
    pub detect: bool,
    /// Takes its own fields of a config entry; what it leaves are not its fields.
    pub read: fn(&mut Fields) -> KindConfig,
}

/// Every kind of source, alphabetically. Each entry of the config is read by its kind's row, and
/// what the row reads is built by [`KindConfig::build`].
pub const KINDS: &[Kind] = &[
    Kind {
        name: "claude",
        detect: true,
        read: |f| KindConfig::Claude {
            credentials_file: f.credentials_file(),
        },
    },
    Kind {
        name: "claude-logs",
        detect: true,
        read: |f| KindConfig::ClaudeLogs {
            path: f.optional_path(),
        },
    },
    Kind {
        name: "codex",
        detect: true,
        read: |f| KindConfig::Codex {
            credentials_file: f.credentials_file(),
        },
    },
    Kind {
        name: "command",
        detect: false,
        read: |f| KindConfig::Command {
            command: f.command(),
        },
    },
    Kind {
        name: "copilot",
        detect: true,
        read: |f| KindConfig::Copilot {
            credentials_file: f.credentials_file(),
        },
    },
    Kind {
        name: "deepseek",
        detect: true,
        read: |f| KindConfig::Deepseek {
            key: f.key(),
            budget: f.budget(),
        },
    },
    Kind {
        name: "file",
        detect: false,
        read: |f| KindConfig::File { path: f.path() },
    },
    Kind {
        name: "gemini",
        detect: true,
        read: |f| KindConfig::Gemini {
            credentials_file: f.credentials_file(),
        },
    },
    Kind {
        name: "kimi",
        detect: true,
        read: |f| KindConfig::Kimi {
            key: f.key(),
            credentials_file: f.credentials_file(),
        },
    },
    Kind {
        name: "minimax",
        detect: true,
        read: |f| KindConfig::Minimax {
            key: f.key(),
            region: f.region(),
        },
    },
    Kind {
        name: "moonshot",
        detect: true,
        read: |f| KindConfig::Moonshot {
            key: f.key(),
            budget: f.budget(),
            region: f.region(),
        },
    },
    Kind {
        name: "openrouter",
        detect: true,
        read: |f| KindConfig::Openrouter {
            key: f.key(),
            budget: f.budget(),
        },
    },
    Kind {
        name: "quota-sentinel",
        detect: false,
        read: |f| KindConfig::QuotaSentinel {
            base_url: f.base_url(),
            key: f.key(),
            ignore_status: f.ignore_status(),
        },
    },
    Kind {
        name: "zai",
        detect: true,
        read: |f| KindConfig::Zai {
            key: f.key(),
            region: f.region(),
        },
    },
];

impl KindConfig {
    /// Builds the source an entry describes, resolving its credentials; errors name the field.
    /// `base_url` is the entry's common one.
    pub fn build(
        &self,
        base_url: Option<&str>,
        build: &Build<'_>,
    ) -> Result<Box<dyn Provider>, Fault> {
        use KindConfig as K;
        match self {
            K::File { path } => file::build(path, build),
            K::Claude { credentials_file } => {
                claude::build(base_url, credentials_file.as_deref(), build)
            }
            K::ClaudeLogs { path } => claude_logs::build(path.as_deref(), build),
            K::Codex { credentials_file } => {
                codex::build(base_url, credentials_file.as_deref(), build)
            }
            K::Command { command } => command::build(command, build),
            K::Copilot { credentials_file } => {
                copilot::build(base_url, credentials_file.as_deref(), build)
            }
            K::Gemini { credentials_file } => {
                gemini::build(base_url, credentials_file.as_deref(), build)
            }
            K::Kimi {
                key,
                credentials_file,
            } => kimi::build(base_url, key, credentials_file.as_deref(), build),
            K::QuotaSentinel {
                base_url,
                key,
                ignore_status,
            } => quota_sentinel::build(base_url, key, *ignore_status, build),
            K::Deepseek { key, budget } => {
                keyed::build(&deepseek::KIND, key, None, *budget, base_url, build)
            }
            K::Minimax { key, region } => {
                keyed::build(&minimax::KIND, key, *region, None, base_url, build)
            }
            K::Moonshot {
                key,
                budget,
                region,
            } => keyed::build(&moonshot::KIND, key, *region, *budget, base_url, build),
            K::Openrouter { key, budget } => {
                keyed::build(&openrouter::KIND, key, None, *budget, base_url, build)
            }
            K::Zai { key, region } => keyed::build(&zai::KIND, key, *region, None, base_url, build),
        }
    }
}

/// Unit-test helpers shared by the source modules.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// Builds a source from a JSON5 config entry in an environment rooted at `dir`; an entry that
    /// is not valid fails as building it would.
    pub fn build(
        entry: &str,
        dir: &Path,
        vars: &[(&str, &str)],
    ) -> Result<std::sync::Arc<dyn Provider>, Fault> {
        let raw: RawSource = json5::from_str(entry).expect("a well-formed entry");
        let config = SourceConfig::read(raw)?;
        let env = Env::for_tests(dir, vars);
        let build = Build {
            env: &env,
            config_dir: dir,
            state_dir: None,
        };
        Ok(config
            .kind
            .build(config.base_url.as_deref(), &build)?
            .into())
    }

    /// Polls a source once, as the daemon would.
    pub async fn fetch(provider: &dyn Provider, now: Timestamp) -> Result<Reports, Failure> {
        let client = http::Client::new();
        let aliases = Aliases::default();
        provider
            .fetch(&Poll {
                client: &client,
                timeout: Duration::from_secs(5),
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

    /// The window `name` of `report`, checked: `used` percent (to a millionth) and its reset
    /// (RFC 3339, as jiff prints it), or none.
    pub fn window<'a>(
        report: &'a crate::quota::Report,
        name: &str,
        used: f64,
        reset: Option<&str>,
    ) -> &'a crate::quota::Window {
        let names: Vec<&String> = report.windows.keys().collect();
        let window = report
            .windows
            .get(name)
            .unwrap_or_else(|| panic!("no window {name} in {names:?}"));
        assert!(
            (window.utilization - used).abs() < 1e-6,
            "{name}: {} used, expected {used}",
            window.utilization
        );
        let at = window.resets_at.map(|t| t.to_string());
        assert_eq!(at.as_deref(), reset, "{name} resets");
        window
    }

    /// How the engine, with the default policy (YELLOW at 75%, RED at 90%), judges each of
    /// `models` on `provider` when `reports` were observed at `at`: `"RED"`, `"GREEN"`…
    pub fn judged(
        reports: &Reports,
        provider: &str,
        models: &[&str],
        at: Timestamp,
    ) -> Vec<&'static str> {
        use crate::engine::{Judge, Policy};
        use crate::quota::{Observation, QuotaBook};
        let mut book = QuotaBook::default();
        book.record(&Observation {
            source: "test".to_owned(),
            at,
            providers: reports.clone(),
        });
        let policy = Policy::default();
        let judge = Judge {
            policy: &policy,
            book: &book,
            now: at,
        };
        models
            .iter()
            .map(|m| judge.health(provider, Some(m)).name())
            .collect()
    }

    /// A time given as RFC 3339.
    pub fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_listed_once_alphabetically_and_detected_exactly_when_they_need_nothing() {
        let names: Vec<&str> = KINDS.iter().map(|k| k.name).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(names, sorted);
        for kind in KINDS {
            assert_eq!(
                SourceConfig::bare(kind).is_some(),
                kind.detect,
                "{}",
                kind.name
            );
        }
    }
}
