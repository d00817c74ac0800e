//! Container rw layers: an active snapshot per container (`container/<id>`) on top of its
//! image's top layer, labelled as owned by a container so restart recovery keeps it.

use std::path::PathBuf;

use oci::layer::{changes, diff, Change};
use oci::Digest;

use crate::layers::{ImportOptions, ImportedLayer};
use crate::lease::Lease;
use crate::pipe::pipe;
use crate::snapshot::{Labels, Mount, SnapshotError, Snapshotter, Usage};
use crate::store::{container_key, Store, StoreError, OWNER_LABEL};

impl Store {
    fn container_err(&self, id: &str, e: SnapshotError) -> StoreError {
        match e {
            SnapshotError::NotFound { .. } => StoreError::NoContainerLayer { id: id.to_string() },
            e => e.into(),
        }
    }

    /// Creates container `id`'s rw layer on top of the layer `image_top` (an image's top chain
    /// ID; `None` for an image without layers) and returns the mounts of its root filesystem.
    pub fn prepare_container_layer(
        &self,
        id: &str,
        image_top: Option<&Digest>,
    ) -> Result<Vec<Mount>, StoreError> {
        let mut labels = Labels::new();
        labels.insert(OWNER_LABEL.to_string(), "container".to_string());
        let key = container_key(id);
        self.prepare_leased(None, &key, image_top.map(Digest::as_str), labels)?;
        Ok(self.inner.snapshots.mounts(&key)?)
    }

    /// The mounts of container `id`'s root filesystem.
    pub fn container_layer_mounts(&self, id: &str) -> Result<Vec<Mount>, StoreError> {
        self.inner
            .snapshots
            .mounts(&container_key(id))
            .map_err(|e| self.container_err(id, e))
    }

    /// The container's own directory (the overlay upper dir).
    pub fn container_layer_dir(&self, id: &str) -> Result<PathBuf, StoreError> {
        self.inner
            .snapshots
            .fs_dir(&container_key(id))
            .map_err(|e| self.container_err(id, e))
    }

    /// Size and inode count of what the container wrote (`SizeRw`).
    pub fn container_layer_usage(&self, id: &str) -> Result<Usage, StoreError> {
        self.inner
            .snapshots
            .usage(&container_key(id))
            .map_err(|e| self.container_err(id, e))
    }

    /// Removes the container's rw layer (the container must be stopped and unmounted).
    pub fn remove_container_layer(&self, id: &str) -> Result<(), StoreError> {
        self.inner
            .snapshots
            .remove(&container_key(id))
            .map_err(|e| self.container_err(id, e))
    }

    /// IDs of every container that has an rw layer (for reconciliation at start-up).
    pub fn container_layers(&self) -> Result<Vec<String>, StoreError> {
        let mut out = Vec::new();
        self.inner.snapshots.walk(&mut |i| {
            if let Some(id) = i.key.strip_prefix("container/") {
                out.push(id.to_string());
            }
        })?;
        Ok(out)
    }

    /// `docker diff`: what the container added, changed and deleted.
    pub fn container_changes(&self, id: &str) -> Result<Vec<Change>, StoreError> {
        let key = container_key(id);
        let upper = self
            .inner
            .snapshots
            .fs_dir(&key)
            .map_err(|e| self.container_err(id, e))?;
        let lowers = self.inner.snapshots.parent_dirs(&key)?;
        Ok(changes(&upper, &lowers)?)
    }

    /// `docker commit`: turns what the container wrote into a new layer on top of its image's
    /// top layer — diffed to a tar on one thread, imported (hashed, compressed, unpacked) on
    /// another. The new layer is held by `lease` until an image refers to it.
    pub fn commit_container_layer(
        &self,
        lease: &Lease,
        id: &str,
        opts: &ImportOptions,
    ) -> Result<ImportedLayer, StoreError> {
        let key = container_key(id);
        let info = self
            .inner
            .snapshots
            .stat(&key)
            .map_err(|e| self.container_err(id, e))?;
        let upper = self.inner.snapshots.fs_dir(&key)?;
        let parent = info
            .parent
            .as_deref()
            .map(Digest::parse)
            .transpose()
            .map_err(|_| StoreError::NoContainerLayer { id: id.to_string() })?;
        let (w, r) = pipe(4);
        std::thread::scope(|s| {
            let producer = s.spawn(move || {
                diff(&upper, w).and_then(|(w, _)| {
                    w.finish()
                        .map_err(|source| oci::layer::DiffError::Write { source })
                })
            });
            let imported = self.import_layer(lease, r, parent.as_ref(), opts);
            match producer.join() {
                // The import stopped reading: its error is the cause.
                Ok(Err(oci::layer::DiffError::Write { source }))
                    if source.kind() == std::io::ErrorKind::BrokenPipe && imported.is_err() =>
                {
                    imported
                }
                Ok(Err(e)) => Err(e.into()),
                Ok(Ok(())) => imported,
                Err(_) => Err(StoreError::Thread {
                    what: "diffing container layer",
                    source: std::io::Error::other("diff thread panicked"),
                }),
            }
        })
    }
}
