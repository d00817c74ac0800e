//! Networking through the real docker CLI: the default bridge, published ports (`-p`, `-P`,
//! `docker port`, the PORTS column, conflicts, freed on stop), user-defined networks with
//! embedded DNS, aliases and isolation, legacy links, the network modes and DNS options,
//! inspect shapes, refusals that leave nothing half made, live restore of published ports
//! and leases after `kill -9`, and no leak after 100 runs.
//!
//! Traffic goes only to loopback and to the bridges and namespaces the tests' daemons make;
//! DNS forwarding goes to a fake resolver on a loopback address.

use std::net::TcpListener;

use berth_tests::daemon::http;
use berth_tests::net::{answers, curl, json_keys, wait_until, FakeDns};
use berth_tests::Daemon;
use serde_json::Value;

fn daemon() -> Daemon {
    let d = Daemon::start().expect("start berthd");
    d.import_busybox().expect("import busybox");
    d
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The args of a detached busybox httpd serving `text` on port 80.
fn httpd(text: &str) -> Vec<String> {
    vec![
        "busybox".into(),
        "sh".into(),
        "-c".into(),
        format!("mkdir -p /www && echo {text} > /www/index.html && exec httpd -f -p 80 -h /www"),
    ]
}

fn run_d(d: &Daemon, flags: &[&str], cmd: &[String]) -> String {
    let mut args = vec!["run", "-d"];
    args.extend_from_slice(flags);
    args.extend(cmd.iter().map(String::as_str));
    d.docker_ok(&args)
}

fn inspect(d: &Daemon, what: &str) -> Value {
    let out = d.docker_ok(&["inspect", what]);
    let v: Value = serde_json::from_str(&out).unwrap();
    v[0].clone()
}

/// The host port `docker port` reports for `port` (`80/tcp`) of a container.
fn host_port(d: &Daemon, name: &str, port: &str) -> u16 {
    let out = d.docker_ok(&["port", name, port]);
    out.lines()
        .next()
        .and_then(|l| l.rsplit(':').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("docker port {name} {port}: {out}"))
}

/// The DNAT rules of the daemon's table (the `published` chain).
fn dnat_rules(d: &Daemon) -> String {
    let out = std::process::Command::new("nft")
        .args(["list", "chain", "inet", &d.net.nft_table, "published"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("dnat"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn published_ports_reach_httpd_and_are_freed_on_stop() {
    let d = daemon();
    // Loopback (the userland proxy) and every address (kernel DNAT, tried on the
    // bridge's own address from the host).
    run_d(
        &d,
        &["--name", "web", "-p", "127.0.0.1::80"],
        &httpd("via-proxy"),
    );
    run_d(&d, &["--name", "web2", "-p", "80"], &httpd("via-dnat"));
    let p1 = host_port(&d, "web", "80/tcp");
    let p2 = host_port(&d, "web2", "80");
    assert_eq!(
        curl(&format!("http://127.0.0.1:{p1}/"), 15).as_deref(),
        Some("via-proxy\n")
    );
    let gw = d.net.gateway();
    assert_eq!(
        curl(&format!("http://{gw}:{p2}/"), 15).as_deref(),
        Some("via-dnat\n")
    );
    assert!(
        dnat_rules(&d).contains(&format!("dport {p2} dnat")),
        "{}",
        dnat_rules(&d)
    );
    // docker port and the PORTS column, as docker prints them.
    assert_eq!(
        d.docker_ok(&["port", "web"]),
        format!("80/tcp -> 127.0.0.1:{p1}")
    );
    let ps = d.docker_ok(&["ps", "--format", "{{.Names}} {{.Ports}}"]);
    assert!(ps.contains(&format!("web 127.0.0.1:{p1}->80/tcp")), "{ps}");
    assert!(ps.contains(&format!("web2 0.0.0.0:{p2}->80/tcp")), "{ps}");
    let out = d.docker(&["port", "web", "81"]);
    assert!(
        stderr(&out).contains("No public port '81' published for web"),
        "{}",
        stderr(&out)
    );
    // Stopped: the port is free for anyone, and its rule is gone.
    d.docker_ok(&["stop", "-t", "1", "web", "web2"]);
    assert!(!answers(&format!("http://127.0.0.1:{p1}/")));
    TcpListener::bind(("127.0.0.1", p1)).expect("the host port is free after stop");
    assert!(
        !dnat_rules(&d).contains(&format!("dport {p2} ")),
        "{}",
        dnat_rules(&d)
    );
    let ports = d.docker_ok(&["inspect", "-f", "{{json .NetworkSettings.Ports}}", "web"]);
    assert_eq!(ports, "{}");
    // Started again: the same binding (an ephemeral port is picked again).
    d.docker_ok(&["start", "web"]);
    let p3 = host_port(&d, "web", "80/tcp");
    assert_eq!(
        curl(&format!("http://127.0.0.1:{p3}/"), 15).as_deref(),
        Some("via-proxy\n")
    );
}

#[test]
fn publish_all_and_port_conflicts() {
    let d = daemon();
    // -P publishes what the image EXPOSEs (and --expose adds).
    let tar = berth_tests::busybox_tar(d.root.path()).unwrap();
    let out = d
        .berth_cmd(&[
            "import",
            "--change",
            "EXPOSE 80",
            "--change",
            "CMD [\"sh\"]",
        ])
        .arg(&tar)
        .arg("web:exposed")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let mut cmd = httpd("exposed");
    cmd[0] = "web:exposed".into();
    run_d(&d, &["--name", "pall", "-P", "--expose", "9000/udp"], &cmd);
    let ports = d.docker_ok(&["port", "pall"]);
    assert_eq!(ports.lines().count(), 2, "{ports}");
    assert!(
        ports.contains("80/tcp -> 0.0.0.0:") && ports.contains("9000/udp -> 0.0.0.0:"),
        "{ports}"
    );
    let p = host_port(&d, "pall", "80");
    assert_eq!(
        curl(&format!("http://{}:{p}/", d.net.gateway()), 15).as_deref(),
        Some("exposed\n")
    );
    // The same host port again: 409, the port named; the second container does not run and
    // holds nothing.
    let taken = format!("127.0.0.1:{p}:80");
    let api = http(
        &d.socket,
        "POST",
        "/containers/create?name=second",
        Some(&format!(
            r#"{{"Image":"busybox","Cmd":["true"],"HostConfig":{{"PortBindings":{{"80/tcp":[{{"HostIp":"0.0.0.0","HostPort":"{p}"}}]}}}}}}"#
        )),
    )
    .unwrap();
    assert_eq!(api.0, 201, "{}", api.2);
    let start = http(&d.socket, "POST", "/containers/second/start", None).unwrap();
    assert_eq!(start.0, 409, "{}", start.2);
    assert!(
        start.2.contains(&format!(
            "Bind for 0.0.0.0:{p} failed: port is already allocated"
        )),
        "{}",
        start.2
    );
    // A port another process holds: 409 naming it; the container does not run.
    let holder = TcpListener::bind("127.0.0.1:0").unwrap();
    let hp = holder.local_addr().unwrap().port();
    let out = d.docker(&[
        "run",
        "-d",
        "--name",
        "blocked",
        "-p",
        &format!("127.0.0.1:{hp}:80"),
        "busybox",
        "sleep",
        "30",
    ]);
    assert_eq!(out.status.code(), Some(125));
    assert!(
        stderr(&out).contains(&format!(
            "failed to bind host port 127.0.0.1:{hp}/tcp: address already in use"
        )),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        d.docker_ok(&["inspect", "-f", "{{.State.Running}}", "blocked"]),
        "false"
    );
    assert!(!dnat_rules(&d).contains(&format!("dport {hp} ")));
    drop(holder);
    let _ = taken;
    // Bad specs are refused by the CLI and the daemon alike.
    let out = d.docker(&["run", "--rm", "-p", "80/sctp", "busybox", "true"]);
    assert!(stderr(&out).contains("SCTP"), "{}", stderr(&out));
}

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
fn legacy_links_set_docker_env_and_hosts() {
    let d = daemon();
    run_d(
        &d,
        &[
            "--name",
            "db",
            "-e",
            "SECRET=s3",
            "--expose",
            "5432",
            "--expose",
            "6000-6001/udp",
        ],
        &["busybox".into(), "sleep".into(), "300".into()],
    );
    let ip = d.docker_ok(&["inspect", "-f", "{{.NetworkSettings.IPAddress}}", "db"]);
    let db_host = d.docker_ok(&["inspect", "-f", "{{.Config.Hostname}}", "db"]);
    let env = d.docker_ok(&[
        "run",
        "--rm",
        "--name",
        "web",
        "--link",
        "db:data-base",
        "busybox",
        "env",
    ]);
    let mut link_env: Vec<&str> = env.lines().filter(|l| l.starts_with("DATA_BASE")).collect();
    link_env.sort();
    let expect = [
        "DATA_BASE_ENV_SECRET=s3".to_string(),
        "DATA_BASE_NAME=/web/data-base".to_string(),
        format!("DATA_BASE_PORT=tcp://{ip}:5432"),
        format!("DATA_BASE_PORT_5432_TCP=tcp://{ip}:5432"),
        format!("DATA_BASE_PORT_5432_TCP_ADDR={ip}"),
        "DATA_BASE_PORT_5432_TCP_PORT=5432".to_string(),
        "DATA_BASE_PORT_5432_TCP_PROTO=tcp".to_string(),
        format!("DATA_BASE_PORT_6000_UDP=udp://{ip}:6000"),
        format!("DATA_BASE_PORT_6000_UDP_ADDR={ip}"),
        format!("DATA_BASE_PORT_6000_UDP_END=udp://{ip}:6001"),
        "DATA_BASE_PORT_6000_UDP_PORT=6000".to_string(),
        "DATA_BASE_PORT_6000_UDP_PORT_END=6001".to_string(),
        "DATA_BASE_PORT_6000_UDP_PORT_START=6000".to_string(),
        "DATA_BASE_PORT_6000_UDP_PROTO=udp".to_string(),
        format!("DATA_BASE_PORT_6000_UDP_START=udp://{ip}:6000"),
        format!("DATA_BASE_PORT_6001_UDP=udp://{ip}:6001"),
        format!("DATA_BASE_PORT_6001_UDP_ADDR={ip}"),
        "DATA_BASE_PORT_6001_UDP_PORT=6001".to_string(),
        "DATA_BASE_PORT_6001_UDP_PROTO=udp".to_string(),
    ];
    assert_eq!(
        link_env,
        expect.iter().map(String::as_str).collect::<Vec<_>>()
    );
    let hosts = d.docker_ok(&[
        "run",
        "--rm",
        "--link",
        "db:data-base",
        "busybox",
        "cat",
        "/etc/hosts",
    ]);
    assert!(
        hosts.contains(&format!("{ip}\tdata-base {db_host} db")),
        "{hosts}"
    );
    let hosts = d.docker_ok(&[
        "run",
        "--rm",
        "--link",
        "db",
        "busybox",
        "cat",
        "/etc/hosts",
    ]);
    assert!(
        hosts.lines().any(|l| l == format!("{ip}\tdb {db_host}")),
        "{hosts}"
    );
    // Recorded as dockerd records it; the linked container lists the link's name.
    d.docker_ok(&[
        "create", "--name", "app", "--link", "db:data", "busybox", "true",
    ]);
    assert_eq!(
        d.docker_ok(&["inspect", "-f", "{{json .HostConfig.Links}}", "app"]),
        r#"["/db:/app/data"]"#
    );
    let names = d.docker_ok(&[
        "ps",
        "-a",
        "--no-trunc",
        "--filter",
        "name=db",
        "--format",
        "{{.Names}}",
    ]);
    assert_eq!(names, "app/data,db");
    // A link to a container that does not exist, or to one that does not run.
    let out = d.docker(&["create", "--link", "nosuch:x", "busybox", "true"]);
    assert!(
        stderr(&out).contains("could not get container for nosuch"),
        "{}",
        stderr(&out)
    );
    d.docker_ok(&["stop", "-t", "0", "db"]);
    let out = d.docker(&["start", "app"]);
    assert!(
        stderr(&out).contains("Cannot link to a non running container: /db AS /app/data"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn network_modes_and_dns_options() {
    let d = daemon();
    let gw = d.net.gateway();
    // --network container:<id>: the same stack (address, hosts file) as the other's.
    run_d(
        &d,
        &["--name", "base", "--hostname", "basehost"],
        &["busybox".into(), "sleep".into(), "300".into()],
    );
    let base_ip = d.docker_ok(&["inspect", "-f", "{{.NetworkSettings.IPAddress}}", "base"]);
    let out = d.docker_ok(&[
        "run",
        "--rm",
        "--network",
        "container:base",
        "busybox",
        "sh",
        "-c",
        "ip -o -4 addr show eth0; hostname",
    ]);
    assert!(out.contains(&base_ip) && out.ends_with("basehost"), "{out}");
    let out = d.docker(&[
        "run",
        "--rm",
        "--network",
        "container:base",
        "-p",
        "80",
        "busybox",
        "true",
    ]);
    assert!(
        stderr(&out)
            .contains("conflicting options: port publishing and the container type network mode"),
        "{}",
        stderr(&out)
    );
    // --hostname --domainname --add-host (host-gateway) --dns --dns-search --dns-option.
    let out = d.docker_ok(&[
        "run",
        "--rm",
        "--hostname",
        "web",
        "--domainname",
        "example.test",
        "--add-host",
        "gw:host-gateway",
        "--add-host",
        "db.local:10.1.2.3",
        "--dns",
        "127.77.0.9",
        "--dns-search",
        "corp.test",
        "--dns-option",
        "ndots:3",
        "busybox",
        "sh",
        "-c",
        "cat /etc/hosts /etc/resolv.conf",
    ]);
    assert!(out.contains(&format!("{gw}\tgw\n")), "{out}");
    assert!(out.contains("10.1.2.3\tdb.local\n"), "{out}");
    assert!(out.contains("\tweb.example.test web\n"), "{out}");
    assert!(
        out.contains("nameserver 127.77.0.9\nsearch corp.test\noptions ndots:3\n"),
        "{out}"
    );
    // --mac-address and --ip on a network with a user subnet; --ip6 on an IPv6 network.
    let subnet = d.net.subnet(210);
    let ip = format!("10.{}.210.50", d.net.n);
    let v6 = format!("fd77:{}::/64", d.net.n);
    let ip6 = format!("fd77:{}::50", d.net.n);
    d.docker_ok(&[
        "network", "create", "--subnet", &subnet, "--ipv6", "--subnet", &v6, "fixed",
    ]);
    let out = d.docker_ok(&[
        "run",
        "--rm",
        "--network",
        "fixed",
        "--ip",
        &ip,
        "--ip6",
        &ip6,
        "--mac-address",
        "02:42:de:ad:be:ef",
        "busybox",
        "ip",
        "addr",
        "show",
        "eth0",
    ]);
    assert!(out.contains("02:42:de:ad:be:ef"), "{out}");
    assert!(out.contains(&format!("inet {ip}/24")), "{out}");
    assert!(out.contains(&format!("inet6 {ip6}/64")), "{out}");
    // A static address outside the subnet, or on the default bridge, is refused at create.
    let out = d.docker(&[
        "create",
        "--network",
        "fixed",
        "--ip",
        "10.250.0.9",
        "busybox",
        "true",
    ]);
    assert!(
        stderr(&out).contains("no configured subnet or ip-range contain the IP address 10.250.0.9"),
        "{}",
        stderr(&out)
    );
    let out = d.docker(&["create", "--ip", &ip, "busybox", "true"]);
    assert!(
        stderr(&out)
            .contains("user specified IP address is supported on user defined networks only"),
        "{}",
        stderr(&out)
    );
    // --network none: lo only; host: the host's interfaces.
    let out = d.docker_ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "busybox",
        "ip",
        "-o",
        "link",
    ]);
    assert_eq!(out.lines().count(), 1, "{out}");
    let out = d.docker_ok(&[
        "run",
        "--rm",
        "--network",
        "host",
        "busybox",
        "ip",
        "-o",
        "link",
    ]);
    assert!(out.contains(&format!(": {}:", d.net.bridge)), "{out}");
    // Several networks at create (API ≥ 1.44): one interface each.
    d.docker_ok(&["network", "create", "second"]);
    let out = d.docker_ok(&[
        "run",
        "--rm",
        "--network",
        "fixed",
        "--network",
        "second",
        "busybox",
        "ip",
        "-o",
        "-4",
        "addr",
    ]);
    assert!(out.contains("eth0") && out.contains("eth1"), "{out}");
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
fn published_port_survives_kill_9_of_the_daemon() {
    let mut d = daemon();
    run_d(
        &d,
        &[
            "--name",
            "live",
            "-p",
            "127.0.0.1::80",
            "-p",
            "8000-8100:80",
        ],
        &httpd("still-here"),
    );
    let lo = host_port(&d, "live", "80/tcp");
    let all: u16 = d
        .docker_ok(&["port", "live", "80"])
        .lines()
        .find(|l| l.starts_with("0.0.0.0:"))
        .and_then(|l| l.rsplit(':').next()?.parse().ok())
        .unwrap();
    assert!((8000..=8100).contains(&all), "{all}");
    let ip = d.docker_ok(&["inspect", "-f", "{{.NetworkSettings.IPAddress}}", "live"]);
    let gw = d.net.gateway();
    assert_eq!(
        curl(&format!("http://127.0.0.1:{lo}/"), 15).as_deref(),
        Some("still-here\n")
    );
    d.kill().unwrap();
    // The kernel path needs no daemon.
    assert_eq!(
        curl(&format!("http://{gw}:{all}/"), 5).as_deref(),
        Some("still-here\n")
    );
    d.spawn().unwrap();
    // Live-restored: same address, same ports, the proxy back, the lease kept.
    assert_eq!(
        curl(&format!("http://127.0.0.1:{lo}/"), 15).as_deref(),
        Some("still-here\n")
    );
    assert_eq!(
        d.docker_ok(&["inspect", "-f", "{{.NetworkSettings.IPAddress}}", "live"]),
        ip
    );
    assert_eq!(host_port(&d, "live", "80/tcp"), lo);
    let other = d.docker_ok(&[
        "run", "--rm", "busybox", "ip", "-o", "-4", "addr", "show", "eth0",
    ]);
    assert!(
        !other.contains(&format!("inet {ip}/")),
        "lease given twice: {other}"
    );
    let out = d.docker(&[
        "run",
        "--rm",
        "-p",
        &format!("127.0.0.1:{lo}:80"),
        "busybox",
        "true",
    ]);
    assert!(
        stderr(&out).contains("already allocated"),
        "{}",
        stderr(&out)
    );
    d.docker_ok(&["rm", "-f", "live"]);
    assert!(!answers(&format!("http://{gw}:{all}/")));
    assert_eq!(dnat_rules(&d), "");
}

#[test]
fn hundred_runs_leak_nothing() {
    let d = daemon();
    d.docker_ok(&["network", "create", "churn"]);
    let bridge_of = |net: &str| {
        let id = d.docker_ok(&["network", "inspect", "-f", "{{.Id}}", net]);
        if net == "bridge" {
            d.net.bridge.clone()
        } else {
            format!("br-{}", &id[..12])
        }
    };
    let bridges = [bridge_of("bridge"), bridge_of("churn")];
    let ports_of = |b: &str| {
        std::fs::read_dir(format!("/sys/class/net/{b}/brif"))
            .map(|r| r.count())
            .unwrap_or(0)
    };
    for i in 0..100 {
        let mut args = vec!["run", "--rm", "-p", "127.0.0.1::80"];
        if i % 4 == 0 {
            args.extend(["--network", "churn"]);
        }
        args.extend(["busybox", "true"]);
        d.docker_ok(&args);
    }
    // veths: the kernel deletes them with the namespaces, in the background.
    assert!(
        wait_until(30, || bridges.iter().all(|b| ports_of(b) == 0)),
        "veths left: {:?}",
        bridges.iter().map(|b| ports_of(b)).collect::<Vec<_>>()
    );
    assert_eq!(dnat_rules(&d), "", "nft rules left");
    let count = |dir: std::path::PathBuf| std::fs::read_dir(dir).map(|r| r.count()).unwrap_or(0);
    assert_eq!(count(d.exec_root.join("netns")), 0, "netns left");
    assert_eq!(count(d.exec_root.join("network")), 0, "sandbox state left");
    // Leases: the next container gets the lowest address again, on both networks.
    let ip = d.docker_ok(&[
        "run", "--rm", "busybox", "ip", "-o", "-4", "addr", "show", "eth0",
    ]);
    assert!(ip.contains(&format!("inet 10.{}.0.2/24", d.net.n)), "{ip}");
    let sub = d.docker_ok(&[
        "network",
        "inspect",
        "-f",
        "{{(index .IPAM.Config 0).Subnet}}",
        "churn",
    ]);
    let first = sub.trim_end_matches("0/24").to_string() + "2/24";
    let ip = d.docker_ok(&[
        "run",
        "--rm",
        "--network",
        "churn",
        "busybox",
        "ip",
        "-o",
        "-4",
        "addr",
        "show",
        "eth0",
    ]);
    assert!(ip.contains(&format!("inet {first}")), "{ip} vs {first}");
    let n: Value =
        serde_json::from_str(&d.docker_ok(&["network", "inspect", "bridge", "churn"])).unwrap();
    assert_eq!(n[0]["Containers"], serde_json::json!({}));
    assert_eq!(n[1]["Containers"], serde_json::json!({}));
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
fn without_the_userland_proxy_dnat_alone_serves() {
    let d = Daemon::start_with(&["--userland-proxy=false"]).expect("start berthd");
    d.import_busybox().unwrap();
    run_d(&d, &["--name", "kern", "-p", "80"], &httpd("kernel-only"));
    let p = host_port(&d, "kern", "80");
    assert_eq!(
        curl(&format!("http://{}:{p}/", d.net.gateway()), 15).as_deref(),
        Some("kernel-only\n")
    );
    // The host port is still held (bound, not served): nobody else gets it.
    assert!(TcpListener::bind(("0.0.0.0", p)).is_err());
    // (Hairpin — a container reaching its own published port — is routed, so it needs
    // ip_forward, which tests never turn on on this host: the network crate's tests cover it
    // in a namespace of their own.)
    // Loopback would need route_localnet, which berth never turns on: refused, said why.
    let out = d.docker(&["run", "--rm", "-p", "127.0.0.1::80", "busybox", "true"]);
    assert!(
        stderr(&out).contains("needs the userland proxy"),
        "{}",
        stderr(&out)
    );
}
