//! Hot pure paths: IPAM address allocation and subnet choice, and the DNS server's
//! parse → decide → write of one query.

use std::hint::black_box;
use std::net::Ipv4Addr;

use criterion::{criterion_group, criterion_main, Criterion};
use network::dns::message::{build_query, parse_query, TYPE_A};
use network::dns::{decide, DnsRecords, EndpointRecord};
use network::ipam::{default_pools, Ipam, IpamState, NetworkRequest, SubnetRequest};

fn ipam_with(allocated: usize) -> Ipam {
    let mut ipam = Ipam::new(default_pools(), IpamState::default());
    ipam.add_network(
        &NetworkRequest {
            id: "n".into(),
            name: "n".into(),
            ipv4: true,
            ipv6: false,
            subnets: vec![SubnetRequest {
                subnet: Some("10.0.0.0/16".parse().unwrap()),
                ..Default::default()
            }],
        },
        &[],
    )
    .unwrap();
    for _ in 0..allocated {
        ipam.allocate("n", false, None).unwrap();
    }
    ipam
}

fn ipam(c: &mut Criterion) {
    let mut ipam = ipam_with(1000);
    c.bench_function("ipam allocate+release, /16 with 1000 taken", |b| {
        b.iter(|| {
            let a = ipam.allocate("n", false, None).unwrap();
            ipam.release("n", black_box(a.addr()));
        })
    });
    let mut pools = Ipam::new(default_pools(), IpamState::default());
    for i in 0..20 {
        pools
            .add_network(
                &NetworkRequest {
                    id: format!("p{i}"),
                    name: format!("p{i}"),
                    ipv4: true,
                    ..Default::default()
                },
                &[],
            )
            .unwrap();
    }
    c.bench_function("ipam pick a subnet with 20 networks", |b| {
        b.iter(|| {
            pools
                .add_network(
                    &NetworkRequest {
                        id: "new".into(),
                        name: "new".into(),
                        ipv4: true,
                        ..Default::default()
                    },
                    &[],
                )
                .unwrap();
            pools.remove_network(black_box("new"));
        })
    });
}

fn dns(c: &mut Criterion) {
    let mut r = DnsRecords::default();
    for n in 0..10 {
        r.add_network(&format!("net{n}"), &format!("net{n}"));
        for e in 0..20u8 {
            r.add_endpoint(
                &format!("net{n}"),
                &format!("ep{n}-{e}"),
                EndpointRecord {
                    container_id: format!("c{n}-{e}"),
                    names: vec![format!("svc{e}"), format!("c{n}-{e}")],
                    links: vec![],
                    ipv4: Some(Ipv4Addr::new(10, n, 0, e + 2)),
                    ipv6: None,
                },
            );
        }
    }
    let hit = build_query(7, "svc7", TYPE_A);
    let miss = build_query(8, "example.com", TYPE_A);
    c.bench_function(
        "dns answer a local name (200 endpoints, 10 networks)",
        |b| {
            b.iter(|| {
                let q = parse_query(black_box(&hit)).unwrap();
                black_box(decide(&r, "c3-1", &q, 512))
            })
        },
    );
    c.bench_function("dns decide to forward a foreign name", |b| {
        b.iter(|| {
            let q = parse_query(black_box(&miss)).unwrap();
            black_box(decide(&r, "c3-1", &q, 512))
        })
    });
}

criterion_group!(benches, ipam, dns);
criterion_main!(benches);
