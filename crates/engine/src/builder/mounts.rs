//! What the builder writes into and reads from, mounted under the build's scratch directory:
//! a step's rw layer (an overlay on the parent image's layers, its upper dir a new snapshot),
//! a read-only view of an image (`COPY --from`, `RUN --mount=from=`), and cache-mount
//! directories. Each unmounts (and, if not committed, removes its snapshot) when dropped.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use store::{BuildSnapshot, Mount, Store};

use crate::error::{Error, Result};

/// Mounts `mounts` (a snapshot's assembly) at `target`, creating it.
pub(crate) fn mount_at(mounts: &[Mount], target: &Path) -> Result<()> {
    std::fs::create_dir_all(target).map_err(|e| Error::file(target, e))?;
    for m in mounts {
        let mut options = m.options.clone();
        if m.is_bind() && !options.iter().any(|o| o == "bind" || o == "rbind") {
            options.push("rbind".into());
        }
        runtime::sys::mount(&m.kind, Path::new(&m.source), target, &options).map_err(|source| {
            Error::Mount {
                what: format!("mounting {}", target.display()),
                source,
            }
        })?;
    }
    Ok(())
}

/// Unmounts and removes a mount point; failures are logged (cleanup path).
pub(crate) fn unmount_at(target: &Path) {
    if let Err(e) = runtime::sys::unmount(target, true) {
        tracing::warn!(path = %target.display(), error = %e, "unmounting a build mount");
    }
    let _ = std::fs::remove_dir(target);
}

/// A step's rw layer, mounted.
pub struct StepLayer {
    pub(crate) store: Arc<Store>,
    pub(crate) snap: BuildSnapshot,
    pub(crate) mountpoint: PathBuf,
    pub(crate) mounted: bool,
    /// Set once committed: the snapshot is the store's then.
    pub(crate) committed: bool,
}

impl StepLayer {
    /// Unmounts (before the layer is committed).
    pub(crate) fn unmount(&mut self) {
        if std::mem::take(&mut self.mounted) {
            unmount_at(&self.mountpoint);
        }
    }
}

impl AsRef<Path> for StepLayer {
    fn as_ref(&self) -> &Path {
        &self.mountpoint
    }
}

impl Drop for StepLayer {
    fn drop(&mut self) {
        self.unmount();
        if !self.committed {
            self.store.remove_build_snapshot(&self.snap.key);
        }
    }
}

/// A read-only view of an image.
pub struct ImageView {
    pub(crate) store: Arc<Store>,
    pub(crate) key: String,
    pub(crate) mountpoint: PathBuf,
}

impl AsRef<Path> for ImageView {
    fn as_ref(&self) -> &Path {
        &self.mountpoint
    }
}

impl Drop for ImageView {
    fn drop(&mut self) {
        unmount_at(&self.mountpoint);
        self.store.remove_build_snapshot(&self.key);
    }
}

/// A cache-mount directory in use by a step (with the lock of a `sharing=locked` one, or a
/// private throwaway directory of a `sharing=private` one that was busy).
pub struct CacheDir {
    pub(crate) path: PathBuf,
    pub(crate) _lock: Option<tokio::sync::OwnedMutexGuard<()>>,
    /// A private directory to remove after use.
    pub(crate) throwaway: bool,
}

impl AsRef<Path> for CacheDir {
    fn as_ref(&self) -> &Path {
        &self.path
    }
}

impl Drop for CacheDir {
    fn drop(&mut self) {
        if self.throwaway {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}
