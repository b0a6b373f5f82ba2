//! Reading a document's layout: trivia between tokens, line breaks and indentation.
//!
//! Edits must look as if the user had typed them: added keys on their own line, indented like
//! their siblings, with the file's line ending. These helpers answer "what lies between these two
//! tokens" and "how is this line indented" on the raw text; the parser guarantees that the regions
//! they scan hold only whitespace, comments and commas.

/// Skips whitespace and comments from `pos`; returns the position of the next token.
pub fn skip_trivia(text: &str, mut pos: usize) -> usize {
    let bytes = text.as_bytes();
    while pos < bytes.len() {
        match bytes[pos] {
            b' ' | b'\t' | b'\r' | b'\n' => pos += 1,
            b'/' if bytes.get(pos + 1) == Some(&b'/') => {
                pos = text[pos..].find('\n').map_or(text.len(), |i| pos + i);
            }
            b'/' if bytes.get(pos + 1) == Some(&b'*') => {
                pos = text[pos + 2..]
                    .find("*/")
                    .map_or(text.len(), |i| pos + 2 + i + 2);
            }
            _ => break,
        }
    }
    pos
}

/// Skips spaces, tabs and comments that stay on the current line; stops at a line break, at a
/// token, or at a block comment that spans lines.
pub fn skip_trivia_on_line(text: &str, mut pos: usize) -> usize {
    let bytes = text.as_bytes();
    while pos < bytes.len() {
        match bytes[pos] {
            b' ' | b'\t' => pos += 1,
            b'/' if bytes.get(pos + 1) == Some(&b'/') => {
                let end = text[pos..].find('\n').map_or(text.len(), |i| pos + i);
                // A CRLF line's comment ends before its '\r'.
                return if end > pos && bytes[end - 1] == b'\r' && end < text.len() {
                    end - 1
                } else {
                    end
                };
            }
            b'/' if bytes.get(pos + 1) == Some(&b'*') => match text[pos + 2..].find("*/") {
                Some(i) if !text[pos..pos + 2 + i].contains('\n') => pos = pos + 2 + i + 2,
                _ => break,
            },
            _ => break,
        }
    }
    pos
}

/// If only spaces and tabs separate `pos` from the line break before it, the position where that
/// line break starts (its `\r` for CRLF).
pub fn line_break_before(text: &str, pos: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = pos;
    while i > 0 && matches!(bytes[i - 1], b' ' | b'\t') {
        i -= 1;
    }
    if i == 0 || bytes[i - 1] != b'\n' {
        return None;
    }
    let lf = i - 1;
    Some(if lf > 0 && bytes[lf - 1] == b'\r' {
        lf - 1
    } else {
        lf
    })
}

/// The whitespace that starts the line `pos` is on.
pub fn indent_of_line(text: &str, pos: usize) -> &str {
    let start = text[..pos].rfind('\n').map_or(0, |i| i + 1);
    let line = &text[start..];
    let len = line.len() - line.trim_start_matches([' ', '\t']).len();
    &line[..len]
}

/// The file's line ending: CRLF when its first line break is one, else LF.
pub fn newline(text: &str) -> &'static str {
    match text.find('\n') {
        Some(i) if i > 0 && text.as_bytes()[i - 1] == b'\r' => "\r\n",
        _ => "\n",
    }
}

/// One level of indentation: the first indented line's leading whitespace, else two spaces.
pub fn indent_unit(text: &str) -> &str {
    text.split('\n')
        .skip(1)
        .map(|line| {
            let len = line.len() - line.trim_start_matches([' ', '\t']).len();
            &line[..len]
        })
        .find(|indent| !indent.is_empty())
        .unwrap_or("  ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_comments_and_whitespace() {
        let t = "1 // x, y\n /* a, */ , 2";
        assert_eq!(&t[skip_trivia(t, 1)..], ", 2");
    }

    #[test]
    fn on_line_stops_at_line_breaks() {
        let t = "1, // c\r\n  2";
        assert_eq!(skip_trivia_on_line(t, 2), 7);
        assert_eq!(&t[7..9], "\r\n");
        let t = "1 /* a\n b */ 2";
        assert_eq!(skip_trivia_on_line(t, 1), 2);
    }

    #[test]
    fn line_breaks_and_indents() {
        let t = "{\r\n    \"a\": 1\r\n}";
        let key = t.find("\"a\"").unwrap();
        assert_eq!(line_break_before(t, key), Some(1));
        assert_eq!(indent_of_line(t, key), "    ");
        assert_eq!(newline(t), "\r\n");
        assert_eq!(indent_unit(t), "    ");
        assert_eq!(line_break_before("{\"a\": 1}", 1), None);
        assert_eq!(indent_unit("{}"), "  ");
    }
}
