//! The `claude` source: the Claude subscription's usage windows (five hours, seven days, and the
//! weekly ones kept per model) from Anthropic's OAuth usage endpoint, with the token Claude Code
//! keeps in `<claude dir>/.credentials.json` — or, on macOS, in the Keychain item
//! `Claude Code-credentials` when that file is absent. The endpoint answers 429 readily, so the
//! source polls every two minutes and waits five minutes after a 429 that names no delay.

use std::path::PathBuf;
use std::time::Duration;

use jiff::Timestamp;
use reqwest::Url;
use reqwest::header::{ACCEPT, AUTHORIZATION, USER_AGENT};
use serde_json::Value;

use crate::env::Env;
use crate::quota::{Report, Window};
use crate::secret::Secret;

use super::credentials;
use super::http::{self, Failure};
use super::{Build, Fault, Fetch, Poll, Provider, Reports};

const PATH: &str = "/api/oauth/usage";
const BETA: &str = "oauth-2025-04-20";
/// The endpoint serves Claude Code, so it is asked the way Claude Code asks.
const CLIENT: &str = "claude-code/2.0.0";
/// How long to wait after a 429 without `Retry-After`.
const RATE_LIMITED_WAIT: Duration = Duration::from_secs(300);
/// The fewest time between polls unless the entry says otherwise: the endpoint rate-limits.
const MIN_INTERVAL: Duration = Duration::from_secs(120);
const LOGIN: &str = "log in again with `claude`";

/// Reads Claude Code's credentials JSON from outside the file system; `None` when there is none.
pub type Keychain = fn() -> Option<Secret>;

#[cfg(target_os = "macos")]
const KEYCHAIN: Option<Keychain> = Some(macos_keychain);
#[cfg(not(target_os = "macos"))]
const KEYCHAIN: Option<Keychain> = None;

#[derive(Debug)]
pub struct Claude {
    base_url: Url,
    /// `.credentials.json`; `None` when no home directory is known.
    file: Option<PathBuf>,
    /// Where to look when the file is absent.
    keychain: Option<Keychain>,
}

pub fn build(
    base_url: Option<&str>,
    credentials_file: Option<&str>,
    build: &Build<'_>,
) -> Result<Box<dyn Provider>, Fault> {
    let base_url = http::base_url_of(base_url, "https://api.anthropic.com")?;
    let default = build.env.claude_dir().map(|d| d.join(".credentials.json"));
    let file = credentials::credentials_path(credentials_file, build, default)?;
    Ok(Box::new(Claude {
        base_url,
        file,
        keychain: keychain(credentials_file.is_some(), build.env),
    }))
}

/// The Keychain item holds the default login: an explicit file or config dir names another one.
/// `SWITCHER_NO_KEYCHAIN` keeps it out entirely (tests set it: a sandboxed HOME does not hide the
/// user's Keychain).
fn keychain(explicit_file: bool, env: &Env) -> Option<Keychain> {
    if !explicit_file
        && env.var("CLAUDE_CONFIG_DIR").is_none()
        && env.var("SWITCHER_NO_KEYCHAIN").is_none()
    {
        KEYCHAIN
    } else {
        None
    }
}

/// The access token in Claude Code's credentials, unless it lacks the scope the usage endpoint
/// needs or has expired by `now`. Errors never quote the credentials.
pub fn token(credentials: &Value, now: Timestamp) -> Result<Secret, String> {
    let oauth = credentials
        .get("claudeAiOauth")
        .filter(|o| o.is_object())
        .ok_or("no Claude login in the credentials: log in with `claude`")?;
    let token = oauth
        .get("accessToken")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .map(Secret::new)
        .ok_or("no access token in the credentials: log in with `claude`")?;
    if let Some(scopes) = oauth.get("scopes").and_then(Value::as_array)
        && !scopes.iter().any(|s| s.as_str() == Some("user:profile"))
    {
        return Err(format!("the token lacks scope `user:profile`: {LOGIN}"));
    }
    let expires_ms = oauth.get("expiresAt").and_then(millis);
    if credentials::expired(expires_ms, now) {
        return Err("token expired: run `claude` to log in again".to_owned());
    }
    Ok(token)
}

/// Unix milliseconds, written as an integer or a float.
fn millis(value: &Value) -> Option<i64> {
    value
        .as_i64()
        .or_else(|| value.as_f64().map(|ms| ms as i64))
}

/// Parses an answer of the usage endpoint. Its windows are the keys whose value is
/// `{utilization, resets_at}`; null ones are not in use for this plan, and `extra_usage` (paid
/// overage, no reset) is not a window. (`now` is unused: the answer carries absolute times.)
pub fn parse(body: &str, _now: Timestamp) -> Result<Reports, String> {
    let answer: Value =
        serde_json::from_str(body).map_err(|e| format!("unexpected answer ({e})"))?;
    let fields = answer
        .as_object()
        .ok_or("unexpected answer (not an object)")?;
    if let Some(error) = answer.get("error").filter(|e| e.is_object()) {
        let text = |key| error.get(key).and_then(Value::as_str);
        return Err(format!(
            "error {}: {}",
            text("type").unwrap_or("unknown"),
            text("message").unwrap_or("no message")
        ));
    }
    let mut report = Report::default();
    for (name, value) in fields {
        let known = name.starts_with("five_hour") || name.starts_with("seven_day");
        let window = match value {
            Value::Null => continue,
            Value::Object(window) if known || window.contains_key("resets_at") => window,
            _ if known => return Err(format!("`{name}` is not a usage window")),
            _ => continue,
        };
        let utilization = match window.get("utilization") {
            None | Some(Value::Null) => continue,
            Some(v) => v
                .as_f64()
                .ok_or_else(|| format!("`{name}.utilization` is not a number"))?,
        };
        let resets_at = match window.get("resets_at") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                v.as_str()
                    .and_then(crate::time::parse_instant)
                    .ok_or_else(|| format!("`{name}.resets_at` is not a time"))?,
            ),
        };
        let models = if name.ends_with("_opus") {
            Some(vec!["opus".to_owned()])
        } else if name.ends_with("_sonnet") {
            Some(vec!["sonnet".to_owned()])
        } else {
            None
        };
        report.windows.insert(
            name.clone(),
            Window {
                utilization,
                resets_at,
                status: None,
                models,
            },
        );
    }
    if report.windows.is_empty() {
        return Err("no usage windows in the answer".to_owned());
    }
    Ok(Reports::from([("anthropic".to_owned(), report)]))
}

/// What some failures mean here: a 403 is a token without the `user:profile` scope (a
/// `claude setup-token` token, say), and a 429 that names no delay waits five minutes.
fn explain(mut failure: Failure) -> Failure {
    if failure.status == Some(403) {
        failure.error = format!("HTTP 403: the token lacks scope `user:profile`; {LOGIN}");
    } else if failure.status == Some(429) && failure.retry_after.is_none() {
        failure.retry_after = Some(RATE_LIMITED_WAIT);
    }
    failure
}

impl Claude {
    /// Claude Code's credentials as they are now: the file, else the Keychain item.
    async fn credentials(&self, timeout: Duration) -> Result<Value, String> {
        if let Some(path) = self.file.as_ref().filter(|p| p.exists()) {
            return credentials::read_json(path);
        }
        if let Some(read) = self.keychain {
            let reading = tokio::task::spawn_blocking(read);
            let text = tokio::time::timeout(timeout, reading)
                .await
                .map_err(|_| {
                    let seconds = timeout.as_secs_f64();
                    format!("the Keychain did not answer within {seconds}s")
                })?
                .ok()
                .flatten();
            if let Some(text) = text {
                // A syntax error names a position, never the content.
                return serde_json::from_str(text.expose()).map_err(|e| {
                    format!("the Keychain item `Claude Code-credentials` is not valid JSON ({e})")
                });
            }
        }
        Err(match &self.file {
            Some(path) => format!(
                "no Claude Code credentials ({} is absent): log in with `claude`",
                path.display()
            ),
            None => {
                "cannot locate Claude Code's credentials: set HOME or CLAUDE_CONFIG_DIR".to_owned()
            }
        })
    }
}

impl Provider for Claude {
    fn id(&self) -> String {
        credentials::file_id("claude", &self.base_url, self.file.as_deref())
    }

    fn label(&self) -> String {
        "claude".to_owned()
    }

    fn found(&self) -> bool {
        self.file.as_ref().is_some_and(|p| p.is_file())
            || self.keychain.is_some_and(|read| read().is_some())
    }

    fn covers(&self) -> Vec<String> {
        vec!["anthropic".to_owned()]
    }

    fn min_interval(&self) -> Duration {
        MIN_INTERVAL
    }

    fn fetch<'a>(&'a self, poll: &'a Poll<'a>) -> Fetch<'a> {
        Box::pin(async move {
            let credentials = self
                .credentials(poll.timeout)
                .await
                .map_err(Failure::credential)?;
            let token = token(&credentials, poll.now).map_err(Failure::credential)?;
            drop(credentials);
            let request = poll
                .client
                .get(http::endpoint(&self.base_url, PATH))
                .header(AUTHORIZATION, http::secret_header("Bearer ", &token))
                .header("anthropic-beta", BETA)
                .header(USER_AGENT, CLIENT)
                .header(ACCEPT, "application/json");
            let body = http::send(request, poll.timeout, LOGIN)
                .await
                .map_err(explain)?;
            parse(&body, poll.now).map_err(Failure::new)
        })
    }
}

/// The JSON Claude Code keeps in the login Keychain
/// (`security find-generic-password -s "Claude Code-credentials" -w`).
#[cfg(target_os = "macos")]
fn macos_keychain() -> Option<Secret> {
    use std::process::{Command, Stdio};
    let output = Command::new("/usr/bin/security")
        .args([
            "find-generic-password",
            "-s",
            "Claude Code-credentials",
            "-w",
        ])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| Secret::new(text))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;
    use crate::source::testing::{build, fetch, fixture, now, write};

    const TOKEN: &str = "sk-ant-oat01-canary-access-token";

    /// Claude Code's credentials in the default place under `dir`'s test home.
    fn login(dir: &Path, text: &str) {
        write(dir, "home/.claude/.credentials.json", text);
    }

    fn entry(server: &MockServer) -> String {
        format!("{{kind: 'claude', base_url: '{}'}}", server.uri())
    }

    async fn answering(status: u16, retry_after: Option<&str>) -> MockServer {
        let server = MockServer::start().await;
        let mut response = ResponseTemplate::new(status);
        if let Some(value) = retry_after {
            response = response.insert_header("retry-after", value);
        }
        Mock::given(method("GET"))
            .respond_with(response)
            .mount(&server)
            .await;
        server
    }

    #[test]
    fn parses_every_fixture() {
        let ok = parse(&fixture("claude", "ok.json"), now()).unwrap();
        let anthropic = &ok["anthropic"];
        let names: Vec<&str> = anthropic.windows.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            ["five_hour", "seven_day", "seven_day_sonnet"],
            "null windows and extra_usage are not windows"
        );
        let five = &anthropic.windows["five_hour"];
        assert_eq!(five.utilization, 24.0);
        assert_eq!(
            five.resets_at.unwrap().to_string(),
            "2026-11-21T15:00:00.600956Z"
        );
        assert_eq!(five.models, None);
        assert_eq!(anthropic.windows["seven_day"].utilization, 36.0);
        let sonnet = &anthropic.windows["seven_day_sonnet"];
        assert_eq!(sonnet.utilization, 1.0);
        assert_eq!(sonnet.models, Some(vec!["sonnet".to_owned()]));
        assert_eq!(anthropic.status, None);

        let near = &parse(&fixture("claude", "near_limit.json"), now()).unwrap()["anthropic"];
        assert_eq!(near.windows["five_hour"].utilization, 92.0);
        let opus = &near.windows["seven_day_opus"];
        assert_eq!(opus.utilization, 97.0);
        assert_eq!(opus.models, Some(vec!["opus".to_owned()]));
        assert_eq!(near.windows["seven_day_oauth_apps"].resets_at, None);
        assert!(!near.windows.contains_key("extra_usage"));

        let spent = &parse(&fixture("claude", "exhausted.json"), now()).unwrap()["anthropic"];
        assert_eq!(spent.windows.len(), 4);
        assert!(spent.windows.values().all(|w| w.utilization == 100.0));
        assert_eq!(
            spent.windows["seven_day"].resets_at.unwrap().to_string(),
            "2026-11-24T00:00:00.571468Z"
        );

        assert_eq!(
            parse(&fixture("claude", "error.json"), now()).unwrap_err(),
            "error authentication_error: OAuth token has expired. Please obtain a new token or \
             refresh your existing token."
        );
        assert_eq!(
            parse(&fixture("claude", "malformed.json"), now()).unwrap_err(),
            "`five_hour.utilization` is not a number"
        );
        assert_eq!(
            parse(
                r#"{"five_hour": {"utilization": 5, "resets_at": 1795273200}}"#,
                now()
            )
            .unwrap_err(),
            "`five_hour.resets_at` is not a time"
        );
        assert_eq!(
            parse(r#"{"five_hour": 5}"#, now()).unwrap_err(),
            "`five_hour` is not a usage window"
        );
        assert_eq!(
            parse(r#"{"five_hour": null, "extra_usage": null}"#, now()).unwrap_err(),
            "no usage windows in the answer"
        );
        assert!(parse("[]", now()).is_err());
        assert!(
            parse("<html>", now())
                .unwrap_err()
                .starts_with("unexpected answer")
        );
    }

    #[test]
    fn the_token_is_checked_before_any_request() {
        let creds = |oauth: &str| -> Value {
            serde_json::from_str(&format!(r#"{{"claudeAiOauth": {oauth}}}"#)).unwrap()
        };
        let valid: Value = serde_json::from_str(&fixture("claude", "credentials.json")).unwrap();
        assert_eq!(token(&valid, now()).unwrap().expose(), TOKEN);
        // Without `expiresAt` or `scopes` the token is taken as it is.
        assert!(token(&creds(r#"{"accessToken": "t"}"#), now()).is_ok());
        let expired = token(
            &creds(r#"{"accessToken": "t", "expiresAt": 1795258800000}"#),
            now(),
        );
        assert_eq!(
            expired.unwrap_err(),
            "token expired: run `claude` to log in again"
        );
        let inference_only = token(
            &creds(r#"{"accessToken": "t", "scopes": ["user:inference"]}"#),
            now(),
        );
        assert!(inference_only.unwrap_err().contains("user:profile"));
        assert!(token(&creds(r#"{"accessToken": ""}"#), now()).is_err());
        assert!(token(&creds("null"), now()).is_err());
        assert!(token(&Value::Null, now()).is_err());
    }

    #[tokio::test]
    async fn fetches_as_claude_code_does() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(PATH))
            .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
            .and(header("anthropic-beta", "oauth-2025-04-20"))
            .and(header("user-agent", CLIENT))
            .respond_with(
                ResponseTemplate::new(200).set_body_string(fixture("claude", "near_limit.json")),
            )
            .expect(1)
            .mount(&server)
            .await;
        let dir = tempfile::tempdir().unwrap();
        login(dir.path(), &fixture("claude", "credentials.json"));
        let source = build(&entry(&server), dir.path(), &[]).unwrap();
        assert!(source.found());
        let file = dir.path().join("home/.claude/.credentials.json");
        assert_eq!(
            source.id(),
            format!("claude:{}/:{}", server.uri(), file.display())
        );
        assert!(!format!("{source:?}").contains(TOKEN));
        let reports = fetch(source.as_ref(), now()).await.unwrap();
        assert_eq!(reports["anthropic"].windows["five_hour"].utilization, 92.0);
    }

    #[tokio::test]
    async fn the_credentials_are_read_at_every_poll_from_the_configured_place() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(header("authorization", "Bearer second"))
            .respond_with(ResponseTemplate::new(200).set_body_string(fixture("claude", "ok.json")))
            .expect(1)
            .mount(&server)
            .await;
        let dir = tempfile::tempdir().unwrap();
        let file = write(
            dir.path(),
            "elsewhere/.credentials.json",
            r#"{"claudeAiOauth": {"accessToken": "first"}}"#,
        );
        let source = build(
            &entry(&server),
            dir.path(),
            &[("CLAUDE_CONFIG_DIR", "elsewhere")],
        )
        .unwrap();
        assert!(source.id().ends_with(&file.display().to_string()));
        // The CLI refreshed the token since the source was built.
        std::fs::write(&file, r#"{"claudeAiOauth": {"accessToken": "second"}}"#).unwrap();
        fetch(source.as_ref(), now()).await.unwrap();

        let explicit = format!(
            "{{kind: 'claude', base_url: '{}', credentials_file: 'creds/claude.json'}}",
            server.uri()
        );
        let source = build(&explicit, dir.path(), &[]).unwrap();
        assert!(!source.found());
        let err = fetch(source.as_ref(), now()).await.unwrap_err();
        assert!(err.error.contains("creds/claude.json"), "{}", err.error);
    }

    #[tokio::test]
    async fn rejections_name_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        login(dir.path(), &fixture("claude", "credentials.json"));
        let home = dir.path();
        let failure = |status, retry_after| async move {
            let server = answering(status, retry_after).await;
            let source = build(&entry(&server), home, &[]).unwrap();
            fetch(source.as_ref(), now()).await.unwrap_err()
        };
        let unauthorized = failure(401, None).await;
        assert_eq!(unauthorized.error, "HTTP 401: log in again with `claude`");
        let forbidden = failure(403, None).await;
        assert_eq!(
            forbidden.error,
            "HTTP 403: the token lacks scope `user:profile`; log in again with `claude`"
        );
        let limited = failure(429, None).await;
        assert_eq!(limited.error, "HTTP 429: rate limited");
        assert_eq!(
            limited.retry_after,
            Some(Duration::from_secs(300)),
            "no Retry-After: 5 min"
        );
        assert_eq!(
            failure(429, Some("60")).await.retry_after,
            Some(Duration::from_secs(60))
        );
        for f in [unauthorized, forbidden, limited] {
            assert!(!f.error.contains(TOKEN));
        }
    }

    #[tokio::test]
    async fn an_expired_or_missing_login_sends_nothing() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200))
            .expect(0)
            .mount(&server)
            .await;
        let dir = tempfile::tempdir().unwrap();
        let source = build(&entry(&server), dir.path(), &[]).unwrap();
        assert!(!source.found());
        let err = fetch(source.as_ref(), now()).await.unwrap_err();
        assert!(
            err.error.starts_with("no Claude Code credentials"),
            "{}",
            err.error
        );
        assert!(err.error.contains("`claude`"), "{}", err.error);

        let expired =
            fixture("claude", "credentials.json").replace("1795291200000", "1795258800000");
        login(dir.path(), &expired);
        assert!(source.found());
        let err = fetch(source.as_ref(), now()).await.unwrap_err();
        assert_eq!(err.error, "token expired: run `claude` to log in again");
        assert!(!err.error.contains(TOKEN));

        login(
            dir.path(),
            "{\"claudeAiOauth\": {\"accessToken\": \"sk-canary\"",
        );
        let err = fetch(source.as_ref(), now()).await.unwrap_err();
        assert!(err.error.contains("not valid JSON"), "{}", err.error);
        assert!(!err.error.contains("canary"), "{}", err.error);
    }

    fn keychain_login() -> Option<Secret> {
        Some(Secret::new(fixture("claude", "credentials.json")))
    }

    fn keychain_empty() -> Option<Secret> {
        None
    }

    fn keychain_garbled() -> Option<Secret> {
        Some(Secret::new("{\"claudeAiOauth\": sk-canary"))
    }

    #[tokio::test]
    async fn the_keychain_stands_in_for_an_absent_file() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(PATH))
            .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_string(fixture("claude", "ok.json")))
            .expect(1)
            .mount(&server)
            .await;
        let dir = tempfile::tempdir().unwrap();
        let source = |keychain: Keychain| Claude {
            base_url: http::base_url(&server.uri()).unwrap(),
            file: Some(dir.path().join("home/.claude/.credentials.json")),
            keychain: Some(keychain),
        };
        let from_keychain = source(keychain_login);
        assert!(from_keychain.found());
        let reports = fetch(&from_keychain, now()).await.unwrap();
        assert_eq!(reports["anthropic"].windows["seven_day"].utilization, 36.0);

        let empty = source(keychain_empty);
        assert!(!empty.found());
        let err = fetch(&empty, now()).await.unwrap_err();
        assert!(
            err.error.starts_with("no Claude Code credentials"),
            "{}",
            err.error
        );

        let err = fetch(&source(keychain_garbled), now()).await.unwrap_err();
        assert!(err.error.contains("Keychain"), "{}", err.error);
        assert!(!err.error.contains("canary"), "{}", err.error);

        // A file, once there, wins over the Keychain.
        login(
            dir.path(),
            r#"{"claudeAiOauth": {"accessToken": "from-file"}}"#,
        );
        let err = fetch(&source(keychain_login), now()).await.unwrap_err();
        assert!(err.error.starts_with("HTTP 404"), "{}", err.error);
    }

    #[test]
    fn the_keychain_is_only_for_the_default_login() {
        let dir = tempfile::tempdir().unwrap();
        let keychain = |explicit_file, vars: &[(&str, &str)]| {
            super::keychain(explicit_file, &Env::for_tests(dir.path(), vars))
        };
        assert_eq!(keychain(false, &[]).is_some(), cfg!(target_os = "macos"));
        assert!(keychain(true, &[]).is_none());
        assert!(keychain(false, &[("CLAUDE_CONFIG_DIR", "/c")]).is_none());
    }
}
