//! Copying a directory tree to another directory, keeping owners, modes, times, extended
//! attributes, hard links, symlinks (as links, never followed), devices and FIFOs: a volume's
//! copy-up from the image (dockerd's `fs.CopyDir`). Sockets are skipped.
//!
//! Everything is addressed by file descriptor, one component at a time and with
//! `O_NOFOLLOW`, so neither side's symlinks can lead the copy outside either tree. File data
//! moves with `copy_file_range` (in the kernel, no user-space buffer) and falls back to
//! `read`/`write` across filesystems that refuse it.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::rc::Rc;

use rustix::fs::{
    fchmod, fchown, fsetxattr, fstat, futimens, linkat, lsetxattr, makedev, mkdirat, mknodat,
    openat, readlinkat, statat, symlinkat, utimensat, AtFlags, FileType, Gid, Mode, OFlags, Stat,
    Timespec, Timestamps, Uid, XattrFlags,
};
use rustix::io::Errno;

use super::diff::read_xattrs;
use super::fsutil::{file_type, list_dir};

/// What [`copy_tree`] copied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyStats {
    /// Regular files (hard links to an already copied file not counted).
    pub files: u64,
    /// Directories, not counting the top one.
    pub dirs: u64,
    /// Symbolic links.
    pub symlinks: u64,
    /// Hard links made to files already copied.
    pub hardlinks: u64,
    /// Device nodes and FIFOs.
    pub devices: u64,
    /// Bytes of file content.
    pub bytes: u64,
}

/// Why a copy failed: the operation and the path (relative to the top) it failed on.
#[derive(Debug, thiserror::Error)]
#[error("copying {path:?}: {op}: {source}")]
pub struct CopyError {
    /// The path below the top directory.
    pub path: String,
    /// What was being done.
    pub op: &'static str,
    /// The error.
    #[source]
    pub source: io::Error,
}

fn err<'a>(rel: &'a [u8], op: &'static str) -> impl FnOnce(Errno) -> CopyError + 'a {
    move |e| CopyError {
        path: String::from_utf8_lossy(rel).into_owned(),
        op,
        source: e.into(),
    }
}

fn ioerr<'a>(rel: &'a [u8], op: &'static str) -> impl FnOnce(io::Error) -> CopyError + 'a {
    move |source| CopyError {
        path: String::from_utf8_lossy(rel).into_owned(),
        op,
        source,
    }
}

const DIR: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

/// Copies everything below the directory `src` into the directory `dst`, and gives `dst`
/// the owner, mode, extended attributes and times of `src`. Entries already in `dst` with
/// the same name make the copy fail (`EEXIST`): callers copy into an empty directory.
pub fn copy_tree(src: BorrowedFd<'_>, dst: BorrowedFd<'_>) -> Result<CopyStats, CopyError> {
    let mut c = Copier {
        stats: CopyStats::default(),
        links: HashMap::new(),
        buf: Vec::new(),
    };
    c.dir_contents(src, dst, &[])?;
    let st = fstat(src).map_err(err(b".", "inspecting"))?;
    c.finish(dst, b".", &st, src)?;
    Ok(c.stats)
}

struct Copier {
    stats: CopyStats,
    /// (dev, ino) of multiply-linked source files → where their first copy is (parent fd
    /// kept open, name).
    links: HashMap<(u64, u64), (Rc<OwnedFd>, Vec<u8>)>,
    /// The read/write fallback's buffer, allocated on first use.
    buf: Vec<u8>,
}

impl Copier {
    fn dir_contents(
        &mut self,
        src: BorrowedFd<'_>,
        dst: BorrowedFd<'_>,
        prefix: &[u8],
    ) -> Result<(), CopyError> {
        // An fd of `dst` kept for the hard links to files copied here (made on first need).
        let mut dst_rc: Option<Rc<OwnedFd>> = None;
        for (name, _) in list_dir(src).map_err(ioerr(prefix, "listing"))? {
            let rel = if prefix.is_empty() {
                name.clone()
            } else {
                [prefix, b"/", &name].concat()
            };
            let st = match statat(src, &name[..], AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) => st,
                Err(Errno::NOENT) => continue, // removed while we copy
                Err(e) => return Err(err(&rel, "inspecting")(e)),
            };
            match file_type(&st) {
                FileType::Directory => {
                    mkdirat(dst, &name[..], Mode::from_raw_mode(0o700))
                        .map_err(err(&rel, "creating directory"))?;
                    let s = openat(src, &name[..], DIR, Mode::empty())
                        .map_err(err(&rel, "opening directory"))?;
                    let d = openat(dst, &name[..], DIR, Mode::empty())
                        .map_err(err(&rel, "opening new directory"))?;
                    self.dir_contents(s.as_fd(), d.as_fd(), &rel)?;
                    self.finish(d.as_fd(), &rel, &st, s.as_fd())?;
                    self.stats.dirs += 1;
                }
                FileType::RegularFile => {
                    if st.st_nlink > 1 {
                        if let Some((first_dir, first)) = self.links.get(&(st.st_dev, st.st_ino)) {
                            linkat(
                                first_dir.as_fd(),
                                &first[..],
                                dst,
                                &name[..],
                                AtFlags::empty(),
                            )
                            .map_err(err(&rel, "linking"))?;
                            self.stats.hardlinks += 1;
                            continue;
                        }
                    }
                    self.file(src, dst, &name, &rel, &st)?;
                    if st.st_nlink > 1 {
                        if dst_rc.is_none() {
                            let fd = rustix::io::fcntl_dupfd_cloexec(dst, 0)
                                .map_err(err(&rel, "keeping the directory open"))?;
                            dst_rc = Some(Rc::new(fd));
                        }
                        if let Some(d) = &dst_rc {
                            self.links.insert((st.st_dev, st.st_ino), (d.clone(), name));
                        }
                    }
                }
                FileType::Symlink => {
                    let target = readlinkat(src, &name[..], Vec::new())
                        .map_err(err(&rel, "reading link"))?;
                    symlinkat(target.as_bytes(), dst, &name[..])
                        .map_err(err(&rel, "creating symlink"))?;
                    self.node_meta(src, dst, &name, &rel, &st, false)?;
                    self.stats.symlinks += 1;
                }
                ty @ (FileType::CharacterDevice | FileType::BlockDevice | FileType::Fifo) => {
                    mknodat(
                        dst,
                        &name[..],
                        ty,
                        Mode::from_raw_mode(st.st_mode & 0o7777),
                        makedev(rustix::fs::major(st.st_rdev), rustix::fs::minor(st.st_rdev)),
                    )
                    .map_err(err(&rel, "creating node"))?;
                    self.node_meta(src, dst, &name, &rel, &st, true)?;
                    self.stats.devices += 1;
                }
                _ => {} // sockets: meaningless without their process
            }
        }
        Ok(())
    }

    fn file(
        &mut self,
        src: BorrowedFd<'_>,
        dst: BorrowedFd<'_>,
        name: &[u8],
        rel: &[u8],
        st: &Stat,
    ) -> Result<(), CopyError> {
        let from = match openat(
            src,
            name,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => return Ok(()),
            Err(e) => return Err(err(rel, "opening")(e)),
        };
        let to = openat(
            dst,
            name,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )
        .map_err(err(rel, "creating"))?;
        let n = self
            .content(&from, &to, st.st_size as u64)
            .map_err(ioerr(rel, "copying data"))?;
        self.stats.bytes += n;
        self.stats.files += 1;
        self.finish(to.as_fd(), rel, st, from.as_fd())
    }

    /// Copies all of `from` into `to`; returns the bytes copied.
    fn content(&mut self, from: &OwnedFd, to: &OwnedFd, size: u64) -> io::Result<u64> {
        let mut done = 0u64;
        loop {
            let want = (size.saturating_sub(done)).clamp(1 << 20, 1 << 30) as usize;
            match rustix::fs::copy_file_range(from, None, to, None, want) {
                Ok(0) => return Ok(done),
                Ok(n) => done += n as u64,
                Err(Errno::XDEV | Errno::NOSYS | Errno::INVAL | Errno::OPNOTSUPP) if done == 0 => {
                    return self.read_write(from, to);
                }
                Err(Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn read_write(&mut self, from: &OwnedFd, to: &OwnedFd) -> io::Result<u64> {
        if self.buf.is_empty() {
            self.buf = vec![0; 1 << 20];
        }
        let (mut r, mut w) = (File::from(from.try_clone()?), File::from(to.try_clone()?));
        let mut done = 0u64;
        loop {
            let n = match r.read(&mut self.buf) {
                Ok(0) => return Ok(done),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            w.write_all(&self.buf[..n])?;
            done += n as u64;
        }
    }

    /// Owner, mode, xattrs and times of an open file or directory, from `st` and `src`.
    fn finish(
        &mut self,
        fd: BorrowedFd<'_>,
        rel: &[u8],
        st: &Stat,
        src: BorrowedFd<'_>,
    ) -> Result<(), CopyError> {
        // chown first: it clears the setuid/setgid bits that chmod then sets.
        fchown(
            fd,
            Some(Uid::from_raw(st.st_uid)),
            Some(Gid::from_raw(st.st_gid)),
        )
        .map_err(err(rel, "setting owner"))?;
        fchmod(fd, Mode::from_raw_mode(st.st_mode & 0o7777)).map_err(err(rel, "setting mode"))?;
        for (k, v) in read_xattrs(src).map_err(ioerr(rel, "reading xattrs"))? {
            match fsetxattr(fd, &k[..], &v, XattrFlags::empty()) {
                Ok(()) | Err(Errno::PERM | Errno::NOTSUP) => {}
                Err(e) => return Err(err(rel, "setting xattr")(e)),
            }
        }
        futimens(fd, &times(st)).map_err(err(rel, "setting times"))
    }

    /// Owner, mode (not for symlinks), xattrs and times of a node addressed by name.
    fn node_meta(
        &mut self,
        src: BorrowedFd<'_>,
        dst: BorrowedFd<'_>,
        name: &[u8],
        rel: &[u8],
        st: &Stat,
        chmod: bool,
    ) -> Result<(), CopyError> {
        rustix::fs::chownat(
            dst,
            name,
            Some(Uid::from_raw(st.st_uid)),
            Some(Gid::from_raw(st.st_gid)),
            AtFlags::SYMLINK_NOFOLLOW,
        )
        .map_err(err(rel, "setting owner"))?;
        if chmod {
            rustix::fs::chmodat(
                dst,
                name,
                Mode::from_raw_mode(st.st_mode & 0o7777),
                AtFlags::empty(),
            )
            .map_err(err(rel, "setting mode"))?;
        }
        // Extended attributes of symlinks and devices through /proc/self/fd/N/name: each
        // parent is pinned by its fd, and l*xattr does not follow the last component.
        let at = |fd: BorrowedFd<'_>| {
            let mut p = format!("/proc/self/fd/{}/", fd.as_raw_fd()).into_bytes();
            p.extend_from_slice(name);
            p
        };
        let (s, d) = (at(src), at(dst));
        for (k, v) in read_link_xattrs(&s).map_err(ioerr(rel, "reading xattrs"))? {
            match lsetxattr(&d[..], &k[..], &v, XattrFlags::empty()) {
                Ok(()) | Err(Errno::PERM | Errno::NOTSUP) => {}
                Err(e) => return Err(err(rel, "setting xattr")(e)),
            }
        }
        utimensat(dst, name, &times(st), AtFlags::SYMLINK_NOFOLLOW)
            .map_err(err(rel, "setting times"))
    }
}

/// The extended attributes of the node at `path` itself (not followed).
fn read_link_xattrs(path: &[u8]) -> io::Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut names = vec![0u8; 1024];
    let n = loop {
        match rustix::fs::llistxattr(path, &mut names[..]) {
            Ok(n) => break n,
            Err(Errno::RANGE) => names.resize(names.len() * 4, 0),
            Err(Errno::NOTSUP | Errno::PERM) => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        }
    };
    let mut out = Vec::new();
    for name in names[..n].split(|&b| b == 0).filter(|s| !s.is_empty()) {
        let mut val = vec![0u8; 256];
        loop {
            match rustix::fs::lgetxattr(path, name, &mut val[..]) {
                Ok(len) => {
                    val.truncate(len);
                    out.push((name.to_vec(), val));
                    break;
                }
                Err(Errno::RANGE) => val.resize(val.len() * 16, 0),
                Err(Errno::NODATA) => break,
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(out)
}

fn times(st: &Stat) -> Timestamps {
    Timestamps {
        last_access: Timespec {
            tv_sec: st.st_atime,
            tv_nsec: st.st_atime_nsec as _,
        },
        last_modification: Timespec {
            tv_sec: st.st_mtime,
            tv_nsec: st.st_mtime_nsec as _,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    #[test]
    fn copies_a_tree_with_its_metadata() {
        let tmp = tempfile::tempdir().unwrap();
        let (src, dst) = (tmp.path().join("src"), tmp.path().join("dst"));
        std::fs::create_dir_all(src.join("sub/deep")).unwrap();
        std::fs::create_dir(&dst).unwrap();
        std::fs::write(src.join("a"), vec![7u8; 3 << 20]).unwrap();
        std::fs::hard_link(src.join("a"), src.join("sub/a-link")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", src.join("abs")).unwrap();
        std::fs::write(src.join("sub/deep/x"), b"x").unwrap();
        std::fs::set_permissions(src.join("sub"), std::fs::Permissions::from_mode(0o1750)).unwrap();
        std::fs::set_permissions(&src, std::fs::Permissions::from_mode(0o711)).unwrap();
        let (s, d) = (File::open(&src).unwrap(), File::open(&dst).unwrap());
        let stats = copy_tree(s.as_fd(), d.as_fd()).unwrap();
        assert_eq!(stats.files, 2);
        assert_eq!(stats.hardlinks, 1);
        assert_eq!(stats.symlinks, 1);
        assert_eq!(stats.dirs, 2);
        assert_eq!(stats.bytes, (3 << 20) + 1);
        assert_eq!(std::fs::read(dst.join("a")).unwrap(), vec![7u8; 3 << 20]);
        assert_eq!(
            std::fs::metadata(dst.join("a")).unwrap().ino(),
            std::fs::metadata(dst.join("sub/a-link")).unwrap().ino()
        );
        assert_eq!(
            std::fs::read_link(dst.join("abs")).unwrap(),
            std::path::Path::new("/etc/passwd")
        );
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode();
        assert_eq!(mode(&dst.join("sub")) & 0o7777, 0o1750);
        assert_eq!(mode(&dst) & 0o7777, 0o711);
        assert_eq!(
            std::fs::metadata(src.join("sub/deep/x")).unwrap().mtime(),
            std::fs::metadata(dst.join("sub/deep/x")).unwrap().mtime()
        );
    }
}
