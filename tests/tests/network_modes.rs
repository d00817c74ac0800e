//! Legacy links (Docker's variables and hosts entries) and the network modes and options:
//! `container:<id>`, `none`, `host`, several networks at create, `--hostname --domainname
//! --add-host host-gateway --dns --dns-search --dns-option --mac-address --ip --ip6`.

use berth_tests::net::{daemon, run_d, stderr};
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
    // An exec sees the link's variables too.
    run_d(
        &d,
        &["--name", "webx", "--link", "db:data"],
        &["busybox".into(), "sleep".into(), "300".into()],
    );
    let env = d.docker_ok(&["exec", "webx", "env"]);
    assert!(env.lines().any(|l| l == "DATA_NAME=/webx/data"), "{env}");
    d.docker_ok(&["rm", "-f", "webx"]);
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
