//! The build context: the files the client sent (see [`receive`]), their [`Index`] with a
//! content hash per entry, and the `.dockerignore` rules that hide some of them from COPY
//! and ADD ([`ignore`]).
//!
//! Vocabulary: a **source** is what a COPY/ADD argument names in the context — a path, a
//! pattern with wildcards, or (through symlinks, resolved inside the context as moby's
//! `FollowSymlinkInScope` does) another path; its **hash** is what the step's cache key and
//! history use: `file:<sha256>` for a file, `dir:<sha256>` over every entry below a
//! directory, `multi:<sha256>` over several sources (the classic builder's forms).

pub mod receive;
pub mod sync;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use crate::error::{ContextError, Error, Result};
use dockerfile::ignore::{self, IgnoreSet, Pattern};

/// What an entry is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link and its target as written.
    Symlink(String),
    /// A hard link to another entry (cleaned path).
    Hardlink(String),
}

/// One entry of the context.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Entry {
    /// What it is.
    pub kind: EntryKind,
    /// Permission bits.
    pub mode: u32,
    /// Owner, as sent.
    pub uid: u64,
    /// Group, as sent.
    pub gid: u64,
    /// Bytes of content (files).
    pub size: u64,
    /// sha256 over its tar header fields (no mtime) and content.
    pub hash: [u8; 32],
    /// Modification time, seconds.
    pub mtime: u64,
    /// The client's identity of this version of the file (see `sync`), if it sent one.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub stat: String,
}

impl Entry {
    pub(crate) fn new(
        kind: EntryKind,
        mode: u32,
        uid: u64,
        gid: u64,
        size: u64,
        hash: [u8; 32],
        mtime: u64,
    ) -> Entry {
        Entry {
            kind,
            mode,
            uid,
            gid,
            size,
            hash,
            mtime,
            stat: String::new(),
        }
    }
}

/// Every entry of the context by cleaned relative path (`a/b`; the root is not listed).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Index {
    /// The entries.
    pub entries: BTreeMap<String, Entry>,
}

/// A COPY/ADD source found in the context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The path as matched (before following a symlink), relative to the context.
    pub name: String,
    /// The path its content is at (symlinks followed), relative; `""` for the root.
    pub path: String,
    /// `file:…` or `dir:…`.
    pub hash: String,
    /// Whether it is a directory.
    pub is_dir: bool,
}

/// A received context.
#[derive(Debug)]
pub struct Context {
    root: PathBuf,
    index: Index,
    ignore: IgnoreSet,
    /// Whether `.dockerignore` hid entries that are on disk.
    hid: bool,
}

/// Whether a source contains wildcards (classic `containsWildcards`).
pub fn has_wildcards(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'*' | b'?' | b'[' => return true,
            _ => {}
        }
        i += 1;
    }
    false
}

fn hex(h: &[u8]) -> String {
    hex::encode(h)
}

impl Context {
    /// A context of the files under `root` described by `index`, nothing ignored yet.
    pub fn new(root: PathBuf, index: Index) -> Context {
        Context {
            root,
            index,
            ignore: IgnoreSet::default(),
            hid: false,
        }
    }

    /// Where the files are.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The entries.
    pub fn index(&self) -> &Index {
        &self.index
    }

    /// The content of a regular file of the context (the Dockerfile, `.dockerignore`),
    /// symlinks followed inside the context; `None` when absent.
    pub fn read(&self, name: &str) -> Result<Option<Vec<u8>>> {
        let Some(path) = self.follow(name)? else {
            return Ok(None);
        };
        match self.index.entries.get(&path).map(|e| &e.kind) {
            Some(EntryKind::File) | Some(EntryKind::Hardlink(_)) => {}
            _ => return Ok(None),
        }
        let full = self.root.join(&path);
        std::fs::read(&full)
            .map(Some)
            .map_err(|e| Error::io("reading", full, e))
    }

    /// Applies the context's `.dockerignore` (if any): excluded entries disappear from the
    /// index, the Dockerfile and `.dockerignore` themselves included when the patterns
    /// exclude them (moby removes those two only then). Call it after reading the Dockerfile.
    pub fn apply_dockerignore(&mut self) -> Result<()> {
        let Some(text) = self.read(".dockerignore")? else {
            return Ok(());
        };
        let set = IgnoreSet::parse(&String::from_utf8_lossy(&text)).map_err(ContextError::from)?;
        let before = self.index.entries.len();
        self.index.entries.retain(|k, _| !set.excludes(k));
        self.hid = self.index.entries.len() != before;
        self.ignore = set;
        Ok(())
    }

    /// Whether `.dockerignore` hid files the client sent (they are still on disk, so the
    /// context directory must not be exposed as is).
    pub fn ignores_something(&self) -> bool {
        self.hid
    }

    /// moby's `FollowSymlinkInScope` over the index: `name` with every symlink resolved,
    /// `..` clamped at the context's root. `None` when a component is missing.
    pub fn follow(&self, name: &str) -> Result<Option<String>> {
        let mut todo: Vec<String> = name
            .split('/')
            .filter(|p| !p.is_empty() && *p != ".")
            .rev()
            .map(str::to_string)
            .collect();
        let mut done: Vec<String> = Vec::new();
        let mut links = 0;
        while let Some(part) = todo.pop() {
            if part == ".." {
                done.pop();
                continue;
            }
            done.push(part);
            let cur = done.join("/");
            match self.index.entries.get(&cur).map(|e| &e.kind) {
                None => return Ok(None),
                Some(EntryKind::Symlink(target)) => {
                    links += 1;
                    if links > 255 {
                        return Err(Error::Forbidden(name.to_string()));
                    }
                    done.pop();
                    if target.starts_with('/') {
                        done.clear();
                    }
                    todo.extend(
                        target
                            .split('/')
                            .filter(|p| !p.is_empty() && *p != ".")
                            .rev()
                            .map(str::to_string),
                    );
                }
                Some(EntryKind::Hardlink(_)) | Some(EntryKind::File) if !todo.is_empty() => {
                    return Ok(None)
                }
                Some(_) => {}
            }
        }
        Ok(Some(done.join("/")))
    }

    /// The hash of the entry at `path` (resolved): `file:` or `dir:`.
    fn hash_of(&self, path: &str, is_dir: bool) -> String {
        if !is_dir {
            return format!("file:{}", hex(&self.index.entries[path].hash));
        }
        let mut h = Sha256::new();
        for (k, e) in receive::under(&self.index.entries, path) {
            h.update(k.as_bytes());
            h.update(b"\0");
            h.update(e.hash);
        }
        format!("dir:{}", hex(&h.finalize()))
    }

    fn source(&self, name: &str) -> Result<Option<Source>> {
        let Some(path) = self.follow(name)? else {
            return Ok(None);
        };
        let is_dir = path.is_empty()
            || matches!(
                self.index.entries.get(&path).map(|e| &e.kind),
                Some(EntryKind::Dir)
            );
        if !is_dir && !self.index.entries.contains_key(&path) {
            return Ok(None);
        }
        Ok(Some(Source {
            name: name.to_string(),
            hash: self.hash_of(&path, is_dir),
            path,
            is_dir,
        }))
    }

    /// The sources one COPY/ADD argument names: itself, or every entry its wildcards match
    /// (in path order). Empty when nothing matches.
    pub fn sources(&self, arg: &str) -> Result<Vec<Source>> {
        let trimmed = arg.trim_start_matches('/').trim_start_matches("./");
        let cleaned = ignore::clean(if trimmed.is_empty() { "." } else { trimmed });
        if cleaned == ".." || cleaned.starts_with("../") {
            return Err(Error::Forbidden(arg.to_string()));
        }
        let cleaned = if cleaned == "." {
            String::new()
        } else {
            cleaned
        };
        if !has_wildcards(&cleaned) {
            return Ok(self.source(&cleaned)?.into_iter().collect());
        }
        let pattern = Pattern::new(&cleaned).map_err(|e| Error::Invalid {
            instruction: arg.to_string(),
            reason: e.to_string(),
        })?;
        let mut out = Vec::new();
        for k in self.index.entries.keys() {
            if pattern.matches(k) {
                out.extend(self.source(k)?);
            }
        }
        Ok(out)
    }

    /// The combined hash of several sources (`multi:` when more than one).
    pub fn combined_hash(sources: &[Source]) -> String {
        hash_list(sources.iter().map(|s| s.hash.as_str()))
    }
}

/// The classic builder's `getSourceHashFromInfos`: one hash as is, several as
/// `multi:<sha256 of the hashes joined by commas>`.
pub fn hash_list<'a>(hashes: impl Iterator<Item = &'a str>) -> String {
    let v: Vec<&str> = hashes.collect();
    if v.len() == 1 {
        return v[0].to_string();
    }
    format!("multi:{}", hex(&Sha256::digest(v.join(",").as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(entries: &[(&str, EntryKind)]) -> Context {
        let mut index = Index::default();
        for (i, (p, k)) in entries.iter().enumerate() {
            index.entries.insert(
                p.to_string(),
                Entry::new(k.clone(), 0o644, 0, 0, 0, [i as u8; 32], 0),
            );
        }
        Context::new(PathBuf::from("/nonexistent"), index)
    }

    #[test]
    fn symlinks_resolve_inside_the_context() {
        use EntryKind::*;
        let c = ctx(&[
            ("a", Dir),
            ("a/f", File),
            ("up", Symlink("../../../a".into())),
            ("abs", Symlink("/a/f".into())),
            ("loop", Symlink("loop".into())),
        ]);
        assert_eq!(c.follow("up/f").unwrap().as_deref(), Some("a/f"));
        assert_eq!(c.follow("abs").unwrap().as_deref(), Some("a/f"));
        assert_eq!(c.follow("a/f/x").unwrap(), None);
        assert_eq!(c.follow("nope").unwrap(), None);
        assert!(c.follow("loop").is_err());
    }

    #[test]
    fn sources_and_hashes() {
        use EntryKind::*;
        let c = ctx(&[
            ("a", Dir),
            ("a/x.txt", File),
            ("a/y.txt", File),
            ("b.txt", File),
        ]);
        let s = c.sources("a/*.txt").unwrap();
        assert_eq!(s.len(), 2);
        assert!(s[0].hash.starts_with("file:"));
        let d = c.sources("./a").unwrap();
        assert!(d[0].is_dir && d[0].hash.starts_with("dir:"));
        assert!(c.sources("nope").unwrap().is_empty());
        assert!(matches!(c.sources("../x"), Err(Error::Forbidden(_))));
        assert!(Context::combined_hash(&s).starts_with("multi:"));
        let all = c.sources(".").unwrap();
        assert!(all[0].is_dir && all[0].path.is_empty());
    }
}
