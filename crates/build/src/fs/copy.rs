//! COPY and ADD into a step's layer, with the classic builder's placement rules: a directory
//! source copies its *contents*; a file goes *into* the destination when that is an existing
//! directory or ends with `/`, else *to* it; missing parents are created (owned by the
//! `--chown` identity); files are owned by root unless `--chown` (or `--from`, which keeps
//! the owners) says otherwise; `--chmod` sets every copied file's and directory's mode.
//!
//! A source is a [`Tree`] listed from the context's index, from a mounted image (walked
//! without following symlinks), or from bytes (a heredoc); the copy is one tar stream
//! ([`super::tarstream`]) applied inside the layer's root.

use std::fs;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use oci::layer::{apply, ApplyError, ApplyOptions, WhiteoutMode};

use super::root;
use super::tarstream::{Content, Item, Meta, TarStream};
use crate::context::{Context, EntryKind};
use dockerfile::ignore::Pattern;

/// What one node of a tree is.
#[derive(Debug, Clone)]
pub enum NodeKind {
    /// A regular file and where its content is.
    File(Content, u64),
    /// A directory.
    Dir,
    /// A symbolic link.
    Symlink(String),
}

/// One node of a source tree.
#[derive(Debug, Clone)]
pub struct Node {
    /// Path below the tree's top (`""` for the top itself).
    pub rel: String,
    /// What it is.
    pub kind: NodeKind,
    /// Its own metadata.
    pub meta: Meta,
}

/// A source to copy: the name it was asked for (its base name names a copied file) and its
/// nodes, top first.
#[derive(Debug, Clone)]
pub struct Tree {
    /// The name as matched (relative, for `--parents` and the base name).
    pub name: String,
    /// The nodes; the first is the top.
    pub nodes: Vec<Node>,
}

fn base_name(name: &str) -> &str {
    name.trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|b| !b.is_empty())
        .unwrap_or(".")
}

/// The tree of a context source (`path`: resolved, relative; `""`: the whole context).
pub fn from_context(ctx: &Context, name: &str, path: &str) -> Tree {
    let entries = &ctx.index().entries;
    let node = |rel: String, e: &crate::context::Entry, at: &str| {
        let meta = Meta {
            mode: e.mode,
            uid: e.uid as u32,
            gid: e.gid as u32,
            mtime: e.mtime,
        };
        let kind = match &e.kind {
            EntryKind::Dir => NodeKind::Dir,
            EntryKind::Symlink(t) => NodeKind::Symlink(t.clone()),
            EntryKind::File => NodeKind::File(Content::Path(ctx.root().join(at)), e.size),
            EntryKind::Hardlink(t) => {
                let size = entries.get(t).map(|t| t.size).unwrap_or(0);
                NodeKind::File(Content::Path(ctx.root().join(at)), size)
            }
        };
        Node { rel, kind, meta }
    };
    let mut nodes = Vec::new();
    match entries.get(path) {
        Some(e) => nodes.push(node(String::new(), e, path)),
        None => nodes.push(Node {
            rel: String::new(),
            kind: NodeKind::Dir,
            meta: Meta {
                mode: 0o755,
                uid: 0,
                gid: 0,
                mtime: 0,
            },
        }),
    }
    if matches!(nodes[0].kind, NodeKind::Dir) {
        for (k, e) in crate::context::receive::under(entries, path) {
            let rel = if path.is_empty() {
                k.clone()
            } else {
                k[path.len() + 1..].to_string()
            };
            nodes.push(node(rel, e, k));
        }
    }
    Tree {
        name: name.to_string(),
        nodes,
    }
}

fn meta_of(m: &fs::Metadata) -> Meta {
    Meta {
        mode: m.permissions().mode() & 0o7777,
        uid: m.uid(),
        gid: m.gid(),
        mtime: m.mtime().max(0) as u64,
    }
}

fn host_node(rel: String, path: &Path, m: &fs::Metadata) -> io::Result<Node> {
    let kind = if m.is_dir() {
        NodeKind::Dir
    } else if m.file_type().is_symlink() {
        NodeKind::Symlink(fs::read_link(path)?.to_string_lossy().into_owned())
    } else if m.is_file() {
        NodeKind::File(Content::Path(path.to_path_buf()), m.len())
    } else {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!("{}: a special file cannot be copied", path.display()),
        ));
    };
    Ok(Node {
        rel,
        kind,
        meta: meta_of(m),
    })
}

/// The tree at `host` (a path already resolved inside a mounted image): its children are
/// listed without following symlinks.
pub fn from_host(name: &str, host: &Path) -> io::Result<Tree> {
    let top = fs::symlink_metadata(host)?;
    let mut nodes = vec![host_node(String::new(), host, &top)?];
    if top.is_dir() {
        let mut stack = vec![(host.to_path_buf(), String::new())];
        while let Some((dir, rel)) = stack.pop() {
            let mut children: Vec<_> = fs::read_dir(&dir)?.collect::<io::Result<_>>()?;
            children.sort_by_key(|e| e.file_name());
            for c in children {
                let path = c.path();
                let m = fs::symlink_metadata(&path)?;
                let name = c.file_name().to_string_lossy().into_owned();
                let crel = if rel.is_empty() {
                    name
                } else {
                    format!("{rel}/{name}")
                };
                if m.is_dir() {
                    stack.push((path.clone(), crel.clone()));
                }
                nodes.push(host_node(crel, &path, &m)?);
            }
        }
    }
    Ok(Tree {
        name: name.to_string(),
        nodes,
    })
}

/// A one-file tree of `data` (a heredoc source or `ADD` of a download).
pub fn from_bytes(name: &str, data: Vec<u8>, mode: u32) -> Tree {
    let size = data.len() as u64;
    Tree {
        name: name.to_string(),
        nodes: vec![Node {
            rel: String::new(),
            kind: NodeKind::File(Content::Bytes(data), size),
            meta: Meta {
                mode,
                uid: 0,
                gid: 0,
                mtime: 0,
            },
        }],
    }
}

/// Who owns what a copy writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// root (COPY/ADD from the context).
    Root,
    /// `--chown`.
    Chown(u32, u32),
    /// As in the source (`COPY --from` without `--chown`).
    Preserve,
}

/// How to place sources.
#[derive(Debug, Clone)]
pub struct Place {
    /// Ownership.
    pub owner: Owner,
    /// `--chmod`.
    pub chmod: Option<u32>,
    /// `--parents`: keep each source's path below the destination.
    pub parents: bool,
    /// `--exclude` patterns.
    pub excludes: Vec<Pattern>,
}

impl Place {
    fn meta(&self, m: Meta, is_dir_or_file: bool) -> Meta {
        let (uid, gid) = match self.owner {
            Owner::Root => (0, 0),
            Owner::Chown(u, g) => (u, g),
            Owner::Preserve => (m.uid, m.gid),
        };
        let mode = match self.chmod {
            Some(c) if is_dir_or_file => c,
            _ => m.mode,
        };
        Meta {
            mode,
            uid,
            gid,
            ..m
        }
    }

    fn new_dir_owner(&self) -> (u32, u32) {
        match self.owner {
            Owner::Chown(u, g) => (u, g),
            _ => (0, 0),
        }
    }

    fn excluded(&self, rel: &str) -> bool {
        !rel.is_empty() && self.excludes.iter().any(|p| p.matches(rel))
    }
}

/// A copy that failed.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// Reading or preparing the target failed.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// Writing into the layer failed.
    #[error(transparent)]
    Apply(#[from] ApplyError),
}

fn join(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_string(),
        (_, true) => a.to_string(),
        _ => format!("{a}/{b}"),
    }
}

fn parent_of(p: &str) -> &str {
    p.rsplit_once('/').map(|(d, _)| d).unwrap_or("")
}

/// Copies `trees` to `dest` (absolute, in the image) inside the layer mounted at `root`.
pub fn place(root: &Path, dest: &str, trees: &[Tree], how: &Place) -> Result<(), CopyError> {
    let ends_slash = dest.ends_with('/');
    let dest_rel = dest.trim_matches('/').to_string();
    let dest_is_dir = root::is_dir(root, &dest_rel)?;
    let new_owner = how.new_dir_owner();
    let mut items = Vec::new();
    for t in trees {
        let top = &t.nodes[0];
        let named = if how.parents {
            join(&dest_rel, t.name.trim_matches('/'))
        } else {
            dest_rel.clone()
        };
        match &top.kind {
            NodeKind::Dir => {
                root::mkdir_all(root, &named, how.chmod.unwrap_or(0o755), new_owner)?;
                for n in &t.nodes[1..] {
                    if how.excluded(&n.rel) {
                        continue;
                    }
                    items.push(item(join(&named, &n.rel), n, how));
                }
            }
            _ => {
                let target = if how.parents {
                    named
                } else if dest_is_dir || ends_slash {
                    join(&dest_rel, base_name(&t.name))
                } else {
                    dest_rel.clone()
                };
                root::mkdir_all(root, parent_of(&target), 0o755, new_owner)?;
                items.push(item(target, top, how));
            }
        }
    }
    let opts = ApplyOptions {
        whiteouts: WhiteoutMode::Remove,
        same_owner: true,
        xattrs: false,
        ..Default::default()
    };
    apply(TarStream::new(items), root, &opts)?;
    Ok(())
}

fn item(name: String, n: &Node, how: &Place) -> Item {
    match &n.kind {
        NodeKind::Dir => Item::Dir {
            name,
            meta: how.meta(n.meta, true),
        },
        NodeKind::File(content, size) => Item::File {
            name,
            meta: how.meta(n.meta, true),
            size: *size,
            content: content.clone(),
        },
        NodeKind::Symlink(target) => Item::Symlink {
            name,
            meta: how.meta(n.meta, false),
            target: target.clone(),
        },
    }
}

/// ADD of a local archive: unpacked into `dest` (created as a directory), resolved inside
/// `root` first; the archive's own paths then stay inside `dest`, as docker's chrooted untar.
pub fn unpack(root: &Path, dest: &str, archive: &Path) -> Result<(), CopyError> {
    let dest_rel = dest.trim_matches('/');
    root::mkdir_all(root, dest_rel, 0o755, (0, 0))?;
    let target = root::resolve(root, dest_rel, true)?
        .map(|f| f.path)
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, dest.to_string()))?;
    let f = fs::File::open(archive)?;
    let (_, reader) = oci::compression::decompress(io::BufReader::with_capacity(1 << 20, f))
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    let opts = ApplyOptions {
        whiteouts: WhiteoutMode::Remove,
        same_owner: true,
        xattrs: true,
        ..Default::default()
    };
    apply(reader, &target, &opts)?;
    Ok(())
}

/// Whether the file at `path` is an archive ADD unpacks (a tar, maybe compressed), judged by
/// its content as docker does.
pub fn is_archive(path: &Path) -> bool {
    let Ok(f) = fs::File::open(path) else {
        return false;
    };
    let Ok((_, mut r)) = oci::compression::decompress(io::BufReader::new(f)) else {
        return false;
    };
    let mut block = [0u8; 512];
    if io::Read::read_exact(&mut r, &mut block).is_err() {
        return false;
    }
    // A ustar/GNU magic, or a valid checksum on an old-style header.
    if &block[257..262] == b"ustar" {
        return true;
    }
    let stored = std::str::from_utf8(&block[148..156])
        .ok()
        .map(|s| s.trim_matches(|c: char| c == '\0' || c == ' '))
        .and_then(|s| u32::from_str_radix(s, 8).ok());
    let sum: u32 = block
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if (148..156).contains(&i) {
                32
            } else {
                *b as u32
            }
        })
        .sum();
    block[0] != 0 && stored == Some(sum)
}

/// A path joined below the scratch directory for downloads.
pub fn scratch_file(scratch: &Path, name: &str) -> PathBuf {
    scratch.join(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::receive::{receive, Limits};

    fn ctx_with(files: &[(&str, &[u8])]) -> (tempfile::TempDir, Context) {
        let mut b = tar::Builder::new(Vec::new());
        for (n, d) in files {
            let mut h = tar::Header::new_gnu();
            h.set_path(n).unwrap();
            h.set_size(d.len() as u64);
            h.set_mode(0o640);
            h.set_uid(1234);
            h.set_cksum();
            b.append(&h, *d).unwrap();
        }
        let t = b.into_inner().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let r = receive(&t[..], dir.path(), Limits { max_bytes: 1 << 20 }).unwrap();
        let c = Context::new(dir.path().to_path_buf(), r.index);
        (dir, c)
    }

    fn place_into(root: &Path, dest: &str, trees: &[Tree], owner: Owner) {
        let how = Place {
            owner,
            chmod: None,
            parents: false,
            excludes: Vec::new(),
        };
        place(root, dest, trees, &how).unwrap();
    }

    #[test]
    fn classic_placement() {
        let (_d, c) = ctx_with(&[
            ("src/a.txt", b"a"),
            ("src/sub/b.txt", b"b"),
            ("f.txt", b"f"),
        ]);
        let out = tempfile::tempdir().unwrap();
        let root = out.path();
        fs::create_dir(root.join("existing")).unwrap();
        // A file to a new name, into an existing dir, into a dir named with a slash.
        place_into(
            root,
            "/new.txt",
            &[from_context(&c, "f.txt", "f.txt")],
            Owner::Root,
        );
        place_into(
            root,
            "/existing",
            &[from_context(&c, "f.txt", "f.txt")],
            Owner::Root,
        );
        place_into(
            root,
            "/made/",
            &[from_context(&c, "f.txt", "f.txt")],
            Owner::Root,
        );
        assert_eq!(fs::read(root.join("new.txt")).unwrap(), b"f");
        assert_eq!(fs::read(root.join("existing/f.txt")).unwrap(), b"f");
        assert_eq!(fs::read(root.join("made/f.txt")).unwrap(), b"f");
        // A directory's contents.
        place_into(root, "/app", &[from_context(&c, "src", "src")], Owner::Root);
        assert_eq!(fs::read(root.join("app/sub/b.txt")).unwrap(), b"b");
        assert!(!root.join("app/src").exists());
        let m = fs::metadata(root.join("app/a.txt")).unwrap();
        assert_eq!((m.uid(), m.permissions().mode() & 0o777), (0, 0o640));
        place_into(
            root,
            "/own",
            &[from_context(&c, "src", "src")],
            Owner::Chown(7, 8),
        );
        let m = fs::metadata(root.join("own/sub/b.txt")).unwrap();
        assert_eq!((m.uid(), m.gid()), (7, 8));
        let m = fs::metadata(root.join("own")).unwrap();
        assert_eq!(
            (m.uid(), m.gid()),
            (7, 8),
            "a new destination gets the --chown owner"
        );
    }

    #[test]
    fn chmod_parents_and_excludes() {
        let (_d, c) = ctx_with(&[("a/b/c.txt", b"c"), ("a/b/skip.log", b"x")]);
        let out = tempfile::tempdir().unwrap();
        let how = Place {
            owner: Owner::Root,
            chmod: Some(0o700),
            parents: true,
            excludes: vec![Pattern::new("*.log").unwrap()],
        };
        place(out.path(), "/dst/", &[from_context(&c, "a/b", "a/b")], &how).unwrap();
        let p = out.path().join("dst/a/b/c.txt");
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o700
        );
        assert!(!out.path().join("dst/a/b/skip.log").exists());
    }

    #[test]
    fn archives_are_recognised_by_content() {
        let d = tempfile::tempdir().unwrap();
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_ustar();
        h.set_path("x").unwrap();
        h.set_size(1);
        h.set_cksum();
        b.append(&h, &b"1"[..]).unwrap();
        let t = d.path().join("a.tar");
        fs::write(&t, b.into_inner().unwrap()).unwrap();
        let p = d.path().join("plain.tar");
        fs::write(&p, b"not a tar at all").unwrap();
        assert!(is_archive(&t));
        assert!(!is_archive(&p));
        unpack(d.path(), "/out", &t).unwrap();
        assert_eq!(fs::read(d.path().join("out/x")).unwrap(), b"1");
    }
}
