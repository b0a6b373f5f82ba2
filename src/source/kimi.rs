//! The `kimi` source: the Kimi For Coding subscription, from its usage endpoint. The top-level
//! `usage` is the weekly quota; `limits[]` hold the short rate windows (five hours). Counters
//! arrive as strings.
//!
//! The credential is an API key (`KIMI_CODE_API_KEY`, `api_key`), the OAuth login of a Kimi CLI
//! in `credentials/kimi-code.json` under the standalone Kimi Code's home (`$KIMI_CODE_HOME`, else
//! `~/.kimi-code`) or the Python kimi CLI's (`$KIMI_SHARE_DIR`, else `~/.kimi`), or OpenCode's
//! `kimi-for-coding` key. A login file is the CLI's: it is read at every poll, so a token the CLI
//! refreshed is picked up, and never written.

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use reqwest::Url;
use serde::Deserialize;
use serde_json::Value;

use crate::env::Env;
use crate::quota::{Report, Window};
use crate::secret::Secret;
use crate::time::parse_instant;

use super::credentials::{self, ApiKey};
use super::http::{self, Failure};
use super::{Build, Fault, Fetch, KeyConfig, Poll, Provider, Reports, number};

const PATH: &str = "/coding/v1/usages";
const VAR: &str = "KIMI_CODE_API_KEY";
/// OpenCode's provider id for the plan.
const OPENCODE_IDS: &[&str] = &["kimi-for-coding"];

#[derive(Debug)]
pub struct Kimi {
    base_url: Url,
    credential: Credential,
}

#[derive(Debug)]
enum Credential {
    Key(ApiKey),
    /// The CLI's login file, read at each poll.
    File(PathBuf),
}

pub fn build(
    base_url: Option<&str>,
    key: &KeyConfig,
    credentials_file: Option<&str>,
    build: &Build<'_>,
) -> Result<Box<dyn Provider>, Fault> {
    let base_url = http::base_url_of(base_url, "https://api.kimi.com")?;
    let env = build.env;
    let logins: Vec<PathBuf> = [
        ("KIMI_CODE_HOME", ".kimi-code"),
        ("KIMI_SHARE_DIR", ".kimi"),
    ]
    .into_iter()
    .filter_map(|(var, dir)| cli_home(env, var, dir))
    .map(|home| home.join("credentials/kimi-code.json"))
    .collect();
    let explicit = credentials::credentials_path(credentials_file, build, None)?;
    // What the entry names beats what the environment happens to hold.
    let credential = if *key != KeyConfig::Usual {
        Credential::Key(ApiKey::resolve(key, env, &[], &[])?)
    } else if let Some(path) = explicit {
        Credential::File(path)
    } else if env.var(VAR).is_some() {
        Credential::Key(ApiKey::resolve(key, env, &[VAR], &[])?)
    } else if let Some(path) = logins.iter().find(|p| p.is_file()) {
        Credential::File(path.clone())
    } else {
        match ApiKey::resolve(key, env, &[], OPENCODE_IDS)? {
            found if found.found() => Credential::Key(found),
            _ => {
                let places: Vec<String> = logins.iter().map(|p| p.display().to_string()).collect();
                Credential::Key(ApiKey::Missing(format!(
                    "no Kimi Code credentials: set ${VAR} or `api_key_env`, log in with the kimi \
                     CLI ({}), or add OpenCode's kimi-for-coding key",
                    places.join(" or ")
                )))
            }
        }
    };
    Ok(Box::new(Kimi {
        base_url,
        credential,
    }))
}

/// A kimi CLI's home: `$<var>`, else `~/<dir>`.
fn cli_home(env: &Env, var: &str, dir: &str) -> Option<PathBuf> {
    match env.var(var) {
        Some(home) => Some(env.cwd.join(home)),
        None => env.home.as_ref().map(|h| h.join(dir)),
    }
}

/// The access token in the CLI's login file, unless it has expired by `now`.
fn file_token(path: &Path, now: Timestamp) -> Result<Secret, String> {
    let login = credentials::read_json(path)?;
    let token = login
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            format!(
                "no access_token in {}: log in with the kimi CLI",
                path.display()
            )
        })?;
    // `expires_at` is unix seconds (a float); take milliseconds too, should it change.
    let expires_ms = login.get("expires_at").and_then(Value::as_f64).map(|t| {
        if t < 1e11 {
            (t * 1000.0) as i64
        } else {
            t as i64
        }
    });
    if credentials::expired(expires_ms, now) {
        return Err(format!(
            "the Kimi Code login in {} has expired: run kimi to refresh it",
            path.display()
        ));
    }
    Ok(Secret::new(token))
}

#[derive(Deserialize)]
struct Answer {
    usage: Option<Detail>,
    limits: Option<Vec<Limit>>,
    /// OpenAI-style `{"error": {"message", "type"}}`.
    error: Option<Value>,
    /// Connect-style errors: `{"code": "unauthenticated", "message": …}`.
    code: Option<Value>,
    message: Option<String>,
}

#[derive(Deserialize)]
struct Limit {
    window: Option<Span>,
    detail: Option<Detail>,
    /// Counters given beside `window` rather than in `detail`.
    #[serde(flatten)]
    own: Detail,
}

#[derive(Deserialize)]
struct Span {
    #[serde(default, deserialize_with = "number::optional")]
    duration: Option<f64>,
    #[serde(rename = "timeUnit")]
    time_unit: Option<String>,
}

#[derive(Deserialize)]
struct Detail {
    #[serde(default, deserialize_with = "number::optional")]
    limit: Option<f64>,
    #[serde(default, deserialize_with = "number::optional")]
    used: Option<f64>,
    #[serde(default, deserialize_with = "number::optional")]
    remaining: Option<f64>,
    /// `resetTime`, or as Kimi's own CLI also reads it.
    #[serde(
        rename = "resetTime",
        alias = "resetAt",
        alias = "reset_at",
        alias = "reset_time"
    )]
    reset_time: Option<String>,
}

/// Parses an answer of the usages endpoint.
pub fn parse(body: &str) -> Result<Reports, String> {
    let answer: Answer =
        serde_json::from_str(body).map_err(|e| format!("unexpected answer ({e})"))?;
    if let Some(error) = answer.error.as_ref().filter(|e| !e.is_null()) {
        let what = error.get("message").and_then(Value::as_str);
        return Err(format!(
            "error: {}",
            what.or(error.as_str()).unwrap_or("no message")
        ));
    }
    if answer.usage.is_none() && answer.limits.is_none() {
        return Err(match (&answer.code, &answer.message) {
            (Some(code), Some(message)) => format!("error {code}: {message}"),
            (None, Some(message)) => format!("error: {message}"),
            _ => "no `usage` or `limits` in the answer".to_owned(),
        });
    }
    let mut report = Report::default();
    if let Some(detail) = &answer.usage
        && let Some(window) = detail.window("weekly")?
    {
        report.windows.insert("weekly".to_owned(), window);
    }
    for limit in answer.limits.iter().flatten() {
        let mut name = window_name(limit.window.as_ref());
        if report.windows.contains_key(&name) {
            name = format!("{name}_{}", report.windows.len());
        }
        let own = Some(&limit.own).filter(|d| d.limit.is_some());
        let Some(detail) = limit.detail.as_ref().or(own) else {
            continue;
        };
        if let Some(window) = detail.window(&name)? {
            report.windows.insert(name, window);
        }
    }
    if report.windows.is_empty() {
        return Err("no usage windows in the answer".to_owned());
    }
    Ok(Reports::from([("kimi".to_owned(), report)]))
}

/// `five_hour` for the 300-minute window (and a limit that does not say), else its length.
fn window_name(span: Option<&Span>) -> String {
    let minutes = span.and_then(|s| {
        let unit = s
            .time_unit
            .as_deref()
            .unwrap_or("MINUTE")
            .to_ascii_uppercase();
        let factor = if unit.contains("SECOND") {
            1.0 / 60.0
        } else if unit.contains("MINUTE") {
            1.0
        } else if unit.contains("HOUR") {
            60.0
        } else if unit.contains("DAY") {
            1440.0
        } else {
            return None;
        };
        s.duration.map(|d| (d * factor).round() as i64)
    });
    match minutes {
        None | Some(300) => "five_hour".to_owned(),
        Some(m) if m > 0 && m % 1440 == 0 => format!("{}_day", m / 1440),
        Some(m) if m > 0 && m % 60 == 0 => format!("{}_hour", m / 60),
        Some(m) => format!("{m}_minute"),
    }
}

impl Detail {
    /// The window, or `None` for a quota without a limit (0: nothing to measure against).
    fn window(&self, name: &str) -> Result<Option<Window>, String> {
        let limit = self.limit.ok_or_else(|| format!("no `limit` for {name}"))?;
        if limit <= 0.0 {
            return Ok(None);
        }
        let used = match (self.used, self.remaining) {
            (Some(used), _) => used,
            (None, Some(remaining)) => limit - remaining,
            (None, None) => return Err(format!("no `used` or `remaining` for {name}")),
        };
        let resets_at = match self.reset_time.as_deref() {
            None | Some("") => None,
            Some(text) => Some(
                parse_instant(text)
                    .ok_or_else(|| format!("`resetTime` of {name} is not a time: {text}"))?,
            ),
        };
        Ok(Some(Window {
            utilization: (used / limit * 100.0).clamp(0.0, 100.0),
            resets_at,
            status: None,
            models: None,
        }))
    }
}

impl Provider for Kimi {
    fn id(&self) -> String {
        let origin = match &self.credential {
            Credential::Key(key) => key.origin(),
            Credential::File(path) => format!("file:{}", path.display()),
        };
        format!("kimi:{}:{origin}", self.base_url)
    }

    fn label(&self) -> String {
        "kimi".to_owned()
    }

    fn found(&self) -> bool {
        match &self.credential {
            Credential::Key(key) => key.found(),
            Credential::File(path) => path.is_file(),
        }
    }

    fn covers(&self) -> Vec<String> {
        vec!["kimi".to_owned()]
    }

    fn fetch<'a>(&'a self, poll: &'a Poll<'a>) -> Fetch<'a> {
        Box::pin(async move {
            let (token, hint) = match &self.credential {
                Credential::Key(key) => (key.get(), key.hint()),
                Credential::File(path) => (
                    file_token(path, poll.now),
                    "log in again with the kimi CLI".to_owned(),
                ),
            };
            let token = token.map_err(Failure::credential)?;
            let body = http::get_bearer(poll, &self.base_url, PATH, &token, &hint).await?;
            parse(&body).map_err(|e| Failure::new(token.redact(&e)))
        })
    }
}

#[cfg(test)]
mod tests {
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;
    use crate::source::testing::{at, build, fetch, fixture, judged, now, window, write};

    fn kimi(name: &str) -> Report {
        parse(&fixture("kimi", name)).unwrap()["kimi"].clone()
    }

    /// Writes the CLI's login file under `dir`'s test home.
    fn login(dir: &Path, token: &str, expires_at: f64) -> PathBuf {
        let body = serde_json::json!({
            "access_token": token, "refresh_token": "refresh-canary",
            "expires_at": expires_at, "scope": "kimi-code", "token_type": "Bearer"
        });
        write(
            dir,
            "home/.kimi-code/credentials/kimi-code.json",
            &body.to_string(),
        )
    }

    #[test]
    fn parses_every_fixture() {
        let ok = kimi("ok.json");
        assert_eq!(ok.windows.len(), 2);
        let weekly = &ok.windows["weekly"];
        assert!((weekly.utilization - 214.0 / 2048.0 * 100.0).abs() < 1e-9);
        let reset = weekly.resets_at.unwrap();
        assert_eq!(reset.to_string(), "2026-11-24T00:00:00.7168393Z");
        assert_eq!(reset.subsec_nanosecond(), 716_839_300, "nanoseconds kept");
        let five = &ok.windows["five_hour"];
        assert_eq!(
            five.utilization, 20.0,
            "(limit - remaining) / limit without `used`"
        );
        assert_eq!(
            five.resets_at.unwrap().to_string(),
            "2026-11-21T15:00:00.123456789Z"
        );
        let near = kimi("near_limit.json");
        assert_eq!(near.windows["five_hour"].utilization, 92.0);
        assert_eq!(near.windows["weekly"].utilization, 60.0);
        assert_eq!(
            near.windows["1_hour"].utilization, 10.0,
            "other windows are named by their length"
        );
        let spent = kimi("exhausted.json");
        assert_eq!(spent.windows["five_hour"].utilization, 100.0);
        assert_eq!(spent.windows["weekly"].utilization, 100.0);
        assert_eq!(
            parse(&fixture("kimi", "error.json")).unwrap_err(),
            "error: The API Key appears to be invalid or may have expired. Please verify your credentials and try again."
        );
        assert!(
            parse(&fixture("kimi", "malformed.json"))
                .unwrap_err()
                .starts_with("unexpected answer")
        );
        assert_eq!(
            parse(r#"{"code": "unauthenticated", "message": "token expired"}"#).unwrap_err(),
            r#"error "unauthenticated": token expired"#
        );
        assert_eq!(
            parse(r#"{"usage": {"limit": "100", "resetTime": null}}"#).unwrap_err(),
            "no `used` or `remaining` for weekly"
        );
        assert_eq!(
            parse(r#"{"usage": {"used": "1", "limit": "10", "resetTime": "soon"}}"#).unwrap_err(),
            "`resetTime` of weekly is not a time: soon"
        );
        assert_eq!(
            parse(r#"{"usage": null, "limits": []}"#).unwrap_err(),
            "no usage windows in the answer"
        );
        assert!(parse("<html>").is_err());
    }

    #[test]
    fn real_answers() {
        // (file, weekly used, its reset, five-hour used, its reset)
        let cases = [
            (
                "doc-moderato-nanoseconds-codexbar.json",
                214.0 / 20.48,
                "2026-01-09T15:23:13.7168393Z",
                69.5,
                "2026-01-06T13:33:02.717479433Z",
            ),
            (
                "live-advanced-api-key-totalquota-empty.json",
                6.0,
                "2026-08-02T10:46:54.841042Z",
                31.0,
                "2026-07-26T15:46:54.841042Z",
            ),
            (
                "live-standard-api-key.json",
                45.0,
                "2026-07-31T00:54:55.628002Z",
                2.0,
                "2026-07-25T21:54:55.628002Z",
            ),
            (
                "basic-fresh-remaining-only-vibeusage.json",
                0.0,
                "2026-02-25T04:01:38Z",
                0.0,
                "2026-02-21T08:01:38Z",
            ),
            (
                "trial-region-cn-coding-plan-usage.json",
                13.0,
                "2026-02-06T08:31:59.863136Z",
                65.0,
                "2026-01-30T13:31:59.863136Z",
            ),
            (
                "real-shape-5h-resets-after-week-opencode-quota.json",
                45.0,
                "2026-04-16T15:36:21.718434Z",
                22.0,
                "2026-04-16T16:36:21.718434Z",
            ),
        ];
        for (name, weekly, weekly_reset, five, five_reset) in cases {
            let report = kimi(name);
            assert_eq!(report.windows.len(), 2, "{name}");
            window(&report, "weekly", weekly, Some(weekly_reset));
            window(&report, "five_hour", five, Some(five_reset));
            assert!(
                report.windows.values().all(|w| w.models.is_none()),
                "every model"
            );
        }
        // Only what is left, no `used`; Extra Usage money and an empty totalQuota are no windows.
        for name in [
            "doc-intermediate-remaining-only-openusage.json",
            "doc-booster-wallet-extra-usage.json",
        ] {
            let report = kimi(name);
            assert_eq!(report.windows.len(), 2, "{name}");
            assert_eq!(report.windows["weekly"].utilization, 26.0, "{name}");
            assert_eq!(report.windows["five_hour"].utilization, 15.0, "{name}");
        }
        let swift = kimi("intermediate-remaining-only-swift-test.json");
        assert_eq!(swift.windows["weekly"].utilization, 40.0);
        for name in [
            "error-401-invalid-authentication.json",
            "error-401-anthropic-style-coding-endpoint.json",
        ] {
            let err = parse(&fixture("kimi", name)).unwrap_err();
            assert!(
                err.starts_with("error: The API Key appears to be invalid"),
                "{err}"
            );
        }
    }

    #[test]
    fn a_spent_window_is_red_for_every_model() {
        let spent = "live-intermediate-5h-exhausted-openusage.json";
        let reports = parse(&fixture("kimi", spent)).unwrap();
        window(
            &reports["kimi"],
            "five_hour",
            100.0,
            Some("2026-07-24T17:54:26Z"),
        );
        window(
            &reports["kimi"],
            "weekly",
            41.0,
            Some("2026-07-31T07:54:26Z"),
        );
        let models = ["kimi-for-coding/k2p5", "kimi-k2-thinking"];
        let before = at("2026-07-24T15:00:00Z");
        assert_eq!(judged(&reports, "kimi", &models, before), ["RED", "RED"]);
        // Other spellings of the reset; counters beside the window; used beyond the limit.
        let odd = parse(
            r#"{"usage": {"limit": 100, "used": 150, "resetAt": "2026-11-22T00:00:00Z"},
                "limits": [{"window": {"duration": 5, "timeUnit": "TIME_UNIT_HOUR"},
                            "limit": "10", "remaining": "0", "reset_at": "2026-11-21T15:00:00Z"}]}"#,
        )
        .unwrap();
        window(&odd["kimi"], "weekly", 100.0, Some("2026-11-22T00:00:00Z"));
        window(
            &odd["kimi"],
            "five_hour",
            100.0,
            Some("2026-11-21T15:00:00Z"),
        );
    }

    #[tokio::test]
    async fn every_place_a_login_is_kept() {
        let server = MockServer::start().await;
        for token in ["python-cli", "kimi-code-cli", "sk-kimi-PLACEHOLDER"] {
            Mock::given(method("GET"))
                .and(header("authorization", format!("Bearer {token}").as_str()))
                .respond_with(
                    ResponseTemplate::new(200).set_body_string(fixture("kimi", "ok.json")),
                )
                .expect(1)
                .mount(&server)
                .await;
        }
        let entry = format!("{{kind: 'kimi', base_url: '{}'}}", server.uri());
        let dir = tempfile::tempdir().unwrap();
        // OpenCode's key, when no CLI is logged in.
        write(
            dir.path(),
            "data/opencode/auth.json",
            &fixture("kimi", "opencode-auth-kimi-for-coding.json"),
        );
        let source = build(&entry, dir.path(), &[]).unwrap();
        assert!(source.found());
        fetch(source.as_ref(), now()).await.unwrap();
        // The Python kimi CLI's login in ~/.kimi.
        let login = fixture(
            "kimi",
            "credentials-kimi-code-json-older-no-expires-in.json",
        )
        .replace("ACCESS_TOKEN_PLACEHOLDER", "python-cli")
        .replace("1769861835.261056", "1795300000.5");
        write(dir.path(), "home/.kimi/credentials/kimi-code.json", &login);
        let source = build(&entry, dir.path(), &[]).unwrap();
        assert!(source.id().contains(".kimi/credentials"), "{}", source.id());
        fetch(source.as_ref(), now()).await.unwrap();
        // The standalone Kimi Code's login in ~/.kimi-code comes first.
        let login = fixture("kimi", "credentials-kimi-code-json.json");
        let login: Value = serde_json::from_str(&login).unwrap();
        let mut login = login.as_object().unwrap().clone();
        login.insert("access_token".into(), "kimi-code-cli".into());
        login.insert("expires_at".into(), 1_795_300_000.5.into());
        write(
            dir.path(),
            "home/.kimi-code/credentials/kimi-code.json",
            &Value::Object(login).to_string(),
        );
        let source = build(&entry, dir.path(), &[]).unwrap();
        fetch(source.as_ref(), now()).await.unwrap();
    }

    #[tokio::test]
    async fn fetches_with_the_cli_login_read_at_each_poll() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(PATH))
            .and(header("authorization", "Bearer first-token"))
            .respond_with(ResponseTemplate::new(200).set_body_string(fixture("kimi", "ok.json")))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(PATH))
            .and(header("authorization", "Bearer refreshed-token"))
            .respond_with(
                ResponseTemplate::new(200).set_body_string(fixture("kimi", "near_limit.json")),
            )
            .expect(1)
            .mount(&server)
            .await;
        let dir = tempfile::tempdir().unwrap();
        let file = login(dir.path(), "first-token", 1_795_263_300.5);
        let before = std::fs::read(&file).unwrap();
        let entry = format!("{{kind: 'kimi', base_url: '{}'}}", server.uri());
        let source = build(&entry, dir.path(), &[]).unwrap();
        assert!(source.found());
        assert!(source.id().contains("file:"), "{}", source.id());
        let reports = fetch(source.as_ref(), now()).await.unwrap();
        assert_eq!(reports["kimi"].windows["five_hour"].utilization, 20.0);
        assert_eq!(
            std::fs::read(&file).unwrap(),
            before,
            "the CLI's file is never written"
        );
        login(dir.path(), "refreshed-token", 1_795_263_300.5);
        let reports = fetch(source.as_ref(), now()).await.unwrap();
        assert_eq!(reports["kimi"].windows["five_hour"].utilization, 92.0);
    }

    #[tokio::test]
    async fn an_api_key_beats_the_login_file() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(header("authorization", "Bearer kimi-key"))
            .respond_with(ResponseTemplate::new(200).set_body_string(fixture("kimi", "ok.json")))
            .expect(1)
            .mount(&server)
            .await;
        let dir = tempfile::tempdir().unwrap();
        login(dir.path(), "file-token", 1_795_263_300.0);
        let entry = format!("{{kind: 'kimi', base_url: '{}'}}", server.uri());
        let source = build(&entry, dir.path(), &[("KIMI_CODE_API_KEY", "kimi-key")]).unwrap();
        assert!(!source.id().contains("file:"));
        fetch(source.as_ref(), now()).await.unwrap();
    }

    #[tokio::test]
    async fn an_expired_login_is_not_sent_and_says_what_to_run() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "elsewhere/kimi.json",
            r#"{"access_token": "stale-canary", "expires_at": 1795262000}"#,
        );
        let source = build(
            "{kind: 'kimi', credentials_file: 'elsewhere/kimi.json', base_url: 'http://127.0.0.1:9'}",
            dir.path(),
            &[("KIMI_CODE_API_KEY", "ignored")],
        )
        .unwrap();
        let err = fetch(source.as_ref(), now()).await.unwrap_err();
        assert!(err.error.contains("has expired: run kimi"), "{}", err.error);
        assert!(!err.error.contains("canary"));
    }

    #[tokio::test]
    async fn a_rejected_token_names_the_fix_and_a_missing_one_says_where_to_put_it() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(401))
            .mount(&server)
            .await;
        let dir = tempfile::tempdir().unwrap();
        let entry = format!("{{kind: 'kimi', base_url: '{}'}}", server.uri());
        let source = build(&entry, dir.path(), &[("KIMI_CODE_API_KEY", "bad")]).unwrap();
        let err = fetch(source.as_ref(), now()).await.unwrap_err();
        assert_eq!(err.error, "HTTP 401: check the API key (KIMI_CODE_API_KEY)");
        login(dir.path(), "revoked", 1_795_263_300.0);
        let source = build(&entry, dir.path(), &[]).unwrap();
        let err = fetch(source.as_ref(), now()).await.unwrap_err();
        assert_eq!(err.error, "HTTP 401: log in again with the kimi CLI");

        let empty = tempfile::tempdir().unwrap();
        let missing = build("{kind: 'kimi'}", empty.path(), &[]).unwrap();
        assert!(!missing.found());
        let err = fetch(missing.as_ref(), now()).await.unwrap_err();
        assert!(err.error.contains("$KIMI_CODE_API_KEY"), "{}", err.error);
        assert!(err.error.contains("kimi CLI"), "{}", err.error);
    }
}
