//! IP address management, pure: which subnet a network gets, and which address each of its
//! endpoints gets.
//!
//! Vocabulary: a **pool** ([`PoolSpec`]) is a block subnets are carved from when the user
//! gives none; a **subnet** ([`Subnet`]) is one prefix of a network with its optional
//! **ip-range** (where dynamic addresses come from), **gateway** (the bridge's address) and
//! **auxiliary addresses** (reserved, never handed out); an **allocation** is an address
//! given to an endpoint.
//!
//! Persist-by-caller: [`Ipam`] holds an [`IpamState`] (plain serde data) that the engine
//! stores after each change and hands back at start; nothing here does I/O. Host routes to
//! avoid when picking a subnet are passed in (see [`crate::link::Netlink::host_prefixes`]).

mod config;
mod pool;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::ErrorKind;
pub use config::{default_bridge_request, validate_config, IpamConfigInput};
use pool::{addr_to_u128, first_host, u128_to_addr};
pub use pool::{default_pools, derive_ula_pool, find_free_subnet, overlaps, parse_cidr, PoolSpec};

/// Why an IPAM request failed. Messages are dockerd's where it has one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IpamError {
    /// A CIDR did not parse.
    #[error("invalid CIDR address: {value}")]
    InvalidCidr { value: String },
    /// An address did not parse.
    #[error("invalid IP address: {value}")]
    InvalidAddress { value: String },
    /// A `--default-address-pool` value is wrong.
    #[error("invalid default address pool {pool}: {reason}")]
    InvalidPool { pool: String, reason: String },
    /// The network's IPAM config is inconsistent; one line per problem, as dockerd joins them.
    #[error("invalid network config:\n{}", join_problems(.problems))]
    InvalidConfig { problems: Vec<String> },
    /// A requested subnet overlaps a subnet another network already has.
    #[error("invalid pool request: Pool overlaps with other one on this address space")]
    PoolOverlap {
        subnet: IpNet,
        other_network: String,
    },
    /// No free subnet is left in the pools of this family.
    #[error("could not find an available, non-overlapping IPv{family} address pool among the defaults to assign to the network")]
    PoolsExhausted { family: u8 },
    /// Every address of the network's subnets of this family is taken.
    #[error(
        "no available IPv{family} addresses on this network's address pools: {network} ({id})"
    )]
    NoAvailableAddresses {
        family: u8,
        network: String,
        id: String,
    },
    /// The requested address is taken (by an endpoint, the gateway, or reserved).
    #[error("Address already in use")]
    AddressInUse { address: IpAddr, network: String },
    /// The requested address is in none of the network's user-configured subnets.
    #[error("no configured subnet or ip-range contain the IP address {address}")]
    AddressOutOfRange { address: IpAddr },
    /// A static address was asked on a network whose subnet the daemon picked.
    #[error("user specified IP address is supported only when connecting to networks with user configured subnets")]
    StaticAddressNotAllowed { address: IpAddr },
    /// The network has no subnet of the family asked for.
    #[error("network {network} has no IPv{family} subnet")]
    NoSubnet { family: u8, network: String },
    /// The network is unknown to the IPAM.
    #[error("network {id} not found in IPAM state")]
    UnknownNetwork { id: String },
}

fn join_problems(problems: &[String]) -> String {
    // dockerd's joinError: one problem bare, several as a bulleted list.
    match problems {
        [one] => one.clone(),
        many => format!("* {}", many.join("\n* ")),
    }
}

impl IpamError {
    /// The error's kind.
    pub fn kind(&self) -> ErrorKind {
        use IpamError::*;
        match self {
            InvalidCidr { .. }
            | InvalidAddress { .. }
            | InvalidPool { .. }
            | InvalidConfig { .. }
            | AddressOutOfRange { .. }
            | StaticAddressNotAllowed { .. }
            | NoSubnet { .. } => ErrorKind::InvalidArgument,
            PoolOverlap { .. } | AddressInUse { .. } => ErrorKind::Conflict,
            PoolsExhausted { .. } | NoAvailableAddresses { .. } => ErrorKind::Unavailable,
            UnknownNetwork { .. } => ErrorKind::NotFound,
        }
    }
}

/// What the user asked for one subnet of a network (`--subnet --ip-range --gateway
/// --aux-address`, or `--bip/--fixed-cidr` for the default bridge). All parts optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubnetRequest {
    /// The subnet; `None` = pick one from the pools.
    pub subnet: Option<IpNet>,
    /// Where dynamic addresses come from; `None` = the whole subnet.
    pub ip_range: Option<IpNet>,
    /// The gateway; `None` = the first address of the subnet.
    pub gateway: Option<IpAddr>,
    /// Named addresses never handed out.
    pub aux_addresses: BTreeMap<String, IpAddr>,
}

/// What a network asks of the IPAM when it is created.
#[derive(Debug, Clone, Default)]
pub struct NetworkRequest {
    /// The network's id (the key of its IPAM state).
    pub id: String,
    /// Its name (for messages).
    pub name: String,
    /// Give it an IPv4 subnet.
    pub ipv4: bool,
    /// Give it an IPv6 subnet.
    pub ipv6: bool,
    /// The user's subnets (either family). A family that is enabled and has none here gets
    /// one from the pools.
    pub subnets: Vec<SubnetRequest>,
}

/// One subnet of a network and the addresses taken in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subnet {
    /// The subnet, canonical.
    pub subnet: IpNet,
    /// Where dynamic addresses come from (within `subnet`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_range: Option<IpNet>,
    /// The gateway (the bridge's address).
    pub gateway: IpAddr,
    /// Reserved addresses by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub aux_addresses: BTreeMap<String, IpAddr>,
    /// The user chose this subnet; only then may an endpoint ask for a static address.
    pub user_configured: bool,
    /// Addresses given to endpoints.
    #[serde(default)]
    pub allocated: BTreeSet<IpAddr>,
}

impl Subnet {
    /// Whether `a` may never be handed out: the network and (IPv4) broadcast addresses, the
    /// gateway, the auxiliary addresses.
    fn is_reserved(&self, a: IpAddr) -> bool {
        let v4_edges = matches!(self.subnet, IpNet::V4(_)) && self.subnet.prefix_len() <= 30;
        a == self.gateway
            || a == self.subnet.network()
            || (v4_edges && a == self.subnet.broadcast())
            || self.aux_addresses.values().any(|x| *x == a)
    }

    fn is_taken(&self, a: IpAddr) -> bool {
        self.is_reserved(a) || self.allocated.contains(&a)
    }

    /// The lowest free address of the ip-range (or subnet), as dockerd's default IPAM
    /// hands them out. Walks the sorted allocations from the range's start: O(taken below
    /// the answer), whatever the size of the range (an IPv6 /64 included).
    fn first_free(&self) -> Option<IpAddr> {
        let range = self.ip_range.unwrap_or(self.subnet);
        let like = range.network();
        let (start, end) = (
            addr_to_u128(range.network()),
            addr_to_u128(range.broadcast()),
        );
        let mut taken = self
            .allocated
            .range(range.network()..=range.broadcast())
            .map(|a| addr_to_u128(*a))
            .peekable();
        let mut candidate = start;
        while candidate <= end {
            let a = u128_to_addr(candidate, like);
            let allocated = taken.peek() == Some(&candidate);
            if allocated {
                taken.next();
            }
            if !allocated && !self.is_reserved(a) {
                return Some(a);
            }
            candidate = candidate.checked_add(1)?;
        }
        None
    }
}

/// The IPAM data of one network.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkIpam {
    /// The network's name, for messages.
    pub name: String,
    /// Its subnets, IPv4 first, in the order they were configured.
    pub subnets: Vec<Subnet>,
}

impl NetworkIpam {
    /// The subnets of one family.
    pub fn subnets_of(&self, ipv6: bool) -> impl Iterator<Item = &Subnet> {
        self.subnets
            .iter()
            .filter(move |s| matches!(s.subnet, IpNet::V6(_)) == ipv6)
    }
}

/// Everything the IPAM knows, keyed by network id. The engine persists it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpamState {
    /// Network id → its subnets and allocations.
    pub networks: BTreeMap<String, NetworkIpam>,
}

/// The allocator: pools plus state.
#[derive(Debug, Clone)]
pub struct Ipam {
    pools: Vec<PoolSpec>,
    state: IpamState,
}

fn family(ipv6: bool) -> u8 {
    if ipv6 {
        6
    } else {
        4
    }
}

impl Ipam {
    /// An allocator over `pools` (both families mixed; order matters) starting from `state`.
    pub fn new(pools: Vec<PoolSpec>, state: IpamState) -> Self {
        Ipam { pools, state }
    }

    /// The state to persist.
    pub fn state(&self) -> &IpamState {
        &self.state
    }

    /// One network's data.
    pub fn network(&self, id: &str) -> Option<&NetworkIpam> {
        self.state.networks.get(id)
    }

    fn network_mut(&mut self, id: &str) -> Result<&mut NetworkIpam, IpamError> {
        self.state
            .networks
            .get_mut(id)
            .ok_or_else(|| IpamError::UnknownNetwork { id: id.to_string() })
    }

    /// Gives a new network its subnets: the user's (checked against every other network's),
    /// then one from the pools for each enabled family left without, avoiding every other
    /// network and `avoid` (the host's routes). Nothing changes on error.
    pub fn add_network(
        &mut self,
        req: &NetworkRequest,
        avoid: &[IpNet],
    ) -> Result<&NetworkIpam, IpamError> {
        let mut subnets = Vec::new();
        for r in &req.subnets {
            let Some(subnet) = r.subnet else { continue };
            let ipv6 = matches!(subnet, IpNet::V6(_));
            if (ipv6 && !req.ipv6) || (!ipv6 && !req.ipv4) {
                continue;
            }
            let subnet = subnet.trunc();
            self.check_no_overlap(&subnet, &subnets)?;
            subnets.push(Subnet {
                subnet,
                ip_range: r.ip_range.map(|n| n.trunc()),
                gateway: r.gateway.unwrap_or_else(|| first_host(&subnet)),
                aux_addresses: r.aux_addresses.clone(),
                user_configured: true,
                allocated: BTreeSet::new(),
            });
        }
        for ipv6 in [false, true] {
            let enabled = if ipv6 { req.ipv6 } else { req.ipv4 };
            let has = subnets
                .iter()
                .any(|s: &Subnet| matches!(s.subnet, IpNet::V6(_)) == ipv6);
            if !enabled || has {
                continue;
            }
            let mut taken: Vec<IpNet> = self.all_subnets().map(|(_, s)| s.subnet).collect();
            taken.extend(subnets.iter().map(|s| s.subnet));
            taken.extend(avoid.iter().copied());
            let subnet =
                find_free_subnet(&self.pools, ipv6, &taken).ok_or(IpamError::PoolsExhausted {
                    family: family(ipv6),
                })?;
            // A picked subnet may still carry the user's gateway or ip-range for that
            // family when they gave those without a subnet; dockerd ignores them, so do we.
            subnets.push(Subnet {
                subnet,
                ip_range: None,
                gateway: first_host(&subnet),
                aux_addresses: BTreeMap::new(),
                user_configured: false,
                allocated: BTreeSet::new(),
            });
        }
        subnets.sort_by_key(|s| matches!(s.subnet, IpNet::V6(_)));
        self.state.networks.insert(
            req.id.clone(),
            NetworkIpam {
                name: req.name.clone(),
                subnets,
            },
        );
        Ok(&self.state.networks[&req.id])
    }

    fn all_subnets(&self) -> impl Iterator<Item = (&String, &Subnet)> {
        self.state
            .networks
            .iter()
            .flat_map(|(id, n)| n.subnets.iter().map(move |s| (id, s)))
    }

    fn check_no_overlap(&self, subnet: &IpNet, pending: &[Subnet]) -> Result<(), IpamError> {
        let clash = self
            .all_subnets()
            .find(|(_, s)| overlaps(&s.subnet, subnet))
            .map(|(id, _)| id.clone())
            .or_else(|| {
                pending
                    .iter()
                    .any(|s| overlaps(&s.subnet, subnet))
                    .then(String::new)
            });
        match clash {
            Some(other_network) => Err(IpamError::PoolOverlap {
                subnet: *subnet,
                other_network,
            }),
            None => Ok(()),
        }
    }

    /// Forgets a network and all its allocations.
    pub fn remove_network(&mut self, id: &str) -> Option<NetworkIpam> {
        self.state.networks.remove(id)
    }

    /// Gives an endpoint an address of one family: `requested` (a static `--ip`/`--ip6`)
    /// or the lowest free one. Returns the address with its subnet's prefix length.
    pub fn allocate(
        &mut self,
        network_id: &str,
        ipv6: bool,
        requested: Option<IpAddr>,
    ) -> Result<IpNet, IpamError> {
        let net = self.network_mut(network_id)?;
        let name = net.name.clone();
        if net.subnets_of(ipv6).next().is_none() {
            return Err(IpamError::NoSubnet {
                family: family(ipv6),
                network: name,
            });
        }
        let (subnet, address) = match requested {
            Some(address) => {
                let Some(subnet) = net.subnets.iter_mut().find(|s| s.subnet.contains(&address))
                else {
                    return Err(if net.subnets.iter().any(|s| s.user_configured) {
                        IpamError::AddressOutOfRange { address }
                    } else {
                        IpamError::StaticAddressNotAllowed { address }
                    });
                };
                if !subnet.user_configured {
                    return Err(IpamError::StaticAddressNotAllowed { address });
                }
                if subnet.is_taken(address) {
                    return Err(IpamError::AddressInUse {
                        address,
                        network: name,
                    });
                }
                (subnet, address)
            }
            None => net
                .subnets
                .iter_mut()
                .filter(|s| matches!(s.subnet, IpNet::V6(_)) == ipv6)
                .find_map(|s| s.first_free().map(|a| (s, a)))
                .ok_or_else(|| IpamError::NoAvailableAddresses {
                    family: family(ipv6),
                    network: name,
                    id: network_id.to_string(),
                })?,
        };
        subnet.allocated.insert(address);
        Ok(IpNet::new(address, subnet.subnet.prefix_len()).expect("prefix of the same family"))
    }

    /// Marks an address taken without the static-address rules (restoring an endpoint that
    /// already has it). Fails if it is outside the network or taken.
    pub fn reserve(&mut self, network_id: &str, address: IpAddr) -> Result<(), IpamError> {
        let net = self.network_mut(network_id)?;
        let name = net.name.clone();
        let subnet = net
            .subnets
            .iter_mut()
            .find(|s| s.subnet.contains(&address))
            .ok_or(IpamError::AddressOutOfRange { address })?;
        if subnet.is_taken(address) {
            return Err(IpamError::AddressInUse {
                address,
                network: name,
            });
        }
        subnet.allocated.insert(address);
        Ok(())
    }

    /// Frees an endpoint's address. Returns whether it was allocated.
    pub fn release(&mut self, network_id: &str, address: IpAddr) -> bool {
        self.state
            .networks
            .get_mut(network_id)
            .map(|n| n.subnets.iter_mut().any(|s| s.allocated.remove(&address)))
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests;
