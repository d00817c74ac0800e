//! Creates, starts and deletes a container with youki's `libcontainer` (feature `launcher`).
//!
//! An external OCI runtime binary (`runc`, `crun`) is driven by [`oci`] instead, with the same
//! stdio types and errors.
//!
//! Only `berth-shim` calls this, from its single thread: libcontainer forks with raw `clone3`
//! and runs Rust code in the child, which is safe only in a single-threaded process, and the
//! container's init becomes the caller's child (CLONE_PARENT), which the shim reaps by pid.
//!
//! Errors that dockerd reports with fixed wording keep it, because the docker CLI maps them to
//! exit codes: `exec: "foo": executable file not found in $PATH` (127), `permission denied`
//! (126), `is a directory` (126).

mod bpf;
mod exec;
mod init_filter;
pub mod oci;

pub use exec::{exec, ExecError, ExecLaunch, SeccompCache};

use std::os::fd::OwnedFd;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use libcontainer::container::builder::ContainerBuilder;
use libcontainer::container::Container;
use libcontainer::syscall::syscall::SyscallType;
use libcontainer::workload::{Executor, ExecutorError, ExecutorValidationError};
use oci_spec::runtime::Spec;

use crate::ErrorKind;

/// How the container's stdio is connected.
pub enum Stdio {
    /// Pipes (or `/dev/null`) for fds 0, 1 and 2.
    Pipes {
        /// The container's stdin (read end).
        stdin: OwnedFd,
        /// The container's stdout (write end).
        stdout: OwnedFd,
        /// The container's stderr (write end).
        stderr: OwnedFd,
    },
    /// A pseudo-terminal: libcontainer sends the pty master over this listening unix socket
    /// (runc's console-socket protocol) during [`create`].
    Console {
        /// Path of a socket the caller is already listening on.
        socket: PathBuf,
    },
}

/// Why a launch step failed.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// Creating the container failed (this includes a missing or non-executable command).
    #[error("failed to create container {id}: {message}")]
    Create { id: String, message: String },
    /// Starting a created container failed.
    #[error("failed to start container {id}: {message}")]
    Start { id: String, message: String },
    /// Deleting the container's runtime state and cgroup failed.
    #[error("failed to delete container {id}: {message}")]
    Delete { id: String, message: String },
}

impl LaunchError {
    /// The error's kind: command problems are the caller's, the rest internal.
    pub fn kind(&self) -> ErrorKind {
        let msg = match self {
            LaunchError::Create { message, .. } | LaunchError::Start { message, .. } => message,
            LaunchError::Delete { .. } => return ErrorKind::Internal,
        };
        if msg.contains("exec: \"") {
            ErrorKind::InvalidArgument
        } else {
            ErrorKind::Internal
        }
    }
}

/// Joins an error and its sources into one line, so wording deep in the chain reaches dockerd.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(src) = cur {
        let m = src.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = src.source();
    }
    s
}

/// libcontainer's builder for container `id` under `root`, running `executor`, with `stdio`
/// wired as pipes or through a console socket.
fn builder(
    id: &str,
    root: &Path,
    executor: impl Executor + 'static,
    stdio: Stdio,
) -> Result<ContainerBuilder, libcontainer::error::LibcontainerError> {
    let builder = ContainerBuilder::new(id.to_string(), SyscallType::default())
        .with_executor(executor)
        .with_root_path(root)?;
    Ok(match stdio {
        Stdio::Pipes {
            stdin,
            stdout,
            stderr,
        } => builder
            .with_stdin(stdin)
            .with_stdout(stdout)
            .with_stderr(stderr),
        Stdio::Console { socket } => builder.with_console_socket(Some(socket)),
    })
}

/// A created container, as returned by [`create`].
pub struct Launched {
    pid: i32,
}

/// Creates the container of `bundle` (its `config.json`) with state under `root`: the init
/// process exists, in its namespaces and cgroup, waiting to be started. With `seccomp_cache`,
/// the init's seccomp filter comes compiled from that directory (see [`init_filter`]), and the
/// spec the init is created from is written as `scratch/config.json` (a directory of this
/// container's own, not `bundle`: `scratch` may be `root`).
pub fn create(
    id: &str,
    bundle: &Path,
    root: &Path,
    scratch: &Path,
    stdio: Stdio,
    seccomp_cache: Option<&Path>,
) -> Result<Launched, LaunchError> {
    let err = |e: &dyn std::error::Error| {
        let mut message = chain(e);
        // libcontainer appends its own cleanup failure to the real error; the shim cleans up
        // after it, and the user needs the cause (`exec: "x": …`), as runc reports it.
        if let Some(i) = message.find(". error during cleanup:") {
            eprintln!("berth-shim: libcontainer{}", &message[i + 1..]);
            message.truncate(i);
        }
        LaunchError::Create {
            id: id.to_string(),
            message,
        }
    };
    std::fs::create_dir_all(root).map_err(|e| err(&e))?;
    let filter = match seccomp_cache {
        Some(cache) => init_filter::prepare(bundle, scratch, cache).unwrap_or_else(|e| {
            // libcontainer compiles the profile itself, as without a cache.
            eprintln!("berth-shim: precompiled seccomp filter: {e}");
            None
        }),
        None => None,
    };
    let (bundle, executor) = match filter {
        Some(f) => (f.bundle, exec::ExecExecutor::filtered(f.bpf, f.caps)),
        None => (bundle.to_owned(), exec::ExecExecutor::plain()),
    };
    let bundle = bundle.as_path();
    let builder = builder(id, root, executor, stdio).map_err(|e| err(&e))?;
    let container = builder
        .as_init(bundle)
        .with_systemd(false)
        .with_detach(true)
        .build()
        .map_err(|e| err(&e))?;
    let pid = container
        .pid()
        .map(|p| p.as_raw())
        .ok_or_else(|| LaunchError::Create {
            id: id.to_string(),
            message: "container has no init pid after create".into(),
        })?;
    Ok(Launched { pid })
}

impl Launched {
    /// The container's init pid (in the host's pid namespace); a child of the caller.
    pub fn pid(&self) -> i32 {
        self.pid
    }
}

/// Loads container `id`'s state from `root` (so this works in a process other than the one
/// that created it, e.g. after the shim re-exec'd itself).
fn load(id: &str, root: &Path) -> Result<Container, String> {
    Container::load(root.join(id)).map_err(|e| chain(&e))
}

/// Lets the created container's init exec its command.
pub fn start(id: &str, root: &Path) -> Result<(), LaunchError> {
    let fail = |message| LaunchError::Start {
        id: id.to_string(),
        message,
    };
    let mut c = load(id, root).map_err(fail)?;
    c.start().map_err(|e| fail(chain(&e)))
}

/// Removes the runtime state and the cgroup, killing whatever is left in it.
pub fn delete(id: &str, root: &Path) -> Result<(), LaunchError> {
    let fail = |message| LaunchError::Delete {
        id: id.to_string(),
        message,
    };
    let mut c = load(id, root).map_err(fail)?;
    c.delete(true).map_err(|e| fail(chain(&e)))
}

/// Removes what [`create`] left of a container whose init has exited and been reaped: whatever
/// is still in its cgroup (processes of a container sharing the host's pid namespace) is
/// killed, the cgroup and the runtime state are removed.
///
/// This is [`delete`] without its detour: libcontainer re-reads the state, builds a cgroup
/// manager (on cgroup v1 that reads mountinfo once per controller) and looks for hooks, which
/// berth's specs never have.
pub fn delete_exited(id: &str, root: &Path, cgroups_path: &str) -> Result<(), LaunchError> {
    let fail = |e: std::io::Error| LaunchError::Delete {
        id: id.to_string(),
        message: e.to_string(),
    };
    crate::cgroup::kill_all(cgroups_path, std::time::Duration::from_secs(10)).map_err(fail)?;
    crate::cgroup::remove(cgroups_path).map_err(fail)?;
    match std::fs::remove_dir_all(root.join(id)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(fail(e)),
        _ => Ok(()),
    }
}

/// Runs the container's command like runc does, with runc's error wording.
#[derive(Clone)]
struct BerthExecutor;

impl BerthExecutor {
    fn args(spec: &Spec) -> Result<&Vec<String>, String> {
        spec.process()
            .as_ref()
            .and_then(|p| p.args().as_ref())
            .filter(|a| !a.is_empty())
            .ok_or_else(|| "no command specified".to_string())
    }

    /// Resolves the command inside the container (this runs after pivot_root) as Go's
    /// `exec.LookPath` does.
    fn resolve(spec: &Spec) -> Result<PathBuf, String> {
        let args = Self::args(spec)?;
        let cmd = &args[0];
        let check = |p: &Path| -> Result<(), String> {
            let meta = std::fs::metadata(p).map_err(|e| {
                format!(
                    "exec: {cmd:?}: stat {}: {}",
                    p.display(),
                    crate::sys::errno_text(&e)
                )
            })?;
            if meta.is_dir() {
                return Err(format!("exec: {cmd:?}: is a directory"));
            }
            if meta.permissions().mode() & 0o111 == 0
                || nix::unistd::access(p, nix::unistd::AccessFlags::X_OK).is_err()
            {
                return Err(format!("exec: {cmd:?}: permission denied"));
            }
            Ok(())
        };
        if cmd.contains('/') {
            check(Path::new(cmd))?;
            return Ok(PathBuf::from(cmd));
        }
        let env = spec
            .process()
            .as_ref()
            .and_then(|p| p.env().clone())
            .unwrap_or_default();
        let path_var = env
            .iter()
            .find_map(|e| e.strip_prefix("PATH="))
            .unwrap_or(crate::spec::DEFAULT_PATH);
        for dir in path_var.split(':') {
            let dir = if dir.is_empty() { "." } else { dir };
            let candidate = Path::new(dir).join(cmd);
            if check(&candidate).is_ok() {
                return Ok(candidate);
            }
        }
        Err(format!("exec: {cmd:?}: executable file not found in $PATH"))
    }
}

impl Executor for BerthExecutor {
    fn validate(&self, spec: &Spec) -> Result<(), ExecutorValidationError> {
        Self::resolve(spec)
            .map(drop)
            .map_err(ExecutorValidationError::ArgValidationError)
    }

    fn exec(&self, spec: &Spec) -> Result<(), ExecutorError> {
        let path = Self::resolve(spec).map_err(ExecutorError::Other)?;
        let to_c = |s: &str| std::ffi::CString::new(s).map_err(|_| ExecutorError::InvalidArg);
        let args = Self::args(spec).map_err(ExecutorError::Other)?;
        let argv = args
            .iter()
            .map(|a| to_c(a))
            .collect::<Result<Vec<_>, _>>()?;
        let path = to_c(&path.to_string_lossy())?;
        // The environment was installed by `setup_envs` just before; execv keeps it.
        let e = nix::unistd::execv(&path, &argv).unwrap_err();
        Err(ExecutorError::Other(format!(
            "exec: {:?}: {}",
            args[0],
            e.desc().to_lowercase()
        )))
    }
}
