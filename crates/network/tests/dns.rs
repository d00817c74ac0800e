//! Privileged: the embedded DNS server on 127.0.0.11:53 inside namespaces the test makes.
//! Upstream resolution goes to a fake resolver on 127.0.0.1 run by the test: nothing ever
//! leaves the machine.

mod common;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use network::dns::message::{self, RData, TYPE_A, TYPE_AAAA, TYPE_PTR};
use network::dns::server::LISTEN;
use network::dns::{ContainerDns, DnsServer, EndpointRecord};
use network::netns;

/// A resolver on 127.0.0.1 that knows only `external.test` (198.51.100.7, a documentation
/// address that is only ever data here) and says NXDOMAIN to the rest; it records the names
/// it was asked.
fn fake_upstream() -> (SocketAddr, Arc<Mutex<BTreeSet<String>>>) {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = sock.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(BTreeSet::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        for _ in 0..64 {
            let Ok((n, from)) = sock.recv_from(&mut buf) else {
                return;
            };
            let Ok(q) = message::parse_query(&buf[..n]) else {
                continue;
            };
            log.lock().unwrap().insert(q.name.clone());
            let resp = if q.name == "external.test" {
                message::build_response(
                    &q,
                    message::RCODE_NOERROR,
                    &[message::Answer {
                        ttl: 60,
                        data: RData::A("198.51.100.7".parse().unwrap()),
                    }],
                    512,
                )
            } else {
                message::build_response(&q, message::RCODE_NXDOMAIN, &[], 512)
            };
            let _ = sock.send_to(&resp, from);
        }
    });
    (addr, seen)
}

/// A UDP query sent from inside the namespace to 127.0.0.11:53.
fn query_udp(ns: &Path, name: &str, qtype: u16) -> Option<(u8, Vec<RData>)> {
    let q = message::build_query(0x1234, name, qtype);
    netns::run_in(ns, move || {
        let s = UdpSocket::bind("127.0.0.1:0").ok()?;
        s.set_read_timeout(Some(Duration::from_secs(6))).ok()?;
        s.send_to(&q, LISTEN).ok()?;
        let mut buf = [0u8; 1500];
        let n = s.recv(&mut buf).ok()?;
        message::parse_response(&buf[..n])
    })
    .unwrap()
}

/// The same over TCP; `Err` when nothing listens.
fn query_tcp(ns: &Path, name: &str, qtype: u16) -> std::io::Result<(u8, Vec<RData>)> {
    let q = message::build_query(0x4321, name, qtype);
    netns::run_in(ns, move || {
        let mut s = std::net::TcpStream::connect_timeout(&LISTEN, Duration::from_secs(5))?;
        s.set_read_timeout(Some(Duration::from_secs(6)))?;
        s.write_all(&(q.len() as u16).to_be_bytes())?;
        s.write_all(&q)?;
        let mut len = [0u8; 2];
        s.read_exact(&mut len)?;
        let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
        s.read_exact(&mut buf)?;
        message::parse_response(&buf).ok_or_else(|| std::io::ErrorKind::InvalidData.into())
    })
    .unwrap()
}

fn rec(container: &str, names: &[&str], v4: &str) -> EndpointRecord {
    EndpointRecord::v4(container, names, v4.parse().unwrap())
}

fn a(s: &str) -> RData {
    RData::A(s.parse().unwrap())
}

fn load(server: &DnsServer) {
    server.update(|r| {
        r.add_network("n1", "front");
        r.add_network("n2", "back");
        r.add_endpoint("n1", "e1", rec("c1", &["alpha", "web"], "10.9.1.2"));
        r.add_endpoint("n1", "e2", rec("c2", &["beta"], "10.9.1.3"));
        r.add_endpoint("n2", "e3", rec("c3", &["gamma"], "10.9.2.2"));
    });
}

fn cfg(id: &str, ns: &NsGuard, upstream: SocketAddr) -> ContainerDns {
    ContainerDns {
        container_id: id.into(),
        netns: ns.path().to_owned(),
        upstreams: vec![upstream],
        forward: true,
        listen: LISTEN,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn answers_by_name_and_alias_never_across_networks_and_forwards_the_rest() {
    let (upstream, seen) = fake_upstream();
    let (ns1, ns3) = (NsGuard::new(), NsGuard::new());
    let server = DnsServer::new();
    load(&server);
    server.attach(cfg("c1", &ns1, upstream)).await.unwrap();
    server.attach(cfg("c3", &ns3, upstream)).await.unwrap();

    let p1 = ns1.path().to_owned();
    let p3 = ns3.path().to_owned();
    let res = tokio::task::spawn_blocking(move || {
        // Names and aliases on the shared network, UDP and TCP.
        assert_eq!(
            query_udp(&p1, "beta", TYPE_A),
            Some((0, vec![a("10.9.1.3")]))
        );
        assert_eq!(
            query_udp(&p1, "WEB", TYPE_A),
            Some((0, vec![a("10.9.1.2")]))
        );
        assert_eq!(
            query_tcp(&p1, "beta", TYPE_A).unwrap(),
            (0, vec![a("10.9.1.3")])
        );
        assert_eq!(query_udp(&p1, "beta", TYPE_AAAA), Some((0, vec![])));
        assert_eq!(
            query_udp(&p1, "3.1.9.10.in-addr.arpa", TYPE_PTR),
            Some((0, vec![RData::Ptr("beta.front".into())]))
        );
        // gamma is on another network: not answered by us, forwarded, unknown upstream.
        assert_eq!(
            query_udp(&p1, "gamma", TYPE_A),
            Some((message::RCODE_NXDOMAIN, vec![]))
        );
        // ...but c3 resolves it, and not alpha.
        assert_eq!(
            query_udp(&p3, "gamma", TYPE_A),
            Some((0, vec![a("10.9.2.2")]))
        );
        assert_eq!(
            query_udp(&p3, "alpha", TYPE_A),
            Some((message::RCODE_NXDOMAIN, vec![]))
        );
        // Foreign names are forwarded, over UDP and TCP (the fake upstream is UDP-only, so
        // TCP forwarding fails over to SERVFAIL).
        assert_eq!(
            query_udp(&p1, "external.test", TYPE_A),
            Some((0, vec![a("198.51.100.7")]))
        );
        assert_eq!(
            query_tcp(&p1, "external.test", TYPE_A).unwrap().0,
            message::RCODE_SERVFAIL
        );
    })
    .await;
    res.unwrap();
    let asked = seen.lock().unwrap().clone();
    assert!(asked.contains("gamma") && asked.contains("alpha") && asked.contains("external.test"));
    assert!(
        !asked.contains("beta"),
        "our own names are never forwarded: {asked:?}"
    );

    // A real client: busybox nslookup inside the namespace.
    let out = std::process::Command::new("nsenter")
        .arg(format!("--net={}", ns1.path().display()))
        .args(["busybox", "nslookup", "web", "127.0.0.11"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("10.9.1.2"), "busybox nslookup: {text}");

    // Records change live; detach closes the sockets.
    server.update(|r| r.remove_endpoint("n1", "e2"));
    let p1 = ns1.path().to_owned();
    let after = tokio::task::spawn_blocking(move || query_udp(&p1, "beta", TYPE_A))
        .await
        .unwrap();
    assert_eq!(after, Some((message::RCODE_NXDOMAIN, vec![])));
    server.detach("c1").await;
    let p1 = ns1.path().to_owned();
    let gone = tokio::task::spawn_blocking(move || query_tcp(&p1, "alpha", TYPE_A))
        .await
        .unwrap();
    assert!(gone.is_err(), "nothing listens after detach");
    server.shutdown().await;
    assert!(server.attached().await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn reattach_after_restart_and_no_forwarding_when_internal() {
    let (upstream, seen) = fake_upstream();
    let ns = NsGuard::new();
    // First daemon.
    let first = DnsServer::new();
    load(&first);
    first.attach(cfg("c1", &ns, upstream)).await.unwrap();
    first.shutdown().await;
    drop(first);
    // A new daemon process: same namespace file, new sockets.
    let second = DnsServer::new();
    load(&second);
    let mut c = cfg("c1", &ns, upstream);
    c.forward = false; // only on internal networks
    second.attach(c.clone()).await.unwrap();
    // Attaching twice replaces (the old sockets are closed first).
    second.attach(c).await.unwrap();
    let p = ns.path().to_owned();
    tokio::task::spawn_blocking(move || {
        assert_eq!(
            query_udp(&p, "beta", TYPE_A),
            Some((0, vec![a("10.9.1.3")]))
        );
        assert_eq!(
            query_udp(&p, "elsewhere.test", TYPE_A),
            Some((message::RCODE_SERVFAIL, vec![]))
        );
    })
    .await
    .unwrap();
    assert!(!seen.lock().unwrap().contains("elsewhere.test"));
    second.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn attach_to_a_missing_namespace_fails_cleanly() {
    let server = DnsServer::new();
    let err = server
        .attach(ContainerDns {
            container_id: "ghost".into(),
            netns: "/nonexistent/netns".into(),
            upstreams: vec![],
            forward: false,
            listen: LISTEN,
        })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("/nonexistent/netns"), "{err}");
    assert!(server.attached().await.is_empty());
}
