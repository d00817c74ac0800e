//! `run`/`create` flags to a `POST /containers/create` body, following docker's
//! `containerOptions.parse`: the same defaults, the same validation, the same messages.

use std::collections::BTreeMap;

use api_types::network::{EndpointIpamConfig, EndpointSettings};
use api_types::{
    ContainerConfig, ContainerCreateRequest, HealthConfig, HostConfig, LogConfig, NetworkingConfig,
};
use serde_json::json;

use super::kvfile;
use super::ports::Ports;
use super::values::{
    duration_nanos, int, parse_cpus, parse_restart, parse_ulimit, validate_env, validate_label,
    validate_sysctl,
};
use crate::args::ContainerFlags;
use crate::format::units::ram_in_bytes;

/// Why flags could not become a container config.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptsError {
    /// A flag's value is malformed: pflag's wording, shown with usage.
    #[error("invalid argument {value:?} for \"{flag}\" flag: {reason}")]
    Flag {
        flag: &'static str,
        value: String,
        reason: String,
    },
    /// The combination or content is invalid: shown as `berth: <reason>`.
    #[error("{reason}")]
    Invalid { reason: String },
}

fn invalid(reason: impl Into<String>) -> OptsError {
    OptsError::Invalid {
        reason: reason.into(),
    }
}

fn flag_err<'a>(flag: &'static str, value: &'a str) -> impl Fn(String) -> OptsError + 'a {
    move |reason| OptsError::Flag {
        flag,
        value: value.to_string(),
        reason,
    }
}

/// Parses an optional flag value with `f`, naming the flag in errors.
fn opt<T>(
    v: &Option<String>,
    flag: &'static str,
    f: impl Fn(&str) -> Result<T, String>,
) -> Result<Option<T>, OptsError> {
    v.as_deref()
        .map(|s| f(s).map_err(flag_err(flag, s)))
        .transpose()
}

/// The create request for `flags`; `args[0]` is the image, the rest the command.
pub fn parse(flags: &ContainerFlags) -> Result<ContainerCreateRequest, OptsError> {
    let (image, cmd) = flags
        .args
        .split_first()
        .ok_or_else(|| invalid("requires at least 1 argument"))?;
    let mut config = ContainerConfig {
        image: image.clone(),
        ..Default::default()
    };
    let mut host = HostConfig::default();
    stdio(flags, &mut config)?;
    if !cmd.is_empty() {
        config.cmd = Some(cmd.to_vec().into());
    }
    config.entrypoint = flags.entrypoint.as_ref().map(|e| vec![e.clone()].into());
    config.hostname = flags.hostname.clone().unwrap_or_default();
    config.domainname = flags.domainname.clone().unwrap_or_default();
    config.user = flags.user.clone().unwrap_or_default();
    config.working_dir = flags.workdir.clone().unwrap_or_default();
    config.stop_signal = flags.stop_signal.clone().filter(|s| !s.is_empty());
    config.stop_timeout = opt(&flags.stop_timeout, "--stop-timeout", int)?;
    config.env = Some(env(flags)?);
    config.labels = Some(labels(flags)?);
    config.healthcheck = health(flags)?;
    if let Some(mac) = &flags.mac_address {
        if !valid_mac(mac) {
            return Err(invalid(format!("{mac} is not a valid mac address")));
        }
    }
    ports(flags, &mut config, &mut host)?;
    volumes(flags, &mut config, &mut host);
    super::mount::apply(flags, &mut host)?;
    resources(flags, &mut host)?;
    security(flags, &mut host)?;
    namespaces(flags, &mut host)?;
    logging(flags, &mut host)?;
    host.restart_policy = parse_restart(flags.restart.as_deref().unwrap_or("")).map_err(invalid)?;
    host.auto_remove = flags.rm.unwrap_or(false);
    if host.auto_remove && !matches!(host.restart_policy.name.as_str(), "" | "no") {
        return Err(invalid(
            "conflicting options: cannot specify both --restart and --rm",
        ));
    }
    host.init = flags.init;
    host.privileged = flags.privileged.unwrap_or(false);
    host.readonly_rootfs = flags.read_only.unwrap_or(false);
    host.container_id_file = flags.cidfile.clone().unwrap_or_default();
    host.runtime = flags.runtime.clone().unwrap_or_default();
    host.extra_hosts = non_empty(&flags.add_host);
    host.group_add = non_empty(&flags.group_add);
    // docker never sends nil DNS lists for new containers.
    host.dns = Some(flags.dns.clone());
    host.dns_search = Some(flags.dns_search.clone());
    host.dns_options = Some(flags.dns_option.clone());
    if let Some(iso) = &flags.isolation {
        host.extra.insert("Isolation".into(), json!(iso));
    }
    if !flags.annotation.is_empty() {
        let map: BTreeMap<String, String> = flags.annotation.iter().map(|a| split_kv(a)).collect();
        host.extra.insert("Annotations".into(), json!(map));
    }
    let networking = network(flags, &mut host)?;
    Ok(ContainerCreateRequest {
        config,
        host_config: host,
        networking_config: networking,
    })
}

fn non_empty(v: &[String]) -> Option<Vec<String>> {
    (!v.is_empty()).then(|| v.to_vec())
}

fn split_kv(s: &str) -> (String, String) {
    match s.split_once('=') {
        Some((k, v)) => (k.to_string(), v.to_string()),
        None => (s.to_string(), String::new()),
    }
}

/// `-a`, `-i`, `-t`: which streams are attached.
fn stdio(flags: &ContainerFlags, config: &mut ContainerConfig) -> Result<(), OptsError> {
    for a in &flags.attach {
        if !matches!(a.to_lowercase().as_str(), "stdin" | "stdout" | "stderr") {
            return Err(OptsError::Flag {
                flag: "-a, --attach",
                value: a.clone(),
                reason: "valid streams are STDIN, STDOUT and STDERR".into(),
            });
        }
    }
    let has = |s: &str| flags.attach.iter().any(|a| a.eq_ignore_ascii_case(s));
    config.tty = flags.tty.unwrap_or(false);
    config.open_stdin = flags.interactive.unwrap_or(false);
    config.attach_stdin = has("stdin") || config.open_stdin;
    config.attach_stdout = has("stdout") || flags.attach.is_empty();
    config.attach_stderr = has("stderr") || flags.attach.is_empty();
    // Stdin allocated in attached mode is closed when the client disconnects.
    config.stdin_once = config.open_stdin && config.attach_stdin;
    Ok(())
}

/// `--env-file` entries first, then `-e`, which override them.
fn env(flags: &ContainerFlags) -> Result<Vec<String>, OptsError> {
    let lookup = |k: &str| std::env::var(k).ok();
    let mut out = Vec::new();
    for f in &flags.env_file {
        out.extend(kvfile::parse_file(f, Some(&lookup)).map_err(invalid)?);
    }
    for e in &flags.env {
        out.push(validate_env(e).map_err(flag_err("-e, --env", e))?);
    }
    Ok(out)
}

fn labels(flags: &ContainerFlags) -> Result<BTreeMap<String, String>, OptsError> {
    let mut all = Vec::new();
    for f in &flags.label_file {
        all.extend(kvfile::parse_file(f, None).map_err(invalid)?);
    }
    for l in &flags.label {
        validate_label(l).map_err(flag_err("-l, --label", l))?;
        all.push(l.clone());
    }
    Ok(all.iter().map(|l| split_kv(l)).collect())
}

fn health(flags: &ContainerFlags) -> Result<Option<HealthConfig>, OptsError> {
    let interval = opt(&flags.health_interval, "--health-interval", duration_nanos)?;
    let timeout = opt(&flags.health_timeout, "--health-timeout", duration_nanos)?;
    let start = opt(
        &flags.health_start_period,
        "--health-start-period",
        duration_nanos,
    )?;
    let start_interval = opt(
        &flags.health_start_interval,
        "--health-start-interval",
        duration_nanos,
    )?;
    let retries = opt(&flags.health_retries, "--health-retries", int)?;
    let any = flags.health_cmd.is_some()
        || interval.is_some()
        || timeout.is_some()
        || start.is_some()
        || start_interval.is_some()
        || retries.is_some();
    if flags.no_healthcheck.unwrap_or(false) {
        if any {
            return Err(invalid(
                "--no-healthcheck conflicts with --health-* options",
            ));
        }
        return Ok(Some(HealthConfig {
            test: Some(vec!["NONE".into()]),
            ..Default::default()
        }));
    }
    if !any {
        return Ok(None);
    }
    for (v, name) in [
        (interval, "interval"),
        (timeout, "timeout"),
        (start, "start-period"),
        (start_interval, "start-interval"),
        (retries, "retries"),
    ] {
        if v.is_some_and(|v| v < 0) {
            return Err(invalid(format!("--health-{name} cannot be negative")));
        }
    }
    Ok(Some(HealthConfig {
        test: flags
            .health_cmd
            .as_ref()
            .map(|c| vec!["CMD-SHELL".into(), c.clone()]),
        interval,
        timeout,
        retries,
        start_period: start,
        start_interval,
    }))
}

fn ports(
    flags: &ContainerFlags,
    config: &mut ContainerConfig,
    host: &mut HostConfig,
) -> Result<(), OptsError> {
    let mut p = Ports::default();
    for raw in &flags.publish {
        p.publish(&long_publish(raw)?).map_err(invalid)?;
    }
    for e in &flags.expose {
        p.expose(e).map_err(invalid)?;
    }
    config.exposed_ports =
        (!p.exposed.is_empty()).then(|| p.exposed.keys().map(|k| (k.clone(), json!({}))).collect());
    host.port_bindings = Some(p.bindings.into_iter().map(|(k, v)| (k, Some(v))).collect());
    host.publish_all_ports = flags.publish_all.unwrap_or(false);
    Ok(())
}

/// `-p published=8080,target=80[,protocol=udp]` in docker's standard notation.
fn long_publish(raw: &str) -> Result<String, OptsError> {
    if !raw.contains('=') {
        return Ok(raw.to_string());
    }
    let mut params: BTreeMap<&str, &str> = BTreeMap::from([("protocol", "tcp")]);
    for param in raw.split(',') {
        match param.split_once('=') {
            Some((k, v)) if !k.is_empty() => {
                params.insert(k, v);
            }
            _ => {
                return Err(invalid(format!(
                    "invalid publish opts format (should be name=value but got '{param}')"
                )))
            }
        }
    }
    let get = |k| params.get(k).copied().unwrap_or("");
    Ok(format!(
        "{}:{}/{}",
        get("published"),
        get("target"),
        get("protocol")
    ))
}

/// `-v`: host paths and named volumes become binds, bare container paths anonymous volumes.
fn volumes(flags: &ContainerFlags, config: &mut ContainerConfig, host: &mut HostConfig) {
    let mut binds = Vec::new();
    let mut anon = BTreeMap::new();
    for v in &flags.volume {
        match v.split_once(':') {
            Some((src, rest)) if !src.is_empty() => {
                let src = if src.starts_with('.') {
                    std::path::absolute(src)
                        .map(|p| p.display().to_string())
                        .unwrap_or_else(|_| src.to_string())
                } else {
                    src.to_string()
                };
                binds.push(format!("{src}:{rest}"));
            }
            _ => {
                anon.insert(v.clone(), json!({}));
            }
        }
    }
    host.binds = non_empty(&binds);
    config.volumes = Some(anon);
    host.volumes_from = non_empty(&flags.volumes_from);
    if !flags.tmpfs.is_empty() {
        host.tmpfs = Some(
            flags
                .tmpfs
                .iter()
                .map(|t| {
                    t.split_once(':')
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .unwrap_or((t.clone(), String::new()))
                })
                .collect(),
        );
    }
}

fn resources(flags: &ContainerFlags, host: &mut HostConfig) -> Result<(), OptsError> {
    host.memory = opt(&flags.memory, "-m, --memory", ram_in_bytes)?.unwrap_or(0);
    host.memory_swap = opt(&flags.memory_swap, "--memory-swap", |s| {
        if s == "-1" {
            Ok(-1)
        } else {
            ram_in_bytes(s)
        }
    })?
    .unwrap_or(0);
    host.memory_reservation = opt(
        &flags.memory_reservation,
        "--memory-reservation",
        ram_in_bytes,
    )?
    .unwrap_or(0);
    host.shm_size = opt(&flags.shm_size, "--shm-size", ram_in_bytes)?.unwrap_or(0);
    if let Some(s) = opt(&flags.memory_swappiness, "--memory-swappiness", int)? {
        if s != -1 && !(0..=100).contains(&s) {
            return Err(invalid(format!(
                "invalid value: {s}. Valid memory swappiness range is 0-100"
            )));
        }
        host.memory_swappiness = (s != -1).then_some(s);
    }
    host.nano_cpus = opt(&flags.cpus, "--cpus", parse_cpus)?.unwrap_or(0);
    host.cpu_shares = opt(&flags.cpu_shares, "-c, --cpu-shares", int)?.unwrap_or(0);
    host.cpu_period = opt(&flags.cpu_period, "--cpu-period", int)?.unwrap_or(0);
    host.cpu_quota = opt(&flags.cpu_quota, "--cpu-quota", int)?.unwrap_or(0);
    host.pids_limit = opt(&flags.pids_limit, "--pids-limit", int)?;
    host.oom_kill_disable = flags.oom_kill_disable;
    host.oom_score_adj = opt(&flags.oom_score_adj, "--oom-score-adj", int)?.unwrap_or(0);
    host.cpuset_cpus = flags.cpuset_cpus.clone().unwrap_or_default();
    host.cpuset_mems = flags.cpuset_mems.clone().unwrap_or_default();
    host.cgroup_parent = flags.cgroup_parent.clone().unwrap_or_default();
    let mut ulimits = Vec::new();
    for u in &flags.ulimit {
        ulimits.push(parse_ulimit(u).map_err(flag_err("--ulimit", u))?);
    }
    host.ulimits = (!ulimits.is_empty()).then_some(ulimits);
    if !flags.sysctl.is_empty() {
        let mut m = BTreeMap::new();
        for s in &flags.sysctl {
            let (k, v) = validate_sysctl(s).map_err(flag_err("--sysctl", s))?;
            m.insert(k, v);
        }
        host.sysctls = Some(m);
    }
    Ok(())
}

fn security(flags: &ContainerFlags, host: &mut HostConfig) -> Result<(), OptsError> {
    host.cap_add = non_empty(&flags.cap_add);
    host.cap_drop = non_empty(&flags.cap_drop);
    let mut opts = Vec::new();
    for o in &flags.security_opt {
        if o == "systempaths=unconfined" {
            host.masked_paths = Some(vec![]);
            host.readonly_paths = Some(vec![]);
            continue;
        }
        opts.push(security_opt(o)?);
    }
    host.security_opt = non_empty(&opts);
    Ok(())
}

/// One `--security-opt`; a seccomp profile path is replaced by the compacted profile, as the
/// daemon cannot read the client's files.
fn security_opt(o: &str) -> Result<String, OptsError> {
    let (k, v) = match o.split_once('=') {
        Some(kv) => kv,
        None if o == "no-new-privileges" => return Ok(o.to_string()),
        None => o.split_once(':').unwrap_or((o, "")),
    };
    if v.is_empty() && k != "no-new-privileges" {
        return Err(invalid(format!("Invalid --security-opt: {o:?}")));
    }
    if k != "seccomp" || v == "unconfined" || v == "builtin" {
        return Ok(o.to_string());
    }
    let data = std::fs::read(v).map_err(|e| {
        invalid(format!(
            "opening seccomp profile ({v}) failed: open {v}: {}",
            kvfile::io_reason(&e)
        ))
    })?;
    serde_json::from_slice::<serde::de::IgnoredAny>(&data).map_err(|e| {
        invalid(format!(
            "compacting json for seccomp profile ({v}) failed: {e}"
        ))
    })?;
    Ok(format!(
        "seccomp={}",
        crate::format::json_indent::compact(&data)
    ))
}

fn namespaces(flags: &ContainerFlags, host: &mut HostConfig) -> Result<(), OptsError> {
    let pid = flags.pid.clone().unwrap_or_default();
    if !(pid.is_empty()
        || pid == "host"
        || pid
            .strip_prefix("container:")
            .is_some_and(|c| !c.is_empty()))
    {
        return Err(invalid("--pid: invalid PID mode"));
    }
    let uts = flags.uts.clone().unwrap_or_default();
    if !(uts.is_empty() || uts == "host") {
        return Err(invalid("--uts: invalid UTS mode"));
    }
    let userns = flags.userns.clone().unwrap_or_default();
    if !(userns.is_empty() || userns == "host") {
        return Err(invalid("--userns: invalid USER mode"));
    }
    let cgroupns = flags.cgroupns.clone().unwrap_or_default();
    if !matches!(cgroupns.as_str(), "" | "host" | "private") {
        return Err(invalid("--cgroupns: invalid CGROUP mode"));
    }
    host.pid_mode = pid;
    host.uts_mode = uts;
    host.userns_mode = userns;
    host.cgroupns_mode = cgroupns;
    host.ipc_mode = flags.ipc.clone().unwrap_or_default();
    Ok(())
}

fn logging(flags: &ContainerFlags, host: &mut HostConfig) -> Result<(), OptsError> {
    let driver = flags.log_driver.clone().unwrap_or_default();
    if driver == "none" && !flags.log_opt.is_empty() {
        return Err(invalid(format!("invalid logging opts for driver {driver}")));
    }
    host.log_config = LogConfig {
        r#type: driver,
        config: flags.log_opt.iter().map(|o| split_kv(o)).collect(),
    };
    Ok(())
}

/// `--network`, `--network-alias`, `--link`, `--ip`, `--ip6`: the mode and its endpoint.
fn network(flags: &ContainerFlags, host: &mut HostConfig) -> Result<NetworkingConfig, OptsError> {
    let mode = flags
        .network
        .first()
        .cloned()
        .unwrap_or_else(|| "default".into());
    let user_defined = !matches!(mode.as_str(), "default" | "bridge" | "host" | "none")
        && !mode.starts_with("container:");
    if flags.network.len() > 1 {
        let mut seen = std::collections::HashSet::new();
        for n in &flags.network {
            if !seen.insert(n) {
                return Err(invalid(format!(
                    "network {n:?} is specified multiple times"
                )));
            }
        }
    }
    if !user_defined && !flags.network_alias.is_empty() {
        return Err(invalid(
            "network-scoped aliases are only supported for user-defined networks",
        ));
    }
    host.network_mode = mode.clone();
    host.links = (!user_defined).then(|| non_empty(&flags.link)).flatten();
    let mut ep = EndpointSettings::default();
    if !flags.network_alias.is_empty() {
        ep.aliases = Some(flags.network_alias.clone());
    }
    if user_defined && !flags.link.is_empty() {
        ep.links = Some(flags.link.clone());
    }
    if flags.ip.is_some() || flags.ip6.is_some() {
        ep.ipam_config = Some(EndpointIpamConfig {
            ipv4_address: flags.ip.clone().unwrap_or_default(),
            ipv6_address: flags.ip6.clone().unwrap_or_default(),
            link_local_ips: Vec::new(),
        });
    }
    if let Some(mac) = &flags.mac_address {
        ep.mac_address = mac.clone();
    }
    let mut endpoints = BTreeMap::new();
    if ep != EndpointSettings::default() {
        endpoints.insert(mode, Some(ep));
    }
    for extra in flags.network.iter().skip(1) {
        endpoints.insert(extra.clone(), Some(EndpointSettings::default()));
    }
    Ok(NetworkingConfig {
        endpoints_config: Some(endpoints),
    })
}

fn valid_mac(mac: &str) -> bool {
    let parts: Vec<&str> = mac.split([':', '-']).collect();
    parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests;
