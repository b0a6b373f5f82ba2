//! The records a pass reads and writes, as plain data: per target, each switch this tool made
//! (the original as raw JSON text, what it wrote, when, why, and the recovery streak) and an
//! active endpoint profile. The planner takes them in and hands new ones back; `state` keeps
//! them on disk. Nothing here does IO.

use std::path::PathBuf;
use std::sync::Arc;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::jsonc::{KeyPath, PathMap, unquote};
use crate::secret::sha256;
use crate::state::lines;
use crate::target::Kind;

const VERSION: u32 = 1;

/// What this tool changed in one target.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct TargetState {
    pub(crate) version: u32,
    /// The target's canonical path.
    pub(crate) target: PathBuf,
    /// The path as the user gave it, for output.
    pub(crate) display: String,
    pub(crate) kind: Kind,
    #[serde(default)]
    pub(crate) switches: Vec<SwitchRecord>,
    /// The endpoint profile switched to, if one is active (Claude Code targets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) profile: Option<ProfileRecord>,
    /// Alias keys added to `env` so that running Claude Code sessions follow a switch of a slot
    /// they read only at start (README, Running sessions).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) steers: Vec<SteerRecord>,
    /// Keys added by this tool and now set to `""`, so that a running Claude Code session drops
    /// their value; each is removed once the sessions have read it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) clearing: Vec<Clearing>,
    /// How OpenCode sees an agent file found through a link (`target` is resolved): the routes
    /// name and scope its switches by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) seen_as: Option<SeenAs>,
}

/// An OpenCode agent as OpenCode names it, by the path it finds the file by, and the project dir
/// (resolved) whose sessions load it; `None` for OpenCode's config dir (every session).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct SeenAs {
    pub(crate) agent: String,
    pub(crate) scope: Option<PathBuf>,
}

/// An `env.ANTHROPIC_DEFAULT_<ALIAS>_MODEL` key this tool added beside a switched slot whose
/// original is that alias: a running session resolves the alias on every request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct SteerRecord {
    /// The slot whose switch it follows.
    pub(crate) slot: KeyPath,
    /// The alias key.
    pub(crate) key: KeyPath,
    /// The raw JSON text written there (the slot's fallback).
    pub(crate) written: String,
    /// While a move to another fallback is being written: the text it replaces, still ours if
    /// the write never lands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) previous: Option<String>,
    /// What `env` was before the key was added.
    pub(crate) env_before: EnvBefore,
}

/// Keys this tool added that now hold `""`, written at `since`; removed once a running session
/// has read the empty value, so that the file ends byte-for-byte as it was.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Clearing {
    pub(crate) keys: Vec<KeyPath>,
    pub(crate) since: Timestamp,
    /// What `env` was before the keys were added: put back once they are gone.
    pub(crate) env_before: EnvBefore,
}

/// One slot this tool switched away from its original.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct SwitchRecord {
    pub(crate) slot: KeyPath,
    /// The original value's raw JSON text, so restoring is byte-exact.
    #[serde(serialize_with = "lines::shared")]
    pub(crate) original: Arc<str>,
    /// The provider that governs the original, fixed when it was switched.
    /// Shared with the pass's other records of that provider.
    #[serde(serialize_with = "lines::shared")]
    pub(crate) provider: Arc<str>,
    /// The raw JSON text this tool wrote.
    #[serde(serialize_with = "lines::shared")]
    pub(crate) written: Arc<str>,
    /// While a move from one fallback to another is being written: the fallback it replaces. A
    /// crash before the target is written leaves the slot holding this, which is still ours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) previous: Option<String>,
    /// The raw texts of the other fallbacks this tool wrote to the slot since it switched it,
    /// oldest first: sessions that read one of them at start still prompt it, so the routes file
    /// sends it on (README, OpenCode plugin).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) held: Vec<String>,
    #[serde(serialize_with = "lines::timestamp")]
    pub(crate) at: Timestamp,
    /// Shared with the pass's change and view of the slot, and with the other slots that moved
    /// for the same reason.
    #[serde(serialize_with = "lines::shared")]
    pub(crate) reason: Arc<str>,
    /// Consecutive GREEN observations of the original since the switch.
    #[serde(default)]
    pub(crate) streak: u32,
}

/// A switch of a whole target to an endpoint profile: every key it touched, with its original
/// raw text or absence, so leaving it is byte-exact (docs/design.md, Plans, state and restore).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct ProfileRecord {
    pub(crate) profile: String,
    /// The slot whose chain chose the profile.
    pub(crate) slot: KeyPath,
    /// That slot's original model, raw.
    pub(crate) original: String,
    /// The provider that governs the original, fixed before the switch.
    pub(crate) provider: String,
    pub(crate) keys: Vec<TouchedKey>,
    /// What `env` was before the switch, so leaving can put back an absent or empty one exactly.
    pub(crate) env_before: EnvBefore,
    pub(crate) at: Timestamp,
    pub(crate) reason: String,
    #[serde(default)]
    pub(crate) streak: u32,
}

/// One key a profile set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct TouchedKey {
    pub(crate) path: KeyPath,
    /// Its raw text before the switch; `None` when the profile added it.
    pub(crate) original: Option<String>,
    pub(crate) written: Written,
}

/// What was written: the raw text, or for a secret only a digest of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Written {
    Raw(String),
    Sha256(String),
}

impl Written {
    /// Whether `raw` is what was written.
    pub(crate) fn is(&self, raw: &str) -> bool {
        match self {
            Written::Raw(text) => text == raw,
            Written::Sha256(digest) => *digest == sha256(raw),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum EnvBefore {
    Absent,
    /// It had no keys: its raw text (`{}`, `{ }`…).
    Empty(String),
    Present,
}

impl ProfileRecord {
    /// The original model id, decoded.
    pub(crate) fn original_model(&self) -> String {
        unquote(&self.original)
    }
}

#[cfg(test)]
impl SwitchRecord {
    /// A switch of the top-level key `slot` from `zai/glm` to the raw text `written`.
    pub(crate) fn example(slot: &str, written: &str) -> SwitchRecord {
        SwitchRecord {
            slot: KeyPath::new([slot]),
            original: "\"zai/glm\"".into(),
            provider: "zai".into(),
            written: written.into(),
            previous: None,
            held: Vec::new(),
            at: Timestamp::UNIX_EPOCH,
            reason: "zai status RED".into(),
            streak: 0,
        }
    }
}

impl SwitchRecord {
    /// [`SwitchRecord::held`] once the slot moves to the fallback `written`: the one it leaves
    /// joins the list, unless it is that fallback (a move back keeps no duplicate).
    pub(crate) fn held_after_move(&self, written: &str) -> Vec<String> {
        let mut held: Vec<String> = self
            .held
            .iter()
            .filter(|h| *h != written)
            .cloned()
            .collect();
        if *self.written != *written && !held.iter().any(|h| *h == *self.written) {
            held.push(self.written.to_string());
        }
        held
    }

    /// The original model id, decoded as `kind` writes it.
    pub(crate) fn original_model(&self, kind: Kind) -> String {
        kind.decode(&self.original).into_owned()
    }
}

/// Checks that `raw` is exactly one JSON(C) value, and a string if `string` is set.
fn check_raw(field: &str, raw: &str, string: bool) -> Result<(), String> {
    let fail = || {
        let what = if string {
            "a JSON string"
        } else {
            "one JSON value"
        };
        Err(format!("{field} is not {what}"))
    };
    match crate::jsonc::Document::parse(raw) {
        Ok(doc) if doc.root().range() == (0..raw.len()) && (!string || doc.root().is_string()) => {
            Ok(())
        }
        _ => fail(),
    }
}

/// An empty `env` is put back as `env` itself: it must be an object, and an empty one.
fn check_env_before(field: &str, before: &EnvBefore) -> Result<(), String> {
    if let EnvBefore::Empty(raw) = before {
        let empty = crate::jsonc::Document::parse(raw).is_ok_and(|doc| {
            doc.root().is_object()
                && doc.root().props().is_empty()
                && doc.root().range() == (0..raw.len())
        });
        if !empty {
            return Err(format!("{field} is not an empty JSON object"));
        }
    }
    Ok(())
}

impl TargetState {
    /// Checks that every raw text the records would write back into a target is one JSON value
    /// of the right type: a damaged or hand-edited record must not put arbitrary text there.
    pub(crate) fn check(&self) -> Result<(), String> {
        for (i, r) in self.switches.iter().enumerate() {
            let field = |name: &str| format!("switches[{i}].{name}");
            let raws = [
                ("original", Some(&*r.original)),
                ("written", Some(&*r.written)),
            ];
            let held = r.held.iter().map(|h| ("held", Some(h.as_str())));
            let previous = [("previous", r.previous.as_deref())];
            for (name, raw) in raws.into_iter().chain(previous).chain(held) {
                match raw {
                    Some(raw) if !self.kind.holds(raw) => {
                        let what = if self.kind.is_agent() {
                            "a one-line front-matter value"
                        } else {
                            "a JSON string"
                        };
                        return Err(format!("{} is not {what}", field(name)));
                    }
                    _ => {}
                }
            }
            if self.kind.is_agent() && r.slot.keys() != ["model"] {
                return Err(format!("{} is not an agent file's slot", field("slot")));
            }
        }
        let env_key = |path: &KeyPath| path.keys().len() == 2 && path.keys()[0] == "env";
        if (!self.steers.is_empty() || !self.clearing.is_empty()) && self.kind != Kind::Claude {
            return Err("live-switch keys are recorded for a target that takes none".to_owned());
        }
        for (i, s) in self.steers.iter().enumerate() {
            check_raw(&format!("steers[{i}].written"), &s.written, true)?;
            if let Some(previous) = &s.previous {
                check_raw(&format!("steers[{i}].previous"), previous, true)?;
            }
            check_env_before(&format!("steers[{i}].env_before"), &s.env_before)?;
            if !env_key(&s.key) {
                return Err(format!("steers[{i}].key is not an env key"));
            }
        }
        for (i, c) in self.clearing.iter().enumerate() {
            check_env_before(&format!("clearing[{i}].env_before"), &c.env_before)?;
            if !c.keys.iter().all(env_key) {
                return Err(format!("clearing[{i}].keys holds a key outside env"));
            }
        }
        if let Some(p) = &self.profile {
            if self.kind != Kind::Claude {
                return Err("profile is recorded for a target that takes none".to_owned());
            }
            check_raw("profile.original", &p.original, true)?;
            for (i, key) in p.keys.iter().enumerate() {
                if let Some(original) = &key.original {
                    check_raw(&format!("profile.keys[{i}].original"), original, false)?;
                }
            }
            check_env_before("profile.env_before", &p.env_before)?;
        }
        Ok(())
    }

    pub(crate) fn new(target: PathBuf, display: String, kind: Kind) -> TargetState {
        TargetState {
            version: VERSION,
            target,
            display,
            kind,
            switches: Vec::new(),
            profile: None,
            steers: Vec::new(),
            clearing: Vec::new(),
            seen_as: None,
        }
    }

    /// A copy without the switch records (a pass decides each slot anew), made without copying
    /// them: a big config has thousands.
    pub(crate) fn without_switches(&self) -> TargetState {
        TargetState {
            version: self.version,
            target: self.target.clone(),
            display: self.display.clone(),
            kind: self.kind,
            switches: Vec::new(),
            profile: self.profile.clone(),
            steers: self.steers.clone(),
            clearing: self.clearing.clone(),
            seen_as: self.seen_as.clone(),
        }
    }

    /// Whether nothing is recorded: no switch, no profile, and no key kept for running sessions
    /// (a key being cleared must survive a crash, so the next run can finish it).
    pub(crate) fn is_empty(&self) -> bool {
        self.switches.is_empty()
            && self.profile.is_none()
            && self.steers.is_empty()
            && self.clearing.is_empty()
    }

    /// The records keyed by slot.
    pub(crate) fn by_slot(&self) -> PathMap<'_, &SwitchRecord> {
        self.switches.iter().map(|r| (&r.slot, r)).collect()
    }
}
