//! Projection of a window's usage: when will it reach 100% at the current pace?

use jiff::SignedDuration;

use crate::quota::{SAMPLES, Sample};

/// Fewest samples, and shortest span, a projection is made from.
const MIN_SAMPLES: usize = 3;
const MIN_SPAN: SignedDuration = SignedDuration::from_mins(10);

/// Percent per second, by least squares over the last samples; `None` when there are too few
/// samples or they span too short a time.
pub(crate) fn slope(samples: &[Sample]) -> Option<f64> {
    let samples = &samples[samples.len().saturating_sub(SAMPLES)..];
    let (first, last) = (samples.first()?, samples.last()?);
    let span = last.at.duration_since(first.at);
    if samples.len() < MIN_SAMPLES || span < MIN_SPAN {
        return None;
    }
    let points: Vec<(f64, f64)> = samples
        .iter()
        .map(|s| (s.at.duration_since(first.at).as_secs_f64(), s.utilization))
        .collect();
    let n = points.len() as f64;
    let mean_t = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_u = points.iter().map(|p| p.1).sum::<f64>() / n;
    let cov: f64 = points
        .iter()
        .map(|(t, u)| (t - mean_t) * (u - mean_u))
        .sum();
    let var: f64 = points.iter().map(|(t, _)| (t - mean_t).powi(2)).sum();
    (var > 0.0).then(|| cov / var)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;

    fn samples(points: &[(i64, f64)]) -> Vec<Sample> {
        points
            .iter()
            .map(|&(t, u)| Sample {
                at: Timestamp::from_second(t).unwrap(),
                utilization: u,
            })
            .collect()
    }

    #[test]
    fn fits_a_line() {
        let s = slope(&samples(&[(0, 10.0), (300, 13.0), (600, 16.0)])).unwrap();
        assert!((s - 0.01).abs() < 1e-9);
    }

    #[test]
    fn needs_three_samples_over_ten_minutes() {
        assert_eq!(slope(&samples(&[(0, 10.0), (900, 20.0)])), None);
        assert_eq!(
            slope(&samples(&[(0, 10.0), (100, 20.0), (599, 30.0)])),
            None
        );
    }

    #[test]
    fn uses_only_the_last_ten() {
        let mut points: Vec<(i64, f64)> = (0..5).map(|i| (i * 60, 90.0 - i as f64)).collect();
        points.extend((5..15).map(|i| (i * 120, 10.0 + i as f64)));
        let s = slope(&samples(&points)).unwrap();
        assert!((s - 1.0 / 120.0).abs() < 1e-9);
    }
}
