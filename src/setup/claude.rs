//! `switcher setup claude` (README, "Claude Code status line"): sets Claude Code's `statusLine`
//! to `switcher statusline`, so every session reports its rate limits to switcher and shows the
//! switches in force. An existing status-line command keeps running, behind `--then`.
//!
//! The edit is a target edit like any other (README, "Writing targets"): only the bytes of the
//! `statusLine` value change (or the member is added), through the JSONC layer, atomically, and
//! never over a file that changed since it was read. The previous value's raw text is kept in
//! the state dir (`setup/claude-<key>.json`, written before the settings), so `--remove` puts it
//! back byte for byte — or removes the member, or the file, that setup added. Running it again
//! changes nothing, unless the command it would write now differs (another program path, another
//! state dir): then switcher's own command is rewritten, what runs behind `--then` kept.
//!
//! The command names the program as the user reaches it (a symlink stays a symlink) and, when
//! the state dir is not the default one, `--state-dir DIR`: Claude Code runs it in its own
//! environment.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::env::Env;
use crate::error::{Error, Outcome};
use crate::fsx;
use crate::jsonc::{Document, Edit, KeyPath, NewValue};

/// What setup changed in one settings file, kept in the state dir.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Installed {
    /// The settings file's canonical path.
    settings: PathBuf,
    /// The `statusLine` value's raw text before setup; `None` when there was none.
    previous: Option<String>,
    /// The raw text setup wrote.
    written: String,
    /// The file did not exist: setup made it.
    created: bool,
    /// The dirs setup made for the file, deepest first (records older than this field have
    /// none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    created_dirs: Vec<PathBuf>,
}

/// What the command was asked.
pub(crate) struct Request<'a> {
    pub(crate) project: Option<&'a Path>,
    pub(crate) remove: bool,
    pub(crate) dry_run: bool,
    /// The state dir is not the default one (`--state-dir`, `SWITCHER_STATE_DIR`): the command
    /// names it.
    pub(crate) bake_state_dir: bool,
}

/// The settings file setup edits, and how to name it (as the user gave it).
fn settings_path(project: Option<&Path>, env: &Env) -> Result<(PathBuf, String), Error> {
    match project {
        Some(dir) => {
            let given = dir.join(".claude").join("settings.json");
            Ok((env.cwd.join(&given), given.display().to_string()))
        }
        None => env
            .claude_dir()
            .map(|d| d.join("settings.json"))
            .map(|p| {
                let shown = p.display().to_string();
                (p, shown)
            })
            .ok_or_else(|| {
                Error::Setup(
                    "cannot locate Claude Code's settings: set HOME or CLAUDE_CONFIG_DIR".into(),
                )
            }),
    }
}

/// A word for `sh`: as is when it is plain, else in single quotes.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:=@,".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// switcher's own status-line command: `PROGRAM statusline`, with `--state-dir DIR` when the
/// state dir is not the default one (Claude Code runs it without the user's environment).
fn ours(exe: &Path, state_dir: Option<&Path>) -> String {
    let mut ours = format!("{} statusline", shell_word(&exe.to_string_lossy()));
    if let Some(dir) = state_dir {
        ours.push_str(" --state-dir ");
        ours.push_str(&shell_word(&dir.to_string_lossy()));
    }
    ours
}

/// The command to set: switcher's status line, then the previous command if there was one.
fn command(ours: &str, previous: Option<&serde_json::Value>) -> String {
    let mut command = ours.to_owned();
    let theirs = previous
        .filter(|p| p["type"] == "command")
        .and_then(|p| p["command"].as_str())
        .filter(|c| !c.trim().is_empty());
    if let Some(theirs) = theirs {
        command.push_str(" --then ");
        command.push_str(&shell_word(theirs));
    }
    command
}

/// What a `statusLine` value is to setup.
#[derive(Debug, PartialEq)]
enum Existing<'a> {
    /// Exactly the command setup would write now.
    Current,
    /// A `switcher statusline` of another program path (another install, a binary since moved)
    /// or another state dir: rewritten, keeping what runs behind `--then` (` --then …`, or "").
    /// Wrapping it behind `--then` instead would record every message twice.
    Stale(&'a str),
    /// Someone else's: it runs behind `--then`.
    Theirs,
}

fn existing<'a>(value: &'a serde_json::Value, ours: &str) -> Existing<'a> {
    let Some(command) = value["command"].as_str() else {
        return Existing::Theirs;
    };
    if command == ours || command.starts_with(&format!("{ours} --then ")) {
        return Existing::Current;
    }
    let mut words = command.split_whitespace();
    let program = words.next().unwrap_or_default().trim_matches(['\'', '"']);
    let name = Path::new(program).file_name().and_then(|n| n.to_str());
    if matches!(name, Some("switcher" | "switcher.exe")) && words.next() == Some("statusline") {
        Existing::Stale(command.find(" --then ").map_or("", |i| &command[i..]))
    } else {
        Existing::Theirs
    }
}

/// The new text of the settings, or `None` when setup is already in place. `ours` is the
/// command to run ([`ours`]). Pure.
fn install(text: &str, ours: &str) -> Result<Option<(String, Installed)>, String> {
    let doc = Document::parse(text).map_err(|e| e.to_string())?;
    if !doc.root().is_object() {
        return Err("the settings are not a JSON object".into());
    }
    let path = KeyPath::new(["statusLine"]);
    let previous = doc.raw_at(&path).map(str::to_owned);
    let old: Option<serde_json::Value> = previous
        .as_deref()
        .and_then(|r| serde_json::from_str(r).ok());
    let command = match old.as_ref().map(|v| existing(v, ours)) {
        Some(Existing::Current) => return Ok(None),
        Some(Existing::Stale(then)) => format!("{ours}{then}"),
        Some(Existing::Theirs) | None => command(ours, old.as_ref()),
    };
    let command = serde_json::to_string(&command).expect("a string serialises");
    let edit = match &previous {
        Some(_) => {
            // Claude Code's other statusLine setting stays.
            let padding = (old.as_ref().and_then(|o| o.get("padding")))
                .map_or(String::new(), |p| format!(",\"padding\":{p}"));
            Edit::Replace {
                path: path.clone(),
                raw: format!("{{\"type\":\"command\",\"command\":{command}{padding}}}").into(),
            }
        }
        None => Edit::Insert {
            object: KeyPath::new(Vec::<String>::new()),
            key: "statusLine".into(),
            value: NewValue::Object(vec![
                ("type".into(), "\"command\"".into()),
                ("command".into(), command),
            ]),
        },
    };
    let edited = doc.apply(&[edit]).map_err(|e| e.to_string())?;
    let written = edited.raw_at(&path).expect("just set").to_owned();
    let installed = Installed {
        settings: PathBuf::new(),
        previous,
        written,
        created: false,
        created_dirs: Vec::new(),
    };
    Ok(Some((edited.render(), installed)))
}

/// The settings with setup undone, or why not. Pure.
fn uninstall(text: &str, installed: &Installed) -> Result<String, String> {
    let doc = Document::parse(text).map_err(|e| e.to_string())?;
    let path = KeyPath::new(["statusLine"]);
    if doc.raw_at(&path) != Some(installed.written.as_str()) {
        return Err(
            "its statusLine was changed since `switcher setup claude`; left as it is".into(),
        );
    }
    let edit = match &installed.previous {
        Some(raw) => Edit::Replace {
            path,
            raw: raw.as_str().into(),
        },
        None => Edit::Remove { path },
    };
    Ok(doc.apply(&[edit]).map_err(|e| e.to_string())?.render())
}

/// Runs `setup claude`.
pub(crate) fn run(request: &Request<'_>, state_dir: &Path, env: &Env) -> Result<Outcome, Error> {
    let (settings, shown) = settings_path(request.project, env)?;
    if let Some(dir) = request.project
        && !env.cwd.join(dir).is_dir()
    {
        return Err(Error::Setup(format!(
            "{}: no such directory",
            dir.display()
        )));
    }
    let io = |e: std::io::Error| Error::Setup(format!("{shown}: {e}"));
    let existing = super::current(&settings)?;
    // Canonical whether the file exists or not (its nearest existing dir resolved): the record
    // made when setup created the file is found again once it exists.
    let real = fsx::canonical(&settings).map_err(io)?;
    let record = super::record_path(state_dir, "claude", &real);
    let before = existing.clone().unwrap_or_default();
    let mut updated = false;
    let (after, installed) = if request.remove {
        let Ok(text) = fsx::read_limited(&record, fsx::MAX_FILE) else {
            println!("{shown}: no status line set up by switcher; nothing to remove");
            return Ok(Outcome::Ok);
        };
        let installed: Installed = serde_json::from_str(&text)
            .map_err(|e| Error::Setup(format!("{}: {e}", record.display())))?;
        let Some(current) = &existing else {
            return Err(Error::Setup(format!(
                "{shown}: no such file; nothing to remove"
            )));
        };
        let after =
            uninstall(current, &installed).map_err(|e| Error::Setup(format!("{shown}: {e}")))?;
        (after, installed)
    } else {
        let exe = program(env)
            .map_err(|e| Error::Setup(format!("cannot tell where switcher is installed: {e}")))?;
        let ours = ours(&exe, request.bake_state_dir.then_some(state_dir));
        let text = existing.as_deref().unwrap_or("{}\n");
        match install(text, &ours).map_err(|e| Error::Setup(format!("{shown}: {e}")))? {
            None => {
                println!("{shown}: statusLine already runs switcher statusline; nothing to do");
                return Ok(Outcome::Ok);
            }
            Some((after, mut installed)) => {
                installed.settings = real.clone();
                installed.created = existing.is_none();
                installed.created_dirs = super::missing_dirs(&real);
                // Replacing what an earlier setup wrote: `--remove` still goes back to what was
                // there before that one.
                let earlier = fsx::read_limited(&record, fsx::MAX_FILE)
                    .ok()
                    .and_then(|t| serde_json::from_str::<Installed>(&t).ok())
                    .filter(|e| installed.previous.as_ref() == Some(&e.written));
                if let Some(earlier) = earlier {
                    updated = true;
                    installed.previous = earlier.previous;
                    installed.created = earlier.created;
                    installed.created_dirs = earlier.created_dirs;
                }
                (after, installed)
            }
        }
    };
    // A file setup made, back to what it made it from, goes again.
    let delete = request.remove && installed.created && after.trim() == "{}";
    if request.dry_run {
        let docs: Vec<Document> = [&before, &after]
            .iter()
            .filter_map(|t| Document::parse(t).ok())
            .collect();
        let diff = similar::TextDiff::from_lines(&before, if delete { "" } else { &after })
            .unified_diff()
            .context_radius(2)
            .header(&format!("{shown} (before)"), &format!("{shown} (after)"))
            .to_string();
        print!(
            "{}",
            crate::report::mask(diff, &crate::report::secrets(&docs, &BTreeMap::new()))
        );
        return Ok(Outcome::Ok);
    }
    if request.remove {
        if delete {
            std::fs::remove_file(&settings).map_err(io)?;
            super::remove_empty_dirs(&installed.created_dirs);
            println!("{shown}: removed (switcher setup made it)");
        } else {
            super::write(&settings, existing.as_deref(), &after).map_err(io)?;
            println!("{shown}: statusLine restored");
        }
        let _ = std::fs::remove_file(&record);
    } else {
        // Settings that cannot be written, or whose dir cannot be made, leave no record behind.
        fsx::refuse_protected(&settings).map_err(io)?;
        if let Some(parent) = settings.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        // The record first: a crash between the two writes leaves a record whose settings do
        // not hold what it wrote, which `--remove` refuses rather than guesses.
        let dir = record.parent().expect("a file in the state dir");
        let mut text = serde_json::to_string_pretty(&installed).expect("a record serialises");
        text.push('\n');
        let recorded = (fsx::create_private_dir(state_dir))
            .and_then(|()| fsx::create_private_dir(dir))
            .and_then(|()| super::write(&record, None, &text));
        if let Err(e) = recorded {
            super::remove_empty_dirs(&installed.created_dirs);
            return Err(io(e));
        }
        super::write(&settings, existing.as_deref(), &after).map_err(io)?;
        let how = if updated { " (updated)" } else { "" };
        println!("{shown}: statusLine runs {}{how}", ours_shown(&after));
    }
    Ok(Outcome::Ok)
}

/// The command the settings' `statusLine` now runs, for the message (read as JSONC: settings
/// may hold comments).
fn ours_shown(text: &str) -> String {
    let doc = Document::parse(text).ok();
    let command = KeyPath::new(["statusLine", "command"]);
    (doc.as_ref().and_then(|d| d.string_at(&command)))
        .map_or_else(|| "switcher statusline".to_owned(), Cow::into_owned)
}

/// The switcher binary as the user reaches it: the path they ran (as typed when it names a dir,
/// else as found on `PATH`) when it is this very binary, so that a symlink such as
/// `~/.cargo/bin/switcher` or a package manager's stable path survives upgrades; else the
/// running executable.
fn program(env: &Env) -> std::io::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let ran = std::env::args_os().next().map(PathBuf::from);
    let ran = ran.and_then(|ran| {
        if ran.components().count() > 1 {
            Some(env.cwd.join(ran))
        } else {
            let path = env.var("PATH")?;
            std::env::split_paths(path)
                .filter(|d| d.is_absolute())
                .map(|d| d.join(&ran))
                .find(|p| p.is_file())
        }
    });
    Ok(match ran {
        Some(ran) if same_file(&ran, &exe) => ran.components().collect(),
        _ => exe,
    })
}

/// Whether two paths are one file.
fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (std::fs::metadata(a), std::fs::metadata(b)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXE: &str = "/opt/bin/switcher";

    #[test]
    fn an_existing_command_runs_behind_then_and_remove_gives_the_bytes_back() {
        let text = "{\n  \"model\": \"opus\",\n  \"statusLine\": {\"type\": \"command\", \"command\": \"bash ~/my line.sh\", \"padding\": 0},\n  \"env\": {}\n}\n";
        let (after, installed) = install(text, &ours(Path::new(EXE), None)).unwrap().unwrap();
        assert_eq!(
            after,
            "{\n  \"model\": \"opus\",\n  \"statusLine\": {\"type\":\"command\",\"command\":\"/opt/bin/switcher statusline --then 'bash ~/my line.sh'\",\"padding\":0},\n  \"env\": {}\n}\n"
        );
        assert_eq!(
            install(&after, &ours(Path::new(EXE), None)).unwrap(),
            None,
            "idempotent"
        );
        assert_eq!(uninstall(&after, &installed).unwrap(), text);
    }

    #[test]
    fn no_status_line_is_added_and_removed_exactly() {
        for text in ["{}\n", "{\"a\": 1}", "{\r\n    \"a\": [1, 2]\r\n}\r\n"] {
            let (after, installed) = install(text, &ours(Path::new("/my bin/switcher"), None))
                .unwrap()
                .unwrap();
            let value: serde_json::Value = serde_json::from_str(&after).unwrap();
            assert_eq!(
                value["statusLine"]["command"],
                "'/my bin/switcher' statusline"
            );
            assert_eq!(uninstall(&after, &installed).unwrap(), text);
        }
    }

    #[test]
    fn a_status_line_changed_since_is_left_alone() {
        let (after, installed) = install("{}", &ours(Path::new(EXE), None)).unwrap().unwrap();
        let edited = after.replace("statusline", "statusline --then x");
        assert!(uninstall(&edited, &installed).is_err());
        assert!(install("[1]", &ours(Path::new(EXE), None)).is_err());
        assert!(install("{\"a\": ", &ours(Path::new(EXE), None)).is_err());
    }

    #[test]
    fn another_install_or_state_dir_of_switcher_is_rewritten_keeping_then() {
        let ours = ours(Path::new(EXE), None);
        let text = r#"{"statusLine": {"type": "command", "command": "~/.cargo/bin/switcher statusline --then x"}}"#;
        let (after, _) = install(text, &ours).unwrap().unwrap();
        let value: serde_json::Value = serde_json::from_str(&after).unwrap();
        assert_eq!(
            value["statusLine"]["command"],
            "/opt/bin/switcher statusline --then x"
        );
        assert_eq!(install(&after, &ours).unwrap(), None);
        // The same binary with a state dir of its own now.
        let baked = super::ours(Path::new(EXE), Some(Path::new("/s d")));
        assert_eq!(baked, "/opt/bin/switcher statusline --state-dir '/s d'");
        let (after, _) = install(&after, &baked).unwrap().unwrap();
        let value: serde_json::Value = serde_json::from_str(&after).unwrap();
        assert_eq!(value["statusLine"]["command"], format!("{baked} --then x"));
        let text =
            r#"{"statusLine": {"type": "command", "command": "my-switcher-line.sh statusline"}}"#;
        let (after, _) = install(text, &ours).unwrap().unwrap();
        assert!(
            after.contains("--then 'my-switcher-line.sh statusline'"),
            "{after}"
        );
    }

    #[test]
    fn shell_words() {
        assert_eq!(shell_word("/usr/bin/x"), "/usr/bin/x");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word(""), "''");
    }
}
