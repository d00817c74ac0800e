//! The `bridge` driver: a Linux bridge per network holding the gateway address(es); per
//! endpoint a veth pair whose container side is created inside the container's namespace
//! (named `eth0`, `eth1` …, with its MAC and MTU), then given its addresses and default
//! route there; the firewall gets the network's masquerade and isolation rules.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use ipnet::IpNet;
use sha2::{Digest, Sha256};

use super::{DriverError, EndpointInfo, EndpointSpec, NetworkDriver, NetworkSpec};
use crate::firewall::{BridgeRules, Firewall};
use crate::link::{self, check_ifname, mac_from_ipv4, open_netns, random_mac, Netlink};
use crate::{netns, sysctl};

/// The `com.docker.network.*` options a bridge network accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeOptions {
    /// `com.docker.network.bridge.name`.
    pub name: Option<String>,
    /// `com.docker.network.bridge.enable_ip_masquerade` (default true).
    pub masquerade: bool,
    /// `com.docker.network.driver.mtu`.
    pub mtu: Option<u32>,
    /// `com.docker.network.bridge.host_binding_ipv4`: the default host address of published
    /// ports on this network.
    pub host_binding_ipv4: Option<IpAddr>,
    /// `com.docker.network.bridge.default_bridge`.
    pub default_bridge: bool,
}

/// Go's `strconv.ParseBool`.
fn parse_bool(option: &str, v: &str) -> Result<bool, DriverError> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(DriverError::InvalidOption {
            option: option.to_string(),
            reason: format!("invalid boolean value {v:?}"),
        }),
    }
}

/// Checks a network's driver options. Options berth does not implement are refused by name,
/// never ignored.
pub fn parse_bridge_options(opts: &BTreeMap<String, String>) -> Result<BridgeOptions, DriverError> {
    let mut o = BridgeOptions {
        name: None,
        masquerade: true,
        mtu: None,
        host_binding_ipv4: None,
        default_bridge: false,
    };
    for (k, v) in opts {
        let bad = |reason: String| DriverError::InvalidOption {
            option: k.clone(),
            reason,
        };
        match k.as_str() {
            "com.docker.network.bridge.name" => {
                check_ifname(v)?;
                o.name = Some(v.clone());
            }
            "com.docker.network.bridge.enable_ip_masquerade" => o.masquerade = parse_bool(k, v)?,
            "com.docker.network.bridge.enable_icc" => {
                if !parse_bool(k, v)? {
                    return Err(bad(
                        "disabling inter-container communication is not supported".into(),
                    ));
                }
            }
            "com.docker.network.driver.mtu" => {
                let mtu = v
                    .parse::<u32>()
                    .ok()
                    .filter(|m| (68..=65535).contains(m))
                    .ok_or_else(|| bad(format!("invalid MTU {v:?}: must be 68 to 65535")))?;
                o.mtu = Some(mtu);
            }
            "com.docker.network.bridge.host_binding_ipv4" => {
                let ip: IpAddr = v
                    .parse()
                    .map_err(|_| bad(format!("{v:?} is not an IP address")))?;
                o.host_binding_ipv4 = Some(ip);
            }
            "com.docker.network.bridge.default_bridge" => o.default_bridge = parse_bool(k, v)?,
            _ => return Err(bad("unsupported bridge driver option".into())),
        }
    }
    Ok(o)
}

/// dockerd's bridge name for a user-defined network: `br-` and the id's first 12 characters.
pub fn default_bridge_name(network_id: &str) -> String {
    let short: String = network_id.chars().take(12).collect();
    format!("br-{short}")
}

/// The host side of an endpoint's veth: `veth` and 7 hex digits derived from the endpoint id,
/// so the daemon finds it again after a restart.
pub fn veth_name(endpoint_id: &str) -> String {
    let digest = Sha256::digest(endpoint_id.as_bytes());
    let hex: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    format!("veth{}", &hex[..7])
}

/// Whether the daemon-namespace interface `name` is a Linux bridge (sysfs shows a `bridge`
/// directory for those).
fn is_bridge(name: &str) -> bool {
    std::path::Path::new("/sys/class/net")
        .join(name)
        .join("bridge")
        .is_dir()
}

/// The bridge driver; owns a netlink connection in the daemon's namespace.
pub struct BridgeDriver {
    nl: Netlink,
    firewall: Arc<Firewall>,
    hairpin: bool,
}

impl BridgeDriver {
    /// A driver programming `firewall`; `hairpin` puts veths in hairpin mode (needed when the
    /// userland proxy is off and hairpin traffic is NATed in the kernel). Needs a runtime.
    pub fn new(firewall: Arc<Firewall>, hairpin: bool) -> Result<Self, DriverError> {
        Ok(BridgeDriver {
            nl: Netlink::host()?,
            firewall,
            hairpin,
        })
    }

    /// The daemon-namespace netlink connection (the engine reads host routes through it).
    pub fn netlink(&self) -> &Netlink {
        &self.nl
    }

    fn rules(net: &NetworkSpec) -> BridgeRules {
        BridgeRules {
            bridge: net.bridge.clone(),
            subnets: net.subnets.iter().map(|s| s.subnet).collect(),
            internal: net.internal,
            masquerade: net.masquerade,
        }
    }

    async fn setup_bridge(&self, net: &NetworkSpec, index: u32) -> Result<(), DriverError> {
        for s in &net.subnets {
            if s.gateway.is_ipv6() {
                // IPv6 may be off on a fresh bridge when the host defaults it off.
                let _ = sysctl::write_path(sysctl::disable_ipv6_path(&net.bridge), "0");
            }
            let addr = IpNet::new(s.gateway, s.subnet.prefix_len()).map_err(|_| {
                DriverError::InvalidOption {
                    option: "gateway".into(),
                    reason: format!("{} does not fit {}", s.gateway, s.subnet),
                }
            })?;
            self.nl.add_address(index, addr).await?;
        }
        self.nl.set_up(index).await?;
        self.firewall.set_network(&net.id, Self::rules(net)).await?;
        Ok(())
    }

    /// Inside the container: addresses, up, default routes. IPv6 is turned off on the
    /// interface when it gets no IPv6 address (dockerd does the same).
    async fn setup_inside(
        &self,
        net: &NetworkSpec,
        ep: &EndpointSpec,
    ) -> Result<Vec<IpAddr>, DriverError> {
        let inner = Netlink::in_netns(&ep.netns).await?;
        let index = inner
            .index_of(&ep.ifname)
            .await?
            .ok_or_else(|| link::LinkError::NotFound {
                name: ep.ifname.clone(),
            })?;
        if !ep.addresses.iter().any(|a| matches!(a, IpNet::V6(_))) {
            let p = sysctl::disable_ipv6_path(&ep.ifname);
            // Absent when IPv6 is compiled out or disabled for the whole namespace.
            let _ = netns::run_in_async(&ep.netns, move || sysctl::write_path(p, "1")).await?;
        }
        for a in &ep.addresses {
            inner.add_address(index, *a).await?;
        }
        inner.set_up(index).await?;
        let mut gateways = Vec::new();
        if ep.default_route && !net.internal {
            for a in &ep.addresses {
                let gw = net
                    .subnets
                    .iter()
                    .find(|s| s.subnet.contains(&a.addr()))
                    .map(|s| s.gateway);
                if let Some(gw) =
                    gw.filter(|g| !gateways.iter().any(|x: &IpAddr| x.is_ipv4() == g.is_ipv4()))
                {
                    inner.add_default_route(gw, index).await?;
                    gateways.push(gw);
                }
            }
        }
        Ok(gateways)
    }
}

impl NetworkDriver for BridgeDriver {
    fn name(&self) -> &'static str {
        "bridge"
    }

    fn validate(&self, net: &NetworkSpec) -> Result<(), DriverError> {
        check_ifname(&net.bridge)?;
        if !(68..=65535).contains(&net.mtu) {
            return Err(DriverError::InvalidOption {
                option: "com.docker.network.driver.mtu".into(),
                reason: format!("invalid MTU {}: must be 68 to 65535", net.mtu),
            });
        }
        for s in &net.subnets {
            if !s.subnet.contains(&s.gateway) {
                return Err(DriverError::InvalidOption {
                    option: "gateway".into(),
                    reason: format!("{} is not in {}", s.gateway, s.subnet),
                });
            }
        }
        Ok(())
    }

    async fn create(&self, net: &NetworkSpec) -> Result<(), DriverError> {
        self.validate(net)?;
        let (index, created) = match self.nl.index_of(&net.bridge).await? {
            // A restart finds its bridge; anything else by that name is not ours to use.
            Some(_) if !is_bridge(&net.bridge) => {
                return Err(DriverError::InvalidOption {
                    option: "com.docker.network.bridge.name".into(),
                    reason: format!("interface {} exists and is not a bridge", net.bridge),
                })
            }
            Some(i) => (i, false),
            None => (self.nl.create_bridge(&net.bridge, net.mtu).await?, true),
        };
        if let Err(e) = self.setup_bridge(net, index).await {
            if created {
                let _ = self.nl.delete_link(index).await;
            }
            return Err(e);
        }
        tracing::debug!(network = %net.name, bridge = %net.bridge, created, "bridge ready");
        Ok(())
    }

    async fn connect(
        &self,
        net: &NetworkSpec,
        ep: &EndpointSpec,
    ) -> Result<EndpointInfo, DriverError> {
        check_ifname(&ep.ifname)?;
        let bridge = self
            .nl
            .index_of(&net.bridge)
            .await?
            .ok_or_else(|| DriverError::NoBridge {
                bridge: net.bridge.clone(),
                network: net.name.clone(),
            })?;
        let host_ifname = veth_name(&ep.id);
        let mac = ep.mac.unwrap_or_else(|| {
            ep.addresses
                .iter()
                .find_map(|a| match a.addr() {
                    IpAddr::V4(v4) => Some(mac_from_ipv4(v4)),
                    IpAddr::V6(_) => None,
                })
                .unwrap_or_else(random_mac)
        });
        let netns_file = open_netns(&ep.netns)?;
        let host_index = self
            .nl
            .create_veth(&host_ifname, &ep.ifname, &netns_file, net.mtu, mac, bridge)
            .await?;
        let inside = async {
            if self.hairpin {
                self.nl.set_hairpin(host_index, true).await?;
            }
            self.setup_inside(net, ep).await
        };
        match inside.await {
            Ok(gateways) => Ok(EndpointInfo {
                host_ifname,
                ifname: ep.ifname.clone(),
                mac: Some(mac),
                addresses: ep.addresses.clone(),
                gateways,
            }),
            Err(e) => {
                // Deleting the host side takes the container side with it.
                let _ = self.nl.delete_link(host_index).await;
                Err(e)
            }
        }
    }

    async fn disconnect(&self, _net: &NetworkSpec, ep: &EndpointSpec) -> Result<(), DriverError> {
        if let Some(index) = self.nl.index_of(&veth_name(&ep.id)).await? {
            self.nl.delete_link(index).await?;
        }
        Ok(())
    }

    /// Nothing: the kernel deletes the veth pair when the namespace goes (asynchronously, in
    /// its netns cleanup work), where an explicit delete costs 15–30 ms of RTNL and RCU
    /// waits on the stop path. The namespace must really go: no process and no socket (the
    /// DNS server's, a netlink one) may still hold it.
    async fn release(&self, _net: &NetworkSpec, _ep: &EndpointSpec) -> Result<(), DriverError> {
        Ok(())
    }

    async fn delete(&self, net: &NetworkSpec) -> Result<(), DriverError> {
        let mut errors = Vec::new();
        if let Err(e) = self.firewall.remove_network(&net.id).await {
            errors.push(e.into());
        }
        match self.nl.index_of(&net.bridge).await {
            Ok(Some(index)) => {
                if let Err(e) = self.nl.delete_link(index).await {
                    errors.push(e.into());
                }
            }
            Ok(None) => {}
            Err(e) => errors.push(e.into()),
        }
        match errors.len() {
            0 => Ok(()),
            1 => Err(errors.remove(0)),
            _ => Err(DriverError::Cleanup(errors)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn opts(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn options() {
        let o = parse_bridge_options(&opts(&[])).unwrap();
        assert!(o.masquerade && o.name.is_none() && o.mtu.is_none());
        let o = parse_bridge_options(&opts(&[
            ("com.docker.network.bridge.name", "mybr0"),
            ("com.docker.network.bridge.enable_ip_masquerade", "false"),
            ("com.docker.network.bridge.enable_icc", "true"),
            ("com.docker.network.driver.mtu", "1400"),
            ("com.docker.network.bridge.host_binding_ipv4", "127.0.0.1"),
            ("com.docker.network.bridge.default_bridge", "true"),
        ]))
        .unwrap();
        assert_eq!(o.name.as_deref(), Some("mybr0"));
        assert!(!o.masquerade && o.default_bridge);
        assert_eq!(o.mtu, Some(1400));
        assert_eq!(o.host_binding_ipv4, Some("127.0.0.1".parse().unwrap()));
        for bad in [
            ("com.docker.network.bridge.enable_icc", "false"),
            ("com.docker.network.driver.mtu", "10"),
            ("com.docker.network.bridge.enable_ip_masquerade", "yes"),
            ("com.docker.network.bridge.name", "a name"),
            ("com.docker.network.bridge.gateway_mode_ipv4", "routed"),
            ("colour", "blue"),
        ] {
            let err = parse_bridge_options(&opts(&[bad])).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{bad:?}");
        }
        let err = parse_bridge_options(&opts(&[("colour", "blue")])).unwrap_err();
        assert_eq!(err.to_string(), "colour: unsupported bridge driver option");
    }

    #[test]
    fn names() {
        assert_eq!(
            default_bridge_name("0123456789abcdef0123"),
            "br-0123456789ab"
        );
        let v = veth_name("ep-1");
        assert_eq!(v.len(), 11);
        assert!(v.starts_with("veth"));
        assert_eq!(v, veth_name("ep-1"));
        assert_ne!(v, veth_name("ep-2"));
        check_ifname(&v).unwrap();
    }
}
