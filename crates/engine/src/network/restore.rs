//! Start-up: networks from the database, the predefined ones made or brought up to date with
//! the flags, sandboxes of the containers that ran from their state files (their addresses
//! reserved again), and the nftables table replaced in one transaction by what those imply
//! — stale rules vanish, live containers' published ports never lapse. The container
//! service then reattaches live containers ([`NetworkService::reattach`]) and lets go of
//! the others ([`NetworkService::detach`], [`NetworkService::forget_others`]).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, RwLock};

use network::driver::NetworkDriver;
use network::firewall::{BridgeRules, RuleSet};
use network::ipam::{
    default_bridge_request, default_pools, derive_ula_pool, Ipam, IpamState, NetworkIpam,
    NetworkRequest,
};
use network::ports::PublishTarget;

use super::plan::ContainerNet;
use super::record::{NetworkRecord, SandboxState, TABLE};
use super::{mechanisms, new_id, NetError, NetworkConfig, NetworkService, Result, State};
use crate::clock;
use crate::events::EventBus;

fn predefined(id: String, name: &str, driver: &str) -> NetworkRecord {
    NetworkRecord {
        id,
        name: name.into(),
        driver: driver.into(),
        created: clock::now_nanos(),
        internal: false,
        enable_ipv4: true,
        enable_ipv6: false,
        attachable: false,
        options: BTreeMap::new(),
        labels: BTreeMap::new(),
        ipam_options: None,
        subnets: Vec::new(),
        bridge: String::new(),
        mtu: 1500,
        masquerade: false,
        host_binding_ipv4: None,
        predefined: true,
    }
}

fn load_sandboxes(dir: &Path) -> Vec<SandboxState> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.extension().and_then(|x| x.to_str()) != Some("json") {
            let _ = std::fs::remove_file(&p);
            continue;
        }
        match std::fs::read(&p).map(|b| serde_json::from_slice::<SandboxState>(&b)) {
            Ok(Ok(sb)) => out.push(sb),
            _ => {
                tracing::warn!(path = %p.display(), "unreadable sandbox state; dropped");
                let _ = std::fs::remove_file(&p);
            }
        }
    }
    out
}

impl NetworkService {
    /// Opens the service: see the module docs. `host_id` seeds the IPv6 ULA pool.
    pub async fn open(
        cfg: NetworkConfig,
        store: Arc<store::Store>,
        events: EventBus,
        exec_root: &Path,
        host_id: &str,
    ) -> Result<Arc<NetworkService>> {
        let state_dir = exec_root.join("network");
        std::fs::create_dir_all(&state_dir).map_err(|e| NetError::file(&state_dir, e))?;
        let (firewall, publisher, bridge) = mechanisms(&cfg)?;
        let st = store.clone();
        let records: Vec<(String, NetworkRecord)> =
            tokio::task::spawn_blocking(move || st.db().read(|tx| tx.list(TABLE)))
                .await
                .map_err(|_| NetError::Task("load networks"))??;
        let mut pools = if cfg.default_address_pools.is_empty() {
            default_pools()
        } else {
            cfg.default_address_pools.clone()
        };
        if !pools.iter().any(|p| p.is_ipv6()) {
            pools.push(derive_ula_pool(host_id));
        }
        let networks: BTreeMap<String, NetworkRecord> = records.into_iter().collect();
        let mut ipam_state = IpamState::default();
        for n in networks.values() {
            let mut subnets = n.subnets.clone();
            subnets.iter_mut().for_each(|s| s.allocated.clear());
            ipam_state.networks.insert(
                n.id.clone(),
                NetworkIpam {
                    name: n.name.clone(),
                    subnets,
                },
            );
        }
        let svc = Arc::new(NetworkService {
            cfg,
            store,
            events,
            state_dir,
            firewall,
            publisher,
            bridge,
            dns: network::dns::DnsServer::new(),
            op: tokio::sync::Mutex::new(()),
            state: RwLock::new(State {
                networks,
                ipam: Ipam::new(pools, ipam_state),
                sandboxes: HashMap::new(),
            }),
        });
        svc.ensure_predefined().await?;
        svc.load_sandboxes();
        if svc.cfg.ip_forward {
            network::sysctl::enable_ipv4_forwarding()?;
            if svc.read(|s| s.networks.values().any(|n| n.enable_ipv6)) {
                network::sysctl::enable_ipv6_forwarding()?;
            }
        }
        svc.firewall.restore(svc.rule_set()).await?;
        svc.make_bridges().await?;
        Ok(svc)
    }

    /// `host`, `none` and (unless `--bridge=none`) `bridge`, as the flags say.
    async fn ensure_predefined(&self) -> Result<()> {
        let existing = |name: &str| {
            self.read(|s| {
                s.networks
                    .values()
                    .find(|n| n.predefined && n.name == name)
                    .cloned()
            })
        };
        for (name, driver) in [("host", "host"), ("none", "null")] {
            if existing(name).is_none() {
                let rec = predefined(new_id(), name, driver);
                self.persist(&rec).await?;
                self.write(|s| s.networks.insert(rec.id.clone(), rec));
            }
        }
        let old = existing("bridge");
        let Some(iface) = self.cfg.bridge.clone() else {
            if let Some(old) = old {
                let _ = self.bridge.delete(&old.spec()).await;
                self.write(|s| {
                    s.networks.remove(&old.id);
                    s.ipam.remove_network(&old.id);
                });
            }
            return Ok(());
        };
        let req = default_bridge_request(&self.cfg.bip, &self.cfg.fixed_cidr)?;
        let mut rec = old
            .clone()
            .unwrap_or_else(|| predefined(new_id(), "bridge", "bridge"));
        let same = old.as_ref().is_some_and(|o| {
            let s = o.subnets.first();
            o.bridge == iface
                && req.subnet.is_none_or(|n| s.is_some_and(|s| s.subnet == n))
                && req
                    .gateway
                    .is_none_or(|g| s.is_some_and(|s| s.gateway == g))
                && req.ip_range == s.and_then(|s| s.ip_range)
        });
        if !same {
            if let Some(o) = &old {
                let _ = self.bridge.delete(&o.spec()).await;
            }
            let avoid = self.bridge.netlink().host_prefixes().await?;
            let subnets = self.write(|s| {
                s.ipam.remove_network(&rec.id);
                s.ipam
                    .add_network(
                        &NetworkRequest {
                            id: rec.id.clone(),
                            name: "bridge".into(),
                            ipv4: true,
                            ipv6: false,
                            subnets: if req.subnet.is_some() {
                                vec![req]
                            } else {
                                vec![]
                            },
                        },
                        &avoid,
                    )
                    .map(|n| n.subnets.clone())
            })?;
            rec.subnets = subnets;
        }
        rec.bridge = iface.clone();
        rec.mtu = self.cfg.mtu;
        rec.masquerade = true;
        rec.host_binding_ipv4 = Some(IpAddr::from([0, 0, 0, 0]));
        rec.options = BTreeMap::from([
            (
                "com.docker.network.bridge.default_bridge".into(),
                "true".into(),
            ),
            ("com.docker.network.bridge.enable_icc".into(), "true".into()),
            (
                "com.docker.network.bridge.enable_ip_masquerade".into(),
                "true".into(),
            ),
            (
                "com.docker.network.bridge.host_binding_ipv4".into(),
                "0.0.0.0".into(),
            ),
            ("com.docker.network.bridge.name".into(), iface),
            (
                "com.docker.network.driver.mtu".into(),
                self.cfg.mtu.to_string(),
            ),
        ]);
        if old.as_ref() != Some(&rec) {
            self.persist(&rec).await?;
        }
        self.write(|s| s.networks.insert(rec.id.clone(), rec));
        Ok(())
    }

    /// Reads the sandboxes of containers that ran and reserves their addresses.
    fn load_sandboxes(&self) {
        for sb in load_sandboxes(&self.state_dir) {
            self.write(|s| {
                for ep in &sb.endpoints {
                    for a in &ep.addresses {
                        if let Err(e) = s.ipam.reserve(&ep.network_id, a.addr()) {
                            tracing::warn!(container_id = %sb.container_id, address = %a, error = %e, "reserving a restored address");
                        }
                    }
                }
                s.sandboxes.insert(sb.container_id.clone(), sb);
            });
        }
    }

    /// The table implied by the records: every bridge network, every restored port.
    fn rule_set(&self) -> RuleSet {
        self.read(|s| {
            let mut set = RuleSet::default();
            for n in s.networks.values().filter(|n| n.driver == "bridge") {
                set.networks.insert(
                    n.id.clone(),
                    BridgeRules {
                        bridge: n.bridge.clone(),
                        subnets: n.subnets.iter().map(|s| s.subnet).collect(),
                        internal: n.internal,
                        masquerade: n.masquerade,
                    },
                );
            }
            for sb in s.sandboxes.values() {
                let Some(ep) = sb.gateway_endpoint().filter(|e| !e.ports.is_empty()) else {
                    continue;
                };
                let Some(net) = s.networks.get(&ep.network_id) else {
                    continue;
                };
                let rules = self
                    .publisher
                    .dnat_rules(&target(ep, &net.bridge), &ep.ports);
                set.ports.insert(ep.id.clone(), rules);
            }
            set
        })
    }

    /// Makes (or finds) every bridge; DNS knows every user-defined network.
    async fn make_bridges(&self) -> Result<()> {
        let nets: Vec<NetworkRecord> = self.read(|s| s.networks.values().cloned().collect());
        for n in nets {
            if n.has_dns() {
                self.dns.update(|r| r.add_network(&n.id, &n.name));
            }
            if n.driver != "bridge" {
                continue;
            }
            match self.bridge.create(&n.spec()).await {
                Ok(()) => {}
                Err(e) if n.predefined => return Err(e.into()),
                Err(e) => tracing::warn!(network = %n.name, error = %e, "bringing up a network"),
            }
        }
        Ok(())
    }

    /// A live-restored container: DNS served again, published ports held and proxied again
    /// (their kernel rules were never removed).
    pub async fn reattach(&self, c: &ContainerNet<'_>) -> Result<()> {
        let _op = self.op.lock().await;
        let Some(sb) = self.read(|s| s.sandboxes.get(c.id).cloned()) else {
            return Ok(());
        };
        self.register_dns(c, &sb);
        if sb.dns {
            self.dns
                .attach(network::dns::ContainerDns {
                    container_id: c.id.to_string(),
                    netns: sb.netns.clone(),
                    upstreams: sb.dns_upstreams.clone(),
                    forward: sb.endpoints.iter().any(|e| {
                        self.read(|s| {
                            s.networks
                                .get(&e.network_id)
                                .is_some_and(|n| n.has_dns() && !n.internal)
                        })
                    }),
                    listen: network::dns::server::LISTEN,
                })
                .await?;
        }
        if let Some(ep) = sb.gateway_endpoint().filter(|e| !e.ports.is_empty()) {
            let bridge = self.network_of_id(&ep.network_id)?.bridge;
            let reqs: Vec<_> = ep.ports.iter().map(|p| p.to_request()).collect();
            self.publisher
                .publish(&target(ep, &bridge), &reqs)
                .await
                .map_err(|source| NetError::Ports {
                    endpoint: c.name.to_string(),
                    id: ep.id.clone(),
                    source,
                })?;
        }
        Ok(())
    }

    /// Drops the sandboxes of containers not in `live` (they did not survive the restart).
    pub async fn forget_others(&self, live: &HashSet<String>) {
        for id in self.sandboxes() {
            if !live.contains(&id) {
                self.detach(&id).await;
            }
        }
    }
}

/// The publisher's view of an endpoint.
pub(super) fn target(ep: &super::EndpointState, bridge: &str) -> PublishTarget {
    let (mut ipv4, mut ipv6) = (None, None);
    for a in &ep.addresses {
        match a.addr() {
            IpAddr::V4(v) if ipv4.is_none() => ipv4 = Some(v),
            IpAddr::V6(v) if ipv6.is_none() => ipv6 = Some(v),
            _ => {}
        }
    }
    PublishTarget {
        endpoint_id: ep.id.clone(),
        bridge: bridge.to_string(),
        ipv4,
        ipv6,
    }
}
