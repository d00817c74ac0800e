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
pub mod host;
pub mod seccomp;
mod seccomp_default;
pub mod user;

use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;
use serde_json::{json, Value};

pub use defaults::{all_capabilities, DEFAULT_CAPABILITIES};
pub use host::{DeviceMapping, SharedWithHost};
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
    /// The PID namespace (`--pid`).
    pub pid_ns: Namespace,
    /// The IPC namespace (`--ipc`); see `shm` for `/dev/shm`.
    pub ipc_ns: Namespace,
    /// Share the host's UTS namespace (`--uts host`): no hostname of its own.
    pub uts_host: bool,
    /// `/dev/shm`.
    pub shm: Shm,
    /// `--device`s, resolved when the spec is built.
    pub devices: Vec<DeviceMapping>,
    /// `--device-cgroup-rule`s (`c 1:3 rwm`).
    pub device_cgroup_rules: Vec<String>,
    /// `--tmpfs DEST[:OPTIONS]`, by destination.
    pub tmpfs: Vec<(String, String)>,
    /// `--sysctl`s, checked to be namespaced.
    pub sysctls: std::collections::BTreeMap<String, String>,
    /// Replaces Docker's masked paths when set (`--security-opt systempaths=unconfined` sends
    /// an empty list).
    pub masked_paths: Option<Vec<String>>,
    /// Replaces Docker's read-only paths when set.
    pub readonly_paths: Option<Vec<String>>,
    /// OCI annotations (`HostConfig.Annotations`).
    pub annotations: std::collections::BTreeMap<String, String>,
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

/// How a container gets one of its namespaces.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Namespace {
    /// A new namespace of its own (Docker's default).
    #[default]
    Private,
    /// The host's (`--pid host`, `--ipc host`).
    Host,
    /// Another process's, by its `/proc/<pid>/ns/<kind>` path (`--pid container:<id>`).
    Join(PathBuf),
}

/// Where `/dev/shm` comes from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Shm {
    /// A tmpfs of `shm_size` in the container's own mount namespace.
    #[default]
    Private,
    /// A host directory (a shareable container's tmpfs, another container's, the host's
    /// `/dev/shm`), bind-mounted.
    Bind(PathBuf),
    /// None at all (`--ipc none`).
    None,
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
    /// CFS period in microseconds (`CpuPeriod`); 0 is the kernel's.
    pub cpu_period: i64,
    /// CFS quota in microseconds (`CpuQuota`); 0 is none.
    pub cpu_quota: i64,
    /// CPUs allowed (`CpusetCpus`, `0-2,4`).
    pub cpuset_cpus: String,
    /// Memory nodes allowed (`CpusetMems`).
    pub cpuset_mems: String,
    /// Soft memory limit in bytes (`MemoryReservation`).
    pub memory_reservation: i64,
    /// `MemorySwappiness`, 0–100; `None` leaves the kernel's.
    pub memory_swappiness: Option<i64>,
    /// `OomKillDisable`.
    pub oom_kill_disable: bool,
    /// Block I/O limits, by device.
    pub blkio: BlkioLimits,
}

/// Block I/O weight and throttling (`--blkio-weight`, `--device-read-bps` …): `(major, minor,
/// rate)` per device.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BlkioLimits {
    pub weight: Option<u16>,
    pub read_bps: Vec<(u64, u64, u64)>,
    pub write_bps: Vec<(u64, u64, u64)>,
    pub read_iops: Vec<(u64, u64, u64)>,
    pub write_iops: Vec<(u64, u64, u64)>,
}

impl BlkioLimits {
    fn is_empty(&self) -> bool {
        self.weight.is_none()
            && self.read_bps.is_empty()
            && self.write_bps.is_empty()
            && self.read_iops.is_empty()
            && self.write_iops.is_empty()
    }
}

/// A bind mount from the host into the container.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BindMount {
    /// Host path.
    pub source: PathBuf,
    /// Path inside the container.
    pub destination: String,
    /// Mount read-only (recursively, as dockerd does, unless `readonly_non_recursive`).
    pub readonly: bool,
    /// Propagation (`rprivate`, `private`, `rshared`, `shared`, `rslave`, `slave`); empty is
    /// `rprivate`.
    pub propagation: String,
    /// `bind-nonrecursive`: the mounts below the source are not carried along.
    pub non_recursive: bool,
    /// `bind-recursive=writable`: only the top mount is made read-only.
    pub readonly_non_recursive: bool,
}

impl BindMount {
    /// The OCI mount options: `rbind`/`bind`, the propagation, and `ro` (+ `rro`).
    fn options(&self) -> Vec<&str> {
        let mut opts = vec![if self.non_recursive { "bind" } else { "rbind" }];
        opts.push(if self.propagation.is_empty() {
            "rprivate"
        } else {
            &self.propagation
        });
        if self.readonly {
            opts.push("ro");
            if !self.readonly_non_recursive && !self.non_recursive {
                opts.push("rro");
            }
        }
        opts
    }
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
    /// A `--device` cannot be used (dockerd's wording).
    #[error("error gathering device information while adding custom device {path:?}: {reason}")]
    Device { path: String, reason: String },
    /// A `--device-cgroup-rule` does not parse.
    #[error("invalid device cgroup format '{rule}'")]
    DeviceCgroupRule { rule: String },
    /// A `--tmpfs` mount is unusable.
    #[error("invalid tmpfs mount {destination:?}: {reason}")]
    Tmpfs { destination: String, reason: String },
    /// A `--sysctl` would change the host, or is not a parameter name.
    #[error("{reason}")]
    Sysctl { key: String, reason: String },
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
    let (masked, readonly) = if c.privileged {
        (vec![], vec![])
    } else {
        (
            c.masked_paths.clone().unwrap_or_else(|| {
                defaults::masked_paths()
                    .into_iter()
                    .map(String::from)
                    .collect()
            }),
            c.readonly_paths.clone().unwrap_or_else(|| {
                defaults::readonly_paths()
                    .into_iter()
                    .map(String::from)
                    .collect()
            }),
        )
    };
    let mut resources = resources(&c.resources, c.privileged)?;
    let mut devices = if c.privileged {
        defaults::host_devices()
            .as_array()
            .cloned()
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    for m in &c.devices {
        for d in host::resolve_device(m)? {
            devices.retain(|v| v["path"] != d.path.as_str());
            devices.push(d.spec_entry());
            push_rule(&mut resources, d.cgroup_rule());
        }
    }
    for rule in &c.device_cgroup_rules {
        push_rule(&mut resources, host::device_cgroup_rule(rule)?);
    }
    let shared = SharedWithHost {
        network: c.netns.is_none(),
        ipc: c.ipc_ns != Namespace::Private,
        uts: c.uts_host,
    };
    for key in c.sysctls.keys() {
        host::check_sysctl(key, shared)?;
    }
    let mut linux = json!({
        "cgroupsPath": c.cgroups_path,
        "namespaces": defaults::namespaces(c),
        "resources": resources,
        "maskedPaths": masked,
        "readonlyPaths": readonly,
    });
    if !devices.is_empty() {
        linux["devices"] = Value::Array(devices);
    }
    if !c.sysctls.is_empty() {
        linux["sysctl"] = json!(c.sysctls);
    }
    if let Some(p) = rootfs_propagation(c) {
        linux["rootfsPropagation"] = json!(p);
    }
    if let Some(s) = seccomp {
        linux["seccomp"] =
            serde_json::to_value(s).map_err(|source| SpecError::Generate { source })?;
    }
    let mut spec = json!({
        "ociVersion": "1.0.2",
        "root": {"path": c.rootfs, "readonly": c.readonly_rootfs},
        "process": process,
        "mounts": mounts(c)?,
        "linux": linux,
    });
    // Sharing the host's UTS namespace means not setting a name in it.
    if !c.uts_host {
        spec["hostname"] = json!(c.hostname);
        if !c.domainname.is_empty() {
            spec["domainname"] = json!(c.domainname);
        }
    }
    if !c.annotations.is_empty() {
        spec["annotations"] = json!(c.annotations);
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
    if r.memory_reservation < 0 || (r.memory > 0 && r.memory_reservation > r.memory) {
        return bad(
            "MemoryReservation",
            "minimum memory limit can not be less than memory reservation limit",
        );
    }
    if r.memory_swappiness.is_some_and(|s| !(0..=100).contains(&s)) {
        return bad("MemorySwappiness", "must be between 0 and 100");
    }
    let mut res = json!({ "devices": defaults::device_rules(privileged) });
    let mut memory = serde_json::Map::new();
    if r.memory > 0 {
        let swap = match r.memory_swap {
            0 => r.memory * 2,
            s => s,
        };
        memory.insert("limit".into(), json!(r.memory));
        memory.insert("swap".into(), json!(swap));
    }
    if r.memory_reservation > 0 {
        memory.insert("reservation".into(), json!(r.memory_reservation));
    }
    if let Some(s) = r.memory_swappiness {
        memory.insert("swappiness".into(), json!(s));
    }
    if r.oom_kill_disable {
        memory.insert("disableOOMKiller".into(), json!(true));
    }
    if !memory.is_empty() {
        res["memory"] = Value::Object(memory);
    }
    let mut cpu = serde_json::Map::new();
    if r.nano_cpus > 0 {
        const PERIOD: i64 = 100_000;
        cpu.insert("period".into(), json!(PERIOD));
        cpu.insert("quota".into(), json!(r.nano_cpus * PERIOD / 1_000_000_000));
    }
    if r.cpu_period > 0 {
        cpu.insert("period".into(), json!(r.cpu_period));
    }
    if r.cpu_quota != 0 {
        cpu.insert("quota".into(), json!(r.cpu_quota));
    }
    if r.cpu_shares > 0 {
        cpu.insert("shares".into(), json!(r.cpu_shares));
    }
    if !r.cpuset_cpus.is_empty() {
        cpu.insert("cpus".into(), json!(r.cpuset_cpus));
    }
    if !r.cpuset_mems.is_empty() {
        cpu.insert("mems".into(), json!(r.cpuset_mems));
    }
    if !r.blkio.is_empty() {
        let rates = |v: &[(u64, u64, u64)]| -> Vec<Value> {
            v.iter()
                .map(|(major, minor, rate)| json!({"major": major, "minor": minor, "rate": rate}))
                .collect()
        };
        res["blockIO"] = json!({
            "weight": r.blkio.weight,
            "throttleReadBpsDevice": rates(&r.blkio.read_bps),
            "throttleWriteBpsDevice": rates(&r.blkio.write_bps),
            "throttleReadIOPSDevice": rates(&r.blkio.read_iops),
            "throttleWriteIOPSDevice": rates(&r.blkio.write_iops),
        });
    }
    if !cpu.is_empty() {
        res["cpu"] = Value::Object(cpu);
    }
    if r.pids_limit > 0 {
        res["pids"] = json!({"limit": r.pids_limit});
    }
    Ok(res)
}

/// Appends a device cgroup rule after the defaults (a later rule wins in the kernel's
/// evaluation, so an allow after the default deny opens that device).
fn push_rule(resources: &mut Value, rule: Value) {
    if let Some(rules) = resources["devices"].as_array_mut() {
        rules.push(rule);
    }
}

/// The propagation modes a bind mount may ask for (empty: the default, `rprivate`).
const PROPAGATIONS: &[&str] = &[
    "", "private", "rprivate", "shared", "rshared", "slave", "rslave",
];

/// The root's propagation a container needs so that its mounts' own propagation works
/// (dockerd's `setMounts`): shared mounts need a shared root, slave mounts at least a slave
/// one; `None` leaves the runtime's default.
fn rootfs_propagation(c: &ContainerSpec) -> Option<&'static str> {
    let props = || c.mounts.iter().map(|m| m.propagation.as_str());
    if props().any(|p| p == "shared" || p == "rshared") {
        Some("shared")
    } else if props().any(|p| p == "slave" || p == "rslave") {
        // libcontainer spells dockerd's `rslave` `slave` (it always applies it recursively).
        Some("slave")
    } else {
        None
    }
}

fn mounts(c: &ContainerSpec) -> Result<Vec<Value>, SpecError> {
    let mut m = defaults::mounts(c.privileged, c.shm_size.unwrap_or(DEFAULT_SHM_SIZE));
    match &c.shm {
        Shm::Private => {}
        Shm::None => m.retain(|v| v["destination"] != "/dev/shm"),
        Shm::Bind(source) => {
            for v in m.iter_mut().filter(|v| v["destination"] == "/dev/shm") {
                *v = json!({"destination": "/dev/shm", "type": "bind", "source": source, "options": ["rbind", "nosuid", "noexec", "nodev"]});
            }
        }
    }
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
    let mut user = Vec::new();
    for b in &c.mounts {
        if !b.destination.starts_with('/') {
            return Err(SpecError::Mount {
                destination: b.destination.clone(),
                reason: "destination must be an absolute path".into(),
            });
        }
        if !PROPAGATIONS.contains(&b.propagation.as_str()) {
            return Err(SpecError::Mount {
                destination: b.destination.clone(),
                reason: format!("invalid propagation mode: {}", b.propagation),
            });
        }
        user.push(json!({"destination": b.destination, "type": "bind", "source": b.source, "options": b.options()}));
    }
    for (dest, opts) in &c.tmpfs {
        user.push(host::tmpfs_mount(dest, opts)?);
    }
    // A mount inside another must come after it (dockerd sorts by path depth).
    user.sort_by_key(|v| {
        v["destination"]
            .as_str()
            .map_or(0, |d| d.split('/').filter(|p| !p.is_empty()).count())
    });
    m.extend(user);
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
