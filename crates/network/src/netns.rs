//! Network namespaces kept alive by a bind mount on a file, as `ip netns add` does.
//!
//! [`create`] makes a namespace with only `lo`, brought up, and pins it at a path the engine
//! passes to the runtime spec; [`remove`] unpins and deletes it. Entering a namespace changes
//! only the calling thread, so all of it runs on a short-lived dedicated OS thread and never on
//! a tokio worker or the caller's thread.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::mount::{MntFlags, MsFlags};
use nix::sched::CloneFlags;

use crate::ErrorKind;

/// Why a namespace could not be created or removed.
#[derive(Debug, thiserror::Error)]
pub enum NetnsError {
    /// The pin file could not be created or removed.
    #[error("netns {path}: {source}")]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A namespace system call failed; `step` names it.
    #[error("netns {path}: {step}: {source}")]
    Sys {
        path: PathBuf,
        step: &'static str,
        #[source]
        source: Errno,
    },
    /// The pin file already holds a namespace.
    #[error("netns {path} already exists")]
    Exists { path: PathBuf },
    /// The worker thread died.
    #[error("netns {path}: worker thread panicked")]
    Thread { path: PathBuf },
}

impl NetnsError {
    /// The error's kind.
    pub fn kind(&self) -> ErrorKind {
        match self {
            NetnsError::Exists { .. } => ErrorKind::Conflict,
            _ => ErrorKind::Internal,
        }
    }
}

/// Whether a network namespace is mounted at `path`: the file is then nsfs's, not that of the
/// directory's filesystem. One `statfs`, where reading mountinfo cost every start a table that
/// grows with each running container.
fn is_mountpoint(path: &Path) -> bool {
    nix::sys::statfs::statfs(path)
        .is_ok_and(|fs| fs.filesystem_type() == nix::sys::statfs::NSFS_MAGIC)
}

/// Creates a network namespace with `lo` up and bind-mounts it at `path` (the file is created;
/// its directory must exist). Blocking: call it from `spawn_blocking` in async code.
pub fn create(path: &Path) -> Result<(), NetnsError> {
    if is_mountpoint(path) {
        return Err(NetnsError::Exists {
            path: path.to_owned(),
        });
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|source| NetnsError::File {
            path: path.to_owned(),
            source,
        })?;
    let p = path.to_owned();
    let result = std::thread::Builder::new()
        .name("netns-create".into())
        .spawn(move || in_new_netns(&p))
        .map_err(|source| NetnsError::File {
            path: path.to_owned(),
            source,
        })?
        .join()
        .unwrap_or_else(|_| {
            Err(NetnsError::Thread {
                path: path.to_owned(),
            })
        });
    if result.is_err() {
        let _ = std::fs::remove_file(path);
    }
    result
}

/// Runs on its own thread: unshare the thread's network namespace, bring `lo` up, pin the
/// namespace. The thread then ends; its namespace lives on through the mount.
fn in_new_netns(path: &Path) -> Result<(), NetnsError> {
    let sys = |step| {
        move |source| NetnsError::Sys {
            path: path.to_owned(),
            step,
            source,
        }
    };
    // Only this thread moves to the new namespace (unshare(2) on a thread is per-thread for
    // CLONE_NEWNET).
    nix::sched::unshare(CloneFlags::CLONE_NEWNET).map_err(sys("unshare(CLONE_NEWNET)"))?;
    loopback_up().map_err(sys("bring lo up"))?;
    let ns = format!("/proc/self/task/{}/ns/net", nix::unistd::gettid());
    nix::mount::mount(
        Some(ns.as_str()),
        path,
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .map_err(sys("bind-mount the namespace"))
}

/// Sets IFF_UP on `lo` with the classic SIOCGIFFLAGS/SIOCSIFFLAGS ioctls on a datagram socket.
fn loopback_up() -> Result<(), Errno> {
    use nix::sys::socket::{socket, AddressFamily, SockFlag, SockType};
    let sock: OwnedFd = socket(
        AddressFamily::Inet,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    // SAFETY: ifreq is a plain C struct/union; all-zero is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS reads the name and writes the flags into `req`, which is valid and
    // exclusively borrowed for the call.
    Errno::result(unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) })?;
    // SAFETY: the kernel filled `ifru_flags`, the union member SIOCGIFFLAGS writes.
    unsafe { req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short };
    // SAFETY: SIOCSIFFLAGS reads `req` (name and flags), valid for the call.
    Errno::result(unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req) })?;
    Ok(())
}

/// Unmounts and deletes a namespace made by [`create`]. A missing path is not an error. The
/// namespace itself disappears once no process is in it.
pub fn remove(path: &Path) -> Result<(), NetnsError> {
    match nix::mount::umount2(path, MntFlags::MNT_DETACH) {
        Ok(()) | Err(Errno::EINVAL) | Err(Errno::ENOENT) => {}
        Err(source) => {
            return Err(NetnsError::Sys {
                path: path.to_owned(),
                step: "unmount",
                source,
            })
        }
    }
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(NetnsError::File {
            path: path.to_owned(),
            source: e,
        }),
        _ => Ok(()),
    }
}

fn open(path: &Path) -> Result<std::fs::File, NetnsError> {
    std::fs::File::open(path).map_err(|source| NetnsError::File {
        path: path.to_owned(),
        source,
    })
}

/// Spawns the dedicated thread: it enters the namespace of `file`, runs `f` and hands the
/// result to `done`. The thread then ends, so no other code ever runs in that namespace.
fn spawn_in<T: Send + 'static>(
    path: &Path,
    f: impl FnOnce() -> T + Send + 'static,
    done: impl FnOnce(Result<T, NetnsError>) + Send + 'static,
) -> Result<std::thread::JoinHandle<()>, NetnsError> {
    let file = open(path)?;
    let p = path.to_owned();
    std::thread::Builder::new()
        .name("netns-run".into())
        .spawn(move || {
            let result = nix::sched::setns(&file, CloneFlags::CLONE_NEWNET)
                .map_err(|source| NetnsError::Sys {
                    path: p,
                    step: "setns",
                    source,
                })
                .map(|()| f());
            done(result);
        })
        .map_err(|source| NetnsError::File {
            path: path.to_owned(),
            source,
        })
}

/// Runs `f` on a dedicated thread inside the namespace pinned at `path` and waits for it
/// (blocking: tests and blocking callers).
pub fn run_in<T: Send + 'static>(
    path: &Path,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, NetnsError> {
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = spawn_in(path, f, move |r| {
        let _ = tx.send(r);
    })?;
    let _ = thread.join();
    rx.recv().unwrap_or_else(|_| {
        Err(NetnsError::Thread {
            path: path.to_owned(),
        })
    })
}

/// [`run_in`] for async callers: the dedicated thread runs `f` inside the namespace and the
/// caller awaits its result without blocking a runtime worker. Sockets `f` creates stay in
/// the namespace they were created in, so this is how the daemon opens netlink and DNS
/// sockets inside a container's namespace and then serves them from its own runtime.
pub async fn run_in_async<T: Send + 'static>(
    path: &Path,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, NetnsError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    spawn_in(path, f, move |r| {
        // The receiver only goes away if the caller was cancelled; nothing to do then.
        let _ = tx.send(r);
    })?;
    rx.await.unwrap_or_else(|_| {
        Err(NetnsError::Thread {
            path: path.to_owned(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Removes the namespace even when an assertion fails.
    struct Guard(PathBuf);
    impl Drop for Guard {
        fn drop(&mut self) {
            let _ = remove(&self.0);
        }
    }

    fn lo_flags() -> Result<i32, Errno> {
        use nix::sys::socket::{socket, AddressFamily, SockFlag, SockType};
        let sock = socket(
            AddressFamily::Inet,
            SockType::Datagram,
            SockFlag::SOCK_CLOEXEC,
            None,
        )?;
        // SAFETY: all-zero ifreq is valid; SIOCGIFFLAGS fills it during the call.
        let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
        for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
            *dst = *src as libc::c_char;
        }
        // SAFETY: `req` is valid and exclusively borrowed for the call.
        Errno::result(unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) })?;
        // SAFETY: SIOCGIFFLAGS wrote the flags member.
        Ok(i32::from(unsafe { req.ifr_ifru.ifru_flags }))
    }

    fn links_in(path: &Path) -> Vec<String> {
        run_in(path, || {
            std::fs::read_to_string("/proc/thread-self/net/dev")
                .unwrap_or_default()
                .lines()
                .skip(2)
                .filter_map(|l| l.split(':').next().map(|s| s.trim().to_string()))
                .collect()
        })
        .unwrap()
    }

    #[test]
    fn create_gives_only_lo_up_and_remove_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ns1");
        let _guard = Guard(path.clone());
        create(&path).unwrap();
        assert!(is_mountpoint(&path));
        let flags = run_in(&path, lo_flags).unwrap().unwrap();
        assert_ne!(
            flags & libc::IFF_UP,
            0,
            "lo must be up inside the namespace"
        );
        // /proc/thread-self/net follows the reading thread's namespace.
        assert_eq!(links_in(&path), vec!["lo".to_string()]);
        // The host's namespace is untouched: it has more than lo here.
        let host_ns = std::fs::read_link("/proc/self/ns/net").unwrap();
        let inner_ns = run_in(&path, || {
            std::fs::read_link("/proc/thread-self/ns/net").unwrap()
        })
        .unwrap();
        assert_ne!(host_ns, inner_ns);
        assert!(matches!(create(&path), Err(NetnsError::Exists { .. })));
        remove(&path).unwrap();
        assert!(!path.exists());
        assert!(!is_mountpoint(&path));
        remove(&path).unwrap();
    }

    #[test]
    fn two_namespaces_are_distinct() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        let _ga = Guard(a.clone());
        let _gb = Guard(b.clone());
        create(&a).unwrap();
        create(&b).unwrap();
        let id = |p: &Path| {
            run_in(p, || {
                std::fs::read_link("/proc/thread-self/ns/net").unwrap()
            })
            .unwrap()
        };
        assert_ne!(id(&a), id(&b));
    }
}
