//! `switcher statusline` and `switcher setup claude`: Claude Code's status line records the rate
//! limits Claude Code hands it and shows the switches in force; setup installs it and undoes that.

use std::fs;
use std::io::Write;
use std::process::Stdio;

use crate::harness::{Output, Sandbox, run_with_deadline};

/// Runs `switcher ARGS` with `stdin`.
fn with_stdin(s: &Sandbox, args: &[&str], stdin: &str) -> Output {
    let mut child = s
        .command(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn input(dir: &str, five_hour: f64) -> String {
    format!(
        r#"{{"session_id":"s","cwd":"{dir}","model":{{"id":"claude-opus-4-6","display_name":"Opus 4.6"}},
        "workspace":{{"current_dir":"{dir}","project_dir":"{dir}"}},
        "rate_limits":{{"five_hour":{{"used_percentage":{five_hour},"resets_at":1795279200}},
        "seven_day":{{"used_percentage":41,"resets_at":1795786800}}}}}}"#
    )
}

#[test]
fn the_status_line_records_the_windows_and_a_pass_switches_on_them() {
    let mut s = Sandbox::new();
    s.env("SWITCHER_NOW", "2026-11-21T14:10:00Z");
    let work = s.work().display().to_string();
    let out = with_stdin(&s, &["statusline"], &input(&work, 23.5));
    out.code(0)
        .stdout_is("[Opus 4.6] │ 5h █░░░░ 23.5% ↻2h30m │ 7d ██░░░ 41% ↻5d23h\n");
    let signal = s.state_dir().join("signals/claude-statusline.json");
    let first = fs::metadata(&signal).unwrap().modified().unwrap();
    // The same figures again: the file is left as it is.
    std::thread::sleep(std::time::Duration::from_millis(20));
    with_stdin(&s, &["statusline"], &input(&work, 23.5)).code(0);
    assert_eq!(fs::metadata(&signal).unwrap().modified().unwrap(), first);
    // At 96% the project's Claude settings switch, and the line shows it.
    with_stdin(&s, &["statusline"], &input(&work, 96.0)).code(0);
    s.write(".claude/settings.json", "{\"model\": \"opus\"}\n")
        .config(
            "{ sources: [], profiles: { glm: { provider: 'zai', model: 'glm-4.6',
               env: { ANTHROPIC_BASE_URL: 'https://api.z.ai/api/anthropic' } } },
               fallbacks: { opus: ['profile:glm'] } }",
        );
    s.run(&["watch", ".claude/settings.json", "--once"])
        .code(0)
        .stdout_is(
            ".claude/settings.json: model: opus -> profile:glm (anthropic five_hour 96% >= 90%)\n",
        );
    let out = with_stdin(&s, &["statusline"], &input(&work, 96.0));
    assert!(
        out.stdout.ends_with("│ ⇄ opus→profile glm\n"),
        "{}",
        out.stdout
    );
    // Another project's session does not show it.
    let out = with_stdin(&s, &["statusline"], &input("/elsewhere", 96.0));
    assert!(!out.stdout.contains('⇄'), "{}", out.stdout);
}

#[test]
fn bad_input_prints_a_minimal_line_and_exits_0() {
    let s = Sandbox::new();
    for stdin in ["", "garbage", "{\"rate_limits\": 7}", "{\"model\": "] {
        with_stdin(&s, &["statusline"], stdin)
            .code(0)
            .stdout_is("switcher\n");
    }
    assert!(!s.state_dir().join("signals").exists());
}

#[test]
fn then_runs_the_users_command_with_the_same_stdin() {
    let s = Sandbox::new();
    let out = with_stdin(
        &s,
        &["statusline", "--then", "printf 'mine: '; wc -c | tr -d ' '"],
        "{}",
    );
    out.code(0).stdout_is("switcher\nmine: 2\n");
    let out = with_stdin(&s, &["statusline", "--then", "/no/such/program", "x"], "{}");
    out.code(0).stdout_is("switcher\n");
}

#[test]
fn then_a_command_that_hangs_is_killed_and_our_line_stands() {
    let s = Sandbox::new();
    // The harness's deadline is far below the child's sleep: returning at all means it was cut.
    let mut cmd = s.command(&["statusline", "--then", "echo partial; sleep 600"]);
    cmd.env("SWITCHER_NOW", "2026-11-21T14:10:00Z");
    let out = run_with_deadline(cmd);
    out.code(0)
        .stdout_is("switcher\n")
        .stderr_has("still running after 2 s; killed");
}

#[test]
fn setup_claude_keeps_the_old_command_behind_then_and_remove_restores_its_bytes() {
    let s = Sandbox::new();
    let settings = "{\n  \"model\": \"opus\",\n  \"statusLine\": {\n    \"type\": \"command\",\n    \"command\": \"~/.claude/statusline.sh\"\n  }\n}\n";
    s.write("proj/.claude/settings.json", settings);
    let dry = s.run_exact(&["setup", "claude", "--project", "proj", "--dry-run"]);
    dry.code(0);
    assert!(
        dry.stdout.contains("--then '~/.claude/statusline.sh'"),
        "{}",
        dry.stdout
    );
    assert_eq!(s.read("proj/.claude/settings.json"), settings);
    s.run_exact(&["setup", "claude", "--project", "proj"])
        .code(0);
    let after = s.read("proj/.claude/settings.json");
    let value: serde_json::Value = serde_json::from_str(&after).unwrap();
    // The state dir is not the default one (the sandbox sets SWITCHER_STATE_DIR): named.
    assert_eq!(
        value["statusLine"]["command"],
        format!(
            "{} statusline --state-dir {} --then '~/.claude/statusline.sh'",
            env!("CARGO_BIN_EXE_switcher"),
            s.state_dir().display()
        )
    );
    assert_eq!(
        after
            .replace(value["statusLine"].to_string().as_str(), "X")
            .lines()
            .count(),
        4
    );
    s.run_exact(&["setup", "claude", "--project", "proj"])
        .code(0)
        .stdout_is("proj/.claude/settings.json: statusLine already runs switcher statusline; nothing to do\n");
    s.run_exact(&["setup", "claude", "--project", "proj", "--remove"])
        .code(0);
    assert_eq!(s.read("proj/.claude/settings.json"), settings);
}

#[test]
fn setup_claude_names_the_command_it_wrote_into_settings_with_comments() {
    let s = Sandbox::new();
    s.write(
        "proj/.claude/settings.json",
        "{\n  // mine\n  \"model\": \"opus\"\n}\n",
    );
    let expected = format!(
        "proj/.claude/settings.json: statusLine runs {} statusline --state-dir {}\n",
        env!("CARGO_BIN_EXE_switcher"),
        s.state_dir().display()
    );
    s.run_exact(&["setup", "claude", "--project", "proj"])
        .code(0)
        .stdout_is(&expected);
    assert!(s.read("proj/.claude/settings.json").contains("// mine"));
}

#[test]
fn setup_claude_in_the_user_settings_made_and_removed_whole() {
    let mut s = Sandbox::new();
    let dir = s.home().join("claude-config");
    s.env("CLAUDE_CONFIG_DIR", &dir.display().to_string());
    s.run_exact(&["setup", "claude"]).code(0);
    let settings = dir.join("settings.json");
    let value: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&settings).unwrap()).unwrap();
    assert_eq!(value["statusLine"]["type"], "command");
    s.run_exact(&["setup", "claude", "--remove"]).code(0);
    assert!(!settings.exists(), "the file setup made is gone");
    s.run_exact(&["setup", "claude", "--remove"])
        .code(0)
        .stdout_is(&format!(
            "{}: no status line set up by switcher; nothing to remove\n",
            settings.display()
        ));
}

#[test]
fn setup_claude_dry_run_masks_credentials_on_the_lines_it_shows() {
    let s = Sandbox::new();
    let token = "sk-zai-canary-9f3e1c";
    let settings = format!(
        "{{\"env\":{{\"ANTHROPIC_AUTH_TOKEN\":\"{token}\"}},\"statusLine\":{{\"type\":\"command\",\"command\":\"x\"}}}}\n"
    );
    s.write("p/.claude/settings.json", &settings);
    let out = s.run_exact(&["setup", "claude", "--project", "p", "--dry-run"]);
    out.code(0);
    assert!(
        out.stdout.contains("***") && !out.stdout.contains(token),
        "{}",
        out.stdout
    );
    assert!(
        !s.state_dir().join("setup").exists(),
        "a dry run records nothing"
    );
    s.run_exact(&["setup", "claude", "--project", "missing"])
        .code(1)
        .stderr_has("missing: no such directory");
}

#[test]
fn setup_claude_made_under_a_relative_or_symlinked_path_is_removed() {
    let s = Sandbox::new();
    // What a killed setup left goes.
    let stale = s.path(".claude/.settings.json.switcher-tmp.999999999.0");
    fs::create_dir_all(stale.parent().unwrap()).unwrap();
    fs::write(&stale, "{").unwrap();
    s.run_exact(&["setup", "claude", "--project", "."]).code(0);
    assert!(s.path(".claude/settings.json").exists());
    assert!(!stale.exists());
    s.run_exact(&["setup", "claude", "--project", ".", "--remove"])
        .code(0)
        .stdout_is("./.claude/settings.json: removed (switcher setup made it)\n");
    assert!(!s.path(".claude/settings.json").exists());
    assert!(s.path(".claude").is_dir(), "a dir setup did not make stays");
    // HOME through a symlink, its .claude dir not made yet.
    let mut s = Sandbox::new();
    let link = s.work().join("home-link");
    std::os::unix::fs::symlink(s.home(), &link).unwrap();
    s.env("HOME", &link.display().to_string());
    s.run_exact(&["setup", "claude"]).code(0);
    assert!(s.home().join(".claude/settings.json").exists());
    s.run_exact(&["setup", "claude", "--remove"]).code(0);
    assert!(
        !s.home().join(".claude").exists(),
        "the file setup made is gone, and the dir it made for it"
    );
}

#[test]
fn setup_claude_names_the_program_as_run_and_the_state_dir_only_when_not_the_default() {
    let s = Sandbox::new();
    // Installed as a symlink (a package manager's stable path): the link is named, not its
    // target.
    let bin = s.work().join("bin");
    fs::create_dir_all(&bin).unwrap();
    let link = bin.join("switcher");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_switcher"), &link).unwrap();
    let via_link = |args: &[&str], default_state_dir: bool| {
        let sandboxed = s.command(args);
        let mut cmd = std::process::Command::new(&link);
        cmd.args(args).current_dir(s.work()).env_clear();
        for (k, v) in sandboxed.get_envs() {
            if let Some(v) = v
                && !(default_state_dir && k == "SWITCHER_STATE_DIR")
            {
                cmd.env(k, v);
            }
        }
        run_with_deadline(cmd)
    };
    let command = || {
        let value: serde_json::Value =
            serde_json::from_str(&s.read(".claude/settings.json")).unwrap();
        value["statusLine"]["command"].as_str().unwrap().to_owned()
    };
    let setup = ["setup", "claude", "--project", "."];
    let remove = ["setup", "claude", "--project", ".", "--remove"];
    // The default state dir is not named.
    let out = via_link(&setup, true);
    out.code(0);
    assert_eq!(command(), format!("{} statusline", link.display()));
    assert!(out.stdout.contains(&command()), "{}", out.stdout);
    via_link(&remove, true).code(0);
    assert!(!s.path(".claude/settings.json").exists());
    // Another is.
    via_link(&setup, false).code(0);
    let baked = format!(" statusline --state-dir {}", s.state_dir().display());
    assert_eq!(command(), format!("{}{baked}", link.display()));
    // Run as another program path: our command is rewritten, not wrapped, nor left.
    let out = s.run_exact(&setup);
    out.code(0);
    assert!(out.stdout.ends_with("(updated)\n"), "{}", out.stdout);
    assert_eq!(
        command(),
        format!("{}{baked}", env!("CARGO_BIN_EXE_switcher"))
    );
    // That command runs: the status line takes the global --state-dir.
    let out = with_stdin(
        &s,
        &["statusline", "--state-dir", "elsewhere"],
        &input(&s.work().display().to_string(), 12.0),
    );
    out.code(0);
    assert!(s.path("elsewhere/signals/claude-statusline.json").exists());
    // --remove after the update still goes back to no file at all.
    s.run_exact(&remove).code(0);
    assert!(!s.path(".claude/settings.json").exists());
}

#[test]
fn setup_claude_leaves_read_only_settings_alone() {
    use std::os::unix::fs::PermissionsExt;
    let s = Sandbox::new();
    let settings = "{\n  \"model\": \"opus\"\n}\n";
    s.write("proj/.claude/settings.json", settings);
    let path = s.path("proj/.claude/settings.json");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
    s.run_exact(&["setup", "claude", "--project", "proj"])
        .code(1)
        .stderr_has("the file is read-only");
    assert_eq!(s.read("proj/.claude/settings.json"), settings);
    assert!(!s.state_dir().join("setup").exists(), "no record of it");
}

#[test]
fn setup_claude_whose_dir_cannot_be_made_leaves_no_record() {
    let s = Sandbox::new();
    // `~/.claude` a link to nowhere: its dir cannot be made.
    std::os::unix::fs::symlink(s.work().join("gone"), s.home().join(".claude")).unwrap();
    s.run_exact(&["setup", "claude"]).code(1);
    assert!(!s.state_dir().join("setup").exists(), "no record of it");
    assert!(!s.work().join("gone").exists());
}
