//! The instruction layer (BuildKit's `frontend/dockerfile/instructions`): each [`Node`] becomes
//! a typed [`Instruction`] whose [`Kind`] holds what the builder needs, with every flag checked
//! against the flags that instruction takes.
//!
//! Nothing here is expanded yet: values keep their `$VAR`s and quotes as written.
//! [`Instruction::expand`] applies the builder's expansion to exactly the parts BuildKit
//! expands; see the `expand` module for the list.
//!
//! [`Node`]: crate::syntax::Node

mod expand;
mod flags;
mod mount;
mod parse;

pub use expand::ExpandError;
pub use mount::{
    parse_device, parse_mount, Device, DeviceError, Mount, MountError, MountType, Sharing,
};
pub(crate) use parse::parse_node;

use serde::Serialize;

use crate::error::Lines;
use crate::syntax::Heredoc;

/// One instruction: where and how it was written, and what it means.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Instruction {
    /// The keyword as written.
    pub keyword: String,
    /// Where it is, heredoc bodies included.
    pub lines: Lines,
    /// The `--flag[=value]` words as written (quotes removed).
    pub flags: Vec<String>,
    /// The arguments as the syntax layer read them (see [`crate::syntax::Node::args`]).
    pub args: Vec<String>,
    /// The arguments were in the JSON (exec) form.
    pub json: bool,
    /// Heredocs opened on its line.
    pub heredocs: Vec<Heredoc>,
    /// The logical line, keyword included (BuildKit's source code of the instruction).
    pub original: String,
    /// Comment lines right above it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub comments: Vec<String>,
    /// What it means.
    pub kind: Kind,
}

/// The typed meaning of an instruction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "instruction", rename_all = "lowercase")]
pub enum Kind {
    /// `FROM [--platform=p] image [AS name]`.
    From(From),
    /// `RUN [--mount=...] [--network=...] [--security=...] command`.
    Run(Run),
    /// `CMD command`.
    Cmd(CommandLine),
    /// `ENTRYPOINT command`.
    Entrypoint(CommandLine),
    /// `SHELL ["exe", "arg"]`.
    Shell(Shell),
    /// `ENV k=v ...` or `ENV k v`.
    Env(Env),
    /// `ARG name[=default] ...`.
    Arg(Arg),
    /// `LABEL k=v ...`.
    Label(Label),
    /// `EXPOSE port[/proto] ...`.
    Expose(Expose),
    /// `VOLUME path ...` or `VOLUME ["path"]`.
    Volume(Volume),
    /// `USER user[:group]`.
    User(User),
    /// `WORKDIR path`.
    Workdir(Workdir),
    /// `COPY [flags] src... dest`.
    Copy(Copy),
    /// `ADD [flags] src... dest`.
    Add(Add),
    /// `ONBUILD instruction`.
    Onbuild(Onbuild),
    /// `HEALTHCHECK NONE` or `HEALTHCHECK [flags] CMD command`.
    Healthcheck(Healthcheck),
    /// `STOPSIGNAL signal`.
    Stopsignal(StopSignal),
    /// `MAINTAINER name` (deprecated).
    Maintainer(Maintainer),
}

/// `FROM`: the start of a stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct From {
    /// The base: an image reference, a stage name, or `scratch` (may contain global `$ARG`s).
    pub image: String,
    /// The stage name after `AS`, lower-cased.
    pub name: Option<String>,
    /// `--platform`.
    pub platform: Option<String>,
}

/// A command for RUN, CMD or ENTRYPOINT.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommandLine {
    /// The JSON form's words, or the shell form as one string (empty when nothing was given).
    pub args: Vec<String>,
    /// The shell form: the builder runs `args[0]` with the stage's `SHELL`.
    pub prepend_shell: bool,
    /// Heredoc bodies (RUN only): the builder runs a single `<<EOF` body as the script, and
    /// otherwise hands the line and the bodies to the shell. Never expanded by the builder.
    pub files: Vec<InlineFile>,
}

/// A heredoc body attached to a RUN.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InlineFile {
    /// The heredoc's delimiter.
    pub name: String,
    /// The body as written.
    pub data: String,
    /// `<<-`: strip leading tabs before use.
    pub chomp: bool,
}

/// `RUN --network` modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum NetworkMode {
    /// The build's network (no flag, or `--network=default`).
    #[default]
    Default,
    /// No network.
    None,
    /// The host's network.
    Host,
}

/// `RUN --security` modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// The default confinement.
    #[default]
    Sandbox,
    /// Privileged (needs the `security.insecure` entitlement).
    Insecure,
}

/// `RUN`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Run {
    /// The command.
    #[serde(flatten)]
    pub command: CommandLine,
    /// `--mount` values as written; [`Run::mounts`] expands and reads them.
    pub mounts: Vec<String>,
    /// `--network`.
    pub network: NetworkMode,
    /// `--security`.
    pub security: Security,
    /// `--device` values.
    pub devices: Vec<Device>,
    /// The flags given, in order of first use, without dashes.
    pub flags_used: Vec<String>,
}

/// `SHELL`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Shell {
    /// The shell and its arguments (`["/bin/sh", "-c"]`).
    pub shell: Vec<String>,
}

/// A `key=value` of ENV or LABEL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyValue {
    /// The key (may contain `$VAR`s and quotes until expanded).
    pub key: String,
    /// The value (idem).
    pub value: String,
    /// Written in the legacy `ENV key value` form.
    pub legacy: bool,
}

/// `ENV`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Env {
    /// The variables, in order.
    pub vars: Vec<KeyValue>,
}

/// `LABEL`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Label {
    /// The labels, in order.
    pub labels: Vec<KeyValue>,
}

/// One name of an `ARG`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArgDef {
    /// The name.
    pub key: String,
    /// The default after `=`, unexpanded (quotes kept); `None` without `=`.
    pub default: Option<String>,
}

/// `ARG`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Arg {
    /// The names, in order.
    pub args: Vec<ArgDef>,
}

/// `EXPOSE`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Expose {
    /// The ports as written, sorted (as BuildKit sorts them).
    pub ports: Vec<String>,
}

/// `VOLUME`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Volume {
    /// The paths, trimmed.
    pub volumes: Vec<String>,
}

/// `USER`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// `user[:group]`.
    pub user: String,
}

/// `WORKDIR`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Workdir {
    /// The path.
    pub path: String,
}

/// `STOPSIGNAL`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StopSignal {
    /// The signal, by name or number.
    pub signal: String,
}

/// `MAINTAINER`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Maintainer {
    /// Whatever followed the keyword.
    pub maintainer: String,
}

/// A COPY/ADD source given as a heredoc.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InlineSource {
    /// The file name (the heredoc's delimiter).
    pub path: String,
    /// The content, already chomped for `<<-`.
    pub data: String,
    /// Whether the builder expands variables in it.
    pub expand: bool,
}

/// `COPY`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Copy {
    /// Source paths or patterns.
    pub sources: Vec<String>,
    /// Heredoc sources.
    pub inline: Vec<InlineSource>,
    /// The destination.
    pub dest: String,
    /// `--from`: a stage name or index, or an image.
    pub from: Option<String>,
    /// `--chown`.
    pub chown: Option<String>,
    /// `--chmod`.
    pub chmod: Option<String>,
    /// `--link`.
    pub link: bool,
    /// `--exclude` patterns.
    pub excludes: Vec<String>,
    /// `--parents`.
    pub parents: bool,
}

/// `ADD`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Add {
    /// Source paths, patterns, URLs or git references.
    pub sources: Vec<String>,
    /// Heredoc sources.
    pub inline: Vec<InlineSource>,
    /// The destination.
    pub dest: String,
    /// `--chown`.
    pub chown: Option<String>,
    /// `--chmod`.
    pub chmod: Option<String>,
    /// `--link`.
    pub link: bool,
    /// `--exclude` patterns.
    pub excludes: Vec<String>,
    /// `--keep-git-dir`, when given.
    pub keep_git_dir: Option<bool>,
    /// `--checksum`.
    pub checksum: Option<String>,
    /// `--unpack`, when given.
    pub unpack: Option<bool>,
}

/// `ONBUILD`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Onbuild {
    /// The trigger as stored in the image (`RUN echo hi`; heredoc bodies appended after a
    /// newline, each followed by its delimiter); [`crate::parse_trigger`] reads it back.
    pub expression: String,
    /// The trigger, parsed (and checked) now.
    pub trigger: Box<Instruction>,
}

/// `HEALTHCHECK`. Durations are nanoseconds; 0 means "inherit".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Healthcheck {
    /// `["NONE"]`, `["CMD", args...]` (JSON form) or `["CMD-SHELL", command]`.
    pub test: Vec<String>,
    /// `--interval`.
    pub interval: i64,
    /// `--timeout`.
    pub timeout: i64,
    /// `--start-period`.
    pub start_period: i64,
    /// `--start-interval`.
    pub start_interval: i64,
    /// `--retries` (0: inherit).
    pub retries: i64,
}
