//! Planning one target's pass, purely: from its parsed document, its recorded switches and the
//! engine's judgement to the edits to make, the records to keep, and the changes to report.
//!
//! A plan is recomputed from scratch whenever the file changed under us, so it must not depend
//! on anything but its inputs.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use jiff::Timestamp;

use crate::engine::{Decision, Health, Judge, Policy, SlotCase, advance_streak, decide};
use crate::jsonc::{Document, Edit, KeyPath};
use crate::provider::Aliases;
use crate::quota::Level;
use crate::state::{SwitchRecord, TargetState, decode};
use crate::target::{Kind, Slot};

/// Everything a plan needs besides the document and its records.
pub struct Planner<'a> {
    pub kind: Kind,
    pub policy: &'a Policy,
    pub judge: &'a Judge<'a>,
    pub aliases: &'a Aliases,
    pub fallbacks: &'a BTreeMap<String, Vec<String>>,
    pub now: Timestamp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    Switch,
    Restore,
    /// `--restore` found a slot the user changed since the switch, and kept it.
    Kept,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub kind: ChangeKind,
    pub slot: KeyPath,
    pub from: String,
    pub to: String,
    pub reason: String,
}

/// One slot as it stands after the plan.
#[derive(Clone, Debug, PartialEq)]
pub struct SlotView {
    pub slot: KeyPath,
    pub current: String,
    pub original: String,
    /// The provider and health of the current model.
    pub health: Health,
    /// Has a fallback chain or a switch record.
    pub managed: bool,
}

#[derive(Clone, Debug)]
pub struct Plan {
    pub edits: Vec<Edit>,
    /// The records once the edits have landed.
    pub state: TargetState,
    pub changes: Vec<Change>,
    pub slots: Vec<SlotView>,
    pub notes: Vec<String>,
}

impl Plan {
    /// Some managed slot ends the pass on a RED model.
    pub fn ends_red(&self) -> bool {
        self.slots
            .iter()
            .any(|s| s.managed && s.health.is(Level::Red))
    }

    /// The records to save before writing the target, so that a crash at any point leaves
    /// records that match the file: new and moved switches as planned (a moved one remembering
    /// the fallback it replaces), and restored ones still present until the restore has landed.
    pub fn state_before_write(&self, before: &TargetState) -> TargetState {
        let mut state = self.state.clone();
        let old = before.by_slot();
        for record in &mut state.switches {
            if let Some(old) = old.get(&record.slot)
                && old.written != record.written
            {
                record.previous = Some(old.written.clone());
            }
        }
        let planned: HashSet<&KeyPath> = self.state.switches.iter().map(|r| &r.slot).collect();
        let restoring: Vec<SwitchRecord> = before
            .switches
            .iter()
            .filter(|r| !planned.contains(&r.slot))
            .cloned()
            .collect();
        state.switches.extend(restoring);
        state
    }
}

/// Advances each record's recovery streak by one observation of its original's provider.
pub fn advance_streaks(state: &mut TargetState, observed: &BTreeSet<String>, judge: &Judge<'_>) {
    for record in &mut state.switches {
        if observed.contains(&record.provider) {
            let health = judge.health(&record.provider, Some(&record.original_model()));
            record.streak = advance_streak(record.streak, &health);
        }
    }
}

/// How a slot relates to its record.
enum Standing<'r> {
    /// No record, or one that no longer applies: the slot's value is its original.
    Own,
    /// The slot holds what this tool wrote.
    Switched(&'r SwitchRecord),
}

impl Planner<'_> {
    fn provider(&self, doc: &Document, model: &str) -> String {
        self.kind.provider(doc, model, self.aliases)
    }

    fn chain(&self, slot: &Slot, original: &str) -> Vec<String> {
        slot.fallback_models
            .clone()
            .or_else(|| self.fallbacks.get(original).cloned())
            .unwrap_or_default()
    }

    /// Reconciles a record with what the slot holds now (SPEC §6.2 rule 3, §7).
    fn standing<'r>(
        &self,
        slot: &Slot,
        record: Option<&'r SwitchRecord>,
        notes: &mut Vec<String>,
    ) -> Standing<'r> {
        let Some(record) = record else {
            return Standing::Own;
        };
        if slot.raw == record.written || record.previous.as_deref() == Some(slot.raw.as_str()) {
            return Standing::Switched(record);
        }
        if slot.raw != record.original {
            notes.push(format!(
                "{}: changed to {} since the switch; adopting it as the original",
                slot.path, slot.model
            ));
        }
        Standing::Own
    }

    /// One pass of the switching rules over every slot.
    pub fn switch_pass(&self, doc: &Document, state: &TargetState) -> Plan {
        let mut plan = Plan {
            edits: Vec::new(),
            state: TargetState {
                switches: Vec::new(),
                ..state.clone()
            },
            changes: Vec::new(),
            slots: Vec::new(),
            notes: Vec::new(),
        };
        let mut skipped_profiles = BTreeSet::new();
        let records = state.by_slot();
        for slot in self.kind.slots(doc) {
            let record = records.get(&slot.path).copied();
            let standing = self.standing(&slot, record, &mut plan.notes);
            let (original_raw, original, original_provider, switched, streak) = match standing {
                Standing::Switched(r) => (
                    r.original.clone(),
                    r.original_model(),
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
            let chain = self.chain(&slot, &original);
            skipped_profiles.extend(chain.iter().filter(|c| c.starts_with("profile:")).cloned());
            let health = |candidate: &str| -> Option<Health> {
                if candidate == original {
                    return Some(self.judge.health(&original_provider, Some(candidate)));
                }
                if candidate.starts_with("profile:") {
                    return None;
                }
                Some(
                    self.judge
                        .health(&self.provider(doc, candidate), Some(candidate)),
                )
            };
            let case = SlotCase {
                original: &original,
                current: &slot.model,
                switched,
                streak,
                chain: &chain,
            };
            let decision = decide(&case, self.policy, &health);
            let (current, record) = match decision {
                Decision::Switch { to, reason } => {
                    let written = serde_json::to_string(&to).expect("strings serialise");
                    plan.edits.push(Edit::Replace {
                        path: slot.path.clone(),
                        raw: written.clone(),
                    });
                    plan.changes.push(Change {
                        kind: ChangeKind::Switch,
                        slot: slot.path.clone(),
                        from: slot.model.clone(),
                        to: to.clone(),
                        reason: reason.clone(),
                    });
                    let record = SwitchRecord {
                        slot: slot.path.clone(),
                        original: original_raw.clone(),
                        provider: original_provider.clone(),
                        written,
                        previous: None,
                        at: self.now,
                        reason,
                        streak,
                    };
                    (to, Some(record))
                }
                Decision::Restore { reason } => {
                    plan.edits.push(Edit::Replace {
                        path: slot.path.clone(),
                        raw: original_raw.clone(),
                    });
                    plan.changes.push(Change {
                        kind: ChangeKind::Restore,
                        slot: slot.path.clone(),
                        from: slot.model.clone(),
                        to: original.clone(),
                        reason,
                    });
                    (original.clone(), None)
                }
                Decision::Stay => match standing {
                    Standing::Switched(r) => (
                        slot.model.clone(),
                        Some(SwitchRecord {
                            previous: None,
                            ..r.clone()
                        }),
                    ),
                    Standing::Own => (slot.model.clone(), None),
                },
            };
            let managed = !chain.is_empty() || record.is_some();
            plan.slots.push(SlotView {
                health: health(&current)
                    .unwrap_or_else(|| self.judge.health(&self.provider(doc, &current), None)),
                slot: slot.path.clone(),
                current,
                original,
                managed,
            });
            plan.state.switches.extend(record);
        }
        for profile in skipped_profiles {
            plan.notes.push(format!(
                "{profile}: profiles apply to Claude Code targets only; skipped"
            ));
        }
        let present: HashSet<&KeyPath> = plan.slots.iter().map(|s| &s.slot).collect();
        let gone: Vec<String> = state
            .switches
            .iter()
            .filter(|r| !present.contains(&r.slot))
            .map(|r| format!("{}: no longer in the file; forgetting its switch", r.slot))
            .collect();
        plan.notes.extend(gone);
        plan
    }

    /// Puts back every original whose slot still holds what this tool wrote; keeps and reports
    /// the slots the user changed since. Forgets every record either way.
    pub fn restore(&self, doc: &Document, state: &TargetState) -> Plan {
        let mut plan = Plan {
            edits: Vec::new(),
            state: TargetState {
                switches: Vec::new(),
                ..state.clone()
            },
            changes: Vec::new(),
            slots: Vec::new(),
            notes: Vec::new(),
        };
        for record in &state.switches {
            let Some(raw) = doc.raw_at(&record.slot) else {
                plan.notes.push(format!(
                    "{}: no longer in the file; nothing to restore",
                    record.slot
                ));
                continue;
            };
            let ours = raw == record.written || record.previous.as_deref() == Some(raw);
            if ours {
                plan.edits.push(Edit::Replace {
                    path: record.slot.clone(),
                    raw: record.original.clone(),
                });
                plan.changes.push(Change {
                    kind: ChangeKind::Restore,
                    slot: record.slot.clone(),
                    from: decode(raw),
                    to: record.original_model(),
                    reason: "restored".to_owned(),
                });
            } else if raw != record.original {
                plan.changes.push(Change {
                    kind: ChangeKind::Kept,
                    slot: record.slot.clone(),
                    from: decode(raw),
                    to: decode(raw),
                    reason: "kept".to_owned(),
                });
            }
        }
        plan
    }

    /// Every slot as it stands, without deciding anything (for `status`).
    pub fn view(&self, doc: &Document, state: &TargetState) -> Vec<SlotView> {
        let mut notes = Vec::new();
        let records = state.by_slot();
        self.kind
            .slots(doc)
            .into_iter()
            .map(|slot| {
                let record = records.get(&slot.path).copied();
                let standing = self.standing(&slot, record, &mut notes);
                let original = match standing {
                    Standing::Switched(r) => r.original_model(),
                    Standing::Own => slot.model.clone(),
                };
                let managed = matches!(standing, Standing::Switched(_))
                    || !self.chain(&slot, &original).is_empty();
                SlotView {
                    health: self
                        .judge
                        .health(&self.provider(doc, &slot.model), Some(&slot.model)),
                    slot: slot.path,
                    current: slot.model,
                    original,
                    managed,
                }
            })
            .collect()
    }
}
