//! The client's one error type. Its `Display` is what the docker CLI prints for the same
//! failure (`Error response from daemon: …`, `Cannot connect to the … daemon at …`), so the
//! `berth` binary can print it unchanged.

/// What kind of failure an [`Error`] is, independent of how it is worded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The object named does not exist (HTTP 404).
    NotFound,
    /// The request conflicts with the object's state (HTTP 409).
    Conflict,
    /// The request was malformed or named an invalid value (HTTP 400, bad host, bad stream).
    InvalidArgument,
    /// The daemon refused the credentials (HTTP 401/403).
    Unauthorized,
    /// The daemon could not be reached, or reported itself unavailable (HTTP 503).
    Unavailable,
    /// The daemon does not implement what was asked (HTTP 501).
    NotImplemented,
    /// Anything else: a daemon-side failure or a broken response.
    Internal,
}

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
    #[error("error during connect: {method} {path}: {source}")]
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
            Error::Daemon { status, .. } | Error::Status { status, .. } => kind_of_status(*status),
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

/// Maps an HTTP error status to a kind, as moby's `httpErrorFromStatusCode` does.
fn kind_of_status(status: u16) -> ErrorKind {
    match status {
        400 => ErrorKind::InvalidArgument,
        401 | 403 => ErrorKind::Unauthorized,
        404 => ErrorKind::NotFound,
        409 => ErrorKind::Conflict,
        501 => ErrorKind::NotImplemented,
        503 => ErrorKind::Unavailable,
        _ => ErrorKind::Internal,
    }
}

/// Result alias for the client.
pub type Result<T, E = Error> = std::result::Result<T, E>;

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
