//! The template parser: lexed items to a tree of text, actions and control structures
//! (`if`/`else if`/`else`, `range`, `with`, `break`, `continue`), with pipelines of
//! commands as in Go's `text/template/parse`.

use super::lex::{Item, Tok};
use super::value::Value;
use super::TemplateError;

/// A node of the parsed template.
#[derive(Debug, Clone)]
pub enum Node {
    Text(String),
    Action(Pipe),
    If(Branch),
    With(Branch),
    Range(Branch),
    Break,
    Continue,
}

/// The pipeline of a control structure, its body, and its `else` part.
#[derive(Debug, Clone)]
pub struct Branch {
    pub pipe: Pipe,
    pub body: Vec<Node>,
    pub els: Option<Vec<Node>>,
}

/// `$x := cmd | cmd …`.
#[derive(Debug, Clone)]
pub struct Pipe {
    pub pos: usize,
    pub decl: Vec<String>,
    pub assign: bool,
    pub cmds: Vec<Cmd>,
}

/// One command: operands, the first of which is the function, field or value.
#[derive(Debug, Clone)]
pub struct Cmd {
    pub pos: usize,
    pub args: Vec<Operand>,
}

/// An operand with its offset and source-like text (for error messages).
#[derive(Debug, Clone)]
pub struct Operand {
    pub pos: usize,
    pub text: String,
    pub arg: Arg,
}

/// What an operand is.
#[derive(Debug, Clone)]
pub enum Arg {
    Dot,
    Nil,
    Lit(Value),
    /// `.A.B`
    Field(Vec<String>),
    /// `$x.A.B`
    Var(String, Vec<String>),
    /// A function name.
    Ident(String),
    /// `(pipeline).A.B`
    Pipe(Box<Pipe>, Vec<String>),
}

/// Parses lexed items; `has_func` says which function names exist.
pub fn parse(
    items: Vec<Item>,
    src: &str,
    has_func: &dyn Fn(&str) -> bool,
) -> Result<Vec<Node>, TemplateError> {
    let mut p = Parser {
        items: items.into_iter().collect(),
        src,
        has_func,
        vars: vec!["$".to_string()],
        range_depth: 0,
    };
    let (nodes, end) = p.list()?;
    match end {
        End::Eof => Ok(nodes),
        End::End(pos) => Err(p.err(pos, "unexpected {{end}}")),
        End::Else(pos, _) => Err(p.err(pos, "unexpected {{else}}")),
    }
}

#[allow(clippy::enum_variant_names)]
enum End {
    Eof,
    End(usize),
    /// `{{else}}` or `{{else if …}}`: the tokens after `else`.
    Else(usize, Vec<(usize, Tok)>),
}

struct Parser<'a> {
    items: std::collections::VecDeque<Item>,
    src: &'a str,
    has_func: &'a dyn Fn(&str) -> bool,
    vars: Vec<String>,
    range_depth: usize,
}

impl Parser<'_> {
    fn err(&self, pos: usize, msg: impl Into<String>) -> TemplateError {
        TemplateError::Parse {
            line: 1 + self.src[..pos.min(self.src.len())].matches('\n').count(),
            msg: msg.into(),
        }
    }

    /// Parses nodes until EOF, `{{end}}` or `{{else …}}`.
    fn list(&mut self) -> Result<(Vec<Node>, End), TemplateError> {
        let mut nodes = Vec::new();
        while let Some(item) = self.items.pop_front() {
            let (toks, pos) = match item {
                Item::Text(t) => {
                    nodes.push(Node::Text(t));
                    continue;
                }
                Item::Action(toks, pos) => (toks, pos),
            };
            let keyword = match toks.first() {
                Some((_, Tok::Ident(k))) => k.as_str(),
                None => return Err(self.err(pos, "missing value for command")),
                _ => "",
            };
            match keyword {
                "end" => return Ok((nodes, End::End(pos))),
                "else" => return Ok((nodes, End::Else(pos, toks[1..].to_vec()))),
                "if" | "with" | "range" => {
                    let node = self.control(keyword, &toks[1..], pos)?;
                    nodes.push(node);
                }
                "break" | "continue" => {
                    if self.range_depth == 0 {
                        return Err(
                            self.err(pos, format!("{{{{{keyword}}}}} outside {{{{range}}}}"))
                        );
                    }
                    nodes.push(if keyword == "break" {
                        Node::Break
                    } else {
                        Node::Continue
                    });
                }
                "define" | "template" | "block" => {
                    return Err(self.err(pos, format!("{keyword} is not supported")));
                }
                _ => {
                    let pipe = self.pipeline(&toks, pos, false)?;
                    nodes.push(Node::Action(pipe));
                }
            }
        }
        Ok((nodes, End::Eof))
    }

    /// Parses `if`/`with`/`range` after its keyword, including `else` chains.
    fn control(
        &mut self,
        kind: &str,
        toks: &[(usize, Tok)],
        pos: usize,
    ) -> Result<Node, TemplateError> {
        let saved_vars = self.vars.len();
        let pipe = self.pipeline(toks, pos, kind == "range")?;
        if kind == "range" {
            self.range_depth += 1;
        }
        let listed = self.list();
        if kind == "range" {
            self.range_depth -= 1;
        }
        let (body, end) = listed?;
        let els = match end {
            End::Eof => return Err(self.err(self.src.len(), "unexpected EOF")),
            End::End(_) => None,
            End::Else(epos, rest) => {
                if let Some((_, Tok::Ident(k))) = rest.first().filter(|_| kind != "range") {
                    if k == kind {
                        // `else if` / `else with`: a nested structure that shares our `end`.
                        let nested = self.control(kind, &rest[1..], epos)?;
                        self.vars.truncate(saved_vars);
                        return Ok(wrap(kind, pipe, body, Some(vec![nested])));
                    }
                }
                if !rest.is_empty() {
                    return Err(self.err(epos, "unexpected tokens after else"));
                }
                let (els, end) = self.list()?;
                if !matches!(end, End::End(_)) {
                    return Err(self.err(epos, "expected end; found else or EOF"));
                }
                Some(els)
            }
        };
        self.vars.truncate(saved_vars);
        Ok(wrap(kind, pipe, body, els))
    }

    /// Parses a pipeline: optional declarations, then commands separated by `|`.
    fn pipeline(
        &mut self,
        toks: &[(usize, Tok)],
        pos: usize,
        in_range: bool,
    ) -> Result<Pipe, TemplateError> {
        let mut i = 0;
        let mut decl = Vec::new();
        let mut assign = false;
        // `$x :=`, `$x =`, or in a range `$i, $e :=`.
        if let Some((_, Tok::Var(v))) = toks.first() {
            match toks.get(1) {
                Some((_, Tok::Declare)) | Some((_, Tok::Assign)) => {
                    assign = matches!(toks[1].1, Tok::Assign);
                    decl.push(v.clone());
                    i = 2;
                }
                Some((_, Tok::Comma)) if in_range => {
                    if let (Some((_, Tok::Var(v2))), Some((_, Tok::Declare))) =
                        (toks.get(2), toks.get(3))
                    {
                        decl.push(v.clone());
                        decl.push(v2.clone());
                        i = 4;
                    }
                }
                _ => {}
            }
        }
        for v in &decl {
            if assign && !self.vars.contains(v) {
                return Err(self.err(pos, format!("undefined variable: {v}")));
            }
        }
        let mut cmds = Vec::new();
        let mut start = i;
        loop {
            let end = toks[start..]
                .iter()
                .position(|t| t.1 == Tok::Pipe && depth_at(&toks[start..], t.0) == 0)
                .map(|p| p + start)
                .unwrap_or(toks.len());
            let cmd_toks = &toks[start..end];
            if cmd_toks.is_empty() {
                return Err(self.err(pos, "missing value for command"));
            }
            cmds.push(self.command(cmd_toks)?);
            if end >= toks.len() {
                break;
            }
            start = end + 1;
        }
        if !assign {
            self.vars.extend(decl.iter().cloned());
        }
        Ok(Pipe {
            pos: cmds.first().map(|c| c.pos).unwrap_or(pos),
            decl,
            assign,
            cmds,
        })
    }

    fn command(&mut self, toks: &[(usize, Tok)]) -> Result<Cmd, TemplateError> {
        let mut args = Vec::new();
        let mut i = 0;
        while i < toks.len() {
            let (op, next) = self.operand(toks, i)?;
            args.push(op);
            i = next;
        }
        Ok(Cmd {
            pos: toks[0].0,
            args,
        })
    }

    /// Parses one operand at `toks[i]` with any trailing field chain; returns the index after.
    fn operand(
        &mut self,
        toks: &[(usize, Tok)],
        i: usize,
    ) -> Result<(Operand, usize), TemplateError> {
        let (pos, tok) = &toks[i];
        let mut next = i + 1;
        // Go positions a chain at its second link (the chain node starts where the parser
        // peeked the first `.field` after the base); errors report that column.
        let mut at = *pos;
        let (arg, text) = match tok {
            Tok::Dot => (Arg::Dot, ".".to_string()),
            Tok::Field(chain, _) => {
                let chain = chain.clone();
                if chain.len() > 1 {
                    at = pos + 1 + chain[0].len();
                }
                let text = chain.iter().map(|f| format!(".{f}")).collect();
                (Arg::Field(chain), text)
            }
            Tok::Var(v) => {
                if !self.vars.contains(v) {
                    return Err(self.err(*pos, format!("undefined variable \"{v}\"")));
                }
                let (chain, n) = chain_at(toks, i + 1);
                if n > i + 1 {
                    at = toks[i + 1].0;
                }
                next = n;
                let text = format!(
                    "{v}{}",
                    chain.iter().map(|f| format!(".{f}")).collect::<String>()
                );
                (Arg::Var(v.clone(), chain), text)
            }
            Tok::Ident(name) => match name.as_str() {
                "nil" => (Arg::Nil, "nil".into()),
                "true" | "false" => (Arg::Lit(Value::Bool(name == "true")), name.clone()),
                _ if (self.has_func)(name) => (Arg::Ident(name.clone()), name.clone()),
                _ => return Err(self.err(*pos, format!("function {name:?} not defined"))),
            },
            Tok::Str(s) => (Arg::Lit(Value::Str(s.clone())), format!("{s:?}")),
            Tok::Num(n) => (
                Arg::Lit(
                    parse_number(n)
                        .ok_or_else(|| self.err(*pos, format!("illegal number syntax: {n:?}")))?,
                ),
                n.clone(),
            ),
            Tok::LParen => {
                let close =
                    matching_paren(toks, i).ok_or_else(|| self.err(*pos, "unclosed left paren"))?;
                let inner = self.pipeline(&toks[i + 1..close], *pos, false)?;
                let (chain, n) = chain_at(toks, close + 1);
                if n > close + 1 {
                    at = toks[close + 1].0;
                }
                next = n;
                let text = format!(
                    "({}){}",
                    toks_text(&toks[i + 1..close]),
                    chain.iter().map(|f| format!(".{f}")).collect::<String>()
                );
                (Arg::Pipe(Box::new(inner), chain), text)
            }
            other => {
                return Err(self.err(*pos, format!("unexpected {} in operand", tok_text(other))))
            }
        };
        Ok((Operand { pos: at, text, arg }, next))
    }
}

fn wrap(kind: &str, pipe: Pipe, body: Vec<Node>, els: Option<Vec<Node>>) -> Node {
    let b = Branch { pipe, body, els };
    match kind {
        "if" => Node::If(b),
        "with" => Node::With(b),
        _ => Node::Range(b),
    }
}

/// Paren depth just before the token at offset `pos`.
fn depth_at(toks: &[(usize, Tok)], pos: usize) -> i32 {
    let mut d = 0;
    for (p, t) in toks {
        if *p >= pos {
            break;
        }
        match t {
            Tok::LParen => d += 1,
            Tok::RParen => d -= 1,
            _ => {}
        }
    }
    d
}

fn matching_paren(toks: &[(usize, Tok)], open: usize) -> Option<usize> {
    let mut d = 0;
    for (i, (_, t)) in toks.iter().enumerate().skip(open) {
        match t {
            Tok::LParen => d += 1,
            Tok::RParen => {
                d -= 1;
                if d == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// The field chain glued to the operand ending before `toks[i]`, and the index after it.
fn chain_at(toks: &[(usize, Tok)], i: usize) -> (Vec<String>, usize) {
    match toks.get(i) {
        Some((_, Tok::Field(chain, true))) => (chain.clone(), i + 1),
        _ => (Vec::new(), i),
    }
}

fn tok_text(t: &Tok) -> String {
    match t {
        Tok::Field(f, _) => f.iter().map(|x| format!(".{x}")).collect(),
        Tok::Dot => ".".into(),
        Tok::Var(v) | Tok::Ident(v) | Tok::Num(v) => v.clone(),
        Tok::Str(s) => format!("{s:?}"),
        Tok::LParen => "\"(\"".into(),
        Tok::RParen => "\")\"".into(),
        Tok::Pipe => "\"|\"".into(),
        Tok::Declare => "\":=\"".into(),
        Tok::Assign => "\"=\"".into(),
        Tok::Comma => "\",\"".into(),
    }
}

fn toks_text(toks: &[(usize, Tok)]) -> String {
    toks.iter()
        .map(|(_, t)| match t {
            Tok::LParen => "(".to_string(),
            Tok::RParen => ")".to_string(),
            Tok::Pipe => "|".to_string(),
            other => tok_text(other),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Go number literals: decimal, `0x`, `0o`, `0b`, `_` separators, floats.
fn parse_number(text: &str) -> Option<Value> {
    let clean: String = text.chars().filter(|c| *c != '_').collect();
    let (neg, body) = match clean.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, clean.strip_prefix('+').unwrap_or(&clean)),
    };
    let lower = body.to_ascii_lowercase();
    let radix = [("0x", 16), ("0o", 8), ("0b", 2)]
        .into_iter()
        .find(|(p, _)| lower.starts_with(p));
    let int = match radix {
        Some((p, r)) => i64::from_str_radix(&lower[p.len()..], r).ok(),
        None if lower.len() > 1
            && lower.starts_with('0')
            && lower.bytes().all(|b| b.is_ascii_digit()) =>
        {
            i64::from_str_radix(&lower[1..], 8).ok()
        }
        None => lower.parse::<i64>().ok(),
    };
    if let Some(i) = int {
        return Some(Value::Int(if neg { -i } else { i }));
    }
    let f: f64 = lower.parse().ok()?;
    Some(Value::Float(if neg { -f } else { f }))
}

#[cfg(test)]
mod tests {
    use super::super::lex::lex;
    use super::*;

    fn p(src: &str) -> Result<Vec<Node>, TemplateError> {
        parse(lex(src)?, src, &|f| {
            matches!(f, "printf" | "len" | "eq" | "index" | "json")
        })
    }

    #[test]
    fn parses_control_structures() {
        let nodes = p("{{if .A}}a{{else if .B}}b{{else}}c{{end}}").unwrap();
        let Node::If(b) = &nodes[0] else { panic!() };
        let Some(els) = &b.els else { panic!() };
        assert!(matches!(els[0], Node::If(_)));
        let nodes = p("{{range $i, $e := .L}}{{$i}}{{break}}{{end}}").unwrap();
        let Node::Range(b) = &nodes[0] else { panic!() };
        assert_eq!(b.pipe.decl, vec!["$i", "$e"]);
    }

    #[test]
    fn parse_errors_like_go() {
        assert_eq!(
            p("{{InvalidFunction}}").unwrap_err().to_string(),
            "template: :1: function \"InvalidFunction\" not defined"
        );
        assert_eq!(
            p("{{if .A}}").unwrap_err().to_string(),
            "template: :1: unexpected EOF"
        );
        assert_eq!(
            p("{{end}}").unwrap_err().to_string(),
            "template: :1: unexpected {{end}}"
        );
        assert!(p("{{$x}}").is_err());
        assert!(p("{{break}}").is_err());
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_number("0x1F"), Some(Value::Int(31)));
        assert_eq!(parse_number("-3"), Some(Value::Int(-3)));
        assert_eq!(parse_number("1_000"), Some(Value::Int(1000)));
        assert_eq!(parse_number("1.5"), Some(Value::Float(1.5)));
        assert_eq!(parse_number("1e3"), Some(Value::Float(1000.0)));
        assert_eq!(parse_number("abc"), None);
    }
}
