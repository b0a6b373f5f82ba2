//! Finding the credentials agents already stored: environment variables, an explicit key in the
//! config, OpenCode's `auth.json`, and the agents' own credential files.
//!
//! Credential files of other tools are read-only to us: they are read (size-limited) at each
//! poll, so a token the agent's CLI refreshed is picked up, and never written or refreshed. What
//! is read becomes a [`Secret`] at once; errors name the file, never its content.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::env::Env;
use crate::fsx;
use crate::secret::Secret;

use super::{Build, KeyConfig};

/// Credential files are small; anything larger is not one.
const MAX_CREDENTIALS: u64 = 1 << 20;

/// A config field at fault and why, for a `sources[i].<field>` error.
pub type Fault = (&'static str, String);

/// Reads a JSON credential file.
pub fn read_json(path: &Path) -> Result<Value, String> {
    let text = fsx::read_limited(path, MAX_CREDENTIALS)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| {
        // serde_json's message names a position, not the content.
        format!("{} is not valid JSON ({e})", path.display())
    })
}

/// OpenCode's credential store: `$XDG_DATA_HOME/opencode/auth.json`.
pub fn opencode_auth(env: &Env) -> Option<PathBuf> {
    env.data_home.as_ref().map(|d| d.join("opencode/auth.json"))
}

/// The API key OpenCode stored for the first of `ids` that has one (`{"type": "api", "key": …}`).
pub fn opencode_key(env: &Env, ids: &[&str]) -> Option<Secret> {
    key_in(&read_json(&opencode_auth(env)?).ok()?, ids)
}

/// The API key an `auth.json` holds for the first of `ids` that has one.
fn key_in(auth: &Value, ids: &[&str]) -> Option<Secret> {
    ids.iter().find_map(|id| {
        let entry = auth.get(*id)?;
        (entry.get("type")?.as_str()? == "api")
            .then(|| {
                entry
                    .get("key")?
                    .as_str()
                    .filter(|k| !k.is_empty())
                    .map(Secret::new)
            })
            .flatten()
    })
}

/// Where an API key comes from, as resolved once at start.
#[derive(Clone, Debug, PartialEq)]
pub enum ApiKey {
    /// `api_key`, `api_key_env` or one of the source's usual variables; `from` says which, for
    /// the hint when the key is refused.
    Given { key: Secret, from: String },
    /// OpenCode's `auth.json`, read at each poll under these provider ids.
    OpenCode {
        path: PathBuf,
        ids: Vec<&'static str>,
    },
    /// Nothing found: each poll fails with this hint.
    Missing(String),
}

impl ApiKey {
    /// Resolves a key: the config's `api_key`, else the variable `api_key_env` names (which must be
    /// set), else the first of `vars` that is set, else OpenCode's entry under `opencode_ids`.
    pub fn resolve(
        config: &KeyConfig,
        env: &Env,
        vars: &[&str],
        opencode_ids: &[&'static str],
    ) -> Result<ApiKey, Fault> {
        let given = |key: Secret, from: &str| ApiKey::Given {
            key,
            from: from.to_owned(),
        };
        match config {
            KeyConfig::Given(key) => return Ok(given(key.clone(), "`api_key` in the config")),
            KeyConfig::Var(var) => return Ok(given(var_key(env, var)?, var)),
            KeyConfig::Usual => {}
        }
        if let Some((var, value)) = vars.iter().find_map(|v| Some((v, env.var(v)?))) {
            return Ok(given(Secret::new(value), var));
        }
        if let Some(path) = opencode_auth(env).filter(|_| !opencode_ids.is_empty())
            && opencode_key(env, opencode_ids).is_some()
        {
            return Ok(ApiKey::OpenCode {
                path,
                ids: opencode_ids.to_vec(),
            });
        }
        let mut places: Vec<String> = vars.iter().map(|v| format!("${v}")).collect();
        if !opencode_ids.is_empty() {
            places.push("OpenCode's auth.json (opencode auth login)".to_owned());
        }
        Ok(ApiKey::Missing(format!(
            "no API key: set {} or `api_key_env`",
            places.join(", ")
        )))
    }

    /// Whether a key was found (for auto-detection).
    pub fn found(&self) -> bool {
        !matches!(self, ApiKey::Missing(_))
    }

    /// The key for one poll.
    pub fn get(&self) -> Result<Secret, String> {
        match self {
            ApiKey::Given { key, .. } => Ok(key.clone()),
            ApiKey::OpenCode { path, ids } => key_in(&read_json(path)?, ids)
                .ok_or_else(|| format!("no API key in {} any more", path.display())),
            ApiKey::Missing(hint) => Err(hint.clone()),
        }
    }

    /// What to do when the key is refused, naming where it came from.
    pub fn hint(&self) -> String {
        match self {
            ApiKey::Given { from, .. } => format!("check the API key ({from})"),
            ApiKey::OpenCode { path, .. } => {
                format!(
                    "check the API key in {} (opencode auth login)",
                    path.display()
                )
            }
            ApiKey::Missing(hint) => hint.clone(),
        }
    }

    /// A label for the key's origin, part of a source's identity (never the key itself).
    pub fn origin(&self) -> String {
        match self {
            ApiKey::Given { key: secret, .. } => {
                // Two entries with different keys are two accounts: tell them apart by a digest.
                use sha2::Digest;
                let digest = sha2::Sha256::digest(secret.expose().as_bytes());
                digest.iter().take(4).map(|b| format!("{b:02x}")).collect()
            }
            ApiKey::OpenCode { .. } => "opencode".to_owned(),
            ApiKey::Missing(_) => "none".to_owned(),
        }
    }
}

/// The key in the variable `api_key_env` names, which must be set.
pub fn var_key(env: &Env, var: &str) -> Result<Secret, Fault> {
    env.var(var)
        .map(Secret::new)
        .ok_or(("api_key_env", format!("${var} is not set")))
}

/// A credential file: the entry's `credentials_file` (relative to the config's directory), else
/// `default`.
pub fn credentials_path(
    file: Option<&str>,
    build: &Build<'_>,
    default: Option<PathBuf>,
) -> Result<Option<PathBuf>, Fault> {
    match file {
        Some(raw) => build
            .env
            .expand_path(raw, build.config_dir)
            .map(Some)
            .map_err(|m| ("credentials_file", m)),
        None => Ok(default),
    }
}

/// A source's identity when its credential is a file: the kind, the endpoint and the file.
pub fn file_id(kind: &str, base_url: &reqwest::Url, file: Option<&Path>) -> String {
    let file = file.map_or_else(|| "none".to_owned(), |p| p.display().to_string());
    format!("{kind}:{base_url}:{file}")
}

/// Whether a token that expires at `expires_ms` (unix milliseconds) has expired by `now`.
pub fn expired(expires_ms: Option<i64>, now: jiff::Timestamp) -> bool {
    expires_ms.is_some_and(|ms| ms <= now.as_millisecond())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(dir: &Path, vars: &[(&str, &str)]) -> Env {
        Env::for_tests(dir, vars)
    }

    #[test]
    fn resolution_order() {
        let dir = tempfile::tempdir().unwrap();
        let auth = dir.path().join("data/opencode/auth.json");
        std::fs::create_dir_all(auth.parent().unwrap()).unwrap();
        std::fs::write(
            &auth,
            r#"{"zai-coding-plan": {"type": "api", "key": "from-opencode"}}"#,
        )
        .unwrap();
        let config = KeyConfig::Usual;
        let e = env(dir.path(), &[("Z_AI_API_KEY", "from-env")]);
        assert_eq!(
            ApiKey::resolve(&config, &e, &["Z_AI_API_KEY"], &["zai"])
                .unwrap()
                .get()
                .unwrap()
                .expose(),
            "from-env"
        );
        let e = env(dir.path(), &[]);
        let key =
            ApiKey::resolve(&config, &e, &["Z_AI_API_KEY"], &["zai-coding-plan", "zai"]).unwrap();
        assert_eq!(key.get().unwrap().expose(), "from-opencode");
        let explicit = KeyConfig::Given(Secret::new("literal"));
        assert_eq!(
            ApiKey::resolve(&explicit, &e, &[], &[])
                .unwrap()
                .get()
                .unwrap()
                .expose(),
            "literal"
        );
        let unset = KeyConfig::Var("NOPE".into());
        assert_eq!(
            ApiKey::resolve(&unset, &e, &[], &[]).unwrap_err(),
            ("api_key_env", "$NOPE is not set".to_owned())
        );
        let missing = ApiKey::resolve(&config, &e, &["Z_AI_API_KEY"], &["zai"]).unwrap();
        assert!(!missing.found());
        assert!(missing.get().unwrap_err().contains("$Z_AI_API_KEY"));
    }

    #[test]
    fn errors_never_carry_the_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("creds.json");
        std::fs::write(&path, "{\"token\": \"sk-canary-secret\"").unwrap();
        let err = read_json(&path).unwrap_err();
        assert!(!err.contains("canary"), "{err}");
    }
}
