//! The user's rules for judging quota: thresholds, when to leave a model, how long to wait.

use std::collections::BTreeMap;

use jiff::SignedDuration;

use crate::quota::Level;

/// Percent-used levels at which a window turns YELLOW and RED.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Thresholds {
    pub(crate) yellow: f64,
    pub(crate) red: f64,
}

/// A partial override of [`Thresholds`].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Overrides {
    pub(crate) yellow: Option<f64>,
    pub(crate) red: Option<f64>,
}

/// A provider's overrides, and per-window overrides beneath them.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct ProviderOverrides {
    pub(crate) provider: Overrides,
    pub(crate) windows: BTreeMap<String, Overrides>,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Policy {
    pub(crate) thresholds: Thresholds,
    /// Keyed by canonical provider id.
    pub(crate) provider_thresholds: BTreeMap<String, ProviderOverrides>,
    /// Leave an original once it reaches this level.
    pub(crate) switch_at: Level,
    /// RED when a window is projected to be spent sooner than this.
    pub(crate) safety_margin: SignedDuration,
    /// Older data makes a provider UNKNOWN.
    pub(crate) stale_after: SignedDuration,
    /// Consecutive GREEN observations of an original before it is restored.
    pub(crate) recovery_hold: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            thresholds: Thresholds {
                yellow: 75.0,
                red: 90.0,
            },
            provider_thresholds: BTreeMap::new(),
            switch_at: Level::Red,
            safety_margin: SignedDuration::from_mins(15),
            stale_after: SignedDuration::from_mins(10),
            recovery_hold: 3,
        }
    }
}

impl Policy {
    /// The thresholds for one window: the window's override beats the provider's, which beats
    /// the global ones.
    pub(crate) fn thresholds(&self, provider: &str, window: &str) -> Thresholds {
        let mut t = self.thresholds;
        if let Some(p) = self.provider_thresholds.get(provider) {
            for o in [Some(&p.provider), p.windows.get(window)]
                .into_iter()
                .flatten()
            {
                t.yellow = o.yellow.unwrap_or(t.yellow);
                t.red = o.red.unwrap_or(t.red);
            }
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_beats_provider_beats_global() {
        let mut policy = Policy::default();
        let mut windows = BTreeMap::new();
        windows.insert(
            "seven_day".to_owned(),
            Overrides {
                yellow: Some(80.0),
                red: Some(95.0),
            },
        );
        policy.provider_thresholds.insert(
            "anthropic".to_owned(),
            ProviderOverrides {
                provider: Overrides {
                    yellow: None,
                    red: Some(85.0),
                },
                windows,
            },
        );
        assert_eq!(
            policy.thresholds("anthropic", "seven_day"),
            Thresholds {
                yellow: 80.0,
                red: 95.0
            }
        );
        assert_eq!(
            policy.thresholds("anthropic", "five_hour"),
            Thresholds {
                yellow: 75.0,
                red: 85.0
            }
        );
        assert_eq!(
            policy.thresholds("zai", "five_hour"),
            Thresholds {
                yellow: 75.0,
                red: 90.0
            }
        );
    }
}
