//! `switcher completions SHELL` and `switcher man`: generated from the command line itself, so
//! every command the binary has (as its own `--help` lists them) is in each.

use crate::harness::Sandbox;

/// The commands `switcher --help` lists, `help` aside.
fn commands(sandbox: &Sandbox) -> Vec<String> {
    let help = sandbox.run_exact(&["--help"]);
    help.code(0);
    let listed: Vec<String> = help
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .filter(|c| c != "help")
        .collect();
    for expected in ["watch", "status", "completions", "man"] {
        assert!(listed.iter().any(|c| c == expected), "{listed:?}");
    }
    listed
}

#[test]
fn every_shell_completes_every_command() {
    let sandbox = Sandbox::new();
    let commands = commands(&sandbox);
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = sandbox.run_exact(&["completions", shell]);
        out.code(0);
        assert!(out.stdout.len() > 500, "{shell}: {}", out.stdout);
        for command in &commands {
            assert!(
                out.stdout.contains(command.as_str()),
                "{shell} lacks {command}"
            );
        }
        // Flags of subcommands are there too, not just the names.
        assert!(out.stdout.contains("--restore"), "{shell} lacks --restore");
    }
    sandbox.run_exact(&["completions", "tcsh"]).code(2);
}

#[test]
fn the_man_page_names_every_command_and_each_has_its_own() {
    let sandbox = Sandbox::new();
    let commands = commands(&sandbox);
    let main = sandbox.run_exact(&["man"]);
    main.code(0);
    assert!(main.stdout.starts_with(".ie") || main.stdout.contains(".TH switcher 1"));
    for command in &commands {
        assert!(
            main.stdout.contains(command.as_str()),
            "man lacks {command}"
        );
        let page = sandbox.run_exact(&["man", command]);
        page.code(0);
        assert!(
            page.stdout.contains(&format!(".TH switcher-{command} 1")),
            "{}",
            page.stdout
        );
    }
    let watch = sandbox.run_exact(&["man", "watch"]).stdout;
    assert!(watch.contains("\\-\\-once") && watch.contains("\\-\\-quota\\-file"));
    sandbox
        .run_exact(&["man", "nope"])
        .code(2)
        .stderr_has("no command `nope`");
}
