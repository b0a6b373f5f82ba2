//! The fast path of parsing: one pass over the bytes that builds the document's tree directly.
//!
//! `jsonc-parser` builds a full syntax tree of its own (tokens, boxed nodes, borrowed and owned
//! strings) that [`Document::parse`](super::Document::parse) then copied into ours; on a config of
//! thousands of agents that was most of a run. This scanner reads what agents' files actually
//! hold — JSON with comments and trailing commas — and nothing else: at the first byte it is not
//! sure of (an error, an unusual escape, Unicode whitespace, very deep nesting) it gives up, and
//! the document is parsed by `jsonc-parser` as before. So it never accepts a text the parser
//! would reject, errors keep the parser's words and positions, and the tests compare the two
//! trees on generated documents.

use std::ops::Range;

use super::document::{KeySpan, MAX_TEXT, Node, Prop, Span};

/// Deeper than this, the parser (and its error) decides.
const MAX_DEPTH: usize = 256;

/// The tree of `text`, or `None` when the parser must decide.
pub(super) fn parse(text: &str) -> Option<Node> {
    if text.len() > MAX_TEXT {
        return None;
    }
    let mut scanner = Scanner {
        bytes: text.as_bytes(),
        text,
        pos: 0,
        props: Vec::new(),
        items: Vec::new(),
    };
    scanner.trivia()?;
    let root = scanner.value(0)?;
    scanner.trivia()?;
    (scanner.pos == text.len()).then_some(root)
}

struct Scanner<'a> {
    bytes: &'a [u8],
    text: &'a str,
    pos: usize,
    /// The members of the objects being read, innermost last: each object takes its own off
    /// the top when it closes, in a vector of exactly their number (thousands of small objects
    /// would otherwise each keep room for more).
    props: Vec<Prop>,
    /// The same for arrays' items.
    items: Vec<Node>,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// Skips JSON whitespace and comments. `None` on an unterminated block comment.
    fn trivia(&mut self) -> Option<()> {
        while let Some(b) = self.peek() {
            match b {
                b' ' | b'\t' | b'\n' | b'\r' => self.pos += 1,
                b'/' => match self.bytes.get(self.pos + 1) {
                    // A line comment ends at the first CR or LF, as the parser's does.
                    Some(b'/') => {
                        self.pos = (self.bytes[self.pos..].iter())
                            .position(|b| matches!(b, b'\r' | b'\n'))
                            .map_or(self.bytes.len(), |i| self.pos + i);
                    }
                    Some(b'*') => {
                        let end = self.text[self.pos + 2..].find("*/")?;
                        self.pos += 2 + end + 2;
                    }
                    _ => return None,
                },
                _ => return Some(()),
            }
        }
        Some(())
    }

    fn value(&mut self, depth: usize) -> Option<Node> {
        if depth > MAX_DEPTH {
            return None;
        }
        let start = self.pos;
        match self.peek()? {
            b'{' => self.object(depth),
            b'[' => self.array(depth),
            b'"' => {
                let (range, escaped) = self.string()?;
                Some(Node::String {
                    range: Span::new(range),
                    escaped,
                })
            }
            b't' => self.keyword(b"true"),
            b'f' => self.keyword(b"false"),
            b'n' => self.keyword(b"null"),
            b'-' | b'0'..=b'9' => {
                self.number()?;
                Some(Node::Other {
                    range: Span::new(start..self.pos),
                })
            }
            _ => None,
        }
    }

    fn object(&mut self, depth: usize) -> Option<Node> {
        let start = self.pos;
        self.pos += 1;
        let base = self.props.len();
        loop {
            self.trivia()?;
            match self.peek()? {
                b'}' => break,
                b'"' => {}
                _ => return None,
            }
            let (key_range, escaped) = self.string()?;
            // A key is decoded when it is read; one that would not decode is left to the full
            // parser, as before.
            if escaped {
                unescape(&self.text[key_range.start + 1..key_range.end - 1])?;
            }
            self.trivia()?;
            if self.peek()? != b':' {
                return None;
            }
            self.pos += 1;
            self.trivia()?;
            let value = self.value(depth + 1)?;
            self.props.push(Prop {
                key_span: KeySpan::new(key_range, escaped),
                value,
            });
            self.trivia()?;
            match self.peek()? {
                b',' => self.pos += 1,
                b'}' => break,
                _ => return None,
            }
        }
        self.pos += 1;
        let props = self.props.drain(base..).collect();
        Some(Node::object(self.text, start..self.pos, props))
    }

    fn array(&mut self, depth: usize) -> Option<Node> {
        let start = self.pos;
        self.pos += 1;
        let base = self.items.len();
        loop {
            self.trivia()?;
            if self.peek()? == b']' {
                break;
            }
            let item = self.value(depth + 1)?;
            self.items.push(item);
            self.trivia()?;
            match self.peek()? {
                b',' => self.pos += 1,
                b']' => break,
                _ => return None,
            }
        }
        self.pos += 1;
        Some(Node::Array {
            range: Span::new(start..self.pos),
            items: self.items.drain(base..).collect(),
        })
    }

    /// A string at `pos` (on its opening quote): its range, quotes included, and whether it
    /// has escapes (else its value is the text between the quotes). Escapes are checked here and
    /// decoded only when the value is read ([`unescape`]): a config's long prompts never are.
    fn string(&mut self) -> Option<(Range<usize>, bool)> {
        let start = self.pos;
        let mut at = start + 1;
        let mut escaped = false;
        loop {
            at += special(&self.bytes[at..])?;
            match self.bytes[at] {
                b'"' => {
                    self.pos = at + 1;
                    return Some((start..self.pos, escaped));
                }
                b'\\' => {
                    at += escape_len(self.bytes, at)?;
                    escaped = true;
                }
                // A raw control character: JSON allows them in strings only escaped.
                _ => return None,
            }
        }
    }

    fn keyword(&mut self, word: &[u8]) -> Option<Node> {
        let start = self.pos;
        if !self.bytes[start..].starts_with(word) {
            return None;
        }
        self.pos += word.len();
        if self
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80)
        {
            return None;
        }
        Some(Node::Other {
            range: Span::new(start..self.pos),
        })
    }

    /// A number as JSON writes it: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    fn number(&mut self) -> Option<()> {
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek()? {
            b'0' => self.pos += 1,
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            self.some_digits()?;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            self.some_digits()?;
        }
        // `01`, `1x`, `1.5.2`: the parser says what is wrong.
        if self
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_') || b >= 0x80)
        {
            return None;
        }
        Some(())
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
    }

    fn some_digits(&mut self) -> Option<()> {
        let start = self.pos;
        self.digits();
        (self.pos > start).then_some(())
    }
}

/// The value of a string whose body (the text between its quotes) has escapes, or `None` if
/// an escape is invalid or a raw control character is there.
pub(super) fn unescape(body: &str) -> Option<String> {
    let bytes = body.as_bytes();
    let mut value = String::with_capacity(body.len());
    let mut at = 0;
    loop {
        let next = (bytes[at..].iter())
            .position(|&b| b == b'\\')
            .map_or(bytes.len(), |i| at + i);
        if has_control(&bytes[at..next]) {
            return None;
        }
        value.push_str(&body[at..next]);
        if next == bytes.len() {
            return Some(value);
        }
        let (c, len) = escape(bytes, next)?;
        value.push(c);
        at = next + len;
    }
}

/// The escape at `at` (on its backslash): the character and the escape's length.
fn escape(bytes: &[u8], at: usize) -> Option<(char, usize)> {
    let c = match *bytes.get(at + 1)? {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        b'u' => {
            let unit = hex4(bytes, at + 2)?;
            if (0xD800..0xDC00).contains(&unit) {
                // A high surrogate must be followed by its low half.
                if bytes.get(at + 6..at + 8)? != b"\\u" {
                    return None;
                }
                let low = hex4(bytes, at + 8)?;
                if !(0xDC00..0xE000).contains(&low) {
                    return None;
                }
                let c = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                return Some((char::from_u32(c)?, 12));
            }
            return Some((char::from_u32(unit)?, 6));
        }
        _ => return None,
    };
    Some((c, 2))
}

/// The length of the escape at `at` (on its backslash) if [`escape`] would take it, without
/// decoding it: a scan checks a long prompt's every escape and decodes none.
fn escape_len(bytes: &[u8], at: usize) -> Option<usize> {
    match *bytes.get(at + 1)? {
        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => Some(2),
        b'u' => match hex4(bytes, at + 2)? {
            // A high surrogate must be followed by its low half; a low one alone is no character.
            0xD800..0xDC00 if bytes.get(at + 6..at + 8)? == b"\\u" => (0xDC00..0xE000)
                .contains(&hex4(bytes, at + 8)?)
                .then_some(12),
            0xD800..0xE000 => None,
            _ => Some(6),
        },
        _ => None,
    }
}

/// Four hex digits at `at`, as a number.
fn hex4(bytes: &[u8], at: usize) -> Option<u32> {
    /// Each byte's value as a hex digit; 0xFF for a byte that is none.
    const DIGITS: [u8; 256] = {
        let mut table = [0xFF; 256];
        let mut b = 0;
        while b < 256 {
            table[b] = match b as u8 {
                d @ b'0'..=b'9' => d - b'0',
                d @ b'a'..=b'f' => d - b'a' + 10,
                d @ b'A'..=b'F' => d - b'A' + 10,
                _ => 0xFF,
            };
            b += 1;
        }
        table
    };
    let &[a, b, c, d] = bytes.get(at..at + 4)? else {
        return None;
    };
    let [a, b, c, d] = [a, b, c, d].map(|x| DIGITS[x as usize]);
    // Any byte that is no digit has its high bits set.
    if (a | b | c | d) & 0xF0 != 0 {
        return None;
    }
    Some(u32::from(a) << 12 | u32::from(b) << 8 | u32::from(c) << 4 | u32::from(d))
}

/// Where the first byte that ends a run of a string's plain characters is: a quote, a backslash
/// or a raw control character (U+0000–U+001F). Eight bytes at a time, as one `u64` each: a
/// generated config's prompts (`json.dumps` writes `\u2014` for every dash) have an escape every
/// few words, and a search that starts anew at each cost more than the bytes between.
fn special(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    // The high bit of each byte below `n` (`n` ≤ 0x80). A byte below `n` may also set the bits
    // of the bytes after it (its borrow), never of those before: the lowest bit set is exact.
    let below = |word: u64, n: u8| word.wrapping_sub(ONES * u64::from(n)) & !word & HIGHS;
    let found = |word: u64| {
        below(word ^ (ONES * u64::from(b'"')), 1)
            | below(word ^ (ONES * u64::from(b'\\')), 1)
            | below(word, 0x20)
    };
    let mut words = bytes.chunks_exact(8);
    for (i, word) in words.by_ref().enumerate() {
        let word = u64::from_le_bytes(word.try_into().expect("eight bytes"));
        let flags = found(word);
        if flags != 0 {
            return Some(i * 8 + flags.trailing_zeros() as usize / 8);
        }
    }
    let rest = words.remainder();
    (rest.iter())
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        .map(|i| bytes.len() - rest.len() + i)
}

/// Whether a raw control character (U+0000–U+001F) is among `bytes`: JSON allows them in strings
/// only escaped. Blocks of 32 bytes without an early exit inside, so that each is one vector
/// comparison.
fn has_control(bytes: &[u8]) -> bool {
    let mut blocks = bytes.chunks_exact(32);
    let found = blocks
        .by_ref()
        .any(|block| block.iter().fold(false, |found, &b| found | (b < 0x20)));
    found || blocks.remainder().iter().any(|&b| b < 0x20)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::document::parse_by_jsonc_parser;
    use super::super::props::document;

    /// The scanner is sure only of what the parser reads the same way.
    fn agrees(text: &str) -> Result<(), TestCaseError> {
        if let Some(fast) = super::parse(text) {
            let slow = parse_by_jsonc_parser(text);
            prop_assert!(
                slow.is_ok(),
                "the scanner took what the parser refuses: {text:?}"
            );
            prop_assert_eq!(Some(fast), slow.ok(), "{:?}", text);
        }
        Ok(())
    }

    #[test]
    fn a_raw_control_character_anywhere_in_a_long_string_is_left_to_the_parser() {
        for at in [0, 1, 31, 32, 33, 63, 64, 70] {
            let mut value = "x".repeat(71);
            value.replace_range(at..at + 1, "\u{1f}");
            for text in [
                format!("{{\"k\": \"{value}\"}}"),
                format!("{{\"k\": \"\\n{value}\"}}"),
                format!("{{\"k\": \"{value}\\n\"}}"),
                format!("{{\"k\": \"\\u00e9{value}\\t{value}\"}}"),
            ] {
                assert!(super::parse(&text).is_none(), "{at}: {text:?}");
            }
        }
        assert!(super::has_control(
            &[b'a'; 64]
                .iter()
                .chain(b"\x00")
                .copied()
                .collect::<Vec<_>>()
        ));
        assert!(!super::has_control("é — «».".repeat(20).as_bytes()));
    }

    #[test]
    fn takes_what_agents_write_and_leaves_the_rest_to_the_parser() {
        for sure in [
            "{}",
            " [1, -0.5e+3, 0, true, false, null, \"a\"] ",
            "{\"a\": {\"b\": [], \"c\": {},}, // x\r\n \"d\": \"\\u00e9\\ud83d\\ude00\\n\\\"\\/\",}",
            "/* c */ {\"a\": 1} /* d */",
            "{\"a\": 1} // the end",
            "\"just a string\"",
            "{\"a\": \"\\u0000\"}",
        ] {
            assert!(super::parse(sure).is_some(), "{sure:?}");
            agrees(sure).unwrap();
        }
        for unsure in [
            "",
            "{",
            "{\"a\": 1,,}",
            "{,}",
            "[,]",
            "{a: 1}",
            "{'a': 1}",
            "{\"a\": 01}",
            "{\"a\": 1.}",
            "{\"a\": .5}",
            "{\"a\": +1}",
            "{\"a\": 0x1}",
            "{\"a\": 1 \"b\": 2}",
            "{\"a\": truex}",
            "{\"a\": \"\\x\"}",
            "{\"a\": \"\\ud800\"}",
            "{\"a\": \"\\udc00\"}",
            "{\"a\": \"a\nb\"}",
            "{\"a\": 1} {}",
            "{\"a\": 1} /* open",
            "\u{a0}{}",
            "{\"a\": 1}\u{b}",
            "{\"a\": NaN}",
            &"[".repeat(300),
        ] {
            assert!(super::parse(unsure).is_none(), "{unsure:?}");
        }
    }

    #[test]
    fn measures_escapes_as_it_decodes_them() {
        for (escape, len) in [
            (r"\n", Some(2)),
            (r"\/", Some(2)),
            (r"\x", None),
            (r"\u00e9", Some(6)),
            (r"\u00E9", Some(6)),
            (r"\u00g9", None),
            (r"\u00", None),
            (r"\ud83d\ude00", Some(12)),
            (r"\uD83D\uDE00x", Some(12)),
            (r"\ud83d", None),
            (r"\ud83d\u0041", None),
            (r"\ud83d\ud83d", None),
            (r"\ude00", None),
        ] {
            let bytes = escape.as_bytes();
            assert_eq!(super::escape_len(bytes, 0), len, "{escape}");
            assert_eq!(super::escape(bytes, 0).map(|(_, n)| n), len, "{escape}");
        }
    }

    proptest! {
        #![proptest_config(crate::fuzz::config())]
        #[test]
        fn finds_the_first_quote_backslash_or_control_byte(
            bytes in prop::collection::vec(prop_oneof![
                any::<u8>(),
                prop::sample::select(vec![b'a', b' ', b'!', b'#', b'[', b']', 0x7f, 0x80, 0xdc, 0xff]),
            ], 0..40),
        ) {
            let first = bytes.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20);
            prop_assert_eq!(super::special(&bytes), first, "{:?}", bytes);
        }

        #[test]
        fn an_escape_is_as_long_as_decoding_it_says(
            tail in prop::collection::vec(prop::sample::select(vec![
                b'\\', b'u', b'U', b'd', b'D', b'8', b'9', b'a', b'b', b'c', b'e', b'f', b'F', b'0',
                b'g', b'"', b'/', b'n', b'r', b't', b'x', b' ', 0xff,
            ]), 0..14),
        ) {
            let bytes = [&b"\\"[..], &tail].concat();
            prop_assert_eq!(
                super::escape_len(&bytes, 0),
                super::escape(&bytes, 0).map(|(_, len)| len),
                "{:?}", String::from_utf8_lossy(&bytes)
            );
        }

        #[test]
        fn reads_generated_documents_as_the_parser_does(text in document()) {
            let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
            prop_assert!(super::parse(text).is_some(), "{:?}", text);
            agrees(text)?;
        }

        #[test]
        fn is_never_surer_than_the_parser_of_a_damaged_document(
            text in document(),
            at in any::<prop::sample::Index>(),
            cut in 0usize..3,
            insert in prop::sample::select(vec![
                "", ",", "}", "]", "{", "\"", "\\", "/", "*", ":", "0", "-", ".", "e", "x", "\n",
                "\u{a0}", "\u{b}", "\u{1}", "t", "//", "/*",
            ]),
        ) {
            let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
            let mut at = at.index(text.len() + 1);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            let mut end = (at + cut).min(text.len());
            while !text.is_char_boundary(end) {
                end += 1;
            }
            let damaged = format!("{}{insert}{}", &text[..at], &text[end..]);
            agrees(&damaged)?;
        }
    }
}
