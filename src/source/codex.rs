//! The `codex` source: the ChatGPT plan's Codex limits (a five-hour and a weekly window; on free
//! plans a weekly one only) from ChatGPT's usage endpoint, with the login Codex keeps in
//! `$CODEX_HOME/auth.json` (default `~/.codex`). A Codex run on an API key has no plan limits:
//! that login is not found.

use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::{SignedDuration, Timestamp};
use reqwest::Url;
use reqwest::header::AUTHORIZATION;
use serde::Deserialize;
use serde_json::Value;

use crate::quota::{Level, Report, Window};
use crate::secret::Secret;

use super::credentials;
use super::http::{self, Failure};
use super::{Build, Fault, Fetch, Poll, Provider, Reports, number};

const PATH: &str = "/backend-api/wham/usage";
const LOGIN: &str = "log in again with `codex login`";
const NO_CHATGPT_LOGIN: &str = "no ChatGPT login in Codex's auth.json (an API key has no plan \
                                limits): log in with `codex login`";
/// Where the id token keeps OpenAI's claims.
const AUTH_CLAIMS: &str = "https://api.openai.com/auth";

#[derive(Debug)]
pub struct Codex {
    base_url: Url,
    /// `auth.json`; `None` when no home directory is known.
    file: Option<PathBuf>,
}

pub fn build(
    base_url: Option<&str>,
    credentials_file: Option<&str>,
    build: &Build<'_>,
) -> Result<Box<dyn Provider>, Fault> {
    let base_url = http::base_url_of(base_url, "https://chatgpt.com")?;
    let env = build.env;
    let home = match env.var("CODEX_HOME") {
        Some(dir) => Some(env.cwd.join(dir)),
        None => env.home.as_ref().map(|h| h.join(".codex")),
    };
    let default = home.map(|d| d.join("auth.json"));
    let file = credentials::credentials_path(credentials_file, build, default)?;
    Ok(Box::new(Codex { base_url, file }))
}

/// A ChatGPT login: the access token and, when known, the account it acts for.
#[derive(Debug)]
pub struct Login {
    pub token: Secret,
    pub account: Option<Secret>,
}

/// The ChatGPT login in Codex's `auth.json`: `tokens.access_token`, and `tokens.account_id` or
/// else the `chatgpt_account_id` claim of `tokens.id_token`. Errors never quote the file.
pub fn login(auth: &Value) -> Result<Login, String> {
    let tokens = auth
        .get("tokens")
        .filter(|t| t.is_object())
        .ok_or(NO_CHATGPT_LOGIN)?;
    let text = |key| {
        tokens
            .get(key)
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
    };
    let token = text("access_token")
        .map(Secret::new)
        .ok_or("no access token in Codex's auth.json: log in with `codex login`")?;
    let account = text("account_id")
        .map(str::to_owned)
        .or_else(|| text("id_token").and_then(account_claim))
        .map(Secret::new);
    Ok(Login { token, account })
}

/// The `chatgpt_account_id` claim of a JWT, under OpenAI's claims or at the top level. The
/// signature is not checked: the token is only read back to the server that issued it.
fn account_claim(jwt: &str) -> Option<String> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    [claims.get(AUTH_CLAIMS), Some(&claims)]
        .into_iter()
        .flatten()
        .find_map(|c| c.get("chatgpt_account_id")?.as_str())
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
}

#[derive(Deserialize)]
struct Answer {
    rate_limit: Option<RateLimit>,
    /// Per-model pools (`GPT-5.3-Codex-Spark`), each with its own windows.
    additional_rate_limits: Option<Vec<Additional>>,
    /// Business and Enterprise seats: a credit allowance instead of `rate_limit`.
    spend_control: Option<SpendControl>,
    /// Why the account is blocked (`rate_limit_reached`, `workspace_member_credits_depleted`…).
    rate_limit_reached_type: Option<Value>,
    detail: Option<Value>,
    error: Option<Value>,
}

#[derive(Deserialize)]
struct RateLimit {
    allowed: Option<bool>,
    limit_reached: Option<bool>,
    primary_window: Option<Limit>,
    secondary_window: Option<Limit>,
}

impl RateLimit {
    fn reached(&self) -> bool {
        self.limit_reached == Some(true) || self.allowed == Some(false)
    }
}

#[derive(Deserialize)]
struct Limit {
    used_percent: Option<f64>,
    limit_window_seconds: Option<f64>,
    /// Unix seconds.
    reset_at: Option<f64>,
    reset_after_seconds: Option<f64>,
}

#[derive(Deserialize)]
struct Additional {
    limit_name: Option<String>,
    metered_feature: Option<String>,
    rate_limit: Option<RateLimit>,
}

#[derive(Deserialize)]
struct SpendControl {
    reached: Option<bool>,
    individual_limit: Option<IndividualLimit>,
}

#[derive(Deserialize)]
struct IndividualLimit {
    #[serde(default, deserialize_with = "number::optional")]
    used_percent: Option<f64>,
    #[serde(default, deserialize_with = "number::optional")]
    remaining_percent: Option<f64>,
    #[serde(default, deserialize_with = "number::optional")]
    limit: Option<f64>,
    #[serde(default, deserialize_with = "number::optional")]
    used: Option<f64>,
    #[serde(default, deserialize_with = "number::optional")]
    reset_at: Option<f64>,
    #[serde(default, deserialize_with = "number::optional")]
    reset_after_seconds: Option<f64>,
}

/// Parses an answer of the usage endpoint; `now` dates a reset given only as
/// `reset_after_seconds`.
///
/// The plan's own windows (`rate_limit`) and a seat's credit allowance (`spend_control`) govern
/// every model; each `additional_rate_limits[]` pool governs only its model. A window at 100% is
/// spent whatever `limit_reached` says; the account is RED when the answer says it is blocked
/// (`limit_reached`, `allowed: false`, `spend_control.reached`, or any `rate_limit_reached_type`,
/// such as a seat whose workspace ran out of credits).
pub fn parse(body: &str, now: Timestamp) -> Result<Reports, String> {
    let answer: Answer =
        serde_json::from_str(body).map_err(|e| format!("unexpected answer ({e})"))?;
    let spend = answer.spend_control.as_ref();
    let blocked = spend.is_some_and(|s| s.reached == Some(true))
        || answer
            .rate_limit_reached_type
            .as_ref()
            .is_some_and(|t| !t.is_null());
    let individual = spend.and_then(|s| s.individual_limit.as_ref());
    if answer.rate_limit.is_none() && individual.is_none() && !blocked {
        return Err(match error_message(answer.detail.or(answer.error)) {
            Some(message) => format!("error: {message}"),
            None => "no `rate_limit` in the answer".to_owned(),
        });
    }
    let mut report = Report::default();
    if let Some(rate_limit) = &answer.rate_limit {
        rate_windows(&mut report, rate_limit, None, now)?;
        if rate_limit.reached() {
            report.status = Some(Level::Red);
        }
    }
    if let Some(limit) = individual {
        report
            .windows
            .insert("spend_control".to_owned(), limit.window(now)?);
    }
    if blocked {
        report.status = Some(Level::Red);
    }
    for pool in answer.additional_rate_limits.iter().flatten() {
        let Some(rate_limit) = &pool.rate_limit else {
            continue;
        };
        let Some(model) = pool
            .limit_name
            .as_deref()
            .or(pool.metered_feature.as_deref())
            .map(|n| n.trim().to_lowercase())
            .filter(|n| !n.is_empty())
        else {
            continue;
        };
        rate_windows(&mut report, rate_limit, Some(&model), now)?;
    }
    if report.windows.is_empty() && report.status.is_none() {
        return Err("no usage windows in the answer".to_owned());
    }
    Ok(Reports::from([("openai".to_owned(), report)]))
}

/// The windows of one rate limit, named by their length (`five_hour`, `weekly`) and, for a
/// model's own pool, after the model and scoped to it. A pool that says it is reached is RED
/// through its windows (or one `<model>` window when it has none), so it blocks only its model.
fn rate_windows(
    report: &mut Report,
    rate_limit: &RateLimit,
    model: Option<&str>,
    now: Timestamp,
) -> Result<(), String> {
    let scope = model.map(|m| vec![m.to_owned()]);
    let prefix = model.map_or_else(String::new, |m| format!("{m} "));
    let reached = model.is_some() && rate_limit.reached();
    let slots = [
        ("primary", &rate_limit.primary_window),
        ("secondary", &rate_limit.secondary_window),
    ];
    let mut any = false;
    for (slot, limit) in slots {
        let Some(limit) = limit else { continue };
        let utilization = limit
            .used_percent
            .ok_or_else(|| format!("no `used_percent` in the {prefix}{slot} window"))?;
        let length = match limit.limit_window_seconds.map(|s| s.round() as i64) {
            Some(18_000) => "five_hour".to_owned(),
            Some(604_800) => "weekly".to_owned(),
            Some(seconds) => format!("window_{seconds}s"),
            None => slot.to_owned(),
        };
        let mut name = format!("{prefix}{length}");
        if report.windows.contains_key(&name) {
            name = format!("{name}_{slot}");
        }
        let resets_at = reset(limit.reset_at, limit.reset_after_seconds, now)
            .map_err(|e| format!("{e} of the {prefix}{slot} window"))?;
        report.windows.insert(
            name,
            Window {
                utilization,
                resets_at,
                status: reached.then_some(Level::Red),
                models: scope.clone(),
            },
        );
        any = true;
    }
    if reached
        && !any
        && let Some(model) = model
    {
        report.windows.insert(
            model.to_owned(),
            Window {
                utilization: 100.0,
                resets_at: None,
                status: Some(Level::Red),
                models: scope,
            },
        );
    }
    Ok(())
}

/// A reset given as unix seconds, else as seconds from `now`.
fn reset(at: Option<f64>, after: Option<f64>, now: Timestamp) -> Result<Option<Timestamp>, String> {
    Ok(match (at, after) {
        (Some(at), _) => Some(
            Timestamp::from_second(at as i64)
                .map_err(|_| "`reset_at` is out of range".to_owned())?,
        ),
        (None, Some(after)) => SignedDuration::try_from_secs_f64(after)
            .ok()
            .and_then(|d| now.checked_add(d).ok()),
        (None, None) => None,
    })
}

impl IndividualLimit {
    /// A seat's credit allowance (usually monthly) as a window over every model: percent used as
    /// given, else from what remains, else from the credit counts.
    fn window(&self, now: Timestamp) -> Result<Window, String> {
        let from_counts = match (self.used, self.limit) {
            (Some(used), Some(limit)) if limit > 0.0 => Some(used / limit * 100.0),
            _ => None,
        };
        let utilization = self
            .used_percent
            .or(self.remaining_percent.map(|r| 100.0 - r))
            .or(from_counts)
            .ok_or("no `used_percent` in `spend_control.individual_limit`")?;
        Ok(Window {
            utilization: utilization.clamp(0.0, 100.0),
            resets_at: reset(self.reset_at, self.reset_after_seconds, now)
                .map_err(|e| format!("{e} of `spend_control.individual_limit`"))?,
            status: None,
            models: None,
        })
    }
}

/// The message of an error body: `{"detail": "…"}`, `{"detail": {"message": "…"}}` or
/// `{"error": {"message": "…"}}`.
fn error_message(error: Option<Value>) -> Option<String> {
    match error? {
        Value::String(text) => Some(text),
        Value::Object(fields) => fields
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_owned),
        _ => None,
    }
}

impl Codex {
    /// The login as it is now in `auth.json`.
    fn login(&self) -> Result<Login, String> {
        let path = self
            .file
            .as_ref()
            .ok_or("cannot locate Codex's auth.json: set HOME or CODEX_HOME")?;
        if !path.exists() {
            return Err(format!(
                "no Codex login ({} is absent): log in with `codex login`",
                path.display()
            ));
        }
        login(&credentials::read_json(path)?)
    }
}

impl Provider for Codex {
    fn id(&self) -> String {
        credentials::file_id("codex", &self.base_url, self.file.as_deref())
    }

    fn label(&self) -> String {
        "codex".to_owned()
    }

    fn found(&self) -> bool {
        self.login().is_ok()
    }

    fn covers(&self) -> Vec<String> {
        vec!["openai".to_owned()]
    }

    fn fetch<'a>(&'a self, poll: &'a Poll<'a>) -> Fetch<'a> {
        Box::pin(async move {
            let login = self.login().map_err(Failure::credential)?;
            let mut request = poll
                .client
                .get(http::endpoint(&self.base_url, PATH))
                .header(AUTHORIZATION, http::secret_header("Bearer ", &login.token));
            if let Some(account) = &login.account {
                request = request.header("ChatGPT-Account-Id", http::secret_header("", account));
            }
            let body = http::send(request, poll.timeout, LOGIN).await?;
            parse(&body, poll.now).map_err(Failure::new)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;
    use crate::source::testing::{at, build, fetch, fixture, judged, now, window, write};

    const TOKEN: &str = "codex-canary-access-token";

    fn entry(server: &MockServer) -> String {
        format!("{{kind: 'codex', base_url: '{}'}}", server.uri())
    }

    /// An `auth.json` in the default place under `dir`'s test home.
    fn login_file(dir: &Path, text: &str) -> PathBuf {
        write(dir, "home/.codex/auth.json", text)
    }

    fn jwt(claims: &str) -> String {
        format!(
            "{}.{}.c2ln",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","typ":"JWT"}"#),
            URL_SAFE_NO_PAD.encode(claims)
        )
    }

    #[test]
    fn parses_every_fixture() {
        let ok = parse(&fixture("codex", "ok.json"), now()).unwrap();
        let openai = &ok["openai"];
        assert_eq!(openai.status, None);
        assert_eq!(openai.windows.len(), 2, "code review limits are not coding");
        let five = &openai.windows["five_hour"];
        assert_eq!(five.utilization, 12.0);
        assert_eq!(five.resets_at.unwrap().to_string(), "2026-11-21T15:00:00Z");
        let weekly = &openai.windows["weekly"];
        assert_eq!(weekly.utilization, 30.0);
        assert_eq!(
            weekly.resets_at.unwrap().to_string(),
            "2026-11-24T00:00:00Z"
        );

        let near = &parse(&fixture("codex", "near_limit.json"), now()).unwrap()["openai"];
        assert_eq!(near.windows["five_hour"].utilization, 91.0);
        assert_eq!(
            near.windows["weekly"].resets_at.unwrap().to_string(),
            "2026-11-24T00:00:00Z",
            "without `reset_at`, now + `reset_after_seconds`"
        );

        let spent = &parse(&fixture("codex", "exhausted.json"), now()).unwrap()["openai"];
        assert_eq!(spent.status, Some(Level::Red), "limit_reached");
        assert_eq!(spent.windows.len(), 1, "a free plan has one, weekly window");
        assert_eq!(spent.windows["weekly"].utilization, 100.0);

        assert_eq!(
            parse(&fixture("codex", "error.json"), now()).unwrap_err(),
            "error: Could not parse your authentication token. Please try signing in again."
        );
        assert!(
            parse(&fixture("codex", "malformed.json"), now())
                .unwrap_err()
                .starts_with("unexpected answer")
        );
        assert!(parse("<html>", now()).is_err());
    }

    #[test]
    fn odd_answers() {
        let one = |window: &str| {
            parse(
                &format!(r#"{{"rate_limit": {{"primary_window": {window}}}}}"#),
                now(),
            )
        };
        let daily = one(r#"{"used_percent": 5.5, "limit_window_seconds": 86400}"#).unwrap();
        let window = &daily["openai"].windows["window_86400s"];
        assert_eq!(window.utilization, 5.5);
        assert_eq!(window.resets_at, None);
        assert!(
            one(r#"{"used_percent": 5}"#).unwrap()["openai"].windows["primary"].utilization == 5.0
        );
        assert_eq!(
            one(r#"{"limit_window_seconds": 18000}"#).unwrap_err(),
            "no `used_percent` in the primary window"
        );
        assert_eq!(one("null").unwrap_err(), "no usage windows in the answer");
        let blocked = parse(r#"{"rate_limit": {"limit_reached": true}}"#, now()).unwrap();
        assert_eq!(blocked["openai"].status, Some(Level::Red));
        assert_eq!(
            parse(
                r#"{"detail": {"code": "token_expired", "message": "Token expired"}}"#,
                now()
            )
            .unwrap_err(),
            "error: Token expired"
        );
        assert_eq!(
            parse("{}", now()).unwrap_err(),
            "no `rate_limit` in the answer"
        );
        let both = parse(
            r#"{"rate_limit": {
                "primary_window": {"used_percent": 1, "limit_window_seconds": 604800},
                "secondary_window": {"used_percent": 2, "limit_window_seconds": 604800}}}"#,
            now(),
        )
        .unwrap();
        assert_eq!(both["openai"].windows["weekly_secondary"].utilization, 2.0);
    }

    fn openai(name: &str) -> Report {
        parse(&fixture("codex", name), now()).unwrap()["openai"].clone()
    }

    const MODELS: [&str; 2] = ["openai/gpt-5.3-codex", "openai/gpt-5.3-codex-spark#high"];
    const SPARK: &str = "gpt-5.3-codex-spark";

    #[test]
    fn real_answers_of_plans_with_rate_limits() {
        // Plus: five hours and a week, over every model.
        let plus = openai("plus-2026-05-weekly76.json");
        assert_eq!(plus.windows.len(), 2);
        window(&plus, "five_hour", 0.0, Some("2026-05-04T19:44:03Z"));
        let weekly = window(&plus, "weekly", 76.0, Some("2026-05-08T17:21:16Z"));
        assert_eq!((weekly.models.clone(), plus.status), (None, None));
        // Pro: one weekly window, and Spark's own pool governing Spark only.
        let pro = openai("pro-2026-08-weekly-only-spark62-recorded.json");
        window(&pro, "weekly", 14.0, Some("2026-08-05T22:00:26Z"));
        let spark = window(
            &pro,
            &format!("{SPARK} weekly"),
            62.0,
            Some("2026-08-05T22:00:26Z"),
        );
        assert_eq!(spark.models, Some(vec![SPARK.to_owned()]));
        let pro = openai("pro-2026-09-06-weekly15-spark-5h-weekly.json");
        assert_eq!(pro.windows.len(), 3);
        window(&pro, "weekly", 15.0, Some("2026-09-12T13:37:59Z"));
        window(
            &pro,
            &format!("{SPARK} five_hour"),
            0.0,
            Some("2026-09-06T02:50:27Z"),
        );
        window(
            &pro,
            &format!("{SPARK} weekly"),
            3.0,
            Some("2026-09-12T21:50:27Z"),
        );
        let lite = openai("prolite-2026-06-5h23-weekly4-spark.json");
        assert_eq!(lite.windows.len(), 4);
        window(&lite, "five_hour", 23.0, Some("2026-06-12T03:09:34Z"));
        window(
            &lite,
            &format!("{SPARK} weekly"),
            0.0,
            Some("2026-06-16T17:18:16Z"),
        );
    }

    #[test]
    fn real_answers_of_business_seats() {
        // `rate_limit: null`: the seat's monthly credit allowance is the window.
        let seat = openai("business-2026-09-25-spend-control-21pct.json");
        assert_eq!(seat.windows.len(), 1);
        let spend = window(&seat, "spend_control", 21.0, Some("2026-10-01T00:00:00Z"));
        assert_eq!((spend.models.clone(), seat.status), (None, None));
        let seat = openai("business-spend-control-74pct-trimmed.json");
        window(&seat, "spend_control", 74.0, Some("2026-10-01T00:00:01Z"));
        let seat = openai("business-spend-control-8pct-observed.json");
        window(&seat, "spend_control", 8.0, Some("2026-09-01T00:00:00Z"));
        // A usage-based seat whose workspace has no credits left: blocked, RED.
        let depleted = "usage-based-business-credits-depleted.json";
        let reports = parse(&fixture("codex", depleted), now()).unwrap();
        assert_eq!(reports["openai"].status, Some(Level::Red));
        assert!(reports["openai"].windows.is_empty());
        assert_eq!(judged(&reports, "openai", &MODELS, now()), ["RED", "RED"]);
    }

    #[test]
    fn a_spent_limit_is_red_for_the_models_it_governs_only() {
        // Plus, five hours spent (`limit_reached`): every model.
        let five = "plus-2026-05-limit-reached-5h-100.json";
        let reports = parse(&fixture("codex", five), now()).unwrap();
        window(
            &reports["openai"],
            "five_hour",
            100.0,
            Some("2026-05-13T04:15:37Z"),
        );
        let before = at("2026-05-13T01:00:00Z");
        assert_eq!(judged(&reports, "openai", &MODELS, before), ["RED", "RED"]);
        // Plus, the week at 100% while `limit_reached` is false: spent all the same.
        let weekly = "plus-2026-05-04-weekly100-limit-reached-false-yapcap.json";
        let reports = parse(&fixture("codex", weekly), now()).unwrap();
        window(
            &reports["openai"],
            "weekly",
            100.0,
            Some("2026-05-05T03:00:00Z"),
        );
        let before = at("2026-05-04T12:00:00Z");
        assert_eq!(judged(&reports, "openai", &MODELS, before), ["RED", "RED"]);
        // Free: the one weekly window, blocked.
        let free = "free-weekly-limit-reached.json";
        let reports = parse(&fixture("codex", free), now()).unwrap();
        assert_eq!(reports["openai"].status, Some(Level::Red));
        window(
            &reports["openai"],
            "weekly",
            100.0,
            Some("2026-05-11T03:08:09Z"),
        );
        // A seat's allowance spent: every model.
        let seat = fixture("codex", "business-2026-09-25-spend-control-21pct.json")
            .replace(r#""used_percent":21"#, r#""used_percent":100"#);
        let reports = parse(&seat, now()).unwrap();
        let before = at("2026-09-25T12:00:00Z");
        assert_eq!(judged(&reports, "openai", &MODELS, before), ["RED", "RED"]);
        // Spark's pool spent: Spark only.
        let spark = fixture("codex", "pro-2026-08-weekly-only-spark62-recorded.json")
            .replace(r#""used_percent": 62"#, r#""used_percent": 100"#);
        let reports = parse(&spark, now()).unwrap();
        let before = at("2026-08-01T00:00:00Z");
        assert_eq!(
            judged(&reports, "openai", &MODELS, before),
            ["GREEN", "RED"]
        );
        let reached = r#"{"rate_limit": null, "spend_control": {"reached": true, "individual_limit": null},
            "additional_rate_limits": [{"limit_name": "X", "rate_limit": {"limit_reached": true}}]}"#;
        let reports = parse(reached, now()).unwrap();
        assert_eq!(reports["openai"].status, Some(Level::Red));
        assert_eq!(reports["openai"].windows["x"].status, Some(Level::Red));
        assert_eq!(
            reports["openai"].windows["x"].models,
            Some(vec!["x".to_owned()])
        );
    }

    #[test]
    fn the_account_comes_from_the_file_or_the_id_token() {
        let auth: Value = serde_json::from_str(&fixture("codex", "auth.json")).unwrap();
        let found = login(&auth).unwrap();
        assert_eq!(found.token.expose(), TOKEN);
        assert_eq!(found.account.unwrap().expose(), "acct-1234-abcd");

        let with_claims = |claims: &str| {
            let auth = serde_json::json!({
                "tokens": {"access_token": "t", "id_token": jwt(claims), "account_id": null}
            });
            login(&auth).unwrap().account.map(|a| a.expose().to_owned())
        };
        assert_eq!(
            with_claims(
                r#"{"https://api.openai.com/auth":
                    {"chatgpt_account_id": "acct-jwt", "chatgpt_plan_type": "plus"}}"#
            )
            .as_deref(),
            Some("acct-jwt")
        );
        assert_eq!(
            with_claims(r#"{"chatgpt_account_id": "acct-top"}"#).as_deref(),
            Some("acct-top")
        );
        assert_eq!(with_claims(r#"{"sub": "x"}"#), None);
        assert_eq!(account_claim("not-a-jwt"), None);
        assert_eq!(account_claim("a.!!!.c"), None);

        let api_key_only = serde_json::json!({"OPENAI_API_KEY": "sk-canary", "tokens": null});
        let err = login(&api_key_only).unwrap_err();
        assert!(err.contains("codex login"), "{err}");
        assert!(!err.contains("canary"));
    }

    #[tokio::test]
    async fn fetches_with_the_account_header() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(PATH))
            .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
            .and(header("chatgpt-account-id", "acct-1234-abcd"))
            .respond_with(
                ResponseTemplate::new(200).set_body_string(fixture("codex", "near_limit.json")),
            )
            .expect(1)
            .mount(&server)
            .await;
        let dir = tempfile::tempdir().unwrap();
        let file = login_file(dir.path(), &fixture("codex", "auth.json"));
        let source = build(&entry(&server), dir.path(), &[]).unwrap();
        assert!(source.found());
        assert_eq!(
            source.id(),
            format!("codex:{}/:{}", server.uri(), file.display())
        );
        let reports = fetch(source.as_ref(), now()).await.unwrap();
        assert_eq!(reports["openai"].windows["five_hour"].utilization, 91.0);
    }

    #[tokio::test]
    async fn codex_home_and_the_id_token_claim() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(PATH))
            .and(header("authorization", "Bearer fresh"))
            .and(header("chatgpt-account-id", "acct-jwt"))
            .respond_with(ResponseTemplate::new(200).set_body_string(fixture("codex", "ok.json")))
            .expect(1)
            .mount(&server)
            .await;
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("codex-home")).unwrap();
        let auth = serde_json::json!({"tokens": {
            "access_token": "fresh",
            "id_token": jwt(r#"{"https://api.openai.com/auth":
                {"chatgpt_account_id": "acct-jwt"}}"#)
        }});
        std::fs::write(dir.path().join("codex-home/auth.json"), auth.to_string()).unwrap();
        let source = build(&entry(&server), dir.path(), &[("CODEX_HOME", "codex-home")]).unwrap();
        assert!(source.found());
        fetch(source.as_ref(), now()).await.unwrap();
    }

    #[tokio::test]
    async fn a_rejected_or_missing_login_names_the_fix() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(
                ResponseTemplate::new(401).set_body_string(fixture("codex", "error.json")),
            )
            .mount(&server)
            .await;
        let dir = tempfile::tempdir().unwrap();
        let source = build(&entry(&server), dir.path(), &[]).unwrap();
        assert!(!source.found());
        let err = fetch(source.as_ref(), now()).await.unwrap_err();
        assert!(err.error.starts_with("no Codex login"), "{}", err.error);
        assert!(err.error.contains("`codex login`"), "{}", err.error);

        login_file(
            dir.path(),
            r#"{"OPENAI_API_KEY": "sk-canary", "tokens": null}"#,
        );
        assert!(!source.found(), "an API key has no plan usage");

        login_file(dir.path(), &fixture("codex", "auth.json"));
        assert!(source.found());
        let err = fetch(source.as_ref(), now()).await.unwrap_err();
        assert_eq!(err.error, "HTTP 401: log in again with `codex login`");
        assert!(!err.error.contains(TOKEN));
    }
}
