//! The embedded DNS server's input: whatever a container sends to 127.0.0.11:53. Parsing,
//! deciding and answering must never panic; an answer must parse back, echo the query's id
//! and respect the size limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use network::dns::message::{error_response, parse_query, parse_response, RCODE_FORMERR};
use network::dns::{decide, Decision, DnsRecords, EndpointRecord};

fuzz_target!(|data: &[u8]| {
    let mut records = DnsRecords::default();
    records.add_network("n", "net");
    records.add_endpoint(
        "n",
        "e",
        EndpointRecord {
            container_id: "c".into(),
            names: vec!["web".into(), "alias".into()],
            links: vec![("l".into(), "web".into())],
            ipv4: Some([10, 0, 0, 2].into()),
            ipv6: Some("fd00::2".parse().unwrap()),
        },
    );
    match parse_query(data) {
        Ok(q) => {
            for max in [512usize, q.udp_size, 65535] {
                if let Decision::Reply(r) = decide(&records, "c", &q, max) {
                    assert!(r.len() <= max.max(12 + 4 + 256), "answer over its limit");
                    assert_eq!(r[..2], q.id.to_be_bytes());
                    assert!(parse_response(&r).is_some(), "our answer must parse");
                }
            }
        }
        Err(_) => {
            if let Some(r) = error_response(data, RCODE_FORMERR) {
                assert_eq!(r.len(), 12);
            }
        }
    }
    let _ = parse_response(data);
});
