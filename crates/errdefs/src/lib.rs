//! The bottom of berth's crate graph: the one [`ErrorKind`] every error of every crate answers
//! with from its `kind()` (moby's and containerd's `errdefs`).
//!
//! Vocabulary: an error's **kind** is what a caller can do about it (retry, fix the request,
//! give up), independent of how it is worded. Library crates never choose HTTP statuses: only
//! `api-server` maps a kind to one (and the client maps statuses back, for the CLI). Crates
//! re-export this type (`oci::ErrorKind`, `runtime::ErrorKind`, …) so that a lower error's
//! kind passes through the engine unchanged.

/// The small set of outcomes a client can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The request is malformed or names something invalid (HTTP 400).
    InvalidArgument,
    /// The named thing does not exist (HTTP 404).
    NotFound,
    /// The thing exists but is in the way: a name in use, a running container (HTTP 409).
    Conflict,
    /// Nothing to do: start of a running container, stop of a stopped one (HTTP 304).
    NotModified,
    /// Credentials missing or refused (HTTP 401; 403 maps here too).
    Unauthorized,
    /// A dependency is not reachable right now; retrying may help (HTTP 503).
    Unavailable,
    /// The operation is not implemented (HTTP 501).
    NotImplemented,
    /// A bug, or an unexpected failure of the system underneath (HTTP 500).
    Internal,
}

impl ErrorKind {
    /// Maps an HTTP error status back to a kind, as moby's `httpErrorFromStatusCode` does
    /// (what a client of an HTTP API — the Engine API, a registry — makes of an answer).
    pub fn from_http_status(status: u16) -> ErrorKind {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_back_like_moby() {
        assert_eq!(ErrorKind::from_http_status(404), ErrorKind::NotFound);
        assert_eq!(ErrorKind::from_http_status(403), ErrorKind::Unauthorized);
        assert_eq!(ErrorKind::from_http_status(409), ErrorKind::Conflict);
        assert_eq!(ErrorKind::from_http_status(418), ErrorKind::Internal);
    }
}
