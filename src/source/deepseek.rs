//! The `deepseek` source: the prepaid balance of a DeepSeek platform account. DeepSeek says
//! itself whether the account can be used (`is_available`); the amount becomes the `balance`
//! window through [`balance::window`].

use serde::Deserialize;
use serde_json::Value;

use crate::quota::Report;

use super::keyed::{Endpoint, Keyed, KeyedSource};
use super::{Fetch, Poll, Reports, balance, number};

const PATH: &str = "/user/balance";

pub const KIND: Keyed = Keyed {
    name: "deepseek",
    global: Endpoint {
        url: "https://api.deepseek.com",
        vars: &["DEEPSEEK_API_KEY"],
        opencode_ids: &["deepseek"],
    },
    china: None,
    fetch,
};

fn fetch<'a>(source: &'a KeyedSource, poll: &'a Poll<'a>) -> Fetch<'a> {
    // DeepSeek's errors quote the key (masked); `get` never lets the whole of it through.
    Box::pin(source.get(poll, PATH, |body| parse(body, source.budget)))
}

#[derive(Deserialize)]
struct Answer {
    is_available: Option<bool>,
    balance_infos: Option<Vec<BalanceInfo>>,
    /// OpenAI-style `{"error": {"message", "type", "code"}}`.
    error: Option<Value>,
}

#[derive(Deserialize)]
struct BalanceInfo {
    currency: Option<String>,
    #[serde(default, deserialize_with = "number::optional")]
    total_balance: Option<f64>,
}

/// Parses an answer of the balance endpoint. The account can pay while DeepSeek says it is
/// available and any of its wallets (one per currency: CNY, USD) holds money; `budget`, the amount
/// that counts as 0% used, is measured against the first wallet that does (amounts in two
/// currencies do not add up).
pub fn parse(body: &str, budget: Option<f64>) -> Result<Reports, String> {
    let answer: Answer =
        serde_json::from_str(body).map_err(|e| format!("unexpected answer ({e})"))?;
    if let Some(error) = answer.error.filter(|e| !e.is_null()) {
        let what = error
            .get("message")
            .and_then(Value::as_str)
            .or(error.as_str())
            .unwrap_or("no message");
        return Err(format!("error: {what}"));
    }
    let unavailable = answer.is_available == Some(false);
    let wallets = answer.balance_infos.unwrap_or_default();
    let mut amounts = Vec::with_capacity(wallets.len());
    for info in &wallets {
        amounts.push(info.total_balance.ok_or_else(|| {
            format!(
                "no `total_balance` for {}",
                info.currency.as_deref().unwrap_or("a wallet")
            )
        })?);
    }
    let amount = match amounts.iter().find(|a| **a > 0.0) {
        Some(positive) => *positive,
        None if !amounts.is_empty() || unavailable => amounts.first().copied().unwrap_or(0.0),
        // Nothing to measure, and no verdict either.
        None if answer.is_available.is_none() => return Err("no balance in the answer".into()),
        None => return Err("no `balance_infos` in the answer".into()),
    };
    let mut report = Report::default();
    report.windows.insert(
        balance::WINDOW.to_owned(),
        balance::window(amount, budget, unavailable),
    );
    Ok(Reports::from([("deepseek".to_owned(), report)]))
}

#[cfg(test)]
mod tests {
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;
    use crate::quota::{Level, Window};
    use crate::source::keyed::testing::key_handling;
    use crate::source::testing::{build, fetch, fixture, judged, now, write};

    fn balance(name: &str, budget: Option<f64>) -> Window {
        parse(&fixture("deepseek", name), budget).unwrap()["deepseek"].windows["balance"].clone()
    }

    #[test]
    fn real_answers() {
        // Live accounts with one wallet: usable, and against a budget a percentage of it.
        for (name, amount) in [
            ("live-cny-47-xlyra.json", 47.44),
            ("live-cny-103-opencode-bar.json", 103.49),
            ("live-usd-3-55-openusage-issue-467.json", 3.55),
            ("live-usd-8-76-openusage-issue-569.json", 8.76),
            ("doc-cny-example.json", 110.0),
        ] {
            let w = balance(name, None);
            assert_eq!(
                (w.utilization, w.status),
                (0.0, Some(Level::Green)),
                "{name}"
            );
            let w = balance(name, Some(200.0));
            assert!(
                (w.utilization - (100.0 - amount / 2.0)).abs() < 1e-9,
                "{name}"
            );
            assert_eq!(w.resets_at, None, "a balance never resets");
        }
        // An empty USD wallet listed before a funded CNY one: the account can pay.
        let w = balance(
            "dual-currency-empty-usd-first-positive-cny.json",
            Some(400.0),
        );
        assert_eq!((w.utilization, w.status), (75.0, None));
        let w = balance("dual-currency-granted-only.json", None);
        assert_eq!(w.status, Some(Level::Green));
        // Spent: RED for every DeepSeek model.
        for name in [
            "exhausted-unavailable-no-wallets.json",
            "exhausted-unavailable-usd-zero.json",
        ] {
            let reports = parse(&fixture("deepseek", name), Some(50.0)).unwrap();
            let models = ["deepseek/deepseek-chat", "deepseek-reasoner"];
            assert_eq!(judged(&reports, "deepseek", &models, now()), ["RED", "RED"]);
        }
        for (name, message) in [
            (
                "error-401-authentication-fails.json",
                "Authentication Fails",
            ),
            (
                "error-402-insufficient-balance-chat.json",
                "Insufficient Balance",
            ),
        ] {
            let err = parse(&fixture("deepseek", name), None).unwrap_err();
            assert!(err.starts_with(&format!("error: {message}")), "{err}");
        }
    }

    #[test]
    fn parses_every_fixture() {
        let ok = balance("ok.json", None);
        assert_eq!((ok.utilization, ok.status), (0.0, Some(Level::Green)));
        let ok = balance("ok.json", Some(200.0));
        assert!((ok.utilization - 45.0).abs() < 1e-9, "110 of 200 CNY left");
        assert_eq!(ok.status, None);
        let near = balance("near_limit.json", Some(50.0));
        assert!(
            (near.utilization - 91.0).abs() < 1e-9,
            "{}",
            near.utilization
        );
        assert_eq!(
            balance("near_limit.json", None).status,
            Some(Level::Green),
            "the first wallet with money is judged, not the larger USD one"
        );
        let spent = balance("exhausted.json", None);
        assert_eq!((spent.utilization, spent.status), (0.0, Some(Level::Red)));
        let spent = balance("exhausted.json", Some(50.0));
        assert_eq!((spent.utilization, spent.status), (100.0, Some(Level::Red)));
        assert_eq!(
            parse(&fixture("deepseek", "error.json"), None).unwrap_err(),
            "error: Authentication Fails, Your api key: ****a1b2 is invalid"
        );
        assert!(
            parse(&fixture("deepseek", "malformed.json"), None)
                .unwrap_err()
                .starts_with("unexpected answer")
        );
        assert_eq!(
            parse(
                r#"{"is_available": true, "balance_infos": [{"currency": "CNY", "total_balance": null}]}"#,
                None
            )
            .unwrap_err(),
            "no `total_balance` for CNY"
        );
        assert_eq!(
            parse(r#"{"is_available": true, "balance_infos": []}"#, None).unwrap_err(),
            "no `balance_infos` in the answer"
        );
        assert!(parse("{}", None).is_err());
        assert!(parse("<html>", None).is_err());
    }

    #[test]
    fn unavailable_without_wallets_is_red() {
        let reports = parse(r#"{"is_available": false, "balance_infos": []}"#, None).unwrap();
        assert_eq!(
            reports["deepseek"].windows["balance"].status,
            Some(Level::Red)
        );
    }

    #[tokio::test]
    async fn fetches_with_a_bearer_key_from_opencode() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(PATH))
            .and(header("authorization", "Bearer ds-from-opencode"))
            .respond_with(
                ResponseTemplate::new(200).set_body_string(fixture("deepseek", "exhausted.json")),
            )
            .expect(1)
            .mount(&server)
            .await;
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "data/opencode/auth.json",
            r#"{"deepseek": {"type": "api", "key": "ds-from-opencode"}}"#,
        );
        let entry = format!("{{kind: 'deepseek', base_url: '{}'}}", server.uri());
        let source = build(&entry, dir.path(), &[]).unwrap();
        assert!(source.found());
        assert!(source.id().ends_with(":opencode"), "{}", source.id());
        let reports = fetch(source.as_ref(), now()).await.unwrap();
        assert_eq!(
            reports["deepseek"].windows["balance"].status,
            Some(Level::Red)
        );
    }

    #[tokio::test]
    async fn body_errors_fail_the_poll_without_the_key() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_string(
                r#"{"error": {"message": "Your api key: sk-canary-2 is invalid", "type": "authentication_error"}}"#,
            ))
            .mount(&server)
            .await;
        let dir = tempfile::tempdir().unwrap();
        let entry = format!("{{kind: 'deepseek', base_url: '{}'}}", server.uri());
        let source = build(&entry, dir.path(), &[("DEEPSEEK_API_KEY", "sk-canary-2")]).unwrap();
        let err = fetch(source.as_ref(), now()).await.unwrap_err();
        assert_eq!(err.error, "error: Your api key: *** is invalid");
        assert!(!format!("{source:?}").contains("canary"));
    }

    #[tokio::test]
    async fn a_rejected_key_names_the_fix_and_a_missing_one_says_where_to_put_it() {
        let hints = ["$DEEPSEEK_API_KEY", "OpenCode"];
        key_handling("deepseek", PATH, "", "{kind: 'deepseek'}", &hints).await;
    }
}
