//! Who can be resolved by whom: the names of the endpoints of each user-defined network,
//! and which networks each container is on. A container resolves a name only on the
//! networks it shares with the target (never across networks), as dockerd's
//! `Sandbox.ResolveName`:
//! - the name as asked, on every network of the asker (in the order it joined them);
//! - then `a.b.c` as `a.b` on network `c`, then `a` on network `b.c` …;
//! - on one network, every endpoint carrying the name (container name, short id, host
//!   name, `--network-alias` / Compose service names) gives its address: several
//!   endpoints sharing an alias give several answers;
//! - links on a user-defined network are aliases seen only by the linking container.
//!
//! Matching is case-insensitive; a trailing dot is ignored.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// One endpoint's records on one network.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointRecord {
    /// The container the endpoint belongs to.
    pub container_id: String,
    /// Its names on this network: the container name first (PTR answers use it), then the
    /// short id, the host name, the aliases. Stored lower-cased.
    pub names: Vec<String>,
    /// `--link target:alias` of this container on this network: alias → target name, seen
    /// only by this container.
    pub links: Vec<(String, String)>,
    /// IPv4 address.
    pub ipv4: Option<Ipv4Addr>,
    /// IPv6 address.
    pub ipv6: Option<Ipv6Addr>,
}

impl EndpointRecord {
    /// An IPv4 endpoint of `container` called `names`, with no links.
    pub fn v4(container: &str, names: &[&str], ipv4: Ipv4Addr) -> Self {
        EndpointRecord {
            container_id: container.to_string(),
            names: names.iter().map(|n| n.to_string()).collect(),
            links: Vec::new(),
            ipv4: Some(ipv4),
            ipv6: None,
        }
    }
}

#[derive(Debug, Clone, Default)]
struct NetworkRecords {
    name: String,
    endpoints: HashMap<String, EndpointRecord>,
}

/// What a lookup found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// The name is not ours: forward it.
    Unknown,
    /// The name is ours; these are its addresses of the asked family (possibly none, then
    /// the answer is an empty NOERROR, not a forward).
    Found(Vec<IpAddr>),
}

/// All records, keyed by network id.
#[derive(Debug, Clone, Default)]
pub struct DnsRecords {
    networks: HashMap<String, NetworkRecords>,
    /// Container id → the networks it is on, in join order.
    joined: HashMap<String, Vec<String>>,
}

impl DnsRecords {
    /// Declares a network (its name is used in `name.network` lookups and PTR answers).
    pub fn add_network(&mut self, id: &str, name: &str) {
        self.networks.entry(id.to_string()).or_default().name = name.to_ascii_lowercase();
    }

    /// Forgets a network and its endpoints.
    pub fn remove_network(&mut self, id: &str) {
        if let Some(n) = self.networks.remove(id) {
            for ep in n.endpoints.values() {
                self.leave(&ep.container_id, id);
            }
        }
    }

    /// Adds (or replaces) an endpoint. Unknown networks are declared with their id as name.
    pub fn add_endpoint(&mut self, network_id: &str, endpoint_id: &str, mut rec: EndpointRecord) {
        for n in &mut rec.names {
            *n = n.trim_end_matches('.').to_ascii_lowercase();
        }
        rec.names.retain(|n| !n.is_empty());
        for (a, t) in &mut rec.links {
            *a = a.to_ascii_lowercase();
            *t = t.to_ascii_lowercase();
        }
        let joined = self.joined.entry(rec.container_id.clone()).or_default();
        if !joined.iter().any(|n| n == network_id) {
            joined.push(network_id.to_string());
        }
        let net = self
            .networks
            .entry(network_id.to_string())
            .or_insert_with(|| NetworkRecords {
                name: network_id.to_ascii_lowercase(),
                ..Default::default()
            });
        net.endpoints.insert(endpoint_id.to_string(), rec);
    }

    /// Removes an endpoint.
    pub fn remove_endpoint(&mut self, network_id: &str, endpoint_id: &str) {
        let Some(net) = self.networks.get_mut(network_id) else {
            return;
        };
        if let Some(ep) = net.endpoints.remove(endpoint_id) {
            let still = net
                .endpoints
                .values()
                .any(|e| e.container_id == ep.container_id);
            if !still {
                self.leave(&ep.container_id, network_id);
            }
        }
    }

    fn leave(&mut self, container: &str, network_id: &str) {
        if let Some(j) = self.joined.get_mut(container) {
            j.retain(|n| n != network_id);
            if j.is_empty() {
                self.joined.remove(container);
            }
        }
    }

    /// The networks `container` is on (ids, join order).
    pub fn networks_of(&self, container: &str) -> &[String] {
        self.joined.get(container).map_or(&[], |v| v.as_slice())
    }

    /// Resolves `name` for `asker` in one family.
    pub fn resolve(&self, asker: &str, name: &str, ipv6: bool) -> Lookup {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        let nets: Vec<&NetworkRecords> = self
            .networks_of(asker)
            .iter()
            .filter_map(|id| self.networks.get(id))
            .collect();
        // (name, network name) candidates: "a.b.c" → ("a.b.c", any), ("a.b", "c"), ("a", "b.c").
        let mut candidates = vec![(name.as_str(), None)];
        let mut rest = name.as_str();
        while let Some(i) = rest.rfind('.') {
            rest = &rest[..i];
            candidates.push((rest, Some(&name[i + 1..])));
        }
        for (want, in_net) in candidates {
            for net in nets.iter().filter(|n| in_net.is_none_or(|nn| n.name == nn)) {
                if let Some(found) = Self::in_network(net, asker, want, ipv6) {
                    return Lookup::Found(found);
                }
            }
        }
        Lookup::Unknown
    }

    fn in_network(
        net: &NetworkRecords,
        asker: &str,
        want: &str,
        ipv6: bool,
    ) -> Option<Vec<IpAddr>> {
        // The asker's own link aliases on this network come first.
        let target = net
            .endpoints
            .values()
            .filter(|e| e.container_id == asker)
            .flat_map(|e| e.links.iter())
            .find(|(alias, _)| alias == want)
            .map_or(want, |(_, t)| t.as_str());
        let mut found = false;
        let mut out = Vec::new();
        let mut eps: Vec<&EndpointRecord> = net
            .endpoints
            .values()
            .filter(|e| e.names.iter().any(|n| n == target))
            .collect();
        // Stable order for equal aliases; the server shuffles as dockerd does.
        eps.sort_by(|a, b| a.ipv4.cmp(&b.ipv4).then(a.ipv6.cmp(&b.ipv6)));
        for e in eps {
            found = true;
            let addr = if ipv6 {
                e.ipv6.map(IpAddr::V6)
            } else {
                e.ipv4.map(IpAddr::V4)
            };
            if let Some(a) = addr.filter(|a| !out.contains(a)) {
                out.push(a);
            }
        }
        found.then_some(out)
    }

    /// The PTR answer for `ip` as `asker` sees it: `<container name>.<network name>` on the
    /// first shared network holding the address.
    pub fn resolve_ptr(&self, asker: &str, ip: IpAddr) -> Option<String> {
        self.networks_of(asker)
            .iter()
            .filter_map(|id| self.networks.get(id))
            .find_map(|net| {
                net.endpoints
                    .values()
                    .find(|e| match ip {
                        IpAddr::V4(v4) => e.ipv4 == Some(v4),
                        IpAddr::V6(v6) => e.ipv6 == Some(v6),
                    })
                    .and_then(|e| e.names.first())
                    .map(|n| format!("{n}.{}", net.name))
            })
    }
}

/// The address a reverse name stands for (`4.3.2.1.in-addr.arpa`, 32 nibbles of
/// `ip6.arpa`), or `None` when it is not one.
pub fn parse_ptr_name(name: &str) -> Option<IpAddr> {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    if let Some(rest) = name.strip_suffix(".in-addr.arpa") {
        let parts: Vec<&str> = rest.split('.').collect();
        if parts.len() != 4 {
            return None;
        }
        let mut o = [0u8; 4];
        for (i, p) in parts.iter().rev().enumerate() {
            if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            o[i] = p.parse().ok()?;
        }
        return Some(IpAddr::V4(Ipv4Addr::from(o)));
    }
    let rest = name.strip_suffix(".ip6.arpa")?;
    let nibbles: Vec<&str> = rest.split('.').collect();
    if nibbles.len() != 32 {
        return None;
    }
    let mut v: u128 = 0;
    for n in nibbles.iter().rev() {
        if n.len() != 1 {
            return None;
        }
        v = (v << 4) | u128::from(u8::from_str_radix(n, 16).ok()?);
    }
    Some(IpAddr::V6(Ipv6Addr::from(v)))
}
