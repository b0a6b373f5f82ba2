//! A target's parsed text, whichever family it belongs to: a lossless JSONC document or a
//! Markdown agent file. Plans read slots from it and edit it through the same [`Edit`]s; each
//! family checks its own edits (the JSONC layer re-parses, an agent file re-reads its front
//! matter) before the text can be written.

use crate::jsonc::{Document, Edit, Edited, KeyPath, ParseError};

use super::markdown::{Found, render};
use super::{AgentFile, Kind};

#[derive(Clone, Debug)]
pub(crate) enum Doc {
    Json(Document),
    Agent(AgentFile),
}

impl Doc {
    /// Parses a file's text as `kind` says. An agent file always parses: what its front matter
    /// does not make a managed value is no slot. The text is kept: a big file is not copied.
    pub(crate) fn parse(kind: Kind, text: String) -> Result<Doc, ParseError> {
        if kind.is_agent() {
            Ok(Doc::Agent(AgentFile::parse(text)))
        } else {
            Document::parse_owned(text).map(Doc::Json)
        }
    }

    /// The whole file's text as parsed, taken out of the document.
    pub(crate) fn into_source(self) -> String {
        match self {
            Doc::Json(doc) => doc.into_text(),
            Doc::Agent(file) => file.into_text(),
        }
    }

    /// The whole file's text after `edits`, checked as [`apply`](Self::apply) checks it, to be
    /// written or taken whole, with the text before; a JSON document's switches are spliced
    /// without a second parse, and its tree and the edits are dropped.
    pub(crate) fn edited(self, edits: Vec<Edit>) -> Result<Edited, String> {
        match self {
            Doc::Json(doc) => doc.edited(edits).map_err(|e| e.to_string()),
            Doc::Agent(_) => {
                let after = self.apply(&edits)?.into_source();
                Ok(Edited::text(self.into_source(), after))
            }
        }
    }

    /// The JSON document, for what only JSON targets have (profiles, `env`).
    pub(crate) fn json(&self) -> Option<&Document> {
        match self {
            Doc::Json(doc) => Some(doc),
            Doc::Agent(_) => None,
        }
    }

    /// The raw text of the value at `path`.
    pub(crate) fn raw_at(&self, path: &KeyPath) -> Option<&str> {
        match self {
            Doc::Json(doc) => doc.raw_at(path),
            Doc::Agent(file) if is_model(path) => file.raw(),
            Doc::Agent(_) => None,
        }
    }

    /// The text that writes `model` into a slot: a JSON string, or a front-matter value quoted
    /// the way the one there is, where YAML reads it back the same.
    pub(crate) fn value_text(&self, model: &str) -> String {
        match self {
            Doc::Json(_) => {
                // Sized to fit: a pass keeps one per switched slot.
                let mut out = Vec::with_capacity(model.len() + 2);
                serde_json::to_writer(&mut out, model).expect("strings serialise");
                String::from_utf8(out).expect("serde_json writes UTF-8")
            }
            Doc::Agent(file) => match file.value() {
                Some(value) => render(model, value.quote),
                None => render(model, super::markdown::Quote::Bare),
            },
        }
    }

    /// Applies edits in order; nothing is applied if one fails. An agent file takes only the
    /// replacement of its `model`.
    pub(crate) fn apply(&self, edits: &[Edit]) -> Result<Doc, String> {
        match self {
            Doc::Json(doc) => doc.apply(edits).map(Doc::Json).map_err(|e| e.to_string()),
            Doc::Agent(file) => {
                let mut file = file.clone();
                for edit in edits {
                    file = match edit {
                        Edit::Replace { path, raw } if is_model(path) => file.replace(raw)?,
                        other => return Err(format!("an agent file cannot take {other:?}")),
                    };
                }
                Ok(Doc::Agent(file))
            }
        }
    }

    /// The whole file's text.
    pub(crate) fn render(&self) -> String {
        match self {
            Doc::Json(doc) => doc.render(),
            Doc::Agent(file) => file.text().to_owned(),
        }
    }

    /// A `model:` this tool leaves alone: its 1-based line and why.
    pub(crate) fn unmanaged(&self) -> Option<(usize, &'static str)> {
        match self {
            Doc::Agent(file) => match file.found() {
                Found::Unmanaged { line, why } => Some((*line, *why)),
                _ => None,
            },
            Doc::Json(_) => None,
        }
    }
}

fn is_model(path: &KeyPath) -> bool {
    path.keys() == ["model"]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_agent_file_takes_only_a_model_replacement() {
        let doc = Doc::parse(
            Kind::ClaudeAgent,
            "---\nmodel: \"opus\"\n---\nbody\n".into(),
        )
        .unwrap();
        let model = KeyPath::new(["model"]);
        assert_eq!(doc.raw_at(&model), Some("\"opus\""));
        assert_eq!(doc.value_text("sonnet"), "\"sonnet\"");
        let edited = doc
            .apply(&[Edit::Replace {
                path: model.clone(),
                raw: doc.value_text("sonnet").into(),
            }])
            .unwrap();
        assert_eq!(edited.render(), "---\nmodel: \"sonnet\"\n---\nbody\n");
        for edit in [
            Edit::Replace {
                path: KeyPath::new(["name"]),
                raw: "x".into(),
            },
            Edit::Remove {
                path: model.clone(),
            },
            Edit::Replace {
                path: model,
                raw: "opus\ntools: all".into(),
            },
        ] {
            assert!(doc.apply(std::slice::from_ref(&edit)).is_err(), "{edit:?}");
        }
    }

    #[test]
    fn unmanaged_forms_are_reported_with_their_line() {
        let doc = Doc::parse(
            Kind::ClaudeAgent,
            "---\nname: x\nmodel: {{MODEL}}\n---\n".into(),
        )
        .unwrap();
        assert_eq!(doc.unmanaged(), Some((3, "a flow collection")));
        assert!(Kind::ClaudeAgent.slots(&doc).is_empty());
    }
}
