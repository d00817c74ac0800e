//! Privileged: real bridges, veth pairs, namespaces and nft tables, all made and removed by
//! the tests. Traffic goes only to loopback and to addresses inside them; nothing needs
//! `ip_forward` (host → container over the bridge and container → container on one bridge
//! are not forwarded).

mod common;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use common::*;
use ipnet::IpNet;
use network::driver::{BridgeDriver, EndpointSpec, NetworkDriver, NetworkSpec, SubnetSpec};
use network::firewall::{Firewall, FirewallConfig};
use network::ipam::{Ipam, IpamState, NetworkRequest, SubnetRequest};
use network::link::format_mac;
use network::netns;
use network::ports::{PortAllocator, PortPublisher, Proto, PublishRequest, PublishTarget};
use network::ErrorKind;

struct Net {
    spec: NetworkSpec,
    ipam: Ipam,
    _link: LinkGuard,
}

async fn network(driver: &BridgeDriver, internal: bool, taken: &[IpNet]) -> Net {
    let bridge = unique("bt");
    let link = LinkGuard(bridge.clone());
    let subnet = free_subnet(taken).await;
    let mut ipam = Ipam::new(vec![], IpamState::default());
    let id = unique("net");
    let n = ipam
        .add_network(
            &NetworkRequest {
                id: id.clone(),
                name: id.clone(),
                ipv4: true,
                ipv6: false,
                subnets: vec![SubnetRequest {
                    subnet: Some(subnet),
                    ..Default::default()
                }],
            },
            &[],
        )
        .unwrap();
    let spec = NetworkSpec {
        id: id.clone(),
        name: id,
        bridge,
        mtu: 1500,
        internal,
        masquerade: true,
        subnets: n.subnets.iter().map(SubnetSpec::from).collect(),
        predefined: false,
    };
    driver.create(&spec).await.unwrap();
    Net {
        spec,
        ipam,
        _link: link,
    }
}

fn endpoint(net: &mut Net, ns: &NsGuard, default_route: bool) -> EndpointSpec {
    let addr = net.ipam.allocate(&net.spec.id, false, None).unwrap();
    EndpointSpec {
        id: unique("ep"),
        netns: ns.path().to_owned(),
        ifname: "eth0".into(),
        addresses: vec![addr],
        mac: None,
        default_route,
    }
}

fn firewall(table: &str) -> Arc<Firewall> {
    Arc::new(Firewall::new(FirewallConfig::new(table).unwrap()))
}

#[tokio::test(flavor = "multi_thread")]
async fn bridge_with_two_endpoints_that_reach_each_other() {
    let table = unique("btt");
    let _t = TableGuard(table.clone());
    let driver = BridgeDriver::new(firewall(&table), false).unwrap();
    let mut net = network(&driver, false, &[]).await;
    let (ns1, ns2) = (NsGuard::new(), NsGuard::new());
    let ep1 = endpoint(&mut net, &ns1, true);
    let ep2 = endpoint(&mut net, &ns2, true);
    let info1 = driver.connect(&net.spec, &ep1).await.unwrap();
    let _v1 = LinkGuard(info1.host_ifname.clone());
    let info2 = driver.connect(&net.spec, &ep2).await.unwrap();
    let _v2 = LinkGuard(info2.host_ifname.clone());
    let (a1, a2) = (ep1.addresses[0].addr(), ep2.addresses[0].addr());
    let gateway = net.spec.subnets[0].gateway;

    // Inside: eth0 with the address, dockerd's MAC, default route via the gateway.
    let IpAddr::V4(v4) = a1 else { panic!() };
    let o = v4.octets();
    let mac = format!("02:42:{:02x}:{:02x}:{:02x}:{:02x}", o[0], o[1], o[2], o[3]);
    assert_eq!(info1.mac.map(|m| format_mac(&m)), Some(mac.clone()));
    let link = ip_in(ns1.path(), &["-o", "link", "show", "eth0"]);
    assert!(link.contains(&mac) && link.contains("mtu 1500"), "{link}");
    let addrs = ip_in(ns1.path(), &["-o", "addr", "show", "eth0"]);
    assert!(addrs.contains(&ep1.addresses[0].to_string()), "{addrs}");
    assert!(
        !addrs.contains("inet6"),
        "no IPv6 on an IPv4-only endpoint: {addrs}"
    );
    let routes = ip_in(ns1.path(), &["route"]);
    assert!(
        routes.contains(&format!("default via {gateway} dev eth0")),
        "{routes}"
    );
    assert_eq!(info1.gateways, vec![gateway]);

    // Container to container on one bridge: ping and TCP.
    assert!(ping_from(ns1.path(), a2), "ping {a2} from ns1");
    tcp_server_in(ns2.path(), 7000, "ns2", 2);
    let to = SocketAddr::new(a2, 7000);
    let (line, _) = netns::run_in(ns1.path(), move || ask(to)).unwrap().unwrap();
    assert_eq!(
        line.split(' ').take(2).collect::<Vec<_>>(),
        ["ns2", &a1.to_string()]
    );
    // Host to container over the bridge (no forwarding involved).
    let (line, _) = ask(to).unwrap();
    assert!(line.starts_with(&format!("ns2 {gateway} ")), "{line}");

    // Disconnect removes the veth (and with it eth0); delete removes the bridge.
    driver.disconnect(&net.spec, &ep1).await.unwrap();
    assert!(!link_exists(&info1.host_ifname));
    assert!(ip_in(ns1.path(), &["-o", "link"])
        .lines()
        .all(|l| !l.contains("eth0")));
    driver.disconnect(&net.spec, &ep1).await.unwrap(); // twice is fine
    driver.disconnect(&net.spec, &ep2).await.unwrap();
    assert!(!link_exists(&info2.host_ifname));
    driver.delete(&net.spec).await.unwrap();
    assert!(!link_exists(&net.spec.bridge));
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_connect_leaves_no_veth() {
    let table = unique("btt");
    let _t = TableGuard(table.clone());
    let driver = BridgeDriver::new(firewall(&table), false).unwrap();
    let mut net = network(&driver, false, &[]).await;
    let ns = NsGuard::new();
    let mut ep = endpoint(&mut net, &ns, true);
    // A /32 address inside the subnet: the gateway is not on-link, so the default route
    // fails after the veth exists; the driver must take the veth back.
    let IpAddr::V4(a) = ep.addresses[0].addr() else {
        panic!()
    };
    ep.addresses = vec![IpNet::new(IpAddr::V4(a), 32).unwrap()];
    let err = driver.connect(&net.spec, &ep).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Internal, "{err}");
    let veth = network::driver::veth_name(&ep.id);
    let _g = LinkGuard(veth.clone());
    assert!(!link_exists(&veth), "rolled back");
    assert!(!ip_in(ns.path(), &["-o", "link"]).contains("eth0"));

    // Connecting the same endpoint twice: the second is a conflict and the first survives.
    let ep = endpoint(&mut net, &ns, true);
    let info = driver.connect(&net.spec, &ep).await.unwrap();
    let _v = LinkGuard(info.host_ifname.clone());
    let again = driver.connect(&net.spec, &ep).await.unwrap_err();
    assert_eq!(again.kind(), ErrorKind::Conflict, "{again}");
    assert!(link_exists(&info.host_ifname));
    driver.disconnect(&net.spec, &ep).await.unwrap();

    // A network whose bridge name is taken by a non-bridge interface is refused, and the
    // interface is left alone.
    let mut clash = net.spec.clone();
    clash.id = unique("net");
    clash.bridge = network::driver::veth_name(&ep.id);
    let info = driver.connect(&net.spec, &ep).await.unwrap();
    let _v = LinkGuard(info.host_ifname.clone());
    let err = driver.create(&clash).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
    assert!(link_exists(&info.host_ifname));
    driver.disconnect(&net.spec, &ep).await.unwrap();

    // Unknown namespace: nothing created.
    let mut ghost = endpoint(&mut net, &ns, true);
    ghost.netns = "/nonexistent/netns".into();
    assert!(driver.connect(&net.spec, &ghost).await.is_err());
    assert!(!link_exists(&network::driver::veth_name(&ghost.id)));
    driver.delete(&net.spec).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn published_port_via_proxy_on_loopback_and_dnat_on_the_gateway() {
    // Someone else's table, with a rule: it must come out byte for byte identical.
    let sentinel = unique("bts");
    let _s = TableGuard(sentinel.clone());
    // A regular chain (no hook): it affects no traffic.
    nft_script(&format!(
        "table inet {sentinel} {{\n chain c {{\n tcp dport 9 counter accept\n }}\n}}\n"
    ));
    let sentinel_before = nft_table(&sentinel).unwrap();
    let before = lasting_tables();
    let table = unique("btt");
    let guard = TableGuard(table.clone());
    let fw = firewall(&table);
    let driver = BridgeDriver::new(fw.clone(), false).unwrap();
    let mut net = network(&driver, false, &[]).await;
    let ns = NsGuard::new();
    let ep = endpoint(&mut net, &ns, true);
    let info = driver.connect(&net.spec, &ep).await.unwrap();
    let _v = LinkGuard(info.host_ifname.clone());
    let caddr = ep.addresses[0].addr();
    let gateway = net.spec.subnets[0].gateway;
    tcp_server_in(ns.path(), 8080, "web", 5);

    let publisher = PortPublisher::new(PortAllocator::new((40000, 40999)), fw.clone(), true);
    let IpAddr::V4(c4) = caddr else { panic!() };
    let target = PublishTarget {
        endpoint_id: ep.id.clone(),
        bridge: net.spec.bridge.clone(),
        ipv4: Some(c4),
        ipv6: None,
    };
    let req = PublishRequest {
        container_port: 8080,
        proto: Proto::Tcp,
        host_ip: None,
        host_ports: (0, 0),
    };
    let published = publisher.publish(&target, &[req]).await.unwrap();
    assert_eq!(published.len(), 1);
    let port = published[0].host_port;
    assert!((40000..=40999).contains(&port));
    assert_eq!(published[0].host_ip.to_string(), "0.0.0.0");

    let rules = nft_table(&table).expect("our table exists");
    assert!(
        rules.contains(&format!("tcp dport {port} dnat ip to {caddr}:8080")),
        "{rules}"
    );

    // 127.0.0.1: route_localnet is off, so the userland proxy serves it; the container sees
    // the proxy's own connection (from the gateway, another source port).
    let (line, local) = ask(SocketAddr::new("127.0.0.1".parse().unwrap(), port)).unwrap();
    let parts: Vec<&str> = line.split(' ').collect();
    assert_eq!(parts[..2], ["web", &gateway.to_string()]);
    assert_ne!(parts[2], local.to_string(), "proxied: a new connection");
    // The gateway address: DNAT in the kernel (output chain), the client's own source port
    // arrives untouched.
    let (line, local) = ask(SocketAddr::new(gateway, port)).unwrap();
    let parts: Vec<&str> = line.split(' ').collect();
    assert_eq!(parts[..2], ["web", &gateway.to_string()]);
    assert_eq!(
        parts[2],
        local.to_string(),
        "kernel DNAT keeps the source port"
    );

    // Hairpin: the container reaches its own published port through the gateway address.
    // Packets from its bridge skip DNAT and reach the userland proxy (no forwarding).
    let hp = SocketAddr::new(gateway, port);
    let (line, _) = netns::run_in(ns.path(), move || ask(hp)).unwrap().unwrap();
    assert!(
        line.starts_with(&format!("web {gateway} ")),
        "hairpin via proxy: {line}"
    );

    // The port is held: another endpoint (or process) cannot have it.
    let other = PublishTarget {
        endpoint_id: "other".into(),
        ..target.clone()
    };
    let exact = PublishRequest {
        container_port: 8080,
        proto: Proto::Tcp,
        host_ip: None,
        host_ports: (port, port),
    };
    let err = publisher
        .publish(&other, std::slice::from_ref(&exact))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert_eq!(
        err.to_string(),
        format!("Bind for 0.0.0.0:{port} failed: port is already allocated")
    );
    assert!(std::net::TcpListener::bind(("0.0.0.0", port)).is_err());

    // Unpublish: rule gone, port free.
    publisher.unpublish(&ep.id).await.unwrap();
    let rules = nft_table(&table).unwrap();
    assert!(!rules.contains(&format!("dport {port}")), "{rules}");
    drop(std::net::TcpListener::bind(("0.0.0.0", port)).expect("freed"));

    driver.disconnect(&net.spec, &ep).await.unwrap();
    driver.delete(&net.spec).await.unwrap();
    fw.teardown().await.unwrap();
    assert!(nft_table(&table).is_none(), "our table removed");
    let after = lasting_tables();
    assert!(
        before.is_subset(&after),
        "tables that existed before are untouched: {before:?} vs {after:?}"
    );
    assert!(!nft_tables().contains(&format!("inet {table}")));
    assert_eq!(nft_table(&sentinel).unwrap(), sentinel_before);
    drop(guard);
}

#[tokio::test(flavor = "multi_thread")]
async fn isolation_and_internal_rules_reach_the_kernel() {
    let table = unique("btt");
    let _t = TableGuard(table.clone());
    let fw = firewall(&table);
    let driver = BridgeDriver::new(fw.clone(), false).unwrap();
    let a = network(&driver, false, &[]).await;
    let mut b = network(&driver, true, &[a.spec.subnets[0].subnet]).await;
    let rules = nft_table(&table).unwrap();
    let (ba, bb) = (a.spec.bridge.clone(), b.spec.bridge.clone());
    for want in [
        format!("iifname \"{bb}\" oifname != \"{bb}\" drop"),
        format!("oifname \"{bb}\" iifname != \"{bb}\" drop"),
        format!("iifname \"{ba}\" oifname @bridges oifname != \"{ba}\" drop"),
        format!(
            "ip saddr {} oifname != \"{ba}\" masquerade",
            a.spec.subnets[0].subnet
        ),
    ] {
        assert!(rules.contains(&want), "missing {want:?} in\n{rules}");
    }
    assert!(
        !rules.contains(&format!("ip saddr {}", b.spec.subnets[0].subnet)),
        "internal networks are not masqueraded"
    );
    // An internal network gives no default route.
    let ns = NsGuard::new();
    let ep = endpoint(&mut b, &ns, true);
    let info = driver.connect(&b.spec, &ep).await.unwrap();
    let _v = LinkGuard(info.host_ifname.clone());
    assert!(info.gateways.is_empty());
    assert!(!ip_in(ns.path(), &["route"]).contains("default"));
    driver.disconnect(&b.spec, &ep).await.unwrap();
    // Reconcile rewrites the same table; delete of a network drops its rules.
    fw.reconcile().await.unwrap();
    driver.delete(&b.spec).await.unwrap();
    assert!(!nft_table(&table).unwrap().contains(bb.as_str()));
    driver.delete(&a.spec).await.unwrap();
    fw.teardown().await.unwrap();
    assert!(nft_table(&table).is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn ipv6_endpoints_and_hairpin_mode() {
    let table = unique("btt");
    let _t = TableGuard(table.clone());
    // hairpin = true: what the engine asks when the userland proxy is off.
    let driver = BridgeDriver::new(firewall(&table), true).unwrap();
    let bridge = unique("bt");
    let _l = LinkGuard(bridge.clone());
    let v4 = free_subnet(&[]).await;
    // A ULA /64 named after the pid and the v4 subnet, so parallel runs differ.
    let IpAddr::V4(v4net) = v4.addr() else {
        panic!()
    };
    let o = v4net.octets();
    let v6: IpNet = format!(
        "fd42:{:x}:{:x}{:02x}::/64",
        std::process::id() & 0xffff,
        o[1],
        o[2]
    )
    .parse()
    .unwrap();
    let mut ipam = Ipam::new(vec![], IpamState::default());
    let id = unique("net");
    let n = ipam
        .add_network(
            &NetworkRequest {
                id: id.clone(),
                name: id.clone(),
                ipv4: true,
                ipv6: true,
                subnets: vec![
                    SubnetRequest {
                        subnet: Some(v4),
                        ..Default::default()
                    },
                    SubnetRequest {
                        subnet: Some(v6),
                        ..Default::default()
                    },
                ],
            },
            &[],
        )
        .unwrap()
        .clone();
    let spec = NetworkSpec {
        id: id.clone(),
        name: id.clone(),
        bridge: bridge.clone(),
        mtu: 1400,
        internal: false,
        masquerade: true,
        subnets: n.subnets.iter().map(SubnetSpec::from).collect(),
        predefined: false,
    };
    driver.create(&spec).await.unwrap();
    let (ns1, ns2) = (NsGuard::new(), NsGuard::new());
    let mut eps = Vec::new();
    let mut guards = Vec::new();
    for ns in [&ns1, &ns2] {
        let ep = EndpointSpec {
            id: unique("ep"),
            netns: ns.path().to_owned(),
            ifname: "eth0".into(),
            addresses: vec![
                ipam.allocate(&id, false, None).unwrap(),
                ipam.allocate(&id, true, None).unwrap(),
            ],
            mac: Some([0x02, 0x11, 0x22, 0x33, 0x44, eps.len() as u8]),
            default_route: true,
        };
        let info = driver.connect(&spec, &ep).await.unwrap();
        guards.push(LinkGuard(info.host_ifname.clone()));
        assert_eq!(info.gateways.len(), 2, "a default route per family");
        let hairpin = std::fs::read_to_string(format!(
            "/sys/class/net/{}/brport/hairpin_mode",
            info.host_ifname
        ))
        .unwrap();
        assert_eq!(hairpin.trim(), "1");
        eps.push(ep);
    }
    let a6 = eps[1].addresses[1].addr();
    let inside = ip_in(ns1.path(), &["-o", "-6", "addr", "show", "eth0"]);
    assert!(
        inside.contains(&eps[0].addresses[1].to_string()),
        "{inside}"
    );
    let global = inside
        .lines()
        .find(|l| l.contains(&eps[0].addresses[1].to_string()))
        .unwrap();
    assert!(!global.contains("tentative"), "no DAD wait: {global}");
    let link = ip_in(ns1.path(), &["-o", "link", "show", "eth0"]);
    assert!(
        link.contains("02:11:22:33:44:00") && link.contains("mtu 1400"),
        "{link}"
    );
    let routes = ip_in(ns1.path(), &["-6", "route"]);
    assert!(
        routes.contains(&format!("default via {}", n.subnets[1].gateway)),
        "{routes}"
    );
    serve_in(ns2.path(), SocketAddr::new(a6, 7001), "v6", 1);
    let to = SocketAddr::new(a6, 7001);
    let (line, _) = netns::run_in(ns1.path(), move || ask(to)).unwrap().unwrap();
    assert!(
        line.starts_with(&format!("v6 {}", eps[0].addresses[1].addr())),
        "{line}"
    );
    for ep in &eps {
        driver.disconnect(&spec, ep).await.unwrap();
    }
    driver.delete(&spec).await.unwrap();
    assert!(!link_exists(&bridge));
}

#[tokio::test(flavor = "multi_thread")]
async fn release_leaves_the_veth_to_die_with_the_namespace() {
    let table = unique("btt");
    let _t = TableGuard(table.clone());
    let driver = BridgeDriver::new(firewall(&table), false).unwrap();
    let mut net = network(&driver, false, &[]).await;
    let ns = NsGuard::new();
    let ep = endpoint(&mut net, &ns, true);
    let info = driver.connect(&net.spec, &ep).await.unwrap();
    let _v = LinkGuard(info.host_ifname.clone());
    driver.release(&net.spec, &ep).await.unwrap();
    assert!(
        link_exists(&info.host_ifname),
        "release deletes nothing itself"
    );
    netns::remove(ns.path()).unwrap();
    // The kernel tears the namespace down in the background; bounded wait.
    let gone = (0..250).any(|_| {
        if link_exists(&info.host_ifname) {
            std::thread::sleep(std::time::Duration::from_millis(20));
            false
        } else {
            true
        }
    });
    assert!(gone, "veth {} outlived its namespace", info.host_ifname);
    driver.delete(&net.spec).await.unwrap();
}
