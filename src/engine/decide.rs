//! The three per-slot rules, and the streaks that give them hysteresis (README, How it decides;
//! docs/design.md, Decisions).

use std::sync::Arc;

use super::{Health, Policy};
use crate::quota::Level;

/// One slot as a pass sees it. `C` is what a chain names: the rules only compare candidates and
/// ask the health of each, so they do not care whether one is a model or a whole profile.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SlotCase<'a, C> {
    /// O: what the slot held before this tool changed it (equal to `current` when unswitched).
    pub(crate) original: &'a C,
    /// C: what the slot holds now.
    pub(crate) current: &'a C,
    /// Whether C is a fallback this tool set (rule 2) rather than the original (rule 1).
    pub(crate) switched: bool,
    /// Consecutive GREEN observations of O since the switch.
    pub(crate) streak: u32,
    /// F: the fallback chain of O, in order.
    pub(crate) chain: &'a [C],
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Decision<C> {
    Stay,
    Switch { to: C, reason: Arc<str> },
    Restore { reason: Arc<str> },
}

/// The streak after one observation of the original's provider: one more when it is GREEN,
/// else back to zero.
pub(crate) fn advance_streak(streak: u32, original: &Health) -> u32 {
    if original.is(Level::Green) {
        streak.saturating_add(1)
    } else {
        0
    }
}

/// Decides one slot. `health` judges a candidate, or returns `None` for one that cannot be used
/// at all (such as a profile whose variables are unset).
pub(crate) fn decide<C: Clone + PartialEq>(
    case: &SlotCase<'_, C>,
    policy: &Policy,
    health: &dyn Fn(&C) -> Option<Health>,
) -> Decision<C> {
    let Some(original) = health(case.original) else {
        return Decision::Stay;
    };
    if !case.switched {
        // Rule 1: leave an unhealthy original for the first healthy candidate.
        if !original.reaches(policy.switch_at) {
            return Decision::Stay;
        }
        return match pick(case, &[case.original], original.is(Level::Red), health) {
            Some((to, fallback)) => Decision::Switch {
                reason: reason(&original.why, &fallback),
                to,
            },
            None => Decision::Stay,
        };
    }
    // Rule 2: on a fallback this tool set.
    if original.state == super::State::Unmonitored {
        return Decision::Restore {
            reason: format!("{} any more", original.why).into(),
        };
    }
    if original.is(Level::Green) && case.streak >= policy.recovery_hold.max(1) {
        let n = case.streak;
        return Decision::Restore {
            reason: format!(
                "{} GREEN for {n} observation{}",
                original.provider,
                if n == 1 { "" } else { "s" }
            )
            .into(),
        };
    }
    let Some(current) = health(case.current) else {
        return Decision::Stay;
    };
    if !current.reaches(policy.switch_at) {
        return Decision::Stay;
    }
    if original.is(Level::Green) {
        return Decision::Restore {
            reason: format!("{}; {} GREEN", current.why, original.provider).into(),
        };
    }
    let allow_yellow = original.is(Level::Red) && current.is(Level::Red);
    if let Some((to, fallback)) = pick(case, &[case.original, case.current], allow_yellow, health) {
        return Decision::Switch {
            reason: reason(&current.why, &fallback),
            to,
        };
    }
    if original.is(Level::Yellow) && current.is(Level::Red) {
        return Decision::Restore {
            reason: format!("{}; {} only YELLOW", current.why, original.provider).into(),
        };
    }
    Decision::Stay
}

/// The first healthy candidate of the chain, else (when allowed) the first YELLOW one.
fn pick<C: Clone + PartialEq>(
    case: &SlotCase<'_, C>,
    skip: &[&C],
    allow_yellow: bool,
    health: &dyn Fn(&C) -> Option<Health>,
) -> Option<(C, Health)> {
    let mut first_yellow = None;
    for candidate in case.chain.iter().filter(|c| !skip.contains(c)) {
        let Some(h) = health(candidate) else { continue };
        if h.is_healthy() {
            return Some((candidate.clone(), h));
        }
        if h.is(Level::Yellow) && first_yellow.is_none() {
            first_yellow = Some((candidate.clone(), h));
        }
    }
    first_yellow.filter(|_| allow_yellow)
}

/// Why a slot moves: why its model is left (shared with the judgement, which every slot on that
/// model shares), and what is wrong with where it goes.
fn reason(why: &Arc<str>, fallback: &Health) -> Arc<str> {
    if fallback.is(Level::Yellow) {
        format!("{why}; no GREEN fallback, {} is YELLOW", fallback.provider).into()
    } else {
        why.clone()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::engine::State;

    /// A slot driven through a scenario: each step sets provider levels (one observation each)
    /// and checks what the slot holds afterwards, as a pass would apply it.
    struct World {
        policy: Policy,
        levels: BTreeMap<&'static str, State>,
        original: String,
        current: String,
        switched: bool,
        streak: u32,
        chain: Vec<String>,
    }

    fn provider(model: &str) -> &str {
        model.split('/').next().unwrap()
    }

    impl World {
        fn new(original: &str, chain: &[&str]) -> World {
            World {
                policy: Policy {
                    recovery_hold: 3,
                    ..Policy::default()
                },
                levels: BTreeMap::new(),
                original: original.into(),
                current: original.into(),
                switched: false,
                streak: 0,
                chain: chain.iter().map(|s| (*s).to_owned()).collect(),
            }
        }

        fn health(&self, model: &str) -> Option<Health> {
            let p = provider(model);
            let state = self.levels.get(p).copied().unwrap_or(State::Unmonitored);
            Some(Health::new(
                state,
                p.into(),
                format!("{p} {state:?}").into(),
            ))
        }

        /// One observation of every provider in `levels`, then one pass.
        fn step(&mut self, levels: &[(&'static str, State)]) -> Decision<String> {
            for (p, s) in levels {
                self.levels.insert(p, *s);
            }
            let observed = levels.iter().any(|(p, _)| *p == provider(&self.original));
            if self.switched && observed {
                self.streak = advance_streak(self.streak, &self.health(&self.original).unwrap());
            }
            let case = SlotCase {
                original: &self.original,
                current: &self.current,
                switched: self.switched,
                streak: self.streak,
                chain: &self.chain,
            };
            let decision = decide(&case, &self.policy, &|m| self.health(m));
            match &decision {
                Decision::Switch { to, .. } => {
                    self.current = to.clone();
                    if !self.switched {
                        self.streak = 0;
                    }
                    self.switched = true;
                }
                Decision::Restore { .. } => {
                    self.current = self.original.clone();
                    self.switched = false;
                }
                Decision::Stay => {}
            }
            decision
        }
    }

    const G: State = State::Known(Level::Green);
    const Y: State = State::Known(Level::Yellow);
    const R: State = State::Known(Level::Red);
    const U: State = State::Unknown;

    #[test]
    fn switches_on_red_only() {
        let mut w = World::new("zai/glm", &["ds/chat"]);
        assert_eq!(w.step(&[("zai", Y), ("ds", G)]), Decision::Stay);
        assert_eq!(w.step(&[("zai", U)]), Decision::Stay);
        assert!(matches!(w.step(&[("zai", R)]), Decision::Switch { to, .. } if to == "ds/chat"));
    }

    #[test]
    fn switch_at_yellow() {
        let mut w = World::new("zai/glm", &["ds/chat"]);
        w.policy.switch_at = Level::Yellow;
        assert!(matches!(
            w.step(&[("zai", Y), ("ds", G)]),
            Decision::Switch { .. }
        ));
    }

    #[test]
    fn skips_unhealthy_and_unknown_candidates_and_takes_unmonitored() {
        let mut w = World::new("zai/glm", &["ds/chat", "kimi/k2", "or/qwen"]);
        let d = w.step(&[("zai", R), ("ds", R), ("kimi", U)]);
        assert!(matches!(d, Decision::Switch { to, .. } if to == "or/qwen"));
    }

    #[test]
    fn first_yellow_only_when_original_is_red() {
        let mut w = World::new("zai/glm", &["ds/chat", "kimi/k2"]);
        w.policy.switch_at = Level::Yellow;
        assert_eq!(
            w.step(&[("zai", Y), ("ds", R), ("kimi", Y)]),
            Decision::Stay
        );
        let d = w.step(&[("zai", R)]);
        assert!(
            matches!(&d, Decision::Switch { to, reason } if to == "kimi/k2" && reason.contains("no GREEN fallback")),
            "{d:?}"
        );
    }

    #[test]
    fn stays_when_no_candidate_is_usable() {
        let mut w = World::new("zai/glm", &["ds/chat"]);
        assert_eq!(w.step(&[("zai", R), ("ds", R)]), Decision::Stay);
        assert_eq!(w.current, "zai/glm");
    }

    #[test]
    fn recovers_after_exactly_the_hold_and_resets_on_non_green() {
        let mut w = World::new("zai/glm", &["ds/chat"]);
        w.step(&[("zai", R), ("ds", G)]);
        assert_eq!(w.step(&[("zai", G)]), Decision::Stay);
        assert_eq!(w.step(&[("zai", G)]), Decision::Stay);
        assert_eq!(
            w.step(&[("zai", Y)]),
            Decision::Stay,
            "a YELLOW observation resets the streak"
        );
        assert_eq!(w.step(&[("zai", G)]), Decision::Stay);
        assert_eq!(w.step(&[("zai", G)]), Decision::Stay);
        let d = w.step(&[("zai", G)]);
        assert_eq!(
            d,
            Decision::Restore {
                reason: "zai GREEN for 3 observations".into()
            }
        );
        assert_eq!(w.current, "zai/glm");
    }

    #[test]
    fn observations_of_other_providers_do_not_count() {
        let mut w = World::new("zai/glm", &["ds/chat"]);
        w.step(&[("zai", R), ("ds", G)]);
        w.step(&[("zai", G)]);
        for _ in 0..5 {
            assert_eq!(w.step(&[("ds", G)]), Decision::Stay);
        }
        assert_eq!(w.streak, 1);
    }

    #[test]
    fn hold_of_zero_or_one_restores_at_the_first_green() {
        for hold in [0, 1] {
            let mut w = World::new("zai/glm", &["ds/chat"]);
            w.policy.recovery_hold = hold;
            w.step(&[("zai", R), ("ds", G)]);
            assert!(matches!(w.step(&[("zai", G)]), Decision::Restore { .. }));
        }
    }

    #[test]
    fn flapping_at_the_threshold_does_not_flap_the_slot() {
        let mut w = World::new("zai/glm", &["ds/chat"]);
        let mut switches = 0;
        for i in 0..12 {
            let level = if i % 2 == 0 { R } else { G };
            if w.step(&[("zai", level), ("ds", G)]) != Decision::Stay {
                switches += 1;
            }
        }
        assert_eq!(
            switches, 1,
            "one switch away, no way back while it keeps flapping"
        );
    }

    #[test]
    fn repicks_when_the_fallback_goes_unhealthy() {
        let mut w = World::new("zai/glm", &["ds/chat", "kimi/k2"]);
        w.step(&[("zai", R), ("ds", G), ("kimi", G)]);
        assert_eq!(w.current, "ds/chat");
        let d = w.step(&[("ds", R)]);
        assert!(
            matches!(&d, Decision::Switch { to, reason } if to == "kimi/k2" && &**reason == "ds Known(Red)"),
            "{d:?}"
        );
        // Fallback RED and original GREEN: back to the original, hold or not.
        w.step(&[("kimi", R), ("zai", G)]);
        assert_eq!(w.current, "zai/glm");
    }

    #[test]
    fn a_red_fallback_with_nothing_better_stays() {
        let mut w = World::new("zai/glm", &["ds/chat", "kimi/k2"]);
        w.step(&[("zai", R), ("ds", G), ("kimi", R)]);
        assert_eq!(w.step(&[("ds", R)]), Decision::Stay);
        assert_eq!(w.current, "ds/chat");
        // A YELLOW candidate beats a RED fallback when the original is RED too.
        assert!(matches!(w.step(&[("kimi", Y)]), Decision::Switch { to, .. } if to == "kimi/k2"));
    }

    #[test]
    fn a_yellow_original_beats_a_red_fallback() {
        let mut w = World::new("zai/glm", &["ds/chat"]);
        w.step(&[("zai", R), ("ds", G)]);
        assert!(matches!(
            w.step(&[("zai", Y), ("ds", R)]),
            Decision::Restore { .. }
        ));
    }

    #[test]
    fn unknown_fallback_is_not_a_reason_to_move() {
        let mut w = World::new("zai/glm", &["ds/chat", "kimi/k2"]);
        w.step(&[("zai", R), ("ds", G), ("kimi", G)]);
        assert_eq!(w.step(&[("ds", U)]), Decision::Stay);
    }

    #[test]
    fn unmonitored_original_is_restored() {
        let mut w = World::new("zai/glm", &["ds/chat"]);
        w.step(&[("zai", R), ("ds", G)]);
        w.levels.remove("zai");
        assert!(matches!(w.step(&[]), Decision::Restore { .. }));
    }
}
