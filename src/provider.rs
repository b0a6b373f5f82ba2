//! Provider names: normalisation and the alias table (README, Status files).
//!
//! Agents, status files and users name the same account differently (`zai-coding-plan`, `zhipuai`,
//! `zai`). Every name is lower-cased and mapped through the aliases once, where it enters, so the
//! rest of the program compares plain strings.

use std::collections::BTreeMap;

const BUILT_IN: &[(&str, &str)] = &[
    ("alibaba-coding-plan", "alibaba"),
    ("bailian-coding-plan", "alibaba"),
    ("chatgpt", "openai"),
    ("claude", "anthropic"),
    ("codex", "openai"),
    ("dashscope", "alibaba"),
    ("github-copilot", "copilot"),
    ("google", "gemini"),
    ("kimi-for-coding", "kimi"),
    ("minimax-cn", "minimax"),
    ("minimax-cn-coding-plan", "minimax"),
    ("minimax-coding-plan", "minimax"),
    ("moonshotai", "moonshot"),
    ("moonshotai-cn", "moonshot"),
    ("zai-coding-plan", "zai"),
    ("zhipuai", "zai"),
    ("zhipuai-coding-plan", "zai"),
];

/// What a provider is called when its name is empty (an OpenCode id `/gpt-5`, an empty slot):
/// every output names a provider.
pub const UNNAMED: &str = "unnamed";

/// The alias table: built-in entries plus the user's `aliases`, which win.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Aliases(BTreeMap<String, String>);

impl Default for Aliases {
    fn default() -> Self {
        Aliases::new(&BTreeMap::new())
    }
}

impl Aliases {
    pub(crate) fn new(extra: &BTreeMap<String, String>) -> Aliases {
        let mut map: BTreeMap<String, String> = BUILT_IN
            .iter()
            .map(|(from, to)| ((*from).to_owned(), (*to).to_owned()))
            .collect();
        for (from, to) in extra {
            map.insert(from.to_lowercase(), to.to_lowercase());
        }
        Aliases(map)
    }

    /// The canonical provider id for a name; never empty.
    pub(crate) fn resolve(&self, name: &str) -> String {
        let name = name.trim().to_lowercase();
        // One hop through the user's table may land on a built-in alias.
        let resolved = match self.0.get(&name) {
            Some(to) => self.0.get(to).unwrap_or(to),
            None => &name,
        };
        match resolved.trim() {
            "" => UNNAMED.to_owned(),
            _ => resolved.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_and_user_aliases() {
        let mut extra = BTreeMap::new();
        extra.insert("My-ZAI".to_owned(), "zai-coding-plan".to_owned());
        let aliases = Aliases::new(&extra);
        assert_eq!(aliases.resolve("github-copilot"), "copilot");
        assert_eq!(aliases.resolve("Claude"), "anthropic");
        assert_eq!(aliases.resolve("my-zai"), "zai");
        assert_eq!(aliases.resolve("deepseek"), "deepseek");
        assert_eq!(
            aliases.resolve(" "),
            UNNAMED,
            "a provider name is never empty"
        );
    }

    #[test]
    fn every_alias_of_the_readme() {
        let aliases = Aliases::default();
        let table = [
            ("claude", "anthropic"),
            ("github-copilot", "copilot"),
            ("zai-coding-plan", "zai"),
            ("zhipuai", "zai"),
            ("zhipuai-coding-plan", "zai"),
            ("minimax-coding-plan", "minimax"),
            ("minimax-cn", "minimax"),
            ("minimax-cn-coding-plan", "minimax"),
            ("kimi-for-coding", "kimi"),
            ("moonshotai", "moonshot"),
            ("moonshotai-cn", "moonshot"),
            ("bailian-coding-plan", "alibaba"),
            ("alibaba-coding-plan", "alibaba"),
            ("dashscope", "alibaba"),
            ("chatgpt", "openai"),
            ("codex", "openai"),
            ("google", "gemini"),
        ];
        for (alias, provider) in table {
            assert_eq!(aliases.resolve(alias), provider, "{alias}");
            assert_eq!(aliases.resolve(&alias.to_uppercase()), provider, "{alias}");
        }
    }
}
