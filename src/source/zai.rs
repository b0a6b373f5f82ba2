//! The `zai` source: the GLM coding plan of Z.ai (global) or BigModel (China), from its quota
//! monitor endpoint. Its token limits are the five-hour and weekly windows; `TIME_LIMIT` entries
//! count web-search and MCP calls, not coding, and are left out.

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
    },
    china: Some(Endpoint {
        url: "https://open.bigmodel.cn",
        vars: &["ZHIPU_API_KEY", "BIGMODEL_API_KEY"],
    }),
    opencode_ids: &["zai-coding-plan", "zai"],
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
    #[serde(rename = "nextResetTime")]
    next_reset_ms: Option<i64>,
}

/// Parses an answer of the quota endpoint.
pub fn parse(body: &str) -> Result<Reports, String> {
    let answer: Answer =
        serde_json::from_str(body).map_err(|e| format!("unexpected answer ({e})"))?;
    if answer.success != Some(true) {
        let code = answer.code.map_or_else(String::new, |c| format!(" {c}"));
        return Err(format!(
            "error{code}: {}",
            answer.msg.as_deref().unwrap_or("no message")
        ));
    }
    let data = answer.data.ok_or("no `data` in the answer")?;
    let mut report = Report::default();
    for limit in data.limits.iter().filter(|l| l.kind == "TOKENS_LIMIT") {
        let name = match (limit.unit, limit.number) {
            (Some(3), Some(5)) => "five_hour".to_owned(),
            (Some(6), Some(1)) => "weekly".to_owned(),
            (unit, number) => format!("tokens_{}_{}", unit.unwrap_or(0), number.unwrap_or(0)),
        };
        let utilization = limit
            .percentage
            .ok_or_else(|| format!("no `percentage` for {name}"))?;
        let resets_at = limit
            .next_reset_ms
            .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok());
        report.windows.insert(
            name,
            Window {
                utilization,
                resets_at,
                status: None,
                models: None,
            },
        );
    }
    if report.windows.is_empty() {
        return Err("no token limits in the answer".to_owned());
    }
    Ok(Reports::from([("zai".to_owned(), report)]))
}

#[cfg(test)]
mod tests {
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;
    use crate::source::keyed::testing::key_handling;
    use crate::source::testing::{build, fetch, fixture, now};

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
            "error 1001: Authorization token is invalid"
        );
        assert!(
            parse(&fixture("zai", "malformed.json"))
                .unwrap_err()
                .starts_with("unexpected answer")
        );
        assert!(parse("<html>").is_err());
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
