//! Every field of a create body is applied or refused: what berth does not implement, and what
//! this host cannot do, is refused at create with a 400 naming the field — never stored and
//! silently ignored. The checks that need the host (device nodes, CPUs, cgroup files) run here
//! too, so that a container that was created can start.

use api_types::{ContainerConfig, ContainerCreateRequest, HostConfig, ThrottleDevice};
use runtime::spec::{host, DeviceMapping, SharedWithHost};
use serde_json::Value;

use crate::error::{Error, Result};

/// Every check of a create request that needs neither the image nor other containers: what
/// `create` runs first, and what the API fuzz target drives.
pub fn check_create_request(req: &ContainerCreateRequest) -> Result<()> {
    if req.config.image.is_empty() {
        return Err(Error::invalid(
            "config cannot be empty in order to create a container",
        ));
    }
    super::config::validate_host_config(&req.host_config)?;
    check_host_config(&req.host_config)?;
    check_config(&req.config)?;
    super::mounts::from_host_config(&req.host_config)?;
    Ok(())
}

/// `HostConfig` fields of the Engine API that berth does not implement, with the reason given
/// when one is set.
const UNSUPPORTED_HOST_FIELDS: &[(&str, &str)] = &[
    (
        "BlkioWeightDevice",
        "per-device Block I/O weights are not supported by berth",
    ),
    (
        "CpuRealtimePeriod",
        "real-time CPU scheduling is not supported by berth",
    ),
    (
        "CpuRealtimeRuntime",
        "real-time CPU scheduling is not supported by berth",
    ),
    (
        "DeviceRequests",
        "device requests (--gpus) are not supported by berth",
    ),
    (
        "KernelMemory",
        "kernel memory limits are not supported (deprecated by the kernel)",
    ),
    (
        "KernelMemoryTCP",
        "kernel TCP memory limits are not supported (deprecated by the kernel)",
    ),
    ("CpuCount", "CpuCount is only supported on Windows"),
    ("CpuPercent", "CpuPercent is only supported on Windows"),
    (
        "IOMaximumIOps",
        "IOMaximumIOps is only supported on Windows",
    ),
    (
        "IOMaximumBandwidth",
        "IOMaximumBandwidth is only supported on Windows",
    ),
    (
        "StorageOpt",
        "--storage-opt is supported only for overlay over xfs with 'pquota' mount option",
    ),
    (
        "Cgroup",
        "joining another container's cgroup is not supported by berth",
    ),
];

/// Whether an unknown or refused field carries nothing (null, false, 0, "", [] or {}).
pub(crate) fn unset(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

fn refuse(field: &str, reason: impl std::fmt::Display) -> Error {
    Error::invalid(format!("HostConfig.{field}: {reason}"))
}

/// Checks the namespace modes, runtime, isolation and the fields berth does not implement.
pub fn check_host_config(hc: &HostConfig) -> Result<()> {
    for (field, reason) in UNSUPPORTED_HOST_FIELDS {
        if hc.extra.get(*field).is_some_and(|v| !unset(v)) {
            return Err(refuse(field, reason));
        }
    }
    if let Some(v) = hc.extra.get("BlkioWeight").filter(|v| !unset(v)) {
        let weight = v.as_u64().filter(|w| (10..=1000).contains(w));
        if weight.is_none() {
            return Err(refuse(
                "BlkioWeight",
                format!("invalid weight {v}: range is 10 to 1000"),
            ));
        }
        if !blkio_weight_supported() {
            return Err(refuse(
                "BlkioWeight",
                "this kernel does not support Block I/O weight (no blkio.weight or io.weight)",
            ));
        }
    }
    check_mode(
        "IPC",
        &hc.ipc_mode,
        &["private", "shareable", "host", "none"],
        true,
    )?;
    check_mode("PID", &hc.pid_mode, &["host"], true)?;
    check_mode("UTS", &hc.uts_mode, &["host"], false)?;
    check_mode("userns", &hc.userns_mode, &["host"], false)?;
    // The runtime's name is checked at create, against the daemon's runtimes.
    match hc.extra.get("Isolation").and_then(Value::as_str) {
        None | Some("") | Some("default") => {}
        Some(other) => {
            return Err(Error::invalid(format!(
                "invalid isolation '{other}' on linux"
            )))
        }
    }
    match hc.volume_driver.as_str() {
        "" | "local" => {}
        other => {
            return Err(Error::invalid(format!(
                "error looking up volume plugin {other}: plugin \"{other}\" not found"
            )))
        }
    }
    check_resources(hc)?;
    check_host_resources(hc)
}

/// `mode` is empty, one of `allowed`, or (with `join`) `container:<name>`.
fn check_mode(what: &str, mode: &str, allowed: &[&str], join: bool) -> Result<()> {
    if mode.is_empty() || allowed.contains(&mode) {
        return Ok(());
    }
    if join
        && mode
            .strip_prefix("container:")
            .is_some_and(|c| !c.is_empty())
    {
        return Ok(());
    }
    Err(Error::invalid(format!("invalid {what} mode: {mode}")))
}

fn blkio_weight_supported() -> bool {
    if runtime::cgroup::is_v2_only() {
        // v2: the io controller's weight, when a scheduler that honours it is in use.
        return std::path::Path::new("/sys/fs/cgroup/io.weight").exists()
            || std::path::Path::new("/sys/fs/cgroup/io.bfq.weight").exists();
    }
    std::path::Path::new("/sys/fs/cgroup/blkio/blkio.weight").exists()
        || std::path::Path::new("/sys/fs/cgroup/blkio/blkio.bfq.weight").exists()
}

/// dockerd's range checks of the CPU and memory fields berth applies.
fn check_resources(hc: &HostConfig) -> Result<()> {
    if hc.cpu_period != 0 && !(1000..=1_000_000).contains(&hc.cpu_period) {
        return Err(Error::invalid(
            "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)",
        ));
    }
    if hc.cpu_quota != 0 && hc.cpu_quota != -1 && hc.cpu_quota < 1000 {
        return Err(Error::invalid(
            "CPU cfs quota can not be less than 1ms (i.e. 1000)",
        ));
    }
    if hc.memory_reservation != 0 && hc.memory_reservation < super::config::MIN_MEMORY {
        return Err(Error::invalid("Minimum memory reservation allowed is 6MB"));
    }
    if hc.memory > 0 && hc.memory_reservation > hc.memory {
        return Err(Error::invalid(
            "Minimum memory limit can not be less than memory reservation limit, see usage",
        ));
    }
    if let Some(s) = hc.memory_swappiness.filter(|s| *s != -1) {
        if !(0..=100).contains(&s) {
            return Err(Error::invalid(format!(
                "Invalid value: {s}, valid memory swappiness range is 0-100"
            )));
        }
    }
    if hc.oom_kill_disable == Some(true) && runtime::cgroup::is_v2_only() {
        return Err(refuse(
            "OomKillDisable",
            "disabling the OOM killer is not supported on cgroup v2",
        ));
    }
    for (field, value, available) in [
        ("CpusetCpus", &hc.cpuset_cpus, "cpus"),
        ("CpusetMems", &hc.cpuset_mems, "mems"),
    ] {
        if value.is_empty() {
            continue;
        }
        let wanted = parse_list(value).ok_or_else(|| {
            Error::invalid(format!("Invalid value {value} for cpuset {available}"))
        })?;
        let have = available_set(available);
        if let Some(have) = have {
            if !wanted.iter().all(|n| have.contains(n)) {
                let what = if available == "cpus" {
                    "CPUs"
                } else {
                    "Memory nodes"
                };
                return Err(refuse(
                    field,
                    format!(
                        "Requested {what} are not available - requested {value}, available: {}",
                        format_list(&have)
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Parses a cpuset list (`0-2,4`).
fn parse_list(s: &str) -> Option<Vec<u32>> {
    let mut out = Vec::new();
    for part in s.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (u32, u32) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
                if a > b || b - a > 4096 {
                    return None;
                }
                out.extend(a..=b);
            }
            None => out.push(part.trim().parse().ok()?),
        }
    }
    Some(out)
}

fn format_list(v: &[u32]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < v.len() {
        let mut j = i;
        while j + 1 < v.len() && v[j + 1] == v[j] + 1 {
            j += 1;
        }
        parts.push(if i == j {
            v[i].to_string()
        } else {
            format!("{}-{}", v[i], v[j])
        });
        i = j + 1;
    }
    parts.join(",")
}

/// The CPUs or memory nodes this host's root cpuset allows.
fn available_set(which: &str) -> Option<Vec<u32>> {
    let file = if runtime::cgroup::is_v2_only() {
        format!("/sys/fs/cgroup/cpuset.{which}.effective")
    } else {
        format!("/sys/fs/cgroup/cpuset/cpuset.{which}")
    };
    let text = std::fs::read_to_string(file).ok()?;
    let mut v = parse_list(text.trim())?;
    v.sort_unstable();
    v.dedup();
    Some(v)
}

/// What the container shares with the host, for the sysctl checks.
pub fn shared_with_host(hc: &HostConfig) -> SharedWithHost {
    SharedWithHost {
        network: hc.network_mode == "host",
        ipc: hc.ipc_mode == "host" || hc.ipc_mode.starts_with("container:"),
        uts: hc.uts_mode == "host",
    }
}

/// The `--device` mappings of a host config.
pub fn device_mappings(hc: &HostConfig) -> Vec<DeviceMapping> {
    hc.devices
        .iter()
        .flatten()
        .map(|d| DeviceMapping {
            path_on_host: d.path_on_host.clone(),
            path_in_container: d.path_in_container.clone(),
            permissions: d.cgroup_permissions.clone(),
        })
        .collect()
}

/// Devices, device rules, tmpfs mounts, sysctls and I/O limits: the parts of the runtime spec
/// the host config adds, built once here so that a bad one fails the create.
fn check_host_resources(hc: &HostConfig) -> Result<()> {
    let spec_err = |e: runtime::spec::SpecError| Error::invalid(e.to_string());
    for m in device_mappings(hc) {
        host::resolve_device(&m).map_err(spec_err)?;
    }
    for rule in hc.device_cgroup_rules.iter().flatten() {
        host::device_cgroup_rule(rule).map_err(spec_err)?;
    }
    for (dest, opts) in hc.tmpfs.iter().flatten() {
        host::tmpfs_mount(dest, opts).map_err(spec_err)?;
    }
    let shared = shared_with_host(hc);
    for key in hc.sysctls.iter().flatten().map(|(k, _)| k) {
        host::check_sysctl(key, shared).map_err(spec_err)?;
    }
    for (field, list) in throttles(hc) {
        for t in list {
            block_device(&t.path).map_err(|reason| refuse(field, reason))?;
        }
    }
    Ok(())
}

fn throttles(hc: &HostConfig) -> [(&'static str, &[ThrottleDevice]); 4] {
    fn v(o: &Option<Vec<ThrottleDevice>>) -> &[ThrottleDevice] {
        o.as_deref().unwrap_or(&[])
    }
    [
        ("BlkioDeviceReadBps", v(&hc.blkio_device_read_bps)),
        ("BlkioDeviceWriteBps", v(&hc.blkio_device_write_bps)),
        ("BlkioDeviceReadIOps", v(&hc.blkio_device_read_iops)),
        ("BlkioDeviceWriteIOps", v(&hc.blkio_device_write_iops)),
    ]
}

/// The major and minor numbers of a block device.
fn block_device(path: &str) -> std::result::Result<(u64, u64), String> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let meta = std::fs::metadata(path).map_err(|e| format!("{path}: {e}"))?;
    if !meta.file_type().is_block_device() {
        return Err(format!("{path} is not a block device"));
    }
    Ok((
        libc::major(meta.rdev()) as u64,
        libc::minor(meta.rdev()) as u64,
    ))
}

/// The block I/O limits of a host config as the runtime takes them (checked at create).
pub fn blkio_limits(hc: &HostConfig) -> runtime::spec::BlkioLimits {
    let resolve = |list: &[ThrottleDevice]| {
        list.iter()
            .filter_map(|t| block_device(&t.path).ok().map(|(a, b)| (a, b, t.rate)))
            .collect()
    };
    let [rb, wb, ri, wi] = throttles(hc);
    runtime::spec::BlkioLimits {
        weight: hc
            .extra
            .get("BlkioWeight")
            .and_then(Value::as_u64)
            .filter(|w| *w > 0)
            .map(|w| w as u16),
        read_bps: resolve(rb.1),
        write_bps: resolve(wb.1),
        read_iops: resolve(ri.1),
        write_iops: resolve(wi.1),
    }
}

/// The kernel's limit on a host or domain name (`HOST_NAME_MAX`, `sethostname(2)`).
const HOST_NAME_MAX: usize = 64;

/// Checks the parts of `Config` berth acts on or refuses, and the values the kernel would
/// refuse at start (a start failure would be a 500 with a vaguer message).
pub fn check_config(config: &ContainerConfig) -> Result<()> {
    for (field, name) in [
        ("Hostname", &config.hostname),
        ("Domainname", &config.domainname),
    ] {
        if name.len() > HOST_NAME_MAX {
            return Err(Error::invalid(format!(
                "invalid {field} \"{}…\": {} characters, the limit is {HOST_NAME_MAX}",
                name.chars().take(16).collect::<String>(),
                name.len()
            )));
        }
        if name.contains(['\0', '/']) {
            return Err(Error::invalid(format!("invalid {field} {name:?}")));
        }
    }
    let strings = [
        ("Env", config.env.as_deref().unwrap_or(&[])),
        ("Cmd", config.cmd.as_deref().map_or(&[][..], |c| &c[..])),
        (
            "Entrypoint",
            config.entrypoint.as_deref().map_or(&[][..], |c| &c[..]),
        ),
    ];
    for (field, list) in strings {
        if let Some(bad) = list.iter().find(|s| s.contains('\0')) {
            return Err(Error::invalid(format!(
                "invalid {field} entry {bad:?}: it contains a NUL byte"
            )));
        }
    }
    if config.working_dir.contains('\0') {
        return Err(Error::invalid("invalid WorkingDir: it contains a NUL byte"));
    }
    if let Some(hc) = &config.healthcheck {
        check_healthcheck(hc)?;
    }
    if let Some(dst) = config
        .volumes
        .iter()
        .flatten()
        .map(|(k, _)| k)
        .find(|k| !k.starts_with('/'))
    {
        return Err(Error::invalid(format!(
            "invalid volume specification: '{dst}': invalid mount config for type \"volume\": invalid mount path: '{dst}' mount path must be absolute"
        )));
    }
    Ok(())
}

/// dockerd's checks of a healthcheck: durations of at least 1 ms (or 0, the default), no
/// negative retries, a known test kind.
pub fn check_healthcheck(hc: &api_types::HealthConfig) -> Result<()> {
    const MIN: i64 = 1_000_000;
    for (field, v) in [
        ("Interval", hc.interval),
        ("Timeout", hc.timeout),
        ("StartPeriod", hc.start_period),
        ("StartInterval", hc.start_interval),
    ] {
        if let Some(v) = v.filter(|v| *v != 0) {
            if v < MIN {
                return Err(Error::invalid(format!(
                    "{field} in Healthcheck cannot be less than 1ms"
                )));
            }
        }
    }
    if hc.retries.is_some_and(|r| r < 0) {
        return Err(Error::invalid("Retries in Healthcheck cannot be negative"));
    }
    if let Some(kind) = hc.test.as_ref().and_then(|t| t.first()) {
        if !matches!(kind.as_str(), "NONE" | "CMD" | "CMD-SHELL") {
            return Err(Error::invalid(format!(
                "unknown healthcheck type {kind:?} (expected NONE, CMD or CMD-SHELL)"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn healthchecks_are_checked_like_dockerd() {
        let hc = |j: &str| -> api_types::HealthConfig { serde_json::from_str(j).unwrap() };
        check_healthcheck(&hc(r#"{"Test":["CMD-SHELL","true"],"Interval":1000000}"#)).unwrap();
        let e = check_healthcheck(&hc(r#"{"Interval":5}"#))
            .unwrap_err()
            .to_string();
        assert_eq!(e, "Interval in Healthcheck cannot be less than 1ms");
        assert!(check_healthcheck(&hc(r#"{"Retries":-1}"#)).is_err());
        assert!(check_healthcheck(&hc(r#"{"Test":["SHELL","x"]}"#)).is_err());
    }

    #[test]
    fn unsupported_fields_are_refused_by_name_unless_unset() {
        let mut hc = HostConfig::default();
        hc.extra.insert("KernelMemoryTCP".into(), Value::from(0));
        hc.extra.insert("DeviceRequests".into(), Value::Null);
        hc.extra.insert("CpuCount".into(), Value::from(0));
        check_host_config(&hc).unwrap();
        hc.extra.insert(
            "DeviceRequests".into(),
            serde_json::json!([{"Driver": "nvidia"}]),
        );
        let e = check_host_config(&hc).unwrap_err().to_string();
        assert!(e.contains("HostConfig.DeviceRequests"), "{e}");
    }

    #[test]
    fn modes() {
        let mut hc = HostConfig {
            ipc_mode: "shareable".into(),
            pid_mode: "container:web".into(),
            uts_mode: "host".into(),
            ..Default::default()
        };
        check_host_config(&hc).unwrap();
        hc.ipc_mode = "sideways".into();
        let e = check_host_config(&hc).unwrap_err().to_string();
        assert_eq!(e, "invalid IPC mode: sideways");
        hc.ipc_mode = String::new();
        hc.runtime = "crun".into();
        check_host_config(&hc).unwrap();
    }

    #[test]
    fn cpusets_are_checked_against_the_host() {
        assert_eq!(parse_list("0-2,4"), Some(vec![0, 1, 2, 4]));
        assert_eq!(parse_list("2-1"), None);
        assert_eq!(format_list(&[0, 1, 2, 4, 6, 7]), "0-2,4,6-7");
        let hc = HostConfig {
            cpuset_cpus: "0-4095".into(),
            ..Default::default()
        };
        let e = check_host_config(&hc).unwrap_err().to_string();
        assert!(e.contains("Requested CPUs are not available"), "{e}");
        let hc = HostConfig {
            cpuset_cpus: "0".into(),
            ..Default::default()
        };
        check_host_config(&hc).unwrap();
    }
}
