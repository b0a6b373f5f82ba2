//! Integration tests: the real `switcher` binary in sandboxes.

mod harness;

mod bounds;
mod bytes;
mod claude;
mod corpus;
mod daemon;
mod errors;
mod providers;
mod recovery;
mod restore;
mod scheduler;
mod status;
mod switching;
