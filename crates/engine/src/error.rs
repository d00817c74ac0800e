//! The engine's error type. Every variant names the object it is about; `kind()` is what the
//! API server maps to an HTTP status (and nothing else does).

use std::path::PathBuf;

/// The small set of outcomes a client can act on (moby's errdefs, containerd's errdefs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// 400: the request is malformed or names something invalid.
    InvalidArgument,
    /// 404: the object does not exist.
    NotFound,
    /// 409: the object exists but is in the way (name in use, container running …).
    Conflict,
    /// 304: nothing to do (start of a running container, stop of a stopped one).
    NotModified,
    /// 401: credentials missing or refused.
    Unauthorized,
    /// 503: a dependency is not available right now.
    Unavailable,
    /// 500: a bug or a host failure.
    Internal,
}

/// Errors of the engine's services.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("No such container: {0}")]
    NoSuchContainer(String),
    #[error("No such image: {0}")]
    NoSuchImage(String),
    #[error("No such exec instance: {0}")]
    NoSuchExec(String),
    #[error("Conflict. The container name \"/{name}\" is already in use by container \"{holder}\". You have to remove (or rename) that container to be able to reuse that name.")]
    NameInUse { name: String, holder: String },
    #[error("Invalid container name ({0}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")]
    InvalidName(String),
    #[error("{0}")]
    InvalidArgument(String),
    #[error("Container {0} is not running")]
    NotRunning(String),
    #[error("container {0} is already {1}")]
    NotModified(String, &'static str),
    #[error("{0}")]
    Conflict(String),
    /// The container's command could not be started; `exit_code` is 126, 127 or 128.
    #[error("{message}")]
    StartFailed { message: String, exit_code: i64 },
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("store: {0}")]
    Store(String, ErrorKind),
    #[error("runtime: {0}")]
    Runtime(String, ErrorKind),
    /// A registry operation failed (message as the registry client words it).
    #[error("{0}")]
    Registry(String, ErrorKind),
    /// A build failed (the Dockerfile, the context, or a step).
    #[error(transparent)]
    Build(#[from] build::Error),
    #[error("{0}")]
    Internal(String),
}

impl Error {
    /// What the client can do about it.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::NoSuchContainer(_) | Error::NoSuchImage(_) | Error::NoSuchExec(_) => {
                ErrorKind::NotFound
            }
            Error::NameInUse { .. } | Error::Conflict(_) | Error::NotRunning(_) => {
                ErrorKind::Conflict
            }
            Error::InvalidName(_) | Error::InvalidArgument(_) => ErrorKind::InvalidArgument,
            Error::NotModified(..) => ErrorKind::NotModified,
            Error::StartFailed { exit_code, .. } => {
                if *exit_code == 126 || *exit_code == 127 {
                    ErrorKind::InvalidArgument
                } else {
                    ErrorKind::Internal
                }
            }
            Error::Store(_, k) | Error::Runtime(_, k) | Error::Registry(_, k) => *k,
            Error::Build(e) => crate::container::rootfs_kind(e.kind()),
            Error::Io { .. } | Error::File { .. } | Error::Internal(_) => ErrorKind::Internal,
        }
    }

    /// An I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// An I/O error on a path.
    pub fn file(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::File {
            path: path.into(),
            source,
        }
    }

    /// A bad request.
    pub fn invalid(msg: impl Into<String>) -> Error {
        Error::InvalidArgument(msg.into())
    }
}

/// Result of the engine's services.
pub type Result<T, E = Error> = std::result::Result<T, E>;
