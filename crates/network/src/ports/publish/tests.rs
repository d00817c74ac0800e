//! The publisher with the firewall off (no nft here: see the privileged tests for the
//! kernel path); targets are echo servers on loopback addresses.

use std::io::{Read, Write};
use std::time::Duration;

use super::*;
use crate::firewall::FirewallConfig;

fn publisher(proxy: bool) -> PortPublisher {
    let mut cfg = FirewallConfig::new("unused").unwrap();
    cfg.enabled = false;
    PortPublisher::new(
        PortAllocator::new(crate::ports::ephemeral_range()),
        Arc::new(Firewall::new(cfg)),
        proxy,
    )
}

/// A TCP server on 127.0.0.1 answering each connection with "hello <what it read>".
fn tcp_echo() -> std::net::SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for c in l.incoming().take(8) {
            let Ok(mut c) = c else { continue };
            let mut buf = [0u8; 64];
            let n = c.read(&mut buf).unwrap_or(0);
            let _ = c.write_all(&[b"hello ", &buf[..n]].concat());
        }
    });
    addr
}

fn target(ipv4: &str) -> PublishTarget {
    PublishTarget {
        endpoint_id: "ep1".into(),
        bridge: "br-test".into(),
        ipv4: Some(ipv4.parse().unwrap()),
        ipv6: None,
    }
}

async fn ask_tcp(addr: std::net::SocketAddr, msg: &str) -> String {
    let msg = msg.to_string();
    tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(msg.as_bytes()).unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    })
    .await
    .unwrap()
}

#[test]
fn binding_strings_from_the_api() {
    let r = PublishRequest::from_binding("80/tcp", "", "").unwrap();
    assert_eq!(
        (r.container_port, r.proto, r.host_ip, r.host_ports),
        (80, Proto::Tcp, None, (0, 0))
    );
    let r = PublishRequest::from_binding("53/udp", "127.0.0.1", "5353").unwrap();
    assert_eq!(r.host_ports, (5353, 5353));
    assert_eq!(r.host_ip, Some("127.0.0.1".parse().unwrap()));
    let r = PublishRequest::from_binding("80", "[::1]", "8000-8010").unwrap();
    assert_eq!(r.host_ports, (8000, 8010));
    for (k, ip, p) in [
        ("0/tcp", "", ""),
        ("x/tcp", "", ""),
        ("80/icmp", "", ""),
        ("80/tcp", "nope", ""),
        ("80/tcp", "", "9-1"),
    ] {
        let err = PublishRequest::from_binding(k, ip, p).unwrap_err();
        assert_eq!(
            err.kind(),
            crate::ErrorKind::InvalidArgument,
            "{k} {ip} {p}"
        );
    }
}

#[tokio::test]
async fn tcp_through_the_userland_proxy_then_freed() {
    let echo = tcp_echo();
    let p = publisher(true);
    let req = PublishRequest {
        container_port: echo.port(),
        proto: Proto::Tcp,
        host_ip: Some("127.0.0.1".parse().unwrap()),
        host_ports: (0, 0),
    };
    let published = p
        .publish(&target("127.0.0.1"), std::slice::from_ref(&req))
        .await
        .unwrap();
    assert_eq!(published.len(), 1);
    let host = std::net::SocketAddr::new(published[0].host_ip, published[0].host_port);
    assert_eq!(ask_tcp(host, "proxy").await, "hello proxy");
    // A second endpoint cannot take the same host port.
    let mut t2 = target("127.0.0.1");
    t2.endpoint_id = "ep2".into();
    let mut same = req.clone();
    same.host_ports = (host.port(), host.port());
    let err = p.publish(&t2, &[same.clone()]).await.unwrap_err();
    assert_eq!(err.kind(), crate::ErrorKind::Conflict);
    assert!(
        err.to_string()
            .contains(&format!("127.0.0.1:{}", host.port())),
        "{err}"
    );
    // Unpublish frees it for a plain bind right away.
    p.unpublish("ep1").await.unwrap();
    assert!(p.endpoints().await.is_empty());
    drop(std::net::TcpListener::bind(host).expect("port free after unpublish"));
    // And the other endpoint gets it now; republishing an endpoint replaces its ports.
    let again = p.publish(&t2, &[same.clone()]).await.unwrap();
    assert_eq!(again[0].host_port, host.port());
    let again = p.publish(&t2, &[same]).await.unwrap();
    assert_eq!(again[0].host_port, host.port());
    p.unpublish("ep2").await.unwrap();
}

#[tokio::test]
async fn udp_through_the_userland_proxy() {
    let server = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let server_addr = server.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 64];
        for _ in 0..4 {
            let Ok((n, from)) = server.recv_from(&mut buf) else {
                return;
            };
            let _ = server.send_to(&[b"re:", &buf[..n]].concat(), from);
        }
    });
    let p = publisher(true);
    let req = PublishRequest {
        container_port: server_addr.port(),
        proto: Proto::Udp,
        host_ip: Some("127.0.0.1".parse().unwrap()),
        host_ports: (0, 0),
    };
    let published = p.publish(&target("127.0.0.1"), &[req]).await.unwrap();
    let host = std::net::SocketAddr::new(published[0].host_ip, published[0].host_port);
    let reply = tokio::task::spawn_blocking(move || {
        let c = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        c.send_to(b"ping", host).unwrap();
        let mut buf = [0u8; 64];
        let (n, from) = c.recv_from(&mut buf).unwrap();
        assert_eq!(from, host, "the reply comes from the published address");
        String::from_utf8_lossy(&buf[..n]).to_string()
    })
    .await
    .unwrap();
    assert_eq!(reply, "re:ping");
    p.unpublish("ep1").await.unwrap();
}

#[tokio::test]
async fn without_proxy_ports_are_held_but_not_served() {
    let echo = tcp_echo();
    let p = publisher(false);
    let req = PublishRequest {
        container_port: echo.port(),
        proto: Proto::Tcp,
        host_ip: Some("127.0.0.1".parse().unwrap()),
        host_ports: (0, 0),
    };
    let published = p.publish(&target("127.0.0.1"), &[req]).await.unwrap();
    let port = published[0].host_port;
    assert!(
        std::net::TcpListener::bind(("127.0.0.1", port)).is_err(),
        "held"
    );
    p.unpublish("ep1").await.unwrap();
    assert!(
        std::net::TcpListener::bind(("127.0.0.1", port)).is_ok(),
        "freed"
    );
}

#[tokio::test]
async fn all_addresses_means_ipv4_and_ipv6_only_with_ipv6() {
    let p = publisher(false);
    let req = PublishRequest {
        container_port: 80,
        proto: Proto::Tcp,
        host_ip: None,
        host_ports: (0, 0),
    };
    let published = p.publish(&target("10.0.0.2"), &[req]).await.unwrap();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].host_ip.to_string(), "0.0.0.0");
    p.unpublish("ep1").await.unwrap();
}
