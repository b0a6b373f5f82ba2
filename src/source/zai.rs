//! The `zai` source: the GLM coding plan of Z.ai (global) or BigModel (China), from its quota
//! monitor endpoint. Its token limits (`TOKENS_LIMIT`) or, on credit-based plans, its credit
//! limits (`CREDIT_LIMIT`) are the five-hour and weekly windows over every GLM model;
//! `TIME_LIMIT` entries count web-search and MCP calls, not coding, and are left out.

use serde::Deserialize;

use crate::quota::{Report, Window};

use super::keyed::{Endpoint, Keyed, KeyedSource};
use super::{Fetch, Poll, Reports};

const PATH: &str = "/api/monitor/usage/quota/limit";

pub const KIND: Keyed = Keyed {
    name: "zai",
    global: Endpoint {
        url: "https://api.z.ai",
        vars: &["Z_AI_API_KEY"],
        opencode_ids: &["zai-coding-plan", "zai"],
    },
    china: Some(Endpoint {
        url: "https://open.bigmodel.cn",
        vars: &["ZHIPU_API_KEY", "BIGMODEL_API_KEY"],
        opencode_ids: &["zhipuai-coding-plan", "zhipuai"],
    }),
    fetch,
};

fn fetch<'a>(source: &'a KeyedSource, poll: &'a Poll<'a>) -> Fetch<'a> {
    Box::pin(source.get(poll, PATH, parse))
}

#[derive(Deserialize)]
struct Answer {
    success: Option<bool>,
    msg: Option<String>,
    code: Option<i64>,
    data: Option<Data>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(default)]
    limits: Vec<Limit>,
}

#[derive(Deserialize)]
struct Limit {
    #[serde(rename = "type")]
    kind: String,
    unit: Option<i64>,
    number: Option<i64>,
    percentage: Option<f64>,
    /// The allowance and what is used of it (credits or tokens), for an entry without a
    /// `percentage`.
    usage: Option<f64>,
    #[serde(rename = "currentValue")]
    current_value: Option<f64>,
    #[serde(rename = "nextResetTime")]
    next_reset_ms: Option<i64>,
}

/// The entry types that limit coding.
const CODING: [&str; 2] = ["TOKENS_LIMIT", "CREDIT_LIMIT"];

/// Parses an answer of the quota endpoint. It answered when `success` is true, or when it says
/// nothing of success and `code` is 200 (some answers leave `success` out). A window is named
/// by its `unit` (3 is hours, 6 weeks), never by its place in the list; one given both as tokens
/// and as credits counts once, at its worse. A window without `nextResetTime` (an idle one) has
/// no reset.
pub fn parse(body: &str) -> Result<Reports, String> {
    let answer: Answer =
        serde_json::from_str(body).map_err(|e| format!("unexpected answer ({e})"))?;
    let answered = match answer.success {
        Some(success) => success,
        None => answer.code == Some(200),
    };
    if !answered {
        let code = answer.code.map_or_else(String::new, |c| format!(" {c}"));
        let hint = match answer.code {
            Some(401 | 1001) => "; check the API key",
            _ => "",
        };
        return Err(format!(
            "error{code}: {}{hint}",
            answer.msg.as_deref().unwrap_or("no message")
        ));
    }
    let data = answer.data.ok_or("no `data` in the answer")?;
    let mut report = Report::default();
    for limit in data
        .limits
        .iter()
        .filter(|l| CODING.contains(&l.kind.as_str()))
    {
        let name = match (limit.unit, limit.number) {
            (Some(3), Some(5)) => "five_hour".to_owned(),
            (Some(6), _) => "weekly".to_owned(),
            (unit, number) => format!("tokens_{}_{}", unit.unwrap_or(0), number.unwrap_or(0)),
        };
        let from_counts = match (limit.current_value, limit.usage) {
            (Some(used), Some(total)) if total > 0.0 => Some(used / total * 100.0),
            _ => None,
        };
        let utilization = limit
            .percentage
            .or(from_counts)
            .ok_or_else(|| format!("no `percentage` for {name}"))?;
        let resets_at = limit
            .next_reset_ms
            .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok());
        let window = Window {
            utilization,
            resets_at,
            status: None,
            models: None,
        };
        report.keep_worse(name, window);
    }
    if report.windows.is_empty() {
        return Err("no token or credit limits in the answer".to_owned());
    }
    Ok(Reports::from([("zai".to_owned(), report)]))
}

#[cfg(test)]
mod tests {
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;
    use crate::source::keyed::testing::key_handling;
    use crate::source::testing::{at, build, fetch, fixture, judged, now, window, write};

    #[test]
    fn parses_every_fixture() {
        let ok = parse(&fixture("zai", "ok.json")).unwrap();
        let zai = &ok["zai"];
        assert_eq!(zai.windows.len(), 2, "TIME_LIMIT is not a coding window");
        assert_eq!(zai.windows["five_hour"].utilization, 21.0);
        assert_eq!(
            zai.windows["five_hour"].resets_at.unwrap().to_string(),
            "2026-11-21T15:00:00Z"
        );
        assert_eq!(zai.windows["weekly"].utilization, 35.0);
        assert_eq!(
            parse(&fixture("zai", "near_limit.json")).unwrap()["zai"].windows["five_hour"]
                .utilization,
            92.0
        );
        assert_eq!(
            parse(&fixture("zai", "exhausted.json")).unwrap()["zai"].windows["weekly"].utilization,
            100.0
        );
        assert_eq!(
            parse(&fixture("zai", "error.json")).unwrap_err(),
            "error 1001: Authorization token is invalid; check the API key"
        );
        assert!(
            parse(&fixture("zai", "malformed.json"))
                .unwrap_err()
                .starts_with("unexpected answer")
        );
        assert!(parse("<html>").is_err());
    }

    fn zai(name: &str) -> Report {
        parse(&fixture("zai", name)).unwrap()["zai"].clone()
    }

    #[test]
    fn real_answers_of_credit_based_plans() {
        // China Lite, 2026-10: an idle five-hour window has no reset; the week at 15%.
        let lite = zai("cn-lite-2026-10-06-credit-5h-idle-no-reset.json");
        window(&lite, "five_hour", 0.0, None);
        window(&lite, "weekly", 15.0, Some("2026-10-12T05:12:37.965Z"));
        // Global Pro, 2026-09: no `success` key, code 200: an answer.
        let pro = zai("intl-pro-2026-09-18-credit-3-2-paseo5057.json");
        window(&pro, "five_hour", 3.0, Some("2026-09-18T18:57:34.621Z"));
        window(&pro, "weekly", 2.0, Some("2026-09-25T07:40:46.98Z"));
        let cn = zai("cn-pro-2026-08-16-credit-5h57-weekly11.json");
        window(&cn, "five_hour", 57.0, Some("2026-08-16T05:31:28.851Z"));
        let max = zai("max-2026-08-10-credit-5h16-weekly59.json");
        window(&max, "five_hour", 16.0, Some("2026-08-10T11:24:01.347Z"));
        window(&max, "weekly", 59.0, Some("2026-08-15T06:00:09.998Z"));
        let trimmed = zai("max-2026-08-17-credit-weekly74-trimmed.json");
        window(&trimmed, "weekly", 74.0, Some("2026-08-24T13:18:08.998Z"));
        assert!(
            trimmed.windows.values().all(|w| w.models.is_none()),
            "every GLM model"
        );
    }

    #[test]
    fn real_answers_of_token_based_plans() {
        // TIME_LIMIT (web search, MCP) is no coding window, with or without its unit.
        let max = zai("max-2026-09-15-time-limit-and-5h-only.json");
        assert_eq!(max.windows.len(), 1);
        window(&max, "five_hour", 2.0, Some("2026-09-15T14:19:14.483Z"));
        let max = zai("max-tokens-weekly61-time-limit-without-unit.json");
        assert_eq!(max.windows.len(), 2);
        window(&max, "weekly", 61.0, Some("2026-08-09T07:01:12.998Z"));
        let legacy = zai("legacy-max-tokens-5h-only-800m.json");
        window(&legacy, "five_hour", 15.0, Some("2026-02-09T14:46:42.389Z"));
        let pro = zai("pro-tokens-5h17-weekly3-time-limit-anonymised.json");
        assert_eq!(pro.windows.len(), 2);
        window(&pro, "five_hour", 17.0, Some("2026-06-29T09:22:51.179Z"));
        let pro = zai("pro-tokens-5h3-weekly20-time-limit-dntproxy.json");
        window(&pro, "weekly", 20.0, Some("2026-09-02T10:27:15.998Z"));
        for (name, message) in [
            ("error-401-token-expired.json", "token expired or incorrect"),
            ("error-401-cn-token-expired.json", "令牌已过期或验证不正确"),
        ] {
            assert_eq!(
                parse(&fixture("zai", name)).unwrap_err(),
                format!("error 401: {message}; check the API key")
            );
        }
    }

    #[test]
    fn a_spent_window_is_red_for_every_glm_model() {
        let models = [
            "zai-coding-plan/glm-4.6",
            "glm-4.5-air",
            "zhipuai-coding-plan/glm-5",
        ];
        let spent = parse(&fixture("zai", "pro-tokens-5h-spent-100-weekly30.json")).unwrap();
        window(
            &spent["zai"],
            "five_hour",
            100.0,
            Some("2026-09-02T07:40:57.373Z"),
        );
        window(
            &spent["zai"],
            "weekly",
            30.0,
            Some("2026-09-08T11:31:40.992Z"),
        );
        let before = at("2026-09-02T05:00:00Z");
        assert_eq!(judged(&spent, "zai", &models, before), ["RED"; 3]);
        // The same, in credits.
        let credits = fixture("zai", "cn-pro-2026-08-16-credit-5h57-weekly11.json")
            .replace(r#""percentage": 57"#, r#""percentage": 100"#);
        let spent = parse(&credits).unwrap();
        let before = at("2026-08-16T03:00:00Z");
        assert_eq!(judged(&spent, "zai", &models, before), ["RED"; 3]);
        // Given twice (tokens and credits), the worse counts; a percentage left out comes
        // from the counts.
        let both = parse(
            r#"{"code": 200, "data": {"limits": [
                {"type": "TOKENS_LIMIT", "unit": 3, "number": 5, "percentage": 20},
                {"type": "CREDIT_LIMIT", "unit": 3, "number": 5, "usage": 2000, "currentValue": 2000}]}}"#,
        )
        .unwrap();
        window(&both["zai"], "five_hour", 100.0, None);
        assert_eq!(
            parse(r#"{"code": 500, "msg": "no plan"}"#).unwrap_err(),
            "error 500: no plan"
        );
    }

    #[tokio::test]
    async fn an_opencode_china_login_asks_bigmodel() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "data/opencode/auth.json",
            r#"{"zhipuai-coding-plan": {"type": "api", "key": "cn-key"}}"#,
        );
        let source = build("{kind: 'zai'}", dir.path(), &[]).unwrap();
        assert!(source.found());
        assert_eq!(source.label(), "zai (china)");
        assert!(
            source.id().starts_with("zai:https://open.bigmodel.cn/"),
            "{}",
            source.id()
        );
        let global = build("{kind: 'zai', region: 'global'}", dir.path(), &[]).unwrap();
        assert!(
            global.found(),
            "a named region takes the key wherever OpenCode filed it"
        );
        assert_eq!(global.label(), "zai");
        let both = build("{kind: 'zai'}", dir.path(), &[("Z_AI_API_KEY", "k")]).unwrap();
        assert_eq!(both.label(), "zai", "a global key first");
    }

    #[tokio::test]
    async fn fetches_with_a_bearer_key() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(PATH))
            .and(header("authorization", "Bearer zai-key"))
            .respond_with(
                ResponseTemplate::new(200).set_body_string(fixture("zai", "near_limit.json")),
            )
            .expect(1)
            .mount(&server)
            .await;
        let dir = tempfile::tempdir().unwrap();
        let entry = format!("{{kind: 'zai', base_url: '{}'}}", server.uri());
        let source = build(&entry, dir.path(), &[("Z_AI_API_KEY", "zai-key")]).unwrap();
        assert!(source.found());
        let reports = fetch(source.as_ref(), now()).await.unwrap();
        assert_eq!(reports["zai"].windows["five_hour"].utilization, 92.0);
    }

    #[tokio::test]
    async fn a_rejected_key_names_the_fix_and_a_missing_one_says_where_to_put_it() {
        let missing = "{kind: 'zai', region: 'china'}";
        key_handling("zai", PATH, "", missing, &["$ZHIPU_API_KEY"]).await;
    }

    #[test]
    fn plain_http_only_on_loopback() {
        let dir = tempfile::tempdir().unwrap();
        let err = build(
            "{kind: 'zai', base_url: 'http://zai.example'}",
            dir.path(),
            &[],
        )
        .unwrap_err();
        assert_eq!(err.0, "base_url");
    }
}
