//! Unpacking a layer before its parent is in place. An overlay layer directory holds only its
//! own changes (whiteouts as 0/0 devices, opaque directories as an xattr) and never reads the
//! layers below, so the layers of an image can be unpacked at the same time, each committed
//! once the layer below it is: a pull keeps both cores busy instead of unpacking in order.

use std::io::Read;

use oci::layer::ApplyOptions;
use oci::Digest;

use crate::layers::{chain_of, UnpackedLayer};
use crate::lease::{self, Lease};
use crate::snapshot::overlay::{SnapRecord, TABLE};
use crate::snapshot::{Kind, Labels, SnapshotError};
use crate::split::unpack_verified;
use crate::store::{Store, StoreError};

impl Store {
    /// [`Store::unpack_layer`] without waiting for `parent`: the layer is unpacked (and its
    /// diff ID verified) into a snapshot of its own, then `parent_ready` is called, which must
    /// return `true` once `parent` is committed (or `false` to give up), and only then is the
    /// layer stacked on `parent` and committed under its chain ID. A chain ID already there is
    /// reused without reading anything; on any failure nothing is left behind.
    pub fn unpack_layer_early<R: Read + Send>(
        &self,
        lease: &Lease,
        reader: R,
        parent: Option<&Digest>,
        diff_id: &Digest,
        parent_ready: impl FnOnce() -> bool,
    ) -> Result<UnpackedLayer, StoreError> {
        let chain_id = chain_of(parent, diff_id);
        let _claim = self.claim(&chain_id);
        if let Some(size) = self.lease_layer(lease, &chain_id)? {
            return Ok(UnpackedLayer {
                diff_id: diff_id.clone(),
                chain_id,
                size,
                stats: None,
            });
        }
        let key = format!("extract/{}", lease::new_id());
        let rec = self.prepare_leased(Some(lease), &key, None, Labels::new())?;
        let fs_dir = self
            .inner
            .snapshots
            .root()
            .join(rec.id.to_string())
            .join("fs");
        let unpacked = (|| {
            let stats = unpack_verified(reader, &fs_dir, diff_id, &ApplyOptions::default())?;
            // Stamped before waiting for the parent: the flush that commits the parent then
            // covers this layer too.
            let written = self.inner.flusher.written();
            if !parent_ready() {
                return Err(StoreError::MissingLayer {
                    chain_id: parent.cloned().unwrap_or_else(|| chain_id.clone()),
                });
            }
            if let Some(p) = parent {
                self.stack_on(&key, p)?;
            }
            Ok((stats, written))
        })();
        let (stats, written) = match unpacked {
            Ok(s) => s,
            Err(e) => {
                self.discard_snapshot(&key);
                return Err(e);
            }
        };
        let size = self.commit_layer(lease, &key, &chain_id, written)?;
        Ok(UnpackedLayer {
            diff_id: diff_id.clone(),
            chain_id,
            size,
            stats: Some(stats),
        })
    }

    /// Makes the active snapshot `key` (recorded without a parent) a child of the committed
    /// snapshot `parent`.
    fn stack_on(&self, key: &str, parent: &Digest) -> Result<(), StoreError> {
        let _g = self.gc_read();
        self.inner.db.write(|tx| {
            let p: Option<SnapRecord> = tx.raw_get(TABLE, parent.as_str())?;
            if p.is_none_or(|p| p.kind != Kind::Committed) {
                return Err(StoreError::from(SnapshotError::ParentNotCommitted {
                    parent: parent.to_string(),
                }));
            }
            let mut rec: SnapRecord =
                tx.raw_get(TABLE, key)?
                    .ok_or_else(|| SnapshotError::NotFound {
                        key: key.to_string(),
                    })?;
            rec.parent = Some(parent.to_string());
            tx.raw_put(TABLE, key, &rec)?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::snapshot::Snapshotter;
    use crate::tests::tar_of;
    use crate::{Store, StoreOptions};
    use oci::Digest;

    fn store(dir: &std::path::Path) -> Store {
        let opts = StoreOptions {
            sync_layers: false,
            ..Default::default()
        };
        Store::open(dir, opts).unwrap()
    }

    #[test]
    fn a_layer_unpacked_before_its_parent_is_stacked_on_it_at_commit() {
        let d = tempfile::tempdir().unwrap();
        let s = store(d.path());
        let lease = s.lease().unwrap();
        let (t1, t2) = (tar_of(&[("a", b"1")]), tar_of(&[("b", b"2")]));
        let (d1, d2) = (Digest::sha256_of(&t1), Digest::sha256_of(&t2));
        let chain1 = d1.clone();
        // Layer 2 first, while layer 1 does not exist yet.
        let l2 = std::thread::scope(|sc| {
            let h = sc.spawn(|| {
                s.unpack_layer_early(&lease, &t2[..], Some(&chain1), &d2, || {
                    // Layer 1 lands meanwhile.
                    s.unpack_layer(&lease, &t1[..], None, &d1).unwrap();
                    true
                })
            });
            h.join().unwrap().unwrap()
        });
        let info = s.snapshotter().stat(l2.chain_id.as_str()).unwrap();
        assert_eq!(info.parent.as_deref(), Some(chain1.as_str()));
        assert_eq!(l2.chain_id, oci::config::chain_ids(&[d1, d2])[1]);
    }

    #[test]
    fn giving_up_on_the_parent_leaves_nothing() {
        let d = tempfile::tempdir().unwrap();
        let s = store(d.path());
        let lease = s.lease().unwrap();
        let t = tar_of(&[("x", b"x")]);
        let before = std::fs::read_dir(d.path().join("snapshots"))
            .unwrap()
            .count();
        let parent = Digest::sha256_of(b"never");
        let e = s
            .unpack_layer_early(
                &lease,
                &t[..],
                Some(&parent),
                &Digest::sha256_of(&t),
                || false,
            )
            .unwrap_err();
        assert!(e.to_string().contains(parent.as_str()), "{e}");
        let after = std::fs::read_dir(d.path().join("snapshots"))
            .unwrap()
            .count();
        assert_eq!(before, after);
    }
}
