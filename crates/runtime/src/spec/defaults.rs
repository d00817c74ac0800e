//! Docker's fixed defaults: capabilities, namespaces, mounts, masked paths, device rules.

use std::os::unix::fs::{FileTypeExt, MetadataExt};

use serde_json::{json, Value};

use super::{ContainerSpec, Namespace, SpecError, Ulimit};

/// The capabilities Docker grants a container by default.
pub const DEFAULT_CAPABILITIES: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// Every capability by number (capabilities(7)); the kernel's `cap_last_cap` cuts the list.
const CAPABILITIES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// All capabilities that can be granted here: those this kernel knows (up to
/// `/proc/sys/kernel/cap_last_cap`) and that are in this process's bounding set — a container
/// cannot get what its runtime lacks (root without CAP_SYS_RESOURCE on some hosts), and asking
/// for it makes the runtime fail.
pub fn all_capabilities() -> Vec<String> {
    let last = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse::<usize>().ok())
        .unwrap_or(CAPABILITIES.len() - 1);
    let bounding = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapBnd:").map(|v| v.trim().to_string()))
        })
        .and_then(|hex| u64::from_str_radix(&hex, 16).ok())
        .unwrap_or(u64::MAX);
    CAPABILITIES
        .iter()
        .enumerate()
        .take(last + 1)
        .filter(|(i, _)| bounding & (1u64 << i) != 0)
        .map(|(_, c)| c.to_string())
        .collect()
}

/// `net_admin` → `CAP_NET_ADMIN`; `ALL` stays `ALL`; unknown names are an error.
fn normalize(cap: &str) -> Result<String, SpecError> {
    let upper = cap.trim().to_ascii_uppercase();
    if upper == "ALL" {
        return Ok(upper);
    }
    let full = if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    };
    if CAPABILITIES.contains(&full.as_str()) {
        Ok(full)
    } else {
        Err(SpecError::UnknownCapability { cap: full })
    }
}

/// The effective capability set, as dockerd computes it from the defaults, `--cap-add` and
/// `--cap-drop` (`ALL` allowed in either; a drop of ALL keeps only the explicit adds).
pub fn capabilities(
    privileged: bool,
    add: &[String],
    drop: &[String],
) -> Result<Vec<String>, SpecError> {
    let add: Vec<String> = add.iter().map(|c| normalize(c)).collect::<Result<_, _>>()?;
    let drop: Vec<String> = drop
        .iter()
        .map(|c| normalize(c))
        .collect::<Result<_, _>>()?;
    let all = all_capabilities();
    if privileged {
        return Ok(all);
    }
    let mut caps: Vec<String> = if add.iter().any(|c| c == "ALL") {
        all.clone()
    } else if drop.iter().any(|c| c == "ALL") {
        Vec::new()
    } else {
        DEFAULT_CAPABILITIES.iter().map(|c| c.to_string()).collect()
    };
    if !add.iter().any(|c| c == "ALL") {
        caps.retain(|c| !drop.contains(c));
    }
    for c in add.iter().filter(|c| *c != "ALL") {
        if !all.contains(c) {
            return Err(SpecError::UnavailableCapability { cap: c.clone() });
        }
        if !caps.contains(c) {
            caps.push(c.clone());
        }
    }
    Ok(caps)
}

/// The container's namespaces: mount always; pid, ipc and uts unless shared with the host
/// (or joined); network unless host; cgroup when private (dockerd's default is `private` on
/// pure v2 and `host` on v1; the engine decides).
pub fn namespaces(c: &ContainerSpec) -> Vec<Value> {
    let mut ns = vec![json!({"type": "mount"})];
    for (typ, mode) in [("pid", &c.pid_ns), ("ipc", &c.ipc_ns)] {
        match mode {
            Namespace::Private => ns.push(json!({"type": typ})),
            Namespace::Join(path) => ns.push(json!({"type": typ, "path": path})),
            Namespace::Host => {}
        }
    }
    if !c.uts_host {
        ns.push(json!({"type": "uts"}));
    }
    if let Some(path) = &c.netns {
        ns.push(json!({"type": "network", "path": path}));
    }
    if c.cgroupns_private {
        ns.push(json!({"type": "cgroup"}));
    }
    ns
}

/// Paths hidden behind an empty file or tmpfs (dockerd's list).
pub fn masked_paths() -> Vec<&'static str> {
    vec![
        "/proc/asound",
        "/proc/acpi",
        "/proc/interrupts",
        "/proc/kcore",
        "/proc/keys",
        "/proc/latency_stats",
        "/proc/timer_list",
        "/proc/timer_stats",
        "/proc/sched_debug",
        "/proc/scsi",
        "/sys/firmware",
        "/sys/devices/virtual/powercap",
    ]
}

/// Paths remounted read-only (dockerd's list).
pub fn readonly_paths() -> Vec<&'static str> {
    vec![
        "/proc/bus",
        "/proc/fs",
        "/proc/irq",
        "/proc/sys",
        "/proc/sysrq-trigger",
    ]
}

/// The standard mounts: proc, /dev (tmpfs), devpts, shm, mqueue, sysfs, the cgroup tree.
pub fn mounts(privileged: bool, shm_size: u64) -> Vec<Value> {
    let ro = if privileged { "rw" } else { "ro" };
    vec![
        json!({"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]}),
        json!({"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]}),
        json!({"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]}),
        json!({"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", ro]}),
        json!({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", ro]}),
        json!({"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]}),
        json!({"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", format!("size={shm_size}")]}),
    ]
}

/// The device cgroup: deny everything but the standard nodes (and mknod of any), or allow all
/// when privileged.
pub fn device_rules(privileged: bool) -> Vec<Value> {
    if privileged {
        return vec![json!({"allow": true, "access": "rwm"})];
    }
    let allow = |typ: &str, major: Option<i64>, minor: Option<i64>, access: &str| {
        let mut v = json!({"allow": true, "type": typ, "access": access});
        if let Some(m) = major {
            v["major"] = json!(m);
        }
        if let Some(m) = minor {
            v["minor"] = json!(m);
        }
        v
    };
    vec![
        json!({"allow": false, "access": "rwm"}),
        allow("c", None, None, "m"),
        allow("b", None, None, "m"),
        allow("c", Some(1), Some(3), "rwm"),    // null
        allow("c", Some(1), Some(5), "rwm"),    // zero
        allow("c", Some(1), Some(7), "rwm"),    // full
        allow("c", Some(1), Some(8), "rwm"),    // random
        allow("c", Some(1), Some(9), "rwm"),    // urandom
        allow("c", Some(5), Some(0), "rwm"),    // tty
        allow("c", Some(5), Some(1), "rwm"),    // console
        allow("c", Some(5), Some(2), "rwm"),    // ptmx
        allow("c", Some(136), None, "rwm"),     // pts/*
        allow("c", Some(10), Some(200), "rwm"), // net/tun
    ]
}

/// `--privileged`: every device node of the host's `/dev` (not its subdirectories' ptys, shm or
/// mqueue), as dockerd adds them.
pub fn host_devices() -> Value {
    let mut out = Vec::new();
    let mut stack = vec![std::path::PathBuf::from("/dev")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            let ft = meta.file_type();
            if ft.is_dir() {
                if !matches!(path.to_str(), Some("/dev/pts" | "/dev/shm" | "/dev/mqueue")) {
                    stack.push(path);
                }
                continue;
            }
            let typ = if ft.is_char_device() {
                "c"
            } else if ft.is_block_device() {
                "b"
            } else {
                continue;
            };
            if matches!(
                path.to_str(),
                Some("/dev/console" | "/dev/ptmx" | "/dev/tty")
            ) {
                continue;
            }
            let rdev = meta.rdev();
            out.push(json!({
                "path": path, "type": typ,
                "major": libc::major(rdev), "minor": libc::minor(rdev),
                "fileMode": meta.mode() & 0o7777, "uid": meta.uid(), "gid": meta.gid(),
            }));
        }
    }
    Value::Array(out)
}

/// One `--ulimit` as an OCI rlimit, refused when its hard limit is over this process's (root
/// may lack CAP_SYS_RESOURCE, and the runtime would fail later with a vaguer EPERM).
pub fn rlimit(u: &Ulimit) -> Result<Value, SpecError> {
    use nix::sys::resource::{getrlimit, Resource};
    let err = |reason: String| SpecError::Ulimit {
        name: u.name.clone(),
        reason,
    };
    let (typ, res) = match u.name.as_str() {
        "core" => ("RLIMIT_CORE", Resource::RLIMIT_CORE),
        "cpu" => ("RLIMIT_CPU", Resource::RLIMIT_CPU),
        "data" => ("RLIMIT_DATA", Resource::RLIMIT_DATA),
        "fsize" => ("RLIMIT_FSIZE", Resource::RLIMIT_FSIZE),
        "locks" => ("RLIMIT_LOCKS", Resource::RLIMIT_LOCKS),
        "memlock" => ("RLIMIT_MEMLOCK", Resource::RLIMIT_MEMLOCK),
        "msgqueue" => ("RLIMIT_MSGQUEUE", Resource::RLIMIT_MSGQUEUE),
        "nice" => ("RLIMIT_NICE", Resource::RLIMIT_NICE),
        "nofile" => ("RLIMIT_NOFILE", Resource::RLIMIT_NOFILE),
        "nproc" => ("RLIMIT_NPROC", Resource::RLIMIT_NPROC),
        "rss" => ("RLIMIT_RSS", Resource::RLIMIT_RSS),
        "rtprio" => ("RLIMIT_RTPRIO", Resource::RLIMIT_RTPRIO),
        "rttime" => ("RLIMIT_RTTIME", Resource::RLIMIT_RTTIME),
        "sigpending" => ("RLIMIT_SIGPENDING", Resource::RLIMIT_SIGPENDING),
        "stack" => ("RLIMIT_STACK", Resource::RLIMIT_STACK),
        "as" => ("RLIMIT_AS", Resource::RLIMIT_AS),
        _ => return Err(err("unknown ulimit type".into())),
    };
    if u.soft > u.hard {
        return Err(err(format!(
            "soft limit {} is above hard limit {}",
            u.soft, u.hard
        )));
    }
    let (_, host_hard) = getrlimit(res).map_err(|e| err(format!("getrlimit: {e}")))?;
    if u.hard > host_hard {
        return Err(err(format!(
            "hard limit {} is above this host's hard limit {host_hard} (raising it needs CAP_SYS_RESOURCE)",
            u.hard
        )));
    }
    Ok(json!({"type": typ, "soft": u.soft, "hard": u.hard}))
}
