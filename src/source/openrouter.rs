//! The `openrouter` source: an OpenRouter key's own spending limit and the account's credits.
//!
//! Two calls per poll, always both: the key (`/api/v1/key`) can have a limit that resets daily,
//! weekly or monthly, and the account behind it runs on prepaid credits (`/api/v1/credits`) that
//! can run out first. The key call decides: it checks the key, and its failure fails the poll.
//! The credits call needs a management key on current OpenRouter accounts, so an ordinary key
//! refused there (401/403), or answered 0 credits and 0 used (what an ordinary key may see), only
//! means no `balance` window; any other failure fails the poll. A key's `usage` is what it spent
//! in all time, not in its limit's period: the period's spending is `limit − limit_remaining`.

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::Deserialize;
use serde_json::Value;

use crate::quota::{Report, Window};

use super::http::Failure;
use super::keyed::{Endpoint, Keyed, KeyedSource};
use super::{Fetch, Poll, Reports, balance, number};

const KEY_PATH: &str = "/api/v1/key";
const CREDITS_PATH: &str = "/api/v1/credits";

pub const KIND: Keyed = Keyed {
    name: "openrouter",
    global: Endpoint {
        url: "https://openrouter.ai",
        vars: &["OPENROUTER_API_KEY"],
        opencode_ids: &["openrouter"],
    },
    china: None,
    fetch,
};

fn fetch<'a>(source: &'a KeyedSource, poll: &'a Poll<'a>) -> Fetch<'a> {
    Box::pin(async move {
        let key = source.key()?;
        let key_body = source.get_with(poll, &key, KEY_PATH).await?;
        let credits = match source.get_with(poll, &key, CREDITS_PATH).await {
            Ok(body) => Some(body),
            // The key works (it just answered): it only may not read the account's credits.
            Err(f) if matches!(f.status, Some(401 | 403)) => None,
            Err(f) => return Err(f),
        };
        parse(&key_body, credits.as_deref(), source.budget, poll.now)
            .map_err(|e| Failure::new(key.redact(&e)))
    })
}

#[derive(Deserialize)]
struct Envelope<T> {
    data: Option<T>,
    /// `{"error": {"code": 401, "message": …}}`.
    error: Option<Value>,
}

#[derive(Deserialize)]
struct Key {
    #[serde(default, deserialize_with = "number::optional")]
    limit: Option<f64>,
    #[serde(default, deserialize_with = "number::optional")]
    limit_remaining: Option<f64>,
    limit_reset: Option<String>,
}

#[derive(Deserialize)]
struct Credits {
    #[serde(default, deserialize_with = "number::optional")]
    total_credits: Option<f64>,
    #[serde(default, deserialize_with = "number::optional")]
    total_usage: Option<f64>,
}

/// Parses the key's answer and, when the account's credits could be read, theirs. `budget` is
/// the balance that counts as 0% used; `now` dates the key limit's next reset.
pub fn parse(
    key: &str,
    credits: Option<&str>,
    budget: Option<f64>,
    now: Timestamp,
) -> Result<Reports, String> {
    let key: Key = data(key, "key")?;
    let mut report = Report::default();
    if let Some(limit) = key.limit {
        let remaining = key
            .limit_remaining
            .ok_or("the key has a `limit` but no `limit_remaining`")?;
        let utilization = if limit > 0.0 {
            ((limit - remaining) / limit * 100.0).clamp(0.0, 100.0)
        } else {
            100.0
        };
        let period = key.limit_reset.as_deref().filter(|p| !p.is_empty());
        report.windows.insert(
            period.unwrap_or("limit").to_owned(),
            Window {
                utilization,
                resets_at: period.and_then(|p| next_reset(p, now)),
                status: None,
                models: None,
            },
        );
    }
    if let Some(credits) = credits {
        // The 0-and-0 answer of an ordinary key was reported without its `data` wrapper; a bare
        // body with the two fields is read the same.
        let credits: Credits = data(credits, "credits").or_else(|e| {
            serde_json::from_str::<Credits>(credits)
                .ok()
                .filter(|c| c.total_credits.is_some() && c.total_usage.is_some())
                .ok_or(e)
        })?;
        let (Some(total), Some(used)) = (credits.total_credits, credits.total_usage) else {
            return Err("no `total_credits` and `total_usage` in the credits".to_owned());
        };
        // An ordinary key is answered 0 and 0 where it may not see the account's credits: that
        // says nothing, while an account that ever had credits has a total above 0.
        if total != 0.0 || used != 0.0 {
            report.windows.insert(
                balance::WINDOW.to_owned(),
                balance::window(total - used, budget, false),
            );
        }
    }
    // A key without a limit whose credits cannot be read leaves nothing to watch: the report
    // says OpenRouter answered and nothing limits it.
    Ok(Reports::from([("openrouter".to_owned(), report)]))
}

/// The `data` of an answer, or its error.
fn data<T: serde::de::DeserializeOwned>(body: &str, what: &str) -> Result<T, String> {
    let envelope: Envelope<T> = serde_json::from_str(body)
        .map_err(|e| format!("unexpected answer for the {what} ({e})"))?;
    if let Some(error) = envelope.error.filter(|e| !e.is_null()) {
        let message = error.get("message").and_then(Value::as_str);
        return Err(format!(
            "error: {}",
            message.or(error.as_str()).unwrap_or("no message")
        ));
    }
    envelope
        .data
        .ok_or_else(|| format!("no `data` in the answer for the {what}"))
}

/// When a key limit with this reset period next resets: OpenRouter resets at midnight UTC, and
/// its weeks run Monday to Sunday.
fn next_reset(period: &str, now: Timestamp) -> Option<Timestamp> {
    let today = now.to_zoned(TimeZone::UTC).date();
    let next: Date = match period {
        "daily" => today.tomorrow().ok()?,
        "weekly" => {
            let days = 7 - i64::from(today.weekday().to_monday_zero_offset());
            today.checked_add(jiff::Span::new().days(days)).ok()?
        }
        "monthly" => today.last_of_month().tomorrow().ok()?,
        _ => return None,
    };
    next.to_zoned(TimeZone::UTC).ok().map(|z| z.timestamp())
}

#[cfg(test)]
mod tests {
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;
    use crate::quota::Level;
    use crate::source::Provider;
    use crate::source::keyed::testing::key_handling;
    use crate::source::testing::{build, fetch, fixture, judged, now, window};

    fn openrouter(key: &str, credits: Option<&str>, budget: Option<f64>) -> Report {
        let credits = credits.map(|name| fixture("openrouter", name));
        parse(
            &fixture("openrouter", key),
            credits.as_deref(),
            budget,
            now(),
        )
        .unwrap()["openrouter"]
            .clone()
    }

    fn data(name: &str) -> String {
        format!(r#"{{"data": {}}}"#, fixture("openrouter", name))
    }

    #[test]
    fn real_answers() {
        let read = |key: &str, credits: Option<&str>| {
            parse(key, credits, None, now()).unwrap()["openrouter"].clone()
        };
        // A monthly limit of 500 with 454.54 left: 9.1% of this month's, though the key spent
        // 433 in all time.
        let monthly = "key-live-monthly-500-lifetime-usage-exceeds-window-data-fields-only.json";
        let key = read(&data(monthly), None);
        window(&key, "monthly", 9.0914810042, Some("2026-12-01T00:00:00Z"));
        let key = read(&fixture("openrouter", "key-doc-monthly-limit.json"), None);
        window(&key, "monthly", 25.5, Some("2026-12-01T00:00:00Z"));
        let daily = read(
            &fixture(
                "openrouter",
                "key-live-daily-30-reconstructed-from-prose.json",
            ),
            None,
        );
        window(&daily, "daily", 0.000006, Some("2026-11-22T00:00:00Z"));
        // A limit without a reset period, from an older answer.
        let old = read(
            &fixture("openrouter", "key-captured-limit-5-no-reset-field.json"),
            None,
        );
        window(&old, "limit", 2.03128952, None);
        // No limit: nothing limits the key, unless the credits do.
        let unlimited = data("key-live-unlimited-old-auth-key-shape-data-only.json");
        assert!(read(&unlimited, None).windows.is_empty());
        let credits = fixture("openrouter", "credits-live-5-usd.json");
        let funded = read(&unlimited, Some(&credits));
        let balance = window(&funded, "balance", 0.0, None);
        assert_eq!(balance.status, Some(Level::Green), "3.31 USD left");
        let doc = read(
            &unlimited,
            Some(&fixture("openrouter", "credits-doc-example.json")),
        );
        assert_eq!(doc.windows["balance"].status, Some(Level::Green));
        // An ordinary key's 0 and 0: the credits are not visible, not spent.
        let zeros = fixture("openrouter", "credits-live-ordinary-key-http200-zeros.json");
        assert!(read(&unlimited, Some(&zeros)).windows.is_empty());
        let wrapped = data("credits-live-ordinary-key-http200-zeros.json");
        assert!(read(&unlimited, Some(&wrapped)).windows.is_empty());
        for (name, message) in [
            (
                "error-401-no-auth-credentials.json",
                "No auth credentials found",
            ),
            (
                "error-403-credits-needs-management-key.json",
                "Only management keys",
            ),
        ] {
            let err = parse(&fixture("openrouter", name), None, None, now()).unwrap_err();
            assert!(err.starts_with(&format!("error: {message}")), "{err}");
        }
    }

    #[test]
    fn a_spent_limit_or_balance_is_red() {
        let models = [
            "openrouter/qwen/qwen3-coder",
            "openrouter/anthropic/claude-sonnet-4.5",
        ];
        let spent =
            data("key-live-monthly-500-lifetime-usage-exceeds-window-data-fields-only.json")
                .replace("454.542594979", "0");
        let reports = parse(&spent, None, None, now()).unwrap();
        assert_eq!(
            judged(&reports, "openrouter", &models, now()),
            ["RED", "RED"]
        );
        let key = data("key-live-unlimited-old-auth-key-shape-data-only.json");
        let broke = r#"{"data": {"total_credits": 5, "total_usage": 5.2}}"#;
        let reports = parse(&key, Some(broke), None, now()).unwrap();
        assert_eq!(
            judged(&reports, "openrouter", &models, now()),
            ["RED", "RED"]
        );
    }

    #[test]
    fn parses_every_fixture() {
        let ok = openrouter("ok.json", Some("credits_ok.json"), None);
        let monthly = &ok.windows["monthly"];
        assert_eq!(monthly.utilization, 25.0, "(limit - remaining) / limit");
        assert_eq!(
            monthly.resets_at.unwrap().to_string(),
            "2026-12-01T00:00:00Z"
        );
        let balance = &ok.windows["balance"];
        assert_eq!(
            (balance.utilization, balance.status),
            (0.0, Some(Level::Green))
        );
        let ok = openrouter("ok.json", Some("credits_ok.json"), Some(100.0));
        let used = ok.windows["balance"].utilization;
        assert!((used - 25.25).abs() < 1e-9, "74.75 of 100 left: {used}");

        let near = openrouter("near_limit.json", None, None);
        assert_eq!(near.windows.len(), 1, "no credits, no balance window");
        assert_eq!(near.windows["weekly"].utilization, 92.0);
        assert_eq!(
            near.windows["weekly"].resets_at.unwrap().to_string(),
            "2026-11-23T00:00:00Z",
            "the Monday after Saturday the 21st"
        );

        let spent = openrouter("exhausted.json", Some("credits_exhausted.json"), None);
        assert_eq!(spent.windows["limit"].utilization, 100.0);
        assert_eq!(
            spent.windows["limit"].resets_at, None,
            "a limit that never resets"
        );
        assert_eq!(spent.windows["balance"].status, Some(Level::Red));

        let unlimited = openrouter("unlimited.json", Some("credits_ok.json"), None);
        assert_eq!(
            unlimited.windows.keys().collect::<Vec<_>>(),
            ["balance"],
            "`limit: null`: no key window"
        );
        let blind = openrouter("unlimited.json", None, None);
        assert!(blind.windows.is_empty() && blind.error.is_none());

        assert_eq!(
            parse(&fixture("openrouter", "error.json"), None, None, now()).unwrap_err(),
            "error: User not found."
        );
        assert!(
            parse(&fixture("openrouter", "malformed.json"), None, None, now())
                .unwrap_err()
                .starts_with("unexpected answer for the key")
        );
        let key = fixture("openrouter", "ok.json");
        assert_eq!(
            parse(&key, Some(r#"{"data": {"total_credits": 5}}"#), None, now()).unwrap_err(),
            "no `total_credits` and `total_usage` in the credits"
        );
        assert_eq!(
            parse(
                r#"{"data": {"limit": 10, "limit_remaining": null}}"#,
                None,
                None,
                now()
            )
            .unwrap_err(),
            "the key has a `limit` but no `limit_remaining`"
        );
        assert!(parse("<html>", None, None, now()).is_err());
    }

    #[test]
    fn resets_follow_openrouter_periods() {
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        let next = |p, now| next_reset(p, at(now)).map(|t| t.to_string());
        assert_eq!(
            next("daily", "2026-11-21T23:59:59Z").as_deref(),
            Some("2026-11-22T00:00:00Z")
        );
        assert_eq!(
            next("weekly", "2026-11-23T00:00:00Z").as_deref(),
            Some("2026-11-30T00:00:00Z"),
            "on a Monday, the next Monday"
        );
        assert_eq!(
            next("monthly", "2026-12-31T12:00:00Z").as_deref(),
            Some("2027-01-01T00:00:00Z")
        );
        assert_eq!(next("yearly", "2026-12-31T12:00:00Z"), None);
    }

    async fn serve(server: &MockServer, route: &str, status: u16, body: String) {
        Mock::given(method("GET"))
            .and(path(route))
            .and(header("authorization", "Bearer or-key"))
            .respond_with(ResponseTemplate::new(status).set_body_string(body))
            .expect(1)
            .mount(server)
            .await;
    }

    fn source(server: &MockServer, dir: &std::path::Path) -> std::sync::Arc<dyn Provider> {
        let entry = format!("{{kind: 'openrouter', base_url: '{}'}}", server.uri());
        build(&entry, dir, &[("OPENROUTER_API_KEY", "or-key")]).unwrap()
    }

    #[tokio::test]
    async fn fetches_the_key_and_the_credits() {
        let server = MockServer::start().await;
        serve(&server, KEY_PATH, 200, fixture("openrouter", "ok.json")).await;
        serve(
            &server,
            CREDITS_PATH,
            200,
            fixture("openrouter", "credits_ok.json"),
        )
        .await;
        let dir = tempfile::tempdir().unwrap();
        let source = source(&server, dir.path());
        assert!(source.found());
        let reports = fetch(source.as_ref(), now()).await.unwrap();
        let windows = &reports["openrouter"].windows;
        assert_eq!(windows.keys().collect::<Vec<_>>(), ["balance", "monthly"]);
    }

    #[tokio::test]
    async fn credits_refused_to_an_ordinary_key_are_left_out() {
        let server = MockServer::start().await;
        serve(
            &server,
            KEY_PATH,
            200,
            fixture("openrouter", "near_limit.json"),
        )
        .await;
        serve(
            &server,
            CREDITS_PATH,
            403,
            fixture("openrouter", "error.json"),
        )
        .await;
        let dir = tempfile::tempdir().unwrap();
        let reports = fetch(source(&server, dir.path()).as_ref(), now())
            .await
            .unwrap();
        assert_eq!(
            reports["openrouter"].windows.keys().collect::<Vec<_>>(),
            ["weekly"]
        );
    }

    #[tokio::test]
    async fn credits_that_fail_otherwise_fail_the_poll() {
        let server = MockServer::start().await;
        serve(&server, KEY_PATH, 200, fixture("openrouter", "ok.json")).await;
        serve(&server, CREDITS_PATH, 503, String::new()).await;
        let dir = tempfile::tempdir().unwrap();
        let err = fetch(source(&server, dir.path()).as_ref(), now())
            .await
            .unwrap_err();
        assert_eq!(err.error, "HTTP 503");
    }

    #[tokio::test]
    async fn a_rejected_key_names_the_fix_and_a_missing_one_says_where_to_put_it() {
        let refusal = fixture("openrouter", "error.json");
        let (missing, hints) = ("{kind: 'openrouter'}", ["$OPENROUTER_API_KEY"]);
        key_handling("openrouter", KEY_PATH, &refusal, missing, &hints).await;
    }
}
