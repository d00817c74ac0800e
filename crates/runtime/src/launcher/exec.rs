//! Runs an exec — a second process in a running container — with libcontainer's tenant
//! builder: it joins the init's namespaces and cgroup, takes the process's user, groups,
//! capabilities, rlimits, cwd, env and terminal from a `process.json` (runc's `exec
//! --process`), and becomes the caller's child, like the init.
//!
//! Two things libcontainer 0.7's tenant path leaves out are done by [`ExecExecutor`], in the
//! new process just before it execs:
//! - **seccomp**: the tenant spec keeps only the namespaces and cgroup of the container's
//!   `linux` section, so the container's filter would be lost; dockerd's execs run under it.
//!   The filter is compiled once per container ([`SeccompCache`], see [`super::bpf`]) and
//!   loaded by each exec. Without no-new-privileges, installing a filter needs
//!   `CAP_SYS_ADMIN`, which the process
//!   may not keep: it then runs with `CAP_SYS_ADMIN` and `CAP_SETPCAP` added until the filter
//!   is installed, and drops to its real capability sets right after (the order runc uses:
//!   seccomp first, then the final capabilities, then exec).
//! - the initial **terminal size**, which libcontainer does not apply from `consoleSize`.

use std::path::Path;

use libcontainer::workload::{Executor, ExecutorError, ExecutorValidationError};
use oci_spec::runtime::{Capability, LinuxCapabilities, LinuxSeccomp, Process, Spec};

use super::bpf::{self, Bpf};
use super::{chain, BerthExecutor, Stdio};
use crate::{sys, ErrorKind};

/// Why an exec could not be started.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The process could not be started; `message` is the cause in runc's wording where the
    /// docker CLI depends on it (`exec: "x": executable file not found in $PATH`).
    #[error("{message}")]
    Start { id: String, message: String },
    /// The process given is not an OCI process.
    #[error("exec in container {id}: invalid process: {source}")]
    Process {
        id: String,
        #[source]
        source: serde_json::Error,
    },
    /// The scratch `process.json` could not be written.
    #[error("exec in container {id}: write {path}: {source}")]
    ProcessFile {
        id: String,
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl ExecError {
    /// Command problems are the caller's, the rest internal.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ExecError::Start { message, .. }
                if message.contains("exec: \"") || message.starts_with("chdir to cwd") =>
            {
                ErrorKind::InvalidArgument
            }
            ExecError::Process { .. } => ErrorKind::InvalidArgument,
            _ => ErrorKind::Internal,
        }
    }
}

/// What to run and where.
pub struct ExecLaunch<'a> {
    /// The container id.
    pub id: &'a str,
    /// libcontainer's state root (the one the container was created under).
    pub root: &'a Path,
    /// The container's bundle (its `config.json` holds the seccomp profile).
    pub bundle: &'a Path,
    /// The container's init pid (its root tells why a working directory is unusable).
    pub init_pid: i32,
    /// The exec's OCI process (see `spec::exec::process`).
    pub process: serde_json::Value,
    /// A scratch path for the `process.json` libcontainer reads; removed afterwards.
    pub process_file: &'a Path,
    /// The process's stdio.
    pub stdio: Stdio,
    /// The container's filter, compiled on the first exec and kept for the next ones.
    pub seccomp: &'a mut SeccompCache,
}

/// The container's seccomp filter as its execs load it, read from the bundle (and compiled)
/// once.
#[derive(Debug, Default)]
pub struct SeccompCache(Option<ExecSeccomp>);

#[derive(Debug, Clone)]
enum ExecSeccomp {
    /// The container runs without a filter (`--privileged`, `seccomp=unconfined`).
    None,
    /// The compiled program.
    Bpf(Bpf),
    /// A profile that could not be precompiled: libcontainer compiles it in each exec.
    Profile(LinuxSeccomp),
}

impl SeccompCache {
    fn get(&mut self, bundle: &Path) -> Result<ExecSeccomp, String> {
        if let Some(s) = &self.0 {
            return Ok(s.clone());
        }
        let s = match container_seccomp(bundle)? {
            None => ExecSeccomp::None,
            Some(profile) => match bpf::compile_in_child(&profile) {
                Ok(b) => ExecSeccomp::Bpf(b),
                Err(_) => ExecSeccomp::Profile(profile),
            },
        };
        self.0 = Some(s.clone());
        Ok(s)
    }
}

/// Starts the exec and returns its pid (host namespace; a child of the caller) once it runs
/// its command. Must be called from a single-threaded process, like [`super::create`].
pub fn exec(l: ExecLaunch<'_>) -> Result<i32, ExecError> {
    let fail = |message: String| ExecError::Start {
        id: l.id.to_string(),
        message,
    };
    let mut process: Process =
        serde_json::from_value(l.process).map_err(|e| ExecError::Process {
            id: l.id.to_string(),
            source: e,
        })?;
    let seccomp = l.seccomp.get(l.bundle).map_err(&fail)?;
    let console_size = process
        .console_size()
        .filter(|_| process.terminal() == Some(true))
        .map(|b| (b.height() as u16, b.width() as u16));
    let filtered = !matches!(seccomp, ExecSeccomp::None);
    let final_caps = raise_for_seccomp(&mut process, filtered);
    let cwd = process.cwd().clone();
    let data = serde_json::to_vec(&process).map_err(|e| fail(e.to_string()))?;
    std::fs::write(l.process_file, data).map_err(|source| ExecError::ProcessFile {
        id: l.id.to_string(),
        path: l.process_file.to_owned(),
        source,
    })?;
    let executor = ExecExecutor {
        seccomp,
        caps: final_caps,
        console_size,
    };
    let res = build(l.id, l.root, l.process_file, l.stdio, executor);
    let _ = std::fs::remove_file(l.process_file);
    remove_tenant_sockets(&l.root.join(l.id));
    res.map_err(|m| match m.contains("exec: \"") {
        true => fail(runc_cause(&m)),
        // libcontainer reports a failed chdir without its errno: look at the directory.
        false => fail(cwd_error(l.init_pid, &cwd).unwrap_or_else(|| runc_cause(&m))),
    })
}

/// runc's message for a working directory the exec cannot enter, looked up in the
/// container's root (`/proc/<init>/root`, resolved as if it were `/`).
fn cwd_error(init_pid: i32, cwd: &Path) -> Option<String> {
    let root_path = std::path::PathBuf::from(format!("/proc/{init_pid}/root"));
    let root = std::fs::File::open(&root_path).ok()?;
    use std::os::fd::AsFd;
    match sys::open_in_root(
        root.as_fd(),
        &root_path,
        cwd,
        libc::O_PATH | libc::O_DIRECTORY,
    ) {
        Ok(_) => None,
        Err(sys::SysError::OpenInRoot { source, .. }) => Some(format!(
            "chdir to cwd ({:?}) set in config.json failed: {}",
            cwd.display().to_string(),
            sys::errno_text(&std::io::Error::from(source))
        )),
        Err(_) => None,
    }
}

fn build(
    id: &str,
    root: &Path,
    process_file: &Path,
    stdio: Stdio,
    executor: ExecExecutor,
) -> Result<i32, String> {
    let err = |e: &dyn std::error::Error| {
        let mut m = chain(e);
        if let Some(i) = m.find(". error during cleanup:") {
            m.truncate(i);
        }
        m
    };
    let builder = super::builder(id, root, executor, stdio).map_err(|e| err(&e))?;
    let pid = builder
        .as_tenant()
        .with_process(Some(process_file))
        .with_detach(true)
        .build()
        .map_err(|e| err(&e))?;
    Ok(pid.as_raw())
}

/// The cause as runc words it, without libcontainer's layers around it: the executor's
/// `exec: "x": …`, or a failed `chdir` as runc reports it.
fn runc_cause(message: &str) -> String {
    if let Some(i) = message.find("exec: \"") {
        return message[i..].to_string();
    }
    message.to_string()
}

/// The container's seccomp profile, from its bundle.
fn container_seccomp(bundle: &Path) -> Result<Option<LinuxSeccomp>, String> {
    #[derive(serde::Deserialize)]
    struct Linux {
        seccomp: Option<LinuxSeccomp>,
    }
    #[derive(serde::Deserialize)]
    struct OnlyLinux {
        linux: Option<Linux>,
    }
    let path = bundle.join("config.json");
    let data = std::fs::read(&path).map_err(|e| format!("read {}: {e}", path.display()))?;
    let spec: OnlyLinux =
        serde_json::from_slice(&data).map_err(|e| format!("parse {}: {e}", path.display()))?;
    Ok(spec.linux.and_then(|l| l.seccomp))
}

/// Adds `CAP_SYS_ADMIN` and `CAP_SETPCAP` to the process when a seccomp filter must be
/// installed without no-new-privileges and the process would not hold them; returns the
/// capability sets to drop to afterwards.
pub(super) fn raise_for_seccomp(process: &mut Process, seccomp: bool) -> Option<LinuxCapabilities> {
    let nnp = process.no_new_privileges() == Some(true);
    let caps = process.capabilities().clone()?;
    let has = |set: &Option<oci_spec::runtime::Capabilities>, c| {
        set.as_ref().is_some_and(|s| s.contains(&c))
    };
    if !seccomp
        || nnp
        || (has(caps.effective(), Capability::SysAdmin)
            && has(caps.effective(), Capability::Setpcap))
    {
        return None;
    }
    let mut raised = caps.clone();
    let extra = [Capability::SysAdmin, Capability::Setpcap];
    let add = |set: &Option<oci_spec::runtime::Capabilities>| {
        let mut s = set.clone().unwrap_or_default();
        s.extend(extra);
        Some(s)
    };
    raised
        .set_bounding(add(caps.bounding()))
        .set_effective(add(caps.effective()))
        .set_permitted(add(caps.permitted()));
    process.set_capabilities(Some(raised));
    Some(caps)
}

/// libcontainer leaves a tenant's notify socket and console-socket link in the container's
/// state dir; nothing uses them once the process runs.
fn remove_tenant_sockets(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_name().to_string_lossy().starts_with("tenant-") {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// [`BerthExecutor`] plus what the tenant path leaves out (see the module doc); also the
/// init's executor when its filter is precompiled (`super::init_filter`).
#[derive(Clone)]
pub(super) struct ExecExecutor {
    seccomp: ExecSeccomp,
    /// The capability sets to drop to once the filter is installed (when raised for it).
    caps: Option<LinuxCapabilities>,
    /// `(height, width)` of the terminal on fd 0.
    console_size: Option<(u16, u16)>,
}

impl ExecExecutor {
    /// Loads `bpf` (then drops to `caps`, when raised for it) before exec.
    pub(super) fn filtered(bpf: Bpf, caps: Option<LinuxCapabilities>) -> ExecExecutor {
        ExecExecutor {
            seccomp: ExecSeccomp::Bpf(bpf),
            caps,
            console_size: None,
        }
    }

    /// Just [`BerthExecutor`].
    pub(super) fn plain() -> ExecExecutor {
        ExecExecutor {
            seccomp: ExecSeccomp::None,
            caps: None,
            console_size: None,
        }
    }
}

impl Executor for ExecExecutor {
    fn validate(&self, spec: &Spec) -> Result<(), ExecutorValidationError> {
        BerthExecutor.validate(spec)
    }

    fn exec(&self, spec: &Spec) -> Result<(), ExecutorError> {
        if let Some((height, width)) = self.console_size {
            let _ = sys::set_winsize(sys::stdio_fd(0), width, height);
        }
        match &self.seccomp {
            ExecSeccomp::None => {}
            ExecSeccomp::Bpf(b) => sys::load_seccomp_filter(&b.program, b.flags)
                .map_err(|e| ExecutorError::Other(format!("seccomp: {e}")))?,
            ExecSeccomp::Profile(p) => {
                libcontainer::seccomp::initialize_seccomp(p)
                    .map_err(|e| ExecutorError::Other(format!("seccomp: {e}")))?;
            }
        }
        if let Some(caps) = &self.caps {
            let syscall = libcontainer::syscall::syscall::create_syscall();
            libcontainer::capabilities::drop_privileges(caps, syscall.as_ref())
                .map_err(|e| ExecutorError::Other(format!("drop capabilities: {e}")))?;
        }
        BerthExecutor.exec(spec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn process(nnp: bool, effective: &[Capability]) -> Process {
        let set: oci_spec::runtime::Capabilities = effective.iter().copied().collect();
        let mut caps = LinuxCapabilities::default();
        caps.set_bounding(Some(set.clone()))
            .set_effective(Some(set.clone()))
            .set_permitted(Some(set))
            .set_inheritable(None)
            .set_ambient(None);
        let mut p = Process::default();
        p.set_capabilities(Some(caps));
        p.set_no_new_privileges(Some(nnp));
        p
    }

    #[test]
    fn capabilities_are_raised_only_to_install_seccomp() {
        let mut p = process(false, &[Capability::Chown]);
        let back = raise_for_seccomp(&mut p, true).expect("raised");
        assert_eq!(
            back.effective().as_ref().unwrap(),
            &[Capability::Chown].into_iter().collect()
        );
        let raised = p.capabilities().as_ref().unwrap();
        for set in [raised.bounding(), raised.effective(), raised.permitted()] {
            let set = set.as_ref().unwrap();
            assert!(set.contains(&Capability::SysAdmin) && set.contains(&Capability::Setpcap));
            assert!(set.contains(&Capability::Chown));
        }
        // No filter, no-new-privileges, or already held: nothing to raise.
        assert!(raise_for_seccomp(&mut process(false, &[Capability::Chown]), false).is_none());
        assert!(raise_for_seccomp(&mut process(true, &[Capability::Chown]), true).is_none());
        let all = [Capability::SysAdmin, Capability::Setpcap];
        assert!(raise_for_seccomp(&mut process(false, &all), true).is_none());
    }

    #[test]
    fn runc_cause_keeps_the_exec_error() {
        assert_eq!(
            runc_cause(
                "failed to build: init failed: exec: \"nope\": executable file not found in $PATH"
            ),
            "exec: \"nope\": executable file not found in $PATH"
        );
        assert_eq!(runc_cause("other"), "other");
    }
}
