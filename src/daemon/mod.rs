//! `switcher watch`: the sidecar that runs next to agent sessions (README, The daemon;
//! docs/design.md, The daemon).
//!
//! Three kinds of worker joined over channels: the watcher reports changed targets and status
//! files, one poller per source reports answers on its schedule, and the applier — the only one
//! that writes — turns both into passes. The watcher, the pollers and the signal handlers share
//! one async thread that never blocks on a file; the applier has a thread of its own, so a pass
//! that waits (an fsync, a lock another switcher holds) delays only the passes after it. On a
//! signal the applier finishes the pass in progress, calls off any lock wait, and stops.

mod applier;
#[cfg(target_os = "linux")]
mod inotify;
mod poller;
mod shutdown;
mod watcher;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};

use crate::apply::Target;
use crate::error::{Error, Outcome};
use crate::provider::Aliases;
use crate::quota::QuotaBook;
use crate::settings::Settings;
use crate::source::{Answer, SourceSpec, Watch, http};
use crate::state::{Patience, StateDir};

use applier::{Applier, Job};
use watcher::{Change, WholeDir};

/// A path's events closer than this count as one change…
const DEBOUNCE: Duration = Duration::from_millis(10);
/// …but a path that keeps changing is handled at least this often.
const MAX_DELAY: Duration = Duration::from_millis(100);

/// Runs until SIGINT or SIGTERM; returns once every lock is released.
pub(crate) fn run(settings: &Settings) -> Result<Outcome, Error> {
    if settings.targets.is_empty() {
        return Err(Error::no_target(&settings.discovery));
    }
    for source in &settings.sources {
        if source.interval >= settings.policy.stale_after.unsigned_abs() {
            tracing::warn!(
                "{}: polled every {} s, but data older than stale_after ({} s) is UNKNOWN; its \
                 providers will be UNKNOWN between polls",
                source.label,
                source.interval.as_secs_f64(),
                settings.policy.stale_after.as_secs_f64()
            );
        }
    }
    // Set on a signal: the applier stops taking jobs, and a lock wait it is in ends at once.
    let stop = Arc::new(AtomicBool::new(false));
    let state_dir = StateDir::new(settings.state_dir.clone()).with_patience(Patience {
        cancel: Some(stop.clone()),
        ..Patience::default()
    });
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
    // Running OpenCode sessions follow what the records say now, whatever happened while no
    // daemon ran.
    crate::routes::refresh(&state_dir, settings.opencode_dir(), &[]);
    let names: Vec<String> = targets
        .iter()
        .filter(|t| t.agent.is_none())
        .map(|t| t.display.clone())
        .collect();
    let agent_files = targets.len() - names.len();
    let mut files: Vec<PathBuf> = targets.iter().map(|t| t.given.clone()).collect();
    // A Claude Code agent's provider follows its scope's settings.
    files.extend(targets.iter().flat_map(|t| t.depends_on().to_vec()));
    files.sort();
    files.dedup();
    let mut dirs: Vec<WholeDir> = (settings.agent_dirs.iter())
        .map(|d| WholeDir {
            path: d.path.clone(),
            recursive: true,
            // Agent files; the directories holding them are counted whatever their names.
            accepts: |p| p.extension().is_some_and(|e| e == "md"),
        })
        .collect();
    let agent_dirs = dirs.len();
    for watch in settings.sources.iter().filter_map(|s| s.watched()) {
        match watch {
            Watch::File(path) => files.push(path.to_owned()),
            Watch::Dir {
                path,
                accepts,
                recursive,
            } => {
                // The signals dir is made now (private, as the state dir is) so that it can be
                // watched; another program's dir (Claude Code's projects) is watched for when
                // it appears.
                if !recursive && let Err(e) = crate::fsx::create_private_dir(path) {
                    tracing::warn!("cannot create {}: {e}", path.display());
                }
                dirs.push(WholeDir {
                    path: path.to_owned(),
                    recursive,
                    accepts,
                });
            }
        }
    }
    let mut book = state_dir.load_quota();
    for source in &settings.sources {
        source.recall(&book);
    }
    crate::source::focus(&mut book, &settings.sources);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Setup(format!("cannot start the async runtime: {e}")))?;
    let client = http::Client::new();
    let (jobs, queue) = std::sync::mpsc::channel();
    std::thread::scope(|scope| {
        let applier = Applier::new(settings, state_dir, targets, book.clone(), stop.clone());
        let (handle, client_for_applier) = (runtime.handle().clone(), client.clone());
        let worker = std::thread::Builder::new()
            .name("applier".into())
            .spawn_scoped(scope, move || {
                applier.run(queue, handle, client_for_applier)
            })
            .map_err(|e| Error::Setup(format!("cannot start the applier: {e}")))?;
        let watching = Watching {
            names,
            agent_files,
            agent_dirs,
            files,
            dirs,
        };
        let outcome = runtime.block_on(serve(settings, &book, &watching, client, jobs));
        tracing::info!("stopping");
        stop.store(true, Ordering::Relaxed);
        if worker.join().is_err() {
            return Err(Error::Setup("the applier failed".into()));
        }
        outcome
    })
}

/// One poll of a source. A status file or the signals dir is read on the blocking pool, so a slow disk never
/// stalls the thread that handles events and signals; the other sources wait on the network
/// asynchronously.
async fn poll(spec: SourceSpec, client: http::Client, aliases: Aliases) -> Answer {
    if spec.watched().is_none() {
        return spec.poll(&client, &aliases, Timestamp::now).await;
    }
    let runtime = tokio::runtime::Handle::current();
    let read = move || runtime.block_on(spec.poll(&client, &aliases, Timestamp::now));
    tokio::task::spawn_blocking(read)
        .await
        .unwrap_or_else(|e| Answer::Failed {
            error: format!("the read failed: {e}"),
            forget_data: false,
            retry_after: None,
        })
}

/// What the daemon watches: the targets it holds, by name (agent files counted), every file to
/// watch, and the directories whose every file it watches (with the names that count): the
/// first `agent_dirs` of them are agent dirs.
struct Watching {
    names: Vec<String>,
    agent_files: usize,
    agent_dirs: usize,
    files: Vec<PathBuf>,
    dirs: Vec<WholeDir>,
}

/// Watches and polls until a signal, handing everything to the applier through `jobs`.
async fn serve(
    settings: &Settings,
    book: &QuotaBook,
    watching: &Watching,
    client: http::Client,
    jobs: Sender<Job>,
) -> Result<Outcome, Error> {
    let mut shutdown = shutdown::Shutdown::listen()
        .map_err(|e| Error::Setup(format!("cannot handle signals: {e}")))?;
    let (tx, mut rx) = mpsc::unbounded_channel();

    let names = &watching.names;
    let mut watcher = watcher::start(&watching.files, &watching.dirs, move |path, change| {
        let _ = tx.send((path, change));
    })
    .map_err(Error::Setup)?;

    // Status files are read before anything else, so the first passes see them and their
    // pollers start one interval later; other sources answer when they answer.
    let _ = jobs.send(Job::Start);
    let mut pollers = tokio::task::JoinSet::new();
    for (index, spec) in settings.sources.iter().enumerate() {
        let now = Timestamp::now();
        let first_delay = match spec.watched() {
            Some(_) => spec.interval,
            None => book
                .sources
                .get(&spec.id)
                .and_then(|e| e.next_poll)
                .map_or(Duration::ZERO, |at| {
                    Duration::try_from(at.duration_since(now)).unwrap_or_default()
                }),
        };
        let (spec, client, aliases, jobs) = (
            spec.clone(),
            client.clone(),
            settings.aliases.clone(),
            jobs.clone(),
        );
        pollers.spawn(async move {
            poller::run(
                spec.interval,
                first_delay,
                || poll(spec.clone(), client.clone(), aliases.clone()),
                |answer, _delay| {
                    jobs.send(Job::Answered {
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
    let (signals, sources): (Vec<&SourceSpec>, Vec<&SourceSpec>) =
        settings.sources.iter().partition(|s| s.is_signals());
    let labels: Vec<&str> = sources.iter().map(|s| s.label.as_str()).collect();
    // Said once the watches are in place: from here on, every change is seen.
    let mut what = Vec::new();
    if !names.is_empty() || watching.agent_dirs == 0 {
        what.push(format!("{} target(s): {}", names.len(), names.join(", ")));
    }
    if watching.agent_dirs > 0 {
        what.push(format!(
            "{} agent file(s) in {} agent dir(s)",
            watching.agent_files, watching.agent_dirs
        ));
    }
    tracing::info!(
        "watching {}; {} source(s): {}{}",
        what.join(" and "),
        labels.len(),
        match (labels.is_empty(), settings.sources_detected) {
            (true, _) => "none, every provider is unmonitored".to_owned(),
            (false, true) => format!(
                "{} (auto-detected: no source is configured)",
                labels.join(", ")
            ),
            (false, false) => labels.join(", "),
        },
        match signals.first() {
            Some(s) if labels.is_empty() => format!(" but those named in the {}", s.label),
            Some(s) => format!("; and the {}", s.label),
            None => String::new(),
        }
    );

    // Changed paths wait here until their burst of events is over.
    let mut pending: HashMap<PathBuf, (Instant, Instant)> = HashMap::new();
    loop {
        let due_at = pending
            .values()
            .map(|&(first, last)| (last + DEBOUNCE).min(first + MAX_DELAY))
            .min();
        let (path, change) = tokio::select! {
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
                    let _ = jobs.send(Job::Changed(paths));
                }
                continue;
            }
            event = rx.recv() => match event {
                Some(event) => event,
                None => break,
            },
        };
        let now = Instant::now();
        // A finished write needs no waiting; the loop still takes every event already queued
        // before it acts, so a burst is handled once.
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
    // Wait for the aborted pollers to be dropped: each holds a sender of `jobs`, and the applier
    // ends when the last one is gone.
    pollers.shutdown().await;
    Ok(Outcome::Ok)
}
