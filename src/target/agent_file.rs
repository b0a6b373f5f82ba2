//! A Markdown agent file as a target's document (README, Targets: Markdown agents): its text and
//! what its front matter says about the model, edited only through [`AgentFile::replace`], which
//! re-reads the edited front matter before the text can go anywhere.

use super::markdown::{Found, ModelValue, find_model, splice};

#[derive(Clone, Debug)]
pub(crate) struct AgentFile {
    text: String,
    found: Found,
}

impl AgentFile {
    pub(crate) fn parse(text: impl Into<String>) -> AgentFile {
        let text = text.into();
        AgentFile {
            found: find_model(&text),
            text,
        }
    }

    /// The whole file, BOM included.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// The whole file, taken out.
    pub(crate) fn into_text(self) -> String {
        self.text
    }

    pub(crate) fn found(&self) -> &Found {
        &self.found
    }

    /// The managed `model:` value, if there is one.
    pub(crate) fn value(&self) -> Option<&ModelValue> {
        match &self.found {
            Found::Model(value) => Some(value),
            _ => None,
        }
    }

    /// The value's bytes as written, quotes included.
    pub(crate) fn raw(&self) -> Option<&str> {
        self.value().map(|v| &self.text[v.span.clone()])
    }

    /// The file with the value's bytes replaced by `raw`. Refused unless the edited front matter
    /// reads back as one managed value made of exactly those bytes, so that no text — a damaged
    /// record, say — can add a line, a key or a comment, or end the front matter.
    pub(crate) fn replace(&self, raw: &str) -> Result<AgentFile, String> {
        let value = self
            .value()
            .ok_or("the front matter has no `model:` value to replace")?;
        let text = splice(&self.text, value.span.clone(), raw);
        let edited = AgentFile::parse(text);
        match edited.value() {
            Some(v) if v.span == (value.span.start..value.span.start + raw.len()) => Ok(edited),
            _ => Err(format!(
                "{raw:?} does not read back as a one-line `model:` value"
            )),
        }
    }
}

/// `raw` read as a front-matter value on its own line: the model it names, if it is one this
/// tool manages and nothing else (the check a recorded value passes before it can be written).
pub(crate) fn read_raw(raw: &str) -> Option<String> {
    let probe = AgentFile::parse("---\nmodel: x\n---\n").replace(raw).ok()?;
    probe.value().map(|v| v.model.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_only_values_that_read_back_as_themselves() {
        let file =
            AgentFile::parse("---\r\nname: a\r\nmodel: 'zai/glm-4.7' # plan\r\n---\r\nbody\r\n");
        assert_eq!(file.raw(), Some("'zai/glm-4.7'"));
        let edited = file.replace("deepseek/deepseek-chat").unwrap();
        assert_eq!(
            edited.text(),
            "---\r\nname: a\r\nmodel: deepseek/deepseek-chat # plan\r\n---\r\nbody\r\n"
        );
        for bad in [
            "",
            "opus\nx: 1",
            "opus\n---",
            "inherit",
            "null",
            "[a]",
            "'open",
            "a # b",
            "a b: c",
            "true",
            "\"a\"x",
        ] {
            assert!(file.replace(bad).is_err(), "{bad:?}");
            assert_eq!(read_raw(bad), None, "{bad:?}");
        }
        assert_eq!(read_raw("'it''s'").as_deref(), Some("it's"));
        assert_eq!(read_raw("\"a\\u00e9\"").as_deref(), Some("aé"));
        assert_eq!(read_raw("opus[1m]").as_deref(), Some("opus[1m]"));
    }

    #[test]
    fn a_file_without_a_value_takes_no_replacement() {
        for text in [
            "no front matter\n",
            "---\nmodel: inherit\n---\n",
            "---\nmodel: [a]\n---\n",
        ] {
            assert!(AgentFile::parse(text).replace("opus").is_err(), "{text:?}");
        }
    }
}
