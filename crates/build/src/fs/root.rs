//! Paths inside an image's root filesystem, resolved as the container would see them: with
//! `openat2(RESOLVE_IN_ROOT)`, so `..`, absolute symlinks and symlinks planted in the image
//! all stay inside the root (a COPY into `/app` where the image has `/app -> /etc` writes to
//! the image's `/etc`, never the host's).

use std::fs;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

fn open_root(root: &Path) -> io::Result<OwnedFd> {
    Ok(rustix::fs::open(
        root,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
}

fn open_in(root: &OwnedFd, rel: &str, flags: OFlags) -> Result<OwnedFd, Errno> {
    let rel = if rel.is_empty() { "." } else { rel };
    loop {
        match rustix::fs::openat2(
            root.as_fd(),
            rel,
            flags | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
        ) {
            Err(Errno::AGAIN) | Err(Errno::INTR) => continue,
            r => return r,
        }
    }
}

/// What is at `rel` in `root`, following a final symlink when `follow` (inside the root).
#[derive(Debug, Clone)]
pub struct Found {
    /// The host path it resolved to (symlinks resolved).
    pub path: PathBuf,
    /// Its metadata.
    pub meta: fs::Metadata,
}

/// The host path an fd refers to.
fn fd_path(fd: &OwnedFd) -> io::Result<PathBuf> {
    use std::os::fd::AsRawFd;
    fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// Resolves `rel` (relative, slash-separated) inside `root`; `None` when it does not exist.
pub fn resolve(root: &Path, rel: &str, follow: bool) -> io::Result<Option<Found>> {
    let r = open_root(root)?;
    let mut flags = OFlags::PATH;
    if !follow {
        flags |= OFlags::NOFOLLOW;
    }
    match open_in(&r, rel.trim_start_matches('/'), flags) {
        Ok(fd) => {
            let path = fd_path(&fd)?;
            let meta = fs::symlink_metadata(&path)?;
            Ok(Some(Found { path, meta }))
        }
        Err(Errno::NOENT) | Err(Errno::NOTDIR) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Whether `rel` is a directory inside `root` (symlinks followed inside the root).
pub fn is_dir(root: &Path, rel: &str) -> io::Result<bool> {
    Ok(resolve(root, rel, true)?.is_some_and(|f| f.meta.is_dir()))
}

/// `mkdir -p` inside `root`: missing directories of `rel` are created with `mode` and
/// `owner` (uid, gid); existing ones are left as they are.
pub fn mkdir_all(root: &Path, rel: &str, mode: u32, owner: (u32, u32)) -> io::Result<()> {
    let r = open_root(root)?;
    let comps: Vec<&str> = rel
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    let mut parent: Option<OwnedFd> = None;
    for i in 0..comps.len() {
        let prefix = comps[..=i].join("/");
        let fd = match open_in(&r, &prefix, OFlags::PATH | OFlags::DIRECTORY) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => {
                let p = parent.as_ref().unwrap_or(&r);
                match rustix::fs::mkdirat(p.as_fd(), comps[i], Mode::from_raw_mode(0o700)) {
                    Ok(()) | Err(Errno::EXIST) => {}
                    Err(e) => return Err(e.into()),
                }
                let dir = rustix::fs::openat(
                    p.as_fd(),
                    comps[i],
                    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                )?;
                rustix::fs::fchown(
                    &dir,
                    Some(rustix::process::Uid::from_raw(owner.0)),
                    Some(rustix::process::Gid::from_raw(owner.1)),
                )?;
                rustix::fs::fchmod(&dir, Mode::from_raw_mode(mode))?;
                dir
            }
            Err(e) => return Err(e.into()),
        };
        parent = Some(fd);
    }
    Ok(())
}

/// Reads a small file of the root (`/etc/passwd`), `None` when absent.
pub fn read(root: &Path, rel: &str) -> io::Result<Option<Vec<u8>>> {
    let r = open_root(root)?;
    match open_in(&r, rel, OFlags::RDONLY) {
        Ok(fd) => {
            let mut f = fs::File::from(fd);
            let mut v = Vec::new();
            io::Read::read_to_end(&mut f, &mut v)?;
            Ok(Some(v))
        }
        Err(Errno::NOENT) | Err(Errno::NOTDIR) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Looks `name` up in a passwd/group style file: the numeric field `field` of its line.
fn lookup(db: Option<&[u8]>, name: &str, field: usize) -> Option<u32> {
    let text = String::from_utf8_lossy(db?);
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.first() == Some(&name))
        .and_then(|f| f.get(field)?.parse().ok())
}

/// The uid and gid of a `--chown` value (`user[:group]`, names or numbers), names looked up
/// in the image's `/etc/passwd` and `/etc/group` (`root`: `None` for scratch). As in the
/// classic builder, a lone user gives the group of the same name or number.
pub fn parse_chown(root: Option<&Path>, spec: &str) -> Result<(u32, u32), String> {
    let (user, group) = match spec.split_once(':') {
        Some((u, g)) => (u, g),
        None => (spec, spec),
    };
    let read = |f: &str| root.and_then(|r| read(r, f).ok().flatten());
    let passwd = read("etc/passwd");
    let groups = read("etc/group");
    let uid = match user.parse::<u32>() {
        Ok(n) => n,
        Err(_) => lookup(passwd.as_deref(), user, 2).ok_or_else(|| {
            format!("unable to find user {user}: no matching entries in passwd file")
        })?,
    };
    let gid = match group.parse::<u32>() {
        Ok(n) => n,
        Err(_) => lookup(groups.as_deref(), group, 2).ok_or_else(|| {
            format!("unable to find group {group}: no matching entries in group file")
        })?,
    };
    Ok((uid, gid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlinks_stay_inside_the_root() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("root");
        fs::create_dir_all(root.join("etc")).unwrap();
        std::os::unix::fs::symlink("/etc", root.join("app")).unwrap();
        mkdir_all(&root, "app/sub/dir", 0o750, (0, 0)).unwrap();
        assert!(
            root.join("etc/sub/dir").is_dir(),
            "created through the in-root symlink"
        );
        let f = resolve(&root, "app/sub", true).unwrap().unwrap();
        assert_eq!(f.path, root.join("etc/sub"));
        assert!(resolve(&root, "../../..", true).unwrap().unwrap().path == root);
        assert!(resolve(&root, "nope", true).unwrap().is_none());
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(root.join("etc/sub/dir"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o750
        );
    }

    #[test]
    fn chown_values() {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir_all(d.path().join("etc")).unwrap();
        fs::write(
            d.path().join("etc/passwd"),
            "root:x:0:0::/:/bin/sh\napp:x:1000:1000::/:/bin/sh\n",
        )
        .unwrap();
        fs::write(
            d.path().join("etc/group"),
            "root:x:0:\napp:x:1000:\nstaff:x:50:\n",
        )
        .unwrap();
        let r = Some(d.path());
        assert_eq!(parse_chown(r, "app").unwrap(), (1000, 1000));
        assert_eq!(parse_chown(r, "app:staff").unwrap(), (1000, 50));
        assert_eq!(parse_chown(r, "42:7").unwrap(), (42, 7));
        assert_eq!(parse_chown(None, "42").unwrap(), (42, 42));
        assert!(parse_chown(r, "nobody")
            .unwrap_err()
            .contains("unable to find user nobody"));
    }
}
