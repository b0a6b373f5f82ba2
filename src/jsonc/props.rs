//! Property tests: generated JSONC with varied layout (indents, CRLF, comments, trailing commas,
//! escapes, non-ASCII, BOM) must round-trip, and every edit must touch only its own span.
//!
//! The generators are shared with `crate::fuzz`, and so is its case count (`PROPTEST_CASES`).

use proptest::prelude::*;

use super::{Document, Edit, KeyPath, NewValue, Node};

#[derive(Clone, Debug)]
enum Gen {
    Scalar(String),
    Str(String),
    Array(Vec<Gen>),
    Object(Layout, Vec<(String, Gen)>),
}

#[derive(Clone, Debug)]
struct Layout {
    multiline: bool,
    trailing_comma: bool,
    comment: u8,
}

#[derive(Clone, Debug)]
struct Style {
    bom: bool,
    nl: &'static str,
    unit: &'static str,
}

pub(crate) fn json_string() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z/._-]{0,12}".prop_map(|s| serde_json::to_string(&s).unwrap()),
        any::<String>().prop_map(|s| serde_json::to_string(&s).unwrap()),
        "[a-zé😀 ]{0,6}".prop_map(|s| format!("\"\\u00e9{s}\\n\\\"\\/\"")),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{1,6}".prop_map(|s| serde_json::to_string(&s).unwrap()),
        "[a-z.é ]{0,6}".prop_map(|s| serde_json::to_string(&s).unwrap()),
        Just("\"model\"".to_owned()),
    ]
}

fn tree() -> impl Strategy<Value = Gen> {
    let leaf = prop_oneof![
        json_string().prop_map(Gen::Str),
        prop_oneof![
            Just("1.50".to_owned()),
            Just("-0".to_owned()),
            Just("1e400".to_owned()),
            Just("true".to_owned()),
            Just("null".to_owned()),
            Just("12345678901234567890".to_owned()),
        ]
        .prop_map(Gen::Scalar),
    ];
    leaf.prop_recursive(4, 40, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Gen::Array),
            (layout(), prop::collection::vec((key(), inner), 0..5))
                .prop_map(|(l, members)| Gen::Object(l, members)),
        ]
    })
}

fn layout() -> impl Strategy<Value = Layout> {
    (any::<bool>(), any::<bool>(), 0u8..4).prop_map(|(multiline, trailing_comma, comment)| Layout {
        multiline,
        trailing_comma,
        comment,
    })
}

fn style() -> impl Strategy<Value = Style> {
    (
        any::<bool>(),
        prop_oneof![Just("\n"), Just("\r\n")],
        prop_oneof![Just("  "), Just("    "), Just("\t")],
    )
        .prop_map(|(bom, nl, unit)| Style { bom, nl, unit })
}

pub(crate) fn document() -> impl Strategy<Value = String> {
    let members = prop::collection::vec((key(), tree()), 0..6);
    (style(), layout(), json_string(), members).prop_map(|(style, l, model, mut members)| {
        // Every document has at least one string member to edit.
        members.insert(members.len() / 2, ("\"model\"".to_owned(), Gen::Str(model)));
        let mut out = String::new();
        if style.bom {
            out.push('\u{feff}');
        }
        out.push_str("// head\n");
        render(&Gen::Object(l, members), &style, 0, &mut out);
        out.push_str(style.nl);
        out
    })
}

fn render(node: &Gen, style: &Style, depth: usize, out: &mut String) {
    match node {
        Gen::Scalar(s) | Gen::Str(s) => out.push_str(s),
        Gen::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                render(item, style, depth + 1, out);
            }
            out.push(']');
        }
        Gen::Object(layout, members) => {
            out.push('{');
            let inner = style.unit.repeat(depth + 1);
            for (i, (k, v)) in members.iter().enumerate() {
                if layout.multiline {
                    out.push_str(style.nl);
                    out.push_str(&inner);
                } else if i > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push_str(": ");
                render(v, style, depth + 1, out);
                let last = i + 1 == members.len();
                if !last || layout.trailing_comma {
                    out.push(',');
                }
                match layout.comment {
                    1 if layout.multiline => out.push_str(" // note, with comma"),
                    2 => out.push_str(" /* c, } */"),
                    _ => {}
                }
            }
            if layout.multiline && !members.is_empty() {
                out.push_str(style.nl);
                out.push_str(&style.unit.repeat(depth));
            }
            out.push('}');
        }
    }
}

/// Every object path in the document, and every string value's path.
fn paths(
    doc: &Document,
    node: &Node,
    at: KeyPath,
    objects: &mut Vec<KeyPath>,
    strings: &mut Vec<KeyPath>,
) {
    match node {
        Node::Object { .. } => {
            objects.push(at.clone());
            // Only the last of duplicate keys is addressable.
            for p in doc.unique_props(node) {
                paths(doc, &p.value, at.child(&doc.key(p)), objects, strings);
            }
        }
        Node::String { .. } => strings.push(at),
        _ => {}
    }
}

pub(crate) fn all_paths(doc: &Document) -> (Vec<KeyPath>, Vec<KeyPath>) {
    let (mut objects, mut strings) = (Vec::new(), Vec::new());
    paths(
        doc,
        doc.root(),
        KeyPath::new(Vec::<String>::new()),
        &mut objects,
        &mut strings,
    );
    (objects, strings)
}

/// The whole text's prefix before and suffix after a span are the same in both texts.
pub(crate) fn only_span_changed(before: &str, after: &str, span: std::ops::Range<usize>) -> bool {
    let suffix = before.len() - span.end;
    before[..span.start] == after[..span.start]
        && before[span.end..] == after[after.len() - suffix..]
}

proptest! {
    #![proptest_config(crate::fuzz::config())]
    #[test]
    fn render_of_parse_is_identity(text in document()) {
        let doc = Document::parse(&text).unwrap();
        prop_assert_eq!(doc.render(), text);
    }
}

proptest! {
    #![proptest_config(crate::fuzz::config())]
    #[test]
    fn replace_touches_only_the_value_and_restores(text in document(), pick in any::<prop::sample::Index>(), new in json_string()) {
        let doc = Document::parse(&text).unwrap();
        let (_, strings) = all_paths(&doc);
        prop_assume!(!strings.is_empty());
        let path = strings[pick.index(strings.len())].clone();
        let range = doc.get(&path).unwrap().range();
        let old_raw = doc.raw_at(&path).unwrap().to_owned();
        let edited = doc.apply(&[Edit::Replace { path: path.clone(), raw: new.as_str().into() }]).unwrap();
        prop_assert_eq!(edited.raw_at(&path), Some(new.as_str()));
        let bom = usize::from(text.starts_with('\u{feff}')) * 3;
        prop_assert!(only_span_changed(&text, &edited.render(), range.start + bom..range.end + bom));
        let restored = edited.apply(&[Edit::Replace { path, raw: old_raw.into() }]).unwrap();
        prop_assert_eq!(restored.render(), text);
    }
}

proptest! {
    #![proptest_config(crate::fuzz::config())]
    /// The text of replacements spliced without a second parse, streamed or built, is the text
    /// `apply` checks, for any set of values replaced, with or without a raw text that is not
    /// one whole value.
    #[test]
    fn replacements_spliced_as_text_match_apply(text in document(), picks in prop::collection::vec(any::<prop::sample::Index>(), 1..5), new in json_string(), noise in prop::option::of(Just(" // x"))) {
        let doc = Document::parse(&text).unwrap();
        let (_, strings) = all_paths(&doc);
        prop_assume!(!strings.is_empty());
        let raw = format!("{new}{}", noise.unwrap_or(""));
        let edits: Vec<Edit> = picks
            .iter()
            .map(|pick| Edit::Replace { path: strings[pick.index(strings.len())].clone(), raw: raw.as_str().into() })
            .collect();
        match doc.apply(&edits) {
            Ok(applied) => {
                // Streamed to a file or built whole: the same text.
                let edited = doc.clone().edited(edits.clone()).unwrap();
                prop_assert_eq!(&*edited.before(), text.as_str());
                let mut streamed = Vec::new();
                edited.write_to(&mut streamed).unwrap();
                prop_assert_eq!(String::from_utf8(streamed).unwrap(), applied.render());
                prop_assert_eq!(edited.into_texts(), (text.clone(), applied.render()));
            }
            Err(e) => prop_assert_eq!(doc.edited(edits).err(), Some(e)),
        }
    }
}

proptest! {
    #![proptest_config(crate::fuzz::config())]
    #[test]
    fn insert_then_remove_is_identity(text in document(), pick in any::<prop::sample::Index>(), object_value in any::<bool>()) {
        let doc = Document::parse(&text).unwrap();
        let (objects, _) = all_paths(&doc);
        let at = objects[pick.index(objects.len())].clone();
        let key = "NEW_KEY";
        prop_assume!(doc.prop(doc.get(&at).unwrap(), key).is_none());
        let value = if object_value {
            NewValue::Object(vec![("A".into(), "\"1\"".into()), ("B".into(), "\"x\"".into())])
        } else {
            NewValue::Raw("\"v\"".into())
        };
        let inserted = doc.apply(&[Edit::Insert { object: at.clone(), key: key.into(), value }]).unwrap();
        prop_assert!(inserted.get(&at.child(key)).is_some());
        // Every other value keeps its raw text.
        let (_, strings) = all_paths(&doc);
        for s in &strings {
            prop_assert_eq!(inserted.raw_at(s), doc.raw_at(s));
        }
        let removed = inserted.apply(&[Edit::Remove { path: at.child(key) }]).unwrap();
        let non_empty = !doc.get(&at).unwrap().props().is_empty();
        if non_empty {
            prop_assert_eq!(removed.render(), text);
        } else {
            prop_assert!(removed.get(&at).unwrap().props().is_empty());
        }
    }
}

proptest! {
    #![proptest_config(crate::fuzz::config())]
    #[test]
    fn remove_any_member_keeps_the_rest(text in document(), pick in any::<prop::sample::Index>()) {
        let doc = Document::parse(&text).unwrap();
        let (_, strings) = all_paths(&doc);
        prop_assume!(!strings.is_empty());
        let path = strings[pick.index(strings.len())].clone();
        prop_assume!(path.last().is_some());
        let removed = doc.apply(&[Edit::Remove { path: path.clone() }]).unwrap();
        for s in strings.iter().filter(|s| !s.keys().starts_with(path.keys())) {
            prop_assert_eq!(removed.raw_at(s), doc.raw_at(s), "{}", s);
        }
    }
}
