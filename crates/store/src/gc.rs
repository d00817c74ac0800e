//! Garbage collection, mark and sweep (containerd's `core/metadata/gc.go` in miniature).
//!
//! Roots: every image (its config, manifest and layer blobs, its layers' snapshots, the init
//! layer its containers share), every live lease (its blobs, snapshots and ingests), every
//! active snapshot and view (containers' rw layers and unpacks in flight). Snapshots are kept with their whole parent chain. What is
//! not reachable is removed: committed snapshots (children first), blobs, ingests older than
//! the configured age, and directories without a record (debris of a crash).
//!
//! GC takes the store's GC lock for writing; every operation that records a new reference
//! takes it for reading, so a reference is never half-recorded while GC looks.

use std::collections::{BTreeSet, HashSet};
use std::time::SystemTime;

use oci::Digest;

use crate::db::Reader;
use crate::images::{self, ImageRecord};
use crate::lease::{self, LeaseRecord, Resource};
use crate::snapshot::overlay::SnapRecord;
use crate::snapshot::Kind;
use crate::store::{Store, StoreError, OWNER_LABEL};

/// What a collection removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcStats {
    /// Blobs deleted.
    pub blobs_removed: u64,
    /// Bytes of blobs deleted.
    pub blob_bytes: u64,
    /// Snapshots deleted (records and directories).
    pub snapshots_removed: u64,
    /// Ingests deleted.
    pub ingests_removed: u64,
    /// Snapshot directories without a record deleted.
    pub orphan_dirs_removed: u64,
}

struct Marks {
    blobs: HashSet<Digest>,
    ingests: HashSet<String>,
}

fn mark_snapshots(
    records: &std::collections::HashMap<String, SnapRecord>,
    roots: Vec<String>,
) -> HashSet<String> {
    let mut keep = HashSet::new();
    for root in roots {
        let mut next = Some(root);
        while let Some(k) = next {
            if !keep.insert(k.clone()) {
                break;
            }
            next = records.get(&k).and_then(|r| r.parent.clone());
        }
    }
    keep
}

/// What is not reachable from any root: what [`Store::gc`] would remove.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Garbage {
    /// Unreferenced blobs.
    pub blobs: Vec<Digest>,
    /// Unreferenced snapshots (keys or names).
    pub snapshots: Vec<String>,
    /// Snapshot directories without a record.
    pub orphan_dirs: Vec<u64>,
}

impl Garbage {
    /// True when nothing is unreferenced.
    pub fn is_empty(&self) -> bool {
        self.blobs.is_empty() && self.snapshots.is_empty() && self.orphan_dirs.is_empty()
    }
}

/// Marks from the roots; returns the marked blobs and ingests, and the snapshot records to
/// sweep, children first.
fn mark<R: Reader>(
    tx: &R,
    sn: &crate::snapshot::OverlaySnapshotter,
) -> Result<(Marks, Vec<(String, u64)>), StoreError> {
    let imgs: Vec<ImageRecord> = images::list(tx)?;
    let leased: BTreeSet<Resource> = lease::all_resources(tx)?;
    let records = sn.records(tx)?;
    let mut roots: Vec<String> = Vec::new();
    let mut marks = Marks {
        blobs: HashSet::new(),
        ingests: HashSet::new(),
    };
    for img in &imgs {
        marks.blobs.insert(img.id.clone());
        if let Some(m) = &img.manifest {
            marks.blobs.insert(m.digest.clone());
        }
        for l in &img.layers {
            marks.blobs.insert(l.blob.digest.clone());
            roots.push(l.chain_id.to_string());
        }
        // The image's init layer, shared by its containers, lives as long as the image.
        if let Some(top) = img.layers.last() {
            roots.push(crate::containers::init_root(&top.chain_id));
        }
    }
    for r in leased {
        match r {
            Resource::Blob(d) => {
                marks.blobs.insert(d);
            }
            Resource::Snapshot(k) => roots.push(k),
            Resource::Ingest(k) => {
                marks.ingests.insert(k);
            }
        }
    }
    roots.extend(
        records
            .iter()
            .filter(|(_, r)| r.kind != Kind::Committed)
            .map(|(k, _)| k.clone()),
    );
    let keep = mark_snapshots(&records, roots);
    let mut sweep: Vec<(String, u64)> = records
        .iter()
        .filter(|(k, _)| !keep.contains(*k))
        .map(|(k, r)| (k.clone(), r.id))
        .collect();
    // Children have larger ids than their parents: remove them first.
    sweep.sort_by_key(|(_, id)| std::cmp::Reverse(*id));
    Ok((marks, sweep))
}

impl Store {
    /// What garbage collection would remove now, without removing anything: the test of
    /// "nothing leaks" (after a collection it must be empty).
    pub fn garbage(&self) -> Result<Garbage, StoreError> {
        let _w = self
            .inner
            .gc_lock
            .write()
            .unwrap_or_else(|e| e.into_inner());
        let sn = &self.inner.snapshots;
        let (marks, sweep) = self.inner.db.read(|tx| mark(tx, sn))?;
        let known: HashSet<u64> = self
            .inner
            .db
            .read(|tx| sn.records(tx))?
            .values()
            .map(|r| r.id)
            .collect();
        let mut g = Garbage {
            snapshots: sweep.into_iter().map(|(k, _)| k).collect(),
            orphan_dirs: sn
                .dir_ids()?
                .into_iter()
                .filter(|id| !known.contains(id))
                .collect(),
            ..Default::default()
        };
        for b in self.inner.content.list()? {
            if !marks.blobs.contains(&b.digest) {
                g.blobs.push(b.digest);
            }
        }
        Ok(g)
    }

    /// Removes everything unreachable; see the module docs.
    pub fn gc(&self) -> Result<GcStats, StoreError> {
        let _w = self
            .inner
            .gc_lock
            .write()
            .unwrap_or_else(|e| e.into_inner());
        let mut stats = GcStats::default();
        let sn = &self.inner.snapshots;
        // Mark and delete records in one transaction: a consistent view, and the records of
        // what is swept are gone before any directory is touched.
        let (marks, removed_ids) = self.inner.db.write(|tx| {
            let leases: Vec<(String, LeaseRecord)> = tx.raw_list(lease::TABLE, "")?;
            for (id, l) in &leases {
                if l.expired() {
                    tx.raw_delete(lease::TABLE, id)?;
                }
            }
            let (marks, sweep) = mark(tx, sn)?;
            let mut ids = Vec::new();
            for (k, id) in sweep {
                tx.raw_delete(crate::snapshot::overlay::TABLE, &k)?;
                ids.push(id);
            }
            Ok::<_, StoreError>((marks, ids))
        })?;
        for id in &removed_ids {
            sn.remove_dir(*id)?;
            stats.snapshots_removed += 1;
        }
        self.sweep_orphan_dirs(&mut stats)?;
        for b in self.inner.content.list()? {
            if !marks.blobs.contains(&b.digest) && self.inner.content.delete(&b.digest)? {
                stats.blobs_removed += 1;
                stats.blob_bytes += b.size;
            }
        }
        let max_age = self.inner.opts.ingest_max_age;
        for ing in self.inner.content.ingests()? {
            let age = SystemTime::now()
                .duration_since(ing.updated)
                .unwrap_or_default();
            if !marks.ingests.contains(&ing.key)
                && age > max_age
                && self.inner.content.abort(&ing.key)?
            {
                stats.ingests_removed += 1;
            }
        }
        if stats != GcStats::default() {
            tracing::info!(?stats, "garbage collected");
        }
        Ok(stats)
    }

    fn sweep_orphan_dirs(&self, stats: &mut GcStats) -> Result<(), StoreError> {
        let sn = &self.inner.snapshots;
        let known: HashSet<u64> = self
            .inner
            .db
            .read(|tx| sn.records(tx))?
            .values()
            .map(|r| r.id)
            .collect();
        for id in sn.dir_ids()? {
            if !known.contains(&id) {
                sn.remove_dir(id)?;
                stats.orphan_dirs_removed += 1;
            }
        }
        Ok(())
    }

    /// Start-up recovery: leases of dead processes go, active snapshots and views owned by
    /// nobody (unpacks interrupted by a crash) go, broken ingests go; then a full GC.
    pub(crate) fn recover(&self) -> Result<GcStats, StoreError> {
        let sn = &self.inner.snapshots;
        let removed = self.inner.db.write(|tx| {
            for (id, l) in tx.raw_list::<LeaseRecord>(lease::TABLE, "")? {
                if !l.persistent || l.expired() {
                    tx.raw_delete(lease::TABLE, &id)?;
                }
            }
            let leased = lease::all_resources(tx)?;
            let mut ids = Vec::new();
            for (k, r) in sn.records(tx)? {
                let owned = r.labels.contains_key(OWNER_LABEL)
                    || leased.contains(&Resource::Snapshot(k.clone()));
                if r.kind != Kind::Committed && !owned {
                    tx.raw_delete(crate::snapshot::overlay::TABLE, &k)?;
                    ids.push(r.id);
                }
            }
            Ok::<_, StoreError>(ids)
        })?;
        for id in removed {
            sn.remove_dir(id)?;
        }
        self.inner.content.remove_broken_ingests()?;
        // Ingests named after the lease of the operation that wrote them (imports, loads,
        // streamed layers) can never be resumed once that process is gone.
        for ing in self.inner.content.ingests()? {
            if LEASE_SCOPED_INGESTS.iter().any(|p| ing.key.starts_with(p)) {
                self.inner.content.abort(&ing.key)?;
            }
        }
        self.gc()
    }
}

/// Key prefixes of ingests that belong to one operation (their keys carry its lease id).
const LEASE_SCOPED_INGESTS: &[&str] = &["import/", "load/", "stream/"];
