//! Receiving a build context: the request's tar (plain or compressed) is written under the
//! build's own directory in one pass, every file hashed on the way (its name, mode, owner,
//! size, type, link target and content: what Docker's tarsum covers — never its mtime), so a
//! COPY's cache key needs no second read.
//!
//! Nothing is written outside that directory: names are cleaned and `..` refused, no entry may
//! pass through a symbolic link of the context, a symlink may not point above the context
//! (moby's breakout check), an existing name is unlinked before it is created again, and the
//! total size is capped before any byte of an oversized entry is read.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use sha2::{Digest as _, Sha256};

use super::{Entry, EntryKind, Index};
use crate::error::ContextError;

/// Size of the read buffer for file contents.
const CHUNK: usize = 1 << 20;

/// Limits on what a context may hold.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Total bytes of file content.
    pub max_bytes: u64,
}

/// What a receive produced besides the files.
#[derive(Debug, Default)]
pub struct Received {
    /// Every entry, by cleaned relative path.
    pub index: Index,
    /// Bytes of file content written.
    pub bytes: u64,
}

/// The cleaned, relative form of a tar name; `Ok(None)` for the root itself.
pub(crate) fn clean_name(raw: &[u8]) -> Result<Option<String>, ContextError> {
    let s = std::str::from_utf8(raw).map_err(|_| ContextError::BadName {
        path: String::from_utf8_lossy(raw).into_owned(),
    })?;
    if s.contains('\0') || s.len() > 4096 {
        return Err(ContextError::BadName { path: s.into() });
    }
    let mut parts = Vec::new();
    for p in s.split('/') {
        match p {
            "" | "." => {}
            ".." => return Err(ContextError::Escapes { path: s.into() }),
            p if p.len() > 255 => return Err(ContextError::BadName { path: s.into() }),
            p => parts.push(p),
        }
    }
    Ok((!parts.is_empty()).then(|| parts.join("/")))
}

/// The hash of an entry's header fields (Docker's tarsum selectors, mtime excluded).
pub(crate) fn header_hasher(
    path: &str,
    kind: &EntryKind,
    mode: u32,
    uid: u64,
    gid: u64,
    size: u64,
) -> Sha256 {
    let (flag, link) = match kind {
        EntryKind::File => ('0', ""),
        EntryKind::Dir => ('5', ""),
        EntryKind::Symlink(t) => ('2', t.as_str()),
        EntryKind::Hardlink(t) => ('1', t.as_str()),
    };
    let mut h = Sha256::new();
    h.update(format!("name{path}\0mode{mode:o}\0uid{uid}\0gid{gid}\0size{size}\0typeflag{flag}\0linkname{link}\0").as_bytes());
    h
}

pub(crate) struct Writer<'a> {
    pub(crate) root: &'a Path,
    pub(crate) limits: Limits,
    pub(crate) out: Received,
    pub(crate) buf: Vec<u8>,
    /// Directories whose times are set at the end (children change them meanwhile).
    pub(crate) dir_times: Vec<(String, u64)>,
    /// In a sync (see `super::sync`): the files the upload must carry, with the stat the
    /// client gave each; anything else in the tar is refused.
    pub(crate) expected: Option<BTreeMap<String, String>>,
}

pub(crate) fn write_err(path: &Path) -> impl FnOnce(io::Error) -> ContextError + '_ {
    move |source| ContextError::Write {
        path: path.to_path_buf(),
        source,
    }
}

impl Writer<'_> {
    /// Checks that no parent of `path` is a symlink (or a file), creating missing parents.
    pub(crate) fn parents(&mut self, path: &str) -> Result<(), ContextError> {
        let mut end = 0;
        while let Some(i) = path[end..].find('/') {
            let parent = &path[..end + i];
            end += i + 1;
            match self.out.index.entries.get(parent).map(|e| &e.kind) {
                Some(EntryKind::Dir) => {}
                Some(EntryKind::Symlink(_)) => {
                    return Err(ContextError::ThroughSymlink {
                        path: path.into(),
                        link: parent.into(),
                    })
                }
                Some(_) => {
                    return Err(ContextError::ThroughSymlink {
                        path: path.into(),
                        link: parent.into(),
                    })
                }
                None => {
                    let p = self.root.join(parent);
                    fs::DirBuilder::new()
                        .mode(0o755)
                        .create(&p)
                        .map_err(write_err(&p))?;
                    let h = header_hasher(parent, &EntryKind::Dir, 0o755, 0, 0, 0);
                    self.out.index.entries.insert(
                        parent.to_string(),
                        Entry::new(EntryKind::Dir, 0o755, 0, 0, 0, h.finalize().into(), 0),
                    );
                }
            }
        }
        Ok(())
    }

    /// Removes what is at `path` unless it is a directory and `keep_dir`.
    fn clear(&mut self, path: &str, keep_dir: bool) -> Result<(), ContextError> {
        let Some(old) = self.out.index.entries.get(path) else {
            return Ok(());
        };
        let full = self.root.join(path);
        if matches!(old.kind, EntryKind::Dir) {
            if keep_dir {
                return Ok(());
            }
            fs::remove_dir_all(&full).map_err(write_err(&full))?;
            let prefix = format!("{path}/");
            self.out
                .index
                .entries
                .retain(|k, _| k != path && !k.starts_with(&prefix));
        } else {
            fs::remove_file(&full).map_err(write_err(&full))?;
            self.out.index.entries.remove(path);
        }
        Ok(())
    }

    pub(crate) fn entry<R: Read>(&mut self, mut e: tar::Entry<'_, R>) -> Result<(), ContextError> {
        let raw = e.path_bytes().into_owned();
        let Some(path) = clean_name(&raw)? else {
            return Ok(()); // the root directory itself
        };
        let h = e.header();
        let mode = h.mode().unwrap_or(0o644) & 0o7777;
        let (uid, gid) = (h.uid().unwrap_or(0), h.gid().unwrap_or(0));
        let mtime = h.mtime().unwrap_or(0);
        let size = e.size();
        let ty = h.entry_type();
        let kind = match ty {
            tar::EntryType::Regular | tar::EntryType::Continuous => EntryKind::File,
            tar::EntryType::Directory => EntryKind::Dir,
            tar::EntryType::Symlink | tar::EntryType::Link => {
                let target = e
                    .link_name_bytes()
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
                if ty == tar::EntryType::Symlink {
                    EntryKind::Symlink(target)
                } else {
                    EntryKind::Hardlink(target)
                }
            }
            tar::EntryType::XGlobalHeader | tar::EntryType::XHeader => return Ok(()),
            tar::EntryType::Char => return Err(entry_type(path, "character device")),
            tar::EntryType::Block => return Err(entry_type(path, "block device")),
            tar::EntryType::Fifo => return Err(entry_type(path, "named pipe")),
            _ => return Err(entry_type(path, "special file")),
        };
        let stat = match &self.expected {
            None => String::new(),
            Some(exp) => match (exp.get(&path), &kind) {
                (Some(stat), EntryKind::File) => stat.clone(),
                _ => return Err(ContextError::Unexpected { path }),
            },
        };
        self.parents(&path)?;
        let full = self.root.join(&path);
        let mut hasher = header_hasher(&path, &kind, mode, uid, gid, size);
        match &kind {
            EntryKind::Dir => {
                self.clear(&path, true)?;
                if !full.is_dir() {
                    fs::DirBuilder::new()
                        .mode(0o755)
                        .create(&full)
                        .map_err(write_err(&full))?;
                }
                fs::set_permissions(&full, fs::Permissions::from_mode(mode))
                    .map_err(write_err(&full))?;
                self.dir_times.push((path.clone(), mtime));
            }
            EntryKind::File => {
                self.clear(&path, false)?;
                if self.out.bytes.saturating_add(size) > self.limits.max_bytes {
                    return Err(ContextError::TooLarge {
                        limit: self.limits.max_bytes,
                        path,
                    });
                }
                let mut f = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(mode)
                    .custom_flags(libc::O_NOFOLLOW)
                    .open(&full)
                    .map_err(write_err(&full))?;
                let n = copy_hashing(&mut e, &mut f, &mut hasher, &mut self.buf, size).map_err(
                    |err| match err {
                        CopyError::Read(source) => ContextError::NotTar { source },
                        CopyError::Write(source) => ContextError::Write {
                            path: full.clone(),
                            source,
                        },
                    },
                )?;
                self.out.bytes += n;
                f.set_permissions(fs::Permissions::from_mode(mode))
                    .map_err(write_err(&full))?;
                set_mtime(&f, mtime).map_err(write_err(&full))?;
            }
            EntryKind::Symlink(target) => {
                check_symlink(&path, target)?;
                self.clear(&path, false)?;
                std::os::unix::fs::symlink(target, &full).map_err(write_err(&full))?;
            }
            EntryKind::Hardlink(target) => {
                let t = clean_name(target.as_bytes())
                    .ok()
                    .flatten()
                    .filter(|t| {
                        matches!(
                            self.out.index.entries.get(t).map(|e| &e.kind),
                            Some(EntryKind::File)
                        )
                    })
                    .ok_or_else(|| ContextError::BadHardlink {
                        path: path.clone(),
                        target: target.clone(),
                    })?;
                self.clear(&path, false)?;
                fs::hard_link(self.root.join(&t), &full).map_err(write_err(&full))?;
                // The link has its target's content.
                let content = self.out.index.entries[&t].hash;
                hasher.update(content);
            }
        }
        let size = if matches!(kind, EntryKind::File) {
            size
        } else {
            0
        };
        let mut entry = Entry::new(kind, mode, uid, gid, size, hasher.finalize().into(), mtime);
        entry.stat = stat;
        self.out.index.entries.insert(path, entry);
        Ok(())
    }
}

fn entry_type(path: String, kind: &'static str) -> ContextError {
    ContextError::EntryType { path, kind }
}

/// moby's breakout check: a relative target is resolved against the link's directory and
/// must stay inside the context; an absolute one is taken relative to the context's root.
pub(crate) fn check_symlink(path: &str, target: &str) -> Result<(), ContextError> {
    if target.starts_with('/') {
        return Ok(());
    }
    let dir = path.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
    let joined = if dir.is_empty() {
        dockerfile::ignore::clean(target)
    } else {
        dockerfile::ignore::clean(&format!("{dir}/{target}"))
    };
    if joined == ".." || joined.starts_with("../") {
        return Err(ContextError::SymlinkEscapes {
            path: path.into(),
            target: target.into(),
        });
    }
    Ok(())
}

enum CopyError {
    Read(io::Error),
    Write(io::Error),
}

fn copy_hashing<R: Read>(
    r: &mut R,
    f: &mut File,
    h: &mut Sha256,
    buf: &mut Vec<u8>,
    size: u64,
) -> Result<u64, CopyError> {
    if buf.len() < CHUNK {
        buf.resize(CHUNK, 0);
    }
    let mut total = 0u64;
    loop {
        let n = match r.read(&mut buf[..]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CopyError::Read(e)),
        };
        h.update(&buf[..n]);
        f.write_all(&buf[..n]).map_err(CopyError::Write)?;
        total += n as u64;
    }
    if total != size {
        return Err(CopyError::Read(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "archive entry is shorter than its header says",
        )));
    }
    Ok(total)
}

fn set_mtime(f: &File, secs: u64) -> io::Result<()> {
    let t = UNIX_EPOCH + Duration::from_secs(secs);
    f.set_times(fs::FileTimes::new().set_modified(t).set_accessed(t))
}

/// Reads the context tar from `reader` into `root` (an empty directory). On error, what was
/// written stays in `root` for the caller to remove with it.
pub fn receive<R: Read>(reader: R, root: &Path, limits: Limits) -> Result<Received, ContextError> {
    let (_, reader) = oci::compression::decompress_local(reader)?;
    let mut archive = tar::Archive::new(reader);
    let mut w = Writer::new(root, limits, None);
    w.read_tar(&mut archive)?;
    w.finish_dirs();
    Ok(w.out)
}

impl<'a> Writer<'a> {
    /// A writer into `root`; `expected`: see [`Writer::expected`].
    pub(crate) fn new(
        root: &'a Path,
        limits: Limits,
        expected: Option<BTreeMap<String, String>>,
    ) -> Writer<'a> {
        Writer {
            root,
            limits,
            out: Received::default(),
            buf: Vec::new(),
            dir_times: Vec::new(),
            expected,
        }
    }

    /// Writes every entry of `archive`.
    pub(crate) fn read_tar<R: Read>(
        &mut self,
        archive: &mut tar::Archive<R>,
    ) -> Result<(), ContextError> {
        let entries = archive
            .entries()
            .map_err(|source| ContextError::NotTar { source })?;
        for e in entries {
            let e = e.map_err(|source| ContextError::NotTar { source })?;
            self.entry(e)?;
        }
        Ok(())
    }

    /// Sets the directories' times, deepest first, so that setting a directory's time is not
    /// undone by writing into it afterwards.
    pub(crate) fn finish_dirs(&mut self) {
        self.dir_times.sort_by_key(|d| std::cmp::Reverse(d.0.len()));
        for (path, mtime) in &self.dir_times {
            if let Ok(f) = File::open(self.root.join(path)) {
                let _ = set_mtime(&f, *mtime);
            }
        }
    }
}

/// Every entry under `prefix` (`""` for all), in path order.
pub(crate) fn under<'a>(
    entries: &'a BTreeMap<String, Entry>,
    prefix: &'a str,
) -> impl Iterator<Item = (&'a String, &'a Entry)> + 'a {
    let start = if prefix.is_empty() {
        String::new()
    } else {
        format!("{prefix}/")
    };
    entries
        .range(start.clone()..)
        .take_while(move |(k, _)| k.starts_with(&start))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_of(entries: &[(&str, tar::EntryType, &[u8], &str)]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, ty, data, link) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(*ty);
            h.set_mode(0o644);
            h.set_size(data.len() as u64);
            h.set_mtime(1_600_000_000);
            // Raw names: the builder refuses `..`, hostile archives do not.
            let gnu = h.as_gnu_mut().unwrap();
            gnu.name[..name.len()].copy_from_slice(name.as_bytes());
            if !link.is_empty() {
                gnu.linkname[..link.len()].copy_from_slice(link.as_bytes());
            }
            h.set_cksum();
            b.append(&h, *data).unwrap();
        }
        b.into_inner().unwrap()
    }

    fn recv(t: &[u8]) -> (tempfile::TempDir, Result<Received, ContextError>) {
        let dir = tempfile::tempdir().unwrap();
        let r = receive(t, dir.path(), Limits { max_bytes: 1 << 20 });
        (dir, r)
    }

    #[test]
    fn writes_and_hashes_without_mtime() {
        use tar::EntryType::*;
        let (dir, r) = recv(&tar_of(&[
            ("./a/b.txt", Regular, b"hello", ""),
            ("l", Symlink, b"", "a/b.txt"),
        ]));
        let r = r.unwrap();
        assert_eq!(fs::read(dir.path().join("a/b.txt")).unwrap(), b"hello");
        assert!(matches!(r.index.entries["a"].kind, EntryKind::Dir));
        assert!(matches!(&r.index.entries["l"].kind, EntryKind::Symlink(t) if t == "a/b.txt"));
        let h1 = r.index.entries["a/b.txt"].hash;
        let mut t2 = tar_of(&[("./a/b.txt", Regular, b"hello", "")]);
        // Same content, another mtime: same hash.
        let mut hdr = tar::Header::from_byte_slice(&t2[..512]).clone();
        hdr.set_mtime(1);
        hdr.set_cksum();
        t2[..512].copy_from_slice(hdr.as_bytes());
        let (_d, r2) = recv(&t2);
        assert_eq!(r2.unwrap().index.entries["a/b.txt"].hash, h1);
        let (_d, r3) = recv(&tar_of(&[("./a/b.txt", Regular, b"hellO", "")]));
        assert_ne!(r3.unwrap().index.entries["a/b.txt"].hash, h1);
    }

    #[test]
    fn refuses_escapes() {
        use tar::EntryType::*;
        let (_d, r) = recv(&tar_of(&[("../evil", Regular, b"x", "")]));
        assert!(matches!(r, Err(ContextError::Escapes { .. })), "{r:?}");
        let (_d, r) = recv(&tar_of(&[("l", Symlink, b"", "../../etc")]));
        assert!(
            matches!(r, Err(ContextError::SymlinkEscapes { .. })),
            "{r:?}"
        );
        let (_d, r) = recv(&tar_of(&[
            ("l", Symlink, b"", "/etc"),
            ("l/passwd", Regular, b"x", ""),
        ]));
        assert!(
            matches!(r, Err(ContextError::ThroughSymlink { .. })),
            "{r:?}"
        );
        let (_d, r) = recv(&tar_of(&[("h", Link, b"", "/etc/passwd")]));
        assert!(matches!(r, Err(ContextError::BadHardlink { .. })), "{r:?}");
        let (_d, r) = recv(&tar_of(&[("f", Fifo, b"", "")]));
        assert!(matches!(r, Err(ContextError::EntryType { .. })), "{r:?}");
    }

    #[test]
    fn a_replaced_symlink_is_not_followed() {
        use tar::EntryType::*;
        let outside = tempfile::NamedTempFile::new().unwrap();
        let target = outside.path().to_str().unwrap().to_string();
        let (dir, r) = recv(&tar_of(&[
            ("x", Symlink, b"", &target),
            ("x", Regular, b"new", ""),
        ]));
        r.unwrap();
        assert_eq!(fs::read(dir.path().join("x")).unwrap(), b"new");
        assert_eq!(fs::read(outside.path()).unwrap(), b"");
    }

    #[test]
    fn limit_is_checked_before_reading() {
        let mut h = tar::Header::new_gnu();
        h.set_path("huge").unwrap();
        h.set_size(1 << 40);
        h.set_mode(0o644);
        h.set_cksum();
        // Only the header: an honest check must fail before wanting the terabyte.
        let mut t = h.as_bytes().to_vec();
        t.extend_from_slice(&[0u8; 1024]);
        let (dir, r) = recv(&t);
        assert!(matches!(r, Err(ContextError::TooLarge { .. })), "{r:?}");
        assert!(!dir.path().join("huge").exists());
    }
}
