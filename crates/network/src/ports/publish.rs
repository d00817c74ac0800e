//! Publishing an endpoint's ports: hold the host ports, program the DNAT rules, start the
//! userland proxy; all or nothing, and undone by [`PortPublisher::unpublish`].

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::alloc::{HeldSocket, PortAllocator, PortError, PortLease};
use super::proxy::Proxy;
use super::{parse_port_range, Proto};
use crate::firewall::{DnatRule, Firewall};

/// One binding to publish (an entry of `HostConfig.PortBindings`, or an exposed port under
/// `-P`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishRequest {
    /// The container port.
    pub container_port: u16,
    /// Its protocol.
    pub proto: Proto,
    /// The host address; `None` = every address (0.0.0.0, and :: when the endpoint has IPv6).
    pub host_ip: Option<IpAddr>,
    /// Host ports to pick from (inclusive); `(0, 0)` = ephemeral.
    pub host_ports: (u16, u16),
}

impl PublishRequest {
    /// From the API's strings: `port_key` `80/tcp`, `HostIp`, `HostPort` (`""`, `8080`,
    /// `8080-8090`).
    pub fn from_binding(port_key: &str, host_ip: &str, host_port: &str) -> Result<Self, PortError> {
        let invalid = |reason: String| PortError::Invalid {
            binding: format!("{host_ip}:{host_port}:{port_key}"),
            reason,
        };
        let (num, proto) = port_key.split_once('/').unwrap_or((port_key, "tcp"));
        let proto: Proto = proto.parse().map_err(|e| invalid(format!("{e}")))?;
        let container_port: u16 = num
            .parse()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| invalid(format!("invalid container port {num}")))?;
        let host_ip = match host_ip.trim_start_matches('[').trim_end_matches(']') {
            "" => None,
            s => Some(
                s.parse::<IpAddr>()
                    .map_err(|_| invalid(format!("invalid host IP {s}")))?,
            ),
        };
        let host_ports = if host_port.is_empty() {
            (0, 0)
        } else {
            parse_port_range(host_port).map_err(|e| invalid(e.to_string()))?
        };
        Ok(PublishRequest {
            container_port,
            proto,
            host_ip,
            host_ports,
        })
    }
}

/// A published port as it is: what `NetworkSettings.Ports` shows and what the engine
/// persists to publish the same host ports again after a restart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedPort {
    /// The container port.
    pub container_port: u16,
    /// Its protocol.
    pub proto: Proto,
    /// The host address (`0.0.0.0` or `::` for all).
    pub host_ip: IpAddr,
    /// The host port.
    pub host_port: u16,
}

impl PublishedPort {
    /// The request that publishes this again (exact host port).
    pub fn to_request(&self) -> PublishRequest {
        PublishRequest {
            container_port: self.container_port,
            proto: self.proto,
            host_ip: Some(self.host_ip),
            host_ports: (self.host_port, self.host_port),
        }
    }
}

/// The endpoint ports are published to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishTarget {
    /// The endpoint id (the key of its rules and leases).
    pub endpoint_id: String,
    /// Its bridge.
    pub bridge: String,
    /// Its IPv4 address.
    pub ipv4: Option<Ipv4Addr>,
    /// Its IPv6 address.
    pub ipv6: Option<Ipv6Addr>,
}

struct Active {
    // Field order: proxies stop before the leases drop (see `unpublish`).
    proxies: Vec<Proxy>,
    _leases: Vec<PortLease>,
}

/// Ties host ports, firewall and proxy together, per endpoint.
pub struct PortPublisher {
    alloc: PortAllocator,
    firewall: Arc<Firewall>,
    userland_proxy: bool,
    active: tokio::sync::Mutex<HashMap<String, Active>>,
}

impl PortPublisher {
    /// `userland_proxy`: serve what DNAT cannot (loopback, hairpin) from the daemon; off,
    /// held sockets stay unaccepted and hairpin is NATed in the kernel.
    pub fn new(alloc: PortAllocator, firewall: Arc<Firewall>, userland_proxy: bool) -> Self {
        PortPublisher {
            alloc,
            firewall,
            userland_proxy,
            active: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    /// Whether the userland proxy is on (the bridge driver sets hairpin mode when it is off).
    pub fn userland_proxy(&self) -> bool {
        self.userland_proxy
    }

    /// Publishes `requests` for `target`, replacing what it had. On error nothing is held
    /// and no rule is left.
    pub async fn publish(
        &self,
        target: &PublishTarget,
        requests: &[PublishRequest],
    ) -> Result<Vec<PublishedPort>, PortError> {
        // Only what this publisher holds is undone first: rules restored at start-up for
        // the same endpoint stay in place, so a live-restored port never lapses.
        let held = self.active.lock().await.contains_key(&target.endpoint_id);
        if held {
            self.unpublish(&target.endpoint_id).await?;
        }
        let mut leases = Vec::new();
        let mut published = Vec::new();
        let mut rules = Vec::new();
        for req in requests {
            let addrs = self.host_addrs(target, req)?;
            let lease =
                self.alloc
                    .request(&addrs, req.proto, req.host_ports, self.userland_proxy)?;
            let port = lease.port;
            for ip in &addrs {
                published.push(PublishedPort {
                    container_port: req.container_port,
                    proto: req.proto,
                    host_ip: *ip,
                    host_port: port,
                });
            }
            leases.push((lease, req.container_port));
        }
        rules.extend(self.dnat_rules(target, &published));
        // Dropping `leases` on any error below frees every host port taken above.
        self.firewall.set_ports(&target.endpoint_id, rules).await?;
        let proxies = match self.start_proxies(target, &mut leases) {
            Ok(p) => p,
            Err(e) => {
                let _ = self.firewall.remove_ports(&target.endpoint_id).await;
                return Err(e);
            }
        };
        self.active.lock().await.insert(
            target.endpoint_id.clone(),
            Active {
                proxies,
                _leases: leases.into_iter().map(|(l, _)| l).collect(),
            },
        );
        Ok(published)
    }

    /// The kernel path of `ports` published for `target`: what [`Self::publish`] programs,
    /// and what the engine rebuilds its table from at start-up.
    pub fn dnat_rules(&self, target: &PublishTarget, ports: &[PublishedPort]) -> Vec<DnatRule> {
        ports
            .iter()
            .filter_map(|p| {
                container_addr(target, p.host_ip.is_ipv4()).map(|container_ip| DnatRule {
                    proto: p.proto,
                    host_ip: (!p.host_ip.is_unspecified()).then_some(p.host_ip),
                    host_port: p.host_port,
                    container_ip,
                    container_port: p.container_port,
                    bridge: target.bridge.clone(),
                    skip_from_bridge: self.userland_proxy,
                })
            })
            .collect()
    }

    fn host_addrs(
        &self,
        target: &PublishTarget,
        req: &PublishRequest,
    ) -> Result<Vec<IpAddr>, PortError> {
        match req.host_ip {
            Some(ip) => {
                if ip.is_ipv6() && target.ipv6.is_none() && !self.userland_proxy {
                    return Err(PortError::Invalid {
                        binding: format!("[{ip}]:{}", req.container_port),
                        reason: "the container has no IPv6 address and the userland proxy is off"
                            .into(),
                    });
                }
                Ok(vec![ip])
            }
            None => {
                let mut v = vec![IpAddr::V4(Ipv4Addr::UNSPECIFIED)];
                if target.ipv6.is_some() {
                    v.push(IpAddr::V6(Ipv6Addr::UNSPECIFIED));
                }
                Ok(v)
            }
        }
    }

    fn start_proxies(
        &self,
        target: &PublishTarget,
        leases: &mut [(PortLease, u16)],
    ) -> Result<Vec<Proxy>, PortError> {
        let mut proxies = Vec::new();
        if !self.userland_proxy {
            return Ok(proxies); // sockets stay held, unaccepted
        }
        for (lease, container_port) in leases.iter_mut() {
            let (proto, port) = (lease.proto, lease.port);
            for (ip, sock) in lease.take_sockets() {
                // Same family when the endpoint has it; else across (IPv6 host → IPv4
                // container), which only the proxy can do.
                let Some(cip) = container_addr(target, ip.is_ipv4())
                    .or_else(|| container_addr(target, !ip.is_ipv4()))
                else {
                    continue;
                };
                let dest = SocketAddr::new(cip, *container_port);
                let started = match sock {
                    HeldSocket::Tcp(l) => Proxy::tcp(l, dest),
                    HeldSocket::Udp(u) => Proxy::udp(u, dest),
                };
                proxies.push(started.map_err(|source| PortError::Bind {
                    addr: super::alloc::show(ip, port),
                    proto,
                    source,
                })?);
            }
        }
        Ok(proxies)
    }

    /// Stops publishing an endpoint's ports: rules removed, proxies stopped, host ports
    /// freed (a new bind of them succeeds when this returns). Unknown endpoints are fine.
    pub async fn unpublish(&self, endpoint_id: &str) -> Result<(), PortError> {
        let active = self.active.lock().await.remove(endpoint_id);
        let fw = self.firewall.remove_ports(endpoint_id).await;
        if let Some(active) = active {
            for p in active.proxies {
                p.stop().await;
            }
            // `active._leases` drops here: reservations freed after the sockets closed.
        }
        fw.map_err(PortError::from)
    }

    /// The endpoints with published ports.
    pub async fn endpoints(&self) -> Vec<String> {
        self.active.lock().await.keys().cloned().collect()
    }
}

fn container_addr(target: &PublishTarget, v4: bool) -> Option<IpAddr> {
    if v4 {
        target.ipv4.map(IpAddr::V4)
    } else {
        target.ipv6.map(IpAddr::V6)
    }
}

#[cfg(test)]
mod tests;
