//! Typed errors and the one table that maps outcomes to exit codes (README, Exit codes).

use std::io;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::config::ConfigError;
use crate::jsonc::ParseError;
use crate::state::StateError;

/// Errors that stop a run before any target is touched.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    State(#[from] StateError),
    /// The environment or the command line cannot be used (an unset variable, no target…).
    #[error("{0}")]
    Setup(String),
}

impl Error {
    /// No target was given, configured or found where discovery looked (`looked`).
    pub(crate) fn no_target(looked: &[PathBuf]) -> Error {
        let looked: Vec<String> = looked.iter().map(|p| p.display().to_string()).collect();
        Error::Setup(format!(
            "no target: give a path, list `targets` in the config, or create one of {}",
            looked.join(", ")
        ))
    }
}

/// An error with one target; the other targets are still processed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TargetError {
    #[error("{target}: cannot read: {source}")]
    Read { target: String, source: io::Error },
    #[error("{target}:{}:{}: {}", error.line, error.column, error.message)]
    Parse { target: String, error: ParseError },
    #[error("{target}: {message}")]
    Invalid { target: String, message: String },
    #[error("{target}: managed by another switcher ({holder}); stop it first")]
    Locked { target: String, holder: String },
    #[error("{target}: cannot write: {source}")]
    Write { target: String, source: io::Error },
    #[error("{target}: {source}")]
    State { target: String, source: StateError },
}

/// How a run ended, by precedence: an error beats a RED slot beats success.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Outcome {
    Ok,
    /// A managed slot ends the pass on a RED model: no candidate was healthy.
    Red,
    Error,
}

impl Outcome {
    pub(crate) fn exit_code(self) -> ExitCode {
        ExitCode::from(match self {
            Outcome::Ok => 0,
            Outcome::Error => 1,
            Outcome::Red => 3,
        })
    }
}
