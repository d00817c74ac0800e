use super::*;

#[test]
fn query_round_trip_keeps_case_and_reads_edns() {
    let mut q = build_query(0xbeef, "Web.Example", TYPE_A);
    // Append an OPT record: root name, type 41, class = UDP size 1232, ttl 0, rdlen 0.
    q[11] = 1; // arcount
    q.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
    let parsed = parse_query(&q).unwrap();
    assert_eq!(parsed.id, 0xbeef);
    assert_eq!(parsed.name, "web.example");
    assert_eq!(parsed.labels, vec![b"Web".to_vec(), b"Example".to_vec()]);
    assert_eq!(parsed.qtype, TYPE_A);
    assert!(parsed.rd);
    assert_eq!(parsed.udp_size, 1232);
    let resp = build_response(
        &parsed,
        RCODE_NOERROR,
        &[Answer {
            ttl: 600,
            data: RData::A("10.0.0.2".parse().unwrap()),
        }],
        512,
    );
    // The echoed question keeps the client's case.
    assert!(resp.windows(3).any(|w| w == b"Web"));
    let (rcode, answers) = parse_response(&resp).unwrap();
    assert_eq!(rcode, RCODE_NOERROR);
    assert_eq!(answers, vec![RData::A("10.0.0.2".parse().unwrap())]);
    assert!(!is_authoritative(&resp));
    let flags = flags_of(&resp).unwrap();
    assert_eq!(flags & 0x8000, 0x8000, "QR");
    assert_eq!(flags & 0x0080, 0x0080, "RA");
    assert_eq!(flags & 0x0100, 0x0100, "RD copied");
}

#[test]
fn compression_pointers_and_their_abuse() {
    // Question name "a" + pointer back to a label... build: header, then at 12: 1 'x' 0
    // (a throwaway name is not allowed before the question, so point inside the question).
    let mut q = build_query(1, "x", TYPE_A);
    // Replace the question with: label "y" then pointer to offset 12 (itself: forward/loop).
    q.truncate(12);
    q.extend_from_slice(&[1, b'y', 0xc0, 12, 0, 1, 0, 1]);
    assert_eq!(
        parse_query(&q).unwrap_err(),
        ParseError::BadName,
        "pointer to itself loops"
    );
    // A forward pointer.
    q.truncate(12);
    q.extend_from_slice(&[0xc0, 20, 0, 1, 0, 1, 0, 0, 1, b'z', 0]);
    assert_eq!(parse_query(&q).unwrap_err(), ParseError::BadName);
    // Reserved label types.
    q.truncate(12);
    q.extend_from_slice(&[0x40, 0, 0, 1, 0, 1]);
    assert_eq!(parse_query(&q).unwrap_err(), ParseError::BadName);
    // Name longer than 255 bytes.
    let long = vec!["a".repeat(63); 5].join(".");
    assert_eq!(
        parse_query(&build_query(1, &long, TYPE_A)).unwrap_err(),
        ParseError::BadName
    );
}

#[test]
fn refuses_responses_and_odd_counts() {
    let mut q = build_query(7, "a", TYPE_A);
    q[2] |= 0x80;
    assert_eq!(parse_query(&q).unwrap_err(), ParseError::NotAQuery);
    assert!(
        error_response(&q, RCODE_FORMERR).is_none(),
        "never answer a response"
    );
    let mut q = build_query(7, "a", TYPE_A);
    q[5] = 2;
    assert_eq!(parse_query(&q).unwrap_err(), ParseError::QuestionCount(2));
    let e = error_response(&q, RCODE_FORMERR).unwrap();
    assert_eq!(&e[..2], &[0, 7]);
    assert_eq!(rcode_of(&e), Some(RCODE_FORMERR));
    assert_eq!(parse_query(&q[..5]).unwrap_err(), ParseError::Short);
    assert!(error_response(&[1], RCODE_FORMERR).is_none());
}

#[test]
fn truncation_sets_tc() {
    let q = parse_query(&build_query(9, "many", TYPE_A)).unwrap();
    let answers: Vec<Answer> = (0..100u8)
        .map(|i| Answer {
            ttl: 600,
            data: RData::A(std::net::Ipv4Addr::new(10, 0, 0, i)),
        })
        .collect();
    let resp = build_response(&q, RCODE_NOERROR, &answers, 512);
    assert!(resp.len() <= 512);
    assert!(is_truncated(&resp));
    let (_, got) = parse_response(&resp).unwrap();
    assert!(!got.is_empty() && got.len() < 100);
    let resp = build_response(&q, RCODE_NOERROR, &answers, 65535);
    assert!(!is_truncated(&resp));
    assert_eq!(parse_response(&resp).unwrap().1.len(), 100);
}

#[test]
fn ptr_answers_encode_names() {
    let q = parse_query(&build_query(3, "2.0.0.10.in-addr.arpa", TYPE_PTR)).unwrap();
    let resp = build_response(
        &q,
        RCODE_NOERROR,
        &[Answer {
            ttl: 600,
            data: RData::Ptr("web.mynet".into()),
        }],
        512,
    );
    assert_eq!(
        parse_response(&resp).unwrap().1,
        vec![RData::Ptr("web.mynet".into())]
    );
}

/// Random and mutated input never panics (a poor man's fuzzer, bounded and seeded).
#[test]
fn hostile_input_never_panics() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed);
    let seeds = [
        build_query(1, "web.example.com", TYPE_A),
        build_query(2, "2.0.0.10.in-addr.arpa", TYPE_PTR),
        {
            let mut q = build_query(3, "x", TYPE_AAAA);
            q[11] = 1;
            q.extend_from_slice(&[0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0]);
            q
        },
    ];
    for i in 0..20_000 {
        let mut msg = if i % 4 == 0 {
            let len = rng.random_range(0..300);
            (0..len).map(|_| rng.random()).collect::<Vec<u8>>()
        } else {
            seeds[i % seeds.len()].clone()
        };
        for _ in 0..rng.random_range(1..6) {
            if msg.is_empty() {
                break;
            }
            let at = rng.random_range(0..msg.len());
            match rng.random_range(0..3) {
                0 => msg[at] = rng.random(),
                1 => msg.truncate(at),
                _ => msg.insert(at, rng.random()),
            }
        }
        if let Ok(q) = parse_query(&msg) {
            let r = build_response(&q, RCODE_NOERROR, &[], 512);
            assert!(parse_response(&r).is_some());
        }
        let _ = error_response(&msg, RCODE_FORMERR);
        let _ = parse_response(&msg);
    }
}
