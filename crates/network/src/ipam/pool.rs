//! Address pools (`--default-address-pool base=…,size=…`), the search for a free subnet in
//! them, and the address arithmetic the allocator needs.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::IpamError;

/// One pool to carve network subnets from: `base` split into subnets of prefix length `size`
/// (dockerd's `NetworkToSplit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolSpec {
    /// The block subnets are taken from, in canonical form.
    pub base: IpNet,
    /// The prefix length of each subnet taken from `base`.
    pub size: u8,
}

impl PoolSpec {
    /// Checks the pool as dockerd does: canonical base, `size` not shorter than the base and
    /// not longer than the family allows.
    pub fn new(base: IpNet, size: u8) -> Result<Self, IpamError> {
        let invalid = |reason: String| IpamError::InvalidPool {
            pool: format!("base={base},size={size}"),
            reason,
        };
        if base.trunc() != base {
            return Err(invalid(format!(
                "{base} is not in canonical form, it should be {}",
                base.trunc()
            )));
        }
        if size < base.prefix_len() {
            return Err(invalid(format!(
                "{base} has a smaller prefix (/{}) than the target size of that pool (/{size})",
                base.prefix_len()
            )));
        }
        if size > base.max_prefix_len() {
            return Err(invalid(format!("size /{size} is too long for {base}")));
        }
        Ok(PoolSpec { base, size })
    }

    /// Whether the pool is IPv6.
    pub fn is_ipv6(&self) -> bool {
        matches!(self.base, IpNet::V6(_))
    }
}

impl fmt::Display for PoolSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "base={},size={}", self.base, self.size)
    }
}

/// Parses the value of `--default-address-pool`: `base=172.30.0.0/16,size=24` (keys in any
/// order, both required).
impl FromStr for PoolSpec {
    type Err = IpamError;

    fn from_str(s: &str) -> Result<Self, IpamError> {
        let invalid = |reason: String| IpamError::InvalidPool {
            pool: s.to_string(),
            reason,
        };
        let (mut base, mut size) = (None, None);
        for field in s.split(',') {
            let (key, value) = field.split_once('=').ok_or_else(|| {
                invalid(format!("invalid field '{field}' must be a key=value pair"))
            })?;
            match key.trim().to_ascii_lowercase().as_str() {
                "base" => base = Some(parse_cidr(value.trim())?),
                "size" => {
                    size = Some(
                        value
                            .trim()
                            .parse::<u8>()
                            .map_err(|_| invalid(format!("invalid size value: {value}")))?,
                    )
                }
                other => return Err(invalid(format!("unexpected key '{other}' in '{field}'"))),
            }
        }
        match (base, size) {
            (Some(base), Some(size)) => PoolSpec::new(base, size),
            _ => Err(invalid("both base and size are required".into())),
        }
    }
}

/// dockerd's local-scope defaults: 172.17/16 … 172.31/16 split into /16s, then
/// 192.168.0.0/16 split into /20s.
pub fn default_pools() -> Vec<PoolSpec> {
    let v4 = |a, b, len, size| PoolSpec {
        base: IpNet::V4(Ipv4Net::new(Ipv4Addr::new(a, b, 0, 0), len).expect("static prefix")),
        size,
    };
    vec![
        v4(172, 17, 16, 16),
        v4(172, 18, 16, 16),
        v4(172, 19, 16, 16),
        v4(172, 20, 14, 16),
        v4(172, 24, 14, 16),
        v4(172, 28, 14, 16),
        v4(192, 168, 16, 20),
    ]
}

/// A ULA /48 split into /64s, derived from a stable host id the way dockerd derives its
/// default IPv6 pool (RFC 4193 §3.2.2, loosely): the 40 low bits of sha256(host_id) become
/// the global id after `fd`.
pub fn derive_ula_pool(host_id: &str) -> PoolSpec {
    let digest = Sha256::digest(host_id.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    let gid = u64::from_be_bytes(first) & ((1 << 40) - 1);
    let base = (0xfdu128 << 120) | (u128::from(gid) << 80);
    PoolSpec {
        base: IpNet::V6(Ipv6Net::new(Ipv6Addr::from(base), 48).expect("static prefix")),
        size: 64,
    }
}

/// Parses a CIDR (`10.1.0.0/16`), with Go's `net.ParseCIDR` message on failure. Host bits
/// may be set (`--bip 172.17.0.1/16` relies on it).
pub fn parse_cidr(s: &str) -> Result<IpNet, IpamError> {
    s.parse::<IpNet>().map_err(|_| IpamError::InvalidCidr {
        value: s.to_string(),
    })
}

/// Whether two prefixes share any address (never across families).
pub fn overlaps(a: &IpNet, b: &IpNet) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// The first free subnet of the pools' family that overlaps none of `taken`, in pool order.
pub fn find_free_subnet(pools: &[PoolSpec], ipv6: bool, taken: &[IpNet]) -> Option<IpNet> {
    for pool in pools.iter().filter(|p| p.is_ipv6() == ipv6) {
        let relevant: Vec<&IpNet> = taken.iter().filter(|t| overlaps(t, &pool.base)).collect();
        let Ok(candidates) = pool.base.subnets(pool.size) else {
            continue;
        };
        for candidate in candidates {
            if !relevant.iter().any(|t| overlaps(t, &candidate)) {
                return Some(candidate);
            }
        }
    }
    None
}

/// An address as a number, to walk ranges.
pub(crate) fn addr_to_u128(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// The address of number `n` in the family of `like`.
pub(crate) fn u128_to_addr(n: u128, like: IpAddr) -> IpAddr {
    match like {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from(n as u32)),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::from(n)),
    }
}

/// The first address after the network address (the default gateway).
pub(crate) fn first_host(net: &IpNet) -> IpAddr {
    u128_to_addr(addr_to_u128(net.network()) + 1, net.network())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn pool_flag_parses_and_validates_like_dockerd() {
        let p: PoolSpec = "base=10.10.0.0/16,size=24".parse().unwrap();
        assert_eq!(p.base, net("10.10.0.0/16"));
        assert_eq!(p.size, 24);
        let p: PoolSpec = "size=64, base=fd00:1::/48".parse().unwrap();
        assert!(p.is_ipv6());
        let err = "base=10.10.0.1/16,size=24".parse::<PoolSpec>().unwrap_err();
        assert!(err.to_string().contains("not in canonical form"), "{err}");
        let err = "base=10.10.0.0/16,size=8".parse::<PoolSpec>().unwrap_err();
        assert!(err.to_string().contains("smaller prefix (/16)"), "{err}");
        let err = "base=10.10.0.0/16".parse::<PoolSpec>().unwrap_err();
        assert!(err.to_string().contains("both base and size"), "{err}");
        let err = "base=nope,size=24".parse::<PoolSpec>().unwrap_err();
        assert_eq!(err.to_string(), "invalid CIDR address: nope");
        assert!("base=10.0.0.0/8,size=33".parse::<PoolSpec>().is_err());
        assert!("base=10.0.0.0/8,colour=24".parse::<PoolSpec>().is_err());
    }

    #[test]
    fn default_pools_are_dockerds() {
        let pools = default_pools();
        assert_eq!(pools[0].base, net("172.17.0.0/16"));
        assert_eq!(pools.last().unwrap().base, net("192.168.0.0/16"));
        assert_eq!(pools.last().unwrap().size, 20);
        // 172.17 … 172.31 as /16s, then 16 /20s of 192.168.
        let mut taken = Vec::new();
        while let Some(s) = find_free_subnet(&pools, false, &taken) {
            taken.push(s);
        }
        assert_eq!(taken.len(), 15 + 16);
        assert_eq!(taken[1], net("172.18.0.0/16"));
        assert_eq!(taken[14], net("172.31.0.0/16"));
        assert_eq!(taken[15], net("192.168.0.0/20"));
        assert_eq!(taken[16], net("192.168.16.0/20"));
    }

    #[test]
    fn free_subnet_skips_overlaps_of_any_size() {
        let pools = vec![PoolSpec::new(net("10.20.0.0/16"), 24).unwrap()];
        // A host route covering the first four /24s, and an existing /24 after it.
        let taken = vec![
            net("10.20.0.0/22"),
            net("10.20.4.0/24"),
            net("192.0.2.0/24"),
        ];
        assert_eq!(
            find_free_subnet(&pools, false, &taken),
            Some(net("10.20.5.0/24"))
        );
        // A bigger prefix containing the whole pool exhausts it.
        assert_eq!(find_free_subnet(&pools, false, &[net("10.0.0.0/8")]), None);
        assert_eq!(find_free_subnet(&pools, true, &[]), None);
    }

    #[test]
    fn ula_pool_is_stable_and_private() {
        let a = derive_ula_pool("host-a");
        assert_eq!(a, derive_ula_pool("host-a"));
        assert_ne!(a, derive_ula_pool("host-b"));
        assert_eq!(a.size, 64);
        assert_eq!(a.base.prefix_len(), 48);
        let IpNet::V6(v6) = a.base else { panic!() };
        assert_eq!(v6.addr().octets()[0], 0xfd);
        assert_eq!(a.base.trunc(), a.base);
    }

    #[test]
    fn overlap_and_arithmetic() {
        assert!(overlaps(&net("10.0.0.0/8"), &net("10.1.2.0/24")));
        assert!(overlaps(&net("10.1.2.0/24"), &net("10.0.0.0/8")));
        assert!(!overlaps(&net("10.1.2.0/24"), &net("10.1.3.0/24")));
        assert!(!overlaps(&net("10.0.0.0/8"), &net("::/0")));
        assert_eq!(first_host(&net("10.1.2.0/24")).to_string(), "10.1.2.1");
        assert_eq!(first_host(&net("fd00::/64")).to_string(), "fd00::1");
        assert_eq!(
            parse_cidr("10.0.0.0/33").unwrap_err().to_string(),
            "invalid CIDR address: 10.0.0.0/33"
        );
    }
}
