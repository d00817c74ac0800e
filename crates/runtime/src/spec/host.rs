//! What a container asks of its host beyond Docker's defaults: device nodes (`--device`),
//! device cgroup rules (`--device-cgroup-rule`), tmpfs mounts (`--tmpfs`) and kernel
//! parameters (`--sysctl`), each checked the way dockerd and runc check them and turned into
//! the runtime spec's entries.

use std::collections::BTreeMap;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::SpecError;

/// One `--device HOST[:CONTAINER[:PERMISSIONS]]` (`HostConfig.Devices`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceMapping {
    /// The device node (or a directory of them) on the host.
    pub path_on_host: String,
    /// Where it appears in the container; empty means the host path.
    pub path_in_container: String,
    /// Device cgroup access: some of `r`, `w`, `m`; empty means `rwm`.
    pub permissions: String,
}

/// A host device node, resolved: the spec's `linux.devices` entry and its cgroup rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// Path inside the container.
    pub path: String,
    /// `c` or `b`.
    pub kind: char,
    pub major: u64,
    pub minor: u64,
    pub file_mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// `rwm` or a subset.
    pub access: String,
}

impl Device {
    /// The `linux.devices` entry.
    pub fn spec_entry(&self) -> Value {
        json!({
            "path": self.path, "type": self.kind.to_string(),
            "major": self.major, "minor": self.minor,
            "fileMode": self.file_mode, "uid": self.uid, "gid": self.gid,
        })
    }

    /// The `linux.resources.devices` rule that lets the container use it.
    pub fn cgroup_rule(&self) -> Value {
        json!({
            "allow": true, "type": self.kind.to_string(),
            "major": self.major, "minor": self.minor, "access": self.access,
        })
    }
}

fn device_error(path: &str, reason: impl std::fmt::Display) -> SpecError {
    SpecError::Device {
        path: path.to_string(),
        reason: reason.to_string(),
    }
}

fn valid_access(p: &str) -> bool {
    !p.is_empty() && p.len() <= 3 && p.chars().all(|c| matches!(c, 'r' | 'w' | 'm'))
}

fn node(path: &Path, in_container: String, access: &str) -> Option<Device> {
    let meta = std::fs::metadata(path).ok()?;
    let ft = meta.file_type();
    let kind = if ft.is_char_device() {
        'c'
    } else if ft.is_block_device() {
        'b'
    } else {
        return None;
    };
    let rdev = meta.rdev();
    Some(Device {
        path: in_container,
        kind,
        major: libc::major(rdev) as u64,
        minor: libc::minor(rdev) as u64,
        file_mode: meta.mode() & 0o7777,
        uid: meta.uid(),
        gid: meta.gid(),
        access: access.to_string(),
    })
}

/// Resolves a `--device` as dockerd's `devicesFromPath`: a device node is one device, a
/// directory adds every device node below it (at the same relative path under the container
/// path); anything else, or a missing path, is refused naming it.
pub fn resolve_device(m: &DeviceMapping) -> Result<Vec<Device>, SpecError> {
    let access = if m.permissions.is_empty() {
        "rwm"
    } else {
        m.permissions.as_str()
    };
    if !valid_access(access) {
        return Err(device_error(
            &m.path_on_host,
            format!("invalid device permissions {access:?} (some of r, w, m)"),
        ));
    }
    let in_container = if m.path_in_container.is_empty() {
        m.path_on_host.clone()
    } else {
        m.path_in_container.clone()
    };
    if !in_container.starts_with('/') {
        return Err(device_error(
            &m.path_on_host,
            format!("{in_container} is not an absolute path"),
        ));
    }
    let host = std::fs::canonicalize(&m.path_on_host)
        .map_err(|e| device_error(&m.path_on_host, crate::sys::errno_text(&e)))?;
    if let Some(d) = node(&host, in_container.clone(), access) {
        return Ok(vec![d]);
    }
    if !host.is_dir() {
        return Err(device_error(&m.path_on_host, "not a device node"));
    }
    let mut out = Vec::new();
    let mut stack = vec![host.clone()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                stack.push(p);
                continue;
            }
            let rel = p.strip_prefix(&host).unwrap_or(&p);
            let target = PathBuf::from(&in_container).join(rel);
            if let Some(d) = node(&p, target.display().to_string(), access) {
                out.push(d);
            }
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// Parses a `--device-cgroup-rule` (`c 1:3 rwm`, `b *:* m`) into a cgroup rule.
pub fn device_cgroup_rule(rule: &str) -> Result<Value, SpecError> {
    let invalid = || SpecError::DeviceCgroupRule {
        rule: rule.to_string(),
    };
    let parts: Vec<&str> = rule.split_whitespace().collect();
    let [kind, numbers, access] = parts.as_slice() else {
        return Err(invalid());
    };
    if !matches!(*kind, "a" | "b" | "c") || !valid_access(access) {
        return Err(invalid());
    }
    let (major, minor) = numbers.split_once(':').ok_or_else(invalid)?;
    let number = |s: &str| -> Result<Option<u64>, SpecError> {
        match s {
            "*" => Ok(None),
            n => n.parse().map(Some).map_err(|_| invalid()),
        }
    };
    let mut v = json!({"allow": true, "type": kind, "access": access});
    if let Some(n) = number(major)? {
        v["major"] = json!(n);
    }
    if let Some(n) = number(minor)? {
        v["minor"] = json!(n);
    }
    Ok(v)
}

/// Flags a tmpfs mount takes, by pairs that cancel each other (the later one wins, as in
/// moby's `MergeTmpfsOptions`).
const TMPFS_FLAGS: &[(&str, &str)] = &[
    ("ro", "rw"),
    ("noexec", "exec"),
    ("nosuid", "suid"),
    ("nodev", "dev"),
    ("sync", "async"),
    ("dirsync", ""),
    ("noatime", "atime"),
    ("nodiratime", "diratime"),
    ("relatime", "norelatime"),
    ("strictatime", "nostrictatime"),
    ("private", ""),
    ("rprivate", ""),
    ("shared", ""),
    ("rshared", ""),
    ("slave", ""),
    ("rslave", ""),
];

/// Options of tmpfs itself (`key=value`).
const TMPFS_DATA: &[&str] = &[
    "size",
    "nr_blocks",
    "nr_inodes",
    "mode",
    "uid",
    "gid",
    "huge",
    "mpol",
];

/// The runtime spec mount of a `--tmpfs DEST[:OPTIONS]`: dockerd's defaults (`noexec`,
/// `nosuid`, `nodev`) merged with the user's options, an unknown option refused.
pub fn tmpfs_mount(destination: &str, options: &str) -> Result<Value, SpecError> {
    let bad = |reason: String| SpecError::Tmpfs {
        destination: destination.to_string(),
        reason,
    };
    if !destination.starts_with('/') || destination == "/" {
        return Err(bad(
            "the destination must be an absolute path other than /".into()
        ));
    }
    let mut flags: Vec<String> = vec!["noexec".into(), "nosuid".into(), "nodev".into()];
    let mut data: BTreeMap<String, String> = BTreeMap::new();
    for opt in options.split(',').map(str::trim).filter(|o| !o.is_empty()) {
        if let Some((k, v)) = opt.split_once('=') {
            if !TMPFS_DATA.contains(&k) || v.is_empty() {
                return Err(bad(format!("invalid tmpfs option {opt:?}")));
            }
            if k == "mode" && u32::from_str_radix(v, 8).is_err() {
                return Err(bad(format!("invalid tmpfs mode {v:?} (octal)")));
            }
            if k == "size" && !valid_tmpfs_size(v) {
                return Err(bad(format!("invalid tmpfs size {v:?}")));
            }
            data.insert(k.to_string(), v.to_string());
            continue;
        }
        let pair = TMPFS_FLAGS
            .iter()
            .find(|(a, b)| *a == opt || (!b.is_empty() && *b == opt))
            .ok_or_else(|| bad(format!("invalid tmpfs option {opt:?}")))?;
        flags.retain(|f| f != pair.0 && f != pair.1);
        flags.push(opt.to_string());
    }
    let mut options = flags;
    options.extend(data.into_iter().map(|(k, v)| format!("{k}={v}")));
    Ok(json!({"destination": destination, "type": "tmpfs", "source": "tmpfs", "options": options}))
}

/// tmpfs's own size syntax: a number with an optional k, m, g (any case) or `%` suffix.
fn valid_tmpfs_size(v: &str) -> bool {
    let digits = v.trim_end_matches(['k', 'K', 'm', 'M', 'g', 'G', '%']);
    !digits.is_empty() && v.len() - digits.len() <= 1 && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Which namespaces of the host a container shares, for the checks on its sysctls.
#[derive(Debug, Clone, Copy, Default)]
pub struct SharedWithHost {
    pub network: bool,
    pub ipc: bool,
    pub uts: bool,
}

/// IPC sysctls that live in the IPC namespace (runc's list), plus everything under `fs.mqueue.`.
const IPC_SYSCTLS: &[&str] = &[
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
];

/// Refuses a `--sysctl` that is not namespaced, or whose namespace the container shares with
/// the host — it would change the host (runc's rules and wording).
pub fn check_sysctl(key: &str, shared: SharedWithHost) -> Result<(), SpecError> {
    let refuse = |reason: String| {
        Err(SpecError::Sysctl {
            key: key.to_string(),
            reason,
        })
    };
    let well_formed = !key.is_empty()
        && key.split('.').all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
        });
    if !well_formed {
        return refuse(format!(
            "sysctl {key:?} is not a valid kernel parameter name"
        ));
    }
    if IPC_SYSCTLS.contains(&key) || key.starts_with("fs.mqueue.") {
        if shared.ipc {
            return refuse(format!(
                "sysctl {key:?} is not allowed in the hosts ipc namespace"
            ));
        }
        return Ok(());
    }
    if key.starts_with("net.") {
        if shared.network {
            return refuse(format!(
                "sysctl {key:?} not allowed in host network namespace"
            ));
        }
        return Ok(());
    }
    match key {
        "kernel.domainname" if !shared.uts => Ok(()),
        "kernel.hostname" => refuse(format!(
            "sysctl {key:?} is not allowed as it conflicts with the OCI \"hostname\" field"
        )),
        _ => refuse(format!(
            "sysctl {key:?} is not in a separate kernel namespace"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(host: &str, ctr: &str, perms: &str) -> DeviceMapping {
        DeviceMapping {
            path_on_host: host.into(),
            path_in_container: ctr.into(),
            permissions: perms.into(),
        }
    }

    #[test]
    fn devices_resolve_like_dockerd() {
        let d = resolve_device(&mapping("/dev/null", "/dev/mynull", "rw")).unwrap();
        assert_eq!(d.len(), 1);
        assert_eq!((d[0].kind, d[0].major, d[0].minor), ('c', 1, 3));
        assert_eq!(d[0].path, "/dev/mynull");
        assert_eq!(d[0].cgroup_rule()["access"], "rw");
        let same = resolve_device(&mapping("/dev/zero", "", "")).unwrap();
        assert_eq!(
            (same[0].path.as_str(), same[0].access.as_str()),
            ("/dev/zero", "rwm")
        );
        let err = resolve_device(&mapping("/dev/nope", "", "")).unwrap_err();
        assert!(err.to_string().contains("/dev/nope"), "{err}");
        assert!(
            err.to_string().contains("no such file or directory"),
            "{err}"
        );
        assert!(resolve_device(&mapping("/etc/passwd", "", "")).is_err());
        assert!(resolve_device(&mapping("/dev/null", "", "rwx")).is_err());
        assert!(resolve_device(&mapping("/dev/null", "rel", "")).is_err());
    }

    #[test]
    fn device_cgroup_rules_parse() {
        let r = device_cgroup_rule("c 42:* rmw").unwrap();
        assert_eq!(r["major"], 42);
        assert!(r.get("minor").is_none());
        assert!(device_cgroup_rule("x 1:2 r").is_err());
        assert!(device_cgroup_rule("c 1:2").is_err());
        assert!(device_cgroup_rule("c a:2 r").is_err());
    }

    #[test]
    fn tmpfs_options_merge_over_the_defaults() {
        let m = tmpfs_mount("/t", "size=64m,exec,mode=1770").unwrap();
        let opts: Vec<String> = serde_json::from_value(m["options"].clone()).unwrap();
        assert_eq!(
            opts,
            vec!["nosuid", "nodev", "exec", "mode=1770", "size=64m"]
        );
        assert!(tmpfs_mount("/t", "size=lots").is_err());
        assert!(tmpfs_mount("/t", "mode=999").is_err());
        assert!(tmpfs_mount("/t", "bogus").is_err());
        assert!(tmpfs_mount("t", "").is_err());
        assert!(tmpfs_mount("/t", "size=50%").is_ok());
    }

    #[test]
    fn only_namespaced_sysctls_pass() {
        let private = SharedWithHost::default();
        check_sysctl("kernel.shmmax", private).unwrap();
        check_sysctl("net.ipv4.ip_forward", private).unwrap();
        check_sysctl("fs.mqueue.msg_max", private).unwrap();
        let e = check_sysctl("kernel.core_pattern", private).unwrap_err();
        assert!(
            e.to_string()
                .contains("is not in a separate kernel namespace"),
            "{e}"
        );
        let host_net = SharedWithHost {
            network: true,
            ..Default::default()
        };
        assert!(check_sysctl("net.ipv4.ip_forward", host_net).is_err());
        assert!(check_sysctl("kernel.hostname", private).is_err());
        assert!(check_sysctl("../../etc", private).is_err());
    }
}
