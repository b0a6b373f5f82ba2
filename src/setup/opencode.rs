//! `switcher setup opencode`: switcher's OpenCode plugin, `assets/opencode-plugin.js`, shipped
//! inside the binary, installed as `switcher.js` in OpenCode's plugin dir. The installer fixes
//! two things in the file, so that the plugin needs nothing at run time but the file itself:
//! the state dir (where `routes.json` and the signals dir are) and the limit-message table
//! (`assets/limits.json`, the one the Rust side reads).

use std::path::{Path, PathBuf};

use crate::cli::{Global, SetupArgs};
use crate::env::Env;
use crate::error::Error;
use crate::limits;
use crate::settings;

use super::Owned;

/// The plugin's source, as shipped.
const SOURCE: &str = include_str!("../../assets/opencode-plugin.js");

/// The first line of every version of the plugin.
const MARKER: &str = "switcher's OpenCode plugin";

/// The placeholders the installer fills (each stands alone on its line in the source).
const STATE_DIR_SLOT: &str = "const STATE_DIR = null; // filled by `switcher setup opencode`";
const LIMITS_SLOT: &str = "const LIMITS = null; // filled by `switcher setup opencode`";

/// What to tell the user after an install.
pub(super) const NOTE: &str = "OpenCode loads plugins when it starts: restart running OpenCode \
                               processes once; from then on they follow every switch. (At that \
                               start OpenCode installs @opencode-ai/plugin beside the plugin dir; \
                               offline it waits about 70 s first.)";

/// The file to install (or remove) for these arguments.
pub(super) fn file(global: &Global, args: &SetupArgs, env: &Env) -> Result<Owned, Error> {
    let dir = match &args.project {
        Some(project) => {
            let project = env.cwd.join(project);
            if !project.is_dir() {
                return Err(Error::Setup(format!(
                    "--project {}: no such directory",
                    project.display()
                )));
            }
            project.join(".opencode")
        }
        None => env
            .config_home
            .as_ref()
            .map(|d| d.join("opencode"))
            .ok_or_else(|| {
                Error::Setup(
                    "cannot locate OpenCode's config dir: set HOME or XDG_CONFIG_HOME, or use \
                     --project DIR"
                        .into(),
                )
            })?,
    };
    let state_dir = settings::state_dir(global, env)?;
    Ok(Owned {
        path: plugin_path(&dir),
        content: render(&state_dir)?,
        marker: MARKER,
    })
}

/// `<OpenCode dir>/plugin/switcher.js`.
fn plugin_path(opencode_dir: &Path) -> PathBuf {
    opencode_dir.join("plugin").join("switcher.js")
}

/// What an OpenCode session in a project finds of switcher's plugin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Plugin {
    /// None where the session loads plugins.
    Missing,
    /// Installed for the state dir in use: running sessions follow its routes.
    Installed,
    /// Only plugins that read another state dir: the routes written here never reach them.
    Elsewhere { file: PathBuf, state_dir: PathBuf },
}

/// What switcher's plugin is where an OpenCode session in `project` loads it (the user's plugin
/// dir, `<opencode dir>/plugin(s)/`, or the project's `.opencode/plugin(s)/`), for `state_dir`,
/// the state dir in use: a plugin counts as installed only if it reads that one.
pub(crate) fn installed(
    opencode_dir: Option<&Path>,
    project: Option<&Path>,
    state_dir: &Path,
) -> Plugin {
    let dirs = opencode_dir
        .map(Path::to_owned)
        .into_iter()
        .chain(project.map(|p| p.join(".opencode")));
    let real = |p: &Path| crate::fsx::canonical(p).unwrap_or_else(|_| p.to_owned());
    let ours = real(state_dir);
    let mut found = Plugin::Missing;
    for file in dirs
        .flat_map(|d| [d.join("plugin"), d.join("plugins")])
        .map(|d| d.join("switcher.js"))
    {
        let Ok(text) = crate::fsx::read_limited(&file, crate::fsx::MAX_FILE) else {
            continue;
        };
        if !text.lines().next().is_some_and(|l| l.contains(MARKER)) {
            continue;
        }
        match baked_state_dir(&text) {
            Some(dir) if real(&dir) == ours => return Plugin::Installed,
            Some(dir) if found == Plugin::Missing => {
                found = Plugin::Elsewhere {
                    file,
                    state_dir: dir,
                }
            }
            _ => {}
        }
    }
    found
}

/// The state dir the installer wrote into a plugin's text; `None` if it holds none.
fn baked_state_dir(text: &str) -> Option<PathBuf> {
    let line = text.lines().find(|l| l.starts_with("const STATE_DIR = "))?;
    let value = line["const STATE_DIR = ".len()..].strip_suffix(';')?;
    serde_json::from_str::<String>(value)
        .ok()
        .map(PathBuf::from)
}

/// The plugin with the state dir and the limit table filled in.
fn render(state_dir: &Path) -> Result<String, Error> {
    let dir = state_dir.to_str().ok_or_else(|| {
        Error::Setup(format!(
            "state dir {} is not valid UTF-8; the plugin cannot name it",
            state_dir.display()
        ))
    })?;
    let table: serde_json::Value =
        serde_json::from_str(limits::TABLE).expect("assets/limits.json is JSON (tested)");
    let state_line = format!("const STATE_DIR = {};", serde_json::Value::from(dir));
    let limits_line = format!("const LIMITS = {table};");
    Ok(SOURCE
        .replacen(STATE_DIR_SLOT, &state_line, 1)
        .replacen(LIMITS_SLOT, &limits_line, 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_source_has_its_marker_and_each_slot_once() {
        assert!(SOURCE.lines().next().unwrap().contains(MARKER));
        assert_eq!(SOURCE.matches(STATE_DIR_SLOT).count(), 1);
        assert_eq!(SOURCE.matches(LIMITS_SLOT).count(), 1);
    }

    #[test]
    fn render_fills_the_state_dir_and_the_table() {
        let text = render(Path::new("/home/u/.local/state/sw \"x\"")).unwrap();
        assert!(text.contains(r#"const STATE_DIR = "/home/u/.local/state/sw \"x\"";"#));
        assert!(!text.contains(STATE_DIR_SLOT) && !text.contains(LIMITS_SLOT));
        let line = text
            .lines()
            .find(|l| l.starts_with("const LIMITS = "))
            .unwrap();
        let json = &line["const LIMITS = ".len()..line.len() - 1];
        let table: serde_json::Value = serde_json::from_str(json).unwrap();
        let shipped: serde_json::Value = serde_json::from_str(limits::TABLE).unwrap();
        assert_eq!(table, shipped);
    }

    #[test]
    fn installed_looks_in_the_user_and_the_project_dirs_and_wants_our_file() {
        let dir = tempfile::tempdir().unwrap();
        let (user, project) = (dir.path().join("cfg"), dir.path().join("proj"));
        let state = dir.path().join("state");
        let is = |user: Option<&Path>, project: Option<&Path>| installed(user, project, &state);
        assert_eq!(is(Some(&user), Some(&project)), Plugin::Missing);
        std::fs::create_dir_all(project.join(".opencode/plugins")).unwrap();
        let file = project.join(".opencode/plugins/switcher.js");
        std::fs::write(&file, "export const Other = async () => ({})\n").unwrap();
        assert_eq!(is(Some(&user), Some(&project)), Plugin::Missing, "not ours");
        std::fs::write(&file, render(&state).unwrap()).unwrap();
        assert_eq!(is(None, Some(&project)), Plugin::Installed);
        assert_eq!(is(Some(&user), None), Plugin::Missing);
    }

    #[test]
    fn a_plugin_that_reads_another_state_dir_is_not_installed_for_this_one() {
        let dir = tempfile::tempdir().unwrap();
        let user = dir.path().join("cfg");
        std::fs::create_dir_all(user.join("plugin")).unwrap();
        let file = user.join("plugin/switcher.js");
        std::fs::write(&file, render(Path::new("/elsewhere/state")).unwrap()).unwrap();
        let state = dir.path().join("state");
        assert_eq!(
            installed(Some(&user), None, &state),
            Plugin::Elsewhere {
                file: file.clone(),
                state_dir: PathBuf::from("/elsewhere/state")
            }
        );
        // The same dir by another name (a symlink) is the same state dir.
        std::fs::create_dir_all(&state).unwrap();
        #[cfg(unix)]
        {
            let link = dir.path().join("link");
            std::os::unix::fs::symlink(&state, &link).unwrap();
            std::fs::write(&file, render(&link).unwrap()).unwrap();
            assert_eq!(installed(Some(&user), None, &state), Plugin::Installed);
        }
        // The shipped source, never filled in, reads none.
        std::fs::write(&file, SOURCE).unwrap();
        assert_eq!(installed(Some(&user), None, &state), Plugin::Missing);
    }

    #[test]
    fn project_and_user_dirs() {
        assert_eq!(
            plugin_path(Path::new("/p/.opencode")),
            Path::new("/p/.opencode/plugin/switcher.js")
        );
    }
}
