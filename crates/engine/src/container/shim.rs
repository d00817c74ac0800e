//! The engine's side of a container's shim: building the OCI spec from a record, spawning the
//! shim, and mapping its errors to dockerd's (exit codes 126/127 for commands that cannot run).

use std::path::{Path, PathBuf};

use runtime::shim::{ConsoleSize, ShimConfig, ShimHandle, SpawnOptions};
use runtime::spec::{self, BindMount, ContainerSpec, Resources, Ulimit};

use super::namespaces::Joins;
use super::record::{ContainerRecord, Paths};
use super::state::Exit;
use crate::error::{Error, ErrorKind, Result};
use crate::{clock, EngineConfig};

/// dockerd's `setExitCodeFromError`: the exit code a failed start records, and the message
/// the docker CLI maps to its own exit code (126 for EACCES/EISDIR, 127 for not found).
pub fn start_failure(message: &str) -> Error {
    let (message, exit_code) = classify_start_error(message);
    Error::StartFailed {
        message: format!("failed to create task for container: {message}"),
        exit_code,
    }
}

/// The message dockerd reports for a command that could not start, and the exit code it
/// records (126 cannot be invoked, 127 not found, 128 otherwise).
pub(crate) fn classify_start_error(message: &str) -> (String, i64) {
    let lower = message.to_ascii_lowercase();
    let (message, exit_code) = if lower.contains("permission denied") {
        (message.to_string(), 126)
    } else if lower.contains("is a directory") {
        (format!("{message}: permission denied"), 126)
    } else if lower.contains("not a directory") {
        (
            format!("{message}: Are you trying to mount a directory onto a file (or vice-versa)? Check if the specified host path exists and is the expected type"),
            127,
        )
    } else if lower.contains("executable file not found")
        || lower.contains("no such file or directory")
    {
        (message.to_string(), 127)
    } else {
        (message.to_string(), 128)
    };
    (message, exit_code)
}

/// A running container's shim.
pub(crate) struct Shim {
    handle: ShimHandle,
}

impl Shim {
    /// Starts the created container; returns its init pid.
    pub async fn start(&self) -> Result<i64> {
        match self.handle.start().await {
            Ok(()) => Ok(self.handle.pid() as i64),
            Err(runtime::shim::ShimError::Shim { message, .. }) => Err(start_failure(&message)),
            Err(e) => Err(Error::Shim(e)),
        }
    }

    /// An attach stream in Docker's wire format.
    pub async fn attach(
        &self,
        stdin: bool,
        stdout: bool,
        stderr: bool,
    ) -> Result<tokio::net::UnixStream> {
        self.handle
            .attach(stdin, stdout, stderr)
            .await
            .map_err(Error::Shim)
    }

    /// The runtime's handle on the shim.
    pub(crate) fn handle(&self) -> &ShimHandle {
        &self.handle
    }

    /// Sets the TTY size.
    pub async fn resize(&self, height: u16, width: u16) -> Result<()> {
        self.handle.resize(width, height).await.map_err(Error::Shim)
    }

    /// Signals the container's init.
    pub async fn kill(&self, signal: i32) -> Result<()> {
        self.handle.kill(signal).await.map_err(|e| match e.kind() {
            ErrorKind::Conflict | ErrorKind::NotFound => Error::KillRefused(e),
            _ => Error::Shim(e),
        })
    }

    /// Waits for the exit. A broken connection to a shim that still holds its lock is retried
    /// (the shim lives, so does its container); a shim that is gone without an exit record is
    /// [`Waited::Lost`]: its container's processes may still run, nobody's children now.
    pub async fn wait(&self) -> Waited {
        let mut retries = 0;
        loop {
            let err = match self.handle.wait().await {
                Ok(rec) => return Waited::Exited(exit_of(&rec)),
                Err(e) => e,
            };
            let dir = self.handle.state_dir().to_path_buf();
            let alive = tokio::task::spawn_blocking(move || {
                !runtime::shim::lock::wait_released(&dir, std::time::Duration::ZERO)
            })
            .await
            .unwrap_or(false);
            if alive && retries < 100 {
                retries += 1;
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
            tracing::warn!(state_dir = %self.handle.state_dir().display(), error = %err, "shim lost");
            return Waited::Lost;
        }
    }
}

/// How waiting for a shim ended.
pub(crate) enum Waited {
    /// The shim reported the container's exit.
    Exited(Exit),
    /// The shim died without an exit record (killed, crashed).
    Lost,
}

fn exit_of(rec: &runtime::shim::ExitRecord) -> Exit {
    Exit {
        code: rec.exit_code as i64,
        oom_killed: rec.oom_killed,
        at: clock::parse_rfc3339(&rec.exited_at)
            .filter(|t| *t != 0)
            .unwrap_or_else(clock::now_nanos),
    }
}

/// How long killing a container's leftover processes may take.
const REAP_LIMIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Kills whatever still runs in the container's cgroup and removes the cgroup: what a shim
/// would have done had it lived. Returns whether any process had to be killed.
pub(crate) async fn reap(cfg: &EngineConfig, id: &str) -> Result<bool> {
    let path = cgroups_path(cfg, id);
    let id = id.to_string();
    tokio::task::spawn_blocking(move || {
        // The usual case: the shim removed the cgroup with the container.
        if !runtime::cgroup::exists(&path) {
            return Ok(false);
        }
        let killed = !runtime::cgroup::procs(&path).is_empty();
        runtime::cgroup::kill_all(&path, REAP_LIMIT)
            .map_err(|e| Error::io(format!("container {id}: killing its processes"), e))?;
        if let Err(e) = runtime::cgroup::remove(&path) {
            tracing::warn!(container_id = %id, error = %e, "removing the cgroup");
        }
        if killed {
            tracing::warn!(container_id = %id, "killed the processes of a container whose shim was gone");
        }
        Ok(killed)
    })
    .await
    .map_err(Error::task("reap"))?
}

/// The shim state dir of a container.
pub(crate) fn state_dir(cfg: &EngineConfig, id: &str) -> PathBuf {
    cfg.exec_root.join("shims").join(id)
}

/// The spec's cgroup path of a container.
pub(crate) fn cgroups_path(cfg: &EngineConfig, id: &str) -> String {
    format!("{}/{}", cfg.cgroup_parent.trim_end_matches('/'), id)
}

fn container_spec(
    cfg: &EngineConfig,
    paths: &Paths,
    r: &ContainerRecord,
    netns: Option<&Path>,
    joins: Joins,
    link_env: &[String],
) -> ContainerSpec {
    let hc = &r.host_config;
    let mut args = vec![r.path.clone()];
    args.extend(r.args.iter().cloned());
    let mounts = vec![
        BindMount {
            source: paths.resolv(),
            destination: "/etc/resolv.conf".into(),
            readonly: false,
            ..Default::default()
        },
        BindMount {
            source: paths.hostname(),
            destination: "/etc/hostname".into(),
            readonly: false,
            ..Default::default()
        },
        BindMount {
            source: paths.hosts(),
            destination: "/etc/hosts".into(),
            readonly: false,
            ..Default::default()
        },
    ];
    let mut mounts = mounts;
    let (user_mounts, user_tmpfs) = super::volumes::spec_mounts(&cfg.exec_root, r);
    mounts.extend(user_mounts);
    ContainerSpec {
        id: r.id.clone(),
        rootfs: paths.rootfs(),
        args,
        // Legacy links' variables first: the container's own override them (dockerd).
        env: link_env
            .iter()
            .chain(r.config.env.iter().flatten())
            .cloned()
            .collect(),
        working_dir: r.config.working_dir.clone(),
        user: r.config.user.clone(),
        group_add: hc.group_add.clone().unwrap_or_default(),
        hostname: r.config.hostname.clone(),
        domainname: r.config.domainname.clone(),
        tty: r.config.tty,
        readonly_rootfs: hc.readonly_rootfs,
        privileged: hc.privileged,
        cap_add: hc.cap_add.clone().unwrap_or_default(),
        cap_drop: hc.cap_drop.clone().unwrap_or_default(),
        security_opt: hc.security_opt.clone().unwrap_or_default(),
        init: if hc.init.unwrap_or(false) {
            cfg.init_binary.clone()
        } else {
            None
        },
        cgroups_path: cgroups_path(cfg, &r.id),
        cgroupns_private: super::config::cgroupns_private(hc),
        pid_ns: joins.pid,
        ipc_ns: joins.ipc,
        uts_host: hc.uts_mode == "host",
        shm: joins.shm,
        devices: super::checks::device_mappings(hc),
        device_cgroup_rules: hc.device_cgroup_rules.clone().unwrap_or_default(),
        tmpfs: hc
            .tmpfs
            .iter()
            .flatten()
            .map(|(d, o)| (d.clone(), o.clone()))
            .chain(user_tmpfs)
            .collect(),
        sysctls: hc.sysctls.clone().unwrap_or_default(),
        masked_paths: hc.masked_paths.clone(),
        readonly_paths: hc.readonly_paths.clone(),
        annotations: hc.annotations.clone().unwrap_or_default(),
        resources: Resources {
            memory: hc.memory,
            memory_swap: hc.memory_swap,
            nano_cpus: hc.nano_cpus,
            cpu_shares: hc.cpu_shares,
            pids_limit: hc.pids_limit.unwrap_or(0),
            cpu_period: hc.cpu_period,
            cpu_quota: hc.cpu_quota,
            cpuset_cpus: hc.cpuset_cpus.clone(),
            cpuset_mems: hc.cpuset_mems.clone(),
            memory_reservation: hc.memory_reservation,
            memory_swappiness: hc.memory_swappiness.filter(|s| *s >= 0),
            oom_kill_disable: hc.oom_kill_disable.unwrap_or(false),
            blkio: super::checks::blkio_limits(hc),
        },
        netns: netns.map(Path::to_path_buf),
        mounts,
        shm_size: (hc.shm_size > 0).then_some(hc.shm_size as u64),
        ulimits: hc
            .ulimits
            .iter()
            .flatten()
            .map(|u| Ulimit {
                name: u.name.clone(),
                soft: u.soft.max(0) as u64,
                hard: u.hard.max(0) as u64,
            })
            .collect(),
        oom_score_adj: (hc.oom_score_adj != 0).then_some(hc.oom_score_adj as i32),
    }
}

/// Writes the bundle (the OCI spec) of a container whose rootfs is mounted at `paths.rootfs()`
/// and whose network namespace (if any) will be at `netns` — neither needs to exist yet.
pub(crate) async fn write_bundle(
    cfg: &EngineConfig,
    paths: &Paths,
    r: &ContainerRecord,
    netns: Option<&Path>,
    joins: Joins,
    link_env: &[String],
) -> Result<()> {
    if r.host_config.init.unwrap_or(false) && cfg.init_binary.is_none() {
        return Err(Error::invalid(
            "--init needs an init binary: install Debian's tini or start berthd with --init-path",
        ));
    }
    let cspec = container_spec(cfg, paths, r, netns, joins, link_env);
    let bundle = paths.dir.clone();
    let t0 = std::time::Instant::now();
    tokio::task::spawn_blocking(move || -> Result<()> {
        let oci = spec::build(&cspec).map_err(|e| match e.kind() {
            ErrorKind::InvalidArgument | ErrorKind::NotFound => start_failure(&e.to_string()),
            _ => Error::Spec(e),
        })?;
        Ok(spec::write_bundle(&bundle, &oci)?)
    })
    .await
    .map_err(Error::task("spec"))??;
    tracing::debug!(container_id = %r.id, elapsed_us = t0.elapsed().as_micros() as u64, "start: bundle written");
    Ok(())
}

/// Spawns the shim on the written bundle; returns once the container is created (not
/// started).
pub(crate) async fn launch(
    cfg: &EngineConfig,
    paths: &Paths,
    r: &ContainerRecord,
    log: Option<runtime::logfile::LogConfig>,
) -> Result<Shim> {
    let runtime = match cfg.runtimes.resolve(&r.host_config.runtime)?.1 {
        crate::runtimes::Runtime::Builtin => None,
        crate::runtimes::Runtime::Oci { path, args } => Some(runtime::shim::OciRuntime {
            path: path.clone(),
            args: args.clone(),
        }),
    };
    let console_size = r
        .host_config
        .console_size
        .as_deref()
        .filter(|s| s.len() == 2 && s[0] > 0 && s[1] > 0)
        .map(|s| ConsoleSize {
            height: s[0].min(u16::MAX as u32) as u16,
            width: s[1].min(u16::MAX as u32) as u16,
        });
    let opts = SpawnOptions {
        shim_binary: cfg.shim_binary.clone(),
        state_dir: state_dir(cfg, &r.id),
        config: ShimConfig {
            id: r.id.clone(),
            bundle: paths.dir.clone(),
            cgroups_path: cgroups_path(cfg, &r.id),
            tty: r.config.tty,
            open_stdin: r.config.open_stdin,
            stdin_once: r.config.stdin_once,
            console_size,
            log,
            seccomp_cache: Some(cfg.exec_root.join("seccomp")),
            runtime,
            start_limit_ms: None,
        },
    };
    match runtime::shim::spawn(opts).await {
        Ok(handle) => Ok(Shim { handle }),
        Err(runtime::shim::ShimError::Shim {
            message,
            kind: ErrorKind::Internal | ErrorKind::InvalidArgument | ErrorKind::NotFound,
        }) => Err(start_failure(&message)),
        Err(e) => Err(Error::Shim(e)),
    }
}

/// Reconnects to a container's shim after a daemon restart; `Err` when it is gone, with the
/// exit it recorded (if any).
pub(crate) async fn reconnect(
    cfg: &EngineConfig,
    id: &str,
) -> std::result::Result<Shim, Option<Exit>> {
    let dir = state_dir(cfg, id);
    match ShimHandle::connect(&dir).await {
        Ok(handle) => Ok(Shim { handle }),
        Err(_) => Err(runtime::shim::read_exit_record(&dir)
            .ok()
            .flatten()
            .map(|rec| exit_of(&rec))),
    }
}

/// Waits (at most 10 s, on a blocking thread) until the container's shim has exited: it kills
/// what is left in the container's cgroup and removes it after reporting the exit, so that a
/// removal that waits finds nothing left to do, instead of doing the same work beside it.
pub(crate) async fn wait_finished(cfg: &EngineConfig, id: &str) {
    let dir = state_dir(cfg, id);
    let released = tokio::task::spawn_blocking(move || {
        runtime::shim::lock::wait_released(&dir, std::time::Duration::from_secs(10))
    })
    .await;
    if !matches!(released, Ok(true)) {
        tracing::warn!(container_id = %id, "the shim is still cleaning up; removing without it");
    }
}

/// Removes a container's shim state dir once its exit has been recorded. The shim answers
/// `wait` before its own cleanup: this waits (briefly, blocking) until it has exited.
pub(crate) fn forget(cfg: &EngineConfig, id: &str) {
    let dir = state_dir(cfg, id);
    if !runtime::shim::lock::wait_released(&dir, std::time::Duration::from_secs(10)) {
        tracing::warn!(container_id = %id, "the shim still holds its state dir; removing it anyway");
    }
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!(container_id = %id, error = %e, "removing shim dir"),
    }
}

/// Creates a container's network namespace (lo up).
pub(crate) fn create_netns(path: &Path) -> Result<()> {
    Ok(network::netns::create(path)?)
}

/// Removes a container's network namespace.
pub(crate) fn remove_netns(path: &Path) -> Result<()> {
    Ok(network::netns::remove(path)?)
}

/// Host pids of the container's processes (from its cgroup), falling back to the init pid.
pub(crate) fn container_pids(cfg: &EngineConfig, id: &str, init_pid: i64) -> Vec<i64> {
    let mut pids: Vec<i64> = runtime::cgroup::dirs(&cgroups_path(cfg, id))
        .iter()
        .filter_map(|d| std::fs::read_to_string(d.join("cgroup.procs")).ok())
        .flat_map(|s| {
            s.lines()
                .filter_map(|l| l.trim().parse::<i64>().ok())
                .collect::<Vec<_>>()
        })
        .collect();
    pids.sort_unstable();
    pids.dedup();
    if pids.is_empty() && init_pid > 0 {
        pids.push(init_pid);
    }
    pids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_failures_map_like_dockerd() {
        let code = |m: &str| match start_failure(m) {
            Error::StartFailed { exit_code, .. } => exit_code,
            _ => unreachable!(),
        };
        assert_eq!(
            code("exec: \"nope\": executable file not found in $PATH"),
            127
        );
        assert_eq!(code("exec: \"/etc/passwd\": permission denied"), 126);
        assert_eq!(code("exec: \"/etc\": is a directory"), 126);
        assert_eq!(code("open /x: no such file or directory"), 127);
        assert_eq!(code("something else"), 128);
        assert!(start_failure("is a directory")
            .to_string()
            .ends_with("permission denied"));
    }
}
