//! The `copilot` source: GitHub Copilot's monthly premium-request quota (and the chat and
//! completion quotas, on plans that limit them) from the endpoint Copilot's editor plugins ask,
//! with the GitHub token those plugins keep in `~/.config/github-copilot/apps.json` or
//! `hosts.json`, else `GH_TOKEN`/`GITHUB_TOKEN`.

use std::path::PathBuf;

use jiff::Timestamp;
use reqwest::Url;
use reqwest::header::{ACCEPT, AUTHORIZATION};
use serde::Deserialize;
use serde_json::Value;

use crate::quota::{Level, Report, Window};
use crate::secret::Secret;

use super::credentials;
use super::http::{self, Failure};
use super::{Build, Fault, Fetch, Poll, Provider, Reports};

const PATH: &str = "/copilot_internal/user";
/// The endpoint serves Copilot's editor plugins, so it is asked the way VS Code asks.
const EDITOR_VERSION: &str = "vscode/1.96.2";
const API_VERSION: &str = "2025-04-01";
const SIGN_IN: &str = "sign in to GitHub Copilot again in your editor";

#[derive(Debug)]
pub struct Copilot {
    base_url: Url,
    /// Credential files, tried in order at each poll.
    files: Vec<PathBuf>,
    /// A token from the environment, used when no file holds one.
    env_token: Option<(&'static str, Secret)>,
    /// OpenCode's `auth.json`, read when nothing else holds a token.
    opencode: Option<PathBuf>,
    /// `credentials_file` was given: only that file is looked at.
    explicit: bool,
}

pub fn build(
    base_url: Option<&str>,
    credentials_file: Option<&str>,
    build: &Build<'_>,
) -> Result<Box<dyn Provider>, Fault> {
    let base_url = http::base_url_of(base_url, "https://api.github.com")?;
    let env = build.env;
    let explicit = credentials::credentials_path(credentials_file, build, None)?;
    let (files, env_token, opencode) = match &explicit {
        // An explicit file is the only place looked at.
        Some(file) => (vec![file.clone()], None, None),
        None => {
            let dir = env.copilot_dir();
            let files = dir
                .map(|d| vec![d.join("apps.json"), d.join("hosts.json")])
                .unwrap_or_default();
            let token = ["GH_TOKEN", "GITHUB_TOKEN"]
                .into_iter()
                .find_map(|var| Some((var, Secret::new(env.var(var)?))));
            (files, token, credentials::opencode_auth(env))
        }
    };
    Ok(Box::new(Copilot {
        base_url,
        files,
        env_token,
        opencode,
        explicit: explicit.is_some(),
    }))
}

/// The github.com OAuth token in a Copilot plugin's `apps.json` (keys `github.com:<app id>`) or
/// `hosts.json` (key `github.com`). Tokens of other hosts (GitHub Enterprise) are left alone:
/// they are not for api.github.com.
pub fn oauth_token(file: &Value) -> Option<Secret> {
    file.as_object()?
        .iter()
        .filter(|(host, _)| *host == "github.com" || host.starts_with("github.com:"))
        .find_map(|(_, entry)| entry.get("oauth_token")?.as_str())
        .filter(|t| !t.is_empty())
        .map(Secret::new)
}

/// The GitHub token of OpenCode's `github-copilot` login (`{"type": "oauth", "refresh": …}`): its
/// `refresh` is the GitHub OAuth token the endpoint takes (`access` may be a Copilot session
/// token). A login to GitHub Enterprise (`enterpriseUrl`) is not for api.github.com.
pub fn opencode_token(auth: &Value) -> Option<Secret> {
    let entry = auth.get("github-copilot")?;
    if entry.get("type")?.as_str()? != "oauth"
        || entry.get("enterpriseUrl").is_some_and(|u| !u.is_null())
    {
        return None;
    }
    entry
        .get("refresh")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .map(Secret::new)
}

#[derive(Deserialize)]
struct Answer {
    quota_snapshots: Option<Snapshots>,
    quota_reset_date_utc: Option<String>,
    quota_reset_date: Option<String>,
    /// Free plans without snapshots: what is left, and the month's allowance.
    limited_user_quotas: Option<Counts>,
    monthly_quotas: Option<Counts>,
    limited_user_reset_date: Option<String>,
    message: Option<String>,
    /// `no_access`: the account has no Copilot.
    access_type_sku: Option<String>,
    copilot_plan: Option<String>,
}

#[derive(Deserialize)]
struct Snapshots {
    premium_interactions: Option<Snapshot>,
    chat: Option<Snapshot>,
    completions: Option<Snapshot>,
}

#[derive(Deserialize)]
struct Snapshot {
    percent_remaining: Option<f64>,
    unlimited: Option<bool>,
    entitlement: Option<f64>,
    remaining: Option<f64>,
    /// `false` where the plan has no such quota (premium requests on the free plan).
    has_quota: Option<bool>,
    /// Unix seconds; 0 when not given.
    quota_reset_at: Option<f64>,
}

impl Snapshot {
    /// Whether the plan has this quota at all: an entitlement of 0 or `has_quota: false` means
    /// it is not part of the plan, not that it is spent.
    fn in_plan(&self) -> bool {
        self.unlimited == Some(true)
            || (self.has_quota != Some(false) && self.entitlement.is_none_or(|e| e > 0.0))
    }
}

#[derive(Deserialize)]
struct Counts {
    chat: Option<f64>,
    completions: Option<f64>,
}

/// Parses an answer of `/copilot_internal/user`. Each quota of the plan is a window over every
/// model (the premium one too: which models are premium is not in the answer, and reading it over
/// all of them is the reading that never lets a spent quota pass for GREEN); `chat` and
/// `completions` only when limited. A quota the plan does not have (entitlement 0) is no window,
/// an account without Copilot (`no_access`) is RED, and an answer without snapshots reports no
/// quota. (`now` is unused: the answer carries absolute times.)
pub fn parse(body: &str, _now: Timestamp) -> Result<Reports, String> {
    let answer: Answer =
        serde_json::from_str(body).map_err(|e| format!("unexpected answer ({e})"))?;
    let mut report = Report::default();
    if answer.access_type_sku.as_deref() == Some("no_access") {
        report.status = Some(Level::Red);
    } else if let Some(snapshots) = &answer.quota_snapshots {
        let date = answer
            .quota_reset_date_utc
            .as_deref()
            .or(answer.quota_reset_date.as_deref());
        let resets_at = reset(date)?;
        let all = [
            (
                "premium_interactions",
                &snapshots.premium_interactions,
                true,
            ),
            ("chat", &snapshots.chat, false),
            ("completions", &snapshots.completions, false),
        ];
        for (name, snapshot, always) in all {
            let Some(snapshot) = snapshot.as_ref().filter(|s| s.in_plan()) else {
                continue;
            };
            if !always && snapshot.unlimited != Some(false) {
                continue;
            }
            let resets_at = resets_at.or_else(|| {
                let at = snapshot.quota_reset_at.filter(|s| *s > 0.0)?;
                Timestamp::from_second(at as i64).ok()
            });
            report
                .windows
                .insert(name.to_owned(), window(name, snapshot, resets_at)?);
        }
    } else if let (Some(left), Some(month)) = (&answer.limited_user_quotas, &answer.monthly_quotas)
    {
        let resets_at = reset(answer.limited_user_reset_date.as_deref())?;
        for (name, left, month) in [
            ("chat", left.chat, month.chat),
            ("completions", left.completions, month.completions),
        ] {
            if let (Some(left), Some(month)) = (left, month)
                && month > 0.0
            {
                report.windows.insert(
                    name.to_owned(),
                    Window {
                        utilization: percent_used(left / month * 100.0),
                        resets_at,
                        status: None,
                        models: None,
                    },
                );
            }
        }
    }
    let a_user = answer.copilot_plan.is_some() || answer.access_type_sku.is_some();
    if report.windows.is_empty() && report.status.is_none() && !a_user {
        return Err(match answer.message {
            Some(message) => format!("error: {message}"),
            None => "no quota snapshots in the answer".to_owned(),
        });
    }
    Ok(Reports::from([("copilot".to_owned(), report)]))
}

/// One quota snapshot as a window: GREEN when unlimited, else percent used.
fn window(name: &str, snapshot: &Snapshot, resets_at: Option<Timestamp>) -> Result<Window, String> {
    if snapshot.unlimited == Some(true) {
        return Ok(Window {
            utilization: 0.0,
            resets_at: None,
            status: Some(Level::Green),
            models: None,
        });
    }
    let remaining = match (
        snapshot.percent_remaining,
        snapshot.remaining,
        snapshot.entitlement,
    ) {
        (Some(percent), _, _) => percent,
        (None, Some(left), Some(total)) if total > 0.0 => left / total * 100.0,
        _ => return Err(format!("no `percent_remaining` for {name}")),
    };
    Ok(Window {
        utilization: percent_used(remaining),
        resets_at,
        status: None,
        models: None,
    })
}

/// Percent used from percent remaining, within 0–100 (overage takes it below zero remaining),
/// rounded so 100 − 91.7 reads 8.3.
fn percent_used(remaining: f64) -> f64 {
    ((100.0 - remaining).clamp(0.0, 100.0) * 1e6).round() / 1e6
}

/// A reset given as a date (midnight UTC) or an RFC 3339 time.
fn reset(text: Option<&str>) -> Result<Option<Timestamp>, String> {
    match text.filter(|t| !t.trim().is_empty()) {
        None => Ok(None),
        Some(text) => crate::time::parse_instant(text)
            .map(Some)
            .ok_or_else(|| format!("the quota reset date `{text}` is not a date")),
    }
}

impl Copilot {
    /// The token for this poll, and what fixes it if it is refused.
    fn token(&self) -> Result<(Secret, String), String> {
        let mut problem = None;
        for path in self.files.iter().filter(|p| p.exists()) {
            match credentials::read_json(path) {
                Ok(file) => {
                    if let Some(token) = oauth_token(&file) {
                        return Ok((token, SIGN_IN.to_owned()));
                    }
                }
                Err(e) => problem = problem.or(Some(e)),
            }
        }
        if let Some((var, token)) = &self.env_token {
            return Ok((
                token.clone(),
                format!("check ${var} (log in again with `gh auth login`)"),
            ));
        }
        if let Some(path) = self.opencode.as_ref().filter(|p| p.exists())
            && let Ok(auth) = credentials::read_json(path)
            && let Some(token) = opencode_token(&auth)
        {
            let hint = format!(
                "log in to GitHub Copilot again in OpenCode ({})",
                path.display()
            );
            return Ok((token, hint));
        }
        Err(problem.unwrap_or_else(|| {
            let places: Vec<String> = self.files.iter().map(|p| p.display().to_string()).collect();
            let places = if places.is_empty() {
                "the config dir (unknown: set HOME)".to_owned()
            } else {
                places.join(" or ")
            };
            let or_env = if self.explicit {
                ""
            } else {
                ", or set GH_TOKEN, or log in with `opencode auth login`"
            };
            format!(
                "no GitHub Copilot login in {places}: sign in to Copilot in your editor{or_env}"
            )
        }))
    }
}

impl Provider for Copilot {
    fn id(&self) -> String {
        let files: Vec<String> = self.files.iter().map(|p| p.display().to_string()).collect();
        let mut id = format!("copilot:{}:{}", self.base_url, files.join(","));
        if let Some((var, _)) = &self.env_token {
            id.push_str(&format!(":${var}"));
        }
        id
    }

    fn label(&self) -> String {
        "copilot".to_owned()
    }

    fn found(&self) -> bool {
        self.token().is_ok()
    }

    fn covers(&self) -> Vec<String> {
        vec!["copilot".to_owned()]
    }

    fn fetch<'a>(&'a self, poll: &'a Poll<'a>) -> Fetch<'a> {
        Box::pin(async move {
            let (token, hint) = self.token().map_err(Failure::credential)?;
            let request = poll
                .client
                .get(http::endpoint(&self.base_url, PATH))
                .header(AUTHORIZATION, http::secret_header("token ", &token))
                .header("Editor-Version", EDITOR_VERSION)
                .header("X-Github-Api-Version", API_VERSION)
                .header(ACCEPT, "application/json");
            let body = http::send(request, poll.timeout, &hint).await?;
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

    const APPS_TOKEN: &str = "ghu_copilotcanaryappstoken";
    const HOSTS_TOKEN: &str = "gho_copilotcanaryhoststoken";

    fn entry(server: &MockServer) -> String {
        format!("{{kind: 'copilot', base_url: '{}'}}", server.uri())
    }

    /// A Copilot plugin's credential file `name` under `dir`'s test config home.
    fn plugin_file(dir: &Path, name: &str, text: &str) {
        write(dir, &format!("config/github-copilot/{name}"), text);
    }

    /// A server that answers `ok.json` to requests bearing `token`.
    async fn expecting(token: &str) -> MockServer {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(PATH))
            .and(header("authorization", format!("token {token}").as_str()))
            .and(header("editor-version", "vscode/1.96.2"))
            .and(header("x-github-api-version", "2025-04-01"))
            .respond_with(ResponseTemplate::new(200).set_body_string(fixture("copilot", "ok.json")))
            .expect(1)
            .mount(&server)
            .await;
        server
    }

    #[test]
    fn parses_every_fixture() {
        let ok = parse(&fixture("copilot", "ok.json"), now()).unwrap();
        let copilot = &ok["copilot"];
        assert_eq!(
            copilot.windows.keys().collect::<Vec<_>>(),
            ["premium_interactions"],
            "unlimited chat and completions are not windows"
        );
        let premium = &copilot.windows["premium_interactions"];
        assert_eq!(premium.utilization, 27.5);
        assert_eq!(
            premium.resets_at.unwrap().to_string(),
            "2026-12-01T00:00:00Z"
        );
        assert_eq!(premium.status, None);

        let near = &parse(&fixture("copilot", "near_limit.json"), now()).unwrap()["copilot"];
        assert_eq!(near.windows["premium_interactions"].utilization, 92.0);
        assert_eq!(
            near.windows["premium_interactions"]
                .resets_at
                .unwrap()
                .to_string(),
            "2026-12-01T00:00:00Z"
        );

        let spent = &parse(&fixture("copilot", "exhausted.json"), now()).unwrap()["copilot"];
        assert_eq!(
            spent.windows.len(),
            3,
            "a free plan limits chat and completions"
        );
        assert_eq!(spent.windows["premium_interactions"].utilization, 100.0);
        assert_eq!(spent.windows["chat"].utilization, 100.0);
        assert_eq!(spent.windows["completions"].utilization, 65.0);

        let unlimited = &parse(&fixture("copilot", "unlimited.json"), now()).unwrap()["copilot"];
        let premium = &unlimited.windows["premium_interactions"];
        assert_eq!(premium.status, Some(Level::Green));
        assert_eq!(premium.utilization, 0.0);
        assert_eq!(unlimited.windows.len(), 1);

        assert_eq!(
            parse(&fixture("copilot", "error.json"), now()).unwrap_err(),
            "error: Bad credentials"
        );
        assert!(
            parse(&fixture("copilot", "malformed.json"), now())
                .unwrap_err()
                .starts_with("unexpected answer")
        );
        assert!(parse("<html>", now()).is_err());
    }

    #[test]
    fn odd_answers() {
        let premium = |snapshot: &str, reset: &str| {
            parse(
                &format!(
                    r#"{{"quota_reset_date": {reset},
                        "quota_snapshots": {{"premium_interactions": {snapshot}}}}}"#
                ),
                now(),
            )
        };
        let counted = premium(r#"{"entitlement": 300, "remaining": 75}"#, "null").unwrap();
        let window = &counted["copilot"].windows["premium_interactions"];
        assert_eq!(window.utilization, 75.0, "from the counts");
        assert_eq!(window.resets_at, None);
        let overage = premium(
            r#"{"percent_remaining": -12.5, "unlimited": false}"#,
            "null",
        );
        assert_eq!(
            overage.unwrap()["copilot"].windows["premium_interactions"].utilization,
            100.0
        );
        assert_eq!(
            premium(r#"{"unlimited": false}"#, "null").unwrap_err(),
            "no `percent_remaining` for premium_interactions"
        );
        assert_eq!(
            premium(r#"{"percent_remaining": 50}"#, r#""next month""#).unwrap_err(),
            "the quota reset date `next month` is not a date"
        );
        assert_eq!(
            premium("null", "null").unwrap_err(),
            "no quota snapshots in the answer"
        );
        let spent_with_overage = premium(
            r#"{"entitlement": 300, "percent_remaining": 0, "overage_permitted": true, "quota_reset_at": 1796083200}"#,
            "null",
        )
        .unwrap();
        let window = &spent_with_overage["copilot"].windows["premium_interactions"];
        assert_eq!(
            window.utilization, 100.0,
            "overage is paid: the quota is spent"
        );
        assert_eq!(
            window.resets_at.unwrap().to_string(),
            "2026-12-01T00:00:00Z",
            "the snapshot's own reset"
        );
        let legacy_free = parse(
            r#"{"access_type_sku": "free_limited_copilot",
                "limited_user_quotas": {"chat": 45, "completions": 3000},
                "monthly_quotas": {"chat": 50, "completions": 2000},
                "limited_user_reset_date": "2026-12-01"}"#,
            now(),
        )
        .unwrap();
        let free = &legacy_free["copilot"];
        assert_eq!(free.windows["chat"].utilization, 10.0);
        assert_eq!(free.windows["completions"].utilization, 0.0);
        assert_eq!(
            free.windows["chat"].resets_at.unwrap().to_string(),
            "2026-12-01T00:00:00Z"
        );
    }

    fn copilot(name: &str) -> Report {
        parse(&fixture("copilot", name), now()).unwrap()["copilot"].clone()
    }

    #[test]
    fn real_answers() {
        // Business seat, 2025-12: 93.5 of 300 premium requests left; chat unlimited.
        let business = copilot("business-2025-12-19-premium31-litellm18242.json");
        assert_eq!(business.windows.len(), 1);
        let premium = window(
            &business,
            "premium_interactions",
            68.833333,
            Some("2026-01-01T00:00:00Z"),
        );
        assert_eq!(
            premium.models, None,
            "premium models are not named: every model"
        );
        // Business seats without any reset date.
        let business = copilot("business-2026-06-08-no-reset-date-partial.json");
        window(&business, "premium_interactions", 5.7, None);
        let seat = copilot("business-seat-token-billing-premium74used.json");
        window(
            &seat,
            "premium_interactions",
            74.2,
            Some("2026-10-01T00:00:00Z"),
        );
        // Pro+, 1500 premium requests a month.
        let pro = copilot("pro-plus-2026-01-30-premium88-yapcap.json");
        window(
            &pro,
            "premium_interactions",
            11.496,
            Some("2026-02-01T00:00:00Z"),
        );
        let pro = copilot("pro-plus-2026-02-10-premium70.json");
        assert_eq!(pro.windows.len(), 1);
        // Free: premium requests are not part of the plan (entitlement 0), not spent; chat
        // and completions are its quotas.
        let free = copilot("free-limited-2026-07-08-premium-entitlement0-yapcap.json");
        assert_eq!(
            free.windows.keys().collect::<Vec<_>>(),
            ["chat", "completions"]
        );
        window(&free, "chat", 0.0, Some("2026-08-01T00:00:00Z"));
        let reports = parse(
            &fixture(
                "copilot",
                "free-limited-2026-07-08-premium-entitlement0-yapcap.json",
            ),
            now(),
        )
        .unwrap();
        assert_eq!(
            judged(
                &reports,
                "copilot",
                &["gpt-4.1"],
                at("2026-07-08T12:00:00Z")
            ),
            ["GREEN"]
        );
        // No snapshots: an answer, with no quota in it.
        let none = copilot("individual-no-quota-snapshots.json");
        assert!(none.windows.is_empty() && none.status.is_none());
        // No Copilot on this account at all.
        assert_eq!(copilot("no-access.json").status, Some(Level::Red));
    }

    #[test]
    fn a_spent_quota_is_red() {
        let spent = fixture("copilot", "business-2025-12-19-premium31-litellm18242.json")
            .replace("31.166666666666664", "0.0");
        let reports = parse(&spent, now()).unwrap();
        let before = at("2025-12-19T12:00:00Z");
        assert_eq!(
            judged(
                &reports,
                "copilot",
                &["github-copilot/claude-sonnet-4.5"],
                before
            ),
            ["RED"]
        );
        let chat = fixture(
            "copilot",
            "free-limited-2026-07-08-premium-entitlement0-yapcap.json",
        )
        .replacen(
            r#""percent_remaining": 100.0"#,
            r#""percent_remaining": 0.0"#,
            1,
        );
        let reports = parse(&chat, now()).unwrap();
        window(
            &reports["copilot"],
            "chat",
            100.0,
            Some("2026-08-01T00:00:00Z"),
        );
        let before = at("2026-07-08T12:00:00Z");
        assert_eq!(judged(&reports, "copilot", &["gpt-4.1"], before), ["RED"]);
    }

    #[test]
    fn opencode_logins_give_their_github_token() {
        let entry = |name| -> Value { serde_json::from_str(&fixture("copilot", name)).unwrap() };
        let token = opencode_token(&entry("opencode-auth-github-copilot-entry.json"));
        assert_eq!(
            token.unwrap().expose(),
            "gho_PLACEHOLDER_GITHUB_OAUTH_TOKEN"
        );
        let session = entry("opencode-auth-github-copilot-entry-session-token-enterprise.json");
        assert_eq!(
            opencode_token(&session).unwrap().expose(),
            "ghu_PLACEHOLDER_GITHUB_OAUTH_TOKEN",
            "`refresh`, never the session token in `access`"
        );
        let enterprise = serde_json::json!({"github-copilot":
            {"type": "oauth", "refresh": "ghu_x", "enterpriseUrl": "corp.ghe.com"}});
        assert!(opencode_token(&enterprise).is_none());
        let api = serde_json::json!({"github-copilot": {"type": "api", "key": "k"}});
        assert!(opencode_token(&api).is_none());
    }

    #[tokio::test]
    async fn opencode_holds_the_only_login() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "data/opencode/auth.json",
            &fixture("copilot", "opencode-auth-github-copilot-entry.json"),
        );
        let server = expecting("gho_PLACEHOLDER_GITHUB_OAUTH_TOKEN").await;
        let source = build(&entry(&server), dir.path(), &[]).unwrap();
        assert!(source.found());
        fetch(source.as_ref(), now()).await.unwrap();
        // A plugin's own login comes first.
        plugin_file(dir.path(), "hosts.json", &fixture("copilot", "hosts.json"));
        let server = expecting(HOSTS_TOKEN).await;
        let source = build(&entry(&server), dir.path(), &[]).unwrap();
        fetch(source.as_ref(), now()).await.unwrap();
    }

    #[test]
    fn tokens_of_github_com_only() {
        let apps: Value = serde_json::from_str(&fixture("copilot", "apps.json")).unwrap();
        assert_eq!(oauth_token(&apps).unwrap().expose(), APPS_TOKEN);
        let hosts: Value = serde_json::from_str(&fixture("copilot", "hosts.json")).unwrap();
        assert_eq!(oauth_token(&hosts).unwrap().expose(), HOSTS_TOKEN);
        let enterprise = serde_json::json!({"corp.ghe.com:Iv1.x": {"oauth_token": "ghu_corp"}});
        assert!(oauth_token(&enterprise).is_none());
        assert!(oauth_token(&serde_json::json!({"github.com": {"oauth_token": ""}})).is_none());
        assert!(oauth_token(&serde_json::json!([])).is_none());
    }

    #[tokio::test]
    async fn fetches_with_the_editor_headers_and_the_apps_token() {
        let server = expecting(APPS_TOKEN).await;
        let dir = tempfile::tempdir().unwrap();
        plugin_file(dir.path(), "apps.json", &fixture("copilot", "apps.json"));
        plugin_file(dir.path(), "hosts.json", &fixture("copilot", "hosts.json"));
        let source = build(&entry(&server), dir.path(), &[("GH_TOKEN", "gh-env")]).unwrap();
        assert!(source.found());
        let id = source.id();
        assert!(id.contains("github-copilot/apps.json"), "{id}");
        assert!(id.ends_with(":$GH_TOKEN"), "{id}");
        assert!(!id.contains("gh-env") && !format!("{source:?}").contains("gh-env"));
        let reports = fetch(source.as_ref(), now()).await.unwrap();
        assert_eq!(
            reports["copilot"].windows["premium_interactions"].utilization,
            27.5
        );
    }

    #[tokio::test]
    async fn falls_back_to_hosts_json_then_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        plugin_file(dir.path(), "hosts.json", &fixture("copilot", "hosts.json"));
        let server = expecting(HOSTS_TOKEN).await;
        let source = build(&entry(&server), dir.path(), &[]).unwrap();
        fetch(source.as_ref(), now()).await.unwrap();

        let empty = tempfile::tempdir().unwrap();
        let server = expecting("gh-env-token").await;
        let source = build(
            &entry(&server),
            empty.path(),
            &[("GITHUB_TOKEN", "gh-env-token")],
        )
        .unwrap();
        assert!(source.found());
        fetch(source.as_ref(), now()).await.unwrap();

        let server = expecting(HOSTS_TOKEN).await;
        let explicit = format!(
            "{{kind: 'copilot', base_url: '{}', \
             credentials_file: 'config/github-copilot/hosts.json'}}",
            server.uri()
        );
        let source = build(&explicit, dir.path(), &[("GH_TOKEN", "ignored")]).unwrap();
        fetch(source.as_ref(), now()).await.unwrap();

        let absent = format!(
            "{{kind: 'copilot', base_url: '{}', credentials_file: 'nope.json'}}",
            server.uri()
        );
        let source = build(&absent, dir.path(), &[("GH_TOKEN", "ignored")]).unwrap();
        assert!(
            !source.found(),
            "an explicit file is the only place looked at"
        );
        let err = fetch(source.as_ref(), now()).await.unwrap_err();
        assert!(err.error.contains("nope.json"), "{}", err.error);
        assert!(!err.error.contains("GH_TOKEN"), "{}", err.error);
    }

    #[tokio::test]
    async fn a_rejected_or_missing_login_names_the_fix() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(
                ResponseTemplate::new(401).set_body_string(fixture("copilot", "error.json")),
            )
            .mount(&server)
            .await;
        let dir = tempfile::tempdir().unwrap();
        let source = build(&entry(&server), dir.path(), &[]).unwrap();
        assert!(!source.found());
        let err = fetch(source.as_ref(), now()).await.unwrap_err();
        assert!(
            err.error.starts_with("no GitHub Copilot login"),
            "{}",
            err.error
        );
        assert!(err.error.contains("GH_TOKEN"), "{}", err.error);

        plugin_file(dir.path(), "apps.json", &fixture("copilot", "apps.json"));
        assert!(source.found(), "the plugin signed in since");
        let err = fetch(source.as_ref(), now()).await.unwrap_err();
        assert_eq!(
            err.error,
            "HTTP 401: sign in to GitHub Copilot again in your editor"
        );
        assert!(!err.error.contains(APPS_TOKEN));

        let env = tempfile::tempdir().unwrap();
        let source = build(&entry(&server), env.path(), &[("GH_TOKEN", "gh-canary")]).unwrap();
        let err = fetch(source.as_ref(), now()).await.unwrap_err();
        assert_eq!(
            err.error,
            "HTTP 401: check $GH_TOKEN (log in again with `gh auth login`)"
        );

        plugin_file(
            env.path(),
            "apps.json",
            "{\"github.com:x\": {\"oauth_token\": \"canary",
        );
        let source = build(&entry(&server), env.path(), &[]).unwrap();
        let err = fetch(source.as_ref(), now()).await.unwrap_err();
        assert!(err.error.contains("not valid JSON"), "{}", err.error);
        assert!(!err.error.contains("canary"), "{}", err.error);
    }
}
