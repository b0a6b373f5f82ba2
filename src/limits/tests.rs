use std::collections::BTreeSet;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::Value;

use super::reset::{clock, relative};
use super::*;

/// Real messages with their origins, run by the plugin's tests too.
const VECTORS: &str = include_str!("../../tests/limits/vectors.json");

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn zone(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap()
}

/// `(row, kind, reset)` as a test states it.
fn read(message: &str, now: &str, local: &str) -> Option<(&'static str, Kind, Option<String>)> {
    let limit = classify(message, at(now), &zone(local))?;
    let reset = limit.resets_at.map(|t| t.to_string());
    Some((limit.row, limit.kind, reset))
}

#[test]
fn the_table_loads_and_every_pattern_compiles() {
    let rows = load(TABLE).unwrap();
    assert!(rows.len() > 30);
    let ids: BTreeSet<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids.len(), rows.len(), "row ids are unique");
    assert!(load(r#"{"rows": [{"id": "x", "provider": "p", "kind": "usage", "pattern": "(?<a>", "reset": "none"}]}"#).is_err());
}

#[test]
fn every_vector_reads_as_the_plugin_reads_it() {
    let doc: Value = serde_json::from_str(VECTORS).unwrap();
    let local = zone(doc["local_zone"].as_str().unwrap());
    let mut exercised = BTreeSet::new();
    let vectors = doc["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 79);
    for v in vectors {
        let (text, origin) = (v["text"].as_str().unwrap(), &v["origin"]);
        assert!(
            origin.as_str().is_some_and(|o| !o.is_empty()),
            "{text}: no origin"
        );
        let got = classify(text, at(v["now"].as_str().unwrap()), &local);
        let expect = &v["expect"];
        if expect.is_null() {
            assert_eq!(got, None, "{origin}");
            continue;
        }
        let got = got.unwrap_or_else(|| panic!("{origin}: no row matched"));
        exercised.insert(got.row);
        let kind = match expect["kind"].as_str().unwrap() {
            "usage" => Kind::Usage,
            _ => Kind::Throttle,
        };
        let resets_at = expect["resets_at"].as_str().map(at);
        let want = Limit {
            row: got.row,
            provider: got.provider,
            kind,
            resets_at,
        };
        assert_eq!(got, want, "{origin}");
        assert_eq!(got.row, expect["id"].as_str().unwrap(), "{origin}");
        assert_eq!(
            got.provider,
            expect["provider"].as_str().unwrap(),
            "{origin}"
        );
    }
    let unexercised: Vec<&str> = ROWS
        .iter()
        .map(|r| r.id.as_str())
        .filter(|id| !exercised.contains(id))
        .collect();
    assert!(
        unexercised.is_empty(),
        "rows without a vector: {unexercised:?}"
    );
}

#[test]
fn what_claude_code_prints_is_told_apart() {
    // z.ai through Claude Code starts like Claude's own throttle; the z.ai code wins.
    let zai = "API Error: Request rejected (429) · [1308][Usage limit reached for 5 hour. Your \
               limit will reset at 2026-08-31 18:19:41][20260831150427d7cd9f9634d84ecc]";
    let limit = classify(zai, at("2026-08-31T07:04:27Z"), &TimeZone::UTC).unwrap();
    assert_eq!((limit.provider, limit.kind), ("zai", Kind::Usage));
    assert_eq!(limit.resets_at, Some(at("2026-08-31T10:19:41Z")));
    let throttle = "API Error: Server is temporarily limiting requests (not your usage limit)";
    assert_eq!(
        read(throttle, "2026-12-05T12:00:00Z", "UTC"),
        Some(("anthropic-not-usage-limit", Kind::Throttle, None))
    );
    // Claude Code 2.1.332, one text per claim.
    let now = "2026-12-05T12:56:15Z";
    for (text, reset) in [
        (
            "You've hit your 5-hour limit · resets 2:56pm (UTC)",
            "2026-12-05T14:56:00Z",
        ),
        (
            "You've hit your weekly limit · resets Dec 8, 12:56pm (UTC)",
            "2026-12-08T12:56:00Z",
        ),
        (
            "You've hit your Opus limit · resets Dec 7, 12:56pm (UTC)",
            "2026-12-07T12:56:00Z",
        ),
    ] {
        let (_, kind, got) = read(text, now, "UTC").unwrap();
        assert_eq!((kind, got.as_deref()), (Kind::Usage, Some(reset)), "{text}");
    }
}

/// Expectations computed by the plugin's own `classify` under Node 20.
#[test]
fn zones_and_calendars_follow_the_plugin() {
    let cases = [
        // No zone in the text: the reader's.
        (
            "Session limit reached ∙ resets 8pm",
            "2026-07-01T12:00:00Z",
            "America/New_York",
            Some("2026-07-02T00:00:00Z"),
        ),
        // A wall time in a DST gap lands an hour early, as the plugin's two passes put it.
        (
            "You've hit your limit · resets Mar 8, 2:30am (America/New_York)",
            "2026-03-05T00:00:00Z",
            "UTC",
            Some("2026-03-08T06:30:00Z"),
        ),
        (
            "You've hit your limit · resets 2:30am (America/New_York)",
            "2026-03-08T05:00:00Z",
            "UTC",
            Some("2026-03-08T06:30:00Z"),
        ),
        // In a fold, the earlier of the two.
        (
            "You've hit your limit · resets Nov 1, 1:30am (America/New_York)",
            "2026-10-30T00:00:00Z",
            "UTC",
            Some("2026-11-01T05:30:00Z"),
        ),
        // An unknown zone: the row matches, the reset is unread.
        (
            "You've hit your limit · resets 5pm (Mars/Olympus)",
            "2026-03-05T00:00:00Z",
            "UTC",
            None,
        ),
        // Days roll over as in Date.UTC; the nearest year; zones case-insensitively.
        (
            "You've hit your weekly limit · resets Feb 31, 1am (UTC)",
            "2026-02-20T00:00:00Z",
            "UTC",
            Some("2026-03-03T01:00:00Z"),
        ),
        (
            "You've hit your weekly limit · resets Jan 2, 1am (utc)",
            "2026-12-30T00:00:00Z",
            "UTC",
            Some("2027-01-02T01:00:00Z"),
        ),
        (
            "You've hit your session limit · resets 12am (Asia/Kolkata)",
            "2026-06-05T12:00:00Z",
            "UTC",
            Some("2026-06-05T18:30:00Z"),
        ),
        (
            "Claude AI usage limit reached|1755615600123",
            "2025-08-19T11:00:00Z",
            "UTC",
            Some("2025-08-19T15:00:00.123Z"),
        ),
        (
            "usage limit exceeded, weekly usage limit reached for Token Plan Max (45000/45000 used), resets at 2026-05-25T00:00:00+08:00",
            "2026-05-20T00:00:00Z",
            "UTC",
            Some("2026-05-24T16:00:00Z"),
        ),
        // Two-digit years are 1900s in Date.UTC.
        (
            "You've hit your usage limit. Try again at Jul 5th, 0050 8:19 PM.",
            "2026-06-05T12:00:00Z",
            "UTC",
            Some("1950-07-05T20:19:00Z"),
        ),
        // The rel group stops at the first full stop.
        (
            "Weekly usage limit reached. Resets in 1.5 hrs and 10MIN.",
            "2026-01-01T00:00:00Z",
            "UTC",
            None,
        ),
    ];
    for (text, now, local, want) in cases {
        let (_, _, got) = read(text, now, local).unwrap();
        assert_eq!(got.as_deref(), want, "{text}");
    }
}

#[test]
fn relative_times_and_clocks() {
    for (text, ms) in [
        ("8h44m7s", Some(31_447_000)),
        ("5mo", None),
        ("1.5 h", Some(5_400_000)),
        ("~2 weeks", Some(1_209_600_000)),
        ("less than a minute", None),
        ("3 DAYS 4 Hrs", Some(273_600_000)),
        ("10h 7m", Some(36_420_000)),
        ("2w1d", Some(1_296_000_000)),
        ("1.5.h", None),
        ("12x 5h", Some(18_000_000)),
        ("9".repeat(400).as_str(), None),
    ] {
        assert_eq!(relative(text), ms, "{text}");
    }
    for (text, hm) in [
        ("5pm", Some((17, 0))),
        ("11:50pm", Some((23, 50))),
        (" 1 PM ", Some((13, 0))),
        ("12am", Some((0, 0))),
        ("12:60pm", None),
        ("13", None),
    ] {
        assert_eq!(clock(text), hm, "{text}");
    }
}

#[test]
fn nothing_is_not_a_limit() {
    assert_eq!(
        classify("", at("2026-01-01T00:00:00Z"), &TimeZone::UTC),
        None
    );
    let far = classify(
        "Monthly usage limit reached. Resets in 6 days",
        Timestamp::MAX,
        &TimeZone::UTC,
    );
    assert_eq!(
        far.map(|l| l.resets_at),
        Some(None),
        "past the end of time: no reset"
    );
}
