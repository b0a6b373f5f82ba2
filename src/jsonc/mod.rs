//! A lossless JSONC document: parse, read values at key paths, and edit by splicing text.
//!
//! Agents' config files are documents people write by hand, with comments, trailing commas, their
//! own indentation and escapes. Re-serialising them would destroy all of that, so this layer never
//! does: `jsonc-parser` builds the syntax tree with byte ranges, and every edit replaces, inserts or
//! removes a range of the original text. Bytes outside an edit are untouched by construction. A
//! UTF-8 BOM is stripped before parsing and put back when rendering.
//!
//! The layer does no IO and knows nothing about agents; targets decide what to edit.

mod document;
mod edit;
mod layout;
mod path;
#[cfg(test)]
pub(crate) mod props;
mod scan;

pub(crate) use document::{Document, KeyHash, Node, ParseError, unquote, unquote_cow};
pub(crate) use edit::{Edit, Edited, NewValue};
pub(crate) use path::{KeyPath, PathMap, PathSet};
