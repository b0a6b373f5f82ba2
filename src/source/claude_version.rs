//! The version of the Claude Code installed here, which the `claude` source names in its
//! `User-Agent` as Claude Code itself does: the usage endpoint serves Claude Code, and an old or
//! made-up version is what a scraper would send.
//!
//! Read from what Claude Code leaves on disk, first found first used: the native installer's
//! launcher `~/.local/bin/claude`, a link to `~/.local/share/claude/versions/<version>` (else the
//! newest of those versions); the "local" npm install under `<claude dir>/local/`; the version
//! whose release notes Claude Code last showed (`lastReleaseNotesSeen` in `.claude.json`). None of
//! it is run or written; a file that cannot be read is passed over.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::env::Env;
use crate::fsx;

/// `.claude.json` grows with every project Claude Code opened; a larger one is passed over.
const MAX_STATE: u64 = 16 << 20;

/// The `User-Agent` of Claude Code at `version`.
pub fn user_agent(version: &str) -> String {
    format!("claude-code/{version}")
}

/// The installed version, if any trace of one is found.
pub fn installed(env: &Env) -> Option<String> {
    let home = env.home.as_deref();
    let claude_dir = env.claude_dir();
    let mut version_dirs: Vec<PathBuf> = env
        .data_home
        .iter()
        .map(|d| d.join("claude/versions"))
        .collect();
    version_dirs.extend(home.map(|h| h.join(".local/share/claude/versions")));
    version_dirs.dedup();
    let state = match env.var("CLAUDE_CONFIG_DIR") {
        Some(_) => claude_dir.as_ref().map(|d| d.join(".claude.json")),
        None => home.map(|h| h.join(".claude.json")),
    };
    home.and_then(|h| linked(&h.join(".local/bin/claude")))
        .or_else(|| version_dirs.iter().find_map(|d| newest(d)))
        .or_else(|| {
            let local = claude_dir?.join("local/node_modules/@anthropic-ai/claude-code");
            field(&local.join("package.json"), "version", 1 << 20)
        })
        .or_else(|| field(&state?, "lastReleaseNotesSeen", MAX_STATE))
}

/// The version a native launcher links to (`…/versions/2.1.29`).
fn linked(launcher: &Path) -> Option<String> {
    let target = std::fs::read_link(launcher).ok()?;
    let name = target.file_name()?.to_str()?;
    is_version(name).then(|| name.to_owned())
}

/// The newest version the native installer keeps in `dir`.
fn newest(dir: &Path) -> Option<String> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| is_version(name))
        .max_by_key(|name| parts(name))
}

/// A string field of a JSON file, when it is a version.
fn field(path: &Path, key: &str, limit: u64) -> Option<String> {
    let text = fsx::read_limited(path, limit).ok()?;
    let value: Value = serde_json::from_str(&text).ok()?;
    let version = value.get(key)?.as_str()?.trim();
    is_version(version).then(|| version.to_owned())
}

/// `2.1.29`: numbers joined by dots, at least two of them. Anything else could carry more than a
/// version into a header.
fn is_version(text: &str) -> bool {
    let parts: Vec<&str> = text.split('.').collect();
    parts.len() >= 2
        && parts.len() <= 4
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 6 && p.bytes().all(|b| b.is_ascii_digit()))
}

fn parts(version: &str) -> Vec<u64> {
    version.split('.').filter_map(|p| p.parse().ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::testing::write;

    fn found(dir: &Path, vars: &[(&str, &str)]) -> Option<String> {
        installed(&Env::for_tests(dir, vars))
    }

    #[test]
    fn versions_only() {
        for good in ["2.1.29", "1.0", "2.1.114"] {
            assert!(is_version(good), "{good}");
        }
        for bad in [
            "",
            "2",
            "2.x",
            "v2.1.0",
            "2.1.0-beta",
            "2..1",
            "2.1.0\r\nX-Evil: 1",
        ] {
            assert!(!is_version(bad), "{bad}");
        }
        assert_eq!(user_agent("2.1.29"), "claude-code/2.1.29");
    }

    #[test]
    fn from_the_launcher_link_then_the_newest_version_kept() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(found(dir.path(), &[]), None);
        let versions = dir.path().join("home/.local/share/claude/versions");
        for v in ["2.1.97", "2.1.112", "2.1.9", "notes.txt"] {
            write(&versions, v, "binary");
        }
        assert_eq!(found(dir.path(), &[]).as_deref(), Some("2.1.112"));
        #[cfg(unix)]
        {
            let bin = dir.path().join("home/.local/bin");
            std::fs::create_dir_all(&bin).unwrap();
            std::os::unix::fs::symlink(versions.join("2.1.97"), bin.join("claude")).unwrap();
            assert_eq!(
                found(dir.path(), &[]).as_deref(),
                Some("2.1.97"),
                "the linked version is the one that runs"
            );
        }
    }

    #[test]
    fn from_a_local_install_then_the_release_notes_seen() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "home/.claude.json",
            r#"{"numStartups": 3, "lastReleaseNotesSeen": "2.1.100", "installMethod": "global"}"#,
        );
        assert_eq!(found(dir.path(), &[]).as_deref(), Some("2.1.100"));
        write(
            dir.path(),
            "home/.claude/local/node_modules/@anthropic-ai/claude-code/package.json",
            r#"{"name": "@anthropic-ai/claude-code", "version": "2.0.76"}"#,
        );
        assert_eq!(found(dir.path(), &[]).as_deref(), Some("2.0.76"));

        let other = tempfile::tempdir().unwrap();
        write(
            other.path(),
            "cc/.claude.json",
            r#"{"lastReleaseNotesSeen": "2.1.3"}"#,
        );
        write(
            other.path(),
            "home/.claude.json",
            r#"{"lastReleaseNotesSeen": "1.0.1"}"#,
        );
        assert_eq!(
            found(other.path(), &[("CLAUDE_CONFIG_DIR", "cc")]).as_deref(),
            Some("2.1.3"),
            "CLAUDE_CONFIG_DIR holds its own .claude.json"
        );
        write(
            other.path(),
            "home/.claude.json",
            r#"{"lastReleaseNotesSeen": "latest"}"#,
        );
        assert_eq!(found(other.path(), &[]), None);
    }
}
