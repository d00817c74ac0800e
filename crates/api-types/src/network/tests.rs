use serde_json::json;

use super::*;

#[test]
fn create_request_from_the_docker_cli() {
    // `docker network create --subnet 10.20.0.0/16 --gateway 10.20.0.1 --ip-range
    // 10.20.5.0/24 --internal --label a=b -o com.docker.network.driver.mtu=1400 mynet`
    let body = r#"{"Driver":"bridge","Scope":"","EnableIPv6":null,"IPAM":{"Driver":"default",
        "Options":{},"Config":[{"Subnet":"10.20.0.0/16","IPRange":"10.20.5.0/24",
        "Gateway":"10.20.0.1"}]},"Internal":true,"Attachable":false,"Ingress":false,
        "ConfigOnly":false,"ConfigFrom":null,"Options":{"com.docker.network.driver.mtu":"1400"},
        "Labels":{"a":"b"},"Name":"mynet"}"#;
    let req: NetworkCreateRequest = serde_json::from_str(body).unwrap();
    assert_eq!(req.name, "mynet");
    assert_eq!(req.driver, "bridge");
    assert!(req.internal);
    assert_eq!(req.enable_ipv6, None);
    let ipam = req.ipam.as_ref().unwrap();
    let cfg = &ipam.config.as_ref().unwrap()[0];
    assert_eq!(
        (
            cfg.subnet.as_str(),
            cfg.ip_range.as_str(),
            cfg.gateway.as_str()
        ),
        ("10.20.0.0/16", "10.20.5.0/24", "10.20.0.1")
    );
    assert_eq!(req.labels.as_ref().unwrap()["a"], "b");
    assert!(req.extra.is_empty());
    // Omitempty on the way out: no EnableIPv4/6, no CheckDuplicate; IPAM config entries
    // drop empty strings.
    let out = serde_json::to_value(&req).unwrap();
    assert!(out.get("EnableIPv6").is_none() && out.get("CheckDuplicate").is_none());
    assert!(out["IPAM"]["Config"][0].get("AuxiliaryAddresses").is_none());
    assert_eq!(out["ConfigFrom"], Value::Null);
    // docker-py's minimal body and unknown fields kept for refusal.
    let req: NetworkCreateRequest =
        serde_json::from_str(r#"{"Name":"n","CheckDuplicate":true,"Frobnicate":1}"#).unwrap();
    assert_eq!(req.check_duplicate, Some(true));
    assert_eq!(req.extra.get("Frobnicate"), Some(&json!(1)));
    assert_eq!(req.ipam, None);
}

#[test]
fn network_inspect_shape_like_dockerd() {
    let n = Network {
        name: "bridge".into(),
        id: "f".repeat(64),
        created: "2024-01-01T00:00:00.000000000Z".into(),
        scope: "local".into(),
        driver: "bridge".into(),
        enable_ipv4: true,
        ipam: Ipam {
            driver: "default".into(),
            options: None,
            config: Some(vec![IpamConfig {
                subnet: "172.17.0.0/16".into(),
                gateway: "172.17.0.1".into(),
                ..Default::default()
            }]),
        },
        options: [(
            "com.docker.network.bridge.default_bridge".to_string(),
            "true".to_string(),
        )]
        .into(),
        ..Default::default()
    };
    let v = serde_json::to_value(&n).unwrap();
    assert_eq!(
        v,
        json!({
            "Name": "bridge", "Id": "f".repeat(64), "Created": "2024-01-01T00:00:00.000000000Z",
            "Scope": "local", "Driver": "bridge", "EnableIPv4": true, "EnableIPv6": false,
            "IPAM": {"Driver": "default", "Options": null,
                     "Config": [{"Subnet": "172.17.0.0/16", "Gateway": "172.17.0.1"}]},
            "Internal": false, "Attachable": false, "Ingress": false,
            "ConfigFrom": {"Network": ""}, "ConfigOnly": false, "Containers": {},
            "Options": {"com.docker.network.bridge.default_bridge": "true"}, "Labels": {}
        })
    );
    let back: Network = serde_json::from_value(v).unwrap();
    assert_eq!(back, n);
    // Containers as null (older daemons) reads as empty.
    let mut raw = serde_json::to_value(&n).unwrap();
    raw["Containers"] = Value::Null;
    assert!(serde_json::from_value::<Network>(raw)
        .unwrap()
        .containers
        .is_empty());
}

#[test]
fn endpoint_settings_always_written_ipam_config_omitempty() {
    let e = EndpointSettings {
        network_id: "n".into(),
        endpoint_id: "e".into(),
        gateway: "172.17.0.1".into(),
        ip_address: "172.17.0.2".into(),
        ip_prefix_len: 16,
        mac_address: "02:42:ac:11:00:02".into(),
        ..Default::default()
    };
    assert_eq!(
        serde_json::to_value(&e).unwrap(),
        json!({
            "IPAMConfig": null, "Links": null, "Aliases": null,
            "MacAddress": "02:42:ac:11:00:02", "DriverOpts": null,
            "NetworkID": "n", "EndpointID": "e", "Gateway": "172.17.0.1",
            "IPAddress": "172.17.0.2", "IPPrefixLen": 16, "IPv6Gateway": "",
            "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "DNSNames": null
        })
    );
    let cfg = EndpointIpamConfig {
        ipv4_address: "10.0.0.5".into(),
        ..Default::default()
    };
    assert_eq!(
        serde_json::to_value(&cfg).unwrap(),
        json!({"IPv4Address": "10.0.0.5"})
    );
}

#[test]
fn connect_disconnect_networking_config_and_prune() {
    // docker-py connect_container_to_network(aliases=…, links=…, ipv4_address=…)
    let body = r#"{"Container":"web","EndpointConfig":{"Aliases":["db"],"Links":["other:o"],
        "IPAMConfig":{"IPv4Address":"10.5.0.9"}}}"#;
    let req: NetworkConnectRequest = serde_json::from_str(body).unwrap();
    let ep = req.endpoint_config.as_ref().unwrap();
    assert_eq!(ep.aliases.as_deref(), Some(&["db".to_string()][..]));
    assert_eq!(ep.ipam_config.as_ref().unwrap().ipv4_address, "10.5.0.9");
    let bare = NetworkConnectRequest {
        container: "c".into(),
        endpoint_config: None,
    };
    assert_eq!(
        serde_json::to_value(&bare).unwrap(),
        json!({"Container": "c"})
    );
    let d: NetworkDisconnectRequest = serde_json::from_str(r#"{"Container":"c"}"#).unwrap();
    assert!(!d.force);
    assert_eq!(
        serde_json::to_value(&d).unwrap(),
        json!({"Container": "c", "Force": false})
    );
    // The CLI's create body: EndpointsConfig values may be null.
    let nc: NetworkingConfig =
        serde_json::from_str(r#"{"EndpointsConfig":{"a":{"Aliases":["x"]},"b":null}}"#).unwrap();
    let eps = nc.endpoints_config.unwrap();
    assert!(eps["b"].is_none());
    assert_eq!(eps["a"].as_ref().unwrap().aliases.as_ref().unwrap()[0], "x");
    assert_eq!(
        serde_json::to_value(NetworkPruneResponse::default()).unwrap(),
        json!({"NetworksDeleted": null})
    );
    let r = NetworkCreateResponse {
        id: "abc".into(),
        warning: String::new(),
    };
    assert_eq!(
        serde_json::to_value(&r).unwrap(),
        json!({"Id": "abc", "Warning": ""})
    );
}

#[test]
fn port_map_with_unpublished_exposed_port() {
    let m: PortMap = serde_json::from_str(
        r#"{"80/tcp":[{"HostIp":"0.0.0.0","HostPort":"8080"},{"HostIp":"::","HostPort":"8080"}],"443/tcp":null}"#,
    )
    .unwrap();
    assert_eq!(m["80/tcp"].as_ref().unwrap()[1].host_ip, "::");
    assert!(m["443/tcp"].is_none());
    let back = serde_json::to_value(&m).unwrap();
    assert_eq!(back["443/tcp"], Value::Null);
}
