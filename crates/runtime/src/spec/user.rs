//! USER resolution in the image's `/etc/passwd` and `/etc/group`, and WORKDIR creation — both
//! inside the rootfs: every path is opened with `RESOLVE_IN_ROOT`, so an image's symlink such
//! as `/etc/passwd -> /../../etc/shadow` resolves within the image, never on the host.

use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use nix::errno::Errno;

use crate::sys::{self, SysError};
use crate::ErrorKind;

/// A USER string resolved to numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedUser {
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// Supplementary groups, as dockerd's `getUser` lists them: the primary group first, then
    /// the user's groups from `/etc/group` (when no group was named), then `--group-add`.
    pub additional_gids: Vec<u32>,
    /// Home directory from passwd, `/` when unknown (becomes `HOME` unless set).
    pub home: String,
}

/// Why a USER could not be resolved. The messages are dockerd's.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// A user name that passwd does not list.
    #[error("unable to find user {name}: no matching entries in passwd file")]
    NoUser { name: String },
    /// A group name that the group file does not list.
    #[error("unable to find group {name}: no matching entries in group file")]
    NoGroup { name: String },
    /// A USER string with an empty part or too many colons.
    #[error("invalid user {user:?}")]
    Invalid { user: String },
    /// The rootfs could not be read.
    #[error("read {path} in the container's rootfs: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl UserError {
    /// The error's kind.
    pub fn kind(&self) -> ErrorKind {
        match self {
            UserError::Read { .. } => ErrorKind::Internal,
            _ => ErrorKind::InvalidArgument,
        }
    }
}

struct PasswdEntry {
    name: String,
    uid: u32,
    gid: u32,
    home: String,
}

struct GroupEntry {
    name: String,
    gid: u32,
    members: Vec<String>,
}

fn parse_passwd(text: &str) -> Vec<PasswdEntry> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            Some(PasswdEntry {
                name: f.first()?.to_string(),
                uid: f.get(2)?.parse().ok()?,
                gid: f.get(3)?.parse().ok()?,
                home: f.get(5).map(|s| s.to_string()).unwrap_or_default(),
            })
        })
        .collect()
}

fn parse_group(text: &str) -> Vec<GroupEntry> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            Some(GroupEntry {
                name: f.first()?.to_string(),
                gid: f.get(2)?.parse().ok()?,
                members: f
                    .get(3)
                    .map(|m| {
                        m.split(',')
                            .filter(|s| !s.is_empty())
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default(),
            })
        })
        .collect()
}

/// Reads a file of the rootfs; a missing file reads as empty (scratch images have none).
fn read_in_root(rootfs: &Path, path: &str) -> Result<String, UserError> {
    let err = |source| UserError::Read {
        path: path.to_string(),
        source,
    };
    let root = std::fs::File::open(rootfs).map_err(err)?;
    match sys::open_in_root(root.as_fd(), rootfs, Path::new(path), libc::O_RDONLY) {
        Ok(fd) => {
            let mut s = String::new();
            std::fs::File::from(fd)
                .read_to_string(&mut s)
                .map_err(err)?;
            Ok(s)
        }
        Err(SysError::OpenInRoot {
            source: Errno::ENOENT | Errno::ENOTDIR,
            ..
        }) => Ok(String::new()),
        Err(e) => Err(err(std::io::Error::other(e))),
    }
}

/// Resolves `user` (`""`, `name`, `uid`, `name:group`, `uid:gid` …) and `group_add` against the
/// rootfs. A numeric uid or gid absent from the files is allowed, as Docker allows it.
pub fn resolve(rootfs: &Path, user: &str, group_add: &[String]) -> Result<ResolvedUser, UserError> {
    let passwd = parse_passwd(&read_in_root(rootfs, "/etc/passwd")?);
    let needs_groups = user.contains(':') || !group_add.is_empty() || !passwd.is_empty();
    let groups = if needs_groups {
        parse_group(&read_in_root(rootfs, "/etc/group")?)
    } else {
        Vec::new()
    };
    let (user_part, group_part) = match user.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (user, None),
    };
    if group_part.is_some_and(|g| g.is_empty() || g.contains(':')) {
        return Err(UserError::Invalid {
            user: user.to_string(),
        });
    }
    let user_part = if user_part.is_empty() { "0" } else { user_part };
    let entry =
        match user_part.parse::<u32>() {
            Ok(uid) => passwd.iter().find(|p| p.uid == uid),
            Err(_) => Some(passwd.iter().find(|p| p.name == user_part).ok_or_else(|| {
                UserError::NoUser {
                    name: user_part.to_string(),
                }
            })?),
        };
    let uid = entry.map_or_else(|| user_part.parse().unwrap_or(0), |e| e.uid);
    let mut resolved = ResolvedUser {
        uid,
        gid: entry.map_or(0, |e| e.gid),
        additional_gids: Vec::new(),
        home: entry.map_or("/".to_string(), |e| {
            if e.home.is_empty() {
                "/".into()
            } else {
                e.home.clone()
            }
        }),
    };
    match group_part {
        Some(g) => resolved.gid = lookup_group(&groups, g)?,
        None => {
            if let Some(e) = entry {
                resolved.additional_gids = groups
                    .iter()
                    .filter(|g| g.members.contains(&e.name))
                    .map(|g| g.gid)
                    .collect();
            }
        }
    }
    // dockerd always lists the primary group too (`id` shows `groups=1000(app),10(wheel)`).
    resolved.additional_gids.insert(0, resolved.gid);
    for g in group_add {
        let gid = lookup_group(&groups, g)?;
        if !resolved.additional_gids.contains(&gid) {
            resolved.additional_gids.push(gid);
        }
    }
    Ok(resolved)
}

fn lookup_group(groups: &[GroupEntry], g: &str) -> Result<u32, UserError> {
    if let Ok(gid) = g.parse::<u32>() {
        return Ok(gid);
    }
    groups
        .iter()
        .find(|e| e.name == g)
        .map(|e| e.gid)
        .ok_or_else(|| UserError::NoGroup {
            name: g.to_string(),
        })
}

/// Joins `path` onto `root` resolving symlinks as if `root` were `/` (absolute targets and
/// `..` stay inside), like Go's securejoin. Missing components are kept as they are.
pub fn secure_join(root: &Path, path: &str) -> std::io::Result<PathBuf> {
    let mut pending: Vec<std::ffi::OsString> = Path::new(path)
        .components()
        .rev()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_owned()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect();
    let mut resolved = PathBuf::new();
    let mut links = 0;
    while let Some(comp) = pending.pop() {
        if comp == ".." {
            resolved.pop();
            continue;
        }
        let candidate = resolved.join(&comp);
        match std::fs::symlink_metadata(root.join(&candidate)) {
            Ok(m) if m.file_type().is_symlink() => {
                links += 1;
                if links > 40 {
                    return Err(std::io::Error::from_raw_os_error(libc::ELOOP));
                }
                let target = std::fs::read_link(root.join(&candidate))?;
                if target.is_absolute() {
                    resolved = PathBuf::new();
                }
                for c in target.components().rev() {
                    match c {
                        Component::Normal(n) => pending.push(n.to_owned()),
                        Component::ParentDir => pending.push("..".into()),
                        _ => {}
                    }
                }
            }
            _ => resolved = candidate,
        }
    }
    Ok(root.join(resolved))
}

/// Creates `dir` (an absolute container path) and its missing parents inside `rootfs`,
/// root-owned with mode 0755. Symlinks in the image are followed as if the rootfs were `/`
/// ([`secure_join`]), then each component is opened with `O_NOFOLLOW`, so creation never lands
/// outside the rootfs.
pub fn create_workdir(rootfs: &Path, dir: &str) -> Result<(), SysError> {
    use nix::sys::stat::{mkdirat, Mode};
    use std::os::fd::AsRawFd;
    let io_err = |path: &Path, e: std::io::Error| SysError::OpenInRoot {
        root: rootfs.to_owned(),
        path: path.to_owned(),
        source: Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)),
    };
    let target = secure_join(rootfs, dir).map_err(|e| io_err(Path::new(dir), e))?;
    let rel = target.strip_prefix(rootfs).unwrap_or(Path::new(""));
    let root = std::fs::File::open(rootfs).map_err(|e| io_err(Path::new("/"), e))?;
    let mut parent: OwnedFd = root.into();
    for comp in rel.components() {
        let Component::Normal(name) = comp else {
            continue;
        };
        let fail = |source| SysError::OpenInRoot {
            root: rootfs.to_owned(),
            path: PathBuf::from(dir),
            source,
        };
        let open = |p: &OwnedFd| sys::open_dir_nofollow(p.as_fd(), name);
        let fd = match open(&parent) {
            Err(Errno::ENOENT) => {
                match mkdirat(
                    Some(parent.as_raw_fd()),
                    name,
                    Mode::from_bits_truncate(0o755),
                ) {
                    Ok(()) | Err(Errno::EEXIST) => {}
                    Err(e) => return Err(fail(e)),
                }
                open(&parent).map_err(fail)?
            }
            other => other.map_err(fail)?,
        };
        parent = fd;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rootfs() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("etc")).unwrap();
        std::fs::write(
            d.path().join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(
            d.path().join("etc/group"),
            "root:x:0:\nwheel:x:10:app,other\napp:x:1000:\naudio:x:29:\n",
        )
        .unwrap();
        d
    }

    #[test]
    fn resolves_every_user_form() {
        let d = rootfs();
        let r = |u: &str| resolve(d.path(), u, &[]).unwrap();
        assert_eq!(
            r(""),
            ResolvedUser {
                uid: 0,
                gid: 0,
                additional_gids: vec![0],
                home: "/root".into()
            }
        );
        assert_eq!(
            r("app"),
            ResolvedUser {
                uid: 1000,
                gid: 1000,
                additional_gids: vec![1000, 10],
                home: "/home/app".into()
            }
        );
        assert_eq!(r("1000").additional_gids, vec![1000, 10]);
        assert_eq!(
            r("app:audio"),
            ResolvedUser {
                uid: 1000,
                gid: 29,
                additional_gids: vec![29],
                home: "/home/app".into()
            }
        );
        assert_eq!(
            r("1234:5678"),
            ResolvedUser {
                uid: 1234,
                gid: 5678,
                additional_gids: vec![5678],
                home: "/".into()
            }
        );
        let with_add = resolve(d.path(), "app", &["audio".into(), "42".into()]).unwrap();
        assert_eq!(with_add.additional_gids, vec![1000, 10, 29, 42]);
    }

    #[test]
    fn unknown_names_give_dockers_messages() {
        let d = rootfs();
        let e = resolve(d.path(), "foo", &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unable to find user foo: no matching entries in passwd file"
        );
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        let e = resolve(d.path(), "app:nogroup", &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unable to find group nogroup: no matching entries in group file"
        );
        assert!(resolve(d.path(), "app:", &[]).is_err());
    }

    #[test]
    fn passwd_symlink_cannot_reach_the_host() {
        let d = rootfs();
        let host = tempfile::tempdir().unwrap();
        std::fs::write(host.path().join("passwd"), "hostonly:x:5:5::/:/bin/sh\n").unwrap();
        std::fs::remove_file(d.path().join("etc/passwd")).unwrap();
        // Followed on the host, this link reaches the other directory's passwd.
        let target = format!("../../../../../../../..{}/passwd", host.path().display());
        std::os::unix::fs::symlink(&target, d.path().join("etc/passwd")).unwrap();
        assert!(std::fs::read_to_string(d.path().join("etc/passwd"))
            .unwrap()
            .contains("hostonly"));
        let e = resolve(d.path(), "hostonly", &[]).unwrap_err();
        assert!(matches!(e, UserError::NoUser { .. }), "{e}");
    }

    #[test]
    fn workdir_is_created_inside_the_root_even_through_symlinks() {
        let d = rootfs();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), d.path().join("escape")).unwrap();
        create_workdir(d.path(), "/escape/work/dir").unwrap();
        assert!(
            std::fs::read_dir(outside.path()).unwrap().next().is_none(),
            "created outside the rootfs"
        );
        // The absolute link target was taken relative to the rootfs.
        let inside = d
            .path()
            .join(outside.path().strip_prefix("/").unwrap())
            .join("work/dir");
        assert!(inside.is_dir());
        create_workdir(d.path(), "/srv/app").unwrap();
        assert!(d.path().join("srv/app").is_dir());
        std::fs::write(d.path().join("file"), "").unwrap();
        assert!(create_workdir(d.path(), "/file/sub").is_err());
    }
}
