//! Errors of the network service: dockerd's words for what the user got wrong, and the
//! `network` crate's failures wrapped with their kind kept.

use crate::error::ErrorKind;

/// What went wrong in the network service.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// A container asks for a network that does not exist: a bad request at create (not a
    /// 404, which the docker CLI takes for a missing image and pulls).
    #[error("network {0} not found")]
    UnknownNetwork(String),
    /// A legacy link names a container that does not exist (a bad request, for the same
    /// reason as [`NetError::UnknownNetwork`]).
    #[error("could not get container for {0}: No such container: {0}")]
    NoSuchContainerToLink(String),
    /// No network has this name, id or id prefix.
    #[error("network {0} not found")]
    NoSuchNetwork(String),
    /// A name or id prefix matching several networks.
    #[error("network {term} is ambiguous ({count} matches found {how})")]
    Ambiguous {
        term: String,
        count: usize,
        how: &'static str,
    },
    /// `network create` with a name in use.
    #[error("network with name {0} already exists")]
    NameInUse(String),
    /// An operation predefined networks refuse (create one of their names, remove them).
    #[error("{0}")]
    Predefined(String),
    /// `network rm` of a network with running containers.
    #[error("error while removing network: network {network} has active endpoints ({})", .endpoints.join(", "))]
    ActiveEndpoints {
        network: String,
        endpoints: Vec<String>,
    },
    /// Connecting a container to a network it is on.
    #[error("endpoint with name {container} already exists in network {network}")]
    AlreadyConnected { container: String, network: String },
    /// Disconnecting a container from a network it is not on.
    #[error("container {container} is not connected to network {network}")]
    NotConnected { container: String, network: String },
    /// A request or combination of options that is wrong; the message says which.
    #[error("{0}")]
    Invalid(String),
    /// A request that conflicts with the state of things; the message says which.
    #[error("{0}")]
    Conflict(String),
    /// Publishing an endpoint's ports failed (dockerd's wording around the cause).
    #[error(
        "driver failed programming external connectivity on endpoint {endpoint} ({id}): {source}"
    )]
    Ports {
        endpoint: String,
        id: String,
        #[source]
        source: network::ports::PortError,
    },
    /// Address management.
    #[error(transparent)]
    Ipam(#[from] network::ipam::IpamError),
    /// A network driver.
    #[error(transparent)]
    Driver(#[from] network::driver::DriverError),
    /// A `-p` spec.
    #[error(transparent)]
    PortSpec(#[from] network::ports::PortSpecError),
    /// A port binding.
    #[error(transparent)]
    Port(#[from] network::ports::PortError),
    /// The nftables table.
    #[error(transparent)]
    Firewall(#[from] network::firewall::FirewallError),
    /// The embedded DNS server.
    #[error(transparent)]
    Dns(#[from] network::dns::DnsError),
    /// `--add-host`, `--dns` values.
    #[error(transparent)]
    Files(#[from] network::files::FilesError),
    /// A network namespace.
    #[error("network namespace: {0}")]
    Netns(#[from] network::netns::NetnsError),
    /// A kernel switch.
    #[error(transparent)]
    Sysctl(#[from] network::sysctl::SysctlError),
    /// Reading the host's routes.
    #[error(transparent)]
    Link(#[from] network::link::LinkError),
    /// The metadata database.
    #[error("store: {0}")]
    Store(#[from] store::MetaError),
    /// A file of the service (endpoint state, a container's hosts file).
    #[error("{path}: {source}")]
    File {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A blocking task failed.
    #[error("{0} task failed")]
    Task(&'static str),
}

impl NetError {
    /// What the client can do about it.
    pub fn kind(&self) -> ErrorKind {
        use NetError::*;
        match self {
            NoSuchNetwork(_) => ErrorKind::NotFound,
            Ambiguous { .. } | Invalid(_) | UnknownNetwork(_) | NoSuchContainerToLink(_) => {
                ErrorKind::InvalidArgument
            }
            NameInUse(_)
            | Predefined(_)
            | ActiveEndpoints { .. }
            | AlreadyConnected { .. }
            | NotConnected { .. }
            | Conflict(_) => ErrorKind::Conflict,
            Ports { source, .. } => source.kind(),
            Ipam(e) => e.kind(),
            Driver(e) => e.kind(),
            PortSpec(e) => e.kind(),
            Port(e) => e.kind(),
            Firewall(e) => e.kind(),
            Dns(e) => e.kind(),
            Files(e) => e.kind(),
            Netns(e) => e.kind(),
            Sysctl(e) => e.kind(),
            Link(e) => e.kind(),
            Store(e) => e.kind(),
            File { .. } | Task(_) => ErrorKind::Internal,
        }
    }

    /// A file error.
    pub fn file(path: impl Into<std::path::PathBuf>, source: std::io::Error) -> Self {
        NetError::File {
            path: path.into(),
            source,
        }
    }
}
