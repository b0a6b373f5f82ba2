//! Integration tests: the real `switcher` binary in sandboxes.

mod harness;

mod bytes;
mod errors;
mod recovery;
mod restore;
mod switching;
