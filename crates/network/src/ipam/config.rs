//! From the user's strings (the API's `IPAM.Config`, the daemon's `--bip`/`--fixed-cidr`) to
//! checked [`SubnetRequest`]s, with dockerd's messages (moby `api/types/network/ipam.go`
//! `ValidateIPAM`).

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;

use super::{overlaps, parse_cidr, IpamError, SubnetRequest};

/// One entry of `IPAM.Config` as it arrives on the wire: every field a string, empty when
/// absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpamConfigInput {
    /// `Subnet`.
    pub subnet: String,
    /// `IPRange`.
    pub ip_range: String,
    /// `Gateway`.
    pub gateway: String,
    /// `AuxiliaryAddresses`.
    pub aux_addresses: BTreeMap<String, String>,
}

fn family_name(net: &IpNet) -> &'static str {
    match net {
        IpNet::V4(_) => "IPv4",
        IpNet::V6(_) => "IPv6",
    }
}

fn same_family(a: IpAddr, net: &IpNet) -> bool {
    a.is_ipv4() == matches!(net, IpNet::V4(_))
}

/// Checks the entries as dockerd does and turns them into requests. IPv6 entries are
/// skipped when IPv6 is off, as dockerd skips them. All problems are reported at once.
pub fn validate_config(
    configs: &[IpamConfigInput],
    enable_ipv6: bool,
) -> Result<Vec<SubnetRequest>, IpamError> {
    let mut problems = Vec::new();
    let mut out = Vec::new();
    for cfg in configs {
        let Ok(subnet) = cfg.subnet.parse::<IpNet>() else {
            problems.push(format!(
                "invalid subnet {}: invalid CIDR block notation",
                cfg.subnet
            ));
            continue;
        };
        if matches!(subnet, IpNet::V6(_)) && !enable_ipv6 {
            continue;
        }
        let before = problems.len();
        if subnet.trunc() != subnet {
            problems.push(format!(
                "invalid subnet {subnet}: it should be {}",
                subnet.trunc()
            ));
        }
        let ip_range = check_ip_range(&cfg.ip_range, &subnet, &mut problems);
        let gateway = check_address(&cfg.gateway, &subnet)
            .map_err(|e| problems.push(format!("invalid gateway {}: {e}", cfg.gateway)))
            .ok()
            .flatten();
        let mut aux_addresses = BTreeMap::new();
        for (name, value) in &cfg.aux_addresses {
            match check_address(value, &subnet) {
                Ok(Some(a)) => {
                    aux_addresses.insert(name.clone(), a);
                }
                Ok(None) => {}
                Err(e) => problems.push(format!("invalid auxiliary address {name}: {e}")),
            }
        }
        if problems.len() == before {
            out.push(SubnetRequest {
                subnet: Some(subnet),
                ip_range,
                gateway,
                aux_addresses,
            });
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(IpamError::InvalidConfig { problems })
    }
}

fn check_ip_range(raw: &str, subnet: &IpNet, problems: &mut Vec<String>) -> Option<IpNet> {
    if raw.is_empty() {
        return None;
    }
    let Ok(range) = raw.parse::<IpNet>() else {
        problems.push(format!(
            "invalid ip-range {raw}: invalid CIDR block notation"
        ));
        return None;
    };
    if family_name(&range) != family_name(subnet) {
        problems.push(format!(
            "invalid ip-range {raw}: parent subnet is an {} block",
            family_name(subnet)
        ));
        return None;
    }
    let before = problems.len();
    if range.prefix_len() < subnet.prefix_len() {
        problems.push(format!(
            "invalid ip-range {raw}: CIDR block is bigger than its parent subnet {subnet}"
        ));
    }
    if range.trunc() != range {
        problems.push(format!(
            "invalid ip-range {range}: it should be {}",
            range.trunc()
        ));
    }
    if !overlaps(subnet, &range) {
        problems.push(format!(
            "invalid ip-range {raw}: parent subnet {subnet} doesn't contain ip-range"
        ));
    }
    (problems.len() == before).then_some(range)
}

fn check_address(raw: &str, subnet: &IpNet) -> Result<Option<IpAddr>, String> {
    if raw.is_empty() {
        return Ok(None);
    }
    let a: IpAddr = raw.parse().map_err(|_| "invalid address".to_string())?;
    if !same_family(a, subnet) {
        return Err(format!("parent subnet is an {} block", family_name(subnet)));
    }
    if !subnet.contains(&a) {
        return Err(format!(
            "parent subnet {subnet} doesn't contain this address"
        ));
    }
    Ok(Some(a))
}

/// The default bridge's request from `--bip` (the bridge's address with the subnet's
/// prefix, `172.17.0.1/16`) and `--fixed-cidr` (the range containers get addresses from,
/// inside the `--bip` subnet). Both empty = pick a subnet from the pools.
pub fn default_bridge_request(bip: &str, fixed_cidr: &str) -> Result<SubnetRequest, IpamError> {
    let mut req = SubnetRequest::default();
    if !bip.is_empty() {
        let net = parse_cidr(bip)?;
        if net.addr() == net.network() {
            return Err(IpamError::InvalidConfig {
                problems: vec![format!(
                    "--bip {bip}: the bridge address must not be the network address"
                )],
            });
        }
        req.subnet = Some(net.trunc());
        req.gateway = Some(net.addr());
    }
    if !fixed_cidr.is_empty() {
        let range = parse_cidr(fixed_cidr)?.trunc();
        if let Some(subnet) = req.subnet {
            if !subnet.contains(&range) {
                return Err(IpamError::InvalidConfig {
                    problems: vec![format!(
                        "--fixed-cidr {fixed_cidr} is not within the --bip subnet {subnet}"
                    )],
                });
            }
        } else {
            // dockerd: without --bip, the fixed CIDR's own prefix is the bridge subnet.
            req.subnet = Some(range);
        }
        req.ip_range = Some(range);
    }
    Ok(req)
}
