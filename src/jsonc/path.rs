//! Key paths: where a value sits in a document, and how users see that place.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use compact_str::CompactString;
use serde::{Deserialize, Serialize};

use super::document::KeyHash;

/// Key paths looked up in a set or a map, hashed as object keys are (not with SipHash): a
/// pass looks up a big config's thousands of slots by path.
pub(crate) type PathSet<'a> = HashSet<&'a KeyPath, KeyHash>;
pub(crate) type PathMap<'a, V> = HashMap<&'a KeyPath, V, KeyHash>;

/// A sequence of object keys from the root to a value (`["agent", "build", "model"]`).
///
/// It displays as the dotted form users read in output (`agent.build.model`); a key that contains
/// a dot, a quote or nothing at all is written in double quotes (`agent."my.agent".model`).
///
/// The keys are shared: a pass copies each slot's path into its edit, its change, its record and
/// its view, and a copy only counts a reference.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct KeyPath(Arc<[CompactString]>);

impl KeyPath {
    pub(crate) fn new<I, S>(keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<CompactString>,
    {
        KeyPath(keys.into_iter().map(Into::into).collect())
    }

    /// The keys, each inline up to 24 bytes: a config's thousands of slot paths allocate one
    /// block each.
    pub(crate) fn keys(&self) -> &[CompactString] {
        &self.0
    }

    /// The path of the object that holds this value (empty for a top-level key).
    pub(crate) fn parent(&self) -> KeyPath {
        KeyPath(self.0[..self.0.len().saturating_sub(1)].into())
    }

    /// The last key, if any.
    pub(crate) fn last(&self) -> Option<&str> {
        self.0.last().map(CompactString::as_str)
    }

    /// The dotted form it displays as, in a string sized for it at once: the routes name each
    /// of a big config's thousands of slots so.
    pub(crate) fn dotted(&self) -> String {
        // Room for a dot and two quotes per key: a dotted key is quoted.
        let mut text = String::with_capacity(self.0.iter().map(|key| key.len() + 3).sum());
        let _ = self.write_dotted(&mut text);
        text
    }

    /// Writes the dotted form to `out` piece by piece: a big config's change lines are
    /// thousands, and `Display` uses it too.
    pub(crate) fn write_dotted(&self, out: &mut impl fmt::Write) -> fmt::Result {
        for (i, key) in self.0.iter().enumerate() {
            if i > 0 {
                out.write_char('.')?;
            }
            if key.is_empty() || key.bytes().any(|b| b == b'.' || b == b'"') {
                out.write_char('"')?;
                out.write_str(&key.replace('"', "\\\""))?;
                out.write_char('"')?;
            } else {
                out.write_str(key)?;
            }
        }
        Ok(())
    }

    /// This path extended by one key.
    pub(crate) fn child(&self, key: &str) -> KeyPath {
        KeyPath(self.0.iter().cloned().chain([key.into()]).collect())
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_dotted(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_dotted_with_quoted_segments() {
        assert_eq!(
            KeyPath::new(["agent", "build", "model"]).to_string(),
            "agent.build.model"
        );
        assert_eq!(
            KeyPath::new(["agent", "my.agent", "model"]).to_string(),
            "agent.\"my.agent\".model"
        );
        assert_eq!(KeyPath::new(["a", ""]).to_string(), "a.\"\"");
        for path in [["agent", "my.agent", "model"], ["a", "say \"hi\"", ""]] {
            let path = KeyPath::new(path);
            assert_eq!(path.dotted(), path.to_string());
        }
    }

    #[test]
    fn parent_and_child() {
        let p = KeyPath::new(["env", "ANTHROPIC_MODEL"]);
        assert_eq!(p.parent(), KeyPath::new(["env"]));
        assert_eq!(p.parent().child("X"), KeyPath::new(["env", "X"]));
        assert_eq!(
            KeyPath::new(["model"]).parent(),
            KeyPath::new(Vec::<String>::new())
        );
    }
}
