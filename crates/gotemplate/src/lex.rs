//! The template lexer: splits text from `{{ actions }}`, handles trim markers (`{{- `,
//! ` -}}`) and comments, and tokenizes the inside of actions as Go's `text/template` does.

use super::TemplateError;

/// A token inside an action.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// `.A.B`: a field chain; `glued` when it directly follows the previous token (`$x.A`,
    /// `(…).A`), which makes it part of that operand.
    Field(Vec<String>, bool),
    /// A lone `.`.
    Dot,
    /// `$` or `$name`.
    Var(String),
    /// A function name or keyword.
    Ident(String),
    /// A quoted or raw string, unescaped.
    Str(String),
    /// A number literal as written.
    Num(String),
    LParen,
    RParen,
    Pipe,
    /// `:=`
    Declare,
    /// `=`
    Assign,
    Comma,
}

/// One lexed item with its byte offset in the source.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Text(String),
    /// An action's tokens (with offsets), and the offset of the action's first token.
    Action(Vec<(usize, Tok)>, usize),
}

/// Splits `src` into text and actions.
pub fn lex(src: &str) -> Result<Vec<Item>, TemplateError> {
    let mut items = Vec::new();
    let mut rest = 0usize;
    let mut trim_next = false;
    while rest < src.len() {
        let Some(open) = src[rest..].find("{{").map(|i| i + rest) else {
            push_text(&mut items, &src[rest..], trim_next, false);
            break;
        };
        let mut inner = open + 2;
        let trim_left = src[inner..].starts_with('-')
            && src[inner + 1..].starts_with(|c: char| c.is_ascii_whitespace());
        if trim_left {
            inner += 2;
        }
        push_text(&mut items, &src[rest..open], trim_next, trim_left);
        let (toks, close, trim_right) = lex_action(src, inner)?;
        trim_next = trim_right;
        if let Some(toks) = toks {
            let first = toks.first().map(|t| t.0).unwrap_or(inner);
            items.push(Item::Action(toks, first));
        }
        rest = close;
    }
    Ok(items)
}

fn push_text(items: &mut Vec<Item>, text: &str, trim_start: bool, trim_end: bool) {
    let mut t = text;
    if trim_start {
        t = t.trim_start_matches([' ', '\t', '\r', '\n']);
    }
    if trim_end {
        t = t.trim_end_matches([' ', '\t', '\r', '\n']);
    }
    if !t.is_empty() {
        items.push(Item::Text(t.to_string()));
    }
}

fn line_of(src: &str, pos: usize) -> usize {
    1 + src[..pos.min(src.len())].matches('\n').count()
}

/// Lexes one action starting at `pos` (just inside `{{`). Returns its tokens (`None` for a
/// comment), the offset after `}}`, and whether the action ends with a right trim.
#[allow(clippy::type_complexity)]
fn lex_action(
    src: &str,
    mut pos: usize,
) -> Result<(Option<Vec<(usize, Tok)>>, usize, bool), TemplateError> {
    let b = src.as_bytes();
    let err = |p: usize, msg: String| TemplateError::Parse {
        line: line_of(src, p),
        msg,
    };
    // Comments: {{/* ... */}}
    let skip_ws = |p: usize| p + src[p..].len() - src[p..].trim_start().len();
    let c = skip_ws(pos);
    if src[c..].starts_with("/*") {
        let Some(end) = src[c + 2..].find("*/") else {
            return Err(err(c, "unclosed comment".into()));
        };
        let mut after = c + 2 + end + 2;
        after = skip_ws(after);
        let trim_right = src[after..].starts_with("-}}");
        let close = if trim_right { after + 1 } else { after };
        if !src[close..].starts_with("}}") {
            return Err(err(close, "comment ends before closing delimiter".into()));
        }
        return Ok((None, close + 2, trim_right));
    }
    let mut toks = Vec::new();
    loop {
        if pos >= b.len() {
            return Err(err(pos, "unclosed action".into()));
        }
        let ch = b[pos];
        if src[pos..].starts_with("}}") {
            return Ok((Some(toks), pos + 2, false));
        }
        if ch.is_ascii_whitespace() {
            let ws_end = skip_ws(pos);
            if src[ws_end..].starts_with("-}}") {
                return Ok((Some(toks), ws_end + 3, true));
            }
            pos = ws_end;
            continue;
        }
        let start = pos;
        let tok = match ch {
            b'(' => {
                pos += 1;
                Tok::LParen
            }
            b')' => {
                pos += 1;
                Tok::RParen
            }
            b'|' => {
                pos += 1;
                Tok::Pipe
            }
            b',' => {
                pos += 1;
                Tok::Comma
            }
            b'=' => {
                pos += 1;
                Tok::Assign
            }
            b':' if b.get(pos + 1) == Some(&b'=') => {
                pos += 2;
                Tok::Declare
            }
            b'"' => {
                let (s, end) = lex_quoted(src, pos)
                    .ok_or_else(|| err(pos, "unterminated quoted string".into()))?;
                pos = end;
                Tok::Str(s)
            }
            b'`' => {
                let end = src[pos + 1..]
                    .find('`')
                    .ok_or_else(|| err(pos, "unterminated raw quoted string".into()))?;
                let s = src[pos + 1..pos + 1 + end].to_string();
                pos += end + 2;
                Tok::Str(s)
            }
            b'\'' => {
                let end = src[pos + 1..]
                    .find('\'')
                    .ok_or_else(|| err(pos, "unterminated character constant".into()))?;
                let s = &src[pos + 1..pos + 1 + end];
                pos += end + 2;
                let c = s
                    .chars()
                    .next()
                    .ok_or_else(|| err(pos, "empty character constant".into()))?;
                Tok::Num((c as u32).to_string())
            }
            b'.' if !b.get(pos + 1).is_some_and(|c| c.is_ascii_digit()) => {
                let glued = pos > 0 && !b[pos - 1].is_ascii_whitespace() && !toks.is_empty();
                let mut chain = Vec::new();
                while b.get(pos) == Some(&b'.') {
                    let end = ident_end(src, pos + 1);
                    if end == pos + 1 {
                        break;
                    }
                    chain.push(src[pos + 1..end].to_string());
                    pos = end;
                }
                if chain.is_empty() {
                    pos += 1;
                    Tok::Dot
                } else {
                    Tok::Field(chain, glued)
                }
            }
            b'$' => {
                let end = ident_end(src, pos + 1);
                let name = src[pos..end].to_string();
                pos = end;
                Tok::Var(name)
            }
            b'-' | b'+' | b'.' | b'0'..=b'9' => {
                let end = pos
                    + 1
                    + src[pos + 1..]
                        .find(|c: char| {
                            !(c.is_ascii_alphanumeric()
                                || c == '.'
                                || c == '_'
                                || c == '+'
                                || c == '-')
                        })
                        .unwrap_or(src.len() - pos - 1);
                let text = src[pos..end].to_string();
                pos = end;
                Tok::Num(text)
            }
            c if c == b'_' || c.is_ascii_alphabetic() => {
                let end = ident_end(src, pos);
                let name = src[pos..end].to_string();
                pos = end;
                Tok::Ident(name)
            }
            _ => {
                let c = src[pos..].chars().next().unwrap_or('?');
                return Err(err(pos, format!("unexpected {c:?} in command")));
            }
        };
        toks.push((start, tok));
    }
}

fn ident_end(src: &str, from: usize) -> usize {
    from + src[from..]
        .find(|c: char| !(c == '_' || c.is_alphanumeric()))
        .unwrap_or(src.len() - from)
}

/// Lexes a Go double-quoted string starting at `pos` (the opening quote).
fn lex_quoted(src: &str, pos: usize) -> Option<(String, usize)> {
    let mut out = String::new();
    let mut chars = src[pos + 1..].char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, pos + 1 + i + 1)),
            '\n' => return None,
            '\\' => {
                let (_, e) = chars.next()?;
                match e {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    '\\' => out.push('\\'),
                    '"' => out.push('"'),
                    '\'' => out.push('\''),
                    'a' => out.push('\u{7}'),
                    'b' => out.push('\u{8}'),
                    'f' => out.push('\u{c}'),
                    'v' => out.push('\u{b}'),
                    'x' | 'u' | 'U' => {
                        let n = match e {
                            'x' => 2,
                            'u' => 4,
                            _ => 8,
                        };
                        let mut code = 0u32;
                        for _ in 0..n {
                            let (_, h) = chars.next()?;
                            code = code * 16 + h.to_digit(16)?;
                        }
                        out.push(char::from_u32(code)?);
                    }
                    _ => return None,
                }
            }
            c => out.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexes_text_actions_and_trims() {
        let items = lex("a {{- .A.B | printf \"%s\\n\" -}}  b{{/* c */}}{{$x := 1}}").unwrap();
        assert_eq!(items.len(), 4);
        assert_eq!(items[0], Item::Text("a".into()));
        let Item::Action(toks, _) = &items[1] else {
            panic!()
        };
        let toks: Vec<_> = toks.iter().map(|t| t.1.clone()).collect();
        assert_eq!(
            toks,
            vec![
                Tok::Field(vec!["A".into(), "B".into()], false),
                Tok::Pipe,
                Tok::Ident("printf".into()),
                Tok::Str("%s\n".into())
            ]
        );
        assert_eq!(items[2], Item::Text("b".into()));
        let Item::Action(toks, _) = &items[3] else {
            panic!()
        };
        assert_eq!(toks[0].1, Tok::Var("$x".into()));
        assert_eq!(toks[1].1, Tok::Declare);
        assert_eq!(toks[2].1, Tok::Num("1".into()));
    }

    #[test]
    fn negative_numbers_are_not_trim_markers() {
        let items = lex("{{-3}}").unwrap();
        let Item::Action(toks, _) = &items[0] else {
            panic!()
        };
        assert_eq!(toks[0].1, Tok::Num("-3".into()));
    }

    #[test]
    fn unclosed_action_is_an_error() {
        assert_eq!(
            lex("x {{ .A").unwrap_err().to_string(),
            "template: :1: unclosed action"
        );
    }
}
