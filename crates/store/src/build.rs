//! The builder's snapshots and layers. A build writes into snapshots of its own — its
//! context, one rw layer per COPY/ADD/WORKDIR step, read-only views of other images, all held
//! by the build's lease — and turns each step's writes into a layer **in place**: the
//! snapshot's directory is diffed into a layer tar, which is hashed (its diff ID) and stored
//! as an uncompressed blob, and the directory itself becomes the committed layer. A RUN
//! step's container rw layer is committed the same way, so no step is unpacked twice or
//! compressed (a push sends build layers as stored: plain tars).
//!
//! Build layers are not flushed one by one: the builder calls [`Store::flush_build`] once
//! when the build is done (one `syncfs` for every step), as the classic builder and BuildKit
//! never flush theirs; and the records of a build's steps are committed without an `fsync`
//! each ([`crate::MetaDb::write_deferred`]), made durable by the build's last durable commit
//! (its tags, the release of its lease) — a daemon that dies mid-build loses the build, as it
//! would anyway.
//!
//! Cache mounts (`RUN --mount=type=cache`) and contexts kept between builds (context sync)
//! are active snapshots owned by [`BUILD_CACHE_OWNER`], kept across restarts until
//! `builder prune` removes them.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use oci::layer::diff;
use oci::{media_type, Descriptor, Digest};

use oci::config::ImageConfig;

use crate::db::{MetaError, WriteTx};
use crate::images::{self, ImageRecord, LayerRecord};
use crate::layers::chain_of;
use crate::lease::{self, Lease, Resource};
use crate::snapshot::overlay::{SnapRecord, TABLE};
use crate::snapshot::{Info, Kind, Labels, Mount, SnapshotError, Snapshotter, Usage};
use crate::store::{check_layers, container_key, NewImage, Store, StoreError, OWNER_LABEL};

/// Owner label value of the builder's persistent snapshots.
pub const BUILD_CACHE_OWNER: &str = "build-cache";

/// The builder's persistent directories.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheDirKind {
    /// A `RUN --mount=type=cache` directory, by cache id.
    Mount,
    /// A build context kept between builds of the same directory (context sync), by key.
    Context,
}

impl CacheDirKind {
    fn prefix(self) -> &'static str {
        match self {
            CacheDirKind::Mount => "build-cache/",
            CacheDirKind::Context => "build-context/",
        }
    }
}

/// A snapshot the builder writes into or reads from.
#[derive(Debug, Clone)]
pub struct BuildSnapshot {
    /// Its key.
    pub key: String,
    /// How to mount it (rw for a step layer, ro for a view).
    pub mounts: Vec<Mount>,
    /// Its own directory (the overlay upper dir of a step layer; the context's files).
    pub dir: PathBuf,
}

/// The digest of an empty layer tar (just the end-of-archive blocks).
fn is_empty_tar(d: &Digest) -> bool {
    *d == Digest::sha256_of(&[0u8; 1024])
}

impl Store {
    fn build_snapshot(&self, key: String) -> Result<BuildSnapshot, StoreError> {
        let mounts = self.inner.snapshots.mounts(&key)?;
        let dir = self.inner.snapshots.fs_dir(&key)?;
        Ok(BuildSnapshot { key, mounts, dir })
    }

    /// A new writable snapshot on the layer `parent` (`None`: empty), held by `lease`: a
    /// step's layer, or (without parent) the build context's directory.
    pub fn prepare_build_snapshot(
        &self,
        lease: &Lease,
        parent: Option<&Digest>,
    ) -> Result<BuildSnapshot, StoreError> {
        let key = format!("build/{}", lease::new_id());
        let parent = parent.map(Digest::as_str);
        self.prepare_snapshot(
            Some(lease),
            &key,
            parent,
            Labels::new(),
            Kind::Active,
            false,
        )?;
        self.build_snapshot(key)
    }

    /// A read-only view of the layer `top` (`None`: empty), held by `lease`.
    pub fn build_view(
        &self,
        lease: &Lease,
        top: Option<&Digest>,
    ) -> Result<BuildSnapshot, StoreError> {
        let key = format!("build-view/{}", lease::new_id());
        let top = top.map(Digest::as_str);
        self.prepare_snapshot(Some(lease), &key, top, Labels::new(), Kind::View, false)?;
        self.build_snapshot(key)
    }

    /// Removes a build snapshot that is not committed (a step that failed, a view, the
    /// context). Failures are logged: this runs on cleanup paths.
    pub fn remove_build_snapshot(&self, key: &str) {
        self.discard_snapshot(key);
    }

    /// Diffs `dir` into a new uncompressed blob held by `lease`; `None` (nothing kept) when
    /// the directory holds no change.
    fn layer_blob(
        &self,
        lease: &Lease,
        dir: &std::path::Path,
        oci_media_types: bool,
    ) -> Result<Option<Descriptor>, StoreError> {
        let key = format!("import/{}", lease::new_id());
        let w = self.ingest(lease, &key, None)?;
        let written = diff(dir, BufWriter::with_capacity(1 << 20, w))
            .map_err(StoreError::from)
            .and_then(|(mut bw, _)| {
                bw.flush().map_err(|source| StoreError::Io {
                    op: "writing layer",
                    path: dir.to_path_buf(),
                    source,
                })?;
                bw.into_inner().map_err(|e| StoreError::Io {
                    op: "writing layer",
                    path: dir.to_path_buf(),
                    source: e.into_error(),
                })
            });
        let w = match written {
            Ok(w) => w,
            Err(e) => {
                let _ = self.inner.content.abort(&key);
                return Err(e);
            }
        };
        if is_empty_tar(&w.digest()) {
            drop(w);
            let _ = self.inner.content.abort(&key);
            return Ok(None);
        }
        let info = {
            let _g = self.gc_read();
            let info = w.commit_unsynced()?;
            let blob = Resource::Blob(info.digest.clone());
            self.inner
                .db
                .write_deferred(|tx| lease::add(tx, lease.id(), blob))?;
            info
        };
        let mt = if oci_media_types {
            media_type::OCI_LAYER_TAR
        } else {
            media_type::DOCKER_LAYER_TAR
        };
        Ok(Some(Descriptor::new(mt, info.digest, info.size)))
    }

    /// The layer a committed `blob` (uncompressed: its digest is the diff ID) made on
    /// `parent`, with its size.
    fn layer_record(
        &self,
        blob: Descriptor,
        parent: Option<&Digest>,
    ) -> Result<LayerRecord, StoreError> {
        let diff_id = blob.digest.clone();
        let chain_id = chain_of(parent, &diff_id);
        let size = self.layer_size(&chain_id)?;
        Ok(LayerRecord {
            blob,
            diff_id,
            chain_id,
            size,
        })
    }

    /// Commits the step snapshot `key` (made by [`Store::prepare_build_snapshot`] on
    /// `parent`) as a layer, in place (see the module docs). `Ok(None)` when the step
    /// changed nothing: the snapshot is removed and no layer is made.
    pub fn commit_build_layer(
        &self,
        lease: &Lease,
        key: &str,
        parent: Option<&Digest>,
        oci_media_types: bool,
    ) -> Result<Option<LayerRecord>, StoreError> {
        let dir = self.inner.snapshots.fs_dir(key)?;
        let Some(blob) = self.layer_blob(lease, &dir, oci_media_types)? else {
            self.discard_snapshot(key);
            return Ok(None);
        };
        let chain_id = chain_of(parent, &blob.digest);
        // The same files may have been committed before (a --no-cache rebuild of a COPY).
        self.commit_or_adopt(lease, key, &chain_id, false)?;
        Ok(Some(self.layer_record(blob, parent)?))
    }

    /// Commits stopped container `id`'s rw layer as a layer on its image's top layer, in
    /// place: its directory becomes the layer and its init layer goes, so the container is
    /// left without a rw layer (remove it next). `Ok(None)` when it changed nothing (the rw
    /// layer is then left as it is).
    pub fn commit_container_layer_in_place(
        &self,
        lease: &Lease,
        id: &str,
        oci_media_types: bool,
    ) -> Result<Option<LayerRecord>, StoreError> {
        let key = container_key(id);
        let no_layer = |e: SnapshotError| match e {
            SnapshotError::NotFound { .. } => StoreError::NoContainerLayer { id: id.to_string() },
            e => e.into(),
        };
        let info = self.inner.snapshots.stat(&key).map_err(no_layer)?;
        let init = info.parent.clone();
        let image_top = match &init {
            Some(p) => self.inner.snapshots.stat(p)?.parent,
            None => None,
        };
        let parent = image_top
            .as_deref()
            .map(Digest::parse)
            .transpose()
            .map_err(|_| StoreError::NoContainerLayer { id: id.to_string() })?;
        let dir = self.inner.snapshots.fs_dir(&key)?;
        let Some(blob) = self.layer_blob(lease, &dir, oci_media_types)? else {
            return Ok(None);
        };
        let chain_id = chain_of(parent.as_ref(), &blob.digest);
        let removed_init = {
            let _g = self.gc_read();
            self.inner.db.write_deferred(|tx| {
                if tx
                    .raw_get::<SnapRecord>(TABLE, chain_id.as_str())?
                    .is_some()
                {
                    lease::add(tx, lease.id(), Resource::Snapshot(chain_id.to_string()))?;
                    return Ok::<_, StoreError>(None);
                }
                let mut rec: SnapRecord = tx
                    .raw_get(TABLE, &key)?
                    .ok_or_else(|| StoreError::NoContainerLayer { id: id.to_string() })?;
                rec.kind = Kind::Committed;
                rec.parent = image_top.clone();
                rec.labels.remove(OWNER_LABEL);
                tx.raw_delete(TABLE, &key)?;
                tx.raw_put(TABLE, chain_id.as_str(), &rec)?;
                lease::add(tx, lease.id(), Resource::Snapshot(chain_id.to_string()))?;
                // The init layer had the rw layer as its only child.
                let mut gone = None;
                if let Some(init) = &init {
                    if let Some(irec) = tx.raw_get::<SnapRecord>(TABLE, init)? {
                        tx.raw_delete(TABLE, init)?;
                        gone = Some(irec.id);
                    }
                }
                Ok(gone)
            })?
        };
        if let Some(dir_id) = removed_init {
            if let Err(e) = self.inner.snapshots.remove_dir(dir_id) {
                tracing::warn!(container_id = id, error = %e, "removing an init layer");
            }
        }
        Ok(Some(self.layer_record(blob, parent.as_ref())?))
    }

    /// Records a build step's image in one transaction, together with what `also` writes
    /// (the builder's cache record), without the per-resource leases of
    /// [`Store::create_image`]: the GC read lock is held from the check that every layer and
    /// blob exists to the commit, so nothing can be collected in between. The config blob is
    /// flushed with the build ([`Store::flush_build`]).
    pub fn record_build_image(
        &self,
        img: NewImage,
        also: impl FnOnce(&mut WriteTx, &oci::Digest) -> Result<(), MetaError>,
    ) -> Result<ImageRecord, StoreError> {
        let cfg = ImageConfig::from_slice(&img.config)?;
        check_layers(&cfg, &img.layers)?;
        let _g = self.gc_read();
        for l in &img.layers {
            if !self.inner.snapshots.exists(l.chain_id.as_str())? {
                return Err(StoreError::MissingLayer {
                    chain_id: l.chain_id.clone(),
                });
            }
            if !self.inner.content.exists(&l.blob.digest) {
                return Err(StoreError::MissingBlob {
                    digest: l.blob.digest.clone(),
                });
            }
        }
        let config = self.inner.content.put_unsynced(&img.config)?;
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
            manifest: None,
            annotations: img.annotations,
        };
        self.inner.db.write_deferred(|tx| {
            images::put(tx, &rec)?;
            also(tx, &rec.id)?;
            Ok::<_, StoreError>(())
        })?;
        Ok(rec)
    }

    /// The persistent build directory `id` of `kind`, created empty with `mode` and owner
    /// the first time.
    pub fn build_cache_dir(
        &self,
        kind: CacheDirKind,
        id: &str,
        (mode, uid, gid): (u32, u32, u32),
    ) -> Result<PathBuf, StoreError> {
        let key = format!("{}{id}", kind.prefix());
        if let Ok(dir) = self.inner.snapshots.fs_dir(&key) {
            return Ok(dir);
        }
        let mut labels = Labels::new();
        labels.insert(OWNER_LABEL.to_string(), BUILD_CACHE_OWNER.to_string());
        match self.prepare_leased(None, &key, None, labels) {
            Ok(_) => {}
            Err(StoreError::Snapshot(SnapshotError::AlreadyExists { .. })) => {}
            Err(e) => return Err(e),
        }
        let dir = self.inner.snapshots.fs_dir(&key)?;
        let io = |source| StoreError::Io {
            op: "preparing a build cache directory",
            path: dir.clone(),
            source,
        };
        std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).map_err(io)?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).map_err(io)?;
        Ok(dir)
    }

    /// Every persistent build directory: its kind, id, snapshot info and disk use.
    pub fn build_cache_dirs(&self) -> Result<Vec<(CacheDirKind, String, Info, Usage)>, StoreError> {
        let mut found = Vec::new();
        self.inner.snapshots.walk(&mut |i| {
            for kind in [CacheDirKind::Mount, CacheDirKind::Context] {
                if let Some(id) = i.key.strip_prefix(kind.prefix()) {
                    found.push((kind, id.to_string(), i.clone()));
                }
            }
        })?;
        let mut out = Vec::new();
        for (kind, id, i) in found {
            let usage = self.inner.snapshots.usage(&i.key)?;
            out.push((kind, id, i, usage));
        }
        Ok(out)
    }

    /// Removes the persistent build directory `id` of `kind`.
    pub fn remove_build_cache_dir(&self, kind: CacheDirKind, id: &str) -> Result<(), StoreError> {
        Ok(self
            .inner
            .snapshots
            .remove(&format!("{}{id}", kind.prefix()))?)
    }

    /// Flushes the data root's filesystem (one `syncfs`): a build's layers are on disk once
    /// this returns.
    pub fn flush_build(&self) -> Result<(), StoreError> {
        let root = self.inner.root.clone();
        let w = self.inner.flusher.written();
        self.inner
            .flusher
            .flush(&root, w)
            .map_err(|source| StoreError::Io {
                op: "syncing",
                path: root,
                source,
            })
    }
}
