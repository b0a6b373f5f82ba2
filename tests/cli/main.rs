//! Integration tests: the real `switcher` binary in sandboxes.

mod harness;

mod bounds;
mod bytes;
mod claude;
mod concurrent;
mod corpus;
mod crash;
mod daemon;
mod errors;
mod locks;
mod providers;
mod recovery;
mod restore;
mod scheduler;
mod secrets;
mod status;
mod switching;
