//! The layer pipeline: turning a tar stream into an unpacked snapshot (and, for imports, a
//! compressed blob) in one pass, and unpacking blobs from the content store. A layer is
//! unpacked into an active snapshot's directory directly (no mount), then committed under its
//! chain ID; a chain ID that is already there is reused, never unpacked twice.

use std::io::{self, BufWriter, Read, Write};

use flate2::write::GzEncoder;
use oci::compression::{self, Compression};
use oci::config::chain_ids;
use oci::layer::{apply, ApplyOptions, ApplyStats};
use oci::{media_type, Algorithm, Descriptor, Digest, HashingReader};

use crate::flush::Written;
use crate::images::LayerRecord;
use crate::lease::{self, Lease, Resource};
use crate::pipe::{pipe, PipeWriter};
use crate::snapshot::overlay::commit_record;
use crate::snapshot::{Labels, SnapshotError};
use crate::split::unpack_verified;
use crate::store::{Store, StoreError};

/// A layer unpacked from a stream whose blob the caller stores (pull, load).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnpackedLayer {
    /// Diff ID (verified).
    pub diff_id: Digest,
    /// Chain ID: the committed snapshot's name.
    pub chain_id: Digest,
    /// Unpacked size.
    pub size: u64,
    /// What unpacking did; `None` when the layer was already there and nothing was read.
    pub stats: Option<ApplyStats>,
}

/// Options of [`Store::import_layer`].
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Use OCI media types for the blob (default); Docker's otherwise.
    pub oci_media_types: bool,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            oci_media_types: true,
        }
    }
}

/// A layer imported from a tar stream: unpacked, and stored gzip-compressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedLayer {
    /// Blob, diff ID, chain ID and size, ready for [`crate::NewImage::layers`].
    pub layer: LayerRecord,
    /// Compression of the input.
    pub input_compression: Compression,
    /// Bytes of uncompressed tar.
    pub tar_size: u64,
    /// What unpacking did.
    pub stats: ApplyStats,
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

/// A reader that hands a copy of every chunk it reads to a compressor thread.
struct Tee<R> {
    inner: HashingReader<R>,
    out: Option<PipeWriter>,
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n > 0 {
            if let Some(out) = self.out.as_mut() {
                out.send(buf[..n].to_vec())?;
            }
        }
        Ok(n)
    }
}

impl Store {
    /// Imports a layer from `reader` (a tar, plain or gzip/zstd/xz-compressed) on top of the
    /// committed layer `parent`, in one pass: the tar is hashed (diff ID), gzip-compressed into
    /// a content-store blob on a second thread, and unpacked into a new snapshot, which is then
    /// committed under its chain ID. Everything created is held by `lease`.
    pub fn import_layer<R: Read + Send>(
        &self,
        lease: &Lease,
        reader: R,
        parent: Option<&Digest>,
        opts: &ImportOptions,
    ) -> Result<ImportedLayer, StoreError> {
        let key = format!("extract/{}", lease::new_id());
        let rec =
            self.prepare_leased(Some(lease), &key, parent.map(Digest::as_str), Labels::new())?;
        let fs_dir = self
            .inner
            .snapshots
            .root()
            .join(rec.id.to_string())
            .join("fs");
        let ingest_key = format!("import/{key}");
        let result = self.import_into(lease, reader, &fs_dir, &ingest_key);
        let (blob, diff_id, tar_size, input_compression, stats) = match result {
            Ok(v) => v,
            Err(e) => {
                self.discard_snapshot(&key);
                let _ = self.inner.content.abort(&ingest_key);
                return Err(e);
            }
        };
        let chain_id = chain_of(parent, &diff_id);
        let written = self.inner.flusher.written();
        let size = self.commit_layer(lease, &key, &chain_id, written)?;
        let mt = media_type::layer_media_type(Compression::Gzip, opts.oci_media_types);
        Ok(ImportedLayer {
            layer: LayerRecord {
                blob: Descriptor::new(mt, blob.0, blob.1),
                diff_id,
                chain_id,
                size,
            },
            input_compression,
            tar_size,
            stats,
        })
    }

    #[allow(clippy::type_complexity)]
    fn import_into<R: Read + Send>(
        &self,
        lease: &Lease,
        reader: R,
        fs_dir: &std::path::Path,
        ingest_key: &str,
    ) -> Result<((Digest, u64), Digest, u64, Compression, ApplyStats), StoreError> {
        let writer = self.ingest(lease, ingest_key, None)?;
        let level = self.inner.opts.gzip_level;
        let (input_compression, dec) = compression::decompress(reader)?;
        let (tx, mut rx) = pipe(8);
        std::thread::scope(|s| {
            let compressor = s.spawn(move || -> io::Result<_> {
                let mut gz = GzEncoder::new(
                    BufWriter::with_capacity(1 << 20, writer),
                    flate2::Compression::new(level),
                );
                while let Some(chunk) = rx.next_chunk() {
                    gz.write_all(&chunk)?;
                }
                gz.finish()?.into_inner().map_err(|e| e.into_error())
            });
            let mut tee = Tee {
                inner: HashingReader::new(dec, Algorithm::Sha256),
                out: Some(tx),
            };
            let applied = apply(&mut tee, fs_dir, &ApplyOptions::default());
            if let Some(out) = tee.out.take() {
                let _ = out.finish();
            }
            let compressed = compressor.join();
            // A failed compressor (disk full) makes the unpacker fail with a broken pipe:
            // its error, the cause, is checked first.
            let writer = match compressed {
                Ok(Ok(w)) => w,
                Ok(Err(source)) => {
                    return Err(StoreError::Thread {
                        what: "compressing layer",
                        source,
                    })
                }
                Err(_) => {
                    let source = io::Error::other("compressor thread panicked");
                    return Err(StoreError::Thread {
                        what: "compressing layer",
                        source,
                    });
                }
            };
            let stats = applied?;
            let (_, diff_id, tar_size) = tee.inner.finish();
            let info = self.commit_ingest(lease, writer, None, None)?;
            Ok((
                (info.digest, info.size),
                diff_id,
                tar_size,
                input_compression,
                stats,
            ))
        })
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
        let committed = {
            let _g = self.gc_read();
            self.inner.db.write(|tx| {
                match commit_record(tx, chain_id.as_str(), key, Labels::new()) {
                    Ok(()) => {}
                    Err(SnapshotError::AlreadyExists { .. }) => return Ok(false),
                    Err(e) => return Err(StoreError::from(e)),
                }
                lease::add(tx, lease.id(), Resource::Snapshot(chain_id.to_string()))?;
                Ok(true)
            })?
        };
        if !committed {
            self.discard_snapshot(key);
            if !self.lease_snapshot(lease, chain_id.as_str())? {
                return Err(StoreError::MissingLayer {
                    chain_id: chain_id.clone(),
                });
            }
        }
        self.layer_size(chain_id)
    }

    /// Unpacks a layer blob streamed from `reader` (compressed or not; detected) on top of
    /// `parent`, verifying that the tar's digest is `diff_id`. When the chain ID is already
    /// unpacked, nothing is read and the existing snapshot is put under `lease`. On a digest
    /// mismatch nothing is left behind.
    pub fn unpack_layer<R: Read + Send>(
        &self,
        lease: &Lease,
        reader: R,
        parent: Option<&Digest>,
        diff_id: &Digest,
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
        let rec =
            self.prepare_leased(Some(lease), &key, parent.map(Digest::as_str), Labels::new())?;
        let fs_dir = self
            .inner
            .snapshots
            .root()
            .join(rec.id.to_string())
            .join("fs");
        let unpacked = unpack_verified(reader, &fs_dir, diff_id, &ApplyOptions::default());
        let stats = match unpacked {
            Ok(s) => s,
            Err(e) => {
                self.discard_snapshot(&key);
                return Err(e);
            }
        };
        let written = self.inner.flusher.written();
        let size = self.commit_layer(lease, &key, &chain_id, written)?;
        Ok(UnpackedLayer {
            diff_id: diff_id.clone(),
            chain_id,
            size,
            stats: Some(stats),
        })
    }

    /// Unpacks the content-store blob `blob` (as listed in a manifest) on top of `parent`,
    /// verifying `diff_id`; the blob is put under `lease` first so it cannot be collected.
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
                self.unpack_layer(
                    lease,
                    io::BufReader::with_capacity(1 << 20, f),
                    parent,
                    diff_id,
                )?
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

    /// True when the layer `chain_id` is unpacked.
    pub fn has_layer(&self, chain_id: &Digest) -> Result<bool, StoreError> {
        Ok(self.inner.snapshots.exists(chain_id.as_str())?)
    }
}
