//! dockerd's **local** log format (moby `daemon/logger/local`): each entry is a protobuf
//! `LogEntry` framed by its length, `[u32 BE size][message][u32 BE size]`, so the file can be
//! read forwards and backwards.
//!
//! ```text
//! message LogEntry {
//!   string source = 1;                 // "stdout" / "stderr"
//!   int64 time_nano = 2;
//!   bytes line = 3;                    // without its newline
//!   bool partial = 4;
//!   PartialLogEntryMetadata partial_log_metadata = 5;
//! }
//! message PartialLogEntryMetadata { bool last = 1; string id = 2; int32 ordinal = 3; }
//! ```
//!
//! A line is stored without its newline; a line longer than 16 KiB is split into partial
//! entries sharing an id, the last one marked `last`. A reader adds the newline back to
//! complete lines and to the last part of a split one, as dockerd's does.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{LogEntry, Stream};

/// The frame overhead: the size before and after the message.
pub const FRAME_OVERHEAD: usize = 8;

/// Where an entry stands in a split line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partial {
    pub id: String,
    pub ordinal: i32,
    pub last: bool,
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn key(out: &mut Vec<u8>, field: u32, wire: u8) {
    varint(out, u64::from(field << 3) | u64::from(wire));
}

fn bytes_field(out: &mut Vec<u8>, field: u32, data: &[u8]) {
    key(out, field, 2);
    varint(out, data.len() as u64);
    out.extend_from_slice(data);
}

/// Appends one framed entry to `out`.
pub fn encode(
    out: &mut Vec<u8>,
    stream: Stream,
    time_nano: i64,
    line: &[u8],
    partial: Option<&Partial>,
) {
    let mut msg = Vec::with_capacity(line.len() + 48);
    bytes_field(&mut msg, 1, stream.as_str().as_bytes());
    if time_nano != 0 {
        key(&mut msg, 2, 0);
        varint(&mut msg, time_nano as u64);
    }
    if !line.is_empty() {
        bytes_field(&mut msg, 3, line);
    }
    if let Some(p) = partial {
        key(&mut msg, 4, 0);
        varint(&mut msg, 1);
        let mut md = Vec::new();
        if p.last {
            key(&mut md, 1, 0);
            varint(&mut md, 1);
        }
        bytes_field(&mut md, 2, p.id.as_bytes());
        if p.ordinal != 0 {
            key(&mut md, 3, 0);
            varint(&mut md, p.ordinal as u32 as u64);
        }
        bytes_field(&mut msg, 5, &md);
    }
    let size = (msg.len() as u32).to_be_bytes();
    out.extend_from_slice(&size);
    out.extend_from_slice(&msg);
    out.extend_from_slice(&size);
}

fn read_varint(b: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*pos)?;
        *pos += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// Walks a message's fields: `(field, wire type, varint value, bytes)`.
fn fields(msg: &[u8]) -> Option<Vec<(u32, u64, &[u8])>> {
    let mut pos = 0;
    let mut out = Vec::new();
    while pos < msg.len() {
        let k = read_varint(msg, &mut pos)?;
        let (field, wire) = ((k >> 3) as u32, (k & 7) as u8);
        match wire {
            0 => out.push((field, read_varint(msg, &mut pos)?, &msg[0..0])),
            2 => {
                let len = read_varint(msg, &mut pos)? as usize;
                let data = msg.get(pos..pos.checked_add(len)?)?;
                pos += len;
                out.push((field, 0, data));
            }
            1 => pos = pos.checked_add(8)?,
            5 => pos = pos.checked_add(4)?,
            _ => return None,
        }
    }
    Some(out)
}

/// Decodes one message (without its frame) into an entry, newline restored.
pub fn decode_message(msg: &[u8]) -> Option<LogEntry> {
    let mut stream = Stream::Stdout;
    let mut nanos = 0i64;
    let mut line = Vec::new();
    let mut partial = false;
    let mut last = false;
    for (field, v, data) in fields(msg)? {
        match field {
            1 => {
                stream = match data {
                    b"stderr" => Stream::Stderr,
                    _ => Stream::Stdout,
                }
            }
            2 => nanos = v as i64,
            3 => line = data.to_vec(),
            4 => partial = v != 0,
            5 => last = fields(data)?.iter().any(|(f, v, _)| *f == 1 && *v != 0),
            _ => {}
        }
    }
    if !partial || last {
        line.push(b'\n');
    }
    Some(LogEntry {
        stream,
        time: UNIX_EPOCH + Duration::from_nanos(nanos.max(0) as u64),
        line,
        attrs: Vec::new(),
    })
}

/// Splits `data` into complete frames: the entries, and how many bytes they used (the rest
/// is an incomplete frame still being written). A corrupt frame ends the walk.
pub fn decode_frames(data: &[u8]) -> (Vec<LogEntry>, usize) {
    let mut pos = 0;
    let mut out = Vec::new();
    while data.len() - pos >= FRAME_OVERHEAD {
        let size =
            u32::from_be_bytes([data[pos], data[pos + 1], data[pos + 2], data[pos + 3]]) as usize;
        let end = pos + 4 + size + 4;
        if end > data.len() {
            break;
        }
        let msg = &data[pos + 4..pos + 4 + size];
        match decode_message(msg) {
            Some(e) => out.push(e),
            None => break,
        }
        pos = end;
    }
    (out, pos)
}

/// Nanoseconds since the epoch of `t`.
pub fn nanos(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let mut buf = Vec::new();
        encode(
            &mut buf,
            Stream::Stdout,
            1_700_000_000_000_000_001,
            b"hello",
            None,
        );
        let p = Partial {
            id: "abc".into(),
            ordinal: 1,
            last: false,
        };
        encode(&mut buf, Stream::Stderr, 5, b"part", Some(&p));
        let last = Partial {
            ordinal: 2,
            last: true,
            ..p
        };
        encode(&mut buf, Stream::Stderr, 6, b"end", Some(&last));
        buf.extend_from_slice(&[0, 0, 0, 9, 1]); // an incomplete frame
        let (entries, used) = decode_frames(&buf);
        assert_eq!(used, buf.len() - 5);
        let lines: Vec<&[u8]> = entries.iter().map(|e| e.line.as_slice()).collect();
        assert_eq!(lines, [&b"hello\n"[..], b"part", b"end\n"]);
        assert_eq!(entries[1].stream, Stream::Stderr);
        assert_eq!(nanos(entries[0].time), 1_700_000_000_000_000_001);
    }

    /// Bytes as dockerd's local driver writes them (gogo-protobuf field order).
    #[test]
    fn reads_dockerds_encoding() {
        let msg: &[u8] = &[
            0x0a, 0x06, b's', b't', b'd', b'o', b'u', b't', // source
            0x10, 0x01, // time_nano 1
            0x1a, 0x02, b'h', b'i', // line
        ];
        let mut framed = (msg.len() as u32).to_be_bytes().to_vec();
        framed.extend_from_slice(msg);
        framed.extend_from_slice(&(msg.len() as u32).to_be_bytes());
        let (e, _) = decode_frames(&framed);
        assert_eq!(e[0].line, b"hi\n");
        let mut ours = Vec::new();
        encode(&mut ours, Stream::Stdout, 1, b"hi", None);
        assert_eq!(ours, framed, "the same bytes as dockerd writes");
    }
}
