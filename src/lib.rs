//! `switcher` moves AI coding agents to a fallback model when a provider's quota runs low, and
//! back when it recovers, by editing the agents' own config files in place.
//!
//! The pure core — [`jsonc`] (lossless documents), [`target`] (agent config kinds), [`engine`]
//! (health and decisions) and [`plan`] — does no IO. [`apply`], [`state`], [`fsx`] and
//! [`source`] touch the world; [`run`] ties them to the command line of [`cli`].

mod apply;
mod cli;
mod config;
mod daemon;
mod engine;
mod error;
mod fsx;
#[cfg(test)]
#[path = "../tests/fuzz/mod.rs"]
mod fuzz;
mod hooks;
mod jsonc;
mod logging;
mod plan;
mod provider;
mod quota;
mod report;
pub mod run;
mod secret;
mod settings;
mod source;
mod state;
mod target;
mod time;
