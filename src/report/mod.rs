//! What users and scripts read: change lines, diffs, the `--json` object and the status view.
//! Everything goes to a string here; the run modes decide where it is printed.

mod status;

pub(crate) use status::{Sources, status_text};

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use jiff::Timestamp;
use serde::Serialize;

use crate::apply::{Content, TargetRun};
use crate::engine::{Health, Judge};
use crate::jsonc::{Document, KeyPath, Node, PathSet};
use crate::plan::ChangeKind;
use crate::plan::profile::{self, Profile};
use crate::quota::{Level, SourceEntry, Window};

/// `<target>: <slot>: <from> -> <to> (<reason>)`, or the `kept` line of `--restore`.
pub(crate) fn change_lines(runs: &[TargetRun]) -> String {
    // Pushed piece by piece: through `writeln!`, a big config's thousands of lines cost a
    // twentieth of its switching pass.
    let mut out = String::new();
    for run in runs {
        for c in &run.changes {
            let line: &[&str] = match c.kind {
                ChangeKind::Kept => &[": kept ", &c.from, " (changed since switch)\n"],
                _ => &[": ", &c.from, " -> ", &c.to, " (", &c.reason, ")\n"],
            };
            out.push_str(&run.target);
            out.push_str(": ");
            let _ = c.slot.write_dotted(&mut out);
            line.iter().for_each(|piece| out.push_str(piece));
        }
    }
    out
}

/// For each target whose switches running agent sessions follow only when restarted (README,
/// Running sessions), one line naming those slots: the change lines themselves stay as scripts
/// read them.
pub(crate) fn at_restart_notes(runs: &[TargetRun]) -> Vec<String> {
    const NAMED: usize = 3;
    let mut notes = Vec::new();
    for run in runs {
        // Sized at once: a big config's thousands of slots would rehash it a dozen times.
        let mut later = PathSet::with_capacity_and_hasher(run.slots.len(), Default::default());
        later.extend((run.slots.iter().filter(|s| s.at_restart)).map(|s| &s.slot));
        let slots: Vec<&KeyPath> = (run.changes.iter())
            .filter(|c| c.kind == ChangeKind::Switch && later.contains(&c.slot))
            .map(|c| &c.slot)
            .collect();
        if slots.is_empty() {
            continue;
        }
        let mut named = (slots.iter().take(NAMED))
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        if slots.len() > NAMED {
            let _ = write!(named, " and {} more", slots.len() - NAMED);
        }
        notes.push(format!(
            "{}: running sessions follow the switch of {named} only when restarted \
             (README, Running sessions)",
            run.target
        ));
    }
    notes
}

/// A unified diff of what a pass wrote (or, in a dry run, would write), with every secret of
/// either side and of the profiles masked; `None` when the text did not change.
pub(crate) fn diff(run: &TargetRun, profiles: &BTreeMap<String, Profile>) -> Option<String> {
    let Content { before, after } = run.content.as_ref()?;
    if before == after {
        return None;
    }
    let docs: Vec<Document> = [before, after]
        .into_iter()
        .filter_map(|text| Document::parse(text).ok())
        .collect();
    let target = &run.target;
    let diff = similar::TextDiff::from_lines(before.as_str(), after.as_str())
        .unified_diff()
        .context_radius(2)
        .header(&format!("{target} (before)"), &format!("{target} (after)"))
        .to_string();
    Some(mask(diff, &secrets(&docs, profiles)))
}

/// Replaces every occurrence of the secrets, longest first, with `***`.
pub(crate) fn mask(mut text: String, secrets: &[String]) -> String {
    let mut secrets: Vec<&String> = secrets.iter().collect();
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for secret in secrets {
        text = text.replace(secret.as_str(), "***");
    }
    text
}

/// Keys whose string values are credentials wherever they appear: `*_TOKEN`, `*_KEY`, `apiKey`…
fn credential_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase().replace(['-', '_'], "");
    profile::is_credential_key(key)
        || ["apikey", "token", "secret", "password", "authorization"]
            .iter()
            .any(|c| k.ends_with(c))
}

/// The secrets that output must never show: values of credential keys in these documents (raw
/// and decoded), and every profile value that is secret. Values shorter than 4 characters are
/// left alone: masking them would garble everything else.
pub(crate) fn secrets(docs: &[Document], profiles: &BTreeMap<String, Profile>) -> Vec<String> {
    fn walk(doc: &Document, node: &Node, out: &mut Vec<String>) {
        for prop in node.props() {
            if credential_key(&doc.key(prop))
                && let Some(value) = doc.str(&prop.value)
            {
                out.push(value.into_owned());
                let raw = doc.raw(&prop.value);
                out.push(raw[1..raw.len() - 1].to_owned());
            }
            walk(doc, &prop.value, out);
        }
    }
    let mut out = Vec::new();
    for doc in docs {
        walk(doc, doc.root(), &mut out);
    }
    for value in profiles
        .values()
        .flat_map(|p| &p.env)
        .filter(|v| v.secret || profile::is_credential_key(&v.key))
    {
        if let Ok(v) = &value.value {
            out.push(v.clone());
        }
    }
    out.retain(|s| s.chars().count() >= 4);
    out.sort();
    out.dedup();
    out
}

/// One provider as `status` and `--json` show it.
pub(crate) struct ProviderView {
    pub(crate) health: Health,
    pub(crate) windows: Vec<WindowView>,
    /// Seconds since the freshest source's data.
    pub(crate) age: Option<f64>,
    pub(crate) error: Option<String>,
}

pub(crate) struct WindowView {
    pub(crate) name: String,
    pub(crate) window: Window,
    pub(crate) level: Level,
}

/// Every provider some source covers, judged now.
pub(crate) fn providers(judge: &Judge<'_>) -> BTreeMap<String, ProviderView> {
    let mut out = BTreeMap::new();
    for provider in judge.book.providers() {
        // The fullest report of each window, with the source that gave it.
        let mut windows: BTreeMap<&str, (&SourceEntry, &Window)> = BTreeMap::new();
        let mut age: Option<f64> = None;
        let mut errors = Vec::new();
        for (_, entry, report) in judge.book.reports(provider) {
            for (name, w) in &report.windows {
                if windows
                    .get(name.as_str())
                    .is_none_or(|(_, old)| w.utilization > old.utilization)
                {
                    windows.insert(name, (entry, w));
                }
            }
            if let Some(at) = entry.at {
                let a = judge.now.duration_since(at).as_secs_f64();
                age = Some(age.map_or(a, |b: f64| b.min(a)));
            }
            errors.extend(report.error.clone().or_else(|| entry.error.clone()));
        }
        let health = judge.health(provider, None);
        let windows = windows
            .into_iter()
            .map(|(name, (entry, w))| WindowView {
                name: name.to_owned(),
                level: judge.window_level(entry, provider, name, w).0,
                window: w.clone(),
            })
            .collect();
        let error = (!errors.is_empty()).then(|| errors.join("; "));
        out.insert(
            provider.to_owned(),
            ProviderView {
                health,
                windows,
                age,
                error,
            },
        );
    }
    out
}

#[derive(Serialize)]
struct JsonReport<'a> {
    changes: Vec<JsonChange<'a>>,
    slots: Vec<JsonSlot<'a>>,
    providers: BTreeMap<String, JsonProvider>,
}

#[derive(Serialize)]
struct JsonChange<'a> {
    target: &'a str,
    /// The file's canonical path, as `target` may not tell it from another's.
    path: Cow<'a, str>,
    slot: String,
    from: &'a str,
    to: &'a str,
    reason: &'a str,
}

#[derive(Serialize)]
struct JsonSlot<'a> {
    target: &'a str,
    path: Cow<'a, str>,
    /// For an agent file: the scope it belongs to (README, Using it).
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<&'a str>,
    slot: String,
    current: &'a str,
    original: &'a str,
    provider: &'a str,
    status: &'static str,
    /// How a running agent session follows a switch of this slot (README, Running sessions):
    /// only `"at_restart"` is shown; otherwise the key is absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    running_sessions: Option<&'static str>,
}

#[derive(Serialize)]
struct JsonProvider {
    status: &'static str,
    windows: BTreeMap<String, JsonWindow>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Serialize)]
struct JsonWindow {
    utilization: f64,
    resets_at: Option<Timestamp>,
    status: &'static str,
}

/// The `--json` object (README, Using it).
pub(crate) fn json(runs: &[TargetRun], judge: &Judge<'_>) -> String {
    let report = JsonReport {
        changes: runs
            .iter()
            .flat_map(|r| {
                r.changes.iter().map(|c| JsonChange {
                    target: &r.target,
                    path: r.path.to_string_lossy(),
                    slot: c.slot.to_string(),
                    from: &c.from,
                    to: &c.to,
                    reason: &c.reason,
                })
            })
            .collect(),
        slots: runs
            .iter()
            .flat_map(|r| {
                r.slots.iter().map(|s| JsonSlot {
                    target: &r.target,
                    path: r.path.to_string_lossy(),
                    scope: r.scope.as_deref(),
                    slot: s.slot.to_string(),
                    current: &s.current,
                    original: &s.original,
                    provider: &s.health.provider,
                    status: s.health.name(),
                    running_sessions: s.at_restart.then_some("at_restart"),
                })
            })
            .collect(),
        providers: providers(judge)
            .into_iter()
            .map(|(name, p)| {
                let windows = p
                    .windows
                    .into_iter()
                    .map(|w| {
                        let json = JsonWindow {
                            utilization: w.window.utilization,
                            resets_at: w.window.resets_at,
                            status: w.level.name(),
                        };
                        (w.name, json)
                    })
                    .collect();
                let error = (p.health.level().is_none())
                    .then(|| p.health.why.to_string())
                    .or(p.error);
                (
                    name,
                    JsonProvider {
                        status: p.health.name(),
                        windows,
                        error,
                    },
                )
            })
            .collect(),
    };
    let mut text = serde_json::to_string_pretty(&report).expect("report serialises");
    text.push('\n');
    text
}
