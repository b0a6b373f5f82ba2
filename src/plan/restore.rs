//! Restoring originals, and viewing slots as they stand (for `status` and after a plan).

use crate::jsonc::Edit;
use crate::target::{Candidate, Doc};

use super::{
    Change, ChangeKind, Plan, Planner, ProfileRecord, SlotView, Standing, TargetState, landed,
    profile,
};

impl Planner<'_> {
    /// Puts back every original whose slot still holds what this tool wrote, leaving an active
    /// profile first; keeps and reports what the user changed since. Forgets every record.
    pub(crate) fn restore(&self, doc: &Doc, state: &TargetState) -> Plan {
        let mut plan = Plan::new(&TargetState {
            profile: None,
            ..state.without_switches()
        });
        let mut working = doc.clone();
        let active = state.profile.as_ref().zip(doc.json());
        if let Some((record, json)) = active.filter(|(r, _)| landed(doc, r)) {
            let left = profile::leave(json, record);
            plan.state.clearing.extend(left.clearing(record, self.now));
            plan.changes.push(Change {
                kind: ChangeKind::Restore,
                slot: record.slot.clone(),
                from: Candidate::Profile(record.profile.clone())
                    .to_string()
                    .into(),
                to: record.original_model().into(),
                reason: "restored".into(),
            });
            plan.changes.extend(left.kept.into_iter().map(|k| Change {
                kind: ChangeKind::Kept,
                slot: k.path,
                from: k.shown.as_str().into(),
                to: k.shown.into(),
                reason: "kept".into(),
            }));
            working = doc.apply(&left.edits).unwrap_or_else(|_| doc.clone());
            plan.edits = left.edits;
        }
        for record in &state.switches {
            let Some(raw) = working.raw_at(&record.slot) else {
                plan.infos.push(format!(
                    "{}: no longer in the file; nothing to restore",
                    record.slot
                ));
                continue;
            };
            let ours = raw == &*record.written || record.previous.as_deref() == Some(raw);
            if ours {
                plan.edits.push(Edit::Replace {
                    path: record.slot.clone(),
                    raw: record.original.clone(),
                });
                plan.changes.push(Change {
                    kind: ChangeKind::Restore,
                    slot: record.slot.clone(),
                    from: self.kind.decode(raw).into(),
                    to: record.original_model(self.kind).into(),
                    reason: "restored".into(),
                });
            } else if raw != &*record.original {
                plan.changes.push(Change {
                    kind: ChangeKind::Kept,
                    slot: record.slot.clone(),
                    from: self.kind.decode(raw).into(),
                    to: self.kind.decode(raw).into(),
                    reason: "kept".into(),
                });
            }
        }
        plan.slots = self.view(
            &doc.apply(&plan.edits).unwrap_or_else(|_| doc.clone()),
            &plan.state,
        );
        plan
    }

    /// Every slot as it stands, without deciding anything (for `status`, and after a plan). While
    /// a profile is active, the slot that chose it shows the profile, and the keys it set are not
    /// slots of their own.
    pub(crate) fn view(&self, doc: &Doc, state: &TargetState) -> Vec<SlotView> {
        let mut notes = Vec::new();
        let records = state.by_slot();
        let active = state.profile.as_ref().filter(|r| landed(doc, r));
        let mut views = Vec::new();
        for slot in self.slots(doc, state) {
            if let Some(record) = active {
                if slot.path == record.slot {
                    views.push(self.profile_view(doc, state, record));
                    continue;
                }
                if profile::owns(&record.keys, &slot.path) {
                    continue;
                }
            }
            let standing = self.standing(&slot, records.get(&slot.path).copied(), &mut notes);
            let original = match standing {
                Standing::Switched(r) => r.original_model(self.kind).into(),
                Standing::Own => slot.model.clone(),
            };
            let waits_on = match standing {
                Standing::Switched(r) => Some(self.health(&r.provider, Some(&original))),
                Standing::Own => None,
            };
            let (managed, reason) = match standing {
                Standing::Switched(r) => (true, Some(r.reason.clone())),
                Standing::Own => (
                    !self
                        .chain(Some(&slot), &original, &mut Vec::new())
                        .is_empty(),
                    None,
                ),
            };
            let at_restart =
                managed && self.at_restart(doc, state, &slot.path, &original, &slot.model);
            views.push(SlotView {
                health: self
                    .judge
                    .health(&self.provider(doc, &slot.model), Some(&slot.model)),
                slot: slot.path,
                current: slot.model,
                original,
                managed,
                reason,
                waits_on,
                at_restart,
            });
        }
        if let Some(record) = active
            && !views.iter().any(|v| v.slot == record.slot)
        {
            views.push(self.profile_view(doc, state, record));
        }
        views
    }

    fn profile_view(&self, doc: &Doc, state: &TargetState, record: &ProfileRecord) -> SlotView {
        let profile = self.profiles.get(&record.profile);
        let health = match profile {
            Some(p) => self.profile_health(p),
            None => self.health(&record.provider, None),
        };
        // Its endpoint reaches running sessions; a model it names only through an alias key.
        let model = profile.and_then(|p| p.model.clone());
        let at_restart = model.is_some_and(|m| {
            self.at_restart(doc, state, &record.slot, &record.original_model(), &m)
        });
        SlotView {
            slot: record.slot.clone(),
            current: Candidate::Profile(record.profile.clone())
                .to_string()
                .into(),
            original: record.original_model().into(),
            health,
            managed: true,
            reason: Some(record.reason.as_str().into()),
            waits_on: Some(
                self.judge
                    .health(&record.provider, Some(&record.original_model())),
            ),
            at_restart,
        }
    }
}
