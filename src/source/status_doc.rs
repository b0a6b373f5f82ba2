//! The status document (README, Status files): the shape status files, commands and a
//! quota-sentinel daemon share. Lenient where the format is (unknown fields ignored, an optional
//! `providers` wrapper), strict about the fields it names: a provider whose entry is malformed
//! becomes UNKNOWN with the reason, without blinding the others.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::provider::Aliases;
use crate::quota::{Level, Report, Window};
use crate::time::parse_instant;

/// Parses a status document into reports keyed by canonical provider id. Fails only when the
/// text is not a JSON object at all. A leading BOM, which some editors and Windows tools write,
/// is skipped as in targets.
pub fn parse(text: &str, aliases: &Aliases) -> Result<BTreeMap<String, Report>, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let value: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let Value::Object(mut top) = value else {
        return Err("expected a JSON object of providers".to_owned());
    };
    if let Some(Value::Object(inner)) = top.get("providers") {
        top = inner.clone();
    }
    // Each report with the name of the first entry that gave it.
    let mut out: BTreeMap<String, (String, Report)> = BTreeMap::new();
    for (name, entry) in top {
        let mut report = provider(&entry).unwrap_or_else(Report::malformed);
        scope_known_windows(&aliases.resolve(&name), &mut report);
        match out.get_mut(&aliases.resolve(&name)) {
            Some((first, into)) => merge(into, first, report, &name),
            None => {
                out.insert(aliases.resolve(&name), (name, report));
            }
        }
    }
    Ok(out
        .into_iter()
        .map(|(id, (_, report))| (id, report))
        .collect())
}

/// Folds a second entry for the same provider (`claude` beside `anthropic`, `ZAI` beside `zai`)
/// into the first, so that both count as they would from two sources: the worse wins, and a
/// known state beats an error. An explicit provider status becomes a window `as <entry>` with
/// that status (it governs every model, as the status did), so it can stand beside the other
/// entry's windows.
pub fn merge(into: &mut Report, first: &str, other: Report, name: &str) {
    // Whatever wins, a malformed entry is still warned about.
    let malformed = match (into.malformed.take(), &other.malformed) {
        (Some(a), Some(b)) => Some(format!("{first}: {a}; {name}: {b}")),
        (Some(a), None) => Some(format!("{first}: {a}")),
        (None, Some(b)) => Some(format!("{name}: {b}")),
        (None, None) => None,
    };
    match (&into.error, &other.error) {
        (Some(a), Some(b)) => into.error = Some(format!("{first}: {a}; {name}: {b}")),
        (None, Some(_)) => {}
        (Some(_), None) => *into = other,
        (None, None) => {
            let as_windows = |report: Report, label: &str| -> BTreeMap<String, Window> {
                match report.status {
                    Some(level) => BTreeMap::from([(
                        format!("as {label}"),
                        Window {
                            utilization: 0.0,
                            resets_at: None,
                            status: Some(level),
                            models: None,
                        },
                    )]),
                    None => report.windows,
                }
            };
            let mine = std::mem::take(into);
            let mut windows = as_windows(mine, first);
            for (window, w) in as_windows(other, name) {
                let key = if windows.contains_key(&window) {
                    format!("{window} ({name})")
                } else {
                    window
                };
                windows.insert(key, w);
            }
            into.windows = windows;
        }
    }
    into.malformed = malformed;
}

/// Windows whose names say which models they govern, given without a `models` scope, get the
/// scope the built-in sources give them: Anthropic's per-model weeks (`seven_day_opus`,
/// `seven_day_sonnet`), and the per-model windows a quota-sentinel daemon names after a MiniMax
/// model (`MM-M2.5_interval` governs `MiniMax-M2.5`). Otherwise a spent Opus week would make
/// every Claude model RED.
fn scope_known_windows(provider: &str, report: &mut Report) {
    for (name, window) in report
        .windows
        .iter_mut()
        .filter(|(_, w)| w.models.is_none())
    {
        let family = match provider {
            "anthropic" => ["opus", "sonnet"]
                .into_iter()
                .find(|f| name.strip_prefix("seven_day_") == Some(f))
                .map(str::to_owned),
            "minimax" => name
                .strip_prefix("MM-")
                .and_then(|rest| rest.rsplit_once('_'))
                .filter(|(model, _)| !model.is_empty())
                .map(|(model, _)| format!("MiniMax-{model}")),
            _ => None,
        };
        if let Some(family) = family {
            window.models = Some(vec![family]);
        }
    }
}

fn provider(entry: &Value) -> Result<Report, String> {
    let obj = entry.as_object().ok_or("expected an object")?;
    let mut report = Report::default();
    // `null`, `false` and `""` say there is no error, as scripts often write it.
    let no_error = |v: &&Value| v.is_null() || **v == Value::Bool(false) || v.as_str() == Some("");
    if let Some(error) = obj.get("error").filter(|v| !no_error(v)) {
        let text = error
            .as_str()
            .map_or_else(|| error.to_string(), str::to_owned);
        return Ok(Report::failed(text));
    }
    match status(obj.get("status"))? {
        Some(Status::Level(level)) => report.status = Some(level),
        Some(Status::Unknown) => return Ok(Report::failed("status UNKNOWN")),
        None => {}
    }
    match obj.get("windows") {
        None | Some(Value::Null) => {}
        Some(Value::Object(windows)) => {
            for (name, w) in windows {
                let window = window(w).map_err(|why| format!("window `{name}`: {why}"))?;
                report.windows.insert(name.clone(), window);
            }
        }
        Some(_) => return Err("`windows` must be an object".to_owned()),
    }
    Ok(report)
}

enum Status {
    Level(Level),
    Unknown,
}

fn status(value: Option<&Value>) -> Result<Option<Status>, String> {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let text = value.as_str().ok_or("`status` must be a string")?;
    Ok(Some(match text.to_ascii_uppercase().as_str() {
        "GREEN" => Status::Level(Level::Green),
        "YELLOW" => Status::Level(Level::Yellow),
        "RED" => Status::Level(Level::Red),
        "UNKNOWN" => Status::Unknown,
        _ => return Err(format!("unknown status `{text}`")),
    }))
}

fn window(value: &Value) -> Result<Window, String> {
    let obj: &Map<String, Value> = value.as_object().ok_or("expected an object")?;
    let utilization = match obj.get("utilization") {
        // Above 100 is an overage some plans allow; below 0 means nothing.
        Some(Value::Number(n)) if n.as_f64().is_some_and(|f| f < 0.0) => {
            return Err("`utilization` must not be negative".to_owned());
        }
        Some(Value::Number(n)) => n
            .as_f64()
            .filter(|f| f.is_finite())
            .ok_or("`utilization` out of range")?,
        None | Some(Value::Null) => 0.0,
        Some(_) => return Err("`utilization` must be a number (percent used)".to_owned()),
    };
    let resets_at = match obj.get("resets_at") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            Some(parse_instant(s).ok_or_else(|| format!("`resets_at` is not a time: {s}"))?)
        }
        Some(_) => return Err("`resets_at` must be an RFC 3339 string or null".to_owned()),
    };
    let status = match status(obj.get("status"))? {
        Some(Status::Level(level)) => Some(level),
        Some(Status::Unknown) => return Err("a window cannot be UNKNOWN".to_owned()),
        None => None,
    };
    let models = match obj.get("models") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .map(|m| {
                    m.as_str()
                        .map(str::to_owned)
                        .ok_or("`models` must be strings")
                })
                .collect::<Result<_, _>>()?,
        ),
        Some(_) => return Err("`models` must be an array of strings".to_owned()),
    };
    if obj.get("utilization").is_none_or(Value::is_null) && status.is_none() {
        return Err("needs `utilization` or `status`".to_owned());
    }
    Ok(Window {
        utilization,
        resets_at,
        status,
        models,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::testing::fixture;

    #[test]
    fn documents_commands_print() {
        let aliases = Aliases::default();
        // quota-sentinel's `/v1/status`: only the `providers` wrapper counts; an entry without a
        // status is judged from its windows.
        let status = fixture(
            "command",
            "quota-sentinel-v1-status-global-providers-wrapper.json",
        );
        let reports = parse(&status, &aliases).unwrap();
        assert_eq!(reports.keys().collect::<Vec<_>>(), ["deepseek", "zai"]);
        assert_eq!(reports["zai"].status, None);
        assert_eq!(reports["zai"].windows["5hours"].utilization, 71.0);
        assert_eq!(reports["deepseek"].error.as_deref(), Some("auth failed"));
        // The spec's example; `seven_day_sonnet` without `models` is scoped all the same.
        let example = fixture("command", "spec-example.json")
            .replace(r#""seven_day": {"#, r#""seven_day_sonnet": {"#);
        let reports = parse(&example, &aliases).unwrap();
        let anthropic = &reports["anthropic"];
        assert_eq!(
            anthropic.windows["seven_day_opus"].models,
            Some(vec!["opus".to_owned()])
        );
        assert_eq!(
            anthropic.windows["seven_day_sonnet"].models,
            Some(vec!["sonnet".to_owned()])
        );
        assert_eq!(anthropic.windows["five_hour"].models, None);
        // Only for the provider whose windows those are.
        let other = parse(
            r#"{"zai": {"windows": {"seven_day_opus": {"utilization": 1}}}}"#,
            &aliases,
        )
        .unwrap();
        assert_eq!(other["zai"].windows["seven_day_opus"].models, None);
    }

    #[test]
    fn parses_the_spec_example() {
        let text = r#"{
          "zai":       { "status": "RED" },
          "claude": { "windows": {
              "five_hour":      { "utilization": 92.0, "resets_at": "2026-11-21T20:00:00Z" },
              "seven_day":      { "utilization": 40.5, "resets_at": "2026-11-25T09:00:00+00:00" },
              "seven_day_opus": { "utilization": 99.0, "models": ["opus"] } } },
          "deepseek":  { "windows": { "balance": { "utilization": 10 } }, "extra": 1 },
          "minimax":   { "error": "HTTP 401" }
        }"#;
        let reports = parse(text, &Aliases::default()).unwrap();
        assert_eq!(reports["zai"].status, Some(Level::Red));
        let anthropic = &reports["anthropic"];
        assert_eq!(anthropic.windows["five_hour"].utilization, 92.0);
        assert_eq!(
            anthropic.windows["seven_day"]
                .resets_at
                .unwrap()
                .to_string(),
            "2026-11-25T09:00:00Z"
        );
        assert_eq!(
            anthropic.windows["seven_day_opus"].models,
            Some(vec!["opus".to_owned()])
        );
        assert_eq!(reports["deepseek"].windows["balance"].utilization, 10.0);
        assert_eq!(reports["minimax"].error.as_deref(), Some("HTTP 401"));
    }

    #[test]
    fn accepts_the_providers_wrapper() {
        let reports = parse(
            r#"{"providers": {"github-copilot": {"status": "green"}}}"#,
            &Aliases::default(),
        )
        .unwrap();
        assert_eq!(reports["copilot"].status, Some(Level::Green));
    }

    #[test]
    fn a_malformed_entry_fails_only_its_provider() {
        let text = r#"{"zai": {"windows": {"w": {"utilization": "92"}}}, "ds": {"status": "RED"}}"#;
        let reports = parse(text, &Aliases::default()).unwrap();
        assert!(
            reports["zai"]
                .error
                .as_deref()
                .unwrap()
                .contains("`utilization` must be a number")
        );
        assert_eq!(reports["ds"].status, Some(Level::Red));
        let text = r#"{"zai": {"windows": {"w": {"utilization": -3}}}, "ds": {"windows": {"w": {"utilization": 130}}}}"#;
        let reports = parse(text, &Aliases::default()).unwrap();
        let error = reports["zai"].error.as_deref().unwrap();
        assert!(
            error.contains("`utilization` must not be negative"),
            "{error}"
        );
        assert_eq!(reports["ds"].windows["w"].utilization, 130.0);
    }

    #[test]
    fn two_entries_for_one_provider_both_count() {
        let aliases = Aliases::default();
        let reports = parse(
            r#"{"zai": {"status": "RED"}, "zai-coding-plan": {"status": "GREEN"}}"#,
            &aliases,
        )
        .unwrap();
        let zai = &reports["zai"];
        assert_eq!(zai.status, None);
        assert_eq!(zai.windows["as zai"].status, Some(Level::Red));
        assert_eq!(zai.windows["as zai-coding-plan"].status, Some(Level::Green));
        // Same window names side by side; an error gives way to known data.
        let reports = parse(
            r#"{"anthropic": {"windows": {"five_hour": {"utilization": 20}}},
                "claude": {"windows": {"five_hour": {"utilization": 95}}},
                "ZAI": {"error": "HTTP 500"}, "zai": {"windows": {"w": {"utilization": 5}}}}"#,
            &aliases,
        )
        .unwrap();
        let anthropic = &reports["anthropic"].windows;
        assert_eq!(anthropic["five_hour"].utilization, 20.0);
        assert_eq!(anthropic["five_hour (claude)"].utilization, 95.0);
        assert_eq!(reports["zai"].error, None);
        assert_eq!(reports["zai"].windows["w"].utilization, 5.0);
        let reports = parse(
            r#"{"ZAI": {"error": "HTTP 500"}, "zai": {"error": "timeout"}}"#,
            &aliases,
        )
        .unwrap();
        assert_eq!(
            reports["zai"].error.as_deref(),
            Some("ZAI: HTTP 500; zai: timeout")
        );
        // A malformed entry beside a good one is ignored, but still named.
        let reports = parse(
            r#"{"claude": {"status": "PURPLE"}, "anthropic": {"status": "RED"}}"#,
            &aliases,
        )
        .unwrap();
        let anthropic = &reports["anthropic"];
        assert_eq!(anthropic.error, None);
        assert_eq!(anthropic.status, Some(Level::Red));
        assert_eq!(
            anthropic.malformed.as_deref(),
            Some("claude: unknown status `PURPLE`")
        );
    }

    #[test]
    fn empty_errors_are_no_errors_and_a_null_utilization_is_no_data() {
        let aliases = Aliases::default();
        let reports = parse(
            r#"{"a": {"error": false, "status": "RED"}, "b": {"error": "", "status": "RED"},
                "c": {"error": null, "status": "RED"},
                "d": {"windows": {"w": {"utilization": null}}},
                "e": {"windows": {"w": {"utilization": null, "status": "YELLOW"}}}}"#,
            &aliases,
        )
        .unwrap();
        for p in ["a", "b", "c"] {
            assert_eq!(reports[p].error, None, "{p}");
            assert_eq!(reports[p].status, Some(Level::Red), "{p}");
        }
        let d = reports["d"].error.as_deref().unwrap();
        assert!(d.contains("needs `utilization` or `status`"), "{d}");
        assert_eq!(reports["e"].windows["w"].status, Some(Level::Yellow));
    }

    #[test]
    fn a_leading_bom_is_skipped() {
        let reports = parse(
            "\u{feff}{\"zai\": {\"status\": \"RED\"}}",
            &Aliases::default(),
        )
        .unwrap();
        assert_eq!(reports["zai"].status, Some(Level::Red));
        assert!(parse("\u{feff}", &Aliases::default()).is_err());
    }

    #[test]
    fn rejects_what_is_not_a_document() {
        assert!(parse("[1]", &Aliases::default()).is_err());
        assert!(parse("{\"zai\": ", &Aliases::default()).is_err());
    }
}
