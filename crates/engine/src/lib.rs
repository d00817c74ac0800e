//! The daemon's services — containers, images, builds, system facts and events — each owning its own
//! state, and the start-up reconciliation with running shims. No HTTP in here: `api-server`
//! calls these services, and `berthd` wires them together.
//!
//! Services never point back at each other. The one question another service asks of the
//! containers — "which containers use this image, this volume?" (and soon this network) — goes
//! through the [`usage::UsageIndex`] trait, which the container table implements and which the
//! image and volume services receive at construction. Operations that need both (commit: the
//! container's rw layer, then an image of it) are driven by the container service, which
//! depends on the image and volume services, never the reverse: no module of `image/` or
//! `volume/` imports from `container/`.
//!
//! Errors: [`Error`] wraps the lower crates' errors as typed variants and answers `kind()`
//! (the one `errdefs::ErrorKind`); only `api-server` turns a kind into an HTTP status.
//!
//! The network service owns networks and the network stacks of running containers; the
//! container service calls it at create, start, stop and connect (it never calls back: what it
//! must know of other containers, such as links, is handed in). A network in use is one with
//! active endpoints, which the network service itself holds.
//!
//! Modules: `container` (the container service, one file per operation), `image` (pull, push,
//! import, load, save, list, inspect, tag, delete, commit), `builder` (`docker build`, the
//! build cache), `volume` (the volume service and its `local` driver), `network` (networks,
//! endpoints, published ports, DNS), `system` (`/version`, `/info`, `/events`), `usage` (the
//! who-uses-what seam), `events` (the bus and its history), `runtimes` (the OCI runtimes
//! containers may use), `clock` (time formats), `error`.

pub mod builder;
pub mod clock;
pub mod container;
pub mod error;
pub mod events;
pub mod image;
pub mod network;
pub mod runtimes;
pub mod system;
pub mod usage;
pub mod volume;

use std::path::PathBuf;
use std::sync::Arc;

pub use error::{Error, ErrorKind, Result};

use builder::BuildService;
use container::{ContainerService, ContainerTable};
use events::EventBus;
use image::ImageService;
use network::NetworkService;
use system::SystemService;
use volume::VolumeService;

/// How the engine is set up; filled by `berthd` from its flags.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Persistent state (`--data-root`, default `/var/lib/berth`).
    pub data_root: PathBuf,
    /// Runtime state (`--exec-root`, default `/run/berth`): shim dirs, netns files.
    pub exec_root: PathBuf,
    /// The `berth-shim` binary.
    pub shim_binary: PathBuf,
    /// The static init binary for `--init` (dockerd's `init-path`), if any.
    pub init_binary: Option<PathBuf>,
    /// The cgroup under which containers get `<parent>/<id>` (`--cgroup-parent`).
    pub cgroup_parent: String,
    /// Default json-file rotation.
    pub log_max_size: u64,
    pub log_max_files: u32,
    /// Seconds `stop` waits before SIGKILL when neither the request nor the container says.
    pub default_stop_timeout: i64,
    /// A stable id for `/info`.
    pub daemon_id: String,
    /// Registry settings (`insecure-registries`, `registry-mirrors`, certs.d, limits).
    pub registry: distribution::RegistryOptions,
    /// The largest build context accepted, bytes.
    pub build_context_limit: u64,
    /// Networking settings (`--bridge`, `--bip`, `--iptables` …).
    pub network: network::NetworkConfig,
    /// The OCI runtimes containers may use, and the default (`--default-runtime`).
    pub runtimes: runtimes::Runtimes,
    /// The daemon's log driver and options (`--log-driver`, `--log-opt`), for containers that
    /// name none.
    pub log: container::logdriver::LogDefaults,
    /// What `/version` reports of this build.
    pub build: BuildInfo,
}

/// The build `berthd` was made from (its `build.rs` records it).
#[derive(Debug, Clone, Default)]
pub struct BuildInfo {
    /// Short commit hash (`GitCommit`).
    pub git_commit: String,
    /// The commit's time, RFC 3339 (`BuildTime`).
    pub build_time: String,
    /// The compiler's version (`GoVersion` shows `rust<version>`).
    pub rustc_version: String,
}

/// The daemon's services, wired together.
pub struct Engine {
    containers: Arc<ContainerService>,
    images: Arc<ImageService>,
    builds: Arc<BuildService>,
    volumes: Arc<VolumeService>,
    networks: Arc<NetworkService>,
    system: SystemService,
}

impl Engine {
    /// Opens the store under the data root and reconciles containers with their shims.
    pub async fn open(cfg: EngineConfig) -> Result<Engine> {
        let cfg = Arc::new(cfg);
        for dir in [
            cfg.data_root.join("containers"),
            cfg.exec_root.join("shims"),
            cfg.exec_root.join("netns"),
        ] {
            std::fs::create_dir_all(&dir).map_err(|e| Error::file(&dir, e))?;
        }
        container::cleanup_exports(&cfg.exec_root);
        let root = cfg.data_root.clone();
        let store = tokio::task::spawn_blocking(move || {
            store::Store::open(&root, store::StoreOptions::default())
        })
        .await
        .map_err(Error::task("open"))??;
        let store = Arc::new(store);
        let events = EventBus::default();
        let registries = Arc::new(distribution::Registries::new(cfg.registry.clone()));
        // The container table is built first: the image and volume services ask it which
        // containers use an image or a volume, and the container service fills it.
        let table = ContainerTable::new();
        let images = Arc::new(ImageService::new(
            store.clone(),
            events.clone(),
            registries,
            table.clone(),
        ));
        let volumes = {
            let (store, root, events, usage) = (
                store.clone(),
                cfg.data_root.clone(),
                events.clone(),
                table.clone(),
            );
            tokio::task::spawn_blocking(move || VolumeService::open(store, &root, events, usage))
                .await
                .map_err(Error::task("volume open"))??
        };
        let volumes = Arc::new(volumes);
        let networks = NetworkService::open(
            cfg.network.clone(),
            store.clone(),
            events.clone(),
            &cfg.exec_root,
            &cfg.daemon_id,
        )
        .await?;
        let containers = ContainerService::open(
            cfg.clone(),
            store.clone(),
            images.clone(),
            networks.clone(),
            volumes.clone(),
            events.clone(),
            table,
        )
        .await?;
        let builds = BuildService::new(
            cfg.clone(),
            store.clone(),
            images.clone(),
            containers.clone(),
        );
        let running = containers.running_volume_users();
        containers.sweep_subpaths();
        let v = volumes.clone();
        tokio::task::spawn_blocking(move || {
            v.restore_refs(&running);
            v.sweep_orphans();
        })
        .await
        .map_err(Error::task("volume restore"))?;
        let system = SystemService::new(cfg, containers.clone(), images.clone(), events);
        Ok(Engine {
            containers,
            images,
            builds,
            volumes,
            networks,
            system,
        })
    }

    /// The container service.
    pub fn containers(&self) -> &Arc<ContainerService> {
        &self.containers
    }

    /// The image service.
    pub fn images(&self) -> &Arc<ImageService> {
        &self.images
    }

    /// Builds.
    pub fn builds(&self) -> &Arc<BuildService> {
        &self.builds
    }

    /// The volume service.
    pub fn volumes(&self) -> &Arc<VolumeService> {
        &self.volumes
    }

    /// The network service.
    pub fn networks(&self) -> &Arc<NetworkService> {
        &self.networks
    }

    /// Version, info and events.
    pub fn system(&self) -> &SystemService {
        &self.system
    }
}
