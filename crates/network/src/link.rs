//! Netlink operations on links, addresses and routes, over `rtnetlink` (pinned: its API
//! changes between minor versions).
//!
//! A [`Netlink`] is one rtnetlink connection bound to the network namespace its socket was
//! created in: [`Netlink::host`] for the daemon's namespace, [`Netlink::in_netns`] for a
//! container's (the socket is opened by a dedicated thread that entered the namespace, then
//! served by the caller's runtime, so no tokio worker ever changes namespace).

use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::path::Path;

use futures_util::TryStreamExt;
use ipnet::IpNet;
use rtnetlink::packet_route::address::{AddressAttribute, AddressFlags, AddressHeaderFlags};
use rtnetlink::packet_route::link::{InfoData, InfoKind, InfoVeth, LinkAttribute};
use rtnetlink::packet_route::route::{RouteAddress, RouteAttribute, RouteHeader, RouteType};
use rtnetlink::{
    LinkBridge, LinkBridgePort, LinkMessageBuilder, LinkUnspec, LinkVeth, RouteMessageBuilder,
};

use crate::netns::{self, NetnsError};
use crate::ErrorKind;

/// A netlink or namespace failure; `op` says what was being done and `name` to what.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The kernel refused a request.
    #[error("{op} {name}: {source}")]
    Netlink {
        op: &'static str,
        name: String,
        #[source]
        source: rtnetlink::Error,
    },
    /// The netlink socket could not be opened.
    #[error("open netlink socket: {0}")]
    Socket(#[source] std::io::Error),
    /// Entering the container's namespace failed.
    #[error(transparent)]
    Netns(#[from] NetnsError),
    /// An interface name the kernel would refuse.
    #[error("invalid interface name {name:?}: {reason}")]
    InvalidName { name: String, reason: &'static str },
    /// An interface that must exist does not.
    #[error("interface {name} not found")]
    NotFound { name: String },
}

impl LinkError {
    /// The error's kind.
    pub fn kind(&self) -> ErrorKind {
        match self {
            LinkError::InvalidName { .. } => ErrorKind::InvalidArgument,
            LinkError::NotFound { .. } => ErrorKind::NotFound,
            LinkError::Netlink { source, .. } if errno(source) == Some(libc::EEXIST) => {
                ErrorKind::Conflict
            }
            _ => ErrorKind::Internal,
        }
    }
}

/// The errno of a kernel refusal, if that is what the error is.
pub fn errno(e: &rtnetlink::Error) -> Option<i32> {
    match e {
        rtnetlink::Error::NetlinkError(m) => m.code.map(|c| -c.get()),
        _ => None,
    }
}

/// Checks an interface name as the kernel would (`dev_valid_name`): 1–15 bytes, not `.` or
/// `..`, no `/`, `:` or whitespace. Quotes are refused too since names end up in nft rules.
pub fn check_ifname(name: &str) -> Result<(), LinkError> {
    let bad = |reason| {
        Err(LinkError::InvalidName {
            name: name.to_string(),
            reason,
        })
    };
    if name.is_empty() || name.len() > 15 {
        return bad("must be 1 to 15 bytes long");
    }
    if name == "." || name == ".." {
        return bad("must not be . or ..");
    }
    if name.bytes().any(|b| {
        b == b'/' || b == b':' || b == b'"' || b == b'\'' || b == b'\\' || !b.is_ascii_graphic()
    }) {
        return bad("must be printable ASCII without / : quotes or spaces");
    }
    Ok(())
}

/// A MAC address.
pub type Mac = [u8; 6];

/// dockerd's MAC for an endpoint with an IPv4 address and no `--mac-address`: `02:42`
/// followed by the four bytes of the address.
pub fn mac_from_ipv4(ip: std::net::Ipv4Addr) -> Mac {
    let o = ip.octets();
    [0x02, 0x42, o[0], o[1], o[2], o[3]]
}

/// A random locally administered unicast MAC.
pub fn random_mac() -> Mac {
    let mut m: Mac = rand::random();
    m[0] = (m[0] & 0xfe) | 0x02;
    m
}

/// `02:42:ac:11:00:02`.
pub fn format_mac(m: &Mac) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Parses `--mac-address` (six colon- or dash-separated hex bytes); multicast refused.
pub fn parse_mac(s: &str) -> Option<Mac> {
    let parts: Vec<&str> = s.split([':', '-']).collect();
    if parts.len() != 6 {
        return None;
    }
    let mut m = [0u8; 6];
    for (dst, p) in m.iter_mut().zip(parts) {
        if p.len() != 2 {
            return None;
        }
        *dst = u8::from_str_radix(p, 16).ok()?;
    }
    (m[0] & 1 == 0).then_some(m)
}

/// One rtnetlink connection; its background task stops when this is dropped.
pub struct Netlink {
    handle: rtnetlink::Handle,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Netlink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn nl(op: &'static str, name: impl Into<String>) -> impl FnOnce(rtnetlink::Error) -> LinkError {
    let name = name.into();
    move |source| LinkError::Netlink { op, name, source }
}

impl Netlink {
    /// A connection in the calling thread's namespace (the daemon's). Needs a tokio runtime.
    pub fn host() -> Result<Self, LinkError> {
        let (conn, handle, _) = rtnetlink::new_connection().map_err(LinkError::Socket)?;
        Ok(Netlink {
            handle,
            task: tokio::spawn(conn),
        })
    }

    /// A connection inside the namespace pinned at `netns`.
    pub async fn in_netns(netns: &Path) -> Result<Self, LinkError> {
        let rt = tokio::runtime::Handle::current();
        let (conn, handle, _) = netns::run_in_async(netns, move || {
            // The socket's reactor registration is the caller's runtime; only its creation
            // happens in the namespace.
            let _guard = rt.enter();
            rtnetlink::new_connection()
        })
        .await?
        .map_err(LinkError::Socket)?;
        Ok(Netlink {
            handle,
            task: tokio::spawn(conn),
        })
    }

    /// The index of the interface called `name`, if there is one.
    pub async fn index_of(&self, name: &str) -> Result<Option<u32>, LinkError> {
        let mut links = self
            .handle
            .link()
            .get()
            .match_name(name.to_string())
            .execute();
        match links.try_next().await {
            Ok(Some(msg)) => Ok(Some(msg.header.index)),
            Ok(None) => Ok(None),
            Err(e) if matches!(errno(&e), Some(libc::ENODEV) | Some(libc::ENOENT)) => Ok(None),
            Err(e) => Err(nl("look up", name)(e)),
        }
    }

    /// The MAC address of an interface.
    pub async fn mac_of(&self, index: u32) -> Result<Option<Mac>, LinkError> {
        let mut links = self.handle.link().get().match_index(index).execute();
        let msg = links
            .try_next()
            .await
            .map_err(nl("look up", index.to_string()))?;
        Ok(msg.and_then(|m| {
            m.attributes.iter().find_map(|a| match a {
                LinkAttribute::Address(b) if b.len() == 6 => {
                    let mut mac = [0u8; 6];
                    mac.copy_from_slice(b);
                    Some(mac)
                }
                _ => None,
            })
        }))
    }

    /// Creates a bridge, up, with `mtu`. Returns its index.
    pub async fn create_bridge(&self, name: &str, mtu: u32) -> Result<u32, LinkError> {
        check_ifname(name)?;
        let msg = LinkBridge::new(name).mtu(mtu).build();
        self.handle
            .link()
            .add(msg)
            .execute()
            .await
            .map_err(nl("create bridge", name))?;
        self.index_of(name).await?.ok_or(LinkError::NotFound {
            name: name.to_string(),
        })
    }

    /// Deletes an interface; one already gone is not an error.
    pub async fn delete_link(&self, index: u32) -> Result<(), LinkError> {
        match self.handle.link().del(index).execute().await {
            Err(e) if matches!(errno(&e), Some(libc::ENODEV) | Some(libc::ENOENT)) => Ok(()),
            r => r.map_err(nl("delete link", index.to_string())),
        }
    }

    /// Brings an interface up.
    pub async fn set_up(&self, index: u32) -> Result<(), LinkError> {
        let msg = LinkUnspec::new_with_index(index).up().build();
        self.handle
            .link()
            .change(msg)
            .execute()
            .await
            .map_err(nl("set up", index.to_string()))
    }

    /// Adds `addr` (address/prefix) to an interface, without duplicate address detection
    /// (an IPv6 address is usable at once). Already present is not an error.
    pub async fn add_address(&self, index: u32, addr: IpNet) -> Result<(), LinkError> {
        let mut req = self
            .handle
            .address()
            .add(index, addr.addr(), addr.prefix_len());
        let msg = req.message_mut();
        msg.header.flags |= AddressHeaderFlags::Nodad;
        msg.attributes
            .push(AddressAttribute::Flags(AddressFlags::Nodad));
        match req.execute().await {
            Err(e) if errno(&e) == Some(libc::EEXIST) => Ok(()),
            r => r.map_err(nl("add address", addr.to_string())),
        }
    }

    /// Creates a veth pair: `host_name` in this namespace, enslaved to `bridge`, up; its peer
    /// `peer_name` created directly inside `netns` (so its name may be `eth0` whatever the
    /// host has) with `mac` and `mtu`. Returns the host side's index.
    pub async fn create_veth(
        &self,
        host_name: &str,
        peer_name: &str,
        netns: &std::fs::File,
        mtu: u32,
        mac: Mac,
        bridge: u32,
    ) -> Result<u32, LinkError> {
        check_ifname(host_name)?;
        check_ifname(peer_name)?;
        let peer = LinkMessageBuilder::<LinkUnspec>::new()
            .name(peer_name)
            .mtu(mtu)
            .address(mac.to_vec())
            .setns_by_fd(netns.as_raw_fd())
            .build();
        let msg = LinkMessageBuilder::<LinkVeth>::new_with_info_kind(InfoKind::Veth)
            .name(host_name)
            .mtu(mtu)
            .controller(bridge)
            .up()
            .set_info_data(InfoData::Veth(InfoVeth::Peer(peer)))
            .build();
        self.handle
            .link()
            .add(msg)
            .execute()
            .await
            .map_err(nl("create veth", host_name))?;
        self.index_of(host_name).await?.ok_or(LinkError::NotFound {
            name: host_name.to_string(),
        })
    }

    /// Sets hairpin mode on a bridge port (traffic may leave by the port it came in).
    pub async fn set_hairpin(&self, index: u32, on: bool) -> Result<(), LinkError> {
        let msg = LinkBridgePort::new(index).hairpin(on).build();
        self.handle
            .link()
            .set_port(msg)
            .execute()
            .await
            .map_err(nl("set hairpin", index.to_string()))
    }

    /// Adds the default route via `gateway` on interface `index`.
    pub async fn add_default_route(&self, gateway: IpAddr, index: u32) -> Result<(), LinkError> {
        let msg = match gateway {
            IpAddr::V4(gw) => RouteMessageBuilder::<std::net::Ipv4Addr>::new()
                .gateway(gw)
                .output_interface(index)
                .build(),
            IpAddr::V6(gw) => RouteMessageBuilder::<std::net::Ipv6Addr>::new()
                .gateway(gw)
                .output_interface(index)
                .build(),
        };
        match self.handle.route().add(msg).execute().await {
            Err(e) if errno(&e) == Some(libc::EEXIST) => Ok(()),
            r => r.map_err(nl("add default route via", gateway.to_string())),
        }
    }

    /// The destinations of the main routing table, default routes left out: what a new
    /// network's subnet must not overlap (dockerd checks the same).
    pub async fn host_prefixes(&self) -> Result<Vec<IpNet>, LinkError> {
        let mut out = Vec::new();
        for v6 in [false, true] {
            let msg = if v6 {
                RouteMessageBuilder::<std::net::Ipv6Addr>::new().build()
            } else {
                RouteMessageBuilder::<std::net::Ipv4Addr>::new().build()
            };
            let mut routes = self.handle.route().get(msg).execute();
            while let Some(r) = routes.try_next().await.map_err(nl("list routes", ""))? {
                let len = r.header.destination_prefix_length;
                if r.header.table != RouteHeader::RT_TABLE_MAIN
                    || r.header.kind != RouteType::Unicast
                    || len == 0
                {
                    continue;
                }
                let dest = r.attributes.iter().find_map(|a| match a {
                    RouteAttribute::Destination(RouteAddress::Inet(a)) => Some(IpAddr::V4(*a)),
                    RouteAttribute::Destination(RouteAddress::Inet6(a)) => Some(IpAddr::V6(*a)),
                    _ => None,
                });
                if let Some(net) = dest.and_then(|d| IpNet::new(d, len).ok()) {
                    // fe80::/64 is on every interface and never a network's subnet.
                    if !matches!(net, IpNet::V6(n) if n.addr().segments()[0] == 0xfe80) {
                        out.push(net.trunc());
                    }
                }
            }
        }
        Ok(out)
    }
}

/// Opens the namespace file for [`Netlink::create_veth`].
pub fn open_netns(path: &Path) -> Result<std::fs::File, LinkError> {
    std::fs::File::open(path).map_err(|source| {
        LinkError::Netns(NetnsError::File {
            path: path.to_owned(),
            source,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_names() {
        assert!(check_ifname("eth0").is_ok());
        assert!(check_ifname("br-0123456789ab").is_ok());
        assert!(check_ifname("br-0123456789abc").is_err(), "16 bytes");
        for bad in ["", ".", "..", "a/b", "a:b", "a b", "a\"b", "é"] {
            let err = check_ifname(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{bad}");
        }
    }

    #[test]
    fn macs() {
        let m = mac_from_ipv4("172.17.0.2".parse().unwrap());
        assert_eq!(format_mac(&m), "02:42:ac:11:00:02");
        assert_eq!(parse_mac("02:42:AC:11:00:02"), Some(m));
        assert_eq!(parse_mac("02-42-ac-11-00-02"), Some(m));
        assert_eq!(parse_mac("01:42:ac:11:00:02"), None, "multicast");
        assert_eq!(parse_mac("02:42:ac:11:00"), None);
        assert_eq!(parse_mac("02:42:ac:11:00:2"), None);
        assert_eq!(parse_mac("zz:42:ac:11:00:02"), None);
        for _ in 0..32 {
            let r = random_mac();
            assert_eq!(r[0] & 0x03, 0x02, "local unicast");
        }
    }
}
