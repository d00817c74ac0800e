//! The line loop: physical lines → logical lines → nodes, with directives, comments,
//! continuations and heredoc bodies.

use super::heredoc::heredocs_from_line;
use super::line::node_from_line;
use super::{Ast, Directive, Warning};
use crate::error::{Error, Lines, Reason, Scope};
use crate::go::{is_re_space, is_space};

/// BuildKit reads lines with Go's `bufio.Scanner`, whose longest line is 64 KiB.
const MAX_LINE: usize = 64 * 1024;

/// Physical lines, each with its newline; stops at an over-long line.
struct Scanner<'a> {
    rest: &'a str,
    too_long: bool,
}

impl<'a> Scanner<'a> {
    fn next_line(&mut self) -> Option<&'a str> {
        if self.too_long || self.rest.is_empty() {
            return None;
        }
        let end = self.rest.find('\n').map_or(self.rest.len(), |i| i + 1);
        let line = &self.rest[..end];
        if line.strip_suffix('\n').unwrap_or(line).len() >= MAX_LINE {
            self.too_long = true;
            return None;
        }
        self.rest = &self.rest[end..];
        Some(line)
    }
}

/// The directive state: the escape token, what was seen, and whether directives may still come.
struct Directives {
    escape: char,
    found: Vec<Directive>,
    done: bool,
}

impl Directives {
    /// Looks at one line (newline removed); returns whether it was a directive.
    fn check(&mut self, line: &str, number: usize) -> Result<bool, Reason> {
        if self.done {
            return Ok(false);
        }
        let Some((name, value)) = line.strip_prefix('#').and_then(directive) else {
            self.done = true;
            return Ok(false);
        };
        let name = name.to_lowercase();
        if !matches!(name.as_str(), "syntax" | "escape" | "check") {
            self.done = true;
            return Ok(false);
        }
        if self.found.iter().any(|d| d.name == name) {
            return Err(Reason::DuplicateDirective(name));
        }
        if name == "escape" {
            self.escape = match value {
                "`" => '`',
                "\\" => '\\',
                _ => return Err(Reason::InvalidEscapeToken(value.to_string())),
            };
        }
        self.found.push(Directive {
            name,
            value: value.to_string(),
            line: number,
        });
        Ok(true)
    }
}

/// `key = value` after the `#`: BuildKit's `^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$`.
fn directive(s: &str) -> Option<(&str, &str)> {
    let s = s.trim_start_matches(is_space);
    if !s.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let name_len = s.len()
        - s.trim_start_matches(|c: char| c.is_ascii_alphanumeric())
            .len();
    let (name, rest) = s.split_at(name_len);
    let rest = rest.trim_start_matches(is_re_space).strip_prefix('=')?;
    let value = rest.trim_start_matches(is_re_space);
    if value.is_empty() {
        // Only blanks after `=`: the lazy group still takes the last one.
        let last = rest.chars().next_back()?;
        return Some((name, &rest[rest.len() - last.len_utf8()..]));
    }
    Some((name, value.trim_end_matches(is_re_space)))
}

fn trim_newline(s: &str) -> &str {
    s.trim_end_matches(['\r', '\n'])
}

fn is_comment(s: &str) -> bool {
    s.trim_start_matches(is_space).starts_with('#')
}

/// A continued line ends with the escape token (then only spaces and tabs), not itself escaped.
/// Returns the line without it, and whether the logical line ends here.
fn trim_continuation(line: &str, escape: char) -> (&str, bool) {
    let body = line.trim_end_matches([' ', '\t']);
    match body.strip_suffix(escape) {
        Some(before) if !before.ends_with(escape) => (before, false),
        _ => (line, true),
    }
}

/// The parse state while walking the lines.
struct Parser<'a> {
    scanner: Scanner<'a>,
    directives: Directives,
    line: usize,
}

impl<'a> Parser<'a> {
    /// Newline trimmed, leading blanks trimmed on a first line, directives noted, and comment
    /// lines emptied.
    fn process_line(&mut self, raw: &'a str, strip: bool) -> Result<(&'a str, bool), Error> {
        let mut token = trim_newline(raw);
        if strip {
            token = token.trim_start_matches(is_space);
        }
        let number = self.line + 1;
        let is_directive = self
            .directives
            .check(token, number)
            .map_err(|r| Error::syntax(Lines::new(number, number), r))?;
        Ok((if is_comment(token) { "" } else { token }, is_directive))
    }

    /// Joins the continuation lines after `first`; returns the logical line and whether an
    /// empty continuation line was skipped.
    fn continuation(&mut self, first: &str) -> Result<(String, bool), Error> {
        let (mut text, mut end) = trim_continuation(first, self.directives.escape);
        let mut buf = text.to_string();
        let mut empty_line = false;
        while !end {
            let Some(raw) = self.scanner.next_line() else {
                break;
            };
            let (token, _) = self.process_line(raw, false)?;
            self.line += 1;
            if is_comment(raw) {
                continue;
            }
            if token.trim_start_matches(is_space).is_empty() {
                empty_line = true;
                continue;
            }
            (text, end) = trim_continuation(token, self.directives.escape);
            buf.push_str(text);
        }
        Ok((buf, empty_line))
    }

    /// Reads the bodies of the heredocs a line opened.
    fn heredoc_bodies(&mut self, node: &mut super::Node, start: usize) -> Result<(), Error> {
        let docs = heredocs_from_line(&node.original)
            .map_err(|e| Error::syntax(Lines::new(start, self.line), Reason::Heredoc(e)))?;
        for mut doc in docs {
            let mut terminated = false;
            while let Some(raw) = self.scanner.next_line() {
                self.line += 1;
                let mut candidate = trim_newline(raw);
                if doc.chomp {
                    candidate = candidate.trim_start_matches('\t');
                }
                if candidate == doc.name {
                    terminated = true;
                    break;
                }
                doc.content.push_str(raw);
            }
            if !terminated {
                return Err(Error::syntax(
                    Lines::new(start, self.line),
                    Reason::UnterminatedHeredoc,
                ));
            }
            node.heredocs.push(doc);
        }
        Ok(())
    }
}

/// Reads a Dockerfile into its syntax tree.
pub fn parse(src: &str) -> Result<Ast, Error> {
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    let mut p = Parser {
        scanner: Scanner {
            rest: src,
            too_long: false,
        },
        directives: Directives {
            escape: '\\',
            found: Vec::new(),
            done: false,
        },
        line: 0,
    };
    let mut nodes = Vec::new();
    let mut warnings = Vec::new();
    let mut comments: Vec<String> = Vec::new();
    while let Some(raw) = p.scanner.next_line() {
        if is_comment(raw) {
            let text = raw.trim_start_matches(is_space)[1..].trim_matches(is_space);
            if text.is_empty() {
                comments.clear();
            } else {
                comments.push(text.to_string());
            }
        }
        let (token, is_directive) = p.process_line(raw, true)?;
        if is_directive {
            comments.pop();
        }
        p.line += 1;
        let start = p.line;
        if token.is_empty() {
            continue;
        }
        let (line, empty_line) = p.continuation(token)?;
        if empty_line {
            warnings.push(Warning {
                message: format!("Empty continuation line found in: {line}"),
                lines: Lines::new(p.line, p.line),
            });
        }
        let mut node = node_from_line(&line, p.directives.escape, std::mem::take(&mut comments))
            .map_err(|r| Error::syntax(Lines::new(start, p.line), r))?;
        if node.can_contain_heredoc() && line.contains("<<") {
            p.heredoc_bodies(&mut node, start)?;
        }
        node.lines = Lines::new(start, p.line);
        nodes.push(node);
    }
    if nodes.is_empty() {
        return Err(Error {
            lines: None,
            scope: Scope::Syntax,
            reason: Reason::NoInstructions,
        });
    }
    if p.scanner.too_long {
        return Err(Error::syntax(
            Lines::new(p.line + 1, p.line + 1),
            Reason::LineTooLong,
        ));
    }
    Ok(Ast {
        nodes,
        escape: p.directives.escape,
        directives: p.directives.found,
        warnings,
    })
}
