//! The `moonshot` source: the prepaid balance of a Moonshot (Kimi) open-platform account, global
//! (`api.moonshot.ai`, USD) or China (`api.moonshot.cn`, CNY). A balance has no reset and no
//! percentage of its own: it becomes the `balance` window through [`balance::window`].

use serde::Deserialize;
use serde_json::Value;

use crate::quota::Report;

use super::keyed::{Endpoint, Keyed, KeyedSource};
use super::{Fetch, Poll, Reports, balance, number};

const PATH: &str = "/v1/users/me/balance";

pub const KIND: Keyed = Keyed {
    name: "moonshot",
    global: Endpoint {
        url: "https://api.moonshot.ai",
        vars: &["MOONSHOT_API_KEY"],
        opencode_ids: &["moonshotai", "moonshot"],
    },
    china: Some(Endpoint {
        url: "https://api.moonshot.cn",
        vars: &["MOONSHOT_API_KEY"],
        opencode_ids: &["moonshotai-cn"],
    }),
    fetch,
};

fn fetch<'a>(source: &'a KeyedSource, poll: &'a Poll<'a>) -> Fetch<'a> {
    Box::pin(source.get(poll, PATH, |body| parse(body, source.budget)))
}

#[derive(Deserialize)]
struct Answer {
    #[serde(default, deserialize_with = "number::optional")]
    code: Option<f64>,
    /// A short error name (`url.not_found`) beside `code`, or an OpenAI-style error object.
    error: Option<Value>,
    message: Option<String>,
    data: Option<Data>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(default, deserialize_with = "number::optional")]
    available_balance: Option<f64>,
}

/// Parses an answer of the balance endpoint; `budget` is the amount that counts as 0% used.
pub fn parse(body: &str, budget: Option<f64>) -> Result<Reports, String> {
    let answer: Answer =
        serde_json::from_str(body).map_err(|e| format!("unexpected answer ({e})"))?;
    if let Some(code) = answer.code.filter(|c| *c != 0.0) {
        let what = answer
            .message
            .as_deref()
            .or(answer.error.as_ref().and_then(Value::as_str))
            .unwrap_or("no message");
        return Err(format!("error {code}: {what}"));
    }
    if let Some(error) = answer.error.as_ref().filter(|e| !e.is_null()) {
        let what = ["message", "type"]
            .iter()
            .find_map(|k| error.get(*k).and_then(Value::as_str))
            .or(error.as_str());
        return Err(format!("error: {}", what.unwrap_or("no message")));
    }
    let balance = answer
        .data
        .and_then(|d| d.available_balance)
        .ok_or("no `data.available_balance` in the answer")?;
    let mut report = Report::default();
    report.windows.insert(
        balance::WINDOW.to_owned(),
        balance::window(balance, budget, false),
    );
    Ok(Reports::from([("moonshot".to_owned(), report)]))
}

#[cfg(test)]
mod tests {
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;
    use crate::quota::Level;
    use crate::source::keyed::testing::key_handling;
    use crate::source::testing::{build, fetch, fixture, judged, now};

    fn balance(name: &str, budget: Option<f64>) -> crate::quota::Window {
        parse(&fixture("moonshot", name), budget).unwrap()["moonshot"].windows["balance"].clone()
    }

    #[test]
    fn real_answers() {
        // China's documented example: 49.59 CNY available (vouchers and cash together).
        let doc = balance("doc-cn-example.json", Some(100.0));
        assert!((doc.utilization - 50.41106).abs() < 1e-9);
        assert_eq!(
            balance("doc-cn-example.json", None).status,
            Some(Level::Green)
        );
        let global = balance("global-cash-only-unverified.json", None);
        assert_eq!(global.status, Some(Level::Green));
        // Overdrawn: nothing available, cash in debt (the `data` object alone was published).
        let overdrawn = format!(
            r#"{{"code": 0, "data": {}, "status": true}}"#,
            fixture("moonshot", "cn-overdrawn-data-object-only-xlyra.json")
        );
        let reports = parse(&overdrawn, None).unwrap();
        let models = ["moonshotai/kimi-k2", "moonshotai-cn/kimi-k2-turbo-preview"];
        assert_eq!(judged(&reports, "moonshot", &models, now()), ["RED", "RED"]);
        for (name, error) in [
            (
                "error-401-invalid-authentication.json",
                "error: Invalid Authentication",
            ),
            (
                "error-401-type-only.json",
                "error: invalid_authentication_error",
            ),
            ("error-404-bare-url-not-found.json", "error: url.not_found"),
            ("error-404-code5-url-not-found.json", "error 5: 没找到对象"),
        ] {
            assert_eq!(parse(&fixture("moonshot", name), None).unwrap_err(), error);
        }
    }

    #[test]
    fn parses_every_fixture() {
        let ok = balance("ok.json", None);
        assert_eq!((ok.utilization, ok.status), (0.0, Some(Level::Green)));
        assert_eq!(ok.resets_at, None);
        let ok = balance("ok.json", Some(100.0));
        assert!(
            (ok.utilization - 50.41106).abs() < 1e-9,
            "{}",
            ok.utilization
        );
        assert_eq!(ok.status, None);
        let near = balance("near_limit.json", Some(50.0));
        assert!(
            (near.utilization - 92.6).abs() < 1e-9,
            "{}",
            near.utilization
        );
        let near = balance("near_limit.json", None);
        assert_eq!(
            near.status,
            Some(Level::Green),
            "money left is GREEN without a budget"
        );
        let spent = balance("exhausted.json", None);
        assert_eq!(spent.status, Some(Level::Red), "a negative balance is RED");
        assert_eq!(balance("exhausted.json", Some(50.0)).utilization, 100.0);
        assert_eq!(
            parse(&fixture("moonshot", "error.json"), None).unwrap_err(),
            "error 5: 没找到对象"
        );
        assert!(
            parse(&fixture("moonshot", "malformed.json"), None)
                .unwrap_err()
                .starts_with("unexpected answer")
        );
        assert_eq!(
            parse(r#"{"code": 0, "data": {}, "status": true}"#, None).unwrap_err(),
            "no `data.available_balance` in the answer"
        );
        assert_eq!(
            parse(
                r#"{"error": {"message": "Invalid Authentication", "type": "invalid_authentication_error"}}"#,
                None
            )
            .unwrap_err(),
            "error: Invalid Authentication"
        );
        assert!(parse("<html>", None).is_err());
    }

    #[tokio::test]
    async fn fetches_with_a_bearer_key() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(PATH))
            .and(header("authorization", "Bearer ms-key"))
            .respond_with(
                ResponseTemplate::new(200).set_body_string(fixture("moonshot", "ok.json")),
            )
            .expect(1)
            .mount(&server)
            .await;
        let dir = tempfile::tempdir().unwrap();
        let entry = format!(
            "{{kind: 'moonshot', region: 'china', budget: 100, base_url: '{}'}}",
            server.uri()
        );
        let source = build(&entry, dir.path(), &[("MOONSHOT_API_KEY", "ms-key")]).unwrap();
        assert!(source.found());
        assert_eq!(source.label(), "moonshot (china)");
        assert!(!source.id().contains("ms-key"));
        let reports = fetch(source.as_ref(), now()).await.unwrap();
        assert!(reports["moonshot"].windows["balance"].utilization > 50.0);
    }

    #[tokio::test]
    async fn body_errors_fail_the_poll_without_the_key() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_string(
                r#"{"code": 7, "message": "key sk-canary-1 is suspended", "status": false}"#,
            ))
            .mount(&server)
            .await;
        let dir = tempfile::tempdir().unwrap();
        let entry = format!(
            "{{kind: 'moonshot', base_url: '{}', api_key: 'sk-canary-1'}}",
            server.uri()
        );
        let err = fetch(build(&entry, dir.path(), &[]).unwrap().as_ref(), now())
            .await
            .unwrap_err();
        assert_eq!(err.error, "error 7: key *** is suspended");
    }

    #[tokio::test]
    async fn a_rejected_key_names_the_fix_and_a_missing_one_says_where_to_put_it() {
        let hints = ["$MOONSHOT_API_KEY"];
        key_handling("moonshot", PATH, "", "{kind: 'moonshot'}", &hints).await;
    }
}
