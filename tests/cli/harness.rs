//! A sandbox per test: its own HOME, XDG dirs, state dir and working directory, and a builder
//! that runs the real `switcher` binary there with a cleared environment.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

pub struct Sandbox {
    dir: TempDir,
    env: Vec<(String, String)>,
}

pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["home", "work", "state"] {
            fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        Sandbox {
            dir,
            env: Vec::new(),
        }
    }

    /// The working directory, where relative paths point.
    pub fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// The routes file (`<state dir>/routes.json`) as JSON.
    pub fn routes(&self) -> serde_json::Value {
        serde_json::from_str(&fs::read_to_string(self.state_dir().join("routes.json")).unwrap())
            .unwrap()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.work().join(rel)
    }

    pub fn write(&self, rel: &str, content: &str) -> &Self {
        let path = self.path(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
        self
    }

    pub fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.path(rel)).unwrap()
    }

    /// Writes `quota.json`, the status file every `run` passes with `--quota-file`.
    pub fn quota(&self, json: &str) -> &Self {
        self.write("quota.json", json)
    }

    /// Writes `switcher.json5`, the config every `run` passes with `--config`.
    pub fn config(&self, json5: &str) -> &Self {
        self.write("switcher.json5", json5)
    }

    /// An environment variable for every later run.
    pub fn env(&mut self, key: &str, value: &str) -> &mut Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// The state dir's files, as relative paths.
    pub fn state_files(&self) -> Vec<String> {
        let mut out = Vec::new();
        walk(&self.state_dir(), &self.state_dir(), &mut out);
        out.sort();
        out
    }

    /// How many of switcher's temp files lie in the work dir (a write cut short leaves one).
    pub fn temp_files(&self) -> usize {
        fs::read_dir(self.work())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().contains(".switcher-tmp."))
            .count()
    }

    /// Runs `switcher ARGS`; `quota.json` and `switcher.json5` are passed when they exist.
    pub fn run(&self, args: &[&str]) -> Output {
        let mut full: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
        if self.path("quota.json").exists() {
            full.extend(["--quota-file".into(), "quota.json".into()]);
        }
        if self.path("switcher.json5").exists() {
            full.extend(["--config".into(), "switcher.json5".into()]);
        }
        self.run_exact(&full.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// Runs `switcher ARGS` exactly as given.
    pub fn run_exact(&self, args: &[&str]) -> Output {
        run_with_deadline(self.command(args))
    }

    /// `switcher ARGS` in the sandbox: cleared environment, its own HOME, XDG dirs and state dir.
    pub fn command<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Command {
        let home = self.home();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_switcher"));
        cmd.args(args)
            .current_dir(self.work())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_STATE_HOME", home.join(".local/state"))
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env("SWITCHER_STATE_DIR", self.state_dir())
            .env("SWITCHER_NO_KEYCHAIN", "1");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// `switcher watch TARGET --once`.
    pub fn once(&self, target: &str) -> Output {
        self.run(&["watch", target, "--once"])
    }

    /// A file's canonical path, as `--json` and the journal give it.
    pub fn real(&self, rel: &str) -> String {
        fs::canonicalize(self.path(rel))
            .unwrap()
            .to_string_lossy()
            .into_owned()
    }

    /// The name the state dir files a target under (`targets/<key>.json`, `locks/<key>.lock`),
    /// found through its records: the target must have some.
    pub fn state_key(&self, rel: &str) -> String {
        let canonical = fs::canonicalize(self.path(rel)).unwrap();
        for entry in fs::read_dir(self.state_dir().join("targets")).unwrap() {
            let path = entry.unwrap().path();
            let records: serde_json::Value =
                serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
            if records["target"].as_str() == canonical.to_str() {
                return path.file_stem().unwrap().to_string_lossy().into_owned();
            }
        }
        panic!("no records for {rel}");
    }

    /// Takes a lock of the state dir (`quota.lock`, `locks/<key>.lock`) the way a switcher
    /// does, writing `holder` in it, and holds it until the file is dropped: another switcher,
    /// stopped while it holds the lock. The child processes tests start never inherit it.
    pub fn hold_lock(&self, rel: &str, holder: &str) -> fs::File {
        use std::io::Write;
        let path = self.state_dir().join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .unwrap();
        file.try_lock().expect("the lock is free");
        file.set_len(0).unwrap();
        file.write_all(holder.as_bytes()).unwrap();
        file
    }
}

impl Output {
    /// Asserts the exit code, showing the output when it differs.
    #[track_caller]
    pub fn code(&self, expected: i32) -> &Self {
        assert_eq!(
            self.code, expected,
            "exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn stdout_is(&self, expected: &str) -> &Self {
        assert_eq!(self.stdout, expected, "stdout (stderr: {})", self.stderr);
        self
    }

    #[track_caller]
    pub fn stderr_has(&self, needle: &str) -> &Self {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}:\n{}",
            self.stderr
        );
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

/// Runs a one-shot command, killing it if it is still running after [`DEADLINE`]: a hang fails
/// the test (code -1, `timed out` on stderr) instead of blocking the suite.
pub fn run_with_deadline(mut cmd: Command) -> Output {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("switcher runs");
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            String::from_utf8(bytes).unwrap()
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    };
    let (stdout, mut stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
    if status.is_none() {
        stderr.push_str(&format!("\ntimed out after {DEADLINE:?}"));
    }
    Output {
        code: status.and_then(|s| s.code()).unwrap_or(-1),
        stdout,
        stderr,
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(root, &path, out);
        } else {
            out.push(path.strip_prefix(root).unwrap().display().to_string());
        }
    }
}

/// An OpenCode config with a main model and two agents.
pub const OPENCODE: &str = r#"{
  "model": "zai-coding-plan/glm-4.6",
  "agent": {
    "build": { "model": "zai-coding-plan/glm-4.6" },
    "review": { "model": "github-copilot/gpt-5" }
  }
}
"#;

/// Fallback chains for [`OPENCODE`]'s models.
pub const CHAINS: &str = r#"{
  fallbacks: {
    "zai-coding-plan/glm-4.6": ["deepseek/deepseek-chat", "kimi-for-coding/k2"],
    "github-copilot/gpt-5": ["openrouter/qwen/qwen3-coder"],
  },
}"#;

/// How long a daemon test waits for something before failing.
pub const DEADLINE: std::time::Duration = std::time::Duration::from_secs(15);

/// A running `switcher watch`, with its stderr collected line by line.
pub struct Daemon {
    child: std::process::Child,
    lines: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    /// Collects stderr; finished once every writer of the pipe has exited.
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Sandbox {
    /// Starts `switcher watch ARGS -v` (with `quota.json` and `switcher.json5` when they exist)
    /// and waits until it watches.
    pub fn daemon(&self, args: &[&str]) -> Daemon {
        let mut full: Vec<String> = vec!["watch".into(), "-v".into()];
        full.extend(args.iter().map(|s| (*s).to_owned()));
        if self.path("quota.json").exists() {
            full.extend(["--quota-file".into(), "quota.json".into()]);
        }
        if self.path("switcher.json5").exists() {
            full.extend(["--config".into(), "switcher.json5".into()]);
        }
        let daemon = self.spawn(&full);
        daemon.wait_line("watching", 1);
        daemon
    }

    /// Starts `switcher ARGS` in the background without waiting for anything.
    pub fn spawn(&self, args: &[String]) -> Daemon {
        let mut child = self
            .command(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("switcher starts");
        let stderr = child.stderr.take().unwrap();
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = lines.clone();
        let reader = std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                sink.lock().unwrap().push(line);
            }
        });
        Daemon {
            child,
            lines,
            reader: Some(reader),
        }
    }

    /// Replaces a file the way editors do: write a new file, rename it over the old one.
    pub fn rename_over(&self, rel: &str, content: &str) {
        let tmp = self.path(&format!("{rel}.editor-tmp"));
        fs::write(&tmp, content).unwrap();
        fs::rename(tmp, self.path(rel)).unwrap();
    }
}

impl Daemon {
    /// The log so far.
    pub fn log(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }

    /// How many log lines contain `needle`.
    pub fn count(&self, needle: &str) -> usize {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains(needle))
            .count()
    }

    /// Waits until at least `n` log lines contain `needle`.
    #[track_caller]
    pub fn wait_line(&self, needle: &str, n: usize) -> &Self {
        self.wait(&format!("{n} line(s) with {needle:?}"), || {
            self.count(needle) >= n
        })
    }

    /// Waits until `done` holds, failing with the log after [`DEADLINE`].
    #[track_caller]
    pub fn wait(&self, what: &str, done: impl Fn() -> bool) -> &Self {
        let start = std::time::Instant::now();
        while !done() {
            if start.elapsed() > DEADLINE {
                panic!("timed out waiting for {what}; log:\n{}", self.log());
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        self
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and returns the exit code.
    pub fn stop(mut self) -> i32 {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32).unwrap();
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
        self.exit_code()
    }

    /// Waits for the process to end by itself.
    pub fn exit_code(&mut self) -> i32 {
        let start = std::time::Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Its last lines may still be in the pipe. Wait for them briefly: a hook it
                // started can hold the pipe open for longer.
                let drained = std::time::Instant::now();
                while self.reader.as_ref().is_some_and(|r| !r.is_finished())
                    && drained.elapsed() < std::time::Duration::from_secs(2)
                {
                    std::thread::sleep(std::time::Duration::from_millis(2));
                }
                return status.code().unwrap_or(-1);
            }
            if start.elapsed() > DEADLINE {
                panic!("did not exit; log:\n{}", self.log());
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
