//! Parse errors: what was wrong ([`Reason`], in BuildKit's words) and where ([`Lines`]).
//!
//! BuildKit reports problems found while reading lines (an unterminated heredoc, a bad escape
//! directive) with a location only, and problems found in one instruction's words (an unknown
//! flag, a wrong argument count) as `dockerfile parse error on line N: ...`. [`Error`] keeps
//! that difference in its [`Scope`] and its `Display`.

use serde::Serialize;
use std::fmt;

use crate::go::quote;
use crate::shell::LexError;

/// A range of 1-based, inclusive line numbers in the Dockerfile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Lines {
    /// First line.
    pub start: usize,
    /// Last line (equal to `start` for a one-line instruction).
    pub end: usize,
}

impl Lines {
    /// The range `start..=end`.
    pub fn new(start: usize, end: usize) -> Self {
        Lines {
            start,
            end: end.max(start),
        }
    }
}

/// Which stage of parsing refused the input; decides how [`Error`] displays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Reading lines, directives, continuations and heredocs: displayed as `line N: ...`.
    Syntax,
    /// Turning one instruction's words into a typed instruction: displayed as BuildKit's
    /// `dockerfile parse error on line N: ...`.
    Instruction,
}

/// A Dockerfile that cannot be parsed. Every variant of [`Reason`] is bad input (the caller's
/// fault, an HTTP 400 for the API).
#[derive(Debug, Clone, PartialEq)]
pub struct Error {
    /// The lines at fault, when there are any.
    pub lines: Option<Lines>,
    /// Where in parsing it was found.
    pub scope: Scope,
    /// What was wrong.
    pub reason: Reason,
}

impl Error {
    pub(crate) fn syntax(lines: Lines, reason: Reason) -> Self {
        Error {
            lines: Some(lines),
            scope: Scope::Syntax,
            reason,
        }
    }

    pub(crate) fn instruction(lines: Lines, reason: Reason) -> Self {
        Error {
            lines: Some(lines),
            scope: Scope::Instruction,
            reason,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.lines, self.scope) {
            (None, _) => write!(f, "{}", self.reason),
            (Some(l), Scope::Syntax) => write!(f, "line {}: {}", l.start, self.reason),
            (Some(l), Scope::Instruction) => {
                write!(
                    f,
                    "dockerfile parse error on line {}: {}",
                    l.start, self.reason
                )
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.reason)
    }
}

/// `" (did you mean X?)"` when there is a suggestion.
pub(crate) struct Suggestion<'a>(pub &'a Option<String>);

impl fmt::Display for Suggestion<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(s) => write!(f, " (did you mean {s}?)"),
            None => Ok(()),
        }
    }
}

/// Go's `%q` as a `Display`.
pub(crate) struct Quoted<'a>(pub &'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&quote(self.0))
    }
}

/// What was wrong, worded as BuildKit words it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Reason {
    // ---- reading lines ----
    /// `# escape=` names something other than `` ` `` or `\`.
    #[error("invalid escape token '{0}' does not match ` or \\")]
    InvalidEscapeToken(String),
    /// A parser directive appears twice.
    #[error("only one {0} parser directive can be used")]
    DuplicateDirective(String),
    /// The file ended before a heredoc's terminator line.
    #[error("unterminated heredoc")]
    UnterminatedHeredoc,
    /// Only comments, directives and blank lines.
    #[error("file with no instructions")]
    NoInstructions,
    /// A physical line of 64 KiB or more (BuildKit's scanner limit).
    #[error("dockerfile line greater than max allowed size of 65535")]
    LineTooLong,
    /// A JSON array with something other than strings in it.
    #[error("when using JSON array syntax, arrays must be comprised of strings only")]
    JsonNotStrings,
    /// `ENV name` / `LABEL name` without a value.
    #[error("{0} must have two arguments")]
    MissingValue(&'static str),
    /// A word without `=` in `ENV a=b c`.
    #[error("Syntax error - can't find = in {}. Must be of the form: name=value", Quoted(.0))]
    MissingEquals(String),
    /// A heredoc word that the shell lexer cannot read.
    #[error(transparent)]
    Heredoc(#[from] LexError),
    /// An ONBUILD trigger from an image that is not exactly one instruction.
    #[error("onbuild trigger should be a single expression")]
    TriggerNotSingle,
    /// An instruction outside any stage (before the first `FROM`, other than `ARG`).
    #[error("no build stage in current context")]
    NoBuildStage,

    // ---- one instruction ----
    /// The keyword is not an instruction.
    #[error("unknown instruction: {name}{}", Suggestion(.suggestion))]
    UnknownInstruction {
        /// The keyword as written.
        name: String,
        /// The closest instruction, if any is close.
        suggestion: Option<String>,
    },
    /// A flag the instruction does not take.
    #[error("unknown flag: {flag}{}", Suggestion(.suggestion))]
    UnknownFlag {
        /// The flag as written, with its dashes (`--chwon`).
        flag: String,
        /// The closest flag name of this instruction, if any is close.
        suggestion: Option<String>,
    },
    /// A single-valued flag given twice.
    #[error("duplicate flag specified: {0}")]
    DuplicateFlag(String),
    /// `--flag` without `=value` (or a boolean flag with `=` and nothing after).
    #[error("missing a value on flag: {0}")]
    FlagMissingValue(String),
    /// A boolean flag with a value other than true/false.
    #[error("expecting boolean value for flag {flag}, not: {value}")]
    FlagNotBool {
        /// The flag, with its dashes.
        flag: String,
        /// The value given.
        value: String,
    },
    /// A flag word that does not start with `--`.
    #[error("arg should start with -- : {0}")]
    NotAFlag(String),
    /// The instruction needs at least one argument.
    #[error("{0} requires at least one argument")]
    AtLeastOneArgument(&'static str),
    /// The instruction needs exactly one argument.
    #[error("{0} requires exactly one argument")]
    ExactlyOneArgument(&'static str),
    /// COPY/ADD with a single argument.
    #[error(
        "{0} requires at least two arguments, but only one was provided. Destination could not be determined"
    )]
    NoDestination(&'static str),
    /// COPY/ADD whose destination is a heredoc.
    #[error("{0} cannot accept a heredoc as a destination")]
    HeredocDestination(&'static str),
    /// `ENV =x`, `ARG =x`.
    #[error("{0} names can not be blank")]
    BlankName(&'static str),
    /// Key/value triples that do not come in threes.
    #[error("Bad input to {0}, too many arguments")]
    TooManyArguments(&'static str),
    /// `FROM a b`.
    #[error("FROM requires either one or three arguments")]
    FromArguments,
    /// `FROM x AS 1bad`.
    #[error("invalid name for build stage: {}, name can't start with a number or contain symbols", Quoted(.0))]
    InvalidStageName(String),
    /// `ONBUILD ONBUILD ...`.
    #[error("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")]
    OnbuildChain,
    /// `ONBUILD FROM` or `ONBUILD MAINTAINER`.
    #[error("{0} isn't allowed as an ONBUILD trigger")]
    OnbuildTrigger(String),
    /// `HEALTHCHECK NONE something`.
    #[error("HEALTHCHECK NONE takes no arguments")]
    HealthcheckNoneArguments,
    /// `HEALTHCHECK CMD` with nothing after.
    #[error("Missing command after HEALTHCHECK CMD")]
    HealthcheckMissingCommand,
    /// `HEALTHCHECK FOO ...`.
    #[error("Unknown type {} in HEALTHCHECK (try CMD)", Quoted(.0))]
    HealthcheckType(String),
    /// A healthcheck duration Go's `time.ParseDuration` refuses (its message).
    #[error("{0}")]
    Duration(String),
    /// A healthcheck duration below one millisecond (other than 0).
    #[error("Interval {} cannot be less than 1ms", Quoted(.0))]
    IntervalTooShort(String),
    /// `--retries` that is not a 32-bit integer (Go's `strconv.ParseInt` message).
    #[error("{0}")]
    Retries(String),
    /// `--retries=-1`.
    #[error("--retries cannot be negative ({0})")]
    NegativeRetries(i64),
    /// `VOLUME ""`.
    #[error("VOLUME specified can not be an empty string")]
    EmptyVolume,
    /// `SHELL` in shell form.
    #[error("{0} requires the arguments to be in JSON form")]
    NotJson(&'static str),
    /// `RUN --network=` with something other than default, none or host.
    #[error("invalid network mode {}", Quoted(.0))]
    InvalidNetwork(String),
    /// `RUN --security=` with something other than sandbox or insecure.
    #[error("security {} is not valid", Quoted(.0))]
    InvalidSecurity(String),
    /// A bad `RUN --mount` value.
    #[error(transparent)]
    Mount(#[from] crate::instructions::MountError),
    /// A bad `RUN --device` value.
    #[error(transparent)]
    Device(#[from] crate::instructions::DeviceError),
}
