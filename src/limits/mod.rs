//! The one table of providers' limit messages (README, "Limit messages"): the text an agent or a
//! provider printed when a request was refused → the provider family, whether a usage quota is
//! spent (switch) or the provider only throttles (the agent retries; switch nothing), and when
//! the limit resets.
//!
//! The table is data, `assets/limits.json`, shared with switcher's OpenCode plugin, which reads
//! the same rows in JavaScript: rows are tried in order and the first whose pattern matches
//! anywhere in the text, case-insensitively, wins. So that a message reads the same on both
//! sides, this module follows the plugin's semantics to the millisecond, quirks included, and
//! `tests/limits/vectors.json` — real messages with their origins, run by both test suites —
//! pins them down. Pure: "now" and the local zone are parameters.

mod reset;

use std::sync::LazyLock;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use regex::{Regex, RegexBuilder};
use serde::Deserialize;

/// The table, as shipped (the OpenCode plugin's installer bakes this text in).
pub(crate) const TABLE: &str = include_str!("../../assets/limits.json");

/// What a limit message means.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Kind {
    /// A quota is spent: the provider is RED until the reset.
    Usage,
    /// Transient (per-minute limits, overload): the agent retries by itself.
    Throttle,
}

/// A message the table recognised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Limit {
    /// The row's `id` (`zai-usage-limit`).
    pub(crate) row: &'static str,
    /// The provider family the message comes from (`zai`, `anthropic`, `github-copilot`…); a
    /// reader that knows the provider better (the session's endpoint) uses its own.
    pub(crate) provider: &'static str,
    pub(crate) kind: Kind,
    /// The reset the message names; `None` when it names none (or one that cannot be read, or
    /// for a throttle): the reader decides.
    pub(crate) resets_at: Option<Timestamp>,
}

/// How a row reads the reset from its pattern's named groups.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Extractor {
    None,
    Epoch,
    Iso,
    Relative,
    ClockInZone,
    MonthDayClockInZone,
}

/// A row as the table writes it.
#[derive(Deserialize)]
struct RowSpec {
    id: String,
    provider: String,
    kind: Kind,
    pattern: String,
    reset: Extractor,
    zone: Option<String>,
    throttle_below_s: Option<f64>,
}

#[derive(Deserialize)]
struct TableSpec {
    rows: Vec<RowSpec>,
}

struct Row {
    id: String,
    provider: String,
    kind: Kind,
    regex: Regex,
    reset: Extractor,
    /// For `iso` stamps without an offset; UTC when absent.
    zone: Option<String>,
    throttle_below_s: Option<f64>,
}

/// Compiles a pattern as the plugin does (`new RegExp(p, "iu")`): case-insensitive and Unicode.
/// CRLF mode keeps `.` off `\r` as well as `\n`, as in JavaScript.
fn compile(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern)
        .case_insensitive(true)
        .crlf(true)
        .build()
}

fn load(text: &str) -> Result<Vec<Row>, String> {
    let table: TableSpec = serde_json::from_str(text).map_err(|e| e.to_string())?;
    table
        .rows
        .into_iter()
        .map(|r| {
            let regex = compile(&r.pattern).map_err(|e| format!("row {}: {e}", r.id))?;
            Ok(Row {
                id: r.id,
                provider: r.provider,
                kind: r.kind,
                regex,
                reset: r.reset,
                zone: r.zone,
                throttle_below_s: r.throttle_below_s,
            })
        })
        .collect()
}

/// The table, parsed and compiled once, at first use. The tests load it, so a row that does not
/// compile never ships.
static ROWS: LazyLock<Vec<Row>> =
    LazyLock::new(|| load(TABLE).expect("assets/limits.json loads (checked by the tests)"));

/// Reads a provider's message: `None` when no row matches. `now` is when the message was seen
/// (relative resets count from it, and a clock time is the next one after it); `local_zone`
/// reads times the message gives without a zone.
pub(crate) fn classify(message: &str, now: Timestamp, local_zone: &TimeZone) -> Option<Limit> {
    classify_in(&ROWS, message, now, local_zone)
}

fn classify_in(
    rows: &'static [Row],
    message: &str,
    now: Timestamp,
    local_zone: &TimeZone,
) -> Option<Limit> {
    if message.is_empty() {
        return None;
    }
    let (row, caps) = rows
        .iter()
        .find_map(|row| row.regex.captures(message).map(|caps| (row, caps)))?;
    let mut kind = row.kind;
    let mut resets_at = None;
    if kind == Kind::Usage {
        let now_ms = now.as_millisecond();
        let group = |name: &str| {
            caps.name(name)
                .map(|m| m.as_str())
                .filter(|s| !s.is_empty())
        };
        let at = reset::extract(row.reset, &group, row.zone.as_deref(), now_ms, local_zone);
        // One sentence can mean both: "your quota will reset after 53s" is throttling.
        // (A bound of 0 is no bound, as in JavaScript.)
        let below = row.throttle_below_s.filter(|b| *b != 0.0 && !b.is_nan());
        if let (Some(below), Some(at)) = (below, at)
            && ((at as f64) - (now_ms as f64)) < below * 1000.0
        {
            kind = Kind::Throttle;
        } else {
            resets_at = at.and_then(|ms| Timestamp::from_millisecond(ms).ok());
        }
    }
    Some(Limit {
        row: &row.id,
        provider: &row.provider,
        kind,
        resets_at,
    })
}

#[cfg(test)]
mod tests;
