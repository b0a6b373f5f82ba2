//! The `minimax` source: the MiniMax coding plan, global (`api.minimax.io`) or China
//! (`api.minimaxi.com`). Every model family has its own counters, so each entry gives windows
//! scoped to its model: the rolling five-hour one, named after the model, and a weekly one.
//!
//! The counters are named `*_usage_count` but hold what is **left**: used = total − that.

use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;

use crate::quota::{Report, Window};

use super::keyed::{Endpoint, Keyed, KeyedSource};
use super::{Fetch, Poll, Reports, number};

const PATH: &str = "/v1/api/openplatform/coding_plan/remains";
/// What a body-level "invalid key" answer adds; a 401 names where the key came from.
const KEY_HINT: &str = "check the API key";

const VARS: &[&str] = &["MINIMAX_CODING_API_KEY", "MINIMAX_API_KEY"];

pub const KIND: Keyed = Keyed {
    name: "minimax",
    global: Endpoint {
        url: "https://api.minimax.io",
        vars: VARS,
        opencode_ids: &["minimax-coding-plan", "minimax"],
    },
    china: Some(Endpoint {
        url: "https://api.minimaxi.com",
        vars: VARS,
        opencode_ids: &["minimax-cn-coding-plan", "minimax-cn"],
    }),
    fetch,
};

fn fetch<'a>(source: &'a KeyedSource, poll: &'a Poll<'a>) -> Fetch<'a> {
    Box::pin(source.get(poll, PATH, |body| parse(body, poll.now)))
}

#[derive(Deserialize)]
struct Answer {
    base_resp: Option<BaseResp>,
    model_remains: Option<Vec<Remain>>,
}

#[derive(Deserialize)]
struct BaseResp {
    #[serde(default, deserialize_with = "number::optional")]
    status_code: Option<f64>,
    status_msg: Option<String>,
}

#[derive(Deserialize)]
struct Remain {
    model_name: Option<String>,
    #[serde(default, deserialize_with = "number::optional")]
    current_interval_total_count: Option<f64>,
    /// What is left, despite the name.
    #[serde(default, deserialize_with = "number::optional")]
    current_interval_usage_count: Option<f64>,
    #[serde(default, deserialize_with = "number::optional")]
    end_time: Option<f64>,
    #[serde(default, deserialize_with = "number::optional")]
    remains_time: Option<f64>,
    #[serde(default, deserialize_with = "number::optional")]
    current_weekly_total_count: Option<f64>,
    /// What is left this week, despite the name.
    #[serde(default, deserialize_with = "number::optional")]
    current_weekly_usage_count: Option<f64>,
    #[serde(default, deserialize_with = "number::optional")]
    weekly_end_time: Option<f64>,
    #[serde(default, deserialize_with = "number::optional")]
    weekly_remains_time: Option<f64>,
}

/// Parses an answer of the remains endpoint; `now` dates resets given as time left.
pub fn parse(body: &str, now: Timestamp) -> Result<Reports, String> {
    let answer: Answer =
        serde_json::from_str(body).map_err(|e| format!("unexpected answer ({e})"))?;
    if let Some(base) = &answer.base_resp
        && let Some(code) = base.status_code.filter(|c| *c != 0.0)
    {
        let msg = base.status_msg.as_deref().unwrap_or("no message");
        let hint = if code == 1004.0 {
            format!("; {KEY_HINT}")
        } else {
            String::new()
        };
        return Err(format!("error {code}: {msg}{hint}"));
    }
    let remains = answer
        .model_remains
        .ok_or("no `model_remains` in the answer")?;
    let mut report = Report::default();
    for (i, entry) in remains.iter().enumerate() {
        let name = entry
            .model_name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| format!("model_{i}"));
        let scope = scope(entry.model_name.as_deref());
        let windows = [
            (
                name.clone(),
                Counters {
                    total: entry.current_interval_total_count,
                    left: entry.current_interval_usage_count,
                    end_ms: entry.end_time,
                    left_ms: entry.remains_time,
                },
            ),
            (
                format!("{name}_weekly"),
                Counters {
                    total: entry.current_weekly_total_count,
                    left: entry.current_weekly_usage_count,
                    end_ms: entry.weekly_end_time,
                    left_ms: entry.weekly_remains_time,
                },
            ),
        ];
        for (name, counters) in windows {
            if let Some(mut window) = counters.window(&name, now)? {
                window.models = scope.clone();
                report.windows.insert(name, window);
            }
        }
    }
    if report.windows.is_empty() {
        return Err("no model with a quota in the answer".to_owned());
    }
    Ok(Reports::from([("minimax".to_owned(), report)]))
}

/// The models an entry governs. Plan entries name families with a wildcard (`MiniMax-M*`); the
/// scope is a substring match, so the part before the wildcard is what model ids contain.
fn scope(model_name: Option<&str>) -> Option<Vec<String>> {
    let name = model_name?.split('*').next()?.trim();
    (!name.is_empty()).then(|| vec![name.to_owned()])
}

struct Counters {
    total: Option<f64>,
    left: Option<f64>,
    end_ms: Option<f64>,
    left_ms: Option<f64>,
}

impl Counters {
    /// The window, or `None` where the entry has no such quota (no total, or a total of 0).
    fn window(&self, name: &str, now: Timestamp) -> Result<Option<Window>, String> {
        let Some(total) = self.total.filter(|t| *t > 0.0) else {
            return Ok(None);
        };
        let left = self
            .left
            .ok_or_else(|| format!("no remaining count for {name}"))?;
        let resets_at = match (self.end_ms.filter(|ms| *ms > 0.0), self.left_ms) {
            (Some(end), _) => Timestamp::from_millisecond(end as i64).ok(),
            (None, Some(ms)) => now
                .checked_add(SignedDuration::from_millis(ms.max(0.0) as i64))
                .ok(),
            (None, None) => None,
        };
        Ok(Some(Window {
            utilization: ((total - left) / total * 100.0).clamp(0.0, 100.0),
            resets_at,
            status: None,
            models: None,
        }))
    }
}

#[cfg(test)]
mod tests {
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;
    use crate::source::keyed::testing::key_handling;
    use crate::source::testing::{build, fetch, fixture, now};

    fn minimax(name: &str) -> Report {
        parse(&fixture("minimax", name), now()).unwrap()["minimax"].clone()
    }

    #[test]
    fn parses_every_fixture() {
        let ok = minimax("ok.json");
        let names: Vec<&str> = ok.windows.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "MiniMax-M*",
                "MiniMax-M*_weekly",
                "speech-hd",
                "speech-hd_weekly"
            ],
            "entries with a total of 0 are left out"
        );
        let five = &ok.windows["MiniMax-M*"];
        assert!((five.utilization - 10.0).abs() < 1e-9, "1350 of 1500 left");
        assert_eq!(five.models, Some(vec!["MiniMax-M".to_owned()]));
        assert!(five.applies_to("minimax/MiniMax-M2.5"));
        assert!(!five.applies_to("speech-hd"));
        assert_eq!(
            five.resets_at.unwrap().to_string(),
            "2026-11-21T15:00:00Z",
            "from end_time in ms"
        );
        let weekly = &ok.windows["MiniMax-M*_weekly"];
        assert!((weekly.utilization - 30.0).abs() < 1e-9);
        assert_eq!(
            weekly.resets_at.unwrap().to_string(),
            "2026-11-24T00:00:00Z"
        );
        assert_eq!(
            ok.windows["speech-hd"].resets_at.unwrap().to_string(),
            "2026-11-21T14:00:00Z",
            "no end_time: now + remains_time"
        );
        assert_eq!(
            ok.windows["speech-hd"].utilization, 25.0,
            "counts as strings"
        );

        let near = minimax("near_limit.json");
        assert!((near.windows["MiniMax-M*"].utilization - 92.0).abs() < 1e-9);
        assert!(
            !near.windows.contains_key("MiniMax-M*_weekly"),
            "no weekly fields, no weekly window"
        );
        let spent = minimax("exhausted.json");
        assert_eq!(spent.windows["MiniMax-M*"].utilization, 100.0);
        assert_eq!(spent.windows["MiniMax-M*_weekly"].utilization, 100.0);

        let err = parse(&fixture("minimax", "error.json"), now()).unwrap_err();
        assert!(err.starts_with("error 1004: login fail"), "{err}");
        assert!(err.ends_with(KEY_HINT), "{err}");
        assert!(
            parse(&fixture("minimax", "malformed.json"), now())
                .unwrap_err()
                .starts_with("unexpected answer")
        );
        assert_eq!(
            parse(
                r#"{"base_resp": {"status_code": 0}, "model_remains": null}"#,
                now()
            )
            .unwrap_err(),
            "no `model_remains` in the answer"
        );
        assert_eq!(
            parse(
                r#"{"model_remains": [{"model_name": "m", "current_interval_total_count": 10}]}"#,
                now()
            )
            .unwrap_err(),
            "no remaining count for m"
        );
        assert_eq!(
            parse(r#"{"model_remains": []}"#, now()).unwrap_err(),
            "no model with a quota in the answer"
        );
        assert!(parse("<html>", now()).is_err());
    }

    #[tokio::test]
    async fn fetches_with_a_bearer_key() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(PATH))
            .and(header("authorization", "Bearer mm-coding"))
            .respond_with(
                ResponseTemplate::new(200).set_body_string(fixture("minimax", "near_limit.json")),
            )
            .expect(1)
            .mount(&server)
            .await;
        let dir = tempfile::tempdir().unwrap();
        let entry = format!(
            "{{kind: 'minimax', region: 'china', base_url: '{}'}}",
            server.uri()
        );
        let vars = [
            ("MINIMAX_API_KEY", "mm-general"),
            ("MINIMAX_CODING_API_KEY", "mm-coding"),
        ];
        let source = build(&entry, dir.path(), &vars).unwrap();
        assert!(source.found());
        assert_eq!(source.label(), "minimax (china)");
        let reports = fetch(source.as_ref(), now()).await.unwrap();
        assert!((reports["minimax"].windows["MiniMax-M*"].utilization - 92.0).abs() < 1e-9);
    }

    #[tokio::test]
    async fn a_bad_key_in_the_body_is_an_error_with_the_fix() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(
                ResponseTemplate::new(200).set_body_string(fixture("minimax", "error.json")),
            )
            .mount(&server)
            .await;
        let dir = tempfile::tempdir().unwrap();
        let entry = format!(
            "{{kind: 'minimax', base_url: '{}', api_key: 'sk-canary-3'}}",
            server.uri()
        );
        let err = fetch(build(&entry, dir.path(), &[]).unwrap().as_ref(), now())
            .await
            .unwrap_err();
        assert!(err.error.contains("check the API key"), "{}", err.error);
        assert!(!err.error.contains("canary"));
    }

    #[tokio::test]
    async fn a_rejected_key_names_the_fix_and_a_missing_one_says_where_to_put_it() {
        let hints = ["$MINIMAX_CODING_API_KEY, $MINIMAX_API_KEY"];
        key_handling("minimax", PATH, "", "{kind: 'minimax'}", &hints).await;
    }
}
