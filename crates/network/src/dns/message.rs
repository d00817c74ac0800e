//! DNS messages (RFC 1035 §4), by hand: just enough to read a query's header and question
//! (and its EDNS UDP size, RFC 6891) and to write a response. Input is hostile: every read
//! is bounds-checked, compression pointers must point backwards and are followed at most
//! [`MAX_POINTERS`] times, names are at most 255 bytes; nothing here panics or allocates
//! more than the message's size.

use std::net::{Ipv4Addr, Ipv6Addr};

/// Record types we answer.
pub const TYPE_A: u16 = 1;
/// PTR.
pub const TYPE_PTR: u16 = 12;
/// MX.
pub const TYPE_MX: u16 = 15;
/// AAAA.
pub const TYPE_AAAA: u16 = 28;
/// OPT (EDNS).
pub const TYPE_OPT: u16 = 41;
/// The Internet class.
pub const CLASS_IN: u16 = 1;

/// Response codes.
pub const RCODE_NOERROR: u8 = 0;
/// Malformed query.
pub const RCODE_FORMERR: u8 = 1;
/// Server failure.
pub const RCODE_SERVFAIL: u8 = 2;
/// No such name.
pub const RCODE_NXDOMAIN: u8 = 3;
/// Not implemented.
pub const RCODE_NOTIMP: u8 = 4;
/// Refused.
pub const RCODE_REFUSED: u8 = 5;

/// The classic UDP limit without EDNS.
pub const MIN_UDP_SIZE: usize = 512;
/// Compression pointers followed per name, at most.
pub const MAX_POINTERS: usize = 32;
const MAX_NAME: usize = 255;

const FLAG_QR: u16 = 0x8000;
const FLAG_AA: u16 = 0x0400;
const FLAG_TC: u16 = 0x0200;
const FLAG_RD: u16 = 0x0100;
const FLAG_RA: u16 = 0x0080;
const FLAG_CD: u16 = 0x0010;

/// Why a message was not a usable query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Shorter than its own content says.
    #[error("message truncated")]
    Short,
    /// A name is malformed (bad label, forward or looping pointer, too long).
    #[error("malformed name")]
    BadName,
    /// The QR bit is set: a response, not a query.
    #[error("not a query")]
    NotAQuery,
    /// Not exactly one question.
    #[error("{0} questions")]
    QuestionCount(u16),
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// Message id.
    pub id: u16,
    /// Opcode (0 = standard query).
    pub opcode: u8,
    /// Recursion desired.
    pub rd: bool,
    /// Checking disabled.
    pub cd: bool,
    /// The question's labels, bytes as received (case kept for the echo: some resolvers
    /// randomise case and check it, draft-vixie-dnsext-dns0x20).
    pub labels: Vec<Vec<u8>>,
    /// The question name lower-cased, dotted, without the trailing dot; labels that are not
    /// plain ASCII without dots make it unmatchable.
    pub name: String,
    /// Question type.
    pub qtype: u16,
    /// Question class.
    pub qclass: u16,
    /// The client's UDP size (EDNS), at least 512.
    pub udp_size: usize,
}

fn u16_at(buf: &[u8], pos: usize) -> Result<u16, ParseError> {
    buf.get(pos..pos + 2)
        .map(|b| u16::from_be_bytes([b[0], b[1]]))
        .ok_or(ParseError::Short)
}

/// Reads the name at `pos`: its labels and the position right after it in the message.
fn read_name(buf: &[u8], start: usize) -> Result<(Vec<Vec<u8>>, usize), ParseError> {
    let mut labels = Vec::new();
    let (mut pos, mut end, mut jumps, mut total) = (start, None, 0, 0usize);
    loop {
        let len = *buf.get(pos).ok_or(ParseError::Short)? as usize;
        match len & 0xc0 {
            0x00 if len == 0 => {
                return Ok((labels, end.unwrap_or(pos + 1)));
            }
            0x00 => {
                let label = buf.get(pos + 1..pos + 1 + len).ok_or(ParseError::Short)?;
                total += len + 1;
                if total > MAX_NAME {
                    return Err(ParseError::BadName);
                }
                labels.push(label.to_vec());
                pos += 1 + len;
            }
            0xc0 => {
                let target = (u16_at(buf, pos)? & 0x3fff) as usize;
                jumps += 1;
                // Only backwards, and not forever.
                if target >= pos || jumps > MAX_POINTERS {
                    return Err(ParseError::BadName);
                }
                end.get_or_insert(pos + 2);
                pos = target;
            }
            _ => return Err(ParseError::BadName),
        }
    }
}

fn lower_name(labels: &[Vec<u8>]) -> String {
    let mut out = String::new();
    for (i, l) in labels.iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        for &b in l {
            // A dot or non-ASCII byte inside a label matches nothing we serve.
            if b == b'.' || !b.is_ascii() || b.is_ascii_control() {
                out.push('\u{fffd}');
            } else {
                out.push(b.to_ascii_lowercase() as char);
            }
        }
    }
    out
}

/// Skips one resource record at `pos`; returns (type, class, position after it).
fn skip_rr(buf: &[u8], pos: usize) -> Result<(u16, u16, usize), ParseError> {
    let (_, p) = read_name(buf, pos)?;
    let ty = u16_at(buf, p)?;
    let class = u16_at(buf, p + 2)?;
    let rdlen = u16_at(buf, p + 8)? as usize;
    let end = p + 10 + rdlen;
    if end > buf.len() {
        return Err(ParseError::Short);
    }
    Ok((ty, class, end))
}

/// Parses a query message.
pub fn parse_query(buf: &[u8]) -> Result<Query, ParseError> {
    if buf.len() < 12 {
        return Err(ParseError::Short);
    }
    let id = u16_at(buf, 0)?;
    let flags = u16_at(buf, 2)?;
    if flags & FLAG_QR != 0 {
        return Err(ParseError::NotAQuery);
    }
    let qd = u16_at(buf, 4)?;
    if qd != 1 {
        return Err(ParseError::QuestionCount(qd));
    }
    let (labels, p) = read_name(buf, 12)?;
    let qtype = u16_at(buf, p)?;
    let qclass = u16_at(buf, p + 2)?;
    let mut pos = p + 4;
    // EDNS: the OPT record's class is the client's UDP size. Records before it are skipped;
    // a malformed tail only costs the client its EDNS size.
    let mut udp_size = MIN_UDP_SIZE;
    let others = u16_at(buf, 6)? as usize + u16_at(buf, 8)? as usize + u16_at(buf, 10)? as usize;
    for _ in 0..others.min(64) {
        let Ok((ty, class, next)) = skip_rr(buf, pos) else {
            break;
        };
        if ty == TYPE_OPT {
            udp_size = (class as usize).max(MIN_UDP_SIZE);
        }
        pos = next;
    }
    Ok(Query {
        id,
        opcode: ((flags >> 11) & 0x0f) as u8,
        rd: flags & FLAG_RD != 0,
        cd: flags & FLAG_CD != 0,
        name: lower_name(&labels),
        labels,
        qtype,
        qclass,
        udp_size,
    })
}

/// The data of one answer record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RData {
    /// An IPv4 address.
    A(Ipv4Addr),
    /// An IPv6 address.
    Aaaa(Ipv6Addr),
    /// A name (dotted, no trailing dot).
    Ptr(String),
}

/// One answer for the question's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// Time to live, seconds.
    pub ttl: u32,
    /// The data.
    pub data: RData,
}

fn encode_name(out: &mut Vec<u8>, labels: impl IntoIterator<Item = impl AsRef<[u8]>>) {
    for l in labels {
        let l = l.as_ref();
        let l = &l[..l.len().min(63)];
        out.push(l.len() as u8);
        out.extend_from_slice(l);
    }
    out.push(0);
}

/// Writes the response to `q` with `rcode` and `answers`, at most `max_len` bytes: answers
/// that do not fit are dropped and TC is set (the client retries over TCP).
pub fn build_response(q: &Query, rcode: u8, answers: &[Answer], max_len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + answers.len() * 28);
    out.extend_from_slice(&q.id.to_be_bytes());
    out.extend_from_slice(&[0, 0]); // flags, set below
    out.extend_from_slice(&1u16.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0, 0, 0]); // an, ns, ar
    encode_name(&mut out, &q.labels);
    out.extend_from_slice(&q.qtype.to_be_bytes());
    out.extend_from_slice(&q.qclass.to_be_bytes());
    let mut flags =
        FLAG_QR | FLAG_RA | (u16::from(q.opcode & 0x0f) << 11) | u16::from(rcode & 0x0f);
    if q.rd {
        flags |= FLAG_RD;
    }
    if q.cd {
        flags |= FLAG_CD;
    }
    let mut count: u16 = 0;
    for a in answers {
        let mut rr = vec![0xc0, 0x0c]; // the question's name, at offset 12
        let (ty, rdata) = match &a.data {
            RData::A(ip) => (TYPE_A, ip.octets().to_vec()),
            RData::Aaaa(ip) => (TYPE_AAAA, ip.octets().to_vec()),
            RData::Ptr(name) => {
                let mut d = Vec::new();
                encode_name(&mut d, name.split('.').filter(|l| !l.is_empty()));
                (TYPE_PTR, d)
            }
        };
        rr.extend_from_slice(&ty.to_be_bytes());
        rr.extend_from_slice(&CLASS_IN.to_be_bytes());
        rr.extend_from_slice(&a.ttl.to_be_bytes());
        rr.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        rr.extend_from_slice(&rdata);
        if out.len() + rr.len() > max_len || count == u16::MAX {
            flags |= FLAG_TC;
            break;
        }
        out.extend_from_slice(&rr);
        count += 1;
    }
    out[2..4].copy_from_slice(&flags.to_be_bytes());
    out[6..8].copy_from_slice(&count.to_be_bytes());
    out
}

/// A bare error response to a message that may not even parse: the id and opcode are
/// copied when present, the question is not echoed.
pub fn error_response(buf: &[u8], rcode: u8) -> Option<Vec<u8>> {
    let id = u16_at(buf, 0).ok()?;
    let flags = u16_at(buf, 2).ok()?;
    if flags & FLAG_QR != 0 {
        return None; // never answer a response
    }
    let out_flags = FLAG_QR | FLAG_RA | (flags & (0x7800 | FLAG_RD)) | u16::from(rcode & 0x0f);
    let mut out = Vec::with_capacity(12);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&out_flags.to_be_bytes());
    out.extend_from_slice(&[0; 8]);
    Some(out)
}

/// The response code of a response message.
pub fn rcode_of(buf: &[u8]) -> Option<u8> {
    buf.get(3).map(|b| b & 0x0f)
}

/// Whether a message is a truncated response.
pub fn is_truncated(buf: &[u8]) -> bool {
    u16_at(buf, 2).is_ok_and(|f| f & FLAG_TC != 0)
}

/// A standard query for `name` (dotted) and `qtype`, with RD set: the client side, for
/// tests and for probing.
pub fn build_query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&FLAG_RD.to_be_bytes());
    out.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
    encode_name(&mut out, name.split('.').filter(|l| !l.is_empty()));
    out.extend_from_slice(&qtype.to_be_bytes());
    out.extend_from_slice(&CLASS_IN.to_be_bytes());
    out
}

/// The answers of a response we can read (A, AAAA, PTR), with its rcode: the client side,
/// for tests. Returns `None` for anything malformed.
pub fn parse_response(buf: &[u8]) -> Option<(u8, Vec<RData>)> {
    let flags = u16_at(buf, 2).ok()?;
    if flags & FLAG_QR == 0 {
        return None;
    }
    let qd = u16_at(buf, 4).ok()?;
    let an = u16_at(buf, 6).ok()?;
    let mut pos = 12;
    for _ in 0..qd {
        let (_, p) = read_name(buf, pos).ok()?;
        pos = p + 4;
    }
    let mut out = Vec::new();
    for _ in 0..an {
        let (ty, _, next) = skip_rr(buf, pos).ok()?;
        let (_, p) = read_name(buf, pos).ok()?;
        let rdata = buf.get(p + 10..next)?;
        match ty {
            TYPE_A if rdata.len() == 4 => out.push(RData::A(Ipv4Addr::new(
                rdata[0], rdata[1], rdata[2], rdata[3],
            ))),
            TYPE_AAAA if rdata.len() == 16 => {
                let mut b = [0u8; 16];
                b.copy_from_slice(rdata);
                out.push(RData::Aaaa(Ipv6Addr::from(b)));
            }
            TYPE_PTR => {
                let (labels, _) = read_name(buf, p + 10).ok()?;
                out.push(RData::Ptr(lower_name(&labels)));
            }
            _ => {}
        }
        pos = next;
    }
    Some((rcode_of(buf)?, out))
}

/// `flags` of a message, for tests.
pub fn flags_of(buf: &[u8]) -> Option<u16> {
    u16_at(buf, 2).ok()
}

/// Whether the AA bit is set (never by us: like dockerd, answers are not authoritative).
pub fn is_authoritative(buf: &[u8]) -> bool {
    flags_of(buf).is_some_and(|f| f & FLAG_AA != 0)
}

#[cfg(test)]
mod tests;
