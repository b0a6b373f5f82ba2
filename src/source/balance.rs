//! Prepaid accounts (Moonshot, DeepSeek, OpenRouter credits) report money left, not percent used.
//! One rule turns a balance into the `balance` window, so every balance source judges alike:
//! against the source's `budget` (the amount that counts as 0% used) it becomes a percentage;
//! without one there is no percentage, only an explicit verdict — RED when nothing is left.

use crate::quota::{Level, Window};

/// The window every balance source reports.
pub const WINDOW: &str = "balance";

/// The `balance` window for `balance` left. `unavailable` is the provider's own word that the
/// account cannot be used (DeepSeek's `is_available: false`): RED whatever the amount.
pub fn window(balance: f64, budget: Option<f64>, unavailable: bool) -> Window {
    let budget = budget.filter(|b| b.is_finite() && *b > 0.0);
    let (utilization, status) = match budget {
        Some(budget) => (
            (100.0 * (1.0 - balance / budget)).clamp(0.0, 100.0),
            unavailable.then_some(Level::Red),
        ),
        None => (
            0.0,
            Some(if unavailable || balance <= 0.0 {
                Level::Red
            } else {
                Level::Green
            }),
        ),
    };
    Window {
        utilization,
        resets_at: None,
        status,
        models: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn against_a_budget() {
        let w = window(25.0, Some(100.0), false);
        assert_eq!((w.utilization, w.status), (75.0, None));
        assert_eq!(window(150.0, Some(100.0), false).utilization, 0.0);
        assert_eq!(window(-5.0, Some(100.0), false).utilization, 100.0);
        assert_eq!(
            window(80.0, Some(100.0), true).status,
            Some(Level::Red),
            "an unavailable account is RED whatever its balance"
        );
    }

    #[test]
    fn without_a_budget_only_a_verdict() {
        let w = window(25.0, None, false);
        assert_eq!((w.utilization, w.status), (0.0, Some(Level::Green)));
        assert_eq!(window(0.0, None, false).status, Some(Level::Red));
        assert_eq!(window(-1.5, None, false).status, Some(Level::Red));
        assert_eq!(window(25.0, None, true).status, Some(Level::Red));
        assert_eq!(
            window(25.0, Some(0.0), false).status,
            Some(Level::Green),
            "a zero budget is no budget"
        );
    }
}
