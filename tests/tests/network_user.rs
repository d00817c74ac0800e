//! User-defined networks through the real docker CLI: names and aliases resolved by the
//! embedded DNS server, isolation between networks, connect/disconnect while running,
//! forwarding of other names to the host's resolver (a fake one on loopback), `network rm`
//! of a network in use (409), bad input refused whole, events, and the inspect shapes of
//! containers and networks compared with dockerd's.

use berth_tests::daemon::http;
use berth_tests::net::{daemon, httpd, inspect, json_keys, run_d, stderr, wait_until, FakeDns};
use serde_json::Value;
#[test]
fn user_networks_resolve_names_and_aliases_and_stay_isolated() {
    let d = daemon();
    let subnet = d.net.subnet(200);
    d.docker_ok(&["network", "create", "--subnet", &subnet, "front"]);
    d.docker_ok(&["network", "create", "back"]);
    run_d(
        &d,
        &[
            "--name",
            "server",
            "--network",
            "front",
            "--network-alias",
            "alpha",
        ],
        &httpd("from-server"),
    );
    run_d(
        &d,
        &["--name", "peer", "--network", "front"],
        &["busybox".into(), "sleep".into(), "300".into()],
    );
    run_d(
        &d,
        &["--name", "other", "--network", "back"],
        &["busybox".into(), "sleep".into(), "300".into()],
    );
    let server_ip = d.docker_ok(&[
        "inspect",
        "-f",
        "{{.NetworkSettings.Networks.front.IPAddress}}",
        "server",
    ]);
    assert!(
        server_ip.starts_with(&format!("10.{}.200.", d.net.n)),
        "{server_ip}"
    );
    // By name and by alias, over the network, from a neighbour.
    let get = |from: &str, host: &str| {
        d.docker(&[
            "exec",
            from,
            "sh",
            "-c",
            &format!("printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 {host} 80"),
        ])
    };
    assert!(wait_until(15, || String::from_utf8_lossy(
        &get("peer", "server").stdout
    )
    .contains("from-server")));
    let by_alias = get("peer", "alpha");
    assert!(
        String::from_utf8_lossy(&by_alias.stdout).contains("from-server"),
        "{}",
        stderr(&by_alias)
    );
    let lookup = d.docker_ok(&["exec", "peer", "nslookup", "alpha"]);
    assert!(
        lookup.contains(&format!("Address: {server_ip}")),
        "{lookup}"
    );
    // Not across networks: no name, and no route.
    let out = d.docker(&["exec", "other", "nslookup", "server"]);
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&server_ip));
    let out = d.docker(&[
        "exec",
        "other",
        "sh",
        "-c",
        &format!("printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 {server_ip} 80"),
    ]);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("from-server"));
    // Connected while running: reaches the server by name; disconnected: no longer.
    d.docker_ok(&["network", "connect", "--alias", "late", "front", "other"]);
    assert!(String::from_utf8_lossy(&get("other", "server").stdout).contains("from-server"));
    assert!(d
        .docker_ok(&["exec", "peer", "nslookup", "late"])
        .contains("Address: 10."));
    let eth1 = d.docker_ok(&["exec", "other", "ip", "-o", "-4", "addr", "show", "eth1"]);
    assert!(eth1.contains(&format!("10.{}.200.", d.net.n)), "{eth1}");
    d.docker_ok(&["network", "disconnect", "front", "other"]);
    let out = d.docker(&["exec", "other", "ip", "link", "show", "eth1"]);
    assert!(!out.status.success());
    assert!(!String::from_utf8_lossy(&get("other", "server").stdout).contains("from-server"));
    // Network inspect lists the running containers on it.
    let n: Value = serde_json::from_str(&d.docker_ok(&["network", "inspect", "front"])).unwrap();
    let names: Vec<&str> = n[0]["Containers"]
        .as_object()
        .unwrap()
        .values()
        .map(|c| c["Name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(
        names.contains(&"server") && names.contains(&"peer"),
        "{names:?}"
    );
}

#[test]
fn embedded_dns_forwards_other_names_to_the_hosts_resolver() {
    let d = daemon();
    let fake = FakeDns::start(&d.net.resolver_ip(), "192.0.2.77".parse().unwrap()).unwrap();
    d.docker_ok(&["network", "create", "dnsnet"]);
    let out = d.docker_ok(&[
        "run",
        "--rm",
        "--network",
        "dnsnet",
        "busybox",
        "nslookup",
        "outside.test",
    ]);
    assert!(out.contains("192.0.2.77"), "{out}");
    assert!(fake
        .asked
        .lock()
        .unwrap()
        .iter()
        .any(|n| n == "outside.test"));
    // The container's resolv.conf names only the embedded server; the host's resolver is its
    // upstream.
    let rc = d.docker_ok(&[
        "run",
        "--rm",
        "--network",
        "dnsnet",
        "busybox",
        "cat",
        "/etc/resolv.conf",
    ]);
    assert!(
        rc.contains("nameserver 127.0.0.11") && rc.contains("options ndots:0"),
        "{rc}"
    );
    assert!(
        rc.contains(&format!("# ExtServers: [host({})]", d.net.resolver_ip())),
        "{rc}"
    );
    // --internal: no forwarding.
    d.docker_ok(&["network", "create", "--internal", "sealed"]);
    let out = d.docker(&[
        "run",
        "--rm",
        "--network",
        "sealed",
        "busybox",
        "nslookup",
        "elsewhere.test",
    ]);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("192.0.2.77"));
    assert!(!fake
        .asked
        .lock()
        .unwrap()
        .iter()
        .any(|n| n == "elsewhere.test"));
}

#[test]
fn network_rm_in_use_is_409_and_bad_input_is_refused_whole() {
    let d = daemon();
    d.docker_ok(&["network", "create", "busy"]);
    run_d(
        &d,
        &["--name", "user1", "--network", "busy"],
        &["busybox".into(), "sleep".into(), "300".into()],
    );
    let (status, _, body) = http(&d.socket, "DELETE", "/networks/busy", None).unwrap();
    assert_eq!(status, 409, "{body}");
    assert!(
        body.contains("has active endpoints") && body.contains("name:\\\"user1\\\""),
        "{body}"
    );
    let out = d.docker(&["network", "rm", "busy"]);
    assert_eq!(out.status.code(), Some(1));
    d.docker_ok(&["rm", "-f", "user1"]);
    assert_eq!(d.docker_ok(&["network", "rm", "busy"]), "busy");
    // Predefined networks stay.
    let (status, _, body) = http(&d.socket, "DELETE", "/networks/bridge", None).unwrap();
    assert_eq!(status, 409, "{body}");
    assert!(
        body.contains("bridge is a pre-defined network and cannot be removed"),
        "{body}"
    );
    let bridges_before = d.bridges();
    let nets_before = d.docker_ok(&["network", "ls", "-q"]);
    // Overlapping subnets, invalid CIDRs, a bad option: 4xx, nothing made.
    let subnet = d.net.subnet(220);
    d.docker_ok(&["network", "create", "--subnet", &subnet, "first"]);
    let made = d.bridges();
    let (status, _, body) = http(
        &d.socket,
        "POST",
        "/networks/create",
        Some(&format!(
            r#"{{"Name":"second","IPAM":{{"Config":[{{"Subnet":"{subnet}"}}]}}}}"#
        )),
    )
    .unwrap();
    assert_eq!(status, 409, "{body}");
    assert!(
        body.contains("Pool overlaps with other one on this address space"),
        "{body}"
    );
    let (status, _, body) = http(
        &d.socket,
        "POST",
        "/networks/create",
        Some(r#"{"Name":"bad","IPAM":{"Config":[{"Subnet":"10.1.2.300/24"}]}}"#),
    )
    .unwrap();
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("invalid subnet 10.1.2.300/24: invalid CIDR block notation"),
        "{body}"
    );
    let (status, _, body) = http(
        &d.socket,
        "POST",
        "/networks/create",
        Some(r#"{"Name":"bad","Options":{"colour":"blue"}}"#),
    )
    .unwrap();
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("colour"), "{body}");
    let (status, _, body) = http(
        &d.socket,
        "POST",
        "/networks/create",
        Some(r#"{"Name":"first"}"#),
    )
    .unwrap();
    assert_eq!(status, 409, "{body}");
    assert!(
        body.contains("network with name first already exists"),
        "{body}"
    );
    assert_eq!(d.bridges(), made);
    d.docker_ok(&["network", "rm", "first"]);
    assert_eq!(d.bridges(), bridges_before);
    assert_eq!(d.docker_ok(&["network", "ls", "-q"]), nets_before);
    // An unknown network: 400 at create (a 404 would make the docker CLI pull the image),
    // no container made.
    let out = d.docker(&[
        "run",
        "--rm",
        "--name",
        "lost",
        "--network",
        "nope",
        "busybox",
        "true",
    ]);
    assert_eq!(out.status.code(), Some(125));
    assert!(
        stderr(&out).contains("network nope not found"),
        "{}",
        stderr(&out)
    );
    assert!(d.docker(&["inspect", "lost"]).status.code() != Some(0));
    // Connecting twice: 409.
    d.docker_ok(&["network", "create", "twice"]);
    run_d(
        &d,
        &["--name", "joiner"],
        &["busybox".into(), "sleep".into(), "300".into()],
    );
    d.docker_ok(&["network", "connect", "twice", "joiner"]);
    let (status, _, body) = http(
        &d.socket,
        "POST",
        "/networks/twice/connect",
        Some(r#"{"Container":"joiner"}"#),
    )
    .unwrap();
    assert_eq!(status, 409, "{body}");
    assert!(
        body.contains("endpoint with name joiner already exists in network twice"),
        "{body}"
    );
    // Prune removes unused networks only.
    d.docker_ok(&["network", "create", "idle"]);
    let pruned = d.docker_ok(&["network", "prune", "-f"]);
    assert_eq!(pruned, "Deleted Networks:\nidle");
    let left = d.docker_ok(&["network", "ls", "--format", "{{.Name}}"]);
    assert!(left.contains("twice") && !left.contains("idle"), "{left}");
}

#[test]
fn network_events_like_dockerd() {
    use std::io::BufRead;
    use std::time::Duration;
    let d = daemon();
    let mut events = d
        .docker_cmd(&[
            "events",
            "--filter",
            "type=network",
            "--format",
            "{{.Type}} {{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.type}}{{if .Actor.Attributes.container}} +container{{end}}",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let out = events.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // The subscription starts when the CLI's request reaches the daemon: probe until an
    // event is seen (bounded), so none of the real ones is missed.
    let mut live = false;
    for i in 0..40 {
        let probe = format!("probe{i}");
        d.docker_ok(&["network", "create", &probe]);
        if rx
            .recv_timeout(Duration::from_millis(250))
            .is_ok_and(|l| l.contains(&probe))
        {
            live = true;
            break;
        }
    }
    assert!(live, "docker events never subscribed");
    d.docker_ok(&["network", "create", "evnet"]);
    d.docker_ok(&["run", "--rm", "--network", "evnet", "busybox", "true"]);
    d.docker_ok(&["network", "rm", "evnet"]);
    let mut lines = Vec::new();
    while lines.len() < 4 {
        match rx.recv_timeout(Duration::from_secs(10)) {
            Ok(l) if l.contains(" evnet ") => lines.push(l),
            Ok(_) => {}
            Err(_) => break,
        }
    }
    let _ = events.kill();
    let _ = events.wait();
    assert_eq!(
        lines,
        [
            "network create evnet bridge",
            "network connect evnet bridge +container",
            "network disconnect evnet bridge +container",
            "network destroy evnet bridge",
        ]
    );
}

#[test]
fn inspect_network_settings_have_dockerd_shapes() {
    let d = daemon();
    // dockerd 27's `NetworkSettings` (API 1.47) and `EndpointSettings`, field by field.
    let settings_keys = [
        "Bridge",
        "SandboxID",
        "SandboxKey",
        "Ports",
        "HairpinMode",
        "LinkLocalIPv6Address",
        "LinkLocalIPv6PrefixLen",
        "SecondaryIPAddresses",
        "SecondaryIPv6Addresses",
        "EndpointID",
        "Gateway",
        "GlobalIPv6Address",
        "GlobalIPv6PrefixLen",
        "IPAddress",
        "IPPrefixLen",
        "IPv6Gateway",
        "MacAddress",
        "Networks",
    ];
    let endpoint_keys = [
        "IPAMConfig",
        "Links",
        "Aliases",
        "MacAddress",
        "DriverOpts",
        "NetworkID",
        "EndpointID",
        "Gateway",
        "IPAddress",
        "IPPrefixLen",
        "IPv6Gateway",
        "GlobalIPv6Address",
        "GlobalIPv6PrefixLen",
        "DNSNames",
    ];
    let id = run_d(
        &d,
        &["--name", "shape", "-p", "127.0.0.1::80", "--expose", "90"],
        &["busybox".into(), "sleep".into(), "300".into()],
    );
    let body = http(&d.socket, "GET", "/v1.47/containers/shape/json", None)
        .unwrap()
        .2;
    let c: Value = serde_json::from_str(&body).unwrap();
    let ns = &c["NetworkSettings"];
    assert_eq!(
        json_keys(&body, &["NetworkSettings"]).unwrap(),
        settings_keys
    );
    let b = &ns["Networks"]["bridge"];
    assert_eq!(
        json_keys(&body, &["NetworkSettings", "Networks", "bridge"]).unwrap(),
        endpoint_keys
    );
    assert_eq!(ns["Bridge"], d.net.bridge.as_str());
    assert_eq!(ns["SandboxID"].as_str().unwrap().len(), 64);
    assert_eq!(
        ns["SandboxKey"],
        d.exec_root.join("netns").join(&id).display().to_string()
    );
    assert_eq!(ns["SecondaryIPAddresses"], Value::Null);
    let ip = b["IPAddress"].as_str().unwrap();
    assert!(ip.starts_with(&format!("10.{}.0.", d.net.n)), "{ip}");
    for k in [
        "EndpointID",
        "Gateway",
        "IPAddress",
        "IPPrefixLen",
        "MacAddress",
    ] {
        assert_eq!(ns[k], b[k], "{k}");
    }
    assert_eq!(b["Gateway"], d.net.gateway().as_str());
    assert_eq!(b["IPPrefixLen"], 24);
    let octets: Vec<u8> = ip.split('.').map(|o| o.parse().unwrap()).collect();
    let mac = format!(
        "02:42:{:02x}:{:02x}:{:02x}:{:02x}",
        octets[0], octets[1], octets[2], octets[3]
    );
    assert_eq!(b["MacAddress"], mac.as_str());
    assert_eq!(b["DNSNames"], Value::Null);
    assert_eq!(b["IPAMConfig"], Value::Null);
    let net_id = d.docker_ok(&["network", "inspect", "-f", "{{.Id}}", "bridge"]);
    assert_eq!(b["NetworkID"], net_id.as_str());
    let ports = &ns["Ports"];
    assert_eq!(ports["90/tcp"], Value::Null);
    assert_eq!(ports["80/tcp"][0]["HostIp"], "127.0.0.1");
    // The ps row carries the same endpoint and the ports.
    let rows: Value = serde_json::from_str(
        &http(&d.socket, "GET", "/v1.47/containers/json", None)
            .unwrap()
            .2,
    )
    .unwrap();
    assert_eq!(
        rows[0]["NetworkSettings"]["Networks"]["bridge"]["IPAddress"],
        ip
    );
    let row_ports = rows[0]["Ports"].as_array().unwrap();
    assert_eq!(row_ports.len(), 2, "{row_ports:?}");
    // Stopped: configuration kept, operational data gone, as dockerd does.
    d.docker_ok(&["stop", "-t", "0", "shape"]);
    let body = http(&d.socket, "GET", "/v1.47/containers/shape/json", None)
        .unwrap()
        .2;
    assert_eq!(
        json_keys(&body, &["NetworkSettings"]).unwrap(),
        settings_keys
    );
    let c: Value = serde_json::from_str(&body).unwrap();
    let ns = &c["NetworkSettings"];
    assert_eq!(ns["Ports"], serde_json::json!({}));
    for k in ["SandboxID", "SandboxKey", "IPAddress", "EndpointID"] {
        assert_eq!(ns[k], "", "{k}");
    }
    assert_eq!(ns["Networks"]["bridge"]["NetworkID"], net_id.as_str());
    assert_eq!(ns["Networks"]["bridge"]["IPAddress"], "");
    // A user-defined network: DNSNames (name, aliases, short id, host name), Aliases.
    d.docker_ok(&["network", "create", "--label", "tier=db", "usernet"]);
    let id = run_d(
        &d,
        &[
            "--name",
            "named",
            "--network",
            "usernet",
            "--network-alias",
            "al",
        ],
        &["busybox".into(), "sleep".into(), "300".into()],
    );
    let e = &inspect(&d, "named")["NetworkSettings"]["Networks"]["usernet"];
    assert_eq!(e["Aliases"], serde_json::json!(["al"]));
    assert_eq!(e["DNSNames"], serde_json::json!(["named", "al", &id[..12]]));
    // Network inspect: dockerd's fields, the container listed with its endpoint.
    let raw = http(&d.socket, "GET", "/v1.47/networks/usernet", None)
        .unwrap()
        .2;
    let n: Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(
        json_keys(&raw, &[]).unwrap(),
        [
            "Name",
            "Id",
            "Created",
            "Scope",
            "Driver",
            "EnableIPv4",
            "EnableIPv6",
            "IPAM",
            "Internal",
            "Attachable",
            "Ingress",
            "ConfigFrom",
            "ConfigOnly",
            "Containers",
            "Options",
            "Labels"
        ]
    );
    assert_eq!(n["Labels"]["tier"], "db");
    let ep = &n["Containers"][&id];
    assert_eq!(
        json_keys(&raw, &["Containers", &id]).unwrap(),
        [
            "Name",
            "EndpointID",
            "MacAddress",
            "IPv4Address",
            "IPv6Address"
        ]
    );
    assert!(ep["IPv4Address"].as_str().unwrap().ends_with("/24"), "{ep}");
    let subnet = n["IPAM"]["Config"][0]["Subnet"].as_str().unwrap();
    assert!(subnet.starts_with(&format!("10.{}.", d.net.n)), "{subnet}");
    let bridge =
        &serde_json::from_str::<Value>(&d.docker_ok(&["network", "inspect", "bridge"])).unwrap()[0];
    assert_eq!(
        bridge["Options"]["com.docker.network.bridge.name"],
        d.net.bridge.as_str()
    );
    assert_eq!(
        bridge["IPAM"]["Config"][0]["Subnet"],
        format!("10.{}.0.0/24", d.net.n).as_str()
    );
}
