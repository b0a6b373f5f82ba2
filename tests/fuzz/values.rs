//! Arbitrary JSON trees for the fuzzers: numbers at the edges of what parsers convert, strings
//! parsers read as more than text, keys the parsers look for, and real trees with wrong values
//! put in at any place.

use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::Value;

/// Numbers that sit at the edges of what parsers convert: limits, zero signs, tiny and huge.
fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        prop::num::f64::NORMAL.prop_map(Value::from),
        prop::sample::select(vec![
            0.0,
            -0.0,
            0.5,
            1.0,
            -1.0,
            99.9,
            100.0,
            100.1,
            1e15,
            1e19,
            18_000.0,
            604_800.0,
            1.7e12,
            f64::MAX,
            -f64::MAX,
            f64::MIN_POSITIVE,
            5e-324,
            9.3e18,
            -9.3e18,
        ])
        .prop_map(Value::from),
    ]
}

/// Strings parsers read as more than text: times, statuses, numbers in strings, and every key
/// and string value of the fixtures (`words`).
fn string(words: &'static [String]) -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(words),
        prop::sample::select(vec![
            "",
            " ",
            "RED",
            "green",
            "UNKNOWN",
            "2026-11-21T12:00:00Z",
            "2026-11-21T12:00:00+08:00",
            "9999-12-31T23:59:59Z",
            "-009999-01-01T00:00:00Z",
            "1970-01-01",
            "110.00",
            " 7 ",
            "-1",
            "1e308",
            "NaN",
            "inf",
            "\u{0}",
            "\u{feff}",
        ])
        .prop_map(str::to_owned),
        "\\PC{0,12}",
    ]
}

/// Arbitrary JSON trees whose keys and strings are often ones the parsers look for.
pub fn json_value(words: &'static [String]) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        string(words).prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 96, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((string(words), inner), 0..8)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

/// A JSON tree with some of its nodes replaced by arbitrary values or removed: wrong types,
/// missing fields and odd values at every place a real answer has one.
pub fn reshaped(seeds: Vec<Value>, words: &'static [String]) -> impl Strategy<Value = Value> {
    let change = (any::<Index>(), prop::option::of(json_value(words)));
    (
        prop::sample::select(seeds),
        prop::collection::vec(change, 1..4),
    )
        .prop_map(|(mut value, changes)| {
            for (pick, replacement) in changes {
                let mut pointers = Vec::new();
                pointers_of(&value, String::new(), &mut pointers);
                let target = &pointers[pick.index(pointers.len())];
                match replacement {
                    Some(new) => *value.pointer_mut(target).expect("a pointer of the value") = new,
                    None => remove(&mut value, target),
                }
            }
            value
        })
}

fn pointers_of(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                pointers_of(
                    v,
                    format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                pointers_of(v, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

/// Removes the node at `pointer` from its parent (the root is emptied instead).
fn remove(value: &mut Value, pointer: &str) {
    let Some((parent, last)) = pointer.rsplit_once('/') else {
        *value = Value::Null;
        return;
    };
    let last = last.replace("~1", "/").replace("~0", "~");
    match value.pointer_mut(parent) {
        Some(Value::Object(map)) => {
            map.remove(&last);
        }
        Some(Value::Array(items)) => {
            if let Ok(i) = last.parse::<usize>() {
                items.remove(i);
            }
        }
        _ => {}
    }
}
