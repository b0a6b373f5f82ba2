//! What follows a pass, the same in every run mode (`--once`, `--restore`, the daemon): its
//! switches and restores go to the journal, the desktop notifications it calls for are shown
//! (each once per provider and reset period), and the user's `on_switch` hook runs for each
//! change, and the routes file that running OpenCode sessions follow is rewritten. A dry run
//! announces nothing. Nothing here may fail a pass: a journal that cannot be written is a
//! warning.

use std::borrow::Cow;
use std::time::Instant;

use jiff::Timestamp;

use crate::apply::{Mode, TargetRun};
use crate::engine::Judge;
use crate::hooks;
use crate::journal::{self, NewEntry};
use crate::jsonc::Document;
use crate::notify::{self, Notice, Sent};
use crate::plan::{ChangeKind, TargetState};
use crate::report;
use crate::routes;
use crate::settings::Settings;
use crate::state::StateDir;

/// Whether the run waits for what it started (a one-shot run, at most the hooks' timeout) or
/// leaves it running (the daemon, whose next pass must not wait).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wait {
    UpToTimeout,
    Detach,
}

/// Announces what `runs` did, judged by `judge` (whose "now" is the pass's).
pub(crate) fn after_pass(
    settings: &Settings,
    state_dir: &StateDir,
    runs: &[TargetRun],
    judge: &Judge<'_>,
    mode: Mode,
    wait: Wait,
) {
    // Runs announced before they waited for keys to settle are not announced again.
    let pending: Cow<'_, [TargetRun]> = if runs.iter().any(|r| r.announced) {
        Cow::Owned(runs.iter().filter(|r| !r.announced).cloned().collect())
    } else {
        Cow::Borrowed(runs)
    };
    let runs = &*pending;
    if settings.notify {
        let notices = unsent(state_dir, runs, judge, mode);
        let notices = masked(notices, runs, settings);
        notify::desktop::show(notices, wait == Wait::UpToTimeout);
    }
    let entries = entries(runs, judge.now);
    if entries.is_empty() {
        return;
    }
    if let Err(e) = journal::append(state_dir, &entries) {
        tracing::warn!("journal: {e}");
    }
    // A run of one target may have rewritten the routes beside it (`Context::routes_ahead`).
    if !runs.iter().all(|r| r.routed) {
        let fresh: Vec<&TargetState> = runs.iter().filter_map(|r| r.records.as_deref()).collect();
        routes::refresh(state_dir, settings.opencode_dir(), &fresh);
    }
    if let Some(argv) = &settings.on_switch {
        match wait {
            Wait::UpToTimeout => {
                hooks::reap(hooks::spawn(argv, runs), Instant::now() + hooks::TIMEOUT)
            }
            Wait::Detach => hooks::detach(argv, runs),
        }
    }
}

/// The journal entries of the switches and restores in `runs` (a slot kept by `--restore`
/// changed nothing).
fn entries(runs: &[TargetRun], now: Timestamp) -> Vec<NewEntry<'_>> {
    runs.iter()
        .flat_map(|run| run.changes.iter().map(move |c| (run, c)))
        .filter_map(|(run, c)| {
            let kind = match c.kind {
                ChangeKind::Switch => "switch",
                ChangeKind::Restore => "restore",
                ChangeKind::Kept => return None,
            };
            Some(NewEntry {
                at: now,
                kind,
                target: &run.target,
                path: run.path.to_string_lossy(),
                slot: &c.slot,
                from: &c.from,
                to: &c.to,
                reason: &c.reason,
            })
        })
        .collect()
}

/// The notices of this pass not shown yet in their period (recorded as shown).
fn unsent(state_dir: &StateDir, runs: &[TargetRun], judge: &Judge<'_>, mode: Mode) -> Vec<Notice> {
    let admitted = state_dir.update_shared("notified", |sent: &mut Sent| {
        let notices = notify::notices(runs, judge, &mut sent.levels, mode == Mode::Switch);
        sent.admit(notices, judge.now)
    });
    admitted.unwrap_or_else(|e| {
        tracing::warn!("notifications: {e}");
        Vec::new()
    })
}

/// The notices with every secret of the targets and profiles masked, as in change lines and
/// diffs.
fn masked(notices: Vec<Notice>, runs: &[TargetRun], settings: &Settings) -> Vec<Notice> {
    if notices.is_empty() {
        return notices;
    }
    let docs: Vec<Document> = (runs.iter())
        .filter_map(|r| r.content.as_ref())
        .flat_map(|c| [&c.before, &c.after])
        .filter_map(|text| Document::parse(text).ok())
        .collect();
    let secrets = report::secrets(&docs, &settings.profiles);
    notices
        .into_iter()
        .map(|mut n| {
            n.summary = report::mask(n.summary, &secrets);
            n.body = report::mask(n.body, &secrets);
            n
        })
        .collect()
}
