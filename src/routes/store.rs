//! The routes file on disk: rebuilt from every target record and replaced atomically when its
//! content changes, under the state dir's `routes` lock so that two switchers never interleave.

use std::io;
use std::path::Path;

use jiff::Timestamp;

use crate::fsx;
use crate::plan::TargetState;
use crate::state::{StateDir, lines};
use crate::target::Kind;

use super::{FILE, Routes, VERSION, build, carry};

/// Rebuilds `<state dir>/routes.json` from the target records: `fresh`, the records a pass just
/// saved (not read back: a big config's are megabytes), and every other target's from the state
/// dir. Never fails a pass: a record that cannot be read leaves its routes out (its own error is
/// reported by the pass that meets it), and a file that cannot be written is a warning. No
/// records and no file: nothing is written.
pub(crate) fn refresh(state_dir: &StateDir, opencode_dir: Option<&Path>, fresh: &[&TargetState]) {
    refresh_when(state_dir, opencode_dir, fresh, || true);
}

/// [`refresh`] whose new file, built and synced, is put in place only if `go` says so: made
/// beside the write that lands `fresh`, `go` waits for it. Whether the file holds the routes of
/// `fresh` when it returns: not when told not to go, or on failure.
pub(crate) fn refresh_when(
    state_dir: &StateDir,
    opencode_dir: Option<&Path>,
    fresh: &[&TargetState],
    go: impl FnOnce() -> bool,
) -> bool {
    let known: Vec<&Path> = fresh.iter().map(|s| s.target.as_path()).collect();
    let opencode = |_: &Path, kind: Kind| kind.is_opencode();
    let stored: Vec<_> = match state_dir.targets_where(&known, opencode) {
        Ok(states) => states.into_iter().filter_map(Result::ok).collect(),
        Err(e) => {
            tracing::warn!("routes: {e}");
            return false;
        }
    };
    let real_dir = opencode_dir.map(|d| fsx::canonical(d).unwrap_or_else(|_| d.to_owned()));
    let routes = build(
        stored.iter().chain(fresh.iter().copied()),
        real_dir.as_deref(),
    );
    let written = state_dir.with_lock("routes", |root| write(&root.join(FILE), routes, go));
    written.unwrap_or_else(|e| {
        tracing::warn!("routes: {e}");
        false
    })
}

/// Replaces the file with `routes`, carrying its restored routes over (see [`carry`]), unless
/// it holds that already (an unchanged file keeps its mtime, so the plugins do not read it
/// again), and if `go` says so. A missing file with no route stays missing. A previous file that
/// cannot be read or is not a routes document carries nothing. Whether the file holds `routes`.
fn write(path: &Path, routes: Routes<'_>, go: impl FnOnce() -> bool) -> io::Result<bool> {
    let old = fsx::read_limited(path, fsx::MAX_FILE);
    let missing = matches!(&old, Err(e) if e.kind() == io::ErrorKind::NotFound);
    let old = old.ok();
    let previous = (old.as_deref()).and_then(|t| serde_json::from_str::<Routes>(t).ok());
    let previous = previous.filter(|p| p.version <= VERSION);
    let routes = carry(previous.as_ref(), routes, Timestamp::now());
    let empty = routes.routes.is_empty() && routes.restored.is_empty();
    if previous.as_ref() == Some(&routes) || (missing && empty) {
        return Ok(true);
    }
    fsx::remove_stale_temps(path.parent().unwrap_or(Path::new(".")), FILE);
    let landed = fsx::write_atomic_if(path, None, |out| lines::write(out, &routes), go)?;
    Ok(landed.is_some())
}
