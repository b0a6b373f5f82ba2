//! What the live view shows, as plain data: read from the state dir the daemon keeps (its quota
//! book, the targets' records, the journal) and judged as `status` judges it. Built anew each
//! time those files change; rendering it is `render`'s job.

use std::collections::BTreeSet;

use jiff::Timestamp;

use crate::apply::{Context, Target};
use crate::engine::{Judge, slope};
use crate::journal::{self, Entry};
use crate::quota::{Level, Window};
use crate::report;
use crate::settings::{Settings, TargetSpec};
use crate::state::StateDir;

/// Events the view keeps from the journal.
const EVENTS: usize = 50;

#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Snapshot {
    pub(crate) providers: Vec<ProviderRow>,
    pub(crate) switches: Vec<SwitchRow>,
    /// The journal's last entries, oldest first.
    pub(crate) events: Vec<Entry>,
    pub(crate) targets: usize,
    /// Targets that could not be read.
    pub(crate) errors: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ProviderRow {
    pub(crate) name: String,
    /// GREEN, YELLOW, RED, UNKNOWN.
    pub(crate) status: &'static str,
    pub(crate) level: Option<Level>,
    /// When its freshest data was observed.
    pub(crate) observed: Option<Timestamp>,
    /// Why it is UNKNOWN, or what the last attempt said.
    pub(crate) note: Option<String>,
    pub(crate) windows: Vec<WindowRow>,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct WindowRow {
    pub(crate) name: String,
    pub(crate) window: Window,
    pub(crate) level: Level,
    /// Percent per second, when the samples allow a projection.
    pub(crate) slope: Option<f64>,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SwitchRow {
    pub(crate) target: String,
    pub(crate) slot: String,
    pub(crate) current: String,
    pub(crate) original: String,
    pub(crate) reason: String,
}

/// Reads the state dir and the targets (never writing, never polling) as of `now`.
pub(crate) fn read(settings: &Settings, now: Timestamp) -> Snapshot {
    let state_dir = StateDir::new(settings.state_dir.clone());
    let mut book = state_dir.load_quota();
    crate::source::focus(&mut book, &settings.sources);
    let judge = Judge {
        policy: &settings.policy,
        book: &book,
        now,
    };
    let mut snapshot = Snapshot {
        targets: settings.targets.len(),
        ..Snapshot::default()
    };
    for (name, p) in report::providers(&judge) {
        let windows = p
            .windows
            .into_iter()
            .map(|w| {
                let samples = (book.reports(&name))
                    .map(|(_, entry, _)| entry.samples(&name, &w.name))
                    .max_by_key(|s| s.len())
                    .unwrap_or_default();
                WindowRow {
                    slope: slope(samples),
                    name: w.name,
                    window: w.window,
                    level: w.level,
                }
            })
            .collect();
        let note = match p.health.level() {
            None => Some(p.health.why.to_string()),
            Some(_) => p.error.map(|e| format!("last attempt failed: {e}")),
        };
        snapshot.providers.push(ProviderRow {
            status: p.health.name(),
            level: p.health.level(),
            observed: p
                .age
                .map(|age| now - jiff::SignedDuration::from_secs_f64(age)),
            note,
            windows,
            name,
        });
    }
    let observed = BTreeSet::new();
    let ctx = Context::new(settings, &state_dir, &judge, &observed);
    for spec in &settings.targets {
        // Resolved again at every redraw: a link may have been pointed elsewhere since the view
        // started.
        let spec = TargetSpec {
            real: None,
            ..spec.clone()
        };
        let slots = Target::open(&spec, &state_dir, true).and_then(|mut t| t.view(&ctx));
        match slots {
            Ok(run) => snapshot
                .switches
                .extend(run.slots.into_iter().filter_map(|s| {
                    Some(SwitchRow {
                        reason: s.reason?.to_string(),
                        target: spec.display.clone(),
                        slot: s.slot.to_string(),
                        current: s.current.to_string(),
                        original: s.original.to_string(),
                    })
                })),
            Err(e) => snapshot.errors.push(e.to_string()),
        }
    }
    let mut events = journal::read(&settings.state_dir).unwrap_or_default();
    events.drain(..events.len().saturating_sub(EVENTS));
    snapshot.events = events;
    snapshot
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::plan::{SwitchRecord, TargetState};
    use crate::target::Kind;

    #[test]
    fn each_redraw_follows_a_target_link_pointed_elsewhere() {
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path().canonicalize().unwrap();
        for (name, model) in [("a", "zai/glm"), ("b", "ds/chat")] {
            std::fs::create_dir(dir.join(name)).unwrap();
            let text = format!("{{ \"model\": \"{model}\" }}\n");
            std::fs::write(dir.join(name).join("opencode.json"), text).unwrap();
        }
        // b was switched; a was not.
        let state = dir.join("switcher-state");
        let b = dir.join("b/opencode.json");
        let mut records = TargetState::new(b, "b/opencode.json".into(), Kind::OpenCode);
        records
            .switches
            .push(SwitchRecord::example("model", "\"ds/chat\""));
        StateDir::new(state.clone()).save_target(&records).unwrap();
        let link = dir.join("opencode.json");
        std::os::unix::fs::symlink(dir.join("a/opencode.json"), &link).unwrap();

        let global = crate::cli::Global {
            config: None,
            quota_files: Vec::new(),
            state_dir: Some(state),
            kind: None,
            json: false,
            verbose: 0,
            quiet: 0,
        };
        let env = crate::env::Env::for_tests(&dir, &[]);
        let settings = Settings::resolve(&global, std::slice::from_ref(&link), env).unwrap();
        let switched = |settings: &Settings| -> Vec<String> {
            let snapshot = read(settings, Timestamp::UNIX_EPOCH);
            snapshot.switches.into_iter().map(|s| s.current).collect()
        };
        assert!(switched(&settings).is_empty());
        std::fs::remove_file(&link).unwrap();
        std::os::unix::fs::symlink(dir.join("b/opencode.json"), &link).unwrap();
        assert_eq!(switched(&settings), ["ds/chat"]);
    }
}
