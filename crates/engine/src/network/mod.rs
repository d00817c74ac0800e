//! `NetworkService`: the daemon's networks and the network stacks of its running
//! containers, over the `network` crate's mechanisms (IPAM, the bridge driver, berth's own
//! nftables table, the port publisher, the embedded DNS server, the hosts/resolv generators).
//!
//! Vocabulary: a **network** ([`NetworkRecord`]) is `bridge`, `host`, `none` (predefined) or
//! user-defined; an **attachment** ([`Attachment`]) is what a container asked for on one
//! network, kept in its record whether it runs or not; a **sandbox** ([`SandboxState`]) is
//! a running container's network stack, with one **endpoint** per attachment (a veth pair,
//! addresses, published ports). Sandboxes exist from start to stop only.
//!
//! The container service calls in at create ([`NetworkService::plan`]: validation only,
//! nothing allocated), start ([`NetworkService::attach`]), stop ([`NetworkService::detach`]),
//! connect/disconnect, restore, and to show `NetworkSettings`. This service never calls the
//! container service: what it must know of other containers (links) is handed in.
//!
//! Modules: `record` (persisted and on-exec-root state, API shapes), `manage` (network
//! create, remove, prune, list), `plan` (create-time checks of a container's networking),
//! `sandbox` (attach at start, detach at stop), `live` (connect, disconnect, rename of a
//! running container), `hostfiles` (hosts and resolv.conf),
//! `view` (`NetworkSettings`, ps ports), `restore` (start-up reconciliation), `error`.

mod error;
mod hostfiles;
mod live;
mod manage;
mod plan;
mod record;
mod restore;
mod sandbox;
mod view;

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use network::driver::{
    BridgeDriver, EndpointInfo, EndpointSpec, HostDriver, NetworkDriver, NullDriver,
};
use network::firewall::{Firewall, FirewallConfig};
use network::ipam::{Ipam, PoolSpec};
use network::ports::{PortAllocator, PortPublisher};

pub use error::NetError;
pub use hostfiles::{write_initial_files, InitialFiles};
pub(crate) use plan::dns_names;
pub use plan::{container_mode, ContainerNet, LinkTarget, Plan, UserConfig};
pub use record::{Attachment, EndpointState, NetworkRecord, SandboxState};
pub use sandbox::AttachRequest;

use crate::events::EventBus;

/// Result of the network service.
pub type Result<T, E = NetError> = std::result::Result<T, E>;

/// The daemon's networking settings (`berthd` flags and `daemon.json` keys, as dockerd's).
#[derive(Debug, Clone)]
pub struct NetworkConfig {
    /// `--bridge/-b`: the default bridge's interface; `None` (`--bridge=none`) = no default
    /// bridge (containers without a network get only `lo`).
    pub bridge: Option<String>,
    /// `--bridge` was given: inspect then shows it as `NetworkSettings.Bridge`.
    pub bridge_flag: bool,
    /// `--bip`: the default bridge's address and prefix.
    pub bip: String,
    /// `--fixed-cidr`: where default bridge containers get addresses.
    pub fixed_cidr: String,
    /// `--default-address-pool` (empty = dockerd's defaults).
    pub default_address_pools: Vec<PoolSpec>,
    /// `--iptables`: program berth's nftables table.
    pub iptables: bool,
    /// `--ip-forward`: turn `net.ipv4.ip_forward` on at start.
    pub ip_forward: bool,
    /// `--userland-proxy`: serve loopback (and hairpin) connections from the daemon.
    pub userland_proxy: bool,
    /// `--nft-table`: berth's table (`table inet <name>`).
    pub nft_table: String,
    /// `--mtu`: the default bridge's MTU and the default of new networks.
    pub mtu: u32,
    /// `--dns`, `--dns-search`, `--dns-opt`: defaults for containers that set none.
    pub dns: Vec<String>,
    pub dns_search: Vec<String>,
    pub dns_options: Vec<String>,
    /// `--host-gateway-ip`: what `--add-host x:host-gateway` resolves to (default: the
    /// default bridge's gateway).
    pub host_gateway_ip: Option<IpAddr>,
    /// The resolv.conf containers' files and the DNS server's upstreams come from
    /// (`/etc/resolv.conf`; tests point it at a fake resolver's file).
    pub resolv_conf: PathBuf,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            bridge: Some("berth0".into()),
            bridge_flag: false,
            bip: String::new(),
            fixed_cidr: String::new(),
            default_address_pools: Vec::new(),
            iptables: true,
            ip_forward: true,
            userland_proxy: true,
            nft_table: "berth".into(),
            mtu: 1500,
            dns: Vec::new(),
            dns_search: Vec::new(),
            dns_options: Vec::new(),
            host_gateway_ip: None,
            resolv_conf: PathBuf::from("/etc/resolv.conf"),
        }
    }
}

/// Networks, IPAM and sandboxes, read by inspect and list without waiting for a change in
/// progress.
struct State {
    networks: BTreeMap<String, NetworkRecord>,
    ipam: Ipam,
    sandboxes: HashMap<String, SandboxState>,
}

/// The network service.
pub struct NetworkService {
    cfg: NetworkConfig,
    store: Arc<store::Store>,
    events: EventBus,
    /// `<exec-root>/network`: one `SandboxState` file per running container.
    state_dir: PathBuf,
    firewall: Arc<Firewall>,
    publisher: PortPublisher,
    bridge: BridgeDriver,
    dns: network::dns::DnsServer,
    /// Serialises changes (network create/remove, attach, detach …); held across awaits.
    op: tokio::sync::Mutex<()>,
    state: RwLock<State>,
}

impl NetworkService {
    fn read<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        f(&self.state.read().unwrap_or_else(|e| e.into_inner()))
    }

    fn write<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.write().unwrap_or_else(|e| e.into_inner()))
    }

    /// The daemon's networking settings.
    pub fn config(&self) -> &NetworkConfig {
        &self.cfg
    }

    /// Finds a network as dockerd does: full id, then name, then unique id prefix.
    pub fn find(&self, term: &str) -> Result<NetworkRecord> {
        self.read(|s| find_in(&s.networks, term).cloned())
    }

    /// The network of the default bridge, if the daemon has one.
    pub fn default_bridge(&self) -> Option<NetworkRecord> {
        self.read(|s| {
            s.networks
                .values()
                .find(|n| n.predefined && n.name == "bridge")
                .cloned()
        })
    }

    /// What `--add-host x:host-gateway` resolves to.
    pub fn host_gateway(&self) -> Vec<IpAddr> {
        if let Some(ip) = self.cfg.host_gateway_ip {
            return vec![ip];
        }
        self.default_bridge()
            .into_iter()
            .flat_map(|n| n.subnets.into_iter().map(|s| s.gateway))
            .filter(IpAddr::is_ipv4)
            .collect()
    }

    /// The ids of the containers with a sandbox (running, as far as networking knows).
    pub fn sandboxes(&self) -> Vec<String> {
        self.read(|s| s.sandboxes.keys().cloned().collect())
    }

    fn event(&self, action: &str, net: &NetworkRecord, container: Option<&str>) {
        let mut attrs = BTreeMap::new();
        attrs.insert("name".to_string(), net.name.clone());
        attrs.insert("type".to_string(), net.driver.clone());
        if let Some(c) = container {
            attrs.insert("container".to_string(), c.to_string());
        }
        self.events.publish("network", action, &net.id, attrs);
    }

    async fn connect_driver(&self, net: &NetworkRecord, ep: &EndpointSpec) -> Result<EndpointInfo> {
        Ok(match net.driver.as_str() {
            "bridge" => self.bridge.connect(&net.spec(), ep).await?,
            "host" => HostDriver.connect(&net.spec(), ep).await?,
            _ => NullDriver.connect(&net.spec(), ep).await?,
        })
    }

    async fn disconnect_driver(&self, net: &NetworkRecord, ep: &EndpointSpec, release: bool) {
        if net.driver != "bridge" {
            return;
        }
        let res = if release {
            self.bridge.release(&net.spec(), ep).await
        } else {
            self.bridge.disconnect(&net.spec(), ep).await
        };
        if let Err(e) = res {
            tracing::warn!(network = %net.name, endpoint = %ep.id, error = %e, "disconnecting an endpoint");
        }
    }

    /// Shuts the service down: the DNS server and the userland proxies stop; the nftables
    /// table goes only when no container runs any more (running containers keep their
    /// kernel-published ports across a daemon restart).
    pub async fn shutdown(&self) {
        self.dns.shutdown().await;
        // The proxies and held ports close with the process; their rules stay for the
        // containers that keep running.
        if self.read(|s| s.sandboxes.is_empty()) {
            if let Err(e) = self.firewall.teardown().await {
                tracing::warn!(error = %e, "removing the nftables table");
            }
        }
    }
}

/// dockerd's `FindNetwork`: full id, then exact name, then unique id prefix.
fn find_in<'a>(
    networks: &'a BTreeMap<String, NetworkRecord>,
    term: &str,
) -> Result<&'a NetworkRecord> {
    if let Some(n) = networks.get(term) {
        return Ok(n);
    }
    if let Some(n) = networks.values().find(|n| n.name == term) {
        return Ok(n);
    }
    let by_prefix: Vec<&NetworkRecord> = if term.is_empty() {
        Vec::new()
    } else {
        networks
            .values()
            .filter(|n| n.id.starts_with(term))
            .collect()
    };
    match by_prefix.as_slice() {
        [one] => Ok(one),
        [] => Err(NetError::NoSuchNetwork(term.to_string())),
        many => Err(NetError::Ambiguous {
            term: term.to_string(),
            count: many.len(),
            how: "based on ID prefix",
        }),
    }
}

/// A new random 64-hex id (networks, endpoints, sandboxes).
pub(crate) fn new_id() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Creates the firewall, publisher and drivers from the configuration.
fn mechanisms(cfg: &NetworkConfig) -> Result<(Arc<Firewall>, PortPublisher, BridgeDriver)> {
    let mut fw_cfg = FirewallConfig::new(&cfg.nft_table)?;
    fw_cfg.enabled = cfg.iptables;
    let firewall = Arc::new(Firewall::new(fw_cfg));
    let alloc = PortAllocator::new(network::ports::ephemeral_range());
    let publisher = PortPublisher::new(alloc, firewall.clone(), cfg.userland_proxy);
    let bridge = BridgeDriver::new(firewall.clone(), !cfg.userland_proxy)?;
    Ok((firewall, publisher, bridge))
}
