//! Container networking: network namespaces, and (later) bridges, veth pairs, IPAM, port
//! publishing and the `/etc/hosts` entries for links.
//!
//! Vocabulary: a **netns path** is a file on which a network namespace is bind-mounted
//! ([`netns::create`]); the runtime spec's `linux.namespaces[network].path` points at it.

pub mod netns;

/// What kind of failure an error is (the one `errdefs` vocabulary).
pub use errdefs::ErrorKind;
