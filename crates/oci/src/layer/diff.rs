//! Turning an overlay upper directory into a layer tar (`docker commit`): 0/0 character
//! devices become `.wh.<name>` entries, opaque directories get a `.wh..wh..opq` entry. The
//! same writer makes the plain tars of `docker cp` ([`archive_entry`]), without that
//! conversion.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{
    fgetxattr, flistxattr, major, minor, openat, readlinkat, statat, AtFlags, FileType, Mode,
    OFlags, Stat,
};
use rustix::io::Errno;

use super::fsutil::{file_type, list_dir};
use super::{OPAQUE_XATTR, WHITEOUT_OPAQUE, WHITEOUT_PREFIX};
use crate::ErrorKind;

/// What [`diff`] wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiffStats {
    /// Tar entries written (PAX headers not counted).
    pub entries: u64,
    /// Regular files with content.
    pub files: u64,
    /// `.wh.` whiteouts.
    pub whiteouts: u64,
    /// `.wh..wh..opq` markers.
    pub opaque_dirs: u64,
    /// Bytes of file content.
    pub file_bytes: u64,
}

/// Why a diff could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    /// The directory to diff could not be opened.
    #[error("opening {path}: {source}")]
    Open {
        /// The directory.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// Reading a file or directory failed.
    #[error("{op} {path:?}: {source}")]
    Io {
        /// Path relative to the directory being diffed.
        path: String,
        /// The operation.
        op: &'static str,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// Writing the tar failed.
    #[error("writing layer tar: {source}")]
    Write {
        /// The error.
        #[source]
        source: io::Error,
    },
}

impl DiffError {
    /// Always [`ErrorKind::Internal`]: the input is our own directory.
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::Internal
    }
}

/// Writes the layer tar for the overlay upper directory `upper` to `out` and returns `out`
/// (so a compressor can be finished) with statistics. Entries come in sorted, depth-first
/// order; hard links inside `upper` are kept as tar hard links. Symlinks are never followed,
/// so a container changing its files meanwhile cannot make this read outside `upper`.
pub fn diff<W: Write>(upper: &Path, out: W) -> Result<(W, DiffStats), DiffError> {
    let dir = rustix::fs::open(
        upper,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| DiffError::Open {
        path: upper.into(),
        source: e.into(),
    })?;
    let mut w = Writer::new(out, false);
    w.walk_dir(dir.as_fd(), Vec::new())?;
    w.finish()
}

/// Writes a plain tar (no whiteout conversion: what `docker cp` and `GET /archive` send) of
/// the entry `name` of directory `dir`, named `rebase` in the tar; a directory is followed by
/// everything below it, as `rebase/child…`. `name` may be `.` (the directory itself). The
/// entry itself is never followed if it is a symlink; nothing below it is either. A `rebase`
/// of `/` names the entries `/`, `/child` … as dockerd does for the root.
pub fn archive_entry<W: Write>(
    dir: BorrowedFd<'_>,
    name: &[u8],
    rebase: &[u8],
    out: W,
) -> Result<(W, DiffStats), DiffError> {
    let st = statat(dir, name, AtFlags::SYMLINK_NOFOLLOW).map_err(errno(name, "inspecting"))?;
    let mut w = Writer::new(out, true);
    w.entry(dir, name, rebase.to_vec(), &st)?;
    w.finish()
}

struct Writer<W: Write> {
    tar: tar::Builder<W>,
    stats: DiffStats,
    /// (dev, ino) of multiply-linked files already written → their tar name.
    links: HashMap<(u64, u64), Vec<u8>>,
    /// A plain archive: 0/0 character devices and opaque markers are what they are.
    plain: bool,
    /// File data goes through this buffer (allocated on first use), in big reads.
    buf: Vec<u8>,
}

fn io_err<'a>(rel: &'a [u8], op: &'static str) -> impl FnOnce(io::Error) -> DiffError + 'a {
    move |source| DiffError::Io {
        path: String::from_utf8_lossy(rel).into_owned(),
        op,
        source,
    }
}

fn errno<'a>(rel: &'a [u8], op: &'static str) -> impl FnOnce(Errno) -> DiffError + 'a {
    move |e| DiffError::Io {
        path: String::from_utf8_lossy(rel).into_owned(),
        op,
        source: e.into(),
    }
}

fn header_from(st: &Stat, ty: tar::EntryType) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(ty);
    h.set_mode(st.st_mode & 0o7777);
    h.set_uid(st.st_uid.into());
    h.set_gid(st.st_gid.into());
    h.set_mtime(st.st_mtime.max(0) as u64);
    h.set_size(0);
    h
}

/// Xattrs worth carrying in a layer: not overlay's own, not the host's SELinux label.
fn keep_xattr(name: &[u8]) -> bool {
    !(name.starts_with(b"trusted.overlay.")
        || name.starts_with(b"user.overlay.")
        || name == b"security.selinux")
}

pub(super) fn read_xattrs(fd: BorrowedFd<'_>) -> io::Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut names = vec![0u8; 1024];
    let n = loop {
        match flistxattr(fd, &mut names[..]) {
            Ok(n) => break n,
            Err(Errno::RANGE) => names.resize(names.len() * 4, 0),
            Err(Errno::NOTSUP) => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        }
    };
    let mut out = Vec::new();
    for name in names[..n].split(|&b| b == 0).filter(|s| !s.is_empty()) {
        if !keep_xattr(name) {
            continue;
        }
        let mut val = vec![0u8; 256];
        let len = loop {
            match fgetxattr(fd, name, &mut val[..]) {
                Ok(len) => break Some(len),
                Err(Errno::RANGE) => val.resize(val.len() * 16, 0),
                Err(Errno::NODATA) => break None,
                Err(e) => return Err(e.into()),
            }
        };
        if let Some(len) = len {
            val.truncate(len);
            out.push((name.to_vec(), val));
        }
    }
    Ok(out)
}

/// A PAX extended header record: `"<len> <key>=<value>\n"`, where len counts itself.
fn pax_record(key: &[u8], value: &[u8]) -> Vec<u8> {
    let body = key.len() + value.len() + 3; // ' ', '=', '\n'
    let mut len = body + 1;
    while len.to_string().len() + body != len {
        len = len.to_string().len() + body;
    }
    let mut rec = len.to_string().into_bytes();
    rec.push(b' ');
    rec.extend_from_slice(key);
    rec.push(b'=');
    rec.extend_from_slice(value);
    rec.push(b'\n');
    rec
}

impl<W: Write> Writer<W> {
    fn new(out: W, plain: bool) -> Writer<W> {
        Writer {
            tar: tar::Builder::new(out),
            stats: DiffStats::default(),
            links: HashMap::new(),
            plain,
            buf: Vec::new(),
        }
    }

    fn finish(self) -> Result<(W, DiffStats), DiffError> {
        let out = self
            .tar
            .into_inner()
            .map_err(|source| DiffError::Write { source })?;
        Ok((out, self.stats))
    }

    /// The name of a child of the directory written as `prefix` (`/` alone stays a prefix).
    fn child_name(prefix: &[u8], name: &[u8]) -> Vec<u8> {
        let mut rel = prefix.to_vec();
        if !rel.is_empty() && !rel.ends_with(b"/") {
            rel.push(b'/');
        }
        rel.extend_from_slice(name);
        rel
    }

    fn walk_dir(&mut self, dir: BorrowedFd<'_>, prefix: Vec<u8>) -> Result<(), DiffError> {
        let entries = list_dir(dir).map_err(io_err(&prefix, "listing"))?;
        for (name, _) in entries {
            let rel = Self::child_name(&prefix, &name);
            let st = match statat(dir, &name[..], AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) => st,
                Err(Errno::NOENT) => continue, // removed while we walk
                Err(e) => return Err(errno(&rel, "inspecting")(e)),
            };
            self.entry(dir, &name, rel, &st)?;
        }
        Ok(())
    }

    fn entry(
        &mut self,
        dir: BorrowedFd<'_>,
        name: &[u8],
        rel: Vec<u8>,
        st: &Stat,
    ) -> Result<(), DiffError> {
        match file_type(st) {
            FileType::CharacterDevice if st.st_rdev == 0 && !self.plain => {
                let wh = whiteout_name(&rel, name, WHITEOUT_PREFIX.as_bytes());
                let mut h = header_from(st, tar::EntryType::Regular);
                h.set_mode(0o600);
                self.append(&mut h, &wh, io::empty(), &[])?;
                self.stats.whiteouts += 1;
            }
            FileType::Directory => {
                let fd = match openat(
                    dir,
                    name,
                    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                ) {
                    Ok(fd) => fd,
                    Err(Errno::NOENT | Errno::LOOP | Errno::NOTDIR) => return Ok(()),
                    Err(e) => return Err(errno(&rel, "opening")(e)),
                };
                let xattrs = read_xattrs(fd.as_fd()).map_err(io_err(&rel, "reading xattrs"))?;
                let mut h = header_from(st, tar::EntryType::Directory);
                let mut dname = rel.clone();
                if !dname.ends_with(b"/") {
                    dname.push(b'/');
                }
                self.append(&mut h, &dname, io::empty(), &xattrs)?;
                let mut opq = [0u8; 1];
                if !self.plain
                    && matches!(fgetxattr(&fd, OPAQUE_XATTR, &mut opq[..]), Ok(1) if opq[0] == b'y')
                {
                    let mut dname = rel.clone();
                    dname.push(b'/');
                    dname.extend_from_slice(WHITEOUT_OPAQUE.as_bytes());
                    let mut h = header_from(st, tar::EntryType::Regular);
                    h.set_mode(st.st_mode & 0o777);
                    self.append(&mut h, &dname, io::empty(), &[])?;
                    self.stats.opaque_dirs += 1;
                }
                self.walk_dir(fd.as_fd(), rel)?;
            }
            FileType::RegularFile => self.regular(dir, name, rel, st)?,
            FileType::Symlink => {
                let target =
                    readlinkat(dir, name, Vec::new()).map_err(errno(&rel, "reading symlink"))?;
                let mut h = header_from(st, tar::EntryType::Symlink);
                self.append_named(&mut h, &rel, Some(target.as_bytes()), io::empty(), &[])?;
            }
            ty @ (FileType::CharacterDevice | FileType::BlockDevice | FileType::Fifo) => {
                let kind = match ty {
                    FileType::CharacterDevice => tar::EntryType::Char,
                    FileType::BlockDevice => tar::EntryType::Block,
                    _ => tar::EntryType::Fifo,
                };
                let mut h = header_from(st, kind);
                if kind != tar::EntryType::Fifo {
                    h.set_device_major(major(st.st_rdev))
                        .map_err(|source| DiffError::Write { source })?;
                    h.set_device_minor(minor(st.st_rdev))
                        .map_err(|source| DiffError::Write { source })?;
                }
                self.append(&mut h, &rel, io::empty(), &[])?;
            }
            _ => {} // sockets and unknown types are not representable in a layer (Docker skips them)
        }
        Ok(())
    }

    fn regular(
        &mut self,
        dir: BorrowedFd<'_>,
        name: &[u8],
        rel: Vec<u8>,
        st: &Stat,
    ) -> Result<(), DiffError> {
        let key = (st.st_dev, st.st_ino);
        if st.st_nlink > 1 {
            if let Some(first) = self.links.get(&key) {
                let mut h = header_from(st, tar::EntryType::Link);
                let first = first.clone();
                self.append_named(&mut h, &rel, Some(&first), io::empty(), &[])?;
                return Ok(());
            }
        }
        let fd = match openat(
            dir,
            name,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => return Ok(()),
            Err(e) => return Err(errno(&rel, "opening")(e)),
        };
        let xattrs = read_xattrs(fd.as_fd()).map_err(io_err(&rel, "reading xattrs"))?;
        let size = st.st_size as u64;
        let mut h = header_from(st, tar::EntryType::Regular);
        h.set_size(size);
        // Exactly `size` bytes even if the file changes meanwhile (zero-padded when it shrank),
        // so the tar stays well-formed.
        let data = File::from(fd).take(size).chain(io::repeat(0)).take(size);
        self.append(&mut h, &rel, data, &xattrs)?;
        if st.st_nlink > 1 {
            self.links.insert(key, rel);
        }
        self.stats.files += 1;
        self.stats.file_bytes += size;
        Ok(())
    }

    fn append<R: Read>(
        &mut self,
        h: &mut tar::Header,
        name: &[u8],
        data: R,
        xattrs: &[(Vec<u8>, Vec<u8>)],
    ) -> Result<(), DiffError> {
        self.append_named(h, name, None, data, xattrs)
    }

    /// Appends an entry whose name (and link target) are written as they are: names over the
    /// header's 100 bytes go in a PAX `path` (`linkpath`) record, next to the xattrs.
    fn append_named<R: Read>(
        &mut self,
        h: &mut tar::Header,
        name: &[u8],
        link: Option<&[u8]>,
        data: R,
        xattrs: &[(Vec<u8>, Vec<u8>)],
    ) -> Result<(), DiffError> {
        let mut body = Vec::new();
        for (k, v) in xattrs {
            body.extend(pax_record(&[b"SCHILY.xattr.", &k[..]].concat(), v));
        }
        if name.len() > NAME_FIELD {
            body.extend(pax_record(b"path", name));
        }
        if let Some(l) = link.filter(|l| l.len() > NAME_FIELD) {
            body.extend(pax_record(b"linkpath", l));
        }
        if !body.is_empty() {
            let mut ph = tar::Header::new_ustar();
            ph.set_entry_type(tar::EntryType::XHeader);
            ph.set_path("PaxHeader")
                .map_err(|source| DiffError::Write { source })?;
            ph.set_mode(0o644);
            ph.set_size(body.len() as u64);
            ph.set_cksum();
            self.tar
                .append(&ph, &body[..])
                .map_err(|source| DiffError::Write { source })?;
        }
        let old = h.as_old_mut();
        old.name = [0; NAME_FIELD];
        let n = name.len().min(NAME_FIELD);
        old.name[..n].copy_from_slice(&name[..n]);
        if let Some(l) = link {
            old.linkname = [0; NAME_FIELD];
            let n = l.len().min(NAME_FIELD);
            old.linkname[..n].copy_from_slice(&l[..n]);
        }
        h.set_cksum();
        self.write_entry(h, data)
            .map_err(|source| DiffError::Write { source })?;
        self.stats.entries += 1;
        Ok(())
    }

    /// The header, then the data (exactly the header's size, read in big chunks), then the
    /// padding to a 512-byte block: what `tar::Builder::append` does with an 8 KiB copy.
    fn write_entry<R: Read>(&mut self, h: &tar::Header, mut data: R) -> io::Result<()> {
        let size = h.entry_size()?;
        let out = self.tar.get_mut();
        out.write_all(h.as_bytes())?;
        if size > 0 && self.buf.is_empty() {
            self.buf = vec![0; 1 << 20];
        }
        let mut left = size;
        while left > 0 {
            let want = left.min(self.buf.len() as u64) as usize;
            let n = match data.read(&mut self.buf[..want]) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            out.write_all(&self.buf[..n])?;
            left -= n as u64;
        }
        let pad = (512 - (size % 512) as usize) % 512;
        out.write_all(&[0u8; 512][..pad])
    }
}

/// Bytes of the name and link-name fields of a tar header.
const NAME_FIELD: usize = 100;

fn whiteout_name(rel: &[u8], name: &[u8], prefix: &[u8]) -> Vec<u8> {
    let parent_len = rel.len() - name.len();
    [&rel[..parent_len], prefix, name].concat()
}

#[cfg(test)]
mod tests {
    use super::pax_record;

    #[test]
    fn pax_record_length_counts_itself() {
        let r = pax_record(b"a", b"b");
        assert_eq!(r, b"6 a=b\n");
        let long = pax_record(b"k", &[b'v'; 95]);
        assert_eq!(long.len().to_string(), String::from_utf8_lossy(&long[..3]));
    }
}
