//! The overlayfs snapshotter: `snapshots/<id>/fs` holds a snapshot's own files (an overlay
//! upper or lower directory), `snapshots/<id>/work` is overlay's work directory. Ids are small
//! numbers so that `lowerdir=` strings stay short. Metadata lives in the `snapshots` table of
//! the metadata database; a record is always written before its directory is created and
//! deleted before its directory is removed, so a directory without a record is debris.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::{Info, Kind, Labels, Mount, SnapshotError, Snapshotter, Usage};
use crate::db::{MetaDb, MetaError, Reader, WriteTx};
use crate::walk::dir_usage;

/// The snapshot table.
pub(crate) const TABLE: &str = "snapshots";
const SEQ: &str = "snapshot";

/// A snapshot's persisted record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SnapRecord {
    pub(crate) id: u64,
    pub(crate) kind: Kind,
    pub(crate) parent: Option<String>,
    #[serde(default)]
    pub(crate) labels: Labels,
    pub(crate) created: u64,
}

fn now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

fn check_key(key: &str) -> Result<(), SnapshotError> {
    if key.is_empty() || key.len() > 1024 || key.contains('\0') {
        return Err(SnapshotError::InvalidKey {
            key: key.to_string(),
        });
    }
    Ok(())
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> SnapshotError + 'a {
    move |source| SnapshotError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// The overlay snapshotter. Share it behind an `Arc`.
pub struct OverlaySnapshotter {
    root: PathBuf,
    db: Arc<MetaDb>,
}

impl OverlaySnapshotter {
    /// Opens the snapshotter whose directories live under `root` (`<data-root>/snapshots`) and
    /// whose records live in `db`.
    pub fn open(root: &Path, db: Arc<MetaDb>) -> Result<OverlaySnapshotter, SnapshotError> {
        fs::create_dir_all(root).map_err(io_err("creating", root))?;
        super::spread::mark_topdir(root);
        Ok(OverlaySnapshotter {
            root: root.to_path_buf(),
            db,
        })
    }

    /// The directory holding every snapshot.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn dir(&self, id: u64) -> PathBuf {
        self.root.join(id.to_string())
    }

    /// True when a snapshot with this key or name exists.
    pub fn exists(&self, key: &str) -> Result<bool, SnapshotError> {
        Ok(self
            .db
            .read(|tx| tx.raw_get::<SnapRecord>(TABLE, key))?
            .is_some())
    }

    /// The `fs` directories of the snapshot's parents, nearest first — the overlay lower
    /// directories, e.g. for [`oci::layer::changes`].
    pub fn parent_dirs(&self, key: &str) -> Result<Vec<PathBuf>, SnapshotError> {
        self.db.read(|tx| {
            let rec = get(tx, key)?;
            Ok(self
                .chain(tx, &rec)?
                .into_iter()
                .map(|id| self.dir(id).join("fs"))
                .collect())
        })
    }

    /// Writes the record of a new snapshot in `tx` (validating key and parent). The caller
    /// commits `tx`, then calls [`OverlaySnapshotter::make_dirs`].
    pub(crate) fn create_record(
        &self,
        tx: &mut WriteTx,
        key: &str,
        parent: Option<&str>,
        labels: Labels,
        kind: Kind,
    ) -> Result<SnapRecord, SnapshotError> {
        check_key(key)?;
        if tx.raw_get::<SnapRecord>(TABLE, key)?.is_some() {
            return Err(SnapshotError::AlreadyExists {
                key: key.to_string(),
            });
        }
        if let Some(p) = parent {
            let prec = get(tx, p)?;
            if prec.kind != Kind::Committed {
                return Err(SnapshotError::ParentNotCommitted {
                    parent: p.to_string(),
                });
            }
        }
        let rec = SnapRecord {
            id: tx.next_seq(SEQ)?,
            kind,
            parent: parent.map(str::to_string),
            labels,
            created: now_nanos(),
        };
        tx.raw_put(TABLE, key, &rec)?;
        Ok(rec)
    }

    /// Creates the directories of a freshly recorded snapshot.
    pub(crate) fn make_dirs(&self, rec: &SnapRecord) -> Result<(), SnapshotError> {
        let dir = self.dir(rec.id);
        fs::create_dir(&dir).map_err(io_err("creating", &dir))?;
        let fs_dir = dir.join("fs");
        fs::create_dir(&fs_dir).map_err(io_err("creating", &fs_dir))?;
        if rec.kind == Kind::Active {
            let work = dir.join("work");
            fs::create_dir(&work).map_err(io_err("creating", &work))?;
        }
        Ok(())
    }

    /// Creates a snapshot: record, then directories; the record is withdrawn if they fail.
    fn create(
        &self,
        key: &str,
        parent: Option<&str>,
        labels: Labels,
        kind: Kind,
    ) -> Result<Vec<Mount>, SnapshotError> {
        let rec = self
            .db
            .write(|tx| self.create_record(tx, key, parent, labels, kind))?;
        if let Err(e) = self.make_dirs(&rec) {
            let _ = fs::remove_dir_all(self.dir(rec.id));
            self.db.write(|tx| tx.raw_delete(TABLE, key))?;
            return Err(e);
        }
        self.mounts(key)
    }

    /// Ids of the parent chain of `rec`, nearest first.
    fn chain<R: Reader>(&self, tx: &R, rec: &SnapRecord) -> Result<Vec<u64>, SnapshotError> {
        let mut ids = Vec::new();
        let mut next = rec.parent.clone();
        while let Some(p) = next {
            let prec = get(tx, &p)?;
            ids.push(prec.id);
            next = prec.parent;
        }
        Ok(ids)
    }

    fn fs_path(&self, id: u64) -> String {
        self.dir(id).join("fs").to_string_lossy().into_owned()
    }

    fn build_mounts(&self, rec: &SnapRecord, parents: &[u64]) -> Vec<Mount> {
        let bind = |source: String, ro: bool| Mount {
            kind: "bind".into(),
            source,
            options: vec!["rbind".into(), if ro { "ro" } else { "rw" }.into()],
        };
        let lower = || {
            let dirs: Vec<String> = parents.iter().map(|&id| self.fs_path(id)).collect();
            format!("lowerdir={}", dirs.join(":"))
        };
        // redirect_dir and metacopy off: both would leave upper dirs that a plain walk cannot
        // turn into a layer tar (a renamed directory's content, a chown without data).
        let common = ["index=off", "redirect_dir=off", "metacopy=off"].map(String::from);
        match (rec.kind, parents.len()) {
            (Kind::Active, 0) => vec![bind(self.fs_path(rec.id), false)],
            (Kind::Active, _) => {
                let dir = self.dir(rec.id);
                let mut options = common.to_vec();
                options.push(lower());
                options.push(format!("upperdir={}", dir.join("fs").display()));
                options.push(format!("workdir={}", dir.join("work").display()));
                vec![Mount {
                    kind: "overlay".into(),
                    source: "overlay".into(),
                    options,
                }]
            }
            (_, 0) => vec![bind(self.fs_path(rec.id), true)],
            // A single lower is not a valid overlay: bind it read-only.
            (_, 1) => vec![bind(self.fs_path(parents[0]), true)],
            (_, _) => {
                let mut options = vec!["ro".to_string()];
                options.extend(common);
                options.push(lower());
                vec![Mount {
                    kind: "overlay".into(),
                    source: "overlay".into(),
                    options,
                }]
            }
        }
    }

    /// Deletes the record of `key` in `tx`, refusing when it has children; returns the id whose
    /// directory the caller removes after commit.
    pub(crate) fn remove_record(&self, tx: &mut WriteTx, key: &str) -> Result<u64, SnapshotError> {
        let rec = get(tx, key)?;
        let all: Vec<(String, SnapRecord)> = tx.raw_list(TABLE, "")?;
        let children = all
            .iter()
            .filter(|(_, r)| r.parent.as_deref() == Some(key))
            .count();
        if children > 0 {
            return Err(SnapshotError::HasChildren {
                key: key.to_string(),
                children,
            });
        }
        tx.raw_delete(TABLE, key)?;
        Ok(rec.id)
    }

    /// Removes the directory of a snapshot whose record is gone.
    pub(crate) fn remove_dir(&self, id: u64) -> Result<(), SnapshotError> {
        let dir = self.dir(id);
        match fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_err("removing", &dir)(e)),
            _ => Ok(()),
        }
    }

    /// Every record, by key.
    pub(crate) fn records<R: Reader>(
        &self,
        tx: &R,
    ) -> Result<HashMap<String, SnapRecord>, MetaError> {
        Ok(tx.raw_list::<SnapRecord>(TABLE, "")?.into_iter().collect())
    }

    /// Numeric directory names under the root.
    pub(crate) fn dir_ids(&self) -> Result<Vec<u64>, SnapshotError> {
        let mut out = Vec::new();
        for ent in fs::read_dir(&self.root).map_err(io_err("listing", &self.root))? {
            let ent = ent.map_err(io_err("listing", &self.root))?;
            if let Some(id) = ent.file_name().to_str().and_then(|n| n.parse().ok()) {
                out.push(id);
            }
        }
        Ok(out)
    }
}

fn get<R: Reader>(tx: &R, key: &str) -> Result<SnapRecord, SnapshotError> {
    tx.raw_get(TABLE, key)?
        .ok_or_else(|| SnapshotError::NotFound {
            key: key.to_string(),
        })
}

fn info(key: String, r: SnapRecord) -> Info {
    Info {
        key,
        kind: r.kind,
        parent: r.parent,
        labels: r.labels,
        created: r.created,
        id: r.id,
    }
}

impl Snapshotter for OverlaySnapshotter {
    fn prepare(
        &self,
        key: &str,
        parent: Option<&str>,
        labels: Labels,
    ) -> Result<Vec<Mount>, SnapshotError> {
        self.create(key, parent, labels, Kind::Active)
    }

    fn view(
        &self,
        key: &str,
        parent: Option<&str>,
        labels: Labels,
    ) -> Result<Vec<Mount>, SnapshotError> {
        self.create(key, parent, labels, Kind::View)
    }

    fn mounts(&self, key: &str) -> Result<Vec<Mount>, SnapshotError> {
        self.db.read(|tx| {
            let rec = get(tx, key)?;
            if rec.kind == Kind::Committed {
                return Err(SnapshotError::NotActive {
                    key: key.to_string(),
                });
            }
            let parents = self.chain(tx, &rec)?;
            Ok(self.build_mounts(&rec, &parents))
        })
    }

    fn commit(&self, name: &str, key: &str, labels: Labels) -> Result<(), SnapshotError> {
        check_key(name)?;
        self.db.write(|tx| commit_record(tx, name, key, labels))
    }

    fn remove(&self, key: &str) -> Result<(), SnapshotError> {
        let id = self.db.write(|tx| self.remove_record(tx, key))?;
        self.remove_dir(id)
    }

    fn stat(&self, key: &str) -> Result<Info, SnapshotError> {
        let rec = self.db.read(|tx| get(tx, key))?;
        Ok(info(key.to_string(), rec))
    }

    fn usage(&self, key: &str) -> Result<Usage, SnapshotError> {
        let rec = self.db.read(|tx| get(tx, key))?;
        let fs_dir = self.dir(rec.id).join("fs");
        dir_usage(&fs_dir).map_err(io_err("measuring", &fs_dir))
    }

    fn walk(&self, f: &mut dyn FnMut(&Info)) -> Result<(), SnapshotError> {
        let all = self.db.read(|tx| tx.raw_list::<SnapRecord>(TABLE, ""))?;
        for (k, r) in all {
            f(&info(k, r));
        }
        Ok(())
    }

    fn fs_dir(&self, key: &str) -> Result<PathBuf, SnapshotError> {
        let rec = self.db.read(|tx| get(tx, key))?;
        Ok(self.dir(rec.id).join("fs"))
    }
}

/// Renames active `key` to committed `name` in `tx`.
pub(crate) fn commit_record(
    tx: &mut WriteTx,
    name: &str,
    key: &str,
    labels: Labels,
) -> Result<(), SnapshotError> {
    let mut rec = get(tx, key)?;
    if rec.kind != Kind::Active {
        return Err(SnapshotError::NotActive {
            key: key.to_string(),
        });
    }
    if tx.raw_get::<SnapRecord>(TABLE, name)?.is_some() {
        return Err(SnapshotError::AlreadyExists {
            key: name.to_string(),
        });
    }
    rec.kind = Kind::Committed;
    rec.labels.extend(labels);
    tx.raw_delete(TABLE, key)?;
    tx.raw_put(TABLE, name, &rec)?;
    Ok(())
}
