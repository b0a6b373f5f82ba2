//! `switcher init`: finds the agent configs and credentials in the sandbox's home, proposes
//! chains only from models the configs name, writes a config that switcher itself then reads,
//! and never overwrites one without `--force` (which keeps a backup).

use crate::harness::Sandbox;

const OPENCODE: &str = r#"{
  "model": "zai-coding-plan/glm-4.6",
  "small_model": "deepseek/deepseek-chat",
  "provider": { "openrouter": { "models": { "qwen/qwen3-coder": {} } } }
}
"#;

fn machine() -> Sandbox {
    let mut s = Sandbox::new();
    s.env("Z_AI_API_KEY", "canary-key-1234");
    let home = s.home();
    std::fs::create_dir_all(home.join(".config/opencode")).unwrap();
    std::fs::write(home.join(".config/opencode/opencode.json"), OPENCODE).unwrap();
    std::fs::create_dir_all(home.join(".claude")).unwrap();
    std::fs::write(
        home.join(".claude/settings.json"),
        "{\"model\": \"opus\"}\n",
    )
    .unwrap();
    s
}

#[test]
fn writes_a_config_switcher_reads_with_chains_from_named_models_only() {
    let s = machine();
    let out = s.run_exact(&["init"]);
    out.code(0);
    assert!(
        out.stdout
            .contains("~/.config/opencode/opencode.json (opencode, 2 model slots)"),
        "{}",
        out.stdout
    );
    assert!(
        (out.stdout).contains("~/.claude/settings.json (claude, 1 model slot)\n"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("  zai (covers zai)"), "{}", out.stdout);
    let path = s.home().join(".config/switcher/config.json5");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("canary"), "no credential in the config");
    assert!(
        text.contains(r#""zai-coding-plan/glm-4.6": ["deepseek/deepseek-chat", "openrouter/qwen/qwen3-coder"],"#),
        "{text}"
    );
    assert!(
        text.contains("// No chain: no quota source watches deepseek"),
        "{text}"
    );
    // Every id in the file is one the agents' configs name (OpenCode's `provider.<id>.models`
    // keys make `<id>/<model>`).
    let named = [
        "zai-coding-plan/glm-4.6",
        "deepseek/deepseek-chat",
        "openrouter/qwen/qwen3-coder",
        "opus",
    ];
    for id in text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .flat_map(|l| l.split('"').skip(1).step_by(2))
    {
        assert!(
            named.contains(&id) || id.starts_with("~/"),
            "invented id {id}"
        );
    }
    // switcher reads it back, strictly, as its default config.
    let status = s.run_exact(&["status"]);
    status.code(0);
    assert!(
        status.stdout.contains("~/.config/opencode/opencode.json"),
        "{}",
        status.stdout
    );
    s.run_exact(&["watch", "--once", "--dry-run"]).code(0);
}

#[test]
fn never_overwrites_without_force_and_force_keeps_a_backup() {
    let s = machine();
    let path = s.home().join(".config/switcher/config.json5");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, "{ recovery_hold: 5 }\n").unwrap();
    s.run_exact(&["init"]).code(1).stderr_has("--force");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "{ recovery_hold: 5 }\n"
    );

    let dry = s.run_exact(&["init", "--dry-run"]);
    dry.code(0);
    assert!(
        dry.stdout.starts_with("// switcher's config"),
        "{}",
        dry.stdout
    );
    assert!(dry.stderr.contains("Agent configs found"));
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "{ recovery_hold: 5 }\n"
    );

    // The backup keeps the old config's mode (it may hold API keys), also over an older backup
    // that is read-only; a config switcher may not write leaves the older backup as it was.
    let bak = path.with_file_name("config.json5.bak");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path, m| {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap()
        };
        std::fs::write(&bak, "older\n").unwrap();
        mode(&path, 0o400);
        (s.run_exact(&["init", "--force"]).code(1)).stderr_has("read-only");
        assert_eq!(std::fs::read_to_string(&bak).unwrap(), "older\n");
        mode(&path, 0o600);
        mode(&bak, 0o400);
    }
    s.run_exact(&["init", "--force"]).code(0);
    assert_eq!(
        std::fs::read_to_string(&bak).unwrap(),
        "{ recovery_hold: 5 }\n"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&bak).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "the backup is as private as the config was"
        );
    }
    assert_eq!(std::fs::read_to_string(&path).unwrap(), {
        let mut dry = dry.stdout.clone();
        dry.truncate(dry.len());
        dry
    });
}

#[test]
fn a_bare_machine_still_gets_a_valid_config() {
    let s = Sandbox::new();
    let out = s.run_exact(&["init", "--config", "switcher.json5"]);
    out.code(0);
    assert!(
        out.stdout.contains("none: no agent login or API key found"),
        "{}",
        out.stdout
    );
    let text = s.read("switcher.json5");
    assert!(text.contains("targets: [\n  ],"), "{text}");
    // An empty target list is valid config; status then says there is no target.
    s.run_exact(&["status", "--config", "switcher.json5"])
        .code(1)
        .stderr_has("no target");
}
