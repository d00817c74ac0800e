//! Errors of registry operations. Messages follow the docker daemon's wording where users know
//! it (`manifest for … not found`, `pull access denied for …`).

use oci::Digest;

use crate::ErrorKind;

/// A registry operation's failure.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request could not be sent or its answer not read (connection refused, TLS, reset).
    #[error("{method} \"{url}\": {reason}")]
    Transport {
        /// HTTP method.
        method: String,
        /// The URL.
        url: String,
        /// The root cause, in words.
        reason: String,
        /// The error.
        #[source]
        source: reqwest::Error,
    },
    /// The registry answered with an error status.
    #[error("{method} \"{url}\": {}", status_message(*.status, .code.as_deref(), .message))]
    Status {
        /// HTTP method.
        method: String,
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
        /// The registry's error code (`MANIFEST_UNKNOWN`, `UNAUTHORIZED`, …).
        code: Option<String>,
        /// The registry's message.
        message: String,
    },
    /// Credentials were missing or refused.
    #[error("{message}")]
    Unauthorized {
        /// What the registry said, with the host.
        message: String,
    },
    /// The repository does not exist, or the credentials do not grant access to it.
    #[error("{verb} access denied for {repository}, repository does not exist or may require 'docker login': denied: {message}")]
    Denied {
        /// `pull` or `push`.
        verb: &'static str,
        /// The familiar repository name.
        repository: String,
        /// The registry's message.
        message: String,
    },
    /// No manifest under this tag or digest.
    #[error("manifest for {reference} not found: manifest unknown: {message}")]
    ManifestUnknown {
        /// The familiar reference.
        reference: String,
        /// The registry's message.
        message: String,
    },
    /// A manifest, index or config that cannot be used.
    #[error("{what}: {reason}")]
    Invalid {
        /// What was being read (`manifest for x:1`, `config sha256:…`).
        what: String,
        /// Why it is unusable.
        reason: String,
    },
    /// Content whose digest is not the one asked for.
    #[error("{what}: digest mismatch: expected {expected}, registry sent {actual}")]
    DigestMismatch {
        /// What was fetched.
        what: String,
        /// The digest asked for.
        expected: Digest,
        /// The digest of what arrived.
        actual: Digest,
    },
    /// Content larger than announced or allowed.
    #[error("{what}: more than {limit} bytes")]
    TooLarge {
        /// What was fetched.
        what: String,
        /// The limit.
        limit: u64,
    },
    /// The `X-Registry-Auth` header or an auth config is malformed.
    #[error("invalid registry credentials: {reason}")]
    BadCredentials {
        /// Why.
        reason: String,
    },
    /// A daemon setting (mirror URL, insecure registry entry, certs.d file) is wrong.
    #[error("registry configuration: {reason}")]
    Config {
        /// What is wrong, naming the file or value.
        reason: String,
    },
    /// A local file (a blob to push) could not be read.
    #[error("reading {path}: {source}")]
    File {
        /// The path.
        path: std::path::PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

fn status_message(status: u16, code: Option<&str>, message: &str) -> String {
    let code = code.map(|c| c.to_ascii_lowercase().replace('_', " "));
    match (code, message.is_empty()) {
        (Some(c), false) => format!("{c}: {message}"),
        (Some(c), true) => c,
        (None, false) => format!("{message} (HTTP {status})"),
        (None, true) => format!("unexpected HTTP status {status}"),
    }
}

impl Error {
    /// What the caller can do about it.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Transport { .. } => ErrorKind::Unavailable,
            Error::Status { status, .. } => match status {
                401 | 403 => ErrorKind::Unauthorized,
                404 => ErrorKind::NotFound,
                400 | 405 | 413 | 416 => ErrorKind::InvalidArgument,
                409 => ErrorKind::Conflict,
                429 | 500..=599 => ErrorKind::Unavailable,
                _ => ErrorKind::Internal,
            },
            Error::Unauthorized { .. } => ErrorKind::Unauthorized,
            Error::Denied { .. } | Error::ManifestUnknown { .. } => ErrorKind::NotFound,
            Error::Invalid { .. }
            | Error::DigestMismatch { .. }
            | Error::TooLarge { .. }
            | Error::BadCredentials { .. }
            | Error::Config { .. } => ErrorKind::InvalidArgument,
            Error::File { .. } => ErrorKind::Internal,
        }
    }

    /// True for failures worth retrying on another endpoint or later (network errors, 5xx,
    /// 429), false for answers that will not change (404, 401, bad content).
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Transport { .. } => true,
            Error::Status { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }

    pub(crate) fn transport(method: &str, url: &str, source: reqwest::Error) -> Error {
        Error::Transport {
            method: method_word(method),
            url: url.to_string(),
            reason: root_cause(&source),
            source,
        }
    }
}

/// `GET` → `Get`, as Go's url.Error prints methods.
pub(crate) fn method_word(m: &str) -> String {
    let mut s = m.to_ascii_lowercase();
    if let Some(f) = s.get_mut(0..1) {
        f.make_ascii_uppercase();
    }
    s
}

/// The innermost message of an error chain (reqwest's outer message says little).
pub(crate) fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut msgs = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        msgs.push(s.to_string());
        cur = s.source();
    }
    // Skip reqwest's generic wrappers ("error sending request for url …").
    let useful: Vec<&String> = msgs
        .iter()
        .filter(|m| !m.starts_with("error sending request") && !m.starts_with("client error"))
        .collect();
    match useful.last() {
        Some(m) => m.to_string(),
        None => msgs.join(": "),
    }
}

/// Result of registry operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;
