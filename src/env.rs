//! The process environment, captured once: variables, the working directory, and the user's
//! home and XDG directories. XDG is the CLI convention on every Unix, macOS included, and also
//! where the agents keep their files on Windows (OpenCode under `%USERPROFILE%\.config` and
//! `\.local\share`, Claude Code in `%USERPROFILE%\.claude`); where one keeps them elsewhere on
//! Windows, a method here says so. Everything else reads the environment from here, never from
//! the process.
//!
//! A leaf: it uses nothing else of the crate, so the settings that resolve the command line and
//! the sources that look for credentials can both read it without depending on each other.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use etcetera::BaseStrategy;

/// The process environment, captured once.
#[derive(Clone, Debug)]
pub struct Env {
    vars: BTreeMap<String, String>,
    pub cwd: PathBuf,
    pub home: Option<PathBuf>,
    pub config_home: Option<PathBuf>,
    pub state_home: Option<PathBuf>,
    pub data_home: Option<PathBuf>,
}

impl Env {
    /// Reads the process environment; fails only when the working directory cannot be read.
    pub fn capture() -> Result<Env, String> {
        let vars = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        let cwd = std::env::current_dir()
            .map_err(|e| format!("cannot read the current directory: {e}"))?;
        let xdg = etcetera::base_strategy::Xdg::new().ok();
        Ok(Env {
            vars,
            cwd,
            home: xdg.as_ref().map(|x| x.home_dir().to_owned()),
            config_home: xdg.as_ref().map(|x| x.config_dir()),
            state_home: xdg.as_ref().and_then(|x| x.state_dir()),
            data_home: xdg.as_ref().map(|x| x.data_dir()),
        })
    }

    /// A variable's value; an empty one counts as unset.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// An environment rooted at `dir` (home `dir/home`, data `dir/data`…) with only `vars`: for
    /// tests that must never see the real home.
    #[cfg(test)]
    pub fn for_tests(dir: &Path, vars: &[(&str, &str)]) -> Env {
        Env {
            vars: vars
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            cwd: dir.to_owned(),
            home: Some(dir.join("home")),
            config_home: Some(dir.join("config")),
            state_home: Some(dir.join("state")),
            data_home: Some(dir.join("data")),
        }
    }

    /// Claude Code's config dir: `$CLAUDE_CONFIG_DIR`, else `~/.claude`.
    pub fn claude_dir(&self) -> Option<PathBuf> {
        match self.var("CLAUDE_CONFIG_DIR") {
            Some(dir) => Some(self.cwd.join(dir)),
            None => self.home.as_ref().map(|h| h.join(".claude")),
        }
    }

    /// GitHub Copilot's config dir (`hosts.json`, `apps.json`): `$XDG_CONFIG_HOME/github-copilot`;
    /// on Windows, unless that variable is set, `%LOCALAPPDATA%\github-copilot`, as the Copilot
    /// editor plugins do.
    pub fn copilot_dir(&self) -> Option<PathBuf> {
        self.copilot_dir_on(cfg!(windows))
    }

    fn copilot_dir_on(&self, windows: bool) -> Option<PathBuf> {
        let root = match self.var("XDG_CONFIG_HOME") {
            None if windows => match self.var("LOCALAPPDATA") {
                Some(dir) => Some(PathBuf::from(dir)),
                None => self.home.as_ref().map(|h| h.join("AppData").join("Local")),
            },
            _ => self.config_home.clone(),
        };
        root.map(|r| r.join("github-copilot"))
    }

    /// Expands `${VAR}` and `$VAR` from this environment; fails naming the first unset variable.
    pub fn expand_vars(&self, text: &str) -> Result<String, String> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(i) = rest.find('$') {
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            let (name, consumed) = if let Some(braced) = after.strip_prefix('{') {
                let end = braced
                    .find('}')
                    .ok_or_else(|| format!("unclosed `${{` in `{text}`"))?;
                (&braced[..end], end + 2)
            } else {
                let end = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                (&after[..end], end)
            };
            if name.is_empty() {
                out.push('$');
                rest = after;
                continue;
            }
            out.push_str(
                self.var(name)
                    .ok_or_else(|| format!("${{{name}}} is not set"))?,
            );
            rest = &after[consumed..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// Expands `${VAR}` (only the braced form: a lone `$` is kept) from this environment.
    pub fn expand_braced(&self, text: &str) -> Result<String, String> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(i) = rest.find("${") {
            out.push_str(&rest[..i]);
            let end = rest[i..]
                .find('}')
                .ok_or_else(|| format!("unclosed `${{` in `{text}`"))?;
            let name = &rest[i + 2..i + end];
            out.push_str(
                self.var(name)
                    .ok_or_else(|| format!("${{{name}}} is not set"))?,
            );
            rest = &rest[i + end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// Expands `~` and variables, and makes the path absolute against `base`.
    pub fn expand_path(&self, text: &str, base: &Path) -> Result<PathBuf, String> {
        let expanded = self.expand_vars(text)?;
        // `~\` too where `\` separates paths (Windows).
        let separators = ['/', std::path::MAIN_SEPARATOR];
        let path = match expanded.strip_prefix('~') {
            Some(rest) if rest.is_empty() || rest.starts_with(separators) => {
                let home = self
                    .home
                    .as_ref()
                    .ok_or("`~` used but the home directory is unknown")?;
                home.join(rest.trim_start_matches(separators))
            }
            _ => PathBuf::from(expanded),
        };
        Ok(base.join(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> Env {
        Env {
            vars: vars
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            cwd: PathBuf::from("/work"),
            home: Some(PathBuf::from("/home/u")),
            config_home: Some(PathBuf::from("/home/u/.config")),
            state_home: Some(PathBuf::from("/home/u/.local/state")),
            data_home: Some(PathBuf::from("/home/u/.local/share")),
        }
    }

    #[test]
    fn copilot_keeps_its_config_in_local_app_data_on_windows() {
        let unix = PathBuf::from("/home/u/.config/github-copilot");
        assert_eq!(env(&[]).copilot_dir_on(false), Some(unix.clone()));
        let local = env(&[("LOCALAPPDATA", "/home/u/AppData/Local")]);
        assert_eq!(
            local.copilot_dir_on(true),
            Some(PathBuf::from("/home/u/AppData/Local/github-copilot"))
        );
        assert_eq!(
            env(&[]).copilot_dir_on(true),
            Some(PathBuf::from("/home/u/AppData/Local/github-copilot"))
        );
        // An explicit XDG_CONFIG_HOME wins everywhere (config_home already holds it).
        let xdg = env(&[("XDG_CONFIG_HOME", "/home/u/.config")]);
        assert_eq!(xdg.copilot_dir_on(true), Some(unix));
    }

    #[test]
    fn expands_home_and_variables() {
        let env = env(&[("XDG_CONFIG_HOME", "/cfg"), ("EMPTY", "")]);
        let base = Path::new("/etc/switcher");
        assert_eq!(
            env.expand_path("~/q.json", base).unwrap(),
            PathBuf::from("/home/u/q.json")
        );
        assert_eq!(
            env.expand_path("$XDG_CONFIG_HOME/o.json", base).unwrap(),
            PathBuf::from("/cfg/o.json")
        );
        assert_eq!(
            env.expand_path("${XDG_CONFIG_HOME}/o.json", base).unwrap(),
            PathBuf::from("/cfg/o.json")
        );
        assert_eq!(
            env.expand_path("rel/o.json", base).unwrap(),
            PathBuf::from("/etc/switcher/rel/o.json")
        );
        assert_eq!(
            env.expand_path("${EMPTY}/x", base).unwrap_err(),
            "${EMPTY} is not set"
        );
        assert_eq!(
            env.expand_vars("cost $5 and $ alone").unwrap_err(),
            "${5} is not set"
        );
        assert_eq!(env.expand_vars("a $ b").unwrap(), "a $ b");
        let env = super::Env::for_tests(Path::new("/t"), &[("ZAI_API_KEY", "k-1")]);
        assert_eq!(
            env.expand_braced("Bearer ${ZAI_API_KEY} $5").unwrap(),
            "Bearer k-1 $5"
        );
        assert_eq!(
            env.expand_braced("${NOPE}").unwrap_err(),
            "${NOPE} is not set"
        );
    }

    #[test]
    fn claude_dir_honours_the_variable() {
        assert_eq!(
            env(&[]).claude_dir(),
            Some(PathBuf::from("/home/u/.claude"))
        );
        assert_eq!(
            env(&[("CLAUDE_CONFIG_DIR", "/c")]).claude_dir(),
            Some(PathBuf::from("/c"))
        );
    }
}
