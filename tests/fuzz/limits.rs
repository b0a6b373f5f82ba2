//! The limit table on arbitrary text: real messages mutated, fragments of its patterns strung
//! together, anything at all; read at ordinary times, the ends of time and in odd zones. It never
//! panics, and a throttle never carries a reset.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::Value;

use super::{check, mutated};
use crate::limits::{Kind, classify};

/// Pieces the patterns and the reset readers look for.
const PIECES: &[&str] = &[
    "You've hit your ",
    "5-hour ",
    "limit",
    " · resets ",
    " ∙ resets ",
    "usage limit reached|",
    "1755615600",
    "1755615600123",
    "Usage limit reached for 5 hour. Your limit will reset at ",
    "2026-08-31 18:19:41",
    "2026-13-45T99:99:99.5+99:99",
    "Resets in ",
    "try again in ",
    "try again at ",
    "reset after ",
    "exhausted your capacity on this model. Your quota will reset after ",
    "9999999999999999999999",
    "1.5",
    " days ",
    "h",
    "m",
    "s",
    "ſ",
    "K",
    "Dec ",
    "Feb 31",
    "7th, ",
    "0050 ",
    "12:56pm",
    "2am",
    " (UTC)",
    " (Asia/Calcutta)",
    " (America/New_York)",
    " (Mars/Olympus)",
    " (../../etc/passwd)",
    "\"resets_at\": ",
    "usage_limit_reached",
    ".",
    ",",
    " ",
    "\n",
    "\r",
    "\u{a0}",
    "٣",
];

fn nows() -> [Timestamp; 3] {
    [
        "2026-03-08T06:00:00Z".parse().unwrap(),
        Timestamp::MIN,
        Timestamp::MAX,
    ]
}

fn zones() -> [TimeZone; 3] {
    [
        TimeZone::UTC,
        TimeZone::get("America/New_York").unwrap(),
        TimeZone::get("Pacific/Chatham").unwrap(),
    ]
}

fn every_reading(text: &str) -> Result<(), TestCaseError> {
    for now in nows() {
        for zone in zones() {
            if let Some(limit) = classify(text, now, &zone) {
                prop_assert!(limit.kind == Kind::Usage || limit.resets_at.is_none());
            }
        }
    }
    Ok(())
}

fn vector_texts() -> Vec<String> {
    let doc: Value = serde_json::from_str(include_str!("../limits/vectors.json")).unwrap();
    doc["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["text"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn survive_arbitrary_text() {
    let strategy = prop_oneof![
        any::<String>(),
        prop::collection::vec(prop::sample::select(PIECES), 0..16).prop_map(|p| p.concat()),
        mutated(vector_texts()),
    ];
    check("limits::survive_arbitrary_text", strategy, |text| {
        every_reading(&text)
    });
}
