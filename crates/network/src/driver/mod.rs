//! Network drivers: what turns a network record into kernel objects (netavark's
//! `src/network/driver.rs` shape). Each step validates first, then sets up, and on failure
//! undoes what it did itself, so a failed call leaves nothing behind.
//!
//! Drivers:
//! - [`BridgeDriver`] (`bridge`): one Linux bridge per network, a veth pair per endpoint
//!   with the container side created directly inside the container's namespace.
//! - [`HostDriver`] (`host`) and [`NullDriver`] (`null`, the `none` network): nothing to set
//!   up; only their predefined network may exist, as in dockerd.
//!
//! `--network container:<id>` is not a driver but a mode the engine resolves: the container
//! gets no endpoint and no namespace of its own; the engine points its runtime spec at the
//! other container's pinned netns file, reuses that container's `hosts`, `resolv.conf` and
//! `hostname` files, reports `NetworkMode: container:<id>` with empty `Networks`, and refuses
//! to start it when the other container is not running (dockerd's "cannot join network of a
//! non running container"). Ports, `--dns`, `--add-host`, `--mac-address` and
//! `--network-alias` are refused with such a mode, as dockerd does (`conflicting options`).

mod bridge;

use std::future::Future;
use std::net::IpAddr;
use std::path::PathBuf;

use ipnet::IpNet;

pub use bridge::{
    default_bridge_name, parse_bridge_options, veth_name, BridgeDriver, BridgeOptions,
};

use crate::firewall::FirewallError;
use crate::link::{LinkError, Mac};
use crate::netns::NetnsError;
use crate::ErrorKind;

/// One subnet of a network as the driver sees it (from the IPAM).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubnetSpec {
    /// The subnet.
    pub subnet: IpNet,
    /// The gateway, given to the bridge.
    pub gateway: IpAddr,
}

impl From<&crate::ipam::Subnet> for SubnetSpec {
    fn from(s: &crate::ipam::Subnet) -> Self {
        SubnetSpec {
            subnet: s.subnet,
            gateway: s.gateway,
        }
    }
}

/// What a driver needs to know about a network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkSpec {
    /// The network id.
    pub id: String,
    /// The network name.
    pub name: String,
    /// The bridge interface (bridge driver).
    pub bridge: String,
    /// MTU of the bridge and of every endpoint.
    pub mtu: u32,
    /// `--internal`: no route out, no masquerade, isolated.
    pub internal: bool,
    /// Masquerade traffic leaving the network.
    pub masquerade: bool,
    /// The network's subnets.
    pub subnets: Vec<SubnetSpec>,
    /// One of the daemon's predefined networks (`bridge`, `host`, `none`).
    pub predefined: bool,
}

/// One endpoint to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointSpec {
    /// The endpoint id (its veth is named from it, so it can be found again after a restart).
    pub id: String,
    /// The container's pinned netns file.
    pub netns: PathBuf,
    /// The interface name inside the container (`eth0`, `eth1` …).
    pub ifname: String,
    /// Its addresses with their subnet's prefix length (from the IPAM).
    pub addresses: Vec<IpNet>,
    /// `--mac-address`; `None` = dockerd's `02:42:<IPv4>`, or random without IPv4.
    pub mac: Option<Mac>,
    /// This endpoint gives the container its default route(s).
    pub default_route: bool,
}

/// What connecting produced (for `NetworkSettings`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointInfo {
    /// The host side of the veth pair.
    pub host_ifname: String,
    /// The interface inside the container.
    pub ifname: String,
    /// Its MAC.
    pub mac: Option<Mac>,
    /// Its addresses.
    pub addresses: Vec<IpNet>,
    /// The gateways its default routes go through (empty for `--internal` networks or when
    /// it is not the default-route endpoint).
    pub gateways: Vec<IpAddr>,
}

/// A driver failure.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// Netlink.
    #[error(transparent)]
    Link(#[from] LinkError),
    /// The firewall.
    #[error(transparent)]
    Firewall(#[from] FirewallError),
    /// The container's namespace.
    #[error(transparent)]
    Netns(#[from] NetnsError),
    /// A driver option is unknown or has a bad value.
    #[error("{option}: {reason}")]
    InvalidOption { option: String, reason: String },
    /// A second `host` or `null` network.
    #[error("only one instance of \"{driver}\" network is allowed")]
    Predefined { driver: &'static str },
    /// The network's bridge disappeared.
    #[error("bridge {bridge} of network {network} not found")]
    NoBridge { bridge: String, network: String },
    /// Cleanup went on past failures; all of them.
    #[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
    Cleanup(Vec<DriverError>),
}

impl DriverError {
    /// The error's kind.
    pub fn kind(&self) -> ErrorKind {
        match self {
            DriverError::Link(e) => e.kind(),
            DriverError::Firewall(e) => e.kind(),
            DriverError::Netns(e) => e.kind(),
            DriverError::InvalidOption { .. } => ErrorKind::InvalidArgument,
            DriverError::Predefined { .. } => ErrorKind::Conflict,
            DriverError::NoBridge { .. } => ErrorKind::NotFound,
            DriverError::Cleanup(errs) => errs.first().map_or(ErrorKind::Internal, |e| e.kind()),
        }
    }
}

/// What every driver does. Each async step undoes its own partial work on failure.
pub trait NetworkDriver: Send + Sync {
    /// The driver's name as the API shows it (`bridge`, `host`, `null`).
    fn name(&self) -> &'static str;

    /// Checks a network before anything is made.
    fn validate(&self, net: &NetworkSpec) -> Result<(), DriverError>;

    /// Makes the network's kernel objects (idempotent: a restart finds them made).
    fn create(&self, net: &NetworkSpec) -> impl Future<Output = Result<(), DriverError>> + Send;

    /// Connects an endpoint into the container's namespace.
    fn connect(
        &self,
        net: &NetworkSpec,
        ep: &EndpointSpec,
    ) -> impl Future<Output = Result<EndpointInfo, DriverError>> + Send;

    /// Disconnects an endpoint (gone already is fine).
    fn disconnect(
        &self,
        net: &NetworkSpec,
        ep: &EndpointSpec,
    ) -> impl Future<Output = Result<(), DriverError>> + Send;

    /// Removes the network's kernel objects (gone already is fine).
    fn delete(&self, net: &NetworkSpec) -> impl Future<Output = Result<(), DriverError>> + Send;

    /// The endpoint's container is stopping and its namespace is about to be removed:
    /// release only what does not die with the namespace. Defaults to [`Self::disconnect`].
    fn release(
        &self,
        net: &NetworkSpec,
        ep: &EndpointSpec,
    ) -> impl Future<Output = Result<(), DriverError>> + Send {
        self.disconnect(net, ep)
    }
}

/// `--network host`: the container shares the daemon's namespace; nothing to set up.
#[derive(Debug, Default)]
pub struct HostDriver;

/// `--network none`: the container's namespace keeps only `lo`; nothing to set up.
#[derive(Debug, Default)]
pub struct NullDriver;

macro_rules! nothing_driver {
    ($t:ty, $name:literal) => {
        impl NetworkDriver for $t {
            fn name(&self) -> &'static str {
                $name
            }

            fn validate(&self, net: &NetworkSpec) -> Result<(), DriverError> {
                if net.predefined {
                    Ok(())
                } else {
                    Err(DriverError::Predefined { driver: $name })
                }
            }

            async fn create(&self, net: &NetworkSpec) -> Result<(), DriverError> {
                self.validate(net)
            }

            async fn connect(
                &self,
                _net: &NetworkSpec,
                _ep: &EndpointSpec,
            ) -> Result<EndpointInfo, DriverError> {
                Ok(EndpointInfo::default())
            }

            async fn disconnect(
                &self,
                _: &NetworkSpec,
                _: &EndpointSpec,
            ) -> Result<(), DriverError> {
                Ok(())
            }

            async fn delete(&self, _net: &NetworkSpec) -> Result<(), DriverError> {
                Ok(())
            }
        }
    };
}

nothing_driver!(HostDriver, "host");
nothing_driver!(NullDriver, "null");

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(predefined: bool) -> NetworkSpec {
        NetworkSpec {
            id: "id".into(),
            name: "host".into(),
            bridge: String::new(),
            mtu: 1500,
            internal: false,
            masquerade: false,
            subnets: vec![],
            predefined,
        }
    }

    #[tokio::test]
    async fn host_and_null_only_predefined() {
        let ep = EndpointSpec {
            id: "e".into(),
            netns: "/nonexistent".into(),
            ifname: "eth0".into(),
            addresses: vec![],
            mac: None,
            default_route: true,
        };
        let errs = [
            ("host", HostDriver.create(&spec(false)).await.unwrap_err()),
            ("null", NullDriver.create(&spec(false)).await.unwrap_err()),
        ];
        for (name, err) in errs {
            assert_eq!(
                err.to_string(),
                format!("only one instance of \"{name}\" network is allowed")
            );
            assert_eq!(err.kind(), ErrorKind::Conflict);
        }
        HostDriver.create(&spec(true)).await.unwrap();
        assert_eq!(
            HostDriver.connect(&spec(true), &ep).await.unwrap(),
            EndpointInfo::default()
        );
        NullDriver.disconnect(&spec(true), &ep).await.unwrap();
        NullDriver.delete(&spec(true)).await.unwrap();
        assert_eq!(NullDriver.name(), "null");
    }
}
