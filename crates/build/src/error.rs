//! The build's errors. Everything a Dockerfile, a context or a request can get wrong is an
//! [`ErrorKind::InvalidArgument`] (a 400 when it is found before the first output line);
//! what the backend reports keeps its own kind; the host failing is
//! [`ErrorKind::Internal`]. Messages follow dockerd's classic builder where it has one.

use std::path::PathBuf;

pub use oci::ErrorKind;

/// A failure of the [`crate::Backend`] (the engine): its message, its kind, its cause.
#[derive(Debug, thiserror::Error)]
#[error("{source}")]
pub struct BackendError {
    kind: ErrorKind,
    #[source]
    source: Box<dyn std::error::Error + Send + Sync>,
}

impl BackendError {
    /// Wraps an engine error with the kind the engine gave it.
    pub fn new(
        kind: ErrorKind,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        BackendError {
            kind,
            source: source.into(),
        }
    }

    /// The kind the backend gave.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
}

/// What is wrong with a build context tar.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    /// The stream is not a tar (or is cut short).
    #[error("the build context is not a valid tar archive: {source}")]
    NotTar {
        /// The reader's error.
        #[source]
        source: std::io::Error,
    },
    /// The stream is compressed in a way that cannot be read.
    #[error("the build context cannot be decompressed: {0}")]
    Compression(#[from] oci::compression::CompressionError),
    /// An entry names a path outside the context (`../x`).
    #[error("the build context entry {path:?} points outside the context")]
    Escapes {
        /// The entry's name.
        path: String,
    },
    /// An entry would be written through a symbolic link of the context.
    #[error("the build context entry {path:?} passes through the symbolic link {link:?}")]
    ThroughSymlink {
        /// The entry's name.
        path: String,
        /// The link it passes through.
        link: String,
    },
    /// A symbolic link whose target leaves the context (moby's breakout check).
    #[error("invalid symlink {path:?} -> {target:?}: it points outside the build context")]
    SymlinkEscapes {
        /// The link.
        path: String,
        /// Its target.
        target: String,
    },
    /// A hard link to a path outside the context or not in it.
    #[error("invalid hardlink {path:?} -> {target:?}: the target is not in the build context")]
    BadHardlink {
        /// The link.
        path: String,
        /// Its target.
        target: String,
    },
    /// An entry type a context cannot hold (device, fifo …).
    #[error("the build context entry {path:?} is a {kind}, which a build context cannot hold")]
    EntryType {
        /// The entry's name.
        path: String,
        /// What it is.
        kind: &'static str,
    },
    /// The context is bigger than the daemon accepts.
    #[error("the build context is larger than the limit of {limit} bytes (at {path:?})")]
    TooLarge {
        /// The limit.
        limit: u64,
        /// The entry that went over it.
        path: String,
    },
    /// A name is not valid UTF-8, too long, or contains NUL.
    #[error("the build context entry {path:?} has an invalid name")]
    BadName {
        /// The name, lossily decoded.
        path: String,
    },
    /// Writing the context to disk failed.
    #[error("writing the build context to {path}: {source}")]
    Write {
        /// Where.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A context upload carries an entry the sync did not ask for.
    #[error("the build context upload has an unexpected entry {path:?}")]
    Unexpected {
        /// The entry.
        path: String,
    },
    /// A context upload lacks a file the sync asked for.
    #[error("the build context upload lacks {path:?}")]
    Missing {
        /// The file.
        path: String,
    },
    /// A context sync lists an entry twice or out of order.
    #[error("the build context list is not sorted or names {path:?} twice")]
    Unsorted {
        /// The entry.
        path: String,
    },
    /// `.dockerignore` has a bad pattern.
    #[error("error reading .dockerignore: {0}")]
    Ignore(#[from] dockerfile::ignore::PatternError),
}

impl ContextError {
    /// Bad input, except a failing disk.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ContextError::Write { source, .. } if source.raw_os_error() != Some(libc::ENOSPC) => {
                ErrorKind::Internal
            }
            _ => ErrorKind::InvalidArgument,
        }
    }
}

/// Errors of a build.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The context tar is unusable.
    #[error(transparent)]
    Context(#[from] ContextError),
    /// The Dockerfile is not in the context.
    #[error("Cannot locate specified Dockerfile: {0}")]
    NoDockerfile(String),
    /// The Dockerfile is empty.
    #[error("the Dockerfile ({0}) cannot be empty")]
    EmptyDockerfile(String),
    /// The Dockerfile does not parse.
    #[error("failed to parse {name}: {source}")]
    Parse {
        /// The Dockerfile's name.
        name: String,
        /// The parser's error (line and reason).
        #[source]
        source: Box<dockerfile::Error>,
    },
    /// An instruction's variables do not expand.
    #[error("{instruction}: {source}")]
    Expand {
        /// The instruction as written.
        instruction: String,
        /// Why.
        #[source]
        source: Box<dockerfile::instructions::ExpandError>,
    },
    /// A word does not expand.
    #[error("{instruction}: {source}")]
    Lex {
        /// The instruction as written.
        instruction: String,
        /// Why.
        #[source]
        source: Box<dockerfile::shell::LexError>,
    },
    /// A `RUN --mount` is invalid once expanded.
    #[error("{instruction}: {source}")]
    Mount {
        /// The instruction as written.
        instruction: String,
        /// Why.
        #[source]
        source: Box<dockerfile::instructions::MountError>,
    },
    /// `--target` names no stage.
    #[error("target stage {0:?} could not be found")]
    NoTarget(String),
    /// Two stages have the same name.
    #[error("duplicate stage name {0:?}")]
    DuplicateStage(String),
    /// A stage refers to itself or to a later stage in a loop.
    #[error("circular dependency detected on stage: {0}")]
    StageCycle(String),
    /// `FROM` names nothing once expanded.
    #[error("base name ({0}) should not be blank")]
    BlankBase(String),
    /// The Dockerfile has no stage.
    #[error("No image was generated. Is your Dockerfile empty?")]
    NoImage,
    /// A request option or instruction flag berth does not implement.
    #[error("{what} is not supported by berth: {why}")]
    Unsupported {
        /// What was asked.
        what: String,
        /// Why, and what to do instead.
        why: &'static str,
    },
    /// A request option has a bad value.
    #[error("invalid {option} {value:?}: {reason}")]
    InvalidOption {
        /// The option.
        option: &'static str,
        /// Its value.
        value: String,
        /// What is wrong.
        reason: String,
    },
    /// An instruction's value is invalid (a port, a signal, a user …).
    #[error("{instruction}: {reason}")]
    Invalid {
        /// The instruction as written.
        instruction: String,
        /// What is wrong.
        reason: String,
    },
    /// A COPY/ADD source is missing or excluded.
    #[error("{instruction} failed: file not found in build context or excluded by .dockerignore: stat {path}: file does not exist")]
    SourceNotFound {
        /// `COPY` or `ADD`.
        instruction: &'static str,
        /// The source as written (relative).
        path: String,
    },
    /// A COPY --from source is missing in the stage or image.
    #[error("{instruction} failed: stat {path}: file does not exist in {from}")]
    FromSourceNotFound {
        /// `COPY`.
        instruction: &'static str,
        /// The source.
        path: String,
        /// The stage or image.
        from: String,
    },
    /// Several sources but the destination is not a directory.
    #[error("When using {0} with more than one source file, the destination must be a directory and end with a /")]
    MultiSourceDest(&'static str),
    /// A source path resolves outside the context.
    #[error("forbidden path outside the build context: {0}")]
    Forbidden(String),
    /// A RUN step exited non-zero (dockerd's wording; the code is the step's).
    #[error("The command '{command}' returned a non-zero code: {code}")]
    RunFailed {
        /// The command as run.
        command: String,
        /// Its exit code.
        code: i64,
    },
    /// Copying files into the step's filesystem failed.
    #[error("{instruction} failed: {source}")]
    Copy {
        /// `COPY`, `ADD`, `WORKDIR`.
        instruction: &'static str,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Unpacking an archive for ADD failed.
    #[error("ADD failed: {0}")]
    Unpack(#[from] oci::layer::ApplyError),
    /// A download for ADD failed.
    #[error("ADD failed: {0}")]
    Download(#[source] BackendError),
    /// The backend (image store, containers) failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// A host operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was done.
        op: &'static str,
        /// On what.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A blocking task failed.
    #[error("build task: {0}")]
    Task(#[from] tokio::task::JoinError),
}

impl Error {
    /// The error's kind: bad input, the backend's kind, or internal.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Context(e) => e.kind(),
            Error::Backend(e) | Error::Download(e) => e.kind(),
            Error::Unpack(e) => e.kind(),
            Error::Copy { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                ErrorKind::InvalidArgument
            }
            Error::Copy { .. } | Error::Io { .. } | Error::Task(_) => ErrorKind::Internal,
            _ => ErrorKind::InvalidArgument,
        }
    }

    /// The exit code the client should exit with (the failed RUN's), if any.
    pub fn exit_code(&self) -> Option<i64> {
        match self {
            Error::RunFailed { code, .. } => Some(*code),
            _ => None,
        }
    }

    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn invalid(instruction: &str, reason: impl Into<String>) -> Self {
        Error::Invalid {
            instruction: instruction.to_string(),
            reason: reason.into(),
        }
    }
}

/// Result of the build crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
