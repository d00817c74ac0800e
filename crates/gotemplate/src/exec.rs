//! Executing a parsed template: Go's `text/template` evaluation rules for fields, methods,
//! variables, pipelines, function calls and control structures.

use super::funcs::Funcs;
use super::parse::{Arg, Branch, Cmd, Node, Operand, Pipe};
use super::value::{ObjKind, Value};
use super::TemplateError;

/// Struct fields docker's types omit when empty (`omitempty` pointers): missing means nil,
/// not an unknown field.
const OMITTABLE: &[&str] = &[
    "Health",
    "SizeRw",
    "SizeRootFs",
    "Platform",
    "Node",
    "Healthcheck",
    "ExposedPorts",
    "StopSignal",
    "StopTimeout",
    "Shell",
    "ArgsEscaped",
    "MacAddress",
    "NetworkDisabled",
    "Variant",
    "Init",
    "PidsLimit",
    "OomKillDisable",
    "MemorySwappiness",
    "Tmpfs",
    "Sysctls",
    "ConsoleSize",
    "MaskedPaths",
    "ReadonlyPaths",
    "Name",
    "Driver",
    "Descriptor",
    "Manifests",
    "IPAMConfig",
    "Links",
    "Aliases",
    "DriverOpts",
    "DNSNames",
    "ImageManifestDescriptor",
];

enum Flow {
    Normal,
    Break,
    Continue,
}

/// One execution of a template.
pub struct Exec<'a> {
    pub funcs: &'a Funcs,
    pub src: &'a str,
    /// `missingkey=error`: a missing map key fails instead of printing `<no value>`.
    pub strict: bool,
    pub vars: Vec<(String, Value)>,
    pub out: String,
}

impl Exec<'_> {
    /// Runs `nodes` with `dot` as `.` and `$`.
    pub fn run(&mut self, nodes: &[Node], dot: &Value) -> Result<(), TemplateError> {
        self.vars.push(("$".into(), dot.clone()));
        self.walk(nodes, dot).map(|_| ())
    }

    fn err(&self, pos: usize, node: &str, msg: impl Into<String>) -> TemplateError {
        let before = &self.src[..pos.min(self.src.len())];
        let line = 1 + before.matches('\n').count();
        let col = pos - before.rfind('\n').map(|i| i + 1).unwrap_or(0);
        TemplateError::Exec {
            line,
            col,
            node: node.to_string(),
            msg: msg.into(),
        }
    }

    fn walk(&mut self, nodes: &[Node], dot: &Value) -> Result<Flow, TemplateError> {
        for node in nodes {
            match node {
                Node::Text(t) => self.out.push_str(t),
                Node::Action(pipe) => {
                    let v = self.pipeline(pipe, dot)?;
                    if pipe.decl.is_empty() {
                        self.out.push_str(&v.to_go_string());
                    }
                }
                Node::If(b) => {
                    if let flow @ (Flow::Break | Flow::Continue) = self.branch(b, dot, false)? {
                        return Ok(flow);
                    }
                }
                Node::With(b) => {
                    if let flow @ (Flow::Break | Flow::Continue) = self.branch(b, dot, true)? {
                        return Ok(flow);
                    }
                }
                Node::Range(b) => self.range(b, dot)?,
                Node::Break => return Ok(Flow::Break),
                Node::Continue => return Ok(Flow::Continue),
            }
        }
        Ok(Flow::Normal)
    }

    fn scoped(&mut self, nodes: &[Node], dot: &Value) -> Result<Flow, TemplateError> {
        let mark = self.vars.len();
        let r = self.walk(nodes, dot);
        self.vars.truncate(mark);
        r
    }

    fn branch(&mut self, b: &Branch, dot: &Value, with: bool) -> Result<Flow, TemplateError> {
        let mark = self.vars.len();
        let v = self.pipeline(&b.pipe, dot)?;
        let r = if v.truthy() {
            let d = if with { v } else { dot.clone() };
            self.scoped(&b.body, &d)
        } else if let Some(els) = &b.els {
            self.scoped(els, dot)
        } else {
            Ok(Flow::Normal)
        };
        self.vars.truncate(mark);
        r
    }

    fn range(&mut self, b: &Branch, dot: &Value) -> Result<(), TemplateError> {
        let mark = self.vars.len();
        // The range pipeline's declarations are set per element, not by the pipeline.
        let mut plain = b.pipe.clone();
        let decl = std::mem::take(&mut plain.decl);
        let v = self.pipeline(&plain, dot)?;
        let items: Vec<(Value, Value)> = match v {
            Value::List(l) => l
                .into_iter()
                .enumerate()
                .map(|(i, v)| (Value::Int(i as i64), v))
                .collect(),
            Value::Obj(_, mut entries) => {
                entries.sort_by(|a, c| a.0.cmp(&c.0));
                entries
                    .into_iter()
                    .map(|(k, v)| (Value::Str(k), v))
                    .collect()
            }
            Value::Int(n) => (0..n.max(0))
                .map(|i| (Value::Int(i), Value::Int(i)))
                .collect(),
            Value::Nil | Value::Missing => vec![],
            other => {
                return Err(self.err(
                    b.pipe.pos,
                    &pipe_text(&b.pipe),
                    format!("range can't iterate over {}", other.to_go_string()),
                ));
            }
        };
        if items.is_empty() {
            if let Some(els) = &b.els {
                self.scoped(els, dot)?;
            }
            self.vars.truncate(mark);
            return Ok(());
        }
        for (k, v) in items {
            let inner = self.vars.len();
            match decl.as_slice() {
                [e] => self.vars.push((e.clone(), v.clone())),
                [i, e] => {
                    self.vars.push((i.clone(), k));
                    self.vars.push((e.clone(), v.clone()));
                }
                _ => {}
            }
            let flow = self.scoped(&b.body, &v)?;
            self.vars.truncate(inner);
            if matches!(flow, Flow::Break) {
                break;
            }
        }
        self.vars.truncate(mark);
        Ok(())
    }

    fn pipeline(&mut self, pipe: &Pipe, dot: &Value) -> Result<Value, TemplateError> {
        let mut value: Option<Value> = None;
        for cmd in &pipe.cmds {
            value = Some(self.command(cmd, dot, value)?);
        }
        let v = value.unwrap_or(Value::Nil);
        for name in &pipe.decl {
            if pipe.assign {
                if let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| n == name) {
                    slot.1 = v.clone();
                }
            } else {
                self.vars.push((name.clone(), v.clone()));
            }
        }
        Ok(v)
    }

    fn command(
        &mut self,
        cmd: &Cmd,
        dot: &Value,
        fin: Option<Value>,
    ) -> Result<Value, TemplateError> {
        let first = &cmd.args[0];
        let rest = &cmd.args[1..];
        let not_fn = |this: &Self, what: &str| -> Result<(), TemplateError> {
            if !rest.is_empty() || fin.is_some() {
                return Err(this.err(
                    first.pos,
                    &first.text,
                    format!("can't give argument to non-function {what}"),
                ));
            }
            Ok(())
        };
        match &first.arg {
            Arg::Field(chain) => self.chain(dot, dot.clone(), chain, first, rest, fin),
            Arg::Var(name, chain) => {
                let v = self.var(name);
                if chain.is_empty() {
                    not_fn(self, &first.text)?;
                    return Ok(v);
                }
                self.chain(dot, v, chain, first, rest, fin)
            }
            Arg::Pipe(p, chain) => {
                let v = self.pipeline(p, dot)?;
                if chain.is_empty() {
                    not_fn(self, &first.text)?;
                    return Ok(v);
                }
                self.chain(dot, v, chain, first, rest, fin)
            }
            Arg::Ident(name) => self.call(name, cmd, dot, rest, fin),
            Arg::Nil => Err(self.err(first.pos, "nil", "nil is not a command")),
            Arg::Dot => {
                not_fn(self, ".")?;
                Ok(dot.clone())
            }
            Arg::Lit(v) => {
                not_fn(self, &first.text)?;
                Ok(v.clone())
            }
        }
    }

    fn var(&self, name: &str) -> Value {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or(Value::Nil)
    }

    /// Evaluates a field chain on `recv`; the last link receives the arguments.
    fn chain(
        &mut self,
        dot: &Value,
        mut recv: Value,
        chain: &[String],
        op: &Operand,
        args: &[Operand],
        fin: Option<Value>,
    ) -> Result<Value, TemplateError> {
        let mut argv: Vec<Value> = Vec::new();
        for a in args {
            argv.push(self.arg(dot, a)?);
        }
        let has_args = !args.is_empty() || fin.is_some();
        argv.extend(fin);
        for (i, name) in chain.iter().enumerate() {
            let last = i + 1 == chain.len();
            let a: &[Value] = if last { &argv } else { &[] };
            recv = self
                .field(recv, name, a, last && has_args)
                .map_err(|m| self.err(op.pos, &op.text, m))?;
        }
        Ok(recv)
    }

    fn field(
        &self,
        recv: Value,
        name: &str,
        args: &[Value],
        has_args: bool,
    ) -> Result<Value, String> {
        match recv {
            Value::Object(o) => match o.call(name, args) {
                Some(r) => r,
                None => Err(format!(
                    "can't evaluate field {name} in type {}",
                    o.type_name()
                )),
            },
            Value::Obj(kind, entries) => {
                if has_args {
                    return Err(format!("{name} is not a method but has arguments"));
                }
                match entries.into_iter().find(|(k, _)| k == name) {
                    Some((_, v)) => Ok(v),
                    None if kind == ObjKind::Struct && OMITTABLE.contains(&name) => Ok(Value::Nil),
                    None if self.strict => Err(format!("map has no entry for key {name:?}")),
                    None if kind == ObjKind::Map => Ok(Value::Missing),
                    None => Err(format!("can't evaluate field {name} in type struct")),
                }
            }
            Value::Nil | Value::Missing => {
                Err(format!("nil pointer evaluating interface {{}}.{name}"))
            }
            other => Err(format!(
                "can't evaluate field {name} in type {}",
                other.type_name()
            )),
        }
    }

    fn arg(&mut self, dot: &Value, a: &Operand) -> Result<Value, TemplateError> {
        let v = match &a.arg {
            Arg::Dot => dot.clone(),
            Arg::Nil => Value::Nil,
            Arg::Lit(v) => v.clone(),
            Arg::Field(chain) => self.chain(dot, dot.clone(), chain, a, &[], None)?,
            Arg::Var(name, chain) => {
                let v = self.var(name);
                if chain.is_empty() {
                    v
                } else {
                    self.chain(dot, v, chain, a, &[], None)?
                }
            }
            Arg::Pipe(p, chain) => {
                let v = self.pipeline(p, dot)?;
                if chain.is_empty() {
                    v
                } else {
                    self.chain(dot, v, chain, a, &[], None)?
                }
            }
            Arg::Ident(name) => {
                let cmd = Cmd {
                    pos: a.pos,
                    args: vec![a.clone()],
                };
                self.call(name, &cmd, dot, &[], None)?
            }
        };
        // A missing entry passed on is Go's zero interface: nil.
        Ok(match v {
            Value::Missing => Value::Nil,
            v => v,
        })
    }

    fn call(
        &mut self,
        name: &str,
        cmd: &Cmd,
        dot: &Value,
        args: &[Operand],
        fin: Option<Value>,
    ) -> Result<Value, TemplateError> {
        let text = cmd_text(cmd);
        if name == "and" || name == "or" {
            let mut last = Value::Nil;
            let n = args.len() + usize::from(fin.is_some());
            if n == 0 {
                return Err(self.err(
                    cmd.pos,
                    &text,
                    format!("wrong number of args for {name}: want at least 1 got 0"),
                ));
            }
            for a in args {
                last = self.arg(dot, a)?;
                if (name == "and") != last.truthy() {
                    return Ok(last);
                }
            }
            return Ok(fin.unwrap_or(last));
        }
        let Some(f) = self.funcs.get(name) else {
            return Err(self.err(cmd.pos, &text, format!("function {name:?} not defined")));
        };
        let mut argv = Vec::with_capacity(args.len() + 1);
        for a in args {
            argv.push(self.arg(dot, a)?);
        }
        argv.extend(fin);
        f(&argv).map_err(|m| {
            let msg = if m.starts_with("wrong ") || m.starts_with("error calling") {
                m
            } else {
                format!("error calling {name}: {m}")
            };
            self.err(cmd.pos, &text, msg)
        })
    }
}

fn cmd_text(cmd: &Cmd) -> String {
    cmd.args
        .iter()
        .map(|a| a.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

fn pipe_text(p: &Pipe) -> String {
    p.cmds.iter().map(cmd_text).collect::<Vec<_>>().join(" | ")
}
