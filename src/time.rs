//! Parsing the instants providers and status files write (RFC 3339 with any offset and up to
//! nanoseconds, or a bare date, midnight UTC) and the durations the config writes as seconds.

use std::time::Duration;

use jiff::Timestamp;
use jiff::civil::Date;

/// A number of seconds (fractions allowed) as a duration: finite, not negative, and with
/// `positive` not zero either. One too long for a `Duration` is the longest there is, which is as
/// good as forever.
pub(crate) fn seconds(value: f64, positive: bool) -> Result<Duration, String> {
    if !value.is_finite() || value < 0.0 || (positive && value == 0.0) {
        let sign = if positive { "positive" } else { "non-negative" };
        return Err(format!("expected a {sign} number of seconds, got {value}"));
    }
    let duration = Duration::try_from_secs_f64(value).unwrap_or(Duration::MAX);
    // A positive value below a nanosecond would round to zero, which `positive` forbids.
    Ok(if positive && duration.is_zero() {
        Duration::from_nanos(1)
    } else {
        duration
    })
}

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
    fn a_positive_duration_is_never_zero() {
        assert_eq!(seconds(5.98e-276, true), Ok(Duration::from_nanos(1)));
        assert_eq!(seconds(5.98e-276, false), Ok(Duration::ZERO));
        assert!(seconds(0.0, true).is_err());
    }

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

    #[test]
    fn seconds_are_finite_and_not_negative() {
        assert_eq!(seconds(1.5, true), Ok(Duration::from_millis(1500)));
        assert_eq!(seconds(0.0, false), Ok(Duration::ZERO));
        assert_eq!(seconds(1e300, false), Ok(Duration::MAX));
        assert_eq!(
            seconds(0.0, true).unwrap_err(),
            "expected a positive number of seconds, got 0"
        );
        assert_eq!(
            seconds(-1.0, false).unwrap_err(),
            "expected a non-negative number of seconds, got -1"
        );
        assert!(seconds(f64::NAN, false).is_err());
        assert!(seconds(f64::INFINITY, false).is_err());
    }
}
