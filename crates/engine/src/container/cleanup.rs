//! The slow half of a removal, done after the container is already gone.
//!
//! A removal is acknowledged once the container's record and name are deleted (one database
//! commit) and its directory is renamed into the *trash* (`<data-root>/trash/<id>`): from then
//! on no API call can see the container and its name is free. What remains — unmounting the
//! root filesystem, removing the network namespace, the rw layer, the trashed directory and the
//! shim's state dir — is *cleanup*, run by a background task that the daemon waits for when it
//! shuts down ([`Cleanups::drain`]). A crash before cleanup ends loses nothing: every leftover
//! belongs to no record, and the start-up sweep (`restore`) removes the trash and whatever no
//! record owns.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::{rootfs, shim, ContainerService};

/// The trash directory of a data root.
pub(crate) fn trash_dir(data_root: &Path) -> PathBuf {
    data_root.join("trash")
}

/// Moves a container's directory into the trash (one rename); returns where it is now. A
/// directory already gone is fine.
pub(crate) fn stash(data_root: &Path, id: &str) -> std::io::Result<PathBuf> {
    let from = super::record::Paths::new(data_root, id).dir;
    let trash = trash_dir(data_root);
    std::fs::create_dir_all(&trash)?;
    let to = trash.join(id);
    match std::fs::rename(&from, &to) {
        Ok(()) => Ok(to),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(to),
        Err(e) => Err(e),
    }
}

/// Removes a trashed (or orphaned) container directory: its rootfs is unmounted first, and the
/// directory is left alone if that fails, so that nothing under a live mount is deleted.
pub(crate) fn delete_dir(dir: &Path) -> std::io::Result<()> {
    let rootfs = dir.join("rootfs");
    if rootfs::is_mounted(&rootfs) {
        rootfs::unmount(&rootfs).map_err(std::io::Error::other)?;
    }
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// What a removed container leaves for cleanup.
pub(crate) struct Leftovers {
    pub id: String,
    pub image_id: String,
    /// Where the container's directory is now (normally in the trash).
    pub dir: PathBuf,
    /// Whether its rootfs is still mounted (at `dir/rootfs`).
    pub mounted: bool,
    /// Its network namespace file, if it still has one.
    pub netns: Option<PathBuf>,
}

/// Counts the cleanups in flight, so that shutdown can wait for them.
#[derive(Debug)]
pub(crate) struct Cleanups {
    pending: watch::Sender<usize>,
}

impl Default for Cleanups {
    fn default() -> Self {
        Cleanups {
            pending: watch::channel(0).0,
        }
    }
}

impl Cleanups {
    fn begin(&self) {
        self.pending.send_modify(|n| *n += 1);
    }

    fn end(&self) {
        self.pending.send_modify(|n| *n = n.saturating_sub(1));
    }

    /// Waits until no cleanup is in flight, at most `limit`.
    pub(crate) async fn drain(&self, limit: Duration) -> bool {
        let mut rx = self.pending.subscribe();
        tokio::time::timeout(limit, rx.wait_for(|n| *n == 0))
            .await
            .is_ok_and(|r| r.is_ok())
    }
}

impl ContainerService {
    /// Cleans up after a removed container in the background.
    pub(crate) fn spawn_cleanup(self: &Arc<Self>, left: Leftovers) {
        self.cleanups.begin();
        let svc = self.clone();
        tokio::spawn(async move {
            svc.cleanup(left).await;
            svc.cleanups.end();
        });
    }

    async fn cleanup(&self, left: Leftovers) {
        let store = self.store.clone();
        let cfg = self.cfg.clone();
        let id = left.id.clone();
        let image_id = left.image_id.clone();
        let done = tokio::task::spawn_blocking(move || {
            let Leftovers {
                id,
                dir,
                mounted,
                netns,
                ..
            } = left;
            let mut unmounted = true;
            if mounted {
                if let Err(e) = rootfs::unmount(&dir.join("rootfs")) {
                    tracing::warn!(container_id = %id, error = %e, "unmount rootfs");
                    unmounted = false;
                }
            }
            if let Some(ns) = netns {
                if let Err(e) = shim::remove_netns(&ns) {
                    tracing::warn!(container_id = %id, error = %e, "remove netns");
                }
            }
            if let Err(e) = rootfs::remove(&store, &id) {
                tracing::warn!(container_id = %id, error = %e, "removing the rw layer");
            }
            // Never delete under a mount that is still there: the start-up sweep retries.
            if unmounted {
                if let Err(e) = delete_dir(&dir) {
                    tracing::warn!(container_id = %id, dir = %dir.display(), error = %e, "removing the container directory");
                }
            }
            shim::forget(&cfg, &id);
        })
        .await;
        if let Err(e) = done {
            tracing::warn!(container_id = %id, error = %e, "cleanup task");
            return;
        }
        // The image may have been deleted while this container still held its layers (`rmi`
        // right after `run --rm` returned): then they became garbage only now.
        if !image_id.is_empty() && self.images.record(&image_id).await.is_err() {
            let store = self.store.clone();
            match tokio::task::spawn_blocking(move || store.gc()).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!(container_id = %id, error = %e, "collecting garbage"),
                Err(e) => tracing::warn!(container_id = %id, error = %e, "gc task"),
            }
        }
    }
}
