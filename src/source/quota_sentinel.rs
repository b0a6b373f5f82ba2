//! The `quota-sentinel` source: a quota-sentinel daemon's `/v1/providers`, which is already a
//! status document. With `ignore_status`, the daemon's own verdicts are dropped and statuses are
//! recomputed from its windows with our thresholds.

use std::collections::BTreeMap;

use reqwest::Url;

use crate::provider::Aliases;
use crate::quota::Report;
use crate::secret::Secret;

use super::http::{self, Failure};
use super::status_doc;

#[derive(Clone, Debug, PartialEq)]
pub struct QuotaSentinel {
    pub base_url: Url,
    pub api_key: Option<Secret>,
    pub ignore_status: bool,
}

/// Parses an answer of `/v1/providers`.
pub fn parse(
    body: &str,
    aliases: &Aliases,
    ignore_status: bool,
) -> Result<BTreeMap<String, Report>, String> {
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

impl QuotaSentinel {
    pub async fn fetch(
        &self,
        client: &reqwest::Client,
        timeout: f64,
        aliases: &Aliases,
    ) -> Result<BTreeMap<String, Report>, Failure> {
        let mut request = client.get(http::endpoint(&self.base_url, "/v1/providers"));
        if let Some(key) = &self.api_key {
            request = request.header("X-API-Key", http::secret_header("", key));
        }
        let body = http::send(request, timeout, "check the quota-sentinel api_key").await?;
        parse(&body, aliases, self.ignore_status)
            .map_err(|e| Failure::new(format!("unreadable answer: {e}")))
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
