//! `switcher setup opencode` and the routes file that the OpenCode plugin follows.

use std::fs;

use crate::harness::{CHAINS, Sandbox};

const TARGET: &str = r#"{
  "model": "zai-coding-plan/glm-4.6",
  "agent": { "review": { "model": "github-copilot/gpt-5" } }
}
"#;

fn plugin(s: &Sandbox) -> std::path::PathBuf {
    s.home().join(".config/opencode/plugin/switcher.js")
}

/// A project whose config is `target`, with the test chains and z.ai RED.
fn on_red_zai(target: &str) -> Sandbox {
    let s = Sandbox::new();
    s.write("opencode.json", target)
        .config(CHAINS)
        .quota(r#"{"zai": {"status": "RED"}}"#);
    s
}

#[test]
fn setup_installs_once_bakes_the_state_dir_and_removes_only_its_own_file() {
    let s = Sandbox::new();
    let file = plugin(&s);
    let out = s
        .run(&["setup", "opencode", "--dry-run"])
        .code(0)
        .stdout
        .clone();
    assert!(out.starts_with("would install: "), "{out}");
    assert!(!file.exists(), "a dry run writes nothing");

    let out = s.run(&["setup", "opencode"]).code(0).stdout.clone();
    assert!(
        out.starts_with(&format!("installed: {}", file.display())),
        "{out}"
    );
    let text = fs::read_to_string(&file).unwrap();
    assert!(text.starts_with("// switcher's OpenCode plugin"));
    let state = serde_json::to_string(s.state_dir().to_str().unwrap()).unwrap();
    assert!(
        text.contains(&format!("const STATE_DIR = {state};")),
        "state dir baked in"
    );
    assert!(text.contains("const LIMITS = {") && text.contains("zai-usage-limit"));

    let out = s.run(&["setup", "opencode"]).code(0).stdout.clone();
    assert_eq!(out, format!("already installed: {}\n", file.display()));
    assert_eq!(fs::read_to_string(&file).unwrap(), text, "same bytes");

    let out = s
        .run(&["setup", "opencode", "--remove", "--dry-run"])
        .code(0)
        .stdout
        .clone();
    assert!(out.starts_with("would remove: "), "{out}");
    assert!(file.exists());
    s.run(&["setup", "opencode", "--remove"]).code(0);
    assert!(!file.exists());
    assert!(
        !file.parent().unwrap().exists(),
        "the plugin dir setup created goes once empty"
    );
    assert!(s.home().is_dir());
    let out = s
        .run(&["setup", "opencode", "--remove"])
        .code(0)
        .stdout
        .clone();
    assert!(out.starts_with("not installed: "), "{out}");

    // Somebody else's switcher.js is neither replaced nor deleted.
    fs::create_dir_all(file.parent().unwrap()).unwrap();
    fs::write(&file, "export const Mine = async () => ({})\n").unwrap();
    s.run(&["setup", "opencode"])
        .code(1)
        .stderr_has("is not switcher's");
    s.run(&["setup", "opencode", "--remove"])
        .code(1)
        .stderr_has("left in place");
    assert_eq!(
        fs::read_to_string(&file).unwrap(),
        "export const Mine = async () => ({})\n"
    );
}

#[test]
fn setup_into_a_project_and_a_changed_state_dir_updates_the_file() {
    let mut s = Sandbox::new();
    fs::create_dir_all(s.path("proj")).unwrap();
    let file = s.path("proj/.opencode/plugin/switcher.js");
    s.run(&["setup", "opencode", "--project", "nowhere"])
        .code(1)
        .stderr_has("no such directory");
    assert!(!s.path("nowhere").exists());
    s.run(&["setup", "opencode", "--project", "proj"]).code(0);
    assert!(file.is_file());
    assert!(!plugin(&s).exists());
    s.env("SWITCHER_STATE_DIR", "/elsewhere/state");
    let out = s
        .run(&["setup", "opencode", "--project", "proj"])
        .code(0)
        .stdout
        .clone();
    assert!(out.starts_with("updated: "), "{out}");
    assert!(
        fs::read_to_string(&file)
            .unwrap()
            .contains(r#"const STATE_DIR = "/elsewhere/state";"#)
    );
}

#[test]
fn routes_follow_every_switch_and_restore() {
    let s = Sandbox::new();
    s.write("opencode.json", TARGET)
        .config(CHAINS)
        .quota(r#"{"zai": {"status": "RED"}, "copilot": {"status": "RED"}}"#);
    let file = s.state_dir().join("routes.json");
    s.once("opencode.json").code(0);
    let doc = s.routes();
    let config = fs::canonicalize(s.path("opencode.json")).unwrap();
    let scope = fs::canonicalize(s.work()).unwrap();
    assert_eq!(doc["version"], 1);
    let got: Vec<_> = doc["routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert_eq!(r["config"], config.to_str().unwrap());
            assert_eq!(r["scope"], scope.to_str().unwrap());
            assert!(r["since"].is_string());
            (
                r["agent"].clone(),
                r["slot"].as_str().unwrap().to_owned(),
                r["from"].as_str().unwrap().to_owned(),
                r["to"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                serde_json::json!("review"),
                "agent.review.model".to_owned(),
                "github-copilot/gpt-5".to_owned(),
                "openrouter/qwen/qwen3-coder".to_owned()
            ),
            (
                serde_json::Value::Null,
                "model".to_owned(),
                "zai-coding-plan/glm-4.6".to_owned(),
                "deepseek/deepseek-chat".to_owned()
            ),
        ]
    );
    let text = fs::read_to_string(&file).unwrap();
    assert!(!text.contains("RED") && !text.contains("reason"), "{text}");

    // A pass that changes nothing leaves the file (and its mtime) alone.
    let before = fs::metadata(&file).unwrap().modified().unwrap();
    s.once("opencode.json").code(0);
    assert_eq!(fs::metadata(&file).unwrap().modified().unwrap(), before);

    s.run(&["watch", "--restore"]).code(0);
    let doc = s.routes();
    assert_eq!(doc["routes"], serde_json::json!([]));
    assert_eq!(doc["restored"].as_array().unwrap().len(), 2);
    assert_eq!(s.read("opencode.json"), TARGET);
}

#[test]
fn a_dry_run_writes_no_routes() {
    let s = on_red_zai(TARGET);
    s.run(&["watch", "opencode.json", "--once", "--dry-run"])
        .code(0);
    assert!(!s.state_dir().join("routes.json").exists());
}

#[test]
fn the_daemon_writes_the_routes_of_the_records_at_start_and_after_each_switch() {
    let s = on_red_zai(TARGET);
    s.once("opencode.json").code(0);
    let routes = s.state_dir().join("routes.json");
    fs::remove_file(&routes).unwrap();
    // Nothing changes at start (zai is still RED): the routes come from the records alone.
    let d = s.daemon(&["opencode.json"]);
    d.wait("routes.json written at start", || {
        fs::read_to_string(&routes).is_ok_and(|t| t.contains("deepseek/deepseek-chat"))
    });
    // copilot goes RED: the daemon switches agent.review.model and the file follows.
    s.rename_over(
        "quota.json",
        r#"{"zai": {"status": "RED"}, "copilot": {"status": "RED"}}"#,
    );
    d.wait("the review route", || {
        fs::read_to_string(&routes).is_ok_and(|t| t.contains("openrouter/qwen/qwen3-coder"))
    });
    d.stop();
}

/// A project whose `model` and `small_model` are on z.ai, which is RED.
fn model_and_small_model_on_red_zai() -> Sandbox {
    on_red_zai(
        r#"{
  "model": "zai-coding-plan/glm-4.6",
  "small_model": "zai-coding-plan/glm-4.6"
}
"#,
    )
}

#[test]
fn status_says_which_switches_running_sessions_follow_only_when_restarted() {
    let s = model_and_small_model_on_red_zai();
    s.once("opencode.json").code(0);
    let at_restart = |s: &Sandbox| -> Vec<String> {
        let json = s.run(&["status", "opencode.json", "--json"]).code(0).json();
        (json["slots"].as_array().unwrap().iter())
            .filter(|slot| slot["running_sessions"] == "at_restart")
            .map(|slot| slot["slot"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(at_restart(&s), ["model", "small_model"], "no plugin");
    let text = s.run(&["status", "opencode.json"]).code(0).stdout.clone();
    assert!(
        text.contains("running sessions follow at restart"),
        "{text}"
    );
    s.run(&["setup", "opencode"]).code(0);
    assert_eq!(
        at_restart(&s),
        ["small_model"],
        "the plugin routes `model`, not `small_model`"
    );
    s.run(&["watch", "--restore"]).code(0);
    assert!(at_restart(&s).is_empty(), "nothing switched");
}

/// The routes of `doc[list]` as (slot, from, to).
fn route_list(doc: &serde_json::Value, list: &str) -> Vec<(String, String, String)> {
    let s = |v: &serde_json::Value| v.as_str().unwrap().to_owned();
    (doc[list].as_array().map(Vec::as_slice).unwrap_or_default())
        .iter()
        .map(|r| (s(&r["slot"]), s(&r["from"]), s(&r["to"])))
        .collect()
}

#[test]
fn every_model_a_slot_held_routes_to_its_current_value_and_back_after_a_restore() {
    let s = on_red_zai(TARGET);
    let r = |slot: &str, from: &str, to: &str| (slot.to_owned(), from.to_owned(), to.to_owned());
    s.once("opencode.json").code(0);
    // The first fallback goes RED too: a session started while the config named it follows.
    s.quota(r#"{"zai": {"status": "RED"}, "deepseek": {"status": "RED"}}"#);
    s.once("opencode.json").code(0);
    assert!(s.read("opencode.json").contains("kimi-for-coding/k2"));
    let doc = s.routes();
    assert_eq!(
        route_list(&doc, "routes"),
        [
            r("model", "zai-coding-plan/glm-4.6", "kimi-for-coding/k2"),
            r("model", "deepseek/deepseek-chat", "kimi-for-coding/k2"),
        ]
    );
    assert_eq!(doc["version"], 1);

    // Restored: every fallback written routes back to the original, for older sessions only.
    s.run(&["watch", "--restore"]).code(0);
    assert_eq!(s.read("opencode.json"), TARGET);
    let doc = s.routes();
    assert_eq!(route_list(&doc, "routes"), []);
    assert_eq!(
        route_list(&doc, "restored"),
        [
            r("model", "deepseek/deepseek-chat", "zai-coding-plan/glm-4.6"),
            r("model", "kimi-for-coding/k2", "zai-coding-plan/glm-4.6"),
        ]
    );
    assert!(doc["restored"][0]["since"].is_string());
}

#[test]
fn a_pass_marks_what_running_sessions_follow_at_restart_as_status_does() {
    let s = model_and_small_model_on_red_zai();
    let marked = |json: serde_json::Value| -> Vec<String> {
        (json["slots"].as_array().unwrap().iter())
            .filter(|slot| slot["running_sessions"] == "at_restart")
            .map(|slot| slot["slot"].as_str().unwrap().to_owned())
            .collect()
    };
    let pass = s.run(&["watch", "opencode.json", "--once", "--json"]);
    assert_eq!(
        marked(pass.code(0).json()),
        ["model", "small_model"],
        "no plugin"
    );
    s.run(&["setup", "opencode"]).code(0);
    let pass = s.run(&["watch", "opencode.json", "--once", "--json"]);
    assert_eq!(marked(pass.code(0).json()), ["small_model"]);
}

#[test]
fn each_project_of_a_run_is_judged_by_its_own_plugin() {
    let s = on_red_zai(TARGET);
    for project in ["a", "b", "c"] {
        s.write(&format!("{project}/opencode.json"), TARGET).write(
            &format!("{project}/.opencode/agent/r.md"),
            "---\nmodel: zai-coding-plan/glm-4.6\n---\n",
        );
    }
    s.run(&["setup", "opencode", "--project", "b"]).code(0);
    let json = s
        .run(&[
            "watch",
            "a/opencode.json",
            "b/opencode.json",
            "c/opencode.json",
            "--once",
            "--json",
        ])
        .code(0)
        .json();
    let at_restart: Vec<String> = (json["slots"].as_array().unwrap().iter())
        .filter(|slot| slot["slot"] == "model" && slot["running_sessions"] == "at_restart")
        .map(|slot| slot["target"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        at_restart,
        [
            "a/opencode.json",
            "c/opencode.json",
            "a/.opencode/agent/r.md",
            "c/.opencode/agent/r.md"
        ]
    );
}

#[test]
fn a_text_pass_warns_of_the_switches_running_sessions_follow_only_at_restart() {
    let s = model_and_small_model_on_red_zai();
    let note = |slots: &str| {
        format!("opencode.json: running sessions follow the switch of {slots} only when restarted")
    };
    let pass = s.run(&["watch", "opencode.json", "--once", "--dry-run"]);
    pass.code(0).stderr_has(&note("model, small_model"));
    s.run(&["setup", "opencode"]).code(0);
    let pass = s.run(&["watch", "opencode.json", "--once"]);
    pass.code(0).stderr_has(&note("small_model"));
    // The change lines on stdout are as scripts read them.
    assert!(
        pass.stdout.lines().all(|l| !l.contains("running sessions")),
        "{}",
        pass.stdout
    );
}

#[test]
fn a_plugin_that_reads_another_state_dir_does_not_count_and_status_says_so() {
    let s = on_red_zai(TARGET);
    s.once("opencode.json").code(0);
    s.run(&["setup", "opencode", "--state-dir", "/elsewhere/state"])
        .code(0);
    let out = s.run(&["status", "opencode.json", "--json"]);
    let json = out.code(0).json();
    let model = (json["slots"].as_array().unwrap().iter())
        .find(|slot| slot["slot"] == "model")
        .unwrap()
        .clone();
    assert_eq!(model["running_sessions"], "at_restart");
    out.stderr_has("switcher's plugin reads another state dir (/elsewhere/state)");
    assert_eq!(
        out.stderr
            .lines()
            .filter(|l| l.contains("another state dir"))
            .count(),
        1
    );
    s.run(&["setup", "opencode"]).code(0);
    let out = s.run(&["status", "opencode.json", "--json"]);
    let json = out.code(0).json();
    assert!(
        (json["slots"].as_array().unwrap().iter()).all(|slot| slot["running_sessions"].is_null())
    );
    assert!(!out.stderr.contains("another state dir"), "{}", out.stderr);
}

#[test]
fn setup_under_json_prints_one_object() {
    let s = Sandbox::new();
    let file = plugin(&s);
    let json = s
        .run(&["setup", "opencode", "--json", "--dry-run"])
        .code(0)
        .json();
    assert_eq!(
        json,
        serde_json::json!({"agent": "opencode", "path": file, "step": "installed", "dry_run": true})
    );
    let json = s.run(&["setup", "opencode", "--json"]).code(0).json();
    assert_eq!(json["step"], "installed");
    assert!(file.exists());
    let json = s.run(&["setup", "opencode", "--json"]).code(0).json();
    assert_eq!(json["step"], "already_installed");
    let json = s
        .run(&["setup", "opencode", "--remove", "--json"])
        .code(0)
        .json();
    assert_eq!(json["step"], "removed");
    // Claude Code's setup prints text only, and says so rather than print it under --json.
    let out = s.run(&["setup", "claude", "--json"]);
    out.code(2).stderr_has("prints text only");
    assert!(out.stdout.is_empty(), "{}", out.stdout);
}

#[test]
fn setup_help_lists_only_the_global_options_setup_uses() {
    let s = Sandbox::new();
    for args in [
        &["setup", "--help"][..],
        &["setup", "opencode", "--help"],
        &["setup", "claude", "--help"],
        &["help", "setup", "claude"],
    ] {
        let out = s.run_exact(args);
        let help = &out.code(0).stdout;
        for ignored in ["--quota-file", "--kind", "--config"] {
            assert!(!help.contains(ignored), "{args:?}: {help}");
        }
        assert!(
            help.contains("--state-dir") && help.contains("--json"),
            "{help}"
        );
    }
    let status = s.run_exact(&["status", "--help"]);
    assert!(status.code(0).stdout.contains("--quota-file"));
    // Still accepted (a shell alias may pass them to every command), and ignored.
    s.run_exact(&["setup", "opencode", "--quota-file", "q.json", "--dry-run"])
        .code(0);
}

#[test]
fn remove_deletes_the_dirs_setup_created_once_empty_and_nothing_else() {
    let s = Sandbox::new();
    // A project without .opencode/: both dirs are setup's, and both go.
    fs::create_dir_all(s.path("a")).unwrap();
    s.run(&["setup", "opencode", "--project", "a"]).code(0);
    assert!(s.path("a/.opencode/plugin/switcher.js").exists());
    s.run(&[
        "setup",
        "opencode",
        "--project",
        "a",
        "--remove",
        "--dry-run",
    ])
    .code(0);
    assert!(s.path("a/.opencode/plugin/switcher.js").exists());
    s.run(&["setup", "opencode", "--project", "a", "--remove"])
        .code(0);
    assert!(!s.path("a/.opencode").exists());
    assert!(s.path("a").is_dir());
    // .opencode/ was there: only plugin/ goes.
    s.write("b/.opencode/opencode.json", "{}\n");
    s.run(&["setup", "opencode", "--project", "b"]).code(0);
    s.run(&["setup", "opencode", "--project", "b", "--remove"])
        .code(0);
    assert!(!s.path("b/.opencode/plugin").exists());
    assert_eq!(s.read("b/.opencode/opencode.json"), "{}\n");
    // Something else moved into plugin/ (or OpenCode's files into .opencode/): both stay.
    fs::create_dir_all(s.path("c")).unwrap();
    s.run(&["setup", "opencode", "--project", "c"]).code(0);
    s.write(
        "c/.opencode/plugin/mine.js",
        "export const Mine = async () => ({})\n",
    );
    s.run(&["setup", "opencode", "--project", "c", "--remove"])
        .code(0);
    assert!(!s.path("c/.opencode/plugin/switcher.js").exists());
    assert!(s.path("c/.opencode/plugin/mine.js").exists());
    // A plugin/ dir the user made before setup is the user's, empty or not.
    fs::create_dir_all(s.path("d/.opencode/plugin")).unwrap();
    s.run(&["setup", "opencode", "--project", "d"]).code(0);
    s.run(&["setup", "opencode", "--project", "d", "--remove"])
        .code(0);
    assert!(s.path("d/.opencode/plugin").is_dir());
}

#[test]
fn a_config_over_a_mebibyte_switches_and_restores_byte_for_byte() {
    // Past the size from which a pass gives its dropped tree's memory back before it writes
    // (apply.rs): 300 agents with 4 KB prompts, escapes and non-ASCII text in them.
    let prompt = serde_json::to_string(&"Check the \"plan\" — «step». ".repeat(130)).unwrap();
    let agents: Vec<String> = (0..300)
        .map(|i| {
            format!(r#"    "a{i}": {{ "prompt": {prompt}, "model": "zai-coding-plan/glm-4.6" }}"#)
        })
        .collect();
    let big = format!("{{\n  \"agent\": {{\n{}\n  }}\n}}\n", agents.join(",\n"));
    assert!(big.len() > 1 << 20, "{}", big.len());
    let s = on_red_zai(&big);
    let run = s.run(&["watch", "opencode.json", "--once"]);
    assert_eq!(run.code(0).stdout.lines().count(), 300);
    let switched = big.replace("zai-coding-plan/glm-4.6", "deepseek/deepseek-chat");
    assert_eq!(s.read("opencode.json"), switched);
    s.run(&["watch", "opencode.json", "--restore"]).code(0);
    assert_eq!(s.read("opencode.json"), big);
}

#[test]
fn a_big_config_s_routes_and_journal_made_beside_its_write_hold_its_switches_and_the_other_targets()
{
    // Enough switches for the routes to be made while the config is written (the threshold is
    // 500): the top-level model and 600 agents.
    let agents: Vec<String> = (0..600)
        .map(|i| format!(r#"    "a{i}": {{ "model": "zai-coding-plan/glm-4.6" }}"#))
        .collect();
    let big = format!(
        "{{\n  \"model\": \"zai-coding-plan/glm-4.6\",\n  \"agent\": {{\n{}\n  }}\n}}\n",
        agents.join(",\n")
    );
    let s = on_red_zai(&big);
    fs::create_dir_all(s.path("other")).unwrap();
    s.write("other/opencode.json", TARGET);
    s.once("other/opencode.json").code(0);
    // The hooks still run for a run announced beside its write.
    s.write(
        "hook.sh",
        "#!/bin/sh\necho \"$SWITCHER_SLOT\" >> \"$0.log\"\n",
    );
    let mode = std::os::unix::fs::PermissionsExt::from_mode(0o755);
    fs::set_permissions(s.path("hook.sh"), mode).unwrap();
    let hook = s.path("hook.sh").display().to_string();
    s.config(&CHAINS.replace("fallbacks", &format!("on_switch: [{hook:?}], fallbacks")));
    let run = s.run(&["watch", "opencode.json", "--once", "-vv"]);
    run.code(0);
    let out = run.stdout.clone();
    assert_eq!(out.lines().count(), 601, "{out}");
    assert!(
        run.stderr.contains("announced beside the write"),
        "{}",
        run.stderr
    );
    let doc = s.routes();
    let list = doc["routes"].as_array().unwrap();
    let config = |r: &serde_json::Value| r["config"].as_str().unwrap().to_owned();
    let big_config = fs::canonicalize(s.path("opencode.json")).unwrap();
    let of_big = list
        .iter()
        .filter(|r| config(r) == big_config.to_str().unwrap())
        .count();
    assert_eq!(of_big, 601);
    assert_eq!(list.len(), 602, "the other project's route is kept");
    assert!(list.iter().all(|r| r["to"] == "deepseek/deepseek-chat"));
    let temps: Vec<_> = fs::read_dir(s.state_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("switcher-tmp"))
        .collect();
    assert!(temps.is_empty(), "{temps:?}");
    assert_eq!(s.read("hook.sh.log").lines().count(), 601);
    // Journaled once, beside the write: the other project's switch and the 601.
    let journal = fs::read_to_string(s.state_dir().join("journal.jsonl")).unwrap();
    assert_eq!(journal.lines().count(), 602);

    s.run(&["watch", "opencode.json", "--restore"]).code(0);
    let doc = s.routes();
    assert_eq!(doc["routes"].as_array().unwrap().len(), 1);
    assert_eq!(doc["restored"].as_array().unwrap().len(), 601);
    assert_eq!(s.read("opencode.json"), big);
}
