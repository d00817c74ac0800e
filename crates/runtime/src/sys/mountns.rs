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

/// Whether `path` is a mount point of this mount namespace (listed in
/// `/proc/self/mountinfo`; `path` as it would be listed there: absolute, no symlinks).
pub fn is_mount_point(path: &Path) -> bool {
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
