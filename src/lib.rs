//! `switcher` moves AI coding agents to a fallback model when a provider's quota runs low, and
//! back when it recovers, by editing the agents' own config files in place.
//!
//! The pure core — `jsonc` (lossless documents), `target` (agent config kinds), `quota` (what
//! sources report, and the book of it), `engine` (health and decisions) and `plan` (one target's
//! pass, with its records as plain data) — does no IO. `state`, `source`, `fsx` and `settings`
//! touch the world; `apply` runs plans against files; `daemon`, `report` and `hooks` serve the run
//! modes, which [`run`] ties to the command line of `cli`. A module uses only modules below it;
//! `docs/design.md` has the map. Only [`run::main`] is public: the binary is the interface.

mod announce;
mod apply;
mod cli;
mod config;
mod daemon;
mod engine;
mod env;
mod error;
mod fsx;
#[cfg(test)]
#[path = "../tests/fuzz/mod.rs"]
mod fuzz;
mod hooks;
mod init;
mod journal;
mod jsonc;
mod limits;
mod logging;
mod man;
mod notify;
mod plan;
mod provider;
mod quota;
mod report;
mod routes;
pub mod run;
mod secret;
mod settings;
mod setup;
mod source;
mod state;
mod statusline;
mod target;
mod time;
mod tui;
