//! The embedded DNS server of user-defined networks, in dockerd's shape: every container on
//! such a network sees `nameserver 127.0.0.11`, and the daemon serves UDP and TCP sockets
//! bound to 127.0.0.11:53 *inside that container's namespace* (opened by a thread that
//! entered it; a socket stays in the namespace it was created in, so no NAT is needed).
//! Each socket belongs to one container, so the server always knows who asks, and answers
//! only with names on networks the asker shares with the target.
//!
//! - [`message`]: hand-written, bounds-checked parsing and writing of DNS messages.
//! - [`records`]: the names per network and the lookup rules.
//! - [`server`]: the sockets, per container, and forwarding to upstream resolvers.
//!
//! Names that are not ours are forwarded to the upstreams the engine gives (the host's
//! resolv.conf nameservers or the container's `--dns`), from the daemon's namespace, so a
//! host loopback resolver (127.0.0.53) works, as dockerd's `host(…)` upstreams do.
//! After a daemon restart the engine calls [`server::DnsServer::attach`] again for each
//! running container: the namespaces stay pinned, only the sockets are new.

pub mod message;
pub mod records;
pub mod server;

use std::net::IpAddr;

use message::{Answer, Query, RData};
use rand::seq::SliceRandom;
pub use records::{DnsRecords, EndpointRecord, Lookup};
pub use server::{ContainerDns, DnsError, DnsServer};

/// TTL of our answers (dockerd's `respTTL`).
pub const TTL: u32 = 600;

/// What to do with a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Send this response.
    Reply(Vec<u8>),
    /// Not ours: forward to the upstreams.
    Forward,
}

/// Decides the answer to `query` from `asker`, pure. `max_len` is the response size limit
/// (512 or the EDNS size over UDP, 65535 over TCP).
pub fn decide(records: &DnsRecords, asker: &str, query: &Query, max_len: usize) -> Decision {
    if query.opcode != 0 {
        return Decision::Reply(message::build_response(
            query,
            message::RCODE_NOTIMP,
            &[],
            max_len,
        ));
    }
    if query.qclass != message::CLASS_IN {
        return Decision::Forward;
    }
    let reply = |answers: Vec<Answer>| {
        Decision::Reply(message::build_response(
            query,
            message::RCODE_NOERROR,
            &answers,
            max_len,
        ))
    };
    match query.qtype {
        message::TYPE_A | message::TYPE_AAAA => {
            let v6 = query.qtype == message::TYPE_AAAA;
            match records.resolve(asker, &query.name, v6) {
                Lookup::Unknown => Decision::Forward,
                Lookup::Found(mut addrs) => {
                    addrs.shuffle(&mut rand::rng());
                    reply(addrs.into_iter().map(to_answer).collect())
                }
            }
        }
        message::TYPE_MX => {
            // A name we know has no MX: an empty NOERROR so mail clients use its A/AAAA
            // (RFC 5321 §5.1), as dockerd answers.
            let known = [false, true]
                .iter()
                .any(|v6| records.resolve(asker, &query.name, *v6) != Lookup::Unknown);
            if known {
                reply(Vec::new())
            } else {
                Decision::Forward
            }
        }
        message::TYPE_PTR => match records::parse_ptr_name(&query.name)
            .and_then(|ip| records.resolve_ptr(asker, ip))
        {
            Some(name) => reply(vec![Answer {
                ttl: TTL,
                data: RData::Ptr(name),
            }]),
            None => Decision::Forward,
        },
        _ => Decision::Forward,
    }
}

fn to_answer(ip: IpAddr) -> Answer {
    Answer {
        ttl: TTL,
        data: match ip {
            IpAddr::V4(a) => RData::A(a),
            IpAddr::V6(a) => RData::Aaaa(a),
        },
    }
}

#[cfg(test)]
mod tests;
