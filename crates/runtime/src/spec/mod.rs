//! The OCI runtime spec of a container, with Docker's defaults.
//!
//! The engine fills a [`ContainerSpec`] (what the Engine API's create/start bodies say, already
//! merged with the image config) and calls [`build`]; the result goes to [`write_bundle`], and the
//! shim runs it. [`build`] reads the rootfs (USER lookup in its `/etc/passwd` and `/etc/group`)
//! and creates a missing WORKDIR in it, never following a symlink out of the rootfs.
//!
//! Defaults follow dockerd: the 14 default capabilities, a default seccomp profile
//! ([`seccomp::default_profile`]), masked and read-only `/proc` paths, `/dev`, `/dev/pts`,
//! `/dev/shm` (64 MiB), `/dev/mqueue`, read-only `/sys` and cgroup mount, a device cgroup that
//! allows only the standard nodes. `--privileged` lifts all of that.

mod defaults;
pub mod exec;
pub mod seccomp;
mod seccomp_default;
pub mod user;

use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;
use serde_json::{json, Value};

pub use defaults::{all_capabilities, DEFAULT_CAPABILITIES};
pub use user::ResolvedUser;

use crate::ErrorKind;

/// Docker's default PATH, used when neither the image nor the container sets one.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// Docker's default `/dev/shm` size (64 MiB).
pub const DEFAULT_SHM_SIZE: u64 = 64 * 1024 * 1024;
/// Where `--init`'s binary is mounted and run from inside the container (as dockerd does).
pub const INIT_PATH_IN_CONTAINER: &str = "/sbin/docker-init";

/// What the engine knows about a container, already merged with its image config.
#[derive(Debug, Clone, Default)]
pub struct ContainerSpec {
    /// The container id (64 hex digits in the engine).
    pub id: String,
    /// The container's root filesystem, already mounted by the engine.
    pub rootfs: PathBuf,
    /// Entrypoint + Cmd, merged. Must not be empty.
    pub args: Vec<String>,
    /// Image env merged with the container's `KEY=value` list. PATH, HOSTNAME, TERM and HOME
    /// are added as Docker adds them.
    pub env: Vec<String>,
    /// WORKDIR; empty means `/`. Created (root-owned, 0755) in the rootfs if missing.
    pub working_dir: String,
    /// USER: `""`, `name`, `uid`, `name:group`, `uid:gid`, `name:gid` …
    pub user: String,
    /// `--group-add`: extra groups, by name or number.
    pub group_add: Vec<String>,
    /// The container's hostname.
    pub hostname: String,
    /// The container's NIS domain name (`--domainname`); empty for none.
    pub domainname: String,
    /// Allocate a pseudo-terminal (`-t`).
    pub tty: bool,
    /// Mount the rootfs read-only (`--read-only`).
    pub readonly_rootfs: bool,
    /// `--privileged`: all capabilities and devices, no seccomp, no masked paths, rw `/sys`.
    pub privileged: bool,
    /// `--cap-add` (`ALL`, `NET_ADMIN` or `CAP_NET_ADMIN`).
    pub cap_add: Vec<String>,
    /// `--cap-drop`.
    pub cap_drop: Vec<String>,
    /// `--security-opt`: `no-new-privileges[:true|false]`, `seccomp=unconfined`,
    /// `seccomp=<profile JSON>` (the docker CLI sends the file's content), `label=…`/`apparmor=…`
    /// (accepted and ignored: this host has neither).
    pub security_opt: Vec<String>,
    /// `--init`: the host path of a static init binary (tini); it is bind-mounted at
    /// [`INIT_PATH_IN_CONTAINER`] and runs as PID 1 with `args` as its child.
    pub init: Option<PathBuf>,
    /// The cgroup path, e.g. `/berth/<id>`. Always set: without it libcontainer invents one.
    pub cgroups_path: String,
    /// A private cgroup namespace (`--cgroupns private`); `false` shares the host's.
    pub cgroupns_private: bool,
    /// Resource limits.
    pub resources: Resources,
    /// The network namespace: `None` shares the host's (`--network host`), else the path of a
    /// namespace file made by `network::netns::create`.
    pub netns: Option<PathBuf>,
    /// Extra bind mounts (the engine's hosts/resolv.conf/hostname files, volumes).
    pub mounts: Vec<BindMount>,
    /// `/dev/shm` size in bytes; `None` is 64 MiB.
    pub shm_size: Option<u64>,
    /// `--ulimit`s. A hard limit above this process's own hard limit is refused.
    pub ulimits: Vec<Ulimit>,
    /// `--oom-score-adj`; `None` inherits the shim's (lowering it needs CAP_SYS_RESOURCE).
    pub oom_score_adj: Option<i32>,
}

/// Cgroup limits, with the Engine API's units and meanings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resources {
    /// Memory limit in bytes (`Memory`); 0 is unlimited.
    pub memory: i64,
    /// Memory + swap in bytes (`MemorySwap`); 0 means twice `memory` (Docker's default), -1
    /// unlimited swap.
    pub memory_swap: i64,
    /// CPUs in billionths (`NanoCpus`, `--cpus 1.5` = 1.5e9); becomes quota/period.
    pub nano_cpus: i64,
    /// Relative CPU weight (`CpuShares`); 0 is the default.
    pub cpu_shares: i64,
    /// Maximum number of pids (`PidsLimit`); 0 or -1 is unlimited.
    pub pids_limit: i64,
}

/// A bind mount from the host into the container.
#[derive(Debug, Clone, PartialEq)]
pub struct BindMount {
    /// Host path.
    pub source: PathBuf,
    /// Path inside the container.
    pub destination: String,
    /// Mount read-only.
    pub readonly: bool,
}

/// One `--ulimit name=soft:hard`.
#[derive(Debug, Clone, PartialEq)]
pub struct Ulimit {
    /// The name as docker writes it (`nofile`, `nproc`, `core` …).
    pub name: String,
    /// Soft limit.
    pub soft: u64,
    /// Hard limit.
    pub hard: u64,
}

/// Why a spec could not be built.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The container has no command.
    #[error("no command specified")]
    NoCommand,
    /// USER (or a group in it) could not be resolved.
    #[error(transparent)]
    User(#[from] user::UserError),
    /// A capability name is unknown.
    #[error("unknown capability: {cap:?}")]
    UnknownCapability { cap: String },
    /// A capability this host's runtime does not hold itself, so cannot grant.
    #[error("capability {cap} is not available on this host (not in the runtime's bounding set)")]
    UnavailableCapability { cap: String },
    /// A `--security-opt` value is not understood.
    #[error("invalid --security-opt: {opt:?}")]
    InvalidSecurityOpt { opt: String },
    /// A seccomp profile could not be used.
    #[error(transparent)]
    Seccomp(#[from] seccomp::SeccompError),
    /// The working directory could not be created.
    #[error("cannot create working directory {path:?}: {source}")]
    WorkingDir {
        path: String,
        #[source]
        source: crate::sys::SysError,
    },
    /// A ulimit is unknown or over what this host allows.
    #[error("invalid ulimit {name}: {reason}")]
    Ulimit { name: String, reason: String },
    /// A resource value is out of range.
    #[error("invalid {field}: {reason}")]
    Resource { field: &'static str, reason: String },
    /// A bind mount is unusable.
    #[error("invalid mount {destination:?}: {reason}")]
    Mount { destination: String, reason: String },
    /// The generated spec did not parse as an OCI spec (a bug).
    #[error("generated OCI spec is invalid: {source}")]
    Generate {
        #[source]
        source: serde_json::Error,
    },
    /// Reading a bundle's `config.json` failed.
    #[error("read bundle {path}: {source}")]
    ReadBundle {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Writing the bundle failed.
    #[error("write bundle {path}: {source}")]
    WriteBundle {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl SpecError {
    /// The error's kind.
    pub fn kind(&self) -> ErrorKind {
        match self {
            SpecError::User(e) => e.kind(),
            SpecError::Generate { .. }
            | SpecError::WriteBundle { .. }
            | SpecError::ReadBundle { .. } => ErrorKind::Internal,
            SpecError::WorkingDir { source, .. } if source.kind() == ErrorKind::Internal => {
                ErrorKind::Internal
            }
            _ => ErrorKind::InvalidArgument,
        }
    }
}

/// Builds the OCI runtime spec for `c` (reading, and possibly creating WORKDIR in, its rootfs).
pub fn build(c: &ContainerSpec) -> Result<Spec, SpecError> {
    if c.args.is_empty() || c.args[0].is_empty() {
        return Err(SpecError::NoCommand);
    }
    let security = SecurityOpts::parse(&c.security_opt)?;
    let user = user::resolve(&c.rootfs, &c.user, &c.group_add)?;
    let cwd = if c.working_dir.is_empty() {
        "/".to_string()
    } else {
        c.working_dir.clone()
    };
    user::create_workdir(&c.rootfs, &cwd).map_err(|source| SpecError::WorkingDir {
        path: cwd.clone(),
        source,
    })?;
    let caps = defaults::capabilities(c.privileged, &c.cap_add, &c.cap_drop)?;
    let env = environment(c, &user);
    let mut args = c.args.clone();
    if c.init.is_some() {
        args.splice(0..0, [INIT_PATH_IN_CONTAINER.to_string(), "--".to_string()]);
    }
    let seccomp = match (&security.seccomp, c.privileged) {
        (_, true) | (SeccompChoice::Unconfined, _) => None,
        (SeccompChoice::Default, false) => {
            Some(seccomp::compile(&seccomp::default_profile(), &caps)?)
        }
        (SeccompChoice::Custom(json), false) => Some(seccomp::compile(
            &seccomp::Profile::from_json(json)?,
            &caps,
        )?),
    };
    let mut process = json!({
        "terminal": c.tty,
        "user": {"uid": user.uid, "gid": user.gid, "additionalGids": user.additional_gids},
        "args": args,
        "env": env,
        "cwd": cwd,
        "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
        "rlimits": rlimits(&c.ulimits)?,
    });
    if security.no_new_privileges {
        // Only `true` is written: libcontainer treats a present `false` as "set seccomp late",
        // which fails once capabilities are dropped.
        process["noNewPrivileges"] = json!(true);
    }
    if let Some(adj) = c.oom_score_adj {
        process["oomScoreAdj"] = json!(adj);
    }
    let mut linux = json!({
        "cgroupsPath": c.cgroups_path,
        "namespaces": defaults::namespaces(c.netns.as_deref(), c.cgroupns_private),
        "resources": resources(&c.resources, c.privileged)?,
        "maskedPaths": if c.privileged { vec![] } else { defaults::masked_paths() },
        "readonlyPaths": if c.privileged { vec![] } else { defaults::readonly_paths() },
    });
    if c.privileged {
        linux["devices"] = defaults::host_devices();
    }
    if let Some(s) = seccomp {
        linux["seccomp"] =
            serde_json::to_value(s).map_err(|source| SpecError::Generate { source })?;
    }
    let mut spec = json!({
        "ociVersion": "1.0.2",
        "root": {"path": c.rootfs, "readonly": c.readonly_rootfs},
        "hostname": c.hostname,
        "process": process,
        "mounts": mounts(c)?,
        "linux": linux,
    });
    if !c.domainname.is_empty() {
        spec["domainname"] = json!(c.domainname);
    }
    serde_json::from_value(spec).map_err(|source| SpecError::Generate { source })
}

/// Writes `spec` as `<bundle>/config.json` (atomically: temp file + rename).
pub fn write_bundle(bundle: &Path, spec: &Spec) -> Result<(), SpecError> {
    let path = bundle.join("config.json");
    let err = |source| SpecError::WriteBundle {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(bundle).map_err(err)?;
    let tmp = bundle.join(".config.json.tmp");
    let data = serde_json::to_vec(spec).map_err(|source| SpecError::Generate { source })?;
    std::fs::write(&tmp, data).map_err(err)?;
    std::fs::rename(&tmp, &path).map_err(err)
}

enum SeccompChoice {
    Default,
    Unconfined,
    Custom(String),
}

struct SecurityOpts {
    no_new_privileges: bool,
    seccomp: SeccompChoice,
}

impl SecurityOpts {
    fn parse(opts: &[String]) -> Result<Self, SpecError> {
        let mut out = SecurityOpts {
            no_new_privileges: false,
            seccomp: SeccompChoice::Default,
        };
        for opt in opts {
            let invalid = || SpecError::InvalidSecurityOpt { opt: opt.clone() };
            // Docker accepts both `key=value` and the older `key:value`.
            let (key, value) = match opt.split_once(['=', ':']) {
                Some((k, v)) => (k, Some(v)),
                None => (opt.as_str(), None),
            };
            match (key, value) {
                ("no-new-privileges", None) => out.no_new_privileges = true,
                ("no-new-privileges", Some(v)) => {
                    out.no_new_privileges = v.parse::<bool>().map_err(|_| invalid())?
                }
                ("seccomp", Some("unconfined")) => out.seccomp = SeccompChoice::Unconfined,
                ("seccomp", Some("builtin")) => out.seccomp = SeccompChoice::Default,
                ("seccomp", Some(profile)) if profile.trim_start().starts_with('{') => {
                    out.seccomp = SeccompChoice::Custom(profile.to_string())
                }
                // No AppArmor or SELinux on the hosts we run on: dockerd accepts and ignores them.
                ("label" | "apparmor", Some(_)) => {}
                _ => return Err(invalid()),
            }
        }
        Ok(out)
    }
}

/// Docker's environment: the default PATH, HOSTNAME, TERM with a tty, the container's env
/// (replacing earlier keys), then HOME from passwd if still missing.
fn environment(c: &ContainerSpec, user: &ResolvedUser) -> Vec<String> {
    let mut env: Vec<String> = Vec::with_capacity(c.env.len() + 4);
    let set = |env: &mut Vec<String>, kv: &str| {
        let key = kv.split_once('=').map_or(kv, |(k, _)| k);
        match env
            .iter_mut()
            .find(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k) == key)
        {
            Some(slot) => *slot = kv.to_string(),
            None => env.push(kv.to_string()),
        }
    };
    set(&mut env, &format!("PATH={DEFAULT_PATH}"));
    set(&mut env, &format!("HOSTNAME={}", c.hostname));
    if c.tty {
        set(&mut env, "TERM=xterm");
    }
    for kv in &c.env {
        set(&mut env, kv);
    }
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        set(&mut env, &format!("HOME={}", user.home));
    }
    env
}

fn rlimits(ulimits: &[Ulimit]) -> Result<Vec<Value>, SpecError> {
    ulimits.iter().map(defaults::rlimit).collect()
}

fn resources(r: &Resources, privileged: bool) -> Result<Value, SpecError> {
    let bad = |field, reason: &str| {
        Err(SpecError::Resource {
            field,
            reason: reason.to_string(),
        })
    };
    if r.memory < 0 {
        return bad("Memory", "must not be negative");
    }
    if r.memory > 0 && r.memory < 6 * 1024 * 1024 {
        return bad("Memory", "minimum memory limit allowed is 6MB");
    }
    if r.memory_swap > 0 && r.memory > 0 && r.memory_swap < r.memory {
        return bad(
            "MemorySwap",
            "minimum memoryswap limit should be larger than memory limit",
        );
    }
    if r.memory_swap > 0 && r.memory == 0 {
        return bad(
            "MemorySwap",
            "you should always set the Memory limit when using Memoryswap limit",
        );
    }
    if r.nano_cpus < 0 || (r.nano_cpus > 0 && r.nano_cpus < 10_000_000) {
        return bad(
            "NanoCpus",
            "range of CPUs is from 0.01 to the number of CPUs available",
        );
    }
    let mut res = json!({ "devices": defaults::device_rules(privileged) });
    if r.memory > 0 {
        let swap = match r.memory_swap {
            0 => r.memory * 2,
            s => s,
        };
        res["memory"] = json!({"limit": r.memory, "swap": swap});
    }
    let mut cpu = serde_json::Map::new();
    if r.nano_cpus > 0 {
        const PERIOD: i64 = 100_000;
        cpu.insert("period".into(), json!(PERIOD));
        cpu.insert("quota".into(), json!(r.nano_cpus * PERIOD / 1_000_000_000));
    }
    if r.cpu_shares > 0 {
        cpu.insert("shares".into(), json!(r.cpu_shares));
    }
    if !cpu.is_empty() {
        res["cpu"] = Value::Object(cpu);
    }
    if r.pids_limit > 0 {
        res["pids"] = json!({"limit": r.pids_limit});
    }
    Ok(res)
}

fn mounts(c: &ContainerSpec) -> Result<Vec<Value>, SpecError> {
    let mut m = defaults::mounts(c.privileged, c.shm_size.unwrap_or(DEFAULT_SHM_SIZE));
    if !c.privileged {
        // libcontainer mounts the cgroup tree read-write whatever the spec says (on v1 a
        // tmpfs plus one writable mount per hierarchy), so a container could raise its own
        // limits. Docker's tree is read-only: bind the finished tree onto itself, recursively
        // read-only (`rro`: mount_setattr with AT_RECURSIVE). The source is the mount point
        // inside our rootfs, which libcontainer has just resolved without following the
        // image's symlinks (it is under the freshly mounted sysfs, which the image cannot
        // shape).
        let at = m
            .iter()
            .position(|v| v["destination"] == "/sys/fs/cgroup")
            .map_or(m.len(), |i| i + 1);
        m.insert(
            at,
            json!({
                "destination": "/sys/fs/cgroup", "type": "bind",
                "source": c.rootfs.join("sys/fs/cgroup"),
                "options": ["rbind", "rro", "nosuid", "noexec", "nodev"],
            }),
        );
    }
    for b in &c.mounts {
        if !b.destination.starts_with('/') {
            return Err(SpecError::Mount {
                destination: b.destination.clone(),
                reason: "destination must be an absolute path".into(),
            });
        }
        let mut opts = vec!["rbind", "rprivate"];
        if b.readonly {
            opts.push("ro");
        }
        m.push(json!({"destination": b.destination, "type": "bind", "source": b.source, "options": opts}));
    }
    if let Some(init) = &c.init {
        m.push(json!({
            "destination": INIT_PATH_IN_CONTAINER, "type": "bind", "source": init,
            "options": ["bind", "ro", "nosuid", "nodev"],
        }));
    }
    Ok(m)
}

#[cfg(test)]
mod tests;
