//! When to poll a source next: its interval with a little jitter, exponential backoff after
//! failures (up to 8× the interval), and never before a `Retry-After`.

/// Jitter spreads polls by up to this fraction of the delay, either way.
const JITTER: f64 = 0.1;
/// Backoff doubles per consecutive failure up to this factor of the interval.
const MAX_BACKOFF: f64 = 8.0;
/// No wait is longer than a year, whatever the config or a server's `Retry-After` says: callers
/// turn the delay into durations and timestamps, which have finite ranges.
pub const MAX_DELAY: f64 = 366.0 * 86_400.0;

/// Seconds until the next poll. `failures` counts consecutive failed polls including the one just
/// made (0 after a success); `jitter` is a number in [-1, 1].
pub fn delay(interval: f64, failures: u32, retry_after: Option<f64>, jitter: f64) -> f64 {
    let factor = if failures == 0 {
        1.0
    } else {
        2f64.powi(failures.min(3) as i32).min(MAX_BACKOFF)
    };
    let delay = interval * factor * (1.0 + JITTER * jitter.clamp(-1.0, 1.0));
    let delay = retry_after.map_or(delay, |r| r.max(delay));
    // Inputs are validated finite, but a NaN must not reach the callers' conversions either.
    if delay.is_nan() {
        0.0
    } else {
        delay.clamp(0.0, MAX_DELAY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_backoff_and_retry_after() {
        assert_eq!(delay(60.0, 0, None, 0.0), 60.0);
        assert_eq!(delay(60.0, 1, None, 0.0), 120.0);
        assert_eq!(delay(60.0, 2, None, 0.0), 240.0);
        assert_eq!(delay(60.0, 3, None, 0.0), 480.0);
        assert_eq!(delay(60.0, 9, None, 0.0), 480.0, "capped at 8x");
        assert_eq!(delay(60.0, 1, Some(3600.0), 0.0), 3600.0);
        assert_eq!(
            delay(60.0, 1, Some(5.0), 0.0),
            120.0,
            "never sooner than the backoff"
        );
        assert_eq!(delay(60.0, 0, None, 1.0), 66.0);
        assert_eq!(delay(60.0, 0, None, -7.0), 54.0);
    }

    #[test]
    fn absurd_intervals_and_retry_after_are_capped() {
        assert_eq!(delay(1e300, 3, None, 1.0), MAX_DELAY);
        assert_eq!(delay(60.0, 1, Some(1e300), 0.0), MAX_DELAY);
        assert_eq!(delay(f64::NAN, 0, None, 0.0), 0.0);
        // Every caller converts the delay without a panic.
        let d = jiff::SignedDuration::from_secs_f64(delay(f64::MAX, 9, Some(f64::MAX), 1.0));
        assert!(std::time::Duration::try_from(d).is_ok());
    }
}
