//! The state dir (SPEC §7): per target, the switches this tool made (originals as raw JSON text,
//! what it wrote, why, and the recovery streak); shared by all, the quota book. Files are 0600
//! and never hold credentials.
//!
//! Layout: `targets/<key>.json` is written only by the switcher holding that target's lock
//! (`locks/<key>.lock`); `quota.json` is shared and updated under the short `quota.lock`.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::engine::QuotaBook;
use crate::fsx;
use crate::jsonc::KeyPath;
use crate::target::Kind;

const VERSION: u32 = 1;

/// What this tool changed in one target.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TargetState {
    pub version: u32,
    /// The target's canonical path.
    pub target: PathBuf,
    /// The path as the user gave it, for output.
    pub display: String,
    pub kind: Kind,
    #[serde(default)]
    pub switches: Vec<SwitchRecord>,
    /// The endpoint profile switched to, if one is active (Claude Code targets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<ProfileRecord>,
}

/// One slot this tool switched away from its original.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SwitchRecord {
    pub slot: KeyPath,
    /// The original value's raw JSON text, so restoring is byte-exact.
    pub original: String,
    /// The provider that governs the original, fixed when it was switched.
    pub provider: String,
    /// The raw JSON text this tool wrote.
    pub written: String,
    /// While a move from one fallback to another is being written: the fallback it replaces. A
    /// crash before the target is written leaves the slot holding this, which is still ours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
    pub at: Timestamp,
    pub reason: String,
    /// Consecutive GREEN observations of the original since the switch.
    #[serde(default)]
    pub streak: u32,
}

/// A switch of a whole target to an endpoint profile (SPEC §3.2): every key it touched, with
/// its original raw text or absence, so leaving it is byte-exact.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProfileRecord {
    pub profile: String,
    /// The slot whose chain chose the profile.
    pub slot: KeyPath,
    /// That slot's original model, raw.
    pub original: String,
    /// The provider that governs the original, fixed before the switch.
    pub provider: String,
    pub keys: Vec<TouchedKey>,
    /// What `env` was before the switch, so leaving can put back an absent or empty one exactly.
    pub env_before: EnvBefore,
    pub at: Timestamp,
    pub reason: String,
    #[serde(default)]
    pub streak: u32,
}

/// One key a profile set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TouchedKey {
    pub path: KeyPath,
    /// Its raw text before the switch; `None` when the profile added it.
    pub original: Option<String>,
    pub written: Written,
}

/// What was written: the raw text, or for a secret only a digest of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Written {
    Raw(String),
    Sha256(String),
}

impl Written {
    /// Whether `raw` is what was written.
    pub fn is(&self, raw: &str) -> bool {
        match self {
            Written::Raw(text) => text == raw,
            Written::Sha256(digest) => *digest == sha256(raw),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnvBefore {
    Absent,
    /// It had no keys: its raw text (`{}`, `{ }`…).
    Empty(String),
    Present,
}

/// Hex SHA-256 of a text.
pub fn sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl ProfileRecord {
    /// The original model id, decoded.
    pub fn original_model(&self) -> String {
        decode(&self.original)
    }
}

impl SwitchRecord {
    /// The original model id, decoded.
    pub fn original_model(&self) -> String {
        decode(&self.original)
    }
}

/// A raw JSON string decoded, or the raw text itself if it is not a string.
pub fn decode(raw: &str) -> String {
    serde_json::from_str(raw).unwrap_or_else(|_| raw.to_owned())
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
        Ok(doc)
            if doc.root().range() == (0..raw.len())
                && (!string || doc.root().as_str().is_some()) =>
        {
            Ok(())
        }
        _ => fail(),
    }
}

impl TargetState {
    /// Checks every raw text the records hold (see [`load_target_file`]).
    fn check(&self) -> Result<(), String> {
        for (i, r) in self.switches.iter().enumerate() {
            let field = |name: &str| format!("switches[{i}].{name}");
            check_raw(&field("original"), &r.original, true)?;
            check_raw(&field("written"), &r.written, true)?;
            if let Some(previous) = &r.previous {
                check_raw(&field("previous"), previous, true)?;
            }
        }
        if let Some(p) = &self.profile {
            check_raw("profile.original", &p.original, true)?;
            for (i, key) in p.keys.iter().enumerate() {
                if let Some(original) = &key.original {
                    check_raw(&format!("profile.keys[{i}].original"), original, false)?;
                }
            }
            if let EnvBefore::Empty(raw) = &p.env_before {
                // Put back as `env` itself: it must be an object, and an empty one.
                let empty = crate::jsonc::Document::parse(raw).is_ok_and(|doc| {
                    doc.root().is_object()
                        && doc.root().props().is_empty()
                        && doc.root().range() == (0..raw.len())
                });
                if !empty {
                    return Err("profile.env_before is not an empty JSON object".to_owned());
                }
            }
        }
        Ok(())
    }

    pub fn new(target: PathBuf, display: String, kind: Kind) -> TargetState {
        TargetState {
            version: VERSION,
            target,
            display,
            kind,
            switches: Vec::new(),
            profile: None,
        }
    }

    /// The records keyed by slot.
    pub fn by_slot(&self) -> HashMap<&KeyPath, &SwitchRecord> {
        self.switches.iter().map(|r| (&r.slot, r)).collect()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("state dir {}: {source}", dir.display())]
    Io { dir: PathBuf, source: io::Error },
    /// `advice` follows the cause: what to do, and what it costs.
    #[error("state file {} is unreadable ({message}){advice}", path.display())]
    Corrupt {
        path: PathBuf,
        message: String,
        advice: &'static str,
    },
}

/// The state dir, opened for reading (and created for writing on demand).
#[derive(Clone, Debug)]
pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    pub fn new(root: PathBuf) -> StateDir {
        StateDir { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn io_err(&self, source: io::Error) -> StateError {
        StateError::Io {
            dir: self.root.clone(),
            source,
        }
    }

    /// Creates the dir and its subdirs, private to the user.
    fn ensure(&self, sub: &str) -> Result<PathBuf, StateError> {
        let dir = self.root.join(sub);
        fsx::create_private_dir(&dir).map_err(|e| self.io_err(e))?;
        Ok(dir)
    }

    /// A stable file name for a target: a digest of its canonical path, plus its name to help a
    /// person looking at the dir.
    pub fn key(target: &Path) -> String {
        let digest = Sha256::digest(target.as_os_str().as_encoded_bytes());
        let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
        let name: String = target
            .file_name()
            .map(|n| {
                n.to_string_lossy()
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '.')
                    .collect()
            })
            .unwrap_or_default();
        format!("{hex}-{name}")
    }

    fn target_file(&self, target: &Path) -> PathBuf {
        self.root
            .join("targets")
            .join(format!("{}.json", Self::key(target)))
    }

    /// Takes the target's lock, or names the switcher that holds it.
    pub fn lock_target(
        &self,
        target: &Path,
        holder: &str,
    ) -> Result<Result<fsx::FileLock, String>, StateError> {
        let dir = self.ensure("locks")?;
        fsx::try_lock(&dir.join(format!("{}.lock", Self::key(target))), holder)
            .map_err(|e| self.io_err(e))
    }

    /// The target's recorded switches; none if it has no state file.
    pub fn load_target(&self, target: &Path) -> Result<Option<TargetState>, StateError> {
        load_target_file(&self.target_file(target))
    }

    /// Saves a target's state, or removes its file when nothing is switched any more.
    pub fn save_target(&self, state: &TargetState) -> Result<(), StateError> {
        let path = self.target_file(&state.target);
        if state.switches.is_empty() && state.profile.is_none() {
            return match fs::remove_file(&path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(self.io_err(e)),
                _ => Ok(()),
            };
        }
        let dir = self.ensure("targets")?;
        fsx::remove_stale_temps(
            &dir,
            &path.file_name().unwrap_or_default().to_string_lossy(),
        );
        write_json(&path, state).map_err(|e| self.io_err(e))
    }

    /// Every target with recorded switches. A state file that cannot be read is returned as its
    /// own error, so the others are still handled.
    pub fn all_targets(&self) -> Result<Vec<Result<TargetState, StateError>>, StateError> {
        let dir = self.root.join("targets");
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(self.io_err(e)),
        };
        let mut out = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "json")
                && !entry.file_name().to_string_lossy().starts_with('.')
            {
                out.extend(load_target_file(&path).transpose());
            }
        }
        out.sort_by(|a, b| match (a, b) {
            (Ok(a), Ok(b)) => a.display.cmp(&b.display),
            (a, b) => a.is_ok().cmp(&b.is_ok()),
        });
        Ok(out)
    }

    fn quota_file(&self) -> PathBuf {
        self.root.join("quota.json")
    }

    /// The shared quota book as last saved; an unreadable one is reported and replaced by an
    /// empty book (it holds only observations, which the next polls bring back).
    pub fn load_quota(&self) -> QuotaBook {
        self.read_quota().unwrap_or_else(|e| {
            tracing::warn!("{e}; starting with no quota history");
            QuotaBook::default()
        })
    }

    fn read_quota(&self) -> Result<QuotaBook, StateError> {
        load_json(&self.quota_file(), "").map(Option::unwrap_or_default)
    }

    /// Applies `update` to the latest saved book under the state dir's lock, saves it, and
    /// returns it. Concurrent switchers never lose each other's updates.
    pub fn update_quota(
        &self,
        update: impl FnOnce(&mut QuotaBook),
    ) -> Result<QuotaBook, StateError> {
        self.ensure("")?;
        let _lock = fsx::lock(&self.root.join("quota.lock")).map_err(|e| self.io_err(e))?;
        // Every run loads the book (and warns about an unreadable one) before it updates it, so
        // an unreadable one is replaced here without a second warning.
        let mut book = self.read_quota().unwrap_or_default();
        update(&mut book);
        fsx::remove_stale_temps(&self.root, "quota.json");
        write_json(&self.quota_file(), &book).map_err(|e| self.io_err(e))?;
        Ok(book)
    }
}

/// What to do about an unreadable target state file.
const TARGET_ADVICE: &str = "; move it away to start over, losing the originals it records";

/// Reads a target's state file, checking that every raw text it would write back is one JSON
/// value of the right type: a damaged or edited record must not put arbitrary text into a
/// target.
fn load_target_file(path: &Path) -> Result<Option<TargetState>, StateError> {
    let state: Option<TargetState> = load_json(path, TARGET_ADVICE)?;
    if let Some(Err(message)) = state.as_ref().map(TargetState::check) {
        return Err(StateError::Corrupt {
            path: path.to_owned(),
            message,
            advice: TARGET_ADVICE,
        });
    }
    Ok(state)
}

/// Reads a state file; `advice` goes into the error when it is unreadable.
fn load_json<T: for<'de> Deserialize<'de>>(
    path: &Path,
    advice: &'static str,
) -> Result<Option<T>, StateError> {
    let text = match fsx::read_limited(path, fsx::MAX_FILE) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(StateError::Corrupt {
                path: path.to_owned(),
                message: e.to_string(),
                advice,
            });
        }
    };
    // State written by an older or careless process may be readable by others.
    fsx::make_private(path);
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| StateError::Corrupt {
            path: path.to_owned(),
            message: e.to_string(),
            advice,
        })
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> io::Result<()> {
    let mut text = serde_json::to_string_pretty(value).map_err(io::Error::other)?;
    text.push('\n');
    fsx::write_atomic(path, None, &text).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(unix)]
    use std::os::unix::fs::PermissionsExt;

    fn record(slot: &str) -> SwitchRecord {
        SwitchRecord {
            slot: KeyPath::new([slot]),
            original: "\"zai/glm\"".into(),
            provider: "zai".into(),
            written: "\"ds/chat\"".into(),
            previous: None,
            at: Timestamp::UNIX_EPOCH,
            reason: "zai status RED".into(),
            streak: 0,
        }
    }

    #[test]
    fn target_state_round_trips_and_empties_away() {
        let dir = tempfile::tempdir().unwrap();
        let state_dir = StateDir::new(dir.path().join("state"));
        let target = dir.path().join("opencode.json");
        assert_eq!(state_dir.load_target(&target).unwrap(), None);
        let mut state = TargetState::new(target.clone(), "opencode.json".into(), Kind::OpenCode);
        state.switches.push(record("model"));
        state_dir.save_target(&state).unwrap();
        assert_eq!(state_dir.load_target(&target).unwrap(), Some(state.clone()));
        let all: Vec<TargetState> = state_dir
            .all_targets()
            .unwrap()
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(all, vec![state.clone()]);
        let file = state_dir.target_file(&target);
        #[cfg(unix)]
        assert_eq!(
            fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
        state.switches.clear();
        state_dir.save_target(&state).unwrap();
        assert!(!file.exists());
    }

    #[test]
    fn corrupt_target_state_is_an_error_and_wide_modes_are_tightened() {
        let dir = tempfile::tempdir().unwrap();
        let state_dir = StateDir::new(dir.path().to_owned());
        let target = dir.path().join("opencode.json");
        state_dir.ensure("targets").unwrap();
        let file = state_dir.target_file(&target);
        fs::write(&file, "{").unwrap();
        #[cfg(unix)]
        fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
        let err = state_dir.load_target(&target).unwrap_err().to_string();
        assert!(err.contains("move it away"), "{err}");
        #[cfg(unix)]
        assert_eq!(
            fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn a_record_that_would_write_anything_but_one_value_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let state_dir = StateDir::new(dir.path().to_owned());
        let target = dir.path().join("opencode.json");
        let cases = [
            (
                "original",
                r#"1, "evil": true"#,
                "switches[0].original is not a JSON string",
            ),
            ("original", "3", "switches[0].original is not a JSON string"),
            (
                "original",
                r#" "a" "#,
                "switches[0].original is not a JSON string",
            ),
            (
                "written",
                r#""a" // x"#,
                "switches[0].written is not a JSON string",
            ),
            ("previous", "{", "switches[0].previous is not a JSON string"),
        ];
        for (field, raw, expected) in cases {
            let mut state = TargetState::new(target.clone(), "o".into(), Kind::OpenCode);
            let mut r = record("model");
            match field {
                "original" => r.original = raw.into(),
                "written" => r.written = raw.into(),
                _ => r.previous = Some(raw.into()),
            }
            state.switches.push(r);
            state_dir.save_target(&state).unwrap();
            let err = state_dir.load_target(&target).unwrap_err().to_string();
            assert!(err.contains(expected), "{raw}: {err}");
        }
        let mut state = TargetState::new(target.clone(), "o".into(), Kind::OpenCode);
        state.switches.push(record("model"));
        state_dir.save_target(&state).unwrap();
        assert!(state_dir.load_target(&target).unwrap().is_some());

        let profile = |env_before: EnvBefore, key_original: &str| ProfileRecord {
            profile: "glm".into(),
            slot: KeyPath::new(["model"]),
            original: "\"opus\"".into(),
            provider: "anthropic".into(),
            keys: vec![TouchedKey {
                path: KeyPath::new(["env", "A"]),
                original: Some(key_original.into()),
                written: Written::Raw("\"b\"".into()),
            }],
            env_before,
            at: Timestamp::UNIX_EPOCH,
            reason: "r".into(),
            streak: 0,
        };
        let cases = [
            (EnvBefore::Empty("{ /* none */ }".into()), "\"a\"", None),
            (EnvBefore::Present, "{\"x\": [1]}", None),
            (
                EnvBefore::Empty("[1]".into()),
                "\"a\"",
                Some("profile.env_before is not an empty JSON object"),
            ),
            (
                EnvBefore::Empty("{\"a\": 1}".into()),
                "\"a\"",
                Some("profile.env_before is not an empty JSON object"),
            ),
            (
                EnvBefore::Present,
                "\"a\", \"b\": 1",
                Some("profile.keys[0].original is not one JSON value"),
            ),
        ];
        for (env_before, key_original, expected) in cases {
            let mut state = TargetState::new(target.clone(), "s".into(), Kind::Claude);
            state.profile = Some(profile(env_before, key_original));
            state_dir.save_target(&state).unwrap();
            match (state_dir.load_target(&target), expected) {
                (Ok(Some(_)), None) => {}
                (Err(e), Some(expected)) => assert!(e.to_string().contains(expected), "{e}"),
                (other, _) => panic!("{key_original}: {other:?}"),
            }
        }
    }

    #[test]
    fn quota_updates_accumulate() {
        let dir = tempfile::tempdir().unwrap();
        let state_dir = StateDir::new(dir.path().to_owned());
        state_dir
            .update_quota(|b| b.record_failure("a", "x", false))
            .unwrap();
        let book = state_dir
            .update_quota(|b| b.record_failure("b", "y", false))
            .unwrap();
        assert_eq!(book.sources.len(), 2);
        assert_eq!(state_dir.load_quota(), book);
    }
}
