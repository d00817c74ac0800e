//! What the network service keeps, and how it is shown.
//!
//! - [`NetworkRecord`]: one network, persisted in the metadata database (table
//!   [`TABLE`], id → JSON), with its subnets (the IPAM's data, without allocations).
//! - [`SandboxState`]: the network stack of one running container and its
//!   [`EndpointState`]s, persisted as a JSON file under the exec root
//!   (`<exec-root>/network/<container id>.json`): it lives exactly as long as the container's
//!   namespace, survives a daemon crash (the file is there at the next start) and needs no
//!   durable commit on the start path. IPAM allocations are rebuilt from these files.
//! - [`Attachment`]: what a container asked for on one network (kept in the container's
//!   record, like dockerd's `NetworkSettings.Networks` configuration part).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;

use api_types::network::{
    EndpointIpamConfig, EndpointResource, EndpointSettings, Ipam, IpamConfig,
};
use api_types::PortBinding;
use ipnet::IpNet;
use network::ipam::Subnet;
use network::ports::{Proto, PublishedPort};
use serde::{Deserialize, Serialize};

use crate::clock;

/// The metadata table of network records.
pub(crate) const TABLE: &str = "networks";

/// One network as persisted.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct NetworkRecord {
    /// 64 hex digits.
    pub id: String,
    /// Unique among networks.
    pub name: String,
    /// `bridge`, `host` or `null`.
    pub driver: String,
    /// Nanoseconds since the epoch.
    pub created: i128,
    /// `--internal`.
    pub internal: bool,
    /// IPv4 on.
    pub enable_ipv4: bool,
    /// `--ipv6`.
    pub enable_ipv6: bool,
    /// `--attachable` (recorded; it only matters to swarm).
    #[serde(default)]
    pub attachable: bool,
    /// Driver options as given (shown by inspect).
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// `--label`.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// `IPAM.Options` as given.
    #[serde(default)]
    pub ipam_options: Option<BTreeMap<String, String>>,
    /// The subnets (allocations are not persisted: see the module docs).
    #[serde(default)]
    pub subnets: Vec<Subnet>,
    /// The bridge interface (bridge driver).
    #[serde(default)]
    pub bridge: String,
    /// MTU of the bridge and its endpoints.
    pub mtu: u32,
    /// Masquerade traffic leaving the network.
    pub masquerade: bool,
    /// Default host address of published ports on this network.
    #[serde(default)]
    pub host_binding_ipv4: Option<IpAddr>,
    /// `bridge`, `host` or `none`: made by the daemon, never removed.
    pub predefined: bool,
}

impl NetworkRecord {
    /// The driver's view of it.
    pub fn spec(&self) -> network::driver::NetworkSpec {
        network::driver::NetworkSpec {
            id: self.id.clone(),
            name: self.name.clone(),
            bridge: self.bridge.clone(),
            mtu: self.mtu,
            internal: self.internal,
            masquerade: self.masquerade,
            subnets: self.subnets.iter().map(Into::into).collect(),
            predefined: self.predefined,
        }
    }

    /// Whether containers on it resolve each other through the embedded DNS server (every
    /// user-defined network; not the predefined ones, as in dockerd).
    pub fn has_dns(&self) -> bool {
        !self.predefined
    }

    /// `IPAM` as inspect shows it: one entry per subnet with what it has (`null` without
    /// subnets: `host`, `none`).
    pub fn ipam(&self) -> Ipam {
        let config = (!self.subnets.is_empty()).then(|| {
            self.subnets
                .iter()
                .map(|s| IpamConfig {
                    subnet: s.subnet.to_string(),
                    ip_range: s.ip_range.map(|r| r.to_string()).unwrap_or_default(),
                    gateway: s.gateway.to_string(),
                    aux_addresses: s
                        .aux_addresses
                        .iter()
                        .map(|(k, v)| (k.clone(), v.to_string()))
                        .collect(),
                })
                .collect()
        });
        Ipam {
            driver: "default".into(),
            options: self.ipam_options.clone(),
            config,
        }
    }

    /// The API's network, with `containers` (container id → endpoint).
    pub fn to_api(
        &self,
        containers: BTreeMap<String, EndpointResource>,
    ) -> api_types::network::Network {
        api_types::network::Network {
            name: self.name.clone(),
            id: self.id.clone(),
            created: clock::rfc3339(self.created),
            scope: "local".into(),
            driver: self.driver.clone(),
            enable_ipv4: self.enable_ipv4,
            enable_ipv6: self.enable_ipv6,
            ipam: self.ipam(),
            internal: self.internal,
            attachable: self.attachable,
            ingress: false,
            config_from: Default::default(),
            config_only: false,
            containers,
            options: self.options.clone(),
            labels: self.labels.clone(),
            peers: None,
            services: None,
        }
    }
}

/// What a container asked for on one network (its part of `NetworkingConfig`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Attachment {
    /// The network's name.
    pub network: String,
    /// The network's id (to tell a network from a later one of the same name).
    pub network_id: String,
    /// `IPAMConfig` (`--ip`, `--ip6`).
    #[serde(default)]
    pub ipam: Option<EndpointIpamConfig>,
    /// `--network-alias`.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// `--link` on a user-defined network: `target:alias`.
    #[serde(default)]
    pub links: Vec<String>,
    /// `--mac-address`.
    #[serde(default)]
    pub mac: String,
    /// `DriverOpts`.
    #[serde(default)]
    pub driver_opts: Option<BTreeMap<String, String>>,
    /// The names the embedded DNS server answers for it (user-defined networks).
    #[serde(default)]
    pub dns_names: Vec<String>,
}

impl Attachment {
    /// The requested static IPv4 and IPv6 addresses (checked at create).
    pub fn static_addresses(&self) -> (Option<IpAddr>, Option<IpAddr>) {
        let parse = |s: &str| s.parse::<IpAddr>().ok();
        match &self.ipam {
            Some(i) => (parse(&i.ipv4_address), parse(&i.ipv6_address)),
            None => (None, None),
        }
    }

    /// The configured part of `NetworkSettings.Networks.<name>`, operational fields empty
    /// (a container that is not running).
    pub fn settings(&self) -> EndpointSettings {
        let list = |v: &[String]| (!v.is_empty()).then(|| v.to_vec());
        EndpointSettings {
            ipam_config: self.ipam.clone(),
            links: list(&self.links),
            aliases: list(&self.aliases),
            mac_address: self.mac.clone(),
            driver_opts: self.driver_opts.clone(),
            network_id: self.network_id.clone(),
            dns_names: list(&self.dns_names),
            ..Default::default()
        }
    }
}

/// One container's endpoint on one network, while the container runs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EndpointState {
    /// 64 hex digits.
    pub id: String,
    /// The network's id.
    pub network_id: String,
    /// The network's name.
    pub network: String,
    /// `eth0`, `eth1` … (empty for host and none).
    pub ifname: String,
    /// Addresses with their prefix length.
    pub addresses: Vec<IpNet>,
    /// `02:42:…`, empty without an interface.
    pub mac: String,
    /// The default gateways through it (IPv4 and IPv6).
    pub gateways: Vec<IpAddr>,
    /// The network's gateways (shown as `Gateway` even for a non-default endpoint).
    pub network_gateways: Vec<IpAddr>,
    /// The container's default route goes through it.
    pub default_route: bool,
    /// Published ports (the gateway endpoint only).
    #[serde(default)]
    pub ports: Vec<PublishedPort>,
    /// Exposed ports (the gateway endpoint only), for `NetworkSettings.Ports`.
    #[serde(default)]
    pub exposed: Vec<(u16, Proto)>,
}

impl EndpointState {
    /// The first address of a family.
    pub fn addr(&self, v6: bool) -> Option<IpNet> {
        self.addresses
            .iter()
            .find(|a| matches!(a, IpNet::V6(_)) == v6)
            .copied()
    }

    fn gateway(&self, v6: bool) -> String {
        self.network_gateways
            .iter()
            .find(|g| g.is_ipv6() == v6)
            .filter(|_| self.addr(v6).is_some())
            .map(|g| g.to_string())
            .unwrap_or_default()
    }

    /// Fills the operational fields of `s`.
    pub fn fill(&self, s: &mut EndpointSettings) {
        s.network_id = self.network_id.clone();
        s.endpoint_id = self.id.clone();
        s.mac_address = self.mac.clone();
        s.gateway = self.gateway(false);
        s.ipv6_gateway = self.gateway(true);
        if let Some(a) = self.addr(false) {
            s.ip_address = a.addr().to_string();
            s.ip_prefix_len = a.prefix_len().into();
        }
        if let Some(a) = self.addr(true) {
            s.global_ipv6_address = a.addr().to_string();
            s.global_ipv6_prefix_len = a.prefix_len().into();
        }
    }

    /// The endpoint as network inspect lists it.
    pub fn resource(&self, container_name: &str) -> EndpointResource {
        EndpointResource {
            name: container_name.to_string(),
            endpoint_id: self.id.clone(),
            mac_address: self.mac.clone(),
            ipv4_address: self.addr(false).map(|a| a.to_string()).unwrap_or_default(),
            ipv6_address: self.addr(true).map(|a| a.to_string()).unwrap_or_default(),
        }
    }

    /// `NetworkSettings.Ports`: every exposed port (`null` when not published) and the
    /// bindings of the published ones.
    pub fn port_map(&self) -> api_types::PortMap {
        let mut map = api_types::PortMap::new();
        for (port, proto) in &self.exposed {
            map.insert(format!("{port}/{proto}"), None);
        }
        for p in &self.ports {
            map.entry(format!("{}/{}", p.container_port, p.proto))
                .or_insert(None)
                .get_or_insert_with(Vec::new)
                .push(PortBinding {
                    host_ip: p.host_ip.to_string(),
                    host_port: p.host_port.to_string(),
                });
        }
        map
    }
}

/// The network stack of one running container.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SandboxState {
    /// The container.
    pub container_id: String,
    /// Its name (without `/`), for network inspect and DNS.
    pub container_name: String,
    /// 64 hex digits, new at every start.
    pub sandbox_id: String,
    /// The pinned network namespace (empty for `--network host`).
    pub netns: PathBuf,
    /// Its endpoints, in connection order.
    pub endpoints: Vec<EndpointState>,
    /// Served by the embedded DNS server.
    #[serde(default)]
    pub dns: bool,
    /// The DNS server's upstreams for it.
    #[serde(default)]
    pub dns_upstreams: Vec<std::net::SocketAddr>,
}

impl SandboxState {
    /// Its endpoint on a network.
    pub fn endpoint(&self, network_id: &str) -> Option<&EndpointState> {
        self.endpoints.iter().find(|e| e.network_id == network_id)
    }

    /// The endpoint its ports are published on: the one giving the default route.
    pub fn gateway_endpoint(&self) -> Option<&EndpointState> {
        self.endpoints.iter().find(|e| e.default_route)
    }
}
