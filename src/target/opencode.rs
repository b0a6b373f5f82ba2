//! OpenCode targets (README, Targets): `model`, `small_model`, and the `model` of every agent under
//! `agent`, `agents` (V2) and `mode` (legacy).

use std::collections::HashMap;
use std::sync::Arc;

use crate::jsonc::{Document, KeyHash, KeyPath, Node};
use crate::provider::Aliases;

use super::{Candidate, Slot};

const AGENT_TABLES: [&str; 3] = ["agent", "agents", "mode"];

pub(crate) fn slots(doc: &Document) -> Vec<Slot> {
    let root = doc.root();
    // One slot per agent, at most: a config's thousands of agents fill the vector once.
    let agents = AGENT_TABLES
        .iter()
        .filter_map(|table| doc.prop(root, table))
        .map(|agents| agents.value.props().len())
        .sum::<usize>();
    let mut slots = Vec::with_capacity(2 + agents);
    let mut values = Values::default();
    slots.extend(string_slot(
        doc,
        &mut values,
        root,
        &[],
        "small_model",
        None,
    ));
    slots.extend(model_slot(doc, &mut values, root, &[]));
    for table in AGENT_TABLES {
        let Some(agents) = doc.prop(root, table) else {
            continue;
        };
        // The last of duplicate agent names is the one OpenCode reads.
        for agent in doc.unique_props(&agents.value) {
            slots.extend(model_slot(
                doc,
                &mut values,
                &agent.value,
                &[table, &doc.key(agent)],
            ));
        }
    }
    slots.sort_by(|a, b| a.path.cmp(&b.path));
    slots
}

/// Each distinct value of a document's slots, by its raw text, decoded once: a config's thousands
/// of agents name a handful of models, and their slots share those texts.
#[derive(Default)]
struct Values<'d>(HashMap<&'d str, (Arc<str>, Arc<str>), KeyHash>);

impl<'d> Values<'d> {
    /// The model a string node names and its raw text, or `None` if it is not a string.
    fn of(&mut self, doc: &'d Document, node: &Node) -> Option<(Arc<str>, Arc<str>)> {
        let raw = doc.raw(node);
        if let Some(value) = self.0.get(raw) {
            return Some(value.clone());
        }
        let value = (Arc::from(doc.str(node)?), Arc::from(raw));
        self.0.insert(raw, value.clone());
        Some(value)
    }
}

/// The `model` of an object, with the Agent Caddy `fallback_models` array beside it.
fn model_slot<'d>(
    doc: &'d Document,
    values: &mut Values<'d>,
    object: &Node,
    path: &[&str],
) -> Option<Slot> {
    let fallback_models = doc.prop(object, "fallback_models").map(|p| {
        doc.string_items(&p.value)
            .filter(|ids| ids.iter().all(|id| !id.trim().is_empty()))
            .map(|ids| ids.into_iter().map(Candidate::from).collect())
            .ok_or_else(|| "`fallback_models` is not an array of model ids".to_owned())
    });
    string_slot(doc, values, object, path, "model", fallback_models)
}

/// The string member `key` of the object at `path` as a slot, its path made in one piece.
fn string_slot<'d>(
    doc: &'d Document,
    values: &mut Values<'d>,
    object: &Node,
    path: &[&str],
    key: &str,
    fallback_models: Option<Result<Vec<Candidate>, String>>,
) -> Option<Slot> {
    let (model, raw) = values.of(doc, &doc.prop(object, key)?.value)?;
    Some(Slot {
        path: KeyPath::new(path.iter().copied().chain([key])),
        model,
        raw,
        fallback_models,
    })
}

/// The text before the first `/` names the provider (`openrouter/openai/gpt-5` → `openrouter`),
/// of the id without its variant (`local-model#high` → `local-model`).
pub(crate) fn provider(model: &str, aliases: &Aliases) -> String {
    let bare = model.split('#').next().unwrap_or(model);
    aliases.resolve(bare.split('/').next().unwrap_or(bare))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_slot_kind() {
        let doc = Document::parse(
            r#"{
              "model": "zai-coding-plan/glm-4.6",
              "fallback_models": ["deepseek/deepseek-chat"],
              "small_model": "zai/glm-4.5-air",
              "agent": {"build": {"model": "a/b"}, "plan": {"temperature": 1}, "my.agent": {"model": "c/d"}},
              "agents": {"x": {"model": "e/f"}},
              "mode": {"old": {"model": "g/h"}, "bad": {"model": 3}}
            }"#,
        )
        .unwrap();
        let found: Vec<String> = slots(&doc).iter().map(|s| s.path.to_string()).collect();
        assert_eq!(
            found,
            [
                "agent.build.model",
                "agent.\"my.agent\".model",
                "agents.x.model",
                "mode.old.model",
                "model",
                "small_model"
            ]
        );
        let model = slots(&doc)
            .into_iter()
            .find(|s| s.path.to_string() == "model")
            .unwrap();
        assert_eq!(
            model.fallback_models,
            Some(Ok(vec![Candidate::from("deepseek/deepseek-chat")]))
        );
        assert_eq!(&*model.raw, "\"zai-coding-plan/glm-4.6\"");
    }

    #[test]
    fn fallback_models_must_be_model_ids() {
        for bad in [r#""a/b""#, r#"["a/b", 3]"#, r#"[""]"#, r#"["a/b", "  "]"#] {
            let doc = Document::parse(&format!(r#"{{"model": "x/y", "fallback_models": {bad}}}"#))
                .unwrap();
            let why = slots(&doc)[0].fallback_models.clone().unwrap().unwrap_err();
            assert_eq!(
                why, "`fallback_models` is not an array of model ids",
                "{bad}"
            );
        }
        let doc = Document::parse(r#"{"model": "x/y", "fallback_models": []}"#).unwrap();
        assert_eq!(slots(&doc)[0].fallback_models, Some(Ok(Vec::new())));
    }

    #[test]
    fn provider_is_the_aliased_prefix() {
        let aliases = Aliases::default();
        assert_eq!(provider("openrouter/openai/gpt-5", &aliases), "openrouter");
        assert_eq!(provider("github-copilot/gpt-5", &aliases), "copilot");
        assert_eq!(provider("ZAI-Coding-Plan/glm-4.6", &aliases), "zai");
        assert_eq!(provider("local-model", &aliases), "local-model");
        assert_eq!(provider("local-model#high", &aliases), "local-model");
        assert_eq!(provider("zhipuai-coding-plan/glm-4.6#max", &aliases), "zai");
        assert_eq!(provider("/gpt-5", &aliases), crate::provider::UNNAMED);
    }
}
