//! Planning one target's pass, purely: from its parsed document, its recorded switches and the
//! engine's judgement to the edits to make, the records to keep, and the changes to report.
//!
//! A plan is recomputed from scratch whenever the file changed under us, so it must not depend
//! on anything but its inputs.

pub mod profile;

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashSet};

use jiff::Timestamp;

use crate::engine::{Decision, Health, Judge, Policy, SlotCase, advance_streak, decide};
use crate::jsonc::{Document, Edit, KeyPath};
use crate::provider::Aliases;
use crate::quota::Level;
use crate::state::{ProfileRecord, SwitchRecord, TargetState, decode};
use crate::target::{Kind, Slot};

use profile::Profile;

/// Everything a plan needs besides the document and its records.
pub struct Planner<'a> {
    pub kind: Kind,
    pub policy: &'a Policy,
    pub judge: &'a Judge<'a>,
    pub aliases: &'a Aliases,
    pub fallbacks: &'a BTreeMap<String, Vec<String>>,
    pub profiles: &'a BTreeMap<String, Profile>,
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
    /// The model, or `profile:<name>` while a profile serves the slot.
    pub current: String,
    pub original: String,
    /// The provider and health of the current model.
    pub health: Health,
    /// Has a fallback chain or a switch record.
    pub managed: bool,
    /// Why the slot is on a fallback, when it is.
    pub reason: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Plan {
    pub edits: Vec<Edit>,
    /// The records once the edits have landed.
    pub state: TargetState,
    pub changes: Vec<Change>,
    pub slots: Vec<SlotView>,
    pub notes: Vec<String>,
    /// Another pass must follow once these edits have landed (leaving one profile for another
    /// takes two writes, so that each leaves records matching the file).
    pub again: bool,
}

impl Plan {
    fn new(state: &TargetState) -> Plan {
        Plan {
            edits: Vec::new(),
            state: state.clone(),
            changes: Vec::new(),
            slots: Vec::new(),
            notes: Vec::new(),
            again: false,
        }
    }

    /// Some managed slot ends the pass on a RED model.
    pub fn ends_red(&self) -> bool {
        self.slots
            .iter()
            .any(|s| s.managed && s.health.is(Level::Red))
    }

    /// The records to save before writing the target, so that a crash at any point leaves
    /// records that match the file: new and moved switches as planned (a moved one remembering
    /// the fallback it replaces), and restored ones — a left profile too — still present until
    /// the write has landed.
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
        if state.profile.is_none() {
            state.profile = before.profile.clone();
        }
        state
    }
}

/// Advances each record's recovery streak by one observation of its original's provider.
pub fn advance_streaks(state: &mut TargetState, observed: &BTreeSet<String>, judge: &Judge<'_>) {
    let advance = |provider: &str, original: String, streak: &mut u32| {
        if observed.contains(provider) {
            *streak = advance_streak(*streak, &judge.health(provider, Some(&original)));
        }
    };
    for record in &mut state.switches {
        advance(
            &record.provider.clone(),
            record.original_model(),
            &mut record.streak,
        );
    }
    if let Some(record) = &mut state.profile {
        advance(
            &record.provider.clone(),
            record.original_model(),
            &mut record.streak,
        );
    }
}

/// How a slot relates to its record.
enum Standing<'r> {
    /// No record, or one that no longer applies: the slot's value is its original.
    Own,
    /// The slot holds what this tool wrote.
    Switched(&'r SwitchRecord),
}

fn json(value: &str) -> String {
    serde_json::to_string(value).expect("strings serialise")
}

impl Planner<'_> {
    fn provider(&self, doc: &Document, model: &str) -> String {
        self.kind.provider(doc, model, self.aliases)
    }

    fn chain(&self, slot: Option<&Slot>, original: &str) -> Vec<String> {
        slot.and_then(|s| s.fallback_models.clone())
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

    /// The health of a chain's candidate: a model served by `provider`, or a profile that must be
    /// usable on `doc`. `None` skips the candidate; the reason goes to `skipped`.
    fn candidate(
        &self,
        candidate: &str,
        provider: &str,
        doc: &Document,
        skipped: &RefCell<BTreeSet<String>>,
    ) -> Option<Health> {
        let Some(name) = candidate.strip_prefix("profile:") else {
            return Some(self.judge.health(provider, Some(candidate)));
        };
        let why = match (self.kind, self.profiles.get(name)) {
            (Kind::OpenCode, _) => "profiles apply to Claude Code targets only".to_owned(),
            (Kind::Claude, None) => "no such profile".to_owned(),
            (Kind::Claude, Some(profile)) => match profile::unusable(profile, doc) {
                None => return Some(self.profile_health(profile)),
                Some(why) => why,
            },
        };
        skipped
            .borrow_mut()
            .insert(format!("{candidate}: {why}; skipped"));
        None
    }

    fn profile_health(&self, profile: &Profile) -> Health {
        self.judge
            .health(&profile.provider, profile.model.as_deref())
    }

    /// One pass of the switching rules over the target.
    pub fn switch_pass(&self, doc: &Document, state: &TargetState) -> Plan {
        match &state.profile {
            Some(record) if profile::landed(doc, record) => self.profile_pass(doc, state, record),
            Some(record) => {
                let mut plan = self.slot_pass(
                    doc,
                    &TargetState {
                        profile: None,
                        ..state.clone()
                    },
                );
                plan.notes.insert(
                    0,
                    format!("profile:{}: not in the file (never written, or put back by hand); forgetting it", record.profile),
                );
                plan
            }
            None => self.slot_pass(doc, state),
        }
    }

    /// The rules applied slot by slot, on a target no profile governs.
    fn slot_pass(&self, doc: &Document, state: &TargetState) -> Plan {
        let mut plan = Plan::new(&TargetState {
            switches: Vec::new(),
            ..state.clone()
        });
        let skipped = RefCell::new(BTreeSet::new());
        let records = state.by_slot();
        for slot in self.kind.slots(doc) {
            let standing = self.standing(&slot, records.get(&slot.path).copied(), &mut plan.notes);
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
            let chain = self.chain(Some(&slot), &original);
            let health = |candidate: &str| -> Option<Health> {
                if candidate == original {
                    return Some(self.judge.health(&original_provider, Some(candidate)));
                }
                self.candidate(candidate, &self.provider(doc, candidate), doc, &skipped)
            };
            let case = SlotCase {
                original: &original,
                current: &slot.model,
                switched,
                streak,
                chain: &chain,
            };
            let (current, record) = match decide(&case, self.policy, &health) {
                Decision::Switch { to, reason } if to.starts_with("profile:") => {
                    let mut plan = self.to_profile(
                        doc,
                        state,
                        &slot,
                        &original_raw,
                        &original_provider,
                        streak,
                        &to,
                        reason,
                    );
                    plan.notes.extend(skipped.into_inner());
                    return plan;
                }
                Decision::Switch { to, reason } => {
                    let written = json(&to);
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
                reason: record.as_ref().map(|r| r.reason.clone()),
            });
            plan.state.switches.extend(record);
        }
        plan.notes.extend(skipped.into_inner());
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
        to: &str,
        reason: String,
    ) -> Plan {
        let name = to.trim_start_matches("profile:");
        let profile = &self.profiles[name];
        let applied = profile::apply(doc, profile, &slot.path, original_raw);
        let mut edits = Vec::new();
        // A slot on a model fallback goes home first unless the profile sets that key itself.
        if !profile::owns(&applied.keys, &slot.path) && slot.raw != original_raw {
            edits.push(Edit::Replace {
                path: slot.path.clone(),
                raw: original_raw.to_owned(),
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
            reason: reason.clone(),
            streak,
        });
        let mut plan = Plan::new(&next);
        plan.changes.push(Change {
            kind: ChangeKind::Switch,
            slot: slot.path.clone(),
            from: slot.model.clone(),
            to: to.to_owned(),
            reason,
        });
        plan.slots = self.view(&doc.apply(&edits).unwrap_or_else(|_| doc.clone()), &next);
        plan.edits = edits;
        plan
    }

    /// The rules applied to an active profile: the profile is the fallback of the slot that chose
    /// it; the original is judged with the provider it had before the switch.
    fn profile_pass(&self, doc: &Document, state: &TargetState, record: &ProfileRecord) -> Plan {
        let current = format!("profile:{}", record.profile);
        let original = record.original_model();
        let chain = self.chain(None, &original);
        let left = profile::leave(doc, record);
        let left_doc = doc.apply(&left.edits).unwrap_or_else(|_| doc.clone());
        let skipped = RefCell::new(BTreeSet::new());
        let health = |candidate: &str| -> Option<Health> {
            if candidate == original {
                return Some(self.judge.health(&record.provider, Some(candidate)));
            }
            if candidate == current {
                return self
                    .profiles
                    .get(&record.profile)
                    .map(|p| self.profile_health(p));
            }
            // Candidates are judged as they would be once the profile is left.
            self.candidate(candidate, &record.provider, &left_doc, &skipped)
        };
        let decision = if self.profiles.contains_key(&record.profile) {
            let case = SlotCase {
                original: &original,
                current: &current,
                switched: true,
                streak: record.streak,
                chain: &chain,
            };
            decide(&case, self.policy, &health)
        } else {
            Decision::Restore {
                reason: format!("{current} is no longer configured"),
            }
        };
        let mut next = state.clone();
        let mut plan = Plan::new(state);
        plan.notes.extend(skipped.into_inner());
        if decision != Decision::Stay {
            next.profile = None;
            plan.edits = left.edits;
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
                from: current.clone(),
                to: original.clone(),
                reason,
            }),
            Decision::Switch { to, reason } if to.starts_with("profile:") => {
                plan.notes
                    .push(format!("leaving {current} for {to} ({reason})"));
                plan.again = true;
            }
            Decision::Switch { to, reason } => {
                let written = json(&to);
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
                    original: record.original.clone(),
                    provider: record.provider.clone(),
                    written,
                    previous: None,
                    at: self.now,
                    reason: reason.clone(),
                    streak: record.streak,
                });
                plan.changes.push(Change {
                    kind: ChangeKind::Switch,
                    slot: record.slot.clone(),
                    from: current.clone(),
                    to,
                    reason,
                });
            }
        }
        plan.slots = self.view(
            &doc.apply(&plan.edits).unwrap_or_else(|_| doc.clone()),
            &next,
        );
        plan.state = next;
        plan
    }

    /// Puts back every original whose slot still holds what this tool wrote, leaving an active
    /// profile first; keeps and reports what the user changed since. Forgets every record.
    pub fn restore(&self, doc: &Document, state: &TargetState) -> Plan {
        let mut plan = Plan::new(&TargetState {
            switches: Vec::new(),
            profile: None,
            ..state.clone()
        });
        let mut working = doc.clone();
        if let Some(record) = state.profile.as_ref().filter(|r| profile::landed(doc, r)) {
            let left = profile::leave(doc, record);
            plan.changes.push(Change {
                kind: ChangeKind::Restore,
                slot: record.slot.clone(),
                from: format!("profile:{}", record.profile),
                to: record.original_model(),
                reason: "restored".to_owned(),
            });
            plan.changes.extend(left.kept.into_iter().map(|k| Change {
                kind: ChangeKind::Kept,
                slot: k.path,
                from: k.shown.clone(),
                to: k.shown,
                reason: "kept".to_owned(),
            }));
            working = doc.apply(&left.edits).unwrap_or_else(|_| doc.clone());
            plan.edits = left.edits;
        }
        for record in &state.switches {
            let Some(raw) = working.raw_at(&record.slot) else {
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

    /// Every slot as it stands, without deciding anything (for `status`, and after a plan). While
    /// a profile is active, the slot that chose it shows the profile, and the keys it set are not
    /// slots of their own.
    pub fn view(&self, doc: &Document, state: &TargetState) -> Vec<SlotView> {
        let mut notes = Vec::new();
        let records = state.by_slot();
        let active = state.profile.as_ref().filter(|r| profile::landed(doc, r));
        let mut views = Vec::new();
        for slot in self.kind.slots(doc) {
            if let Some(record) = active {
                if slot.path == record.slot {
                    views.push(self.profile_view(record));
                    continue;
                }
                if profile::owns(&record.keys, &slot.path) {
                    continue;
                }
            }
            let standing = self.standing(&slot, records.get(&slot.path).copied(), &mut notes);
            let original = match standing {
                Standing::Switched(r) => r.original_model(),
                Standing::Own => slot.model.clone(),
            };
            let (managed, reason) = match standing {
                Standing::Switched(r) => (true, Some(r.reason.clone())),
                Standing::Own => (!self.chain(Some(&slot), &original).is_empty(), None),
            };
            views.push(SlotView {
                health: self
                    .judge
                    .health(&self.provider(doc, &slot.model), Some(&slot.model)),
                slot: slot.path,
                current: slot.model,
                original,
                managed,
                reason,
            });
        }
        if let Some(record) = active
            && !views.iter().any(|v| v.slot == record.slot)
        {
            views.push(self.profile_view(record));
        }
        views
    }

    fn profile_view(&self, record: &ProfileRecord) -> SlotView {
        let health = match self.profiles.get(&record.profile) {
            Some(p) => self.profile_health(p),
            None => self.judge.health(&record.provider, None),
        };
        SlotView {
            slot: record.slot.clone(),
            current: format!("profile:{}", record.profile),
            original: record.original_model(),
            health,
            managed: true,
            reason: Some(record.reason.clone()),
        }
    }
}
