//! The `gemini` source: Gemini CLI's per-model request quotas from the Code Assist API, with the
//! Google login Gemini CLI keeps in `~/.gemini/oauth_creds.json`. Two calls per poll: one names
//! the account's Code Assist project, the other reads that project's quota buckets. The token
//! lives about an hour and only Gemini CLI refreshes it: an expired one is reported, not renewed.

use std::path::PathBuf;

use jiff::Timestamp;
use reqwest::Url;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use serde::Deserialize;
use serde_json::Value;

use crate::quota::{EXACT, Report, Window};
use crate::secret::Secret;

use super::credentials;
use super::http::{self, Failure};
use super::{Build, Fault, Fetch, Poll, Provider, Reports};

const LOAD: &str = "/v1internal:loadCodeAssist";
const QUOTA: &str = "/v1internal:retrieveUserQuota";
const LOGIN: &str = "log in again with `gemini`";

#[derive(Debug)]
pub struct Gemini {
    base_url: Url,
    /// `oauth_creds.json`; `None` when no home directory is known.
    file: Option<PathBuf>,
    /// `GOOGLE_CLOUD_PROJECT`, for an account the API names no project for.
    project: Option<String>,
}

pub fn build(
    base_url: Option<&str>,
    credentials_file: Option<&str>,
    build: &Build<'_>,
) -> Result<Box<dyn Provider>, Fault> {
    let base_url = http::base_url_of(base_url, "https://cloudcode-pa.googleapis.com")?;
    let env = build.env;
    let default = env
        .home
        .as_ref()
        .map(|h| h.join(".gemini/oauth_creds.json"));
    let file = credentials::credentials_path(credentials_file, build, default)?;
    let project = ["GOOGLE_CLOUD_PROJECT", "GOOGLE_CLOUD_PROJECT_ID"]
        .iter()
        .find_map(|v| env.var(v))
        .map(str::to_owned);
    Ok(Box::new(Gemini {
        base_url,
        file,
        project,
    }))
}

/// The access token in Gemini CLI's credentials, unless it has expired by `now`. Errors never
/// quote the credentials.
pub fn token(credentials: &Value, now: Timestamp) -> Result<Secret, String> {
    let token = credentials
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .map(Secret::new)
        .ok_or("no access token in Gemini CLI's credentials: log in with `gemini`")?;
    let expiry = credentials
        .get("expiry_date")
        .and_then(|v| v.as_i64().or_else(|| v.as_f64().map(|ms| ms as i64)));
    if credentials::expired(expiry, now) {
        return Err("token expired: run `gemini` to log in again".to_owned());
    }
    Ok(token)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LoadAnswer {
    /// A project id, or an object holding one as `id`.
    cloudaicompanion_project: Option<Value>,
    error: Option<GoogleError>,
}

#[derive(Deserialize)]
struct GoogleError {
    code: Option<i64>,
    status: Option<String>,
    message: Option<String>,
}

impl GoogleError {
    fn describe(&self) -> String {
        let mut head = "error".to_owned();
        for part in [self.code.map(|c| c.to_string()), self.status.clone()]
            .into_iter()
            .flatten()
        {
            head.push(' ');
            head.push_str(&part);
        }
        format!(
            "{head}: {}",
            self.message.as_deref().unwrap_or("no message")
        )
    }
}

/// Parses an answer of `loadCodeAssist`: the account's Code Assist project, if it has one yet.
pub fn parse_project(body: &str) -> Result<Option<String>, String> {
    let answer: LoadAnswer =
        serde_json::from_str(body).map_err(|e| format!("unexpected answer ({e})"))?;
    if let Some(error) = answer.error {
        return Err(error.describe());
    }
    let project = match answer.cloudaicompanion_project {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) => Some(id),
        Some(Value::Object(project)) => {
            project.get("id").and_then(Value::as_str).map(str::to_owned)
        }
        Some(_) => return Err("`cloudaicompanionProject` is not a project".to_owned()),
    };
    Ok(project.filter(|id| !id.is_empty()))
}

#[derive(Deserialize)]
struct QuotaAnswer {
    buckets: Option<Vec<Bucket>>,
    error: Option<GoogleError>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Bucket {
    model_id: Option<String>,
    remaining_fraction: Option<f64>,
    reset_time: Option<String>,
}

/// Parses an answer of `retrieveUserQuota`: one window per model, governing exactly that model
/// (`gemini-2.5-flash` is not `gemini-2.5-flash-lite`); a model's `_vertex` twin and its buckets
/// of other token types count as the model, the most used one winning. A bucket with a reset
/// time but no `remainingFraction` is spent: the API leaves zero values out. A reset at the
/// epoch (`1970-01-01T00:00:00Z`, what the free tier answers for models it does not offer) is
/// no reset. (`now` is unused: the answer carries absolute times.)
pub fn parse(body: &str, _now: Timestamp) -> Result<Reports, String> {
    let answer: QuotaAnswer =
        serde_json::from_str(body).map_err(|e| format!("unexpected answer ({e})"))?;
    if let Some(error) = answer.error {
        return Err(error.describe());
    }
    let buckets = answer.buckets.ok_or("no `buckets` in the answer")?;
    let mut report = Report::default();
    for bucket in buckets {
        let Some(model) = bucket
            .model_id
            .as_deref()
            .map(|m| m.trim().trim_end_matches("_vertex").to_owned())
            .filter(|m| !m.is_empty())
        else {
            continue;
        };
        let remaining = match (bucket.remaining_fraction, &bucket.reset_time) {
            (Some(fraction), _) => fraction.clamp(0.0, 1.0),
            (None, Some(_)) => 0.0,
            (None, None) => continue,
        };
        // Rounded, so 1 − 0.85 reads 15%, not 15.000000000000014%.
        let utilization = ((1.0 - remaining) * 100.0 * 1e6).round() / 1e6;
        let resets_at = match &bucket.reset_time {
            None => None,
            Some(text) => Some(
                crate::time::parse_instant(text)
                    .ok_or_else(|| format!("`resetTime` of {model} is not a time"))?,
            )
            .filter(|at| *at > NO_RESET),
        };
        let window = Window {
            utilization,
            resets_at,
            status: None,
            models: Some(vec![format!("{EXACT}{model}")]),
        };
        report.keep_worse(model, window);
    }
    if report.windows.is_empty() {
        return Err("no quota buckets in the answer".to_owned());
    }
    Ok(Reports::from([("gemini".to_owned(), report)]))
}

/// Resets at or before this (a day after the epoch) are placeholders, not times.
const NO_RESET: Timestamp = Timestamp::constant(86_400, 0);

impl Gemini {
    /// The token as it is now in `oauth_creds.json`.
    fn token(&self, now: Timestamp) -> Result<Secret, String> {
        let path = self
            .file
            .as_ref()
            .ok_or("cannot locate Gemini CLI's credentials: set HOME")?;
        if !path.exists() {
            return Err(format!(
                "no Gemini CLI login ({} is absent): log in with `gemini`",
                path.display()
            ));
        }
        token(&credentials::read_json(path)?, now)
    }

    /// One POST of a JSON body to the Code Assist API.
    async fn post(
        &self,
        poll: &Poll<'_>,
        token: &Secret,
        path: &str,
        body: Value,
    ) -> Result<String, Failure> {
        let request = poll
            .client
            .post(http::endpoint(&self.base_url, path))
            .header(AUTHORIZATION, http::secret_header("Bearer ", token))
            .header(CONTENT_TYPE, "application/json")
            .body(body.to_string());
        http::send(request, poll.timeout, LOGIN).await
    }
}

impl Provider for Gemini {
    fn id(&self) -> String {
        credentials::file_id("gemini", &self.base_url, self.file.as_deref())
    }

    fn label(&self) -> String {
        "gemini".to_owned()
    }

    fn found(&self) -> bool {
        self.file.as_ref().is_some_and(|p| p.is_file())
    }

    fn covers(&self) -> Vec<String> {
        vec!["gemini".to_owned()]
    }

    fn fetch<'a>(&'a self, poll: &'a Poll<'a>) -> Fetch<'a> {
        Box::pin(async move {
            let token = self.token(poll.now).map_err(Failure::credential)?;
            let load = serde_json::json!({"metadata": {"pluginType": "GEMINI"}});
            let body = self.post(poll, &token, LOAD, load).await?;
            let project = parse_project(&body)
                .map_err(Failure::new)?
                .or_else(|| self.project.clone())
                .ok_or_else(|| {
                    Failure::new(
                        "no Code Assist project for this account: run `gemini` once, or set \
                         GOOGLE_CLOUD_PROJECT",
                    )
                })?;
            let quota = serde_json::json!({ "project": project });
            let body = self.post(poll, &token, QUOTA, quota).await?;
            parse(&body, poll.now).map_err(Failure::new)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use wiremock::matchers::{body_json, header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;
    use crate::source::testing::{at, build, fetch, fixture, judged, now, window, write};

    const TOKEN: &str = "ya29.gemini-canary-access-token";

    fn entry(server: &MockServer) -> String {
        format!("{{kind: 'gemini', base_url: '{}'}}", server.uri())
    }

    /// Gemini CLI's credentials in the default place under `dir`'s test home.
    fn login(dir: &Path, text: &str) -> PathBuf {
        write(dir, "home/.gemini/oauth_creds.json", text)
    }

    fn scoped(model: &str) -> Option<Vec<String>> {
        Some(vec![format!("={model}")])
    }

    const MODELS: [&str; 5] = [
        "google/gemini-2.5-pro",
        "gemini-2.5-flash",
        "gemini-2.5-flash-lite",
        "gemini-3-pro-preview",
        "gemini-3.1-flash-lite-preview",
    ];

    #[test]
    fn real_answers() {
        // Free tier, 2026-05-14: flash 17% used, the Pro models not offered (0 left, reset at
        // the epoch: no reset), each governing exactly its model.
        let free = "free-2026-05-14-seven-models-pro-spent-yapcap.json";
        let reports = parse(&fixture("gemini", free), now()).unwrap();
        let gemini = &reports["gemini"];
        assert_eq!(gemini.windows.len(), 7);
        let flash = window(
            gemini,
            "gemini-2.5-flash",
            17.333335,
            Some("2026-05-15T08:52:23Z"),
        );
        assert_eq!(flash.models, scoped("gemini-2.5-flash"));
        window(
            gemini,
            "gemini-2.5-flash-lite",
            0.0,
            Some("2026-05-15T09:17:04Z"),
        );
        window(gemini, "gemini-2.5-pro", 100.0, None);
        window(gemini, "gemini-3.1-pro-preview", 100.0, None);
        assert_eq!(
            judged(&reports, "gemini", &MODELS, at("2026-05-14T12:00:00Z")),
            ["RED", "GREEN", "GREEN", "RED", "GREEN"],
            "a spent Pro bucket governs its model only"
        );
        // A single bucket (gemini-cli issue #14883).
        let single = "gemini-3-pro-preview-2025-12-10-single-bucket-issue14883.json";
        let single = &parse(&fixture("gemini", single), now()).unwrap()["gemini"];
        window(
            single,
            "gemini-3-pro-preview",
            23.825,
            Some("2025-12-10T22:19:52Z"),
        );
        // `_vertex` twins are the same models; no reset times given.
        let twins = "vertex-twins-no-reset-time-trimmed.json";
        let twins = fixture("gemini", twins).replacen(
            r#""gemini-2.5-flash_vertex", "remainingFraction": 1"#,
            r#""gemini-2.5-flash_vertex", "remainingFraction": 0"#,
            1,
        );
        let reports = parse(&twins, now()).unwrap();
        assert_eq!(reports["gemini"].windows.len(), 4);
        window(&reports["gemini"], "gemini-2.5-flash", 100.0, None);
        assert_eq!(
            judged(&reports, "gemini", &MODELS[..3], now()),
            ["GREEN", "RED", "GREEN"],
            "the worse twin counts, for its model only"
        );
        // loadCodeAssist answers: the project, whatever tier the account is on.
        for name in [
            "load-code-assist-free-tier-2026-05-14-yapcap.json",
            "load-code-assist-antigravity-free-tier-with-paid-g1-pro-2026-07-14-yapcap.json",
        ] {
            let project = parse_project(&fixture("gemini", name)).unwrap();
            assert!(project.is_some_and(|p| !p.is_empty()), "{name}");
        }
    }

    #[test]
    fn parses_every_fixture() {
        let ok = parse(&fixture("gemini", "ok.json"), now()).unwrap();
        let gemini = &ok["gemini"];
        assert_eq!(gemini.windows.len(), 3);
        let pro = &gemini.windows["gemini-2.5-pro"];
        assert_eq!(pro.utilization, 15.0);
        assert_eq!(pro.resets_at.unwrap().to_string(), "2026-11-22T08:00:00Z");
        assert_eq!(pro.models, scoped("gemini-2.5-pro"));
        let flash = &gemini.windows["gemini-2.5-flash"];
        assert_eq!(flash.utilization, 40.0, "the most used token type counts");
        assert_eq!(flash.resets_at.unwrap().to_string(), "2026-11-21T13:00:00Z");
        assert_eq!(flash.models, scoped("gemini-2.5-flash"));
        let lite = &gemini.windows["gemini-2.5-flash-lite"];
        assert_eq!(lite.utilization, 0.0);
        assert_eq!(
            lite.resets_at.unwrap().to_string(),
            "2026-11-22T08:00:00.123456Z"
        );

        let near = &parse(&fixture("gemini", "near_limit.json"), now()).unwrap()["gemini"];
        assert_eq!(near.windows["gemini-2.5-pro"].utilization, 92.0);
        assert_eq!(near.windows["gemini-2.5-flash"].utilization, 45.0);

        let spent = &parse(&fixture("gemini", "exhausted.json"), now()).unwrap()["gemini"];
        assert_eq!(
            spent.windows["gemini-2.5-pro"].utilization, 100.0,
            "a left-out remainingFraction is zero"
        );
        assert_eq!(spent.windows["gemini-2.5-flash"].utilization, 100.0);

        assert_eq!(
            parse(&fixture("gemini", "error.json"), now()).unwrap_err(),
            "error 403 PERMISSION_DENIED: The caller does not have permission"
        );
        assert!(
            parse(&fixture("gemini", "malformed.json"), now())
                .unwrap_err()
                .starts_with("unexpected answer")
        );
        assert_eq!(
            parse(r#"{"buckets": []}"#, now()).unwrap_err(),
            "no quota buckets in the answer"
        );
        assert_eq!(
            parse(
                r#"{"buckets": [{"tokenType": "REQUESTS"}, {"modelId": "m"}]}"#,
                now()
            )
            .unwrap_err(),
            "no quota buckets in the answer",
            "buckets without a model or any figure say nothing"
        );
        assert_eq!(
            parse(
                r#"{"buckets": [{"modelId": "m", "remainingFraction": 0.5, "resetTime": "soon"}]}"#,
                now()
            )
            .unwrap_err(),
            "`resetTime` of m is not a time"
        );
        assert_eq!(
            parse("{}", now()).unwrap_err(),
            "no `buckets` in the answer"
        );
        assert!(parse("<html>", now()).is_err());
    }

    #[test]
    fn the_project_comes_from_load_code_assist() {
        assert_eq!(
            parse_project(&fixture("gemini", "load_code_assist.json")).unwrap(),
            Some("wise-vehicle-a1b2c".to_owned())
        );
        assert_eq!(
            parse_project(r#"{"cloudaicompanionProject": {"id": "p-1", "name": "P"}}"#).unwrap(),
            Some("p-1".to_owned())
        );
        assert_eq!(parse_project(r#"{"currentTier": null}"#).unwrap(), None);
        assert_eq!(
            parse_project(r#"{"cloudaicompanionProject": null}"#).unwrap(),
            None
        );
        assert!(parse_project(r#"{"cloudaicompanionProject": 7}"#).is_err());
        assert_eq!(
            parse_project(&fixture("gemini", "error.json")).unwrap_err(),
            "error 403 PERMISSION_DENIED: The caller does not have permission"
        );
    }

    #[test]
    fn the_token_must_not_have_expired() {
        let creds: Value = serde_json::from_str(&fixture("gemini", "oauth_creds.json")).unwrap();
        assert_eq!(token(&creds, now()).unwrap().expose(), TOKEN);
        let later: Timestamp = "2026-11-21T20:00:00Z".parse().unwrap();
        assert_eq!(
            token(&creds, later).unwrap_err(),
            "token expired: run `gemini` to log in again"
        );
        assert!(token(&serde_json::json!({"access_token": "t"}), later).is_ok());
        assert!(token(&serde_json::json!({"access_token": 5}), now()).is_err());
    }

    #[tokio::test]
    async fn asks_for_the_project_then_its_quota() {
        let server = MockServer::start().await;
        let bearer = format!("Bearer {TOKEN}");
        Mock::given(method("POST"))
            .and(path(LOAD))
            .and(header("authorization", bearer.as_str()))
            .and(header("content-type", "application/json"))
            .and(body_json(
                serde_json::json!({"metadata": {"pluginType": "GEMINI"}}),
            ))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_string(fixture("gemini", "load_code_assist.json")),
            )
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path(QUOTA))
            .and(header("authorization", bearer.as_str()))
            .and(header("content-type", "application/json"))
            .and(body_json(
                serde_json::json!({"project": "wise-vehicle-a1b2c"}),
            ))
            .respond_with(
                ResponseTemplate::new(200).set_body_string(fixture("gemini", "near_limit.json")),
            )
            .expect(1)
            .mount(&server)
            .await;
        let dir = tempfile::tempdir().unwrap();
        let file = login(dir.path(), &fixture("gemini", "oauth_creds.json"));
        let source = build(&entry(&server), dir.path(), &[]).unwrap();
        assert!(source.found());
        assert_eq!(
            source.id(),
            format!("gemini:{}/:{}", server.uri(), file.display())
        );
        let reports = fetch(source.as_ref(), now()).await.unwrap();
        assert_eq!(
            reports["gemini"].windows["gemini-2.5-pro"].utilization,
            92.0
        );
    }

    #[tokio::test]
    async fn a_project_from_the_environment_when_the_account_has_none() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(LOAD))
            .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"allowedTiers": []}"#))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path(QUOTA))
            .and(body_json(serde_json::json!({"project": "my-gcp-project"})))
            .respond_with(ResponseTemplate::new(200).set_body_string(fixture("gemini", "ok.json")))
            .expect(1)
            .mount(&server)
            .await;
        let dir = tempfile::tempdir().unwrap();
        login(dir.path(), &fixture("gemini", "oauth_creds.json"));
        let source = build(&entry(&server), dir.path(), &[]).unwrap();
        let err = fetch(source.as_ref(), now()).await.unwrap_err();
        assert!(err.error.contains("GOOGLE_CLOUD_PROJECT"), "{}", err.error);
        let source = build(
            &entry(&server),
            dir.path(),
            &[("GOOGLE_CLOUD_PROJECT", "my-gcp-project")],
        )
        .unwrap();
        fetch(source.as_ref(), now()).await.unwrap();
    }

    #[tokio::test]
    async fn an_expired_missing_or_rejected_login_names_the_fix() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(401).set_body_string(fixture("gemini", "error.json")),
            )
            .expect(1)
            .mount(&server)
            .await;
        let dir = tempfile::tempdir().unwrap();
        let source = build(&entry(&server), dir.path(), &[]).unwrap();
        assert!(!source.found());
        let err = fetch(source.as_ref(), now()).await.unwrap_err();
        assert!(
            err.error.starts_with("no Gemini CLI login"),
            "{}",
            err.error
        );
        assert!(err.error.contains("`gemini`"), "{}", err.error);

        let expired =
            fixture("gemini", "oauth_creds.json").replace("1795291200000", "1795258800000");
        login(dir.path(), &expired);
        assert!(source.found());
        let err = fetch(source.as_ref(), now()).await.unwrap_err();
        assert_eq!(err.error, "token expired: run `gemini` to log in again");

        login(dir.path(), &fixture("gemini", "oauth_creds.json"));
        let err = fetch(source.as_ref(), now()).await.unwrap_err();
        assert_eq!(err.error, "HTTP 401: log in again with `gemini`");
        assert!(!err.error.contains(TOKEN));

        let explicit = format!(
            "{{kind: 'gemini', base_url: '{}', credentials_file: '~/creds.json'}}",
            server.uri()
        );
        let source = build(&explicit, dir.path(), &[]).unwrap();
        assert!(!source.found());
        let err = fetch(source.as_ref(), now()).await.unwrap_err();
        assert!(err.error.contains("home/creds.json"), "{}", err.error);
    }
}
