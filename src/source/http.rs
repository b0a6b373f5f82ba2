//! HTTP for the provider sources: one client, bounded bodies, and the mapping of failures to
//! short reasons users can act on (README, Quota sources).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use jiff::Timestamp;
use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{StatusCode, Url};

use crate::secret::Secret;

use super::Fault;

/// Provider answers above this size are refused.
pub const MAX_BODY: usize = 4 << 20;

/// Why a request gave no usable answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
    pub error: String,
    /// How long the server asked us to wait before asking again.
    pub retry_after: Option<Duration>,
    /// The HTTP status, when the server answered with an error status.
    pub status: Option<u16>,
    /// The credentials were missing, expired or rejected: the provider's earlier data no longer
    /// says anything (it is UNKNOWN until they work again).
    pub credential: bool,
}

impl Failure {
    pub fn new(error: impl Into<String>) -> Failure {
        Failure {
            error: error.into(),
            retry_after: None,
            status: None,
            credential: false,
        }
    }

    /// A failure of the credentials themselves (none found, expired, unreadable).
    pub fn credential(error: impl Into<String>) -> Failure {
        Failure {
            credential: true,
            ..Failure::new(error)
        }
    }
}

/// The HTTP client every source of a run (or of a daemon's whole life) shares, built at its first
/// request: building it loads the system's trust roots (a few milliseconds), which a run that
/// polls no HTTP source never needs. Clones share one client.
#[derive(Clone, Default)]
pub struct Client(Arc<OnceLock<reqwest::Client>>);

impl Client {
    /// A client that builds nothing until it is first used.
    pub fn new() -> Client {
        Client::default()
    }

    /// A GET request to `url`.
    pub fn get(&self, url: Url) -> reqwest::RequestBuilder {
        self.built().get(url)
    }

    /// A POST request to `url`.
    pub fn post(&self, url: Url) -> reqwest::RequestBuilder {
        self.built().post(url)
    }

    /// Whether it has been built (a request was made).
    #[cfg(test)]
    fn is_built(&self) -> bool {
        self.0.get().is_some()
    }

    /// The reqwest client: a `User-Agent`, rustls, no cookies.
    fn built(&self) -> &reqwest::Client {
        self.0.get_or_init(|| {
            install_crypto();
            reqwest::Client::builder()
                .user_agent(concat!("switcher/", env!("CARGO_PKG_VERSION")))
                .build()
                .expect("the HTTP client builds")
        })
    }
}

/// Makes Graviola rustls' crypto: pure Rust, so no C toolchain for any target. Installing it
/// twice is harmless (the first stays).
pub(crate) fn install_crypto() {
    let _ = rustls_graviola::default_provider().install_default();
}

/// A source entry's `base_url`, else the source's `default`, checked as [`base_url`] does.
pub fn base_url_of(given: Option<&str>, default: &str) -> Result<Url, Fault> {
    base_url(given.unwrap_or(default)).map_err(|m| ("base_url", m))
}

/// Parses a source's `base_url`: plain `http` is accepted only for loopback hosts, so a token
/// never crosses a network in clear text.
pub fn base_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| format!("not a URL ({e})"))?;
    match url.scheme() {
        "https" => {}
        "http" => {
            let loopback = match url.host() {
                Some(url::Host::Domain(d)) => d == "localhost",
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                None => false,
            };
            if !loopback {
                return Err("plain http is allowed only for loopback hosts; use https".into());
            }
        }
        other => return Err(format!("unsupported scheme `{other}`")),
    }
    if url.host().is_none() {
        return Err("no host".into());
    }
    Ok(url)
}

/// `base` with its path replaced by `path` (a `base_url` keeps each endpoint's own path).
pub fn endpoint(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    let prefix = base.path().trim_end_matches('/');
    url.set_path(&format!("{prefix}{path}"));
    url
}

/// A header value holding a credential: marked sensitive so no HTTP-layer log prints it.
pub fn secret_header(prefix: &str, secret: &Secret) -> HeaderValue {
    let mut value = HeaderValue::from_str(&format!("{prefix}{}", secret.expose()))
        .unwrap_or_else(|_| HeaderValue::from_static("invalid"));
    value.set_sensitive(true);
    value
}

/// Sends a request and returns its body, or a failure with a short reason. `hint` names what
/// fixes a rejected credential (`log in again with claude`).
pub async fn send(
    request: reqwest::RequestBuilder,
    timeout: Duration,
    hint: &str,
) -> Result<String, Failure> {
    let response = request
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| Failure::new(describe(&e, timeout)))?;
    let status = response.status();
    let retry_after = retry_after(response.headers(), Timestamp::now());
    if !status.is_success() {
        let error = match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                format!("HTTP {}: {hint}", status.as_u16())
            }
            StatusCode::TOO_MANY_REQUESTS => "HTTP 429: rate limited".to_owned(),
            s => format!("HTTP {}", s.as_u16()),
        };
        return Err(Failure {
            error,
            retry_after,
            status: Some(status.as_u16()),
            credential: matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN),
        });
    }
    if response
        .content_length()
        .is_some_and(|len| len > MAX_BODY as u64)
    {
        return Err(Failure::new(too_large()));
    }
    let mut body = Vec::new();
    let mut response = response;
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| Failure::new(describe(&e, timeout)))?
    {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_BODY {
            return Err(Failure::new(too_large()));
        }
    }
    String::from_utf8(body).map_err(|_| Failure::new("the answer is not UTF-8"))
}

fn too_large() -> String {
    format!("the answer is larger than {} MiB", MAX_BODY >> 20)
}

/// A transport error in a few words, without the URL or anything from the request.
fn describe(e: &reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        format!("no answer within {}s", timeout.as_secs_f64())
    } else if e.is_connect() {
        "cannot connect".to_owned()
    } else if e.is_body() || e.is_decode() {
        "the answer broke off".to_owned()
    } else {
        "request failed".to_owned()
    }
}

/// GETs `path` under `base` with `key` as a Bearer token (the request most API-key sources make)
/// and returns the body. `hint` says what fixes a rejected key.
pub async fn get_bearer(
    poll: &super::Poll<'_>,
    base: &Url,
    path: &str,
    key: &Secret,
    hint: &str,
) -> Result<String, Failure> {
    let request = poll.client.get(endpoint(base, path)).header(
        reqwest::header::AUTHORIZATION,
        secret_header("Bearer ", key),
    );
    send(request, poll.timeout, hint).await
}

/// `Retry-After` as a wait from `now`: delta-seconds or an HTTP date (a past one is no wait).
pub fn retry_after(headers: &HeaderMap, now: Timestamp) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = text.parse::<f64>() {
        return crate::time::seconds(seconds, false).ok();
    }
    let date = jiff::fmt::rfc2822::parse(text).ok()?.timestamp();
    Some(Duration::try_from(date.duration_since(now)).unwrap_or_default())
}

/// A real TLS handshake with the crypto provider switcher ships, against a local server.
#[cfg(test)]
#[path = "../../tests/tls/mod.rs"]
mod tls;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        assert!(base_url("https://api.z.ai").is_ok());
        assert!(base_url("http://127.0.0.1:8080").is_ok());
        assert!(base_url("http://localhost:1").is_ok());
        assert!(base_url("http://[::1]:9").is_ok());
        assert!(
            base_url("http://example.com")
                .unwrap_err()
                .contains("loopback")
        );
        assert!(base_url("ftp://x").is_err());
        assert!(base_url("nope").is_err());
    }

    #[test]
    fn endpoints_keep_the_base_path_prefix() {
        let base = base_url("http://127.0.0.1:8080").unwrap();
        assert_eq!(
            endpoint(&base, "/v1/providers").as_str(),
            "http://127.0.0.1:8080/v1/providers"
        );
        let base = base_url("https://proxy.example/quota/").unwrap();
        assert_eq!(
            endpoint(&base, "/v1/providers").as_str(),
            "https://proxy.example/quota/v1/providers"
        );
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let now: Timestamp = "2026-11-21T12:00:00Z".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("120"));
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(120)));
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Sat, 21 Nov 2026 12:05:00 GMT"),
        );
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(300)));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers, now), None);
    }

    #[test]
    fn the_client_is_built_at_its_first_request_and_shared_by_clones() {
        let client = Client::new();
        let clone = client.clone();
        assert!(!client.is_built());
        let _ = clone.get(base_url("http://127.0.0.1:9").unwrap());
        assert!(client.is_built());
    }

    #[test]
    fn secret_headers_are_sensitive() {
        let value = secret_header("Bearer ", &Secret::new("t"));
        assert!(value.is_sensitive());
        assert_eq!(format!("{value:?}"), "Sensitive");
    }
}
