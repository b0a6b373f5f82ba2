//! The layout of the state dir's JSON files: the top-level members and the entries of its lists
//! one per line, each entry inline. A big config's thousands of switch records then read (and
//! grep, and diff) as one line each, at about half the bytes of fully indented JSON.
//!
//! ```text
//! {
//!   "version": 1,
//!   "switches": [
//!     {"slot": ["agent", "build", "model"], "original": "\"zai/glm-4.6\"", ...}
//!   ]
//! }
//! ```

use std::cell::RefCell;
use std::io::{self, Write};

use jiff::Timestamp;
use serde::{Serialize, Serializer};
use serde_json::ser::Formatter;
use serde_json::value::RawValue;

/// Containers nested this deep or less put each member on its own line.
const BROKEN_DEPTH: usize = 2;

/// How many distinct strings [`shared`] keeps escaped.
const SHARED: usize = 8;

/// The longest string [`shared`] keeps escaped: longer ones are rarely shared.
const SHARED_LEN: usize = 256;

/// Writes `value` in this layout, with a final newline.
pub(crate) fn write<T: Serialize + ?Sized>(out: &mut impl Write, value: &T) -> io::Result<()> {
    let mut serializer = serde_json::Serializer::with_formatter(&mut *out, Lines::default());
    value.serialize(&mut serializer).map_err(io::Error::other)?;
    out.write_all(b"\n")
}

/// Serialises a timestamp as jiff does (RFC 3339), formatting a value only when it differs from
/// the one before: a pass's thousands of records, routes and journal entries carry its moment.
/// For `#[serde(serialize_with = "...")]`.
pub(crate) fn timestamp<S: Serializer>(at: &Timestamp, serializer: S) -> Result<S::Ok, S::Error> {
    thread_local! {
        /// The last moment and its JSON string, which needs no escaping.
        static LAST: RefCell<Option<(Timestamp, Box<RawValue>)>> = const { RefCell::new(None) };
    }
    LAST.with_borrow_mut(|last| {
        if last.as_ref().is_none_or(|(moment, _)| moment != at) {
            let text = RawValue::from_string(format!("\"{at}\"")).expect("a JSON string");
            *last = Some((*at, text));
        }
        last.as_ref().expect("just set").1.serialize(serializer)
    })
}

/// Serialises a string that many entries of a file share (a model's raw text, a provider, a
/// reason), escaped once while it recurs: a big config's thousands of records and routes name a
/// handful, and escaping each anew was a seventh of a big switching pass. For
/// `#[serde(serialize_with = "...")]`, with `serde_json` only (the escaped text is written as it
/// is).
pub(crate) fn shared<T, S>(text: &T, serializer: S) -> Result<S::Ok, S::Error>
where
    T: AsRef<str> + ?Sized,
    S: Serializer,
{
    thread_local! {
        /// The last strings seen, newest last, each with its escaped form.
        static SEEN: RefCell<Vec<(String, Box<RawValue>)>> = const { RefCell::new(Vec::new()) };
    }
    let text = text.as_ref();
    if text.len() > SHARED_LEN {
        return serializer.serialize_str(text);
    }
    SEEN.with_borrow_mut(|seen| {
        if let Some((_, escaped)) = seen.iter().rev().find(|(seen, _)| seen == text) {
            return escaped.serialize(serializer);
        }
        let escaped = serde_json::to_string(text).expect("strings serialise");
        let escaped = RawValue::from_string(escaped).expect("a JSON string is JSON");
        if seen.len() == SHARED {
            seen.remove(0);
        }
        seen.push((text.to_owned(), escaped));
        seen.last().expect("just pushed").1.serialize(serializer)
    })
}

#[derive(Default)]
struct Lines {
    /// How many containers are open.
    depth: usize,
    /// Whether the innermost open container has a member yet.
    has_value: bool,
}

impl Lines {
    fn open<W: ?Sized + Write>(&mut self, out: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        out.write_all(bracket)
    }

    fn close<W: ?Sized + Write>(&mut self, out: &mut W, bracket: &[u8]) -> io::Result<()> {
        let broken = self.depth <= BROKEN_DEPTH;
        self.depth -= 1;
        if broken && self.has_value {
            out.write_all(b"\n")?;
            indent(out, self.depth)?;
        }
        out.write_all(bracket)
    }

    fn member<W: ?Sized + Write>(&mut self, out: &mut W, first: bool) -> io::Result<()> {
        match (self.depth <= BROKEN_DEPTH, first) {
            (true, true) => out.write_all(b"\n")?,
            (true, false) => out.write_all(b",\n")?,
            (false, true) => {}
            (false, false) => out.write_all(b", ")?,
        }
        if self.depth <= BROKEN_DEPTH {
            indent(out, self.depth)?;
        }
        Ok(())
    }
}

fn indent<W: ?Sized + Write>(out: &mut W, depth: usize) -> io::Result<()> {
    (0..depth).try_for_each(|_| out.write_all(b"  "))
}

impl Formatter for Lines {
    fn begin_array<W: ?Sized + Write>(&mut self, out: &mut W) -> io::Result<()> {
        self.open(out, b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, out: &mut W) -> io::Result<()> {
        self.close(out, b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(&mut self, out: &mut W, first: bool) -> io::Result<()> {
        self.member(out, first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _out: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, out: &mut W) -> io::Result<()> {
        self.open(out, b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, out: &mut W) -> io::Result<()> {
        self.close(out, b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, out: &mut W, first: bool) -> io::Result<()> {
        self.member(out, first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, out: &mut W) -> io::Result<()> {
        out.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _out: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn timestamps_read_as_jiff_writes_them_in_any_order() {
        #[derive(Serialize)]
        struct At(#[serde(serialize_with = "timestamp")] Timestamp);
        let moments = [
            "2026-12-06T22:40:22.865412858Z",
            "2026-12-06T22:40:22.865412858Z",
            "2026-12-06T22:40:22Z",
            "1970-01-01T00:00:00Z",
            "1969-07-20T20:17:40.5Z",
            "2026-12-06T22:40:22.865412858Z",
        ];
        for moment in moments {
            let at: Timestamp = moment.parse().unwrap();
            let ours = serde_json::to_string(&At(at)).unwrap();
            assert_eq!(ours, serde_json::to_string(&at).unwrap());
            assert_eq!(ours, format!("\"{moment}\""));
        }
    }

    #[test]
    fn shared_strings_read_as_serde_json_writes_them_whatever_recurs() {
        #[derive(Serialize)]
        struct Shared<'a>(#[serde(serialize_with = "shared")] &'a str);
        let long = "x\"".repeat(SHARED_LEN);
        let mut texts = vec![
            "zai",
            "\"zai/glm\"",
            "tab\there",
            "é \u{1}",
            "",
            long.as_str(),
        ];
        let many: Vec<String> = (0..2 * SHARED).map(|i| format!("m{i}")).collect();
        texts.extend(many.iter().map(String::as_str));
        // Each in turn, then again in reverse: some still kept escaped, others long gone.
        for text in texts
            .iter()
            .chain(texts.iter().rev())
            .chain(["zai", "zai"].iter())
        {
            let ours = serde_json::to_string(&Shared(text)).unwrap();
            assert_eq!(ours, serde_json::to_string(text).unwrap());
            let mut bytes = Vec::new();
            write(&mut bytes, &Shared(text)).unwrap();
            assert_eq!(String::from_utf8(bytes).unwrap(), format!("{ours}\n"));
        }
    }

    fn to_string(value: &serde_json::Value) -> String {
        let mut bytes = Vec::new();
        write(&mut bytes, value).unwrap();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn lists_one_entry_per_line_each_inline() {
        let value = json!({
            "version": 1,
            "empty": [],
            "none": {},
            "switches": [
                {"slot": ["agent", "build", "model"], "held": [], "meta": {"a": 1, "b": {}}},
                {"slot": ["model"], "reason": "zai status RED"}
            ],
            "book": {"zai": {"status": "RED"}}
        });
        let text = to_string(&value);
        assert_eq!(
            text,
            r#"{
  "book": {
    "zai": {"status": "RED"}
  },
  "empty": [],
  "none": {},
  "switches": [
    {"held": [], "meta": {"a": 1, "b": {}}, "slot": ["agent", "build", "model"]},
    {"reason": "zai status RED", "slot": ["model"]}
  ],
  "version": 1
}
"#
        );
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn a_scalar_or_an_empty_document_is_one_line() {
        assert_eq!(to_string(&json!(3)), "3\n");
        assert_eq!(to_string(&json!({})), "{}\n");
        assert_eq!(
            to_string(&json!([[1, 2]])),
            "[\n  [\n    1,\n    2\n  ]\n]\n"
        );
    }
}
