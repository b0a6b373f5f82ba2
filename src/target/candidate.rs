//! An entry of a fallback chain: a model id, or `profile:<name>` — an endpoint profile that
//! switches a Claude Code target as a whole. Chains are parsed into this once, where they are
//! read (the switcher config, a slot's `fallback_models`), so nothing else looks for the prefix.

use std::fmt;
use std::sync::Arc;

use serde::Deserialize;

/// What a chain names, as the config writes it.
const PROFILE: &str = "profile:";

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(from = "String")]
pub(crate) enum Candidate {
    /// Shared: a pass hands the same few models to thousands of slots.
    Model(Arc<str>),
    /// A profile, by its name in the config's `profiles`.
    Profile(String),
}

impl From<String> for Candidate {
    fn from(text: String) -> Candidate {
        match text.strip_prefix(PROFILE) {
            Some(name) => Candidate::Profile(name.to_owned()),
            None => Candidate::Model(text.into()),
        }
    }
}

impl From<&str> for Candidate {
    fn from(text: &str) -> Candidate {
        Candidate::from(text.to_owned())
    }
}

/// As the config writes it, which is also how output names it.
impl fmt::Display for Candidate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Candidate::Model(model) => f.write_str(model),
            Candidate::Profile(name) => write!(f, "{PROFILE}{name}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_back() {
        for (text, parsed) in [
            ("zai/glm-4.6", Candidate::Model("zai/glm-4.6".into())),
            ("profile:glm", Candidate::Profile("glm".into())),
            ("profile:", Candidate::Profile(String::new())),
            ("opus[1m]", Candidate::Model("opus[1m]".into())),
        ] {
            assert_eq!(Candidate::from(text), parsed);
            assert_eq!(parsed.to_string(), text);
        }
    }
}
