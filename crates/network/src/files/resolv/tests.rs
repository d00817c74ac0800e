//! Expected texts are moby's golden files (`libnetwork/internal/resolvconf/testdata`).

use super::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn internal(input: &str) -> (String, Vec<ExtServer>) {
    let mut rc = ResolvConf::parse(input, "/etc/resolv.conf");
    let ext = rc.transform_for_internal_resolver(INTERNAL_NAMESERVER, &[]);
    (rc.generate(true), ext)
}

#[test]
fn internal_resolver_ipv4_only() {
    let (text, ext) = internal("nameserver 10.0.0.1");
    assert_eq!(
        text,
        "nameserver 127.0.0.11\n\n\
         # Based on host file: '/etc/resolv.conf' (internal resolver)\n\
         # ExtServers: [host(10.0.0.1)]\n\
         # Overrides: []\n"
    );
    assert_eq!(
        ext,
        vec![ExtServer {
            addr: ip("10.0.0.1"),
            host_loopback: true
        }]
    );
}

#[test]
fn internal_resolver_keeps_host_loopback_upstreams() {
    let (text, ext) = internal("nameserver 127.0.0.53\nnameserver ::1");
    assert!(
        text.contains("# ExtServers: [host(127.0.0.53) host(::1)]\n"),
        "{text}"
    );
    assert_eq!(ext.len(), 2);
}

#[test]
fn internal_resolver_override_is_not_host_loopback() {
    let mut rc = ResolvConf::parse("nameserver 10.0.0.1", "/etc/resolv.conf");
    rc.override_nameservers(&["127.0.0.53".into()]).unwrap();
    let ext = rc.transform_for_internal_resolver(INTERNAL_NAMESERVER, &[]);
    assert_eq!(
        ext,
        vec![ExtServer {
            addr: ip("127.0.0.53"),
            host_loopback: false
        }]
    );
    assert!(rc
        .generate(true)
        .contains("# ExtServers: [127.0.0.53]\n# Overrides: [nameservers]\n"));
}

#[test]
fn internal_resolver_ndots() {
    // ndots from the host wins over the required one.
    let mut rc = ResolvConf::parse("nameserver 127.0.0.53\noptions ndots:1", "/etc/resolv.conf");
    rc.transform_for_internal_resolver(INTERNAL_NAMESERVER, INTERNAL_RESOLVER_OPTIONS);
    assert_eq!(rc.option("ndots"), Some("1"));
    // Missing: added, and said so.
    let mut rc = ResolvConf::parse("nameserver 127.0.0.53", "/etc/resolv.conf");
    rc.transform_for_internal_resolver(INTERNAL_NAMESERVER, INTERNAL_RESOLVER_OPTIONS);
    assert_eq!(
        rc.generate(true),
        "nameserver 127.0.0.11\noptions ndots:0\n\n\
         # Based on host file: '/etc/resolv.conf' (internal resolver)\n\
         # ExtServers: [host(127.0.0.53)]\n\
         # Overrides: []\n\
         # Option ndots from: internal\n"
    );
    // Host, override and required: the override wins (golden "ndots host, override and required").
    let mut rc = ResolvConf::parse("nameserver 127.0.0.53", "/etc/resolv.conf");
    rc.override_options(&["ndots:2".into()]);
    rc.transform_for_internal_resolver(INTERNAL_NAMESERVER, INTERNAL_RESOLVER_OPTIONS);
    assert_eq!(
        rc.generate(true),
        "nameserver 127.0.0.11\noptions ndots:2\n\n\
         # Based on host file: '/etc/resolv.conf' (internal resolver)\n\
         # ExtServers: [host(127.0.0.53)]\n\
         # Overrides: [options]\n\
         # Option ndots from: override\n"
    );
    // Invalid ndots values are dropped when ndots is required (moby's
    // TestRCTransformForIntNSInvalidNdots).
    let mut rc = ResolvConf::parse(
        "nameserver 8.8.8.8\noptions ndots:-1 foo:bar ndots ndots:",
        "/etc/resolv.conf",
    );
    rc.transform_for_internal_resolver(INTERNAL_NAMESERVER, &["ndots:2"]);
    assert_eq!(rc.options(), ["foo:bar", "ndots:2"]);
    let mut rc = ResolvConf::parse(
        "nameserver 8.8.8.8\noptions ndots:1 foo:bar ndots ndots:",
        "/etc/resolv.conf",
    );
    rc.transform_for_internal_resolver(INTERNAL_NAMESERVER, &["ndots:2"]);
    assert_eq!(rc.options(), ["ndots:1", "foo:bar"]);
}

#[test]
fn internal_resolver_without_upstreams_warns() {
    let (text, ext) = internal("");
    assert!(ext.is_empty());
    assert!(
        text.contains("# NO EXTERNAL NAMESERVERS DEFINED\n"),
        "{text}"
    );
}

#[test]
fn legacy_network_drops_loopback_and_falls_back() {
    let mut rc = ResolvConf::parse("nameserver 127.0.0.53", "/etc/resolv.conf");
    rc.transform_for_legacy_network(false);
    assert_eq!(
        rc.generate(true),
        "nameserver 8.8.8.8\nnameserver 8.8.4.4\n\n\
         # Based on host file: '/etc/resolv.conf' (legacy)\n\
         # Used default nameservers.\n\
         # Overrides: []\n"
    );
    let mut rc = ResolvConf::parse("nameserver 127.0.0.53\nnameserver ::1", "/etc/resolv.conf");
    rc.transform_for_legacy_network(true);
    assert_eq!(
        rc.nameservers(),
        [
            ip("8.8.8.8"),
            ip("8.8.4.4"),
            ip("2001:4860:4860::8888"),
            ip("2001:4860:4860::8844")
        ]
    );
    let mut rc = ResolvConf::parse("nameserver 10.0.0.1", "/etc/resolv.conf");
    rc.transform_for_legacy_network(false);
    assert_eq!(
        rc.generate(true),
        "nameserver 10.0.0.1\n\n# Based on host file: '/etc/resolv.conf' (legacy)\n# Overrides: []\n"
    );
    // IPv6 nameservers only with IPv6.
    let mut rc = ResolvConf::parse(
        "nameserver 10.0.0.1\nnameserver fd00::1",
        "/etc/resolv.conf",
    );
    rc.transform_for_legacy_network(false);
    assert_eq!(rc.nameservers(), [ip("10.0.0.1")]);
    // --dns is kept as given, loopback included.
    let mut rc = ResolvConf::parse("nameserver 10.0.0.1", "/etc/resolv.conf");
    rc.override_nameservers(&["127.0.0.1".into()]).unwrap();
    rc.transform_for_legacy_network(false);
    assert_eq!(rc.nameservers(), [ip("127.0.0.1")]);
}

#[test]
fn unknown_directives_search_and_header() {
    let mut rc = ResolvConf::parse(
        "# comment\n; other\nnameserver 127.0.0.53\nsearch a.example b.example\noptions ndots:1\n\
         something unexpected\nnameserver bogus\nunrecognised thing\n",
        "/etc/resolv.conf",
    );
    assert_eq!(rc.search(), ["a.example", "b.example"]);
    rc.override_search(&[".".into()]);
    assert!(rc.search().is_empty());
    rc.set_header("# Generated by berth.");
    assert_eq!(
        rc.generate(true),
        "# Generated by berth.\n\n\
         nameserver 127.0.0.53\noptions ndots:1\nsomething unexpected\nunrecognised thing\n\n\
         # Based on host file: '/etc/resolv.conf'\n\
         # Invalid nameservers: [bogus]\n\
         # Overrides: [search]\n\
         # Option ndots from: host\n"
    );
    assert_eq!(
        rc.generate(false),
        "nameserver 127.0.0.53\noptions ndots:1\nsomething unexpected\nunrecognised thing\n"
    );
    let err = rc
        .override_nameservers(&["dns.example".into()])
        .unwrap_err();
    assert_eq!(err.to_string(), "dns.example is not an ip address");
}
