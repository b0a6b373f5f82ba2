//! The switching passes: slot by slot on a target no profile governs, into a profile, and on an
//! active profile (docs/design.md, Decisions; Plans, state and restore).

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::sync::Arc;

use crate::engine::{Decision, Health, SlotCase, decide};
use crate::jsonc::{Document, Edit, PathSet};
use crate::target::{Candidate, Doc, Slot};

use super::live::EMPTY;
use super::{
    Change, ChangeKind, Enter, EnvBefore, Plan, Planner, ProfileRecord, SlotView, Standing,
    SwitchRecord, TargetState, landed, profile,
};

impl Planner<'_> {
    /// One pass of the switching rules over the target.
    pub(crate) fn switch_pass(&self, doc: &Doc, state: &TargetState) -> Plan {
        match (&state.profile, doc.json()) {
            (Some(record), Some(json)) if landed(doc, record) => {
                self.profile_pass(json, state, record)
            }
            (Some(record), _) => {
                let mut plan = self.slot_pass(
                    doc,
                    &TargetState {
                        profile: None,
                        ..state.clone()
                    },
                );
                plan.infos.insert(
                    0,
                    format!(
                        "{}: not in the file (never written, or put back by hand); forgetting it",
                        Candidate::Profile(record.profile.clone())
                    ),
                );
                plan
            }
            (None, _) => self.slot_pass(doc, state),
        }
    }

    /// The rules applied slot by slot, on a target no profile governs.
    fn slot_pass(&self, doc: &Doc, state: &TargetState) -> Plan {
        let mut plan = Plan::new(&state.without_switches());
        let skipped = RefCell::new(BTreeSet::new());
        let records = state.by_slot();
        if let Some((line, why)) = doc.unmanaged() {
            plan.notes.push(format!(
                "line {line}: `model:` is left alone: {why} (only one plain or quoted value on its \
                 line is managed)"
            ));
        }
        let slots = self.slots(doc, state);
        // Sized once: with thousands of slots, growing these vectors cost more than filling them.
        plan.slots.reserve_exact(slots.len());
        plan.edits.reserve(slots.len());
        plan.changes.reserve(slots.len());
        plan.state.switches.reserve(slots.len());
        // The text last written for a model: the slots that switch to one model share it.
        let mut written_for: Option<(Arc<str>, Arc<str>)> = None;
        for slot in slots {
            let standing = self.standing(&slot, records.get(&slot.path).copied(), &mut plan.infos);
            let (original_raw, original, original_provider, switched, streak) = match standing {
                Standing::Switched(r) => (
                    r.original.clone(),
                    r.original_model(self.kind).into(),
                    r.provider.clone(),
                    true,
                    r.streak,
                ),
                Standing::Own => (
                    slot.raw.clone(),
                    slot.model.clone(),
                    self.provider(doc, &slot.model),
                    false,
                    0,
                ),
            };
            let chain = self.chain(Some(&slot), &original, &mut plan.notes);
            let as_original = Candidate::Model(original.clone());
            let as_current = Candidate::Model(slot.model.clone());
            let health = |candidate: &Candidate| -> Option<Health> {
                if *candidate == as_original {
                    return Some(self.health(&original_provider, Some(&original)));
                }
                self.candidate(candidate, None, doc, &skipped)
            };
            let case = SlotCase {
                original: &as_original,
                current: &as_current,
                switched,
                streak,
                chain,
            };
            let (current, record) = match decide(&case, self.policy, &health) {
                Decision::Switch {
                    to: Candidate::Profile(name),
                    reason,
                } => {
                    // Only a JSON document is offered a profile (see `candidate`).
                    let Some(json) = doc.json() else { continue };
                    let mut plan = self.to_profile(
                        json,
                        state,
                        &slot,
                        &original_raw,
                        &original_provider,
                        streak,
                        &name,
                        reason,
                    );
                    plan.notes.extend(skipped.into_inner());
                    return plan;
                }
                Decision::Switch {
                    to: Candidate::Model(to),
                    reason,
                } => {
                    let written = match &written_for {
                        Some((model, text)) if *model == to => text.clone(),
                        _ => {
                            let text: Arc<str> = doc.value_text(&to).into();
                            written_for = Some((to.clone(), text.clone()));
                            text
                        }
                    };
                    let change = (ChangeKind::Switch, to.clone(), reason.clone());
                    replace(&mut plan, &slot, written.clone(), change);
                    let held = match &standing {
                        Standing::Switched(r) => r.held_after_move(&written),
                        Standing::Own => Vec::new(),
                    };
                    let record = SwitchRecord {
                        slot: slot.path.clone(),
                        original: original_raw.clone(),
                        provider: original_provider.clone(),
                        written,
                        previous: None,
                        held,
                        at: self.now,
                        reason,
                        streak,
                    };
                    (Candidate::Model(to), Some(record))
                }
                Decision::Restore { reason } => {
                    let change = (ChangeKind::Restore, original.clone(), reason);
                    replace(&mut plan, &slot, original_raw.clone(), change);
                    (as_original.clone(), None)
                }
                Decision::Stay => match standing {
                    Standing::Switched(r) => (
                        as_current.clone(),
                        Some(SwitchRecord {
                            previous: None,
                            ..r.clone()
                        }),
                    ),
                    Standing::Own => (as_current.clone(), None),
                },
            };
            let managed = !chain.is_empty() || record.is_some();
            let waits_on = record.as_ref().and_then(|_| health(&as_original));
            let health_now = health(&current);
            let current_id = match current {
                Candidate::Model(model) => model,
                profile => profile.to_string().into(),
            };
            let at_restart =
                managed && self.at_restart(doc, state, &slot.path, &original, &current_id);
            plan.slots.push(SlotView {
                health: health_now
                    .unwrap_or_else(|| self.health(&self.provider(doc, &current_id), None)),
                slot: slot.path,
                current: current_id,
                original,
                managed,
                reason: record.as_ref().map(|r| r.reason.clone()),
                waits_on,
                at_restart,
            });
            plan.state.switches.extend(record);
        }
        // The records outlive the pass (a daemon keeps them): no room left for switches not made.
        plan.state.switches.shrink_to_fit();
        plan.notes.extend(skipped.into_inner());
        // Only records made before this pass can be gone.
        let present: PathSet = if state.switches.is_empty() {
            PathSet::default()
        } else {
            plan.slots.iter().map(|s| &s.slot).collect()
        };
        let gone: Vec<String> = state
            .switches
            .iter()
            .filter(|r| !present.contains(&r.slot))
            .map(|r| format!("{}: no longer in the file; forgetting its switch", r.slot))
            .collect();
        plan.infos.extend(gone);
        plan
    }

    /// Carries out a decision to enter a profile made on the pass that left another. The rules
    /// are asked first, for the reason as they see it now; if they no longer pick that profile
    /// (the original is not bad enough to leave anew, say), the decision still stands. If the
    /// slot is gone meanwhile (edited away), the rules decide alone.
    pub(crate) fn enter(&self, doc: &Doc, state: &TargetState, enter: &Enter) -> Plan {
        let fresh = self.switch_pass(doc, state);
        if (fresh.state.profile.as_ref()).is_some_and(|p| p.profile == enter.profile) {
            return fresh;
        }
        let slot = self
            .slots(doc, state)
            .into_iter()
            .find(|s| s.path == enter.slot);
        match (slot, doc.json()) {
            (Some(slot), Some(json))
                if state.profile.is_none() && self.profiles.contains_key(&enter.profile) =>
            {
                self.to_profile(
                    json,
                    state,
                    &slot,
                    &enter.original,
                    &enter.provider,
                    enter.streak,
                    &enter.profile,
                    enter.reason.clone(),
                )
            }
            _ => fresh,
        }
    }

    /// Switches the whole target to a profile, chosen by `slot`'s chain. Other slots keep their
    /// records; while the profile is active they are not decided.
    #[allow(clippy::too_many_arguments)]
    fn to_profile(
        &self,
        doc: &Document,
        state: &TargetState,
        slot: &Slot,
        original_raw: &str,
        original_provider: &str,
        streak: u32,
        name: &str,
        reason: Arc<str>,
    ) -> Plan {
        let profile = &self.profiles[name];
        let applied = profile::apply(doc, profile, &slot.path, original_raw);
        let mut applied = applied;
        // A key still being cleared is one the file did not have: leaving this profile removes
        // it again, and puts `env` back as it was before the first was added.
        for c in &state.clearing {
            let mut absorbed = false;
            for key in &mut applied.keys {
                if c.keys.contains(&key.path) && key.original.as_deref() == Some(EMPTY) {
                    key.original = None;
                    absorbed = true;
                }
            }
            if absorbed && applied.env_before == EnvBefore::Present {
                applied.env_before = c.env_before.clone();
            }
        }
        let mut edits = Vec::new();
        // A slot on a model fallback goes home first unless the profile sets that key itself.
        if !profile::owns(&applied.keys, &slot.path) && *slot.raw != *original_raw {
            edits.push(Edit::Replace {
                path: slot.path.clone(),
                raw: original_raw.into(),
            });
        }
        edits.extend(applied.edits);
        let mut next = state.clone();
        next.switches.retain(|r| r.slot != slot.path);
        next.profile = Some(ProfileRecord {
            profile: name.to_owned(),
            slot: slot.path.clone(),
            original: original_raw.to_owned(),
            provider: original_provider.to_owned(),
            keys: applied.keys,
            env_before: applied.env_before,
            at: self.now,
            reason: reason.to_string(),
            streak,
        });
        let mut plan = Plan::new(&next);
        plan.changes.push(Change {
            kind: ChangeKind::Switch,
            slot: slot.path.clone(),
            from: slot.model.clone(),
            to: Candidate::Profile(name.to_owned()).to_string().into(),
            reason,
        });
        let after = Doc::Json(doc.apply(&edits).unwrap_or_else(|_| doc.clone()));
        plan.slots = self.view(&after, &next);
        plan.edits = edits;
        plan
    }

    /// The rules applied to an active profile: the profile is the fallback of the slot that chose
    /// it; the original is judged with the provider it had before the switch.
    fn profile_pass(&self, doc: &Document, state: &TargetState, record: &ProfileRecord) -> Plan {
        let current = Candidate::Profile(record.profile.clone());
        let original: Arc<str> = record.original_model().into();
        let as_original = Candidate::Model(original.clone());
        let chain = self.chain(None, &original, &mut Vec::new());
        let left = profile::leave(doc, record);
        let left_doc = Doc::Json(doc.apply(&left.edits).unwrap_or_else(|_| doc.clone()));
        let skipped = RefCell::new(BTreeSet::new());
        let health = |candidate: &Candidate| -> Option<Health> {
            if *candidate == as_original {
                return Some(self.health(&record.provider, Some(&original)));
            }
            if *candidate == current {
                return self
                    .profiles
                    .get(&record.profile)
                    .map(|p| self.profile_health(p));
            }
            // Candidates are judged as they would be once the profile is left.
            self.candidate(candidate, Some(&record.provider), &left_doc, &skipped)
        };
        let decision = if self.profiles.contains_key(&record.profile) {
            let case = SlotCase {
                original: &as_original,
                current: &current,
                switched: true,
                streak: record.streak,
                chain,
            };
            decide(&case, self.policy, &health)
        } else {
            Decision::Restore {
                reason: format!("{current} is no longer configured").into(),
            }
        };
        let mut next = state.clone();
        let mut plan = Plan::new(state);
        plan.notes.extend(skipped.into_inner());
        if decision != Decision::Stay {
            next.profile = None;
            next.clearing.extend(left.clearing(record, self.now));
            plan.edits = left.edits.clone();
            plan.notes.extend(
                left.kept
                    .iter()
                    .map(|k| format!("{}: changed to {} since the switch; kept", k.path, k.shown)),
            );
        }
        match decision {
            Decision::Stay => {}
            Decision::Restore { reason } => plan.changes.push(Change {
                kind: ChangeKind::Restore,
                slot: record.slot.clone(),
                from: current.to_string().into(),
                to: original.clone(),
                reason,
            }),
            Decision::Switch {
                to: Candidate::Profile(name),
                reason,
            } => {
                let to = Candidate::Profile(name.clone());
                plan.infos
                    .push(format!("leaving {current} for {to} ({reason})"));
                plan.then = Some(Enter {
                    slot: record.slot.clone(),
                    profile: name,
                    reason,
                    original: record.original.clone(),
                    provider: record.provider.clone(),
                    streak: record.streak,
                });
            }
            Decision::Switch {
                to: Candidate::Model(to),
                reason,
            } => {
                let written: Arc<str> = left_doc.value_text(&to).into();
                // Leaving may already put the slot back; the fallback replaces that edit.
                plan.edits
                    .retain(|e| !matches!(e, Edit::Replace { path, .. } if *path == record.slot));
                plan.edits.push(Edit::Replace {
                    path: record.slot.clone(),
                    raw: written.clone(),
                });
                next.switches.retain(|r| r.slot != record.slot);
                next.switches.push(SwitchRecord {
                    slot: record.slot.clone(),
                    original: record.original.as_str().into(),
                    provider: record.provider.as_str().into(),
                    previous: None,
                    held: Vec::new(),
                    written,
                    at: self.now,
                    reason: reason.clone(),
                    streak: record.streak,
                });
                plan.changes.push(Change {
                    kind: ChangeKind::Switch,
                    slot: record.slot.clone(),
                    from: current.to_string().into(),
                    to,
                    reason,
                });
            }
        }
        let after = Doc::Json(doc.apply(&plan.edits).unwrap_or_else(|_| doc.clone()));
        plan.slots = self.view(&after, &next);
        plan.state = next;
        plan
    }
}

/// Puts `raw` into the slot, and reports it as a change of `kind` to `to`, for `reason`.
fn replace(
    plan: &mut Plan,
    slot: &Slot,
    raw: Arc<str>,
    (kind, to, reason): (ChangeKind, Arc<str>, Arc<str>),
) {
    plan.edits.push(Edit::Replace {
        path: slot.path.clone(),
        raw,
    });
    plan.changes.push(Change {
        kind,
        slot: slot.path.clone(),
        from: slot.model.clone(),
        to,
        reason,
    });
}
