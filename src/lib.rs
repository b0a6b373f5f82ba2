//! `switcher` moves AI coding agents to a fallback model when a provider's quota runs low, and
//! back when it recovers, by editing the agents' own config files in place.
//!
//! The pure core — [`jsonc`] (lossless documents), [`target`] (agent config kinds), [`engine`]
//! (health and decisions) and [`plan`] — does no IO. [`apply`], [`state`], [`fsx`] and
//! [`source`] touch the world; [`run`] ties them to the command line of [`cli`].

pub mod apply;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod engine;
pub mod error;
pub mod fsx;
#[cfg(test)]
#[path = "../tests/fuzz/mod.rs"]
mod fuzz;
pub mod hooks;
pub mod jsonc;
pub mod logging;
pub mod plan;
pub mod provider;
pub mod quota;
pub mod report;
pub mod run;
pub mod secret;
pub mod settings;
pub mod source;
pub mod state;
pub mod target;
pub mod time;
