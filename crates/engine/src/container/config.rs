//! Building a container's effective config at create time, as dockerd does: the image's
//! config is merged under the user's (env by key, labels by key; an explicit entrypoint drops
//! the image's cmd), host-config values are checked, and the command line is derived.

use api_types::serde_util::StrSlice;
use api_types::{ContainerConfig, HostConfig};

use crate::error::{Error, Result};
use crate::image::ImageDefaults;

/// Docker's minimum memory limit (6 MiB).
pub const MIN_MEMORY: i64 = 6 * 1024 * 1024;

/// Merges `image` under `user` the way dockerd's `merge` does.
pub fn merge(mut user: ContainerConfig, image: &ImageDefaults) -> ContainerConfig {
    if user.user.is_empty() {
        user.user = image.user.clone();
    }
    // Env: image first, user entries override by key.
    let mut env: Vec<String> = image.env.clone();
    for e in user.env.take().unwrap_or_default() {
        let key = e.split('=').next().unwrap_or("").to_string();
        match env
            .iter_mut()
            .find(|x| x.split('=').next().unwrap_or("") == key)
        {
            Some(slot) => *slot = e,
            None => env.push(e),
        }
    }
    user.env = Some(env);
    let user_has_entrypoint = user.entrypoint.as_ref().is_some_and(|e| !e.is_empty());
    if user.cmd.as_ref().is_none_or(|c| c.is_empty()) && !user_has_entrypoint {
        user.cmd = image.cmd.clone().map(StrSlice);
    }
    if user.entrypoint.is_none() {
        user.entrypoint = image.entrypoint.clone().map(StrSlice);
    } else if user
        .entrypoint
        .as_ref()
        .is_some_and(|e| e.len() == 1 && e[0].is_empty())
    {
        // `--entrypoint ""` clears the image's entrypoint.
        user.entrypoint = None;
    }
    if user.working_dir.is_empty() {
        user.working_dir = image.working_dir.clone();
    }
    let mut labels = image.labels.clone();
    labels.extend(user.labels.take().unwrap_or_default());
    user.labels = Some(labels);
    let mut ports = image.exposed_ports.clone();
    ports.extend(user.exposed_ports.take().unwrap_or_default());
    user.exposed_ports = (!ports.is_empty()).then_some(ports);
    let mut volumes = image.volumes.clone();
    volumes.extend(user.volumes.take().unwrap_or_default());
    user.volumes = (!volumes.is_empty()).then_some(volumes);
    if user.stop_signal.is_none() {
        user.stop_signal = image.stop_signal.clone();
    }
    user.healthcheck = merge_healthcheck(user.healthcheck.take(), image.healthcheck.as_ref());
    if user.shell.is_none() {
        user.shell = image.shell.clone();
    }
    if user.on_build.is_none() {
        user.on_build = image.on_build.clone();
    }
    user
}

/// The user's healthcheck over the image's, field by field (dockerd's `merge`): a test, an
/// interval … the user leaves unset comes from the image's `HEALTHCHECK`.
fn merge_healthcheck(
    user: Option<api_types::HealthConfig>,
    image: Option<&api_types::HealthConfig>,
) -> Option<api_types::HealthConfig> {
    let Some(image) = image else {
        return user;
    };
    let Some(mut u) = user else {
        return Some(image.clone());
    };
    if u.test.as_ref().is_none_or(|t| t.is_empty()) {
        u.test = image.test.clone();
    }
    let pick = |mine: Option<i64>, theirs: Option<i64>| match mine {
        Some(v) if v != 0 => Some(v),
        _ => theirs,
    };
    u.interval = pick(u.interval, image.interval);
    u.timeout = pick(u.timeout, image.timeout);
    u.start_period = pick(u.start_period, image.start_period);
    u.start_interval = pick(u.start_interval, image.start_interval);
    u.retries = pick(u.retries, image.retries);
    Some(u)
}

/// The process to run: entrypoint followed by cmd. `Err` when both are empty, with dockerd's
/// message.
pub fn command_line(config: &ContainerConfig) -> Result<(String, Vec<String>)> {
    let mut argv: Vec<String> = Vec::new();
    if let Some(ep) = &config.entrypoint {
        argv.extend(ep.iter().cloned());
    }
    if let Some(cmd) = &config.cmd {
        argv.extend(cmd.iter().cloned());
    }
    if argv.is_empty() {
        return Err(Error::invalid("no command specified"));
    }
    let path = argv.remove(0);
    Ok((path, argv))
}

/// Checks the host config values berth acts on, with dockerd's messages.
pub fn validate_host_config(hc: &HostConfig) -> Result<()> {
    if hc.memory != 0 && hc.memory < MIN_MEMORY {
        return Err(Error::invalid("Minimum memory limit allowed is 6MB"));
    }
    if hc.memory_swap > 0 && hc.memory > 0 && hc.memory_swap < hc.memory {
        return Err(Error::invalid(
            "Minimum memoryswap limit should be larger than memory limit, see usage",
        ));
    }
    if hc.memory_swap > 0 && hc.memory == 0 {
        return Err(Error::invalid(
            "You should always set the Memory limit when using Memoryswap limit, see usage",
        ));
    }
    if hc.nano_cpus < 0 {
        return Err(Error::invalid(
            "Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available",
        ));
    }
    if hc.nano_cpus > 0 {
        let ncpu = std::thread::available_parallelism()
            .map(|n| n.get() as i64)
            .unwrap_or(1);
        if hc.nano_cpus > ncpu * 1_000_000_000 || hc.nano_cpus < 10_000_000 {
            return Err(Error::invalid(format!(
                "Range of CPUs is from 0.01 to {ncpu}.00, as there are only {ncpu} CPUs available"
            )));
        }
        if hc.cpu_period != 0 || hc.cpu_quota != 0 {
            return Err(Error::invalid(
                "Conflicting options: Nano CPUs and CPU Period cannot both be set",
            ));
        }
    }
    if hc.cpu_shares < 0 {
        return Err(Error::invalid("invalid CPU shares: must not be negative"));
    }
    match hc.cgroupns_mode.as_str() {
        "" | "host" | "private" => {}
        other => {
            return Err(Error::invalid(format!(
                "invalid cgroup namespace mode: {other}"
            )))
        }
    }
    match hc.restart_policy.name.as_str() {
        "" | "no" => {}
        "always" | "unless-stopped" | "on-failure" if !hc.auto_remove => {}
        "always" | "unless-stopped" | "on-failure" => {
            return Err(Error::invalid(
                "can't create 'AutoRemove' container with restart policy",
            ))
        }
        other => {
            return Err(Error::invalid(format!(
                "invalid restart policy: unknown policy '{other}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'"
            )))
        }
    }
    if hc.restart_policy.maximum_retry_count != 0 && hc.restart_policy.name != "on-failure" {
        return Err(Error::invalid(
            "invalid restart policy: maximum retry count can only be used with 'on-failure'",
        ));
    }
    if let Some(pids) = hc.pids_limit {
        if pids < -1 {
            return Err(Error::invalid(format!("invalid PIDs limit: {pids}")));
        }
    }
    if !hc.log_config.r#type.is_empty() {
        super::logdriver::validate(&hc.log_config.r#type, &hc.log_config.config)?;
    }
    Ok(())
}

/// The cgroup namespace mode a container gets when it asks for none: dockerd's default,
/// `private` on a pure cgroup v2 host and `host` on v1 or hybrid hosts.
pub fn default_cgroupns_mode() -> &'static str {
    if runtime::cgroup::is_v2_only() {
        "private"
    } else {
        "host"
    }
}

/// Whether the container gets its own cgroup namespace.
pub fn cgroupns_private(hc: &HostConfig) -> bool {
    match hc.cgroupns_mode.as_str() {
        "" => default_cgroupns_mode() == "private",
        mode => mode == "private",
    }
}

/// Parses a docker size (`10m`, `1g`, `512k`, `100`) as go-units' `RAMInBytes`, which is
/// what `max-size` takes.
pub fn parse_size(s: &str) -> Option<u64> {
    api_types::units::ram_in_bytes(s)
        .ok()
        .and_then(|n| u64::try_from(n).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image() -> ImageDefaults {
        ImageDefaults {
            env: vec!["PATH=/bin".into(), "A=1".into()],
            cmd: Some(vec!["sh".into()]),
            working_dir: "/srv".into(),
            labels: [("from".to_string(), "image".to_string())].into(),
            ..Default::default()
        }
    }

    #[test]
    fn user_overrides_image() {
        let user = ContainerConfig {
            env: Some(vec!["A=2".into(), "B=3".into()]),
            labels: Some([("x".to_string(), "y".to_string())].into()),
            ..Default::default()
        };
        let c = merge(user, &image());
        assert_eq!(c.env.unwrap(), vec!["PATH=/bin", "A=2", "B=3"]);
        assert_eq!(c.cmd.unwrap().0, vec!["sh"]);
        assert_eq!(c.working_dir, "/srv");
        assert_eq!(c.labels.unwrap().len(), 2);
    }

    #[test]
    fn entrypoint_drops_image_cmd() {
        let user = ContainerConfig {
            entrypoint: Some(StrSlice(vec!["echo".into()])),
            ..Default::default()
        };
        let c = merge(user, &image());
        assert!(c.cmd.is_none());
        assert_eq!(command_line(&c).unwrap(), ("echo".to_string(), vec![]));
        let empty = ContainerConfig::default();
        let c = merge(empty, &ImageDefaults::default());
        assert!(command_line(&c).is_err());
    }

    #[test]
    fn host_config_checks() {
        let mut hc = HostConfig {
            memory: 1024,
            ..Default::default()
        };
        assert!(validate_host_config(&hc).is_err());
        hc.memory = 16 << 20;
        validate_host_config(&hc).unwrap();
        hc.restart_policy.name = "sometimes".into();
        assert!(validate_host_config(&hc).is_err());
        hc.restart_policy.name = "always".into();
        hc.auto_remove = true;
        assert!(validate_host_config(&hc).is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("10m"), Some(10 << 20));
        assert_eq!(parse_size("1k"), Some(1024));
        assert_eq!(parse_size("100"), Some(100));
        assert_eq!(parse_size("2g"), Some(2 << 30));
        assert_eq!(parse_size("x"), None);
    }
}
