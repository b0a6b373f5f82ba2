//! Pure decisions: how healthy each model is, and what each slot should hold (docs/design.md,
//! Decisions).
//!
//! Nothing here does IO or reads the clock: the quota book, the policy and "now" come in as
//! values, so every rule is tested as a table of scenarios.

mod decide;
mod health;
mod policy;
mod velocity;

pub(crate) use decide::{Decision, SlotCase, advance_streak, decide};
pub(crate) use health::{Health, Judge, State};
pub(crate) use policy::{Overrides, Policy, ProviderOverrides, Thresholds};
pub(crate) use velocity::slope;

/// A duration as output shows it: `45s`, `12m`, `3h05m`, `2d04h`.
pub(crate) fn human_duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86400 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{:02}h", s / 86400, s % 86400 / 3600),
    }
}
