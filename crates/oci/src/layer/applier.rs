//! The per-entry work of [`super::apply`]: one method per entry kind, each resolving the
//! parent inside the root and never following the entry's own last component.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::rc::Rc;

use rustix::fs::{
    chmodat, chownat, fchmod, fchown, fsetxattr, futimens, linkat, lsetxattr, makedev, mkdirat,
    mknodat, openat, symlinkat, utimensat, AtFlags, FileType, Gid, Mode, OFlags, Timestamps, Uid,
    XattrFlags,
};
use rustix::io::Errno;
use tar::EntryType;

use super::apply::{
    clean, entry_name, errno, io_err, ApplyError, ApplyOptions, ApplyStats, WhiteoutMode,
};
use super::fsutil::{file_type, lstat_at, remove_at, remove_children, Root, WriteBehind};
use super::meta::{numeric, read_meta, Meta};
use super::path::{join, CleanPath};
use super::{OPAQUE_XATTR, WHITEOUT_META_PREFIX, WHITEOUT_OPAQUE, WHITEOUT_PREFIX};

pub(super) struct Applier {
    root: Root,
    opts: ApplyOptions,
    stats: ApplyStats,
    buf: Vec<u8>,
    /// Directory mtimes are restored last: creating children changes them.
    dir_times: Vec<(Vec<Vec<u8>>, Timestamps)>,
    /// Paths written by this layer; only kept in [`WhiteoutMode::Remove`] for opaque dirs.
    written: HashSet<Vec<u8>>,
}

impl Applier {
    pub(super) fn new(root: Root, opts: ApplyOptions, buf: usize) -> Applier {
        Applier {
            root,
            opts,
            stats: ApplyStats::default(),
            buf: vec![0; buf],
            dir_times: Vec::new(),
            written: HashSet::new(),
        }
    }

    pub(super) fn into_stats(self) -> ApplyStats {
        self.stats
    }

    pub(super) fn entry<R: Read>(&mut self, e: &mut tar::Entry<'_, R>) -> Result<(), ApplyError> {
        self.stats.entries += 1;
        let kind = e.header().entry_type();
        if matches!(
            kind,
            EntryType::XGlobalHeader
                | EntryType::XHeader
                | EntryType::GNULongName
                | EntryType::GNULongLink
        ) {
            return Ok(());
        }
        let raw = e.path_bytes().into_owned();
        let path = clean(&raw, "path")?;
        let meta = read_meta(e, &raw)?;
        if let Some(name) = path
            .name()
            .filter(|_| self.opts.whiteouts != WhiteoutMode::Keep)
        {
            if name.starts_with(WHITEOUT_PREFIX.as_bytes()) {
                return self.whiteout(&raw, &path, &meta);
            }
        }
        if self.opts.whiteouts == WhiteoutMode::Remove {
            self.mark_written(&path);
        }
        match kind {
            EntryType::Directory => self.directory(&raw, &path, &meta),
            _ if path.is_root() => Err(ApplyError::Invalid {
                entry: entry_name(&raw),
                problem: "non-directory entry for the root",
            }),
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
                self.regular(e, &raw, &path, &meta)
            }
            EntryType::Symlink => self.symlink(e, &raw, &path, &meta),
            EntryType::Link => self.hardlink(e, &raw, &path),
            EntryType::Char | EntryType::Block | EntryType::Fifo => {
                self.device(e, kind, &raw, &path, &meta)
            }
            _ => Err(ApplyError::Invalid {
                entry: entry_name(&raw),
                problem: "unsupported tar entry type",
            }),
        }
    }

    fn mark_written(&mut self, path: &CleanPath) {
        let comps: Vec<Vec<u8>> = path
            .parent()
            .iter()
            .cloned()
            .chain(path.name().map(<[u8]>::to_vec))
            .collect();
        for i in 1..=comps.len() {
            self.written.insert(join(&comps[..i]));
        }
    }

    /// Makes room for a new `name` in `parent`: removes whatever is there, if anything.
    fn clear(&mut self, parent: BorrowedFd<'_>, name: &[u8], raw: &[u8]) -> Result<(), ApplyError> {
        if let Some(st) = lstat_at(parent, name).map_err(io_err(raw, "inspecting existing file"))? {
            let ty = file_type(&st);
            if ty == FileType::Directory && self.opts.no_overwrite_dir_non_dir {
                return Err(ApplyError::Overwrite {
                    entry: entry_name(raw),
                    existing_dir: true,
                });
            }
            remove_at(parent, name, &st).map_err(io_err(raw, "removing existing file"))?;
            if ty == FileType::Directory || ty == FileType::Symlink {
                self.root.invalidate();
            }
        }
        Ok(())
    }

    fn parent(&mut self, raw: &[u8], path: &CleanPath) -> Result<Rc<OwnedFd>, ApplyError> {
        self.root
            .dir(path.parent())
            .map_err(io_err(raw, "resolving parent directory"))
    }

    fn directory(&mut self, raw: &[u8], path: &CleanPath, meta: &Meta) -> Result<(), ApplyError> {
        self.stats.dirs += 1;
        let dir_flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let (comps, fd): (Vec<Vec<u8>>, Rc<OwnedFd>) = match path.name() {
            None => {
                let fd = self
                    .root
                    .lookup(&[], dir_flags)
                    .map_err(io_err(raw, "opening directory"))?;
                (Vec::new(), Rc::new(fd))
            }
            Some(name) => {
                let parent = self.parent(raw, path)?;
                let mode = Mode::from_raw_mode(0o700);
                match mkdirat(&*parent, name, mode) {
                    Ok(()) => {}
                    Err(Errno::EXIST) => {
                        let st = lstat_at(parent.as_fd(), name)
                            .map_err(io_err(raw, "inspecting existing file"))?;
                        if st.map(|s| file_type(&s)) != Some(FileType::Directory) {
                            if self.opts.no_overwrite_dir_non_dir {
                                return Err(ApplyError::Overwrite {
                                    entry: entry_name(raw),
                                    existing_dir: false,
                                });
                            }
                            self.clear(parent.as_fd(), name, raw)?;
                            mkdirat(&*parent, name, mode)
                                .map_err(errno(raw, "creating directory"))?;
                        }
                    }
                    Err(e) => return Err(errno(raw, "creating directory")(e)),
                }
                // An fd to the directory itself for ownership, mode and xattrs: `name` is one
                // component in a parent resolved inside the root, and a symlink that raced in
                // is not followed. The entries that follow are mostly its children, so it is
                // kept as their parent.
                let fd = openat(&*parent, name, dir_flags, Mode::empty())
                    .map_err(errno(raw, "opening directory"))?;
                let comps: Vec<Vec<u8>> = path
                    .parent()
                    .iter()
                    .cloned()
                    .chain([name.to_vec()])
                    .collect();
                let fd = Rc::new(fd);
                self.root.remember(&comps, fd.clone());
                (comps, fd)
            }
        };
        self.set_owner_mode_fd(fd.as_fd(), raw, meta)?;
        self.set_xattrs_fd(fd.as_fd(), raw, meta)?;
        self.dir_times.push((comps, meta.times.clone()));
        Ok(())
    }

    fn regular<R: Read>(
        &mut self,
        e: &mut tar::Entry<'_, R>,
        raw: &[u8],
        path: &CleanPath,
        meta: &Meta,
    ) -> Result<(), ApplyError> {
        let name = path.name().unwrap_or_default();
        let parent = self.parent(raw, path)?;
        let flags =
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let mode = Mode::from_raw_mode(0o600);
        let fd = match openat(&*parent, name, flags, mode) {
            Ok(fd) => fd,
            Err(Errno::EXIST) => {
                self.clear(parent.as_fd(), name, raw)?;
                openat(&*parent, name, flags, mode).map_err(errno(raw, "creating file"))?
            }
            Err(e) => return Err(errno(raw, "creating file")(e)),
        };
        let mut file = File::from(fd);
        let expected = e.size();
        let mut written = 0u64;
        let mut behind = WriteBehind::default();
        loop {
            let n = match e.read(&mut self.buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(ApplyError::Entry {
                        entry: entry_name(raw),
                        what: "file data",
                        source,
                    })
                }
            };
            file.write_all(&self.buf[..n])
                .map_err(io_err(raw, "writing file"))?;
            written += n as u64;
            behind.wrote(file.as_fd(), written);
        }
        // The tar crate ends an entry's data quietly at the end of the stream; a short file
        // means a truncated layer.
        if written < expected && e.header().entry_type() != EntryType::GNUSparse {
            let source = io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{written} of {expected} bytes"),
            );
            return Err(ApplyError::Entry {
                entry: entry_name(raw),
                what: "file data",
                source,
            });
        }
        self.stats.file_bytes += written;
        self.set_owner_mode_fd(file.as_fd(), raw, meta)?;
        self.set_xattrs_fd(file.as_fd(), raw, meta)?;
        futimens(&file, &meta.times).map_err(errno(raw, "setting times"))?;
        self.stats.files += 1;
        Ok(())
    }

    fn symlink<R: Read>(
        &mut self,
        e: &mut tar::Entry<'_, R>,
        raw: &[u8],
        path: &CleanPath,
        meta: &Meta,
    ) -> Result<(), ApplyError> {
        let target = match e.link_name_bytes() {
            Some(t) if !t.is_empty() && !t.contains(&0) => t.into_owned(),
            _ => {
                return Err(ApplyError::Invalid {
                    entry: entry_name(raw),
                    problem: "symlink without a valid target",
                })
            }
        };
        let name = path.name().unwrap_or_default();
        let parent = self.parent(raw, path)?;
        // The target is stored as is and never followed here; it only ever resolves inside
        // the container's root (or the overlay), never on the host, when read through `Root`.
        match symlinkat(&target[..], &*parent, name) {
            Ok(()) => {}
            Err(Errno::EXIST) => {
                self.clear(parent.as_fd(), name, raw)?;
                symlinkat(&target[..], &*parent, name).map_err(errno(raw, "creating symlink"))?;
            }
            Err(err) => return Err(errno(raw, "creating symlink")(err)),
        }
        self.finish_node(parent.as_fd(), name, raw, meta, false)?;
        self.stats.symlinks += 1;
        Ok(())
    }

    fn device<R: Read>(
        &mut self,
        e: &mut tar::Entry<'_, R>,
        kind: EntryType,
        raw: &[u8],
        path: &CleanPath,
        meta: &Meta,
    ) -> Result<(), ApplyError> {
        let h = e.header();
        let dev_field = |what| {
            move |source| ApplyError::Entry {
                entry: entry_name(raw),
                what,
                source,
            }
        };
        let ty = match kind {
            EntryType::Char => FileType::CharacterDevice,
            EntryType::Block => FileType::BlockDevice,
            _ => FileType::Fifo,
        };
        let (major, minor) = if ty == FileType::Fifo {
            (0, 0) // FIFOs often leave the device fields blank
        } else {
            // Device numbers live at bytes 329..337 and 337..345 of a ustar/GNU header.
            let bytes = h.as_bytes();
            let major = h.device_major().map(|v| u64::from(v.unwrap_or(0)));
            let minor = h.device_minor().map(|v| u64::from(v.unwrap_or(0)));
            (
                numeric(&bytes[329..337], major).map_err(dev_field("device major"))? as u32,
                numeric(&bytes[337..345], minor).map_err(dev_field("device minor"))? as u32,
            )
        };
        let name = path.name().unwrap_or_default();
        let parent = self.parent(raw, path)?;
        let mode = Mode::from_raw_mode(meta.mode);
        let dev = makedev(major, minor);
        match mknodat(&*parent, name, ty, mode, dev) {
            Ok(()) => {}
            Err(Errno::EXIST) => {
                self.clear(parent.as_fd(), name, raw)?;
                mknodat(&*parent, name, ty, mode, dev)
                    .map_err(errno(raw, "creating device node"))?;
            }
            Err(err) => return Err(errno(raw, "creating device node")(err)),
        }
        self.finish_node(parent.as_fd(), name, raw, meta, true)?;
        self.stats.devices += 1;
        Ok(())
    }

    fn hardlink<R: Read>(
        &mut self,
        e: &mut tar::Entry<'_, R>,
        raw: &[u8],
        path: &CleanPath,
    ) -> Result<(), ApplyError> {
        let link = e
            .link_name_bytes()
            .map(|l| l.into_owned())
            .unwrap_or_default();
        let target = clean(&link, "hard link target")?;
        let invalid = |problem| ApplyError::Invalid {
            entry: entry_name(raw),
            problem,
        };
        let Some(tname) = target.name() else {
            return Err(invalid("hard link to the root directory"));
        };
        if target == *path {
            return Ok(());
        }
        let tparent = self
            .root
            .existing_dir(target.parent())
            .map_err(io_err(raw, "resolving hard link target"))?;
        let tparent =
            tparent.ok_or_else(|| invalid("hard link target does not exist in the layer"))?;
        match lstat_at(tparent.as_fd(), tname)
            .map_err(io_err(raw, "inspecting hard link target"))?
        {
            None => return Err(invalid("hard link target does not exist in the layer")),
            Some(st) if file_type(&st) == FileType::Directory => {
                return Err(invalid("hard link to a directory"))
            }
            Some(_) => {}
        }
        let name = path.name().unwrap_or_default();
        let parent = self.parent(raw, path)?;
        match linkat(&*tparent, tname, &*parent, name, AtFlags::empty()) {
            Ok(()) => {}
            Err(Errno::EXIST) => {
                self.clear(parent.as_fd(), name, raw)?;
                // Clearing may have dropped the cached fd of the target's parent; resolve again.
                let tparent = self
                    .root
                    .existing_dir(target.parent())
                    .map_err(io_err(raw, "resolving hard link target"))?;
                let tparent = tparent
                    .ok_or_else(|| invalid("hard link target does not exist in the layer"))?;
                linkat(&*tparent, tname, &*parent, name, AtFlags::empty())
                    .map_err(errno(raw, "creating hard link"))?;
            }
            Err(err) => return Err(errno(raw, "creating hard link")(err)),
        }
        self.stats.hardlinks += 1;
        Ok(())
    }

    fn whiteout(&mut self, raw: &[u8], path: &CleanPath, meta: &Meta) -> Result<(), ApplyError> {
        let name = path.name().unwrap_or_default();
        if name == WHITEOUT_OPAQUE.as_bytes() {
            self.stats.opaque_dirs += 1;
            return self.opaque(raw, path);
        }
        if name.starts_with(WHITEOUT_META_PREFIX.as_bytes()) {
            return Ok(()); // AUFS bookkeeping (.wh..wh.plnk, .wh..wh.aufs): meaningless here.
        }
        let orig = &name[WHITEOUT_PREFIX.len()..];
        if orig.is_empty() || orig == b"." || orig == b".." || orig.contains(&b'/') {
            return Err(ApplyError::Invalid {
                entry: entry_name(raw),
                problem: "whiteout names no file",
            });
        }
        self.stats.whiteouts += 1;
        match self.opts.whiteouts {
            WhiteoutMode::Overlay => {
                let parent = self.parent(raw, path)?;
                self.clear(parent.as_fd(), orig, raw)?;
                mknodat(
                    &*parent,
                    orig,
                    FileType::CharacterDevice,
                    Mode::empty(),
                    makedev(0, 0),
                )
                .map_err(errno(raw, "creating whiteout device"))?;
                if self.opts.same_owner {
                    chownat(
                        &*parent,
                        orig,
                        Some(Uid::from_raw(meta.uid)),
                        Some(Gid::from_raw(meta.gid)),
                        AtFlags::SYMLINK_NOFOLLOW,
                    )
                    .map_err(errno(raw, "setting whiteout owner"))?;
                }
            }
            WhiteoutMode::Remove | WhiteoutMode::Keep => {
                let parent = self
                    .root
                    .existing_dir(path.parent())
                    .map_err(io_err(raw, "resolving parent directory"))?;
                if let Some(parent) = parent {
                    self.clear(parent.as_fd(), orig, raw)?;
                }
            }
        }
        Ok(())
    }

    fn opaque(&mut self, raw: &[u8], path: &CleanPath) -> Result<(), ApplyError> {
        let dir = path.parent();
        // Make sure it exists (a marker may come before its directory's own entry).
        self.root
            .dir(dir)
            .map_err(io_err(raw, "resolving opaque directory"))?;
        let fd = self
            .root
            .lookup(dir, OFlags::RDONLY | OFlags::DIRECTORY)
            .map_err(io_err(raw, "opening opaque directory"))?;
        match self.opts.whiteouts {
            WhiteoutMode::Overlay => fsetxattr(&fd, OPAQUE_XATTR, b"y", XattrFlags::empty())
                .map_err(errno(raw, "setting the opaque xattr")),
            WhiteoutMode::Remove | WhiteoutMode::Keep => {
                let prefix = join(dir);
                let written = &self.written;
                let mut keep = |child: &[u8]| {
                    let mut p = if dir.is_empty() {
                        Vec::new()
                    } else {
                        [prefix.as_slice(), b"/"].concat()
                    };
                    p.extend_from_slice(child);
                    written.contains(&p)
                };
                // Children written by this layer stay; their own lower content is not
                // revisited, which matches how Docker's naive applier treats opaque dirs that
                // this layer re-creates.
                remove_children(fd.as_fd(), &mut keep)
                    .map_err(io_err(raw, "emptying opaque directory"))?;
                self.root.invalidate();
                Ok(())
            }
        }
    }

    /// Owner, mode, xattrs and times of a node that cannot be opened for writing (symlink,
    /// device, FIFO), addressed by name in its parent.
    fn finish_node(
        &mut self,
        parent: BorrowedFd<'_>,
        name: &[u8],
        raw: &[u8],
        meta: &Meta,
        chmod: bool,
    ) -> Result<(), ApplyError> {
        if self.opts.same_owner {
            let (uid, gid) = self.owner(meta);
            chownat(
                parent,
                name,
                Some(uid),
                Some(gid),
                AtFlags::SYMLINK_NOFOLLOW,
            )
            .map_err(errno(raw, "setting owner"))?;
        }
        if chmod {
            // mknod's mode went through the umask; set it exactly. Never a symlink here.
            chmodat(
                parent,
                name,
                Mode::from_raw_mode(meta.mode),
                AtFlags::empty(),
            )
            .map_err(errno(raw, "setting mode"))?;
        }
        if self.opts.xattrs && !meta.xattrs.is_empty() {
            // lsetxattr on /proc/self/fd/N/name: the parent is pinned by its fd and the last
            // component is not followed.
            let p = format!("/proc/self/fd/{}/", parent.as_raw_fd());
            let mut full = p.into_bytes();
            full.extend_from_slice(name);
            for (k, v) in &meta.xattrs {
                if skip_xattr(k) {
                    self.stats.xattrs_skipped += 1;
                    continue;
                }
                match lsetxattr(&full[..], &k[..], v, XattrFlags::empty()) {
                    Ok(()) => {}
                    Err(Errno::PERM | Errno::NOTSUP) => self.stats.xattrs_skipped += 1,
                    Err(err) => return Err(errno(raw, "setting xattr")(err)),
                }
            }
        }
        utimensat(parent, name, &meta.times, AtFlags::SYMLINK_NOFOLLOW)
            .map_err(errno(raw, "setting times"))
    }

    /// The owner a file gets: the tar's, or the one the options force.
    fn owner(&self, meta: &Meta) -> (Uid, Gid) {
        let (uid, gid) = self.opts.chown.unwrap_or((meta.uid, meta.gid));
        (Uid::from_raw(uid), Gid::from_raw(gid))
    }

    fn set_owner_mode_fd(
        &mut self,
        fd: BorrowedFd<'_>,
        raw: &[u8],
        meta: &Meta,
    ) -> Result<(), ApplyError> {
        // chown first: it clears the setuid/setgid bits that chmod then sets.
        if self.opts.same_owner {
            let (uid, gid) = self.owner(meta);
            fchown(fd, Some(uid), Some(gid)).map_err(errno(raw, "setting owner"))?;
        }
        fchmod(fd, Mode::from_raw_mode(meta.mode)).map_err(errno(raw, "setting mode"))
    }

    fn set_xattrs_fd(
        &mut self,
        fd: BorrowedFd<'_>,
        raw: &[u8],
        meta: &Meta,
    ) -> Result<(), ApplyError> {
        if !self.opts.xattrs {
            return Ok(());
        }
        for (k, v) in &meta.xattrs {
            if skip_xattr(k) {
                self.stats.xattrs_skipped += 1;
                continue;
            }
            match fsetxattr(fd, &k[..], v, XattrFlags::empty()) {
                Ok(()) => {}
                Err(Errno::PERM | Errno::NOTSUP) => self.stats.xattrs_skipped += 1,
                Err(err) => return Err(errno(raw, "setting xattr")(err)),
            }
        }
        Ok(())
    }

    pub(super) fn restore_dir_times(&mut self) -> Result<(), ApplyError> {
        let dirs = std::mem::take(&mut self.dir_times);
        for (comps, times) in dirs.iter().rev() {
            // Re-resolve without following a final symlink: a later entry may have replaced
            // the directory, in which case its time no longer matters.
            let fd = match self
                .root
                .lookup(comps, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW)
            {
                Ok(fd) => fd,
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::ENOENT | libc::ENOTDIR | libc::ELOOP)
                    ) =>
                {
                    continue
                }
                Err(source) => {
                    return Err(ApplyError::Io {
                        entry: entry_name(&join(comps)),
                        op: "opening directory",
                        source,
                    })
                }
            };
            futimens(&fd, times).map_err(|e| ApplyError::Io {
                entry: entry_name(&join(comps)),
                op: "setting times",
                source: e.into(),
            })?;
        }
        Ok(())
    }
}

/// Overlayfs's own xattrs must only ever come from our whiteout conversion: taken from a tar
/// they could redirect lookups or fake opaque dirs and metacopy files.
fn skip_xattr(name: &[u8]) -> bool {
    name.starts_with(b"trusted.overlay.") || name.starts_with(b"user.overlay.")
}
