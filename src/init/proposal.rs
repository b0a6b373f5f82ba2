//! The first config, purely: from the agent configs found (each with the models it names) and
//! the quota sources whose credentials were found, fallback chains made only of models the
//! configs already name, and the config text with a comment for each choice.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::target::Kind;

/// An agent config found on the machine.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Found {
    /// As written in the config (`~/.claude/settings.json`).
    pub(crate) display: String,
    pub(crate) kind: Kind,
    /// Its model slots: slot name, model id and the provider serving it.
    pub(crate) slots: Vec<(String, String, String)>,
    /// Every other model id it names (OpenCode's `provider.<id>.models`, `fallback_models`),
    /// with its provider.
    pub(crate) named: Vec<(String, String)>,
}

/// A quota source that can be used: its label and the providers it covers.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Usable {
    pub(crate) label: String,
    pub(crate) covers: Vec<String>,
}

/// Chain entries proposed per original at most: more are rarely reached.
const CHAIN: usize = 3;

/// One original model's proposal: the chain, or why there is none.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Chain {
    pub(crate) model: String,
    pub(crate) provider: String,
    /// `target: slot` of each slot holding it.
    pub(crate) used_by: Vec<String>,
    /// Each candidate with where it is named.
    pub(crate) candidates: Vec<(String, String, String)>,
    pub(crate) none_because: Option<String>,
}

/// Chains for every model a slot holds, grouped by the agent kind (an OpenCode id means nothing
/// to Claude Code, and the other way round).
pub(crate) fn chains(found: &[Found], sources: &[Usable]) -> Vec<Chain> {
    let monitored: BTreeSet<&str> = sources
        .iter()
        .flat_map(|s| s.covers.iter().map(String::as_str))
        .collect();
    let mut out: Vec<Chain> = Vec::new();
    for target in found {
        for (slot, model, provider) in &target.slots {
            let used = format!("{}: {slot}", target.display);
            if let Some(chain) = out.iter_mut().find(|c| &c.model == model) {
                chain.used_by.push(used);
                continue;
            }
            // Every model of the same kind named anywhere, in the order found, once.
            let mut seen = BTreeSet::new();
            let named: Vec<(String, String, String)> = found
                .iter()
                .filter(|t| t.kind == target.kind)
                .flat_map(|t| {
                    let slots = t.slots.iter().map(|(_, m, p)| (m, p));
                    let others = t.named.iter().map(|(m, p)| (m, p));
                    slots
                        .chain(others)
                        .map(move |(m, p)| (m.clone(), p.clone(), t.display.clone()))
                })
                .filter(|(m, _, _)| m != model && seen.insert(m.clone()))
                .collect();
            // OpenCode: another provider, watched ones first (their health is known). Claude
            // Code's slots share one endpoint: another model of it helps when only a window
            // scoped to this one is spent (the opus week).
            let mut candidates: Vec<(String, String, String)> = match target.kind {
                Kind::OpenCode | Kind::OpenCodeAgent => named
                    .into_iter()
                    .filter(|(_, p, _)| p != provider)
                    .collect(),
                Kind::Claude | Kind::ClaudeAgent => named,
            };
            candidates.sort_by_key(|(_, p, _)| !monitored.contains(p.as_str()));
            candidates.truncate(CHAIN);
            let none_because = if !monitored.contains(provider.as_str()) {
                candidates.clear();
                Some(format!(
                    "no quota source watches {provider}, so nothing would ever switch it"
                ))
            } else if candidates.is_empty() {
                Some(match target.kind {
                    Kind::OpenCode | Kind::OpenCodeAgent => {
                        "your configs name no model of another provider".to_owned()
                    }
                    Kind::Claude | Kind::ClaudeAgent => {
                        "your Claude Code settings name no other model".to_owned()
                    }
                })
            } else {
                None
            };
            out.push(Chain {
                model: model.clone(),
                provider: provider.clone(),
                used_by: vec![used],
                candidates,
                none_because,
            });
        }
    }
    out
}

/// A JSON5 string literal.
fn quoted(text: &str) -> String {
    serde_json::to_string(text).expect("a string serialises")
}

/// The config file's text, every choice explained in a comment. `today` dates it.
pub(crate) fn render(found: &[Found], sources: &[Usable], chains: &[Chain], today: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "// switcher's config, written by `switcher init` on {today}. Every field is optional;\n\
         // the README's Configuration section explains them all. switcher reads this file when\n\
         // it starts: restart `switcher watch` after editing it.\n{{"
    );
    out.push_str(
        "  // The agent configs found on this machine. Without `targets`, switcher would look for\n  \
         // them again at each start (in the directory it is started from, too); listing them\n  \
         // pins the set. Add a project's opencode.json here to manage it as well.\n  targets: [\n",
    );
    for t in found {
        let what = match t.kind {
            Kind::OpenCode => "OpenCode",
            Kind::Claude => "Claude Code",
            Kind::OpenCodeAgent => "OpenCode agent",
            Kind::ClaudeAgent => "Claude Code agent",
        };
        let n = t.slots.len();
        let _ = writeln!(
            out,
            "    {},  // {what}: {n} model slot{}",
            quoted(&t.display),
            if n == 1 { "" } else { "s" }
        );
    }
    out.push_str("  ],\n\n");
    out.push_str(
        "  // Quota sources: none is listed, so at each start switcher uses every built-in source\n  \
         // whose credentials it finds (`sources: [...]` would fix the list instead).",
    );
    if sources.is_empty() {
        out.push_str(
            "\n  // None was found now: every provider is unmonitored and nothing will switch until\n  \
             // an agent's CLI is logged in, an API key is set, or a status file is given.\n",
        );
    } else {
        out.push_str(" Found now:\n");
        for s in sources {
            let _ = writeln!(out, "  //   {} (covers {})", s.label, s.covers.join(", "));
        }
    }
    out.push_str(
        "  // A provider no source covers is unmonitored: never a reason to switch, and always fine\n  \
         // as a fallback.\n\n",
    );
    out.push_str(
        "  // Fallback chains, keyed by a slot's original model: the first healthy entry is taken\n  \
         // when the original runs low. Only models your configs already name are proposed.\n  \
         fallbacks: {\n",
    );
    for chain in chains {
        let _ = writeln!(
            out,
            "    // {} ({}) is used by {}.",
            chain.model,
            chain.provider,
            chain.used_by.join(", ")
        );
        match &chain.none_because {
            Some(why) => {
                let _ = writeln!(out, "    // No chain: {why}.");
            }
            None => {
                for (model, provider, named_in) in &chain.candidates {
                    let watched = if sources.iter().any(|s| s.covers.contains(provider)) {
                        "watched"
                    } else {
                        "unmonitored"
                    };
                    let _ = writeln!(
                        out,
                        "    //   {model}: {provider} ({watched}), named in {named_in}"
                    );
                }
                let entries: Vec<String> =
                    chain.candidates.iter().map(|(m, _, _)| quoted(m)).collect();
                let _ = writeln!(
                    out,
                    "    {}: [{}],",
                    quoted(&chain.model),
                    entries.join(", ")
                );
            }
        }
    }
    out.push_str("  },\n\n");
    out.push_str(
        "  // Desktop notifications (a switch, a restore, a provider turning YELLOW or RED, a reset\n  \
         // in 5 min) are on when a desktop session is present; `notify: false` turns them off.\n",
    );
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn opencode() -> Found {
        Found {
            display: "~/.config/opencode/opencode.json".into(),
            kind: Kind::OpenCode,
            slots: vec![
                (
                    "agent.build.model".into(),
                    "zai-coding-plan/glm-4.6".into(),
                    "zai".into(),
                ),
                (
                    "model".into(),
                    "zai-coding-plan/glm-4.6".into(),
                    "zai".into(),
                ),
                (
                    "small_model".into(),
                    "deepseek/deepseek-chat".into(),
                    "deepseek".into(),
                ),
            ],
            named: vec![
                ("zai-coding-plan/glm-4.5-air".into(), "zai".into()),
                ("openrouter/qwen/qwen3-coder".into(), "openrouter".into()),
            ],
        }
    }

    fn claude() -> Found {
        Found {
            display: "~/.claude/settings.json".into(),
            kind: Kind::Claude,
            slots: vec![("model".into(), "opus".into(), "anthropic".into())],
            named: vec![],
        }
    }

    fn sources() -> Vec<Usable> {
        vec![
            Usable {
                label: "zai (global)".into(),
                covers: vec!["zai".into()],
            },
            Usable {
                label: "claude".into(),
                covers: vec!["anthropic".into()],
            },
        ]
    }

    #[test]
    fn chains_only_hold_named_models_of_other_providers() {
        let chains = chains(&[opencode(), claude()], &sources());
        assert_eq!(chains.len(), 3);
        let glm = &chains[0];
        assert_eq!(glm.model, "zai-coding-plan/glm-4.6");
        assert_eq!(glm.used_by.len(), 2);
        let ids: Vec<&str> = glm.candidates.iter().map(|c| c.0.as_str()).collect();
        assert_eq!(
            ids,
            ["deepseek/deepseek-chat", "openrouter/qwen/qwen3-coder"]
        );
        assert!(
            chains[1]
                .none_because
                .as_ref()
                .unwrap()
                .contains("no quota source watches deepseek")
        );
        assert!(
            chains[2]
                .none_because
                .as_ref()
                .unwrap()
                .contains("name no other model")
        );
    }

    #[test]
    fn the_text_is_a_valid_config_with_every_choice_explained() {
        for (found, sources) in [
            (vec![opencode(), claude()], sources()),
            (vec![opencode()], vec![]),
            (vec![], vec![]),
        ] {
            let chains = chains(&found, &sources);
            let text = render(&found, &sources, &chains, "2026-11-21");
            let config = Config::parse(&text, std::path::Path::new("config.json5"))
                .unwrap_or_else(|e| panic!("{e}\n{text}"));
            assert_eq!(config.targets.unwrap().len(), found.len());
            assert!(config.sources.is_none(), "detection stays on");
            let proposed = config.fallbacks.unwrap();
            assert_eq!(
                proposed.len(),
                chains.iter().filter(|c| c.none_because.is_none()).count(),
                "{text}"
            );
        }
    }
}
