//! Claude Code targets (README, Targets): `settings.json` / `settings.local.json`. Slots are the
//! top-level `model` and the model keys of `env`; every slot's provider is the endpoint's, from
//! `env.ANTHROPIC_BASE_URL` (Anthropic itself when unset).

use std::borrow::Cow;

use crate::jsonc::{Document, KeyPath};
use crate::provider::Aliases;

use super::Slot;

/// The `env` keys that name models.
pub(crate) const ENV_SLOTS: [&str; 6] = [
    "ANTHROPIC_MODEL",
    "ANTHROPIC_DEFAULT_OPUS_MODEL",
    "ANTHROPIC_DEFAULT_SONNET_MODEL",
    "ANTHROPIC_DEFAULT_HAIKU_MODEL",
    "ANTHROPIC_SMALL_FAST_MODEL",
    "CLAUDE_CODE_SUBAGENT_MODEL",
];

/// Env keys that carry a credential: a profile never overwrites or leaves one behind.
pub(crate) const CREDENTIALS: [&str; 2] = ["ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_API_KEY"];

/// Whether `path` is a slot a running Claude Code session reads only when it starts (the top-level
/// `model`, `env.ANTHROPIC_MODEL`): it keeps the model named then, and resolves an alias among
/// them (`opus`) on every request (README, Running sessions).
pub(crate) fn read_at_start(path: &KeyPath) -> bool {
    match path.keys() {
        [key] => key == "model",
        [env, key] => env == "env" && key == "ANTHROPIC_MODEL",
        _ => false,
    }
}

/// The `env` key a running session reads on every request to resolve `model`, if `model` is an
/// alias (`opus`, `sonnet`, `haiku`, with or without a context suffix such as `[1m]`).
pub(crate) fn alias_key(model: &str) -> Option<&'static str> {
    match crate::quota::bare_model(model) {
        "opus" => Some("ANTHROPIC_DEFAULT_OPUS_MODEL"),
        "sonnet" => Some("ANTHROPIC_DEFAULT_SONNET_MODEL"),
        "haiku" => Some("ANTHROPIC_DEFAULT_HAIKU_MODEL"),
        _ => None,
    }
}

/// Whether a running session drops this `env` key's value when it is set to `""` (it then
/// behaves as if the key were unset: Anthropic's endpoint, no token, the alias's own model), so
/// that leaving a value this tool added can be made to reach it before the key is removed.
/// Measured with Claude Code 2.1.332 (README, Running sessions); a credential is always cleared.
pub(crate) fn clears_live(key: &str) -> bool {
    matches!(
        key,
        "ANTHROPIC_BASE_URL"
            | "ANTHROPIC_DEFAULT_OPUS_MODEL"
            | "ANTHROPIC_DEFAULT_SONNET_MODEL"
            | "ANTHROPIC_DEFAULT_HAIKU_MODEL"
    ) || crate::plan::profile::is_credential_key(key)
}

pub(crate) fn slots(doc: &Document) -> Vec<Slot> {
    let root = doc.root();
    let mut slots = Vec::new();
    let mut add = |path: KeyPath| {
        if let Some(node) = doc.get(&path)
            && let Some(model) = doc.str(node)
        {
            slots.push(Slot {
                raw: doc.raw(node).into(),
                model: model.into(),
                path,
                fallback_models: None,
            });
        }
    };
    add(KeyPath::new(["model"]));
    if doc
        .prop(root, "env")
        .is_some_and(|env| env.value.is_object())
    {
        for key in ENV_SLOTS {
            add(KeyPath::new(["env", key]));
        }
    }
    slots
}

/// The provider serving every slot of this document: mapped from the base URL's host. An empty or
/// blank `ANTHROPIC_BASE_URL` is no base URL (Claude Code then talks to Anthropic); an unknown
/// host is its own provider, named after the host (or the text, when it has none).
pub(crate) fn provider(doc: &Document, aliases: &Aliases) -> String {
    endpoint_provider(base_url(doc).as_deref(), aliases)
}

/// The document's `env.ANTHROPIC_BASE_URL`, if it sets one.
pub(crate) fn base_url(doc: &Document) -> Option<Cow<'_, str>> {
    doc.string_at(&KeyPath::new(["env", "ANTHROPIC_BASE_URL"]))
}

/// The provider behind a base URL; Anthropic itself when it is unset, empty or blank.
pub(crate) fn endpoint_provider(url: Option<&str>, aliases: &Aliases) -> String {
    match url.map(str::trim).filter(|u| !u.is_empty()) {
        Some(url) => match host_provider(url) {
            Some(provider) => provider.to_owned(),
            None => aliases.resolve(&host(url).unwrap_or_else(|| url.to_owned())),
        },
        None => aliases.resolve("anthropic"),
    }
}

/// The host of a base URL, lower-cased, without port or trailing dot; a URL written without a
/// scheme (`api.z.ai/api/anthropic`) has one too.
fn host(url: &str) -> Option<String> {
    let url = url.trim();
    let parsed = match url::Url::parse(url) {
        Ok(parsed) if parsed.has_host() => parsed,
        _ => url::Url::parse(&format!("https://{url}")).ok()?,
    };
    let host = parsed.host_str()?.trim_end_matches('.').to_lowercase();
    (!host.is_empty()).then_some(host)
}

/// The provider behind an Anthropic-compatible endpoint's host, if it is a known one; an unknown
/// host is its own (unmonitored) provider.
pub(crate) fn host_provider(url: &str) -> Option<&'static str> {
    let host = host(url)?;
    let provider = match host.as_str() {
        "api.anthropic.com" => "anthropic",
        "api.z.ai" | "open.bigmodel.cn" => "zai",
        "api.kimi.com" => "kimi",
        "api.moonshot.ai" | "api.moonshot.cn" => "moonshot",
        "api.deepseek.com" => "deepseek",
        "api.minimax.io" | "api.minimaxi.com" => "minimax",
        "openrouter.ai" => "openrouter",
        h if h == "dashscope.aliyuncs.com" || h.ends_with(".dashscope.aliyuncs.com") => "alibaba",
        _ => return None,
    };
    Some(provider)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_and_live_keys() {
        assert_eq!(alias_key("opus"), Some("ANTHROPIC_DEFAULT_OPUS_MODEL"));
        assert_eq!(alias_key("opus[1m]"), Some("ANTHROPIC_DEFAULT_OPUS_MODEL"));
        assert_eq!(alias_key("sonnet"), Some("ANTHROPIC_DEFAULT_SONNET_MODEL"));
        assert_eq!(alias_key("haiku"), Some("ANTHROPIC_DEFAULT_HAIKU_MODEL"));
        assert_eq!(alias_key("claude-opus-4-1"), None);
        assert_eq!(alias_key("opusplan"), None);
        assert!(read_at_start(&KeyPath::new(["model"])));
        assert!(read_at_start(&KeyPath::new(["env", "ANTHROPIC_MODEL"])));
        assert!(!read_at_start(&KeyPath::new([
            "env",
            "ANTHROPIC_DEFAULT_OPUS_MODEL"
        ])));
        assert!(clears_live("ANTHROPIC_BASE_URL") && clears_live("ANTHROPIC_AUTH_TOKEN"));
        assert!(clears_live("ZAI_API_KEY") && !clears_live("API_TIMEOUT_MS"));
    }

    #[test]
    fn slots_are_model_and_env_model_keys() {
        let doc = Document::parse(
            r#"{"model": "opus", "env": {"ANTHROPIC_MODEL": "glm-4.6", "ANTHROPIC_SMALL_FAST_MODEL": "glm-4.5-air",
                "ANTHROPIC_BASE_URL": "https://api.z.ai/api/anthropic", "OTHER": "x"}, "hooks": {}}"#,
        )
        .unwrap();
        let found: Vec<String> = slots(&doc).iter().map(|s| s.path.to_string()).collect();
        assert_eq!(
            found,
            [
                "model",
                "env.ANTHROPIC_MODEL",
                "env.ANTHROPIC_SMALL_FAST_MODEL"
            ]
        );
    }

    /// The provider of a document whose base URL is `url`.
    fn with(url: &str) -> String {
        let doc =
            Document::parse(&format!(r#"{{"env": {{"ANTHROPIC_BASE_URL": "{url}"}}}}"#)).unwrap();
        provider(&doc, &Aliases::default())
    }

    #[test]
    fn provider_from_the_base_url_host() {
        let aliases = Aliases::default();
        assert_eq!(
            provider(&Document::parse("{}").unwrap(), &aliases),
            "anthropic"
        );
        assert_eq!(with("https://api.z.ai/api/anthropic"), "zai");
        assert_eq!(with("https://open.bigmodel.cn/api/anthropic"), "zai");
        assert_eq!(with("https://api.kimi.com/coding/"), "kimi");
        assert_eq!(with("https://api.moonshot.cn/anthropic"), "moonshot");
        assert_eq!(with("https://api.deepseek.com/anthropic"), "deepseek");
        assert_eq!(with("https://api.minimaxi.com/anthropic"), "minimax");
        assert_eq!(
            with("https://dashscope-intl.dashscope.aliyuncs.com/apps/anthropic"),
            "alibaba"
        );
        assert_eq!(with("https://openrouter.ai/api"), "openrouter");
        assert_eq!(with("https://LLM.Example.com/v1"), "llm.example.com");
        assert_eq!(endpoint_provider(None, &aliases), "anthropic");
        assert_eq!(
            endpoint_provider(Some("https://api.z.ai/api/anthropic"), &aliases),
            "zai"
        );
    }

    #[test]
    fn a_blank_base_url_is_anthropic_and_hosts_compare_loosely() {
        assert_eq!(with(""), "anthropic");
        assert_eq!(with("   "), "anthropic");
        assert_eq!(with(" https://API.Z.AI:443/api/anthropic "), "zai");
        assert_eq!(with("https://api.z.ai./api/anthropic"), "zai");
        assert_eq!(with("HTTPS://Api.Anthropic.Com"), "anthropic");
        assert_eq!(with("api.deepseek.com/anthropic"), "deepseek");
        assert_eq!(with("http://127.0.0.1:8080"), "127.0.0.1");
        assert_eq!(with("::not a url::"), "::not a url::");
        for url in ["", " ", "https://", "http://:80", "?"] {
            assert!(!with(url).is_empty(), "{url:?}");
        }
    }
}
