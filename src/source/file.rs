//! The status-file source (`kind: "file"`, `--quota-file`): a JSON status document that a person,
//! a script or another tool keeps up to date.

use std::collections::BTreeMap;
use std::path::Path;

use crate::fsx;
use crate::provider::Aliases;
use crate::quota::Report;

use super::status_doc;

/// Reads and parses one status file. A file has no age: its data counts as observed when read.
pub fn read(path: &Path, aliases: &Aliases) -> Result<BTreeMap<String, Report>, String> {
    let text = fsx::read_limited(path, fsx::MAX_FILE).map_err(|e| e.to_string())?;
    status_doc::parse(&text, aliases)
}
