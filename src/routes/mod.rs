//! The routes file (README, "OpenCode plugin"): `<state dir>/routes.json`, the switches in force
//! in OpenCode configs, for switcher's plugin inside every running OpenCode process. OpenCode
//! reads its config only at start; the plugin reads this file before each prompt and sends a
//! prompt for a model switcher moved away from to the model it moved it to, so running sessions
//! follow every switch and restore.
//!
//! The document is built from the target records (pure: [`build`]), so it never holds more than
//! the records do — config paths, slots and model ids, no endpoint, no token. A switched slot
//! routes its original and every other fallback switcher wrote to it since (a session that
//! started while the config named one of them still prompts it) to its current value. A restored
//! slot, whose record is gone, leaves `routes` for `restored` ([`carry`], from the file's previous
//! content): its fallbacks go back to the original, only in processes started before the
//! restore, for [`RESTORED_FOR`]. [`store`] rewrites the file atomically after each pass that
//! switched or restored (or beside the target's write, for a big config: [`refresh_when`]),
//! and when the daemon starts.

mod store;

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use compact_str::CompactString;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::plan::TargetState;
use crate::state::lines;
use crate::target::Kind;

pub(crate) use store::{refresh, refresh_when};

/// The document's version: a reader that meets a higher one ignores the file.
pub(crate) const VERSION: u32 = 1;

/// How many switches a target's records must hold for a pass to rewrite the routes file (and
/// journal its changes) while it writes the target (`announce::beside`): below that, the second
/// thread is not worth it (a config of 400 switched agents: 0.15 ms less wall time for 0.44 ms
/// more CPU; of 1,500: 0.75 ms less; of 7,755: 6–8 ms less).
pub(crate) const AHEAD_FROM: usize = 500;

/// The file's name in the state dir.
pub(crate) const FILE: &str = "routes.json";

/// How long a restored slot's routes back to its original are kept: an OpenCode process started
/// before the restore keeps prompting the fallback it read until it is restarted.
pub(crate) const RESTORED_FOR: jiff::SignedDuration = jiff::SignedDuration::from_hours(7 * 24);

/// The routes file's content. Built from the records, a route borrows their model ids and agent
/// names (a big config's thousands of routes copy none); read from the file, it owns them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Routes<'a> {
    pub(crate) version: u32,
    pub(crate) routes: Vec<Route<'a>>,
    /// Routes of restored slots, from a fallback back to the original: they hold only in
    /// processes started before `since` (the restore), which read the fallback at start. A
    /// plugin that does not know this list ignores it and keeps the fallback until restarted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) restored: Vec<Route<'a>>,
}

/// One switch in force in an OpenCode config: in sessions that load `config`, a prompt of
/// `agent` (any agent when `None`) for model `from` goes to model `to`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Route<'a> {
    /// The config file switcher rewrote (canonical path). Shared by the config's routes, as
    /// `scope` is.
    pub(crate) config: Arc<Path>,
    /// The project dir whose sessions load that config (the route holds for sessions in it or
    /// below); `None` for OpenCode's user config dir, loaded by every session.
    pub(crate) scope: Option<Arc<Path>>,
    /// The agent the slot configures; `None` for the top-level `model`.
    pub(crate) agent: Option<Cow<'a, str>>,
    /// The slot, as switcher names it (`model`, `agent.review.model`).
    pub(crate) slot: String,
    #[serde(serialize_with = "lines::shared")]
    pub(crate) from: Cow<'a, str>,
    #[serde(serialize_with = "lines::shared")]
    pub(crate) to: Cow<'a, str>,
    #[serde(serialize_with = "lines::timestamp")]
    pub(crate) since: Timestamp,
    /// `from` is a fallback switcher wrote to the slot earlier in this switch, not its original.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) earlier: bool,
}

/// The routes of every OpenCode target's switches in force, ordered by config and slot.
/// `opencode_dir` is OpenCode's user config dir (`$XDG_CONFIG_HOME/opencode`), whose configs
/// hold everywhere; pass its canonical form when the records' paths are canonical.
pub(crate) fn build<'a>(
    states: impl IntoIterator<Item = &'a TargetState>,
    opencode_dir: Option<&Path>,
) -> Routes<'a> {
    let opencode_dirs = opencode_dir.as_slice();
    let states: Vec<&TargetState> = (states.into_iter())
        .filter(|s| s.kind.is_opencode())
        .collect();
    // At most one route per record and earlier fallback: the vector is filled, never grown.
    let most = (states.iter().flat_map(|s| &s.switches))
        .map(|r| 1 + r.held.len())
        .sum();
    let mut routes: Vec<Route<'a>> = Vec::with_capacity(most);
    for state in states {
        let config: Arc<Path> = state.target.as_path().into();
        // An agent file found through a link: as OpenCode sees it.
        let (scope, file_agent): (Option<Arc<Path>>, _) = match &state.seen_as {
            Some(seen) => (
                seen.scope.as_deref().map(Into::into),
                Some(Cow::Borrowed(&*seen.agent)),
            ),
            None => (
                scope_of(&state.target, state.kind, opencode_dirs).map(Into::into),
                (state.kind == Kind::OpenCodeAgent)
                    .then(|| agent_name(&state.target, opencode_dirs))
                    .flatten(),
            ),
        };
        for r in &state.switches {
            let Some(agent) = agent_of(state.kind, r.slot.keys(), file_agent.as_ref()) else {
                continue;
            };
            let to = state.kind.decode(&r.written);
            let slot = r.slot.dotted();
            let route = |agent, slot, from, to, earlier| Route {
                config: config.clone(),
                scope: scope.clone(),
                agent,
                slot,
                from,
                to,
                since: r.at,
                earlier,
            };
            // The earlier fallbacks' routes copy the slot's name; the original's, the last made
            // (and most often the only one), takes it. The sort below puts it first.
            for held in &r.held {
                let from = state.kind.decode(held);
                if from != to {
                    routes.push(route(agent.clone(), slot.clone(), from, to.clone(), true));
                }
            }
            let original = state.kind.decode(&r.original);
            if original != to {
                routes.push(route(agent, slot, original, to, false));
            }
        }
    }
    routes.sort_by(|a, b| (&a.config, &a.slot, a.earlier).cmp(&(&b.config, &b.slot, b.earlier)));
    Routes {
        version: VERSION,
        routes,
        restored: Vec::new(),
    }
}

/// `next` (just built) with the restored routes carried from `previous` (the file's content
/// before): each slot `previous` routed and `next` does not was restored at `now`, so its current
/// value and earlier fallbacks route back to its original; restored routes of `previous` younger
/// than [`RESTORED_FOR`] stay, a newer one for the same slot and model replacing an older one.
pub(crate) fn carry<'a>(
    previous: Option<&Routes<'a>>,
    mut next: Routes<'a>,
    now: Timestamp,
) -> Routes<'a> {
    let Some(previous) = previous else {
        return next;
    };
    let key = |r: &Route| (r.config.clone(), r.slot.clone());
    let switched: std::collections::HashSet<_> = next.routes.iter().map(key).collect();
    let mut restored: Vec<Route<'a>> = Vec::new();
    for original in previous.routes.iter().filter(|r| !r.earlier) {
        if switched.contains(&key(original)) {
            continue;
        }
        let fallbacks = (previous.routes.iter())
            .filter(|r| r.earlier && key(r) == key(original))
            .map(|r| r.from.clone())
            .chain([original.to.clone()]);
        for from in fallbacks.filter(|f| *f != original.from) {
            restored.push(Route {
                from,
                to: original.from.clone(),
                since: now,
                earlier: false,
                ..original.clone()
            });
        }
    }
    let fresh = |r: &&Route| now.duration_since(r.since) < RESTORED_FOR;
    for old in previous.restored.iter().filter(fresh) {
        let same = |r: &Route| key(r) == key(old) && r.from == old.from && r.agent == old.agent;
        if !restored.iter().any(same) {
            restored.push(old.clone());
        }
    }
    restored.sort_by(|a, b| (&a.config, &a.slot, &a.from).cmp(&(&b.config, &b.slot, &b.from)));
    next.restored = restored;
    next
}

/// The agent a slot configures: `Some(None)` for every agent (the top-level `model`),
/// `Some(Some(name))` for one, `None` for a slot no prompt is sent with (`small_model` names the
/// model of titles and summaries, which OpenCode picks without asking the plugin). An agent
/// file's slot configures `file_agent`, the agent the file defines.
fn agent_of<'a>(
    kind: Kind,
    keys: &'a [CompactString],
    file_agent: Option<&Cow<'a, str>>,
) -> Option<Option<Cow<'a, str>>> {
    if !routable(kind, keys) {
        return None;
    }
    match keys {
        _ if kind == Kind::OpenCodeAgent => Some(Some(file_agent?.clone())),
        [_, name, _] => Some(Some(Cow::Borrowed(name.as_str()))),
        _ => Some(None),
    }
}

/// The name OpenCode gives the agent an agent file defines: the file's path below its agent
/// dir, without the extension (`.opencode/agent/team/review.md` is `team/review`); the stem of a
/// file given elsewhere. `opencode_dirs`: OpenCode's config dir, as given and resolved.
pub(crate) fn agent_name<'p>(file: &'p Path, opencode_dirs: &[&Path]) -> Option<Cow<'p, str>> {
    let Some(below) = agent_dir(file, opencode_dirs).and_then(|dir| file.strip_prefix(dir).ok())
    else {
        return Some(file.file_stem()?.to_string_lossy());
    };
    let below = below.with_extension("");
    let keys: Vec<_> = below.iter().map(|key| key.to_string_lossy()).collect();
    Some(Cow::Owned(keys.join("/")))
}

/// The agent dir that holds an agent file, in any nested folder: the `agent` or `agents` dir of
/// a project's `.opencode/` or of OpenCode's config dir. The outermost, since a folder of agents
/// may itself be named `agent`; `None` for a file given elsewhere.
fn agent_dir<'p>(file: &'p Path, opencode_dirs: &[&Path]) -> Option<&'p Path> {
    let is_config_dir = |dir: &Path| {
        dir.file_name().is_some_and(|n| n == ".opencode") || opencode_dirs.contains(&dir)
    };
    (file.ancestors().skip(1))
        .filter(|dir| {
            dir.file_name()
                .is_some_and(|n| n == "agent" || n == "agents")
                && dir.parent().is_some_and(is_config_dir)
        })
        .last()
}

/// Whether running OpenCode sessions can follow a switch of this slot through the plugin: the
/// model of every agent or of one agent. Others (`small_model`) follow at the next start.
pub(crate) fn routable(kind: Kind, keys: &[CompactString]) -> bool {
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
pub(crate) fn scope_of(config: &Path, kind: Kind, opencode_dirs: &[&Path]) -> Option<PathBuf> {
    if opencode_dirs.iter().any(|d| config.starts_with(d)) {
        return None;
    }
    let mut dir = config.parent()?;
    if kind == Kind::OpenCodeAgent {
        // `<project>/.opencode/agent(s)/<folders>/<name>.md`
        dir = match agent_dir(config, opencode_dirs) {
            Some(agents) => agents.parent()?,
            None => dir.parent()?,
        };
    }
    if dir.file_name().is_some_and(|n| n == ".opencode") {
        dir = dir.parent()?;
    }
    Some(dir.to_owned())
}

#[cfg(test)]
mod tests;
