//! The container's side of `docker commit`, `docker diff` and `docker export`: its rw layer
//! turned into an image layer (with the container frozen meanwhile, by default), listed as
//! changes, or its whole root filesystem streamed as a tar.
//!
//! Commit holds the container's lock while it reads the rw layer, so the container cannot be
//! started, stopped or removed under it; a running container is frozen (cgroup freezer) for
//! the duration unless the caller asks not to pause, and always thawed again.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use api_types::ContainerChange;
use store::{ImportOptions, LayerRecord, Lease};

use super::state::Status;
use super::{shim, ContainerService};
use crate::error::{Error, Result};
use crate::image::{CheckedCommit, CommitOptions, ContainerLayer};

/// Digest of an empty layer tar (1024 zero bytes): what a commit without changes produces.
fn is_empty_layer(diff_id: &oci::Digest) -> bool {
    *diff_id == oci::Digest::sha256_of(&[0u8; 1024])
}

impl ContainerService {
    /// `POST /commit` (`docker commit`): the container's rw layer becomes a layer, and the
    /// image service records an image of it; returns the new image's id (`sha256:…`). A bad
    /// tag or `--change` fails before the container is touched.
    #[tracing::instrument(skip(self, opts), fields(container = %opts.container))]
    pub async fn commit(&self, opts: CommitOptions) -> Result<String> {
        let checked = CheckedCommit::new(opts)?;
        let o = checked.options();
        let layer = self.commit_rw_layer(&o.container, o.pause).await?;
        self.images.commit(checked, layer).await
    }

    /// Turns container `key`'s rw layer into a new layer on top of its image's, freezing the
    /// container meanwhile when `pause` is set and it runs.
    async fn commit_rw_layer(&self, key: &str, pause: bool) -> Result<ContainerLayer> {
        let c = self.get(key)?;
        let inner = c.inner.lock().await;
        let status = inner.record.state.status();
        match status {
            Status::Removing => {
                return Err(Error::Conflict(format!(
                    "There is already an active removal of container {}",
                    c.id
                )))
            }
            Status::Dead => {
                return Err(Error::Conflict(format!(
                    "You cannot commit container {} which is Dead",
                    c.id
                )))
            }
            _ => {}
        }
        let freeze = pause && status.is_running() && status != Status::Paused;
        let cgroup = shim::cgroups_path(&self.cfg, &c.id);
        let store = self.store.clone();
        let id = c.id.clone();
        let record = &inner.record;
        let (container_id, image_id, config) = (
            record.id.clone(),
            record.image_id.clone(),
            record.config.clone(),
        );
        let res = tokio::task::spawn_blocking(move || -> Result<ContainerLayer> {
            if freeze {
                runtime::freezer::freeze(&cgroup)
                    .map_err(|e| Error::io(format!("pausing container {id} to commit it"), e))?;
            }
            let committed = (|| {
                let lease = store.lease().map_err(Error::from)?;
                let imported = store
                    .commit_container_layer(&lease, &id, &ImportOptions::default())
                    .map_err(Error::from)?;
                Ok(ContainerLayer {
                    container_id,
                    image_id,
                    config,
                    layer: imported.layer().filter(|l| !is_empty_layer(&l.diff_id)),
                    lease,
                })
            })();
            if freeze {
                if let Err(e) = runtime::freezer::thaw(&cgroup) {
                    tracing::error!(container_id = %id, error = %e, "thawing after commit");
                }
            }
            committed
        })
        .await
        .map_err(Error::task("commit"))?;
        drop(inner);
        res
    }

    /// A build step's commit of stopped container `key`: its rw layer becomes a layer in
    /// place (no unpacking again, no compression; see `store::build`), after `prepare` ran on
    /// the rw layer's directory (the builder removes the mount points its mounts left). The
    /// container is left without a rw layer: remove it next. `None` when it changed nothing.
    pub async fn commit_stopped_in_place(
        &self,
        key: &str,
        lease: Arc<Lease>,
        prepare: impl FnOnce(&std::path::Path) + Send + 'static,
    ) -> Result<Option<LayerRecord>> {
        let c = self.get(key)?;
        let inner = c.inner.lock().await;
        let status = inner.record.state.status();
        if status.is_running() || matches!(status, Status::Removing | Status::Dead) {
            return Err(Error::Conflict(format!(
                "container {} is {}: a build step commits stopped containers only",
                c.id,
                status.as_str()
            )));
        }
        let store = self.store.clone();
        let id = c.id.clone();
        let res = tokio::task::spawn_blocking(move || -> Result<Option<LayerRecord>> {
            let dir = store.container_layer_dir(&id).map_err(Error::from)?;
            prepare(&dir);
            store
                .commit_container_layer_in_place(&lease, &id, false)
                .map_err(Error::from)
        })
        .await
        .map_err(Error::task("commit"))?;
        drop(inner);
        res
    }

    /// `GET /containers/{id}/changes`: what the container added, changed and deleted.
    pub async fn changes(&self, key: &str) -> Result<Vec<ContainerChange>> {
        let c = self.get(key)?;
        let store = self.store.clone();
        let id = c.id.clone();
        tokio::task::spawn_blocking(move || {
            let list = store.container_changes(&id).map_err(Error::from)?;
            Ok(list
                .into_iter()
                .map(|ch| ContainerChange {
                    path: ch.path,
                    kind: ch.kind.code(),
                })
                .collect())
        })
        .await
        .map_err(Error::task("changes"))?
    }

    /// A fresh mount point for an export under the exec root.
    pub(crate) fn export_mountpoint(&self, id: &str) -> std::path::PathBuf {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        self.cfg
            .exec_root
            .join("export")
            .join(format!("{id}-{}", SEQ.fetch_add(1, Ordering::Relaxed)))
    }
}
