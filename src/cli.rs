//! The command line (README, Using it), as plain clap data. Resolving it against the environment
//! and the config happens in `settings`.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand};

use crate::target::Kind;

/// Switches AI coding agents to a fallback model when a provider's quota runs low, and back when
/// it recovers.
///
/// switcher watches agent config files (OpenCode's opencode.json, Claude Code's settings.json,
/// and both agents' Markdown agent files), learns each provider's remaining quota from status
/// files and usage APIs, and rewrites each model setting to the first healthy fallback, editing
/// only the bytes of the value.
#[derive(Debug, Parser)]
#[command(name = "switcher", version, propagate_version = true)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,

    #[command(flatten)]
    pub(crate) global: Global,
}

/// The global options `setup` takes no notice of (it uses --state-dir, --json, -v and -q).
const SETUP_IGNORES: [&str; 3] = ["config", "quota_files", "kind"];

/// The command line as clap knows it, built (global options propagated into every subcommand),
/// with the global options `setup` ignores hidden from its help, man pages and completions.
pub(crate) fn command() -> clap::Command {
    use clap::CommandFactory;
    let mut cmd = Cli::command();
    cmd.build();
    cmd.mut_subcommand("setup", |setup| {
        // Clap's own `help` subcommand takes no global options.
        let agents: Vec<String> = (setup.get_subcommands())
            .map(|a| a.get_name().to_owned())
            .filter(|name| name != "help")
            .collect();
        // In place (`mut_args`): a built command's lookup goes by each argument's position.
        let hide = |c: clap::Command| {
            c.mut_args(|a| {
                let ignored = SETUP_IGNORES.contains(&a.get_id().as_str());
                let hidden = ignored || a.is_hide_set();
                a.hide(hidden)
            })
        };
        agents
            .iter()
            .fold(hide(setup), |setup, name| setup.mut_subcommand(name, hide))
    })
}

/// Parses the process's command line (with [`command`] when it names `setup`); exits with clap's
/// message on an error.
pub(crate) fn parse() -> Cli {
    use clap::{CommandFactory, FromArgMatches};
    // Only `setup`'s help and errors show what [`command`] changes, and building every command
    // of the tree for it is a seventh of the instructions of a one-shot pass with nothing to
    // change; parsing builds the commands it goes through by itself.
    let mut cmd = if std::env::args_os().skip(1).any(|arg| arg == "setup") {
        command()
    } else {
        Cli::command()
    };
    let mut matches = cmd.get_matches_mut();
    let cli = Cli::from_arg_matches_mut(&mut matches).unwrap_or_else(|e| e.format(&mut cmd).exit());
    if let Some((path, kind, message)) = misuse(&cli, &cmd) {
        // Told with the usage of the command it is about.
        let mut sub = &mut cmd;
        for name in path {
            sub = sub
                .find_subcommand_mut(name)
                .expect("a command of this CLI");
        }
        sub.error(kind, message).exit();
    }
    cli
}

/// What the command line asks that clap's rules cannot refuse: a usage error (exit 2) too, of
/// the (sub)command named by the path.
fn misuse(
    cli: &Cli,
    cmd: &clap::Command,
) -> Option<(&'static [&'static str], clap::error::ErrorKind, String)> {
    use clap::error::ErrorKind;
    match &cli.command {
        Command::Setup(SetupAgent::Claude(_)) if cli.global.json => Some((
            &["setup", "claude"],
            ErrorKind::ArgumentConflict,
            "--json: `switcher setup claude` prints text only (its --dry-run prints a diff)".into(),
        )),
        Command::Man(Man {
            command: Some(name),
        }) if cmd.find_subcommand(name).is_none() => {
            let known: Vec<&str> = cmd.get_subcommands().map(|s| s.get_name()).collect();
            Some((
                &["man"],
                ErrorKind::InvalidValue,
                format!("no command `{name}`; the commands are {}", known.join(", ")),
            ))
        }
        _ => None,
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Watch targets and quota sources and switch as needed (or one pass with --once)
    ///
    /// Without --once or --restore, runs until interrupted. With no TARGET, the targets come from
    /// the config's `targets`, else from discovery: ./opencode.jsonc, ./opencode.json, the
    /// OpenCode user config and Claude Code's user settings, each if it exists, and the Markdown
    /// agent files of ./.opencode/agent(s)/, ./.claude/agents/ and both agents' user dirs. A JSON
    /// target brings the agent files of its scope.
    Watch(Watch),
    /// Show each provider's health and every slot's current and original model
    ///
    /// Reads quota sources and targets; writes nothing and takes no lock.
    Status(Status),
    /// Find the agents' configs and credentials on this machine and write a first config
    ///
    /// Shows which quota sources can be used and proposes fallback chains made only of models
    /// the configs already name, then writes the switcher config (--config, $SWITCHER_CONFIG,
    /// else ~/.config/switcher/config.json5) with comments explaining each choice. Never
    /// replaces an existing config without --force.
    Init(Init),
    /// Show the journal of switches and restores, newest last
    ///
    /// Every switch and restore, by every run mode, is kept in the state dir (the newest few
    /// thousand). --json prints one object: `{"entries": [{at, kind, target, slot, from, to,
    /// reason}]}`.
    Log(Log),
    /// Print a shell completion script
    ///
    /// bash: `switcher completions bash > ~/.local/share/bash-completion/completions/switcher`;
    /// zsh: into a directory of $fpath as `_switcher`; fish: `~/.config/fish/completions/switcher.fish`.
    Completions(Completions),
    /// Print the man page (roff), of switcher or of one of its commands
    ///
    /// `switcher man | man -l -` reads it; `switcher man watch` is the page of `switcher watch`.
    Man(Man),
    /// Claude Code's status-line command: records its rate limits, prints one line
    ///
    /// Reads the JSON Claude Code writes to a status-line command's stdin. Its `rate_limits`
    /// (five-hour and seven-day use of a claude.ai subscription) are recorded in the signals dir
    /// as provider anthropic; the line shows the model, both windows with their reset countdown
    /// and the switches in force for the session's project. Always exits 0. `switcher setup
    /// claude` installs it.
    Statusline(Statusline),
    /// Hook switcher into an agent: OpenCode's plugin, Claude Code's status line
    ///
    /// Prints what it wrote. Running it again changes nothing; --remove undoes exactly what it
    /// did: deletes the file it installed (OpenCode), or restores the value it replaced, byte for
    /// byte (Claude Code).
    #[command(subcommand)]
    Setup(SetupAgent),
}

#[derive(Debug, Args)]
pub(crate) struct Statusline {
    /// Also run this status-line command with the same stdin and print its output after ours
    ///
    /// One argument is a shell command, as Claude Code runs a status line (`--then 'bash
    /// ~/.claude/statusline.sh'`); several are a program and its arguments.
    #[arg(long, value_name = "CMD", num_args = 1.., allow_hyphen_values = true)]
    pub(crate) then: Vec<String>,
}

/// The agents `setup` can install into.
#[derive(Debug, Subcommand)]
pub(crate) enum SetupAgent {
    /// Install switcher's OpenCode plugin (`switcher.js`)
    ///
    /// Into OpenCode's user plugin dir ($XDG_CONFIG_HOME/opencode/plugin/), or a project's
    /// (<DIR>/.opencode/plugin/) with --project. Inside every OpenCode process it sends a prompt
    /// for a model switcher moved away from to the model it moved it to (read from the state
    /// dir's routes.json), and reports a provider's "usage limit reached" error to the signals
    /// dir. The state dir (--state-dir, $SWITCHER_STATE_DIR, else the default) is fixed in the
    /// file at install.
    Opencode(SetupArgs),
    /// Set Claude Code's statusLine to `switcher statusline`, keeping an existing one behind
    /// --then
    ///
    /// Edits the user's settings ($CLAUDE_CONFIG_DIR/settings.json, default
    /// ~/.claude/settings.json), or with --project DIR that project's .claude/settings.json,
    /// changing only the bytes of `statusLine`. The previous value is kept in the state dir, so
    /// --remove puts it back byte for byte (or removes the member, or the file, setup added).
    /// The command names this binary as you ran it and, when the state dir is not the default
    /// one, --state-dir. Running it again changes nothing, unless that command changed: then
    /// it is rewritten.
    Claude(SetupArgs),
}

/// What every `setup` takes.
#[derive(Debug, Args)]
pub(crate) struct SetupArgs {
    /// Set up this project (its `.opencode/` or `.claude/` dir) instead of the user's config
    #[arg(long, value_name = "DIR")]
    pub(crate) project: Option<PathBuf>,

    /// Undo what an earlier setup did, only where it is still ours: delete the installed file
    /// (OpenCode), restore the replaced statusLine (Claude Code)
    #[arg(long)]
    pub(crate) remove: bool,

    /// Print what would be written or deleted; change nothing
    #[arg(long)]
    pub(crate) dry_run: bool,
}

#[derive(Debug, Args)]
pub(crate) struct Init {
    /// Print the config that would be written (the findings go to stderr); write nothing
    #[arg(long)]
    pub(crate) dry_run: bool,

    /// Replace an existing config, keeping the old one beside it as `<name>.bak`
    #[arg(long)]
    pub(crate) force: bool,
}

#[derive(Debug, Args)]
pub(crate) struct Log {
    /// Only what happened in this last span (`90s`, `30m`, `2h`, `1d`, `1w`, or `1h30m`), or
    /// since this RFC 3339 time
    #[arg(long, value_name = "SPAN|TIME", value_parser = crate::journal::parse_since)]
    pub(crate) since: Option<crate::journal::Since>,
}

#[derive(Debug, Args)]
pub(crate) struct Completions {
    /// The shell to complete for
    #[arg(value_enum)]
    pub(crate) shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub(crate) struct Man {
    /// The command whose page to print (default: switcher's own, which lists them all)
    pub(crate) command: Option<String>,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("mode").multiple(false))]
pub(crate) struct Watch {
    /// Agent config files to manage
    pub(crate) targets: Vec<PathBuf>,

    /// Make one pass (read quota once, decide, apply), then exit
    ///
    /// Exits 0 when no managed slot ends on a RED model, 3 when one must stay on a RED model
    /// because no candidate is healthy, 1 on an error.
    #[arg(long, group = "mode")]
    pub(crate) once: bool,

    /// Put every slot this tool changed back to its original, then exit
    ///
    /// A slot changed by someone else since the switch is kept and reported. With no TARGET,
    /// restores every target recorded in the state dir. Needs no network.
    #[arg(long, group = "mode")]
    pub(crate) restore: bool,

    /// With --once or --restore: print what would change and a diff, write nothing
    ///
    /// Takes no lock and records nothing in the state dir; exits as the real pass would.
    #[arg(long, requires = "mode")]
    pub(crate) dry_run: bool,
}

#[derive(Debug, Args)]
pub(crate) struct Status {
    /// Agent config files to show (default: as for `watch`)
    pub(crate) targets: Vec<PathBuf>,

    /// A full-screen view that follows the daemon's data as it changes; `q` quits
    ///
    /// Shows each provider's windows as bars with percent, reset countdown and projection, the
    /// switches in force with their reasons, and the last events of the journal. Reads what the
    /// daemon keeps in the state dir (it polls no source itself) and writes nothing.
    #[arg(long, conflicts_with = "json")]
    pub(crate) watch: bool,
}

#[derive(Debug, Args)]
pub(crate) struct Global {
    /// Switcher config file (JSON5)
    ///
    /// Default: $SWITCHER_CONFIG, else $XDG_CONFIG_HOME/switcher/config.json5 (a missing default
    /// file means all defaults; a missing file named here is an error).
    #[arg(long, global = true, value_name = "PATH")]
    pub(crate) config: Option<PathBuf>,

    /// Add a status file as a quota source (repeatable)
    ///
    /// A JSON document of providers with `status`, `windows` and `error` fields, the shape a
    /// quota-sentinel daemon serves on /v1/providers.
    #[arg(long = "quota-file", global = true, value_name = "PATH", action = ArgAction::Append)]
    pub(crate) quota_files: Vec<PathBuf>,

    /// Where originals, streaks and quota history are kept
    ///
    /// Default: $SWITCHER_STATE_DIR, else $XDG_STATE_HOME/switcher (~/.local/state/switcher).
    #[arg(long, global = true, value_name = "PATH")]
    pub(crate) state_dir: Option<PathBuf>,

    /// Treat every TARGET as this kind of agent config instead of recognising it by name
    #[arg(long, global = true, value_enum)]
    pub(crate) kind: Option<Kind>,

    /// Machine-readable output: one JSON object (daemon: one JSON object per log line)
    #[arg(long, global = true)]
    pub(crate) json: bool,

    /// More log output on stderr (repeatable); SWITCHER_LOG overrides
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub(crate) verbose: u8,

    /// Less log output on stderr (repeatable)
    #[arg(short, long, global = true, action = ArgAction::Count, conflicts_with = "verbose")]
    pub(crate) quiet: u8,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
        command().debug_assert();
    }

    #[test]
    fn usage_errors() {
        let parse = |args: &[&str]| {
            Cli::try_parse_from(args)
                .map(|_| ())
                .map_err(|e| e.exit_code())
        };
        assert_eq!(parse(&["switcher", "watch", "--once", "--restore"]), Err(2));
        assert_eq!(parse(&["switcher", "watch", "--dry-run"]), Err(2));
        assert_eq!(parse(&["switcher", "watch", "--dry-run", "--once"]), Ok(()));
        assert_eq!(parse(&["switcher", "status", "--watch", "--json"]), Err(2));
        assert_eq!(
            parse(&["switcher", "log", "--since", "1h30m", "--json"]),
            Ok(())
        );
        assert_eq!(parse(&["switcher", "log", "--since", "soon"]), Err(2));
        assert_eq!(parse(&["switcher", "init", "--force", "--dry-run"]), Ok(()));
        assert_eq!(parse(&["switcher", "completions", "fish"]), Ok(()));
        assert_eq!(parse(&["switcher", "man", "watch"]), Ok(()));
        assert_eq!(parse(&["switcher", "setup", "opencode"]), Ok(()));
        assert_eq!(
            parse(&[
                "switcher",
                "setup",
                "opencode",
                "--project",
                ".",
                "--remove"
            ]),
            Ok(())
        );
        assert_eq!(parse(&["switcher", "setup"]), Err(2));
        assert_eq!(
            parse(&["switcher", "statusline", "--then", "bash", "-c", "x"]),
            Ok(())
        );
        assert_eq!(parse(&["switcher", "statusline", "--then"]), Err(2));
        assert_eq!(
            parse(&[
                "switcher",
                "setup",
                "claude",
                "--project",
                "p",
                "--remove",
                "--dry-run"
            ]),
            Ok(())
        );
        assert_eq!(
            parse(&[
                "switcher", "watch", "x.json", "--kind", "opencode", "--json"
            ]),
            Ok(())
        );
        assert_eq!(
            parse(&[
                "switcher",
                "status",
                "--quota-file",
                "a",
                "--quota-file",
                "b"
            ]),
            Ok(())
        );
    }
}
