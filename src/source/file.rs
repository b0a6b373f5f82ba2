//! The status-file source (`kind: "file"`, `--quota-file`): a JSON status document that a person,
//! a script or another tool keeps up to date. The daemon watches it and reads it again at each
//! change; a file has no age, so its data counts as observed when read, and a file that stops
//! parsing says nothing any more about the providers it named.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::fsx;
use crate::provider::Aliases;
use crate::quota::Report;

use super::http::Failure;
use super::{Build, Fault, Fetch, Poll, Provider, Watch, status_doc};

#[derive(Debug)]
pub struct StatusFile {
    path: PathBuf,
    /// The path as the user wrote it, for messages.
    written: String,
}

impl StatusFile {
    pub fn new(path: PathBuf, written: String) -> StatusFile {
        StatusFile { path, written }
    }
}

/// A `file` entry's source: its `path`, with `~` and variables expanded, relative to the
/// config's directory.
pub fn build(path: &str, build: &Build<'_>) -> Result<Box<dyn Provider>, Fault> {
    let expanded = build
        .env
        .expand_path(path, build.config_dir)
        .map_err(|m| ("path", m))?;
    Ok(Box::new(StatusFile::new(expanded, path.to_owned())))
}

/// Reads and parses one status file.
pub fn read(path: &Path, aliases: &Aliases) -> Result<BTreeMap<String, Report>, String> {
    let text = fsx::read_limited(path, fsx::MAX_FILE).map_err(|e| e.to_string())?;
    status_doc::parse(&text, aliases)
}

impl Provider for StatusFile {
    fn id(&self) -> String {
        format!("file:{}", self.path.display())
    }

    fn label(&self) -> String {
        format!("status file {}", self.written)
    }

    fn forgets_data(&self) -> bool {
        true
    }

    fn local(&self) -> bool {
        true
    }

    fn watched(&self) -> Option<Watch<'_>> {
        Some(Watch::File(&self.path))
    }

    fn fetch<'a>(&'a self, poll: &'a Poll<'a>) -> Fetch<'a> {
        Box::pin(async move { read(&self.path, poll.aliases).map_err(Failure::new) })
    }
}
