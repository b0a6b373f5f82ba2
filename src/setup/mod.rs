//! `switcher setup <agent>` (README, "Claude Code status line"): wires switcher into an agent,
//! and `--remove` undoes exactly that.

pub(crate) mod claude;
