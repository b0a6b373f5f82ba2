//! The `quota-sentinel` source: a quota-sentinel daemon's `/v1/providers`, which is already a
//! status document. With `ignore_status`, the daemon's own verdicts are dropped and statuses are
//! recomputed from its windows with our thresholds.

use reqwest::Url;

use crate::provider::Aliases;
use crate::secret::Secret;

use super::http::{self, Failure};
use super::{Build, Fault, Fetch, KeyConfig, Poll, Provider, Reports, credentials, status_doc};

#[derive(Debug)]
pub struct QuotaSentinel {
    base_url: Url,
    api_key: Option<Secret>,
    ignore_status: bool,
}

pub fn build(
    base_url: &str,
    key: &KeyConfig,
    ignore_status: bool,
    build: &Build<'_>,
) -> Result<Box<dyn Provider>, Fault> {
    let base_url = http::base_url(base_url).map_err(|m| ("base_url", m))?;
    // A daemon on loopback may well need no key: it has no usual place to look for one.
    let api_key = match key {
        KeyConfig::Given(key) => Some(key.clone()),
        KeyConfig::Var(var) => Some(credentials::var_key(build.env, var)?),
        KeyConfig::Usual => None,
    };
    Ok(Box::new(QuotaSentinel {
        base_url,
        api_key,
        ignore_status,
    }))
}

/// Parses an answer of `/v1/providers`. The daemon's status of a provider is the worst status of
/// its windows, so where every window carries its own the provider's is dropped: a window scoped
/// to some models (a spent Opus week) then governs only those. An empty answer (no instance
/// registered yet) says nothing about anyone: it is not an answer.
pub fn parse(body: &str, aliases: &Aliases, ignore_status: bool) -> Result<Reports, String> {
    // `{"error": "unauthorized"}` is the daemon refusing us, not a provider named `error`.
    if let Ok(serde_json::Value::Object(top)) = serde_json::from_str(body)
        && let Some(serde_json::Value::String(error)) = top.get("error")
    {
        return Err(format!("error: {error}"));
    }
    let mut reports = status_doc::parse(body, aliases)?;
    if reports.is_empty() {
        return Err("no providers in the answer (no instance registered yet)".to_owned());
    }
    for report in reports.values_mut() {
        let from_windows =
            !report.windows.is_empty() && report.windows.values().all(|w| w.status.is_some());
        if ignore_status || from_windows {
            report.status = None;
        }
        if ignore_status {
            for window in report.windows.values_mut() {
                window.status = None;
            }
        }
    }
    Ok(reports)
}

impl Provider for QuotaSentinel {
    fn id(&self) -> String {
        format!("quota-sentinel:{}", self.base_url)
    }

    fn label(&self) -> String {
        format!("quota-sentinel {}", self.base_url)
    }

    /// Whom it reports on is known only from its answer: until then, every provider no other
    /// source covers is UNKNOWN.
    fn covers(&self) -> Vec<String> {
        vec![crate::quota::ANY.to_owned()]
    }

    fn fetch<'a>(&'a self, poll: &'a Poll<'a>) -> Fetch<'a> {
        Box::pin(async move {
            let mut request = poll
                .client
                .get(http::endpoint(&self.base_url, "/v1/providers"));
            if let Some(key) = &self.api_key {
                request = request.header("X-API-Key", http::secret_header("", key));
            }
            let body =
                http::send(request, poll.timeout, "check the quota-sentinel api_key").await?;
            parse(&body, poll.aliases, self.ignore_status)
                .map_err(|e| Failure::new(format!("unreadable answer: {e}")))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quota::Level;
    use crate::source::testing::{at, fixture, judged};

    fn answer(name: &str, ignore_status: bool) -> Result<Reports, String> {
        parse(
            &fixture("quota-sentinel", name),
            &Aliases::default(),
            ignore_status,
        )
    }

    #[test]
    fn answers_as_the_daemon_gives_them() {
        // Its README's example: deepseek GREEN, one `rolling` window at 45.2%.
        let readme = answer("readme-providers-deepseek-rolling.json", false).unwrap();
        let deepseek = &readme["deepseek"];
        assert_eq!(deepseek.windows["rolling"].utilization, 45.2);
        assert_eq!(deepseek.windows["rolling"].status, Some(Level::Green));
        // Before its first poll, and after a failed one: UNKNOWN with the daemon's reason.
        let unpolled = answer("providers-unknown-before-first-poll.json", false).unwrap();
        assert_eq!(unpolled["zai"].error.as_deref(), Some("no data"));
        let failed = answer("providers-unknown-auth-failed.json", false).unwrap();
        assert!(failed.values().all(|r| r.error.is_some()));
        // Nothing registered: no answer at all.
        assert!(answer("providers-empty-no-instances.json", false).is_err());
        // The 401 body is never a document whose provider is named `error`.
        assert!(parse(r#"{"error": "unauthorized"}"#, &Aliases::default(), false).is_err());
    }

    #[test]
    fn a_spent_window_is_red_for_the_models_it_governs_only() {
        let name = "providers-code-derived-claude-zai-minimax-deepseek.json";
        let models = ["claude-opus-4-1", "opus[1m]", "sonnet"];
        let when = at("2026-04-21T14:00:00Z");
        // five_hour at 92% (the daemon's RED): every Claude model.
        let reports = answer(name, false).unwrap();
        assert_eq!(
            reports["anthropic"].status, None,
            "the worst of its windows"
        );
        assert_eq!(judged(&reports, "anthropic", &models, when), ["RED"; 3]);
        // Only the Opus week spent: Opus models only, with or without the daemon's verdicts.
        let opus_only = fixture("quota-sentinel", name)
            .replace(r#""utilization": 92.0"#, r#""utilization": 12.0"#)
            .replacen(r#""status": "RED""#, r#""status": "GREEN""#, 2);
        for ignore_status in [false, true] {
            let reports = parse(&opus_only, &Aliases::default(), ignore_status).unwrap();
            assert_eq!(
                reports["anthropic"].windows["seven_day_opus"].models,
                Some(vec!["opus".to_owned()])
            );
            assert_eq!(
                judged(&reports, "anthropic", &models, when),
                ["RED", "RED", "GREEN"],
                "ignore_status: {ignore_status}"
            );
        }
        let minimax = &reports["minimax"].windows["MM-M2.5_interval"];
        assert_eq!(minimax.models, Some(vec!["MiniMax-M2.5".to_owned()]));
        assert_eq!(
            judged(&reports, "deepseek", &["deepseek-chat"], when),
            ["RED"]
        );
        assert_eq!(judged(&reports, "copilot", &["gpt-5"], when), ["UNKNOWN"]);
    }

    #[test]
    fn ignore_status_recomputes_from_windows() {
        let body = r#"{"providers": {"claude": {"status": "RED", "windows": {"five_hour": {"utilization": 10, "status": "RED"}}}}}"#;
        let kept = parse(body, &Aliases::default(), false).unwrap();
        assert_eq!(kept["anthropic"].status, None, "the worst of its windows…");
        assert_eq!(
            kept["anthropic"].windows["five_hour"].status,
            Some(Level::Red),
            "…which keep theirs"
        );
        let recomputed = parse(body, &Aliases::default(), true).unwrap();
        assert_eq!(recomputed["anthropic"].status, None);
        assert_eq!(recomputed["anthropic"].windows["five_hour"].status, None);
    }
}
