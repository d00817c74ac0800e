//! Create-time (and connect-time) checks of a container's networking, with dockerd's
//! messages (moby `runconfig/errors.go`, `validateEndpointSettings`): the network mode, the
//! endpoints asked for, static addresses, aliases, MACs, published ports, `--dns` and
//! `--add-host` values. Nothing is allocated here: a container that was created can start,
//! and a refused one leaves nothing behind.

use std::collections::BTreeMap;
use std::net::IpAddr;

use api_types::network::{EndpointSettings, NetworkingConfig};
use api_types::HostConfig;
use network::ports::{Proto, PublishRequest};

use super::record::{Attachment, NetworkRecord};
use super::{find_in, NetError, NetworkService, Result};

const CONFLICT_CONTAINER_HOSTNAME: &str = "conflicting options: hostname and the network mode";
const CONFLICT_CONTAINER_LINKS: &str = "conflicting options: container type network can't be used with links. This would result in undefined behavior";
const CONFLICT_CONTAINER_DNS: &str = "conflicting options: dns and the network mode";
const CONFLICT_CONTAINER_HOSTS: &str =
    "conflicting options: custom host-to-IP mapping and the network mode";
const CONFLICT_CONTAINER_PUBLISH: &str =
    "conflicting options: port publishing and the container type network mode";
const CONFLICT_CONTAINER_EXPOSE: &str =
    "conflicting options: port exposing and the container type network mode";
const CONFLICT_HOST_LINKS: &str = "conflicting options: host type networking can't be used with links. This would result in undefined behavior";
const CONFLICT_MAC: &str = "conflicting options: mac-address and the network mode";
const CONFLICT_SHARED: &str = "container sharing network namespace with another container or host cannot be connected to any other network";
const CONFLICT_HOST: &str =
    "container cannot be disconnected from host network or connected to host network";
const CONFLICT_NONE: &str = "container cannot be connected to multiple networks with one of the networks in private (none) mode";
const UNSUPPORTED_IP: &str = "user specified IP address is supported on user defined networks only";
const UNSUPPORTED_IP_NO_SUBNET: &str = "user specified IP address is supported only when connecting to networks with user configured subnets";
const UNSUPPORTED_ALIAS: &str =
    "network-scoped alias is supported only for containers in user defined networks";

/// What the network service needs to know about a container.
#[derive(Debug, Clone, Copy)]
pub struct ContainerNet<'a> {
    /// Full id.
    pub id: &'a str,
    /// Name, without `/`.
    pub name: &'a str,
    /// `Config.Hostname` (as it will be: the short id when not set).
    pub hostname: &'a str,
    /// `Config.Domainname`.
    pub domainname: &'a str,
    /// Its host config.
    pub host_config: &'a HostConfig,
    /// `Config.ExposedPorts` (the image's merged in).
    pub exposed: Option<&'a BTreeMap<String, serde_json::Value>>,
    /// Its networks.
    pub attachments: &'a [Attachment],
}

/// A legacy link of a container on the default bridge, resolved by the container service.
#[derive(Debug, Clone)]
pub struct LinkTarget {
    /// The alias (`db` of `--link db:db`).
    pub alias: String,
    /// The link's name (`/web/db`).
    pub name: String,
    /// The linked container.
    pub container_id: String,
    /// Its name, without `/`.
    pub container_name: String,
    /// Its host name.
    pub hostname: String,
    /// Its environment.
    pub env: Vec<String>,
    /// Its exposed ports (`80/tcp` keys).
    pub exposed: Vec<String>,
}

/// What create records: the normalised network mode, the attachments, warnings for the
/// client.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// `HostConfig.NetworkMode` as stored (`default` becomes `bridge`, as dockerd stores it).
    pub network_mode: String,
    /// The container's networks, the mode's first.
    pub attachments: Vec<Attachment>,
    /// Warnings for the create response.
    pub warnings: Vec<String>,
}

fn invalid(msg: impl Into<String>) -> NetError {
    NetError::Invalid(msg.into())
}

/// The container a `container:<id>` mode names, if that is the mode.
pub fn container_mode(mode: &str) -> Option<&str> {
    mode.strip_prefix("container:")
}

/// `80/tcp` → (80, tcp).
pub(crate) fn parse_port_key(key: &str) -> Result<(u16, Proto)> {
    let (num, proto) = key.split_once('/').unwrap_or((key, "tcp"));
    let port = num
        .parse::<u16>()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| invalid(format!("invalid port {key:?}")))?;
    Ok((port, proto.parse()?))
}

/// The publish requests of a host config (`-p`), and with `-P` one ephemeral port for each
/// exposed port not published otherwise.
pub(crate) fn publish_requests(
    hc: &HostConfig,
    exposed: Option<&BTreeMap<String, serde_json::Value>>,
) -> Result<Vec<PublishRequest>> {
    let mut out = Vec::new();
    let mut published = std::collections::BTreeSet::new();
    for (key, bindings) in hc.port_bindings.iter().flatten() {
        for b in bindings.iter().flatten() {
            let req = PublishRequest::from_binding(key, &b.host_ip, &b.host_port)?;
            if req.proto == Proto::Sctp {
                return Err(invalid(format!(
                    "publishing SCTP ports is not supported by berth ({key})"
                )));
            }
            published.insert((req.container_port, req.proto));
            out.push(req);
        }
    }
    if hc.publish_all_ports {
        for key in exposed.into_iter().flatten().map(|(k, _)| k) {
            let (port, proto) = parse_port_key(key)?;
            if proto == Proto::Sctp || published.contains(&(port, proto)) {
                continue;
            }
            out.push(PublishRequest {
                container_port: port,
                proto,
                host_ip: None,
                host_ports: (0, 0),
            });
        }
    }
    Ok(out)
}

/// dockerd's `buildEndpointDNSNames`: name, aliases, short id, host name, deduplicated.
pub(crate) fn dns_names(c: &ContainerNet<'_>, aliases: &[String]) -> Vec<String> {
    let mut names = vec![c.name.to_string()];
    names.extend(aliases.iter().cloned());
    names.push(c.id.chars().take(12).collect());
    if !c.hostname.is_empty() {
        names.push(c.hostname.to_string());
    }
    let mut seen = std::collections::HashSet::new();
    names.retain(|n| !n.is_empty() && seen.insert(n.clone()));
    names
}

/// What the user (not the image) set in `Config`, which some network modes refuse.
#[derive(Debug, Clone, Copy, Default)]
pub struct UserConfig<'a> {
    /// The container-wide `Config.MacAddress` (API < 1.44).
    pub mac: &'a str,
    /// Ports were exposed (`--expose`).
    pub exposed: bool,
    /// A host name was given.
    pub hostname: bool,
}

type Endpoints = BTreeMap<String, Option<EndpointSettings>>;

/// `--network container:<id>` shares another container's stack: what would configure this
/// one's is refused (dockerd's `validateNetContainerMode`).
fn check_container_mode(
    hc: &HostConfig,
    user: &UserConfig<'_>,
    has_ports: bool,
    endpoints: &Endpoints,
    target: &str,
) -> Result<()> {
    if target.is_empty() {
        return Err(invalid(
            "Invalid network mode: invalid container format container:<name|id>",
        ));
    }
    let set = |v: &Option<Vec<String>>| v.as_ref().is_some_and(|v| !v.is_empty());
    let conflicts = [
        (user.hostname, CONFLICT_CONTAINER_HOSTNAME),
        (set(&hc.links), CONFLICT_CONTAINER_LINKS),
        (set(&hc.dns), CONFLICT_CONTAINER_DNS),
        (set(&hc.extra_hosts), CONFLICT_CONTAINER_HOSTS),
        (has_ports, CONFLICT_CONTAINER_PUBLISH),
        (user.exposed, CONFLICT_CONTAINER_EXPOSE),
        (!user.mac.is_empty(), CONFLICT_MAC),
        (!endpoints.is_empty(), CONFLICT_SHARED),
    ];
    match conflicts.iter().find(|(bad, _)| *bad) {
        Some((_, msg)) => Err(invalid(*msg)),
        None => Ok(()),
    }
}

/// Only bridge networks combine: host and none stand alone.
fn check_combination(
    main: Option<&NetworkRecord>,
    others: &[(NetworkRecord, EndpointSettings)],
) -> Result<()> {
    if others.is_empty() {
        return Ok(());
    }
    match main.map(|m| m.driver.as_str()) {
        Some("host") => return Err(invalid(CONFLICT_SHARED)),
        Some("null") | None => return Err(invalid(CONFLICT_NONE)),
        _ => {}
    }
    if others.iter().any(|(n, _)| n.driver == "host") {
        return Err(invalid(CONFLICT_HOST));
    }
    if others.iter().any(|(n, _)| n.driver == "null") {
        return Err(invalid(CONFLICT_NONE));
    }
    Ok(())
}

/// Moves the container-wide MAC (API < 1.44) to the main endpoint, as dockerd does.
fn migrate_mac(
    main: &NetworkRecord,
    settings: &mut EndpointSettings,
    user_mac: &str,
    warnings: &mut Vec<String>,
) -> Result<()> {
    if user_mac.is_empty() {
        return Ok(());
    }
    if main.driver != "bridge" {
        return Err(invalid(CONFLICT_MAC));
    }
    if settings.mac_address.is_empty() {
        settings.mac_address = user_mac.to_string();
    } else if settings.mac_address != user_mac {
        return Err(invalid("the container-wide MAC address must match the endpoint-specific MAC address for the main network, or be left empty"));
    }
    warnings.push("The container-wide MacAddress field is now deprecated. It should be specified in EndpointsConfig instead.".into());
    Ok(())
}

/// At create, a network that does not exist is the request's fault (400): a 404 would make
/// the docker CLI pull the image.
fn unknown(e: NetError) -> NetError {
    match e {
        NetError::NoSuchNetwork(n) => NetError::UnknownNetwork(n),
        e => e,
    }
}

impl NetworkService {
    /// Checks a new container's networking and returns what to record.
    pub fn plan(
        &self,
        c: &ContainerNet<'_>,
        user: &UserConfig<'_>,
        networking: &NetworkingConfig,
    ) -> Result<Plan> {
        let hc = c.host_config;
        let mode = match hc.network_mode.as_str() {
            "" | "default" => "bridge".to_string(),
            m => m.to_string(),
        };
        let mut plan = Plan {
            network_mode: mode.clone(),
            ..Default::default()
        };
        let mut endpoints: Endpoints = networking.endpoints_config.clone().unwrap_or_default();
        if let Some(ep) = endpoints.remove("default") {
            endpoints.insert(mode.clone(), ep);
        }
        check_dns_and_hosts(hc, &self.host_gateway())?;
        publish_requests(hc, c.exposed)?;
        let has_ports = hc.publish_all_ports || !publish_requests(hc, None)?.is_empty();
        let links = hc.links.as_ref().is_some_and(|l| !l.is_empty());
        if let Some(target) = container_mode(&mode) {
            check_container_mode(hc, user, has_ports, &endpoints, target)?;
            return Ok(plan);
        }
        if mode == "host" && links {
            return Err(invalid(CONFLICT_HOST_LINKS));
        }
        if mode == "host" && has_ports {
            plan.warnings
                .push("Published ports are discarded when using host network mode".into());
        }
        let main = if mode == "bridge" && self.cfg.bridge.is_none() {
            None
        } else {
            Some(
                self.read(|s| find_in(&s.networks, &mode).cloned())
                    .map_err(unknown)?,
            )
        };
        if let Some(main) = &main {
            if main.predefined {
                plan.network_mode = main.name.clone();
            } else if links {
                return Err(invalid(
                    "legacy links (HostConfig.Links) are only supported on the default bridge network; on a user-defined network use EndpointsConfig.Links",
                ));
            }
        }
        let mut main_settings = EndpointSettings::default();
        let mut others = Vec::new();
        for (term, settings) in endpoints {
            let settings = settings.ok_or_else(|| {
                invalid(format!(
                    "invalid config for network {term}: EndpointsConfig is nil"
                ))
            })?;
            let net = self
                .read(|s| find_in(&s.networks, &term).cloned())
                .map_err(unknown)?;
            if main.as_ref().is_some_and(|m| m.id == net.id) {
                main_settings = settings;
            } else {
                others.push((net, settings));
            }
        }
        check_combination(main.as_ref(), &others)?;
        let Some(main) = main else {
            return Ok(plan);
        };
        migrate_mac(&main, &mut main_settings, user.mac, &mut plan.warnings)?;
        plan.attachments.push(attachment(c, &main, &main_settings)?);
        for (net, settings) in &others {
            plan.attachments.push(attachment(c, net, settings)?);
        }
        Ok(plan)
    }

    /// Checks connecting a container to network `term` and returns the attachment to add.
    pub fn plan_connect(
        &self,
        c: &ContainerNet<'_>,
        term: &str,
        settings: Option<&EndpointSettings>,
    ) -> Result<Attachment> {
        let net = self.find(term)?;
        let mode = c.host_config.network_mode.as_str();
        if container_mode(mode).is_some() {
            return Err(invalid(CONFLICT_SHARED));
        }
        if mode == "host" || net.driver == "host" {
            return Err(invalid(CONFLICT_HOST));
        }
        if c.attachments
            .iter()
            .any(|a| a.network_id == net.id || a.network == net.name)
        {
            return Err(NetError::AlreadyConnected {
                container: c.name.to_string(),
                network: net.name,
            });
        }
        let on_none = c.attachments.iter().any(|a| a.network == "none");
        if mode == "none" || on_none || (net.driver == "null" && !c.attachments.is_empty()) {
            return Err(invalid(CONFLICT_NONE));
        }
        attachment(c, &net, &settings.cloned().unwrap_or_default())
    }
}

fn check_dns_and_hosts(hc: &HostConfig, host_gateway: &[IpAddr]) -> Result<()> {
    for d in hc.dns.iter().flatten() {
        if d.parse::<IpAddr>().is_err() {
            return Err(network::files::FilesError::BadNameserver { value: d.clone() }.into());
        }
    }
    for e in hc.extra_hosts.iter().flatten() {
        network::files::hosts::parse_extra_host(e, host_gateway)?;
    }
    Ok(())
}

/// Checks one endpoint's settings against its network (dockerd's
/// `validateEndpointSettings`) and makes the attachment.
fn attachment(
    c: &ContainerNet<'_>,
    net: &NetworkRecord,
    s: &EndpointSettings,
) -> Result<Attachment> {
    let wrap = |msg: String| invalid(format!("invalid config for network {}: {msg}", net.name));
    if let Some(field) = s.extra.keys().next() {
        return Err(wrap(format!(
            "EndpointSettings.{field} is not supported by berth"
        )));
    }
    if s.driver_opts.as_ref().is_some_and(|o| !o.is_empty()) {
        return Err(wrap(
            "endpoint driver options (DriverOpts) are not supported by berth".into(),
        ));
    }
    if s.gw_priority.is_some_and(|p| p != 0) {
        return Err(wrap("GwPriority is not supported by berth".into()));
    }
    let ipam = s.ipam_config.clone().filter(|i| {
        !(i.ipv4_address.is_empty() && i.ipv6_address.is_empty() && i.link_local_ips.is_empty())
    });
    if let Some(i) = &ipam {
        if !i.link_local_ips.is_empty() {
            return Err(wrap(
                "link-local addresses (--link-local-ip) are not supported by berth".into(),
            ));
        }
        if net.predefined {
            return Err(wrap(UNSUPPORTED_IP.into()));
        }
        for (raw, v6) in [(&i.ipv4_address, false), (&i.ipv6_address, true)] {
            if raw.is_empty() {
                continue;
            }
            let family = if v6 { "IPv6" } else { "IPv4" };
            let ip: IpAddr = raw
                .parse()
                .ok()
                .filter(|ip: &IpAddr| ip.is_ipv6() == v6)
                .ok_or_else(|| wrap(format!("invalid {family} address: {raw}")))?;
            let subnet = net.subnets.iter().find(|sn| sn.subnet.contains(&ip));
            match subnet {
                None => {
                    return Err(wrap(format!(
                        "no configured subnet or ip-range contain the IP address {ip}"
                    )))
                }
                Some(sn) if !sn.user_configured => {
                    return Err(wrap(UNSUPPORTED_IP_NO_SUBNET.into()))
                }
                Some(_) => {}
            }
        }
    }
    let aliases = s.aliases.clone().unwrap_or_default();
    if !aliases.is_empty() && net.predefined {
        return Err(wrap(UNSUPPORTED_ALIAS.into()));
    }
    if !s.mac_address.is_empty() && network::link::parse_mac(&s.mac_address).is_none() {
        return Err(wrap(format!("invalid MAC address {}", s.mac_address)));
    }
    let links = s.links.clone().unwrap_or_default();
    if !links.is_empty() && net.predefined {
        return Err(wrap(
            "links in EndpointsConfig are only supported on user-defined networks".into(),
        ));
    }
    Ok(Attachment {
        network: net.name.clone(),
        network_id: net.id.clone(),
        ipam,
        dns_names: if net.has_dns() {
            dns_names(c, &aliases)
        } else {
            Vec::new()
        },
        aliases,
        links,
        mac: s.mac_address.clone(),
        driver_opts: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_names_like_dockerd() {
        let hc = HostConfig::default();
        let c = ContainerNet {
            id: "35de8003b19e27f636fc6ecbf4d7072558b872a8544f287fd69ad8182ad59023",
            name: "foobar",
            hostname: "baz",
            domainname: "",
            host_config: &hc,
            exposed: None,
            attachments: &[],
        };
        assert_eq!(
            dns_names(&c, &["myctr".into(), "foobar".into()]),
            vec!["foobar", "myctr", "35de8003b19e", "baz"]
        );
    }

    #[test]
    fn publish_all_adds_exposed_ports_not_published() {
        let hc = HostConfig {
            publish_all_ports: true,
            port_bindings: Some(BTreeMap::from([(
                "80/tcp".to_string(),
                Some(vec![api_types::PortBinding {
                    host_ip: "127.0.0.1".into(),
                    host_port: "8080".into(),
                }]),
            )])),
            ..Default::default()
        };
        let exposed = BTreeMap::from([
            ("80/tcp".to_string(), serde_json::json!({})),
            ("53/udp".to_string(), serde_json::json!({})),
        ]);
        let reqs = publish_requests(&hc, Some(&exposed)).unwrap();
        assert_eq!(reqs.len(), 2);
        assert_eq!(reqs[0].host_ports, (8080, 8080));
        assert_eq!((reqs[1].container_port, reqs[1].proto), (53, Proto::Udp));
        assert_eq!(reqs[1].host_ports, (0, 0));
        let bad = HostConfig {
            port_bindings: Some(BTreeMap::from([(
                "80/sctp".to_string(),
                Some(vec![Default::default()]),
            )])),
            ..Default::default()
        };
        assert!(publish_requests(&bad, None).is_err());
    }
}
