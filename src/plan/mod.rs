//! Planning one target's pass, purely: from its parsed document, its recorded switches and the
//! engine's judgement to the edits to make, the records to keep, and the changes to report.
//!
//! A plan is recomputed from scratch whenever the file changed under us, so it must not depend
//! on anything but its inputs.

pub(crate) mod live;
mod pass;
pub(crate) mod profile;
mod records;
mod restore;

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use jiff::Timestamp;

use crate::engine::{Health, Judge, Policy, advance_streak};
use crate::jsonc::{Edit, KeyPath, PathSet};
use crate::provider::Aliases;
use crate::quota::{Level, bare_model};
use crate::target::{Candidate, Doc, Kind, Slot};

use profile::Profile;
pub(crate) use records::{
    Clearing, EnvBefore, ProfileRecord, SeenAs, SteerRecord, SwitchRecord, TargetState, TouchedKey,
    Written,
};

/// Everything a plan needs besides the document and its records.
pub(crate) struct Planner<'a> {
    pub(crate) kind: Kind,
    pub(crate) policy: &'a Policy,
    pub(crate) judge: &'a Judge<'a>,
    pub(crate) aliases: &'a Aliases,
    pub(crate) fallbacks: &'a BTreeMap<String, Vec<Candidate>>,
    pub(crate) profiles: &'a BTreeMap<String, Profile>,
    /// For a Claude Code agent file: the `ANTHROPIC_BASE_URL` its scope's settings set.
    pub(crate) endpoint: Option<&'a str>,
    /// For an OpenCode target: switcher's plugin, reading this state dir, is installed where
    /// the target's sessions load plugins (README, OpenCode plugin).
    pub(crate) opencode_plugin: bool,
    pub(crate) now: Timestamp,
    /// Healths judged in this pass ([`Planner::health`]).
    pub(crate) healths: Memo<(String, Option<String>), Health>,
    /// OpenCode models' providers named in this pass ([`Planner::provider`]).
    pub(crate) providers: Memo<String, Arc<str>>,
}

/// Answers a pass worked out once: a big config's thousands of slots ask about the same few
/// models. Searched in order; past [`Memo::MOST`] answers a question is worked out anew, as a
/// config naming hundreds of models would make the search cost more than it saves.
pub(crate) struct Memo<K, V>(RefCell<Vec<(K, V)>>);

impl<K, V> Default for Memo<K, V> {
    fn default() -> Self {
        Memo(RefCell::new(Vec::new()))
    }
}

impl<K, V: Clone> Memo<K, V> {
    const MOST: usize = 64;

    /// The answer whose key `is` recognises, else `answer()`, kept under `key()`.
    fn get(
        &self,
        is: impl Fn(&K) -> bool,
        key: impl FnOnce() -> K,
        answer: impl FnOnce() -> V,
    ) -> V {
        if let Some((_, known)) = self.0.borrow().iter().find(|(k, _)| is(k)) {
            return known.clone();
        }
        let answer = answer();
        let mut known = self.0.borrow_mut();
        if known.len() < Self::MOST {
            known.push((key(), answer.clone()));
        }
        answer
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ChangeKind {
    Switch,
    Restore,
    /// `--restore` found a slot the user changed since the switch, and kept it.
    Kept,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Change {
    pub(crate) kind: ChangeKind,
    pub(crate) slot: KeyPath,
    pub(crate) from: Arc<str>,
    pub(crate) to: Arc<str>,
    pub(crate) reason: Arc<str>,
}

/// One slot as it stands after the plan.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SlotView {
    pub(crate) slot: KeyPath,
    /// The model, or `profile:<name>` while a profile serves the slot.
    pub(crate) current: Arc<str>,
    pub(crate) original: Arc<str>,
    /// The provider and health of the current model.
    pub(crate) health: Health,
    /// Has a fallback chain or a switch record.
    pub(crate) managed: bool,
    /// Why the slot is on a fallback, when it is.
    pub(crate) reason: Option<Arc<str>>,
    /// While the slot is on a fallback: the original's health, whose recovery it waits for.
    pub(crate) waits_on: Option<Health>,
    /// A running agent session follows a switch of this slot only when it restarts (README,
    /// Running sessions).
    pub(crate) at_restart: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct Plan {
    pub(crate) edits: Vec<Edit>,
    /// The records once the edits have landed.
    pub(crate) state: TargetState,
    pub(crate) changes: Vec<Change>,
    pub(crate) slots: Vec<SlotView>,
    /// Warnings for the user (a profile that cannot be used).
    pub(crate) notes: Vec<String>,
    /// What happened that is worth a line in the log (an edit adopted, a record forgotten).
    pub(crate) infos: Vec<String>,
    /// A profile to enter once these edits have landed: leaving one profile for another takes
    /// two writes, so that each leaves records matching the file, and the second carries out
    /// the decision the first made.
    pub(crate) then: Option<Enter>,
}

/// The decision to enter a profile, made while leaving another.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Enter {
    pub(crate) slot: KeyPath,
    /// The profile's name.
    pub(crate) profile: String,
    pub(crate) reason: Arc<str>,
    /// The original's raw text and provider, and its recovery streak, carried over.
    pub(crate) original: String,
    pub(crate) provider: String,
    pub(crate) streak: u32,
}

impl Plan {
    pub(super) fn new(state: &TargetState) -> Plan {
        Plan {
            edits: Vec::new(),
            state: state.clone(),
            changes: Vec::new(),
            slots: Vec::new(),
            notes: Vec::new(),
            infos: Vec::new(),
            then: None,
        }
    }

    /// Some managed slot ends the pass on a RED model.
    pub(crate) fn ends_red(&self) -> bool {
        self.slots
            .iter()
            .any(|s| s.managed && s.health.is(Level::Red))
    }

    /// The records to save before writing the target, so that a crash at any point leaves
    /// records that match the file: new and moved switches as planned (a moved one remembering
    /// the fallback it replaces), and restored ones — a left profile too — still present until
    /// the write has landed. `None` when those are the plan's own records (nothing moved or
    /// restored): a big config's thousands of records are not copied.
    pub(crate) fn state_before_write(&self, before: &TargetState) -> Option<TargetState> {
        let mut state = Cow::Borrowed(&self.state);
        let old = before.by_slot();
        for (i, record) in self.state.switches.iter().enumerate() {
            if let Some(old) = old.get(&record.slot)
                && old.written != record.written
            {
                state.to_mut().switches[i].previous = Some(old.written.to_string());
            }
        }
        let planned: PathSet = if before.switches.is_empty() {
            PathSet::default()
        } else {
            self.state.switches.iter().map(|r| &r.slot).collect()
        };
        let restoring = (before.switches.iter()).filter(|r| !planned.contains(&r.slot));
        let restoring: Vec<SwitchRecord> = restoring.cloned().collect();
        if !restoring.is_empty() {
            state.to_mut().switches.extend(restoring);
        }
        // A steer moved to another fallback remembers the one it replaces; one being cleared
        // stays recorded until the `""` has landed.
        for (i, steer) in self.state.steers.iter().enumerate() {
            if let Some(old) = before.steers.iter().find(|s| s.key == steer.key)
                && old.written != steer.written
            {
                state.to_mut().steers[i].previous = Some(old.written.clone());
            }
        }
        let steers: Vec<_> = (before.steers.iter())
            .filter(|s| !self.state.steers.iter().any(|n| n.key == s.key))
            .cloned()
            .collect();
        if !steers.is_empty() {
            state.to_mut().steers.extend(steers);
        }
        if self.state.profile.is_none() && before.profile.is_some() {
            state.to_mut().profile = before.profile.clone();
        }
        match state {
            Cow::Owned(state) => Some(state),
            Cow::Borrowed(_) => None,
        }
    }
}

/// Advances each record's recovery streak by one observation of its original's provider.
pub(crate) fn advance_streaks(
    state: &mut TargetState,
    observed: &BTreeSet<String>,
    judge: &Judge<'_>,
) {
    let advance = |provider: &str, original: String, streak: &mut u32| {
        if observed.contains(provider) {
            *streak = advance_streak(*streak, &judge.health(provider, Some(&original)));
        }
    };
    let kind = state.kind;
    for record in &mut state.switches {
        advance(
            &record.provider.clone(),
            record.original_model(kind),
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

/// Whether an active profile's keys are in the document (JSON targets only have profiles).
pub(super) fn landed(doc: &Doc, record: &ProfileRecord) -> bool {
    doc.json().is_some_and(|json| profile::landed(json, record))
}

/// How a slot relates to its record.
pub(super) enum Standing<'r> {
    /// No record, or one that no longer applies: the slot's value is its original.
    Own,
    /// The slot holds what this tool wrote.
    Switched(&'r SwitchRecord),
}

impl<'a> Planner<'a> {
    /// The judge's health of `model` on `provider`, judged once per pass: a big config's
    /// thousands of slots ask about the same few models.
    pub(super) fn health(&self, provider: &str, model: Option<&str>) -> Health {
        self.healths.get(
            |(p, m)| p == provider && m.as_deref() == model,
            || (provider.to_owned(), model.map(str::to_owned)),
            || self.judge.health(provider, model),
        )
    }

    /// The provider serving `model` in `doc`. An OpenCode model names its own (the document
    /// plays no part), and a big config's thousands of slots name the same few models: each is
    /// resolved once per pass.
    pub(super) fn provider(&self, doc: &Doc, model: &str) -> Arc<str> {
        let resolve = || Arc::from(self.kind.provider(doc, model, self.aliases, self.endpoint));
        if !self.kind.is_opencode() {
            return resolve();
        }
        self.providers
            .get(|m| m == model, || model.to_owned(), resolve)
    }

    /// The slot's chain: its own `fallback_models` (README, Fallback chains), else the config's.
    /// One that cannot be used is noted and the config's taken.
    pub(super) fn chain<'c>(
        &self,
        slot: Option<&'c Slot>,
        original: &str,
        notes: &mut Vec<String>,
    ) -> &'c [Candidate]
    where
        'a: 'c,
    {
        match slot.and_then(|s| s.fallback_models.as_ref().map(|f| (s, f))) {
            Some((_, Ok(chain))) => return chain,
            Some((slot, Err(why))) => {
                notes.push(format!(
                    "{}: {why}; using the config's fallbacks",
                    slot.path
                ));
            }
            None => {}
        }
        (self.fallbacks.get(original))
            .or_else(|| self.fallbacks.get(bare_model(original)))
            .map_or(&[], Vec::as_slice)
    }

    /// Reconciles a record with what the slot holds now (README, How it decides: rule 3;
    /// docs/design.md, Plans, state and restore).
    pub(super) fn standing<'r>(
        &self,
        slot: &Slot,
        record: Option<&'r SwitchRecord>,
        notes: &mut Vec<String>,
    ) -> Standing<'r> {
        let Some(record) = record else {
            return Standing::Own;
        };
        if slot.raw == record.written || record.previous.as_deref() == Some(&*slot.raw) {
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

    /// The health of a chain's candidate: a model (served by `provider` when given, else by the
    /// provider `doc` names for it), or a profile that must be usable on `doc`. `None` skips the
    /// candidate; the reason goes to `skipped`.
    pub(super) fn candidate(
        &self,
        candidate: &Candidate,
        provider: Option<&str>,
        doc: &Doc,
        skipped: &RefCell<BTreeSet<String>>,
    ) -> Option<Health> {
        let name = match candidate {
            Candidate::Model(model) => {
                let provider = provider.map_or_else(|| self.provider(doc, model), Arc::from);
                return Some(self.health(&provider, Some(model)));
            }
            Candidate::Profile(name) => name,
        };
        let why = match (self.kind, doc.json(), self.profiles.get(name)) {
            (Kind::OpenCode, ..) => "profiles apply to Claude Code targets only".to_owned(),
            (Kind::OpenCodeAgent | Kind::ClaudeAgent, ..) => {
                "profiles switch a settings file as a whole, not an agent file".to_owned()
            }
            (Kind::Claude, _, None) => "no such profile".to_owned(),
            (Kind::Claude, None, Some(_)) => "the target is not a JSON document".to_owned(),
            (Kind::Claude, Some(doc), Some(profile)) => match profile::unusable(profile, doc) {
                None => return Some(self.profile_health(profile)),
                Some(why) => why,
            },
        };
        skipped
            .borrow_mut()
            .insert(format!("{candidate}: {why}; skipped"));
        None
    }

    pub(super) fn profile_health(&self, profile: &Profile) -> Health {
        self.judge
            .health(&profile.provider, profile.model.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn records_before_a_write_are_the_plans_own_unless_something_moved_or_is_restored() {
        let path = PathBuf::from("/p/opencode.json");
        let mut before = TargetState::new(path, "opencode.json".into(), Kind::OpenCode);
        before
            .switches
            .push(SwitchRecord::example("model", "\"a/x\""));
        let mut plan = Plan::new(&before);
        assert_eq!(plan.state_before_write(&before), None, "nothing moved");

        plan.state
            .switches
            .push(SwitchRecord::example("small_model", "\"a/x\""));
        assert_eq!(plan.state_before_write(&before), None, "a new switch");

        plan.state.switches[0].written = "\"b/y\"".into();
        let early = plan.state_before_write(&before).expect("a move");
        assert_eq!(early.switches[0].previous.as_deref(), Some("\"a/x\""));

        plan.state.switches.remove(0);
        let early = plan.state_before_write(&before).expect("a restore");
        assert!(
            early
                .switches
                .iter()
                .any(|r| r.slot == KeyPath::new(["model"]))
        );
    }
}
