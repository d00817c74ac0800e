//! A Go `text/template` engine, enough for docker's `--format`: field chains
//! (`{{.State.Status}}`), methods with arguments (`{{.Label "k"}}`), pipelines, variables,
//! `if`/`else if`/`else`, `range` (with `$i, $e :=`, `break`, `continue`), `with`, Go's
//! builtin functions and docker's (`json`, `join`, `split`, `lower`, `upper`, `title`, `pad`,
//! `truncate`). Errors read as Go's (`template: :1:2: executing "" at <.Foo>: …`). No crate
//! prints values the way Go's `fmt` does (maps sorted by key, `map[k:v]`, `%v` of floats), so
//! this one is written here.
//!
//! Vocabulary: a [`Template`] is parsed once (`lex` → `parse`) and executed over a [`Value`]
//! (JSON data, or an [`Object`] whose fields and methods the caller computes); [`Funcs`] is
//! the function table (Go's builtins plus docker's). Tests: unit tests inline, and golden
//! cases in `tests/golden/<case>/` (`template`, `input.json`, `expected`).

mod exec;
pub mod funcs;
mod lex;
mod parse;
mod printf;
pub mod value;

pub use funcs::Funcs;
pub use value::{ObjKind, Object, Value};

/// A template that failed to parse or to execute.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("template: :{line}: {msg}")]
    Parse { line: usize, msg: String },
    #[error("template: :{line}:{col}: executing \"\" at <{node}>: {msg}")]
    Exec {
        line: usize,
        col: usize,
        node: String,
        msg: String,
    },
}

impl TemplateError {
    /// Always the caller's input: a bad template, or one the data does not fit.
    pub fn kind(&self) -> errdefs::ErrorKind {
        errdefs::ErrorKind::InvalidArgument
    }
}

/// A parsed template.
#[derive(Clone)]
pub struct Template {
    nodes: Vec<parse::Node>,
    src: String,
    funcs: Funcs,
    strict: bool,
}

impl Template {
    /// Parses `src`; function names are checked against `funcs`.
    pub fn parse(src: &str, funcs: Funcs) -> Result<Template, TemplateError> {
        let items = lex::lex(src)?;
        let nodes = parse::parse(items, src, &|name| funcs.get(name).is_some())?;
        Ok(Template {
            nodes,
            src: src.to_string(),
            funcs,
            strict: false,
        })
    }

    /// Parses with docker's functions.
    pub fn docker(src: &str) -> Result<Template, TemplateError> {
        Template::parse(src, Funcs::docker())
    }

    /// Makes a missing map key an error (`Option("missingkey=error")`), as `docker
    /// inspect` does when it falls back to the raw JSON.
    pub fn strict(mut self) -> Template {
        self.strict = true;
        self
    }

    /// Executes over `data`.
    pub fn execute(&self, data: &Value) -> Result<String, TemplateError> {
        self.execute_with(data, &self.funcs)
    }

    /// Executes with a different function set (docker's header functions), keeping the
    /// output written before any error.
    pub fn execute_partial(&self, data: &Value, funcs: &Funcs) -> (String, Option<TemplateError>) {
        let mut ex = exec::Exec {
            funcs,
            src: &self.src,
            strict: self.strict,
            vars: Vec::new(),
            out: String::new(),
        };
        let err = ex.run(&self.nodes, data).err();
        (ex.out, err)
    }

    fn execute_with(&self, data: &Value, funcs: &Funcs) -> Result<String, TemplateError> {
        match self.execute_partial(data, funcs) {
            (out, None) => Ok(out),
            (_, Some(e)) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests;
