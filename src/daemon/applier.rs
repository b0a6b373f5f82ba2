//! The applier: the only worker that writes, on a thread of its own. It keeps the quota book and
//! every target (with its lock and its records in memory), takes jobs from a channel — answers,
//! changed paths — and runs passes, one at a time. Whatever a pass waits for (an fsync, the
//! shared lock of the state dir, a status file on a slow disk) delays only later passes: the
//! watcher, the pollers and the signal handlers keep running on the daemon's async thread.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use jiff::Timestamp;

use crate::announce::{self, Wait};
use crate::apply::{Context, Mode, Settle, Target, TargetRun};
use crate::engine::Judge;
use crate::fsx;
use crate::plan::ChangeKind;
use crate::quota::QuotaBook;
use crate::settings::{Settings, markdown_files};
use crate::source::{Answer, Watch, http};
use crate::state::StateDir;

use super::watcher::aliases_of;

/// What the applier is asked to do.
pub(crate) enum Job {
    /// The daemon is watching: read the status files, or with none, pass every target once.
    Start,
    /// A source (by index into the settings' sources) answered.
    Answered { source: usize, answer: Answer },
    /// These paths changed on disk (one file, or the files of a directory made anew).
    Changed(Vec<PathBuf>),
}

/// Which changed paths belong to a source read from disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Within {
    /// The file itself.
    File,
    /// A file in the directory.
    Dir,
    /// A file anywhere under the directory.
    Tree,
}

/// A target under watch.
struct Watched {
    target: Target,
    /// Every name change events may use for it.
    names: Vec<PathBuf>,
    /// Every name of the settings files its provider depends on (a Claude Code agent's).
    depends: Vec<PathBuf>,
    /// The content last read or written: a change event with the same content is our own write
    /// (or no change at all) and needs no pass.
    known: Option<Arc<String>>,
    /// The last error reported, so a file that stays broken is reported once.
    failing: Option<String>,
    /// When its keys set to `""` for running sessions can be removed by a further pass.
    settles_at: Option<Timestamp>,
}

pub(crate) struct Applier<'a> {
    settings: &'a Settings,
    state_dir: StateDir,
    targets: Vec<Watched>,
    book: QuotaBook,
    /// Sources read from disk (status files, the signals dir, Claude Code's transcripts), by
    /// source index, under every name their change events may use, and which changed paths
    /// belong to it.
    status_files: Vec<(usize, Vec<PathBuf>, Within)>,
    /// Set when the daemon stops.
    stop: Arc<AtomicBool>,
}

impl<'a> Applier<'a> {
    pub(crate) fn new(
        settings: &'a Settings,
        state_dir: StateDir,
        targets: Vec<Target>,
        book: QuotaBook,
        stop: Arc<AtomicBool>,
    ) -> Applier<'a> {
        let targets = targets.into_iter().map(Watched::new).collect();
        let status_files = settings
            .sources
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let watch = s.watched()?;
                Some((
                    i,
                    aliases_of(watch.path()),
                    match watch {
                        Watch::File(_) => Within::File,
                        Watch::Dir {
                            recursive: false, ..
                        } => Within::Dir,
                        Watch::Dir {
                            recursive: true, ..
                        } => Within::Tree,
                    },
                ))
            })
            .collect();
        Applier {
            settings,
            state_dir,
            targets,
            book,
            status_files,
            stop,
        }
    }

    /// Takes jobs until the channel closes or the daemon stops; the targets' locks are released
    /// on return. `runtime` runs the status-file reads, which are written as async polls.
    pub(crate) fn run(
        mut self,
        jobs: Receiver<Job>,
        runtime: tokio::runtime::Handle,
        client: http::Client,
    ) {
        loop {
            // Keys set to `""` for running sessions are removed by a pass once settled.
            let due = self.targets.iter().filter_map(|t| t.settles_at).min();
            let job = match due {
                None => match jobs.recv() {
                    Ok(job) => job,
                    Err(_) => break,
                },
                Some(at) => {
                    let wait = Timestamp::now().duration_until(at);
                    let wait = if wait.is_positive() {
                        wait.unsigned_abs()
                    } else {
                        Duration::ZERO
                    };
                    match jobs.recv_timeout(wait) {
                        Ok(job) => job,
                        Err(RecvTimeoutError::Timeout) => {
                            if self.stopping() {
                                break;
                            }
                            self.settle_due();
                            continue;
                        }
                        Err(RecvTimeoutError::Disconnected) => break,
                    }
                }
            };
            if self.stopping() {
                break;
            }
            match job {
                Job::Start => {
                    if self.status_files.is_empty() {
                        self.pass_all();
                    }
                    for i in 0..self.status_files.len() {
                        let source = self.status_files[i].0;
                        self.read_status_file(source, &runtime, &client);
                    }
                }
                Job::Answered { source, answer } => self.answered(source, answer),
                Job::Changed(paths) => self.changed(&paths, &runtime, &client),
            }
        }
    }

    /// Passes every target whose cleared keys have settled.
    fn settle_due(&mut self) {
        let now = Timestamp::now();
        for i in (0..self.targets.len()).rev() {
            if self.targets[i].settles_at.is_some_and(|at| at <= now) {
                self.pass(i, &BTreeSet::new());
            }
        }
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Each status file among `paths` is read right away, once (each read is an observation);
    /// each target among them is re-planned from the latest quota data.
    fn changed(
        &mut self,
        paths: &[PathBuf],
        runtime: &tokio::runtime::Handle,
        client: &http::Client,
    ) {
        let named = |names: &[PathBuf], within: Within| {
            paths.iter().any(|p| {
                names.contains(p)
                    || match within {
                        Within::File => false,
                        Within::Dir => p.parent().is_some_and(|d| names.iter().any(|n| n == d)),
                        Within::Tree => names.iter().any(|n| p.starts_with(n)),
                    }
            })
        };
        let sources: Vec<usize> = (self.status_files.iter())
            .filter(|(_, names, within)| named(names, *within))
            .map(|(source, _, _)| *source)
            .collect();
        for source in sources {
            self.read_status_file(source, runtime, client);
        }
        let targets: BTreeSet<usize> = paths.iter().flat_map(|p| self.targets_named(p)).collect();
        let dependents: BTreeSet<usize> = (0..self.targets.len())
            .filter(|&i| !targets.contains(&i))
            .filter(|&i| self.targets[i].depends.iter().any(|d| paths.contains(d)))
            .collect();
        // From the last, so that a target dropped does not move those still to come.
        for &i in dependents.iter().rev() {
            self.pass(i, &BTreeSet::new());
        }
        for &i in targets.iter().rev() {
            self.target_changed(i);
        }
        let unknown: Vec<&PathBuf> = paths
            .iter()
            .filter(|p| self.targets_named(p).is_empty())
            .collect();
        for path in unknown {
            self.found(path);
        }
    }

    /// A path in one of the settings' agent dirs that no target has: each Markdown file at or
    /// under it becomes a target (README, Targets: Markdown agents), and gets its first pass.
    fn found(&mut self, path: &Path) {
        let settings = self.settings;
        let Some(dir) = settings.agent_dirs.iter().find(|d| d.holds(path)) else {
            return;
        };
        for file in markdown_files(path, None).into_iter().map(|f| f.path) {
            if !self.targets_named(&file).is_empty() {
                continue;
            }
            let spec = dir.spec(&file);
            if self.targets.iter().any(|w| w.target.given == spec.path) {
                continue;
            }
            match Target::open(&spec, &self.state_dir, false) {
                Ok(target) => {
                    tracing::info!(target = %target.display, "new agent file; managing it");
                    self.targets.push(Watched::new(target));
                    self.pass(self.targets.len() - 1, &BTreeSet::new());
                }
                Err(e) => tracing::warn!("{e}"),
            }
        }
    }

    fn read_status_file(
        &mut self,
        source: usize,
        runtime: &tokio::runtime::Handle,
        client: &http::Client,
    ) {
        let spec = &self.settings.sources[source];
        let answer = runtime.block_on(spec.poll(client, &self.settings.aliases, Timestamp::now));
        self.answered(source, answer);
    }

    /// Records a source's answer and re-plans every target with it.
    fn answered(&mut self, source: usize, answer: Answer) {
        let source = &self.settings.sources[source];
        let now = Timestamp::now();
        let mut observed = BTreeSet::new();
        answer.note(&source.label, &mut observed);
        let recorded = self
            .state_dir
            .update_quota(None, |book| source.record(book, &answer, now));
        match recorded {
            Ok(book) => self.book = book,
            // A lock wait called off: the daemon is stopping, and starts no pass any more.
            Err(_) if self.stopping() => return,
            Err(e) => {
                tracing::error!("{e}; keeping quota data in memory only until the next answer");
                source.record(&mut self.book, &answer, now);
            }
        }
        crate::source::focus(&mut self.book, &self.settings.sources);
        for i in 0..self.targets.len() {
            self.pass(i, &observed);
        }
    }

    /// Indexes of the targets a changed path belongs to.
    fn targets_named(&self, path: &Path) -> Vec<usize> {
        (0..self.targets.len())
            .filter(|&i| self.targets[i].names.iter().any(|n| n == path))
            .collect()
    }

    /// A target changed on disk: re-plan it from the latest quota data, unless the content is what
    /// we last saw or wrote.
    fn target_changed(&mut self, i: usize) {
        // An agent file found in an agent dir and deleted (or renamed away) is let go; if it
        // comes back, it is found again.
        let target = &mut self.targets[i].target;
        if target.found_in().is_some() && !target.given.exists() {
            tracing::info!(target = %target.display, "agent file gone; no longer managed");
            if let Err(e) = target.forget(&self.state_dir) {
                tracing::warn!("{}: {e}", target.display);
            }
            self.targets.remove(i);
            return;
        }
        let current = fsx::read_limited(&self.targets[i].target.path, fsx::MAX_FILE).ok();
        if current.is_some() && current.as_ref() == self.targets[i].known.as_deref() {
            return;
        }
        self.pass(i, &BTreeSet::new());
    }

    /// Runs a pass on every target without new observations (at start).
    fn pass_all(&mut self) {
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
        let mut ctx = Context::new(self.settings, &self.state_dir, &judge, observed);
        ctx.settle = Settle::Later;
        let watched = &mut self.targets[i];
        match watched.target.pass(&ctx, Mode::Switch, false) {
            Ok(run) => {
                watched.settles_at = run.settles_at;
                if watched.failing.take().is_some() {
                    tracing::info!(target = %run.target, "readable again");
                }
                watched.known = run.content.as_ref().map(|c| c.after.clone());
                log_changes(&run);
                announce::after_pass(
                    self.settings,
                    &self.state_dir,
                    std::slice::from_ref(&run),
                    &judge,
                    Mode::Switch,
                    Wait::Detach,
                );
            }
            Err(e) => {
                let message = e.to_string();
                if watched.failing.as_deref() != Some(&message) {
                    tracing::warn!("{message}; skipped until it changes");
                }
                watched.failing = Some(message);
                watched.known = None;
                watched.settles_at = None;
            }
        }
    }
}

impl Watched {
    fn new(target: Target) -> Watched {
        Watched {
            names: aliases_of(&target.given),
            depends: target
                .depends_on()
                .iter()
                .flat_map(|d| aliases_of(d))
                .collect(),
            target,
            known: None,
            failing: None,
            settles_at: None,
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
