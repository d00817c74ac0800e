//! A container's `/etc/hosts`, as dockerd writes it (moby `libnetwork/etchosts` and
//! `Sandbox.buildHostsFile`): the loopback defaults (IPv6 ones only when the container has
//! IPv6), then `--add-host` entries, then the container's own addresses with its host name,
//! then one line per legacy link.

use std::fmt::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::FilesError;

/// One line: an address and the names for it (space separated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostsEntry {
    /// The address.
    pub ip: IpAddr,
    /// The names, space separated.
    pub names: String,
}

impl HostsEntry {
    /// An entry.
    pub fn new(ip: IpAddr, names: impl Into<String>) -> Self {
        HostsEntry {
            ip,
            names: names.into(),
        }
    }
}

/// The special value of `--add-host name:host-gateway`.
pub const HOST_GATEWAY: &str = "host-gateway";

/// What goes into a container's hosts file.
#[derive(Debug, Clone, Default)]
pub struct HostsConfig<'a> {
    /// Whether the container has IPv6 (adds the IPv6 defaults and keeps IPv6 entries).
    pub ipv6: bool,
    /// `--hostname`.
    pub hostname: &'a str,
    /// `--domainname`.
    pub domainname: &'a str,
    /// The container's own addresses (one line each, with its host name).
    pub own_addresses: &'a [IpAddr],
    /// `--add-host` entries, already parsed ([`parse_extra_host`]).
    pub extra: &'a [HostsEntry],
    /// Legacy link entries ([`crate::files::links::hosts_entry`]).
    pub links: &'a [HostsEntry],
}

/// The file's content.
pub fn build(cfg: &HostsConfig<'_>) -> String {
    let mut lines: Vec<HostsEntry> = vec![HostsEntry::new(Ipv4Addr::LOCALHOST.into(), "localhost")];
    if cfg.ipv6 {
        lines.push(HostsEntry::new(
            Ipv6Addr::LOCALHOST.into(),
            "localhost ip6-localhost ip6-loopback",
        ));
        for (ip, name) in [
            ("fe00::", "ip6-localnet"),
            ("ff00::", "ip6-mcastprefix"),
            ("ff02::1", "ip6-allnodes"),
            ("ff02::2", "ip6-allrouters"),
        ] {
            lines.push(HostsEntry::new(ip.parse().expect("static address"), name));
        }
    }
    lines.extend(cfg.extra.iter().cloned());
    let own = own_names(cfg.hostname, cfg.domainname);
    if !own.is_empty() {
        lines.extend(
            cfg.own_addresses
                .iter()
                .map(|ip| HostsEntry::new(*ip, own.clone())),
        );
    }
    lines.extend(cfg.links.iter().cloned());
    let mut out = String::new();
    for l in lines.iter().filter(|l| cfg.ipv6 || l.ip.is_ipv4()) {
        let _ = writeln!(out, "{}\t{}", l.ip, l.names);
    }
    out
}

/// The names of the container's own line: the FQDN, and the bare host name when they
/// differ (`web.example.com web`).
pub fn own_names(hostname: &str, domainname: &str) -> String {
    let mut names = hostname.to_string();
    if !domainname.is_empty() {
        names = format!("{names}.{domainname}");
    }
    if let Some((short, _)) = names.split_once('.') {
        let short = short.to_string();
        names = format!("{names} {short}");
    }
    names
}

/// Parses one `--add-host` value (`name:ip`, split at the first colon so IPv6 addresses
/// work; `name:host-gateway` becomes one entry per host gateway address).
pub fn parse_extra_host(
    value: &str,
    host_gateway: &[IpAddr],
) -> Result<Vec<HostsEntry>, FilesError> {
    let (name, addr) = value
        .split_once(':')
        .filter(|(n, _)| !n.is_empty())
        .ok_or_else(|| FilesError::BadExtraHost {
            value: value.to_string(),
        })?;
    if addr == HOST_GATEWAY {
        if host_gateway.is_empty() {
            return Err(FilesError::NoHostGateway);
        }
        return Ok(host_gateway
            .iter()
            .map(|ip| HostsEntry::new(*ip, name))
            .collect());
    }
    // The docker CLI sends IPv6 addresses bare, but accept the bracketed form too.
    let bare = addr.trim_start_matches('[').trim_end_matches(']');
    let ip: IpAddr = bare.parse().map_err(|_| FilesError::BadExtraHostAddress {
        value: addr.to_string(),
    })?;
    Ok(vec![HostsEntry::new(ip, name)])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn default_bridge_container_like_dockerd() {
        let own = [ip("172.17.0.2")];
        let content = build(&HostsConfig {
            ipv6: true,
            hostname: "3f4e5d6c7b8a",
            own_addresses: &own,
            ..Default::default()
        });
        assert_eq!(
            content,
            "127.0.0.1\tlocalhost\n\
             ::1\tlocalhost ip6-localhost ip6-loopback\n\
             fe00::\tip6-localnet\n\
             ff00::\tip6-mcastprefix\n\
             ff02::1\tip6-allnodes\n\
             ff02::2\tip6-allrouters\n\
             172.17.0.2\t3f4e5d6c7b8a\n"
        );
    }

    #[test]
    fn no_ipv6_drops_ipv6_lines_and_orders_extra_own_links() {
        let extra = [
            HostsEntry::new(ip("10.0.0.5"), "db"),
            HostsEntry::new(ip("fd00::5"), "db6"),
        ];
        let links = [HostsEntry::new(ip("172.17.0.3"), "web abcdef web1")];
        let own = [ip("172.17.0.2")];
        let content = build(&HostsConfig {
            ipv6: false,
            hostname: "box",
            domainname: "example.com",
            own_addresses: &own,
            extra: &extra,
            links: &links,
        });
        assert_eq!(
            content,
            "127.0.0.1\tlocalhost\n\
             10.0.0.5\tdb\n\
             172.17.0.2\tbox.example.com box\n\
             172.17.0.3\tweb abcdef web1\n"
        );
    }

    #[test]
    fn own_names_fqdn() {
        assert_eq!(own_names("a", ""), "a");
        assert_eq!(own_names("a.b.c", ""), "a.b.c a");
        assert_eq!(own_names("a", "b.c"), "a.b.c a");
        assert_eq!(own_names("", ""), "");
    }

    #[test]
    fn add_host_values() {
        assert_eq!(
            parse_extra_host("db:10.0.0.5", &[]).unwrap(),
            vec![HostsEntry::new(ip("10.0.0.5"), "db")]
        );
        assert_eq!(
            parse_extra_host("v6:fd00::1:2", &[]).unwrap(),
            vec![HostsEntry::new(ip("fd00::1:2"), "v6")]
        );
        assert_eq!(parse_extra_host("v6:[::1]", &[]).unwrap()[0].ip, ip("::1"));
        let gw = [ip("172.17.0.1"), ip("fd00::1")];
        assert_eq!(
            parse_extra_host("host.docker.internal:host-gateway", &gw)
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            parse_extra_host("h:host-gateway", &[]).unwrap_err(),
            FilesError::NoHostGateway
        );
        assert!(matches!(
            parse_extra_host("nocolon", &[]),
            Err(FilesError::BadExtraHost { .. })
        ));
        assert!(matches!(
            parse_extra_host(":1.2.3.4", &[]),
            Err(FilesError::BadExtraHost { .. })
        ));
        let err = parse_extra_host("db:not-an-ip", &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid IP address in add-host: \"not-an-ip\""
        );
    }
}
