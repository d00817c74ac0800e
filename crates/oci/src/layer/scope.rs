//! Paths inside a root directory — a container's filesystem, a volume — resolved the way the
//! layer applier resolves them: by `openat2(RESOLVE_IN_ROOT)` relative to the root's fd, so
//! `..`, absolute names and symlinks (absolute ones included) resolve inside the root and
//! never on the host. `docker cp` stats and opens its paths here, volume copy-up finds the
//! image's directory here, and a volume's sub-path is opened here.
//!
//! Paths are byte strings as the container sees them (`/etc/passwd`, `etc/passwd` and
//! `/etc/../etc/passwd` are the same path).

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use rustix::fs::{
    fstat, mkdirat, openat, readlinkat, statat, AtFlags, FileType, Mode, OFlags, Stat,
};
use rustix::io::Errno;

use super::fsutil::{self, file_type, Root};

use super::path::{CleanPath, PathProblem};
/// `open(2)` flags, for [`open_in_root`].
pub use rustix::fs::OFlags as Flags;

/// What `lstat` says about a path, in the units the Engine API reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathStat {
    /// `st_mode`: file type and permission bits.
    pub mode: u32,
    /// Bytes (of the link text for a symlink).
    pub size: i64,
    /// Modification time, seconds since the epoch.
    pub mtime: i64,
    /// Nanoseconds of the modification time.
    pub mtime_nsec: i64,
}

impl PathStat {
    fn of(st: &Stat) -> PathStat {
        PathStat {
            mode: st.st_mode,
            size: st.st_size,
            mtime: st.st_mtime,
            mtime_nsec: st.st_mtime_nsec as i64,
        }
    }

    /// Whether it is a directory.
    pub fn is_dir(&self) -> bool {
        FileType::from_raw_mode(self.mode) == FileType::Directory
    }

    /// Whether it is a symbolic link.
    pub fn is_symlink(&self) -> bool {
        FileType::from_raw_mode(self.mode) == FileType::Symlink
    }
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, what.to_string())
}

/// Opens the directory `path` (an existing directory).
pub fn open_root(path: &Path) -> io::Result<OwnedFd> {
    Ok(rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
}

/// Opens `path` inside `root`, following every symlink on the way (the last one too),
/// confined to the root. `flags` are `open(2)` flags (`O_PATH`, `O_DIRECTORY` …).
pub fn open_in_root(root: BorrowedFd<'_>, path: &[u8], flags: OFlags) -> io::Result<OwnedFd> {
    if path.contains(&0) {
        return Err(invalid("NUL byte in path"));
    }
    let rel = path.strip_prefix(b"/").unwrap_or(path);
    let rel: &[u8] = if rel.is_empty() { b"." } else { rel };
    fsutil::open_in_root(root, rel, flags)
}

/// Splits a path into its directory and last component (`None` for the root itself).
fn split(path: &[u8]) -> (&[u8], Option<&[u8]>) {
    let trimmed = {
        let mut p = path;
        while p.len() > 1 && p.ends_with(b"/") {
            p = &p[..p.len() - 1];
        }
        p
    };
    match trimmed.iter().rposition(|&b| b == b'/') {
        Some(i) => {
            let name = &trimmed[i + 1..];
            let dir = &trimmed[..i];
            (dir, (!name.is_empty()).then_some(name))
        }
        None => (b"", (!trimmed.is_empty()).then_some(trimmed)),
    }
}

/// `lstat` of `path` inside `root`: the directories on the way are followed (inside the
/// root), the last component is not — unless the path ends in `/` or `/.`, which asks for
/// what the name leads to, as the kernel does.
pub fn lstat_in_root(root: BorrowedFd<'_>, path: &[u8]) -> io::Result<PathStat> {
    let follow = path.ends_with(b"/") || path.ends_with(b"/.") || path == b".";
    let (dir, name) = split(path);
    match name {
        Some(name) if !follow => {
            if name == b".." || name == b"." {
                return Err(invalid("path must be clean"));
            }
            let parent = open_in_root(root, dir, OFlags::PATH | OFlags::DIRECTORY)?;
            Ok(PathStat::of(&statat(
                &parent,
                name,
                AtFlags::SYMLINK_NOFOLLOW,
            )?))
        }
        _ => {
            let fd = open_in_root(root, path, OFlags::PATH)?;
            Ok(PathStat::of(&fstat(&fd)?))
        }
    }
}

/// The directory holding `path`, opened for reading, and the last component (`.` for the
/// root or a path ending in `/.`). The last component is not followed.
pub fn open_parent_in_root(root: BorrowedFd<'_>, path: &[u8]) -> io::Result<(OwnedFd, Vec<u8>)> {
    let dir_flags = OFlags::RDONLY | OFlags::DIRECTORY;
    if path.ends_with(b"/.") || path.ends_with(b"/") {
        return Ok((open_in_root(root, path, dir_flags)?, b".".to_vec()));
    }
    match split(path) {
        (_, Some(n)) if n == b".." || n == b"." => Err(invalid("path must be clean")),
        (dir, Some(name)) => Ok((open_in_root(root, dir, dir_flags)?, name.to_vec())),
        (_, None) => Ok((open_in_root(root, b".", dir_flags)?, b".".to_vec())),
    }
}

/// Resolves every symlink of `path` inside `root` and returns the path it leads to, as seen
/// from inside (moby's `FollowSymlinkInScope`): `..` stops at the root, absolute link
/// targets start over at the root, and a missing component ends the resolution with the
/// rest of the path kept as is. More than 255 links is `ELOOP`.
pub fn follow_in_scope(root: BorrowedFd<'_>, path: &[u8]) -> io::Result<Vec<u8>> {
    let mut todo: std::collections::VecDeque<Vec<u8>> = comps(path).collect();
    let mut done: Vec<Vec<u8>> = Vec::new();
    let mut links = 0;
    let mut missing = false;
    while let Some(c) = todo.pop_front() {
        match &c[..] {
            b"." => continue,
            b".." => {
                done.pop();
                continue;
            }
            _ => {}
        }
        if missing {
            done.push(c);
            continue;
        }
        let parent = open_in_root(root, &join_abs(&done), OFlags::PATH | OFlags::DIRECTORY);
        let st = match parent.and_then(|p| Ok(statat(&p, &c[..], AtFlags::SYMLINK_NOFOLLOW)?)) {
            Ok(st) => st,
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ENOTDIR)) => {
                missing = true;
                done.push(c);
                continue;
            }
            Err(e) => return Err(e),
        };
        if file_type(&st) != FileType::Symlink {
            done.push(c);
            continue;
        }
        links += 1;
        if links > 255 {
            return Err(Errno::LOOP.into());
        }
        let parent = open_in_root(root, &join_abs(&done), OFlags::PATH | OFlags::DIRECTORY)?;
        let target = readlinkat(&parent, &c[..], Vec::new())?;
        let target = target.as_bytes();
        if target.starts_with(b"/") {
            done.clear();
        }
        for (i, t) in comps(target).enumerate() {
            todo.insert(i, t);
        }
    }
    Ok(join_abs(&done))
}

fn comps(path: &[u8]) -> impl Iterator<Item = Vec<u8>> + '_ {
    path.split(|&b| b == b'/')
        .filter(|c| !c.is_empty())
        .map(<[u8]>::to_vec)
}

fn join_abs(comps: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for c in comps {
        out.push(b'/');
        out.extend_from_slice(c);
    }
    if out.is_empty() {
        out.push(b'/');
    }
    out
}

/// Creates the directory `path` inside the root at `root_path` like `mkdir -p` (mode 0755),
/// following symlinks on the way inside the root, and opens it (`O_PATH`).
pub fn mkdir_all_in_root(root_path: &Path, path: &[u8]) -> io::Result<OwnedFd> {
    let clean = CleanPath::parse(path).map_err(|p| match p {
        PathProblem::Escapes => invalid("path escapes the root"),
        PathProblem::TooLong => invalid("path too long"),
        PathProblem::Nul => invalid("NUL byte in path"),
    })?;
    let mut root = Root::open(root_path)?;
    let comps: Vec<Vec<u8>> = clean
        .parent()
        .iter()
        .cloned()
        .chain(clean.name().map(<[u8]>::to_vec))
        .collect();
    let fd = root.dir(&comps)?;
    Ok(rustix::io::fcntl_dupfd_cloexec(fd.as_fd(), 0)?)
}

/// Makes sure an empty file exists at `path` inside the root at `root_path` (its directory
/// created as [`mkdir_all_in_root`] does) and opens it (`O_PATH`); an existing file of any
/// kind is opened as it is, without following a final symlink.
pub fn touch_in_root(root_path: &Path, path: &[u8]) -> io::Result<OwnedFd> {
    let (dir, name) = split(path);
    let name = match name {
        Some(n) if n != b"." && n != b".." => n,
        _ => return Err(invalid("no file name")),
    };
    let parent = mkdir_all_in_root(root_path, dir)?;
    let parent = rustix::fs::openat(
        &parent,
        ".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    match openat(
        &parent,
        name,
        OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o755),
    ) {
        Ok(_) | Err(Errno::EXIST) => {}
        Err(e) => return Err(e.into()),
    }
    Ok(openat(
        &parent,
        name,
        OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
}

/// Whether the directory `fd` has no entries.
pub fn is_empty_dir(fd: BorrowedFd<'_>) -> io::Result<bool> {
    let dup = openat(
        fd,
        ".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    Ok(fsutil::list_dir(dup.as_fd())?.is_empty())
}

/// Removes everything inside the directory `fd` (not the directory itself), never following
/// a symlink.
pub fn empty_dir(fd: BorrowedFd<'_>) -> io::Result<()> {
    fsutil::remove_children(fd, &mut |_| false)
}

/// Flushes the filesystem holding `fd` to disk (`syncfs(2)`).
pub fn sync_fs(fd: BorrowedFd<'_>) -> io::Result<()> {
    Ok(rustix::fs::syncfs(fd)?)
}

/// Makes the directory `name` in `dir` (mode 0755), fine if it exists.
pub fn ensure_dir(dir: BorrowedFd<'_>, name: &[u8]) -> io::Result<()> {
    match mkdirat(dir, name, Mode::from_raw_mode(0o755)) {
        Ok(()) | Err(Errno::EXIST) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn setup() -> (tempfile::TempDir, OwnedFd) {
        let tmp = tempfile::tempdir().unwrap();
        let r = tmp.path().join("root");
        std::fs::create_dir_all(r.join("etc")).unwrap();
        std::fs::write(r.join("etc/passwd"), "root:x:0:0").unwrap();
        std::fs::write(tmp.path().join("host-secret"), "host").unwrap();
        symlink("/", r.join("to-root")).unwrap();
        symlink("../../..", r.join("etc/up")).unwrap();
        symlink("/etc/passwd", r.join("pw")).unwrap();
        symlink("/nowhere/x", r.join("dangling")).unwrap();
        symlink("loop2", r.join("loop1")).unwrap();
        symlink("loop1", r.join("loop2")).unwrap();
        let fd = open_root(&r).unwrap();
        (tmp, fd)
    }

    #[test]
    fn symlinks_resolve_inside_the_root() {
        let (_t, root) = setup();
        let r = root.as_fd();
        assert_eq!(follow_in_scope(r, b"/to-root").unwrap(), b"/");
        assert_eq!(
            follow_in_scope(r, b"/to-root/etc/passwd").unwrap(),
            b"/etc/passwd"
        );
        assert_eq!(
            follow_in_scope(r, b"/etc/up/host-secret").unwrap(),
            b"/host-secret"
        );
        assert_eq!(follow_in_scope(r, b"pw").unwrap(), b"/etc/passwd");
        assert_eq!(follow_in_scope(r, b"/dangling").unwrap(), b"/nowhere/x");
        assert_eq!(
            follow_in_scope(r, b"/loop1").unwrap_err().raw_os_error(),
            Some(libc::ELOOP)
        );
        // The host's file next to the root is never reached.
        assert!(lstat_in_root(r, b"/etc/up/host-secret").is_err());
        assert!(open_in_root(r, b"/to-root/../host-secret", OFlags::RDONLY).is_err());
    }

    #[test]
    fn lstat_follows_all_but_the_last() {
        let (_t, root) = setup();
        let r = root.as_fd();
        assert!(lstat_in_root(r, b"/pw").unwrap().is_symlink());
        assert!(lstat_in_root(r, b"/to-root/").unwrap().is_dir());
        assert!(lstat_in_root(r, b"/to-root/etc/passwd").unwrap().size > 0);
        assert!(lstat_in_root(r, b"/").unwrap().is_dir());
        let (_, name) = open_parent_in_root(r, b"/to-root/etc/passwd").unwrap();
        assert_eq!(name, b"passwd");
        let (_, name) = open_parent_in_root(r, b"/etc/.").unwrap();
        assert_eq!(name, b".");
    }

    #[test]
    fn mkdir_and_touch_stay_inside() {
        let (t, _root) = setup();
        let r = t.path().join("root");
        mkdir_all_in_root(&r, b"/to-root/new/dir").unwrap();
        assert!(r.join("new/dir").is_dir());
        touch_in_root(&r, b"/etc/up/created").unwrap();
        assert!(r.join("created").is_file());
        assert!(!t.path().join("created").exists());
    }
}
