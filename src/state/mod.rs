//! The state dir on disk: per target, the records of the switches this tool made
//! ([`TargetState`], plain data the planner owns); shared by all, the quota book. This is where
//! they are loaded, checked, saved atomically, locked and swept; files are 0600 and never hold
//! credentials (README, State; docs/design.md, Plans, state and restore).
//!
//! Layout: `targets/<key>.json` is written only by the switcher holding that target's lock
//! (`locks/<key>.lock`); `quota.json` is shared and updated under the short `quota.lock`, which
//! is waited for with a deadline (see [`lock`]).

pub(crate) mod lines;
mod lock;

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::fsx;
use crate::plan::TargetState;
use crate::quota::QuotaBook;
use crate::target::Kind;

pub(crate) use lock::{Patience, holder};

#[derive(Debug, thiserror::Error)]
pub(crate) enum StateError {
    #[error("state dir {}: {source}", dir.display())]
    Io { dir: PathBuf, source: io::Error },
    /// `advice` follows the cause: what to do, and what it costs.
    #[error("state file {} is unreadable ({message}){advice}", path.display())]
    Corrupt {
        path: PathBuf,
        message: String,
        advice: &'static str,
    },
    /// Another process kept a lock past our patience (or we were asked to stop meanwhile).
    #[error(
        "lock {} is held by {}; gave up after {:.1} s",
        lock.display(),
        if holder.is_empty() { "another process" } else { holder },
        waited.as_secs_f64()
    )]
    Busy {
        lock: PathBuf,
        holder: String,
        waited: Duration,
    },
}

/// The state dir, opened for reading (and created for writing on demand).
#[derive(Clone, Debug)]
pub(crate) struct StateDir {
    root: PathBuf,
    /// How long to wait for the shared lock.
    patience: Patience,
}

impl StateDir {
    pub(crate) fn new(root: PathBuf) -> StateDir {
        StateDir {
            root,
            patience: Patience::default(),
        }
    }

    /// The dir's path.
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// The same dir, waiting for its shared lock as `patience` says.
    pub(crate) fn with_patience(self, patience: Patience) -> StateDir {
        StateDir { patience, ..self }
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

    /// Runs `act` in the subdir `sub`, creating it as [`StateDir::ensure`] does only when `act`
    /// finds something missing: a run takes a lock per target, and the dirs are there but the
    /// first time.
    fn in_dir<T>(
        &self,
        sub: &str,
        act: impl Fn(&Path) -> Result<T, StateError>,
    ) -> Result<T, StateError> {
        let dir = self.root.join(sub);
        match act(&dir) {
            Err(StateError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
                self.ensure(sub)?;
                act(&dir)
            }
            done => done,
        }
    }

    /// A stable file name for a target: a digest of its canonical path, plus its name to help a
    /// person looking at the dir.
    pub(crate) fn key(target: &Path) -> String {
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

    /// Takes the target's lock, or names the switcher that holds it. Never waits: a target is
    /// held for a whole run or a daemon's life, so waiting would be waiting for that.
    pub(crate) fn lock_target(
        &self,
        target: &Path,
    ) -> Result<Result<fsx::FileLock, String>, StateError> {
        let name = format!("{}.lock", Self::key(target));
        self.in_dir("locks", |dir| {
            fsx::try_lock(&dir.join(&name), holder()).map_err(|e| self.io_err(e))
        })
    }

    /// The target's recorded switches; none if it has no state file.
    pub(crate) fn load_target(&self, target: &Path) -> Result<Option<TargetState>, StateError> {
        load_target_file(&self.target_file(target), None)
    }

    /// Saves a target's state, or removes its file when nothing is switched any more.
    pub(crate) fn save_target(&self, state: &TargetState) -> Result<(), StateError> {
        let path = self.target_file(&state.target);
        if state.is_empty() {
            return match fs::remove_file(&path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(self.io_err(e)),
                _ => Ok(()),
            };
        }
        let dir = self.ensure("targets")?;
        // Once per process: a project's many agent files would otherwise list it at every save.
        fsx::sweep_once(&dir);
        write_json(&path, state).map_err(|e| self.io_err(e))
    }

    /// Every target with recorded switches. A state file that cannot be read is returned as its
    /// own error, so the others are still handled.
    pub(crate) fn all_targets(&self) -> Result<Vec<Result<TargetState, StateError>>, StateError> {
        self.targets(&[], None)
    }

    /// The records of the targets that `wanted` picks by their path and kind, but those of
    /// `known` (which the caller holds already). Each file's path and kind are read first, its
    /// records only if it is wanted: a status line that shows Claude Code's switches does not
    /// parse the thousands of a big OpenCode config's.
    pub(crate) fn targets_where(
        &self,
        known: &[&Path],
        wanted: impl Fn(&Path, Kind) -> bool,
    ) -> Result<Vec<Result<TargetState, StateError>>, StateError> {
        self.targets(known, Some(&wanted))
    }

    fn targets(
        &self,
        known: &[&Path],
        wanted: Option<Wanted<'_>>,
    ) -> Result<Vec<Result<TargetState, StateError>>, StateError> {
        let skip: HashSet<PathBuf> = known.iter().map(|t| self.target_file(t)).collect();
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
                && !skip.contains(&path)
            {
                out.extend(load_target_file(&path, wanted).transpose());
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
    pub(crate) fn load_quota(&self) -> QuotaBook {
        self.read_quota().book
    }

    /// [`StateDir::load_quota`], kept with the file it was read from, so that
    /// [`StateDir::update_quota`] reads it again only if another process saved a book since.
    pub(crate) fn read_quota(&self) -> StoredQuota {
        let path = self.quota_file();
        let read = read_state_with(&path, "", fsx::read_seen).and_then(|read| match read {
            Some((text, seen)) => {
                parse_json(&path, &text, "").map(|book| StoredQuota { book, seen })
            }
            None => Ok(StoredQuota::default()),
        });
        read.unwrap_or_else(|e| {
            tracing::warn!("{e}; starting with no quota history");
            StoredQuota::default()
        })
    }

    /// Applies `update` to the latest saved book under the state dir's lock, saves it, and
    /// returns it. `stored` is the book this run read before ([`StateDir::read_quota`]): it is
    /// the latest if the file is still the one it was read from, else the book is read again.
    /// Concurrent switchers never lose each other's updates. A lock held past our patience is an
    /// error ([`StateError::Busy`]) and nothing is saved.
    pub(crate) fn update_quota(
        &self,
        stored: Option<StoredQuota>,
        update: impl FnOnce(&mut QuotaBook),
    ) -> Result<QuotaBook, StateError> {
        let _lock = self.in_dir("", |root| {
            lock::wait_for(&root.join("quota.lock"), &self.patience)
        })?;
        let path = self.quota_file();
        let mut book = match stored {
            Some(StoredQuota {
                book,
                seen: Some(seen),
            }) if seen.unchanged(&path) => book,
            // An unreadable book was reported when the run read it first: replaced here without
            // a second warning.
            _ => load_json(&path, "").ok().flatten().unwrap_or_default(),
        };
        update(&mut book);
        fsx::remove_stale_temps(&self.root, "quota.json");
        write_json(&path, &book).map_err(|e| self.io_err(e))?;
        Ok(book)
    }
}

/// The quota book as a run read it, and the file it was read from, still open ([`fsx::Seen`]).
#[derive(Debug, Default)]
pub(crate) struct StoredQuota {
    pub(crate) book: QuotaBook,
    seen: Option<fsx::Seen>,
}

impl StateDir {
    /// Runs `act` under the state dir's short lock `<name>.lock`, waited for as `patience` says:
    /// for the shared files other than the quota book, which several switchers update.
    pub(crate) fn with_lock<T>(
        &self,
        name: &str,
        act: impl FnOnce(&Path) -> io::Result<T>,
    ) -> Result<T, StateError> {
        let lock = format!("{name}.lock");
        let _lock = self.in_dir("", |root| lock::wait_for(&root.join(&lock), &self.patience))?;
        act(&self.root).map_err(|e| self.io_err(e))
    }

    /// Applies `update` to the shared JSON file `<name>.json` under its lock and saves it; an
    /// unreadable file starts over from the default (it holds nothing that cannot be lost).
    pub(crate) fn update_shared<T, R>(
        &self,
        name: &str,
        update: impl FnOnce(&mut T) -> R,
    ) -> Result<R, StateError>
    where
        T: Default + Serialize + for<'de> Deserialize<'de>,
    {
        let file = format!("{name}.json");
        self.with_lock(name, |root| {
            let path = root.join(&file);
            let mut value: T = load_json(&path, "").ok().flatten().unwrap_or_default();
            let out = update(&mut value);
            fsx::remove_stale_temps(root, &file);
            write_json(&path, &value)?;
            Ok(out)
        })
    }
}

/// Picks a target state file by its target's path and kind.
type Wanted<'a> = &'a dyn Fn(&Path, Kind) -> bool;

/// What to do about an unreadable target state file.
const TARGET_ADVICE: &str = "; move it away to start over, losing the originals it records";

/// Reads a target's state file and checks its records (see [`TargetState::check`]); `None`
/// when there is none, or when `wanted` does not pick its target and kind. A file whose target
/// and kind cannot be read is read whole, for the error.
fn load_target_file(
    path: &Path,
    wanted: Option<Wanted<'_>>,
) -> Result<Option<TargetState>, StateError> {
    #[derive(Deserialize)]
    struct Header {
        target: PathBuf,
        kind: Kind,
    }
    let Some(text) = read_state_file(path, TARGET_ADVICE)? else {
        return Ok(None);
    };
    if let (Some(wanted), Ok(header)) = (wanted, serde_json::from_str::<Header>(&text))
        && !wanted(&header.target, header.kind)
    {
        return Ok(None);
    }
    let state: TargetState = parse_json(path, &text, TARGET_ADVICE)?;
    state.check().map_err(|message| StateError::Corrupt {
        path: path.to_owned(),
        message,
        advice: TARGET_ADVICE,
    })?;
    Ok(Some(state))
}

/// Reads a state file; `advice` goes into the error when it is unreadable.
fn load_json<T: for<'de> Deserialize<'de>>(
    path: &Path,
    advice: &'static str,
) -> Result<Option<T>, StateError> {
    match read_state_file(path, advice)? {
        Some(text) => parse_json(path, &text, advice).map(Some),
        None => Ok(None),
    }
}

/// A state file's text; `None` when there is none.
fn read_state_file(path: &Path, advice: &'static str) -> Result<Option<String>, StateError> {
    read_state_with(path, advice, fsx::read_limited)
}

/// A state file as `read` reads it (bounded to [`fsx::MAX_FILE`]); `None` when there is none.
fn read_state_with<T>(
    path: &Path,
    advice: &'static str,
    read: impl FnOnce(&Path, u64) -> io::Result<T>,
) -> Result<Option<T>, StateError> {
    let read = match read(path, fsx::MAX_FILE) {
        Ok(read) => read,
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
    Ok(Some(read))
}

fn parse_json<T: for<'de> Deserialize<'de>>(
    path: &Path,
    text: &str,
    advice: &'static str,
) -> Result<T, StateError> {
    serde_json::from_str(text).map_err(|e| StateError::Corrupt {
        path: path.to_owned(),
        message: e.to_string(),
        advice,
    })
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> io::Result<()> {
    fsx::write_atomic_with(path, None, |out| lines::write(out, value)).map(|_| ())
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;

    use super::*;
    use crate::jsonc::KeyPath;
    use crate::plan::{EnvBefore, ProfileRecord, SwitchRecord, TouchedKey, Written};
    use crate::target::Kind;
    #[cfg(unix)]
    use std::os::unix::fs::PermissionsExt;

    fn record(slot: &str) -> SwitchRecord {
        SwitchRecord::example(slot, "\"ds/chat\"")
    }

    #[test]
    fn locks_make_the_dirs_they_find_missing_private_to_the_user() {
        let dir = tempfile::tempdir().unwrap();
        let state_dir = StateDir::new(dir.path().join("a/state"));
        let target = dir.path().join("opencode.json");
        let held = state_dir.lock_target(&target).unwrap().unwrap();
        assert!(state_dir.lock_target(&target).unwrap().is_err(), "held");
        drop(held);
        // Removed under a run, the dirs are made again.
        fs::remove_dir_all(dir.path().join("a")).unwrap();
        state_dir.lock_target(&target).unwrap().unwrap();
        state_dir.with_lock("journal", |_| Ok(())).unwrap();
        #[cfg(unix)]
        for sub in ["a", "a/state", "a/state/locks"] {
            let mode = fs::metadata(dir.path().join(sub))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o700, "{sub}");
        }
        assert!(dir.path().join("a/state/journal.lock").is_file());
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
    fn targets_are_picked_by_path_and_kind_and_an_unreadable_one_still_reported() {
        let dir = tempfile::tempdir().unwrap();
        let state_dir = StateDir::new(dir.path().join("state"));
        let claude = dir.path().join("proj/.claude/settings.json");
        let opencode = dir.path().join("proj/opencode.json");
        let other = dir.path().join("other/.claude/settings.json");
        for (target, kind) in [
            (&claude, Kind::Claude),
            (&opencode, Kind::OpenCode),
            (&other, Kind::Claude),
        ] {
            let mut state = TargetState::new(target.clone(), "t".into(), kind);
            state.switches.push(record("model"));
            state_dir.save_target(&state).unwrap();
        }
        let project = dir.path().join("proj");
        let picked = |known: &[&Path]| -> Vec<PathBuf> {
            let wanted = |target: &Path, kind| kind == Kind::Claude && target.starts_with(&project);
            (state_dir.targets_where(known, wanted).unwrap().into_iter())
                .map(|s| s.unwrap().target)
                .collect()
        };
        assert_eq!(picked(&[]), vec![claude.clone()]);
        assert_eq!(picked(&[&claude]), Vec::<PathBuf>::new());
        // A file whose header cannot be read is read whole: its error is not hidden.
        fs::write(state_dir.target_file(&dir.path().join("x.json")), "{").unwrap();
        let all = state_dir.targets_where(&[], |_, _| false).unwrap();
        assert!(matches!(all.as_slice(), [Err(StateError::Corrupt { .. })]));
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
            .update_quota(None, |b| b.record_failure("a", "x", false))
            .unwrap();
        let book = state_dir
            .update_quota(None, |b| b.record_failure("b", "y", false))
            .unwrap();
        assert_eq!(book.sources.len(), 2);
        assert_eq!(state_dir.load_quota(), book);
    }

    #[test]
    fn a_book_read_is_not_read_again_unless_saved_since() {
        let dir = tempfile::tempdir().unwrap();
        let state_dir = StateDir::new(dir.path().to_owned());
        state_dir
            .update_quota(None, |b| b.record_failure("a", "x", false))
            .unwrap();
        // Unchanged since it was read: the book read is the one updated. A change made only to
        // it shows that the file was not read again.
        let mut stored = state_dir.read_quota();
        stored.book.record_failure("only-read", "x", false);
        let book = state_dir.update_quota(Some(stored), |_| {}).unwrap();
        assert!(book.sources.contains_key("only-read"), "{book:?}");
        // Saved by another process since: read again, and its update kept.
        let mut stored = state_dir.read_quota();
        stored.book.record_failure("stale", "x", false);
        let other = StateDir::new(dir.path().to_owned());
        other
            .update_quota(None, |b| b.record_failure("other", "y", false))
            .unwrap();
        let book = state_dir
            .update_quota(Some(stored), |b| b.record_failure("mine", "z", false))
            .unwrap();
        let sources: Vec<_> = book.sources.keys().map(String::as_str).collect();
        assert_eq!(sources, ["a", "mine", "only-read", "other"]);
    }
}
