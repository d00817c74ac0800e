//! A tar made on the fly from a list of entries, read by the layer applier: COPY and ADD
//! write into the step's layer through `oci::layer::apply`, which already resolves every
//! path inside the root and never follows the last component. File contents are read from
//! their source only when the applier asks for them, so nothing is buffered.

use std::fs::File;
use std::io::{self, Read};
use std::path::PathBuf;

use tar::{EntryType, Header};

/// Where a file's content comes from.
#[derive(Debug, Clone)]
pub enum Content {
    /// A file on the host (context, another image, a download).
    Path(PathBuf),
    /// Bytes (a heredoc).
    Bytes(Vec<u8>),
}

/// Ownership, mode and time of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    /// Permission bits (with setuid/setgid/sticky).
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Modification time, seconds.
    pub mtime: u64,
}

/// One entry; names are relative to the root the tar is applied to.
#[derive(Debug, Clone)]
pub enum Item {
    /// A directory.
    Dir {
        /// Path.
        name: String,
        /// Metadata.
        meta: Meta,
    },
    /// A regular file of `size` bytes.
    File {
        /// Path.
        name: String,
        /// Metadata.
        meta: Meta,
        /// Size.
        size: u64,
        /// Content.
        content: Content,
    },
    /// A symbolic link.
    Symlink {
        /// Path.
        name: String,
        /// Metadata.
        meta: Meta,
        /// Target.
        target: String,
    },
}

impl Item {
    /// The entry's path.
    pub fn name(&self) -> &str {
        match self {
            Item::Dir { name, .. } | Item::File { name, .. } | Item::Symlink { name, .. } => name,
        }
    }
}

/// Appends a GNU long-name (or long-link) record for `data`.
fn long_record(buf: &mut Vec<u8>, ty: EntryType, data: &[u8]) {
    let mut h = Header::new_gnu();
    // A fixed name the readers know; `set_path` cannot fail on it.
    let _ = h.set_path("././@LongLink");
    h.set_mode(0o644);
    h.set_size(data.len() as u64 + 1);
    h.set_entry_type(ty);
    h.set_cksum();
    buf.extend_from_slice(h.as_bytes());
    buf.extend_from_slice(data);
    buf.push(0);
    pad(buf);
}

fn pad(buf: &mut Vec<u8>) {
    let rem = buf.len() % 512;
    if rem != 0 {
        buf.resize(buf.len() + 512 - rem, 0);
    }
}

/// Writes `s` into a header name field (truncating: a long-name record precedes it).
fn raw_name(field: &mut [u8], s: &str) {
    let b = s.as_bytes();
    let n = b.len().min(field.len());
    field[..n].copy_from_slice(&b[..n]);
}

/// The header bytes of `item` (with long-name records when needed).
fn header(item: &Item) -> Vec<u8> {
    let mut buf = Vec::new();
    let (name, meta, ty, size, link) = match item {
        Item::Dir { name, meta } => (format!("{name}/"), *meta, EntryType::Directory, 0, None),
        Item::File {
            name, meta, size, ..
        } => (name.clone(), *meta, EntryType::Regular, *size, None),
        Item::Symlink { name, meta, target } => (
            name.clone(),
            *meta,
            EntryType::Symlink,
            0,
            Some(target.as_str()),
        ),
    };
    if name.len() > 100 {
        long_record(&mut buf, EntryType::GNULongName, name.as_bytes());
    }
    if let Some(l) = link.filter(|l| l.len() > 100) {
        long_record(&mut buf, EntryType::GNULongLink, l.as_bytes());
    }
    let mut h = Header::new_gnu();
    h.set_entry_type(ty);
    h.set_mode(meta.mode);
    h.set_uid(meta.uid as u64);
    h.set_gid(meta.gid as u64);
    h.set_mtime(meta.mtime);
    h.set_size(size);
    if let Some(gnu) = h.as_gnu_mut() {
        raw_name(&mut gnu.name, &name);
        if let Some(l) = link {
            raw_name(&mut gnu.linkname, l);
        }
    }
    h.set_cksum();
    buf.extend_from_slice(h.as_bytes());
    buf
}

enum Body {
    File(File),
    Bytes(Vec<u8>, usize),
}

/// The tar stream of a list of items.
pub struct TarStream {
    items: std::vec::IntoIter<Item>,
    /// Bytes ready to hand out (headers, padding, the end marker).
    pending: Vec<u8>,
    pos: usize,
    /// The file being streamed, its bytes left, and the padding after it.
    body: Option<(Body, u64, usize)>,
    ended: bool,
}

impl TarStream {
    /// A stream of `items`, in order.
    pub fn new(items: Vec<Item>) -> TarStream {
        TarStream {
            items: items.into_iter(),
            pending: Vec::new(),
            pos: 0,
            body: None,
            ended: false,
        }
    }

    fn next_item(&mut self) -> io::Result<bool> {
        self.pending.clear();
        self.pos = 0;
        let Some(item) = self.items.next() else {
            if self.ended {
                return Ok(false);
            }
            self.ended = true;
            self.pending.resize(1024, 0);
            return Ok(true);
        };
        self.pending = header(&item);
        if let Item::File { size, content, .. } = item {
            let padding = ((512 - (size % 512)) % 512) as usize;
            let body = match content {
                Content::Path(p) => Body::File(File::open(&p).map_err(|e| {
                    io::Error::new(e.kind(), format!("opening {}: {e}", p.display()))
                })?),
                Content::Bytes(b) => Body::Bytes(b, 0),
            };
            self.body = Some((body, size, padding));
        }
        Ok(true)
    }
}

impl Read for TarStream {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.pos < self.pending.len() {
                let n = (self.pending.len() - self.pos).min(out.len());
                out[..n].copy_from_slice(&self.pending[self.pos..self.pos + n]);
                self.pos += n;
                return Ok(n);
            }
            if let Some((body, left, padding)) = &mut self.body {
                if *left > 0 {
                    let want = (*left).min(out.len() as u64) as usize;
                    let n = match body {
                        Body::File(f) => f.read(&mut out[..want])?,
                        Body::Bytes(b, at) => {
                            let n = want.min(b.len() - *at);
                            out[..n].copy_from_slice(&b[*at..*at + n]);
                            *at += n;
                            n
                        }
                    };
                    if n == 0 {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "a source file shrank while it was copied",
                        ));
                    }
                    *left -= n as u64;
                    return Ok(n);
                }
                self.pending.clear();
                self.pending.resize(*padding, 0);
                self.pos = 0;
                self.body = None;
                continue;
            }
            if !self.next_item()? {
                return Ok(0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_back_with_the_tar_crate() {
        let meta = Meta {
            mode: 0o640,
            uid: 1000,
            gid: 50,
            mtime: 1_700_000_000,
        };
        let long = format!("d/{}", "x".repeat(150));
        let items = vec![
            Item::Dir {
                name: "d".into(),
                meta,
            },
            Item::File {
                name: long.clone(),
                meta,
                size: 5,
                content: Content::Bytes(b"hello".to_vec()),
            },
            Item::Symlink {
                name: "d/l".into(),
                meta,
                target: "../t".repeat(40),
            },
        ];
        let mut a = tar::Archive::new(TarStream::new(items));
        let mut seen = Vec::new();
        for e in a.entries().unwrap() {
            let mut e = e.unwrap();
            let name = e.path().unwrap().to_string_lossy().into_owned();
            let mut data = String::new();
            e.read_to_string(&mut data).unwrap();
            seen.push((
                name,
                e.header().uid().unwrap(),
                data,
                e.link_name()
                    .unwrap()
                    .map(|l| l.to_string_lossy().into_owned()),
            ));
        }
        assert_eq!(seen[0].0, "d/");
        assert_eq!(seen[1].0, long);
        assert_eq!(seen[1].1, 1000);
        assert_eq!(seen[1].2, "hello");
        assert_eq!(seen[2].3.as_deref(), Some("../t".repeat(40).as_str()));
    }
}
