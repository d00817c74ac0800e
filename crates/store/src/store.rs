//! The [`Store`] facade: everything under one data root, opened together, shared by cloning.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, RwLock, RwLockReadGuard};
use std::time::Duration;

use oci::compression::CompressionError;
use oci::config::{ConfigError, ImageConfig};
use oci::layer::{ApplyError, DiffError};
use oci::{Descriptor, Digest, Reference};

use crate::content::{BlobInfo, ContentError, ContentStore, IngestWriter};
use crate::db::{MetaDb, MetaError};
use crate::flush::Flusher;
use crate::images::{self, ImageError, ImageRecord, LayerRecord};
use crate::lease::{self, Lease, LeaseOptions, Resource};
use crate::snapshot::overlay::SnapRecord;
use crate::snapshot::{Kind, Labels, OverlaySnapshotter, SnapshotError};
use crate::ErrorKind;

/// Errors of store operations that span several parts.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The metadata database failed.
    #[error(transparent)]
    Meta(#[from] MetaError),
    /// The content store failed.
    #[error(transparent)]
    Content(#[from] ContentError),
    /// The snapshotter failed.
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    /// An image or reference operation failed.
    #[error(transparent)]
    Image(#[from] ImageError),
    /// A layer could not be unpacked.
    #[error("unpacking layer: {0}")]
    Apply(#[from] ApplyError),
    /// A layer could not be produced from a directory.
    #[error("creating layer: {0}")]
    Diff(#[from] DiffError),
    /// The input's compression is not usable.
    #[error(transparent)]
    Compression(#[from] CompressionError),
    /// The layer's content does not match the diff ID it was announced with.
    #[error("layer {expected}: diff ID mismatch, content hashes to {actual}")]
    DiffIdMismatch {
        /// The announced diff ID.
        expected: Digest,
        /// What the content hashes to.
        actual: Digest,
    },
    /// The image config is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The config lists different layers than were given.
    #[error("image config lists {config} layer(s) but {given} were given")]
    LayerCount {
        /// Layers in the config.
        config: usize,
        /// Layers given.
        given: usize,
    },
    /// A layer's diff ID or chain ID does not match the config.
    #[error("layer {index}: {what} {given} does not match the image config ({expected})")]
    LayerMismatch {
        /// Position, base 0.
        index: usize,
        /// `diff ID` or `chain ID`.
        what: &'static str,
        /// From the layer record.
        given: Digest,
        /// From the config.
        expected: Digest,
    },
    /// A layer snapshot an image needs is not there.
    #[error("layer {chain_id} is not unpacked")]
    MissingLayer {
        /// Its chain ID.
        chain_id: Digest,
    },
    /// A blob an image needs is not there.
    #[error("blob {digest} is not in the content store")]
    MissingBlob {
        /// Its digest.
        digest: Digest,
    },
    /// No rw layer for this container.
    #[error("no rw layer for container {id}")]
    NoContainerLayer {
        /// The container ID.
        id: String,
    },
    /// A filesystem operation on the data root failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// The operation.
        op: &'static str,
        /// The path.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// A helper thread failed or panicked.
    #[error("{what}: {source}")]
    Thread {
        /// What the thread did.
        what: &'static str,
        /// The error.
        #[source]
        source: io::Error,
    },
}

impl StoreError {
    /// The error's category (the inner error's, for wrapped ones).
    pub fn kind(&self) -> ErrorKind {
        match self {
            StoreError::Meta(e) => e.kind(),
            StoreError::Content(e) => e.kind(),
            StoreError::Snapshot(e) => e.kind(),
            StoreError::Image(e) => e.kind(),
            StoreError::Apply(e) => e.kind(),
            StoreError::Diff(e) => e.kind(),
            StoreError::Compression(e) => e.kind(),
            StoreError::Config(e) => e.kind(),
            StoreError::DiffIdMismatch { .. }
            | StoreError::LayerCount { .. }
            | StoreError::LayerMismatch { .. } => ErrorKind::InvalidArgument,
            StoreError::MissingLayer { .. }
            | StoreError::MissingBlob { .. }
            | StoreError::NoContainerLayer { .. } => ErrorKind::NotFound,
            StoreError::Io { .. } | StoreError::Thread { .. } => ErrorKind::Internal,
        }
    }
}

/// Tunables.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Ingests untouched for longer than this, and not held by a lease, are removed by GC
    /// (default 24 h).
    pub ingest_max_age: Duration,
    /// gzip level for layers the store compresses itself (import, commit). Default 1: the
    /// compressor runs beside the unpacker and must keep up with it.
    pub gzip_level: u32,
    /// Flush an unpacked layer's files to disk (one `syncfs`, no per-file fsync) before it is
    /// recorded as committed, so a crash never leaves a committed layer with lost data.
    /// Default true; turning it off trades that guarantee for speed (Docker does not sync).
    pub sync_layers: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            ingest_max_age: Duration::from_secs(24 * 3600),
            gzip_level: 1,
            sync_layers: true,
        }
    }
}

/// Label marking who owns an active snapshot; unowned ones are debris after a restart.
pub const OWNER_LABEL: &str = "berth.owner";

pub(crate) struct Inner {
    pub(crate) root: PathBuf,
    pub(crate) db: Arc<MetaDb>,
    pub(crate) content: ContentStore,
    pub(crate) snapshots: OverlaySnapshotter,
    /// Held for writing by GC; held for reading while a new reference is recorded, so GC
    /// never sees a half-recorded one.
    pub(crate) gc_lock: RwLock<()>,
    inflight: Mutex<HashSet<Digest>>,
    inflight_cv: Condvar,
    /// Coalesces the flushes of layers committed at about the same time.
    pub(crate) flusher: Flusher,
    pub(crate) opts: StoreOptions,
}

/// Everything on disk under a data root: content store, snapshots, metadata, images.
/// Cheap to clone and share across threads; every method blocks (call it from
/// `spawn_blocking`).
#[derive(Clone)]
pub struct Store {
    pub(crate) inner: Arc<Inner>,
}

/// Holds a chain ID while one thread unpacks it; others wait, then find it done.
pub(crate) struct InflightGuard<'a> {
    store: &'a Inner,
    chain: Digest,
}

impl Drop for InflightGuard<'_> {
    fn drop(&mut self) {
        let mut set = self
            .store
            .inflight
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        set.remove(&self.chain);
        self.store.inflight_cv.notify_all();
    }
}

impl Store {
    /// Opens (creating as needed) the store at `root`, removes what a crash left half done
    /// (leases of dead processes, unowned active snapshots, broken ingests) and collects
    /// garbage.
    pub fn open(root: &Path, opts: StoreOptions) -> Result<Store, StoreError> {
        let store = Store::open_without_recovery(root, opts)?;
        store.recover()?;
        Ok(store)
    }

    /// Opens the store as it is on disk, without recovery or garbage collection: for
    /// inspecting what a previous process left (`garbage()` then shows any leak).
    pub fn open_without_recovery(root: &Path, opts: StoreOptions) -> Result<Store, StoreError> {
        fs::create_dir_all(root).map_err(|source| StoreError::Io {
            op: "creating",
            path: root.into(),
            source,
        })?;
        let db = Arc::new(MetaDb::open(&root.join("meta.redb"))?);
        let content = ContentStore::open(&root.join("content"))?;
        let snapshots = OverlaySnapshotter::open(&root.join("snapshots"), db.clone())?;
        let store = Store {
            inner: Arc::new(Inner {
                root: root.to_path_buf(),
                db,
                content,
                snapshots,
                gc_lock: RwLock::new(()),
                inflight: Mutex::new(HashSet::new()),
                inflight_cv: Condvar::new(),
                flusher: Flusher::default(),
                opts,
            }),
        };
        Ok(store)
    }

    /// The data root.
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// The metadata database (the engine's own JSON tables live here).
    pub fn db(&self) -> &MetaDb {
        &self.inner.db
    }

    /// The content store.
    pub fn content(&self) -> &ContentStore {
        &self.inner.content
    }

    /// The snapshotter.
    pub fn snapshotter(&self) -> &OverlaySnapshotter {
        &self.inner.snapshots
    }

    pub(crate) fn gc_read(&self) -> RwLockReadGuard<'_, ()> {
        self.inner.gc_lock.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes a lease for an operation in flight (released on drop).
    pub fn lease(&self) -> Result<Lease, StoreError> {
        Lease::create(self, &LeaseOptions::default())
    }

    /// Takes a lease with options (expiry, persistence across restarts).
    pub fn lease_with(&self, opts: &LeaseOptions) -> Result<Lease, StoreError> {
        Lease::create(self, opts)
    }

    /// Stores `data` as a blob held by `lease` (configs, manifests).
    pub fn put_blob(&self, lease: &Lease, data: &[u8]) -> Result<BlobInfo, StoreError> {
        let _g = self.gc_read();
        let info = self.inner.content.put(data)?;
        lease.add_unlocked(Resource::Blob(info.digest.clone()))?;
        Ok(info)
    }

    /// Opens (or resumes) the ingest `key` under `lease`.
    pub fn ingest(
        &self,
        lease: &Lease,
        key: &str,
        expected_size: Option<u64>,
    ) -> Result<IngestWriter, StoreError> {
        lease.add(Resource::Ingest(key.to_string()))?;
        Ok(self.inner.content.writer(key, expected_size)?)
    }

    /// Commits an ingest (verifying size and digest when given); the blob is held by `lease`.
    pub fn commit_ingest(
        &self,
        lease: &Lease,
        w: IngestWriter,
        expected_size: Option<u64>,
        expected: Option<&Digest>,
    ) -> Result<BlobInfo, StoreError> {
        let _g = self.gc_read();
        let info = w.commit(expected_size, expected)?;
        lease.add_unlocked(Resource::Blob(info.digest.clone()))?;
        Ok(info)
    }

    /// [`Store::commit_ingest`] for a writer whose bytes the caller hashed itself
    /// ([`IngestWriter::hashed_by_caller`]): `size` and `digest` are what it computed.
    pub(crate) fn commit_ingest_hashed(
        &self,
        lease: &Lease,
        w: IngestWriter,
        size: u64,
        digest: &Digest,
    ) -> Result<BlobInfo, StoreError> {
        let _g = self.gc_read();
        let info = w.commit_hashed(size, digest)?;
        lease.add_unlocked(Resource::Blob(info.digest.clone()))?;
        Ok(info)
    }

    /// When the blob exists, puts it under `lease` (so GC keeps it) and returns its info.
    pub fn lease_blob(
        &self,
        lease: &Lease,
        digest: &Digest,
    ) -> Result<Option<BlobInfo>, StoreError> {
        let _g = self.gc_read();
        match self.inner.content.info(digest) {
            Ok(info) => {
                lease.add_unlocked(Resource::Blob(digest.clone()))?;
                Ok(Some(info))
            }
            Err(ContentError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// When the layer `chain_id` is unpacked, puts it under `lease` and returns its size.
    pub fn lease_layer(&self, lease: &Lease, chain_id: &Digest) -> Result<Option<u64>, StoreError> {
        if !self.lease_snapshot(lease, chain_id.as_str())? {
            return Ok(None);
        }
        Ok(Some(self.layer_size(chain_id)?))
    }

    /// When the committed snapshot `name` exists, puts it under `lease`.
    pub(crate) fn lease_snapshot(&self, lease: &Lease, name: &str) -> Result<bool, StoreError> {
        let _g = self.gc_read();
        let rec: Option<SnapRecord> = self
            .inner
            .db
            .read(|tx| tx.raw_get(crate::snapshot::overlay::TABLE, name))?;
        if rec.is_some_and(|r| r.kind == Kind::Committed) {
            lease.add_unlocked(Resource::Snapshot(name.to_string()))?;
            return Ok(true);
        }
        Ok(false)
    }

    pub(crate) fn layer_size(&self, chain_id: &Digest) -> Result<u64, StoreError> {
        use crate::snapshot::Snapshotter;
        Ok(self.inner.snapshots.usage(chain_id.as_str())?.size)
    }

    /// An active snapshot `key` on `parent`, held by `lease` if given: its record (and lease
    /// entry) committed durably, then its directories; the record is withdrawn if they fail.
    pub(crate) fn prepare_leased(
        &self,
        lease: Option<&Lease>,
        key: &str,
        parent: Option<&str>,
        labels: Labels,
    ) -> Result<SnapRecord, StoreError> {
        self.prepare_snapshot(lease, key, parent, labels, Kind::Active, true)
    }

    /// `prepare_leased` for a snapshot of `kind`, its record committed durably or (`durable`
    /// false, for work in progress) without waiting for the disk: see
    /// `MetaDb::write_deferred` — a crash loses the record, and the next start's sweep the
    /// directories.
    pub(crate) fn prepare_snapshot(
        &self,
        lease: Option<&Lease>,
        key: &str,
        parent: Option<&str>,
        labels: Labels,
        kind: Kind,
        durable: bool,
    ) -> Result<SnapRecord, StoreError> {
        let _g = self.gc_read();
        let sn = &self.inner.snapshots;
        let record = |tx: &mut crate::WriteTx| {
            let rec = sn.create_record(tx, key, parent, labels, kind)?;
            if let Some(l) = lease {
                lease::add(tx, l.id(), Resource::Snapshot(key.to_string()))?;
            }
            Ok::<_, StoreError>(rec)
        };
        let rec = if durable {
            self.inner.db.write(record)?
        } else {
            self.inner.db.write_deferred(record)?
        };
        if let Err(e) = sn.make_dirs(&rec) {
            self.discard_snapshot(key);
            return Err(e.into());
        }
        Ok(rec)
    }

    /// Removes a snapshot, logging (not returning) failures: used on error paths.
    ///
    /// The files of an active snapshot (work in progress nothing else sees) go first: the
    /// error being handled is often a full disk, and the database commit that removes the
    /// record needs the room those files hold. Should that commit still fail, the record of an
    /// empty snapshot is left for the next start's recovery.
    pub(crate) fn discard_snapshot(&self, key: &str) {
        let sn = &self.inner.snapshots;
        let active = self
            .inner
            .db
            .read(|tx| tx.raw_get::<SnapRecord>(crate::snapshot::overlay::TABLE, key))
            .ok()
            .flatten()
            .filter(|r| r.kind == Kind::Active);
        if let Some(rec) = &active {
            if let Err(e) = sn.remove_dir(rec.id) {
                tracing::warn!(snapshot = key, error = %e, "removing snapshot directory");
            }
        }
        match self.inner.db.write(|tx| sn.remove_record(tx, key)) {
            Ok(id) => {
                if let Err(e) = sn.remove_dir(id) {
                    tracing::warn!(snapshot = key, error = %e, "removing snapshot directory");
                }
            }
            Err(e) => tracing::warn!(snapshot = key, error = %e, "removing snapshot"),
        }
    }

    /// Waits until no other thread unpacks `chain`, then claims it.
    pub(crate) fn claim(&self, chain: &Digest) -> InflightGuard<'_> {
        let inner = &*self.inner;
        let mut set = inner.inflight.lock().unwrap_or_else(|e| e.into_inner());
        while set.contains(chain) {
            set = inner
                .inflight_cv
                .wait(set)
                .unwrap_or_else(|e| e.into_inner());
        }
        set.insert(chain.clone());
        InflightGuard {
            store: inner,
            chain: chain.clone(),
        }
    }

    /// Records a new image (tags included) whose layers are unpacked and whose blobs are
    /// present. The config and manifest bytes are stored as given; the image ID is the
    /// digest of `config`. Layers and config must agree on diff IDs.
    pub fn create_image(&self, lease: &Lease, img: NewImage) -> Result<ImageRecord, StoreError> {
        let cfg = ImageConfig::from_slice(&img.config)?;
        check_layers(&cfg, &img.layers)?;
        for l in &img.layers {
            if !self.lease_snapshot(lease, l.chain_id.as_str())? {
                return Err(StoreError::MissingLayer {
                    chain_id: l.chain_id.clone(),
                });
            }
            if self.lease_blob(lease, &l.blob.digest)?.is_none() {
                return Err(StoreError::MissingBlob {
                    digest: l.blob.digest.clone(),
                });
            }
        }
        let config = self.put_blob(lease, &img.config)?;
        let manifest = match &img.manifest {
            Some((bytes, media_type)) => {
                let info = self.put_blob(lease, bytes)?;
                Some(Descriptor::new(media_type.clone(), info.digest, info.size))
            }
            None => None,
        };
        let rec = ImageRecord {
            id: config.digest.clone(),
            repo_tags: img.repo_tags,
            repo_digests: img.repo_digests,
            created: cfg.created.clone(),
            added: crate::now_nanos(),
            size: img.layers.iter().map(|l| l.size).sum(),
            config_media_type: img.config_media_type,
            config_size: config.size,
            layers: img.layers,
            parent: img.parent,
            manifest,
            annotations: img.annotations,
        };
        let _g = self.gc_read();
        self.inner.db.write(|tx| images::put(tx, &rec))?;
        Ok(self.image(&rec.id)?)
    }

    /// The image `id`.
    pub fn image(&self, id: &Digest) -> Result<ImageRecord, ImageError> {
        self.inner.db.read(|tx| images::get(tx, id))
    }

    /// Finds an image by what a user typed, with Docker's rules (full ID, hex ID, unique ID
    /// prefix, `name`, `name:tag`, `name@digest`); `No such image: …` when absent.
    pub fn resolve(&self, name_or_id: &str) -> Result<ImageRecord, ImageError> {
        self.inner.db.read(|tx| images::resolve(tx, name_or_id))
    }

    /// Every image.
    pub fn images(&self) -> Result<Vec<ImageRecord>, ImageError> {
        self.inner.db.read(images::list)
    }

    /// Points `reference` at image `id` (moving it from another image if needed).
    pub fn tag(&self, reference: &Reference, id: &Digest) -> Result<(), ImageError> {
        self.inner.db.write(|tx| images::tag(tx, reference, id))
    }

    /// Removes a reference; returns the image it pointed at.
    pub fn untag(&self, reference: &Reference) -> Result<Digest, ImageError> {
        self.inner.db.write(|tx| images::untag(tx, reference))
    }

    /// Deletes an image record (refusing tagged images and images with children unless
    /// `force`) and collects the garbage it leaves.
    pub fn delete_image(&self, id: &Digest, force: bool) -> Result<ImageRecord, StoreError> {
        let rec = self.inner.db.write(|tx| images::delete(tx, id, force))?;
        self.gc()?;
        Ok(rec)
    }

    /// The config bytes of image `id`, exactly as stored.
    pub fn image_config(&self, id: &Digest) -> Result<Vec<u8>, StoreError> {
        Ok(self.inner.content.read(id)?)
    }

    /// The manifest bytes of image `id`, when it has one.
    pub fn image_manifest(&self, id: &Digest) -> Result<Option<(Descriptor, Vec<u8>)>, StoreError> {
        let rec = self.image(id)?;
        match rec.manifest {
            Some(d) => {
                let bytes = self.inner.content.read(&d.digest)?;
                Ok(Some((d, bytes)))
            }
            None => Ok(None),
        }
    }
}

/// Everything [`Store::create_image`] needs.
#[derive(Debug, Clone, Default)]
pub struct NewImage {
    /// The config JSON, stored verbatim (its digest is the image ID).
    pub config: Vec<u8>,
    /// The config's media type.
    pub config_media_type: String,
    /// The manifest JSON and its media type, when there is one.
    pub manifest: Option<(Vec<u8>, String)>,
    /// Layers, base first, as returned by import/unpack.
    pub layers: Vec<LayerRecord>,
    /// Tags to point at the image.
    pub repo_tags: Vec<Reference>,
    /// Repo digests to point at the image.
    pub repo_digests: Vec<Reference>,
    /// The image it was made from.
    pub parent: Option<Digest>,
    /// Free-form metadata.
    pub annotations: BTreeMap<String, String>,
}

pub(crate) fn check_layers(cfg: &ImageConfig, layers: &[LayerRecord]) -> Result<(), StoreError> {
    let diff_ids = &cfg.rootfs.diff_ids;
    if diff_ids.len() != layers.len() {
        return Err(StoreError::LayerCount {
            config: diff_ids.len(),
            given: layers.len(),
        });
    }
    let chains = oci::config::chain_ids(diff_ids);
    for (i, l) in layers.iter().enumerate() {
        if l.diff_id != diff_ids[i] {
            return Err(StoreError::LayerMismatch {
                index: i,
                what: "diff ID",
                given: l.diff_id.clone(),
                expected: diff_ids[i].clone(),
            });
        }
        if l.chain_id != chains[i] {
            return Err(StoreError::LayerMismatch {
                index: i,
                what: "chain ID",
                given: l.chain_id.clone(),
                expected: chains[i].clone(),
            });
        }
    }
    Ok(())
}

/// Key of a container's rw snapshot.
pub(crate) fn container_key(id: &str) -> String {
    format!("container/{id}")
}
