//! The files and variables a container's network setup writes, as pure functions: its
//! `/etc/hosts` ([`hosts`]), its `/etc/resolv.conf` ([`resolv`]) and the environment and
//! hosts entries of legacy `--link`s ([`links`]). The engine writes the results; nothing here
//! touches the filesystem.

pub mod hosts;
pub mod links;
pub mod resolv;

use crate::ErrorKind;

/// Bad input to one of the generators.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilesError {
    /// An `--add-host` value is not `name:ip`.
    #[error("bad format for add-host: {value:?}")]
    BadExtraHost { value: String },
    /// An `--add-host` address is not an IP address.
    #[error("invalid IP address in add-host: {value:?}")]
    BadExtraHostAddress { value: String },
    /// `host-gateway` was used but the daemon knows no host gateway address.
    #[error("unable to derive the IP value for host-gateway")]
    NoHostGateway,
    /// A `--dns` value is not an IP address.
    #[error("{value} is not an ip address")]
    BadNameserver { value: String },
}

impl FilesError {
    /// The error's kind: always the caller's input.
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::InvalidArgument
    }
}
