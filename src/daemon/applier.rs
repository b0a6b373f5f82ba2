//! The applier: the only worker that writes. It keeps the quota book, takes every answer and
//! every change event, and runs passes over the targets, one at a time.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use jiff::Timestamp;

use crate::apply::{Context, Mode, Target, TargetRun};
use crate::engine::{Judge, QuotaBook};
use crate::fsx;
use crate::hooks;
use crate::plan::ChangeKind;
use crate::settings::Settings;
use crate::source::{Answer, SourceSpec};
use crate::state::StateDir;

use super::watcher::aliases_of;

/// A target under watch.
struct Watched {
    target: Target,
    /// Every name change events may use for it.
    names: Vec<PathBuf>,
    /// The content last read or written: a change event with the same content is our own write
    /// (or no change at all) and needs no pass.
    known: Option<String>,
    /// The last error reported, so a file that stays broken is reported once.
    failing: Option<String>,
}

pub struct Applier<'a> {
    settings: &'a Settings,
    state_dir: StateDir,
    targets: Vec<Watched>,
    book: QuotaBook,
}

impl<'a> Applier<'a> {
    pub fn new(settings: &'a Settings, state_dir: StateDir, targets: Vec<Target>) -> Applier<'a> {
        let mut book = state_dir.load_quota();
        crate::source::focus(&mut book, &settings.sources);
        let targets = targets
            .into_iter()
            .map(|target| Watched {
                names: aliases_of(&target.given),
                target,
                known: None,
                failing: None,
            })
            .collect();
        Applier {
            settings,
            state_dir,
            targets,
            book,
        }
    }

    pub fn book(&self) -> &QuotaBook {
        &self.book
    }

    /// Records a source's answer and re-plans every target with it.
    pub fn answered(&mut self, source: &SourceSpec, answer: Answer) {
        let now = Timestamp::now();
        let mut observed = BTreeSet::new();
        answer.note(&source.label, &mut observed);
        let recorded = self
            .state_dir
            .update_quota(|book| source.record(book, &answer, now));
        match recorded {
            Ok(book) => self.book = book,
            Err(e) => {
                tracing::error!("{e}; keeping quota data in memory only");
                source.record(&mut self.book, &answer, now);
            }
        }
        crate::source::focus(&mut self.book, &self.settings.sources);
        for i in 0..self.targets.len() {
            self.pass(i, &observed);
        }
    }

    /// Indexes of the targets a changed path belongs to.
    pub fn targets_named(&self, path: &Path) -> Vec<usize> {
        (0..self.targets.len())
            .filter(|&i| self.targets[i].names.iter().any(|n| n == path))
            .collect()
    }

    /// A target changed on disk: re-plan it from the latest quota data, unless the content is what
    /// we last saw or wrote.
    pub fn target_changed(&mut self, i: usize) {
        let current = fsx::read_limited(&self.targets[i].target.path, fsx::MAX_FILE).ok();
        if current.is_some() && current == self.targets[i].known {
            return;
        }
        self.pass(i, &BTreeSet::new());
    }

    /// Runs a pass on every target without new observations (at start).
    pub fn pass_all(&mut self) {
        for i in 0..self.targets.len() {
            self.pass(i, &BTreeSet::new());
        }
    }

    fn pass(&mut self, i: usize, observed: &BTreeSet<String>) {
        let judge = Judge {
            policy: &self.settings.policy,
            book: &self.book,
            now: Timestamp::now(),
        };
        let ctx = Context {
            settings: self.settings,
            state_dir: &self.state_dir,
            judge: &judge,
            observed,
        };
        let watched = &mut self.targets[i];
        match watched.target.pass(&ctx, Mode::Switch, false) {
            Ok(run) => {
                if watched.failing.take().is_some() {
                    tracing::info!(target = %run.target, "readable again");
                }
                watched.known = run.content.as_ref().map(|c| c.after.clone());
                log_changes(&run);
                if let Some(argv) = &self.settings.on_switch {
                    hooks::detach(argv, std::slice::from_ref(&run));
                }
            }
            Err(e) => {
                let message = e.to_string();
                if watched.failing.as_deref() != Some(&message) {
                    tracing::warn!("{message}; skipped until it changes");
                }
                watched.failing = Some(message);
                watched.known = None;
            }
        }
    }
}

fn log_changes(run: &TargetRun) {
    for c in &run.changes {
        let what = match c.kind {
            ChangeKind::Switch => "switched",
            ChangeKind::Restore => "restored",
            ChangeKind::Kept => "kept",
        };
        tracing::info!(target = %run.target, slot = %c.slot, from = %c.from, to = %c.to, reason = %c.reason, "{what}");
    }
}
