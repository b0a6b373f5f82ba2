//! Agent config files: which kind a path is, where its model slots are, which provider serves a
//! model, and which fallback chain applies. Pure: works on parsed documents only.

mod candidate;
pub(crate) mod claude;
pub(crate) mod markdown;
mod opencode;

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::jsonc::{Document, KeyPath};
use crate::provider::Aliases;

pub(crate) use candidate::Candidate;

/// The kinds of agent config this tool edits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Kind {
    /// OpenCode's `opencode.json` / `opencode.jsonc`.
    #[value(name = "opencode")]
    OpenCode,
    /// Claude Code's `settings.json` / `settings.local.json`.
    Claude,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::OpenCode => "opencode",
            Kind::Claude => "claude",
        })
    }
}

/// One place in a target that holds a model id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Slot {
    pub(crate) path: KeyPath,
    /// The decoded model id.
    pub(crate) model: String,
    /// The value's exact source text, quotes included.
    pub(crate) raw: String,
    /// A chain written beside the slot in the file itself, if any, or why it cannot be used.
    pub(crate) fallback_models: Option<Result<Vec<Candidate>, String>>,
}

impl Kind {
    /// Recognises a target by its name and place. `claude_dir` is Claude Code's config dir
    /// (`$CLAUDE_CONFIG_DIR`), compared as given: callers try resolved paths too.
    pub(crate) fn detect(path: &Path, claude_dir: Option<&Path>) -> Option<Kind> {
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

    /// Every model slot present in the document.
    pub(crate) fn slots(self, doc: &Document) -> Vec<Slot> {
        match self {
            Kind::OpenCode => opencode::slots(doc),
            Kind::Claude => claude::slots(doc),
        }
    }

    /// The canonical provider serving `model` in this document.
    pub(crate) fn provider(self, doc: &Document, model: &str, aliases: &Aliases) -> String {
        match self {
            Kind::OpenCode => opencode::provider(model, aliases),
            Kind::Claude => claude::provider(doc, aliases),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_kinds_by_name_and_place() {
        assert_eq!(
            Kind::detect(Path::new("opencode.json"), None),
            Some(Kind::OpenCode)
        );
        assert_eq!(
            Kind::detect(Path::new("/p/opencode.jsonc"), None),
            Some(Kind::OpenCode)
        );
        assert_eq!(
            Kind::detect(Path::new("/h/.claude/settings.json"), None),
            Some(Kind::Claude)
        );
        assert_eq!(
            Kind::detect(Path::new("/h/.claude/settings.local.json"), None),
            Some(Kind::Claude)
        );
        assert_eq!(Kind::detect(Path::new("/h/settings.json"), None), None);
        assert_eq!(
            Kind::detect(Path::new("/c/settings.json"), Some(Path::new("/c"))),
            Some(Kind::Claude)
        );
        assert_eq!(Kind::detect(Path::new("config.json"), None), None);
    }
}
