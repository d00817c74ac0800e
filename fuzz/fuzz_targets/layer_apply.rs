//! Structured layer tars: sequences of entries with names, link targets and types chosen to
//! reach the interesting paths (`..`, absolute names, symlinks then writes through them, hard
//! links, whiteouts, opaque markers, duplicates, long names). The applier must never panic
//! and never write outside its target.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

#[derive(Debug, Arbitrary)]
enum Kind {
    File,
    Dir,
    Symlink,
    Hardlink,
    Fifo,
    Char,
    Whiteout,
    Opaque,
}

#[derive(Debug, Arbitrary)]
struct Entry {
    kind: Kind,
    /// Path components, each picked from a small alphabet so names collide often.
    path: Vec<u8>,
    link: Vec<u8>,
    mode: u16,
    data: Vec<u8>,
    pax_xattr: bool,
}

const PARTS: &[&str] = &["a", "b", "..", ".", "", "/", "etc", "outside", "../outside", "/tmp", ".wh.a", "c"];

fn name_of(sel: &[u8]) -> String {
    let parts: Vec<&str> = sel.iter().take(8).map(|b| PARTS[*b as usize % PARTS.len()]).collect();
    parts.join("/")
}

fn header(name: &str, typeflag: u8, size: usize, mode: u32, link: &str) -> Vec<u8> {
    let mut h = vec![0u8; 512];
    let n = name.as_bytes();
    h[..n.len().min(100)].copy_from_slice(&n[..n.len().min(100)]);
    h[100..108].copy_from_slice(format!("{:07o}\0", mode & 0o7777).as_bytes());
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    h[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
    h[136..148].copy_from_slice(b"00000000000\0");
    h[156] = typeflag;
    let l = link.as_bytes();
    h[157..157 + l.len().min(100)].copy_from_slice(&l[..l.len().min(100)]);
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    h
}

fn push(out: &mut Vec<u8>, name: &str, typeflag: u8, data: &[u8], mode: u32, link: &str) {
    out.extend(header(name, typeflag, data.len(), mode, link));
    out.extend_from_slice(data);
    out.extend(std::iter::repeat_n(0u8, (512 - data.len() % 512) % 512));
}

fn build(entries: &[Entry]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries.iter().take(64) {
        let mut name = name_of(&e.path);
        let link = name_of(&e.link);
        let data = &e.data[..e.data.len().min(4096)];
        let mode = u32::from(e.mode);
        if e.pax_xattr {
            let rec = b"30 SCHILY.xattr.user.fuzz=1234\n";
            push(&mut out, "PaxHeader", b'x', rec, 0o644, "");
        }
        let (typeflag, body): (u8, &[u8]) = match e.kind {
            Kind::File => (b'0', data),
            Kind::Dir => (b'5', b""),
            Kind::Symlink => (b'2', b""),
            Kind::Hardlink => (b'1', b""),
            Kind::Fifo => (b'6', b""),
            Kind::Char => (b'3', b""),
            Kind::Whiteout => {
                name = format!("{name}/.wh.{}", PARTS[e.mode as usize % PARTS.len()]);
                (b'0', b"")
            }
            Kind::Opaque => {
                name = format!("{name}/.wh..wh..opq");
                (b'0', b"")
            }
        };
        push(&mut out, &name, typeflag, body, mode, &link);
    }
    out.extend(std::iter::repeat_n(0u8, 1024));
    out
}

fuzz_target!(|entries: Vec<Entry>| {
    common::Sandbox::new().apply_and_check(&build(&entries));
});
