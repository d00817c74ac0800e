//! Network bodies (moby `api/types/network`, API 1.47): create, inspect/list, connect,
//! disconnect, prune, and the endpoint settings a container carries per network
//! (`NetworkSettings.Networks.*`, `NetworkingConfig.EndpointsConfig.*`).
//!
//! JSON follows dockerd's Go structs: fields without `omitempty` are always written (a nil
//! map or slice as `null`, hence `Option` where dockerd can send `null`), fields with it are
//! skipped when empty. Request types keep unmodelled fields in `extra` so the engine can
//! refuse them by name.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::container::Extra;
pub use crate::container::PortBinding;
use crate::serde_util::null_default;

/// `HostConfig.PortBindings` / `NetworkSettings.Ports`: `"80/tcp"` → bindings (`null` for
/// an exposed port that is not published).
pub type PortMap = BTreeMap<String, Option<Vec<PortBinding>>>;

/// Body of `POST /networks/create`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkCreateRequest {
    /// The network's name.
    #[serde(default, deserialize_with = "null_default")]
    pub name: String,
    /// Deprecated since 1.44 (always checked); kept when sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_duplicate: Option<bool>,
    /// `bridge` when empty.
    #[serde(default, deserialize_with = "null_default")]
    pub driver: String,
    /// `local` (or empty); `swarm`/`global` are refused by the engine.
    #[serde(default, deserialize_with = "null_default")]
    pub scope: String,
    /// `--ipv4` (1.47); `None` = default (on).
    #[serde(
        rename = "EnableIPv4",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub enable_ipv4: Option<bool>,
    /// `--ipv6`; `None` = default (off).
    #[serde(
        rename = "EnableIPv6",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub enable_ipv6: Option<bool>,
    /// `--subnet --gateway --ip-range --aux-address --ipam-driver --ipam-opt`.
    #[serde(rename = "IPAM", default)]
    pub ipam: Option<Ipam>,
    /// `--internal`.
    #[serde(default, deserialize_with = "null_default")]
    pub internal: bool,
    /// `--attachable` (swarm).
    #[serde(default, deserialize_with = "null_default")]
    pub attachable: bool,
    /// `--ingress` (swarm).
    #[serde(default, deserialize_with = "null_default")]
    pub ingress: bool,
    /// `--config-only`.
    #[serde(default, deserialize_with = "null_default")]
    pub config_only: bool,
    /// `--config-from`.
    #[serde(default)]
    pub config_from: Option<ConfigReference>,
    /// `--opt` driver options.
    #[serde(default)]
    pub options: Option<BTreeMap<String, String>>,
    /// `--label`.
    #[serde(default)]
    pub labels: Option<BTreeMap<String, String>>,
    /// Fields this type does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Response of `POST /networks/create`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct NetworkCreateResponse {
    /// The new network's id.
    #[serde(rename = "Id")]
    pub id: String,
    /// A warning, `""` when none.
    #[serde(rename = "Warning", default, deserialize_with = "null_default")]
    pub warning: String,
}

/// `IPAM` of a network.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct Ipam {
    /// `default` when empty.
    #[serde(default, deserialize_with = "null_default")]
    pub driver: String,
    /// IPAM driver options (`null` on the default bridge, as dockerd shows it).
    #[serde(default)]
    pub options: Option<BTreeMap<String, String>>,
    /// One entry per subnet.
    #[serde(default)]
    pub config: Option<Vec<IpamConfig>>,
}

/// One subnet of `IPAM.Config`; every field omitted when empty.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct IpamConfig {
    /// `172.18.0.0/16`.
    #[serde(
        rename = "Subnet",
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub subnet: String,
    /// `172.18.5.0/24`.
    #[serde(
        rename = "IPRange",
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub ip_range: String,
    /// `172.18.0.1`.
    #[serde(
        rename = "Gateway",
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub gateway: String,
    /// `--aux-address name=ip`.
    #[serde(
        rename = "AuxiliaryAddresses",
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "null_default"
    )]
    pub aux_addresses: BTreeMap<String, String>,
}

/// `ConfigFrom`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct ConfigReference {
    /// The config-only network this one takes its configuration from.
    #[serde(default, deserialize_with = "null_default")]
    pub network: String,
}

/// A peer of an overlay network (never produced by berth; parsed for completeness).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct PeerInfo {
    /// Peer name.
    #[serde(rename = "Name", default, deserialize_with = "null_default")]
    pub name: String,
    /// Peer address.
    #[serde(rename = "IP", default, deserialize_with = "null_default")]
    pub ip: String,
}

/// One container on a network, in network inspect.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct EndpointResource {
    /// The container's name, without the leading `/`.
    #[serde(rename = "Name", default, deserialize_with = "null_default")]
    pub name: String,
    /// Endpoint id.
    #[serde(rename = "EndpointID", default, deserialize_with = "null_default")]
    pub endpoint_id: String,
    /// `02:42:ac:12:00:02`, `""` when none.
    #[serde(rename = "MacAddress", default, deserialize_with = "null_default")]
    pub mac_address: String,
    /// With prefix: `172.18.0.2/16`; `""` when none.
    #[serde(rename = "IPv4Address", default, deserialize_with = "null_default")]
    pub ipv4_address: String,
    /// With prefix; `""` when none.
    #[serde(rename = "IPv6Address", default, deserialize_with = "null_default")]
    pub ipv6_address: String,
}

/// A network as `GET /networks/{id}` and `GET /networks` show it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Network {
    /// Name.
    pub name: String,
    /// Id (64 hex).
    #[serde(rename = "Id")]
    pub id: String,
    /// RFC 3339 with nanoseconds.
    pub created: String,
    /// `local`.
    pub scope: String,
    /// `bridge`, `host`, `null`.
    pub driver: String,
    /// IPv4 on.
    #[serde(rename = "EnableIPv4")]
    pub enable_ipv4: bool,
    /// IPv6 on.
    #[serde(rename = "EnableIPv6")]
    pub enable_ipv6: bool,
    /// Address management.
    #[serde(rename = "IPAM")]
    pub ipam: Ipam,
    /// `--internal`.
    pub internal: bool,
    /// `--attachable`.
    pub attachable: bool,
    /// `--ingress`.
    pub ingress: bool,
    /// `--config-from`.
    pub config_from: ConfigReference,
    /// `--config-only`.
    pub config_only: bool,
    /// Container id → endpoint (`{}` in lists and for an unused network).
    #[serde(default, deserialize_with = "null_default")]
    pub containers: BTreeMap<String, EndpointResource>,
    /// Driver options.
    #[serde(default, deserialize_with = "null_default")]
    pub options: BTreeMap<String, String>,
    /// Labels.
    #[serde(default, deserialize_with = "null_default")]
    pub labels: BTreeMap<String, String>,
    /// Overlay peers; omitted when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peers: Option<Vec<PeerInfo>>,
    /// Swarm services (verbose inspect); omitted when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub services: Option<BTreeMap<String, Value>>,
}

/// `IPAMConfig` of an endpoint: the static addresses asked for; all omitted when empty.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct EndpointIpamConfig {
    /// `--ip`.
    #[serde(
        rename = "IPv4Address",
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub ipv4_address: String,
    /// `--ip6`.
    #[serde(
        rename = "IPv6Address",
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub ipv6_address: String,
    /// `--link-local-ip`.
    #[serde(
        rename = "LinkLocalIPs",
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_default"
    )]
    pub link_local_ips: Vec<String>,
}

/// A container's settings on one network: what the client asks (`IPAMConfig`, `Links`,
/// `Aliases`, `MacAddress`, `DriverOpts`) and what the daemon reports (the rest). Every
/// field is always written (no `omitempty` in dockerd).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct EndpointSettings {
    /// Static addresses.
    #[serde(rename = "IPAMConfig", default)]
    pub ipam_config: Option<EndpointIpamConfig>,
    /// Legacy links, `container:alias`.
    #[serde(rename = "Links", default)]
    pub links: Option<Vec<String>>,
    /// `--network-alias`.
    #[serde(rename = "Aliases", default)]
    pub aliases: Option<Vec<String>>,
    /// `--mac-address` (1.44+ per endpoint); the MAC in inspect.
    #[serde(rename = "MacAddress", default, deserialize_with = "null_default")]
    pub mac_address: String,
    /// Driver options of the endpoint.
    #[serde(rename = "DriverOpts", default)]
    pub driver_opts: Option<BTreeMap<String, String>>,
    /// Gateway choice priority (API 1.48); not written unless set.
    #[serde(
        rename = "GwPriority",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub gw_priority: Option<i64>,
    /// The network's id.
    #[serde(rename = "NetworkID", default, deserialize_with = "null_default")]
    pub network_id: String,
    /// The endpoint's id.
    #[serde(rename = "EndpointID", default, deserialize_with = "null_default")]
    pub endpoint_id: String,
    /// IPv4 gateway, `""` when none.
    #[serde(rename = "Gateway", default, deserialize_with = "null_default")]
    pub gateway: String,
    /// IPv4 address, without prefix.
    #[serde(rename = "IPAddress", default, deserialize_with = "null_default")]
    pub ip_address: String,
    /// IPv4 prefix length.
    #[serde(rename = "IPPrefixLen", default, deserialize_with = "null_default")]
    pub ip_prefix_len: i64,
    /// IPv6 gateway.
    #[serde(rename = "IPv6Gateway", default, deserialize_with = "null_default")]
    pub ipv6_gateway: String,
    /// IPv6 address, without prefix.
    #[serde(
        rename = "GlobalIPv6Address",
        default,
        deserialize_with = "null_default"
    )]
    pub global_ipv6_address: String,
    /// IPv6 prefix length.
    #[serde(
        rename = "GlobalIPv6PrefixLen",
        default,
        deserialize_with = "null_default"
    )]
    pub global_ipv6_prefix_len: i64,
    /// Every name the endpoint answers to on the network's DNS: container name, aliases,
    /// short id, host name.
    #[serde(rename = "DNSNames", default)]
    pub dns_names: Option<Vec<String>>,
    /// Fields this type does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `NetworkingConfig` of a container create request, typed.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct NetworkingConfig {
    /// Network name or id → settings (a value may be `null`).
    #[serde(rename = "EndpointsConfig", default)]
    pub endpoints_config: Option<BTreeMap<String, Option<EndpointSettings>>>,
}

/// Body of `POST /networks/{id}/connect`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct NetworkConnectRequest {
    /// Container id or name.
    #[serde(rename = "Container", default, deserialize_with = "null_default")]
    pub container: String,
    /// Settings on the network; omitted when none.
    #[serde(
        rename = "EndpointConfig",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub endpoint_config: Option<EndpointSettings>,
}

/// Body of `POST /networks/{id}/disconnect`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct NetworkDisconnectRequest {
    /// Container id or name.
    #[serde(rename = "Container", default, deserialize_with = "null_default")]
    pub container: String,
    /// Disconnect even if the container is gone.
    #[serde(rename = "Force", default, deserialize_with = "null_default")]
    pub force: bool,
}

/// Response of `POST /networks/prune`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct NetworkPruneResponse {
    /// Names of the removed networks; `null` when none, as dockerd writes a nil slice.
    #[serde(rename = "NetworksDeleted", default)]
    pub networks_deleted: Option<Vec<String>>,
}

#[cfg(test)]
mod tests;
