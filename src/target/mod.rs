//! Agent config files: which kind a path is, where its model slots are, which provider serves a
//! model, and which fallback chain applies. Pure: works on parsed documents only.
//!
//! Two families of file: JSON(C) configs (`opencode.json`, Claude Code's `settings.json`) with
//! many slots, and Markdown agent files whose front matter has at most one (`model`). [`Doc`]
//! holds either, so that planning and applying treat them alike.

mod agent_file;
mod candidate;
pub(crate) mod claude;
mod doc;
pub(crate) mod markdown;
mod opencode;

use std::borrow::Cow;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::jsonc::{Document, KeyPath};
use crate::provider::Aliases;

pub(crate) use agent_file::AgentFile;
pub(crate) use candidate::Candidate;
pub(crate) use doc::Doc;

/// The kinds of agent config this tool edits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
pub(crate) enum Kind {
    /// OpenCode's `opencode.json` / `opencode.jsonc`.
    #[value(name = "opencode")]
    #[serde(rename = "opencode")]
    OpenCode,
    /// Claude Code's `settings.json` / `settings.local.json`.
    #[value(name = "claude")]
    #[serde(rename = "claude")]
    Claude,
    /// An OpenCode agent in Markdown (`.opencode/agent/*.md`).
    #[value(name = "opencode-agent")]
    #[serde(rename = "opencode-agent")]
    OpenCodeAgent,
    /// A Claude Code agent in Markdown (`.claude/agents/*.md`).
    #[value(name = "claude-agent")]
    #[serde(rename = "claude-agent")]
    ClaudeAgent,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::OpenCode => "opencode",
            Kind::Claude => "claude",
            Kind::OpenCodeAgent => "opencode-agent",
            Kind::ClaudeAgent => "claude-agent",
        })
    }
}

/// The agents' user-level config dirs, where a file is recognised by place as well as by name.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Places<'a> {
    /// Claude Code's (`$CLAUDE_CONFIG_DIR`, default `~/.claude`).
    pub(crate) claude: Option<&'a Path>,
    /// OpenCode's (`$XDG_CONFIG_HOME/opencode`).
    pub(crate) opencode: Option<&'a Path>,
}

/// The agent directory a Markdown file lives in, at any depth, and the kind that gives it:
/// `agent/` or `agents/` in a `.opencode` dir or OpenCode's config dir, `agents/` in a `.claude`
/// dir or Claude Code's config dir.
pub(crate) fn agent_dir<'p>(path: &'p Path, places: &Places<'_>) -> Option<(Kind, &'p Path)> {
    if path.extension().is_none_or(|e| e != "md") {
        return None;
    }
    path.ancestors().skip(1).find_map(|dir| {
        let name = dir.file_name()?;
        let scope = dir.parent()?;
        let scope_name = scope.file_name();
        if (name == "agent" || name == "agents")
            && (scope_name.is_some_and(|n| n == ".opencode") || places.opencode == Some(scope))
        {
            return Some((Kind::OpenCodeAgent, dir));
        }
        if name == "agents"
            && (scope_name.is_some_and(|n| n == ".claude") || places.claude == Some(scope))
        {
            return Some((Kind::ClaudeAgent, dir));
        }
        None
    })
}

/// One place in a target that holds a model id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Slot {
    pub(crate) path: KeyPath,
    /// The decoded model id.
    pub(crate) model: Arc<str>,
    /// The value's exact source text, quotes included.
    pub(crate) raw: Arc<str>,
    /// A chain written beside the slot in the file itself, if any, or why it cannot be used.
    pub(crate) fallback_models: Option<Result<Vec<Candidate>, String>>,
}

impl Kind {
    /// Recognises a target by its name and place. The places are compared as given: callers
    /// try resolved paths too.
    pub(crate) fn detect(path: &Path, places: &Places<'_>) -> Option<Kind> {
        if let Some((kind, _)) = agent_dir(path, places) {
            return Some(kind);
        }
        let claude_dir = places.claude;
        let name = path.file_name()?.to_str()?;
        if matches!(name, "opencode.json" | "opencode.jsonc") {
            return Some(Kind::OpenCode);
        }
        if matches!(name, "settings.json" | "settings.local.json") {
            let parent = path.parent()?;
            let in_dot_claude = parent.file_name().is_some_and(|n| n == ".claude");
            let in_config_dir = claude_dir.is_some_and(|d| d == parent);
            if in_dot_claude || in_config_dir {
                return Some(Kind::Claude);
            }
        }
        None
    }

    /// A Markdown agent file rather than a JSON config.
    pub(crate) fn is_agent(self) -> bool {
        matches!(self, Kind::OpenCodeAgent | Kind::ClaudeAgent)
    }

    /// OpenCode's config or one of its agent files: whose switches the routes file carries.
    pub(crate) fn is_opencode(self) -> bool {
        matches!(self, Kind::OpenCode | Kind::OpenCodeAgent)
    }

    /// Every model slot present in the document.
    pub(crate) fn slots(self, doc: &Doc) -> Vec<Slot> {
        match (self, doc) {
            (Kind::OpenCode, Doc::Json(doc)) => opencode::slots(doc),
            (Kind::Claude, Doc::Json(doc)) => claude::slots(doc),
            (Kind::OpenCodeAgent | Kind::ClaudeAgent, Doc::Agent(file)) => file
                .value()
                .map(|value| Slot {
                    path: KeyPath::new(["model"]),
                    model: value.model.as_str().into(),
                    raw: file.raw().unwrap_or_default().into(),
                    fallback_models: None,
                })
                .into_iter()
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The canonical provider serving `model` in this document. A Claude Code agent file has no
    /// endpoint of its own: `endpoint` is the `ANTHROPIC_BASE_URL` of its scope's settings.
    pub(crate) fn provider(
        self,
        doc: &Doc,
        model: &str,
        aliases: &Aliases,
        endpoint: Option<&str>,
    ) -> String {
        match (self, doc.json()) {
            (Kind::OpenCode | Kind::OpenCodeAgent, _) => opencode::provider(model, aliases),
            (Kind::Claude, Some(doc)) => claude::provider(doc, aliases),
            (Kind::Claude | Kind::ClaudeAgent, _) => claude::endpoint_provider(endpoint, aliases),
        }
    }

    /// A slot's raw text as the model id it names (raw JSON decoded, or a front-matter value
    /// read); text that is neither is shown as it is. Borrowed from `raw` when a JSON string
    /// needs no decoding: the routes of a big config's thousands of records copy none.
    pub(crate) fn decode(self, raw: &str) -> Cow<'_, str> {
        if !self.is_agent() {
            return crate::jsonc::unquote_cow(raw);
        }
        Cow::Owned(agent_file::read_raw(raw).unwrap_or_else(|| raw.to_owned()))
    }

    /// Whether `raw` is a value this kind's slot may hold, and so may be written back: one JSON
    /// string, or one front-matter value that reads back as itself.
    pub(crate) fn holds(self, raw: &str) -> bool {
        if self.is_agent() {
            return agent_file::read_raw(raw).is_some();
        }
        Document::parse(raw)
            .is_ok_and(|doc| doc.root().range() == (0..raw.len()) && doc.root().is_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_kinds_by_name_and_place() {
        let none = Places::default();
        let claude_dir = |dir| Places {
            claude: Some(Path::new(dir)),
            opencode: None,
        };
        assert_eq!(
            Kind::detect(Path::new("opencode.json"), &none),
            Some(Kind::OpenCode)
        );
        assert_eq!(
            Kind::detect(Path::new("/p/opencode.jsonc"), &none),
            Some(Kind::OpenCode)
        );
        assert_eq!(
            Kind::detect(Path::new("/h/.claude/settings.json"), &none),
            Some(Kind::Claude)
        );
        assert_eq!(
            Kind::detect(Path::new("/h/.claude/settings.local.json"), &none),
            Some(Kind::Claude)
        );
        assert_eq!(Kind::detect(Path::new("/h/settings.json"), &none), None);
        assert_eq!(
            Kind::detect(Path::new("/c/settings.json"), &claude_dir("/c")),
            Some(Kind::Claude)
        );
        assert_eq!(Kind::detect(Path::new("config.json"), &none), None);
    }

    #[test]
    fn detects_agent_files_by_place_at_any_depth() {
        let places = Places {
            claude: Some(Path::new("/h/.claude")),
            opencode: Some(Path::new("/h/.config/opencode")),
        };
        for (path, kind) in [
            ("/p/.opencode/agent/review.md", Some(Kind::OpenCodeAgent)),
            (
                "/p/.opencode/agents/sub/deep/x.md",
                Some(Kind::OpenCodeAgent),
            ),
            ("/h/.config/opencode/agent/x.md", Some(Kind::OpenCodeAgent)),
            ("/h/.config/opencode/agents/x.md", Some(Kind::OpenCodeAgent)),
            ("/p/.claude/agents/x.md", Some(Kind::ClaudeAgent)),
            ("/p/.claude/agents/team/AGENT.md", Some(Kind::ClaudeAgent)),
            ("/h/.claude/agents/x.md", Some(Kind::ClaudeAgent)),
            ("/p/.claude/agent/x.md", None),
            ("/p/.opencode/agent/x.txt", None),
            ("/p/opencode/agent/x.md", None),
            ("/p/agents/x.md", None),
            ("/p/.opencode/x.md", None),
        ] {
            assert_eq!(Kind::detect(Path::new(path), &places), kind, "{path}");
        }
        let c = Places {
            claude: Some(Path::new("/c")),
            opencode: None,
        };
        assert_eq!(
            Kind::detect(Path::new("/c/agents/x.md"), &c),
            Some(Kind::ClaudeAgent)
        );
        assert_eq!(
            agent_dir(Path::new("/p/.opencode/agent/a/b.md"), &c),
            Some((Kind::OpenCodeAgent, Path::new("/p/.opencode/agent")))
        );
    }

    #[test]
    fn kinds_read_and_check_their_own_raw_values() {
        assert_eq!(Kind::OpenCode.decode("\"a\\u00e9\""), "aé");
        assert_eq!(Kind::OpenCode.decode("\"zai/glm-4.6\""), "zai/glm-4.6");
        assert_eq!(Kind::Claude.decode("\"\""), "");
        // Not one JSON string: shown as it is.
        assert_eq!(Kind::Claude.decode("\"a\" \"b\""), "\"a\" \"b\"");
        assert_eq!(Kind::Claude.decode("\"a\tb\""), "\"a\tb\"");
        assert_eq!(Kind::Claude.decode("\""), "\"");
        assert_eq!(Kind::Claude.decode("42"), "42");
        assert_eq!(Kind::ClaudeAgent.decode("'it''s'"), "it's");
        assert_eq!(Kind::OpenCodeAgent.decode("zai/glm-4.7"), "zai/glm-4.7");
        assert!(Kind::Claude.holds("\"opus\""));
        assert!(!Kind::Claude.holds("opus"));
        assert!(Kind::ClaudeAgent.holds("opus"));
        assert!(!Kind::ClaudeAgent.holds("opus\nevil: 1"));
        assert!(!Kind::OpenCodeAgent.holds("a\n---\nbody"));
    }
}
