//! `SystemService`: `/version`, `/info` and the event stream.

use std::pin::Pin;
use std::sync::Arc;

use api_types::{ComponentVersion, Filters, PlatformName, SystemInfo, SystemVersion};
use futures_util::Stream;

use crate::container::ContainerService;
use crate::error::{Error, Result};
use crate::events::{Event, EventBus};
use crate::image::ImageService;
use crate::{clock, EngineConfig};

/// berth's version, as `/version` reports it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Facts about the daemon and its host.
pub struct SystemService {
    cfg: Arc<EngineConfig>,
    containers: Arc<ContainerService>,
    images: Arc<ImageService>,
    events: EventBus,
}

fn uname() -> (String, String) {
    match nix::sys::utsname::uname() {
        Ok(u) => (
            u.release().to_string_lossy().into_owned(),
            u.machine().to_string_lossy().into_owned(),
        ),
        Err(_) => (String::new(), String::new()),
    }
}

/// Go's name for the machine architecture (`x86_64` → `amd64`).
pub fn go_arch(machine: &str) -> &str {
    match machine {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "armv7l" => "arm",
        other => other,
    }
}

fn os_pretty_name() -> String {
    std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|v| v.trim_matches('"').to_string())
        })
        .unwrap_or_else(|| "Linux".into())
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
    if std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        "2"
    } else {
        "1"
    }
}

impl SystemService {
    pub(crate) fn new(
        cfg: Arc<EngineConfig>,
        containers: Arc<ContainerService>,
        images: Arc<ImageService>,
        events: EventBus,
    ) -> SystemService {
        SystemService {
            cfg,
            containers,
            images,
            events,
        }
    }

    /// `GET /version`.
    pub fn version(&self) -> SystemVersion {
        let (kernel, machine) = uname();
        let arch = go_arch(&machine).to_string();
        SystemVersion {
            platform: PlatformName {
                name: format!("berth {VERSION}"),
            },
            components: vec![
                ComponentVersion {
                    name: "Engine".into(),
                    version: VERSION.into(),
                    details: Some(serde_json::json!({
                        "ApiVersion": api_types::version::API_VERSION,
                        "MinAPIVersion": api_types::version::MIN_API_VERSION,
                        "Os": "linux",
                        "Arch": arch,
                        "KernelVersion": kernel,
                        "GitCommit": option_env!("BERTH_GIT_COMMIT").unwrap_or("unknown"),
                        "GoVersion": "rust",
                        "BuildTime": "",
                        "Experimental": "false",
                    })),
                },
                ComponentVersion {
                    name: "berth-shim".into(),
                    version: VERSION.into(),
                    details: None,
                },
            ],
            version: VERSION.into(),
            api_version: api_types::version::API_VERSION.into(),
            min_api_version: api_types::version::MIN_API_VERSION.into(),
            git_commit: option_env!("BERTH_GIT_COMMIT").unwrap_or("unknown").into(),
            go_version: "rust".into(),
            os: "linux".into(),
            arch,
            kernel_version: kernel,
            experimental: false,
            build_time: String::new(),
        }
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
        Ok(SystemInfo {
            id: self.cfg.daemon_id.clone(),
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
            docker_root_dir: self.cfg.data_root.display().to_string(),
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
            n_goroutines: 0,
            system_time: clock::rfc3339(clock::now_nanos()),
            logging_driver: "json-file".into(),
            cgroup_driver: "cgroupfs".into(),
            cgroup_version: cgroup_version().into(),
            n_events_listener: 0,
            kernel_version: kernel,
            operating_system: os_pretty_name(),
            os_version: String::new(),
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
            runtimes: serde_json::json!({"berth": {"path": self.cfg.shim_binary.display().to_string()}}),
            default_runtime: "berth".into(),
            swarm: serde_json::json!({"LocalNodeState": "inactive", "NodeID": "", "NodeAddr": "", "ControlAvailable": false, "Error": "", "RemoteManagers": null}),
            live_restore_enabled: true,
            isolation: String::new(),
            init_binary: self
                .cfg
                .init_binary
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            security_options: vec!["name=seccomp,profile=builtin".into()],
            warnings: Vec::new(),
            plugins: serde_json::json!({"Volume": ["local"], "Network": ["bridge", "host", "none"], "Authorization": null, "Log": ["json-file"]}),
            registry_config: serde_json::json!({"IndexConfigs": {}, "InsecureRegistryCIDRs": ["127.0.0.0/8"], "Mirrors": []}),
        })
    }

    /// `GET /events`: events from now on (until `until`), filtered by type/event/container/
    /// image/label. `since` in the past is accepted but nothing older than now is replayed.
    pub fn events(
        &self,
        _since: Option<&str>,
        until: Option<&str>,
        filters: Filters,
    ) -> Result<Pin<Box<dyn Stream<Item = Event> + Send>>> {
        filters
            .validate(&[
                "type",
                "event",
                "container",
                "image",
                "label",
                "scope",
                "daemon",
                "network",
                "volume",
            ])
            .map_err(Error::from)?;
        let until = match until {
            Some(u) if !u.is_empty() => Some(
                clock::parse_timestamp(u)
                    .ok_or_else(|| Error::invalid(format!("invalid until value: {u}")))?,
            ),
            _ => None,
        };
        let rx = self.events.subscribe();
        let stream = futures_util::stream::unfold(
            (rx, until, filters),
            |(mut rx, until, filters)| async move {
                loop {
                    let next = match until {
                        Some(u) => {
                            let left = u - clock::now_nanos();
                            if left <= 0 {
                                return None;
                            }
                            let d = std::time::Duration::from_nanos(left as u64);
                            match tokio::time::timeout(d, rx.recv()).await {
                                Ok(r) => r,
                                Err(_) => return None,
                            }
                        }
                        None => rx.recv().await,
                    };
                    match next {
                        Ok(ev) if matches(&filters, &ev) => {
                            return Some((ev, (rx, until, filters)))
                        }
                        Ok(_) => continue,
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                        Err(_) => return None,
                    }
                }
            },
        );
        Ok(Box::pin(stream))
    }
}

fn matches(f: &Filters, ev: &Event) -> bool {
    let any = |name: &str, v: &str| !f.contains(name) || f.get(name).any(|x| x == v);
    if !any("type", ev.kind) || !any("event", &ev.action) {
        return false;
    }
    // `container=` and `network=` keep that type's events whose actor has the id prefix or
    // name given.
    for kind in ["container", "network"] {
        if f.contains(kind)
            && (ev.kind != kind
                || !f.get(kind).any(|x| {
                    ev.actor.id.starts_with(x)
                        || ev.actor.attributes.get("name").is_some_and(|n| n == x)
                }))
        {
            return false;
        }
    }
    if f.contains("volume") && (ev.kind != "volume" || !f.get("volume").any(|x| x == ev.actor.id)) {
        return false;
    }
    if f.contains("image")
        && !f
            .get("image")
            .any(|x| ev.actor.attributes.get("image").is_some_and(|i| i == x) || ev.actor.id == x)
    {
        return false;
    }
    f.match_labels(&ev.actor.attributes)
}
