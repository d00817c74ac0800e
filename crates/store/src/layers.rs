//! The layer pipeline: one entry point, [`Store::unpack`], turns a layer's bytes into a
//! committed snapshot named by its chain ID, in one pass over the input. What differs between
//! callers is said by [`Unpack`]:
//!
//! - [`Content`] — what the bytes are and what to keep of them: a layer blob stored elsewhere
//!   (a download's ingest, the content store: [`Content::Layer`]), a layer blob to store as it
//!   streams by ([`Content::Blob`], `docker load`), or a tarball to keep gzip-compressed as a
//!   new blob, its diff ID computed ([`Content::Tarball`], import, commit);
//! - `parent` — the committed layer it stacks on;
//! - `parent_ready` — unpack *before* the parent is committed. An overlay layer directory
//!   holds only its own changes (whiteouts as 0/0 devices, opaque directories as an xattr) and
//!   never reads the layers below, so the layers of an image can be unpacked at the same time,
//!   each stacked on its parent and committed once that one is: pulls and loads keep every
//!   core busy instead of unpacking in order.
//!
//! A layer is unpacked into an active snapshot's directory directly (no mount), then
//! committed under its chain ID. A chain ID that is already there is reused, never unpacked
//! twice (concurrent unpacks of one chain ID wait for each other); a blob already stored is
//! not written again. On any failure — a digest mismatch, a cut stream — nothing is left
//! behind but what `lease` holds.

use std::io::{self, Read};

use oci::compression::Compression;
use oci::config::chain_ids;
use oci::layer::{ApplyOptions, ApplyStats};
use oci::{media_type, Descriptor, Digest};

use crate::flush::Written;
use crate::images::LayerRecord;
use crate::lease::{self, Lease, Resource};
use crate::snapshot::overlay::{commit_record, SnapRecord, TABLE};
use crate::snapshot::{Kind, Labels, SnapshotError};
use crate::split::unpack_verified;
use crate::store::{Store, StoreError};
use crate::tee;

/// Options of a tarball kept as a new blob ([`Content::Tarball`]).
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Use OCI media types for the blob (default); Docker's otherwise.
    pub oci_media_types: bool,
    /// Keep a plain or gzip tarball as it was received, as the layer's blob, instead of
    /// compressing it again (`docker import`: compressing is the slow half of the pipeline and
    /// dockerd does not do it either). Other compressions (zstd, xz, bzip2) are still stored
    /// gzip-compressed. Off by default: a layer the engine wrote itself (commit) is compressed.
    pub keep_as_received: bool,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            oci_media_types: true,
            keep_as_received: false,
        }
    }
}

/// What a layer's bytes are, and what to keep of them besides the snapshot.
#[derive(Debug, Clone, Copy)]
pub enum Content<'a> {
    /// A layer blob whose tar hashes to `diff_id`; the blob is stored by other means (a
    /// download's ingest) or already. Nothing is read when the layer is there.
    Layer {
        /// What the tar must hash to.
        diff_id: &'a Digest,
    },
    /// Exactly the bytes of `blob`, stored as they stream by (verified against its digest and
    /// size), its tar hashing to `diff_id`. What is there already is not written again.
    Blob {
        /// The blob the bytes are.
        blob: &'a Descriptor,
        /// What the tar must hash to.
        diff_id: &'a Digest,
    },
    /// A tar, plain or compressed: stored gzip-compressed as a new blob, its diff ID
    /// computed (and checked against `expect` when given).
    Tarball {
        /// Media types of the new blob.
        opts: &'a ImportOptions,
        /// The diff ID the tar must have, when known.
        expect: Option<&'a Digest>,
    },
}

impl Content<'_> {
    fn diff_id(&self) -> Option<&Digest> {
        match self {
            Content::Layer { diff_id } | Content::Blob { diff_id, .. } => Some(diff_id),
            Content::Tarball { expect, .. } => *expect,
        }
    }
}

/// How to unpack a layer: see the module docs.
pub struct Unpack<'a> {
    /// The committed layer (chain ID) to stack on; `None` for a base layer.
    pub parent: Option<&'a Digest>,
    /// What the bytes are.
    pub content: Content<'a>,
    /// Unpack without waiting for `parent`: called once the files are written, it must
    /// return `true` once `parent` is committed (or `false` to give up).
    pub parent_ready: Option<Box<dyn FnOnce() -> bool + 'a>>,
}

impl<'a> Unpack<'a> {
    /// Unpacks `content` on top of `parent`, which must be committed already.
    pub fn on(parent: Option<&'a Digest>, content: Content<'a>) -> Unpack<'a> {
        Unpack {
            parent,
            content,
            parent_ready: None,
        }
    }

    /// Unpacks before `parent` is committed; see [`Unpack::parent_ready`].
    pub fn early(mut self, parent_ready: impl FnOnce() -> bool + 'a) -> Unpack<'a> {
        self.parent_ready = Some(Box::new(parent_ready));
        self
    }
}

/// What [`Store::unpack`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnpackedLayer {
    /// Diff ID (verified, or computed for a tarball).
    pub diff_id: Digest,
    /// Chain ID: the committed snapshot's name.
    pub chain_id: Digest,
    /// Unpacked size.
    pub size: u64,
    /// What unpacking did; `None` when the layer was already there.
    pub stats: Option<ApplyStats>,
    /// The blob kept: the one given ([`Content::Blob`]), the gzip made
    /// ([`Content::Tarball`]); `None` for [`Content::Layer`].
    pub blob: Option<Descriptor>,
    /// True when the blob was already in the content store (the input was only drained).
    pub blob_existed: bool,
    /// Compression of the input; `None` when nothing was read.
    pub input_compression: Option<Compression>,
    /// Bytes of uncompressed tar (tarballs only).
    pub tar_size: Option<u64>,
}

impl UnpackedLayer {
    /// The layer as an image records it, when a blob was kept.
    pub fn layer(&self) -> Option<LayerRecord> {
        Some(LayerRecord {
            blob: self.blob.clone()?,
            diff_id: self.diff_id.clone(),
            chain_id: self.chain_id.clone(),
            size: self.size,
        })
    }
}

pub(crate) fn chain_of(parent: Option<&Digest>, diff_id: &Digest) -> Digest {
    match parent {
        None => diff_id.clone(),
        // chain_ids of [parent-as-chain, diff]: the first element is taken as is.
        Some(p) => chain_ids(&[p.clone(), diff_id.clone()])
            .pop()
            .expect("two ids"),
    }
}

/// What the unpacking step produced, before the snapshot is committed.
struct Unpacked {
    diff_id: Digest,
    stats: ApplyStats,
    input: Compression,
    blob: Option<Descriptor>,
    tar_size: Option<u64>,
}

impl Store {
    /// Unpacks a layer read from `reader` as `how` says (see the module docs); everything
    /// created is held by `lease`.
    pub fn unpack<R: Read + Send>(
        &self,
        lease: &Lease,
        mut reader: R,
        how: Unpack<'_>,
    ) -> Result<UnpackedLayer, StoreError> {
        let chain = how.content.diff_id().map(|d| chain_of(how.parent, d));
        let claim = chain.as_ref().map(|c| self.claim(c));
        if let Some(chain) = &chain {
            if let Some(done) = self.reuse(lease, &mut reader, &how.content, chain)? {
                return Ok(done);
            }
        }
        // A layer present but a blob missing is stored above; a blob present and a layer
        // missing is unpacked from the content store, the input being only drained.
        if let (Content::Blob { blob, diff_id }, Some(_)) = (how.content, &chain) {
            if self.lease_blob(lease, &blob.digest)?.is_some() {
                tee::drain(&mut reader)?;
                let f = self.inner.content.open_blob(&blob.digest)?;
                let r = io::BufReader::with_capacity(1 << 20, f);
                let mut out = self.unpack_new(
                    lease,
                    r,
                    how.parent,
                    Content::Layer { diff_id },
                    how.parent_ready,
                )?;
                out.stats = None;
                out.blob = Some(blob.clone());
                out.blob_existed = true;
                drop(claim);
                return Ok(out);
            }
        }
        let out = self.unpack_new(lease, reader, how.parent, how.content, how.parent_ready);
        drop(claim);
        out
    }

    /// Unpacks the content-store blob `blob` (as listed in a manifest) on top of `parent`,
    /// verifying `diff_id`: [`Store::unpack`] of [`Content::Layer`] from the stored bytes, the
    /// blob put under `lease` first so it cannot be collected.
    pub fn unpack_blob(
        &self,
        lease: &Lease,
        blob: &Descriptor,
        parent: Option<&Digest>,
        diff_id: &Digest,
    ) -> Result<LayerRecord, StoreError> {
        if self.lease_blob(lease, &blob.digest)?.is_none() {
            return Err(StoreError::MissingBlob {
                digest: blob.digest.clone(),
            });
        }
        let chain_id = chain_of(parent, diff_id);
        let size = match self.lease_layer(lease, &chain_id)? {
            Some(size) => size,
            None => {
                let f = self.inner.content.open_blob(&blob.digest)?;
                let r = io::BufReader::with_capacity(1 << 20, f);
                self.unpack(lease, r, Unpack::on(parent, Content::Layer { diff_id }))?
                    .size
            }
        };
        Ok(LayerRecord {
            blob: blob.clone(),
            diff_id: diff_id.clone(),
            chain_id,
            size,
        })
    }

    /// The layer `chain` when it is there already (put under `lease`): the blob of a
    /// [`Content::Blob`] is stored if missing, the input drained otherwise.
    fn reuse<R: Read>(
        &self,
        lease: &Lease,
        reader: &mut R,
        content: &Content<'_>,
        chain: &Digest,
    ) -> Result<Option<UnpackedLayer>, StoreError> {
        let Some(size) = self.lease_layer(lease, chain)? else {
            return Ok(None);
        };
        let (diff_id, blob, blob_existed) = match *content {
            Content::Layer { diff_id } => (diff_id, None, false),
            Content::Blob { blob, diff_id } => {
                let existed = self.lease_blob(lease, &blob.digest)?.is_some();
                if existed {
                    tee::drain(reader)?;
                } else {
                    self.store_blob(lease, reader, blob)?;
                }
                (diff_id, Some(blob.clone()), existed)
            }
            // A tarball is always read: its blob is made from it.
            Content::Tarball { .. } => return Ok(None),
        };
        Ok(Some(UnpackedLayer {
            diff_id: diff_id.clone(),
            chain_id: chain.clone(),
            size,
            stats: None,
            blob,
            blob_existed,
            input_compression: None,
            tar_size: None,
        }))
    }

    fn ingest_key(lease: &Lease, digest: Option<&Digest>) -> String {
        match digest {
            Some(d) => format!("stream/{}/{d}", lease.id()),
            None => format!("import/{}", lease::new_id()),
        }
    }

    /// Writes `reader` into the content store as `blob`, verified.
    fn store_blob<R: Read>(
        &self,
        lease: &Lease,
        reader: &mut R,
        blob: &Descriptor,
    ) -> Result<(), StoreError> {
        let key = Self::ingest_key(lease, Some(&blob.digest));
        let mut w = self.ingest(lease, &key, Some(blob.size))?;
        w.truncate()?;
        let stored = io::copy(reader, &mut w)
            .map_err(|source| StoreError::Io {
                op: "storing blob",
                path: blob.digest.to_string().into(),
                source,
            })
            .and_then(|_| self.commit_ingest(lease, w, Some(blob.size), Some(&blob.digest)));
        if stored.is_err() {
            let _ = self.inner.content.abort(&key);
        }
        stored.map(drop)
    }

    /// Unpacks into a new snapshot and commits it (the layer is not there).
    fn unpack_new<R: Read + Send>(
        &self,
        lease: &Lease,
        reader: R,
        parent: Option<&Digest>,
        content: Content<'_>,
        parent_ready: Option<Box<dyn FnOnce() -> bool + '_>>,
    ) -> Result<UnpackedLayer, StoreError> {
        let key = format!("extract/{}", lease::new_id());
        // Unpacking early, the snapshot is made without its parent and stacked on it later.
        let stack_now = parent.filter(|_| parent_ready.is_none());
        let rec = self.prepare_leased(
            Some(lease),
            &key,
            stack_now.map(Digest::as_str),
            Labels::new(),
        )?;
        let fs_dir = self
            .inner
            .snapshots
            .root()
            .join(rec.id.to_string())
            .join("fs");
        let ingest_key = match content {
            Content::Layer { .. } => None,
            Content::Blob { blob, .. } => Some(Self::ingest_key(lease, Some(&blob.digest))),
            Content::Tarball { .. } => Some(Self::ingest_key(lease, None)),
        };
        let done = (|| {
            let unpacked =
                self.unpack_bytes(lease, reader, &content, ingest_key.as_deref(), &fs_dir)?;
            // Stamped before waiting for the parent: the flush that commits the parent then
            // covers this layer too.
            let written = self.inner.flusher.written();
            if let Some(ready) = parent_ready {
                let chain = chain_of(parent, &unpacked.diff_id);
                if !ready() {
                    return Err(StoreError::MissingLayer {
                        chain_id: parent.cloned().unwrap_or(chain),
                    });
                }
                if let Some(p) = parent {
                    self.stack_on(&key, p)?;
                }
            }
            Ok((unpacked, written))
        })();
        let (u, written) = match done {
            Ok(v) => v,
            Err(e) => {
                self.discard_snapshot(&key);
                if let Some(k) = &ingest_key {
                    let _ = self.inner.content.abort(k);
                }
                return Err(e);
            }
        };
        let chain_id = chain_of(parent, &u.diff_id);
        let size = self.commit_layer(lease, &key, &chain_id, written)?;
        Ok(UnpackedLayer {
            diff_id: u.diff_id,
            chain_id,
            size,
            stats: Some(u.stats),
            blob: u.blob,
            blob_existed: false,
            input_compression: Some(u.input),
            tar_size: u.tar_size,
        })
    }

    /// The byte-level step: unpack into `dir`, keeping what `content` says.
    fn unpack_bytes<R: Read + Send>(
        &self,
        lease: &Lease,
        reader: R,
        content: &Content<'_>,
        ingest_key: Option<&str>,
        dir: &std::path::Path,
    ) -> Result<Unpacked, StoreError> {
        match *content {
            Content::Layer { diff_id } => {
                let (stats, input) =
                    unpack_verified(reader, dir, diff_id, &ApplyOptions::default())?;
                Ok(Unpacked {
                    diff_id: diff_id.clone(),
                    stats,
                    input,
                    blob: None,
                    tar_size: None,
                })
            }
            Content::Blob { blob, diff_id } => {
                let key = ingest_key.expect("a blob has an ingest");
                let mut w = self.ingest(lease, key, Some(blob.size))?;
                w.truncate()?;
                let (stats, input) = tee::stored(self, lease, reader, w, blob, dir, diff_id)?;
                Ok(Unpacked {
                    diff_id: diff_id.clone(),
                    stats,
                    input,
                    blob: Some(blob.clone()),
                    tar_size: None,
                })
            }
            Content::Tarball { opts, expect } => {
                let key = ingest_key.expect("a tarball has an ingest");
                let w = self.ingest(lease, key, None)?;
                let level = self.inner.opts.gzip_level;
                let c = tee::tarball(self, lease, reader, w, level, opts.keep_as_received, dir)?;
                if let Some(expected) = expect.filter(|e| **e != c.diff_id) {
                    return Err(StoreError::DiffIdMismatch {
                        expected: expected.clone(),
                        actual: c.diff_id,
                    });
                }
                let mt = media_type::layer_media_type(c.stored, opts.oci_media_types);
                Ok(Unpacked {
                    diff_id: c.diff_id,
                    stats: c.stats,
                    input: c.input,
                    blob: Some(Descriptor::new(mt, c.blob.digest, c.blob.size)),
                    tar_size: Some(c.tar_size),
                })
            }
        }
    }

    /// Commits the unpacked active snapshot `key` as `chain_id` (held by `lease`), or — when
    /// another unpack got there first — drops it and uses the existing one. Returns the size.
    /// `written` marks when the snapshot's files were complete: with `sync_layers`, a flush
    /// of the filesystem that started after it (possibly shared with other layers) has
    /// completed before the layer is recorded.
    pub(crate) fn commit_layer(
        &self,
        lease: &Lease,
        key: &str,
        chain_id: &Digest,
        written: Written,
    ) -> Result<u64, StoreError> {
        if self.inner.opts.sync_layers {
            use crate::snapshot::Snapshotter;
            let dir = self.inner.snapshots.fs_dir(key)?;
            let sync = self.inner.flusher.flush(&dir, written);
            sync.map_err(|source| StoreError::Io {
                op: "syncing",
                path: dir,
                source,
            })?;
        }
        self.commit_or_adopt(lease, key, chain_id, true)?;
        self.layer_size(chain_id)
    }

    /// Records the active snapshot `key` as the committed layer `chain_id` under `lease`
    /// (durably, or as a deferred commit), or — when the same layer was committed first — drops
    /// `key` and leases the existing one.
    pub(crate) fn commit_or_adopt(
        &self,
        lease: &Lease,
        key: &str,
        chain_id: &Digest,
        durable: bool,
    ) -> Result<(), StoreError> {
        let record = |tx: &mut _| {
            match commit_record(tx, chain_id.as_str(), key, Labels::new()) {
                Ok(()) => {}
                Err(SnapshotError::AlreadyExists { .. }) => return Ok(false),
                Err(e) => return Err(StoreError::from(e)),
            }
            lease::add(tx, lease.id(), Resource::Snapshot(chain_id.to_string()))?;
            Ok(true)
        };
        let committed = {
            let _g = self.gc_read();
            if durable {
                self.inner.db.write(record)?
            } else {
                self.inner.db.write_deferred(record)?
            }
        };
        if !committed {
            self.discard_snapshot(key);
            if !self.lease_snapshot(lease, chain_id.as_str())? {
                return Err(StoreError::MissingLayer {
                    chain_id: chain_id.clone(),
                });
            }
        }
        Ok(())
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

    /// True when the layer `chain_id` is unpacked.
    pub fn has_layer(&self, chain_id: &Digest) -> Result<bool, StoreError> {
        Ok(self.inner.snapshots.exists(chain_id.as_str())?)
    }
}

#[cfg(test)]
mod early_tests {
    use crate::snapshot::Snapshotter;
    use crate::tests::{tar_of, unpack_layer};
    use crate::{Content, Store, StoreOptions, Unpack};
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
                let how = Unpack::on(Some(&chain1), Content::Layer { diff_id: &d2 }).early(|| {
                    // Layer 1 lands meanwhile.
                    unpack_layer(&s, &lease, &t1[..], None, &d1).unwrap();
                    true
                });
                s.unpack(&lease, &t2[..], how)
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
        let diff_id = Digest::sha256_of(&t);
        let how = Unpack::on(Some(&parent), Content::Layer { diff_id: &diff_id }).early(|| false);
        let e = s.unpack(&lease, &t[..], how).unwrap_err();
        assert!(e.to_string().contains(parent.as_str()), "{e}");
        let after = std::fs::read_dir(d.path().join("snapshots"))
            .unwrap()
            .count();
        assert_eq!(before, after);
    }
}
