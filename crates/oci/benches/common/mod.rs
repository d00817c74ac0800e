//! A deterministic ~100 MB layer tar resembling a real one (the mix of crates-evaluation §9):
//! about 3,000 files in nested directories, mostly small, a few large, text-like content that
//! gzip shrinks about 3×, plus symlinks, hard links and whiteouts. Shared by the benches of
//! `oci` (apply) and `store` (import).

use std::io::Write;

/// Deterministic xorshift.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

const WORDS: &[&str] = &[
    "static ",
    "struct ",
    "return ",
    "include ",
    "define ",
    "int ",
    "const ",
    "void ",
    "{\n",
    "}\n",
    "(",
    ")",
    ";\n",
    "self",
    "error",
    "buffer",
    "length",
    "__attribute__",
    "0x7f",
    "if ",
];

fn content(rng: &mut Rng, size: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(size + 16);
    while out.len() < size {
        let r = rng.next();
        if r.is_multiple_of(4) {
            // Some incompressible bytes mixed in.
            out.extend_from_slice(&r.to_le_bytes());
        } else {
            out.extend_from_slice(WORDS[(r >> 8) as usize % WORDS.len()].as_bytes());
        }
    }
    out.truncate(size);
    out
}

/// The tar, uncompressed.
pub fn layer_tar(target_bytes: usize) -> Vec<u8> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut b = tar::Builder::new(Vec::with_capacity(target_bytes + (8 << 20)));
    let mut total = 0usize;
    let mut n = 0usize;
    let mut dirs = Vec::new();
    while total < target_bytes {
        if n.is_multiple_of(40) {
            let dir = format!("usr/lib/pkg{}/sub{}/", n / 400, n / 40 % 10);
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Directory);
            h.set_mode(0o755);
            h.set_size(0);
            h.set_mtime(1_700_000_000);
            b.append_data(&mut h, &dir, &b""[..]).unwrap();
            dirs.push(dir);
        }
        let dir = dirs.last().unwrap();
        // Sizes: mostly 1–64 KiB, one in 50 between 1 and 4 MiB.
        let r = rng.next();
        let size = if r.is_multiple_of(50) {
            (1 << 20) + (r as usize >> 8) % (3 << 20)
        } else {
            1024 + (r as usize >> 8) % (63 << 10)
        };
        let name = format!("{dir}file{n}.c");
        let data = content(&mut rng, size);
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(if n.is_multiple_of(7) { 0o755 } else { 0o644 });
        h.set_size(size as u64);
        h.set_mtime(1_700_000_000);
        b.append_data(&mut h, &name, &data[..]).unwrap();
        if n % 100 == 1 {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Symlink);
            h.set_mode(0o777);
            h.set_size(0);
            b.append_link(&mut h, format!("{dir}link{n}"), format!("file{n}.c"))
                .unwrap();
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Link);
            h.set_mode(0o644);
            h.set_size(0);
            b.append_link(&mut h, format!("{dir}hard{n}"), &name)
                .unwrap();
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Regular);
            h.set_mode(0o600);
            h.set_size(0);
            b.append_data(&mut h, format!("{dir}.wh.removed{n}"), &b""[..])
                .unwrap();
        }
        total += size;
        n += 1;
    }
    b.into_inner().unwrap()
}

/// gzip of `data` at the default level, as a registry would serve it.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// A directory on a real disk for benchmark output: `BERTH_BENCH_DIR`, else the system temp
/// dir unless it is a tmpfs, else the current directory.
pub fn bench_dir() -> std::path::PathBuf {
    if let Some(d) = std::env::var_os("BERTH_BENCH_DIR") {
        return d.into();
    }
    let tmp = std::env::temp_dir();
    const TMPFS_MAGIC: i64 = 0x0102_1994;
    // f_type's width differs between architectures.
    #[allow(clippy::unnecessary_cast)]
    match rustix::fs::statfs(&tmp) {
        Ok(st) if st.f_type as i64 != TMPFS_MAGIC => tmp,
        _ => std::env::current_dir().unwrap(),
    }
}
