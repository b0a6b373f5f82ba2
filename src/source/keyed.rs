//! The API-key sources (`deepseek`, `minimax`, `moonshot`, `openrouter`, `zai`) are one source:
//! an endpoint and a key resolved once at start, and GETs that send the key as a bearer token.
//! What sets each apart is a [`Keyed`] description in its own module, beside its pure `parse`.
//! A refused key's message names where the key came from; the key itself never reaches an error.

use std::fmt;

use reqwest::Url;

use crate::secret::Secret;

use super::credentials::ApiKey;
use super::http::{self, Failure};
use super::{Build, Fault, Fetch, KeyConfig, Poll, Provider, Region};

/// What sets one API-key kind apart.
pub struct Keyed {
    /// The kind, the provider it reports on, and its label (`zai`, `zai (china)`).
    pub name: &'static str,
    pub global: Endpoint,
    /// Where it asks in China, for a kind that takes `region`.
    pub china: Option<Endpoint>,
    /// One poll: what it asks through the source, and how it reads the answers.
    pub fetch: for<'a> fn(&'a KeyedSource, &'a Poll<'a>) -> Fetch<'a>,
}

/// Where a kind asks, the variables that hold its key there, and the provider ids OpenCode's
/// `auth.json` keeps it under, first found first used.
pub struct Endpoint {
    pub url: &'static str,
    pub vars: &'static [&'static str],
    pub opencode_ids: &'static [&'static str],
}

impl fmt::Debug for Keyed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

/// An API-key source, built.
#[derive(Debug)]
pub struct KeyedSource {
    kind: &'static Keyed,
    region: Region,
    base_url: Url,
    key: ApiKey,
    /// The balance that counts as 0% used, for the kinds that report one.
    pub budget: Option<f64>,
}

/// Builds a `kind` source: the entry's `base_url`, else the region's endpoint, and its key (see
/// [`ApiKey::resolve`]). An entry that names no region asks where its key belongs: globally,
/// unless the key is only found in China's places (`ZHIPU_API_KEY`, OpenCode's
/// `zhipuai-coding-plan` or `minimax-cn-coding-plan`).
pub fn build(
    kind: &'static Keyed,
    key: &KeyConfig,
    region: Option<Region>,
    budget: Option<f64>,
    base_url: Option<&str>,
    build: &Build<'_>,
) -> Result<Box<dyn Provider>, Fault> {
    let endpoint = |region| match (region, &kind.china) {
        (Region::China, Some(china)) => china,
        _ => &kind.global,
    };
    let resolve = |region| {
        let at = endpoint(region);
        ApiKey::resolve(key, build.env, at.vars, at.opencode_ids)
    };
    let (region, key) = match region {
        // A region the entry names is where the key is used, wherever OpenCode filed it.
        Some(region) => {
            let at = endpoint(region);
            let mut ids = at.opencode_ids.to_vec();
            for other in [&kind.global].into_iter().chain(&kind.china) {
                for id in other.opencode_ids {
                    if !ids.contains(id) {
                        ids.push(id);
                    }
                }
            }
            (region, ApiKey::resolve(key, build.env, at.vars, &ids)?)
        }
        None => match resolve(Region::Global)? {
            ApiKey::Missing(_) if kind.china.is_some() => match resolve(Region::China)? {
                found if found.found() => (Region::China, found),
                _ => (Region::Global, resolve(Region::Global)?),
            },
            found => (Region::Global, found),
        },
    };
    Ok(Box::new(KeyedSource {
        kind,
        region,
        base_url: http::base_url_of(base_url, endpoint(region).url)?,
        key,
        budget,
    }))
}

impl KeyedSource {
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

impl Provider for KeyedSource {
    /// The kind, the endpoint and the key's origin: one account configured twice is one source.
    fn id(&self) -> String {
        format!("{}:{}:{}", self.kind.name, self.base_url, self.key.origin())
    }

    fn label(&self) -> String {
        self.region.label(self.kind.name)
    }

    fn found(&self) -> bool {
        self.key.found()
    }

    fn covers(&self) -> Vec<String> {
        vec![self.kind.name.to_owned()]
    }

    fn fetch<'a>(&'a self, poll: &'a Poll<'a>) -> Fetch<'a> {
        (self.kind.fetch)(self, poll)
    }
}

/// What every API-key kind is tested with.
#[cfg(test)]
pub(crate) mod testing {
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use crate::source::testing::{build, fetch, now};

    /// What a `kind` source does with its key: a refused one fails the poll at its first request
    /// (to `first_path`, answered 401 with `refusal`), asking nothing more, with a hint naming
    /// where the key came from; a missing one (`missing` is such an entry) leaves the source not
    /// found, and every poll names the places to put one (`hints`).
    pub async fn key_handling(
        kind: &str,
        first_path: &str,
        refusal: &str,
        missing: &str,
        hints: &[&str],
    ) {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(401).set_body_string(refusal))
            .expect(1)
            .mount(&server)
            .await;
        let dir = tempfile::tempdir().unwrap();
        let entry = format!(
            "{{kind: '{kind}', base_url: '{}', api_key: 'bad'}}",
            server.uri()
        );
        let err = fetch(build(&entry, dir.path(), &[]).unwrap().as_ref(), now())
            .await
            .unwrap_err();
        assert_eq!(
            err.error,
            "HTTP 401: check the API key (`api_key` in the config)"
        );
        let asked = server.received_requests().await.unwrap_or_default();
        assert_eq!(asked[0].url.path(), first_path);
        let missing = build(missing, dir.path(), &[]).unwrap();
        assert!(!missing.found());
        let err = fetch(missing.as_ref(), now()).await.unwrap_err();
        for hint in hints {
            assert!(err.error.contains(hint), "{kind}: {}", err.error);
        }
    }
}
