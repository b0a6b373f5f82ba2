//! Endpoint profiles for Claude Code targets: switching a target's endpoint as a whole by setting
//! a group of `env` keys (and `model`), and leaving it byte-exactly (docs/design.md, Plans, state
//! and restore).
//!
//! A profile owns the keys it set while it is active. Leaving it puts back every key that still
//! holds what it wrote — its original raw text, or no key at all — and keeps, and reports, a key
//! someone changed since. Values expanded from `${VAR}`, and values of credential keys, are
//! recorded only as digests.

use crate::jsonc::{Document, Edit, KeyPath, NewValue, unquote};
use crate::secret::sha256;

use jiff::Timestamp;

use super::live::EMPTY;
use super::{Clearing, EnvBefore, ProfileRecord, TouchedKey, Written};
use crate::target::claude::{self, CREDENTIALS};

/// A configured profile, resolved against the switcher's environment.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Profile {
    /// The canonical provider governing the profile's own health.
    pub(crate) provider: String,
    pub(crate) model: Option<String>,
    pub(crate) env: Vec<ProfileValue>,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ProfileValue {
    pub(crate) key: String,
    /// The value with `${VAR}` expanded, or why it cannot be (`${ZAI_API_KEY} is not set`).
    pub(crate) value: Result<String, String>,
    /// Expanded from a variable, or the value of a credential key: never recorded or shown.
    pub(crate) secret: bool,
}

/// Keys whose values are credentials: masked in every output, never recorded.
pub(crate) fn is_credential_key(key: &str) -> bool {
    let key = key.to_ascii_uppercase();
    key.ends_with("_TOKEN") || key.ends_with("_KEY")
}

fn env_path(key: &str) -> KeyPath {
    KeyPath::new(["env", key])
}

fn json(value: &str) -> String {
    serde_json::to_string(value).expect("strings serialise")
}

/// Why `profile` cannot be applied to `doc`, if it cannot.
pub(crate) fn unusable(profile: &Profile, doc: &Document) -> Option<String> {
    if let Some(Err(why)) = profile
        .env
        .iter()
        .map(|v| v.value.as_ref())
        .find(Result::is_err)
    {
        return Some(why.clone());
    }
    let env = doc.prop(doc.root(), "env").map(|p| &p.value);
    if env.is_some_and(|e| !e.is_object()) {
        return Some("the target's `env` is not an object".into());
    }
    // An empty credential is none (a leaving profile's, being cleared, is `""` for a while).
    let holds = |key: &str| {
        env.and_then(|e| doc.prop(e, key))
            .is_some_and(|p| doc.str(&p.value).is_none_or(|v| !v.is_empty()))
    };
    if let Some(key) = CREDENTIALS.iter().find(|k| holds(k)) {
        return Some(format!(
            "the target holds {key}; a profile never overrides or leaves behind a credential"
        ));
    }
    if let Some(v) = profile
        .env
        .iter()
        .find(|v| is_credential_key(&v.key) && holds(&v.key))
    {
        return Some(format!("the target already holds {}", v.key));
    }
    None
}

/// The edits that switch `doc` to `profile`, and what they touch.
pub(crate) struct Applied {
    pub(crate) edits: Vec<Edit>,
    pub(crate) keys: Vec<TouchedKey>,
    pub(crate) env_before: EnvBefore,
}

/// Switches `doc` to `profile`. `owner` is the slot whose chain chose it and `original` that
/// slot's original raw text: if the profile sets that key, leaving it puts back the original.
/// The profile must be usable (see [`unusable`]).
pub(crate) fn apply(doc: &Document, profile: &Profile, owner: &KeyPath, original: &str) -> Applied {
    let mut edits = Vec::new();
    let mut keys = Vec::new();
    let written = |raw: &str, secret: bool| {
        if secret {
            Written::Sha256(sha256(raw))
        } else {
            Written::Raw(raw.to_owned())
        }
    };
    let before = |path: &KeyPath| {
        if path == owner {
            Some(original.to_owned())
        } else {
            doc.raw_at(path).map(str::to_owned)
        }
    };
    let steer = steer(doc, profile, owner, original);
    let values: Vec<(&ProfileValue, String)> = (profile.env.iter().chain(steer.as_ref()))
        .filter_map(|v| v.value.as_ref().ok().map(|value| (v, json(value))))
        .collect();
    let env_before = match doc.prop(doc.root(), "env") {
        None => EnvBefore::Absent,
        Some(env) if env.value.props().is_empty() => {
            EnvBefore::Empty(doc.raw(&env.value).to_owned())
        }
        Some(_) => EnvBefore::Present,
    };
    if env_before == EnvBefore::Absent && !values.is_empty() {
        let entries = values
            .iter()
            .map(|(v, raw)| (v.key.clone(), raw.clone()))
            .collect();
        edits.push(Edit::Insert {
            object: KeyPath::new(Vec::<String>::new()),
            key: "env".into(),
            value: NewValue::Object(entries),
        });
        for (v, raw) in &values {
            keys.push(TouchedKey {
                path: env_path(&v.key),
                original: None,
                written: written(raw, v.secret || is_credential_key(&v.key)),
            });
        }
    } else {
        for (v, raw) in &values {
            let path = env_path(&v.key);
            let original = before(&path);
            edits.push(match doc.get(&path) {
                Some(_) => Edit::Replace {
                    path: path.clone(),
                    raw: raw.as_str().into(),
                },
                None => Edit::Insert {
                    object: KeyPath::new(["env"]),
                    key: v.key.clone(),
                    value: NewValue::Raw(raw.clone()),
                },
            });
            keys.push(TouchedKey {
                path,
                original,
                written: written(raw, v.secret || is_credential_key(&v.key)),
            });
        }
    }
    if let Some(model) = &profile.model {
        let path = KeyPath::new(["model"]);
        let raw = json(model);
        edits.push(match doc.get(&path) {
            Some(_) => Edit::Replace {
                path: path.clone(),
                raw: raw.as_str().into(),
            },
            None => Edit::Insert {
                object: KeyPath::new(Vec::<String>::new()),
                key: "model".into(),
                value: NewValue::Raw(raw.clone()),
            },
        });
        keys.push(TouchedKey {
            original: before(&path),
            path,
            written: Written::Raw(raw),
        });
    }
    Applied {
        edits,
        keys,
        env_before,
    }
}

/// The alias key a running Claude Code session resolves the owner's original through, set to
/// the profile's model: the session keeps the `model` it started with, but reads the alias key
/// on every request (README, Running sessions). Only when the owner is read at start, its
/// original is an alias, the profile's model is not, and neither the file nor the profile sets
/// that key.
fn steer(
    doc: &Document,
    profile: &Profile,
    owner: &KeyPath,
    original: &str,
) -> Option<ProfileValue> {
    let model = profile.model.as_ref()?;
    if !claude::read_at_start(owner) || claude::alias_key(model).is_some() {
        return None;
    }
    let key = claude::alias_key(&unquote(original))?;
    let set = doc.get(&env_path(key)).is_some() || profile.env.iter().any(|v| v.key == key);
    (!set).then(|| ProfileValue {
        key: key.to_owned(),
        value: Ok(model.clone()),
        secret: false,
    })
}

/// Whether the profile owns `path` while active.
pub(crate) fn owns(keys: &[TouchedKey], path: &KeyPath) -> bool {
    keys.iter().any(|k| &k.path == path)
}

/// Whether the switch to this profile is in the file: some key holds something other than its
/// original. When every key holds its original, the write never landed (or all was put back).
pub(crate) fn landed(doc: &Document, record: &ProfileRecord) -> bool {
    record
        .keys
        .iter()
        .any(|k| doc.raw_at(&k.path) != k.original.as_deref())
}

/// A key kept because it changed since the switch, with its value as output may show it.
pub(crate) struct Kept {
    pub(crate) path: KeyPath,
    pub(crate) shown: String,
}

/// The edits that leave the profile, and the keys kept because they changed since.
pub(crate) struct Left {
    pub(crate) edits: Vec<Edit>,
    pub(crate) kept: Vec<Kept>,
    /// Keys the profile added that a running Claude Code session would keep if they were just
    /// removed: set to `""` instead, to be removed once sessions have read that (with `env` put
    /// back as it was then).
    pub(crate) cleared: Vec<KeyPath>,
}

impl Left {
    /// The records of the keys set to `""`, written at `now`, if there are any.
    pub(crate) fn clearing(&self, record: &ProfileRecord, now: Timestamp) -> Option<Clearing> {
        (!self.cleared.is_empty()).then(|| Clearing {
            keys: self.cleared.clone(),
            since: now,
            env_before: record.env_before.clone(),
        })
    }
}

pub(crate) fn leave(doc: &Document, record: &ProfileRecord) -> Left {
    let mut edits = Vec::new();
    let mut kept = Vec::new();
    let mut cleared = Vec::new();
    for key in &record.keys {
        let current = doc.raw_at(&key.path);
        let live =
            matches!(key.path.keys(), [env, name] if env == "env" && claude::clears_live(name));
        match current {
            Some(raw) if key.written.is(raw) => edits.push(match &key.original {
                Some(original) => Edit::Replace {
                    path: key.path.clone(),
                    raw: original.as_str().into(),
                },
                None if live => {
                    cleared.push(key.path.clone());
                    Edit::Replace {
                        path: key.path.clone(),
                        raw: EMPTY.into(),
                    }
                }
                None => Edit::Remove {
                    path: key.path.clone(),
                },
            }),
            _ if current == key.original.as_deref() => {}
            _ => {
                let secret = matches!(key.written, Written::Sha256(_))
                    || key.path.last().is_some_and(is_credential_key);
                let shown = match current {
                    None => "(removed)".to_owned(),
                    Some(_) if secret => "***".to_owned(),
                    Some(raw) => unquote(raw),
                };
                kept.push(Kept {
                    path: key.path.clone(),
                    shown,
                });
            }
        }
    }
    // An `env` the profile created, or found empty, goes back to exactly what it was once its
    // keys are gone.
    let env = KeyPath::new(["env"]);
    if let Ok(left) = doc.apply(&edits)
        && let Some(node) = left.get(&env)
        && node.is_object()
        && node.props().is_empty()
    {
        match &record.env_before {
            EnvBefore::Absent => edits.push(Edit::Remove { path: env }),
            EnvBefore::Empty(raw) if left.raw(node) != raw => edits.push(Edit::Replace {
                path: env,
                raw: raw.as_str().into(),
            }),
            _ => {}
        }
    }
    Left {
        edits,
        kept,
        cleared,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glm(token: Result<&str, &str>) -> Profile {
        Profile {
            provider: "zai".into(),
            model: Some("opus".into()),
            env: vec![
                ProfileValue {
                    key: "ANTHROPIC_BASE_URL".into(),
                    value: Ok("https://api.z.ai/api/anthropic".into()),
                    secret: false,
                },
                ProfileValue {
                    key: "ANTHROPIC_AUTH_TOKEN".into(),
                    value: token.map(str::to_owned).map_err(str::to_owned),
                    secret: true,
                },
                ProfileValue {
                    key: "ANTHROPIC_DEFAULT_OPUS_MODEL".into(),
                    value: Ok("glm-4.6".into()),
                    secret: false,
                },
            ],
        }
    }

    /// `{"model": "opus"}`, and the `glm` profile applied to it from `model`.
    fn glm_on_opus() -> (Document, Applied) {
        let doc = Document::parse("{\"model\": \"opus\"}").unwrap();
        let applied = apply(
            &doc,
            &glm(Ok("tok-123")),
            &KeyPath::new(["model"]),
            "\"opus\"",
        );
        (doc, applied)
    }

    fn record(applied: &Applied) -> ProfileRecord {
        ProfileRecord {
            profile: "glm".into(),
            slot: KeyPath::new(["model"]),
            original: "\"opus\"".into(),
            provider: "anthropic".into(),
            keys: applied.keys.clone(),
            env_before: applied.env_before.clone(),
            at: jiff::Timestamp::UNIX_EPOCH,
            reason: "r".into(),
            streak: 0,
        }
    }

    /// Applies then leaves a profile chosen by the top-level `model`; returns the switched text.
    fn round_trip(text: &str) -> String {
        round_trip_from(text, &KeyPath::new(["model"]))
    }

    fn round_trip_from(text: &str, owner: &KeyPath) -> String {
        let doc = Document::parse(text).unwrap();
        let profile = glm(Ok("tok-123"));
        assert_eq!(unusable(&profile, &doc), None);
        let original = doc.raw_at(owner).unwrap().to_owned();
        let applied = apply(&doc, &profile, owner, &original);
        let switched = doc.apply(&applied.edits).unwrap();
        let rec = record(&applied);
        assert!(landed(&switched, &rec));
        let left = leave(&switched, &rec);
        assert!(left.kept.is_empty());
        // Leaving sets the added endpoint keys to "" first, for running sessions; removing them
        // once settled gives the bytes back.
        let cleared = switched.apply(&left.edits).unwrap();
        let clearing: Vec<Clearing> = left
            .clearing(&rec, Timestamp::UNIX_EPOCH)
            .into_iter()
            .collect();
        for key in clearing.iter().flat_map(|c| &c.keys) {
            assert_eq!(cleared.raw_at(key), Some(EMPTY), "{key}");
        }
        let finished = cleared
            .apply(&super::super::live::finish(&cleared, &clearing))
            .unwrap();
        assert_eq!(finished.render(), text, "leaving gives the bytes back");
        switched.render()
    }

    #[test]
    fn apply_and_leave_are_byte_exact() {
        let out = round_trip("{\n  \"model\": \"opus\",\n  \"hooks\": {}\n}\n");
        assert_eq!(
            out,
            "{\n  \"model\": \"opus\",\n  \"hooks\": {},\n  \"env\": {\n    \"ANTHROPIC_BASE_URL\": \"https://api.z.ai/api/anthropic\",\n    \"ANTHROPIC_AUTH_TOKEN\": \"tok-123\",\n    \"ANTHROPIC_DEFAULT_OPUS_MODEL\": \"glm-4.6\"\n  }\n}\n"
        );
        round_trip(
            "{\n    \"env\": {\n        \"DISABLE_TELEMETRY\": \"1\",\n        \"ANTHROPIC_DEFAULT_OPUS_MODEL\": \"claude-opus-4-1\"\n    },\n    \"model\": \"opus\"\n}",
        );
        round_trip("{\"model\": \"opus\", \"env\": {}}");
        round_trip("{\"model\": \"opus\", \"env\": { }}");
        round_trip("{\r\n  \"env\": {\r\n  },\r\n  \"model\": \"opus\"\r\n}\r\n");
        // No top-level `model`: the profile adds one, and leaving removes it.
        let out = round_trip_from(
            "{\"env\": {\"ANTHROPIC_MODEL\": \"opus\"}}",
            &env_path("ANTHROPIC_MODEL"),
        );
        assert!(out.ends_with(", \"model\": \"opus\"}"), "{out}");
    }

    #[test]
    fn secrets_are_recorded_as_digests() {
        let (_, applied) = glm_on_opus();
        let state = serde_json::to_string(&applied.keys).unwrap();
        assert!(!state.contains("tok-123"), "{state}");
        assert!(state.contains("sha256"), "{state}");
    }

    #[test]
    fn a_changed_key_is_kept_and_reported_masked() {
        let (doc, applied) = glm_on_opus();
        let switched = doc.apply(&applied.edits).unwrap();
        let edited = switched
            .apply(&[
                Edit::Replace {
                    path: env_path("ANTHROPIC_AUTH_TOKEN"),
                    raw: "\"mine\"".into(),
                },
                Edit::Replace {
                    path: env_path("ANTHROPIC_DEFAULT_OPUS_MODEL"),
                    raw: "\"glm-4.5\"".into(),
                },
            ])
            .unwrap();
        let left = leave(&edited, &record(&applied));
        let kept: Vec<(String, String)> = left
            .kept
            .iter()
            .map(|k| (k.path.to_string(), k.shown.clone()))
            .collect();
        assert_eq!(
            kept,
            [
                ("env.ANTHROPIC_AUTH_TOKEN".to_owned(), "***".to_owned()),
                (
                    "env.ANTHROPIC_DEFAULT_OPUS_MODEL".to_owned(),
                    "glm-4.5".to_owned()
                )
            ]
        );
        let out = edited.apply(&left.edits).unwrap().render();
        assert!(
            out.contains("\"ANTHROPIC_AUTH_TOKEN\": \"mine\"")
                && out.contains("\"ANTHROPIC_BASE_URL\": \"\""),
            "{out}"
        );
        assert_eq!(left.cleared, [env_path("ANTHROPIC_BASE_URL")]);
    }

    #[test]
    fn unusable_profiles() {
        let doc = Document::parse("{\"model\": \"opus\"}").unwrap();
        assert_eq!(
            unusable(&glm(Err("${ZAI_API_KEY} is not set")), &doc).as_deref(),
            Some("${ZAI_API_KEY} is not set")
        );
        let doc = Document::parse("{\"env\": {\"ANTHROPIC_API_KEY\": \"sk\"}}").unwrap();
        assert!(
            unusable(&glm(Ok("t")), &doc)
                .unwrap()
                .contains("holds ANTHROPIC_API_KEY")
        );
        let doc = Document::parse("{\"env\": \"nope\"}").unwrap();
        assert!(unusable(&glm(Ok("t")), &doc).is_some());
    }

    #[test]
    fn a_write_that_never_landed_is_seen() {
        let doc = Document::parse("{\"model\": \"opus\"}").unwrap();
        let applied = apply(&doc, &glm(Ok("t")), &KeyPath::new(["model"]), "\"opus\"");
        assert!(!landed(&doc, &record(&applied)));
    }
}
