//! `GET /info`: counts, the host (kernel, OS, CPUs, memory, cgroups, forwarding, proxies), the
//! runtimes and the versions of what runs containers, the registry settings, and the drivers
//! the engine implements (`Plugins`; the API server drops the kinds whose endpoints it does
//! not serve).

use std::path::Path;

use api_types::{Commit, SystemInfo};
use serde_json::{json, Value};

use super::{uname, SystemService, VERSION};
use crate::clock;
use crate::error::Result;

fn os_release(key: &str) -> Option<String> {
    let text = std::fs::read_to_string("/etc/os-release").ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .map(|v| v.trim_matches('"').to_string())
}

fn mem_total() -> i64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<i64>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

/// `CgroupVersion` as docker reports it: "2" on a pure cgroup v2 host, else "1".
fn cgroup_version() -> &'static str {
    if runtime::cgroup::is_v2_only() {
        "2"
    } else {
        "1"
    }
}

/// Whether a `/proc/sys` switch reads `1`.
fn sysctl_on(path: &str) -> bool {
    std::fs::read_to_string(path).is_ok_and(|s| s.trim() == "1")
}

/// A proxy variable of the daemon's environment (upper or lower case), with any password
/// masked as dockerd does (`http://user:xxxxx@proxy`).
fn proxy_env(name: &str) -> String {
    let v = std::env::var(name)
        .or_else(|_| std::env::var(name.to_ascii_lowercase()))
        .unwrap_or_default();
    mask_password(&v)
}

fn mask_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.split_once('@') {
        Some((cred, host)) if cred.contains(':') => {
            let user = cred.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:xxxxx@{host}")
        }
        _ => url.to_string(),
    }
}

/// The init binary's version: tini's `tini version 0.19.0 - git.de40ad0` gives `de40ad0`, as
/// dockerd reports docker-init; a build without the git part gives its version.
pub(super) fn init_version(init: &Path) -> String {
    let out = std::process::Command::new(init).arg("--version").output();
    let text = out
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let line = text.lines().next().unwrap_or("").trim();
    if let Some(g) = line.split_whitespace().find_map(|w| w.strip_prefix("git.")) {
        return g.to_string();
    }
    line.split_whitespace()
        .nth(2)
        .map(str::to_string)
        .unwrap_or_else(|| "N/A".into())
}

impl SystemService {
    /// `RegistryConfig`: the insecure ranges, one index config per registry (docker.io with
    /// the mirrors, each insecure registry name), and the mirrors.
    fn registry_config(&self) -> Value {
        let r = &self.cfg.registry;
        let mut cidrs = vec!["127.0.0.0/8".to_string(), "::1/128".to_string()];
        let mut index = serde_json::Map::new();
        index.insert(
            "docker.io".into(),
            json!({"Name": "docker.io", "Mirrors": r.mirrors, "Secure": true, "Official": true}),
        );
        for e in &r.insecure {
            match e {
                distribution::options::InsecureEntry::Cidr { addr, prefix } => {
                    cidrs.push(format!("{addr}/{prefix}"))
                }
                distribution::options::InsecureEntry::Host(h) => {
                    index.insert(
                        h.clone(),
                        json!({"Name": h, "Mirrors": [], "Secure": false, "Official": false}),
                    );
                }
            }
        }
        json!({
            "AllowNondistributableArtifactsCIDRs": null,
            "AllowNondistributableArtifactsHostnames": null,
            "InsecureRegistryCIDRs": cidrs,
            "IndexConfigs": index,
            "Mirrors": r.mirrors,
        })
    }

    /// `GET /info`.
    pub async fn info(&self) -> Result<SystemInfo> {
        let (kernel, machine) = uname();
        let (total, running, paused, stopped) = self.containers.counts();
        let images = self.images.count().await?;
        let hostname = nix::unistd::gethostname()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_default();
        let nfd = std::fs::read_dir("/proc/self/fd")
            .map(|d| d.count() as i64)
            .unwrap_or(0);
        let tasks = tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks() as i64;
        let cfg = &self.cfg;
        Ok(SystemInfo {
            id: cfg.daemon_id.clone(),
            containers: total,
            containers_running: running,
            containers_paused: paused,
            containers_stopped: stopped,
            images,
            driver: "overlay2".into(),
            driver_status: vec![
                ["Backing Filesystem".into(), "extfs".into()],
                ["Supports d_type".into(), "true".into()],
            ],
            docker_root_dir: cfg.data_root.display().to_string(),
            memory_limit: true,
            swap_limit: true,
            cpu_cfs_period: true,
            cpu_cfs_quota: true,
            cpu_shares: true,
            cpu_set: true,
            pids_limit: true,
            oom_kill_disable: cgroup_version() == "1",
            debug: false,
            n_fd: nfd,
            n_goroutines: tasks,
            system_time: clock::rfc3339(clock::now_nanos()),
            logging_driver: cfg.log.driver.clone(),
            cgroup_driver: "cgroupfs".into(),
            cgroup_version: cgroup_version().into(),
            n_events_listener: self.events.listeners() as i64,
            kernel_version: kernel,
            operating_system: os_release("PRETTY_NAME").unwrap_or_else(|| "Linux".into()),
            os_version: os_release("VERSION_ID").unwrap_or_default(),
            os_type: "linux".into(),
            architecture: machine,
            ncpu: std::thread::available_parallelism()
                .map(|n| n.get() as i64)
                .unwrap_or(1),
            mem_total: mem_total(),
            index_server_address: "https://index.docker.io/v1/".into(),
            name: hostname,
            labels: Vec::new(),
            experimental_build: false,
            server_version: VERSION.into(),
            runtimes: cfg.runtimes.info(&cfg.shim_binary),
            default_runtime: cfg.runtimes.default_name().to_string(),
            swarm: json!({"LocalNodeState": "inactive", "NodeID": "", "NodeAddr": "", "ControlAvailable": false, "Error": "", "RemoteManagers": null}),
            live_restore_enabled: true,
            isolation: String::new(),
            init_binary: cfg
                .init_binary
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            security_options: vec!["name=seccomp,profile=builtin".into()],
            warnings: Vec::new(),
            plugins: json!({
                "Volume": ["local"],
                "Network": ["bridge", "host", "null"],
                "Authorization": null,
                "Log": crate::container::logdriver::READABLE_DRIVERS,
            }),
            registry_config: self.registry_config(),
            containerd_commit: Commit {
                id: cfg.build.git_commit.clone(),
            },
            runc_commit: Commit {
                id: cfg.runtimes.default_version(),
            },
            init_commit: Commit {
                id: cfg
                    .init_binary
                    .as_deref()
                    .map(init_version)
                    .unwrap_or_else(|| "N/A".into()),
            },
            ipv4_forwarding: sysctl_on("/proc/sys/net/ipv4/ip_forward"),
            bridge_nf_iptables: sysctl_on("/proc/sys/net/bridge/bridge-nf-call-iptables"),
            bridge_nf_ip6tables: sysctl_on("/proc/sys/net/bridge/bridge-nf-call-ip6tables"),
            http_proxy: proxy_env("HTTP_PROXY"),
            https_proxy: proxy_env("HTTPS_PROXY"),
            no_proxy: proxy_env("NO_PROXY"),
            // As dockerd: the pools configured (`--default-address-pool`), not the built-in ones.
            default_address_pools: cfg
                .network
                .default_address_pools
                .iter()
                .map(|p| api_types::AddressPool {
                    base: p.base.to_string(),
                    size: p.size,
                })
                .collect(),
            cdi_spec_dirs: Vec::new(),
            kernel_memory_tcp: false,
            generic_resources: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_passwords_are_masked() {
        assert_eq!(
            mask_password("http://bob:s3cret@proxy:3128"),
            "http://bob:xxxxx@proxy:3128"
        );
        assert_eq!(mask_password("http://proxy:3128"), "http://proxy:3128");
        assert_eq!(mask_password(""), "");
    }

    #[test]
    fn init_version_of_debians_tini() {
        if let Some(tini) = ["/usr/bin/tini-static", "/usr/bin/tini"]
            .iter()
            .map(Path::new)
            .find(|p| p.exists())
        {
            let v = init_version(tini);
            assert!(!v.is_empty() && v != "N/A", "{v}");
        }
        assert_eq!(init_version(Path::new("/nonexistent")), "N/A");
    }
}
