//! The JSONC layer under fuzzing: parsing never panics and is lossless on whatever it accepts;
//! edits on documents of any layout stay within their span and undo exactly. Builds on the
//! generators of `jsonc::props`.

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::TestCaseError;

use super::{check, jsonish_text, mutate, mutation};
use crate::jsonc::props::{all_paths, document, json_string, only_span_changed};
use crate::jsonc::{Document, Edit, KeyPath, NewValue, Node};
use crate::provider::Aliases;
use crate::target::{Doc, Kind};

/// Parses anything: an error must point inside the text; a document must render back to exactly
/// the input, and the target kinds must read it without trouble.
fn parse_checked(text: &str) -> Result<Option<Document>, TestCaseError> {
    match Document::parse(text) {
        Err(e) => {
            let lines = text.split('\n').count();
            prop_assert!(
                e.line >= 1 && e.line <= lines && e.column >= 1,
                "{e} in {text:?}"
            );
            prop_assert!(!e.message.is_empty());
            Ok(None)
        }
        Ok(doc) => {
            prop_assert_eq!(doc.render(), text);
            check_ranges(&doc, doc.root())?;
            let aliases = Aliases::default();
            let as_target = Doc::Json(doc.clone());
            for kind in [Kind::OpenCode, Kind::Claude] {
                for slot in kind.slots(&as_target) {
                    prop_assert_eq!(doc.raw_at(&slot.path), Some(&*slot.raw));
                    kind.provider(&as_target, &slot.model, &aliases, None);
                }
            }
            Ok(Some(doc))
        }
    }
}

/// Every node's range lies in the text, and a string's raw text decodes to its value.
fn check_ranges(doc: &Document, node: &Node) -> Result<(), TestCaseError> {
    let range = node.range();
    prop_assert!(range.start <= range.end && range.end <= doc.text().len());
    match node {
        Node::String { .. } => {
            let decoded: String = serde_json::from_str(doc.raw(node))
                .map_err(|e| TestCaseError::fail(format!("{:?}: {e}", doc.raw(node))))?;
            let value = doc.str(node);
            prop_assert_eq!(Some(decoded.as_str()), value.as_deref());
        }
        Node::Array { items, .. } => {
            for item in items {
                check_ranges(doc, item)?;
            }
        }
        Node::Object { props, .. } => {
            for p in props {
                check_ranges(doc, &p.value)?;
            }
        }
        Node::Other { .. } => {}
    }
    Ok(())
}

/// Layout noise that keeps a document valid when it falls between tokens: the parser's whole
/// idea of whitespace and comments, lone CRs included.
const TRIVIA: &[&str] = &[
    " ",
    "\n",
    "\r\n",
    "\r",
    "\t",
    "\u{b}",
    "\u{c}",
    "\u{a0}",
    "\u{2028}",
    "/* c */",
    "/**/",
    "/*\n*/",
    "// c\n",
    "// c\r",
    "\n// x, } \n",
    "/* , */\r\n",
];

/// A generated document with trivia inserted at random places: layouts no generator writes.
fn reshaped_document() -> impl Strategy<Value = String> {
    let noise = (any::<Index>(), prop::sample::select(TRIVIA));
    (document(), prop::collection::vec(noise, 0..8)).prop_map(|(mut text, noise)| {
        for (at, t) in noise {
            let boundaries: Vec<usize> = (0..=text.len())
                .filter(|i| text.is_char_boundary(*i))
                .collect();
            text.insert_str(boundaries[at.index(boundaries.len())], t);
        }
        text
    })
}

/// Replaces a string, checks only its span changed, and puts it back.
fn replace_and_undo(doc: &Document, path: &KeyPath, raw: &str) -> Result<(), TestCaseError> {
    let text = doc.render();
    let bom = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let range = doc.get(path).unwrap().range();
    let old = doc.raw_at(path).unwrap().to_owned();
    let edited = doc
        .apply(&[Edit::Replace {
            path: path.clone(),
            raw: raw.into(),
        }])
        .map_err(|e| TestCaseError::fail(format!("replace {path}: {e}")))?;
    prop_assert_eq!(edited.raw_at(path), Some(raw));
    prop_assert!(only_span_changed(
        &text,
        &edited.render(),
        range.start + bom..range.end + bom
    ));
    let undone = edited
        .apply(&[Edit::Replace {
            path: path.clone(),
            raw: old.into(),
        }])
        .map_err(|e| TestCaseError::fail(format!("undo {path}: {e}")))?;
    prop_assert_eq!(undone.render(), text);
    Ok(())
}

/// Inserts `key` into the object at `at`, checks nothing else moved, removes it again.
fn insert_and_remove(
    doc: &Document,
    at: &KeyPath,
    key: &str,
    value: NewValue,
) -> Result<(), TestCaseError> {
    if doc.prop(doc.get(at).unwrap(), key).is_some() {
        return Ok(());
    }
    let inserted = doc
        .apply(&[Edit::Insert {
            object: at.clone(),
            key: key.to_owned(),
            value,
        }])
        .map_err(|e| TestCaseError::fail(format!("insert {key:?} into {at}: {e}")))?;
    prop_assert!(inserted.get(&at.child(key)).is_some());
    let (_, strings) = all_paths(doc);
    for s in &strings {
        prop_assert_eq!(inserted.raw_at(s), doc.raw_at(s), "{}", s);
    }
    let removed = inserted
        .apply(&[Edit::Remove {
            path: at.child(key),
        }])
        .map_err(|e| TestCaseError::fail(format!("remove {key:?} from {at}: {e}")))?;
    if !doc.get(at).unwrap().props().is_empty() {
        prop_assert_eq!(removed.render(), doc.render());
    }
    Ok(())
}

#[test]
fn parse_survives_arbitrary_text() {
    check(
        "jsonc::parse_survives_arbitrary_text",
        jsonish_text(),
        |text| parse_checked(&text).map(drop),
    );
}

#[test]
fn parse_survives_mutated_documents() {
    let strategy = (document(), prop::collection::vec(mutation(), 1..6))
        .prop_map(|(d, ms)| String::from_utf8_lossy(&mutate(d.as_bytes(), &ms)).into_owned());
    check(
        "jsonc::parse_survives_mutated_documents",
        strategy,
        |text| parse_checked(&text).map(drop),
    );
}

#[test]
fn edits_on_reshaped_documents_are_local_and_undo() {
    let strategy = (
        reshaped_document(),
        any::<(Index, Index, Index)>(),
        json_string(),
        any::<bool>(),
    );
    check(
        "jsonc::edits_on_reshaped_documents_are_local_and_undo",
        strategy,
        |(text, (s, o, r), new, object_value)| {
            let Some(doc) = parse_checked(&text)? else {
                return Ok(());
            };
            let (objects, strings) = all_paths(&doc);
            if !strings.is_empty() {
                replace_and_undo(&doc, &strings[s.index(strings.len())], &new)?;
            }
            let value = if object_value {
                NewValue::Object(vec![
                    ("A".into(), "\"1\"".into()),
                    ("B".into(), new.clone()),
                ])
            } else {
                NewValue::Raw(new.clone())
            };
            if !objects.is_empty() {
                insert_and_remove(&doc, &objects[o.index(objects.len())], "NEW_KEY", value)?;
            }
            // Removing any member leaves every value outside it as it was, and parses.
            let members: Vec<&KeyPath> = strings.iter().filter(|p| p.last().is_some()).collect();
            if !members.is_empty() {
                let path = members[r.index(members.len())];
                let removed = doc
                    .apply(&[Edit::Remove { path: path.clone() }])
                    .map_err(|e| TestCaseError::fail(format!("remove {path}: {e}")))?;
                for other in strings
                    .iter()
                    .filter(|p| !p.keys().starts_with(path.keys()))
                {
                    prop_assert_eq!(removed.raw_at(other), doc.raw_at(other), "{}", other);
                }
            }
            Ok(())
        },
    );
}

#[test]
fn batched_replacements_undo() {
    let picks = prop::collection::vec((any::<Index>(), json_string()), 1..6);
    check(
        "jsonc::batched_replacements_undo",
        (document(), picks),
        |(text, picks)| {
            let doc = Document::parse(&text).unwrap();
            let (_, strings) = all_paths(&doc);
            // A later duplicate key can hide the one string every document has.
            if strings.is_empty() {
                return Ok(());
            }
            let edits: Vec<Edit> = picks
                .iter()
                .map(|(i, raw)| Edit::Replace {
                    path: strings[i.index(strings.len())].clone(),
                    raw: raw.as_str().into(),
                })
                .collect();
            let edited = doc
                .apply(&edits)
                .map_err(|e| TestCaseError::fail(format!("batch: {e}")))?;
            let mut undo = Vec::new();
            for s in &strings {
                let last = edits.iter().rev().find_map(|e| match e {
                    Edit::Replace { path, raw } if path == s => Some(&**raw),
                    _ => None,
                });
                match last {
                    Some(raw) => {
                        prop_assert_eq!(edited.raw_at(s), Some(raw), "{}", s);
                        undo.push(Edit::Replace {
                            path: s.clone(),
                            raw: doc.raw_at(s).unwrap().into(),
                        });
                    }
                    None => prop_assert_eq!(edited.raw_at(s), doc.raw_at(s), "{}", s),
                }
            }
            let undone = edited
                .apply(&undo)
                .map_err(|e| TestCaseError::fail(format!("undo: {e}")))?;
            prop_assert_eq!(undone.render(), text);
            Ok(())
        },
    );
}

#[test]
fn any_key_inserts_and_removes() {
    let entries = prop::collection::vec((any::<String>(), json_string()), 0..3);
    let strategy = (
        document(),
        any::<Index>(),
        any::<String>(),
        prop::option::of(entries),
    );
    check(
        "jsonc::any_key_inserts_and_removes",
        strategy,
        |(text, pick, key, entries)| {
            let doc = Document::parse(&text).unwrap();
            let (objects, _) = all_paths(&doc);
            let value = match entries {
                Some(entries) => NewValue::Object(entries),
                None => NewValue::Raw("\"v\"".into()),
            };
            insert_and_remove(&doc, &objects[pick.index(objects.len())], &key, value)
        },
    );
}
