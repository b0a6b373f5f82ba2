//! Markdown agent files under fuzzing: the real files of `tests/fixtures/agents/` mutated, and
//! front matter assembled from the pieces YAML treats specially. Reading never panics; a value
//! found is exactly its bytes; an edit changes only those bytes, reads back as the new model and
//! undoes exactly; and no raw text, however odd, is accepted unless it reads back as itself.

use std::path::Path;
use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use super::{check, mutated};
use crate::jsonc::{Edit, KeyPath};
use crate::target::{Doc, Kind};

/// Every real agent file of the fixtures.
fn agent_files() -> Vec<String> {
    static FILES: OnceLock<Vec<String>> = OnceLock::new();
    FILES
        .get_or_init(|| {
            let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/agents");
            let mut out = Vec::new();
            for kind in ["opencode", "claude"] {
                for file in std::fs::read_dir(root.join(kind)).expect("agent fixtures") {
                    let bytes = std::fs::read(file.unwrap().path()).unwrap();
                    out.push(String::from_utf8(bytes).expect("UTF-8 fixtures"));
                }
            }
            out.sort();
            out
        })
        .clone()
}

/// Lines of front matter made of what a line scanner could get wrong.
fn front_matter() -> impl Strategy<Value = String> {
    const PIECES: &[&str] = &[
        "---",
        " ---",
        "--- ",
        "model:",
        "model: ",
        "model :",
        "\"model\":",
        "'model':",
        " model:",
        "opus",
        "zai/glm-4.7",
        "'",
        "''",
        "\"",
        "\\\"",
        "\\",
        "#",
        " #",
        " # x",
        "|",
        "|-",
        ">",
        "[",
        "]",
        "{",
        "}",
        "{{MODEL}}",
        "&a ",
        "*a",
        "!!str ",
        "- ",
        "? ",
        ": ",
        "inherit",
        "null",
        "~",
        "true",
        "4.5",
        "0x1F",
        "\t",
        "  ",
        "\r",
        "é",
        "\u{feff}",
        "\u{2028}",
        "\0",
    ];
    let line = prop::collection::vec(prop::sample::select(PIECES), 0..6).prop_map(|p| p.concat());
    (
        any::<bool>(),
        prop::collection::vec(line, 0..8),
        prop_oneof![Just("\n"), Just("\r\n")],
    )
        .prop_map(|(bom, lines, nl)| {
            let mut text = String::from(if bom { "\u{feff}---" } else { "---" });
            for l in lines {
                text.push_str(nl);
                text.push_str(&l);
            }
            text.push_str(nl);
            text.push_str("---");
            text.push_str(nl);
            text.push_str("body model: x");
            text
        })
}

/// Reads `text` as both agent kinds and puts every edit it allows through its paces.
fn read_and_edit(text: &str, new: &str, raw: &str) -> Result<(), TestCaseError> {
    let model = KeyPath::new(["model"]);
    for kind in [Kind::OpenCodeAgent, Kind::ClaudeAgent] {
        let doc = Doc::parse(kind, text.to_owned()).expect("an agent file always parses");
        prop_assert_eq!(doc.render(), text);
        let slots = kind.slots(&doc);
        let Some(slot) = slots.first() else {
            // Nothing to edit, so nothing may be edited.
            let edit = Edit::Replace {
                path: model.clone(),
                raw: raw.into(),
            };
            prop_assert!(doc.apply(&[edit]).is_err());
            continue;
        };
        prop_assert!(doc.unmanaged().is_none());
        let Doc::Agent(file) = &doc else {
            return Err(TestCaseError::fail("an agent kind read as JSON"));
        };
        let span = file.value().expect("a slot has a value").span.clone();
        prop_assert!(text.is_char_boundary(span.start) && text.is_char_boundary(span.end));
        let found = &text[span.clone()];
        prop_assert_eq!(doc.raw_at(&model), Some(found));
        prop_assert_eq!(found, &*slot.raw);
        prop_assert_eq!(kind.decode(found), &*slot.model);
        prop_assert!(kind.holds(found));
        let spliced = |raw: &str| format!("{}{raw}{}", &text[..span.start], &text[span.end..]);
        let edit = |raw: &str| Edit::Replace {
            path: model.clone(),
            raw: raw.into(),
        };

        // A model written the value's way: only the value's bytes change, and it undoes.
        let written = doc.value_text(new);
        match doc.apply(&[edit(&written)]) {
            Ok(after) => {
                prop_assert_eq!(&*kind.slots(&after)[0].model, new);
                prop_assert_eq!(after.render(), spliced(&written));
                let back = after.apply(&[edit(found)]).expect("the original goes back");
                prop_assert_eq!(back.render(), text);
            }
            // Only a value that is not a model may be refused.
            Err(_) => prop_assert_eq!(new, "inherit"),
        }

        // Any raw text at all: refused, or exactly itself, read back, and nothing else moved.
        if let Ok(after) = doc.apply(&[edit(raw)]) {
            prop_assert!(kind.holds(raw), "{raw:?} accepted");
            prop_assert_eq!(after.raw_at(&model), Some(raw));
            prop_assert_eq!(after.render(), spliced(raw));
        }
    }
    Ok(())
}

#[test]
fn real_agent_files_mutated_read_and_edit_soundly() {
    let strategy = (mutated(agent_files()), any::<String>(), any::<String>());
    check(
        "markdown::real_agent_files_mutated_read_and_edit_soundly",
        strategy,
        |(text, new, raw)| read_and_edit(&text, &new, &raw),
    );
}

#[test]
fn assembled_front_matter_reads_and_edits_soundly() {
    let raw = prop_oneof![any::<String>(), front_matter()];
    let strategy = (front_matter(), "[a-z/:\\[\\]#'\" .-]{0,16}", raw);
    check(
        "markdown::assembled_front_matter_reads_and_edits_soundly",
        strategy,
        |(text, new, raw)| read_and_edit(&text, &new, &raw),
    );
}
