//! `GET /containers/{id}/export` (`docker export`): the container's root filesystem, flattened,
//! as a tar. A read-only overlay of the container's own directory over its image's layers is
//! mounted at a private mount point under the exec root (never the container's own rootfs
//! mount, so a running container is not disturbed), walked into a tar, and unmounted. Mount
//! points a crashed daemon left behind are removed at the next start.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use tokio::sync::mpsc;

use super::state::Status;
use super::ContainerService;
use crate::error::{Error, Result};
use crate::image::ChannelStream;

/// The tar of a container's filesystem, as it streams out.
pub type ExportStream = ChannelStream<io::Result<Bytes>>;

/// Unmounts (lazily) and removes a mount point; used on every path out.
struct MountGuard(PathBuf);

impl Drop for MountGuard {
    fn drop(&mut self) {
        if let Err(e) = runtime::sys::unmount(&self.0, true) {
            tracing::warn!(path = %self.0.display(), error = %e, "unmounting export view");
        }
        let _ = std::fs::remove_dir(&self.0);
    }
}

/// Sends chunks to the response; fails once the client is gone.
pub(crate) struct ChanWriter(pub(crate) mpsc::Sender<io::Result<Bytes>>);

impl Write for ChanWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .blocking_send(Ok(Bytes::copy_from_slice(buf)))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "client went away"))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn mount_view(mounts: &[store::Mount], target: &Path) -> Result<()> {
    for m in mounts {
        let mut options = m.options.clone();
        if m.is_bind() {
            // A read-only bind needs a remount; reading is all this mount is used for.
            options.retain(|o| o != "ro");
        }
        runtime::sys::mount(&m.kind, Path::new(&m.source), target, &options).map_err(|source| {
            Error::Mount {
                what: "mounting the export view".into(),
                source,
            }
        })?;
    }
    Ok(())
}

impl ContainerService {
    /// Streams container `key`'s flattened filesystem as a tar.
    #[tracing::instrument(skip(self))]
    pub async fn export(&self, key: &str) -> Result<ExportStream> {
        let c = self.get(key)?;
        let status = c.view().state.status();
        if matches!(status, Status::Removing | Status::Dead) {
            return Err(Error::Conflict(format!(
                "cannot export container {}: it is {}",
                c.id,
                status.as_str()
            )));
        }
        let mounts = {
            let store = self.store.clone();
            let id = c.id.clone();
            tokio::task::spawn_blocking(move || store.container_layer_view(&id))
                .await
                .map_err(Error::task("export"))?
                .map_err(Error::from)?
        };
        let target = self.export_mountpoint(&c.id);
        std::fs::create_dir_all(&target).map_err(|e| Error::file(&target, e))?;
        let guard = MountGuard(target.clone());
        mount_view(&mounts, &target)?;
        let (tx, rx) = mpsc::channel(16);
        let id = c.id.clone();
        tokio::task::spawn_blocking(move || {
            let _guard = guard;
            let out = BufWriter::with_capacity(1 << 20, ChanWriter(tx.clone()));
            let res = oci::layer::diff(&target, out)
                .map_err(|e| io::Error::other(e.to_string()))
                .and_then(|(mut w, _)| w.flush());
            if let Err(e) = res {
                tracing::warn!(container_id = %id, error = %e, "export failed");
                let _ = tx.blocking_send(Err(e));
            }
        });
        Ok(ChannelStream(rx))
    }
}

/// Removes export mount points left by a daemon that died mid-export.
pub(crate) fn cleanup(exec_root: &Path) {
    let dir = exec_root.join("export");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let _ = runtime::sys::unmount(&p, true);
        if let Err(err) = std::fs::remove_dir(&p) {
            tracing::warn!(path = %p.display(), error = %err, "removing a stale export mount point");
        }
    }
}
