//! Parsing the instants providers and status files write: RFC 3339 with any offset and up to
//! nanoseconds, or a bare date (midnight UTC).

use jiff::Timestamp;
use jiff::civil::Date;

pub(crate) fn parse_instant(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    if let Ok(ts) = text.parse::<Timestamp>() {
        return Some(ts);
    }
    let date: Date = text.parse().ok()?;
    date.to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let p = |s| parse_instant(s).map(|t| t.to_string());
        assert_eq!(
            p("2026-11-21T20:00:00Z").as_deref(),
            Some("2026-11-21T20:00:00Z")
        );
        assert_eq!(
            p("2026-11-21T21:00:00+01:00").as_deref(),
            Some("2026-11-21T20:00:00Z")
        );
        assert_eq!(
            p("2026-11-21T20:00:00.123456789Z").as_deref(),
            Some("2026-11-21T20:00:00.123456789Z")
        );
        assert_eq!(p("2026-12-01").as_deref(), Some("2026-12-01T00:00:00Z"));
        assert_eq!(p("soon"), None);
    }
}
