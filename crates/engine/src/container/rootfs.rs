//! The engine's side of the store for containers: the rw layer (prepare, mount, usage,
//! remove) and the container records in the metadata database. Everything here blocks; the
//! service calls it from `spawn_blocking`.

use std::path::Path;

use oci::Digest;
use store::{MetaError, Store, StoreError};

use super::record::ContainerRecord;
use super::{NAMES, TABLE};
use crate::error::{Error, Result};

/// Creates the container's rw layer on the image's top layer, and writes its record and claims
/// its name in the same transaction (one durable commit); a taken name fails with dockerd's
/// conflict message and leaves no layer.
pub(crate) fn prepare(store: &Store, rec: &ContainerRecord, top: Option<&str>) -> Result<()> {
    let top = match top {
        Some(t) => Some(Digest::parse(t).map_err(|source| Error::BadDigest {
            what: format!("image layer {t}"),
            source,
        })?),
        None => None,
    };
    store
        .prepare_container_layer_with(&rec.id, top.as_ref(), |tx| {
            tx.insert_unique(NAMES, &rec.name, &rec.id)
                .map_err(|e| name_err(rec, e))?;
            tx.put(TABLE, &rec.id, rec).map_err(Error::from)
        })
        .map(drop)
}

fn name_err(rec: &ContainerRecord, e: MetaError) -> Error {
    match e {
        MetaError::Conflict { holder, .. } => Error::NameInUse {
            name: rec.name.clone(),
            holder,
        },
        e => e.into(),
    }
}

/// Mounts the container's root filesystem at `target`.
pub(crate) fn mount(store: &Store, id: &str, target: &Path) -> Result<()> {
    let mounts = store.container_layer_mounts(id).map_err(Error::from)?;
    for m in &mounts {
        let mut options = m.options.clone();
        if m.is_bind() && !options.iter().any(|o| o == "bind" || o == "rbind") {
            options.push("rbind".into());
        }
        runtime::sys::mount(&m.kind, Path::new(&m.source), target, &options).map_err(|source| {
            Error::Mount {
                what: format!("mounting the root filesystem of {id}"),
                source,
            }
        })?;
    }
    Ok(())
}

/// Unmounts a container's root filesystem (lazily: a process may still hold it).
pub(crate) fn unmount(target: &Path) -> Result<()> {
    runtime::sys::unmount(target, true).map_err(|source| Error::Mount {
        what: format!("unmounting {}", target.display()),
        source,
    })
}

/// Removes the container's rw layer; a layer already gone is fine.
pub(crate) fn remove(store: &Store, id: &str) -> Result<()> {
    match store.remove_container_layer(id) {
        Ok(()) => Ok(()),
        Err(StoreError::NoContainerLayer { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Bytes the container wrote.
pub(crate) fn usage(store: &Store, id: &str) -> Result<i64> {
    store
        .container_layer_usage(id)
        .map(|u| u.size as i64)
        .map_err(Error::from)
}

/// Writes (replaces) a container's record.
pub(crate) fn save_record(store: &Store, rec: &ContainerRecord) -> Result<()> {
    store
        .db()
        .write(|tx| tx.put(TABLE, &rec.id, rec))
        .map_err(Error::from)
}

/// Moves a container's name from `old` to its record's current name, atomically.
pub(crate) fn rename_record(store: &Store, rec: &ContainerRecord, old: &str) -> Result<()> {
    store
        .db()
        .write(|tx| {
            tx.insert_unique(NAMES, &rec.name, &rec.id)?;
            tx.delete(NAMES, old)?;
            tx.put(TABLE, &rec.id, rec)
        })
        .map_err(|e| name_err(rec, e))
}

/// Removes a container's record and name.
pub(crate) fn delete_record(store: &Store, id: &str, name: &str) -> Result<()> {
    store
        .db()
        .write(|tx| {
            tx.delete(TABLE, id)?;
            let holder: Option<String> = tx.get(NAMES, name)?;
            if holder.as_deref() == Some(id) {
                tx.delete(NAMES, name)?;
            }
            Ok::<_, MetaError>(())
        })
        .map_err(Error::from)
}

/// Every container record.
pub(crate) fn load_records(store: &Store) -> Result<Vec<ContainerRecord>> {
    store
        .db()
        .read(|tx| tx.list::<ContainerRecord>(TABLE))
        .map(|v| v.into_iter().map(|(_, r)| r).collect())
        .map_err(Error::from)
}

/// Whether `path` is a mount point (for reconciliation after a crash).
pub(crate) fn is_mounted(path: &Path) -> bool {
    runtime::sys::is_mount_point(path)
}
