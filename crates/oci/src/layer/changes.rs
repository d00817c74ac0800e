//! `docker diff`: what a container's upper directory added, changed and deleted relative to
//! its image's layers, with Docker's rules (overlay whiteouts and opaque directories count as
//! deletions; a directory identical to the one below is not a change; the parent of an added
//! or deleted path is reported as changed).

use std::collections::HashSet;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{fgetxattr, fstat, openat, statat, AtFlags, FileType, Mode, OFlags, Stat};
use rustix::io::Errno;
use serde::{Deserialize, Serialize};

use super::diff::DiffError;
use super::fsutil::{file_type, list_dir, open_in_root};
use super::OPAQUE_XATTR;

/// A change kind, numbered as the Engine API's `GET /containers/{id}/changes` numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    /// `C` (0).
    Modify,
    /// `A` (1).
    Add,
    /// `D` (2).
    Delete,
}

impl ChangeKind {
    /// The API's number (0, 1, 2).
    pub fn code(self) -> u8 {
        match self {
            ChangeKind::Modify => 0,
            ChangeKind::Add => 1,
            ChangeKind::Delete => 2,
        }
    }

    /// The letter `docker diff` prints.
    pub fn letter(self) -> char {
        match self {
            ChangeKind::Modify => 'C',
            ChangeKind::Add => 'A',
            ChangeKind::Delete => 'D',
        }
    }
}

impl Serialize for ChangeKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.code())
    }
}

impl<'de> Deserialize<'de> for ChangeKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match u8::deserialize(d)? {
            0 => Ok(ChangeKind::Modify),
            1 => Ok(ChangeKind::Add),
            2 => Ok(ChangeKind::Delete),
            n => Err(serde::de::Error::custom(format!("unknown change kind {n}"))),
        }
    }
}

/// One change: an absolute path inside the container and what happened to it.
/// Serialises as the API's `{"Path": "/a", "Kind": 1}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Change {
    /// `/etc/passwd`.
    #[serde(rename = "Path")]
    pub path: String,
    /// Kind of change.
    #[serde(rename = "Kind")]
    pub kind: ChangeKind,
}

/// Lists the changes in `upper` relative to `lowers` (top-most lower first, as in an overlay
/// `lowerdir=` option), in Docker's order: depth first, sorted by name.
pub fn changes(upper: &Path, lowers: &[PathBuf]) -> Result<Vec<Change>, DiffError> {
    let open = |p: &Path| -> Result<OwnedFd, DiffError> {
        rustix::fs::open(
            p,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| DiffError::Open {
            path: p.into(),
            source: e.into(),
        })
    };
    let up = open(upper)?;
    let lowers = lowers
        .iter()
        .map(|p| open(p))
        .collect::<Result<Vec<_>, _>>()?;
    let mut w = Walker {
        lowers,
        out: Vec::new(),
        changed_dirs: HashSet::new(),
    };
    w.walk(up.as_fd(), b"")?;
    Ok(w.out)
}

struct Walker {
    lowers: Vec<OwnedFd>,
    out: Vec<Change>,
    changed_dirs: HashSet<Vec<u8>>,
}

fn io_err<'a>(rel: &'a [u8], op: &'static str) -> impl FnOnce(std::io::Error) -> DiffError + 'a {
    move |source| DiffError::Io {
        path: String::from_utf8_lossy(rel).into_owned(),
        op,
        source,
    }
}

fn is_whiteout(st: &Stat) -> bool {
    file_type(st) == FileType::CharacterDevice && st.st_rdev == 0
}

impl Walker {
    /// `prefix` is `""` for the root or `/a/b`.
    fn walk(&mut self, dir: BorrowedFd<'_>, prefix: &[u8]) -> Result<(), DiffError> {
        for (name, _) in list_dir(dir).map_err(io_err(prefix, "listing"))? {
            let path = [prefix, b"/", &name[..]].concat();
            let st = match statat(dir, &name[..], AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) => st,
                Err(Errno::NOENT) => continue,
                Err(e) => return Err(io_err(&path, "inspecting")(e.into())),
            };
            let is_dir = file_type(&st) == FileType::Directory;
            let sub = if is_dir {
                match openat(
                    dir,
                    &name[..],
                    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                ) {
                    Ok(fd) => Some(fd),
                    Err(Errno::NOENT | Errno::NOTDIR | Errno::LOOP) => continue,
                    Err(e) => return Err(io_err(&path, "opening")(e.into())),
                }
            } else {
                None
            };
            let opaque = sub.as_ref().is_some_and(|fd| {
                let mut v = [0u8; 1];
                matches!(fgetxattr(fd, OPAQUE_XATTR, &mut v[..]), Ok(1) if v[0] == b'y')
            });
            let kind = if is_whiteout(&st) || opaque {
                Some(ChangeKind::Delete)
            } else {
                self.lower_kind(&path, &st)?
            };
            if let Some(kind) = kind {
                self.record(&path, kind, is_dir);
            }
            if let Some(fd) = sub {
                self.walk(fd.as_fd(), &path)?;
            }
        }
        Ok(())
    }

    /// `Add` when no lower has the path, `Modify` when one does, `None` for a directory
    /// identical (size, mode, mtime) to the lower one.
    fn lower_kind(&self, path: &[u8], st: &Stat) -> Result<Option<ChangeKind>, DiffError> {
        let rel = &path[1..];
        for lower in &self.lowers {
            let fd = match open_in_root(lower.as_fd(), rel, OFlags::PATH | OFlags::NOFOLLOW) {
                Ok(fd) => fd,
                Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ENOTDIR)) => {
                    continue
                }
                Err(e) => return Err(io_err(path, "looking up in lower layer")(e)),
            };
            let lst = fstat(&fd).map_err(|e| io_err(path, "inspecting lower layer")(e.into()))?;
            if is_whiteout(&lst) {
                return Ok(Some(ChangeKind::Add));
            }
            let both_dirs =
                file_type(&lst) == FileType::Directory && file_type(st) == FileType::Directory;
            let same = lst.st_size == st.st_size
                && lst.st_mode == st.st_mode
                && lst.st_mtime == st.st_mtime
                && lst.st_mtime_nsec == st.st_mtime_nsec;
            if both_dirs && same {
                return Ok(None);
            }
            return Ok(Some(ChangeKind::Modify));
        }
        Ok(Some(ChangeKind::Add))
    }

    fn record(&mut self, path: &[u8], kind: ChangeKind, is_dir: bool) {
        if is_dir {
            self.changed_dirs.insert(path.to_vec());
        }
        if matches!(kind, ChangeKind::Add | ChangeKind::Delete) {
            let parent = &path[..path.iter().rposition(|&b| b == b'/').unwrap_or(0)];
            if !parent.is_empty() && !self.changed_dirs.contains(parent) {
                self.out.push(Change {
                    path: String::from_utf8_lossy(parent).into_owned(),
                    kind: ChangeKind::Modify,
                });
                self.changed_dirs.insert(parent.to_vec());
            }
        }
        self.out.push(Change {
            path: String::from_utf8_lossy(path).into_owned(),
            kind,
        });
    }
}
