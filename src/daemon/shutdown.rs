//! The daemon's stop request: SIGINT or SIGTERM on Unix; on Windows, Ctrl-C, Ctrl-Break or the
//! console window closing (Windows has no polite signal a script can send to a console process;
//! `taskkill /F` ends it without this, which a lock survives — the system releases it).
//!
//! The handlers are installed when [`Shutdown::listen`] returns, before the daemon starts its
//! workers, so a request during startup is kept until the loop asks.

use std::io;

#[cfg(unix)]
pub struct Shutdown {
    terminate: tokio::signal::unix::Signal,
    interrupt: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Shutdown {
    pub fn listen() -> io::Result<Shutdown> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Shutdown {
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
        })
    }

    /// Returns when a stop is requested.
    pub async fn requested(&mut self) {
        tokio::select! {
            _ = self.terminate.recv() => {}
            _ = self.interrupt.recv() => {}
        }
    }
}

#[cfg(windows)]
pub struct Shutdown {
    ctrl_c: tokio::signal::windows::CtrlC,
    ctrl_break: tokio::signal::windows::CtrlBreak,
    close: tokio::signal::windows::CtrlClose,
}

#[cfg(windows)]
impl Shutdown {
    pub fn listen() -> io::Result<Shutdown> {
        use tokio::signal::windows::{ctrl_break, ctrl_c, ctrl_close};
        Ok(Shutdown {
            ctrl_c: ctrl_c()?,
            ctrl_break: ctrl_break()?,
            close: ctrl_close()?,
        })
    }

    /// Returns when a stop is requested. A closing console gives the process a few seconds
    /// before the system ends it: enough to finish a pass.
    pub async fn requested(&mut self) {
        tokio::select! {
            _ = self.ctrl_c.recv() => {}
            _ = self.ctrl_break.recv() => {}
            _ = self.close.recv() => {}
        }
    }
}
