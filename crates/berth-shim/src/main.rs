//! `berth-shim`: one per container. It creates the container through `runtime::launcher`
//! (youki's libcontainer), holds its pty master or pipes, writes its json-file log, serves
//! attach/start/kill/resize/wait and execs (`exec`) on a unix socket, records the exit status,
//! and cleans up.
//! Single-threaded, no async runtime. The protocol is documented in `runtime::shim`.
//!
//! Usage: `berth-shim <state-dir>` where `<state-dir>/shim.json` holds a `runtime::shim::ShimConfig`.
//! The process forks and the parent exits; the child, in its own session, prints one
//! `SpawnReply` JSON line on the stdout it was given once the container is created (or failed),
//! and lives on as the shim. Errors before the fork are reported by the parent, the same way.

mod exec;
mod server;
mod stdio;

use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

use runtime::launcher::{self, Stdio};
use runtime::shim::{self, ShimConfig, SpawnReply, WireError};
use runtime::{sys, ErrorKind};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(state_dir) = args.get(1).map(PathBuf::from) else {
        eprintln!("usage: berth-shim <state-dir>");
        std::process::exit(2);
    };
    let reply = match prepare(&state_dir) {
        Ok(p) => p,
        Err(e) => {
            print_reply(&SpawnReply {
                pid: None,
                shim_pid: None,
                error: Some(e),
            });
            std::process::exit(1);
        }
    };
    let (listener, cfg, lock) = reply;
    // The child answers on this process's stdout itself (a copy of it survives the child's
    // redirection of its stdio), so this process exits at once, off the daemon's path.
    let report = match sys::dup(sys::stdio_fd(1)) {
        Ok(fd) => fd,
        Err(e) => fail_early(&e.to_string()),
    };
    // Still single-threaded here: the fork is safe, and the child may do anything.
    match sys::fork() {
        Ok(sys::Forked::Parent { .. }) => {
            // Dropping the guard would unlock it for the child too (same open file).
            std::mem::forget(lock);
            std::process::exit(0);
        }
        Ok(sys::Forked::Child) => {
            // Held until this process exits (it never returns from `child`).
            child(&state_dir, cfg, listener, report, &lock)
        }
        Err(e) => fail_early(&e.to_string()),
    }
}

fn fail_early(msg: &str) -> ! {
    print_reply(&SpawnReply {
        pid: None,
        shim_pid: None,
        error: Some(WireError {
            message: msg.to_string(),
            kind: ErrorKind::Internal.into(),
        }),
    });
    std::process::exit(1)
}

fn print_reply(reply: &SpawnReply) {
    write_reply(&mut std::io::stdout().lock(), reply);
}

/// Writes the spawn reply as one JSON line, in one write (the daemon reads up to the newline).
fn write_reply(out: &mut impl Write, reply: &SpawnReply) {
    if let Ok(mut line) = serde_json::to_vec(reply) {
        line.push(b'\n');
        let _ = out.write_all(&line);
        let _ = out.flush();
    }
}

fn prepare_config(state_dir: &Path) -> Result<ShimConfig, WireError> {
    let bad = |m: String| WireError {
        message: m,
        kind: ErrorKind::InvalidArgument.into(),
    };
    let cfg_path = state_dir.join(shim::CONFIG_FILE);
    let data =
        std::fs::read(&cfg_path).map_err(|e| bad(format!("read {}: {e}", cfg_path.display())))?;
    serde_json::from_slice(&data).map_err(|e| bad(format!("parse {}: {e}", cfg_path.display())))
}

/// Takes the state dir's lock (a previous shim may still be cleaning up), reads the config and
/// binds the control socket, before forking, so that errors reach the daemon directly and the
/// socket exists as soon as the spawn reply says so.
fn prepare(state_dir: &Path) -> Result<(UnixListener, ShimConfig, StateLock), WireError> {
    let bad = |m: String| WireError {
        message: m,
        kind: ErrorKind::InvalidArgument.into(),
    };
    let cfg = prepare_config(state_dir)?;
    let lock = shim::lock::acquire(state_dir, std::time::Duration::from_secs(10)).map_err(|e| {
        WireError {
            message: format!("a shim is still running for container {}: {e}", cfg.id),
            kind: ErrorKind::Conflict.into(),
        }
    })?;
    let (sock, _dir) = sys::socket_path(state_dir, shim::SOCKET_FILE)
        .map_err(|e| bad(format!("open {}: {e}", state_dir.display())))?;
    if std::os::unix::net::UnixStream::connect(&sock).is_ok() {
        return Err(WireError {
            message: format!("a shim is already running for container {}", cfg.id),
            kind: ErrorKind::Conflict.into(),
        });
    }
    clear_previous_run(state_dir, &cfg);
    let listener =
        UnixListener::bind(&sock).map_err(|e| bad(format!("bind {}: {e}", sock.display())))?;
    Ok((listener, cfg, lock))
}

/// The guard of the state dir's lock (`shim.pid`).
type StateLock = shim::lock::Guard;

/// A restarted container reuses its state dir: drop the previous run's socket and exit record,
/// and the runtime state (and cgroup, and any process left in it) of a shim that was killed
/// before it could clean up.
fn clear_previous_run(state_dir: &Path, cfg: &ShimConfig) {
    let _ = std::fs::remove_file(state_dir.join(shim::SOCKET_FILE));
    let _ = std::fs::remove_file(state_dir.join(shim::EXIT_FILE));
    // The runtime's root is the state dir; shims of earlier versions used a subdirectory.
    let legacy = state_dir.join(shim::LEGACY_RUNTIME_ROOT_DIR);
    for root in [state_dir, legacy.as_path()] {
        if root.join(&cfg.id).exists() {
            if let Err(e) = delete_container(cfg, root) {
                eprintln!("berth-shim: clearing the previous run: {e}");
            }
            let _ = std::fs::remove_dir_all(root.join(&cfg.id));
        }
    }
    let _ = std::fs::remove_dir_all(&legacy);
}

/// Removes the runtime's state of the container (and its cgroup), with the runtime that
/// created it.
pub(crate) fn delete_container(cfg: &ShimConfig, root: &Path) -> Result<(), launcher::LaunchError> {
    match &cfg.runtime {
        Some(rt) => launcher::oci::delete(rt, &cfg.id, root),
        None => launcher::delete(&cfg.id, root),
    }
}

/// Lets the created container run its command, with the runtime that created it.
pub(crate) fn start_container(cfg: &ShimConfig, root: &Path) -> Result<(), launcher::LaunchError> {
    match &cfg.runtime {
        Some(rt) => launcher::oci::start(rt, &cfg.id, root),
        None => launcher::start(&cfg.id, root),
    }
}

/// The long-lived shim: detach, create the container, report, serve.
fn child(
    state_dir: &Path,
    cfg: ShimConfig,
    listener: UnixListener,
    report: OwnedFd,
    lock: &StateLock,
) -> ! {
    let _ = sys::new_session();
    if cfg.runtime.is_some() {
        // An external runtime exits once the container exists: its init (and each exec)
        // must then become this process's child, for the shim to reap it.
        if let Err(e) = sys::set_child_subreaper() {
            eprintln!("berth-shim: {e}");
        }
    }
    redirect_stdio(state_dir);
    if let Err(e) = shim::lock::record_pid(lock, std::process::id()) {
        eprintln!("berth-shim: recording the pid: {e}");
    }
    let mut report = std::fs::File::from(report);
    match server::Shim::create(state_dir, cfg, listener) {
        Ok(shim) => {
            let reply = SpawnReply {
                pid: Some(shim.pid()),
                shim_pid: Some(std::process::id() as i32),
                error: None,
            };
            write_reply(&mut report, &reply);
            drop(report);
            shim.run()
        }
        Err(e) => {
            eprintln!("berth-shim: {}", e.message);
            let _ = std::fs::remove_file(state_dir.join(shim::SOCKET_FILE));
            write_reply(
                &mut report,
                &SpawnReply {
                    pid: None,
                    shim_pid: None,
                    error: Some(e),
                },
            );
            std::process::exit(1)
        }
    }
}

/// Points 0 and 1 at /dev/null and 2 at `shim.log`, so that nothing of the daemon's pipes or
/// terminal is held but the spawn reply's copy.
fn redirect_stdio(state_dir: &Path) {
    if let Ok(null) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        let _ = sys::dup_onto(null.as_fd(), 0);
        let _ = sys::dup_onto(null.as_fd(), 1);
    }
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(state_dir.join(shim::LOG_FILE));
    if let Ok(log) = log {
        let _ = sys::dup_onto(log.as_fd(), 2);
    }
}

/// The container side and the shim side of the container's stdio.
pub(crate) struct StdioPlan {
    pub launch: Stdio,
    /// Shim's write end of the container's stdin (pipes with `-i`).
    pub stdin: Option<OwnedFd>,
    /// Shim's read ends of stdout and stderr (pipes).
    pub stdout: Option<OwnedFd>,
    pub stderr: Option<OwnedFd>,
    /// The console socket to accept the pty master on (TTY).
    pub console: Option<UnixListener>,
}

pub(crate) fn plan_stdio(state_dir: &Path, cfg: &ShimConfig) -> Result<StdioPlan, String> {
    if cfg.tty {
        let path = state_dir.join(shim::CONSOLE_SOCKET_FILE);
        let _ = std::fs::remove_file(&path);
        // libcontainer connects through a relative symlink, so only the bind needs a short path.
        let (short, _dir) = sys::socket_path(state_dir, shim::CONSOLE_SOCKET_FILE)
            .map_err(|e| format!("open {}: {e}", state_dir.display()))?;
        let console =
            UnixListener::bind(&short).map_err(|e| format!("bind {}: {e}", path.display()))?;
        return Ok(StdioPlan {
            launch: Stdio::Console { socket: path },
            stdin: None,
            stdout: None,
            stderr: None,
            console: Some(console),
        });
    }
    let (stdin_r, stdin_w) = if cfg.open_stdin {
        let (r, w) = sys::pipe().map_err(|e| e.to_string())?;
        (r, Some(w))
    } else {
        let null = std::fs::File::open("/dev/null").map_err(|e| format!("open /dev/null: {e}"))?;
        (OwnedFd::from(null), None)
    };
    let (out_r, out_w) = sys::pipe().map_err(|e| e.to_string())?;
    let (err_r, err_w) = sys::pipe().map_err(|e| e.to_string())?;
    Ok(StdioPlan {
        launch: Stdio::Pipes {
            stdin: stdin_r,
            stdout: out_w,
            stderr: err_w,
        },
        stdin: stdin_w,
        stdout: Some(out_r),
        stderr: Some(err_r),
        console: None,
    })
}

pub(crate) fn create_container(
    state_dir: &Path,
    cfg: &ShimConfig,
    launch: Stdio,
) -> Result<launcher::Launched, WireError> {
    // The state dir is the runtime's root, and the init's spec copy goes there too.
    let root = state_dir;
    // The runtime starts the init now: it must inherit the default SIGPIPE disposition.
    let _ = sys::set_sigpipe_ignored(false);
    let res = match &cfg.runtime {
        Some(rt) => launcher::oci::create(rt, &cfg.id, &cfg.bundle, root, launch),
        None => launcher::create(
            &cfg.id,
            &cfg.bundle,
            root,
            state_dir,
            launch,
            cfg.seccomp_cache.as_deref(),
        ),
    };
    let _ = sys::set_sigpipe_ignored(true);
    res.map_err(|e| {
        // A failed create may leave libcontainer's state dir and the cgroup behind.
        let _ = std::fs::remove_dir_all(root.join(&cfg.id));
        let _ = runtime::cgroup::remove(&cfg.cgroups_path);
        WireError {
            message: e.to_string(),
            kind: e.kind().into(),
        }
    })
}
