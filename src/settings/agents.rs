//! Markdown agent files as targets (README, Targets: Markdown agents). A JSON target brings the
//! agent dirs of its scope — a project's `.opencode/agent(s)/`, OpenCode's config dir's
//! `agent(s)/`, the `agents/` beside a Claude Code settings file — and every `*.md` in them, at
//! any depth, is a target of its own. A Claude Code agent's provider follows the endpoint of its
//! scope's settings, so its spec lists the settings files to read it from.

use std::path::{Path, PathBuf};

use crate::target::{Kind, Places, agent_dir};

use super::TargetSpec;

/// Where a Markdown agent target belongs.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct AgentScope {
    /// How output names the scope: the JSON target that brought the file, else its agent dir.
    pub(crate) scope: String,
    /// The agent dir, when the file was found in one rather than named: the daemon forgets such
    /// a file once it is deleted.
    pub(crate) found_in: Option<PathBuf>,
    /// Claude Code settings files whose `env.ANTHROPIC_BASE_URL` serves the agent, first set
    /// wins: the scope's `settings.local.json` and `settings.json`, then the user's.
    pub(crate) settings: Vec<PathBuf>,
}

/// A directory of agent files, watched and searched at any depth.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct AgentDir {
    pub(crate) path: PathBuf,
    /// How output names it (`.opencode/agent`, `~/.claude/agents`).
    pub(crate) display: String,
    pub(crate) kind: Kind,
    pub(crate) scope: String,
    pub(crate) settings: Vec<PathBuf>,
    /// The dir with symlinks resolved, once settings has told the dirs apart by it: its files'
    /// resolved paths are made from it, and change events may name them through it.
    pub(crate) real: Option<PathBuf>,
}

/// Agent dirs nested deeper than this are not searched (a symlink loop, say).
const MAX_DEPTH: usize = 8;

impl AgentDir {
    /// The agent dirs of a JSON target's scope; `display` is the target's name in output.
    pub(crate) fn of_target(
        kind: Kind,
        path: &Path,
        display: &str,
        places: &Places<'_>,
    ) -> Vec<AgentDir> {
        let Some(dir) = path.parent() else {
            return Vec::new();
        };
        let shown = Path::new(display).parent().unwrap_or(Path::new(""));
        let config_dir =
            places.opencode == Some(dir) || dir.file_name() == Some(".opencode".as_ref());
        let subdirs: &[&str] = match kind {
            Kind::OpenCode if config_dir => &["agent", "agents"],
            Kind::OpenCode => &[".opencode/agent", ".opencode/agents"],
            Kind::Claude => &["agents"],
            Kind::OpenCodeAgent | Kind::ClaudeAgent => &[],
        };
        let agent_kind = match kind {
            Kind::Claude => Kind::ClaudeAgent,
            _ => Kind::OpenCodeAgent,
        };
        subdirs
            .iter()
            .map(|sub| {
                let path = dir.join(sub);
                AgentDir {
                    settings: endpoint_settings(agent_kind, &path, places),
                    display: shown.join(sub).display().to_string(),
                    kind: agent_kind,
                    scope: display.to_owned(),
                    path,
                    real: None,
                }
            })
            .collect()
    }

    /// An agent dir looked for by discovery, named by itself (no JSON target brought it).
    pub(crate) fn discovered(
        kind: Kind,
        path: PathBuf,
        cwd: &Path,
        places: &Places<'_>,
    ) -> AgentDir {
        let display = path
            .strip_prefix(cwd)
            .unwrap_or(&path)
            .display()
            .to_string();
        AgentDir {
            settings: endpoint_settings(kind, &path, places),
            scope: display.clone(),
            display,
            kind,
            path,
            real: None,
        }
    }

    /// The Markdown files in the dir, nested folders included, sorted; hidden entries skipped.
    pub(crate) fn files(&self) -> Vec<AgentFile> {
        markdown_files(&self.path, self.real.as_deref())
    }

    /// Whether `path` is inside the dir (as given, or as events name it under its resolved path).
    pub(crate) fn holds(&self, path: &Path) -> bool {
        path.starts_with(&self.path) || (self.real.as_deref()).is_some_and(|r| path.starts_with(r))
    }

    /// The spec of a file in the dir. `path` may be named through the dir's resolved path, as
    /// change events name it; the spec names it through the dir as found.
    pub(crate) fn spec(&self, path: &Path) -> TargetSpec {
        let rel = path
            .strip_prefix(&self.path)
            .ok()
            .or_else(|| (self.real.as_deref()).and_then(|r| path.strip_prefix(r).ok()))
            .unwrap_or(path);
        TargetSpec {
            display: Path::new(&self.display).join(rel).display().to_string(),
            path: self.path.join(rel),
            kind: Ok(self.kind),
            agent: Some(AgentScope {
                scope: self.scope.clone(),
                found_in: Some(self.path.clone()),
                settings: self.settings.clone(),
            }),
            real: None,
        }
    }
}

/// The settings files a Claude Code agent in `dir` takes its endpoint from (none for OpenCode).
fn endpoint_settings(kind: Kind, dir: &Path, places: &Places<'_>) -> Vec<PathBuf> {
    if kind != Kind::ClaudeAgent {
        return Vec::new();
    }
    let mut files = Vec::new();
    if let Some(scope) = dir.parent() {
        files.push(scope.join("settings.local.json"));
        files.push(scope.join("settings.json"));
    }
    if let Some(user) = places.claude {
        let user = user.join("settings.json");
        if !files.contains(&user) {
            files.push(user);
        }
    }
    files
}

/// The scope of an agent file named as a target: its agent dir's, else none but the user's
/// settings for its endpoint.
pub(crate) fn named_scope(path: &Path, kind: Kind, places: &Places<'_>) -> Option<AgentScope> {
    if !kind.is_agent() {
        return None;
    }
    let dir = agent_dir(path, places).map_or_else(
        || path.parent().unwrap_or(Path::new("")).to_owned(),
        |(_, dir)| dir.to_owned(),
    );
    let scope = dir.parent().unwrap_or(&dir).display().to_string();
    Some(AgentScope {
        scope,
        found_in: None,
        settings: endpoint_settings(kind, &dir, places),
    })
}

/// A Markdown file found in an agent dir.
#[derive(Debug)]
pub(crate) struct AgentFile {
    pub(crate) path: PathBuf,
    /// Its path with symlinks resolved, when the search knows it without asking the system: the
    /// dir's own was given and no entry on the way is a symlink (the listing tells each entry's
    /// type).
    pub(crate) real: Option<PathBuf>,
}

/// The Markdown files under `dir` (or `dir` itself, if it is one), sorted; hidden entries
/// skipped. `real` is `dir` with symlinks resolved, if known.
pub(crate) fn markdown_files(dir: &Path, real: Option<&Path>) -> Vec<AgentFile> {
    let mut out = Vec::new();
    if dir.is_file() {
        let hidden = dir
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if !hidden && dir.extension().is_some_and(|e| e == "md") {
            out.push(AgentFile {
                path: dir.to_owned(),
                real: None,
            });
        }
        return out;
    }
    walk(dir, real, 0, &mut out);
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

fn walk(dir: &Path, real: Option<&Path>, depth: usize, out: &mut Vec<AgentFile>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        // A symlink is followed, and ends what is known of the real path.
        let plain = entry.file_type().ok().filter(|t| !t.is_symlink());
        let real = real.filter(|_| plain.is_some()).map(|r| r.join(&name));
        if plain.map_or_else(|| path.is_dir(), |t| t.is_dir()) {
            if depth < MAX_DEPTH {
                walk(&path, real.as_deref(), depth + 1, out);
            }
        } else if path.extension().is_some_and(|e| e == "md") {
            out.push(AgentFile { path, real });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_targets_bring_the_agent_dirs_of_their_scope() {
        let places = Places {
            claude: Some(Path::new("/h/.claude")),
            opencode: Some(Path::new("/h/.config/opencode")),
        };
        let dirs = |kind, path: &str, display: &str| -> Vec<(String, String, Kind)> {
            AgentDir::of_target(kind, Path::new(path), display, &places)
                .into_iter()
                .map(|d| (d.path.display().to_string(), d.display, d.kind))
                .collect()
        };
        assert_eq!(
            dirs(Kind::OpenCode, "/p/opencode.json", "opencode.json"),
            [
                (
                    "/p/.opencode/agent".into(),
                    ".opencode/agent".into(),
                    Kind::OpenCodeAgent
                ),
                (
                    "/p/.opencode/agents".into(),
                    ".opencode/agents".into(),
                    Kind::OpenCodeAgent
                ),
            ]
        );
        assert_eq!(
            dirs(
                Kind::OpenCode,
                "/h/.config/opencode/opencode.jsonc",
                "~/.config/opencode/opencode.jsonc"
            )[1],
            (
                "/h/.config/opencode/agents".into(),
                "~/.config/opencode/agents".into(),
                Kind::OpenCodeAgent
            )
        );
        let claude = AgentDir::of_target(
            Kind::Claude,
            Path::new("/p/.claude/settings.json"),
            "p/.claude/settings.json",
            &places,
        );
        assert_eq!(claude.len(), 1);
        assert_eq!(claude[0].display, "p/.claude/agents");
        assert_eq!(claude[0].scope, "p/.claude/settings.json");
        assert_eq!(
            claude[0].settings,
            [
                PathBuf::from("/p/.claude/settings.local.json"),
                PathBuf::from("/p/.claude/settings.json"),
                PathBuf::from("/h/.claude/settings.json"),
            ]
        );
        let spec = claude[0].spec(Path::new("/p/.claude/agents/team/a.md"));
        assert_eq!(spec.display, "p/.claude/agents/team/a.md");
        assert_eq!(spec.kind, Ok(Kind::ClaudeAgent));
    }
}
