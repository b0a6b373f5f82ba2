//! One entry of the config's `sources`, typed: the fields every kind takes, and per kind exactly
//! its own (README, "Quota sources").
//!
//! An entry is read in two steps, so that every error stays as precise as it can be. Serde reads
//! the fields any kind takes, naming an unknown one with its line and column; then the kind's row
//! in [`KINDS`](super::KINDS) takes the fields it knows, and a field left over exists, but not for
//! this kind.

use std::time::Duration;

use serde::Deserialize;

use crate::secret::Secret;
use crate::time::seconds;

use super::{Fault, KINDS, Kind};

/// An entry as written: every field some kind takes.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSource {
    pub kind: String,
    interval: Option<f64>,
    timeout: Option<f64>,
    base_url: Option<String>,
    path: Option<String>,
    command: Option<Vec<String>>,
    api_key: Option<String>,
    api_key_env: Option<String>,
    region: Option<Region>,
    credentials_file: Option<String>,
    budget: Option<f64>,
    ignore_status: Option<bool>,
}

/// A valid entry.
#[derive(Clone, Debug, PartialEq)]
pub struct SourceConfig {
    /// Between polls; `poll_interval` when absent.
    pub interval: Option<Duration>,
    /// How long one attempt may take; 10 s when absent.
    pub timeout: Option<Duration>,
    /// Where the kind asks instead of its usual endpoint (quota-sentinel's, which it requires,
    /// is in its variant).
    pub base_url: Option<String>,
    pub kind: KindConfig,
}

/// What each kind of source is told, beyond the common fields.
#[derive(Clone, Debug, PartialEq)]
pub enum KindConfig {
    Claude {
        credentials_file: Option<String>,
    },
    /// Claude Code's transcripts: the projects dir, when not the usual one.
    ClaudeLogs {
        path: Option<String>,
    },
    Codex {
        credentials_file: Option<String>,
    },
    Command {
        /// An argv, never empty; run without a shell.
        command: Vec<String>,
    },
    Copilot {
        credentials_file: Option<String>,
    },
    Deepseek {
        key: KeyConfig,
        budget: Option<f64>,
    },
    File {
        path: String,
    },
    Gemini {
        credentials_file: Option<String>,
    },
    Kimi {
        key: KeyConfig,
        credentials_file: Option<String>,
    },
    Minimax {
        key: KeyConfig,
        region: Option<Region>,
    },
    Moonshot {
        key: KeyConfig,
        budget: Option<f64>,
        region: Option<Region>,
    },
    Openrouter {
        key: KeyConfig,
        budget: Option<f64>,
    },
    QuotaSentinel {
        base_url: String,
        key: KeyConfig,
        ignore_status: bool,
    },
    Zai {
        key: KeyConfig,
        region: Option<Region>,
    },
}

/// Where an entry says its API key is.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum KeyConfig {
    /// Neither `api_key` nor `api_key_env`: the kind's usual places.
    #[default]
    Usual,
    /// `api_key`.
    Given(Secret),
    /// `api_key_env`: the variable that holds it.
    Var(String),
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Region {
    #[default]
    Global,
    China,
}

impl Region {
    pub fn pick<T>(self, global: T, china: T) -> T {
        match self {
            Region::Global => global,
            Region::China => china,
        }
    }

    /// A source's label: `zai`, or `zai (china)`.
    pub fn label(self, kind: &str) -> String {
        self.pick(kind.to_owned(), format!("{kind} (china)"))
    }
}

impl SourceConfig {
    /// Validates an entry; an error names the field at fault. When several are, the order is:
    /// the kind, a field not of this kind, `interval`, `timeout`, then the kind's own checks.
    pub fn read(raw: RawSource) -> Result<SourceConfig, Fault> {
        let kind = KINDS.iter().find(|k| k.name == raw.kind).ok_or_else(|| {
            let kinds: Vec<&str> = KINDS.iter().map(|k| k.name).collect();
            let message = format!(
                "unknown source kind `{}`; expected one of {}",
                raw.kind,
                kinds.join(", ")
            );
            ("kind", message)
        })?;
        let mut fields = Fields {
            raw,
            kind: kind.name,
            faults: Vec::new(),
        };
        let of_kind = (kind.read)(&mut fields);
        let Fields { raw, faults, .. } = fields;
        if let Some(name) = raw
            .own_fields()
            .into_iter()
            .find_map(|(n, set)| set.then_some(n))
        {
            return Err((name, format!("not a field of source kind `{}`", kind.name)));
        }
        let interval = positive("interval", raw.interval)?;
        let timeout = positive("timeout", raw.timeout)?;
        if let Some(fault) = faults.into_iter().next() {
            return Err(fault);
        }
        Ok(SourceConfig {
            interval,
            timeout,
            base_url: raw.base_url,
            kind: of_kind,
        })
    }

    /// An entry naming only `kind`, as auto-detection tries it; `None` for a kind that needs more.
    pub fn bare(kind: &Kind) -> Option<SourceConfig> {
        SourceConfig::read(RawSource {
            kind: kind.name.to_owned(),
            ..RawSource::default()
        })
        .ok()
    }
}

fn positive(field: &'static str, value: Option<f64>) -> Result<Option<Duration>, Fault> {
    value
        .map(|v| seconds(v, true))
        .transpose()
        .map_err(|m| (field, m))
}

impl RawSource {
    /// The fields that only some kinds take, and whether each is still set.
    fn own_fields(&self) -> [(&'static str, bool); 8] {
        [
            ("path", self.path.is_some()),
            ("command", self.command.is_some()),
            ("api_key", self.api_key.is_some()),
            ("api_key_env", self.api_key_env.is_some()),
            ("region", self.region.is_some()),
            ("credentials_file", self.credentials_file.is_some()),
            ("budget", self.budget.is_some()),
            ("ignore_status", self.ignore_status.is_some()),
        ]
    }
}

/// An entry's fields, as its kind takes them. A field a kind never takes stays behind and is
/// reported; what is wrong with one it takes is noted, in the order taken.
pub struct Fields {
    raw: RawSource,
    kind: &'static str,
    faults: Vec<Fault>,
}

impl Fields {
    fn required<T: Default>(&mut self, name: &'static str, value: Option<T>) -> T {
        value.unwrap_or_else(|| {
            let message = format!("required for source kind `{}`", self.kind);
            self.faults.push((name, message));
            T::default()
        })
    }

    pub fn path(&mut self) -> String {
        let path = self.raw.path.take();
        self.required("path", path)
    }

    /// `path`, for a kind that has a usual place.
    pub fn optional_path(&mut self) -> Option<String> {
        self.raw.path.take()
    }

    pub fn command(&mut self) -> Vec<String> {
        let command = self.raw.command.take().filter(|c| !c.is_empty());
        self.required("command", command)
    }

    /// The common `base_url`, for the kind that cannot do without one.
    pub fn base_url(&mut self) -> String {
        let url = self.raw.base_url.take();
        self.required("base_url", url)
    }

    pub fn key(&mut self) -> KeyConfig {
        match (self.raw.api_key.take(), self.raw.api_key_env.take()) {
            (Some(key), None) => KeyConfig::Given(Secret::new(key)),
            (None, Some(var)) => KeyConfig::Var(var),
            (None, None) => KeyConfig::Usual,
            (Some(_), Some(_)) => {
                let message = "give `api_key` or `api_key_env`, not both".to_owned();
                self.faults.push(("api_key", message));
                KeyConfig::Usual
            }
        }
    }

    /// The region, when the entry names one (else the key's origin decides, global first).
    pub fn region(&mut self) -> Option<Region> {
        self.raw.region.take()
    }

    pub fn credentials_file(&mut self) -> Option<String> {
        self.raw.credentials_file.take()
    }

    /// The amount that counts as 0% used, positive.
    pub fn budget(&mut self) -> Option<f64> {
        let budget = self.raw.budget.take()?;
        if !(budget.is_finite() && budget > 0.0) {
            let message = format!("expected a positive amount, got {budget}");
            self.faults.push(("budget", message));
        }
        Some(budget)
    }

    pub fn ignore_status(&mut self) -> bool {
        self.raw.ignore_status.take().unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(entry: &str) -> Result<SourceConfig, Fault> {
        SourceConfig::read(json5::from_str(entry).expect("a well-formed entry"))
    }

    #[test]
    fn each_kind_gets_exactly_its_fields() {
        let zai = read("{kind: 'zai', region: 'china', api_key_env: 'K', interval: 1.5}").unwrap();
        assert_eq!(zai.interval, Some(Duration::from_millis(1500)));
        assert_eq!(
            zai.kind,
            KindConfig::Zai {
                key: KeyConfig::Var("K".into()),
                region: Some(Region::China)
            }
        );
        let sentinel = read("{kind: 'quota-sentinel', base_url: 'http://127.0.0.1:1'}").unwrap();
        assert_eq!(sentinel.base_url, None, "its base_url is its own");
        assert!(matches!(
            sentinel.kind,
            KindConfig::QuotaSentinel { ref base_url, ignore_status: false, .. }
                if base_url == "http://127.0.0.1:1"
        ));
        assert_eq!(
            read("{kind: 'deepseek', region: 'china'}").unwrap_err(),
            ("region", "not a field of source kind `deepseek`".to_owned())
        );
    }

    #[test]
    fn faults_come_in_a_fixed_order() {
        let fault = |entry| read(entry).unwrap_err().0;
        assert_eq!(
            fault("{kind: 'file', region: 'china', interval: 0}"),
            "region"
        );
        assert_eq!(fault("{kind: 'file', interval: 0}"), "interval");
        assert_eq!(fault("{kind: 'file', timeout: -1}"), "timeout");
        assert_eq!(
            fault("{kind: 'moonshot', budget: 0, api_key: 'a', api_key_env: 'B'}"),
            "api_key"
        );
        assert_eq!(
            fault("{kind: 'quota-sentinel', api_key: 'a', api_key_env: 'B'}"),
            "base_url"
        );
        assert_eq!(fault("{kind: 'command', command: []}"), "command");
        assert!(
            read("{kind: 'nope'}")
                .unwrap_err()
                .1
                .contains("claude, claude-logs, codex, command")
        );
    }

    #[test]
    fn an_entry_never_prints_its_key() {
        let entry = read("{kind: 'zai', api_key: 'sk-canary'}").unwrap();
        assert!(!format!("{entry:?}").contains("canary"));
    }
}
