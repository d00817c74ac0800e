//! The syntax layer (BuildKit's `frontend/dockerfile/parser`): source text → one [`Node`] per
//! instruction, with parser directives, line continuations, comments and heredoc bodies
//! resolved, but nothing interpreted yet.
//!
//! How lines are read, as BuildKit reads them:
//! - a leading UTF-8 byte-order mark is dropped;
//! - **directives** (`# syntax=…`, `# escape=…`, `# check=…`, any case, blanks allowed around
//!   `=`) count only in the comment lines at the very top; the first other line (a blank line
//!   or any other comment included) ends them; each may appear once;
//! - a line whose last non-blank character is the escape token, not itself escaped, continues
//!   on the next line; comment lines inside a continuation are skipped, blank lines too (with a
//!   [`Warning`]); continued lines keep their leading blanks;
//! - `RUN`, `COPY` and `ADD` (also behind `ONBUILD`) in shell form may open **heredocs**: their
//!   bodies follow, one after the other, each up to its delimiter line.

mod heredoc;
mod line;
mod scan;

pub(crate) use heredoc::must_parse_heredoc;
pub use heredoc::{chomp, parse_heredoc, Heredoc};
pub use scan::parse;

use serde::Serialize;

use crate::error::Lines;
use crate::go::quote;

/// A parser directive found at the top of the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Directive {
    /// `syntax`, `escape` or `check` (lower case).
    pub name: String,
    /// The value, trimmed.
    pub value: String,
    /// Its line.
    pub line: usize,
}

/// Something accepted that BuildKit warns about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// BuildKit's wording.
    pub message: String,
    /// Where.
    pub lines: Lines,
}

/// One instruction as read from the source, before interpretation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The keyword as written (`RUN`, `run`, or an unknown word).
    pub keyword: String,
    /// The leading `--flag[=value]` words, quotes removed.
    pub flags: Vec<String>,
    /// The arguments, read as this instruction reads them (see the module `line`). For
    /// ENV/LABEL: key, value, separator (`=` or `""` for `ENV key value`) triples; for ONBUILD:
    /// the trigger's keyword then its arguments.
    pub args: Vec<String>,
    /// The arguments were a JSON array (exec form).
    pub json: bool,
    /// Heredocs opened on this line, with their bodies.
    pub heredocs: Vec<Heredoc>,
    /// ONBUILD's trigger instruction.
    pub sub: Option<Box<Node>>,
    /// The logical line (continuations joined), keyword included.
    pub original: String,
    /// Where it is, heredoc bodies included.
    pub lines: Lines,
    /// The comment lines right above it.
    pub comments: Vec<String>,
}

impl Node {
    /// The keyword in lower case.
    pub fn command(&self) -> String {
        self.keyword.to_lowercase()
    }

    /// Whether heredocs are read for this instruction: RUN, COPY and ADD in shell form, also
    /// as an ONBUILD trigger.
    pub(crate) fn can_contain_heredoc(&self) -> bool {
        let node = match (&*self.command(), &self.sub) {
            ("onbuild", Some(sub)) => sub,
            _ => self,
        };
        matches!(&*node.command(), "run" | "copy" | "add") && !node.json
    }

    /// BuildKit's s-expression dump of one node (`(run "echo hi")`, flags as `["--a"]`), to
    /// compare with BuildKit's `dumper`.
    pub fn dump(&self) -> String {
        let mut s = self.command();
        if !self.flags.is_empty() {
            let flags: Vec<String> = self.flags.iter().map(|f| quote(f)).collect();
            s.push_str(&format!(" [{}]", flags.join(" ")));
        }
        match &self.sub {
            Some(sub) => s.push_str(&format!(" ({})", sub.dump())),
            None => {
                for a in &self.args {
                    s.push(' ');
                    s.push_str(&quote(a));
                }
            }
        }
        s.trim().to_string()
    }
}

/// A whole file at the syntax layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ast {
    /// The instructions in order.
    pub nodes: Vec<Node>,
    /// The escape token in effect (`\` unless `# escape=` said otherwise).
    pub escape: char,
    /// The directives found.
    pub directives: Vec<Directive>,
    /// Warnings (empty continuation lines).
    pub warnings: Vec<Warning>,
}

impl Ast {
    /// BuildKit's dump of the whole tree, one `(instruction ...)` per line.
    pub fn dump(&self) -> String {
        let lines: Vec<String> = self
            .nodes
            .iter()
            .map(|n| format!("({})", n.dump()))
            .collect();
        lines.join("\n")
    }
}
