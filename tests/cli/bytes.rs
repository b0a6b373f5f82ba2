//! Byte-exactness: a switch changes only the bytes inside the switched string, and a restore
//! gives the identical file back.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use crate::harness::Sandbox;

/// CRLF, a BOM, 4-space indent, comments, trailing commas, escapes, non-ASCII and a duplicate key.
const MESSY: &str = "\u{feff}{\r\n    // Main model — «GLM» for now.\r\n    \"$schema\": \"https://opencode.ai/config.json\",\r\n    \"model\": \"zai-coding-plan/glm-4.6\", /* was: glm-4.5 */\r\n    \"agent\": {\r\n        \"build\": {\r\n            \"model\": \"zai-coding-plan/glm-4.6\",\r\n            \"prompt\": \"Ünïcödé \\u00e9 \\\"quoted\\\" \\n\",\r\n            \"temperature\": 1.50e0,\r\n        },\r\n        \"plan\": {\"model\": \"old\", \"model\": \"zai-coding-plan/glm-4.6\"},\r\n    },\r\n}\r\n";

#[test]
fn a_switch_changes_only_the_switched_strings_and_restore_gives_the_bytes_back() {
    let s = Sandbox::new();
    s.write("opencode.json", MESSY)
        .config(r#"{fallbacks: {"zai-coding-plan/glm-4.6": ["deepseek/deepseek-chat"]}}"#)
        .quota(r#"{"zai": {"status": "RED"}}"#);
    fs::set_permissions(s.path("opencode.json"), fs::Permissions::from_mode(0o600)).unwrap();
    s.once("opencode.json").code(0);
    let switched = fs::read(s.path("opencode.json")).unwrap();
    let expected = MESSY.replace("\"zai-coding-plan/glm-4.6\"", "\"deepseek/deepseek-chat\"");
    assert_eq!(String::from_utf8(switched).unwrap(), expected);
    // The duplicate's first occurrence ("old") is not a slot: only the last one counts.
    assert!(expected.contains("{\"model\": \"old\", \"model\": \"deepseek/deepseek-chat\"}"));
    assert_eq!(
        fs::metadata(s.path("opencode.json"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    s.run(&["watch", "opencode.json", "--restore"]).code(0);
    assert_eq!(fs::read(s.path("opencode.json")).unwrap(), MESSY.as_bytes());
    assert_eq!(
        fs::metadata(s.path("opencode.json"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
}

#[test]
fn an_escaped_original_is_restored_with_its_escapes() {
    let s = Sandbox::new();
    let text = "{\"model\": \"zai\\/glm\\u002d4.6\"}";
    s.write("opencode.json", text)
        .config(r#"{fallbacks: {"zai/glm-4.6": ["deepseek/deepseek-chat"]}}"#)
        .quota(r#"{"zai": {"status": "RED"}}"#);
    s.once("opencode.json").code(0).stdout_is(
        "opencode.json: model: zai/glm-4.6 -> deepseek/deepseek-chat (zai status RED)\n",
    );
    s.run(&["watch", "opencode.json", "--restore"]).code(0);
    assert_eq!(s.read("opencode.json"), text);
}

#[test]
fn a_symlinked_target_is_written_through_and_stays_a_link() {
    let s = Sandbox::new();
    s.write("dotfiles/opencode.json", r#"{"model": "zai/glm"}"#)
        .config(r#"{fallbacks: {"zai/glm": ["deepseek/chat"]}}"#)
        .quota(r#"{"zai": {"status": "RED"}}"#);
    std::os::unix::fs::symlink(s.path("dotfiles/opencode.json"), s.path("opencode.json")).unwrap();
    s.once("opencode.json").code(0);
    assert!(
        fs::symlink_metadata(s.path("opencode.json"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        s.read("dotfiles/opencode.json"),
        r#"{"model": "deepseek/chat"}"#
    );
    // Through another name of the same file, the same state applies.
    s.run(&["watch", "dotfiles/opencode.json", "--restore"])
        .code(0);
    assert_eq!(s.read("dotfiles/opencode.json"), r#"{"model": "zai/glm"}"#);
}

#[test]
fn a_profile_switch_and_restore_keep_a_stray_carriage_return() {
    // Doubled line-end conversion leaves "\r\r\n". After a line comment, the keys a profile adds
    // used to pair with the stray CR into a CRLF, and the restore took the CR away with them.
    let settings = "{\n  \"model\": \"opus\",\n  \"env\": {\n    \"DISABLE_TELEMETRY\": \"1\" // keep\r\r\n  }\n}\n";
    let mut s = Sandbox::new();
    s.env("ZAI_API_KEY", "zai-key");
    s.write(".claude/settings.json", settings)
        .config(
            r#"{profiles: {glm: {provider: "zai", model: "opus",
                 env: {ANTHROPIC_BASE_URL: "https://api.z.ai/api/anthropic",
                       ANTHROPIC_AUTH_TOKEN: "${ZAI_API_KEY}"}}},
                fallbacks: {opus: ["profile:glm"]}}"#,
        )
        .quota(r#"{"claude": {"status": "RED"}, "zai": {"status": "GREEN"}}"#);
    s.once(".claude/settings.json").code(0);
    assert!(s.read(".claude/settings.json").contains("api.z.ai"));
    s.run(&["watch", ".claude/settings.json", "--restore"])
        .code(0);
    assert_eq!(
        fs::read(s.path(".claude/settings.json")).unwrap(),
        settings.as_bytes()
    );
}
