//! When to poll a source next: its interval with a little jitter, exponential backoff after
//! failures (up to 8× the interval), and never before a `Retry-After`.

use std::time::Duration;

/// Jitter spreads polls by up to this fraction of the delay, either way.
const JITTER: f64 = 0.1;
/// Backoff doubles per consecutive failure up to this factor of the interval.
const MAX_BACKOFF: u32 = 8;
/// No wait is longer than a year, whatever the config or a server's `Retry-After` says: callers
/// turn the delay into timestamps, which have finite ranges.
pub const MAX_DELAY: Duration = Duration::from_secs(366 * 86_400);

/// The wait until the next poll. `failures` counts consecutive failed polls including the one
/// just made (0 after a success); `jitter` is a number in [-1, 1].
pub fn delay(
    interval: Duration,
    failures: u32,
    retry_after: Option<Duration>,
    jitter: f64,
) -> Duration {
    let factor = if failures == 0 {
        1
    } else {
        (1 << failures.min(3)).min(MAX_BACKOFF)
    };
    let jitter = if jitter.is_nan() {
        0.0
    } else {
        jitter.clamp(-1.0, 1.0)
    };
    let seconds = interval.saturating_mul(factor).as_secs_f64() * (1.0 + JITTER * jitter);
    let delay = Duration::try_from_secs_f64(seconds).unwrap_or(MAX_DELAY);
    retry_after.map_or(delay, |r| r.max(delay)).min(MAX_DELAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn interval_backoff_and_retry_after() {
        let minute = secs(60);
        assert_eq!(delay(minute, 0, None, 0.0), secs(60));
        assert_eq!(delay(minute, 1, None, 0.0), secs(120));
        assert_eq!(delay(minute, 2, None, 0.0), secs(240));
        assert_eq!(delay(minute, 3, None, 0.0), secs(480));
        assert_eq!(delay(minute, 9, None, 0.0), secs(480), "capped at 8x");
        assert_eq!(delay(minute, 1, Some(secs(3600)), 0.0), secs(3600));
        assert_eq!(
            delay(minute, 1, Some(secs(5)), 0.0),
            secs(120),
            "never sooner than the backoff"
        );
        assert_eq!(delay(minute, 0, None, 1.0), secs(66));
        assert_eq!(delay(minute, 0, None, -7.0), secs(54));
        assert_eq!(delay(minute, 0, None, f64::NAN), secs(60));
    }

    #[test]
    fn absurd_intervals_and_retry_after_are_capped() {
        assert_eq!(delay(Duration::MAX, 3, None, 1.0), MAX_DELAY);
        assert_eq!(delay(secs(60), 1, Some(Duration::MAX), 0.0), MAX_DELAY);
        // Every caller turns the delay into a timestamp without a panic.
        let d = delay(Duration::MAX, 9, Some(Duration::MAX), 1.0);
        assert!(jiff::Timestamp::MIN.checked_add(d).is_ok());
    }
}
