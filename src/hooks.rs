//! `on_switch`: the user's command, run after each switch and restore (README, `on_switch`) with
//! what changed in its environment. A hook never blocks a pass: the daemon does not wait for it, a
//! one-shot run waits at most [`TIMEOUT`] for all of them, and a failure is only logged.

use std::io;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::apply::TargetRun;
use crate::plan::ChangeKind;

/// How long a hook may run before it is killed.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(10);

/// Starts the hook once per switch or restore in `runs`.
pub(crate) fn spawn(argv: &[String], runs: &[TargetRun]) -> Vec<(String, Child)> {
    let mut children = Vec::new();
    for run in runs {
        for change in run.changes.iter().filter(|c| c.kind != ChangeKind::Kept) {
            let what = format!("{}: {}", run.target, change.slot);
            let mut command = Command::new(&argv[0]);
            own_group(&mut command);
            let started = command
                .args(&argv[1..])
                .env("SWITCHER_TARGET", &run.target)
                .env("SWITCHER_SLOT", change.slot.to_string())
                .env("SWITCHER_FROM", &*change.from)
                .env("SWITCHER_TO", &*change.to)
                .env("SWITCHER_REASON", &*change.reason)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .spawn();
            match started {
                Ok(child) => children.push((what, child)),
                Err(e) => tracing::warn!("on_switch for {what}: cannot run {}: {e}", argv[0]),
            }
        }
    }
    children
}

/// Waits for hooks until `deadline`, then kills what still runs; logs failures.
pub(crate) fn reap(children: Vec<(String, Child)>, deadline: Instant) {
    for (what, mut child) in children {
        match wait_until(&mut child, deadline) {
            Ok(Some(status)) if !status.success() => {
                tracing::warn!("on_switch for {what} failed: {status}");
            }
            Ok(Some(_)) => {}
            Ok(None) => tracing::warn!(
                "on_switch for {what} still running after {}s; killed",
                TIMEOUT.as_secs()
            ),
            Err(e) => tracing::warn!("on_switch for {what}: {e}"),
        }
    }
}

/// Waits for `child` until `deadline`; past it (or when it cannot be waited on), kills it and
/// what it started ([`kill_tree`]) and returns `None` (or the error).
pub(crate) fn wait_until(child: &mut Child, deadline: Instant) -> io::Result<Option<ExitStatus>> {
    loop {
        let waited = child.try_wait();
        if let Ok(Some(status)) = waited {
            return Ok(Some(status));
        }
        if waited.is_err() || Instant::now() >= deadline {
            kill_tree(child);
            let _ = child.wait();
            return waited.map(|_| None);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Starts the hook in its own process group, so that a timeout ends what it started too, and a
/// Ctrl-C meant for switcher is not sent to it.
pub(crate) fn own_group(command: &mut Command) {
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(command, 0);
    #[cfg(windows)]
    {
        use std::os::windows::process::CommandExt;
        command.creation_flags(windows_sys::Win32::System::Threading::CREATE_NEW_PROCESS_GROUP);
    }
}

/// Kills the hook and what it started: its process group on Unix, its process tree on Windows
/// (which has no group to signal; `taskkill /T` walks the children, and must run before the
/// hook itself is gone).
pub(crate) fn kill_tree(child: &mut Child) {
    #[cfg(unix)]
    if let Some(group) = rustix::process::Pid::from_raw(child.id() as i32) {
        let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
    }
    #[cfg(windows)]
    let _ = Command::new("taskkill")
        .args(["/F", "/T", "/PID", &child.id().to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let _ = child.kill();
}

/// Runs the hook for `runs` in the background: nothing waits for it.
pub(crate) fn detach(argv: &[String], runs: &[TargetRun]) {
    let children = spawn(argv, runs);
    // Without a thread (a process limit), the hook runs on unwatched: no time limit, and it
    // stays a zombie after it ends until switcher exits.
    if !children.is_empty() {
        let _ = std::thread::Builder::new().spawn(move || reap(children, Instant::now() + TIMEOUT));
    }
}
