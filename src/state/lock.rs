//! Waiting for a lock of the state dir, never for ever. A switcher that holds a lock may be
//! stopped (a cron `--once` suspended with SIGSTOP) or stuck on a slow filesystem; a wait without
//! an end would freeze whoever waits behind it. Each wait has a deadline, may be called off by
//! the daemon when it stops, and ends with an error that names the lock file and, when it wrote
//! itself down, the holder.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::fsx::{self, FileLock};

use super::StateError;

/// How long a run waits for a lock another switcher holds before it gives up.
pub(crate) const LOCK_TIMEOUT: Duration = Duration::from_secs(5);

/// The longest pause between two attempts.
const MAX_PAUSE: Duration = Duration::from_millis(50);

/// How this process names itself in the locks it holds: `pid 123: switcher watch …`.
pub(crate) fn holder() -> &'static str {
    static HOLDER: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HOLDER.get_or_init(|| {
        format!(
            "pid {}: {}",
            std::process::id(),
            std::env::args().collect::<Vec<_>>().join(" ")
        )
    })
}

/// When a wait ends without the lock.
#[derive(Clone, Debug)]
pub(crate) struct Patience {
    pub(crate) timeout: Duration,
    /// Set when the waiter is asked to stop: a wait then ends at once.
    pub(crate) cancel: Option<Arc<AtomicBool>>,
}

impl Default for Patience {
    fn default() -> Patience {
        Patience {
            timeout: LOCK_TIMEOUT,
            cancel: None,
        }
    }
}

impl Patience {
    fn cancelled(&self) -> bool {
        self.cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::Relaxed))
    }
}

/// Takes the lock at `path`, trying again with growing pauses until `patience` runs out.
pub(crate) fn wait_for(path: &Path, patience: &Patience) -> Result<FileLock, StateError> {
    let start = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        let attempt = fsx::try_lock(path, holder()).map_err(|source| StateError::Io {
            dir: path.parent().unwrap_or(path).to_owned(),
            source,
        })?;
        let held_by = match attempt {
            Ok(lock) => return Ok(lock),
            Err(held_by) => held_by,
        };
        let waited = start.elapsed();
        if waited >= patience.timeout || patience.cancelled() {
            return Err(StateError::Busy {
                lock: path.to_owned(),
                holder: held_by,
                waited,
            });
        }
        std::thread::sleep(pause.min(patience.timeout - waited));
        pause = (pause * 2).min(MAX_PAUSE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_is_given_up_on_naming_its_holder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("quota.lock");
        let held = fsx::try_lock(&path, "pid 42: switcher watch --once")
            .unwrap()
            .unwrap();
        let patience = Patience {
            timeout: Duration::from_millis(30),
            cancel: None,
        };
        let err = wait_for(&path, &patience).unwrap_err().to_string();
        assert!(
            err.contains("quota.lock") && err.contains("pid 42: switcher watch --once"),
            "{err}"
        );
        let cancel = Arc::new(AtomicBool::new(true));
        let patience = Patience {
            timeout: Duration::from_secs(3600),
            cancel: Some(cancel),
        };
        assert!(
            wait_for(&path, &patience).is_err(),
            "a called-off wait ends"
        );
        drop(held);
        assert!(wait_for(&path, &Patience::default()).is_ok());
    }
}
