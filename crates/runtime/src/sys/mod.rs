//! Every `unsafe` block and raw syscall of the runtime, each with its `// SAFETY:` reason.
//!
//! The engine uses [`mount`]/[`unmount`] for container root filesystems; the shim uses the fd,
//! pty, pidfd and fork helpers; [`spec`](crate::spec) uses [`open_in_root`] so that paths chosen
//! by an image (USER's `/etc/passwd`, WORKDIR) can never resolve outside the rootfs.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::mount::{MntFlags, MsFlags};

use crate::ErrorKind;

mod children;
mod mem;
mod mountns;
mod seccomp;

pub use children::{own_children, reap_strays};
pub use mem::{rss_kib, trim_file_mappings, trim_heap};
pub use mountns::{bind_onto_fd, in_private_mount_ns, is_mount_point, mount_propagation};
pub use seccomp::{load_seccomp_filter, BPF_INSN_SIZE};

/// The kernel copies mount data into one page: options longer than this are refused (EINVAL),
/// which matters for overlay `lowerdir=` lists of many layers. Keep layer paths short.
pub const MOUNT_DATA_MAX: usize = 4095;

/// Errors of the raw system calls.
#[derive(Debug, thiserror::Error)]
pub enum SysError {
    /// `mount(2)` failed.
    #[error("mount {fstype} on {target}: {source}")]
    Mount {
        fstype: String,
        target: PathBuf,
        #[source]
        source: Errno,
    },
    /// The mount data would not fit in the kernel's one page.
    #[error(
        "mount options for {target} are {len} bytes, over the kernel's limit of {MOUNT_DATA_MAX}"
    )]
    MountOptionsTooLong { target: PathBuf, len: usize },
    /// `umount2(2)` failed.
    #[error("unmount {target}: {source}")]
    Unmount {
        target: PathBuf,
        #[source]
        source: Errno,
    },
    /// A path contained a NUL byte.
    #[error("path {path:?} contains a NUL byte")]
    NulInPath { path: PathBuf },
    /// `openat2(2)` inside a root failed.
    #[error("open {path} inside {root}: {source}")]
    OpenInRoot {
        root: PathBuf,
        path: PathBuf,
        #[source]
        source: Errno,
    },
    /// Any other system call failed; `call` names it.
    #[error("{call}: {source}")]
    Call {
        call: &'static str,
        #[source]
        source: Errno,
    },
}

impl SysError {
    /// The error's kind.
    pub fn kind(&self) -> ErrorKind {
        match self {
            SysError::MountOptionsTooLong { .. } | SysError::NulInPath { .. } => {
                ErrorKind::InvalidArgument
            }
            SysError::OpenInRoot { source, .. } if *source == Errno::ENOENT => ErrorKind::NotFound,
            _ => ErrorKind::Internal,
        }
    }
}

fn call(call: &'static str) -> impl FnOnce(Errno) -> SysError {
    move |source| SysError::Call { call, source }
}

/// Splits mount options into flags and the data string the filesystem parses.
fn split_mount_options(options: &[String]) -> (MsFlags, String) {
    let mut flags = MsFlags::empty();
    let mut data = Vec::new();
    for opt in options {
        let flag = match opt.as_str() {
            "ro" => MsFlags::MS_RDONLY,
            "rw" => MsFlags::empty(),
            "nosuid" => MsFlags::MS_NOSUID,
            "nodev" => MsFlags::MS_NODEV,
            "noexec" => MsFlags::MS_NOEXEC,
            "bind" => MsFlags::MS_BIND,
            "rbind" => MsFlags::MS_BIND | MsFlags::MS_REC,
            "remount" => MsFlags::MS_REMOUNT,
            "noatime" => MsFlags::MS_NOATIME,
            "relatime" => MsFlags::MS_RELATIME,
            "strictatime" => MsFlags::MS_STRICTATIME,
            "sync" => MsFlags::MS_SYNCHRONOUS,
            _ => {
                data.push(opt.as_str());
                continue;
            }
        };
        flags |= flag;
    }
    (flags, data.join(","))
}

/// Mounts `source` on `target` as `fstype` with fstab-style `options` (`ro`, `nosuid`, `bind` …
/// become flags, the rest — e.g. `lowerdir=…,upperdir=…,workdir=…` — is the data string).
///
/// The data string may not exceed [`MOUNT_DATA_MAX`] bytes (one page).
pub fn mount(
    fstype: &str,
    source: &Path,
    target: &Path,
    options: &[String],
) -> Result<(), SysError> {
    let (flags, data) = split_mount_options(options);
    if data.len() > MOUNT_DATA_MAX {
        return Err(SysError::MountOptionsTooLong {
            target: target.to_owned(),
            len: data.len(),
        });
    }
    let data = (!data.is_empty()).then_some(data.as_str());
    nix::mount::mount(Some(source), target, Some(fstype), flags, data).map_err(|source| {
        SysError::Mount {
            fstype: fstype.to_owned(),
            target: target.to_owned(),
            source,
        }
    })
}

/// Unmounts `target`. With `detach` the mount is lazily detached (MNT_DETACH): it disappears
/// from the tree at once and is freed when the last user is gone — what a container rootfs
/// needs when a process may still hold it. Not mounted (EINVAL) counts as success.
pub fn unmount(target: &Path, detach: bool) -> Result<(), SysError> {
    let flags = if detach {
        MntFlags::MNT_DETACH
    } else {
        MntFlags::empty()
    };
    match nix::mount::umount2(target, flags) {
        Ok(()) | Err(Errno::EINVAL) | Err(Errno::ENOENT) => Ok(()),
        Err(source) => Err(SysError::Unmount {
            target: target.to_owned(),
            source,
        }),
    }
}

/// Opens `path` (relative or absolute) as if `root` were `/`: symlinks and `..` can never leave
/// `root` (`openat2` with `RESOLVE_IN_ROOT`, Linux 5.6+). `flags` are `open(2)` flags.
pub fn open_in_root(
    root: BorrowedFd<'_>,
    root_path: &Path,
    path: &Path,
    flags: i32,
) -> Result<OwnedFd, SysError> {
    let rel = path.strip_prefix("/").unwrap_or(path);
    let rel = if rel.as_os_str().is_empty() {
        Path::new(".")
    } else {
        rel
    };
    let c = CString::new(rel.as_os_str().as_bytes()).map_err(|_| SysError::NulInPath {
        path: path.to_owned(),
    })?;
    // SAFETY: open_how is a plain C struct; all-zero is a valid value for every field.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (flags | libc::O_CLOEXEC) as u64;
    how.resolve = libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS;
    // SAFETY: `c` is a valid NUL-terminated string and `how` a valid open_how that outlive the
    // call; the size argument is the struct's size. The syscall returns a new fd or -1.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            root.as_raw_fd(),
            c.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    };
    if ret < 0 {
        return Err(SysError::OpenInRoot {
            root: root_path.to_owned(),
            path: path.to_owned(),
            source: Errno::last(),
        });
    }
    // SAFETY: the syscall succeeded, so `ret` is a fresh fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(ret as RawFd) })
}

/// Opens the directory `name` in `parent` without following a symlink (O_PATH|O_NOFOLLOW).
pub fn open_dir_nofollow(parent: BorrowedFd<'_>, name: &std::ffi::OsStr) -> Result<OwnedFd, Errno> {
    use nix::fcntl::OFlag;
    let flags = OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let fd = nix::fcntl::openat(
        Some(parent.as_raw_fd()),
        name,
        flags,
        nix::sys::stat::Mode::empty(),
    )?;
    // SAFETY: openat succeeded, so `fd` is a fresh descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The longest path a unix socket address holds (`sun_path` is 108 bytes with the NUL).
pub const SUN_PATH_MAX: usize = 107;

/// A path to the unix socket `name` in `dir` that fits in a socket address, and the directory
/// fd keeping it valid: the direct path when it is short enough, else
/// `/proc/self/fd/<dirfd>/<name>` (the kernel resolves the directory through the fd, so deep
/// exec roots work). Keep the returned fd open until `bind`/`connect` has returned.
pub fn socket_path(dir: &Path, name: &str) -> io::Result<(PathBuf, Option<OwnedFd>)> {
    let direct = dir.join(name);
    if direct.as_os_str().len() <= SUN_PATH_MAX {
        return Ok((direct, None));
    }
    let fd = nix::fcntl::open(
        dir,
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(io::Error::from)?;
    // SAFETY: `open` returned a new fd that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let short = PathBuf::from(format!("/proc/self/fd/{}/{name}", fd.as_raw_fd()));
    Ok((short, Some(fd)))
}

/// Sets SIGPIPE's disposition: ignored (so a write to a closed pipe or socket returns EPIPE)
/// or default. The shim keeps the default while libcontainer clones the container's init —
/// dispositions set to "ignore" survive exec and containers expect SIGPIPE to kill — and ignores
/// it afterwards.
pub fn set_sigpipe_ignored(ignored: bool) -> Result<(), SysError> {
    use nix::sys::signal::{signal, SigHandler, Signal};
    let handler = if ignored {
        SigHandler::SigIgn
    } else {
        SigHandler::SigDfl
    };
    // SAFETY: SIG_IGN and SIG_DFL are not Rust handlers, so no code runs in signal context.
    unsafe { signal(Signal::SIGPIPE, handler) }
        .map(drop)
        .map_err(call("signal(SIGPIPE)"))
}

/// Sets a terminal's window size (TIOCSWINSZ) — on the pty master it reaches the container.
pub fn set_winsize(fd: BorrowedFd<'_>, width: u16, height: u16) -> Result<(), SysError> {
    let ws = libc::winsize {
        ws_row: height,
        ws_col: width,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads one `winsize` from the pointer, which is valid for the call.
    let ret = unsafe {
        libc::ioctl(
            fd.as_raw_fd(),
            libc::TIOCSWINSZ,
            &ws as *const libc::winsize,
        )
    };
    Errno::result(ret)
        .map(drop)
        .map_err(call("ioctl(TIOCSWINSZ)"))
}

/// Opens a pidfd for `pid` (pidfd_open(2), Linux 5.3+): pollable for exit, and signals sent
/// through it can never hit a recycled pid.
pub fn pidfd_open(pid: i32) -> Result<OwnedFd, SysError> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1; no memory is passed.
    let ret = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if ret < 0 {
        return Err(SysError::Call {
            call: "pidfd_open",
            source: Errno::last(),
        });
    }
    // SAFETY: the syscall succeeded, so `ret` is a fresh fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(ret as RawFd) })
}

/// Sends `signal` to the process behind `pidfd` (pidfd_send_signal(2)).
pub fn pidfd_send_signal(pidfd: BorrowedFd<'_>, signal: i32) -> Result<(), SysError> {
    // SAFETY: a null siginfo is allowed (the kernel fills in a SI_USER one); no other memory.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            signal,
            std::ptr::null::<u8>(),
            0,
        )
    };
    if ret < 0 {
        return Err(SysError::Call {
            call: "pidfd_send_signal",
            source: Errno::last(),
        });
    }
    Ok(())
}

/// Which side of a [`fork`] this is.
pub enum Forked {
    /// The original process; `child` is the new pid.
    Parent { child: i32 },
    /// The new process.
    Child,
}

/// Forks the calling process. Only call it while the process has a single thread (the shim
/// does so first thing), so the child inherits no lock held by another thread.
pub fn fork() -> Result<Forked, SysError> {
    // SAFETY: callers guarantee the process is single-threaded, so the child may allocate and
    // run arbitrary code: no other thread can hold a lock at the moment of the fork.
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Parent { child }) => Ok(Forked::Parent {
            child: child.as_raw(),
        }),
        Ok(nix::unistd::ForkResult::Child) => Ok(Forked::Child),
        Err(source) => Err(SysError::Call {
            call: "fork",
            source,
        }),
    }
}

/// Receives one file descriptor sent with SCM_RIGHTS (runc's console-socket protocol: the
/// payload is a name, the pty master rides along).
pub fn recv_fd(sock: &UnixStream) -> Result<OwnedFd, SysError> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    let mut name = [0u8; 4096];
    let mut iov = [io::IoSliceMut::new(&mut name)];
    let mut cmsg = nix::cmsg_space!([RawFd; 1]);
    let msg = recvmsg::<()>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .map_err(call("recvmsg"))?;
    for c in msg.cmsgs().map_err(call("recvmsg cmsgs"))? {
        if let ControlMessageOwned::ScmRights(fds) = c {
            if let Some(&fd) = fds.first() {
                // SAFETY: the kernel just installed this fd in our table for us; we own it.
                return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
            }
        }
    }
    Err(SysError::Call {
        call: "recvmsg (no fd received)",
        source: Errno::EBADMSG,
    })
}

/// Puts `fd` in non-blocking mode.
pub fn set_nonblocking(fd: BorrowedFd<'_>) -> Result<(), SysError> {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    let flags = fcntl(fd.as_raw_fd(), FcntlArg::F_GETFL).map_err(call("fcntl(F_GETFL)"))?;
    let flags = OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK;
    fcntl(fd.as_raw_fd(), FcntlArg::F_SETFL(flags))
        .map(drop)
        .map_err(call("fcntl(F_SETFL)"))
}

/// Sets or clears close-on-exec on `fd`.
pub fn set_cloexec(fd: BorrowedFd<'_>, on: bool) -> Result<(), SysError> {
    use nix::fcntl::{fcntl, FcntlArg, FdFlag};
    let flags = if on {
        FdFlag::FD_CLOEXEC
    } else {
        FdFlag::empty()
    };
    fcntl(fd.as_raw_fd(), FcntlArg::F_SETFD(flags))
        .map(drop)
        .map_err(call("fcntl(F_SETFD)"))
}

/// A close-on-exec pipe: (read end, write end).
pub fn pipe() -> Result<(OwnedFd, OwnedFd), SysError> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(call("pipe2"))
}

/// Makes `fd` the process's descriptor number `target` (dup2), e.g. to point 0/1/2 elsewhere.
pub fn dup_onto(fd: BorrowedFd<'_>, target: RawFd) -> Result<(), SysError> {
    nix::unistd::dup2(fd.as_raw_fd(), target)
        .map(drop)
        .map_err(call("dup2"))
}

/// Makes this process a child subreaper (PR_SET_CHILD_SUBREAPER, prctl(2)): orphaned
/// descendants — a container's init once the external runtime that created it exits — become
/// its children, so it can reap them and learn their exit status.
pub fn set_child_subreaper() -> Result<(), SysError> {
    // SAFETY: prctl with PR_SET_CHILD_SUBREAPER takes an integer argument; no memory is passed.
    let rc = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    if rc == 0 {
        Ok(())
    } else {
        Err(SysError::Call {
            call: "prctl(PR_SET_CHILD_SUBREAPER)",
            source: nix::errno::Errno::last(),
        })
    }
}

/// Starts a new session (setsid), leaving the spawner's process group and terminal.
pub fn new_session() -> Result<(), SysError> {
    nix::unistd::setsid().map(drop).map_err(call("setsid"))
}

/// Reaps `pid` if it has exited; `None` while it still runs. Returns the Docker-style exit code
/// (the status, or 128 + signal).
pub fn try_reap(pid: i32) -> Result<Option<i32>, SysError> {
    use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
    match waitpid(nix::unistd::Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG)) {
        Ok(WaitStatus::Exited(_, code)) => Ok(Some(code)),
        Ok(WaitStatus::Signaled(_, sig, _)) => Ok(Some(128 + sig as i32)),
        Ok(_) => Ok(None),
        Err(source) => Err(SysError::Call {
            call: "waitpid",
            source,
        }),
    }
}

/// Waits until one of `fds` is ready or `timeout_ms` passes (-1: forever). Returns the revents
/// per fd, in order.
pub fn poll(
    fds: &[(BorrowedFd<'_>, bool, bool)],
    timeout_ms: i32,
) -> Result<Vec<PollReady>, SysError> {
    use nix::poll::{PollFd, PollFlags, PollTimeout};
    let mut pfds: Vec<PollFd<'_>> = fds
        .iter()
        .map(|(fd, read, write)| {
            let mut ev = PollFlags::empty();
            if *read {
                ev |= PollFlags::POLLIN;
            }
            if *write {
                ev |= PollFlags::POLLOUT;
            }
            PollFd::new(*fd, ev)
        })
        .collect();
    let timeout = if timeout_ms < 0 {
        PollTimeout::NONE
    } else {
        PollTimeout::try_from(timeout_ms).unwrap_or(PollTimeout::MAX)
    };
    match nix::poll::poll(&mut pfds, timeout) {
        Ok(_) | Err(Errno::EINTR) => {}
        Err(source) => {
            return Err(SysError::Call {
                call: "poll",
                source,
            })
        }
    }
    Ok(pfds
        .iter()
        .map(|p| {
            let r = p.revents().unwrap_or(PollFlags::empty());
            PollReady {
                readable: r.intersects(PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR),
                writable: r.intersects(PollFlags::POLLOUT | PollFlags::POLLERR),
            }
        })
        .collect())
}

/// What [`poll`] found for one fd.
#[derive(Debug, Clone, Copy, Default)]
pub struct PollReady {
    /// Data, EOF or an error is waiting: a read will not block.
    pub readable: bool,
    /// A write will not block.
    pub writable: bool,
}

/// Reads into `buf`; `Ok(None)` when it would block.
pub fn read_nb(fd: BorrowedFd<'_>, buf: &mut [u8]) -> Result<Option<usize>, Errno> {
    match nix::unistd::read(fd.as_raw_fd(), buf) {
        Ok(n) => Ok(Some(n)),
        Err(Errno::EAGAIN) | Err(Errno::EINTR) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Writes from `buf`; `Ok(None)` when it would block.
pub fn write_nb(fd: BorrowedFd<'_>, buf: &[u8]) -> Result<Option<usize>, Errno> {
    match nix::unistd::write(fd, buf) {
        Ok(n) => Ok(Some(n)),
        Err(Errno::EAGAIN) | Err(Errno::EINTR) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Whether a process with this pid exists (signal 0).
pub fn process_alive(pid: i32) -> bool {
    pid > 0 && nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
}

/// Borrows a raw fd number the caller knows to be open for the duration of the borrow.
///
/// Used only for the process's standard descriptors 0–2.
pub fn stdio_fd(n: RawFd) -> BorrowedFd<'static> {
    assert!((0..=2).contains(&n), "stdio_fd is for 0, 1 and 2 only");
    // SAFETY: descriptors 0–2 stay open for the life of the process (at worst onto /dev/null).
    unsafe { BorrowedFd::borrow_raw(n) }
}

/// Duplicates an fd (F_DUPFD_CLOEXEC).
pub fn dup(fd: impl AsFd) -> Result<OwnedFd, SysError> {
    fd.as_fd().try_clone_to_owned().map_err(|e| SysError::Call {
        call: "dup",
        source: Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)),
    })
}

/// An I/O error's text as Go (and so runc and dockerd) prints it: the lower-case strerror,
/// e.g. `no such file or directory`.
pub fn errno_text(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => {
            let desc = Errno::from_raw(n).desc();
            let mut c = desc.chars();
            c.next()
                .map(|f| f.to_lowercase().chain(c).collect())
                .unwrap_or_default()
        }
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_options_split_into_flags_and_data() {
        let opts: Vec<String> = ["ro", "nosuid", "lowerdir=/a:/b", "upperdir=/u"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let (flags, data) = split_mount_options(&opts);
        assert_eq!(flags, MsFlags::MS_RDONLY | MsFlags::MS_NOSUID);
        assert_eq!(data, "lowerdir=/a:/b,upperdir=/u");
    }

    #[test]
    fn overlong_mount_data_is_refused_before_the_syscall() {
        let long = format!("lowerdir={}", "/x".repeat(3000));
        let err = mount(
            "overlay",
            Path::new("overlay"),
            Path::new("/nonexistent"),
            &[long],
        )
        .unwrap_err();
        assert!(matches!(err, SysError::MountOptionsTooLong { .. }), "{err}");
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    }

    #[test]
    fn open_in_root_cannot_escape() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::write(dir.path().join("secret"), "host").unwrap();
        std::fs::write(root.join("etc/secret"), "inside").unwrap();
        std::os::unix::fs::symlink("../../secret", root.join("etc/link")).unwrap();
        std::os::unix::fs::symlink("/etc/secret", root.join("abs")).unwrap();
        let rootfd = std::fs::File::open(&root).unwrap();
        for p in ["etc/link", "/abs", "../secret", "/etc/../../secret"] {
            let fd = open_in_root(rootfd.as_fd(), &root, Path::new(p), libc::O_RDONLY);
            match fd {
                Ok(fd) => {
                    let s = std::io::read_to_string(std::fs::File::from(fd)).unwrap();
                    assert_eq!(s, "inside", "{p} escaped the root");
                }
                Err(e) => assert_eq!(e.kind(), ErrorKind::NotFound, "{p}: {e}"),
            }
        }
    }
}
