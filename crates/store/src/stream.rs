//! Layer blobs that arrive as a stream whose digest is known in advance (an image archive
//! being loaded, a registry download): the raw bytes are written to the content store and,
//! in the same pass, decompressed, hashed and unpacked — one read of the input, two outputs.
//! Both digests (the blob's and the diff ID) are verified before anything is committed.

use std::io::{self, Read, Write};

use oci::compression;
use oci::layer::{apply, ApplyOptions, ApplyStats};
use oci::{Descriptor, Digest, HashingReader};

use crate::images::LayerRecord;
use crate::layers::chain_of;
use crate::lease::{self, Lease};
use crate::pipe::{pipe, PipeWriter};
use crate::snapshot::Labels;
use crate::store::{Store, StoreError};

/// What [`Store::ingest_and_unpack`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamedLayer {
    /// Blob, diff ID, chain ID and unpacked size, ready for [`crate::NewImage::layers`].
    pub layer: LayerRecord,
    /// Unpacking statistics; `None` when the layer was already unpacked.
    pub stats: Option<ApplyStats>,
    /// True when the blob was already in the content store (the stream was only drained).
    pub blob_existed: bool,
}

/// Forwards every byte read to a writer thread (the ingest) as well as to the caller.
struct RawTee<R> {
    inner: R,
    out: Option<PipeWriter>,
}

impl<R: Read> Read for RawTee<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n > 0 {
            if let Some(out) = self.out.as_mut() {
                out.write_all(&buf[..n])?;
            }
        }
        Ok(n)
    }
}

fn thread_err(what: &'static str, source: io::Error) -> StoreError {
    StoreError::Thread { what, source }
}

impl Store {
    /// Stores the layer blob `blob` read from `reader` (exactly its bytes) and unpacks it on
    /// top of the committed layer `parent`, in one pass: the raw bytes go to a content-store
    /// ingest on a second thread while this thread decompresses (gzip, zstd, xz or none,
    /// detected), hashes and applies them. The blob must match `blob.digest` and `blob.size`,
    /// the tar `diff_id`; on any mismatch nothing is kept. What already exists is reused: an
    /// unpacked chain ID is not unpacked again, a present blob is not written again (the
    /// stream is then only drained). Everything is held by `lease`.
    pub fn ingest_and_unpack<R: Read>(
        &self,
        lease: &Lease,
        mut reader: R,
        blob: &Descriptor,
        parent: Option<&Digest>,
        diff_id: &Digest,
    ) -> Result<StreamedLayer, StoreError> {
        let chain_id = chain_of(parent, diff_id);
        let _claim = self.claim(&chain_id);
        let have_blob = self.lease_blob(lease, &blob.digest)?.is_some();
        let have_layer = self.lease_layer(lease, &chain_id)?;
        let record = |size| LayerRecord {
            blob: blob.clone(),
            diff_id: diff_id.clone(),
            chain_id: chain_id.clone(),
            size,
        };
        match (have_blob, have_layer) {
            (true, Some(size)) => {
                drain(&mut reader)?;
                Ok(StreamedLayer {
                    layer: record(size),
                    stats: None,
                    blob_existed: true,
                })
            }
            (false, Some(size)) => {
                self.ingest_only(lease, reader, blob)?;
                Ok(StreamedLayer {
                    layer: record(size),
                    stats: None,
                    blob_existed: false,
                })
            }
            (true, None) => {
                drain(&mut reader)?;
                drop(_claim);
                let layer = self.unpack_blob(lease, blob, parent, diff_id)?;
                Ok(StreamedLayer {
                    layer,
                    stats: None,
                    blob_existed: true,
                })
            }
            (false, None) => {
                let (size, stats) =
                    self.tee_unpack(lease, reader, blob, parent, &chain_id, diff_id)?;
                Ok(StreamedLayer {
                    layer: record(size),
                    stats: Some(stats),
                    blob_existed: false,
                })
            }
        }
    }

    fn ingest_key(lease: &Lease, blob: &Descriptor) -> String {
        format!("stream/{}/{}", lease.id(), blob.digest)
    }

    /// Writes `reader` into the content store as `blob`, verified.
    fn ingest_only<R: Read>(
        &self,
        lease: &Lease,
        mut reader: R,
        blob: &Descriptor,
    ) -> Result<(), StoreError> {
        let key = Self::ingest_key(lease, blob);
        let mut w = self.ingest(lease, &key, Some(blob.size))?;
        w.truncate()?;
        let copied = io::copy(&mut reader, &mut w);
        if let Err(source) = copied {
            let _ = self.inner.content.abort(&key);
            return Err(StoreError::Io {
                op: "storing blob",
                path: blob.digest.to_string().into(),
                source,
            });
        }
        match self.commit_ingest(lease, w, Some(blob.size), Some(&blob.digest)) {
            Ok(_) => Ok(()),
            Err(e) => {
                let _ = self.inner.content.abort(&key);
                Err(e)
            }
        }
    }

    /// The one-pass path: ingest on a helper thread, unpack here.
    fn tee_unpack<R: Read>(
        &self,
        lease: &Lease,
        reader: R,
        blob: &Descriptor,
        parent: Option<&Digest>,
        chain_id: &Digest,
        diff_id: &Digest,
    ) -> Result<(u64, ApplyStats), StoreError> {
        let key = format!("extract/{}", lease::new_id());
        let rec =
            self.prepare_leased(Some(lease), &key, parent.map(Digest::as_str), Labels::new())?;
        let fs_dir = self
            .inner
            .snapshots
            .root()
            .join(rec.id.to_string())
            .join("fs");
        let ingest_key = Self::ingest_key(lease, blob);
        let result = (|| {
            let mut w = self.ingest(lease, &ingest_key, Some(blob.size))?;
            w.truncate()?;
            let (tx, mut rx) = pipe(8);
            std::thread::scope(|s| {
                let writer = s.spawn(move || -> io::Result<_> {
                    while let Some(chunk) = rx.next_chunk() {
                        w.write_all(&chunk)?;
                    }
                    Ok(w)
                });
                let mut tee = RawTee {
                    inner: reader,
                    out: Some(tx),
                };
                let unpacked = unpack_from(&mut tee, &fs_dir, diff_id);
                // Whatever follows the compressed stream is part of the blob too.
                let drained = drain(&mut tee);
                if let Some(out) = tee.out.take() {
                    let _ = out.finish();
                }
                let w = match writer.join() {
                    Ok(Ok(w)) => w,
                    Ok(Err(e)) => return Err(thread_err("storing layer blob", e)),
                    Err(_) => {
                        return Err(thread_err(
                            "storing layer blob",
                            io::Error::other("writer thread panicked"),
                        ))
                    }
                };
                let stats = unpacked?;
                drained?;
                self.commit_ingest(lease, w, Some(blob.size), Some(&blob.digest))?;
                Ok(stats)
            })
        })();
        let stats = match result {
            Ok(s) => s,
            Err(e) => {
                self.discard_snapshot(&key);
                let _ = self.inner.content.abort(&ingest_key);
                return Err(e);
            }
        };
        let written = self.inner.flusher.written();
        let size = self.commit_layer(lease, &key, chain_id, written)?;
        Ok((size, stats))
    }
}

/// Decompresses, hashes and applies a layer read from `r` into `dir`, checking the diff ID.
fn unpack_from<R: Read>(
    r: R,
    dir: &std::path::Path,
    diff_id: &Digest,
) -> Result<ApplyStats, StoreError> {
    let (_, dec) = compression::decompress_local(r)?;
    let mut h = HashingReader::new(dec, diff_id.algorithm());
    let stats = apply(&mut h, dir, &ApplyOptions::default())?;
    let actual = h.digest();
    if actual != *diff_id {
        return Err(StoreError::DiffIdMismatch {
            expected: diff_id.clone(),
            actual,
        });
    }
    Ok(stats)
}

fn drain<R: Read>(r: &mut R) -> Result<(), StoreError> {
    io::copy(r, &mut io::sink())
        .map(drop)
        .map_err(|source| StoreError::Io {
            op: "reading",
            path: "layer stream".into(),
            source,
        })
}
