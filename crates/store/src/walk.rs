//! Measuring a directory tree without following symlinks, even if the tree changes under us
//! (a running container's rw layer): every directory is opened relative to its parent with
//! `O_NOFOLLOW`.

use std::collections::HashSet;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;

use rustix::fs::{openat, statat, AtFlags, Dir, FileType, Mode, OFlags};
use rustix::io::Errno;

use crate::snapshot::Usage;

/// Docker's size rule: the sum of `st_size` of everything but directories, each inode once;
/// plus the number of inodes (directories included, the root excluded).
pub(crate) fn dir_usage(root: &Path) -> io::Result<Usage> {
    let fd = rustix::fs::open(
        root,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let mut u = Usage::default();
    let mut seen = HashSet::new();
    walk(fd.as_fd(), &mut u, &mut seen, 0)?;
    Ok(u)
}

/// Bounds recursion on pathological trees (PATH_MAX allows about 2048 levels).
const MAX_DEPTH: usize = 4096;

fn walk(
    dir: BorrowedFd<'_>,
    u: &mut Usage,
    seen: &mut HashSet<(u64, u64)>,
    depth: usize,
) -> io::Result<()> {
    if depth > MAX_DEPTH {
        return Err(io::Error::other("directory tree too deep"));
    }
    let mut names = Vec::new();
    let mut d = Dir::read_from(dir)?;
    while let Some(ent) = d.read() {
        let ent = ent?;
        let name = ent.file_name().to_bytes();
        if name != b"." && name != b".." {
            names.push(name.to_vec());
        }
    }
    for name in names {
        let st = match statat(dir, &name[..], AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => st,
            Err(Errno::NOENT) => continue,
            Err(e) => return Err(e.into()),
        };
        u.inodes += 1;
        if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
            match openat(
                dir,
                &name[..],
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            ) {
                Ok(sub) => walk(sub.as_fd(), u, seen, depth + 1)?,
                Err(Errno::NOENT | Errno::NOTDIR | Errno::LOOP) => {}
                Err(e) => return Err(e.into()),
            }
        } else if seen.insert((st.st_dev, st.st_ino)) {
            u.size += st.st_size as u64;
        }
    }
    Ok(())
}
