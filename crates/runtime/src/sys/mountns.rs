//! A private mount namespace on a thread of its own, for work that needs mounts nobody else
//! may see (`docker cp`: a container's volumes bound over its root filesystem, dockerd's
//! `containerFSView`). The thread unshares its mount namespace, makes every mount a slave
//! (so nothing it mounts propagates back to the host, while unmounts on the host still reach
//! it), runs the work and exits: the namespace, and every mount made in it, dies with the
//! thread — also when the work panics, and without any cleanup after a crash of the daemon.

use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::mount::MsFlags;
use nix::sched::CloneFlags;

use super::{call, SysError};

/// Runs `work` on a new thread inside a private copy of this process's mount namespace and
/// returns its result. `work` must not hand out paths it mounted: they exist only there.
pub fn in_private_mount_ns<T, F>(work: F) -> Result<T, SysError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let thread = std::thread::Builder::new()
        .name("berth-mountns".into())
        .spawn(move || -> Result<T, SysError> {
            // unshare(CLONE_NEWNS) also unshares this thread's filesystem attributes (root,
            // cwd), which no other thread of the process shares from then on; the namespace
            // belongs to this thread alone.
            nix::sched::unshare(CloneFlags::CLONE_NEWNS).map_err(call("unshare(CLONE_NEWNS)"))?;
            nix::mount::mount(
                None::<&str>,
                "/",
                None::<&str>,
                MsFlags::MS_REC | MsFlags::MS_SLAVE,
                None::<&str>,
            )
            .map_err(call("mount --make-rslave /"))?;
            Ok(work())
        })
        .map_err(|e| SysError::Call {
            call: "spawn mount namespace thread",
            source: nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(libc::EAGAIN)),
        })?;
    match thread.join() {
        Ok(r) => r,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Bind-mounts `source` (recursively unless `non_recursive`) onto the file or directory open
/// as `target` (an `O_PATH` fd resolved by the caller inside a root): the mount lands on that
/// very inode, whatever happens to the path meanwhile. Read-only when `readonly`. Returns
/// the target's path as the kernel names it. Meant for [`in_private_mount_ns`].
pub fn bind_onto_fd(
    source: &Path,
    target: BorrowedFd<'_>,
    non_recursive: bool,
    readonly: bool,
) -> Result<PathBuf, SysError> {
    let fd_path = PathBuf::from(format!("/proc/self/fd/{}", target.as_raw_fd()));
    let mut flags = MsFlags::MS_BIND;
    if !non_recursive {
        flags |= MsFlags::MS_REC;
    }
    nix::mount::mount(Some(source), &fd_path, None::<&str>, flags, None::<&str>).map_err(
        |source| SysError::Mount {
            fstype: "bind".into(),
            target: fd_path.clone(),
            source,
        },
    )?;
    // Remounts and propagation changes refuse /proc/self/fd paths: they take the real one,
    // which now names the mount just made.
    let real = std::fs::read_link(&fd_path).map_err(|e| SysError::Call {
        call: "readlink /proc/self/fd",
        source: nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)),
    })?;
    nix::mount::mount(
        None::<&str>,
        &real,
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(call("mount --make-rprivate"))?;
    if readonly {
        nix::mount::mount(
            None::<&str>,
            &real,
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY,
            None::<&str>,
        )
        .map_err(call("remount read-only"))?;
    }
    Ok(real)
}

/// How the mount holding `path` propagates: its mount point and whether it is shared and
/// a slave, from the optional fields of `/proc/self/mountinfo` (dockerd's check before a
/// `shared`/`slave` bind).
pub fn mount_propagation(path: &Path) -> std::io::Result<(PathBuf, bool, bool)> {
    let info = std::fs::read_to_string("/proc/self/mountinfo")?;
    let path = std::fs::canonicalize(path)?;
    let mut best: Option<(PathBuf, bool, bool)> = None;
    for line in info.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let Some(mp) = fields.get(4) else { continue };
        let mp = unescape(mp);
        if !path.starts_with(&mp) {
            continue;
        }
        let len = mp.as_os_str().len();
        let longer = best
            .as_ref()
            .is_none_or(|(b, ..)| len >= b.as_os_str().len());
        let optional = fields
            .get(6..)
            .unwrap_or_default()
            .iter()
            .take_while(|f| **f != "-");
        let (mut shared, mut slave) = (false, false);
        for f in optional {
            shared |= f.starts_with("shared:");
            slave |= f.starts_with("master:");
        }
        // The last of equally long mount points is the top one.
        if longer {
            best = Some((mp, shared, slave));
        }
    }
    Ok(best.unwrap_or_else(|| (PathBuf::from("/"), false, false)))
}

/// Whether `path` is a mount point of this mount namespace (`path` as `/proc/self/mountinfo`
/// would list it: absolute, no symlinks).
///
/// One `statx` answers it (`STATX_ATTR_MOUNT_ROOT`, Linux 5.8); reading mountinfo instead cost
/// every start and removal a read of a table that grows by two lines per running container.
/// Kernels without the attribute get the mountinfo scan.
pub fn is_mount_point(path: &Path) -> bool {
    mount_root_attribute(path).unwrap_or_else(|| listed_in_mountinfo(path))
}

/// `statx`'s answer to "is `path` the root of a mount", or `None` when the kernel does not
/// report it. A missing path is not a mount point.
fn mount_root_attribute(path: &Path) -> Option<bool> {
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: an all-zero `statx` is a valid value of this plain C struct.
    let mut st: libc::statx = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a NUL-terminated path and `st` a writable `statx` that outlives the call.
    let r = unsafe {
        libc::statx(
            libc::AT_FDCWD,
            c.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
            0,
            &mut st,
        )
    };
    if r != 0 {
        let e = std::io::Error::last_os_error().raw_os_error();
        return matches!(e, Some(libc::ENOENT | libc::ENOTDIR)).then_some(false);
    }
    let bit = libc::STATX_ATTR_MOUNT_ROOT as u64;
    (st.stx_attributes_mask & bit != 0).then_some(st.stx_attributes & bit != 0)
}

fn listed_in_mountinfo(path: &Path) -> bool {
    std::fs::read_to_string("/proc/self/mountinfo")
        .map(|mi| {
            mi.lines()
                .filter_map(|l| l.split(' ').nth(4))
                .any(|mp| unescape(mp) == path)
        })
        .unwrap_or(false)
}

/// mountinfo escapes space, tab, newline and backslash as octal.
fn unescape(s: &str) -> PathBuf {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(u8::is_ascii_digit) {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    PathBuf::from(std::ffi::OsStr::from_bytes(&out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statx_and_mountinfo_agree_on_mount_points() {
        let dir = tempfile::tempdir().unwrap();
        for (path, expected) in [
            (Path::new("/"), true),
            (Path::new("/proc"), true),
            (dir.path(), false),
            (&*dir.path().join("missing"), false),
        ] {
            assert_eq!(is_mount_point(path), expected, "{}", path.display());
            assert_eq!(listed_in_mountinfo(path), expected, "{}", path.display());
        }
        assert_eq!(mount_root_attribute(Path::new("/proc")), Some(true));
        if !nix::unistd::geteuid().is_root() {
            return;
        }
        // A file bind-mounted onto another (how a network namespace is kept) counts too, in
        // a private mount namespace so that nothing outlives the test.
        let file = dir.path().join("ns");
        std::fs::write(&file, "").unwrap();
        let f = file.clone();
        let seen = in_private_mount_ns(move || {
            nix::mount::mount(
                Some("/proc/self/ns/net"),
                &f,
                None::<&str>,
                MsFlags::MS_BIND,
                None::<&str>,
            )
            .unwrap();
            // (statx answers for this thread's namespace; /proc/self/mountinfo would list
            // the main thread's.)
            mount_root_attribute(&f)
        })
        .unwrap();
        assert_eq!(seen, Some(true));
        assert!(!is_mount_point(&file));
    }

    #[test]
    fn mountinfo_paths_are_unescaped() {
        assert_eq!(unescape("/a\\040b"), PathBuf::from("/a b"));
        assert_eq!(unescape("/plain"), PathBuf::from("/plain"));
    }

    #[test]
    fn root_is_a_mount_point_with_known_propagation() {
        // Whatever the host's propagation is, the lookup finds a mount for /.
        mount_propagation(Path::new("/")).unwrap();
    }

    #[test]
    fn a_private_namespace_keeps_its_mounts() {
        if !nix::unistd::geteuid().is_root() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().to_path_buf();
        let t2 = target.clone();
        let seen = in_private_mount_ns(move || {
            nix::mount::mount(
                Some("tmpfs"),
                &t2,
                Some("tmpfs"),
                MsFlags::empty(),
                None::<&str>,
            )
            .unwrap();
            std::fs::write(t2.join("inside"), "x").unwrap();
            t2.join("inside").exists()
        })
        .unwrap();
        assert!(seen);
        // Not visible outside, and nothing left mounted.
        assert!(!target.join("inside").exists());
        let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        assert!(!info.contains(&*target.to_string_lossy()));
    }
}
