//! File-descriptor-relative filesystem helpers shared by apply, diff and changes. Every path
//! below a root is resolved with `openat2(RESOLVE_IN_ROOT)`, which makes the kernel treat the
//! root as `/`: `..` stops at it and absolute symlinks resolve inside it.

use std::collections::HashMap;
use std::ffi::CStr;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::rc::Rc;

use rustix::fs::{
    mkdirat, openat, openat2, statat, unlinkat, AtFlags, Dir, FileType, Mode, OFlags, ResolveFlags,
    Stat,
};
use rustix::io::Errno;

use super::path::join;

/// `O_CLOEXEC` plus `flags`.
fn of(flags: OFlags) -> OFlags {
    flags | OFlags::CLOEXEC
}

/// Opens `rel` below `root` with the kernel confining resolution to `root`. Retries the rare
/// `EAGAIN` the kernel returns when a concurrent rename could have let resolution escape.
pub(crate) fn open_in_root(root: BorrowedFd<'_>, rel: &[u8], flags: OFlags) -> io::Result<OwnedFd> {
    let resolve = ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS;
    let mut attempts = 0;
    loop {
        match openat2(root, rel, of(flags), Mode::empty(), resolve) {
            Err(Errno::AGAIN) if attempts < 32 => attempts += 1,
            r => return r.map_err(io::Error::from),
        }
    }
}

/// The file type of `st`.
pub(crate) fn file_type(st: &Stat) -> FileType {
    FileType::from_raw_mode(st.st_mode)
}

/// `lstat` of `name` in `dir`, `None` when absent.
pub(crate) fn lstat_at(dir: BorrowedFd<'_>, name: &[u8]) -> io::Result<Option<Stat>> {
    match statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => Ok(Some(st)),
        Err(Errno::NOENT) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Removes `name` from `dir` whatever it is; a directory is removed with everything below it.
/// Symlinks are never followed.
pub(crate) fn remove_at(dir: BorrowedFd<'_>, name: &[u8], st: &Stat) -> io::Result<()> {
    if file_type(st) == FileType::Directory {
        remove_dir_all_at(dir, name)
    } else {
        unlinkat(dir, name, AtFlags::empty()).map_err(io::Error::from)
    }
}

/// Removes directory `name` in `dir` and its contents, depth first.
pub(crate) fn remove_dir_all_at(dir: BorrowedFd<'_>, name: &[u8]) -> io::Result<()> {
    let fd = openat(
        dir,
        name,
        of(OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW),
        Mode::empty(),
    )?;
    remove_children(fd.as_fd(), &mut |_| false)?;
    unlinkat(dir, name, AtFlags::REMOVEDIR).map_err(io::Error::from)
}

/// Removes every child of the directory `fd` for which `keep(name)` is false.
pub(crate) fn remove_children(
    fd: BorrowedFd<'_>,
    keep: &mut dyn FnMut(&[u8]) -> bool,
) -> io::Result<()> {
    for (name, ty) in list_dir(fd)? {
        if keep(&name) {
            continue;
        }
        if ty == FileType::Directory {
            remove_dir_all_at(fd, &name)?;
        } else {
            match unlinkat(fd, &name[..], AtFlags::empty()) {
                Err(Errno::ISDIR) => remove_dir_all_at(fd, &name)?,
                r => r?,
            }
        }
    }
    Ok(())
}

/// Names and types of the entries of directory `fd` (without `.` and `..`), sorted by name.
pub(crate) fn list_dir(fd: BorrowedFd<'_>) -> io::Result<Vec<(Vec<u8>, FileType)>> {
    let mut dir = Dir::read_from(fd)?;
    let mut out = Vec::new();
    while let Some(ent) = dir.read() {
        let ent = ent?;
        let name: &CStr = ent.file_name();
        let b = name.to_bytes();
        if b == b"." || b == b".." {
            continue;
        }
        let mut ty = ent.file_type();
        if ty == FileType::Unknown {
            ty = match lstat_at(fd, b)? {
                Some(st) => file_type(&st),
                None => continue,
            };
        }
        out.push((b.to_vec(), ty));
    }
    out.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// Directories whose fds [`Root`] keeps at most. Tars list a directory's entries together,
/// but depth first: after a subdirectory's entries come the rest of its parent's, so more
/// than the last directory is worth keeping.
const CACHED_DIRS: usize = 64;

/// A directory tree being written, addressed by cleaned component lists, with a cache of the
/// directories resolved lately.
pub(crate) struct Root {
    fd: OwnedFd,
    cache: HashMap<Vec<Vec<u8>>, Rc<OwnedFd>>,
}

impl Root {
    /// Opens `path`, which must be an existing directory.
    pub(crate) fn open(path: &Path) -> io::Result<Root> {
        let fd = rustix::fs::open(path, of(OFlags::RDONLY | OFlags::DIRECTORY), Mode::empty())?;
        Ok(Root {
            fd,
            cache: HashMap::new(),
        })
    }

    /// Forgets cached resolutions. Called whenever a directory or symlink is removed or
    /// replaced, since a cached path may have gone through it.
    pub(crate) fn invalidate(&mut self) {
        self.cache.clear();
    }

    /// Remembers `fd` as the directory `comps` resolves to now.
    pub(crate) fn remember(&mut self, comps: &[Vec<u8>], fd: Rc<OwnedFd>) {
        if self.cache.len() >= CACHED_DIRS {
            self.cache.clear();
        }
        self.cache.insert(comps.to_vec(), fd);
    }

    /// The directory `comps`, creating missing components (mode 0755) as `mkdir -p` would.
    /// Symlinks along the way are followed, confined to the root.
    pub(crate) fn dir(&mut self, comps: &[Vec<u8>]) -> io::Result<Rc<OwnedFd>> {
        if let Some(fd) = self.cache.get(comps) {
            return Ok(fd.clone());
        }
        let fd = Rc::new(self.mkdir_all(comps)?);
        self.remember(comps, fd.clone());
        Ok(fd)
    }

    /// The directory `comps` if it exists (`None` when a component is missing).
    pub(crate) fn existing_dir(&mut self, comps: &[Vec<u8>]) -> io::Result<Option<Rc<OwnedFd>>> {
        if let Some(fd) = self.cache.get(comps) {
            return Ok(Some(fd.clone()));
        }
        match self.lookup(comps, OFlags::PATH | OFlags::DIRECTORY) {
            Ok(fd) => Ok(Some(Rc::new(fd))),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Opens `comps` (resolved in the root) with `flags`.
    pub(crate) fn lookup(&self, comps: &[Vec<u8>], flags: OFlags) -> io::Result<OwnedFd> {
        open_in_root(self.fd.as_fd(), &join(comps), flags)
    }

    fn mkdir_all(&self, comps: &[Vec<u8>]) -> io::Result<OwnedFd> {
        let flags = OFlags::PATH | OFlags::DIRECTORY;
        match self.lookup(comps, flags) {
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            r => return r,
        }
        let mut cur: Option<OwnedFd> = None;
        for i in 0..comps.len() {
            let next = match self.lookup(&comps[..=i], flags) {
                Ok(fd) => fd,
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                    let parent = cur.as_ref().map_or(self.fd.as_fd(), |f| f.as_fd());
                    match mkdirat(parent, &comps[i][..], Mode::from_raw_mode(0o755)) {
                        Ok(()) => {}
                        // A dangling symlink: its target is missing, and we do not create
                        // targets of symlinks.
                        Err(Errno::EXIST) => return Err(e),
                        Err(e) => return Err(e.into()),
                    }
                    openat(
                        parent,
                        &comps[i][..],
                        of(flags | OFlags::NOFOLLOW),
                        Mode::empty(),
                    )?
                }
                Err(e) => return Err(e),
            };
            cur = Some(next);
        }
        match cur {
            Some(fd) => Ok(fd),
            None => self.lookup(comps, flags),
        }
    }
}

/// Starts write-back of a file as it is written, every [`WriteBehind::STEP`] bytes: the kernel
/// is asked to begin writing them out (`sync_file_range(SYNC_FILE_RANGE_WRITE)`, which does
/// not wait for the disk), so the disk works while the rest streams in and the flush that
/// makes the file durable later finds little left to do. Advisory: a failure changes nothing
/// but that.
#[derive(Debug, Default)]
pub struct WriteBehind {
    started: u64,
}

impl WriteBehind {
    /// Bytes between two requests.
    pub const STEP: u64 = 8 << 20;

    /// `fd` now holds `end` bytes written from offset 0.
    pub fn wrote(&mut self, fd: BorrowedFd<'_>, end: u64) {
        if end < self.started {
            self.started = 0; // truncated
        }
        if end - self.started < Self::STEP {
            return;
        }
        use std::os::fd::AsRawFd;
        // SAFETY: an advisory call on an open descriptor the caller lends us; it touches no
        // memory of ours.
        unsafe {
            libc::sync_file_range(
                fd.as_raw_fd(),
                self.started as libc::off64_t,
                (end - self.started) as libc::off64_t,
                libc::SYNC_FILE_RANGE_WRITE,
            )
        };
        self.started = end;
    }
}

#[cfg(test)]
mod write_behind_tests {
    use super::WriteBehind;
    use std::io::{Read, Seek, SeekFrom, Write};
    use std::os::fd::AsFd;

    #[test]
    fn starts_write_back_every_step_and_after_a_truncation() {
        let mut f = tempfile::tempfile().unwrap();
        let mut wb = WriteBehind::default();
        let chunk = vec![7u8; 1 << 20];
        let mut end = 0u64;
        for _ in 0..20 {
            f.write_all(&chunk).unwrap();
            end += chunk.len() as u64;
            wb.wrote(f.as_fd(), end);
        }
        assert_eq!(wb.started, 16 << 20, "requested at 8 and 16 MiB");
        f.set_len(0).unwrap();
        f.seek(SeekFrom::Start(0)).unwrap();
        f.write_all(&chunk).unwrap();
        wb.wrote(f.as_fd(), chunk.len() as u64);
        assert_eq!(wb.started, 0, "a truncated file starts over");
        let mut back = Vec::new();
        f.seek(SeekFrom::Start(0)).unwrap();
        f.read_to_end(&mut back).unwrap();
        assert_eq!(back, chunk);
    }
}
