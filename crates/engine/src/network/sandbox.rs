//! A running container's network stack: [`NetworkService::attach`] at start (an endpoint per
//! attachment — addresses from the IPAM, the driver's veth — then published ports, the DNS
//! server, hosts and resolv.conf), [`NetworkService::detach`] at stop, and
//! connect/disconnect while it runs. Each step that fails undoes what the call did before it.

use std::net::IpAddr;
use std::path::Path;

use ipnet::IpNet;
use network::dns::{ContainerDns, EndpointRecord};
use network::driver::EndpointSpec;
use network::files::hosts::HostsEntry;
use network::files::links::{self, ExposedPort};
use network::ports::PublishRequest;

use super::hostfiles::{self, HostsInput, ResolvKind};
use super::plan::{parse_port_key, publish_requests, ContainerNet, LinkTarget};
use super::record::{Attachment, EndpointState, NetworkRecord, SandboxState};
use super::{new_id, NetError, NetworkService, Result};

/// A start's request.
pub struct AttachRequest<'a> {
    /// The container.
    pub container: ContainerNet<'a>,
    /// Its own network namespace (`None` for `--network host`).
    pub netns: Option<&'a Path>,
    /// Its directory (hosts and resolv.conf are written there).
    pub dir: &'a Path,
    /// Its legacy links, resolved.
    pub links: &'a [LinkTarget],
}

fn has_family(net: &NetworkRecord, v6: bool) -> bool {
    net.subnets
        .iter()
        .any(|s| matches!(s.subnet, IpNet::V6(_)) == v6)
}

pub(super) fn dns_record(
    c: &ContainerNet<'_>,
    a: &Attachment,
    ep: &EndpointState,
) -> EndpointRecord {
    let links = a
        .links
        .iter()
        .map(|l| match l.split_once(':') {
            Some((target, alias)) => (
                alias.to_string(),
                target.trim_start_matches('/').to_string(),
            ),
            None => (l.clone(), l.trim_start_matches('/').to_string()),
        })
        .collect();
    let v4 = ep.addr(false).and_then(|a| match a.addr() {
        IpAddr::V4(v) => Some(v),
        IpAddr::V6(_) => None,
    });
    let v6 = ep.addr(true).and_then(|a| match a.addr() {
        IpAddr::V6(v) => Some(v),
        IpAddr::V4(_) => None,
    });
    EndpointRecord {
        container_id: c.id.to_string(),
        names: a.dns_names.clone(),
        links,
        ipv4: v4,
        ipv6: v6,
    }
}

impl NetworkService {
    pub(super) fn network_of(&self, a: &Attachment) -> Result<NetworkRecord> {
        self.read(|s| {
            s.networks
                .get(&a.network_id)
                .or_else(|| s.networks.values().find(|n| n.name == a.network))
                .cloned()
                .ok_or_else(|| NetError::NoSuchNetwork(a.network.clone()))
        })
    }

    /// Connects one endpoint: addresses, then the driver. Undoes the addresses on failure.
    pub(super) async fn new_endpoint(
        &self,
        c: &ContainerNet<'_>,
        net: &NetworkRecord,
        a: &Attachment,
        ifname: &str,
        default_route: bool,
        netns: &Path,
    ) -> Result<EndpointState> {
        let (want4, want6) = a.static_addresses();
        let mut addresses = Vec::new();
        if net.driver == "bridge" {
            addresses = self.write(|s| -> Result<Vec<IpNet>> {
                let mut out = Vec::new();
                for (v6, want, on) in [
                    (false, want4, net.enable_ipv4),
                    (true, want6, net.enable_ipv6),
                ] {
                    if !on || !has_family(net, v6) {
                        continue;
                    }
                    match s.ipam.allocate(&net.id, v6, want) {
                        Ok(a) => out.push(a),
                        Err(e) => {
                            for a in &out {
                                s.ipam.release(&net.id, a.addr());
                            }
                            return Err(e.into());
                        }
                    }
                }
                Ok(out)
            })?;
        }
        let spec = EndpointSpec {
            id: new_id(),
            netns: netns.to_path_buf(),
            ifname: ifname.to_string(),
            addresses: addresses.clone(),
            mac: network::link::parse_mac(&a.mac),
            default_route: default_route && net.driver == "bridge",
        };
        let info = match self.connect_driver(net, &spec).await {
            Ok(info) => info,
            Err(e) => {
                self.release_addresses(&net.id, &addresses);
                return Err(e);
            }
        };
        tracing::debug!(container_id = %c.id, network = %net.name, endpoint = %spec.id, "endpoint connected");
        Ok(EndpointState {
            id: spec.id,
            network_id: net.id.clone(),
            network: net.name.clone(),
            ifname: if net.driver == "bridge" {
                ifname.to_string()
            } else {
                String::new()
            },
            addresses,
            mac: info
                .mac
                .map(|m| network::link::format_mac(&m))
                .unwrap_or_default(),
            gateways: info.gateways,
            network_gateways: net.subnets.iter().map(|s| s.gateway).collect(),
            default_route: spec.default_route,
            ports: Vec::new(),
            exposed: Vec::new(),
        })
    }

    pub(super) fn release_addresses(&self, network_id: &str, addresses: &[IpNet]) {
        self.write(|s| {
            for a in addresses {
                s.ipam.release(network_id, a.addr());
            }
        });
    }

    /// Sets up a starting container's network stack. On error nothing of it is left.
    #[tracing::instrument(skip_all, fields(container_id = %req.container.id))]
    pub async fn attach(&self, req: &AttachRequest<'_>) -> Result<()> {
        let _op = self.op.lock().await;
        let c = &req.container;
        let mut sb = SandboxState {
            container_id: c.id.to_string(),
            container_name: c.name.to_string(),
            sandbox_id: new_id(),
            netns: req.netns.map(Path::to_path_buf).unwrap_or_default(),
            endpoints: Vec::new(),
            dns: false,
            dns_upstreams: Vec::new(),
        };
        match self.build_sandbox(req, &mut sb).await {
            Ok(()) => {
                if let Err(e) = self.save_sandbox(&sb).await {
                    self.teardown_sandbox(&sb, true).await;
                    return Err(e);
                }
                for ep in &sb.endpoints {
                    if let Ok(net) = self.network_of_id(&ep.network_id) {
                        self.event("connect", &net, Some(c.id));
                    }
                }
                self.write(|s| s.sandboxes.insert(sb.container_id.clone(), sb));
                Ok(())
            }
            Err(e) => {
                self.teardown_sandbox(&sb, true).await;
                Err(e)
            }
        }
    }

    pub(super) fn network_of_id(&self, id: &str) -> Result<NetworkRecord> {
        self.read(|s| s.networks.get(id).cloned())
            .ok_or_else(|| NetError::NoSuchNetwork(id.to_string()))
    }

    async fn build_sandbox(&self, req: &AttachRequest<'_>, sb: &mut SandboxState) -> Result<()> {
        let c = &req.container;
        let host_mode = c.host_config.network_mode == "host";
        let mut bridged = 0;
        for (i, a) in c.attachments.iter().enumerate() {
            let net = self.network_of(a)?;
            let ifname = format!("eth{bridged}");
            let ep = self
                .new_endpoint(c, &net, a, &ifname, i == 0, &sb.netns)
                .await?;
            if net.driver == "bridge" {
                bridged += 1;
            }
            sb.endpoints.push(ep);
        }
        if !host_mode {
            self.publish(c, sb).await?;
        }
        self.start_dns(c, sb).await?;
        let (_, entries) = self.resolve_links(req.links)?;
        self.write_hosts_resolv(c, sb, req.dir, &entries)
    }

    /// Publishes the container's ports on its gateway endpoint.
    async fn publish(&self, c: &ContainerNet<'_>, sb: &mut SandboxState) -> Result<()> {
        let Some(idx) = sb.endpoints.iter().position(|e| e.default_route) else {
            return Ok(());
        };
        let net = self.network_of_id(&sb.endpoints[idx].network_id)?;
        let mut reqs = publish_requests(c.host_config, c.exposed)?;
        if !self.cfg.userland_proxy {
            if let Some(r) = reqs
                .iter()
                .find(|r| r.host_ip.is_some_and(|ip| ip.is_loopback()))
            {
                // DNAT to a loopback address needs route_localnet, which berth never turns on.
                return Err(NetError::Invalid(format!(
                    "publishing on a loopback address ({}) needs the userland proxy (berthd --userland-proxy=true)",
                    r.host_ip.map(|ip| ip.to_string()).unwrap_or_default()
                )));
            }
        }
        if let Some(default_ip) = net.host_binding_ipv4.filter(|ip| !ip.is_unspecified()) {
            for r in reqs.iter_mut().filter(|r| r.host_ip.is_none()) {
                r.host_ip = Some(default_ip);
            }
        }
        let mut exposed: Vec<_> = c
            .exposed
            .into_iter()
            .flatten()
            .filter_map(|(k, _)| parse_port_key(k).ok())
            .collect();
        for r in &reqs {
            exposed.push((r.container_port, r.proto));
        }
        exposed.sort();
        exposed.dedup();
        let ep = &mut sb.endpoints[idx];
        ep.exposed = exposed;
        if reqs.is_empty() {
            return Ok(());
        }
        ep.ports = self.publish_endpoint(c.name, ep, &net, &reqs).await?;
        Ok(())
    }

    async fn publish_endpoint(
        &self,
        name: &str,
        ep: &EndpointState,
        net: &NetworkRecord,
        reqs: &[PublishRequest],
    ) -> Result<Vec<network::ports::PublishedPort>> {
        let target = super::restore::target(ep, &net.bridge);
        self.publisher
            .publish(&target, reqs)
            .await
            .map_err(|source| NetError::Ports {
                endpoint: name.to_string(),
                id: ep.id.clone(),
                source,
            })
    }

    /// Adds the DNS records of a sandbox's endpoints on user-defined networks. Returns
    /// whether it has any, and whether one of those networks is not internal.
    pub(super) fn register_dns(&self, c: &ContainerNet<'_>, sb: &SandboxState) -> (bool, bool) {
        let (mut any, mut external) = (false, false);
        for ep in &sb.endpoints {
            let Ok(net) = self.network_of_id(&ep.network_id) else {
                continue;
            };
            let Some(a) = c.attachments.iter().find(|a| a.network_id == net.id) else {
                continue;
            };
            if !net.has_dns() {
                continue;
            }
            any = true;
            external |= !net.internal;
            let rec = dns_record(c, a, ep);
            self.dns.update(|r| r.add_endpoint(&net.id, &ep.id, rec));
        }
        (any, external)
    }

    /// Registers the container's names and serves it DNS (if it is on a user-defined
    /// network).
    async fn start_dns(&self, c: &ContainerNet<'_>, sb: &mut SandboxState) -> Result<()> {
        let (any, external) = self.register_dns(c, sb);
        if !any {
            return Ok(());
        }
        let (_, upstreams) = hostfiles::resolv(&self.cfg, c.host_config, ResolvKind::Internal)?;
        sb.dns = true;
        sb.dns_upstreams = upstreams.clone();
        self.dns
            .attach(ContainerDns {
                container_id: c.id.to_string(),
                netns: sb.netns.clone(),
                upstreams,
                forward: external,
                listen: network::dns::server::LISTEN,
            })
            .await?;
        Ok(())
    }

    /// The variables and hosts entries of legacy links: each linked container must be
    /// running on the default bridge.
    fn resolve_links(&self, links: &[LinkTarget]) -> Result<(Vec<String>, Vec<HostsEntry>)> {
        let mut env = Vec::new();
        let mut entries = Vec::new();
        let bridge = self.default_bridge();
        for l in links {
            let child_ip = bridge.as_ref().and_then(|b| {
                self.read(|s| {
                    s.sandboxes
                        .get(&l.container_id)
                        .and_then(|csb| csb.endpoint(&b.id))
                        .and_then(|e| e.addr(false))
                        .map(|a| a.addr())
                })
            });
            let Some(ip) = child_ip else {
                return Err(NetError::Conflict(format!(
                    "Cannot link to /{}, as it does not belong to the default network",
                    l.container_name
                )));
            };
            let ports: Vec<ExposedPort> = l
                .exposed
                .iter()
                .filter_map(|k| parse_port_key(k).ok())
                .map(|(port, proto)| ExposedPort { port, proto })
                .collect();
            env.extend(links::env_vars(&l.name, ip, &ports, &l.env));
            entries.push(links::hosts_entry(
                &l.alias,
                &l.hostname,
                &l.container_name,
                ip,
            ));
        }
        Ok((env, entries))
    }

    /// The environment variables legacy links give a starting container (Docker sets them
    /// before the container's own, which override them).
    pub fn link_env(&self, links: &[LinkTarget]) -> Result<Vec<String>> {
        Ok(self.resolve_links(links)?.0)
    }

    pub(super) fn write_hosts_resolv(
        &self,
        c: &ContainerNet<'_>,
        sb: &SandboxState,
        dir: &Path,
        links: &[HostsEntry],
    ) -> Result<()> {
        let host_mode = c.host_config.network_mode == "host";
        let ipv6 = sb.endpoints.iter().any(|e| e.addr(true).is_some());
        let own: Vec<IpAddr> = sb
            .endpoints
            .iter()
            .flat_map(|e| e.addresses.iter().map(|a| a.addr()))
            .collect();
        let kind = if host_mode {
            ResolvKind::Host
        } else if sb.dns {
            ResolvKind::Internal
        } else {
            ResolvKind::Legacy { ipv6 }
        };
        let (resolv, _) = hostfiles::resolv(&self.cfg, c.host_config, kind)?;
        let hosts = hostfiles::hosts(
            c.host_config,
            &self.host_gateway(),
            &HostsInput {
                hostname: c.hostname,
                domainname: c.domainname,
                own: &own,
                ipv6,
                links,
                host_network: host_mode,
            },
        )?;
        hostfiles::write(dir, &hosts, &resolv)
    }

    /// Undoes a sandbox: ports, DNS, endpoints (`release`: leave the veths to the
    /// namespace's removal), addresses, its state file. Keeps going past failures.
    async fn teardown_sandbox(&self, sb: &SandboxState, release: bool) {
        for ep in sb.endpoints.iter().filter(|e| e.default_route) {
            if let Err(e) = self.publisher.unpublish(&ep.id).await {
                tracing::warn!(container_id = %sb.container_id, error = %e, "unpublishing ports");
            }
        }
        if sb.dns {
            self.dns.detach(&sb.container_id).await;
        }
        self.dns.update(|r| {
            for ep in &sb.endpoints {
                r.remove_endpoint(&ep.network_id, &ep.id);
            }
        });
        for ep in &sb.endpoints {
            let Ok(net) = self.network_of_id(&ep.network_id) else {
                continue;
            };
            self.disconnect_driver(&net, &endpoint_spec(sb, ep), release)
                .await;
            self.release_addresses(&ep.network_id, &ep.addresses);
        }
        let path = self.sandbox_path(&sb.container_id);
        if let Err(e) = std::fs::remove_file(&path) {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(path = %path.display(), error = %e, "removing sandbox state");
            }
        }
    }

    /// Takes a stopping container's network stack down (before its namespace goes: the DNS
    /// sockets hold it). Nothing to do is fine.
    #[tracing::instrument(skip(self))]
    pub async fn detach(&self, container_id: &str) {
        let _op = self.op.lock().await;
        let Some(sb) = self.write(|s| s.sandboxes.remove(container_id)) else {
            let _ = std::fs::remove_file(self.sandbox_path(container_id));
            return;
        };
        self.teardown_sandbox(&sb, true).await;
        for ep in &sb.endpoints {
            if let Ok(net) = self.network_of_id(&ep.network_id) {
                self.event("disconnect", &net, Some(container_id));
            }
        }
    }

    fn sandbox_path(&self, container_id: &str) -> std::path::PathBuf {
        self.state_dir.join(format!("{container_id}.json"))
    }

    /// Writes a sandbox's state file (no fsync: it lives as long as the namespace).
    pub(super) async fn save_sandbox(&self, sb: &SandboxState) -> Result<()> {
        let path = self.sandbox_path(&sb.container_id);
        let json = serde_json::to_vec(sb).map_err(|e| {
            NetError::file(
                &path,
                std::io::Error::new(std::io::ErrorKind::InvalidData, e),
            )
        })?;
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, json).map_err(|e| NetError::file(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| NetError::file(&path, e))
    }

    pub(super) fn sandbox_of(&self, container_id: &str) -> Option<SandboxState> {
        self.read(|s| s.sandboxes.get(container_id).cloned())
    }
}

pub(super) fn endpoint_spec(sb: &SandboxState, ep: &EndpointState) -> EndpointSpec {
    EndpointSpec {
        id: ep.id.clone(),
        netns: sb.netns.clone(),
        ifname: ep.ifname.clone(),
        addresses: ep.addresses.clone(),
        mac: None,
        default_route: ep.default_route,
    }
}
