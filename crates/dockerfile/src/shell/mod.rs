//! Variable expansion and word splitting with BuildKit's semantics
//! (`frontend/dockerfile/shell/lex.go`), used for the parts of instructions the builder expands
//! (see [`crate::instructions::Instruction::expand`]) and to read heredoc words.
//!
//! Vocabulary:
//! - a **word** is the text handed to the lexer (`${HOME}/bin`, `"a b"`);
//! - **expansion** replaces `$VAR`, `${VAR}` and the `${VAR<modifier>}` forms with values from
//!   an [`Env`]: `:-` `-` (default), `:+` `+` (alternative), `:?` `?` (required), `#` `##`
//!   `%` `%%` (trim a shell pattern from the start or end, shortest or longest), `/` `//`
//!   (replace the first or every match of a pattern). With `:` an empty value counts as unset;
//!   an unset variable without a modifier expands to nothing;
//! - **quoting**: inside `'...'` everything is literal; inside `"..."` only `$` expands and the
//!   escape token escapes `"`, `$` and itself; outside quotes the escape token (`\`, or `` ` ``
//!   after `# escape=`) makes the next character literal and is dropped;
//! - **word splitting** ([`Lex::process_words`]) splits the result on whitespace that came from
//!   the word itself or from an unquoted expansion, never inside quotes.

mod pattern;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::BuildHasher;

use crate::error::Quoted;

/// Where variable values come from.
pub trait Env {
    /// The value of `name`, or `None` when it is unset (an empty value is set).
    fn get(&self, name: &str) -> Option<&str>;
}

impl<S: BuildHasher> Env for HashMap<String, String, S> {
    fn get(&self, name: &str) -> Option<&str> {
        HashMap::get(self, name).map(String::as_str)
    }
}

impl Env for BTreeMap<String, String> {
    fn get(&self, name: &str) -> Option<&str> {
        BTreeMap::get(self, name).map(String::as_str)
    }
}

/// A list of `(name, value)`; the last entry for a name wins, as in a container's environment.
impl Env for [(String, String)] {
    fn get(&self, name: &str) -> Option<&str> {
        self.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

impl Env for Vec<(String, String)> {
    fn get(&self, name: &str) -> Option<&str> {
        Env::get(self.as_slice(), name)
    }
}

/// An environment where nothing is set.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoEnv;

impl Env for NoEnv {
    fn get(&self, _: &str) -> Option<&str> {
        None
    }
}

/// The lexer: an escape token and BuildKit's switches.
#[derive(Debug, Clone)]
pub struct Lex {
    escape: char,
    /// Keep the quote characters in the result (heredoc detection uses this).
    pub raw_quotes: bool,
    /// Keep the escape token in the result.
    pub raw_escapes: bool,
    /// Treat quotes as ordinary characters (heredoc bodies are expanded this way).
    pub skip_process_quotes: bool,
    /// Leave references to unset variables as they were written.
    pub skip_unset_env: bool,
}

/// The result of [`Lex::process`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expansion {
    /// The word with variables expanded and quotes and escapes processed.
    pub result: String,
    /// The same, split into words.
    pub words: Vec<String>,
    /// Variables that were looked up and set.
    pub matched: BTreeSet<String>,
    /// Variables that were looked up and unset.
    pub unmatched: BTreeSet<String>,
}

/// A word the lexer cannot process; displayed as BuildKit's `failed to process "...": ...`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("failed to process {}: {reason}", Quoted(.input))]
pub struct LexError {
    /// The word.
    pub input: String,
    /// What was wrong with it.
    #[source]
    pub reason: LexReason,
}

/// Why a word could not be processed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LexReason {
    /// `${` without its `}`.
    #[error("syntax error: missing '}}'")]
    MissingBrace,
    /// `${}`, `${:x}`, `${{x}`.
    #[error("syntax error: bad substitution")]
    BadSubstitution,
    /// A modifier other than the supported ones (`${x:=y}`, `${x:#y}`).
    #[error("unsupported modifier ({0}) in substitution")]
    UnsupportedModifier(String),
    /// The end of the word inside a `${...}` part.
    #[error("unexpected end of statement while looking for matching {0}")]
    UnexpectedEnd(char),
    /// `'` without its closing quote.
    #[error("unexpected end of statement while looking for matching single-quote")]
    UnterminatedSingleQuote,
    /// `"` without its closing quote.
    #[error("unexpected end of statement while looking for matching double-quote")]
    UnterminatedDoubleQuote,
    /// `${x/pattern` without the `/` before the replacement.
    #[error("syntax error: missing '/' in ${{}}")]
    MissingSlash,
    /// `${x?msg}` with `x` unset, or `${x:?msg}` with `x` unset or empty.
    #[error("{name}: {message}")]
    Required {
        /// The variable.
        name: String,
        /// The word after `?`, or BuildKit's default message.
        message: String,
    },
    /// A pattern with a bad escape.
    #[error("invalid pattern ({pattern}) in substitution: {reason}")]
    InvalidPattern {
        /// The pattern.
        pattern: String,
        /// What was wrong with it.
        reason: String,
    },
}

impl Lex {
    /// A lexer with `escape` (`\` or `` ` ``) and every switch off.
    pub fn new(escape: char) -> Self {
        Lex {
            escape,
            raw_quotes: false,
            raw_escapes: false,
            skip_process_quotes: false,
            skip_unset_env: false,
        }
    }

    /// The escape token.
    pub fn escape(&self) -> char {
        self.escape
    }

    /// Expands `word` as one word (BuildKit's `ProcessWord`): whitespace is kept.
    pub fn process_word(&self, word: &str, env: &dyn Env) -> Result<String, LexError> {
        self.process(word, env).map(|e| e.result)
    }

    /// Expands `word` and splits the result into words (BuildKit's `ProcessWords`).
    pub fn process_words(&self, word: &str, env: &dyn Env) -> Result<Vec<String>, LexError> {
        self.process(word, env).map(|e| e.words)
    }

    /// Expands `word`, with the split words and the variables looked up.
    pub fn process(&self, word: &str, env: &dyn Env) -> Result<Expansion, LexError> {
        let mut w = Word {
            src: word,
            pos: 0,
            lex: self,
            env,
            raw_escapes: self.raw_escapes,
            matched: BTreeSet::new(),
            unmatched: BTreeSet::new(),
        };
        match w.process_until(None, self.raw_escapes) {
            Ok((result, words)) => Ok(Expansion {
                result,
                words,
                matched: w.matched,
                unmatched: w.unmatched,
            }),
            Err(reason) => Err(LexError {
                input: word.to_string(),
                reason,
            }),
        }
    }
}

/// Accumulates split words: whitespace ends a word unless it was added raw (quoted).
#[derive(Default)]
struct Words {
    buf: String,
    words: Vec<String>,
    in_word: bool,
}

impl Words {
    fn add_char(&mut self, c: char) {
        if c.is_whitespace() {
            if self.in_word && !self.buf.is_empty() {
                self.words.push(std::mem::take(&mut self.buf));
                self.in_word = false;
            }
        } else {
            self.add_raw_char(c);
        }
    }

    fn add_raw_char(&mut self, c: char) {
        self.buf.push(c);
        self.in_word = true;
    }

    fn add_string(&mut self, s: &str) {
        s.chars().for_each(|c| self.add_char(c));
    }

    fn add_raw_string(&mut self, s: &str) {
        self.buf.push_str(s);
        self.in_word = true;
    }

    fn finish(mut self) -> Vec<String> {
        if !self.buf.is_empty() {
            self.words.push(std::mem::take(&mut self.buf));
        }
        self.words
    }
}

/// One word being processed: a cursor over its characters.
struct Word<'a> {
    src: &'a str,
    pos: usize,
    lex: &'a Lex,
    env: &'a dyn Env,
    raw_escapes: bool,
    matched: BTreeSet<String>,
    unmatched: BTreeSet<String>,
}

impl Word<'_> {
    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn get_env(&mut self, name: &str) -> Option<String> {
        match self.env.get(name) {
            Some(v) => {
                self.matched.insert(name.to_string());
                Some(v.to_string())
            }
            None => {
                self.unmatched.insert(name.to_string());
                None
            }
        }
    }

    /// Processes until `stop` (consumed) or the end of the word. Each call has its own word
    /// buffer (BuildKit shares one between nested calls, which loses the text before a
    /// `${x:-...}` when splitting words; we do not copy that).
    fn process_until(
        &mut self,
        stop: Option<char>,
        raw_escapes: bool,
    ) -> Result<(String, Vec<String>), LexReason> {
        let saved = std::mem::replace(&mut self.raw_escapes, raw_escapes);
        let out = self.process_until_inner(stop);
        self.raw_escapes = saved;
        out
    }

    fn process_until_inner(
        &mut self,
        stop: Option<char>,
    ) -> Result<(String, Vec<String>), LexReason> {
        let mut result = String::new();
        let mut words = Words::default();
        let quotes = !self.lex.skip_process_quotes;
        while let Some(c) = self.peek() {
            if stop == Some(c) {
                self.next();
                return Ok((result, words.finish()));
            }
            match c {
                '$' => {
                    let v = self.process_dollar()?;
                    result.push_str(&v);
                    words.add_string(&v);
                }
                '<' => {
                    let v = self.process_possible_heredoc();
                    result.push_str(&v);
                    words.add_raw_string(&v);
                }
                '\'' if quotes => {
                    let v = self.process_single_quote()?;
                    result.push_str(&v);
                    words.add_raw_string(&v);
                }
                '"' if quotes => {
                    let v = self.process_double_quote()?;
                    result.push_str(&v);
                    words.add_raw_string(&v);
                }
                _ => {
                    self.next();
                    if c == self.lex.escape {
                        if self.raw_escapes {
                            words.add_raw_char(c);
                            result.push(c);
                        }
                        let Some(escaped) = self.next() else { break };
                        words.add_raw_char(escaped);
                        result.push(escaped);
                    } else {
                        words.add_char(c);
                        result.push(c);
                    }
                }
            }
        }
        match stop {
            Some(s) => Err(LexReason::UnexpectedEnd(s)),
            None => Ok((result, words.finish())),
        }
    }

    fn process_single_quote(&mut self) -> Result<String, LexReason> {
        let mut out = String::new();
        let open = self.next();
        if self.lex.raw_quotes {
            out.extend(open);
        }
        loop {
            match self.next() {
                None => return Err(LexReason::UnterminatedSingleQuote),
                Some('\'') => {
                    if self.lex.raw_quotes {
                        out.push('\'');
                    }
                    return Ok(out);
                }
                Some(c) => out.push(c),
            }
        }
    }

    fn process_double_quote(&mut self) -> Result<String, LexReason> {
        let mut out = String::new();
        let open = self.next();
        if self.lex.raw_quotes {
            out.extend(open);
        }
        loop {
            match self.peek() {
                None => return Err(LexReason::UnterminatedDoubleQuote),
                Some('"') => {
                    self.next();
                    if self.lex.raw_quotes {
                        out.push('"');
                    }
                    return Ok(out);
                }
                Some('$') => out.push_str(&self.process_dollar()?),
                Some(_) => {
                    let mut c = self.next().unwrap_or_default();
                    if c == self.lex.escape {
                        if self.raw_escapes {
                            out.push(c);
                        }
                        match self.peek() {
                            // A trailing escape is dropped; the loop then finds the end.
                            None => continue,
                            Some(n) if n == '"' || n == '$' || n == self.lex.escape => {
                                c = self.next().unwrap_or_default();
                            }
                            Some(_) => {}
                        }
                    }
                    out.push(c);
                }
            }
        }
    }

    /// `<<` followed by blanks stays one token, so `<< EOF` is one heredoc word.
    fn process_possible_heredoc(&mut self) -> String {
        self.next();
        if self.peek() != Some('<') {
            return "<".to_string();
        }
        self.next();
        let mut out = String::from("<<");
        while let Some(c @ ('\t' | '\r' | ' ')) = self.peek() {
            out.push(c);
            self.next();
        }
        out
    }

    /// A name: letters, digits and `_`; or all the digits of a positional parameter; or one
    /// special parameter character.
    fn process_name(&mut self) -> String {
        let mut name = String::new();
        while let Some(c) = self.peek() {
            if name.is_empty() && c.is_numeric() {
                while let Some(d) = self.peek().filter(|d| d.is_numeric()) {
                    name.push(d);
                    self.next();
                }
                return name;
            }
            if name.is_empty() && matches!(c, '@' | '*' | '#' | '?' | '-' | '$' | '!' | '0') {
                self.next();
                return c.to_string();
            }
            if !c.is_alphanumeric() && c != '_' {
                break;
            }
            self.next();
            name.push(c);
        }
        name
    }

    fn process_dollar(&mut self) -> Result<String, LexReason> {
        self.next();
        if self.peek() != Some('{') {
            let name = self.process_name();
            if name.is_empty() {
                return Ok("$".to_string());
            }
            return Ok(match self.get_env(&name) {
                Some(v) => v,
                None if self.lex.skip_unset_env => format!("${name}"),
                None => String::new(),
            });
        }
        self.next();
        match self.peek() {
            None => return Err(LexReason::MissingBrace),
            Some('{' | '}' | ':') => return Err(LexReason::BadSubstitution),
            Some(_) => {}
        }
        let name = self.process_name();
        let ch = self.next();
        let mut chs: String = ch.unwrap_or('\u{fffd}').to_string();
        match ch {
            Some('}') => Ok(match self.get_env(&name) {
                Some(v) => v,
                None if self.lex.skip_unset_env => format!("${{{name}}}"),
                None => String::new(),
            }),
            Some(':' | '+' | '-' | '?' | '#' | '%') => {
                let mut op = ch;
                let null_is_unset = op == Some(':');
                if null_is_unset {
                    op = self.next();
                    chs.push(op.unwrap_or('\u{fffd}'));
                }
                self.modifier(&name, op, &chs, null_is_unset)
            }
            Some('/') => self.replace(&name),
            _ => Err(LexReason::UnsupportedModifier(chs)),
        }
    }

    /// The `${name<op>word}` forms; `chs` is the modifier as written (`:-`, `#`).
    fn modifier(
        &mut self,
        name: &str,
        op: Option<char>,
        chs: &str,
        null_is_unset: bool,
    ) -> Result<String, LexReason> {
        let raw = matches!(op, Some('#' | '%'));
        if null_is_unset && raw {
            return Err(LexReason::UnsupportedModifier(chs.to_string()));
        }
        let (word, _) = self
            .process_until(Some('}'), raw)
            .map_err(|e| match self.peek() {
                None => LexReason::MissingBrace,
                Some(_) => e,
            })?;
        let value = self.get_env(name);
        let unset_or_null = match &value {
            None => true,
            Some(v) => null_is_unset && v.is_empty(),
        };
        match (op, value) {
            (_, None) if self.lex.skip_unset_env => Ok(format!("${{{name}{chs}{word}}}")),
            (Some('-'), v) => Ok(if unset_or_null {
                word
            } else {
                v.unwrap_or_default()
            }),
            (Some('+'), _) => Ok(if unset_or_null { String::new() } else { word }),
            (Some('?'), v) => match v {
                Some(v) if !unset_or_null => Ok(v),
                v => {
                    let default = if v.is_none() {
                        "is not allowed to be unset"
                    } else {
                        "is not allowed to be empty"
                    };
                    let message = if word.is_empty() {
                        default.to_string()
                    } else {
                        word
                    };
                    Err(LexReason::Required {
                        name: name.to_string(),
                        message,
                    })
                }
            },
            (Some(c @ ('%' | '#')), v) => {
                let value = v.unwrap_or_default();
                let (pattern, greedy) = match word.strip_prefix(c) {
                    Some(rest) => (rest, true),
                    None => (word.as_str(), false),
                };
                if c == '%' {
                    pattern::trim_suffix(pattern, &value, greedy)
                } else {
                    pattern::trim_prefix(pattern, &value, greedy)
                }
            }
            _ => Err(LexReason::UnsupportedModifier(chs.to_string())),
        }
    }

    /// `${name/pattern/replacement}` and `${name//pattern/replacement}`.
    fn replace(&mut self, name: &str) -> Result<String, LexReason> {
        let all = self.peek() == Some('/');
        if all {
            self.next();
        }
        let (pat, _) = self
            .process_until(Some('/'), true)
            .map_err(|e| match self.peek() {
                None => LexReason::MissingSlash,
                Some(_) => e,
            })?;
        let (replacement, _) =
            self.process_until(Some('}'), true)
                .map_err(|e| match self.peek() {
                    None => LexReason::MissingBrace,
                    Some(_) => e,
                })?;
        match self.get_env(name) {
            None if self.lex.skip_unset_env => Ok(format!("${{{name}/{pat}/{replacement}}}")),
            value => pattern::replace(&pat, &value.unwrap_or_default(), &replacement, all),
        }
    }
}

#[cfg(test)]
mod tests;
