//! The switcher config under fuzzing: JSON5 in every style the format allows, real configs with
//! wrong values at every place, and mutated bytes. Parsing never panics; an error names its
//! position (a check's error that of its field, or of the entry that lacks it); an accepted config
//! holds only values validation allows.

use std::path::Path;

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::Value;

use super::{check, json_value, jsonish_text, mutated, reshaped, words};
use crate::config::Config;

/// An example config with every field and most source fields. `config`'s own tests parse it too.
pub(crate) const FULL: &str = r#"{
  targets: ["~/.claude/settings.json", "~/src/app/opencode.json"],
  poll_interval: 60, recovery_hold: 3, switch_at: "red",
  thresholds: { yellow: 75, red: 90 },
  provider_thresholds: { anthropic: { red: 85, seven_day: { yellow: 80, red: 95 } } },
  safety_margin: 900, stale_after: 600,
  aliases: { "my-zai": "zai" },
  fallbacks: {
    "zai-coding-plan/glm-4.6": ["deepseek/deepseek-chat", "openrouter/qwen/qwen3-coder"],
    "opus": ["sonnet", "profile:glm"],
  },
  profiles: {
    glm: { provider: "zai", model: "opus",
           env: { ANTHROPIC_BASE_URL: "https://api.z.ai/api/anthropic",
                  ANTHROPIC_AUTH_TOKEN: "${ZAI_API_KEY}" } },
  },
  sources: [
    { kind: "file", path: "~/quota.json", interval: 30 },
    { kind: "claude", credentials_file: "c.json", timeout: 5 },
    { kind: "zai", region: "global", api_key_env: "K" },
    { kind: "deepseek", budget: 20, base_url: "http://127.0.0.1:1" },
    { kind: "command", command: ["sh", "-c", "cat q.json"] },
    { kind: "quota-sentinel", base_url: "http://localhost:9", ignore_status: true, api_key: "k" },
  ],
  on_switch: ["notify-send", "switcher"],
}"#;

/// Names the config reads, for generators to use as keys and strings.
pub const KEYS: &[&str] = &[
    "targets",
    "poll_interval",
    "recovery_hold",
    "switch_at",
    "thresholds",
    "yellow",
    "red",
    "provider_thresholds",
    "safety_margin",
    "stale_after",
    "aliases",
    "fallbacks",
    "profiles",
    "provider",
    "model",
    "env",
    "sources",
    "kind",
    "interval",
    "timeout",
    "base_url",
    "path",
    "command",
    "api_key",
    "api_key_env",
    "region",
    "global",
    "china",
    "credentials_file",
    "budget",
    "ignore_status",
    "on_switch",
    "signals",
    "profile:glm",
    "glm",
    "file",
    "zai",
    "claude",
    "quota-sentinel",
    "seven_day",
    "five_hour",
];

/// How a tree is written as JSON5.
#[derive(Clone, Copy, Debug)]
struct Style {
    bare_keys: bool,
    single_quotes: bool,
    comments: bool,
    trailing_commas: bool,
    hex: bool,
    plus: bool,
    /// Writes `f64::MAX`, `-f64::MAX` and the smallest subnormal as `Infinity`, `-Infinity`, `NaN`.
    non_finite: bool,
}

fn style() -> impl Strategy<Value = Style> {
    any::<[bool; 7]>().prop_map(|b| Style {
        bare_keys: b[0],
        single_quotes: b[1],
        comments: b[2],
        trailing_commas: b[3],
        hex: b[4],
        plus: b[5],
        non_finite: b[6],
    })
}

fn string5(s: &str, style: Style, out: &mut String) {
    let quote = if style.single_quotes { '\'' } else { '"' };
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push(quote);
}

fn number5(n: &serde_json::Number, style: Style, out: &mut String) {
    match (n.as_u64(), n.as_f64()) {
        (Some(u), _) if style.hex => out.push_str(&format!("0x{u:X}")),
        (_, Some(f)) if style.non_finite && f == f64::MAX => out.push_str("Infinity"),
        (_, Some(f)) if style.non_finite && f == -f64::MAX => out.push_str("-Infinity"),
        (_, Some(f)) if style.non_finite && f == 5e-324 => out.push_str("NaN"),
        (_, Some(f)) if style.plus && f > 0.0 => out.push_str(&format!("+{n}")),
        _ => out.push_str(&n.to_string()),
    }
}

fn json5(value: &Value, style: Style, out: &mut String) {
    let sep = |out: &mut String, i: usize| {
        if i > 0 {
            out.push_str(", ");
        }
        if style.comments {
            out.push_str("/* c */ ");
        }
    };
    match value {
        Value::String(s) => string5(s, style, out),
        Value::Number(n) => number5(n, style, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                sep(out, i);
                json5(item, style, out);
            }
            if style.trailing_commas && !items.is_empty() {
                out.push(',');
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                sep(out, i);
                let bare = k.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                    && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if style.bare_keys && bare {
                    out.push_str(k);
                } else {
                    string5(k, style, out);
                }
                out.push_str(if style.comments { ": // c\n" } else { ": " });
                json5(v, style, out);
            }
            if style.trailing_commas && !map.is_empty() {
                out.push(',');
            }
            out.push('}');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Parses a config; errors must be placed inside the text, accepted configs must be valid.
fn config_checked(text: &str) -> Result<(), TestCaseError> {
    match Config::parse(text, Path::new("fuzz.json5")) {
        Err(e) => {
            prop_assert!(e.to_string().starts_with("config fuzz.json5"), "{e}");
            prop_assert!(e.position.is_some(), "unplaced: {e}");
            if let Some((line, column)) = e.position {
                // JSON5 breaks lines at CR, LF, CRLF, U+2028 and U+2029.
                let lines = text
                    .replace("\r\n", "\n")
                    .split(['\n', '\r', '\u{2028}', '\u{2029}'])
                    .count();
                prop_assert!(line >= 1 && line <= lines && column >= 1, "{e} in {text:?}");
            }
        }
        Ok(c) => {
            prop_assert!(c.poll_interval.is_none_or(|s| !s.is_zero()));
            for t in c.thresholds.iter().chain(
                c.provider_thresholds
                    .iter()
                    .flatten()
                    .flat_map(|(_, p)| std::iter::once(&p.provider).chain(p.windows.values())),
            ) {
                for v in [t.yellow, t.red].into_iter().flatten() {
                    prop_assert!((0.0..=100.0).contains(&v), "threshold {v} accepted");
                }
            }
            for s in c.sources.iter().flatten() {
                for v in [s.interval, s.timeout].into_iter().flatten() {
                    prop_assert!(!v.is_zero(), "{v:?} accepted");
                }
            }
        }
    }
    Ok(())
}

fn seeds() -> Vec<Value> {
    let demo = include_str!("../../fixtures/demo/switcher.json5");
    vec![
        json5::from_str(FULL).expect("the full config parses"),
        json5::from_str(demo).expect("the demo config parses"),
    ]
}

#[test]
fn the_seeds_are_valid_configs() {
    config_checked(FULL).unwrap();
    Config::parse(FULL, Path::new("full.json5")).unwrap();
}

#[test]
fn survives_arbitrary_text() {
    check("config::survives_arbitrary_text", jsonish_text(), |text| {
        config_checked(&text)
    });
}

#[test]
fn survives_config_shaped_json5() {
    let tree = prop_oneof![reshaped(seeds(), words()), json_value(words())];
    check(
        "config::survives_config_shaped_json5",
        (tree, style()),
        |(value, style)| {
            let mut text = String::new();
            json5(&value, style, &mut text);
            config_checked(&text)
        },
    );
}

#[test]
fn survives_mutated_configs() {
    let texts = vec![
        FULL.to_owned(),
        include_str!("../../fixtures/demo/switcher.json5").to_owned(),
    ];
    check("config::survives_mutated_configs", mutated(texts), |text| {
        config_checked(&text)
    });
}
