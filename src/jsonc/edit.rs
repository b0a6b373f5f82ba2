//! Edits to a document, applied as splices of its text.
//!
//! Each edit changes the smallest span it can: a replaced value's own bytes; an inserted member
//! with the comma and line break it needs, indented like its siblings; a removed member with
//! exactly what its insertion added, so inserting then removing a key gives the input back.

use std::borrow::Cow;
use std::io;
use std::ops::Range;
use std::sync::Arc;

use super::document::{BOM, Document, Node};
use super::layout::{
    indent_of_line, indent_unit, line_break_before, line_comment_before, newline, skip_trivia,
    skip_trivia_on_line,
};
use super::{KeyPath, ParseError};

/// A value to insert: raw JSON text, or an object built from `(key, raw value)` members and laid
/// out to match the document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum NewValue {
    Raw(String),
    Object(Vec<(String, String)>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Edit {
    /// Replace the value at a path with raw JSON text.
    Replace { path: KeyPath, raw: Arc<str> },
    /// Append a member to the object at `object`.
    Insert {
        object: KeyPath,
        key: String,
        value: NewValue,
    },
    /// Remove the member at a path (the last one, if the key is duplicated).
    Remove { path: KeyPath },
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum EditError {
    #[error("no value at {0}")]
    Missing(KeyPath),
    #[error("{0} is not an object")]
    NotObject(KeyPath),
    #[error("{0} already exists")]
    Exists(KeyPath),
    /// The edited text no longer parses: a bug in an edit, caught before anything is written.
    #[error("edit produced invalid JSON ({0})")]
    Broken(ParseError),
}

/// A range of a text replaced by a new one. A replacement's text is its edit's, shared: a big
/// config's thousands of splices copy none.
struct Splice {
    range: Range<usize>,
    text: Arc<str>,
}

impl Document {
    /// Applies edits in order and returns the new document. Nothing is applied if one fails.
    pub(crate) fn apply(&self, edits: &[Edit]) -> Result<Document, EditError> {
        // Each run of splices makes a new document from the last: the first reads `self`, so a
        // big document is not copied before it is edited.
        let mut edited: Option<Document> = None;
        let mut rest = edits;
        while !rest.is_empty() {
            // Replacements of distinct values never overlap, so a run of them is one splice pass;
            // a run that touches one value twice is applied edit by edit.
            let run = rest
                .iter()
                .take_while(|e| matches!(e, Edit::Replace { .. }))
                .count()
                .max(1);
            let doc = edited.as_ref().unwrap_or(self);
            let mut splices = Vec::new();
            for edit in &rest[..run] {
                splices.extend(doc.splices(edit)?);
            }
            splices.sort_by_key(|s| (s.range.start, s.range.end));
            let overlapping = splices
                .windows(2)
                .any(|w| w[1].range.start < w[0].range.end);
            let next = if overlapping {
                let mut next = doc.spliced(doc.splices(&rest[0])?)?;
                for edit in &rest[1..run] {
                    next = next.spliced(next.splices(edit)?)?;
                }
                next
            } else {
                doc.spliced(splices)?
            };
            edited = Some(next);
            rest = &rest[run..];
        }
        Ok(edited.unwrap_or_else(|| self.clone()))
    }

    /// The text [`apply`](Self::apply) gives (BOM included), to be written or taken whole, and
    /// the text before; the tree is dropped (a big config's is megabytes, which a pass need not
    /// hold while it writes). When every edit replaces a value by raw text that is one whole value
    /// (no comment or space around it) and no two replace the same bytes, the result is valid by
    /// construction: it is kept as splices of this document's text, neither parsed nor built, so
    /// that a big file is parsed once per pass and its new text can be streamed to the file.
    /// Other edits go through `apply` and its check.
    /// The edits are dropped once made into splices: a pass does not hold them while it writes.
    pub(crate) fn edited(self, edits: Vec<Edit>) -> Result<Edited, EditError> {
        let mut splices = Vec::with_capacity(edits.len());
        for edit in &edits {
            let Edit::Replace { path, raw } = edit else {
                break;
            };
            if !super::scan::parse(raw).is_some_and(|node| node.range() == (0..raw.len())) {
                break;
            }
            splices.push(self.replacement(path, raw)?);
        }
        if splices.len() == edits.len() {
            splices.sort_by_key(|s| (s.range.start, s.range.end));
            if splices
                .windows(2)
                .all(|w| w[0].range.end <= w[1].range.start)
            {
                let bom = self.has_bom();
                return Ok(Edited {
                    bom,
                    before: self.into_bare_text(),
                    after: After::Spliced(splices),
                });
            }
        }
        let after = self.apply(&edits)?.into_text();
        Ok(Edited::text(self.into_text(), after))
    }

    fn splices(&self, edit: &Edit) -> Result<Vec<Splice>, EditError> {
        match edit {
            Edit::Replace { path, raw } => Ok(vec![self.replacement(path, raw)?]),
            Edit::Insert { object, key, value } => {
                let node = self.object_at(object)?;
                if self.prop(node, key).is_some() {
                    return Err(EditError::Exists(object.child(key)));
                }
                Ok(insert_member(self.text(), node, key, value))
            }
            Edit::Remove { path } => {
                let parent = path.parent();
                let key = path
                    .last()
                    .ok_or_else(|| EditError::Missing(path.clone()))?;
                let node = self.object_at(&parent)?;
                let index = node
                    .props()
                    .iter()
                    .rposition(|p| p.key_is(self.text(), key))
                    .ok_or_else(|| EditError::Missing(path.clone()))?;
                Ok(remove_member(self.text(), node, index))
            }
        }
    }

    /// The value at `path` replaced by `raw`.
    fn replacement(&self, path: &KeyPath, raw: &Arc<str>) -> Result<Splice, EditError> {
        let node = (self.get(path)).ok_or_else(|| EditError::Missing(path.clone()))?;
        Ok(Splice {
            range: node.range(),
            text: raw.clone(),
        })
    }

    fn object_at(&self, path: &KeyPath) -> Result<&Node, EditError> {
        let node = self
            .get(path)
            .ok_or_else(|| EditError::Missing(path.clone()))?;
        if node.is_object() {
            Ok(node)
        } else {
            Err(EditError::NotObject(path.clone()))
        }
    }

    /// The document with non-overlapping splices applied.
    fn spliced(&self, mut splices: Vec<Splice>) -> Result<Document, EditError> {
        splices.sort_by_key(|s| (s.range.start, s.range.end));
        let text = splice_text(self.has_bom(), self.text(), &splices);
        Document::parse_owned(text).map_err(EditError::Broken)
    }
}

/// The full text (a BOM first if `bom`) with sorted, non-overlapping splices applied.
fn splice_text(bom: bool, text: &str, splices: &[Splice]) -> String {
    let added: usize = splices.iter().map(|s| s.text.len()).sum();
    let removed: usize = splices.iter().map(|s| s.range.len()).sum();
    let mut out = String::with_capacity(BOM.len() + text.len() + added - removed);
    spliced_pieces(bom, text, splices).for_each(|piece| out.push_str(piece));
    out
}

/// The pieces of the full text (a BOM first if `bom`) with sorted, non-overlapping splices
/// applied.
fn spliced_pieces<'s>(
    bom: bool,
    text: &'s str,
    splices: &'s [Splice],
) -> impl Iterator<Item = &'s str> {
    let starts = std::iter::once(0).chain(splices.iter().map(|s| s.range.end));
    let ends = splices.iter().map(|s| s.range.start).chain([text.len()]);
    let texts = splices.iter().map(|s| &*s.text).chain([""]);
    let pieces = starts
        .zip(ends)
        .zip(texts)
        .flat_map(move |((from, to), spliced)| [&text[from..to], spliced]);
    std::iter::once(if bom { BOM } else { "" }).chain(pieces)
}

/// A document's text before and after edits (see [`Document::edited`]).
pub(crate) struct Edited {
    /// Whether the text before starts with a BOM, which `before` does not hold.
    bom: bool,
    before: String,
    after: After,
}

enum After {
    /// Splices of `before`.
    Spliced(Vec<Splice>),
    Text(String),
}

impl Edited {
    /// Texts already built (each BOM included).
    pub(crate) fn text(before: String, after: String) -> Edited {
        Edited {
            bom: false,
            before,
            after: After::Text(after),
        }
    }

    /// The full text before, BOM included: borrowed unless it has one.
    pub(crate) fn before(&self) -> Cow<'_, str> {
        if self.bom {
            Cow::Owned(format!("{BOM}{}", self.before))
        } else {
            Cow::Borrowed(&self.before)
        }
    }

    /// Writes the text after to `out` piece by piece.
    pub(crate) fn write_to(&self, out: &mut impl io::Write) -> io::Result<()> {
        match &self.after {
            After::Spliced(splices) => spliced_pieces(self.bom, &self.before, splices)
                .try_for_each(|piece| out.write_all(piece.as_bytes())),
            After::Text(text) => out.write_all(text.as_bytes()),
        }
    }

    /// The full texts before and after, built.
    pub(crate) fn into_texts(self) -> (String, String) {
        let Edited { bom, before, after } = self;
        let after = match after {
            After::Spliced(splices) => splice_text(bom, &before, &splices),
            After::Text(text) => text,
        };
        (with_bom(bom, before), after)
    }
}

fn with_bom(bom: bool, text: String) -> String {
    if bom { format!("{BOM}{text}") } else { text }
}

fn json_key(key: &str) -> String {
    serde_json::to_string(key).expect("a string always serialises")
}

/// `"key": value`, with an object value laid out for a member indented by `indent`.
fn member(text: &str, key: &str, value: &NewValue, indent: Option<&str>) -> String {
    let value = match value {
        NewValue::Raw(raw) => raw.clone(),
        NewValue::Object(entries) if entries.is_empty() => "{}".to_owned(),
        NewValue::Object(entries) => match indent {
            Some(indent) => {
                let nl = newline(text);
                let inner = format!("{indent}{}", indent_unit(text));
                let body: Vec<String> = entries
                    .iter()
                    .map(|(k, v)| format!("{inner}{}: {v}", json_key(k)))
                    .collect();
                format!("{{{nl}{}{nl}{indent}}}", body.join(&format!(",{nl}")))
            }
            None => {
                let body: Vec<String> = entries
                    .iter()
                    .map(|(k, v)| format!("{}: {v}", json_key(k)))
                    .collect();
                format!("{{{}}}", body.join(", "))
            }
        },
    };
    format!("{}: {value}", json_key(key))
}

fn insert_member(text: &str, object: &Node, key: &str, value: &NewValue) -> Vec<Splice> {
    let range = object.range();
    let (open, close) = (range.start, range.end - 1);
    let nl = newline(text);
    let at = |pos: usize, s: String| Splice {
        range: pos..pos,
        text: s.into(),
    };
    let Some(last) = object.props().last() else {
        let interior = &text[open + 1..close];
        let outer = indent_of_line(text, open);
        let inner = format!("{outer}{}", indent_unit(text));
        let m = member(text, key, value, Some(&inner));
        return vec![if interior.is_empty() {
            at(open + 1, format!("{nl}{inner}{m}{nl}{outer}"))
        } else if interior.contains('\n') {
            at(open + 1, format!("{nl}{inner}{m}"))
        } else {
            at(open + 1, format!(" {}", member(text, key, value, None)))
        }];
    };
    let value_end = last.value.range().end;
    let next = skip_trivia(text, value_end);
    let trailing_comma = text.as_bytes()[next] == b',';
    let multiline = text[open..last.key_range().start].contains('\n');
    if !multiline {
        let m = member(text, key, value, None);
        return vec![if trailing_comma {
            at(next + 1, format!(" {m},"))
        } else {
            at(value_end, format!(", {m}"))
        }];
    }
    let indent = match line_break_before(text, last.key_range().start) {
        Some(_) => indent_of_line(text, last.key_range().start).to_owned(),
        None => format!("{}{}", indent_of_line(text, open), indent_unit(text)),
    };
    let m = member(text, key, value, Some(&indent));
    let anchor = if trailing_comma { next + 1 } else { value_end };
    // Keep a comment that ends the last member's line with that member.
    let line_end = skip_trivia_on_line(text, anchor);
    let ip = if line_end == text.len() || matches!(text.as_bytes()[line_end], b'\r' | b'\n') {
        line_end
    } else {
        anchor
    };
    if trailing_comma {
        vec![at(ip, format!("{nl}{indent}{m},"))]
    } else {
        vec![
            at(value_end, ",".to_owned()),
            at(ip, format!("{nl}{indent}{m}")),
        ]
    }
}

fn remove_member(text: &str, object: &Node, index: usize) -> Vec<Splice> {
    let range = object.range();
    let props = object.props();
    let prop = &props[index];
    let (key_start, value_end) = (prop.key_range().start, prop.value.range().end);
    let after = skip_trivia(text, value_end);
    let comma_after = text.as_bytes()[after] == b',';
    let line_break = line_break_before(text, key_start);
    let cut = |r: Range<usize>| Splice {
        range: r,
        text: "".into(),
    };
    if props.len() == 1 {
        let end = if comma_after { after + 1 } else { value_end };
        let interior = range.start + 1..range.end - 1;
        // Nothing but the member inside: the object empties to `{}`.
        if text[interior.start..key_start].trim().is_empty()
            && text[end..interior.end].trim().is_empty()
        {
            return vec![cut(interior)];
        }
        // Comments stay: only the member goes, with its own line if it had one.
        let rest = skip_trivia_on_line(text, end);
        let own_line = rest == text.len() || matches!(text.as_bytes()[rest], b'\r' | b'\n');
        return vec![match line_break.filter(|_| own_line) {
            Some(lb) => cut(lb..end),
            None => cut(key_start..end),
        }];
    }
    if index + 1 < props.len() {
        let next_key = props[index + 1].key_range().start;
        if let Some(lb) = line_break {
            let end = skip_trivia_on_line(text, after + 1);
            if end == text.len() || matches!(text.as_bytes()[end], b'\r' | b'\n') {
                return vec![cut(lb..end)];
            }
        }
        return vec![cut(key_start..next_key)];
    }
    // The last member: the separator before it goes too, unless it keeps a trailing comma.
    let previous_end = props[index - 1].value.range().end;
    let separator = skip_trivia(text, previous_end);
    // Cutting the line break before the member up to `end` joins what follows onto the line
    // before, where a line comment would swallow it: then the line break stays.
    let joinable = |end: usize| {
        line_break.filter(|&lb| {
            let rest = skip_trivia_on_line(text, end);
            rest == text.len()
                || matches!(text.as_bytes()[rest], b'\r' | b'\n')
                || !line_comment_before(text, previous_end, lb)
        })
    };
    if comma_after {
        let start = match (joinable(after + 1), line_break) {
            (Some(lb), _) => lb,
            (None, Some(_)) => key_start,
            (None, None) => separator + 1,
        };
        return vec![cut(start..after + 1)];
    }
    match (joinable(value_end), line_break) {
        (Some(lb), _) if separator < lb => vec![cut(separator..separator + 1), cut(lb..value_end)],
        (None, Some(lb)) if separator < lb => {
            vec![cut(separator..separator + 1), cut(key_start..value_end)]
        }
        _ => vec![cut(separator..value_end)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(keys: &[&str]) -> KeyPath {
        KeyPath::new(keys.iter().copied())
    }

    fn insert(text: &str, object: &[&str], key: &str, value: NewValue) -> String {
        let doc = Document::parse(text).unwrap();
        let edit = Edit::Insert {
            object: path(object),
            key: key.into(),
            value,
        };
        doc.apply(&[edit]).unwrap().render()
    }

    fn remove(text: &str, p: &[&str]) -> String {
        let doc = Document::parse(text).unwrap();
        doc.apply(&[Edit::Remove { path: path(p) }])
            .unwrap()
            .render()
    }

    fn raw(s: &str) -> NewValue {
        NewValue::Raw(format!("\"{s}\""))
    }

    #[test]
    fn replace_changes_only_the_value() {
        let text = "{\r\n    // keep\r\n    \"model\": \"a\", /* x */\r\n    \"n\": 1.50,\r\n}";
        let doc = Document::parse(text).unwrap();
        let out = doc
            .apply(&[Edit::Replace {
                path: path(&["model"]),
                raw: "\"zé\"".into(),
            }])
            .unwrap();
        assert_eq!(out.render(), text.replace("\"a\"", "\"zé\""));
    }

    #[test]
    fn batched_replacements() {
        let doc = Document::parse(r#"{"a": "1", "b": {"c": "2"}}"#).unwrap();
        let out = doc
            .apply(&[
                Edit::Replace {
                    path: path(&["b", "c"]),
                    raw: "\"y\"".into(),
                },
                Edit::Replace {
                    path: path(&["a"]),
                    raw: "\"x\"".into(),
                },
            ])
            .unwrap();
        assert_eq!(out.render(), r#"{"a": "x", "b": {"c": "y"}}"#);
    }

    #[test]
    fn insert_matches_layout_and_remove_inverts_it() {
        let cases = [
            ("{\n  \"a\": 1\n}", "{\n  \"a\": 1,\n  \"k\": \"v\"\n}"),
            ("{\n  \"a\": 1,\n}", "{\n  \"a\": 1,\n  \"k\": \"v\",\n}"),
            (
                "{\n    \"a\": 1 // c\n}",
                "{\n    \"a\": 1, // c\n    \"k\": \"v\"\n}",
            ),
            (
                "{\n  \"a\": 1, // c\n}",
                "{\n  \"a\": 1, // c\n  \"k\": \"v\",\n}",
            ),
            (
                "{\r\n\t\"a\": 1\r\n}",
                "{\r\n\t\"a\": 1,\r\n\t\"k\": \"v\"\r\n}",
            ),
            ("{\"a\": 1}", "{\"a\": 1, \"k\": \"v\"}"),
            ("{\"a\": 1,}", "{\"a\": 1, \"k\": \"v\",}"),
            ("{}", "{\n  \"k\": \"v\"\n}"),
            ("{ }", "{ \"k\": \"v\" }"),
            ("{\n  \"a\": 1 }", "{\n  \"a\": 1,\n  \"k\": \"v\" }"),
            // A stray CR before a comment's CRLF (doubled line-end conversion) stays put.
            (
                "{\n  \"a\": 1 // c\r\r\n}",
                "{\n  \"a\": 1, // c\n  \"k\": \"v\"\r\r\n}",
            ),
        ];
        for (input, expected) in cases {
            let inserted = insert(input, &[], "k", raw("v"));
            assert_eq!(inserted, expected, "insert into {input:?}");
            if input != "{ }" && input != "{}" {
                assert_eq!(remove(&inserted, &["k"]), input, "remove from {inserted:?}");
            }
        }
    }

    #[test]
    fn insert_into_nested_empty_object_uses_its_indent() {
        let text = "{\n  \"env\": {}\n}";
        assert_eq!(
            insert(text, &["env"], "K", raw("v")),
            "{\n  \"env\": {\n    \"K\": \"v\"\n  }\n}"
        );
    }

    #[test]
    fn insert_object_value_is_laid_out() {
        let text = "{\r\n    \"model\": \"opus\"\r\n}";
        let out = insert(
            text,
            &[],
            "env",
            NewValue::Object(vec![
                ("A".into(), "\"1\"".into()),
                ("B".into(), "\"2\"".into()),
            ]),
        );
        assert_eq!(
            out,
            "{\r\n    \"model\": \"opus\",\r\n    \"env\": {\r\n        \"A\": \"1\",\r\n        \"B\": \"2\"\r\n    }\r\n}"
        );
        assert_eq!(remove(&out, &["env"]), text);
    }

    #[test]
    fn remove_middle_and_first_members() {
        assert_eq!(
            remove(
                "{\n  \"a\": 1,\n  \"k\": 2, // about k\n  // about b\n  \"b\": 3\n}",
                &["k"]
            ),
            "{\n  \"a\": 1,\n  // about b\n  \"b\": 3\n}"
        );
        assert_eq!(remove("{\"k\": 2, \"b\": 3}", &["k"]), "{\"b\": 3}");
        assert_eq!(
            remove("{\"a\": 1, \"k\": 2, \"b\": 3}", &["k"]),
            "{\"a\": 1, \"b\": 3}"
        );
        assert_eq!(remove("{\n  \"k\": 2\n}", &["k"]), "{}");
        // An only member goes alone: comments beside it stay.
        assert_eq!(remove("{ /* keep */ \"k\": 2 }", &["k"]), "{ /* keep */  }");
        assert_eq!(
            remove("{\n  // note\n  \"k\": 2,\n}", &["k"]),
            "{\n  // note\n}"
        );
        assert_eq!(
            remove("{\n  \"k\": 2 // about k\n}", &["k"]),
            "{ // about k\n}"
        );
    }

    #[test]
    fn a_carriage_return_ends_a_line_comment_as_the_parser_reads_it() {
        // The parser ends `// c` at the CR, so `/*\n , */` is a block comment: its comma is no
        // trailing comma, and the key must not land inside it.
        let text = "{\r\n  \"model\": \" \" // c\r/*\n , *//**/\r\n\n}";
        let inserted = insert(text, &[], "k", raw("v"));
        assert_eq!(
            inserted,
            "{\r\n  \"model\": \" \", // c\r\n  \"k\": \"v\"\r/*\n , *//**/\r\n\n}"
        );
        assert_eq!(remove(&inserted, &["k"]), text);
    }

    #[test]
    fn removing_a_member_never_joins_a_line_comment_with_what_follows() {
        let cases = [
            (
                "{\"a\": \"x\", /* c */// c\n \"model\": \"y\" /* c */}",
                "model",
                "{\"a\": \"x\" /* c */// c\n  /* c */}",
            ),
            (
                "{\n  \"a\": 1, // c\n  \"k\": 2, }",
                "k",
                "{\n  \"a\": 1, // c\n   }",
            ),
            (
                "{\n  \"a\": 1, // c\n  \"k\": 2 }",
                "k",
                "{\n  \"a\": 1 // c\n   }",
            ),
            (
                "{\n  \"a\": 1, // c\n  \"k\": 2, \"b\": 3 }",
                "k",
                "{\n  \"a\": 1, // c\n  \"b\": 3 }",
            ),
        ];
        for (input, key, expected) in cases {
            assert_eq!(
                remove(input, &[key]),
                expected,
                "remove {key} from {input:?}"
            );
        }
    }

    #[test]
    fn the_same_value_replaced_twice_takes_the_last() {
        let doc = Document::parse(r#"{"a": "1", "b": "2"}"#).unwrap();
        let out = doc
            .apply(&[
                Edit::Replace {
                    path: path(&["a"]),
                    raw: "\"x\"".into(),
                },
                Edit::Replace {
                    path: path(&["b"]),
                    raw: "\"y\"".into(),
                },
                Edit::Replace {
                    path: path(&["a"]),
                    raw: "\"zz\"".into(),
                },
            ])
            .unwrap();
        assert_eq!(out.render(), r#"{"a": "zz", "b": "y"}"#);
    }

    #[test]
    fn errors() {
        let doc = Document::parse(r#"{"a": 1, "o": {}}"#).unwrap();
        let missing = Edit::Replace {
            path: path(&["x"]),
            raw: "1".into(),
        };
        assert_eq!(
            doc.apply(&[missing]).unwrap_err(),
            EditError::Missing(path(&["x"]))
        );
        let not_object = Edit::Insert {
            object: path(&["a"]),
            key: "k".into(),
            value: raw("v"),
        };
        assert_eq!(
            doc.apply(&[not_object]).unwrap_err(),
            EditError::NotObject(path(&["a"]))
        );
        let exists = Edit::Insert {
            object: path(&[]),
            key: "a".into(),
            value: raw("v"),
        };
        assert_eq!(
            doc.apply(&[exists]).unwrap_err(),
            EditError::Exists(path(&["a"]))
        );
        let broken = Edit::Replace {
            path: path(&["a"]),
            raw: "nope".into(),
        };
        assert!(matches!(doc.apply(&[broken]), Err(EditError::Broken(_))));
    }
}
