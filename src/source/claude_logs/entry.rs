//! One transcript line → whether it reports a usage limit (README, "Claude Code transcripts").
//!
//! Claude Code writes a refused request into the session's transcript as an assistant line in
//! the model's place (`isApiErrorMessage: true`, model `<synthetic>`). Since 2.1.33x such a line
//! carries structured fields (`apiError: "usage_limit_reached"`, `apiErrorParams.rate_limit_info`
//! or `quotaLimits` with `resetsAt` and `rateLimitType`); older versions only wrote a text
//! (`Claude AI usage limit reached|<unix s>`, `You've hit your session limit · resets …`), which
//! the shared table of limit messages reads. The structured fields win when present. Only error
//! lines count: an assistant's ordinary answer that quotes a limit message is not a limit.
//! Pure: the time standing in for a missing timestamp and the local zone are parameters.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::Value;

use crate::limits::{self, Kind};

/// What [`Hit::how`] says for the structured fields: Claude's own subscription limit.
pub(crate) const STRUCTURED: &str = "usage_limit_reached";

/// A usage limit one line reports.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Hit {
    /// When the line was written (its `timestamp`; when it has none, the file's last change,
    /// which is no earlier).
    pub(crate) at: Timestamp,
    /// The session's working directory, where its project settings are.
    pub(crate) cwd: Option<String>,
    /// The provider family the message names (`anthropic` for the structured fields).
    pub(crate) provider: String,
    /// The reset the line names, if any.
    pub(crate) resets_at: Option<Timestamp>,
    /// The limit's window: the structured `rateLimitType` (`five_hour`, `seven_day_opus`…), or
    /// what the text says (`opus`, `sonnet`), else `limit`.
    pub(crate) window: String,
    /// What recognised it: `usage_limit_reached`, or the table row's id.
    pub(crate) how: String,
}

/// What one line says.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Line {
    /// A usage limit.
    Limit(Hit),
    /// Nothing a switcher acts on (an ordinary line, a throttle, another error).
    Nothing,
    /// Not a JSON object: why.
    Bad(String),
}

/// Whether a line may be about a limit at all: every wording has `limit` in it (`Limit
/// Exhausted`, `rate_limit`, `usage limit reached`). Most lines are skipped here, unparsed.
pub(crate) fn may_be_limit(line: &[u8]) -> bool {
    line.windows(4).any(|w| w.eq_ignore_ascii_case(b"imit"))
}

/// Reads one line (without its newline). `written` stands in for a missing timestamp (the file's
/// modification time: a read's "now" would make every new run find the line fresh again);
/// `zone` reads a reset the text gives without a zone.
pub(crate) fn read(line: &[u8], written: Timestamp, zone: &TimeZone) -> Line {
    if !may_be_limit(line) {
        return Line::Nothing;
    }
    let value: Value = match serde_json::from_slice(line) {
        Ok(value @ Value::Object(_)) => value,
        Ok(_) => return Line::Bad("not a JSON object".to_owned()),
        Err(e) => return Line::Bad(format!("not JSON ({e})")),
    };
    if value["type"] != "assistant" || !is_error(&value) {
        return Line::Nothing;
    }
    let at = (value["timestamp"].as_str())
        .and_then(|t| t.parse::<Timestamp>().ok())
        .unwrap_or(written);
    let cwd = value["cwd"].as_str().map(str::to_owned);
    if let Some(hit) = structured(&value, at, cwd.clone()) {
        return Line::Limit(hit);
    }
    let text = text(&value["message"]["content"]);
    match limits::classify(&text, at, zone) {
        Some(limit) if limit.kind == Kind::Usage => Line::Limit(Hit {
            at,
            cwd,
            provider: limit.provider.to_owned(),
            resets_at: limit.resets_at,
            window: text_window(&text).to_owned(),
            how: limit.row.to_owned(),
        }),
        _ => Line::Nothing,
    }
}

/// An error Claude Code wrote in the model's place, not something the model said.
fn is_error(value: &Value) -> bool {
    value["isApiErrorMessage"] == true
        || value["message"]["model"] == "<synthetic>"
        || value.get("apiError").is_some_and(|e| !e.is_null())
}

/// The structured fields: `apiError: "usage_limit_reached"`, with the reset and the window in
/// `apiErrorParams.rate_limit_info` or `quotaLimits` (as Claude Code names them in different
/// releases).
fn structured(value: &Value, at: Timestamp, cwd: Option<String>) -> Option<Hit> {
    if value["apiError"] != "usage_limit_reached" {
        return None;
    }
    let info = [
        &value["apiErrorParams"]["rate_limit_info"],
        &value["apiErrorParams"]["rateLimitInfo"],
        &value["quotaLimits"],
    ]
    .into_iter()
    .find(|v| v.is_object());
    let resets_at = info.and_then(|i| epoch(&i["resetsAt"]));
    let window = (info.and_then(|i| i["rateLimitType"].as_str()))
        .filter(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or("limit");
    Some(Hit {
        at,
        cwd,
        provider: "anthropic".to_owned(),
        resets_at,
        window: window.to_owned(),
        how: STRUCTURED.to_owned(),
    })
}

/// Unix seconds (or milliseconds, when it has 13 digits), as a number or a string.
fn epoch(value: &Value) -> Option<Timestamp> {
    let n = match value {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    if !n.is_finite() || n <= 0.0 {
        return None;
    }
    let ms = if n >= 1e12 { n } else { n * 1000.0 };
    Timestamp::from_millisecond(ms as i64).ok()
}

/// The text of a message's content: a string, or its text blocks joined.
fn text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(|b| b["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// The window a text names: a model family's own limit spares the other models.
fn text_window(text: &str) -> &'static str {
    let lower = text.to_lowercase();
    if lower.contains("opus limit") || lower.contains("opus weekly limit") {
        "opus"
    } else if lower.contains("sonnet limit") || lower.contains("sonnet weekly limit") {
        "sonnet"
    } else {
        "limit"
    }
}

/// The models a window governs: an Opus or Sonnet limit only those; any other, every model.
pub(crate) fn scope(window: &str) -> Option<&'static str> {
    if window.contains("opus") {
        Some("opus")
    } else if window.contains("sonnet") {
        Some("sonnet")
    } else {
        None
    }
}
