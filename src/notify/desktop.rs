//! Showing notices on the desktop: through the session bus's notification service
//! (`org.freedesktop.Notifications`, with zbus) on Linux and the BSDs, as toasts on Windows
//! (both by notify-rust), and with `osascript` on macOS, whose native backend would need an SDK
//! to build. A notification that cannot be shown is a warning, never a failure of the pass.

use std::sync::mpsc;
use std::time::Duration;

use super::Notice;

/// How long a one-shot run waits for its notifications to be shown.
const TIMEOUT: Duration = Duration::from_secs(5);

/// Shows `notices` on a thread of their own; with `wait`, waits for them at most [`TIMEOUT`].
pub(crate) fn show(notices: Vec<Notice>, wait: bool) {
    if notices.is_empty() {
        return;
    }
    let (done, finished) = mpsc::channel();
    let worker = std::thread::Builder::new()
        .name("notify".into())
        .spawn(move || {
            for notice in &notices {
                if let Err(e) = show_one(notice) {
                    tracing::warn!("cannot show a notification ({}): {e}", notice.summary);
                }
            }
            let _ = done.send(());
        });
    if let Err(e) = worker {
        tracing::warn!("cannot show notifications: {e}");
        return;
    }
    if wait && finished.recv_timeout(TIMEOUT).is_err() {
        tracing::warn!(
            "notifications not shown after {} s; giving up",
            TIMEOUT.as_secs()
        );
    }
}

#[cfg(not(target_os = "macos"))]
fn show_one(notice: &Notice) -> Result<(), String> {
    notify_rust::Notification::new()
        .appname("switcher")
        .summary(&notice.summary)
        .body(&notice.body)
        .show()
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// `osascript` is on every Mac. The texts are passed as arguments, never spliced into the script.
#[cfg(target_os = "macos")]
fn show_one(notice: &Notice) -> Result<(), String> {
    let status = std::process::Command::new("osascript")
        .args([
            "-e",
            "on run argv",
            "-e",
            "display notification (item 2 of argv) with title (item 1 of argv)",
            "-e",
            "end run",
            &notice.summary,
            &notice.body,
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .status()
        .map_err(|e| format!("osascript: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("osascript: {status}"))
    }
}
