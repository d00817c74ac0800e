//! The client's one error type. Its `Display` is what the docker CLI prints for the same
//! failure (`Error response from daemon: …`, `Cannot connect to the … daemon at …`), so the
//! `berth` binary can print it unchanged.

/// What kind of failure an [`Error`] is, independent of how it is worded (`errdefs`'s).
pub use errdefs::ErrorKind;

/// An Engine API call that failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The daemon's socket could not be connected to.
    #[error("Cannot connect to the berth daemon at {host}. Is the berth daemon running?")]
    Connect {
        host: String,
        #[source]
        source: std::io::Error,
    },
    /// The host string (`-H`, `BERTH_HOST`, `DOCKER_HOST`) is not one we can dial.
    #[error("unable to parse docker host `{host}`: {reason}")]
    InvalidHost { host: String, reason: &'static str },
    /// The daemon answered with an error status; `message` is its `{"message": …}`.
    #[error("Error response from daemon: {message}")]
    Daemon { status: u16, message: String },
    /// The daemon answered with an error status and no message of its own; `message` says
    /// which route failed (moby's wording).
    #[error("{message}")]
    Status { status: u16, message: String },
    /// The HTTP exchange itself failed (connection reset, malformed response).
    #[error("error during connect: {method} {path}: {}", chain(.source))]
    Http {
        method: &'static str,
        path: String,
        #[source]
        source: hyper::Error,
    },
    /// The daemon did not switch protocols for a hijacked (attach) request.
    #[error("unable to upgrade to tcp, received {status}")]
    Upgrade { status: u16 },
    /// Reading a response body or a hijacked stream failed.
    #[error("error reading from daemon: {source}")]
    Io {
        #[source]
        source: std::io::Error,
    },
    /// A response body was not the JSON we expected.
    #[error("error decoding {what} from daemon: {source}")]
    Decode {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    /// A progress stream ended with an `errorDetail` (pull, import …).
    #[error("{message}")]
    Stream { message: String },
    /// A request could not be built (a name that cannot appear in a URI).
    #[error("invalid request `{uri}`: {source}")]
    Request {
        uri: String,
        #[source]
        source: http::Error,
    },
    /// A request body could not be encoded.
    #[error("error encoding {what}: {source}")]
    Encode {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    /// A multiplexed stream carried a header we do not understand.
    #[error("Unrecognized input header: {header}")]
    BadFrame { header: u8 },
    /// The daemon reported an error inside a multiplexed stream (stream type 3).
    #[error("error from daemon in stream: {message}")]
    DaemonStream { message: String },
}

impl Error {
    /// The kind of failure, for callers that branch on it.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Connect { .. } => ErrorKind::Unavailable,
            Error::InvalidHost { .. } => ErrorKind::InvalidArgument,
            Error::Daemon { status, .. } | Error::Status { status, .. } => {
                ErrorKind::from_http_status(*status)
            }
            Error::Http { .. } | Error::Io { .. } => ErrorKind::Unavailable,
            Error::Upgrade { .. }
            | Error::Decode { .. }
            | Error::Stream { .. }
            | Error::BadFrame { .. }
            | Error::DaemonStream { .. } => ErrorKind::Internal,
            Error::Encode { .. } | Error::Request { .. } => ErrorKind::InvalidArgument,
        }
    }

    /// Whether the daemon said the object does not exist (the docker CLI's `IsNotFound`).
    pub fn is_not_found(&self) -> bool {
        self.kind() == ErrorKind::NotFound
    }

    /// The HTTP status the daemon answered with, if this is a daemon error.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Daemon { status, .. } | Error::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Result alias for the client.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `e` and its causes, `: `-separated (hyper's "error from user's Body stream" says what
/// failed only in its source).
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daemon_errors_print_like_docker() {
        let e = Error::Daemon {
            status: 404,
            message: "No such container: x".into(),
        };
        assert_eq!(
            e.to_string(),
            "Error response from daemon: No such container: x"
        );
        assert!(e.is_not_found());
        assert_eq!(e.status(), Some(404));
        let c = Error::Daemon {
            status: 409,
            message: "c".into(),
        };
        assert_eq!(c.kind(), ErrorKind::Conflict);
        assert_eq!(
            Error::Upgrade { status: 200 }.to_string(),
            "unable to upgrade to tcp, received 200"
        );
    }
}
