//! What follows a pass, the same in every run mode (`--once`, `--restore`, the daemon): its
//! switches and restores go to the journal, the desktop notifications it calls for are shown
//! (each once per provider and reset period), and the user's `on_switch` hook runs for each
//! change, and the routes file that running OpenCode sessions follow is rewritten. A dry run
//! announces nothing. Nothing here may fail a pass: a journal that cannot be written is a
//! warning. A big config's pass journals and rewrites the routes beside its write ([`beside`]),
//! and is then not journaled or routed again here.

use std::borrow::Cow;
use std::path::Path;
use std::sync::mpsc::{self, TryRecvError};
use std::thread;
use std::time::Instant;

use jiff::Timestamp;

use crate::apply::{Mode, TargetRun};
use crate::engine::Judge;
use crate::fsx::WriteOutcome;
use crate::hooks;
use crate::journal::{self, NewEntry};
use crate::jsonc::Document;
use crate::notify::{self, Notice, Sent};
use crate::plan::{Change, ChangeKind, TargetState};
use crate::report;
use crate::routes;
use crate::settings::Settings;
use crate::state::StateDir;

/// What a pass's second thread did once its write had landed ([`beside`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Beside {
    /// The routes file holds the pass's records.
    pub(crate) routed: bool,
    /// The journal has the pass's changes.
    pub(crate) journaled: bool,
}

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
    let changed = |run: &TargetRun| run.changes.iter().any(|c| c.kind != ChangeKind::Kept);
    if !runs.iter().any(changed) {
        return;
    }
    // A run of one target may have journaled its changes and rewritten the routes beside its
    // write (`Context::announce_beside`).
    let unjournaled = (runs.iter())
        .filter(|r| !r.beside.journaled)
        .flat_map(|r| entries(&r.target, &r.path, &r.changes, judge.now));
    if let Err(e) = journal::append(state_dir, unjournaled) {
        tracing::warn!("journal: {e}");
    }
    if !runs.iter().all(|r| r.beside.routed) {
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

/// Runs `write` (a pass's records, then its target; see `apply::Context::announce_beside`) while
/// a second thread prepares what follows a landed write: the routes file for `records`, built and
/// synced, and the journal's lines (`lines` makes them). Once `write` has landed, the thread puts
/// the routes in place and appends the lines; if it did not, neither happens and the run
/// announces as usual. For a big config this takes the routes and the journal off the pass's
/// path but for a rename and an append.
pub(crate) fn beside<E>(
    state_dir: &StateDir,
    opencode_dir: Option<&Path>,
    records: &TargetState,
    lines: impl FnOnce() -> journal::Lines + Send,
    write: impl FnOnce() -> Result<WriteOutcome, E>,
) -> (Result<WriteOutcome, E>, Beside) {
    thread::scope(|scope| {
        // Made inside the scope: should `write` panic, unwinding drops the sender before the
        // scope waits for the thread, whose wait then ends in a no.
        let (verdict, told) = mpsc::channel();
        let helper = thread::Builder::new().spawn_scoped(scope, move || {
            // Made first: made later, while the pass holds the most memory, they raise its peak.
            let mut lines = lines();
            // The verdict, asked once: by the routes before their rename, or after them when
            // they were left as they were. The journal's lines are written meanwhile.
            let mut landed = None;
            let mut wait = || {
                *landed.get_or_insert_with(|| match told.try_recv() {
                    Ok(landed) => landed,
                    // Only while there is time: a verdict already given is not kept waiting.
                    Err(TryRecvError::Empty) => {
                        lines.write_ahead(state_dir);
                        told.recv() == Ok(true)
                    }
                    Err(TryRecvError::Disconnected) => false,
                })
            };
            let routed = routes::refresh_when(state_dir, opencode_dir, &[records], &mut wait);
            if !wait() {
                return Beside::default();
            }
            // Tried is done: lines that failed half-way are not appended a second time.
            if let Err(e) = lines.append(state_dir) {
                tracing::warn!("journal: {e}");
            }
            Beside {
                routed,
                journaled: true,
            }
        });
        // No thread to be had (a process limit): the write alone, announced as usual after it.
        let Ok(helper) = helper else {
            return (write(), Beside::default());
        };
        let written = write();
        let landed = matches!(written, Ok(WriteOutcome::Written));
        // Sent before the join, which waits for it (a closed channel is a no).
        let _ = verdict.send(landed);
        (written, helper.join().unwrap_or_default())
    })
}

/// The journal entries of the switches and restores among a target's `changes` (a slot kept by
/// `--restore` changed nothing).
pub(crate) fn entries<'a>(
    target: &'a str,
    path: &'a Path,
    changes: &'a [Change],
    now: Timestamp,
) -> impl DoubleEndedIterator<Item = NewEntry<'a>> {
    changes.iter().filter_map(move |c| {
        let kind = match c.kind {
            ChangeKind::Switch => "switch",
            ChangeKind::Restore => "restore",
            ChangeKind::Kept => return None,
        };
        Some(NewEntry {
            at: now,
            kind,
            target,
            path: path.to_string_lossy(),
            slot: &c.slot,
            from: &c.from,
            to: &c.to,
            reason: &c.reason,
        })
    })
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

#[cfg(test)]
mod tests {
    use std::fs;
    use std::io;

    use super::*;
    use crate::jsonc::KeyPath;
    use crate::plan::SwitchRecord;
    use crate::target::Kind;

    fn records(written: &str) -> TargetState {
        let target = "/p/opencode.json".into();
        let mut state = TargetState::new(target, "opencode.json".into(), Kind::OpenCode);
        state.switches.push(SwitchRecord::example("model", written));
        state
    }

    #[test]
    fn the_routes_and_journal_made_beside_a_write_land_only_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("state");
        let state_dir = StateDir::new(root.clone());
        routes::refresh(&state_dir, None, &[&records(r#""deepseek/first""#)]);
        let routes_file = root.join(routes::FILE);
        let before = fs::read_to_string(&routes_file).unwrap();
        let next = records(r#""deepseek/next""#);
        let slot = KeyPath::new(["model"]);
        let entry = NewEntry {
            at: Timestamp::UNIX_EPOCH,
            kind: "switch",
            target: "opencode.json",
            path: "/p/opencode.json".into(),
            slot: &slot,
            from: "zai/glm",
            to: "deepseek/next",
            reason: "zai status RED",
        };
        let lines = || journal::Lines::of([&entry].into_iter());
        let temps = || {
            (fs::read_dir(&root).unwrap())
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|name| name.contains("switcher-tmp"))
                .count()
        };
        // The write did not land (another writer, or an error): neither do the routes nor the
        // journal, and no temp file is left.
        let failed: [fn() -> io::Result<WriteOutcome>; 2] = [
            || Ok(WriteOutcome::Conflict),
            || Err(io::Error::other("disk full")),
        ];
        for write in failed {
            let (written, done) = beside(&state_dir, None, &next, lines, write);
            assert!(!matches!(written, Ok(WriteOutcome::Written)));
            assert_eq!(done, Beside::default());
            assert_eq!(fs::read_to_string(&routes_file).unwrap(), before);
            assert!(!root.join(journal::FILE).exists());
            assert_eq!(temps(), 0);
        }
        // It landed: so do they.
        let landed = || Ok::<_, io::Error>(WriteOutcome::Written);
        let (written, done) = beside(&state_dir, None, &next, lines, landed);
        assert_eq!(written.unwrap(), WriteOutcome::Written);
        let both = Beside {
            routed: true,
            journaled: true,
        };
        assert_eq!(done, both);
        assert!(
            fs::read_to_string(&routes_file)
                .unwrap()
                .contains("deepseek/next")
        );
        let journal = journal::read(&root).unwrap();
        assert_eq!(journal.len(), 1);
        assert_eq!(journal[0].to, "deepseek/next");
        assert_eq!(temps(), 0);

        // A batch that replaces the journal whole is written while the write lands: it too is
        // seen only if the write landed.
        let slots: Vec<KeyPath> = (0..3000)
            .map(|i| KeyPath::new(["agent", &format!("a{i}"), "model"]))
            .collect();
        let many: Vec<NewEntry> = (slots.iter())
            .map(|slot| NewEntry {
                slot,
                path: entry.path.clone(),
                ..entry
            })
            .collect();
        let lines = || journal::Lines::of(many.iter());
        let journal_file = fs::read_to_string(root.join(journal::FILE)).unwrap();
        let failed = || Ok::<_, io::Error>(WriteOutcome::Conflict);
        let (written, done) = beside(&state_dir, None, &next, lines, failed);
        assert_eq!(written.unwrap(), WriteOutcome::Conflict);
        assert_eq!(done, Beside::default());
        assert_eq!(
            fs::read_to_string(root.join(journal::FILE)).unwrap(),
            journal_file
        );
        let (written, done) = beside(&state_dir, None, &next, lines, landed);
        assert_eq!(written.unwrap(), WriteOutcome::Written);
        assert_eq!(done, both);
        let journal = journal::read(&root).unwrap();
        assert!(
            journal.len() > 1000 && journal.len() < 3000,
            "{}",
            journal.len()
        );
        assert_eq!(journal.last().unwrap().slot, "agent.a2999.model");
        assert_eq!(temps(), 0);
    }
}
