//! The Dockerfile parser: source text → typed instructions grouped into stages, reading
//! everything BuildKit's Dockerfile frontend reads, with its error messages. Pure: no I/O.
//!
//! Vocabulary:
//! - an **instruction** is one logical line (continuations joined) starting with a keyword
//!   (`RUN`, `COPY`, ...), followed by `--flags` and arguments; its arguments are in the
//!   **JSON form** (exec form, `["a", "b"]`) when the whole rest of the line is a JSON array
//!   of strings, and in the **shell form** otherwise;
//! - a **stage** starts at a `FROM` and holds the instructions up to the next one; `ARG`s
//!   before the first `FROM` are the **global ARGs** (meta args), the only variables `FROM`
//!   can use;
//! - a **directive** is a `# name=value` comment at the very top: `syntax`, `escape` (the
//!   **escape token**, `\` or `` ` ``, which escapes characters and continues lines) and
//!   `check`;
//! - a **heredoc** (`RUN <<EOF`, `COPY <<EOF /dst`) takes the following lines, up to its
//!   delimiter, as a script or a file's content;
//! - **expansion** replaces `$VAR`s in the parts of an instruction the builder expands (see
//!   [`shell`] for the syntax and [`instructions::Instruction::expand`] for which parts).
//!
//! [`ignore`] reads `.dockerignore` files and matches paths against their patterns (moby's
//! `patternmatcher`), for the builder and for clients that make a context.
//!
//! Layers: [`syntax`] reads lines into [`syntax::Node`]s (BuildKit's `parser`),
//! [`instructions`] types them (BuildKit's `instructions`), [`shell`] expands variables
//! (BuildKit's `shell`). [`parse`] runs the first two and groups the result into
//! [`Stage`]s.
//!
//! Differences from BuildKit, all deliberate (everything else was checked against BuildKit's
//! own parser, instruction and lexer code on the same inputs):
//! - ARG, STOPSIGNAL and `HEALTHCHECK NONE` refuse flags (BuildKit drops them silently);
//! - an ONBUILD trigger is parsed and checked with its instruction (BuildKit only checks it
//!   when a later build uses the image), and [`parse_trigger`] refuses FROM, MAINTAINER and
//!   ONBUILD triggers found in an image;
//! - flags are read character by character (BuildKit reads them byte by byte, which mangles
//!   non-ASCII characters and can take the second byte of one for a blank);
//! - word splitting keeps the text before a `${VAR:-x}` in the same word (BuildKit loses it,
//!   which matters for `EXPOSE 80/${PROTO:-tcp}` and heredoc words like `<<EOF${X:-}`);
//! - a directive error is reported at the directive's line (BuildKit: one line early), an
//!   over-long line at that line.
//!
//! ```
//! let df = dockerfile::parse("ARG V=1\nFROM busybox:$V AS base\nRUN echo hi\n").unwrap();
//! assert_eq!(df.stages[0].name.as_deref(), Some("base"));
//! assert_eq!(df.stages[0].base, "busybox:$V");
//! ```

mod error;
pub mod go;
pub mod ignore;
pub mod instructions;
mod json;
pub mod shell;
pub mod syntax;

pub use error::{Error, Lines, Reason, Scope};
pub use instructions::{Instruction, Kind};
pub use shell::{Env, Lex};

use serde::Serialize;

use crate::instructions::parse_node;
use crate::syntax::{Directive, Warning};

/// A parsed Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dockerfile {
    /// The parser directives found at the top.
    pub directives: Vec<Directive>,
    /// The escape token (`\` or `` ` ``); give it to [`Lex::new`] for expansion.
    pub escape: char,
    /// Accepted oddities BuildKit warns about.
    pub warnings: Vec<Warning>,
    /// The `ARG` instructions before the first `FROM`.
    pub meta_args: Vec<Instruction>,
    /// The stages, in order.
    pub stages: Vec<Stage>,
}

/// A build stage: a `FROM` and the instructions after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stage {
    /// The name given with `AS` (lower case).
    pub name: Option<String>,
    /// The base image or stage, unexpanded.
    pub base: String,
    /// `FROM --platform`, unexpanded.
    pub platform: Option<String>,
    /// The `FROM` instruction itself.
    pub from: Instruction,
    /// The instructions of the stage, in order.
    pub instructions: Vec<Instruction>,
}

impl Stage {
    /// The base and platform expanded with the global ARGs (what BuildKit does for `FROM`).
    pub fn expand_base(
        &self,
        lex: &Lex,
        global_args: &dyn Env,
    ) -> Result<(String, Option<String>), shell::LexError> {
        let base = lex.process_word(&self.base, global_args)?;
        let platform = match &self.platform {
            Some(p) => Some(lex.process_word(p, global_args)?).filter(|p| !p.is_empty()),
            None => None,
        };
        Ok((base, platform))
    }
}

/// Parses a Dockerfile.
pub fn parse(src: &str) -> Result<Dockerfile, Error> {
    let ast = syntax::parse(src)?;
    let mut meta_args = Vec::new();
    let mut stages: Vec<Stage> = Vec::new();
    for node in ast.nodes {
        let lines = node.lines;
        let instruction = parse_node(node)?;
        match &instruction.kind {
            Kind::Arg(_) if stages.is_empty() => meta_args.push(instruction),
            Kind::From(from) => stages.push(Stage {
                name: from.name.clone(),
                base: from.image.clone(),
                platform: from.platform.clone(),
                from: instruction,
                instructions: Vec::new(),
            }),
            _ => match stages.last_mut() {
                Some(stage) => stage.instructions.push(instruction),
                None => return Err(Error::syntax(lines, Reason::NoBuildStage)),
            },
        }
    }
    Ok(Dockerfile {
        directives: ast.directives,
        escape: ast.escape,
        warnings: ast.warnings,
        meta_args,
        stages,
    })
}

/// Parses a Dockerfile given as bytes; invalid UTF-8 is read as U+FFFD, as Go reads it.
pub fn parse_bytes(src: &[u8]) -> Result<Dockerfile, Error> {
    parse(&String::from_utf8_lossy(src))
}

/// Parses an ONBUILD trigger read from a base image's config (an [`instructions::Onbuild`]
/// expression) into the instruction to run.
pub fn parse_trigger(expression: &str) -> Result<Instruction, Error> {
    let ast = syntax::parse(expression)?;
    let [node] = <[_; 1]>::try_from(ast.nodes).map_err(|nodes| Error {
        lines: nodes.get(1).map(|n| n.lines),
        scope: Scope::Syntax,
        reason: Reason::TriggerNotSingle,
    })?;
    let instruction = parse_node(node)?;
    match &instruction.kind {
        Kind::From(_) | Kind::Maintainer(_) | Kind::Onbuild(_) => {
            let name = instruction.keyword.to_uppercase();
            let reason = if name == "ONBUILD" {
                Reason::OnbuildChain
            } else {
                Reason::OnbuildTrigger(name)
            };
            Err(Error::instruction(instruction.lines, reason))
        }
        _ => Ok(instruction),
    }
}
