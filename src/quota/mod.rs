//! The quota model: what sources report (per provider a status and usage windows) and the book
//! of what each source last said, as plain data with pure updates.
//!
//! Every source — a status file, a provider's usage API, a command — is normalised to these
//! types, so the engine judges them all the same way. Sources produce it, the state dir stores
//! it, the engine reads it; it depends on none of them.

mod book;

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

pub use book::{QuotaBook, SAMPLES, Sample, SourceEntry};

/// How close a provider or window is to exhaustion. Ordered: GREEN < YELLOW < RED.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    Green,
    Yellow,
    Red,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Green => "GREEN",
            Level::Yellow => "YELLOW",
            Level::Red => "RED",
        }
    }
}

/// One usage window of a provider (`five_hour`, `seven_day_opus`, `balance`…).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Window {
    /// Percent used, 0–100.
    pub utilization: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resets_at: Option<Timestamp>,
    /// A status given by the source, used instead of the computed one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Level>,
    /// The models this window applies to (substring match); `None` means every model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub models: Option<Vec<String>>,
}

impl Window {
    /// Whether this window governs `model`. A scope entry matches when the model id contains it
    /// (case-insensitive); an entry starting with `=` only when it is the whole id, less any
    /// provider prefix (`google/`). Either way the id is taken without a context suffix
    /// (`opus[1m]`) or a variant (`…#high`).
    pub fn applies_to(&self, model: &str) -> bool {
        let model = bare_model(model).to_lowercase();
        let name = model.rsplit('/').next().unwrap_or(&model);
        self.models.as_ref().is_none_or(|scope| {
            scope.iter().any(|entry| {
                let entry = entry.to_lowercase();
                match entry.strip_prefix(EXACT) {
                    Some(exact) => name == exact,
                    None => model.contains(&entry),
                }
            })
        })
    }
}

/// What a source covers before it first answers when it cannot know whom it will report on (a
/// command, a quota-sentinel daemon): every provider no other source covers. Until that source
/// answers, those providers are UNKNOWN rather than unmonitored; its answer names the real ones.
pub const ANY: &str = "*";

/// Marks a scope entry that must equal the model id rather than be part of it.
pub const EXACT: &str = "=";

/// A model id without its OpenCode variant (`…#high`) or Claude Code context suffix (`opus[1m]`):
/// the model whose quota it uses.
pub fn bare_model(model: &str) -> &str {
    let model = model.split('#').next().unwrap_or(model).trim();
    match model.strip_suffix(']').and_then(|m| m.rfind('[')) {
        Some(open) => &model[..open],
        None => model,
    }
}

/// One provider's state as one source reported it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Level>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub windows: BTreeMap<String, Window>,
    /// Set when the source could not tell this provider's state: the provider is UNKNOWN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Why the source's entry for this provider was malformed, to be warned about when the
    /// answer arrives; not kept in the quota book.
    #[serde(skip)]
    pub malformed: Option<String>,
}

impl Report {
    pub fn failed(error: impl Into<String>) -> Report {
        Report {
            error: Some(error.into()),
            ..Report::default()
        }
    }

    /// Adds a window; one already there under the name (a window an answer gives twice, in two
    /// shapes) stays as the worse of the two: the more used, with the graver explicit status.
    pub fn keep_worse(&mut self, name: String, window: Window) {
        match self.windows.get_mut(&name) {
            None => {
                self.windows.insert(name, window);
            }
            Some(kept) => {
                let status = kept.status.max(window.status);
                if window.utilization > kept.utilization {
                    let resets_at = window.resets_at.or(kept.resets_at);
                    *kept = Window {
                        resets_at,
                        ..window
                    };
                }
                kept.status = status;
            }
        }
    }

    /// A report for a malformed entry: the provider is UNKNOWN, and the answer warns why.
    pub fn malformed(why: String) -> Report {
        Report {
            error: Some(format!("malformed entry: {why}")),
            malformed: Some(why),
            ..Report::default()
        }
    }
}

/// One answer of a source: the providers it covers, as of `at`.
#[derive(Clone, Debug, PartialEq)]
pub struct Observation {
    pub source: String,
    pub at: Timestamp,
    pub providers: BTreeMap<String, Report>,
}

/// Formats a percentage as output shows it: no decimals when whole, else one.
pub fn percent(value: f64) -> String {
    let rounded = (value * 10.0).round() / 10.0;
    // Near f64::MAX the tenfold overflows; such a value has no tenths to round anyway.
    let rounded = if rounded.is_finite() { rounded } else { value };
    // `-0.0` (as given, or rounded from just below zero) prints as `-0`; adding zero clears it.
    let rounded = rounded + 0.0;
    if rounded.fract() == 0.0 {
        format!("{rounded:.0}%")
    } else {
        format!("{rounded:.1}%")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_formatting() {
        assert_eq!(percent(92.0), "92%");
        assert_eq!(percent(92.25), "92.3%");
        assert_eq!(percent(89.96), "90%");
        assert_eq!(percent(0.5), "0.5%");
        assert_eq!(percent(-0.0), "0%");
        assert_eq!(percent(-0.04), "0%");
        assert_eq!(percent(-1e308), format!("{:.0}%", -1e308));
        assert!(!percent(f64::MAX).contains("inf"));
    }

    #[test]
    fn window_scope_is_a_case_insensitive_substring() {
        let w = Window {
            utilization: 99.0,
            resets_at: None,
            status: None,
            models: Some(vec!["opus".into()]),
        };
        assert!(w.applies_to("claude-OPUS-4-1"));
        assert!(!w.applies_to("sonnet"));
        assert!(Window { models: None, ..w }.applies_to("sonnet"));
    }

    #[test]
    fn scopes_match_the_id_without_its_suffix() {
        assert_eq!(bare_model("opus[1m]"), "opus");
        assert_eq!(bare_model("claude-sonnet-4-5[1m]"), "claude-sonnet-4-5");
        assert_eq!(
            bare_model("anthropic/claude-sonnet-4-5#high"),
            "anthropic/claude-sonnet-4-5"
        );
        assert_eq!(bare_model("glm-4.6"), "glm-4.6");
        let scoped = |entry: &str| Window {
            utilization: 100.0,
            resets_at: None,
            status: None,
            models: Some(vec![entry.to_owned()]),
        };
        assert!(scoped("opus").applies_to("opus[1m]"));
        assert!(!scoped("1m").applies_to("sonnet[1m]"));
        let exact = scoped("=gemini-2.5-flash");
        assert!(exact.applies_to("gemini-2.5-flash"));
        assert!(exact.applies_to("google/Gemini-2.5-Flash#low"));
        assert!(!exact.applies_to("gemini-2.5-flash-lite"));
        assert!(!exact.applies_to("google/gemini-2.5-flash-lite"));
    }
}
