//! What the API-key sources share: an endpoint and a key resolved once at start, and a GET that
//! sends the key as a bearer token. A refused key's message names where the key came from; the
//! key itself never reaches an error.

use reqwest::Url;

use crate::config::SourceConfig;
use crate::env::Env;
use crate::secret::Secret;

use super::credentials::ApiKey;
use super::http::{self, Failure};
use super::{Fault, Poll};

#[derive(Debug)]
pub struct KeyedApi {
    pub base_url: Url,
    pub key: ApiKey,
}

impl KeyedApi {
    /// The entry's `base_url`, else `default_url`, and its key (see [`ApiKey::resolve`]).
    pub fn build(
        config: &SourceConfig,
        env: &Env,
        default_url: &str,
        vars: &[&str],
        opencode_ids: &[&'static str],
    ) -> Result<KeyedApi, Fault> {
        Ok(KeyedApi {
            base_url: http::base_url_of(config, default_url)?,
            key: ApiKey::resolve(config, env, vars, opencode_ids)?,
        })
    }

    /// Identity in the quota book: the kind, the endpoint and the key's origin.
    pub fn id(&self, kind: &str) -> String {
        format!("{kind}:{}:{}", self.base_url, self.key.origin())
    }

    /// The key for one poll.
    pub fn key(&self) -> Result<Secret, Failure> {
        self.key.get().map_err(Failure::credential)
    }

    /// GETs `path` with `key`.
    pub async fn get_with(
        &self,
        poll: &Poll<'_>,
        key: &Secret,
        path: &str,
    ) -> Result<String, Failure> {
        http::get_bearer(poll, &self.base_url, path, key, &self.key.hint()).await
    }

    /// GETs `path` and parses the answer; a provider that echoes the key in an error does not
    /// carry it into ours.
    pub async fn get<T>(
        &self,
        poll: &Poll<'_>,
        path: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<T, Failure> {
        let key = self.key()?;
        let body = self.get_with(poll, &key, path).await?;
        parse(&body).map_err(|e| Failure::new(key.redact(&e)))
    }
}
