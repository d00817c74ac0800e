//! Legacy `--link name:alias` on the default bridge: the environment variables Docker sets in
//! the linking container (moby `daemon/links`) and the hosts entry pointing at the linked one.
//!
//! Docker 28 still sets the variables; moby after 28 only does with
//! `DOCKER_KEEP_DEPRECATED_LEGACY_LINKS_ENV_VARS=1`. berth behaves as Docker 28.

use std::cmp::Ordering;
use std::net::IpAddr;

use super::hosts::HostsEntry;
use crate::ports::Proto;

/// One exposed port of the linked container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExposedPort {
    /// Its number.
    pub port: u16,
    /// Its protocol.
    pub proto: Proto,
}

/// TCP first, then by protocol name, then by number (moby's `withTCPPriority`).
fn tcp_first(a: &ExposedPort, b: &ExposedPort) -> Ordering {
    let rank = |p: &ExposedPort| (p.proto != Proto::Tcp, p.proto.as_str());
    rank(a).cmp(&rank(b)).then(a.port.cmp(&b.port))
}

/// The variables for a link called `name` (`/<linking container>/<alias>`, e.g.
/// `/web/db`) to a container at `child_ip` exposing `ports` with environment `child_env`.
///
/// The prefix is the alias upper-cased with `-` turned into `_`. For every port:
/// `P_PORT_80_TCP=tcp://ip:80`, `_ADDR`, `_PORT`, `_PROTO`; `P_PORT` for the first port; for
/// runs of consecutive ports `_START`, `_PORT_START`, `_END`, `_PORT_END` on the first of the
/// run; `P_NAME=<name>`; `P_ENV_<k>=<v>` for the child's variables except HOME and PATH.
pub fn env_vars(
    name: &str,
    child_ip: IpAddr,
    ports: &[ExposedPort],
    child_env: &[String],
) -> Vec<String> {
    let last = name.rsplit('/').next().unwrap_or(name);
    let alias = last.to_uppercase().replace('-', "_");
    let mut ports = ports.to_vec();
    ports.sort_by(tcp_first);
    let mut env = Vec::with_capacity(2 + ports.len() * 4 + child_env.len());
    let url = |p: &ExposedPort| format!("{}://{}:{}", p.proto.as_str(), child_ip, p.port);
    let prefix = |p: &ExposedPort| {
        format!(
            "{alias}_PORT_{}_{}",
            p.port,
            p.proto.as_str().to_uppercase()
        )
    };
    if let Some(first) = ports.first() {
        env.push(format!("{alias}_PORT={}", url(first)));
    }
    let mut run_start = 0;
    for (i, p) in ports.iter().enumerate() {
        let pre = prefix(p);
        env.push(format!("{pre}={}", url(p)));
        env.push(format!("{pre}_ADDR={child_ip}"));
        env.push(format!("{pre}_PORT={}", p.port));
        env.push(format!("{pre}_PROTO={}", p.proto.as_str()));
        let next_continues = ports
            .get(i + 1)
            .is_some_and(|n| n.proto == p.proto && u32::from(n.port) == u32::from(p.port) + 1);
        if next_continues {
            continue;
        }
        if i > run_start {
            let (start, end) = (&ports[run_start], p);
            let pre = prefix(start);
            env.push(format!("{pre}_START={}", url(start)));
            env.push(format!("{pre}_PORT_START={}", start.port));
            env.push(format!("{pre}_END={}", url(end)));
            env.push(format!("{pre}_PORT_END={}", end.port));
        }
        run_start = i + 1;
    }
    env.push(format!("{alias}_NAME={name}"));
    for kv in child_env {
        let Some((k, v)) = kv.split_once('=') else {
            continue;
        };
        if k == "HOME" || k == "PATH" {
            continue;
        }
        env.push(format!("{alias}_ENV_{k}={v}"));
    }
    env
}

/// The hosts line in the linking container for a link: the alias, the linked container's
/// host name, and its name when it differs from the alias.
pub fn hosts_entry(
    alias: &str,
    child_hostname: &str,
    child_name: &str,
    child_ip: IpAddr,
) -> HostsEntry {
    let child_name = child_name.trim_start_matches('/');
    let mut names = format!("{alias} {child_hostname}");
    if alias != child_name {
        names = format!("{names} {child_name}");
    }
    HostsEntry::new(child_ip, names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port(s: &str) -> ExposedPort {
        let (n, p) = s.split_once('/').unwrap();
        ExposedPort {
            port: n.parse().unwrap(),
            proto: p.parse().unwrap(),
        }
    }

    fn sorted(mut v: Vec<String>) -> Vec<String> {
        v.sort();
        v
    }

    fn ip() -> IpAddr {
        "172.0.17.2".parse().unwrap()
    }

    #[test]
    fn link_naming() {
        // moby TestLinkNaming
        let env = env_vars("/db/docker-1", ip(), &[port("6379/tcp")], &[]);
        assert_eq!(
            sorted(env),
            [
                "DOCKER_1_NAME=/db/docker-1",
                "DOCKER_1_PORT=tcp://172.0.17.2:6379",
                "DOCKER_1_PORT_6379_TCP=tcp://172.0.17.2:6379",
                "DOCKER_1_PORT_6379_TCP_ADDR=172.0.17.2",
                "DOCKER_1_PORT_6379_TCP_PORT=6379",
                "DOCKER_1_PORT_6379_TCP_PROTO=tcp",
            ]
        );
    }

    #[test]
    fn link_env() {
        // moby TestLinkEnv
        let env = env_vars(
            "/db/docker",
            ip(),
            &[port("6379/tcp")],
            &[
                "PASSWORD=gordon".into(),
                "HOME=/root".into(),
                "PATH=/bin".into(),
                "BAD".into(),
            ],
        );
        assert_eq!(
            sorted(env),
            [
                "DOCKER_ENV_PASSWORD=gordon",
                "DOCKER_NAME=/db/docker",
                "DOCKER_PORT=tcp://172.0.17.2:6379",
                "DOCKER_PORT_6379_TCP=tcp://172.0.17.2:6379",
                "DOCKER_PORT_6379_TCP_ADDR=172.0.17.2",
                "DOCKER_PORT_6379_TCP_PORT=6379",
                "DOCKER_PORT_6379_TCP_PROTO=tcp",
            ]
        );
    }

    #[test]
    fn link_multiple_env_with_ranges() {
        // moby TestLinkMultipleEnv
        let ports: Vec<ExposedPort> = ["6300/udp", "6379/tcp", "6380/tcp", "6381/tcp", "6382/udp"]
            .iter()
            .map(|p| port(p))
            .collect();
        let env = env_vars("/db/docker", ip(), &ports, &["PASSWORD=gordon".into()]);
        let expected = [
            "DOCKER_ENV_PASSWORD=gordon",
            "DOCKER_NAME=/db/docker",
            "DOCKER_PORT=tcp://172.0.17.2:6379",
            "DOCKER_PORT_6300_UDP=udp://172.0.17.2:6300",
            "DOCKER_PORT_6300_UDP_ADDR=172.0.17.2",
            "DOCKER_PORT_6300_UDP_PORT=6300",
            "DOCKER_PORT_6300_UDP_PROTO=udp",
            "DOCKER_PORT_6379_TCP=tcp://172.0.17.2:6379",
            "DOCKER_PORT_6379_TCP_ADDR=172.0.17.2",
            "DOCKER_PORT_6379_TCP_END=tcp://172.0.17.2:6381",
            "DOCKER_PORT_6379_TCP_PORT=6379",
            "DOCKER_PORT_6379_TCP_PORT_END=6381",
            "DOCKER_PORT_6379_TCP_PORT_START=6379",
            "DOCKER_PORT_6379_TCP_PROTO=tcp",
            "DOCKER_PORT_6379_TCP_START=tcp://172.0.17.2:6379",
            "DOCKER_PORT_6380_TCP=tcp://172.0.17.2:6380",
            "DOCKER_PORT_6380_TCP_ADDR=172.0.17.2",
            "DOCKER_PORT_6380_TCP_PORT=6380",
            "DOCKER_PORT_6380_TCP_PROTO=tcp",
            "DOCKER_PORT_6381_TCP=tcp://172.0.17.2:6381",
            "DOCKER_PORT_6381_TCP_ADDR=172.0.17.2",
            "DOCKER_PORT_6381_TCP_PORT=6381",
            "DOCKER_PORT_6381_TCP_PROTO=tcp",
            "DOCKER_PORT_6382_UDP=udp://172.0.17.2:6382",
            "DOCKER_PORT_6382_UDP_ADDR=172.0.17.2",
            "DOCKER_PORT_6382_UDP_PORT=6382",
            "DOCKER_PORT_6382_UDP_PROTO=udp",
        ];
        assert_eq!(sorted(env), expected);
    }

    #[test]
    fn sort_ports_tcp_first() {
        // moby TestSortPorts
        let mut ports: Vec<ExposedPort> = [
            "6379/tcp",
            "6376/udp",
            "6380/tcp",
            "6376/sctp",
            "6381/tcp",
            "6381/udp",
            "6375/udp",
            "6375/sctp",
        ]
        .iter()
        .map(|p| port(p))
        .collect();
        ports.sort_by(tcp_first);
        let got: Vec<String> = ports
            .iter()
            .map(|p| format!("{}/{}", p.port, p.proto.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                "6379/tcp",
                "6380/tcp",
                "6381/tcp",
                "6375/sctp",
                "6376/sctp",
                "6375/udp",
                "6376/udp",
                "6381/udp"
            ]
        );
    }

    #[test]
    fn no_ports_still_names_and_two_runs() {
        assert_eq!(env_vars("/a/b", ip(), &[], &[]), ["B_NAME=/a/b"]);
        let ports: Vec<ExposedPort> = ["1/tcp", "2/tcp", "5/tcp", "6/tcp"]
            .iter()
            .map(|p| port(p))
            .collect();
        let env = env_vars("/a/b", ip(), &ports, &[]);
        assert!(env.contains(&"B_PORT_1_TCP_PORT_END=2".to_string()));
        assert!(env.contains(&"B_PORT_5_TCP_PORT_END=6".to_string()));
        assert_eq!(env.iter().filter(|e| e.contains("_END=tcp")).count(), 2);
        // 65535 does not overflow into a run.
        let ports = [port("65535/tcp"), port("65534/tcp")];
        let env = env_vars("/a/b", ip(), &ports, &[]);
        assert!(env.contains(&"B_PORT_65534_TCP_PORT_END=65535".to_string()));
    }

    #[test]
    fn hosts_entry_names() {
        let e = hosts_entry("db", "c0ffee", "/mydb", ip());
        assert_eq!(e.names, "db c0ffee mydb");
        let e = hosts_entry("mydb", "c0ffee", "/mydb", ip());
        assert_eq!(e.names, "mydb c0ffee");
    }
}
