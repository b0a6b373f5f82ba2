//! Live switches for Claude Code targets: the extra edits that make a switch, a restore, and
//! entering or leaving a profile reach sessions that are already running (README, Running
//! sessions; docs/design.md, Live switches).
//!
//! A running Claude Code session (measured with 2.1.332) keeps the top-level `model` and
//! `env.ANTHROPIC_MODEL` it started with, but applies other changed `env` values to its next
//! request, resolving an alias (`opus`) through `env.ANTHROPIC_DEFAULT_OPUS_MODEL` every time; and
//! it keeps an `env` key removed from the file until it restarts. So:
//!
//! - a switch of a slot read at start whose original is an alias also sets that alias's key (a
//!   *steer*), when the file does not set it already;
//! - a key this tool added is not removed at once: it is first set to `""` (which a running
//!   session takes as unset: Anthropic's endpoint, no token, the alias's own model), and removed
//!   once [`SETTLE`] has passed, when sessions have read the empty value. The file then ends
//!   byte-for-byte as it was, and no credential stays in force in a running session.
//!
//! Pure: the planner's `now` says when a clearing has settled.

use jiff::{SignedDuration, Timestamp};

use crate::jsonc::{Document, Edit, KeyPath, NewValue, unquote};
use crate::target::{Doc, Kind, Slot, claude};

use super::{Clearing, EnvBefore, Plan, Planner, SteerRecord, TargetState, profile};

/// The raw text a cleared key holds until it is removed.
pub(crate) const EMPTY: &str = "\"\"";

/// How long a key stays `""` before it is removed: Claude Code 2.1.332 applied a changed file to
/// a running session 1.0–1.5 s after the write (README, Running sessions), so this leaves a
/// margin for a loaded machine.
pub(crate) const SETTLE: SignedDuration = SignedDuration::from_secs(3);

/// When every key being cleared can be removed, if some are.
pub(crate) fn settles_at(clearing: &[Clearing]) -> Option<Timestamp> {
    clearing
        .iter()
        .map(|c| c.since.checked_add(SETTLE).unwrap_or(c.since))
        .max()
}

/// Whether `path` is a key this tool added for running sessions (not a slot of its own).
fn live_key(state: &TargetState, path: &KeyPath) -> bool {
    state.steers.iter().any(|s| &s.key == path)
        || state.clearing.iter().any(|c| c.keys.contains(path))
}

/// What `env` is in `doc`, to be put back once keys added to it are gone.
fn env_before(doc: &Document) -> Option<EnvBefore> {
    match doc.prop(doc.root(), "env") {
        None => Some(EnvBefore::Absent),
        Some(env) if !env.value.is_object() => None,
        Some(env) if env.value.props().is_empty() => {
            Some(EnvBefore::Empty(doc.raw(&env.value).to_owned()))
        }
        Some(_) => Some(EnvBefore::Present),
    }
}

/// The edits that remove every key of `clearing` still holding `""`, and put `env` back as it
/// was before the first of them was added once it is left empty.
pub(crate) fn finish(doc: &Document, clearing: &[Clearing]) -> Vec<Edit> {
    let mut edits: Vec<Edit> = Vec::new();
    for key in clearing.iter().flat_map(|c| &c.keys) {
        let removed = edits
            .iter()
            .any(|e| matches!(e, Edit::Remove { path } if path == key));
        if !removed && doc.raw_at(key) == Some(EMPTY) {
            edits.push(Edit::Remove { path: key.clone() });
        }
    }
    let env = KeyPath::new(["env"]);
    let before = clearing
        .iter()
        .map(|c| &c.env_before)
        .find(|b| **b != EnvBefore::Present);
    if let Some(before) = before
        && let Ok(left) = doc.apply(&edits)
        && let Some(node) = left.get(&env)
        && node.is_object()
        && node.props().is_empty()
    {
        match before {
            EnvBefore::Absent => edits.push(Edit::Remove { path: env }),
            EnvBefore::Empty(raw) if left.raw(node) != raw => edits.push(Edit::Replace {
                path: env,
                raw: raw.as_str().into(),
            }),
            _ => {}
        }
    }
    edits
}

/// Edits applied one by one to a working copy, so that each is planned on the text before it.
struct Working {
    doc: Document,
    edits: Vec<Edit>,
}

impl Working {
    fn push(&mut self, edit: Edit) {
        if let Ok(next) = self.doc.apply(std::slice::from_ref(&edit)) {
            self.doc = next;
            self.edits.push(edit);
        }
    }

    /// Sets `env.<key>` to `raw`, adding the key (and `env`) when absent.
    fn set(&mut self, key: &KeyPath, raw: &str) {
        let name = key.last().unwrap_or_default().to_owned();
        let edit = if self.doc.get(key).is_some() {
            Edit::Replace {
                path: key.clone(),
                raw: raw.into(),
            }
        } else if self.doc.prop(self.doc.root(), "env").is_some() {
            Edit::Insert {
                object: KeyPath::new(["env"]),
                key: name,
                value: NewValue::Raw(raw.to_owned()),
            }
        } else {
            Edit::Insert {
                object: KeyPath::new(Vec::<String>::new()),
                key: "env".into(),
                value: NewValue::Object(vec![(name, raw.to_owned())]),
            }
        };
        self.push(edit);
    }
}

impl Planner<'_> {
    /// The slots of `doc`, without the keys this tool added for running sessions.
    pub(super) fn slots(&self, doc: &Doc, state: &TargetState) -> Vec<Slot> {
        let mut slots = self.kind.slots(doc);
        slots.retain(|s| !live_key(state, &s.path));
        slots
    }

    /// Whether a running session follows a switch of `slot` (from `original`, now on `current`)
    /// only at its restart. Claude Code: a slot read at start follows live only through an alias
    /// key that the file leaves to this tool. OpenCode: a slot on a fallback follows live only
    /// through switcher's plugin, and only a model prompts are sent with (not `small_model`).
    pub(super) fn at_restart(
        &self,
        doc: &Doc,
        state: &TargetState,
        slot: &KeyPath,
        original: &str,
        current: &str,
    ) -> bool {
        if self.kind.is_opencode() {
            return current != original
                && (!self.opencode_plugin || !crate::routes::routable(self.kind, slot.keys()));
        }
        if self.kind != Kind::Claude || !claude::read_at_start(slot) {
            return false;
        }
        let Some(key) = claude::alias_key(original) else {
            return true;
        };
        if current != original && claude::alias_key(current).is_some() {
            return true;
        }
        let path = KeyPath::new(["env", key]);
        let profile_owns = (state.profile.as_ref()).is_some_and(|p| profile::owns(&p.keys, &path));
        !(doc.raw_at(&path).is_none() || live_key(state, &path) || profile_owns)
    }

    /// A plan that decides nothing: the keys being cleared are removed once settled (the
    /// second write of a clearing, README, Running sessions).
    pub(crate) fn settle(&self, doc: &Doc, state: &TargetState) -> Plan {
        let mut plan = Plan::new(state);
        plan.slots = self.view(doc, state);
        plan
    }

    /// Adds to a Claude Code target's plan the edits that make it reach running sessions:
    /// steers set, moved or cleared with the switches they follow, and cleared keys removed
    /// once settled. Other targets' plans are returned as they are.
    pub(crate) fn live(&self, doc: &Doc, mut plan: Plan) -> Plan {
        let Some(json) = doc.json().filter(|_| self.kind == Kind::Claude) else {
            return plan;
        };
        let Ok(after) = json.apply(&plan.edits) else {
            return plan;
        };
        let mut work = Working {
            doc: after,
            edits: Vec::new(),
        };
        // A key no longer `""` was never cleared (a write that did not land) or was set since.
        let mut clearing = std::mem::take(&mut plan.state.clearing);
        for c in &mut clearing {
            c.keys.retain(|k| work.doc.raw_at(k) == Some(EMPTY));
        }
        clearing.retain(|c| !c.keys.is_empty());
        let old = std::mem::take(&mut plan.state.steers);
        let mut steers: Vec<SteerRecord> = Vec::new();
        // What running sessions should be steered to: each switch, and an active profile's
        // model when the profile does not set the alias key itself.
        let mut wanted: Vec<(KeyPath, String, String)> = (plan.state.switches.iter())
            .map(|r| {
                (
                    r.slot.clone(),
                    r.original.to_string(),
                    r.written.to_string(),
                )
            })
            .collect();
        if let Some(p) = &plan.state.profile
            && let Some(model) = self.profiles.get(&p.profile).and_then(|c| c.model.as_ref())
        {
            let written = serde_json::to_string(model).expect("strings serialise");
            wanted.insert(0, (p.slot.clone(), p.original.clone(), written));
        }
        for (slot, original, written) in wanted {
            let Some(key) = steer_key(&slot, &original, &written) else {
                continue;
            };
            let owned = (plan.state.profile.as_ref()).is_some_and(|p| profile::owns(&p.keys, &key));
            if owned || steers.iter().any(|s| s.key == key) {
                continue;
            }
            let current = work.doc.raw_at(&key).map(str::to_owned);
            let mine = old.iter().find(|s| s.key == key);
            let cleared = clearing.iter().position(|c| c.keys.contains(&key));
            let env_before = match (current.as_deref(), mine, cleared) {
                (Some(raw), Some(mine), _)
                    if raw == mine.written || mine.previous.as_deref() == Some(raw) =>
                {
                    mine.env_before.clone()
                }
                (Some(EMPTY), _, Some(i)) => {
                    let before = clearing[i].env_before.clone();
                    clearing[i].keys.retain(|k| *k != key);
                    before
                }
                (None, _, _) => match env_before(&work.doc) {
                    Some(before) => before,
                    None => continue,
                },
                // The user's own value: it is a slot of its own.
                _ => continue,
            };
            if current.as_deref() != Some(written.as_str()) {
                work.set(&key, &written);
            }
            steers.push(SteerRecord {
                slot,
                key,
                written,
                previous: None,
                env_before,
            });
        }
        clearing.retain(|c| !c.keys.is_empty());
        for steer in old
            .iter()
            .filter(|o| !steers.iter().any(|s| s.key == o.key))
        {
            // Put back by hand meanwhile, or changed: no longer ours.
            let current = work.doc.raw_at(&steer.key);
            if current == Some(steer.written.as_str())
                || (current.is_some() && current == steer.previous.as_deref())
            {
                work.set(&steer.key, EMPTY);
                clearing.push(Clearing {
                    keys: vec![steer.key.clone()],
                    since: self.now,
                    env_before: steer.env_before.clone(),
                });
            }
        }
        if settles_at(&clearing).is_some_and(|at| at <= self.now) {
            for edit in finish(&work.doc, &clearing) {
                work.push(edit);
            }
            clearing.clear();
        }
        plan.edits.extend(work.edits);
        plan.state.steers = steers;
        plan.state.clearing = clearing;
        plan
    }
}

/// The alias key that steers a running session for a switch of `slot` from `original` to
/// `written` (raw JSON strings), if there is one: the slot is read only at start, its original
/// is an alias, and the fallback is not (an alias cannot be named through another's key).
pub(crate) fn steer_key(slot: &KeyPath, original: &str, written: &str) -> Option<KeyPath> {
    if !claude::read_at_start(slot) || claude::alias_key(&unquote(written)).is_some() {
        return None;
    }
    claude::alias_key(&unquote(original)).map(|key| KeyPath::new(["env", key]))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::engine::{Judge, Policy};
    use crate::plan::SwitchRecord;
    use crate::provider::Aliases;
    use crate::quota::QuotaBook;

    /// Runs `live` on `text` with `state`, at `now`; returns the new text and records.
    fn live_at(text: &str, state: &TargetState, now: Timestamp) -> (String, TargetState) {
        let (policy, book, aliases) = (Policy::default(), QuotaBook::default(), Aliases::default());
        let judge = Judge {
            policy: &policy,
            book: &book,
            now,
        };
        let (fallbacks, profiles) = (BTreeMap::new(), BTreeMap::new());
        let planner = Planner {
            kind: Kind::Claude,
            policy: &policy,
            judge: &judge,
            aliases: &aliases,
            fallbacks: &fallbacks,
            profiles: &profiles,
            endpoint: None,
            opencode_plugin: false,
            now,
            healths: Default::default(),
            providers: Default::default(),
        };
        let doc = Doc::Json(Document::parse(text).unwrap());
        let plan = planner.live(&doc, Plan::new(state));
        let out = doc.json().unwrap().apply(&plan.edits).unwrap().render();
        (out, plan.state)
    }

    /// The records of a Claude target whose `model: opus` was switched to `glm-4.6` at `t0`.
    fn opus_switched_to_glm(t0: Timestamp) -> TargetState {
        let mut state = TargetState::new("/s.json".into(), "s.json".into(), Kind::Claude);
        state.switches.push(SwitchRecord {
            slot: KeyPath::new(["model"]),
            original: "\"opus\"".into(),
            provider: "anthropic".into(),
            written: "\"glm-4.6\"".into(),
            previous: None,
            held: Vec::new(),
            at: t0,
            reason: "r".into(),
            streak: 0,
        });
        state
    }

    #[test]
    fn a_steer_is_set_cleared_and_removed_by_the_planners_clock() {
        let t0 = Timestamp::UNIX_EPOCH;
        let state = opus_switched_to_glm(t0);
        let switched = "{\n  \"model\": \"glm-4.6\"\n}\n";
        let (steered, state) = live_at(switched, &state, t0);
        assert_eq!(
            steered,
            "{\n  \"model\": \"glm-4.6\",\n  \"env\": {\n    \"ANTHROPIC_DEFAULT_OPUS_MODEL\": \"glm-4.6\"\n  }\n}\n"
        );
        assert_eq!(state.steers.len(), 1);
        assert_eq!(state.steers[0].env_before, EnvBefore::Absent);
        // Stable while the switch stands.
        assert_eq!(live_at(&steered, &state, t0).0, steered);
        // The switch is gone (restored): the steer is set to "" first.
        let restored = steered.replace("\"model\": \"glm-4.6\"", "\"model\": \"opus\"");
        let state = TargetState {
            switches: Vec::new(),
            ..state
        };
        let (cleared, state) = live_at(&restored, &state, t0);
        assert!(
            cleared.contains("\"ANTHROPIC_DEFAULT_OPUS_MODEL\": \"\""),
            "{cleared}"
        );
        assert!(state.steers.is_empty());
        assert_eq!(settles_at(&state.clearing), Some(t0 + SETTLE));
        // Not yet settled: nothing more; settled: removed, and `env` with it.
        let early = t0 + SignedDuration::from_secs(2);
        assert_eq!(live_at(&cleared, &state, early).0, cleared);
        let (done, state) = live_at(&cleared, &state, t0 + SETTLE);
        assert_eq!(done, "{\n  \"model\": \"opus\"\n}\n");
        assert!(state.clearing.is_empty() && state.is_empty());
    }

    #[test]
    fn the_users_own_alias_key_is_left_alone() {
        let t0 = Timestamp::UNIX_EPOCH;
        let state = opus_switched_to_glm(t0);
        let text = "{\"model\": \"glm-4.6\", \"env\": {\"ANTHROPIC_DEFAULT_OPUS_MODEL\": \"claude-opus-4-1\"}}";
        let (out, state) = live_at(text, &state, t0);
        assert_eq!(out, text);
        assert!(state.steers.is_empty());
    }

    fn clearing(keys: &[&str], env_before: EnvBefore) -> Clearing {
        Clearing {
            keys: keys.iter().map(|k| KeyPath::new(["env", *k])).collect(),
            since: Timestamp::UNIX_EPOCH,
            env_before,
        }
    }

    fn finished(text: &str, c: &[Clearing]) -> String {
        let doc = Document::parse(text).unwrap();
        doc.apply(&finish(&doc, c)).unwrap().render()
    }

    #[test]
    fn finishing_removes_cleared_keys_and_puts_env_back() {
        let text = "{\n  \"model\": \"opus\",\n  \"env\": {\n    \"ANTHROPIC_DEFAULT_OPUS_MODEL\": \"\"\n  }\n}\n";
        assert_eq!(
            finished(
                text,
                &[clearing(
                    &["ANTHROPIC_DEFAULT_OPUS_MODEL"],
                    EnvBefore::Absent
                )]
            ),
            "{\n  \"model\": \"opus\"\n}\n"
        );
        assert_eq!(
            finished(
                "{\"env\": {\"ANTHROPIC_BASE_URL\": \"\", \"ANTHROPIC_AUTH_TOKEN\": \"\"}}",
                &[clearing(
                    &["ANTHROPIC_BASE_URL", "ANTHROPIC_AUTH_TOKEN"],
                    EnvBefore::Empty("{ }".into())
                )]
            ),
            "{\"env\": { }}"
        );
        // A key set since is kept, and so is `env` then.
        assert_eq!(
            finished(
                "{\"env\": {\"ANTHROPIC_BASE_URL\": \"mine\", \"ANTHROPIC_AUTH_TOKEN\": \"\"}}",
                &[clearing(
                    &["ANTHROPIC_BASE_URL", "ANTHROPIC_AUTH_TOKEN"],
                    EnvBefore::Absent
                )]
            ),
            "{\"env\": {\"ANTHROPIC_BASE_URL\": \"mine\"}}"
        );
    }

    #[test]
    fn steer_keys_follow_aliases_read_at_start() {
        let model = KeyPath::new(["model"]);
        assert_eq!(
            steer_key(&model, "\"opus\"", "\"glm-4.6\""),
            Some(KeyPath::new(["env", "ANTHROPIC_DEFAULT_OPUS_MODEL"]))
        );
        assert_eq!(
            steer_key(
                &KeyPath::new(["env", "ANTHROPIC_MODEL"]),
                "\"sonnet[1m]\"",
                "\"x\""
            ),
            Some(KeyPath::new(["env", "ANTHROPIC_DEFAULT_SONNET_MODEL"]))
        );
        assert_eq!(steer_key(&model, "\"opus\"", "\"sonnet\""), None);
        assert_eq!(steer_key(&model, "\"claude-opus-4-1\"", "\"x\""), None);
        assert_eq!(
            steer_key(
                &KeyPath::new(["env", "ANTHROPIC_DEFAULT_OPUS_MODEL"]),
                "\"opus\"",
                "\"x\""
            ),
            None
        );
    }
}
