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

/// Parses an answer of `/v1/providers`.
pub fn parse(body: &str, aliases: &Aliases, ignore_status: bool) -> Result<Reports, String> {
    let mut reports = status_doc::parse(body, aliases)?;
    if ignore_status {
        for report in reports.values_mut() {
            report.status = None;
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

    #[test]
    fn ignore_status_recomputes_from_windows() {
        let body = r#"{"providers": {"claude": {"status": "RED", "windows": {"five_hour": {"utilization": 10, "status": "RED"}}}}}"#;
        let kept = parse(body, &Aliases::default(), false).unwrap();
        assert_eq!(kept["anthropic"].status, Some(Level::Red));
        let recomputed = parse(body, &Aliases::default(), true).unwrap();
        assert_eq!(recomputed["anthropic"].status, None);
        assert_eq!(recomputed["anthropic"].windows["five_hour"].status, None);
    }
}
