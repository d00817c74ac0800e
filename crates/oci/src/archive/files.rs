//! The files of an archive being read, by cleaned path: where each one was kept (in memory, or
//! stored by digest by the reader's owner) and the links (symbolic or hard) between them.

use std::collections::HashMap;
use std::io;

use super::{blob_path, clean_path, ArchiveError};
use crate::Digest;

/// Largest JSON document (`manifest.json`, `index.json`, a config or a manifest) accepted.
pub const JSON_MAX: u64 = 64 << 20;

/// Where a file of the archive was kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// In memory.
    Mem(Vec<u8>),
    /// Stored elsewhere (a content store), by the digest of its bytes.
    Stored {
        /// The digest of the file's bytes.
        digest: Digest,
        /// Its size.
        size: u64,
    },
}

/// Reads back the files the archive's reader stored by digest.
pub trait Blobs {
    /// The whole (small) blob `digest`.
    fn read(&self, digest: &Digest) -> io::Result<Vec<u8>>;
    /// The first `n` bytes (fewer when the blob is shorter) of blob `digest`.
    fn head(&self, digest: &Digest, n: usize) -> io::Result<Vec<u8>>;
}

/// The archive's regular files by cleaned path, and the links to them.
#[derive(Debug, Default)]
pub struct Files {
    files: HashMap<String, Content>,
    links: HashMap<String, String>,
    mem_total: u64,
}

impl Files {
    /// Records a regular file.
    pub fn insert(&mut self, path: String, content: Content) {
        if let Content::Mem(b) = &content {
            self.mem_total += b.len() as u64;
        }
        self.files.insert(path, content);
    }

    /// Records a link `path` → `target` (both cleaned archive paths).
    pub fn link(&mut self, path: String, target: String) {
        self.links.insert(path, target);
    }

    /// Bytes kept in memory so far.
    pub fn mem_total(&self) -> u64 {
        self.mem_total
    }

    /// The file `path` names — its cleaned path and where it is — following links (bounded).
    pub fn get(&self, path: &str) -> Option<(&str, &Content)> {
        let mut p = clean_path(path)?;
        for _ in 0..16 {
            if let Some((k, c)) = self.files.get_key_value(&p) {
                return Some((k.as_str(), c));
            }
            p = self.links.get(&p)?.clone();
        }
        None
    }

    /// The blob `d` (by its `blobs/` path).
    pub fn blob(&self, d: &Digest) -> Option<&Content> {
        self.get(&blob_path(d)).map(|(_, c)| c)
    }

    /// The bytes of `path` when they are in memory.
    pub fn mem(&self, path: &str) -> Option<&[u8]> {
        match self.get(path) {
            Some((_, Content::Mem(b))) => Some(b),
            _ => None,
        }
    }

    /// The bytes of a (small) file, from memory or read back from `blobs`.
    pub fn bytes(&self, blobs: &dyn Blobs, path: &str) -> Result<Vec<u8>, ArchiveError> {
        match self.get(path) {
            Some((_, Content::Mem(b))) => Ok(b.clone()),
            Some((_, Content::Stored { digest, size })) if *size <= JSON_MAX => {
                blobs.read(digest).map_err(|source| ArchiveError::ReadBack {
                    what: path.to_string(),
                    source,
                })
            }
            Some(_) => Err(ArchiveError::invalid(format!("{path} is too large"))),
            None => Err(ArchiveError::invalid(format!("{path} is missing"))),
        }
    }
}

impl Content {
    /// The first `n` bytes (a compression's magic).
    pub fn head(&self, blobs: &dyn Blobs, n: usize) -> Result<Vec<u8>, ArchiveError> {
        match self {
            Content::Mem(b) => Ok(b[..b.len().min(n)].to_vec()),
            Content::Stored { digest, .. } => {
                blobs
                    .head(digest, n)
                    .map_err(|source| ArchiveError::ReadBack {
                        what: format!("layer {digest}"),
                        source,
                    })
            }
        }
    }
}
