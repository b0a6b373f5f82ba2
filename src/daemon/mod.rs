//! `switcher watch`: the sidecar that runs next to agent sessions (SPEC §9).
//!
//! Three kinds of worker joined over one channel: the watcher reports changed targets and status
//! files, one poller per source reports answers on its schedule, and the applier — the only one
//! that writes — turns both into passes. Everything runs on one thread; passes are short and
//! happen one at a time, so a signal is acted on between passes, never inside a write.

mod applier;
mod poller;
mod shutdown;
mod watcher;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};

use crate::apply::Target;
use crate::error::{Error, Outcome};
use crate::settings::Settings;
use crate::source::{Answer, http};
use crate::state::StateDir;

use applier::Applier;
use watcher::Change;

enum Event {
    Changed(PathBuf, Change),
    Answered { source: usize, answer: Answer },
}

/// A path's events closer than this count as one change…
const DEBOUNCE: Duration = Duration::from_millis(10);
/// …but a path that keeps changing is handled at least this often.
const MAX_DELAY: Duration = Duration::from_millis(100);

/// Handles changed paths (one file, or the files of a directory that was created): each status
/// file among them is read right away, once (each read is an observation); each target is
/// re-planned from the latest quota data.
async fn changed(
    applier: &mut Applier<'_>,
    status_files: &[(usize, Vec<PathBuf>)],
    client: &reqwest::Client,
    settings: &Settings,
    paths: &[PathBuf],
) {
    for (source, names) in status_files {
        if names.iter().any(|n| paths.contains(n)) {
            let spec = &settings.sources[*source];
            let answer = spec.poll(client, &settings.aliases, Timestamp::now).await;
            applier.answered(spec, answer);
        }
    }
    let targets: BTreeSet<usize> = paths
        .iter()
        .flat_map(|p| applier.targets_named(p))
        .collect();
    for i in targets {
        applier.target_changed(i);
    }
}

/// Runs until SIGINT or SIGTERM; returns once every lock is released.
pub fn run(settings: &Settings) -> Result<Outcome, Error> {
    if settings.targets.is_empty() {
        return Err(crate::run::no_target(settings));
    }
    for source in &settings.sources {
        if source.interval >= settings.policy.stale_after {
            tracing::warn!(
                "{}: polled every {} s, but data older than stale_after ({} s) is UNKNOWN; its \
                 providers will be UNKNOWN between polls",
                source.label,
                source.interval,
                settings.policy.stale_after
            );
        }
    }
    let state_dir = StateDir::new(settings.state_dir.clone());
    // A target that cannot be taken (locked by another switcher, of no known kind) is reported
    // and left out; the others are still managed. With none left there is nothing to do.
    let mut targets = Vec::new();
    for spec in &settings.targets {
        match Target::open(spec, &state_dir, false) {
            Ok(target) => targets.push(target),
            Err(e) => tracing::error!("{e}"),
        }
    }
    if targets.is_empty() {
        return Ok(Outcome::Error);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Setup(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(serve(settings, state_dir, targets))
}

async fn serve(
    settings: &Settings,
    state_dir: StateDir,
    targets: Vec<Target>,
) -> Result<Outcome, Error> {
    let names: Vec<String> = targets.iter().map(|t| t.display.clone()).collect();
    let mut shutdown = shutdown::Shutdown::listen()
        .map_err(|e| Error::Setup(format!("cannot handle signals: {e}")))?;
    let (tx, mut rx) = mpsc::unbounded_channel();

    let mut watched: Vec<PathBuf> = targets.iter().map(|t| t.given.clone()).collect();
    watched.extend(
        settings
            .sources
            .iter()
            .filter_map(|s| s.file_path().map(Path::to_owned)),
    );
    let mut watcher = {
        let tx = tx.clone();
        watcher::start(&watched, move |path, change| {
            let _ = tx.send(Event::Changed(path, change));
        })
        .map_err(Error::Setup)?
    };

    // Status files under every name their change events may use.
    let status_files: Vec<(usize, Vec<PathBuf>)> = settings
        .sources
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.file_path().map(|path| (i, watcher::aliases_of(path))))
        .collect();

    let mut applier = Applier::new(settings, state_dir, targets);
    let client = http::client();
    // Status files are read before anything else, so the first passes see them and their
    // pollers start one interval later; other sources answer when they answer.
    if status_files.is_empty() {
        applier.pass_all();
    }
    for (source, _) in &status_files {
        let spec = &settings.sources[*source];
        let answer = spec.poll(&client, &settings.aliases, Timestamp::now).await;
        applier.answered(spec, answer);
    }

    let mut pollers = tokio::task::JoinSet::new();
    for (index, spec) in settings.sources.iter().enumerate() {
        let now = Timestamp::now();
        let first_delay = match spec.file_path() {
            Some(_) => spec.interval,
            None => applier
                .book()
                .sources
                .get(&spec.id)
                .and_then(|e| e.next_poll)
                .map_or(0.0, |at| at.duration_since(now).as_secs_f64()),
        };
        let (spec, client, aliases, tx) = (
            spec.clone(),
            client.clone(),
            settings.aliases.clone(),
            tx.clone(),
        );
        pollers.spawn(async move {
            poller::run(
                spec.interval,
                first_delay,
                || spec.poll(&client, &aliases, Timestamp::now),
                |answer, _delay| {
                    tx.send(Event::Answered {
                        source: index,
                        answer,
                    })
                    .is_ok()
                },
                || fastrand::f64() * 2.0 - 1.0,
            )
            .await;
        });
    }
    drop(tx);
    let labels: Vec<String> = settings.sources.iter().map(|s| s.label.clone()).collect();
    // Said once the watches are in place: from here on, every change is seen.
    tracing::info!(
        "watching {} target(s): {}; {} source(s): {}",
        names.len(),
        names.join(", "),
        labels.len(),
        match (labels.is_empty(), settings.sources_detected) {
            (true, _) => "none, every provider is unmonitored".to_owned(),
            (false, true) => format!(
                "{} (auto-detected: no source is configured)",
                labels.join(", ")
            ),
            (false, false) => labels.join(", "),
        }
    );

    // Changed paths wait here until their burst of events is over.
    let mut pending: HashMap<PathBuf, (Instant, Instant)> = HashMap::new();
    loop {
        let due_at = pending
            .values()
            .map(|&(first, last)| (last + DEBOUNCE).min(first + MAX_DELAY))
            .min();
        let event = tokio::select! {
            () = shutdown.requested() => break,
            () = sleep_until(due_at.unwrap_or_else(Instant::now)), if due_at.is_some() => {
                let now = Instant::now();
                let due: Vec<PathBuf> = pending
                    .iter()
                    .filter(|(_, (first, last))| (*last + DEBOUNCE).min(*first + MAX_DELAY) <= now)
                    .map(|(path, _)| path.clone())
                    .collect();
                for path in due {
                    pending.remove(&path);
                    let paths = if watcher.is_dir(&path) {
                        watcher.rewatch(&path)
                    } else {
                        vec![path]
                    };
                    changed(&mut applier, &status_files, &client, settings, &paths).await;
                }
                continue;
            }
            event = rx.recv() => match event {
                Some(event) => event,
                None => break,
            },
        };
        match event {
            Event::Answered { source, answer } => {
                applier.answered(&settings.sources[source], answer)
            }
            Event::Changed(path, change) => {
                let now = Instant::now();
                // A finished write needs no waiting; the loop still takes every event already
                // queued before it acts, so a burst is handled once.
                let last = if change == Change::Complete {
                    now - DEBOUNCE
                } else {
                    now
                };
                pending
                    .entry(path)
                    .and_modify(|(_, l)| *l = last)
                    .or_insert((now, last));
            }
        }
    }
    pollers.abort_all();
    tracing::info!("stopping");
    Ok(Outcome::Ok)
}
