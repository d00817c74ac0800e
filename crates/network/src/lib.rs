//! Container networking: network namespaces, and (later) bridges, veth pairs, IPAM, port
//! publishing and the `/etc/hosts` entries for links.
//!
//! Vocabulary: a **netns path** is a file on which a network namespace is bind-mounted
//! ([`netns::create`]); the runtime spec's `linux.namespaces[network].path` points at it.

pub mod netns;

/// What kind of failure an error is, for callers that map errors to API statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The thing asked for does not exist.
    NotFound,
    /// The request conflicts with the current state.
    Conflict,
    /// The caller's input is wrong.
    InvalidArgument,
    /// A bug or an unexpected system failure.
    Internal,
}
