//! Running plans against real target files (docs/design.md, Plans, state and restore;
//! Writing a target).
//!
//! A pass reads the target, plans from it, saves the records that must exist if the write lands,
//! writes with the compare-and-swap helper, and re-plans from the new content when the file
//! changed in between, so an edit made by the user or the agent is never overwritten.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use jiff::Timestamp;

use crate::announce::{self, Beside};
use crate::engine::Judge;
use crate::error::TargetError;
use crate::fsx::{self, FileLock, WriteOutcome};
use crate::journal;
use crate::jsonc::Document;
use crate::plan::{Change, Plan, Planner, SeenAs, SlotView, TargetState, advance_streaks, live};
use crate::routes;
use crate::settings::{AgentScope, Settings, TargetSpec};
use crate::setup::OpenCodePlugin;
use crate::state::{StateDir, StateError};
use crate::target::{Doc, Kind, claude};

/// Re-plans allowed when the target keeps changing under us before giving up for this pass.
const MAX_ATTEMPTS: usize = 8;

/// The size of a JSON target from which the memory its parsed tree held is given back to the
/// system once the tree is dropped ([`give_back_freed`]).
const GIVE_BACK_FROM: usize = 1 << 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Apply the switching rules.
    Switch,
    /// Put originals back.
    Restore,
    /// Decide nothing: remove the keys being cleared for running sessions once they have
    /// settled (README, Running sessions).
    Settle,
}

/// What a pass does when it leaves keys being cleared for running sessions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Settle {
    /// Wait until they have settled and remove them in a second write (`--once`, `--restore`).
    Wait,
    /// Return; the caller passes again at the run's `settles_at` (the daemon).
    Later,
}

/// A target opened for passes: kind known, path resolved, lock held when it will be written.
#[derive(Debug)]
pub(crate) struct Target {
    pub(crate) display: String,
    pub(crate) kind: Kind,
    /// The canonical path (symlinks resolved): the state key and the file written.
    pub(crate) path: PathBuf,
    /// The absolute path as given, before resolving symlinks.
    pub(crate) given: PathBuf,
    /// For a Markdown agent file: its scope.
    pub(crate) agent: Option<AgentScope>,
    lock: Option<FileLock>,
    /// The records as last loaded, or as the last pass left them in the state dir, kept while
    /// the lock is held: nobody else writes them then, so they are read once.
    records: Option<Arc<TargetState>>,
    /// The warnings of the last plan, so that a standing one is not repeated at every pass.
    warned: HashSet<String>,
}

/// What one pass did to one target.
#[derive(Clone, Debug)]
pub(crate) struct TargetRun {
    /// The path as the user gave it, for output.
    pub(crate) target: String,
    /// The canonical path: the file itself, told apart from another project's of the same name
    /// (`--json`, the journal).
    pub(crate) path: PathBuf,
    /// For a Markdown agent file: the scope output groups it under.
    pub(crate) scope: Option<String>,
    /// What output says of an agent file without a slot (no `model:`, or one left alone).
    pub(crate) remark: Option<String>,
    pub(crate) changes: Vec<Change>,
    pub(crate) slots: Vec<SlotView>,
    /// What the file held and holds; `None` when the target was only viewed, or written by a
    /// pass that keeps no text ([`Context::keep_text`]).
    pub(crate) content: Option<Content>,
    pub(crate) ends_red: bool,
    /// When keys set to `""` for running sessions can be removed by a further pass, if some are
    /// (README, Running sessions).
    pub(crate) settles_at: Option<Timestamp>,
    /// The records the pass left (saved, unless it was a dry run); `None` when only viewed.
    pub(crate) records: Option<Arc<TargetState>>,
    /// Its changes were announced before it waited for cleared keys to settle
    /// ([`Context::before_settling`]): they are not announced again.
    pub(crate) announced: bool,
    /// What the pass did beside its write ([`Context::announce_beside`]).
    pub(crate) beside: Beside,
}

/// A target's text around a pass: `after` is what was written (or, in a dry run, what would
/// be), and equals `before` when nothing changed. Output makes its diffs from these.
#[derive(Clone, Debug)]
pub(crate) struct Content {
    pub(crate) before: Arc<String>,
    pub(crate) after: Arc<String>,
}

/// What a pass needs besides the target.
pub(crate) struct Context<'a> {
    pub(crate) settings: &'a Settings,
    pub(crate) state_dir: &'a StateDir,
    pub(crate) judge: &'a Judge<'a>,
    /// Providers observed since the previous pass: each advances recovery streaks once.
    pub(crate) observed: &'a BTreeSet<String>,
    /// Whether a pass waits for keys it cleared for running sessions to settle.
    pub(crate) settle: Settle,
    /// Whether a pass keeps the new text it writes in its run's [`Content`] (the daemon knows
    /// its own writes by it; notifications mask the secrets of both texts). When not, a big
    /// file's new text is streamed to the file without being built, and the run has no content.
    pub(crate) keep_text: bool,
    /// Announces a pass's changes before it waits for cleared keys to settle (`--once`,
    /// `--restore`): a run killed while it waits has journalled them and run the hooks.
    pub(crate) before_settling: Option<&'a (dyn Fn(&TargetRun) + Sync)>,
    /// Whether a pass that lands its final records with its write, and has many of them
    /// ([`routes::AHEAD_FROM`]), journals its changes and rewrites the routes file on a second
    /// thread while it saves them and writes the target, both landing only once the target's
    /// write has ([`announce::beside`]). Only for a run of one target: the routes file holds every
    /// target's routes, which a run of many knows only after its last pass.
    pub(crate) announce_beside: bool,
    /// The endpoint each list of Claude Code settings files sets, read once per context: a
    /// project's agent files share one scope.
    endpoints: Mutex<HashMap<Vec<PathBuf>, Option<String>>>,
    /// OpenCode's user config dir, symlinks resolved, and whether switcher's plugin is installed
    /// for each project (`None`: the user's dir only), looked up once per context: a project's
    /// agent files share one scope.
    opencode_dir: OnceLock<Option<PathBuf>>,
    plugins: Mutex<HashMap<Option<PathBuf>, OpenCodePlugin>>,
}

impl<'a> Context<'a> {
    pub(crate) fn new(
        settings: &'a Settings,
        state_dir: &'a StateDir,
        judge: &'a Judge<'a>,
        observed: &'a BTreeSet<String>,
    ) -> Context<'a> {
        Context {
            settings,
            state_dir,
            judge,
            observed,
            settle: Settle::Wait,
            keep_text: true,
            before_settling: None,
            announce_beside: false,
            endpoints: Mutex::default(),
            opencode_dir: OnceLock::new(),
            plugins: Mutex::default(),
        }
    }

    /// The `env.ANTHROPIC_BASE_URL` of the first of `files` that sets one (README, Targets:
    /// Markdown agents). A file that cannot be read or parsed sets none.
    fn endpoint(&self, files: &[PathBuf]) -> Option<String> {
        if files.is_empty() {
            return None;
        }
        let mut known = self.endpoints.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(endpoint) = known.get(files) {
            return endpoint.clone();
        }
        let found = files.iter().find_map(|file| {
            let text = fsx::read_limited(file, fsx::MAX_FILE).ok()?;
            let doc = Document::parse(&text).ok()?;
            claude::base_url(&doc).map(std::borrow::Cow::into_owned)
        });
        known.insert(files.to_vec(), found.clone());
        found
    }

    /// OpenCode's user config dir with its symlinks resolved, resolved once per context.
    fn real_opencode_dir(&self) -> Option<&Path> {
        (self.opencode_dir.get_or_init(|| {
            (self.settings.opencode_dir())
                .map(|d| fsx::canonical(d).unwrap_or_else(|_| d.to_owned()))
        }))
        .as_deref()
    }

    /// OpenCode's user config dir, as settings has it and resolved: a path through either is in
    /// it.
    fn opencode_dirs(&self) -> Vec<&Path> {
        [self.settings.opencode_dir(), self.real_opencode_dir()]
            .into_iter()
            .flatten()
            .collect()
    }

    /// What switcher's plugin is where the sessions of the OpenCode config or agent file at
    /// `path` (as given or found) load plugins.
    pub(crate) fn opencode_plugin(&self, path: &Path, kind: Kind) -> OpenCodePlugin {
        let project = routes::scope_of(path, kind, &self.opencode_dirs());
        let mut known = self.plugins.lock().unwrap_or_else(|e| e.into_inner());
        (known.entry(project).or_insert_with_key(|project| {
            let dir = self.real_opencode_dir();
            crate::setup::opencode_installed(dir, project.as_deref(), &self.settings.state_dir)
        }))
        .clone()
    }
}

impl Target {
    /// Resolves the target and, unless `read_only`, takes its lock and clears temp files a killed
    /// run left beside it.
    pub(crate) fn open(
        spec: &TargetSpec,
        state_dir: &StateDir,
        read_only: bool,
    ) -> Result<Target, TargetError> {
        let invalid = |message: String| TargetError::Invalid {
            target: spec.display.clone(),
            message,
        };
        let kind = spec.kind.clone().map_err(invalid)?;
        let path = match &spec.real {
            Some(real) => real.clone(),
            None => fsx::canonical(&spec.path).map_err(|source| TargetError::Read {
                target: spec.display.clone(),
                source,
            })?,
        };
        let lock = if read_only {
            None
        } else {
            let lock = state_dir
                .lock_target(&path)
                .map_err(|source| TargetError::State {
                    target: spec.display.clone(),
                    source,
                })?;
            let lock = lock.map_err(|holder| TargetError::Locked {
                target: spec.display.clone(),
                holder,
            })?;
            if let Some(dir) = path.parent() {
                fsx::sweep_once(dir);
            }
            Some(lock)
        };
        Ok(Target {
            display: spec.display.clone(),
            kind,
            path,
            given: spec.path.clone(),
            agent: spec.agent.clone(),
            lock,
            records: None,
            warned: HashSet::new(),
        })
    }

    /// The target's records: from memory while the lock is held and they were read, else from
    /// the state dir.
    fn load(&mut self, state_dir: &StateDir) -> Result<Arc<TargetState>, StateError> {
        if let Some(records) = &self.records {
            return Ok(records.clone());
        }
        let records = Arc::new(state_dir.load_target(&self.path)?.unwrap_or_else(|| {
            TargetState::new(self.path.clone(), self.display.clone(), self.kind)
        }));
        if self.lock.is_some() {
            self.records = Some(records.clone());
        }
        Ok(records)
    }

    /// Saves the records. The next pass reads them again unless this one ends with them
    /// ([`Target::finish`]): after a failed save nobody knows what the file holds.
    fn save(&mut self, state_dir: &StateDir, records: &TargetState) -> Result<(), StateError> {
        self.records = None;
        state_dir.save_target(records)
    }

    /// The target's document, and its file's stamp as read (see [`fsx::Expected`]).
    fn read(&self) -> Result<(Doc, Option<fsx::Stamp>), TargetError> {
        let (text, seen) =
            fsx::read_stamped(&self.path, fsx::MAX_FILE).map_err(|source| TargetError::Read {
                target: self.display.clone(),
                source,
            })?;
        let doc = Doc::parse(self.kind, text).map_err(|error| TargetError::Parse {
            target: self.display.clone(),
            error,
        })?;
        if doc.json().is_some_and(|json| !json.root().is_object()) {
            return Err(TargetError::Invalid {
                target: self.display.clone(),
                message: "expected a JSON object at the top level".into(),
            });
        }
        Ok((doc, seen))
    }

    /// One pass: plan, record, write; re-plan if the file changed meanwhile. With
    /// [`Settle::Wait`], keys it set to `""` for running sessions are removed in a second write
    /// once they have settled, so the file ends as the records say.
    pub(crate) fn pass(
        &mut self,
        ctx: &Context<'_>,
        mode: Mode,
        dry_run: bool,
    ) -> Result<TargetRun, TargetError> {
        let mut run = self.pass_once(ctx, mode, dry_run)?;
        if dry_run || ctx.settle == Settle::Later {
            return Ok(run);
        }
        if run.settles_at.is_some()
            && let Some(announce) = ctx.before_settling
        {
            announce(&run);
            run.announced = true;
        }
        // Each settle pass either removes the keys or finds them gone; a key set to `""` again
        // meanwhile (by a user) is left to the next run.
        for _ in 0..2 {
            let Some(at) = run.settles_at else { break };
            let wait = Timestamp::now().duration_until(at);
            if wait.is_positive() {
                std::thread::sleep(wait.unsigned_abs());
            }
            let settled = self.pass_once(ctx, Mode::Settle, false)?;
            if let (Some(content), Some(after)) = (&mut run.content, &settled.content) {
                content.after = after.after.clone();
            }
            run.slots = settled.slots;
            run.settles_at = settled.settles_at;
            run.records = settled.records;
            // The run's changes, and their journal entries, are the first pass's.
            run.beside.routed = settled.beside.routed;
        }
        Ok(run)
    }

    fn pass_once(
        &mut self,
        ctx: &Context<'_>,
        mode: Mode,
        dry_run: bool,
    ) -> Result<TargetRun, TargetError> {
        let display = self.display.clone();
        let state_err = |source| TargetError::State {
            target: display.clone(),
            source,
        };
        if mode == Mode::Restore && self.kind.is_agent() && !self.given.exists() {
            // Deleted or renamed away: nothing is left to put back.
            if !dry_run {
                self.forget(ctx.state_dir).map_err(state_err)?;
            }
            tracing::info!(target = %self.display, "agent file gone; its records are forgotten");
            return Ok(self.gone());
        }
        let mut on_disk = self.load(ctx.state_dir).map_err(state_err)?;
        let mut base = TargetState::clone(&on_disk);
        base.display = self.display.clone();
        base.seen_as = self.seen_as(ctx);
        if mode == Mode::Switch {
            advance_streaks(&mut base, ctx.observed, ctx.judge);
        }
        let endpoint = self.endpoint(ctx);
        let mut planner = self.planner(ctx, endpoint.as_deref());
        if mode == Mode::Settle {
            // It runs later than the judge's moment: whether keys have settled is a matter of now.
            planner.now = Timestamp::now();
        }
        // Changes of earlier passes of this call that landed (leaving a profile for another).
        let mut landed = Vec::new();
        // A profile the last landed write decided to enter.
        let mut entering = None;
        let mut attempts = 0;
        while attempts < MAX_ATTEMPTS {
            attempts += 1;
            let (doc, seen) = self.read()?;
            let plan = match (mode, &entering) {
                (Mode::Switch, Some(enter)) => planner.enter(&doc, &base, enter),
                (Mode::Switch, None) => planner.switch_pass(&doc, &base),
                (Mode::Restore, _) => planner.restore(&doc, &base),
                (Mode::Settle, _) => planner.settle(&doc, &base),
            };
            let mut plan = planner.live(&doc, plan);
            // A dry run with keys still to clear shows the file after their second write.
            let settles = dry_run && !plan.state.clearing.is_empty();
            if plan.edits.is_empty() && !settles {
                // Nothing to write: a big file is neither edited nor re-parsed.
                if !dry_run && plan.state != *on_disk {
                    self.save(ctx.state_dir, &plan.state).map_err(state_err)?;
                }
                let remark = remark(&doc);
                let left = Left::Unchanged(doc.into_source());
                return Ok(self.finish(plan, remark, landed, left, !dry_run));
            }
            let internal = |e: String| TargetError::Invalid {
                target: self.display.clone(),
                message: format!("internal error: {e}"),
            };
            // A read-only file is refused before any record is saved, and a dry run says so too.
            fsx::refuse_protected(&self.path).map_err(|source| TargetError::Write {
                target: self.display.clone(),
                source,
            })?;
            if dry_run {
                // Show the file as the run leaves it: keys set to `""` for running sessions are
                // removed by its second write.
                let new_doc = doc.apply(&plan.edits).map_err(internal)?;
                let new_text = match new_doc.json() {
                    Some(json) if settles => json
                        .apply(&live::finish(json, &plan.state.clearing))
                        .map_or_else(|_| json.render(), |d| d.render()),
                    _ => new_doc.render(),
                };
                let remark = remark(&doc);
                let left = Left::Text {
                    before: doc.into_source(),
                    after: new_text,
                };
                return Ok(self.finish(plan, remark, landed, left, false));
            }
            let remark = remark(&doc);
            let big_tree = doc.json().is_some_and(|j| j.text().len() >= GIVE_BACK_FROM);
            // The tree and the edits are dropped once the edits are made into splices.
            let edited = doc
                .edited(std::mem::take(&mut plan.edits))
                .map_err(internal)?;
            if big_tree {
                give_back_freed();
            }
            // A plain switch saves its final records before the write.
            let early = plan.state_before_write(&base);
            // Only OpenCode's records have routes; a plain switch's are final before its write.
            let ahead = ctx.announce_beside
                && self.kind.is_opencode()
                && early.is_none()
                && plan.then.is_none()
                && landed.is_empty()
                && plan.state.switches.len() >= routes::AHEAD_FROM;
            // For the journal lines made beside the write: the closure holds `self`.
            let path = self.path.clone();
            let mut write = || {
                let records = early.as_ref().unwrap_or(&plan.state);
                self.records = None;
                let text = edited.before();
                let expected = Some(fsx::Expected { text: &text, seen });
                // The records first; the new text is written meanwhile (docs/design.md, Writing a
                // target).
                let save = || ctx.state_dir.save_target(records);
                let fill = |out: &mut fsx::TempWriter<'_>| edited.write_to(out);
                let written =
                    fsx::write_atomic_after(&self.path, expected, fill, save).map_err(state_err)?;
                written.map_err(|source| TargetError::Write {
                    target: self.display.clone(),
                    source,
                })
            };
            let (written, beside) = if ahead {
                let changes = &plan.changes;
                let now = ctx.judge.now;
                let lines = || journal::Lines::of(announce::entries(&display, &path, changes, now));
                let opencode_dir = ctx.settings.opencode_dir();
                announce::beside(ctx.state_dir, opencode_dir, &plan.state, lines, write)
            } else {
                (write(), Beside::default())
            };
            match written {
                Ok(WriteOutcome::Written) => {
                    let left = if ctx.keep_text {
                        let (before, after) = edited.into_texts();
                        Left::Text { before, after }
                    } else {
                        Left::NotKept
                    };
                    if early.is_some_and(|early| early != plan.state) {
                        self.save(ctx.state_dir, &plan.state).map_err(state_err)?;
                    }
                    let Some(enter) = plan.then.clone() else {
                        let mut run = self.finish(plan, remark, landed, left, true);
                        if beside != Beside::default() {
                            tracing::debug!(target = %run.target, ?beside, "announced beside the write");
                        }
                        run.beside = beside;
                        return Ok(run);
                    };
                    self.note(&plan);
                    landed.extend(plan.changes);
                    base = plan.state;
                    on_disk = Arc::new(base.clone());
                    entering = Some(enter);
                    attempts = 0;
                }
                Ok(WriteOutcome::Conflict) => {
                    on_disk = Arc::new(early.unwrap_or(plan.state));
                    tracing::info!(target = %self.display, "changed while being planned; planning again");
                }
                Err(e) => return Err(e),
            }
        }
        Err(TargetError::Invalid {
            target: self.display.clone(),
            message: format!(
                "kept changing while being written; gave up after {MAX_ATTEMPTS} attempts"
            ),
        })
    }

    fn planner<'a>(&self, ctx: &'a Context<'a>, endpoint: Option<&'a str>) -> Planner<'a> {
        Planner {
            kind: self.kind,
            policy: &ctx.settings.policy,
            judge: ctx.judge,
            aliases: &ctx.settings.aliases,
            fallbacks: &ctx.settings.fallbacks,
            profiles: &ctx.settings.profiles,
            endpoint,
            opencode_plugin: self.kind.is_opencode()
                && ctx.opencode_plugin(&self.given, self.kind) == OpenCodePlugin::Installed,
            now: ctx.judge.now,
            healths: Default::default(),
            providers: Default::default(),
        }
    }

    /// How OpenCode sees an agent file found through a link, or by a path with `..` (the routes
    /// name it and its project by the path OpenCode finds it by); `None` otherwise.
    fn seen_as(&self, ctx: &Context<'_>) -> Option<SeenAs> {
        if self.kind != Kind::OpenCodeAgent || self.given == self.path {
            return None;
        }
        let dirs = ctx.opencode_dirs();
        let agent = routes::agent_name(&self.given, &dirs)?.into_owned();
        let scope = (routes::scope_of(&self.given, self.kind, &dirs))
            .map(|dir| fsx::canonical(&dir).unwrap_or(dir));
        Some(SeenAs { agent, scope })
    }

    /// A Claude Code agent file's endpoint, from its scope's settings.
    fn endpoint(&self, ctx: &Context<'_>) -> Option<String> {
        match (&self.agent, self.kind) {
            (Some(agent), Kind::ClaudeAgent) => ctx.endpoint(&agent.settings),
            _ => None,
        }
    }

    /// The settings files this target's provider depends on, besides itself.
    pub(crate) fn depends_on(&self) -> &[PathBuf] {
        match (&self.agent, self.kind) {
            (Some(agent), Kind::ClaudeAgent) => &agent.settings,
            _ => &[],
        }
    }

    /// The agent dir this target was found in, if it was found rather than named.
    pub(crate) fn found_in(&self) -> Option<&Path> {
        self.agent.as_ref().and_then(|a| a.found_in.as_deref())
    }

    /// Forgets the target's records: an agent file that is gone has nothing left to restore,
    /// and one that comes back under its name is a new file.
    pub(crate) fn forget(&mut self, state_dir: &StateDir) -> Result<(), StateError> {
        let empty = TargetState::new(self.path.clone(), self.display.clone(), self.kind);
        self.save(state_dir, &empty)
    }

    fn gone(&self) -> TargetRun {
        TargetRun {
            target: self.display.clone(),
            path: self.path.clone(),
            scope: self.agent.as_ref().map(|a| a.scope.clone()),
            remark: None,
            changes: Vec::new(),
            slots: Vec::new(),
            content: None,
            ends_red: false,
            settles_at: None,
            records: None,
            announced: false,
            beside: Beside::default(),
        }
    }

    /// The slots as they stand, for `status`.
    pub(crate) fn view(&mut self, ctx: &Context<'_>) -> Result<TargetRun, TargetError> {
        let state = self
            .load(ctx.state_dir)
            .map_err(|source| TargetError::State {
                target: self.display.clone(),
                source,
            })?;
        let (doc, _) = self.read()?;
        let endpoint = self.endpoint(ctx);
        let planner = self.planner(ctx, endpoint.as_deref());
        Ok(TargetRun {
            target: self.display.clone(),
            path: self.path.clone(),
            scope: self.agent.as_ref().map(|a| a.scope.clone()),
            remark: remark(&doc),
            changes: Vec::new(),
            slots: planner.view(&doc, &state),
            content: None,
            ends_red: false,
            settles_at: live::settles_at(&state.clearing),
            records: None,
            announced: false,
            beside: Beside::default(),
        })
    }

    /// The run of a pass that read `doc` and wrote `after` (`None`: nothing). `saved`: the
    /// plan's records are what the state dir holds, so they are kept while the lock is held.
    fn finish(
        &mut self,
        plan: Plan,
        remark: Option<String>,
        mut changes: Vec<Change>,
        left: Left,
        saved: bool,
    ) -> TargetRun {
        self.note(&plan);
        let content = match left {
            Left::NotKept => None,
            Left::Unchanged(text) => {
                let before = Arc::new(text);
                let after = before.clone();
                Some(Content { before, after })
            }
            Left::Text { before, after } => Some(Content {
                before: Arc::new(before),
                after: Arc::new(after),
            }),
        };
        let ends_red = plan.ends_red();
        let settles_at = live::settles_at(&plan.state.clearing);
        // Most passes land one write: its changes are the run's, not copied.
        if changes.is_empty() {
            changes = plan.changes;
        } else {
            changes.extend(plan.changes);
        }
        let records = Arc::new(plan.state);
        if saved && self.lock.is_some() {
            self.records = Some(records.clone());
        }
        TargetRun {
            settles_at,
            target: self.display.clone(),
            path: self.path.clone(),
            scope: self.agent.as_ref().map(|a| a.scope.clone()),
            remark,
            ends_red,
            changes,
            slots: plan.slots,
            content,
            records: Some(records),
            announced: false,
            beside: Beside::default(),
        }
    }

    /// Logs a plan's warnings, each once while it keeps coming up (the daemon plans a target
    /// again at every change), and its infos.
    fn note(&mut self, plan: &Plan) {
        for note in plan.notes.iter().filter(|n| !self.warned.contains(*n)) {
            tracing::warn!("{}: {note}", self.display);
        }
        self.warned = plan.notes.iter().cloned().collect();
        for info in &plan.infos {
            tracing::info!("{}: {info}", self.display);
        }
    }
}

/// The texts a pass read and leaves in its file, for its run's [`Content`].
enum Left {
    Unchanged(String),
    Text {
        before: String,
        after: String,
    },
    /// Written, and not kept ([`Context::keep_text`]).
    NotKept,
}

/// Gives the heap's free pages back to the system. glibc keeps freed memory for reuse, and a big
/// config's tree is megabytes of small blocks lying under the plan's: without this they stay
/// resident while the records, the routes and the journal are made, on threads whose allocations
/// come from arenas of their own (peak 19.7 → 17.9 MiB for a 5 MiB config). The free blocks are
/// advised away in a handful of system calls. Only glibc's allocator is asked; elsewhere this does
/// nothing.
fn give_back_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` only releases memory that is free; it takes glibc's own locks.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// What output says of an agent file without a slot.
fn remark(doc: &Doc) -> Option<String> {
    match doc {
        Doc::Agent(file) if file.value().is_none() => Some(match doc.unmanaged() {
            Some((line, why)) => format!("`model:` on line {line} is left alone: {why}"),
            None => "no model of its own".to_owned(),
        }),
        _ => None,
    }
}
