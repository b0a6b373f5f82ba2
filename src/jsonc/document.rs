//! The parsed document: the original text plus an owned tree of byte ranges into it. A string's
//! value is read from the text when it is asked for (decoded then if it has escapes).

use std::borrow::Cow;
use std::hash::BuildHasher;
use std::ops::Range;

use hashbrown::HashTable;
use jsonc_parser::ast;
use jsonc_parser::{CollectOptions, CommentCollectionStrategy, ParseOptions};

use super::KeyPath;

pub(super) const BOM: &str = "\u{feff}";

/// Objects with more members than this get a key index.
const INDEX_ABOVE: usize = 16;

/// The hash of the key index and of key paths looked up by the pass (foldhash, which hashbrown
/// itself defaults to): far cheaper than the default SipHash for short keys, and no attacker
/// chooses the keys of the user's own config.
pub(crate) type KeyHash = foldhash::fast::FixedState;

/// A byte range of a document's text in half the room of a `Range<usize>`: a big config's tree
/// holds one per value and per key. Texts longer than [`MAX_TEXT`] bytes are not parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Span {
    start: u32,
    end: u32,
}

impl Span {
    /// `range`, whose bounds the caller has checked fit (see [`Document::parse_owned`]).
    pub(super) fn new(range: Range<usize>) -> Span {
        debug_assert!(range.end <= MAX_TEXT);
        Span {
            start: range.start as u32,
            end: range.end as u32,
        }
    }

    pub(crate) fn get(self) -> Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// The longest text a [`Span`] can index: one bit short of `u32`, which a [`KeySpan`] keeps for
/// itself.
pub(super) const MAX_TEXT: usize = (u32::MAX >> 1) as usize;

/// A key's byte range, quotes included, and whether the key has escapes, in the top bit of its
/// end: whether a member is the one asked for is mostly told without reading the text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct KeySpan {
    start: u32,
    end: u32,
}

const ESCAPED: u32 = 1 << 31;

impl KeySpan {
    /// `range`, whose bounds the caller has checked fit (see [`Document::parse_owned`]).
    pub(super) fn new(range: Range<usize>, escaped: bool) -> KeySpan {
        debug_assert!(range.end <= MAX_TEXT);
        KeySpan {
            start: range.start as u32,
            end: range.end as u32 | if escaped { ESCAPED } else { 0 },
        }
    }

    fn get(self) -> Range<usize> {
        self.start as usize..(self.end & !ESCAPED) as usize
    }

    fn escaped(self) -> bool {
        self.end & ESCAPED != 0
    }
}

/// A parsed JSONC text that can be read and edited without losing a byte.
#[derive(Clone, Debug)]
pub(crate) struct Document {
    bom: bool,
    /// The text without its BOM; every range in `root` points into it.
    text: String,
    root: Node,
}

/// One value of the tree, with its byte range in the document text.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Node {
    Object {
        range: Span,
        /// Boxed slices, not vectors: a tree is never grown, and a config's thousands of small
        /// objects each save a word.
        props: Box<[Prop]>,
        /// For objects large enough to need it. Boxed: every node is as large as this variant,
        /// and few objects have an index.
        index: Option<Box<KeyIndex>>,
    },
    Array {
        range: Span,
        items: Box<[Node]>,
    },
    String {
        range: Span,
        /// Whether it has escapes; if not, its value is the text between the quotes.
        escaped: bool,
    },
    /// A number, `true`, `false` or `null`: kept as raw text only.
    Other {
        range: Span,
    },
}

/// One `"key": value` member of an object. Its key is read from the text when asked for
/// ([`Document::key`]): a big config's tens of thousands of members hold no copy of theirs.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Prop {
    pub(super) key_span: KeySpan,
    pub(crate) value: Node,
}

impl Prop {
    /// The key's byte range in the text, quotes included.
    pub(crate) fn key_range(&self) -> Range<usize> {
        self.key_span.get()
    }

    /// The key as written between its quotes, escapes undecoded.
    fn key_body<'t>(&self, text: &'t str) -> &'t str {
        let raw = &text[self.key_range()];
        raw.strip_prefix('"')
            .and_then(|r| r.strip_suffix('"'))
            .unwrap_or(raw)
    }

    /// The key, decoded: borrowed from `text` unless it has escapes.
    fn key<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let body = self.key_body(text);
        if !self.key_span.escaped() {
            return Cow::Borrowed(body);
        }
        // Both parsers took its escapes as valid, so they decode.
        Cow::Owned(super::scan::unescape(body).unwrap_or_else(|| body.to_owned()))
    }

    /// Whether the key is `key`. A key without escapes is told by its length first: in a big
    /// config each member's key lies in another part of the text, which is read only for a key
    /// of the length asked for.
    pub(super) fn key_is(&self, text: &str, key: &str) -> bool {
        if self.key_span.escaped() {
            return self.key(text) == key;
        }
        // The span holds the quotes: the parse options refuse bare keys.
        let range = self.key_range();
        range.len().saturating_sub(2) == key.len() && self.key_body(text) == key
    }
}

/// Key → position of its last occurrence among an object's members: positions only, hashed by
/// the keys the members hold (a map would copy each key).
#[derive(Clone, Debug)]
pub(crate) struct KeyIndex(HashTable<u32>);

impl KeyIndex {
    fn new(text: &str, props: &[Prop]) -> KeyIndex {
        let hash = |key: &str| KeyHash::default().hash_one(key);
        let key = |j: u32| props[j as usize].key(text);
        let mut table = HashTable::with_capacity(props.len());
        for (i, p) in props.iter().enumerate() {
            // Positions fit: a text has more bytes than members, and fewer than `MAX_TEXT`.
            let at = i as u32;
            let name = p.key(text);
            match table.find_mut(hash(&name), |&j: &u32| key(j) == name) {
                Some(last) => *last = at,
                None => {
                    table.insert_unique(hash(&name), at, |&j| hash(&key(j)));
                }
            }
        }
        KeyIndex(table)
    }

    fn get<'p>(&self, text: &str, props: &'p [Prop], key: &str) -> Option<&'p Prop> {
        let hash = KeyHash::default().hash_one(key);
        (self.0.find(hash, |&i| props[i as usize].key_is(text, key))).map(|&i| &props[i as usize])
    }

    /// The number of distinct keys.
    fn len(&self) -> usize {
        self.0.len()
    }
}

/// An index is made from its object's members: objects with equal members have equal indexes.
impl PartialEq for KeyIndex {
    fn eq(&self, _: &KeyIndex) -> bool {
        true
    }
}

/// Why a text is not a valid document, and where (1-based line, column in characters).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub(crate) struct ParseError {
    pub(crate) line: usize,
    pub(crate) column: usize,
    pub(crate) message: String,
}

/// Comments and trailing commas are what JSONC adds to JSON; every other leniency the parser
/// offers (unquoted keys, missing commas, single quotes, hex numbers…) would accept files the
/// agents themselves reject, so it is off.
fn parse_options() -> ParseOptions {
    ParseOptions {
        allow_comments: true,
        allow_trailing_commas: true,
        allow_loose_object_property_names: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    }
}

impl Document {
    /// Parses a whole file's text: by the fast scanner when it is sure, else by `jsonc-parser`
    /// (see `jsonc/scan.rs`).
    pub(crate) fn parse(input: &str) -> Result<Document, ParseError> {
        Document::parse_owned(input.to_owned())
    }

    /// Parses a whole file's text, keeping it: a big file is not copied once more.
    pub(crate) fn parse_owned(mut text: String) -> Result<Document, ParseError> {
        let bom = text.starts_with(BOM);
        if bom {
            text.drain(..BOM.len());
        }
        if text.len() > MAX_TEXT {
            let (line, column) = line_column(&text, MAX_TEXT);
            return Err(ParseError {
                line,
                column,
                message: format!("the text is longer than {MAX_TEXT} bytes"),
            });
        }
        let root = match super::scan::parse(&text) {
            Some(root) => root,
            None => parse_by_jsonc_parser(&text)?,
        };
        Ok(Document { bom, text, root })
    }

    /// The text without its BOM, the tree dropped.
    pub(super) fn into_bare_text(self) -> String {
        self.text
    }

    /// The full file content, as [`render`](Self::render) gives it, without copying it.
    pub(crate) fn into_text(self) -> String {
        if self.bom { self.render() } else { self.text }
    }

    /// The full file content, borrowed unless it starts with a BOM.
    pub(crate) fn source(&self) -> Cow<'_, str> {
        if self.bom {
            Cow::Owned(format!("{BOM}{}", self.text))
        } else {
            Cow::Borrowed(&self.text)
        }
    }

    /// The full file content, BOM included: what `parse` was given, plus any edits.
    pub(crate) fn render(&self) -> String {
        self.source().into_owned()
    }

    /// The text without its BOM, which node ranges index.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    pub(super) fn has_bom(&self) -> bool {
        self.bom
    }

    pub(crate) fn root(&self) -> &Node {
        &self.root
    }

    /// The value at `path`. Of duplicate keys the last one counts, as in every JSON reader.
    pub(crate) fn get(&self, path: &KeyPath) -> Option<&Node> {
        let mut node = &self.root;
        for key in path.keys() {
            node = &node.prop(&self.text, key)?.value;
        }
        Some(node)
    }

    /// The member of object `node` (of this document) named `key`; the last one when the key is
    /// duplicated.
    pub(crate) fn prop<'d>(&'d self, node: &'d Node, key: &str) -> Option<&'d Prop> {
        node.prop(&self.text, key)
    }

    /// The members of object `node` (of this document) that count: each key once, its last
    /// occurrence, in document order.
    pub(crate) fn unique_props<'d>(&'d self, node: &'d Node) -> impl Iterator<Item = &'d Prop> {
        node.unique_props(&self.text)
    }

    /// A member's key, decoded: borrowed from the text unless it has escapes.
    pub(crate) fn key<'d>(&'d self, prop: &Prop) -> Cow<'d, str> {
        prop.key(&self.text)
    }

    /// The value's exact source text (for a string, with its quotes and escapes).
    pub(crate) fn raw(&self, node: &Node) -> &str {
        &self.text[node.range()]
    }

    /// The raw text at `path`, if there is a value there.
    pub(crate) fn raw_at(&self, path: &KeyPath) -> Option<&str> {
        self.get(path).map(|node| self.raw(node))
    }

    /// The decoded string at `path`, if a string is there.
    pub(crate) fn string_at(&self, path: &KeyPath) -> Option<Cow<'_, str>> {
        self.get(path).and_then(|node| self.str(node))
    }

    /// The decoded value of a string node of this document: borrowed from the text unless
    /// it has escapes.
    pub(crate) fn str(&self, node: &Node) -> Option<Cow<'_, str>> {
        let Node::String { range, escaped } = node else {
            return None;
        };
        let range = range.get();
        let body = &self.text[range.start + 1..range.end - 1];
        if !escaped {
            return Some(Cow::Borrowed(body));
        }
        // Both parsers took its escapes as valid, so they decode.
        Some(Cow::Owned(
            super::scan::unescape(body).unwrap_or_else(|| body.to_owned()),
        ))
    }

    /// The strings of an array, or `None` when this is not an array of strings only.
    pub(crate) fn string_items(&self, node: &Node) -> Option<Vec<String>> {
        match node {
            Node::Array { items, .. } => items
                .iter()
                .map(|i| self.str(i).map(Cow::into_owned))
                .collect(),
            _ => None,
        }
    }
}

impl Node {
    /// A string node over `range` of `text` (quotes included) whose value is `decoded`.
    pub(super) fn string(text: &str, range: Range<usize>, decoded: &str) -> Node {
        let escaped = decoded != &text[range.start + 1..range.end - 1];
        Node::String {
            range: Span::new(range),
            escaped,
        }
    }

    fn from_ast(text: &str, value: &ast::Value<'_>) -> Node {
        let range = |r: &jsonc_parser::common::Range| r.start..r.end;
        let span = |r: &jsonc_parser::common::Range| Span::new(r.start..r.end);
        match value {
            ast::Value::Object(obj) => {
                let props = obj
                    .properties
                    .iter()
                    .map(|p| {
                        let prop = Prop {
                            key_span: match &p.name {
                                ast::ObjectPropName::String(s) => KeySpan::new(
                                    range(&s.range),
                                    text[range(&s.range)].contains('\\'),
                                ),
                                // Never made: the parse options refuse bare keys.
                                ast::ObjectPropName::Word(w) => {
                                    KeySpan::new(range(&w.range), false)
                                }
                            },
                            value: Node::from_ast(text, &p.value),
                        };
                        // A key is read back from the text by the scanner's decoding, which must
                        // agree with this parser's (the property tests compare the two trees,
                        // which hold no keys).
                        if let ast::ObjectPropName::String(s) = &p.name {
                            debug_assert_eq!(prop.key(text), s.value, "a key decoded alike");
                        }
                        prop
                    })
                    .collect();
                Node::object(text, range(&obj.range), props)
            }
            ast::Value::Array(arr) => Node::Array {
                range: span(&arr.range),
                items: (arr.elements.iter())
                    .map(|item| Node::from_ast(text, item))
                    .collect(),
            },
            ast::Value::StringLit(s) => Node::string(text, range(&s.range), &s.value),
            ast::Value::NumberLit(n) => Node::Other {
                range: span(&n.range),
            },
            ast::Value::BooleanLit(b) => Node::Other {
                range: span(&b.range),
            },
            ast::Value::NullKeyword(n) => Node::Other {
                range: span(&n.range),
            },
        }
    }

    /// An object of `text` with its members in document order.
    pub(super) fn object(text: &str, range: Range<usize>, props: Box<[Prop]>) -> Node {
        // Small objects are searched faster than hashed; a large one (thousands of agents) would
        // make every lookup a scan.
        let index = (props.len() > INDEX_ABOVE).then(|| Box::new(KeyIndex::new(text, &props)));
        Node::Object {
            range: Span::new(range),
            props,
            index,
        }
    }

    pub(crate) fn range(&self) -> Range<usize> {
        match self {
            Node::Object { range, .. }
            | Node::Array { range, .. }
            | Node::String { range, .. }
            | Node::Other { range } => range.get(),
        }
    }

    pub(crate) fn is_string(&self) -> bool {
        matches!(self, Node::String { .. })
    }

    pub(crate) fn props(&self) -> &[Prop] {
        match self {
            Node::Object { props, .. } => props,
            _ => &[],
        }
    }

    pub(crate) fn is_object(&self) -> bool {
        matches!(self, Node::Object { .. })
    }

    /// The member named `key`, `text` being the document's; the last one when the key is
    /// duplicated.
    pub(super) fn prop(&self, text: &str, key: &str) -> Option<&Prop> {
        match self {
            Node::Object {
                props,
                index: Some(index),
                ..
            } => index.get(text, props, key),
            _ => self.props().iter().rev().find(|p| p.key_is(text, key)),
        }
    }

    /// The members that count, `text` being the document's: each key once, its last occurrence,
    /// in document order.
    fn unique_props<'n>(&'n self, text: &'n str) -> impl Iterator<Item = &'n Prop> {
        // An index with an entry per member: no key is duplicated, and none needs looking up.
        let distinct = matches!(self, Node::Object { props, index: Some(index), .. }
            if index.len() == props.len());
        self.props().iter().filter(move |p| {
            distinct
                || self
                    .prop(text, &p.key(text))
                    .is_some_and(|last| std::ptr::eq(last, *p))
        })
    }
}

/// A raw value's text as the string it is (a model id written in a file, a record's raw
/// text), or the text itself when it is not one JSON string.
pub(crate) fn unquote(raw: &str) -> String {
    unquote_cow(raw).into_owned()
}

/// [`unquote`], borrowing the text between the quotes when it needs no decoding (most model ids).
pub(crate) fn unquote_cow(raw: &str) -> Cow<'_, str> {
    let plain = (raw.len() >= 2 && raw.starts_with('"') && raw.ends_with('"'))
        .then(|| &raw[1..raw.len() - 1])
        .filter(|inner| !inner.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20));
    match plain {
        Some(inner) => Cow::Borrowed(inner),
        None => Cow::Owned(serde_json::from_str(raw).unwrap_or_else(|_| raw.to_owned())),
    }
}

/// The tree of `text` as `jsonc-parser` reads it, or its error: for what the fast scanner is not
/// sure of.
pub(super) fn parse_by_jsonc_parser(text: &str) -> Result<Node, ParseError> {
    let collect = CollectOptions {
        comments: CommentCollectionStrategy::Off,
        tokens: false,
    };
    let parsed = jsonc_parser::parse_to_ast(text, &collect, &parse_options()).map_err(|e| {
        let (line, column) = line_column(text, e.range().start);
        ParseError {
            line,
            column,
            message: e.kind().to_string(),
        }
    })?;
    let value = parsed.value.ok_or_else(|| {
        let (line, column) = line_column(text, text.len());
        ParseError {
            line,
            column,
            message: "the file holds no JSON value".to_owned(),
        }
    })?;
    let root = Node::from_ast(text, &value);
    if let Some(at) = raw_control_character(text, &root) {
        let (line, column) = line_column(text, at);
        return Err(ParseError {
            line,
            column,
            message: format!(
                "Unescaped control character U+{:04X} in a string",
                text.as_bytes()[at]
            ),
        });
    }
    Ok(root)
}

/// The offset of the first raw control character (U+0000–U+001F) inside a string or key.
/// JSON allows them only escaped and both agents reject the file otherwise, but `jsonc-parser`
/// lets them through.
fn raw_control_character(text: &str, node: &Node) -> Option<usize> {
    let find = |r: &Range<usize>| {
        text.as_bytes()[r.clone()]
            .iter()
            .position(|b| *b < 0x20)
            .map(|i| r.start + i)
    };
    match node {
        Node::String { range, .. } => find(&range.get()),
        Node::Array { items, .. } => items.iter().find_map(|n| raw_control_character(text, n)),
        Node::Object { props, .. } => props
            .iter()
            .find_map(|p| find(&p.key_range()).or_else(|| raw_control_character(text, &p.value))),
        Node::Other { .. } => None,
    }
}

/// 1-based line and character column of a byte offset.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..floor_char_boundary(text, offset)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(keys: &[&str]) -> KeyPath {
        KeyPath::new(keys.iter().copied())
    }

    #[test]
    fn reads_values_and_raw_text() {
        let doc =
            Document::parse("{\n  // c\n  \"agent\": {\"b\": {\"model\": \"z\\u00e9/x\",},},\n}")
                .unwrap();
        let node = doc.get(&path(&["agent", "b", "model"])).unwrap();
        assert_eq!(doc.str(node).as_deref(), Some("zé/x"));
        assert_eq!(doc.raw(node), "\"z\\u00e9/x\"");
    }

    #[test]
    fn last_duplicate_key_wins() {
        let doc = Document::parse(r#"{"model": "a", "model": "b"}"#).unwrap();
        assert_eq!(doc.string_at(&path(&["model"])).as_deref(), Some("b"));
        // Also in an indexed object.
        let mut text = String::from("{\"model\": \"a\"");
        for i in 0..40 {
            text.push_str(&format!(", \"k{i}\": {i}"));
        }
        text.push_str(", \"model\": \"b\"}");
        let doc = Document::parse(&text).unwrap();
        assert_eq!(doc.string_at(&path(&["model"])).as_deref(), Some("b"));
        assert_eq!(doc.unique_props(doc.root()).count(), 41);
        assert_eq!(doc.raw_at(&path(&["k39"])), Some("39"));
        assert!(doc.prop(doc.root(), "k40").is_none());
        let distinct = Document::parse(&text.replace("\"model\": \"b\"", "\"more\": 1")).unwrap();
        assert_eq!(distinct.unique_props(distinct.root()).count(), 42);
    }

    #[test]
    fn keys_are_read_decoded_from_the_text() {
        // A key with escapes is found by its value, in a small object and in an indexed one, and
        // the last of duplicates counts whichever way each is written.
        let small = r#"{"mo\u0064el": "a", "\"q\"": 1, "model": "b", "x": {"k\u00e9y": true}}"#;
        let mut big = String::from(r#"{"mo\u0064el": "a""#);
        for i in 0..40 {
            big.push_str(&format!(", \"k{i}\": {i}"));
        }
        big.push_str(r#", "model": "b", "\"q\"": 1, "x": {"k\u00e9y": true}}"#);
        for text in [small, &big] {
            let doc = Document::parse(text).unwrap();
            assert_eq!(
                doc.string_at(&path(&["model"])).as_deref(),
                Some("b"),
                "{text}"
            );
            assert_eq!(doc.raw_at(&path(&["\"q\""])), Some("1"));
            assert_eq!(doc.raw_at(&path(&["x", "kéy"])), Some("true"));
            let keys: Vec<_> = doc.unique_props(doc.root()).map(|p| doc.key(p)).collect();
            assert!(keys.contains(&"model".into()) && keys.contains(&"\"q\"".into()));
            assert_eq!(keys.iter().filter(|k| *k == "model").count(), 1);
        }
    }

    #[test]
    fn a_key_is_told_as_decoding_would_tell_it() {
        // (the key as written, the key asked for, whether they are the same)
        let cases = [
            (r#""model""#, "model", true),
            (r#""mode""#, "model", false),
            (r#""prompt""#, "model", false),
            (r#""mo\u0064el""#, "model", true),
            (r#""mo\u0064e""#, "model", false),
            // The same length, one written with an escape: a backspace is not a backslash.
            (r#""a\b""#, "a\\b", false),
            (r#""a\\b""#, "a\\b", true),
            (r#""\n""#, "\n", true),
            (r#""\\n""#, "\\n", true),
            (r#""""#, "", true),
            (r#""é""#, "e", false),
        ];
        for (written, key, same) in cases {
            let doc = Document::parse(&format!("{{{written}: 1}}")).unwrap();
            let prop = &doc.root().props()[0];
            assert_eq!(prop.key_is(doc.text(), key), same, "{written} vs {key:?}");
            assert_eq!(doc.key(prop) == key, same, "{written} vs {key:?}");
        }
    }

    #[test]
    fn bom_is_kept_out_of_ranges_and_rendered_back() {
        let input = "\u{feff}{\"model\": \"a\"}";
        let doc = Document::parse(input).unwrap();
        assert_eq!(doc.raw_at(&path(&["model"])), Some("\"a\""));
        assert_eq!(doc.render(), input);
    }

    #[test]
    fn errors_name_line_and_column() {
        let err = Document::parse("{\n  \"a\": 1,\n  \"b\" 2\n}").unwrap_err();
        assert_eq!((err.line, err.column), (3, 7), "{err}");
        let err = Document::parse("{\"a\": 1").unwrap_err();
        assert_eq!(err.line, 1);
        assert!(Document::parse("").is_err());
    }

    #[test]
    fn lenient_syntax_beyond_jsonc_is_rejected() {
        for bad in [
            "{a: 1}",
            "{'a': 1}",
            "{\"a\": 1 \"b\": 2}",
            "{\"a\": 0x1}",
            "{\"a\": +1}",
        ] {
            assert!(Document::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn raw_control_characters_in_strings_are_rejected() {
        for (bad, column) in [
            ("{\"model\": \"a\0b\"}", 13),
            ("{\"model\": \"a\nb\"}", 13),
            ("{\"a\tb\": 1}", 4),
            ("{\"x\": [1, {\"y\": \"\u{1f}\"}]}", 18),
        ] {
            let err = Document::parse(bad).unwrap_err();
            assert_eq!((err.line, err.column), (1, column), "{bad:?}: {err}");
            assert!(err.message.contains("control character"), "{err}");
        }
        // Escaped, or in a comment, they are fine.
        assert!(Document::parse("{\"model\": \"a\\u0000\\n\\t\"} // \u{1}").is_ok());
    }

    #[test]
    fn string_items_of_arrays() {
        let doc = Document::parse(r#"{"f": ["a", "b"], "g": ["a", 1]}"#).unwrap();
        assert_eq!(
            doc.string_items(doc.get(&path(&["f"])).unwrap()),
            Some(vec!["a".into(), "b".into()])
        );
        assert_eq!(doc.string_items(doc.get(&path(&["g"])).unwrap()), None);
    }
}
