//! The `command` source: runs the configured program (an argv, no shell) and reads a status
//! document (README, Status files) from its stdout. It has no credentials to find, so
//! auto-detection never picks it: it exists only where a config names it.
//!
//! The program gets no stdin and the poll's timeout; when that expires it is killed, with
//! whatever it started in its process group. A non-zero exit or output that is not a status
//! document fails the poll.

use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command as Process;

use super::http::{self, Failure};
use super::{Build, Fault, Fetch, Poll, Provider, Reports, status_doc};

/// Output above this size is refused, like a provider's answer.
const MAX_OUTPUT: usize = http::MAX_BODY;
/// Only the start of stderr is kept: its first line goes into the error.
const MAX_STDERR: usize = 64 << 10;
/// How much of that first line an error quotes.
const MAX_QUOTE: usize = 200;

#[derive(Debug)]
pub struct Command {
    argv: Vec<String>,
    /// `argv[0]` as run: a path with `~` expanded and made absolute against the config's
    /// directory, or a bare name looked up in `PATH`.
    program: PathBuf,
}

pub fn build(command: &[String], build: &Build<'_>) -> Result<Box<dyn Provider>, Fault> {
    let argv = Some(command.to_vec())
        .filter(|argv| argv.first().is_some_and(|p| !p.is_empty()))
        .ok_or((
            "command",
            "required for source kind `command`: [\"program\", \"arg\"…]".to_owned(),
        ))?;
    let first = &argv[0];
    let program = if first.contains('/') {
        build
            .env
            .expand_path(first, build.config_dir)
            .map_err(|m| ("command", m))?
    } else {
        PathBuf::from(first)
    };
    Ok(Box::new(Command { argv, program }))
}

/// Parses what the command printed.
pub fn parse(stdout: &str, aliases: &crate::provider::Aliases) -> Result<Reports, String> {
    status_doc::parse(stdout, aliases).map_err(|e| format!("output is not a status document ({e})"))
}

/// How a run ended, for the error: the exit code or signal, and the first line of stderr.
fn describe(status: ExitStatus, stderr: &[u8]) -> String {
    let how = match status.code() {
        Some(code) => format!("exited with status {code}"),
        None => format!("ended by {status}"),
    };
    let text = String::from_utf8_lossy(stderr);
    let line = text.lines().map(str::trim).find(|l| !l.is_empty());
    match line {
        Some(line) if line.chars().count() > MAX_QUOTE => {
            let quoted: String = line.chars().take(MAX_QUOTE).collect();
            format!("{how}: {quoted}…")
        }
        Some(line) => format!("{how}: {line}"),
        None => how,
    }
}

/// Reads a pipe to its end, keeping at most `limit` bytes; `Err` when there was more and
/// `refuse` says that is an error, else the rest is drained and dropped.
async fn read_limited(
    mut pipe: impl AsyncRead + Unpin,
    limit: usize,
    refuse: bool,
) -> std::io::Result<Result<Vec<u8>, ()>> {
    let mut kept = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = pipe.read(&mut chunk).await?;
        if n == 0 {
            return Ok(Ok(kept));
        }
        let room = limit.saturating_sub(kept.len());
        if n > room && refuse {
            return Ok(Err(()));
        }
        kept.extend_from_slice(&chunk[..n.min(room)]);
    }
}

impl Command {
    async fn run(&self, timeout: Duration) -> Result<String, Failure> {
        let name = &self.argv[0];
        let mut process = Process::new(&self.program);
        process
            .args(&self.argv[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        #[cfg(unix)]
        process.process_group(0);
        let mut child = process
            .spawn()
            .map_err(|e| Failure::new(format!("cannot run {name}: {e}")))?;
        let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
            return Err(Failure::new(format!("cannot read the output of {name}")));
        };
        let run = async {
            let (out, err) = tokio::join!(
                read_limited(stdout, MAX_OUTPUT, true),
                read_limited(stderr, MAX_STDERR, false)
            );
            if matches!(out, Ok(Err(()))) {
                // Refused output: stop it now, with anything it started, before it is reaped.
                kill(&mut child).await;
            }
            (out, err, child.wait().await)
        };
        let ended = tokio::time::timeout(timeout, run).await;
        let (out, err, status) = match ended {
            Ok(ended) => ended,
            Err(_) => {
                kill(&mut child).await;
                let seconds = timeout.as_secs_f64();
                return Err(Failure::new(format!("{name}: no answer within {seconds}s")));
            }
        };
        let broken = |e: std::io::Error| Failure::new(format!("{name}: {e}"));
        let out = match out.map_err(broken)? {
            Ok(out) => out,
            Err(()) => {
                return Err(Failure::new(format!(
                    "{name}: output larger than {} MiB",
                    MAX_OUTPUT >> 20
                )));
            }
        };
        let status = status.map_err(broken)?;
        if !status.success() {
            let err = err.map_err(broken)?.unwrap_or_default();
            return Err(Failure::new(format!("{name} {}", describe(status, &err))));
        }
        String::from_utf8(out).map_err(|_| Failure::new(format!("{name}: output is not UTF-8")))
    }
}

/// Kills the child and everything in its process group, then reaps it.
async fn kill(child: &mut tokio::process::Child) {
    #[cfg(unix)]
    if let Some(pid) = child
        .id()
        .and_then(|id| rustix::process::Pid::from_raw(id as i32))
    {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
    let _ = child.kill().await;
}

impl Provider for Command {
    /// The arguments may hold a token: the id, which is persisted, keeps only a digest of them.
    fn id(&self) -> String {
        let digest = crate::secret::sha256(&self.argv.join("\u{0}"));
        format!("command:{}:{}", self.argv[0], &digest[..16])
    }

    fn label(&self) -> String {
        format!("command {}", self.argv[0])
    }

    /// Whom it reports on is known only from its answer: until then, every provider no other
    /// source covers is UNKNOWN.
    fn covers(&self) -> Vec<String> {
        vec![crate::quota::ANY.to_owned()]
    }

    /// A command that fails says nothing about its providers any more: they are UNKNOWN at once,
    /// as with a broken status file.
    fn forgets_data(&self) -> bool {
        true
    }

    fn fetch<'a>(&'a self, poll: &'a Poll<'a>) -> Fetch<'a> {
        Box::pin(async move {
            let stdout = self.run(poll.timeout).await?;
            parse(&stdout, poll.aliases).map_err(|e| Failure::new(format!("{}: {e}", self.argv[0])))
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Instant;

    use super::*;
    use crate::quota::Level;
    use crate::source::testing::{build, fetch, fixture, now};

    fn fixtures() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/providers/command")
    }

    fn sh(script: &str) -> String {
        let argv = serde_json::json!(["sh", "-c", script]);
        format!("{{kind: 'command', command: {argv}}}")
    }

    async fn run(entry: &str) -> Result<Reports, Failure> {
        let dir = tempfile::tempdir().unwrap();
        fetch(build(entry, dir.path(), &[]).unwrap().as_ref(), now()).await
    }

    #[test]
    fn parses_the_status_documents() {
        let aliases = crate::provider::Aliases::default();
        let ok = parse(&fixture("command", "ok.json"), &aliases).unwrap();
        assert_eq!(ok["zai"].windows["five_hour"].utilization, 21.0);
        assert_eq!(
            ok["zai"].windows["five_hour"]
                .resets_at
                .unwrap()
                .to_string(),
            "2026-11-21T15:00:00Z"
        );
        assert_eq!(ok["kimi"].windows["weekly"].utilization, 10.0, "alias");
        let near = parse(&fixture("command", "near_limit.json"), &aliases).unwrap();
        assert_eq!(near["zai"].windows["five_hour"].utilization, 92.0);
        let spent = parse(&fixture("command", "exhausted.json"), &aliases).unwrap();
        assert_eq!(spent["deepseek"].status, Some(Level::Red));
        let error = parse(&fixture("command", "error.json"), &aliases).unwrap();
        assert_eq!(error["minimax"].error.as_deref(), Some("HTTP 401"));
        let malformed = parse(&fixture("command", "malformed.json"), &aliases).unwrap();
        assert!(
            malformed["zai"]
                .error
                .as_deref()
                .unwrap()
                .contains("malformed entry"),
            "a bad entry fails only its provider"
        );
        assert!(
            parse("[]", &aliases)
                .unwrap_err()
                .starts_with("output is not a status document")
        );
    }

    #[tokio::test]
    async fn reads_what_the_command_prints() {
        let script = fixtures().join("status.sh");
        let entry = format!(
            "{{kind: 'command', command: ['sh', '{}', 'ok.json']}}",
            script.display()
        );
        let reports = run(&entry).await.unwrap();
        assert_eq!(reports["zai"].windows["five_hour"].utilization, 21.0);
        let reports = run(&sh(r#"echo '{"zai": {"status": "RED"}}'"#))
            .await
            .unwrap();
        assert_eq!(reports["zai"].status, Some(Level::Red));
    }

    #[tokio::test]
    async fn a_program_path_resolves_against_the_config_dir() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("quota.sh");
        std::fs::write(
            &script,
            "#!/bin/sh\necho '{\"zai\": {\"status\": \"GREEN\"}}'\n",
        )
        .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let source = build(
            "{kind: 'command', command: ['./quota.sh']}",
            dir.path(),
            &[],
        )
        .unwrap();
        assert_eq!(source.label(), "command ./quota.sh");
        assert!(
            source.id().starts_with("command:./quota.sh:"),
            "{}",
            source.id()
        );
        let with_token = build(
            "{kind: 'command', command: ['./quota.sh', '--token', 'tok-canary-1']}",
            dir.path(),
            &[],
        )
        .unwrap();
        assert!(
            !with_token.id().contains("tok-canary"),
            "the id is persisted"
        );
        assert_ne!(with_token.id(), source.id());
        assert!(source.found());
        let reports = fetch(source.as_ref(), now()).await.unwrap();
        assert_eq!(reports["zai"].status, Some(Level::Green));
    }

    #[tokio::test]
    async fn a_failing_command_names_its_status_and_stderr() {
        let err = run(&sh("echo '  first problem  ' >&2; echo second >&2; exit 3"))
            .await
            .unwrap_err();
        assert_eq!(err.error, "sh exited with status 3: first problem");
        let long = "x".repeat(500);
        let err = run(&sh(&format!("echo {long} >&2; exit 1")))
            .await
            .unwrap_err();
        assert!(err.error.ends_with('…'));
        assert!(err.error.len() < 260, "{}", err.error.len());
        let err = run(&sh("exit 2")).await.unwrap_err();
        assert_eq!(err.error, "sh exited with status 2");
        let err = run("{kind: 'command', command: ['switcher-no-such-program']}")
            .await
            .unwrap_err();
        assert!(
            err.error.starts_with("cannot run switcher-no-such-program"),
            "{}",
            err.error
        );
    }

    #[tokio::test]
    async fn bad_output_fails_the_poll() {
        let err = run(&sh("echo not json")).await.unwrap_err();
        assert!(
            err.error.starts_with("sh: output is not a status document"),
            "{}",
            err.error
        );
        let err = run(&sh("printf '\\377'")).await.unwrap_err();
        assert_eq!(err.error, "sh: output is not UTF-8");
    }

    #[tokio::test]
    async fn output_over_the_limit_is_refused() {
        let script = "head -c 5000000 /dev/zero";
        let err = run(&sh(script)).await.unwrap_err();
        assert_eq!(err.error, "sh: output larger than 4 MiB");
    }

    #[tokio::test]
    async fn a_command_past_its_timeout_is_killed_with_what_it_started() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("survived");
        // The background job outlives its shell unless the whole process group is killed.
        let script = format!("(sleep 1; touch '{}') & wait", marker.display());
        let source = build(&sh(&script), dir.path(), &[]).unwrap();
        let client = http::Client::new();
        let aliases = crate::provider::Aliases::default();
        let poll = Poll {
            client: &client,
            timeout: Duration::from_millis(200),
            aliases: &aliases,
            now: now(),
        };
        let started = Instant::now();
        let err = source.fetch(&poll).await.unwrap_err();
        assert_eq!(err.error, "sh: no answer within 0.2s");
        // Past the moment a survivor would have touched the marker.
        let later = started + Duration::from_millis(1600);
        tokio::time::sleep_until(later.into()).await;
        assert!(!marker.exists(), "the whole process group was killed");
    }

    #[test]
    fn needs_a_command() {
        let dir = tempfile::tempdir().unwrap();
        let err = build("{kind: 'command'}", dir.path(), &[]).unwrap_err();
        assert_eq!(err.0, "command");
        let err = build("{kind: 'command', command: ['']}", dir.path(), &[]).unwrap_err();
        assert_eq!(err.0, "command");
    }
}
