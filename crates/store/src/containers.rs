//! Container rw layers: an active snapshot per container (`container/<id>`) on top of its
//! image's top layer, labelled as owned by a container so restart recovery keeps it.

use std::path::{Path, PathBuf};

use oci::layer::{changes, diff, Change};
use oci::Digest;

use crate::layers::{Content, ImportOptions, Unpack, UnpackedLayer};
use crate::lease::{self, Lease};
use crate::pipe::pipe;
use crate::snapshot::overlay::{commit_record, SnapRecord, TABLE};
use crate::snapshot::{Kind, Labels, Mount, SnapshotError, Snapshotter, Usage};
use crate::store::{container_key, Store, StoreError, OWNER_LABEL};
use crate::{MetaError, WriteTx};

/// Prefix of the committed init layers' names.
const INIT_PREFIX: &str = "container-init/";

/// Name of the init layer shared by every container of the image whose top layer is
/// `image_top` (`container-init/sha256:…`, or `container-init/scratch` for an image without
/// layers). Its content depends only on that image's layers, so one per image serves all its
/// containers: a container costs one snapshot, not two.
fn shared_init_key(image_top: Option<&Digest>) -> String {
    match image_top {
        Some(d) => format!("{INIT_PREFIX}{d}"),
        None => format!("{INIT_PREFIX}scratch"),
    }
}

/// Name of container `id`'s own init layer, as berth made them before they were shared
/// per image: removed with the container.
fn legacy_init_key(id: &str) -> String {
    format!("{INIT_PREFIX}{id}")
}

/// The init layer [`Store::gc`] keeps while an image with top layer `top` exists.
pub(crate) fn init_root(top: &Digest) -> String {
    shared_init_key(Some(top))
}

/// Writes the init layer into `dir` over the image layers `lowers` (nearest first): the three
/// files the runtime bind-mounts in `/etc`, and the mount-point directories the image lacks.
/// `/etc` itself takes the image's ownership, mode and times, so it does not look changed.
fn write_init_layer(dir: &Path, lowers: &[PathBuf]) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    let in_image = |name: &str| {
        lowers
            .iter()
            .any(|l| l.join(name).symlink_metadata().is_ok())
    };
    let mut b = std::fs::DirBuilder::new();
    b.mode(0o755);
    for d in ["proc", "sys", "dev"] {
        if !in_image(d) {
            b.create(dir.join(d))?;
        }
    }
    let etc = dir.join("etc");
    b.create(&etc)?;
    for f in ["hostname", "hosts", "resolv.conf"] {
        let p = etc.join(f);
        std::fs::File::create(&p)?;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644))?;
    }
    let image_etc = lowers
        .iter()
        .filter_map(|l| l.join("etc").symlink_metadata().ok())
        .find(|m| m.is_dir());
    if let Some(m) = image_etc {
        std::os::unix::fs::chown(&etc, Some(m.uid()), Some(m.gid()))?;
        std::fs::set_permissions(&etc, std::fs::Permissions::from_mode(m.mode() & 0o7777))?;
        let times = std::fs::FileTimes::new()
            .set_accessed(m.accessed()?)
            .set_modified(m.modified()?);
        std::fs::File::open(&etc)?.set_times(times)?;
    }
    Ok(())
}

impl Store {
    fn container_err(&self, id: &str, e: SnapshotError) -> StoreError {
        match e {
            SnapshotError::NotFound { .. } => StoreError::NoContainerLayer { id: id.to_string() },
            e => e.into(),
        }
    }

    /// Creates container `id`'s rw layer on top of the layer `image_top` (an image's top chain
    /// ID; `None` for an image without layers) and returns the mounts of its root filesystem.
    ///
    /// Between the two sits the image's **init layer** (Docker's `<id>-init`, made once per
    /// image instead of once per container): the empty files and directories the runtime
    /// mounts over (`/etc/hosts`, `/etc/hostname`, `/etc/resolv.conf`, and `/proc`, `/sys`,
    /// `/dev` when the image lacks them). Without it the runtime would create them in the rw
    /// layer, and `docker diff` and `docker commit` would report and keep them. It lives as
    /// long as the image (a GC root with it).
    pub fn prepare_container_layer(
        &self,
        id: &str,
        image_top: Option<&Digest>,
    ) -> Result<Vec<Mount>, StoreError> {
        self.prepare_container_layer_with(id, image_top, |_| Ok(()))
    }

    /// `prepare_container_layer`, with `record` — the caller's own records of the container —
    /// written in the same transaction as the layer's: one durable commit (one fsync) makes a
    /// container, and a crash leaves either all of it or nothing a recovery does not remove.
    /// An error of `record` undoes the layer.
    pub fn prepare_container_layer_with<E>(
        &self,
        id: &str,
        image_top: Option<&Digest>,
        record: impl FnOnce(&mut WriteTx) -> Result<(), E>,
    ) -> Result<Vec<Mount>, E>
    where
        E: From<StoreError> + From<MetaError>,
    {
        let mut labels = Labels::new();
        labels.insert(OWNER_LABEL.to_string(), "container".to_string());
        let key = container_key(id);
        let init = shared_init_key(image_top);
        let sn = &self.inner.snapshots;
        // With the image's init layer in place (every container but its first), the
        // container is one transaction. GC may not remove that layer between the look and
        // the transaction: the GC lock is held across both.
        let mut guard = Some(self.gc_read());
        let fresh = if sn.exists(&init).map_err(StoreError::from)? {
            None
        } else {
            guard = None;
            Some(self.write_init_snapshot(image_top)?)
        };
        let _g = guard.unwrap_or_else(|| self.gc_read());
        let done = self.inner.db.write(|tx| {
            // A concurrent first container of the same image may have committed its own.
            let used = match &fresh {
                Some(tmp) if tx.raw_get::<SnapRecord>(TABLE, &init)?.is_none() => {
                    commit_record(tx, &init, tmp, Labels::new()).map_err(StoreError::from)?;
                    true
                }
                _ => false,
            };
            let rec = sn
                .create_record(tx, &key, Some(&init), labels, Kind::Active)
                .map_err(StoreError::from)?;
            record(tx)?;
            Ok::<_, E>((rec, used))
        });
        drop(_g);
        let rec = match done {
            Ok((rec, used)) => {
                if let (Some(tmp), false) = (&fresh, used) {
                    self.discard_snapshot(tmp);
                }
                rec
            }
            Err(e) => {
                if let Some(tmp) = &fresh {
                    self.discard_snapshot(tmp);
                }
                return Err(e);
            }
        };
        if let Err(e) = sn.make_dirs(&rec) {
            self.discard_snapshot(&key);
            return Err(StoreError::from(e).into());
        }
        Ok(sn.mounts(&key).map_err(StoreError::from)?)
    }

    /// Writes an init layer over the image layer `image_top` into a new active snapshot and
    /// returns that snapshot's key. Its record need not reach the disk before the files are
    /// written: the commit that makes it the image's init layer is durable, and a crash before
    /// leaves an active snapshot owned by nothing, which recovery removes.
    fn write_init_snapshot(&self, image_top: Option<&Digest>) -> Result<String, StoreError> {
        let tmp = format!("extract/{}", lease::new_id());
        let parent = image_top.map(Digest::as_str);
        let rec = self.prepare_snapshot(None, &tmp, parent, Labels::new(), Kind::Active, false)?;
        let sn = &self.inner.snapshots;
        let fs_dir = sn.root().join(rec.id.to_string()).join("fs");
        let written = sn
            .parent_dirs(&tmp)
            .map_err(StoreError::from)
            .and_then(|lowers| {
                write_init_layer(&fs_dir, &lowers).map_err(|source| StoreError::Io {
                    op: "writing the init layer",
                    path: fs_dir.clone(),
                    source,
                })
            });
        match written {
            Ok(()) => Ok(tmp),
            Err(e) => {
                self.discard_snapshot(&tmp);
                Err(e)
            }
        }
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

    /// A read-only view of container `id`'s root filesystem as it is now — its own files
    /// over its image's layers — for `docker export`. Its own directory becomes the top
    /// lower layer of a fresh overlay (no upper, no work dir), so the view can be mounted
    /// while the container runs and writes nothing anywhere.
    pub fn container_layer_view(&self, id: &str) -> Result<Vec<Mount>, StoreError> {
        let key = container_key(id);
        let upper = self
            .inner
            .snapshots
            .fs_dir(&key)
            .map_err(|e| self.container_err(id, e))?;
        let mut dirs = vec![upper];
        dirs.extend(self.inner.snapshots.parent_dirs(&key)?);
        if dirs.len() == 1 {
            return Ok(vec![Mount {
                kind: "bind".into(),
                source: dirs[0].display().to_string(),
                options: vec!["rbind".into(), "ro".into()],
            }]);
        }
        let lower: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        Ok(vec![Mount {
            kind: "overlay".into(),
            source: "overlay".into(),
            options: vec![
                "ro".into(),
                "index=off".into(),
                "redirect_dir=off".into(),
                "metacopy=off".into(),
                format!("lowerdir={}", lower.join(":")),
            ],
        }])
    }

    /// Size and inode count of what the container wrote (`SizeRw`).
    pub fn container_layer_usage(&self, id: &str) -> Result<Usage, StoreError> {
        self.inner
            .snapshots
            .usage(&container_key(id))
            .map_err(|e| self.container_err(id, e))
    }

    /// Removes the container's rw layer (the container must be stopped and unmounted). The
    /// image's init layer stays for its other containers; a container's own init layer (made
    /// by an earlier berth) goes with it.
    pub fn remove_container_layer(&self, id: &str) -> Result<(), StoreError> {
        let sn = &self.inner.snapshots;
        let (key, own_init) = (container_key(id), legacy_init_key(id));
        // Both records in one commit, not waiting for the disk: this is cleanup after the
        // container's own record is gone, and layers a crash brings back are owned by no
        // container, which start-up recovery removes (directories already gone are fine).
        let ids = self
            .inner
            .db
            .write_deferred(|tx| {
                let parent = tx
                    .raw_get::<SnapRecord>(TABLE, &key)?
                    .and_then(|r| r.parent);
                let rw = sn.remove_record(tx, &key)?;
                let init = match parent {
                    Some(p) if p == own_init => Some(sn.remove_record(tx, &own_init)?),
                    _ => None,
                };
                Ok((rw, init))
            })
            .map_err(|e| self.container_err(id, e))?;
        sn.remove_dir(ids.0)?;
        if let Some(i) = ids.1 {
            sn.remove_dir(i)?;
        }
        Ok(())
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
    ) -> Result<UnpackedLayer, StoreError> {
        let key = container_key(id);
        let info = self
            .inner
            .snapshots
            .stat(&key)
            .map_err(|e| self.container_err(id, e))?;
        let upper = self.inner.snapshots.fs_dir(&key)?;
        // The rw layer sits on the init layer, which sits on the image's top layer.
        let mut parent_key = info.parent;
        if let Some(p) = parent_key.as_deref().filter(|p| p.starts_with(INIT_PREFIX)) {
            parent_key = self.inner.snapshots.stat(p)?.parent;
        }
        let parent = parent_key
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
            let content = Content::Tarball { opts, expect: None };
            let imported = self.unpack(lease, r, Unpack::on(parent.as_ref(), content));
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
