//! Cases from go-connections' `nat/nat_test.go`.

use super::*;

fn m(container: u16, proto: Proto, ip: &str, host: &str) -> PortMapping {
    PortMapping {
        container_port: container,
        proto,
        host_ip: ip.into(),
        host_port: host.into(),
    }
}

#[test]
fn empty_container_port() {
    for (spec, msg) in [
        ("", "no port specified: <empty>"),
        (
            "0.0.0.0:1234-1235:/tcp",
            "no port specified: 0.0.0.0:1234-1235:/tcp<empty>",
        ),
        (
            "0.0.0.0:1234-1235:",
            "no port specified: 0.0.0.0:1234-1235:<empty>",
        ),
    ] {
        assert_eq!(parse_port_spec(spec).unwrap_err().to_string(), msg);
    }
}

#[test]
fn full_spec_with_ranges() {
    assert_eq!(
        parse_port_spec("0.0.0.0:1234-1235:3333-3334/tcp").unwrap(),
        vec![
            m(3333, Proto::Tcp, "0.0.0.0", "1234"),
            m(3334, Proto::Tcp, "0.0.0.0", "1235")
        ]
    );
}

#[test]
fn ipv6_forms() {
    for (spec, want) in [
        (
            "[2001:4860:0:2001::68]::333",
            m(333, Proto::Tcp, "2001:4860:0:2001::68", ""),
        ),
        ("[::1]:80:80", m(80, Proto::Tcp, "::1", "80")),
        (
            "2001:4860:0:2001::68::333",
            m(333, Proto::Tcp, "2001:4860:0:2001::68", ""),
        ),
        ("::1:80:80", m(80, Proto::Tcp, "::1", "80")),
        ("::::80", m(80, Proto::Tcp, "::", "")),
    ] {
        assert_eq!(parse_port_spec(spec).unwrap(), vec![want], "{spec}");
    }
    assert!(matches!(
        parse_port_spec("[::1:80:80"),
        Err(PortSpecError::InvalidIp { .. })
    ));
}

#[test]
fn specs_with_protocols_and_host_ports() {
    let got =
        parse_port_specs(&["1234/tcp".into(), "2345/udp".into(), "3456/sctp".into()]).unwrap();
    assert_eq!(
        got,
        vec![
            m(1234, Proto::Tcp, "", ""),
            m(2345, Proto::Udp, "", ""),
            m(3456, Proto::Sctp, "", "")
        ]
    );
    let got = parse_port_specs(&["1234:1234/tcp".into(), "0.0.0.0:2345:2345/UDP".into()]).unwrap();
    assert_eq!(
        got,
        vec![
            m(1234, Proto::Tcp, "", "1234"),
            m(2345, Proto::Udp, "0.0.0.0", "2345")
        ]
    );
    assert_eq!(got[1].port_key(), "2345/udp");
    assert!(parse_port_specs(&["localhost:1234:1234/tcp".into()]).is_err());
    assert_eq!(
        parse_port_spec("localhost:1234:1234/tcp")
            .unwrap_err()
            .to_string(),
        "invalid IP address: localhost"
    );
}

#[test]
fn ranges() {
    let got = parse_port_spec("1234-1236/tcp").unwrap();
    assert_eq!(got.len(), 3);
    assert_eq!(got[1], m(1235, Proto::Tcp, "", ""));
    let got = parse_port_spec("0.0.0.0:1234-1236:1234-1236/udp").unwrap();
    assert_eq!(got[2], m(1236, Proto::Udp, "0.0.0.0", "1236"));
    // A host range for a single container port is the range to pick from.
    assert_eq!(
        parse_port_spec("8000-8010:80").unwrap(),
        vec![m(80, Proto::Tcp, "", "8000-8010")]
    );
    assert_eq!(
        parse_port_spec("8000-8010:80-81").unwrap_err().to_string(),
        "invalid ranges specified for container and host Ports: 80-81 and 8000-8010"
    );
    assert_eq!(
        parse_port_spec("80-70").unwrap_err().to_string(),
        "invalid containerPort: 80-70"
    );
    assert_eq!(
        parse_port_spec("x:80").unwrap_err().to_string(),
        "invalid hostPort: x"
    );
    assert_eq!(
        parse_port_spec("80/icmp").unwrap_err().to_string(),
        "invalid proto: icmp"
    );
}

#[test]
fn private_only_public_and_negative() {
    assert_eq!(
        parse_port_spec("192.168.1.100::80").unwrap(),
        vec![m(80, Proto::Tcp, "192.168.1.100", "")]
    );
    assert_eq!(
        parse_port_spec("192.168.1.100:8080:80").unwrap(),
        vec![m(80, Proto::Tcp, "192.168.1.100", "8080")]
    );
    assert_eq!(
        parse_port_spec("192.168.1.100::6000/sctp").unwrap(),
        vec![m(6000, Proto::Sctp, "192.168.1.100", "")]
    );
    assert!(parse_port_spec("192.168.1.100").is_err());
    assert!(parse_port_spec("192.168.1.100:-1:-1").is_err());
    assert!(parse_port_spec("65536").is_err());
    assert_eq!(parse_port_spec("+80").unwrap()[0].container_port, 80);
}

#[test]
fn display_like_go_connections() {
    for (input, want) in [
        (":8080:6000/tcp", ":8080:6000/tcp"),
        ("192.168.1.100:8080:6000", "192.168.1.100:8080:6000/tcp"),
        ("192.168.1.100::6000/udp", "192.168.1.100::6000/udp"),
        ("::6000", "::6000/tcp"),
        ("[::1]:8080:6000/udp", "[::1]:8080:6000/udp"),
        ("[::1]::6000/udp", "[::1]::6000/udp"),
        ("::1:8080:6000/udp", "[::1]:8080:6000/udp"),
        ("::::6000/udp", "[::]::6000/udp"),
    ] {
        let got = parse_port_spec(input).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].to_string(), want, "{input}");
    }
}

#[test]
fn port_ranges_alone() {
    assert_eq!(parse_port_range("1234").unwrap(), (1234, 1234));
    assert_eq!(parse_port_range("1234-1242").unwrap(), (1234, 1242));
    assert_eq!(parse_port_range("1234-1234").unwrap(), (1234, 1234));
    assert_eq!(
        parse_port_range("1234-1230").unwrap_err().to_string(),
        "invalid port range: 1234-1230"
    );
    assert_eq!(
        parse_port_range("asd1234").unwrap_err().to_string(),
        "invalid start port 'asd1234': invalid syntax"
    );
    assert_eq!(
        parse_port_range("").unwrap_err().to_string(),
        "empty string specified for ports"
    );
    assert_eq!(
        parse_port_range("1-70000").unwrap_err().to_string(),
        "invalid end port '70000': value out of range (0–65535)"
    );
}
