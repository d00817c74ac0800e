use std::net::IpAddr;

use super::message::*;
use super::records::parse_ptr_name;
use super::*;

fn rec(container: &str, names: &[&str], v4: &str) -> EndpointRecord {
    EndpointRecord::v4(container, names, v4.parse().unwrap())
}

/// Two networks: front (web, api) and back (api, db); api is on both.
fn records() -> DnsRecords {
    let mut r = DnsRecords::default();
    r.add_network("n-front", "front");
    r.add_network("n-back", "back");
    r.add_endpoint(
        "n-front",
        "e-web",
        rec("c-web", &["web", "aaaaaaaaaaaa", "Www"], "10.1.0.2"),
    );
    r.add_endpoint(
        "n-front",
        "e-api1",
        rec("c-api", &["api", "shared"], "10.1.0.3"),
    );
    r.add_endpoint(
        "n-back",
        "e-api2",
        rec("c-api", &["api", "shared"], "10.2.0.3"),
    );
    r.add_endpoint(
        "n-back",
        "e-db",
        rec("c-db", &["db", "store", "shared"], "10.2.0.4"),
    );
    r
}

fn ask(r: &DnsRecords, asker: &str, name: &str, qtype: u16) -> Option<(u8, Vec<RData>)> {
    let q = parse_query(&build_query(42, name, qtype)).unwrap();
    match decide(r, asker, &q, 512) {
        Decision::Reply(resp) => parse_response(&resp),
        Decision::Forward => None,
    }
}

fn a(s: &str) -> RData {
    RData::A(s.parse().unwrap())
}

#[test]
fn names_and_aliases_only_on_shared_networks() {
    let r = records();
    assert_eq!(
        ask(&r, "c-web", "api", TYPE_A),
        Some((0, vec![a("10.1.0.3")]))
    );
    assert_eq!(
        ask(&r, "c-web", "WWW.", TYPE_A),
        Some((0, vec![a("10.1.0.2")])),
        "case, dot"
    );
    assert_eq!(
        ask(&r, "c-web", "aaaaaaaaaaaa", TYPE_A),
        Some((0, vec![a("10.1.0.2")]))
    );
    // db is on back only: web does not see it (forwarded, i.e. not ours for web).
    assert_eq!(ask(&r, "c-web", "db", TYPE_A), None);
    assert_eq!(ask(&r, "c-web", "store", TYPE_A), None);
    // api sees both; the db alias from back.
    assert_eq!(
        ask(&r, "c-api", "store", TYPE_A),
        Some((0, vec![a("10.2.0.4")]))
    );
    // db sees api at its back address, not the front one.
    assert_eq!(
        ask(&r, "c-db", "api", TYPE_A),
        Some((0, vec![a("10.2.0.3")]))
    );
    // A container on no network resolves nothing.
    assert_eq!(ask(&r, "c-stranger", "web", TYPE_A), None);
}

#[test]
fn shared_alias_gives_every_address_of_the_first_network() {
    let r = records();
    let (rcode, mut got) = ask(&r, "c-db", "shared", TYPE_A).unwrap();
    assert_eq!(rcode, 0);
    got.sort_by_key(|d| format!("{d:?}"));
    assert_eq!(got, vec![a("10.2.0.3"), a("10.2.0.4")]);
}

#[test]
fn name_dot_network() {
    let r = records();
    assert_eq!(
        ask(&r, "c-api", "api.back", TYPE_A),
        Some((0, vec![a("10.2.0.3")]))
    );
    assert_eq!(
        ask(&r, "c-api", "api.front", TYPE_A),
        Some((0, vec![a("10.1.0.3")]))
    );
    assert_eq!(
        ask(&r, "c-web", "api.back", TYPE_A),
        None,
        "web is not on back"
    );
    assert_eq!(ask(&r, "c-web", "web.example.com", TYPE_A), None);
}

#[test]
fn other_family_is_an_empty_answer_not_a_forward() {
    let r = records();
    assert_eq!(ask(&r, "c-web", "api", TYPE_AAAA), Some((0, vec![])));
    assert_eq!(ask(&r, "c-web", "api", TYPE_MX), Some((0, vec![])));
    assert_eq!(ask(&r, "c-web", "nothere", TYPE_MX), None);
    assert_eq!(ask(&r, "c-web", "api", 16 /* TXT */), None);
    let mut r = r;
    r.add_endpoint(
        "n-front",
        "e-v6",
        EndpointRecord {
            ipv6: Some("fd00::5".parse().unwrap()),
            ..rec("c-v6", &["v6"], "10.1.0.5")
        },
    );
    assert_eq!(
        ask(&r, "c-web", "v6", TYPE_AAAA),
        Some((0, vec![RData::Aaaa("fd00::5".parse().unwrap())]))
    );
}

#[test]
fn ptr_on_shared_networks() {
    let r = records();
    assert_eq!(
        ask(&r, "c-web", "3.0.1.10.in-addr.arpa", TYPE_PTR),
        Some((0, vec![RData::Ptr("api.front".into())]))
    );
    assert_eq!(ask(&r, "c-web", "4.0.2.10.in-addr.arpa", TYPE_PTR), None);
    assert_eq!(
        parse_ptr_name("4.3.2.1.in-addr.arpa."),
        Some("1.2.3.4".parse::<IpAddr>().unwrap())
    );
    let v6 = "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4.ip6.arpa";
    assert_eq!(
        parse_ptr_name(v6),
        Some("4321:0:1:2:3:4:567:89ab".parse().unwrap())
    );
    for bad in [
        "1.2.3.in-addr.arpa",
        "256.1.2.3.in-addr.arpa",
        "a.b.c.d.in-addr.arpa",
        "x.ip6.arpa",
        "example.com",
    ] {
        assert_eq!(parse_ptr_name(bad), None, "{bad}");
    }
}

#[test]
fn links_are_private_aliases_and_removal_forgets() {
    let mut r = records();
    let mut web = rec("c-web", &["web"], "10.1.0.2");
    web.links = vec![("backend".into(), "api".into())];
    r.add_endpoint("n-front", "e-web", web);
    assert_eq!(
        ask(&r, "c-web", "backend", TYPE_A),
        Some((0, vec![a("10.1.0.3")]))
    );
    assert_eq!(
        ask(&r, "c-api", "backend", TYPE_A),
        None,
        "only the linking container"
    );
    r.remove_endpoint("n-front", "e-api1");
    assert_eq!(ask(&r, "c-web", "api", TYPE_A), None);
    assert_eq!(r.networks_of("c-api"), ["n-back".to_string()]);
    r.remove_network("n-back");
    assert!(r.networks_of("c-api").is_empty());
    assert_eq!(ask(&r, "c-db", "db", TYPE_A), None);
}

#[test]
fn non_query_opcodes_are_not_implemented() {
    let r = records();
    let mut raw = build_query(5, "web", TYPE_A);
    raw[2] |= 2 << 3; // opcode 2 (STATUS)
    let q = parse_query(&raw).unwrap();
    let Decision::Reply(resp) = decide(&r, "c-web", &q, 512) else {
        panic!()
    };
    assert_eq!(rcode_of(&resp), Some(RCODE_NOTIMP));
    let mut raw = build_query(5, "web", TYPE_A);
    let n = raw.len();
    raw[n - 1] = 3; // class CH
    assert_eq!(
        decide(&r, "c-web", &parse_query(&raw).unwrap(), 512),
        Decision::Forward
    );
}
