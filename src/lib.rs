//! `switcher` moves AI coding agents to a fallback model when a provider's quota runs low, and
//! back when it recovers, by editing the agents' own config files in place.

pub mod engine;
pub mod jsonc;
pub mod provider;
pub mod quota;
