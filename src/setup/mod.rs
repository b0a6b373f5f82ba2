//! `switcher setup <agent>` (README, "OpenCode plugin" and "Claude Code status line"): wires
//! switcher into an agent, and `--remove` undoes exactly that. Claude Code's setup is one minimal
//! edit of its settings (`claude.rs`); OpenCode's puts one file of switcher's into its plugin dir
//! so that running sessions follow switches and report limits. What a plugin file's setup needs
//! lives here: a file is ours when its first line carries our marker,
//! installing is idempotent (the same bytes are left alone, an older version of ours is
//! replaced, anybody else's file is refused), `--remove` deletes only a file that is ours, and
//! `--dry-run` says what would happen. Writes go through the one atomic write helper.

pub(crate) mod claude;
mod opencode;

pub(crate) use opencode::{Plugin as OpenCodePlugin, installed as opencode_installed};

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::cli::{Global, SetupAgent};
use crate::env::Env;
use crate::error::{Error, Outcome};
use crate::fsx;

/// A file a setup installs: where, and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Owned {
    pub(crate) path: PathBuf,
    pub(crate) content: String,
    /// What the first line of every version of it holds, and of nobody else's file.
    pub(crate) marker: &'static str,
}

impl Owned {
    fn is_ours(&self, text: &str) -> bool {
        text.lines().next().is_some_and(|l| l.contains(self.marker))
    }
}

/// What a setup did (or, in a dry run, would do) to its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    Installed,
    Updated,
    AlreadyInstalled,
    Removed,
    NotInstalled,
}

impl Step {
    /// Its name in `--json` output.
    fn name(self) -> &'static str {
        match self {
            Step::Installed => "installed",
            Step::Updated => "updated",
            Step::AlreadyInstalled => "already_installed",
            Step::Removed => "removed",
            Step::NotInstalled => "not_installed",
        }
    }
}

/// Runs `switcher setup <agent>`: under `--json`, OpenCode's prints one object (`agent`, `path`,
/// `step`, `dry_run`: a dry run's step is what it would do).
pub(crate) fn run(global: &Global, agent: &SetupAgent, env: &Env) -> Result<Outcome, Error> {
    let (args, file, note) = match agent {
        SetupAgent::Opencode(args) => (args, opencode::file(global, args, env)?, opencode::NOTE),
        SetupAgent::Claude(args) => {
            let request = claude::Request {
                project: args.project.as_deref(),
                remove: args.remove,
                dry_run: args.dry_run,
                bake_state_dir: global.state_dir.is_some()
                    || env.var("SWITCHER_STATE_DIR").is_some(),
            };
            return claude::run(&request, &crate::settings::state_dir(global, env)?, env);
        }
    };
    let state_dir = crate::settings::state_dir(global, env)?;
    let step = if args.remove {
        let record = record_path(&state_dir, "opencode", &file.path);
        let step = remove(&file, args.dry_run)?;
        if step == Step::Removed && !args.dry_run {
            remove_created_dirs(&record);
        }
        step
    } else {
        let missing = missing_dirs(&file.path);
        let step = install(&file, args.dry_run)?;
        if step == Step::Installed && !args.dry_run && !missing.is_empty() {
            save_created_dirs(&state_dir, &file.path, &missing)?;
        }
        step
    };
    if global.json {
        let json = serde_json::json!({
            "agent": "opencode",
            "path": file.path,
            "step": step.name(),
            "dry_run": args.dry_run,
        });
        println!("{json}");
        return Ok(Outcome::Ok);
    }
    let what = match (step, args.dry_run) {
        (Step::Installed, false) => "installed",
        (Step::Installed, true) => "would install",
        (Step::Updated, false) => "updated",
        (Step::Updated, true) => "would update",
        (Step::AlreadyInstalled, _) => "already installed",
        (Step::Removed, false) => "removed",
        (Step::Removed, true) => "would remove",
        (Step::NotInstalled, _) => "not installed",
    };
    let mut out = format!("{what}: {}\n", file.path.display());
    if matches!(step, Step::Installed | Step::Updated) && !args.dry_run {
        out.push_str(note);
        out.push('\n');
    }
    print!("{out}");
    Ok(Outcome::Ok)
}

/// The dirs above `file` that do not exist yet, deepest first: those an install creates.
fn missing_dirs(file: &Path) -> Vec<PathBuf> {
    (file.ancestors().skip(1))
        .take_while(|d| !d.as_os_str().is_empty() && !d.exists())
        .map(Path::to_owned)
        .collect()
}

/// Where a setup keeps what `--remove` needs for one file:
/// `<state dir>/setup/<agent>-<key of the file>.json`.
fn record_path(state_dir: &Path, agent: &str, file: &Path) -> PathBuf {
    let real = fsx::canonical(file).unwrap_or_else(|_| file.to_owned());
    let key = crate::state::StateDir::key(&real);
    state_dir.join("setup").join(format!("{agent}-{key}.json"))
}

/// Writes `text` over what was `read` at `path` (`None`: nothing was), or refuses when the file
/// changed since; first removes what a killed run left of it.
fn write(path: &Path, read: Option<&str>, text: &str) -> io::Result<()> {
    if let (Some(dir), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str())) {
        fsx::remove_stale_temps(dir, name);
    }
    match fsx::write_atomic(path, read, text)? {
        fsx::WriteOutcome::Written => Ok(()),
        fsx::WriteOutcome::Conflict => Err(io::Error::other(
            "changed while being edited; nothing written, run it again",
        )),
    }
}

/// Records the dirs an install created (`created`, deepest first).
fn save_created_dirs(state_dir: &Path, file: &Path, created: &[PathBuf]) -> Result<(), Error> {
    let record = record_path(state_dir, "opencode", file);
    let fail = |e: io::Error| Error::Setup(format!("cannot write {}: {e}", record.display()));
    fsx::create_private_dir(state_dir).map_err(fail)?;
    fsx::create_private_dir(record.parent().expect("a file in the state dir")).map_err(fail)?;
    let mut text = serde_json::to_string_pretty(&serde_json::json!({ "created": created }))
        .expect("paths serialise");
    text.push('\n');
    write(&record, None, &text).map_err(fail)
}

/// After `--remove`: deletes each dir the install recorded as created that is now empty,
/// deepest first (a dir holding anything, OpenCode's own files included, stays), then the
/// record. Never fails: what stays is only an empty dir.
fn remove_created_dirs(record: &Path) {
    let Ok(text) = fsx::read_limited(record, fsx::MAX_FILE) else {
        return;
    };
    let created: Vec<PathBuf> = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| serde_json::from_value(v["created"].clone()).ok())
        .unwrap_or_default();
    remove_empty_dirs(&created);
    let _ = fs::remove_file(record);
}

/// Deletes each of `dirs` (deepest first) while it is empty: a dir holding anything stays, and
/// so do those above it.
fn remove_empty_dirs(dirs: &[PathBuf]) {
    for dir in dirs {
        if fs::remove_dir(dir).is_err() {
            break;
        }
    }
}

/// Reads what is at `path` now; `None` when nothing is.
fn current(path: &Path) -> Result<Option<String>, Error> {
    match fsx::read_limited(path, fsx::MAX_FILE) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::Setup(format!("cannot read {}: {e}", path.display()))),
    }
}

/// Puts `file` in place, unless it is there already; refuses to replace a file that is not
/// ours.
pub(crate) fn install(file: &Owned, dry_run: bool) -> Result<Step, Error> {
    let old = current(&file.path)?;
    let step = match &old {
        None => Step::Installed,
        Some(text) if *text == file.content => return Ok(Step::AlreadyInstalled),
        Some(text) if file.is_ours(text) => Step::Updated,
        Some(_) => {
            return Err(Error::Setup(format!(
                "{} exists and is not switcher's; move it away and run setup again",
                file.path.display()
            )));
        }
    };
    if dry_run {
        return Ok(step);
    }
    let fail = |e: io::Error| Error::Setup(format!("cannot write {}: {e}", file.path.display()));
    if let Some(dir) = file.path.parent() {
        fs::create_dir_all(dir).map_err(fail)?;
    }
    write(&file.path, old.as_deref(), &file.content).map_err(fail)?;
    Ok(step)
}

/// Deletes `file` if what is there is ours; refuses to delete anybody else's.
pub(crate) fn remove(file: &Owned, dry_run: bool) -> Result<Step, Error> {
    match current(&file.path)? {
        None => Ok(Step::NotInstalled),
        Some(text) if file.is_ours(&text) => {
            if !dry_run {
                fs::remove_file(&file.path).map_err(|e| {
                    Error::Setup(format!("cannot remove {}: {e}", file.path.display()))
                })?;
            }
            Ok(Step::Removed)
        }
        Some(_) => Err(Error::Setup(format!(
            "{} is not switcher's (its first line lacks `{}`); left in place",
            file.path.display(),
            file.marker
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(dir: &Path, content: &str) -> Owned {
        Owned {
            path: dir.join("plugin/switcher.js"),
            content: content.to_owned(),
            marker: "// ours v",
        }
    }

    #[test]
    fn install_is_idempotent_updates_ours_and_refuses_others() {
        let dir = tempfile::tempdir().unwrap();
        let v1 = owned(dir.path(), "// ours v1\nA\n");
        assert_eq!(install(&v1, true).unwrap(), Step::Installed);
        assert!(!v1.path.exists(), "a dry run writes nothing");
        assert_eq!(install(&v1, false).unwrap(), Step::Installed);
        assert_eq!(install(&v1, false).unwrap(), Step::AlreadyInstalled);
        let v2 = owned(dir.path(), "// ours v2\nB\n");
        assert_eq!(install(&v2, false).unwrap(), Step::Updated);
        assert_eq!(fs::read_to_string(&v2.path).unwrap(), v2.content);
        fs::write(&v2.path, "export const Mine = async () => ({})\n").unwrap();
        let e = install(&v2, false).unwrap_err().to_string();
        assert!(e.contains("is not switcher's"), "{e}");
        let e = remove(&v2, false).unwrap_err().to_string();
        assert!(e.contains("left in place"), "{e}");
        assert!(v2.path.exists());
    }

    #[test]
    fn remove_deletes_only_our_file() {
        let dir = tempfile::tempdir().unwrap();
        let v1 = owned(dir.path(), "// ours v1\nA\n");
        assert_eq!(remove(&v1, false).unwrap(), Step::NotInstalled);
        install(&v1, false).unwrap();
        fs::write(dir.path().join("plugin/other.js"), "x").unwrap();
        assert_eq!(remove(&v1, true).unwrap(), Step::Removed);
        assert!(v1.path.exists(), "a dry run deletes nothing");
        assert_eq!(remove(&v1, false).unwrap(), Step::Removed);
        assert!(!v1.path.exists());
        assert!(dir.path().join("plugin/other.js").exists());
    }
}
