//! What follows a pass, the same in every run mode (`--once`, `--restore`, the daemon): its
//! switches and restores go to the journal, and the user's `on_switch` hook runs for each. A dry
//! run announces nothing. Nothing here may fail a pass: a journal that cannot be written is a
//! warning.

use std::time::Instant;

use jiff::Timestamp;

use crate::apply::TargetRun;
use crate::hooks;
use crate::journal::{self, Entry};
use crate::plan::ChangeKind;
use crate::settings::Settings;
use crate::state::StateDir;

/// Whether the run waits for what it started (a one-shot run, at most the hooks' timeout) or
/// leaves it running (the daemon, whose next pass must not wait).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wait {
    UpToTimeout,
    Detach,
}

/// Announces what `runs` changed, as of `now`.
pub(crate) fn after_pass(
    settings: &Settings,
    state_dir: &StateDir,
    runs: &[TargetRun],
    now: Timestamp,
    wait: Wait,
) {
    let entries = entries(runs, now);
    if entries.is_empty() {
        return;
    }
    if let Err(e) = journal::append(state_dir, &entries) {
        tracing::warn!("journal: {e}");
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
fn entries(runs: &[TargetRun], now: Timestamp) -> Vec<Entry> {
    runs.iter()
        .flat_map(|run| run.changes.iter().map(move |c| (run, c)))
        .filter_map(|(run, c)| {
            let kind = match c.kind {
                ChangeKind::Switch => "switch",
                ChangeKind::Restore => "restore",
                ChangeKind::Kept => return None,
            };
            Some(Entry {
                at: now,
                kind: kind.to_owned(),
                target: run.target.clone(),
                slot: c.slot.to_string(),
                from: c.from.clone(),
                to: c.to.clone(),
                reason: c.reason.clone(),
            })
        })
        .collect()
}
