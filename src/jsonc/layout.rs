//! Reading a document's layout: trivia between tokens, line breaks and indentation.
//!
//! Edits must look as if the user had typed them: added keys on their own line, indented like
//! their siblings, with the file's line ending. These helpers answer "what lies between these two
//! tokens" and "how is this line indented" on the raw text; the parser guarantees that the regions
//! they scan hold only whitespace, comments and commas.

/// Skips whitespace and comments from `pos`; returns the position of the next token.
pub(crate) fn skip_trivia(text: &str, mut pos: usize) -> usize {
    let bytes = text.as_bytes();
    while pos < bytes.len() {
        match bytes[pos] {
            b'/' if bytes.get(pos + 1) == Some(&b'/') => pos = line_comment_end(text, pos),
            b'/' if bytes.get(pos + 1) == Some(&b'*') => pos = block_comment_end(text, pos),
            _ => match whitespace_at(text, pos) {
                Some(len) => pos += len,
                None => break,
            },
        }
    }
    pos
}

/// Skips whitespace and comments that stay on the current line; stops at a line break (CR or
/// LF), at a token, or at a block comment that spans lines.
pub(crate) fn skip_trivia_on_line(text: &str, mut pos: usize) -> usize {
    let bytes = text.as_bytes();
    while pos < bytes.len() {
        match bytes[pos] {
            b'\r' | b'\n' => break,
            b'/' if bytes.get(pos + 1) == Some(&b'/') => return line_comment_end(text, pos),
            b'/' if bytes.get(pos + 1) == Some(&b'*') => {
                let end = block_comment_end(text, pos);
                if text[pos..end].contains(['\r', '\n']) {
                    break;
                }
                pos = end;
            }
            _ => match whitespace_at(text, pos) {
                Some(len) => pos += len,
                None => break,
            },
        }
    }
    pos
}

/// Where the line comment at `pos` ends: like the parser, at the first CR or LF. A CRLF's CR,
/// and a stray CR before it, are not part of the comment, so nothing is ever inserted between a
/// CR and the LF it would pair with.
fn line_comment_end(text: &str, pos: usize) -> usize {
    text.as_bytes()[pos..]
        .iter()
        .position(|b| matches!(b, b'\r' | b'\n'))
        .map_or(text.len(), |i| pos + i)
}

/// Where the block comment at `pos` ends, after its `*/`.
fn block_comment_end(text: &str, pos: usize) -> usize {
    text[pos + 2..]
        .find("*/")
        .map_or(text.len(), |i| pos + 2 + i + 2)
}

/// The length of the whitespace character at `pos`, if one is there. The parser's whitespace is
/// wider than JSON's (vertical tab, form feed, Unicode spaces); scanning must agree with it.
fn whitespace_at(text: &str, pos: usize) -> Option<usize> {
    let c = text[pos..].chars().next()?;
    c.is_whitespace().then(|| c.len_utf8())
}

/// Whether the trivia from `pos` up to the line break at `lb` ends in a line comment, which
/// would run on over anything moved onto its line.
pub(crate) fn line_comment_before(text: &str, mut pos: usize, lb: usize) -> bool {
    let bytes = text.as_bytes();
    while pos < lb {
        match bytes[pos] {
            b'/' if bytes.get(pos + 1) == Some(&b'/') => {
                let end = line_comment_end(text, pos);
                if end >= lb {
                    return true;
                }
                pos = end;
            }
            b'/' if bytes.get(pos + 1) == Some(&b'*') => pos = block_comment_end(text, pos),
            _ => pos += 1,
        }
    }
    false
}

/// If only spaces and tabs separate `pos` from the line break before it, the position where that
/// line break starts (its `\r` for CRLF).
pub(crate) fn line_break_before(text: &str, pos: usize) -> Option<usize> {
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
pub(crate) fn indent_of_line(text: &str, pos: usize) -> &str {
    let start = text[..pos].rfind('\n').map_or(0, |i| i + 1);
    let line = &text[start..];
    let len = line.len() - line.trim_start_matches([' ', '\t']).len();
    &line[..len]
}

/// The file's line ending: CRLF when its first line break is one, else LF.
pub(crate) fn newline(text: &str) -> &'static str {
    match text.find('\n') {
        Some(i) if i > 0 && text.as_bytes()[i - 1] == b'\r' => "\r\n",
        _ => "\n",
    }
}

/// One level of indentation: the first indented line's leading whitespace, else two spaces.
pub(crate) fn indent_unit(text: &str) -> &str {
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
        // As the parser reads it: a CR ends a line comment, so `/*` after it opens a block
        // comment whose comma is no separator; and vertical tabs and Unicode spaces are blanks.
        let t = "1 // c\r/*\n , */\u{b}\u{a0}\u{2028}, 2";
        assert_eq!(&t[skip_trivia(t, 1)..], ", 2");
    }

    #[test]
    fn on_line_stops_at_line_breaks() {
        let t = "1, // c\r\n  2";
        assert_eq!(skip_trivia_on_line(t, 2), 7);
        assert_eq!(&t[7..9], "\r\n");
        let t = "1 /* a\n b */ 2";
        assert_eq!(skip_trivia_on_line(t, 1), 2);
        let t = "1, // c\r\r\n  2";
        assert_eq!(skip_trivia_on_line(t, 2), 7);
        assert_eq!(skip_trivia_on_line("1 //\r\n", 1), 4);
        assert_eq!(skip_trivia_on_line("1 // c", 1), 6);
    }

    #[test]
    fn line_comments_before_a_line_break() {
        let t = "1, /* // */ // c\r\n  2";
        assert!(line_comment_before(t, 1, t.find('\r').unwrap()));
        let t = "1, // c\n /* d */\n  2";
        assert!(!line_comment_before(t, 1, t.rfind('\n').unwrap()));
        assert!(!line_comment_before("1, /* // */\n", 1, 11));
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
