//! The run modes: one pass, restore, status. Each resolves what it needs, acts on every target
//! (one failing target does not stop the others) and returns the outcome the exit code reports.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::Write;
use std::process::ExitCode;
use std::slice;

use crate::announce::{self, Wait};
use crate::apply::{Context, Mode, Target, TargetRun};
use crate::cli::{Cli, Command};
use crate::engine::Judge;
use crate::env::Env;
use crate::error::{Error, Outcome};
use crate::init;
use crate::journal;
use crate::logging;
use crate::man;
use crate::quota::QuotaBook;
use crate::report;
use crate::settings::{Settings, TargetSpec};
use crate::setup;
use crate::source;
use crate::state::StateDir;

/// The program: parse the command line, run, map the outcome to an exit code.
pub fn main() -> ExitCode {
    let cli = crate::cli::parse();
    run(cli).exit_code()
}

fn run(cli: Cli) -> Outcome {
    // What needs nothing but the command line.
    match &cli.command {
        Command::Completions(c) => {
            let mut out = Vec::new();
            man::completions(c.shell, &mut out);
            print(&String::from_utf8_lossy(&out));
            return Outcome::Ok;
        }
        Command::Man(m) => {
            let mut out = Vec::new();
            return match man::man(m.command.as_deref(), &mut out) {
                Ok(()) => {
                    print(&String::from_utf8_lossy(&out));
                    Outcome::Ok
                }
                Err(e) => fail(&Error::Setup(format!("cannot write the man page: {e}"))),
            };
        }
        _ => {}
    }
    let no_targets = Vec::new();
    let (targets, daemon) = match &cli.command {
        Command::Watch(w) => (&w.targets, !w.once && !w.restore),
        Command::Status(s) => (&s.targets, false),
        _ => (&no_targets, false),
    };
    let env = match Env::capture() {
        Ok(env) => env,
        Err(e) => return fail(&Error::Setup(e)),
    };
    // The status line runs after every message: it resolves nothing it does not need, and
    // prints a line whatever happens.
    if let Command::Statusline(s) = &cli.command {
        let state_dir = crate::settings::state_dir(&cli.global, &env).ok();
        return crate::statusline::run(state_dir, &s.then, &env);
    }
    // The live view owns the screen: a log line would tear it.
    let live = matches!(&cli.command, Command::Status(s) if s.watch);
    logging::init(
        if live {
            i8::MIN / 2
        } else {
            cli.global.verbose as i8 - cli.global.quiet as i8
        },
        env.var("SWITCHER_LOG"),
        daemon,
        cli.global.json,
        env.var("NO_COLOR").is_none(),
    );
    // `init` must work where no valid config exists yet.
    if let Command::Init(i) = &cli.command {
        return init::run(&cli.global, i, &env).unwrap_or_else(|e| fail(&e));
    }
    // `setup` needs the state dir's path only, not a valid config.
    if let Command::Setup(agent) = &cli.command {
        return setup::run(&cli.global, agent, &env).unwrap_or_else(|e| fail(&e));
    }
    let settings = match Settings::resolve(&cli.global, targets, env) {
        Ok(settings) => settings,
        Err(e) => return fail(&e),
    };
    for warning in &settings.warnings {
        tracing::warn!("{warning}");
    }
    let result = match &cli.command {
        Command::Watch(w) if w.restore => restore(&settings, w.targets.is_empty(), w.dry_run),
        Command::Watch(w) if w.once => once(&settings, w.dry_run),
        Command::Watch(_) => crate::daemon::run(&settings),
        Command::Status(s) if s.watch => crate::tui::run(&settings),
        Command::Status(_) => status(&settings),
        Command::Log(l) => log(&settings, l.since),
        Command::Init(_)
        | Command::Completions(_)
        | Command::Man(_)
        | Command::Statusline(_)
        | Command::Setup(_) => {
            unreachable!("handled above")
        }
    };
    result.unwrap_or_else(|e| fail(&e))
}

fn fail(e: &Error) -> Outcome {
    eprintln!("error: {e}");
    Outcome::Error
}

/// Polls every due source once and records the answers (in memory only when `read_only`).
/// Returns the book and the providers observed.
fn observe(
    settings: &Settings,
    state_dir: &StateDir,
    read_only: bool,
) -> Result<(QuotaBook, BTreeSet<String>), Error> {
    let now = settings.now();
    let stored = state_dir.read_quota();
    for source in &settings.sources {
        source.recall(&stored.book);
    }
    let due: Vec<_> = settings
        .sources
        .iter()
        .filter(|s| {
            let due = s.due(&stored.book, now);
            if !due {
                tracing::info!(
                    "{}: not polled before its next allowed time; using its last data",
                    s.label
                );
            }
            due
        })
        .cloned()
        .collect();
    let answers = if due.is_empty() {
        Vec::new()
    } else {
        let mut runtime = tokio::runtime::Builder::new_current_thread();
        runtime.enable_time();
        // Sources that only read local files need no I/O driver, whose start (an epoll instance,
        // the signal socket pair) takes longer than reading a status file.
        if !due.iter().all(|s| s.provider.local()) {
            runtime.enable_io();
        }
        let runtime = runtime
            .build()
            .map_err(|e| Error::Setup(format!("cannot start the async runtime: {e}")))?;
        runtime.block_on(source::poll_all(due, &settings.aliases, now))
    };
    let mut observed = BTreeSet::new();
    for (source, answer) in &answers {
        answer.note(&source.label, &mut observed);
    }
    let record = |book: &mut QuotaBook| {
        for (source, answer) in &answers {
            source.record(book, answer, now);
        }
    };
    let mut book = if read_only {
        let mut book = stored.book;
        record(&mut book);
        book
    } else {
        state_dir.update_quota(Some(stored), record)?
    };
    source::focus(&mut book, &settings.sources);
    Ok((book, observed))
}

/// Judges from `book` with the user's policy, as of the run's "now". A window whose reset has
/// passed counts as 0%: `-v` says so, since it can be the only reason nothing switches.
fn judge<'a>(settings: &'a Settings, book: &'a QuotaBook) -> Judge<'a> {
    let judge = Judge {
        policy: &settings.policy,
        book,
        now: settings.now(),
    };
    for (provider, window, at) in judge.passed_resets() {
        tracing::info!(
            "{provider} {window}: its reset at {at} has passed; counted as 0% until new data"
        );
    }
    judge
}

/// Above this many targets, passes run on several threads: each target has its own lock, records
/// and file, and a project's agent files are many small writes whose fsyncs then share the
/// filesystem's commits. Fewer targets keep the plain order of their warnings.
const PARALLEL_ABOVE: usize = 8;
/// The threads' wait is mostly for the disk, not the CPU: the more fsyncs are in flight, the more
/// each journal commit or device flush carries (README, Performance: 32 switch 1,001 targets in
/// about two thirds of the time 8 take; 64 no faster).
const WORKERS: usize = 32;

/// How many threads a pass over many targets may use with `open_files` files open at most: a
/// thread's target holds a few files open at once (its lock, the target, a temp file, their
/// dirs), and the rest of the run some more.
fn workers(open_files: Option<u64>) -> usize {
    let Some(limit) = open_files else {
        return WORKERS;
    };
    let spare = usize::try_from(limit.saturating_sub(64) / 8).unwrap_or(usize::MAX);
    spare.clamp(1, WORKERS)
}

/// Runs `each` over the targets, reporting errors; the runs keep the targets' order and the
/// outcome is the worst seen.
fn for_targets(
    targets: &[TargetSpec],
    each: impl Fn(&TargetSpec) -> Result<TargetRun, crate::error::TargetError> + Sync,
) -> (Vec<TargetRun>, Outcome) {
    let results: Vec<_> = if targets.len() <= PARALLEL_ABOVE {
        targets.iter().map(&each).collect()
    } else {
        on_threads(targets.len(), |i| each(&targets[i]))
    };
    let mut runs = Vec::new();
    let mut outcome = Outcome::Ok;
    for result in results {
        match result {
            Ok(run) => {
                if run.ends_red {
                    outcome = outcome.max(Outcome::Red);
                }
                runs.push(run);
            }
            Err(e) => {
                tracing::error!("{e}");
                outcome = Outcome::Error;
            }
        }
    }
    (runs, outcome)
}

/// `each(i)` for every `i` below `n`, on up to [`WORKERS`] threads (fewer under a low limit of
/// open files), this one among them; the results in the order of `i`. Where the system grants
/// fewer threads (a container's process limit), the ones it grants do the work.
fn on_threads<T: Send>(n: usize, each: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let slots: Vec<std::sync::Mutex<Option<T>>> =
        (0..n).map(|_| std::sync::Mutex::default()).collect();
    let work = || {
        loop {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(slot) = slots.get(i) else { break };
            let result = each(i);
            *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
        }
    };
    let threads = workers(crate::fsx::open_files_limit()).min(n);
    std::thread::scope(|scope| {
        for _ in 1..threads {
            #[cfg(test)]
            if NO_THREADS.get() {
                break;
            }
            if std::thread::Builder::new()
                .spawn_scoped(scope, work)
                .is_err()
            {
                break;
            }
        }
        work();
    });
    (slots.into_iter())
        .filter_map(|m| m.into_inner().unwrap_or_else(|e| e.into_inner()))
        .collect()
}

#[cfg(test)]
thread_local! {
    /// Tests: no thread can be started, as under a process limit.
    static NO_THREADS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn print(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

fn print_runs(settings: &Settings, runs: &[TargetRun], judge: &Judge<'_>, dry_run: bool) {
    if settings.json {
        return print(&report::json(runs, judge));
    }
    for note in report::at_restart_notes(runs) {
        tracing::warn!("{note}");
    }
    let mut out = report::change_lines(runs);
    if dry_run {
        for diff in runs
            .iter()
            .filter_map(|r| report::diff(r, &settings.profiles))
        {
            out.push_str(&diff);
        }
    }
    print(&out);
}

/// `watch --once`: read quota once, decide, apply.
fn once(settings: &Settings, dry_run: bool) -> Result<Outcome, Error> {
    if settings.targets.is_empty() {
        return Err(Error::no_target(&settings.discovery));
    }
    let state_dir = StateDir::new(settings.state_dir.clone());
    let (book, observed) = observe(settings, &state_dir, dry_run)?;
    let judge = judge(settings, &book);
    let (runs, outcome) = passes(
        settings,
        &state_dir,
        &settings.targets,
        &judge,
        &observed,
        Mode::Switch,
        dry_run,
    );
    // Exit 3 says that a slot stays on a RED model; say which, and why.
    for run in &runs {
        for slot in run
            .slots
            .iter()
            .filter(|s| s.managed && s.health.is(crate::quota::Level::Red))
        {
            tracing::warn!(
                "{}: {}: stays on {} ({}): no healthy candidate",
                run.target,
                slot.slot,
                slot.current,
                slot.health.why
            );
        }
    }
    print_runs(settings, &runs, &judge, dry_run);
    announce(settings, &state_dir, &runs, &judge, Mode::Switch, dry_run);
    // The process exits next: freeing a big config's texts and thousands of records would only
    // cost time (a twentieth of a pass that switches 7,755 slots).
    std::mem::forget(runs);
    Ok(outcome)
}

/// A one-shot run's pass of `mode` over `targets`. A pass that waits for cleared keys to settle
/// announces its changes before it waits.
fn passes(
    settings: &Settings,
    state_dir: &StateDir,
    targets: &[TargetSpec],
    judge: &Judge<'_>,
    observed: &BTreeSet<String>,
    mode: Mode,
    dry_run: bool,
) -> (Vec<TargetRun>, Outcome) {
    let early = |run: &TargetRun| {
        announce(
            settings,
            state_dir,
            slice::from_ref(run),
            judge,
            mode,
            dry_run,
        )
    };
    let mut ctx = Context::new(settings, state_dir, judge, observed);
    // The new texts serve only notifications here (a dry run builds its own for its diffs).
    ctx.keep_text = settings.notify;
    ctx.before_settling = Some(&early);
    ctx.announce_beside = targets.len() == 1;
    for_targets(targets, |spec| {
        Target::open(spec, state_dir, dry_run)?.pass(&ctx, mode, dry_run)
    })
}

/// Journals a one-shot run's changes, notifies and runs its hooks, waiting for them at most
/// their timeout.
fn announce(
    settings: &Settings,
    state_dir: &StateDir,
    runs: &[TargetRun],
    judge: &Judge<'_>,
    mode: Mode,
    dry_run: bool,
) {
    if !dry_run {
        announce::after_pass(settings, state_dir, runs, judge, mode, Wait::UpToTimeout);
    }
}

/// `watch --restore`: put originals back; with no TARGET, in every target the state dir knows.
fn restore(settings: &Settings, from_state: bool, dry_run: bool) -> Result<Outcome, Error> {
    let state_dir = StateDir::new(settings.state_dir.clone());
    let mut unreadable = Outcome::Ok;
    let targets: Vec<TargetSpec> = if from_state {
        let mut targets = Vec::new();
        for state in state_dir.all_targets()? {
            match state {
                Ok(s) => targets.push(settings.recorded_spec(s.target, s.kind)),
                Err(e) => {
                    tracing::error!("{e}");
                    unreadable = Outcome::Error;
                }
            }
        }
        targets
    } else {
        settings.targets.clone()
    };
    // A restore reads no source; the slots it reports are judged from the last saved data.
    let mut book = state_dir.load_quota();
    source::focus(&mut book, &settings.sources);
    let judge = judge(settings, &book);
    let observed = BTreeSet::new();
    let (runs, outcome) = passes(
        settings,
        &state_dir,
        &targets,
        &judge,
        &observed,
        Mode::Restore,
        dry_run,
    );
    print_runs(settings, &runs, &judge, dry_run);
    announce(settings, &state_dir, &runs, &judge, Mode::Restore, dry_run);
    // `--restore` succeeds whatever the quota: a slot put back on a RED model is not exit 3.
    Ok(match outcome.max(unreadable) {
        Outcome::Red => Outcome::Ok,
        other => other,
    })
}

/// `status`: read quota and targets, change nothing.
fn status(settings: &Settings) -> Result<Outcome, Error> {
    if settings.targets.is_empty() {
        return Err(Error::no_target(&settings.discovery));
    }
    let state_dir = StateDir::new(settings.state_dir.clone());
    let (book, _) = observe(settings, &state_dir, true)?;
    let judge = judge(settings, &book);
    let observed = BTreeSet::new();
    let ctx = Context::new(settings, &state_dir, &judge, &observed);
    let (runs, outcome) = for_targets(&settings.targets, |spec| {
        Target::open(spec, &state_dir, true)?.view(&ctx)
    });
    warn_other_state_dir(&ctx, &runs);
    if settings.json {
        print(&report::json(&runs, &judge));
    } else {
        let (signals, sources): (Vec<_>, Vec<_>) =
            settings.sources.iter().partition(|s| s.is_signals());
        let sources = report::Sources {
            labels: sources.iter().map(|s| s.label.as_str()).collect(),
            detected: settings.sources_detected,
            signals: signals.first().map(|s| s.label.as_str()),
        };
        let color = settings.color && std::io::IsTerminal::is_terminal(&std::io::stdout());
        print(&report::status_text(&runs, &judge, &sources, color));
    }
    Ok(outcome)
}

/// For `status`: one line per switcher plugin that a switched OpenCode target's sessions load
/// but that reads another state dir, so never sees this one's routes (its slots are marked as
/// following at restart by the planner).
fn warn_other_state_dir(ctx: &Context<'_>, runs: &[TargetRun]) {
    let settings = ctx.settings;
    let mut told = BTreeSet::new();
    for run in runs {
        let Some(spec) = settings.targets.iter().find(|t| t.display == run.target) else {
            continue;
        };
        let Ok(kind) = spec.kind else { continue };
        if !kind.is_opencode() || run.slots.iter().all(|s| s.reason.is_none()) {
            continue;
        }
        let plugin = ctx.opencode_plugin(&spec.path, kind);
        if let setup::OpenCodePlugin::Elsewhere { file, state_dir } = plugin
            && told.insert(file.clone())
        {
            tracing::warn!(
                "{}: switcher's plugin reads another state dir ({}), not {}: run `switcher setup opencode` again",
                file.display(),
                state_dir.display(),
                settings.state_dir.display()
            );
        }
    }
}

/// `log`: the journal, newest last, from `since` on.
fn log(settings: &Settings, since: Option<journal::Since>) -> Result<Outcome, Error> {
    let from = since.map(|s| s.start(settings.now()));
    let root = &settings.state_dir;
    let entries: Vec<_> = journal::read(root)
        .map_err(|e| Error::Setup(format!("journal in {}: {e}", root.display())))?
        .into_iter()
        .filter(|e| from.is_none_or(|from| e.at >= from))
        .collect();
    if settings.json {
        let mut text = serde_json::to_string_pretty(&serde_json::json!({ "entries": entries }))
            .expect("entries serialise");
        text.push('\n');
        return Ok(print_ok(&text));
    }
    // Times in the user's zone (`TZ`, else the system's), as a person reads a log.
    let zone = jiff::tz::TimeZone::system();
    let mut out = String::new();
    for e in &entries {
        let at = e.at.to_zoned(zone.clone()).strftime("%Y-%m-%d %H:%M:%S");
        let _ = writeln!(out, "{at}  {}", e.line());
    }
    Ok(print_ok(&out))
}

fn print_ok(text: &str) -> Outcome {
    print(text);
    Outcome::Ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_on_threads_comes_back_whole_and_in_order_even_with_no_thread_to_be_had() {
        let expected: Vec<usize> = (0..100).map(|i| i * i).collect();
        assert_eq!(on_threads(100, |i| i * i), expected);
        NO_THREADS.set(true);
        let here = std::thread::current().id();
        let runs = on_threads(100, |i| (i * i, std::thread::current().id()));
        NO_THREADS.set(false);
        assert_eq!(runs.iter().map(|r| r.0).collect::<Vec<_>>(), expected);
        assert!(
            runs.iter().all(|r| r.1 == here),
            "all on the calling thread"
        );
    }

    #[test]
    fn threads_stay_within_the_open_files_limit() {
        assert_eq!(workers(None), WORKERS);
        assert_eq!(workers(Some(1024)), WORKERS);
        assert_eq!(workers(Some(256)), 24);
        assert_eq!(workers(Some(100)), 4);
        assert_eq!(workers(Some(20)), 1);
    }
}
