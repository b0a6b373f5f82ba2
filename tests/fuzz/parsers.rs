//! Every parser of outside input under fuzzing: status documents, each provider source's answer,
//! the credential files sources read, and the switcher config. Each input goes to all of them:
//! none may panic, and an answer they accept must be usable (no NaN percentage, which would
//! compare as neither healthy nor exhausted).

use std::path::Path;

use jiff::Timestamp;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::Value;

use super::{check, fixtures, json_value, jsonish_text, mutated, reshaped, words};
use crate::config::Config;
use crate::provider::Aliases;
use crate::source::{
    Reports, claude, codex, command, copilot, deepseek, gemini, kimi, minimax, moonshot,
    openrouter, quota_sentinel, status_doc, zai,
};

/// The times parsers date resets from: an ordinary one and the ends of the range.
fn nows() -> [Timestamp; 3] {
    [
        "2026-11-21T12:00:00Z".parse().unwrap(),
        Timestamp::MIN,
        Timestamp::MAX,
    ]
}

/// Budgets as the config allows them: none, or any positive finite amount.
const BUDGETS: [Option<f64>; 4] = [None, Some(5e-324), Some(10.0), Some(f64::MAX)];

fn usable(result: Result<Reports, String>) -> Result<(), TestCaseError> {
    if let Ok(reports) = result {
        for (provider, report) in &reports {
            for (name, window) in &report.windows {
                prop_assert!(
                    !window.utilization.is_nan(),
                    "{provider} {name}: NaN utilization"
                );
            }
        }
    }
    Ok(())
}

/// `text` as the answer of every source, a status document, a command's output and a config.
fn every_parser(text: &str) -> Result<(), TestCaseError> {
    let aliases = Aliases::default();
    usable(status_doc::parse(text, &aliases))?;
    usable(command::parse(text, &aliases))?;
    usable(quota_sentinel::parse(text, &aliases, false))?;
    usable(quota_sentinel::parse(text, &aliases, true))?;
    usable(kimi::parse(text))?;
    usable(zai::parse(text))?;
    let _ = gemini::parse_project(text);
    let key = &openrouter_key();
    for now in nows() {
        usable(claude::parse(text, now))?;
        usable(codex::parse(text, now))?;
        usable(copilot::parse(text, now))?;
        usable(gemini::parse(text, now))?;
        usable(minimax::parse(text, now))?;
        usable(openrouter::parse(text, None, None, now))?;
        // The credits answer is read only after a good key answer.
        usable(openrouter::parse(key, Some(text), Some(10.0), now))?;
    }
    for budget in BUDGETS {
        usable(moonshot::parse(text, budget))?;
        usable(deepseek::parse(text, budget))?;
        usable(openrouter::parse(text, Some(text), budget, nows()[0]))?;
    }
    if let Err(e) = Config::parse(text, Path::new("fuzz.json5")) {
        prop_assert!(e.position.is_some() || e.field.is_some(), "unplaced: {e}");
    }
    Ok(())
}

/// A JSON value as a credential file: sources pick their token out of it.
fn every_credential_reader(value: &Value) {
    for now in nows() {
        let _ = claude::token(value, now);
        let _ = gemini::token(value, now);
    }
    let _ = codex::login(value);
    let _ = copilot::oauth_token(value);
}

fn openrouter_key() -> String {
    fixtures()
        .iter()
        .find(|(kind, name, _)| kind == "openrouter" && name == "ok.json")
        .map(|(_, _, text)| text.clone())
        .expect("fixtures/providers/openrouter/ok.json")
}

fn fixture_texts() -> Vec<String> {
    fixtures().iter().map(|(_, _, text)| text.clone()).collect()
}

fn fixture_values() -> Vec<Value> {
    fixtures()
        .iter()
        .filter_map(|(_, _, text)| serde_json::from_str(text).ok())
        .collect()
}

#[test]
fn survive_arbitrary_text() {
    check("parsers::survive_arbitrary_text", jsonish_text(), |text| {
        every_parser(&text)
    });
}

#[test]
fn survive_arbitrary_json() {
    check(
        "parsers::survive_arbitrary_json",
        json_value(words()),
        |value| {
            every_credential_reader(&value);
            every_parser(&value.to_string())
        },
    );
}

#[test]
fn survive_fixtures_with_wrong_values() {
    let strategy = reshaped(fixture_values(), words());
    check(
        "parsers::survive_fixtures_with_wrong_values",
        strategy,
        |value| {
            every_credential_reader(&value);
            every_parser(&value.to_string())?;
            // The same tree behind the status document's `providers` wrapper.
            every_parser(&serde_json::json!({ "providers": value }).to_string())
        },
    );
}

#[test]
fn survive_mutated_fixture_bytes() {
    check(
        "parsers::survive_mutated_fixture_bytes",
        mutated(fixture_texts()),
        |text| every_parser(&text),
    );
}

#[test]
fn every_fixture_is_read_without_trouble() {
    for (kind, name, text) in fixtures() {
        every_parser(text).unwrap_or_else(|e| panic!("{kind}/{name}: {e}"));
    }
}

/// Nesting far beyond any limit: parsers refuse it rather than overflow the stack. Test threads
/// have the smallest stacks the binary's parsers could run on.
#[test]
fn deep_nesting_is_refused_without_overflow() {
    const DEPTH: usize = 100_000;
    let nest = |open: &str, inner: &str, close: &str| {
        format!("{}{inner}{}", open.repeat(DEPTH), close.repeat(DEPTH))
    };
    let inputs = [
        "[".repeat(DEPTH),
        nest("[", "", "]"),
        nest("{\"a\":", "1", "}"),
        nest("{a:", "1", "}"),
        format!(
            "{{\"zai\": {{\"windows\": {}}}}}",
            nest("{\"w\":", "{}", "}")
        ),
        format!("{{fallbacks: {{x: {}}}}}", nest("[", "", "]")),
        format!("{{\"data\": {{\"limits\": {}}}}}", nest("[", "", "]")),
    ];
    for text in &inputs {
        every_parser(text).unwrap();
        assert!(crate::jsonc::Document::parse(text).is_err());
    }
}
