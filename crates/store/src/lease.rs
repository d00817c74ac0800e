//! Leases: an operation in flight (a pull, an import, a commit) holds a lease, and garbage
//! collection keeps everything a lease references — blobs, snapshots, ingests — even before
//! an image refers to them (containerd's `core/leases`).
//!
//! A lease lives in the metadata database. Dropping a [`Lease`] releases it; a lease left by
//! a process that died is removed when the store is next opened, unless it was made
//! persistent (or has not expired yet).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use oci::Digest;
use serde::{Deserialize, Serialize};

use crate::db::{MetaError, Reader, WriteTx};
use crate::store::{Store, StoreError};

pub(crate) const TABLE: &str = "leases";

/// Something a lease keeps alive.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Resource {
    /// A content-store blob.
    Blob(Digest),
    /// A snapshot, by key or name.
    Snapshot(String),
    /// A content-store ingest, by key.
    Ingest(String),
}

/// A lease's persisted record.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct LeaseRecord {
    pub(crate) created: u64,
    /// Unix seconds after which the lease is void.
    pub(crate) expires: Option<u64>,
    /// Survives a restart of the process that took it.
    pub(crate) persistent: bool,
    pub(crate) resources: BTreeSet<Resource>,
}

/// How a lease is taken.
#[derive(Debug, Clone, Default)]
pub struct LeaseOptions {
    /// Void after this long (checked by garbage collection).
    pub expires_in: Option<Duration>,
    /// Keep it across restarts (until released or expired).
    pub persistent: bool,
}

fn unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub(crate) fn new_id() -> String {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{}-{nanos:x}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
}

impl LeaseRecord {
    pub(crate) fn expired(&self) -> bool {
        self.expires.is_some_and(|e| e <= unix_secs())
    }
}

/// Adds `r` to lease `id` in `tx`.
pub(crate) fn add(tx: &mut WriteTx, id: &str, r: Resource) -> Result<(), MetaError> {
    let mut rec: LeaseRecord = tx.raw_get(TABLE, id)?.unwrap_or_default();
    if rec.resources.insert(r) {
        tx.raw_put(TABLE, id, &rec)?;
    }
    Ok(())
}

/// Every live lease's resources.
pub(crate) fn all_resources<R: Reader>(tx: &R) -> Result<BTreeSet<Resource>, MetaError> {
    let mut out = BTreeSet::new();
    for (_, rec) in tx.raw_list::<LeaseRecord>(TABLE, "")? {
        if !rec.expired() {
            out.extend(rec.resources);
        }
    }
    Ok(out)
}

/// A held lease. Release it with [`Lease::release`] to see errors; dropping it releases too.
pub struct Lease {
    id: String,
    store: Store,
    released: bool,
}

impl Lease {
    pub(crate) fn create(store: &Store, opts: &LeaseOptions) -> Result<Lease, StoreError> {
        let id = new_id();
        let rec = LeaseRecord {
            created: unix_secs(),
            expires: opts.expires_in.map(|d| unix_secs() + d.as_secs()),
            persistent: opts.persistent,
            resources: BTreeSet::new(),
        };
        store.db().write(|tx| tx.raw_put(TABLE, &id, &rec))?;
        Ok(Lease {
            id,
            store: store.clone(),
            released: false,
        })
    }

    /// The lease's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Adds a resource (usually done for you by the store operations that take a lease).
    /// Adding a resource that does not exist is harmless; to keep one that may be collected
    /// meanwhile, use [`Store::lease_blob`] / [`Store::lease_layer`], which check and add
    /// atomically with respect to garbage collection.
    pub fn add(&self, r: Resource) -> Result<(), StoreError> {
        let _g = self.store.gc_read();
        self.add_unlocked(r)
    }

    /// [`Lease::add`] for callers already holding the GC read lock.
    pub(crate) fn add_unlocked(&self, r: Resource) -> Result<(), StoreError> {
        Ok(self.store.db().write(|tx| add(tx, &self.id, r))?)
    }

    /// What the lease references.
    pub fn resources(&self) -> Result<BTreeSet<Resource>, StoreError> {
        let rec: Option<LeaseRecord> = self.store.db().read(|tx| tx.raw_get(TABLE, &self.id))?;
        Ok(rec.map(|r| r.resources).unwrap_or_default())
    }

    /// Ends the lease; what it alone referenced becomes garbage.
    pub fn release(mut self) -> Result<(), StoreError> {
        self.released = true;
        Ok(self
            .store
            .db()
            .write(|tx| tx.raw_delete(TABLE, &self.id).map(|_| ()))?)
    }
}

#[cfg(test)]
impl Lease {
    /// Drops the handle without releasing the lease, as a crash would.
    pub(crate) fn abandon(mut self) {
        self.released = true;
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if !self.released {
            if let Err(e) = self.store.db().write(|tx| tx.raw_delete(TABLE, &self.id)) {
                tracing::warn!(lease = %self.id, error = %e, "releasing lease");
            }
        }
    }
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease").field("id", &self.id).finish()
    }
}
