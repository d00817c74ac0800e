//! `ContainerService`: the containers of one daemon, each owned by one `Container` whose
//! mutex serialises its operations (create, start, stop, kill, remove …) and whose `watch`
//! channel tells waiters what happened (exits, removal) without taking that mutex.
//!
//! Vocabulary: a *record* is what is persisted (`record::ContainerRecord`); the *view* is the
//! last persisted record, readable without waiting for an operation in progress (lists,
//! inspect); a *shim* is the per-container `berth-shim` process holding the container's stdio;
//! the *monitor* is the task that waits for the shim to report the exit.
//!
//! One file per operation: `create`, `start` (with the monitor), `stop` (stop, restart, kill),
//! `pause` (pause, unpause), `update` (new limits), `remove` (and prune), `wait`, `logs` (with
//! `logdriver`), `attach`, `query` (list, inspect, top, rename, resize), `stats` (with its
//! `sampler`), `health` (the healthcheck monitor, `health_state` its verdict), `restore`
//! (reconciliation at daemon start), `exec` and `exec_start`, `commit` (the rw layer as an
//! image layer, and `docker diff`), `export` (the flattened filesystem as a tar), `mounts`
//! (the mounts a create asks for) and `volumes` (their life with the container), `archive`
//! (`docker cp`), `networking` (the hooks into the network service: plan at create, attach at
//! start, detach at stop, connect/disconnect, links).

pub mod archive;
mod archive_error;
mod attach;
pub mod checks;
mod cleanup;
mod commit;
pub mod config;
mod create;
pub mod exec;
mod exec_start;
mod export;
mod health;
pub mod health_state;
pub mod logdriver;
mod logs;
pub mod mounts;
pub mod names;
mod namespaces;
mod networking;
mod pause;
mod query;
pub mod record;
mod remove;
mod restart;
mod restore;
mod rootfs;
mod sampler;
mod shim;
mod start;
pub mod state;
mod stats;
mod stop;
mod table;
pub mod update;
mod volumes;

mod wait;

pub use archive::{ArchiveError, ExtractOptions, ViewError};
pub use attach::{AttachOptions, AttachSession};
pub use exec::{ExecSettings, ExecState};
pub use exec_start::{ExecSession, ExecStart, ExecStartOptions};
pub(crate) use export::cleanup as cleanup_exports;
pub use export::ExportStream;
pub use logs::{LogFrame, LogStream, LogsOptions, StreamKind};
pub use query::ListOptions;
pub use remove::RemoveOptions;
pub use stats::{StatsOptions, StatsStream};
pub use stop::StopOptions;
pub use table::ContainerTable;
pub use wait::{WaitCondition, WaitFuture};

use std::sync::{Arc, RwLock};

use tokio::sync::watch;

use crate::error::{Error, Result};
use crate::events::EventBus;
use crate::image::ImageService;
use crate::network::NetworkService;
use crate::volume::VolumeService;
use crate::EngineConfig;
use record::{ContainerRecord, Paths};
use state::Status;

/// The metadata table holding container records (id → JSON).
pub(crate) const TABLE: &str = "containers";
/// The metadata table holding container names (name → id).
pub(crate) const NAMES: &str = "container_names";

/// What waiters observe of a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    pub status: Status,
    /// Incremented at every exit, so `next-exit` waiters can tell a new exit from an old one.
    pub exits: u64,
    pub exit_code: i64,
    pub error: Option<String>,
    pub removed: bool,
}

/// One container: its identity, its live state behind a mutex, and what waiters observe.
pub struct Container {
    pub id: String,
    inner: tokio::sync::Mutex<Inner>,
    view: RwLock<Arc<ContainerRecord>>,
    observed: watch::Sender<Observed>,
}

/// The live state of a container, owned by its mutex.
pub(crate) struct Inner {
    pub record: ContainerRecord,
    pub shim: Option<Arc<shim::Shim>>,
    pub pending_attach: Vec<attach::Pending>,
    /// Set while the container's rootfs is mounted.
    pub mounted: bool,
    /// Set while the container has a network namespace file.
    pub netns: Option<std::path::PathBuf>,
    /// The last restart back-off (zero: none yet).
    pub restart_delay: std::time::Duration,
    /// The running healthcheck monitor (dropping it stops it).
    pub health_monitor: Option<health::MonitorHandle>,
}

impl Container {
    fn new(record: ContainerRecord) -> Arc<Container> {
        let observed = Observed {
            status: record.state.status(),
            exits: 0,
            exit_code: record.state.exit_code(),
            error: None,
            removed: false,
        };
        let (tx, _) = watch::channel(observed);
        Arc::new(Container {
            id: record.id.clone(),
            view: RwLock::new(Arc::new(record.clone())),
            inner: tokio::sync::Mutex::new(Inner {
                record,
                shim: None,
                pending_attach: Vec::new(),
                mounted: false,
                netns: None,
                restart_delay: std::time::Duration::ZERO,
                health_monitor: None,
            }),
            observed: tx,
        })
    }

    /// The last persisted record.
    pub fn view(&self) -> Arc<ContainerRecord> {
        self.view.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// A receiver of state changes.
    pub fn observe(&self) -> watch::Receiver<Observed> {
        self.observed.subscribe()
    }

    fn set_view(&self, record: &ContainerRecord) {
        *self.view.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(record.clone());
        let state = &record.state;
        self.observed.send_modify(|o| {
            o.status = state.status();
            o.exit_code = state.exit_code();
        });
    }
}

/// The containers of this daemon.
pub struct ContainerService {
    cfg: Arc<EngineConfig>,
    store: Arc<store::Store>,
    images: Arc<ImageService>,
    networks: Arc<NetworkService>,
    volumes: Arc<VolumeService>,
    events: EventBus,
    table: Arc<ContainerTable>,
    /// Every exec, by id.
    execs: exec::ExecStore,
    /// Background cleanups of removed containers.
    cleanups: cleanup::Cleanups,
    /// Samples the cgroups of the containers someone streams stats of.
    sampler: sampler::Sampler,
}

impl ContainerService {
    /// Loads every container record and reconciles it with the shims still running.
    pub async fn open(
        cfg: Arc<EngineConfig>,
        store: Arc<store::Store>,
        images: Arc<ImageService>,
        networks: Arc<NetworkService>,
        volumes: Arc<VolumeService>,
        events: EventBus,
        table: Arc<ContainerTable>,
    ) -> Result<Arc<ContainerService>> {
        let sampler = sampler::Sampler::new(&cfg.cgroup_parent);
        let svc = Arc::new(ContainerService {
            cfg,
            store,
            images,
            networks,
            volumes,
            events,
            table,
            execs: exec::ExecStore::default(),
            cleanups: cleanup::Cleanups::default(),
            sampler,
        });
        svc.clone().restore().await?;
        Ok(svc)
    }

    /// Waits (at most `limit`) for the cleanups of removed containers still running; the
    /// daemon calls it on shutdown. Returns whether all finished.
    pub async fn drain_cleanups(&self, limit: std::time::Duration) -> bool {
        self.cleanups.drain(limit).await
    }

    fn paths(&self, id: &str) -> Paths {
        Paths::new(&self.cfg.data_root, id)
    }

    /// Finds a container by full id, name (with or without `/`), or unique id prefix.
    pub fn get(&self, key: &str) -> Result<Arc<Container>> {
        let idx = self.table.read();
        if let Some(c) = idx.by_id.get(key) {
            return Ok(c.clone());
        }
        let name = key.strip_prefix('/').unwrap_or(key);
        if let Some(c) = idx.names.get(name).and_then(|id| idx.by_id.get(id)) {
            return Ok(c.clone());
        }
        if !key.is_empty() && key.chars().all(|c| c.is_ascii_hexdigit()) {
            let mut found = idx.by_id.iter().filter(|(id, _)| id.starts_with(key));
            if let Some((_, c)) = found.next() {
                if found.next().is_some() {
                    return Err(Error::invalid(format!(
                        "Multiple IDs found with provided prefix: {key}"
                    )));
                }
                return Ok(c.clone());
            }
        }
        Err(Error::NoSuchContainer(key.to_string()))
    }

    /// Every container, in no particular order.
    pub fn all(&self) -> Vec<Arc<Container>> {
        self.table.all()
    }

    /// Writes the record, then publishes it as the view.
    async fn persist(&self, c: &Container, record: &ContainerRecord) -> Result<()> {
        let store = self.store.clone();
        let rec = record.clone();
        tokio::task::spawn_blocking(move || rootfs::save_record(&store, &rec))
            .await
            .map_err(Error::task("persist"))??;
        c.set_view(record);
        Ok(())
    }

    fn publish(&self, c: &ContainerRecord, action: &str) {
        self.publish_with(c, action, &[]);
    }

    /// A container event with dockerd's attributes (image, name, labels) and `extra` ones.
    fn publish_with(&self, c: &ContainerRecord, action: &str, extra: &[(&str, String)]) {
        let mut attrs = std::collections::BTreeMap::new();
        attrs.insert("image".to_string(), c.image.clone());
        attrs.insert("name".to_string(), c.name.clone());
        if let Some(labels) = &c.config.labels {
            for (k, v) in labels {
                attrs.insert(k.clone(), v.clone());
            }
        }
        for (k, v) in extra {
            attrs.insert(k.to_string(), v.clone());
        }
        self.events.publish("container", action, &c.id, attrs);
    }

    /// Counts by status: (total, running, paused, stopped).
    pub fn counts(&self) -> (i64, i64, i64, i64) {
        let mut out = (0, 0, 0, 0);
        for c in self.all() {
            out.0 += 1;
            match c.view().state.status() {
                Status::Running | Status::Restarting => out.1 += 1,
                Status::Paused => out.2 += 1,
                _ => out.3 += 1,
            }
        }
        out
    }
}
