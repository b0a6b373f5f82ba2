//! Markdown agent files (README, Targets: Markdown agents) through the binary: every real file of
//! `tests/fixtures/agents/` switched and restored byte for byte, files without a slot never
//! written, unmanaged forms named with their line, the provider of a Claude Code agent taken
//! from its scope's settings, `status` grouping agents under their scope, and the daemon finding
//! agent files created later.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::harness::Sandbox;

/// Every fixture, with the model its front matter gives it (`None`: no managed `model:`).
const FIXTURES: &[(&str, Option<&str>)] = &[
    (
        "claude/012090120901209__ahk-converter__code-reviewer.md",
        Some("sonnet"),
    ),
    (
        "claude/012090120901209__ahk-converter__mcp-deployment-orchestrator.md",
        Some("sonnet"),
    ),
    (
        "claude/012090120901209__ahk-converter__prompt-engineer.md",
        Some("opus"),
    ),
    (
        "claude/0motionguy__gICM__smart-contract-forensics.md",
        Some("opus"),
    ),
    (
        "claude/0r0loo__my-claude-code-toolkit__code-reviewer.md",
        Some("opus"),
    ),
    ("claude/21st-dev__1code__architecture-specialist.md", None),
    (
        "claude/21st-dev__1code__data-flow-architect.md",
        Some("sonnet"),
    ),
    ("claude/21st-dev__1code__test-runner.md", None),
    (
        "claude/256Taras__fastify-typescript-drizzle-starter-kit__attacker.md",
        Some("sonnet"),
    ),
    ("claude/360AYA25__ClaudeN8N__architect.md", Some("glm-4.7")),
    ("claude/AceHack__Zeta__architect.md", None),
    (
        "claude/AlvaroFalcon__clautron__tauri-expert.md",
        Some("sonnet"),
    ),
    (
        "claude/Beaulewis1977__master-workflow__1-engine-architect.md",
        None,
    ),
    (
        "claude/Beaulewis1977__master-workflow__sparc-methodology-agent.md",
        Some("opus"),
    ),
    (
        "claude/Beaulewis1977__master-workflow__workflow-orchestrator.md",
        Some("opus"),
    ),
    (
        "claude/DougTanner__BrokenEngine__implementer.md",
        Some("opus"),
    ),
    ("claude/DougTanner__BrokenEngine__planner.md", Some("fable")),
    ("claude/GrupoUS__neonpro__tdd-orchestrator.md", None),
    (
        "claude/devalexanderdaza__opencode-dev-environment__debug.md",
        Some("opus"),
    ),
    ("claude/input-output-hk__lace__scout.md", Some("haiku")),
    (
        "opencode/CCALITA__everything-claude-code__architect.md",
        Some("opencode/minimax-m2.5-free"),
    ),
    (
        "opencode/CCALITA__everything-claude-code__build-error-resolver.md",
        Some("opencode/minimax-m2.5-free"),
    ),
    (
        "opencode/DaRacci__nix-config__docs.md",
        Some("copilot/gpt-4.1"),
    ),
    ("opencode/Kyohei-Prj__opencode-config__tdd-builder.md", None),
    (
        "opencode/darrenhinde__mastra-eval-template__documentation.md",
        Some("claude-3.5-sonnet"),
    ),
    (
        "opencode/deadronos__SpaceAutoBattler__coder.md",
        Some("gpt-5-mini"),
    ),
    (
        "opencode/input-output-hk__lace__planner-researcher.md",
        Some("anthropic/claude-opus-4-1-20250805"),
    ),
    ("opencode/input-output-hk__lace__ui-ux-designer.md", None),
    (
        "opencode/jd-santos__Dotfiles__plan.md",
        Some("anthropic/claude-opus-4-6"),
    ),
    ("opencode/kleverhq__wavepeek__review.md", None),
    (
        "opencode/lorenzorasmussen__opencode__build.md",
        Some("opencode/grok-code"),
    ),
    (
        "opencode/lorenzorasmussen__opencode__plan.md",
        Some("opencode/code-supernova"),
    ),
    (
        "opencode/lorenzorasmussen__opencode__researcher.md",
        Some("perplexity/sonar-pro"),
    ),
    ("opencode/shahboura__agents-opencode__planner.md", None),
    (
        "opencode/sssuhanov__opencode-kit__opencode-core-ask.md",
        Some("openai/gpt-5.1-codex-mini"),
    ),
];

/// Where a fixture goes in a project: OpenCode's into `.opencode/agent/`, Claude Code's into
/// `.claude/agents/`.
fn place(fixture: &str) -> String {
    let (kind, name) = fixture.split_once('/').unwrap();
    match kind {
        "opencode" => format!(".opencode/agent/{name}"),
        _ => format!(".claude/agents/{name}"),
    }
}

fn fixture(fixture: &str) -> Vec<u8> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/agents");
    fs::read(root.join(fixture)).unwrap()
}

#[test]
fn every_real_agent_file_switches_and_restores_byte_for_byte() {
    let s = Sandbox::new();
    let mut originals: Vec<String> = Vec::new();
    for (name, model) in FIXTURES {
        let path = s.path(&place(name));
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, fixture(name)).unwrap();
        originals.extend(model.map(str::to_owned));
    }
    originals.sort();
    originals.dedup();
    let chains: Vec<String> = originals
        .iter()
        .map(|m| format!("{m:?}: [\"fallback/model\"]"))
        .collect();
    s.config(&format!("{{fallbacks: {{{}}}}}", chains.join(", ")));
    s.quota(
        // Claude Code agents share their endpoint's provider: a window scoped to their models
        // leaves the fallback free.
        r#"{"anthropic": {"windows": {"seven_day": {"utilization": 99,
                "models": ["opus", "sonnet", "haiku", "glm-4.7", "fable"]}}},
            "opencode": {"status": "RED"},
            "copilot": {"status": "RED"}, "claude-3.5-sonnet": {"status": "RED"},
            "gpt-5-mini": {"status": "RED"}, "perplexity": {"status": "RED"},
            "openai": {"status": "RED"}}"#,
    );
    let inode = |name: &str| fs::metadata(s.path(&place(name))).unwrap().ino();
    let before: Vec<u64> = FIXTURES.iter().map(|(n, _)| inode(n)).collect();

    // No TARGET: discovery brings the project's agent dirs.
    let out = s.run(&["watch", "--once"]);
    out.code(0);
    let switched = FIXTURES.iter().filter(|(_, m)| m.is_some()).count();
    assert_eq!(out.stdout.lines().count(), switched, "{}", out.stdout);
    for ((name, model), ino) in FIXTURES.iter().zip(&before) {
        let now = fs::read(s.path(&place(name))).unwrap();
        match model {
            Some(model) => {
                let line = format!("{}: model: {model} -> fallback/model (", place(name));
                assert!(out.stdout.contains(&line), "{line}\n{}", out.stdout);
                // Only the value changed: the rest of the file is the same, byte for byte.
                let text = String::from_utf8(fixture(name)).unwrap();
                let at = text
                    .find(&format!("model: {model}"))
                    .unwrap_or_else(|| text.find(&format!("model: \"{model}\"")).unwrap());
                let expected =
                    text[..at].to_owned() + &text[at..].replacen(model, "fallback/model", 1);
                assert_eq!(String::from_utf8(now).unwrap(), expected, "{name}");
            }
            None => {
                assert_eq!(now, fixture(name), "{name}");
                assert_eq!(inode(name), *ino, "{name} was rewritten");
            }
        }
    }

    let out = s.run(&["watch", "--restore"]);
    out.code(0);
    assert_eq!(out.stdout.lines().count(), switched, "{}", out.stdout);
    for ((name, model), ino) in FIXTURES.iter().zip(&before) {
        assert_eq!(
            fs::read(s.path(&place(name))).unwrap(),
            fixture(name),
            "{name}"
        );
        if model.is_none() {
            assert_eq!(inode(name), *ino, "{name} was rewritten");
        }
    }
    assert!(
        !s.state_files().iter().any(|f| f.starts_with("targets/")),
        "{:?}",
        s.state_files()
    );
}

const PLAN: &str = "---\r\ndescription: plans\r\nmodel: 'zai-coding-plan/glm-4.7'   # the plan's model\r\ntools:\r\n  write: false\r\n---\r\nmodel: body text\r\n";

fn project() -> Sandbox {
    let s = Sandbox::new();
    s.write("opencode.json", "{ \"model\": \"zai-coding-plan/glm-4.7\" }\n")
        .write(".opencode/agent/plan.md", PLAN)
        .write(".opencode/agent/team/flow.md", "---\nname: t\nmodel: {{MODEL}}\n---\n")
        .write(".opencode/agent/plain.md", "# no front matter\n")
        .config(r#"{fallbacks: {"zai-coding-plan/glm-4.7": ["profile:glm", "deepseek/deepseek-chat"]}, profiles: {glm: {provider: "zai", env: {A: "b"}}}}"#)
        .quota(r#"{"zai": {"status": "RED"}}"#);
    s
}

/// An agent file on GLM, and a sandbox that switches it: zai RED, its chain to DeepSeek.
const GLM: &str = "---\nmodel: zai-coding-plan/glm-4.7\n---\n";

fn zai_red() -> Sandbox {
    let s = Sandbox::new();
    s.config(r#"{fallbacks: {"zai-coding-plan/glm-4.7": ["deepseek/deepseek-chat"]}}"#)
        .quota(r#"{"zai": {"status": "RED"}}"#);
    s
}

#[test]
fn a_json_target_brings_its_agents_and_unmanaged_forms_are_named_with_their_line() {
    let s = project();
    let out = s.once("opencode.json");
    out.code(0).stdout_is(
        "opencode.json: model: zai-coding-plan/glm-4.7 -> deepseek/deepseek-chat (zai status RED)\n\
         .opencode/agent/plan.md: model: zai-coding-plan/glm-4.7 -> deepseek/deepseek-chat (zai status RED)\n",
    );
    out.stderr_has(
        "warning: .opencode/agent/team/flow.md: line 3: `model:` is left alone: a flow collection",
    );
    out.stderr_has("warning: .opencode/agent/plan.md: profile:glm: profiles switch a settings file as a whole, not an agent file; skipped");
    assert_eq!(
        s.read(".opencode/agent/plan.md"),
        PLAN.replace("zai-coding-plan/glm-4.7", "deepseek/deepseek-chat")
    );
    s.run(&["watch", "--restore"]).code(0);
    assert_eq!(s.read(".opencode/agent/plan.md"), PLAN);
}

#[test]
fn agent_files_reached_through_links_are_one_target_each_under_their_real_path() {
    use std::os::unix::fs::symlink;
    let s = zai_red();
    s.write("opencode.json", "{}\n")
        .write("kept/agents/plan.md", GLM)
        .write("shared/review.md", GLM);
    fs::create_dir(s.path(".opencode")).unwrap();
    // The agent dir is a link, a folder in it is one, and one file is there twice: it is named
    // by the first of its names in order.
    symlink(s.path("kept/agents"), s.path(".opencode/agent")).unwrap();
    symlink(s.path("shared"), s.path("kept/agents/team")).unwrap();
    symlink(
        s.path("kept/agents/plan.md"),
        s.path("kept/agents/again.md"),
    )
    .unwrap();
    s.once("opencode.json").code(0).stdout_is(
        ".opencode/agent/again.md: model: zai-coding-plan/glm-4.7 -> deepseek/deepseek-chat (zai status RED)\n\
         .opencode/agent/team/review.md: model: zai-coding-plan/glm-4.7 -> deepseek/deepseek-chat (zai status RED)\n",
    );
    // Each is recorded under its resolved path (the helper finds records by it).
    for rel in ["kept/agents/plan.md", "shared/review.md"] {
        s.state_key(rel);
        assert!(s.read(rel).contains("deepseek/deepseek-chat"), "{rel}");
    }
    assert_eq!(
        s.state_files()
            .iter()
            .filter(|f| f.starts_with("targets/"))
            .count(),
        2
    );
    s.run(&["watch", "--restore"]).code(0);
    assert_eq!(s.read("kept/agents/plan.md"), GLM);
    assert_eq!(s.read("shared/review.md"), GLM);
}

#[test]
fn agents_in_linked_agent_dirs_are_routed_by_the_names_and_projects_opencode_sees() {
    use std::os::unix::fs::symlink;
    let s = zai_red();
    s.write("project/opencode.json", "{}\n")
        .write("shared/agents/team/review.md", GLM)
        .write("dotfiles/agents/ops/deploy.md", GLM)
        .write("dotfiles/agents/flat.md", GLM);
    // A project's agent dir and OpenCode's own are links to folders elsewhere, which OpenCode
    // reads through them: it names each agent by its path below `agent(s)/`.
    fs::create_dir(s.path("project/.opencode")).unwrap();
    symlink(s.path("shared/agents"), s.path("project/.opencode/agent")).unwrap();
    let global = s.home().join(".config/opencode");
    fs::create_dir_all(&global).unwrap();
    fs::write(global.join("opencode.json"), "{}\n").unwrap();
    symlink(s.path("dotfiles/agents"), global.join("agents")).unwrap();
    s.once("project/opencode.json").code(0);
    s.once(global.join("opencode.json").to_str().unwrap())
        .code(0);
    let routes = s.routes();
    let mut got: Vec<(String, serde_json::Value)> = (routes["routes"].as_array().unwrap().iter())
        .map(|r| (r["agent"].as_str().unwrap().to_owned(), r["scope"].clone()))
        .collect();
    got.sort_by(|a, b| a.0.cmp(&b.0));
    let project = fs::canonicalize(s.path("project")).unwrap();
    assert_eq!(
        got,
        [
            ("flat".to_owned(), serde_json::Value::Null),
            ("ops/deploy".to_owned(), serde_json::Value::Null),
            ("team/review".to_owned(), project.to_str().unwrap().into()),
        ]
    );
    s.run(&["watch", "--restore"]).code(0);
    assert_eq!(s.read("shared/agents/team/review.md"), GLM);
}

#[test]
fn a_project_of_many_agents_switches_whole_under_a_low_open_files_limit() {
    use std::os::unix::process::CommandExt;
    let s = zai_red();
    s.write("opencode.json", "{}\n");
    for i in 0..40 {
        s.write(&format!(".opencode/agent/a{i:02}.md"), GLM);
    }
    // Too few files for a thread per target: the pass takes as many threads as the limit allows.
    let mut cmd = s.command(&[
        "watch",
        "opencode.json",
        "--once",
        "--quota-file",
        "quota.json",
        "--config",
        "switcher.json5",
    ]);
    // SAFETY: a single system call between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
            let hard = getrlimit(Resource::Nofile).maximum;
            let low = Rlimit {
                current: Some(40),
                maximum: hard,
            };
            setrlimit(Resource::Nofile, low).map_err(std::io::Error::from)
        });
    }
    let out = crate::harness::run_with_deadline(cmd);
    out.code(0);
    assert!(!out.stderr.contains("error"), "{}", out.stderr);
    assert_eq!(out.stdout.lines().count(), 40, "{}", out.stdout);
    assert!(
        s.read(".opencode/agent/a39.md")
            .contains("deepseek/deepseek-chat")
    );
}

#[test]
fn an_agent_file_given_as_target_or_with_kind() {
    let s = project();
    s.write(
        "prompts/reviewer.md",
        "---\nmodel: \"zai-coding-plan/glm-4.7\"\n---\n",
    );
    s.run(&["watch", "prompts/reviewer.md", "--once"])
        .code(1)
        .stderr_has("--kind opencode|claude|opencode-agent|claude-agent");
    s.run(&["watch", "prompts/reviewer.md", "--once", "--kind", "opencode-agent"])
        .code(0)
        .stdout_is("prompts/reviewer.md: model: zai-coding-plan/glm-4.7 -> deepseek/deepseek-chat (zai status RED)\n");
    assert_eq!(
        s.read("prompts/reviewer.md"),
        "---\nmodel: \"deepseek/deepseek-chat\"\n---\n"
    );
    // Named directly, an agent file is its own target: the JSON beside it is not brought.
    s.run(&["watch", ".opencode/agent/plan.md", "--once"])
        .code(0)
        .stdout_is(".opencode/agent/plan.md: model: zai-coding-plan/glm-4.7 -> deepseek/deepseek-chat (zai status RED)\n");
}

#[test]
fn a_claude_agent_takes_its_provider_from_its_scope_settings() {
    let s = Sandbox::new();
    s.write(".claude/agents/a.md", "---\nmodel: sonnet\n---\n")
        .write(
            ".claude/settings.json",
            r#"{"env": {"ANTHROPIC_BASE_URL": "https://api.z.ai/api/anthropic"}}"#,
        )
        .config(r#"{fallbacks: {sonnet: ["haiku"]}}"#)
        .quota(
            r#"{"zai": {"windows": {"weekly": {"utilization": 99, "models": ["sonnet"]}}},
                "anthropic": {"status": "RED"}}"#,
        );
    // z.ai serves the scope: its sonnet week is spent, haiku is free there.
    s.once(".claude/settings.json")
        .code(0)
        .stdout_is(".claude/agents/a.md: model: sonnet -> haiku (zai weekly 99% >= 90%)\n");
    s.run(&["watch", "--restore"]).code(0);
    // settings.local.json wins over settings.json: Anthropic's own endpoint, all RED.
    s.write(
        ".claude/settings.local.json",
        r#"{"env": {"ANTHROPIC_BASE_URL": ""}}"#,
    );
    s.once(".claude/settings.json")
        .code(3)
        .stdout_is("")
        .stderr_has("stays on sonnet (anthropic status RED)");
    fs::remove_file(s.path(".claude/settings.local.json")).unwrap();
    s.write(".claude/settings.json", "{}");
    // Neither sets one: the user's settings do.
    fs::create_dir_all(s.home().join(".claude")).unwrap();
    fs::write(
        s.home().join(".claude/settings.json"),
        r#"{"env": {"ANTHROPIC_BASE_URL": "https://api.z.ai/api/anthropic"}}"#,
    )
    .unwrap();
    s.once(".claude/settings.json")
        .code(0)
        .stdout_is(".claude/agents/a.md: model: sonnet -> haiku (zai weekly 99% >= 90%)\n");
}

#[test]
fn a_tampered_record_cannot_write_arbitrary_text() {
    let s = project();
    s.once("opencode.json").code(0);
    let key = s.state_key(".opencode/agent/plan.md");
    let file = s.state_dir().join(format!("targets/{key}.json"));
    let records = fs::read_to_string(&file).unwrap();
    let tampered = records.replace(
        "\"original\": \"'zai-coding-plan/glm-4.7'\"",
        "\"original\": \"x\\ntools: all\\n---\\nevil\"",
    );
    assert_ne!(records, tampered);
    fs::write(&file, tampered).unwrap();
    let switched = s.read(".opencode/agent/plan.md");
    s.run(&["watch", "--restore"])
        .code(1)
        .stderr_has("switches[0].original is not a one-line front-matter value");
    assert_eq!(s.read(".opencode/agent/plan.md"), switched);
}

#[test]
fn status_groups_agents_under_their_scope() {
    let mut s = project();
    s.env("SWITCHER_NOW", "2026-11-21T12:00:00Z");
    s.once("opencode.json").code(0);
    s.run(&["status", "opencode.json"]).code(0).stdout_is(
        "Sources: status file quota.json, signals dir

zai       RED          observed 0s ago

opencode.json
  model  deepseek/deepseek-chat  UNMONITORED  on a fallback since zai status RED; original zai-coding-plan/glm-4.7; running sessions follow at restart
  agents (3)
    .opencode/agent/plain.md                                           no model of its own
    .opencode/agent/plan.md       deepseek/deepseek-chat  UNMONITORED  on a fallback since zai status RED; original zai-coding-plan/glm-4.7; running sessions follow at restart
    .opencode/agent/team/flow.md                                       `model:` on line 3 is left alone: a flow collection
",
    );
    let json = s.run(&["status", "opencode.json", "--json"]).code(0).json();
    let slots = json["slots"].as_array().unwrap();
    assert_eq!(slots.len(), 2, "{json}");
    assert_eq!(
        slots[0].get("scope"),
        None,
        "JSON targets' slots are as before"
    );
    assert_eq!(slots[1]["target"], ".opencode/agent/plan.md");
    assert_eq!(slots[1]["scope"], "opencode.json");
    assert_eq!(slots[1]["original"], "zai-coding-plan/glm-4.7");
}

#[test]
fn the_daemon_manages_agent_files_created_later_in_nested_folders() {
    let s = project();
    let d = s.daemon(&["opencode.json"]);
    d.wait("the first switch", || {
        s.read(".opencode/agent/plan.md").contains("deepseek")
    });
    s.write(".opencode/agent/new/deeper/late.md", GLM);
    d.wait("the late file's switch", || {
        s.read(".opencode/agent/new/deeper/late.md")
            .contains("deepseek")
    });
    // A directory made with files already in it (moved in whole).
    let elsewhere = s.path("incoming/x.md");
    fs::create_dir_all(elsewhere.parent().unwrap()).unwrap();
    fs::write(&elsewhere, "---\nmodel: 'zai-coding-plan/glm-4.7'\n---\n").unwrap();
    fs::rename(s.path("incoming"), s.path(".opencode/agents")).unwrap();
    d.wait("the moved-in file's switch", || {
        s.read(".opencode/agents/x.md").contains("deepseek")
    });
    fs::remove_file(s.path(".opencode/agent/new/deeper/late.md")).unwrap();
    d.wait_line(
        "agent file gone; no longer managed target=.opencode/agent/new/deeper/late.md",
        1,
    );
    assert_eq!(d.stop(), 0);
    s.run(&["watch", "--restore"]).code(0);
    assert_eq!(s.read(".opencode/agent/plan.md"), PLAN);
    assert_eq!(
        s.read(".opencode/agents/x.md"),
        "---\nmodel: 'zai-coding-plan/glm-4.7'\n---\n"
    );
}

#[test]
fn the_daemon_manages_agent_files_created_later_in_a_linked_agent_dir() {
    let s = zai_red();
    s.write("opencode.json", "{}\n")
        .write("kept/agents/plan.md", GLM);
    fs::create_dir(s.path(".opencode")).unwrap();
    std::os::unix::fs::symlink(s.path("kept/agents"), s.path(".opencode/agent")).unwrap();
    let d = s.daemon(&["opencode.json"]);
    d.wait("the first switch", || {
        s.read("kept/agents/plan.md").contains("deepseek")
    });
    // Its change events name the new file through the dir the link leads to.
    s.write("kept/agents/late.md", GLM);
    d.wait("the late file's switch", || {
        s.read("kept/agents/late.md").contains("deepseek")
    });
    d.wait_line(
        "new agent file; managing it target=.opencode/agent/late.md",
        1,
    );
    assert_eq!(d.stop(), 0);
}

#[test]
fn a_context_suffix_uses_the_chain_of_the_bare_id_and_quotes_stay() {
    let s = Sandbox::new();
    s.write(".claude/agents/a.md", "---\nmodel: \"opus[1m]\" # long context\n---\n")
        .config(r#"{fallbacks: {opus: ["sonnet"]}}"#)
        .quota(r#"{"anthropic": {"windows": {"seven_day_opus": {"utilization": 99, "models": ["opus"]}}}}"#);
    s.run(&["watch", ".claude/agents/a.md", "--once"])
        .code(0)
        .stdout_is(".claude/agents/a.md: model: opus[1m] -> sonnet (anthropic seven_day_opus 99% >= 90%)\n");
    assert_eq!(
        s.read(".claude/agents/a.md"),
        "---\nmodel: \"sonnet\" # long context\n---\n"
    );
}
