//! The routes file (README, "OpenCode plugin"): `<state dir>/routes.json`, the switches in force
//! in OpenCode configs, for switcher's plugin inside every running OpenCode process. OpenCode
//! reads its config only at start; the plugin reads this file before each prompt and sends a
//! prompt for a model switcher moved away from to the model it moved it to, so running sessions
//! follow every switch and restore.
//!
//! The document is built from the target records alone (pure: [`build`]), so it never holds
//! more than the records do — config paths, slots and model ids, no endpoint, no token — and a
//! restored slot, whose record is gone, leaves it. [`store`] rewrites it atomically after each
//! pass that switched or restored, and when the daemon starts.

mod store;

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::plan::TargetState;
use crate::target::Kind;

pub(crate) use store::refresh;

/// The document's version: a reader that meets a higher one ignores the file.
pub(crate) const VERSION: u32 = 1;

/// The file's name in the state dir.
pub(crate) const FILE: &str = "routes.json";

/// The routes file's content.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Routes {
    pub(crate) version: u32,
    pub(crate) routes: Vec<Route>,
}

/// One switch in force in an OpenCode config: in sessions that load `config`, a prompt of
/// `agent` (any agent when `None`) for model `from` goes to model `to`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Route {
    /// The config file switcher rewrote (canonical path).
    pub(crate) config: PathBuf,
    /// The project dir whose sessions load that config (the route holds for sessions in it or
    /// below); `None` for OpenCode's user config dir, loaded by every session.
    pub(crate) scope: Option<PathBuf>,
    /// The agent the slot configures; `None` for the top-level `model`.
    pub(crate) agent: Option<String>,
    /// The slot, as switcher names it (`model`, `agent.review.model`).
    pub(crate) slot: String,
    pub(crate) from: String,
    pub(crate) to: String,
    pub(crate) since: Timestamp,
}

/// The routes of every OpenCode target's switches in force, ordered by config and slot.
/// `opencode_dir` is OpenCode's user config dir (`$XDG_CONFIG_HOME/opencode`), whose configs
/// hold everywhere; pass its canonical form when the records' paths are canonical.
pub(crate) fn build(states: &[TargetState], opencode_dir: Option<&Path>) -> Routes {
    let mut routes: Vec<Route> = states
        .iter()
        .filter(|s| matches!(s.kind, Kind::OpenCode | Kind::OpenCodeAgent))
        .flat_map(|state| {
            state.switches.iter().filter_map(move |r| {
                let agent = agent_of(state, r.slot.keys())?;
                Some(Route {
                    config: state.target.clone(),
                    scope: scope_of(&state.target, state.kind, opencode_dir),
                    agent,
                    slot: r.slot.to_string(),
                    from: r.original_model(state.kind),
                    to: state.kind.decode(&r.written),
                    since: r.at,
                })
            })
        })
        .collect();
    routes.sort_by(|a, b| (&a.config, &a.slot).cmp(&(&b.config, &b.slot)));
    Routes {
        version: VERSION,
        routes,
    }
}

/// The agent a slot configures: `Some(None)` for every agent (the top-level `model`),
/// `Some(Some(name))` for one, `None` for a slot no prompt is sent with (`small_model` names the
/// model of titles and summaries, which OpenCode picks without asking the plugin).
fn agent_of(state: &TargetState, keys: &[String]) -> Option<Option<String>> {
    if !routable(state.kind, keys) {
        return None;
    }
    match keys {
        _ if state.kind == Kind::OpenCodeAgent => Some(Some(
            state.target.file_stem()?.to_string_lossy().into_owned(),
        )),
        [_, name, _] => Some(Some(name.clone())),
        _ => Some(None),
    }
}

/// Whether running OpenCode sessions can follow a switch of this slot through the plugin: the
/// model of every agent or of one agent. Others (`small_model`) follow at the next start.
pub(crate) fn routable(kind: Kind, keys: &[String]) -> bool {
    match kind {
        Kind::OpenCodeAgent => true,
        Kind::OpenCode => match keys {
            [model] => model == "model",
            [section, _, model] => (section == "agent" || section == "mode") && model == "model",
            _ => false,
        },
        Kind::Claude | Kind::ClaudeAgent => false,
    }
}

/// The dir whose sessions load a config: OpenCode finds `opencode.json(c)`, `.opencode/` and its
/// agent dirs by walking up from the session's dir, so a project's files hold for the project
/// dir and below.
pub(crate) fn scope_of(config: &Path, kind: Kind, opencode_dir: Option<&Path>) -> Option<PathBuf> {
    if opencode_dir.is_some_and(|d| config.starts_with(d)) {
        return None;
    }
    let mut dir = config.parent()?;
    if kind == Kind::OpenCodeAgent {
        // `<project>/.opencode/agent(s)/<name>.md`
        dir = dir.parent()?;
    }
    if dir.file_name().is_some_and(|n| n == ".opencode") {
        dir = dir.parent()?;
    }
    Some(dir.to_owned())
}

#[cfg(test)]
mod tests;
