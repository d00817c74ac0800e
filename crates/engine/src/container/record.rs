//! The persisted record of a container (a separate type from the live `Container`), and how
//! it is shown: inspect bodies and list rows.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use api_types::{
    ContainerConfig, ContainerInspect, ContainerState, ContainerSummary, GraphDriver, HostConfig,
    NetworkSettings, SummaryHostConfig, SummaryNetworkSettings,
};

use super::state::RunState;
use crate::clock;

/// What berth stores about a container in the metadata database.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContainerRecord {
    pub id: String,
    /// Without the leading `/`.
    pub name: String,
    /// Nanoseconds since the epoch.
    pub created: i128,
    /// The image as the user named it (`Config.Image`).
    pub image: String,
    /// `sha256:…` of the image config.
    pub image_id: String,
    /// The effective config (image defaults merged in).
    pub config: ContainerConfig,
    pub host_config: HostConfig,
    pub path: String,
    pub args: Vec<String>,
    pub state: RunState,
    pub restart_count: i64,
    /// Set by an explicit stop, so `unless-stopped` does not bring it back.
    #[serde(default)]
    pub stopped_by_user: bool,
    /// The healthcheck's verdict, for a container with a probe that has started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<super::health_state::HealthState>,
    /// Binds, volumes and tmpfs mounts, resolved at create (empty in records written before
    /// volumes existed: see [`ContainerRecord::mount_records`]).
    #[serde(default)]
    pub mounts: Vec<super::mounts::MountRecord>,

    /// The networks it is on, the network mode's first (what `NetworkingConfig` and
    /// `network connect` asked for).
    #[serde(default)]
    pub networks: Vec<crate::network::Attachment>,
    /// `networks` was recorded at create (false: a record from before berth had networks,
    /// whose attachments are derived from its network mode at start-up).
    #[serde(default)]
    pub networks_recorded: bool,
}

/// Where a container's files are, derived from the data root and its id.
#[derive(Debug, Clone)]
pub struct Paths {
    pub dir: std::path::PathBuf,
}

impl Paths {
    /// `<data-root>/containers/<id>`.
    pub fn new(data_root: &Path, id: &str) -> Paths {
        Paths {
            dir: data_root.join("containers").join(id),
        }
    }
    pub fn rootfs(&self) -> std::path::PathBuf {
        self.dir.join("rootfs")
    }
    pub fn log(&self, id: &str) -> std::path::PathBuf {
        self.dir.join(format!("{id}-json.log"))
    }
    pub fn hostname(&self) -> std::path::PathBuf {
        self.dir.join("hostname")
    }
    pub fn hosts(&self) -> std::path::PathBuf {
        self.dir.join("hosts")
    }
    pub fn resolv(&self) -> std::path::PathBuf {
        self.dir.join("resolv.conf")
    }
    /// The host-side `/dev/shm` of a shareable container.
    pub fn shm(&self) -> std::path::PathBuf {
        self.dir.join("mounts").join("shm")
    }
}

impl ContainerRecord {
    /// The network mode as reported (`default` → `bridge`, as dockerd shows it).
    pub fn network_mode(&self) -> &str {
        match self.host_config.network_mode.as_str() {
            "" | "default" => "bridge",
            m => m,
        }
    }

    /// `State` of the inspect body.
    pub fn inspect_state(&self) -> ContainerState {
        let s = &self.state;
        ContainerState {
            status: s.status().as_str().to_string(),
            running: s.status().is_running(),
            paused: s.status() == super::state::Status::Paused,
            restarting: s.status() == super::state::Status::Restarting,
            oom_killed: s.oom_killed(),
            dead: s.status() == super::state::Status::Dead,
            pid: s.pid(),
            exit_code: s.exit_code(),
            error: s.error().to_string(),
            started_at: clock::rfc3339(s.started_at()),
            finished_at: clock::rfc3339(s.finished_at()),
            health: self.health.as_ref().map(|h| h.to_api()),
        }
    }

    /// The `ps` STATUS column: the state, with the health verdict of a running container.
    pub fn describe(&self) -> String {
        self.state
            .describe(self.health.as_ref().map(|h| h.status().ps()))
    }

    /// The whole inspect body. `sizes` are (rw, root fs) when asked for.
    pub fn inspect(&self, paths: &Paths, sizes: Option<(i64, i64)>) -> ContainerInspect {
        let mut host_config = self.host_config.clone();
        if host_config.network_mode.is_empty() {
            host_config.network_mode = "bridge".into();
        }
        if host_config.log_config.r#type.is_empty() {
            host_config.log_config.r#type = "json-file".into();
        }
        if host_config.runtime.is_empty() {
            host_config.runtime = crate::runtimes::BUILTIN.into();
        }
        ContainerInspect {
            id: self.id.clone(),
            created: clock::rfc3339(self.created),
            path: self.path.clone(),
            args: self.args.clone(),
            state: self.inspect_state(),
            image: self.image_id.clone(),
            resolv_conf_path: paths.resolv().display().to_string(),
            hostname_path: paths.hostname().display().to_string(),
            hosts_path: paths.hosts().display().to_string(),
            log_path: super::logdriver::log_path(self, paths)
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            name: format!("/{}", self.name),
            restart_count: self.restart_count,
            driver: "overlay2".into(),
            platform: "linux".into(),
            mount_label: String::new(),
            process_label: String::new(),
            app_armor_profile: String::new(),
            exec_ids: None,
            host_config,
            graph_driver: GraphDriver {
                name: "overlay2".into(),
                data: Some(BTreeMap::from([(
                    "MergedDir".to_string(),
                    paths.rootfs().display().to_string(),
                )])),
            },
            size_rw: sizes.map(|s| s.0),
            size_root_fs: sizes.map(|s| s.1),
            mounts: self.mount_points(),
            config: self.config.clone(),
            // Filled by the container service from the network service.
            network_settings: NetworkSettings::default(),
        }
    }

    /// The `COMMAND` of `ps`: path and args joined (quoting is the CLI's job).
    pub fn command(&self) -> String {
        let mut parts = vec![self.path.clone()];
        parts.extend(self.args.iter().cloned());
        parts.join(" ")
    }

    /// One row of `GET /containers/json`.
    pub fn summary(&self, sizes: Option<(i64, i64)>) -> ContainerSummary {
        ContainerSummary {
            id: self.id.clone(),
            names: vec![format!("/{}", self.name)],
            image: self.image.clone(),
            image_id: self.image_id.clone(),
            command: self.command(),
            created: (self.created / 1_000_000_000) as i64,
            ports: Vec::new(),
            size_rw: sizes.map(|s| s.0),
            size_root_fs: sizes.map(|s| s.1),
            labels: self.config.labels.clone().unwrap_or_default(),
            state: self.state.status().as_str().to_string(),
            status: self.describe(),
            host_config: SummaryHostConfig {
                network_mode: self.network_mode().to_string(),
            },
            network_settings: SummaryNetworkSettings::default(),
            mounts: self.mount_points(),
        }
    }

    /// The container's mounts; a record from before volumes existed had binds only, kept
    /// in its host config.
    pub fn mount_records(&self) -> Vec<super::mounts::MountRecord> {
        if self.mounts.is_empty() {
            super::mounts::legacy_records(&self.host_config)
        } else {
            self.mounts.clone()
        }
    }

    /// The user mounts as inspect and list show them.
    pub fn mount_points(&self) -> Vec<api_types::MountPoint> {
        self.mount_records()
            .iter()
            .map(super::mounts::MountRecord::point)
            .collect()
    }
}
