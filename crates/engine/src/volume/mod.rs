//! `VolumeService`: the daemon's volumes, kept by the `local` driver under
//! `<data-root>/volumes/<name>/_data` with their records in the metadata database.
//!
//! Vocabulary: a *named* volume is one the user named (`-v data:/x`, `volume create data`);
//! an *anonymous* one got a generated name (`-v /x`, an image's `VOLUME`) and carries the
//! label `com.docker.volume.anonymous`. A container *claims* the volumes it will use while it
//! is being created (a claim protects a volume from `rm` and `prune` until the container's
//! record exists; from then on the container is a *user*, found through the
//! [`UsageIndex`]). Each running container with a volume mounted is one of its *refs*; a
//! volume with driver options has its filesystem mounted while it has refs (the last ref
//! out unmounts it). *Copy-up*
//! (*populating*) copies the image's content at the mount point into an empty volume.
//!
//! Modules: `record` (what is stored), `local` (the driver: directories, mount options),
//! `remove` (`rm`, `prune`), `attach` (what containers do with volumes: claims, mounts,
//! copy-up), `error`.

mod attach;
pub mod error;
pub mod local;
pub mod record;
mod remove;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard};

use api_types::{Filters, Volume, VolumeCreateOptions, VolumeListResponse};

use crate::events::EventBus;
use crate::usage::{Resource, UsageIndex};
pub use attach::Claimed;
pub use error::VolumeError;
use local::LocalDriver;
pub use record::{VolumeRecord, ANONYMOUS_LABEL};

/// Result of the volume service.
pub type Result<T, E = VolumeError> = std::result::Result<T, E>;

/// The volumes of one daemon.
pub struct VolumeService {
    store: Arc<store::Store>,
    driver: LocalDriver,
    /// Where removed volumes go before they are deleted (shared with containers; emptied at
    /// start-up).
    trash: PathBuf,
    events: EventBus,
    usage: Arc<dyn UsageIndex>,
    state: Mutex<State>,
    /// One copy-up at a time (they are rare and disk-bound).
    copy_up: Mutex<()>,
    prune_running: AtomicBool,
}

/// The volumes and who holds them; the records are the database's, cached.
#[derive(Default)]
struct State {
    records: BTreeMap<String, VolumeRecord>,
    /// Claims of containers being created: volume → container ids.
    claims: HashMap<String, BTreeSet<String>>,
    /// Refs: the running containers that have a volume mounted (volume → container ids).
    refs: HashMap<String, BTreeSet<String>>,
}

impl VolumeService {
    /// Loads the volume records. `usage` answers which containers use a volume.
    pub fn open(
        store: Arc<store::Store>,
        data_root: &std::path::Path,
        events: EventBus,
        usage: Arc<dyn UsageIndex>,
    ) -> Result<VolumeService> {
        let driver = LocalDriver::new(data_root);
        std::fs::create_dir_all(driver.root()).map_err(VolumeError::io(
            "",
            "creating",
            driver.root(),
        ))?;
        // Each volume is the top of its own hierarchy: spread them over the filesystem.
        store::snapshot::mark_topdir(driver.root());
        let records = store
            .db()
            .read(|tx| tx.list::<VolumeRecord>(record::TABLE))
            .map_err(VolumeError::meta(""))?;
        let state = State {
            records: records.into_iter().collect(),
            ..State::default()
        };
        Ok(VolumeService {
            store,
            driver,
            trash: data_root.join("trash"),
            events,
            usage,
            state: Mutex::new(state),
            copy_up: Mutex::new(()),
            prune_running: AtomicBool::new(false),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The data directory of volume `name` (what containers mount).
    pub fn mountpoint(&self, name: &str) -> PathBuf {
        self.driver.data(name)
    }

    fn publish(&self, action: &str, name: &str, attrs: &[(&str, &str)]) {
        let attrs = attrs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.events.publish("volume", action, name, attrs);
    }

    /// Creates a volume, or returns the existing one of that name unchanged (as dockerd).
    /// The bool says whether it was made now.
    fn create_blocking(
        &self,
        name: Option<&str>,
        driver: &str,
        options: Option<BTreeMap<String, String>>,
        labels: Option<BTreeMap<String, String>>,
    ) -> Result<(VolumeRecord, bool)> {
        let anonymous = name.is_none_or(str::is_empty);
        let name = match name.filter(|n| !n.is_empty()) {
            Some(n) => n.to_string(),
            None => random_name(),
        };
        if !matches!(driver, "" | "local") {
            return Err(VolumeError::NoSuchDriver {
                name,
                driver: driver.to_string(),
            });
        }
        local::validate_name(&name)?;
        local::validate_opts(&name, options.as_ref())?;
        let mut st = self.state();
        if let Some(existing) = st.records.get(&name) {
            return Ok((existing.clone(), false));
        }
        let mut labels = labels;
        if anonymous {
            labels
                .get_or_insert_with(BTreeMap::new)
                .insert(ANONYMOUS_LABEL.to_string(), String::new());
        }
        let rec = VolumeRecord {
            name: name.clone(),
            driver: "local".into(),
            created: crate::clock::now_nanos(),
            labels,
            options,
            populating: false,
        };
        self.driver.create_dirs(&name)?;
        let saved = self
            .store
            .db()
            .write(|tx| tx.put(record::TABLE, &name, &rec))
            .map_err(VolumeError::meta(&name));
        if let Err(e) = saved {
            let _ = self.driver.remove_dirs(&name, &self.trash);
            return Err(e);
        }
        st.records.insert(name.clone(), rec.clone());
        drop(st);
        self.publish("create", &name, &[("driver", "local")]);
        Ok((rec, true))
    }

    /// `POST /volumes/create`.
    #[tracing::instrument(skip(self, opts), fields(volume = %opts.name))]
    pub async fn create(self: &Arc<Self>, opts: VolumeCreateOptions) -> Result<Volume> {
        if opts.cluster_volume_spec.is_some() {
            return Err(VolumeError::Invalid(
                "cluster volumes need a swarm manager, which berth is not".into(),
            ));
        }
        let svc = self.clone();
        let (rec, _) = blocking(move || {
            svc.create_blocking(
                Some(&opts.name),
                &opts.driver,
                opts.driver_opts,
                opts.labels,
            )
        })
        .await?;
        Ok(rec.to_api(&self.mountpoint(&rec.name)))
    }

    /// `GET /volumes/{name}`.
    pub fn inspect(&self, name: &str) -> Result<Volume> {
        let st = self.state();
        let rec = st
            .records
            .get(name)
            .ok_or_else(|| VolumeError::NotFound(name.to_string()))?;
        Ok(rec.to_api(&self.mountpoint(name)))
    }

    /// Every record, by name.
    fn records(&self) -> Vec<VolumeRecord> {
        self.state().records.values().cloned().collect()
    }

    /// Whether a container uses or is about to use `name`; the ids of those that do.
    fn users_of(&self, name: &str) -> Vec<String> {
        let mut ids: BTreeSet<String> = self
            .usage
            .users(Resource::Volume(name))
            .into_iter()
            .map(|u| u.container_id)
            .collect();
        let st = self.state();
        for held in [st.claims.get(name), st.refs.get(name)]
            .into_iter()
            .flatten()
        {
            ids.extend(held.iter().cloned());
        }
        ids.into_iter().collect()
    }

    /// `GET /volumes?filters=` (`dangling`, `name`, `driver`, `label`), sorted by name.
    pub fn list(&self, filters: &Filters) -> Result<VolumeListResponse> {
        filters.validate(&["dangling", "name", "driver", "label"])?;
        let dangling = match filters.get("dangling").next() {
            None => None,
            Some("true" | "1") => Some(true),
            Some("false" | "0") => Some(false),
            Some(v) => {
                return Err(VolumeError::Invalid(format!(
                    "invalid filter 'dangling={v}'"
                )))
            }
        };
        let names: Vec<regex::Regex> = filters
            .get("name")
            .map(|n| {
                regex::Regex::new(n).map_err(|source| VolumeError::NameFilter {
                    pattern: n.to_string(),
                    source,
                })
            })
            .collect::<Result<_>>()?;
        let mut volumes = Vec::new();
        for rec in self.records() {
            let labels = rec.labels.clone().unwrap_or_default();
            if !filters.match_labels(&labels)
                || (filters.contains("driver") && !filters.get("driver").any(|d| d == rec.driver))
                || (!names.is_empty() && !names.iter().any(|r| r.is_match(&rec.name)))
            {
                continue;
            }
            if let Some(d) = dangling {
                if self.users_of(&rec.name).is_empty() != d {
                    continue;
                }
            }
            volumes.push(rec.to_api(&self.mountpoint(&rec.name)));
        }
        Ok(VolumeListResponse {
            volumes,
            warnings: Vec::new(),
        })
    }

    /// The local volumes without driver options, with their size and reference count, for
    /// `GET /system/df` (as dockerd's `LocalVolumesSize`).
    pub async fn disk_usage(self: &Arc<Self>) -> Result<Vec<Volume>> {
        let svc = self.clone();
        blocking(move || {
            let mut out = Vec::new();
            for rec in svc.records().into_iter().filter(|r| !r.has_options()) {
                let mut v = rec.to_api(&svc.mountpoint(&rec.name));
                let size = svc.driver.size(&rec.name).unwrap_or(-1);
                let refs = svc.usage.users(Resource::Volume(&rec.name)).len() as i64;
                v.usage_data = Some(api_types::UsageData {
                    size,
                    ref_count: refs,
                });
                out.push(v);
            }
            Ok(out)
        })
        .await
    }

    /// How many volumes there are (for `/info`-like counts).
    pub fn count(&self) -> usize {
        self.state().records.len()
    }
}

/// 64 hex digits, as dockerd names anonymous volumes.
fn random_name() -> String {
    use rand::Rng;
    let bytes: [u8; 32] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs blocking volume work off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(VolumeError::Task)?
}
