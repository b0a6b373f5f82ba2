//! The `minimax` source: the MiniMax Token Plan (formerly coding plan), global (`api.minimax.io`)
//! or China (`api.minimaxi.com`). Every row has its own quota, so each gives windows scoped to
//! what it governs: the rolling interval one, named after the row, and a weekly one. The row
//! `general` is the text quota of the MiniMax-M models; `video`, `image`, speech, music and the
//! coding plan's `coding-plan-vlm`/`-search` govern only themselves.
//!
//! Token Plan rows zero their counts and give `*_remaining_percent` (percent **left**) with a
//! status (2: spent, 3: no limit). Older rows count instead, and their `*_usage_count` holds
//! what is **left**, despite its name: used = total − that.

use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;

use crate::quota::{Level, Report, Window};

use super::keyed::{Endpoint, Keyed, KeyedSource};
use super::{Fetch, Poll, Reports, number};

/// Where current plans are read; the older coding-plan path answers the same shape.
const TOKEN_PLAN: &str = "/v1/token_plan/remains";
const PATH: &str = "/v1/api/openplatform/coding_plan/remains";

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

/// The Token Plan path first, the coding-plan path when that one gives no answer (a refused key
/// or a rate limit is the answer, and is not asked twice).
fn fetch<'a>(source: &'a KeyedSource, poll: &'a Poll<'a>) -> Fetch<'a> {
    Box::pin(async move {
        match source
            .get(poll, TOKEN_PLAN, |body| parse(body, poll.now))
            .await
        {
            Err(f) if !f.credential && f.status != Some(429) => {
                source.get(poll, PATH, |body| parse(body, poll.now)).await
            }
            answer => answer,
        }
    })
}

#[derive(Deserialize)]
struct Answer {
    base_resp: Option<BaseResp>,
    model_remains: Option<Vec<Remain>>,
    /// The web endpoint's wrapper: `{"data": {"model_remains": […]}}`.
    data: Option<Data>,
}

#[derive(Deserialize)]
struct Data {
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
    #[serde(default, deserialize_with = "number::optional")]
    current_interval_remaining_percent: Option<f64>,
    #[serde(default, deserialize_with = "number::optional")]
    current_weekly_remaining_percent: Option<f64>,
    #[serde(default, deserialize_with = "number::optional")]
    current_interval_status: Option<f64>,
    #[serde(default, deserialize_with = "number::optional")]
    current_weekly_status: Option<f64>,
}

/// What a body-level error code means, beside its message.
fn error_hint(code: f64) -> &'static str {
    match code as i64 {
        1004 | 2049 => "; check the API key",
        _ => "",
    }
}

/// `base_resp.status_code` of a plan whose quota is used up.
const SPENT: f64 = 2056.0;

/// Parses an answer of either remains endpoint; `now` dates resets given as time left.
pub fn parse(body: &str, now: Timestamp) -> Result<Reports, String> {
    let answer: Answer =
        serde_json::from_str(body).map_err(|e| format!("unexpected answer ({e})"))?;
    if let Some(base) = &answer.base_resp
        && let Some(code) = base.status_code.filter(|c| *c != 0.0)
    {
        let msg = base.status_msg.as_deref().unwrap_or("no message");
        if code == SPENT {
            // The plan's usage limit, said as an error: the one reading that is never GREEN.
            let report = Report {
                status: Some(Level::Red),
                ..Report::default()
            };
            return Ok(Reports::from([("minimax".to_owned(), report)]));
        }
        return Err(format!("error {code}: {msg}{}", error_hint(code)));
    }
    let remains = answer
        .data
        .and_then(|d| d.model_remains)
        .or(answer.model_remains)
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
                    left_percent: entry.current_interval_remaining_percent,
                    status: entry.current_interval_status,
                    end_ms: entry.end_time,
                    left_ms: entry.remains_time,
                },
            ),
            (
                format!("{name}_weekly"),
                Counters {
                    total: entry.current_weekly_total_count,
                    left: entry.current_weekly_usage_count,
                    left_percent: entry.current_weekly_remaining_percent,
                    status: entry.current_weekly_status,
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

/// The models a row governs. `general` is the text quota of the MiniMax-M models; other rows
/// name a model, or a family with a wildcard (`MiniMax-M*`). The scope is a substring match, so
/// the part before the wildcard is what model ids contain.
fn scope(model_name: Option<&str>) -> Option<Vec<String>> {
    let name = model_name?.split('*').next()?.trim();
    if name.eq_ignore_ascii_case("general") {
        return Some(vec![TEXT_MODELS.to_owned()]);
    }
    (!name.is_empty()).then(|| vec![name.to_owned()])
}

/// What the ids of MiniMax's text models contain (`MiniMax-M2.5`).
const TEXT_MODELS: &str = "MiniMax-M";

/// A window's status: spent (2), or without a limit (3).
const STATUS_SPENT: f64 = 2.0;
const STATUS_UNLIMITED: f64 = 3.0;

struct Counters {
    total: Option<f64>,
    left: Option<f64>,
    left_percent: Option<f64>,
    status: Option<f64>,
    end_ms: Option<f64>,
    left_ms: Option<f64>,
}

impl Counters {
    /// The window, or `None` where the row has no such quota: no limit (status 3), or neither
    /// a percentage nor a total to measure against. The percentage left, when given, is the
    /// plan's own figure; a spent status is RED whatever the figures say.
    fn window(&self, name: &str, now: Timestamp) -> Result<Option<Window>, String> {
        if self.status == Some(STATUS_UNLIMITED) {
            return Ok(None);
        }
        let spent = self.status == Some(STATUS_SPENT);
        let counted = match self.total.filter(|t| *t > 0.0) {
            Some(total) => {
                let left = self
                    .left
                    .ok_or_else(|| format!("no remaining count for {name}"))?;
                Some((total - left) / total * 100.0)
            }
            None => None,
        };
        let utilization = match (self.left_percent, counted) {
            (Some(left), _) => 100.0 - left,
            (None, Some(used)) => used,
            (None, None) if spent => 100.0,
            (None, None) => return Ok(None),
        };
        let resets_at = match (self.end_ms.filter(|ms| *ms > 0.0), self.left_ms) {
            (Some(end), _) => Timestamp::from_millisecond(end as i64).ok(),
            (None, Some(ms)) => now
                .checked_add(SignedDuration::from_millis(ms.max(0.0) as i64))
                .ok(),
            (None, None) => None,
        };
        Ok(Some(Window {
            utilization: utilization.clamp(0.0, 100.0),
            resets_at,
            status: spent.then_some(Level::Red),
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
    use crate::source::testing::{at, build, fetch, fixture, judged, now, window};

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
        assert!(err.ends_with("; check the API key"), "{err}");
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

    const MODELS: [&str; 4] = [
        "minimax/MiniMax-M2.5",
        "minimax-cn-coding-plan/MiniMax-M2.7#fast",
        "video",
        "coding-plan-vlm",
    ];

    #[test]
    fn real_answers_of_the_token_plan() {
        // The five-hour window at 89% left (×2 boost); no weekly limit (status 3).
        let plan = minimax("token-plan-2026-06-07-general-89-weekly-unlimited-boost.json");
        assert_eq!(plan.windows.keys().collect::<Vec<_>>(), ["general"]);
        let general = window(&plan, "general", 11.0, Some("2026-06-07T02:00:00Z"));
        assert_eq!(general.models, Some(vec!["MiniMax-M".to_owned()]));
        // The week at 70% left; the video row has no limit at all.
        let plan = minimax("token-plan-general-weekly70-video-status3-codexbar.json");
        assert_eq!(
            plan.windows.keys().collect::<Vec<_>>(),
            ["general", "general_weekly"]
        );
        window(&plan, "general_weekly", 30.0, Some("2026-06-21T16:00:00Z"));
        // The web endpoint's wrapper, percentages as strings.
        let web = minimax("token-plan-data-wrapper-percent-strings-codexbar.json");
        window(&web, "general", 4.0, Some("2026-06-01T07:00:00Z"));
        window(&web, "general_weekly", 1.0, Some("2026-06-07T16:00:00Z"));
        // Trimmed by its reporter: the general row's percentages were cut, so it says nothing;
        // the video row counts 3 of 3 generations left.
        let trimmed = "intl-2026-06-25-general-zero-counts-video-3of3-trimmed-issue150.json";
        let trimmed = minimax(trimmed);
        assert_eq!(trimmed.windows.keys().collect::<Vec<_>>(), ["video"]);
        assert_eq!(trimmed.windows["video"].utilization, 0.0);
    }

    #[test]
    fn real_answers_of_the_coding_plan() {
        let cn = minimax("coding-plan-cn-legacy-counts-vlm-search-hailuo.json");
        assert_eq!(cn.windows.len(), 4);
        let text = &cn.windows["MiniMax-M*"];
        assert!(
            (text.utilization - 123.0 / 45.0).abs() < 1e-9,
            "4377 of 4500 left"
        );
        assert_eq!(text.resets_at.unwrap().to_string(), "2026-04-17T16:00:00Z");
        assert_eq!(
            cn.windows["coding-plan-vlm"].models,
            Some(vec!["coding-plan-vlm".to_owned()])
        );
        let row = fixture(
            "minimax",
            "coding-plan-legacy-minimax-m-1495-of-1500-trimmed-issue2609.json",
        );
        let legacy = parse(&format!(r#"{{"model_remains": [{row}]}}"#), now()).unwrap();
        let legacy = &legacy["minimax"];
        assert!((legacy.windows["MiniMax-M*"].utilization - 1.0 / 3.0).abs() < 1e-9);
        assert!((legacy.windows["MiniMax-M*_weekly"].utilization - 3.133333).abs() < 1e-5);
        for (name, start) in [
            (
                "error-1004-cookie-missing.json",
                "error 1004: cookie is missing",
            ),
            (
                "error-2049-invalid-api-key.json",
                "error 2049: invalid api key",
            ),
        ] {
            let err = parse(&fixture("minimax", name), now()).unwrap_err();
            assert!(err.starts_with(start), "{err}");
            assert!(err.ends_with("; check the API key"), "{err}");
        }
    }

    #[test]
    fn a_spent_quota_is_red_for_the_models_it_governs_only() {
        // The five-hour window spent (status 2, 0% left) with no weekly limit.
        let spent = "token-plan-2026-08-general-5h-spent-status2-weekly-unlimited.json";
        let reports = parse(&fixture("minimax", spent), now()).unwrap();
        let general = window(
            &reports["minimax"],
            "general",
            100.0,
            Some("2026-08-07T05:00:00Z"),
        );
        assert_eq!(general.status, Some(Level::Red));
        let before = at("2026-08-07T02:00:00Z");
        assert_eq!(
            judged(&reports, "minimax", &MODELS, before),
            ["RED", "RED", "GREEN", "GREEN"]
        );
        let spent = "token-plan-intl-2026-08-general-5h-spent-weekly79.json";
        let reports = parse(&fixture("minimax", spent), now()).unwrap();
        window(
            &reports["minimax"],
            "general_weekly",
            21.0,
            Some("2026-08-31T00:00:00Z"),
        );
        let before = at("2026-08-27T18:00:00Z");
        assert_eq!(
            judged(&reports, "minimax", &MODELS, before),
            ["RED", "RED", "GREEN", "GREEN"]
        );
        // A video quota spent governs video only.
        let video = fixture(
            "minimax",
            "token-plan-general-weekly70-video-status3-codexbar.json",
        )
        .replace(
            r#""current_interval_status": 3,
      "current_interval_remaining_percent": 100"#,
            r#""current_interval_status": 2,
      "current_interval_remaining_percent": 0"#,
        );
        let reports = parse(&video, now()).unwrap();
        let before = at("2026-06-21T12:00:00Z");
        assert_eq!(
            judged(&reports, "minimax", &MODELS, before),
            ["GREEN", "GREEN", "RED", "GREEN"]
        );
        // A spent status without a figure, and the plan's limit said as an error.
        let bare =
            r#"{"model_remains": [{"model_name": "general", "current_interval_status": 2}]}"#;
        let reports = parse(bare, now()).unwrap();
        assert_eq!(reports["minimax"].windows["general"].utilization, 100.0);
        let limit = r#"{"base_resp": {"status_code": 2056, "status_msg": "usage limit exceeded"}}"#;
        assert_eq!(
            parse(limit, now()).unwrap()["minimax"].status,
            Some(Level::Red)
        );
    }

    #[tokio::test]
    async fn the_token_plan_path_first_then_the_coding_plan() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(TOKEN_PLAN))
            .respond_with(ResponseTemplate::new(200).set_body_string(fixture(
                "minimax",
                "token-plan-intl-2026-08-general-5h-spent-weekly79.json",
            )))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(PATH))
            .respond_with(ResponseTemplate::new(200))
            .expect(0)
            .mount(&server)
            .await;
        let dir = tempfile::tempdir().unwrap();
        let entry = format!("{{kind: 'minimax', base_url: '{}'}}", server.uri());
        let source = build(&entry, dir.path(), &[("MINIMAX_API_KEY", "k")]).unwrap();
        let reports = fetch(source.as_ref(), now()).await.unwrap();
        assert!(reports["minimax"].windows.contains_key("general_weekly"));
    }

    #[tokio::test]
    async fn an_opencode_china_login_asks_the_china_host() {
        let dir = tempfile::tempdir().unwrap();
        crate::source::testing::write(
            dir.path(),
            "data/opencode/auth.json",
            r#"{"minimax-cn-coding-plan": {"type": "api", "key": "cn-key"}}"#,
        );
        let source = build("{kind: 'minimax'}", dir.path(), &[]).unwrap();
        assert_eq!(source.label(), "minimax (china)");
        assert!(source.id().starts_with("minimax:https://api.minimaxi.com/"));
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
        key_handling("minimax", TOKEN_PLAN, "", "{kind: 'minimax'}", &hints).await;
    }
}
