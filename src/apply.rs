//! Running plans against real target files (docs/design.md, Plans, state and restore;
//! Writing a target).
//!
//! A pass reads the target, plans from it, saves the records that must exist if the write lands,
//! writes with the compare-and-swap helper, and re-plans from the new content when the file
//! changed in between, so an edit made by the user or the agent is never overwritten.

use std::collections::{BTreeSet, HashSet};

use std::path::PathBuf;

use crate::engine::Judge;
use crate::error::TargetError;
use crate::fsx::{self, FileLock, WriteOutcome};
use crate::jsonc::Document;
use crate::plan::{Change, Plan, Planner, SlotView, TargetState, advance_streaks};
use crate::settings::{Settings, TargetSpec};
use crate::state::{StateDir, StateError};
use crate::target::Kind;

/// Re-plans allowed when the target keeps changing under us before giving up for this pass.
const MAX_ATTEMPTS: usize = 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Apply the switching rules.
    Switch,
    /// Put originals back.
    Restore,
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
    lock: Option<FileLock>,
    /// The records as last loaded or saved, kept while the lock is held: nobody else writes
    /// them then, so they are read once and written through.
    records: Option<TargetState>,
    /// The warnings of the last plan, so that a standing one is not repeated at every pass.
    warned: HashSet<String>,
}

/// What one pass did to one target.
#[derive(Clone, Debug)]
pub(crate) struct TargetRun {
    pub(crate) target: String,
    pub(crate) changes: Vec<Change>,
    pub(crate) slots: Vec<SlotView>,
    /// What the file held and holds; `None` when the target was only viewed.
    pub(crate) content: Option<Content>,
    pub(crate) ends_red: bool,
}

/// A target's text around a pass: `after` is what was written (or, in a dry run, what would
/// be), and equals `before` when nothing changed. Output makes its diffs from these.
#[derive(Clone, Debug)]
pub(crate) struct Content {
    pub(crate) before: String,
    pub(crate) after: String,
}

/// What a pass needs besides the target.
pub(crate) struct Context<'a> {
    pub(crate) settings: &'a Settings,
    pub(crate) state_dir: &'a StateDir,
    pub(crate) judge: &'a Judge<'a>,
    /// Providers observed since the previous pass: each advances recovery streaks once.
    pub(crate) observed: &'a BTreeSet<String>,
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
        }
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
        let path = fsx::canonical(&spec.path).map_err(|source| TargetError::Read {
            target: spec.display.clone(),
            source,
        })?;
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
            if let (Some(dir), Some(name)) = (path.parent(), path.file_name()) {
                fsx::remove_stale_temps(dir, &name.to_string_lossy());
            }
            Some(lock)
        };
        Ok(Target {
            display: spec.display.clone(),
            kind,
            path,
            given: spec.path.clone(),
            lock,
            records: None,
            warned: HashSet::new(),
        })
    }

    /// The target's records: from memory while the lock is held and they were read, else from
    /// the state dir.
    fn load(&mut self, state_dir: &StateDir) -> Result<TargetState, StateError> {
        if let Some(records) = &self.records {
            return Ok(records.clone());
        }
        let records = state_dir.load_target(&self.path)?.unwrap_or_else(|| {
            TargetState::new(self.path.clone(), self.display.clone(), self.kind)
        });
        if self.lock.is_some() {
            self.records = Some(records.clone());
        }
        Ok(records)
    }

    /// Saves the records, and keeps them in memory while the lock is held. After a failed save
    /// nobody knows what the file holds: the next pass reads it again.
    fn save(&mut self, state_dir: &StateDir, records: &TargetState) -> Result<(), StateError> {
        self.records = None;
        state_dir.save_target(records)?;
        if self.lock.is_some() {
            self.records = Some(records.clone());
        }
        Ok(())
    }

    fn read(&self) -> Result<(String, Document), TargetError> {
        let text =
            fsx::read_limited(&self.path, fsx::MAX_FILE).map_err(|source| TargetError::Read {
                target: self.display.clone(),
                source,
            })?;
        let doc = Document::parse(&text).map_err(|error| TargetError::Parse {
            target: self.display.clone(),
            error,
        })?;
        if !doc.root().is_object() {
            return Err(TargetError::Invalid {
                target: self.display.clone(),
                message: "expected a JSON object at the top level".into(),
            });
        }
        Ok((text, doc))
    }

    /// One pass: plan, record, write; re-plan if the file changed meanwhile.
    pub(crate) fn pass(
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
        let mut base = self.load(ctx.state_dir).map_err(state_err)?;
        let mut on_disk = base.clone();
        base.display = self.display.clone();
        if mode == Mode::Switch {
            advance_streaks(&mut base, ctx.observed, ctx.judge);
        }
        let planner = self.planner(ctx);
        // Changes of earlier passes of this call that landed (leaving a profile for another).
        let mut landed = Vec::new();
        // A profile the last landed write decided to enter.
        let mut entering = None;
        let mut attempts = 0;
        while attempts < MAX_ATTEMPTS {
            attempts += 1;
            let (text, doc) = self.read()?;
            let plan = match (mode, &entering) {
                (Mode::Switch, Some(enter)) => planner.enter(&doc, &base, enter),
                (Mode::Switch, None) => planner.switch_pass(&doc, &base),
                (Mode::Restore, _) => planner.restore(&doc, &base),
            };
            let new_doc = doc.apply(&plan.edits).map_err(|e| TargetError::Invalid {
                target: self.display.clone(),
                message: format!("internal error: {e}"),
            })?;
            let new_text = new_doc.render();
            if dry_run {
                return Ok(self.finish(plan, landed, text, new_text));
            }
            if plan.edits.is_empty() {
                if plan.state != on_disk {
                    self.save(ctx.state_dir, &plan.state).map_err(state_err)?;
                }
                return Ok(self.finish(plan, landed, text.clone(), text));
            }
            on_disk = plan.state_before_write(&base);
            self.save(ctx.state_dir, &on_disk).map_err(state_err)?;
            match fsx::write_atomic(&self.path, Some(&text), &new_text) {
                Ok(WriteOutcome::Written) => {
                    self.save(ctx.state_dir, &plan.state).map_err(state_err)?;
                    on_disk = plan.state.clone();
                    let Some(enter) = plan.then.clone() else {
                        return Ok(self.finish(plan, landed, text, new_text));
                    };
                    self.note(&plan);
                    landed.extend(plan.changes);
                    base = plan.state;
                    entering = Some(enter);
                    attempts = 0;
                }
                Ok(WriteOutcome::Conflict) => {
                    tracing::info!(target = %self.display, "changed while being planned; planning again");
                }
                Err(source) => {
                    return Err(TargetError::Write {
                        target: self.display.clone(),
                        source,
                    });
                }
            }
        }
        Err(TargetError::Invalid {
            target: self.display.clone(),
            message: format!(
                "kept changing while being written; gave up after {MAX_ATTEMPTS} attempts"
            ),
        })
    }

    fn planner<'a>(&self, ctx: &'a Context<'a>) -> Planner<'a> {
        Planner {
            kind: self.kind,
            policy: &ctx.settings.policy,
            judge: ctx.judge,
            aliases: &ctx.settings.aliases,
            fallbacks: &ctx.settings.fallbacks,
            profiles: &ctx.settings.profiles,
            now: ctx.judge.now,
        }
    }

    /// The slots as they stand, for `status`.
    pub(crate) fn view(&mut self, ctx: &Context<'_>) -> Result<Vec<SlotView>, TargetError> {
        let state = self
            .load(ctx.state_dir)
            .map_err(|source| TargetError::State {
                target: self.display.clone(),
                source,
            })?;
        let (_, doc) = self.read()?;
        let planner = self.planner(ctx);
        Ok(planner.view(&doc, &state))
    }

    fn finish(
        &mut self,
        plan: Plan,
        mut changes: Vec<Change>,
        before: String,
        after: String,
    ) -> TargetRun {
        self.note(&plan);
        let ends_red = plan.ends_red();
        changes.extend(plan.changes);
        TargetRun {
            target: self.display.clone(),
            ends_red,
            changes,
            slots: plan.slots,
            content: Some(Content { before, after }),
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
