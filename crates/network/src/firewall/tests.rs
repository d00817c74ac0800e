use super::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn sample() -> RuleSet {
    let mut rs = RuleSet::default();
    rs.networks.insert(
        "n1".into(),
        BridgeRules {
            bridge: "br-a".into(),
            subnets: vec![
                "10.88.0.0/24".parse().unwrap(),
                "fd00:88::/64".parse().unwrap(),
            ],
            internal: false,
            masquerade: true,
        },
    );
    rs.networks.insert(
        "n2".into(),
        BridgeRules {
            bridge: "br-i".into(),
            subnets: vec!["10.89.0.0/24".parse().unwrap()],
            internal: true,
            masquerade: true,
        },
    );
    rs.ports.insert(
        "ep1".into(),
        vec![
            DnatRule {
                proto: Proto::Tcp,
                host_ip: None,
                host_port: 8080,
                container_ip: ip("10.88.0.2"),
                container_port: 80,
                bridge: "br-a".into(),
                skip_from_bridge: true,
            },
            DnatRule {
                proto: Proto::Udp,
                host_ip: Some(ip("192.0.2.2")),
                host_port: 5353,
                container_ip: ip("10.88.0.2"),
                container_port: 53,
                bridge: "br-a".into(),
                skip_from_bridge: false,
            },
            DnatRule {
                proto: Proto::Tcp,
                host_ip: Some(ip("127.0.0.1")),
                host_port: 8081,
                container_ip: ip("10.88.0.2"),
                container_port: 81,
                bridge: "br-a".into(),
                skip_from_bridge: true,
            },
            DnatRule {
                proto: Proto::Tcp,
                host_ip: None,
                host_port: 8080,
                container_ip: ip("fd00:88::2"),
                container_port: 80,
                bridge: "br-a".into(),
                skip_from_bridge: true,
            },
        ],
    );
    rs
}

#[test]
fn renders_one_table_with_all_rules() {
    let text = render("berth-t", &sample());
    let expected = "table inet berth-t {
\tset bridges {
\t\ttype ifname
\t\telements = { \"br-a\", \"br-i\" }
\t}
\tchain prerouting {
\t\ttype nat hook prerouting priority -100; policy accept;
\t\tfib daddr type local jump published
\t}
\tchain output {
\t\ttype nat hook output priority -100; policy accept;
\t\tip daddr != 127.0.0.0/8 fib daddr type local jump published
\t\tip6 daddr != ::1 fib daddr type local jump published
\t}
\tchain published {
\t\tiifname != \"br-a\" meta nfproto ipv4 tcp dport 8080 dnat ip to 10.88.0.2:80
\t\tip daddr 192.0.2.2 udp dport 5353 dnat ip to 10.88.0.2:53
\t\tiifname != \"br-a\" meta nfproto ipv6 tcp dport 8080 dnat ip6 to [fd00:88::2]:80
\t}
\tchain postrouting {
\t\ttype nat hook postrouting priority 100; policy accept;
\t\tip saddr 10.88.0.0/24 oifname != \"br-a\" masquerade
\t\tip6 saddr fd00:88::/64 oifname != \"br-a\" masquerade
\t\tip saddr 10.88.0.2 ip daddr 10.88.0.2 udp dport 53 masquerade
\t}
\tchain forward {
\t\ttype filter hook forward priority 0; policy accept;
\t\tiifname \"br-i\" oifname != \"br-i\" drop
\t\toifname \"br-i\" iifname != \"br-i\" drop
\t\tiifname \"br-a\" oifname @bridges oifname != \"br-a\" drop
\t\tiifname \"br-i\" oifname @bridges oifname != \"br-i\" drop
\t}
}
";
    assert_eq!(text, expected);
}

#[test]
fn empty_rule_set_still_declares_the_chains() {
    let text = render("x", &RuleSet::default());
    assert!(
        text.contains("set bridges {\n\t\ttype ifname\n\t}"),
        "{text}"
    );
    assert!(!text.contains("elements"));
    assert!(!text.contains("masquerade"));
    assert!(!text.contains("drop"));
}

#[test]
fn table_names() {
    for ok in ["berth", "berth-test-1234", "b_1"] {
        check_table_name(ok).unwrap();
    }
    for bad in ["", "1berth", "ber th", "b;flush ruleset", &"b".repeat(33)] {
        let err = check_table_name(bad).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    }
    assert!(FirewallConfig::new("bad name").is_err());
}

#[tokio::test]
async fn disabled_firewall_keeps_state_and_runs_nothing() {
    let mut cfg = FirewallConfig::new("never-applied").unwrap();
    cfg.enabled = false;
    cfg.nft = "/nonexistent/nft".into();
    let fw = Firewall::new(cfg);
    fw.set_network("n1", sample().networks["n1"].clone())
        .await
        .unwrap();
    fw.set_ports("ep", sample().ports["ep1"].clone())
        .await
        .unwrap();
    assert_eq!(fw.rules().await.ports["ep"].len(), 4);
    fw.remove_ports("ep").await.unwrap();
    assert!(fw.rules().await.ports.is_empty());
    fw.teardown().await.unwrap();
}

#[tokio::test]
async fn failed_apply_leaves_the_rule_set_unchanged() {
    let mut cfg = FirewallConfig::new("never-applied").unwrap();
    cfg.nft = "/nonexistent/nft".into();
    let fw = Firewall::new(cfg);
    let err = fw
        .set_network("n1", sample().networks["n1"].clone())
        .await
        .unwrap_err();
    assert!(matches!(err, FirewallError::Spawn { .. }), "{err}");
    assert_eq!(fw.rules().await, RuleSet::default());
}
