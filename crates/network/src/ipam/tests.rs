use super::*;

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn request(id: &str, subnets: Vec<SubnetRequest>) -> NetworkRequest {
    NetworkRequest {
        id: id.into(),
        name: format!("net-{id}"),
        ipv4: true,
        ipv6: false,
        subnets,
    }
}

fn user_subnet(s: &str) -> SubnetRequest {
    SubnetRequest {
        subnet: Some(net(s)),
        ..Default::default()
    }
}

fn ipam() -> Ipam {
    Ipam::new(default_pools(), IpamState::default())
}

#[test]
fn picks_pool_subnets_in_order_avoiding_host_routes() {
    let mut ipam = ipam();
    let avoid = [net("172.17.0.0/16"), net("192.0.2.0/24")];
    let n = ipam.add_network(&request("a", vec![]), &avoid).unwrap();
    assert_eq!(n.subnets[0].subnet, net("172.18.0.0/16"));
    assert_eq!(n.subnets[0].gateway, ip("172.18.0.1"));
    assert!(!n.subnets[0].user_configured);
    let n = ipam.add_network(&request("b", vec![]), &avoid).unwrap();
    assert_eq!(n.subnets[0].subnet, net("172.19.0.0/16"));
    // Freed subnets are reused.
    ipam.remove_network("a");
    let n = ipam.add_network(&request("c", vec![]), &avoid).unwrap();
    assert_eq!(n.subnets[0].subnet, net("172.18.0.0/16"));
}

#[test]
fn user_subnet_overlapping_another_network_is_a_conflict() {
    let mut ipam = ipam();
    ipam.add_network(&request("a", vec![user_subnet("10.50.0.0/16")]), &[])
        .unwrap();
    let err = ipam
        .add_network(&request("b", vec![user_subnet("10.50.3.0/24")]), &[])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid pool request: Pool overlaps with other one on this address space"
    );
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert!(
        matches!(err, IpamError::PoolOverlap { ref other_network, .. } if other_network == "a")
    );
    assert!(ipam.network("b").is_none(), "nothing half made");
    // Two overlapping subnets in one request are refused too.
    let err = ipam
        .add_network(
            &request(
                "c",
                vec![user_subnet("10.60.0.0/16"), user_subnet("10.60.1.0/24")],
            ),
            &[],
        )
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
}

#[test]
fn addresses_are_lowest_free_skipping_reserved() {
    let mut ipam = ipam();
    let mut req = user_subnet("10.1.0.0/29");
    req.aux_addresses.insert("printer".into(), ip("10.1.0.3"));
    ipam.add_network(&request("a", vec![req]), &[]).unwrap();
    // .0 network, .1 gateway, .3 aux, .7 broadcast.
    let got: Vec<String> = (0..4)
        .map(|_| ipam.allocate("a", false, None).unwrap().to_string())
        .collect();
    assert_eq!(
        got,
        ["10.1.0.2/29", "10.1.0.4/29", "10.1.0.5/29", "10.1.0.6/29"]
    );
    let err = ipam.allocate("a", false, None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "no available IPv4 addresses on this network's address pools: net-a (a)"
    );
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(ipam.release("a", ip("10.1.0.4")));
    assert!(!ipam.release("a", ip("10.1.0.4")));
    assert_eq!(
        ipam.allocate("a", false, None).unwrap().to_string(),
        "10.1.0.4/29"
    );
}

#[test]
fn ip_range_limits_dynamic_but_not_static_addresses() {
    let mut ipam = ipam();
    let req = SubnetRequest {
        subnet: Some(net("10.2.0.0/16")),
        ip_range: Some(net("10.2.5.0/24")),
        gateway: Some(ip("10.2.0.254")),
        ..Default::default()
    };
    let n = ipam.add_network(&request("a", vec![req]), &[]).unwrap();
    assert_eq!(n.subnets[0].gateway, ip("10.2.0.254"));
    // The range's network address is not the subnet's: it is handed out.
    assert_eq!(
        ipam.allocate("a", false, None).unwrap().to_string(),
        "10.2.5.0/16"
    );
    assert_eq!(
        ipam.allocate("a", false, Some(ip("10.2.9.9")))
            .unwrap()
            .to_string(),
        "10.2.9.9/16"
    );
    let err = ipam.allocate("a", false, Some(ip("10.2.9.9"))).unwrap_err();
    assert_eq!(err.to_string(), "Address already in use");
    assert_eq!(err.kind(), ErrorKind::Conflict);
    let err = ipam
        .allocate("a", false, Some(ip("10.2.0.254")))
        .unwrap_err();
    assert!(
        matches!(err, IpamError::AddressInUse { .. }),
        "gateway is taken"
    );
    let err = ipam.allocate("a", false, Some(ip("10.3.0.1"))).unwrap_err();
    assert_eq!(
        err.to_string(),
        "no configured subnet or ip-range contain the IP address 10.3.0.1"
    );
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
}

#[test]
fn static_address_needs_a_user_subnet() {
    let mut ipam = ipam();
    ipam.add_network(&request("a", vec![]), &[]).unwrap();
    let err = ipam
        .allocate("a", false, Some(ip("172.17.0.9")))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "user specified IP address is supported only when connecting to networks with user configured subnets"
    );
    let err = ipam.allocate("a", true, None).unwrap_err();
    assert!(matches!(err, IpamError::NoSubnet { family: 6, .. }));
    assert!(matches!(
        ipam.allocate("zz", false, None),
        Err(IpamError::UnknownNetwork { .. })
    ));
}

#[test]
fn ipv6_subnets_from_user_and_from_the_ula_pool() {
    let mut pools = default_pools();
    pools.push(derive_ula_pool("host"));
    let mut ipam = Ipam::new(pools, IpamState::default());
    let mut req = request("a", vec![user_subnet("fd10:1::/64")]);
    req.ipv6 = true;
    let n = ipam.add_network(&req, &[]).unwrap();
    assert_eq!(n.subnets.len(), 2, "v4 from the pools plus the user's v6");
    assert!(matches!(n.subnets[0].subnet, IpNet::V4(_)), "IPv4 first");
    assert_eq!(n.subnets[1].gateway, ip("fd10:1::1"));
    assert_eq!(
        ipam.allocate("a", true, None).unwrap().to_string(),
        "fd10:1::2/64"
    );
    let mut req = request("b", vec![]);
    req.ipv6 = true;
    let n = ipam.add_network(&req, &[]).unwrap();
    let v6 = n.subnets_of(true).next().unwrap().subnet;
    assert_eq!(v6.prefix_len(), 64);
    assert!(derive_ula_pool("host").base.contains(&v6));
    // IPv6 subnets are ignored when IPv6 is off.
    let mut req = request("c", vec![user_subnet("fd20::/64")]);
    req.ipv6 = false;
    let n = ipam.add_network(&req, &[]).unwrap();
    assert!(n.subnets_of(true).next().is_none());
}

#[test]
fn pools_run_out() {
    let pools = vec![PoolSpec::new(net("10.9.0.0/23"), 24).unwrap()];
    let mut ipam = Ipam::new(pools, IpamState::default());
    ipam.add_network(&request("a", vec![]), &[]).unwrap();
    ipam.add_network(&request("b", vec![]), &[]).unwrap();
    let err = ipam.add_network(&request("c", vec![]), &[]).unwrap_err();
    assert!(matches!(err, IpamError::PoolsExhausted { family: 4 }));
    assert_eq!(err.kind(), ErrorKind::Unavailable);
}

#[test]
fn state_round_trips_and_restores_allocations() {
    let mut ipam = ipam();
    ipam.add_network(&request("a", vec![user_subnet("10.4.0.0/24")]), &[])
        .unwrap();
    ipam.allocate("a", false, None).unwrap();
    let json = serde_json::to_string(ipam.state()).unwrap();
    let state: IpamState = serde_json::from_str(&json).unwrap();
    assert_eq!(&state, ipam.state());
    let mut again = Ipam::new(default_pools(), state);
    assert_eq!(
        again.allocate("a", false, None).unwrap().to_string(),
        "10.4.0.3/24"
    );
    again.reserve("a", ip("10.4.0.9")).unwrap();
    assert!(again.reserve("a", ip("10.4.0.9")).is_err());
    assert!(again.reserve("a", ip("10.5.0.9")).is_err());
    // The restored network still blocks overlapping subnets.
    assert!(again
        .add_network(&request("b", vec![user_subnet("10.4.0.0/16")]), &[])
        .is_err());
}

#[test]
fn validate_config_uses_dockerds_messages() {
    let input = |subnet: &str, range: &str, gw: &str| IpamConfigInput {
        subnet: subnet.into(),
        ip_range: range.into(),
        gateway: gw.into(),
        ..Default::default()
    };
    let ok = validate_config(&[input("10.7.0.0/16", "10.7.1.0/24", "10.7.0.1")], false).unwrap();
    assert_eq!(ok[0].ip_range, Some(net("10.7.1.0/24")));
    assert_eq!(ok[0].gateway, Some(ip("10.7.0.1")));

    let err = validate_config(&[input("10.7.0.0/33", "", "")], false).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid network config:\ninvalid subnet 10.7.0.0/33: invalid CIDR block notation"
    );
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    let err = validate_config(&[input("10.7.0.1/16", "", "")], false).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid network config:\ninvalid subnet 10.7.0.1/16: it should be 10.7.0.0/16"
    );
    let err =
        validate_config(&[input("10.7.0.0/16", "10.8.0.0/8", "10.9.0.1")], false).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid network config:\n\
         * invalid ip-range 10.8.0.0/8: CIDR block is bigger than its parent subnet 10.7.0.0/16\n\
         * invalid ip-range 10.8.0.0/8: it should be 10.0.0.0/8\n\
         * invalid gateway 10.9.0.1: parent subnet 10.7.0.0/16 doesn't contain this address"
    );
    let err = validate_config(&[input("10.7.0.0/16", "fd00::/64", "fd00::1")], false).unwrap_err();
    assert!(err
        .to_string()
        .contains("invalid ip-range fd00::/64: parent subnet is an IPv4 block"));
    assert!(err
        .to_string()
        .contains("invalid gateway fd00::1: parent subnet is an IPv4 block"));
    let mut aux = input("10.7.0.0/16", "", "");
    aux.aux_addresses.insert("a".into(), "nope".into());
    let err = validate_config(&[aux], false).unwrap_err();
    assert!(err
        .to_string()
        .ends_with("invalid auxiliary address a: invalid address"));
    // IPv6 entries are skipped, not checked, with IPv6 off.
    assert!(validate_config(&[input("fd00::1/64", "", "")], false)
        .unwrap()
        .is_empty());
    assert!(validate_config(&[input("fd00::1/64", "", "")], true).is_err());
}

#[test]
fn default_bridge_bip_and_fixed_cidr() {
    let r = default_bridge_request("172.30.0.1/16", "172.30.5.0/24").unwrap();
    assert_eq!(r.subnet, Some(net("172.30.0.0/16")));
    assert_eq!(r.gateway, Some(ip("172.30.0.1")));
    assert_eq!(r.ip_range, Some(net("172.30.5.0/24")));
    let r = default_bridge_request("", "").unwrap();
    assert_eq!(r, SubnetRequest::default());
    let r = default_bridge_request("", "10.11.0.0/24").unwrap();
    assert_eq!(r.subnet, Some(net("10.11.0.0/24")));
    assert!(default_bridge_request("172.30.0.0/16", "").is_err());
    assert!(default_bridge_request("172.30.0.1/16", "10.0.0.0/24").is_err());
    assert_eq!(
        default_bridge_request("bogus", "").unwrap_err().to_string(),
        "invalid CIDR address: bogus"
    );
    let mut ipam = ipam();
    let mut req = request(
        "bridge",
        vec![default_bridge_request("172.30.0.1/16", "172.30.5.0/24").unwrap()],
    );
    req.name = "bridge".into();
    ipam.add_network(&req, &[]).unwrap();
    assert_eq!(
        ipam.allocate("bridge", false, None).unwrap().to_string(),
        "172.30.5.0/16"
    );
}
