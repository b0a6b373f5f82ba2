//! Integration tests: the real `switcher` binary in sandboxes.
// The suite drives the binary the way a Unix user does (shell scripts, signals, symlinks, modes):
// on Windows it is empty, and the library's own tests are what build there.
#![cfg(unix)]

mod harness;

mod agents;
mod bounds;
mod bytes;
mod claude;
mod claude_live;
mod claude_logs;
mod completions;
mod concurrent;
mod corpus;
mod crash;
mod daemon;
mod errors;
mod history;
mod init;
mod locks;
mod notify;
mod opencode;
mod providers;
mod recovery;
mod restore;
mod scheduler;
mod secrets;
mod signals;
mod status;
mod statusline;
mod switching;
