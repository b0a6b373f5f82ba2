//! One resolved view of the command line, the environment and the switcher config.
//!
//! The environment is read here once and handed down as data; nothing below reads it again.
//! Paths are expanded (`~`, `$VAR`) and made absolute, the config is validated, and every target
//! gets its kind, so the run modes only act.

mod agents;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use crate::cli::Global;
use crate::config::{Config, ConfigError};
use crate::engine::{Overrides, Policy, ProviderOverrides, Thresholds};
use crate::env::Env;
use crate::error::Error;
use crate::fsx;
use crate::plan::profile::{Profile, ProfileValue, is_credential_key};
use crate::provider::Aliases;
use crate::source::{Build, SourceSpec};
use crate::target::{Candidate, Kind, Places};

pub(crate) use agents::{AgentDir, AgentScope, markdown_files};

/// Between polls of a source, unless the config says otherwise.
pub(crate) const POLL_INTERVAL: Duration = Duration::from_secs(60);

/// A target to manage: the path as the user gave it, where it is, and what kind it is.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct TargetSpec {
    pub(crate) display: String,
    pub(crate) path: PathBuf,
    /// The kind, or why it could not be told.
    pub(crate) kind: Result<Kind, String>,
    /// For a Markdown agent file: its scope.
    pub(crate) agent: Option<AgentScope>,
    /// The path with symlinks resolved, when it was resolved to tell the targets apart: a pass
    /// takes it rather than resolving the path again.
    pub(crate) real: Option<PathBuf>,
}

#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub(crate) state_dir: PathBuf,
    pub(crate) targets: Vec<TargetSpec>,
    /// The agent dirs the targets' scopes bring: their files are among `targets`, and the
    /// daemon watches them for files added later.
    pub(crate) agent_dirs: Vec<AgentDir>,
    /// Claude Code's and OpenCode's config dirs, where targets are recognised by place.
    claude_dir: Option<PathBuf>,
    opencode_dir: Option<PathBuf>,
    /// The working directory: output names a recorded target relative to it.
    cwd: PathBuf,
    pub(crate) policy: Policy,
    pub(crate) aliases: Aliases,
    pub(crate) fallbacks: BTreeMap<String, Vec<Candidate>>,
    pub(crate) profiles: BTreeMap<String, Profile>,
    pub(crate) sources: Vec<SourceSpec>,
    /// A command run after each switch and restore.
    pub(crate) on_switch: Option<Vec<String>>,
    /// Desktop notifications are wanted: as the config says, else when a desktop session is
    /// present.
    pub(crate) notify: bool,
    /// The sources were auto-detected, not configured.
    pub(crate) sources_detected: bool,
    /// Colour is wanted (`NO_COLOR` is unset); it is used only on a terminal.
    pub(crate) color: bool,
    /// `SWITCHER_NOW`, for one-shot runs.
    pub(crate) now: Option<Timestamp>,
    pub(crate) json: bool,
    /// Where target discovery looked, for the "no target" message.
    pub(crate) discovery: Vec<PathBuf>,
    /// What the config sets that is valid but probably not meant.
    pub(crate) warnings: Vec<String>,
}

/// The state dir: `--state-dir`, else `$SWITCHER_STATE_DIR`, else `$XDG_STATE_HOME/switcher`.
/// The commands that need nothing else (the status line, `setup`) resolve only this.
pub(crate) fn state_dir(global: &Global, env: &Env) -> Result<PathBuf, Error> {
    Ok(match (&global.state_dir, env.var("SWITCHER_STATE_DIR")) {
        (Some(dir), _) => env.cwd.join(dir),
        (None, Some(dir)) => env.cwd.join(dir),
        (None, None) => env
            .state_home
            .as_ref()
            .map(|d| d.join("switcher"))
            .ok_or_else(|| {
                Error::Setup(
                    "cannot locate a state dir: set HOME, XDG_STATE_HOME or --state-dir".into(),
                )
            })?,
    })
}

impl Settings {
    /// Resolves everything. `targets` are the command line's TARGETs.
    pub(crate) fn resolve(
        global: &Global,
        targets: &[PathBuf],
        env: Env,
    ) -> Result<Settings, Error> {
        let (config, config_file) = load_config(global, &env)?;
        let config_dir = config_file
            .as_ref()
            .and_then(|(f, _)| f.parent().map(Path::to_owned))
            .unwrap_or_else(|| env.cwd.clone());
        let (file, text) = (config_file.as_ref()).map_or((Path::new(""), ""), |(f, t)| (f, t));
        let config_err =
            |field: &str, message: String| ConfigError::at_field(file, text, field.into(), message);

        let state_dir = state_dir(global, &env)?;

        let now = env
            .var("SWITCHER_NOW")
            .map(|text| {
                text.parse::<Timestamp>().map_err(|e| {
                    Error::Setup(format!(
                        "SWITCHER_NOW: expected an RFC 3339 time, got `{text}` ({e})"
                    ))
                })
            })
            .transpose()?;

        let poll_interval = config.poll_interval.unwrap_or(POLL_INTERVAL);
        let aliases = Aliases::new(&config.aliases.clone().unwrap_or_default());
        let mut sources: Vec<SourceSpec> = Vec::new();
        for path in &global.quota_files {
            sources.push(SourceSpec::file(
                env.cwd.join(path),
                path.display().to_string(),
                poll_interval,
            ));
        }
        let build = Build {
            env: &env,
            config_dir: &config_dir,
            state_dir: Some(&state_dir),
        };
        for (i, source) in config.sources.iter().flatten().enumerate() {
            let field = |name: &str| format!("sources[{i}].{name}");
            let spec = SourceSpec::configured(source, &build, poll_interval)
                .map_err(|(name, message)| config_err(&field(name), message))?;
            sources.push(spec);
        }
        // With no source configured at all, every built-in one whose credentials are found.
        let detected = config.sources.is_none() && global.quota_files.is_empty();
        if detected {
            sources = SourceSpec::detected(&build, poll_interval);
        }
        // The same source named twice (the CLI and the config, say) is polled once, as often as
        // the more frequent of the two asks.
        let mut merged: Vec<SourceSpec> = Vec::new();
        for source in sources {
            match merged.iter_mut().find(|s| s.id == source.id) {
                Some(first) => first.interval = first.interval.min(source.interval),
                None => merged.push(source),
            }
        }
        // The signals dir is read by every switcher, whatever the sources (README, "Signals").
        // Reading it costs a directory listing: often enough that its data never goes stale.
        if config.signals.unwrap_or(true) {
            let stale_after = (config.stale_after)
                .unwrap_or_else(|| Policy::default().stale_after.unsigned_abs());
            let interval = poll_interval
                .min(stale_after / 2)
                .max(Duration::from_secs(1));
            merged.push(SourceSpec::signals(&state_dir, interval));
        }
        let sources = merged;

        let mut discovery = Vec::new();
        let specs: Vec<(String, PathBuf)> = if !targets.is_empty() {
            targets
                .iter()
                .map(|t| (t.display().to_string(), env.cwd.join(t)))
                .collect()
        } else if let Some(list) = &config.targets {
            list.iter()
                .enumerate()
                .map(|(i, t)| {
                    let path = env
                        .expand_path(t, &config_dir)
                        .map_err(|m| config_err(&format!("targets[{i}]"), m))?;
                    Ok((t.clone(), path))
                })
                .collect::<Result<_, Error>>()?
        } else {
            discovery = discovery_paths(&env);
            discovery
                .iter()
                .filter(|p| p.is_file())
                .map(|p| {
                    (
                        p.strip_prefix(&env.cwd).unwrap_or(p).display().to_string(),
                        p.clone(),
                    )
                })
                .collect()
        };
        let claude_dir = env.claude_dir();
        let opencode_dir = env.config_home.as_ref().map(|d| d.join("opencode"));
        let real_claude_dir = claude_dir.as_ref().and_then(|d| d.canonicalize().ok());
        let real_opencode_dir = opencode_dir.as_ref().and_then(|d| d.canonicalize().ok());
        let places = Places {
            claude: claude_dir.as_deref(),
            opencode: opencode_dir.as_deref(),
        };
        let real_places = Places {
            claude: real_claude_dir.as_deref(),
            opencode: real_opencode_dir.as_deref(),
        };
        // One file reached twice (`./opencode.json` inside the OpenCode config dir, a symlink…)
        // is one target, under the first name it was given.
        let mut seen = std::collections::HashSet::new();
        let mut targets: Vec<TargetSpec> = specs
            .into_iter()
            .filter_map(|(display, path)| {
                let real = fsx::canonical(&path).ok();
                if !seen.insert(real.clone().unwrap_or_else(|| path.clone())) {
                    return None;
                }
                let detected = Kind::detect(&path, &places)
                    .or_else(|| Kind::detect(real.as_deref().unwrap_or(&path), &real_places));
                // A name no agent uses is the cause only if there is a file to tell by.
                let kind = global
                    .kind
                    .or(detected)
                    .ok_or_else(|| match path.metadata() {
                        Err(e) => format!("cannot read: {e}"),
                        Ok(meta) if meta.is_dir() => "cannot read: is a directory".to_owned(),
                        Ok(_) => "cannot tell which agent this config belongs to; name it \
                              opencode.json(c), .claude/settings.json or .opencode/agent/*.md, \
                              or pass --kind opencode|claude|opencode-agent|claude-agent"
                            .to_owned(),
                    });
                let agent = kind
                    .as_ref()
                    .ok()
                    .and_then(|&k| agents::named_scope(&path, k, &places));
                Some(TargetSpec {
                    display,
                    path,
                    kind,
                    agent,
                    real,
                })
            })
            .collect();
        // Each JSON target brings its scope's agent dirs; discovery looks in every scope's.
        let mut agent_dirs: Vec<AgentDir> = targets
            .iter()
            .filter_map(|t| Some((t, *t.kind.as_ref().ok()?)))
            .flat_map(|(t, kind)| AgentDir::of_target(kind, &t.path, &t.display, &places))
            .collect();
        if !discovery.is_empty() {
            agent_dirs.extend(discovery_agent_dirs(&env, &places));
        }
        let mut seen_dirs = std::collections::HashSet::new();
        agent_dirs.retain_mut(|d| {
            d.real = fsx::canonical(&d.path).ok();
            seen_dirs.insert(d.real.clone().unwrap_or_else(|| d.path.clone()))
        });
        for dir in &agent_dirs {
            for file in dir.files() {
                let real = (file.real).or_else(|| fsx::canonical(&file.path).ok());
                if seen.insert(real.clone().unwrap_or_else(|| file.path.clone())) {
                    targets.push(TargetSpec {
                        real,
                        ..dir.spec(&file.path)
                    });
                }
            }
        }

        let profiles = resolve_profiles(&config, &aliases, &env);
        Ok(Settings {
            warnings: config.warnings.iter().map(ToString::to_string).collect(),
            policy: policy(&config, &aliases)
                .map_err(|(field, message)| config_err(&field, message))?,
            aliases,
            fallbacks: config.fallbacks.clone().unwrap_or_default(),
            profiles,
            on_switch: config.on_switch.clone(),
            notify: config.notify.unwrap_or_else(|| desktop_session(&env)),
            sources_detected: detected,
            color: env.var("NO_COLOR").is_none(),
            sources,
            now,
            json: global.json,
            state_dir,
            targets,
            agent_dirs,
            claude_dir: claude_dir.clone(),
            opencode_dir: opencode_dir.clone(),
            cwd: env.cwd.clone(),
            discovery,
        })
    }

    /// The spec of a target known by its records (`--restore` with no TARGET), named by its
    /// path relative to the working directory when it is below it, else by its full path: the
    /// name it was given when it was switched may have been relative to another directory.
    pub(crate) fn recorded_spec(&self, path: PathBuf, kind: Kind) -> TargetSpec {
        // Resolved here, not at every start: only a restore of every recorded target asks.
        let here = fsx::canonical(&self.cwd).unwrap_or_else(|_| self.cwd.clone());
        let display = (path.strip_prefix(&here).unwrap_or(&path))
            .display()
            .to_string();
        let places = Places {
            claude: self.claude_dir.as_deref(),
            opencode: self.opencode_dir.as_deref(),
        };
        TargetSpec {
            agent: agents::named_scope(&path, kind, &places),
            display,
            path,
            kind: Ok(kind),
            real: None,
        }
    }

    /// OpenCode's user config dir (`$XDG_CONFIG_HOME/opencode`), whose configs hold for every
    /// OpenCode session.
    pub(crate) fn opencode_dir(&self) -> Option<&Path> {
        self.opencode_dir.as_deref()
    }

    /// "now" for a one-shot run: `SWITCHER_NOW` if set.
    pub(crate) fn now(&self) -> Timestamp {
        self.now.unwrap_or_else(Timestamp::now)
    }
}

/// Profiles with `${VAR}` expanded from the environment; a value whose variable is unset keeps
/// the reason, and the profile is skipped (with a warning) when it would be used.
fn resolve_profiles(config: &Config, aliases: &Aliases, env: &Env) -> BTreeMap<String, Profile> {
    config
        .profiles
        .iter()
        .flatten()
        .map(|(name, p)| {
            let values = p
                .env
                .iter()
                .map(|(key, raw)| ProfileValue {
                    key: key.clone(),
                    value: env.expand_braced(raw),
                    secret: raw.contains("${") || is_credential_key(key),
                })
                .collect();
            let profile = Profile {
                provider: aliases.resolve(&p.provider),
                model: p.model.clone(),
                env: values,
            };
            (name.clone(), profile)
        })
        .collect()
}

/// Whether a notification would reach someone: a graphical session on Linux and the BSDs (a
/// display and a session bus), any session but a remote shell on macOS and Windows.
fn desktop_session(env: &Env) -> bool {
    let remote = env.var("SSH_CONNECTION").is_some() || env.var("SSH_TTY").is_some();
    if cfg!(any(windows, target_os = "macos")) {
        return !remote;
    }
    let display = env.var("DISPLAY").is_some() || env.var("WAYLAND_DISPLAY").is_some();
    let bus = env.var("DBUS_SESSION_BUS_ADDRESS").is_some()
        || env
            .var("XDG_RUNTIME_DIR")
            .is_some_and(|dir| Path::new(dir).join("bus").exists());
    display && bus
}

/// Candidate targets when none is given: OpenCode's project and user configs, Claude Code's
/// user settings.
pub(crate) fn discovery_paths(env: &Env) -> Vec<PathBuf> {
    let mut paths = vec![
        env.cwd.join("opencode.jsonc"),
        env.cwd.join("opencode.json"),
    ];
    if let Some(config) = &env.config_home {
        paths.push(config.join("opencode/opencode.jsonc"));
        paths.push(config.join("opencode/opencode.json"));
    }
    if let Some(claude) = env.claude_dir() {
        paths.push(claude.join("settings.json"));
    }
    paths
}

/// Agent dirs discovery looks in besides those its JSON targets bring: the working directory's
/// project dirs, OpenCode's config dir and Claude Code's.
fn discovery_agent_dirs(env: &Env, places: &Places<'_>) -> Vec<AgentDir> {
    let mut dirs = vec![
        (Kind::OpenCodeAgent, env.cwd.join(".opencode/agent")),
        (Kind::OpenCodeAgent, env.cwd.join(".opencode/agents")),
        (Kind::ClaudeAgent, env.cwd.join(".claude/agents")),
    ];
    if let Some(opencode) = places.opencode {
        dirs.push((Kind::OpenCodeAgent, opencode.join("agent")));
        dirs.push((Kind::OpenCodeAgent, opencode.join("agents")));
    }
    if let Some(claude) = places.claude {
        dirs.push((Kind::ClaudeAgent, claude.join("agents")));
    }
    dirs.into_iter()
        .map(|(kind, path)| AgentDir::discovered(kind, path, &env.cwd, places))
        .collect()
}

/// Where the config is: `--config`, else `$SWITCHER_CONFIG` (both required to exist), else the
/// default location; `None` when there is no home to put it in.
pub(crate) fn config_path(global: &Global, env: &Env) -> Option<(PathBuf, bool)> {
    let explicit = global
        .config
        .as_ref()
        .map(|p| env.cwd.join(p))
        .or_else(|| env.var("SWITCHER_CONFIG").map(|p| env.cwd.join(p)));
    match explicit {
        Some(path) => Some((path, true)),
        None => env
            .config_home
            .as_ref()
            .map(|dir| (dir.join("switcher/config.json5"), false)),
    }
}

/// Finds and parses the config: `--config`, `$SWITCHER_CONFIG` (both must exist), else the
/// default location (all defaults if absent). With it, its file and text, in which later errors
/// are placed.
fn load_config(global: &Global, env: &Env) -> Result<(Config, Option<(PathBuf, String)>), Error> {
    let Some((path, required)) = config_path(global, env) else {
        return Ok((Config::default(), None));
    };
    let text = match fsx::read_limited(&path, fsx::MAX_FILE) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {
            return Ok((Config::default(), None));
        }
        Err(e) => {
            return Err(ConfigError {
                file: path,
                position: None,
                field: None,
                message: format!("cannot read: {e}"),
            }
            .into());
        }
    };
    let config = Config::parse(&text, &path)?;
    Ok((config, Some((path, text))))
}

/// The policy; `Err` names two `provider_thresholds` keys that are one provider.
fn policy(config: &Config, aliases: &Aliases) -> Result<Policy, (String, String)> {
    let defaults = Policy::default();
    let overrides = |t: &crate::config::ThresholdsConfig| Overrides {
        yellow: t.yellow,
        red: t.red,
    };
    let mut provider_thresholds = BTreeMap::new();
    let mut named = BTreeMap::new();
    for (provider, p) in config.provider_thresholds.iter().flatten() {
        let id = aliases.resolve(provider);
        if let Some(first) = named.insert(id.clone(), provider) {
            return Err((
                format!("provider_thresholds.{provider}"),
                format!("`{first}` and `{provider}` are the same provider ({id}); keep one"),
            ));
        }
        let windows = p
            .windows
            .iter()
            .map(|(w, t)| (w.clone(), overrides(t)))
            .collect();
        provider_thresholds.insert(
            id,
            ProviderOverrides {
                provider: overrides(&p.provider),
                windows,
            },
        );
    }
    let t = config.thresholds.unwrap_or_default();
    Ok(Policy {
        thresholds: Thresholds {
            yellow: t.yellow.unwrap_or(defaults.thresholds.yellow),
            red: t.red.unwrap_or(defaults.thresholds.red),
        },
        provider_thresholds,
        switch_at: config.switch_at.map_or(defaults.switch_at, Into::into),
        safety_margin: config.safety_margin.map_or(defaults.safety_margin, signed),
        stale_after: config.stale_after.map_or(defaults.stale_after, signed),
        recovery_hold: config.recovery_hold.unwrap_or(defaults.recovery_hold),
    })
}

/// A duration as the engine measures time between instants; one too long for that is as good as
/// forever.
fn signed(d: Duration) -> SignedDuration {
    SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX)
}
