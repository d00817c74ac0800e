//! Real sockets on loopback addresses only.

use super::*;

fn lo() -> IpAddr {
    "127.0.0.1".parse().unwrap()
}

fn alloc() -> PortAllocator {
    PortAllocator::new(ephemeral_range())
}

#[test]
fn ephemeral_port_is_held_against_this_daemon_and_the_kernel() {
    let a = alloc();
    let lease = a.request(&[lo()], Proto::Tcp, (0, 0), true).unwrap();
    let (lo_end, hi_end) = ephemeral_range();
    assert!((lo_end..=hi_end).contains(&lease.port));
    let port = lease.port;
    // Same daemon: dockerd's message.
    let err = a
        .request(&[lo()], Proto::Tcp, (port, port), true)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("Bind for 127.0.0.1:{port} failed: port is already allocated")
    );
    assert_eq!(err.kind(), ErrorKind::Conflict);
    // 0.0.0.0 covers 127.0.0.1.
    let err = a
        .request(
            &["0.0.0.0".parse().unwrap()],
            Proto::Tcp,
            (port, port),
            true,
        )
        .unwrap_err();
    assert!(matches!(err, PortError::AlreadyAllocated { .. }));
    // Another process (any other socket) cannot take it either.
    assert!(std::net::TcpListener::bind((lo(), port)).is_err());
    // UDP is a different table.
    let udp = a.request(&[lo()], Proto::Udp, (port, port), true);
    drop(udp);
    drop(lease);
    // Freed at once.
    let again = a.request(&[lo()], Proto::Tcp, (port, port), true).unwrap();
    assert_eq!(again.port, port);
}

#[test]
fn port_taken_by_another_process_is_a_conflict_naming_it() {
    let other = std::net::TcpListener::bind((lo(), 0)).unwrap();
    let port = other.local_addr().unwrap().port();
    let err = alloc()
        .request(&[lo()], Proto::Tcp, (port, port), true)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("failed to bind host port 127.0.0.1:{port}/tcp: address already in use")
    );
    assert_eq!(err.kind(), ErrorKind::Conflict);
}

#[test]
fn failed_multi_address_request_frees_what_it_took() {
    let a = alloc();
    let other = std::net::TcpListener::bind(("127.0.0.3", 0)).unwrap();
    let port = other.local_addr().unwrap().port();
    let addrs: Vec<IpAddr> = vec!["127.0.0.2".parse().unwrap(), "127.0.0.3".parse().unwrap()];
    assert!(a.request(&addrs, Proto::Tcp, (port, port), true).is_err());
    // 127.0.0.2 was bound then released with the failed lease.
    let ok = a
        .request(&addrs[..1], Proto::Tcp, (port, port), true)
        .unwrap();
    assert_eq!(ok.sockets.len(), 1);
}

#[test]
fn range_skips_taken_ports_and_runs_out() {
    let a = alloc();
    let first = a.request(&[lo()], Proto::Udp, (0, 0), true).unwrap();
    let p = first.port;
    if p == u16::MAX {
        return; // no room for a two-port range above it
    }
    let second = a.request(&[lo()], Proto::Udp, (p, p + 1), true);
    match second {
        Ok(l) => {
            assert_eq!(l.port, p + 1);
            let err = a
                .request(&[lo()], Proto::Udp, (p, p + 1), true)
                .unwrap_err();
            assert!(matches!(err, PortError::Exhausted { .. }), "{err}");
            assert_eq!(err.kind(), ErrorKind::Conflict);
        }
        // p+1 may belong to another process on this shared machine.
        Err(e) => assert_eq!(e.kind(), ErrorKind::Conflict),
    }
    // A held UDP port refuses another UDP bind.
    assert!(std::net::UdpSocket::bind((lo(), p)).is_err());
}

#[test]
fn ipv6_and_ipv4_are_held_separately() {
    let a = alloc();
    let v4 = a.request(&[lo()], Proto::Tcp, (0, 0), true).unwrap();
    let v6 = a.request(
        &["::1".parse().unwrap()],
        Proto::Tcp,
        (v4.port, v4.port),
        true,
    );
    // ::1 may be absent on some hosts; when present the same number is free on it.
    if let Ok(v6) = v6 {
        assert_eq!(v6.port, v4.port);
    }
}

#[test]
fn bound_only_tcp_holds_the_port_and_refuses_connections() {
    let a = alloc();
    let lease = a.request(&[lo()], Proto::Tcp, (0, 0), false).unwrap();
    let port = lease.port;
    assert!(std::net::TcpListener::bind((lo(), port)).is_err(), "held");
    let refused = std::net::TcpStream::connect((lo(), port)).unwrap_err();
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    drop(lease);
    assert!(std::net::TcpListener::bind((lo(), port)).is_ok());
}

#[test]
fn sctp_is_refused() {
    let err = alloc()
        .request(&[lo()], Proto::Sctp, (0, 0), true)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert_eq!(err.to_string(), "publishing sctp ports is not supported");
}
