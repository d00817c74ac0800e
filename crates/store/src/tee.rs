//! The byte-level halves of the layer pipeline that keep a blob while unpacking: one read of
//! the input, two outputs. [`stored`] writes the raw bytes to a content-store ingest on a
//! second thread while this one decompresses, hashes and applies them (a layer blob whose
//! digest is known: load); [`tarball`] hashes the tar (its diff ID is not known) and either
//! keeps the input as received (a plain or gzip tarball given to import) or gzip-compresses it
//! into a new blob on a second thread while this one applies it (commit, other compressions).
//! The third half, [`crate::split::unpack_verified`], keeps nothing.

use std::io::{self, BufWriter, Read, Write};
use std::path::Path;

use flate2::write::GzEncoder;
use oci::compression::{self, Compression};
use oci::layer::{apply, ApplyOptions, ApplyStats};
use oci::{Algorithm, Descriptor, Digest, HashingReader};

use crate::content::{BlobInfo, IngestWriter};
use crate::pipe::{pipe, PipeWriter};
use crate::store::{Store, StoreError};

/// A reader that hands a copy of every chunk it reads to a writer thread.
struct Tee<R> {
    inner: R,
    out: Option<PipeWriter>,
}

impl<R: Read> Read for Tee<R> {
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

impl<R> Tee<R> {
    fn finish(&mut self) {
        if let Some(out) = self.out.take() {
            let _ = out.finish();
        }
    }
}

fn joined<T>(what: &'static str, r: std::thread::Result<io::Result<T>>) -> Result<T, StoreError> {
    match r {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(source)) => Err(StoreError::Thread { what, source }),
        Err(_) => Err(StoreError::Thread {
            what,
            source: io::Error::other("helper thread panicked"),
        }),
    }
}

/// What [`tarball`] made.
pub(crate) struct Compressed {
    /// The blob.
    pub blob: BlobInfo,
    /// The blob's compression: gzip, or the input's when it was kept as received.
    pub stored: Compression,
    /// The tar's digest.
    pub diff_id: Digest,
    /// Bytes of uncompressed tar.
    pub tar_size: u64,
    /// Compression of the input.
    pub input: Compression,
    /// What unpacking did.
    pub stats: ApplyStats,
}

/// Stores `reader` (exactly the bytes of `blob`) through `w` while decompressing, hashing and
/// applying it to `dir`; verifies the diff ID, then commits the ingest (size and digest
/// checked). Returns what unpacking did and the input's compression.
pub(crate) fn stored<R: Read>(
    store: &Store,
    lease: &crate::Lease,
    reader: R,
    w: IngestWriter,
    blob: &Descriptor,
    dir: &Path,
    diff_id: &Digest,
) -> Result<(ApplyStats, Compression), StoreError> {
    let (unpacked, w) = copied(reader, w, |tee| verified_local(tee, dir, diff_id))?;
    store.commit_ingest(lease, w, Some(blob.size), Some(&blob.digest))?;
    Ok(unpacked)
}

/// Runs `f` on `reader` while a second thread writes every byte read through `w`; then reads
/// the rest (whatever follows a compressed stream is part of the blob too). Returns `f`'s
/// result and the writer, everything written.
fn copied<R: Read, T>(
    reader: R,
    mut w: IngestWriter,
    f: impl FnOnce(&mut Tee<R>) -> Result<T, StoreError>,
) -> Result<(T, IngestWriter), StoreError> {
    let (tx, mut rx) = pipe(8);
    std::thread::scope(|s| {
        let writer = s.spawn(move || -> io::Result<_> {
            while let Some(chunk) = rx.next_chunk() {
                w.write_all(&chunk)?;
            }
            Ok(w)
        });
        let mut tee = Tee {
            inner: reader,
            out: Some(tx),
        };
        let out = f(&mut tee);
        let drained = drain(&mut tee);
        tee.finish();
        let w = joined("storing layer blob", writer.join())?;
        let out = out?;
        drained?;
        Ok((out, w))
    })
}

/// Applies `reader` (a tar, plain or compressed) to `dir` while hashing the tar, and stores it
/// through `w`: as received when `keep` and the input is plain or gzip, else gzip-compressed
/// at `level`. Commits the ingest.
pub(crate) fn tarball<R: Read + Send>(
    store: &Store,
    lease: &crate::Lease,
    mut reader: R,
    w: IngestWriter,
    level: u32,
    keep: bool,
    dir: &Path,
) -> Result<Compressed, StoreError> {
    let (format, head) = compression::peek(&mut reader)?;
    let whole = head.chain(reader);
    match format {
        Compression::None | Compression::Gzip if keep => kept(store, lease, whole, w, format, dir),
        _ => compressed(store, lease, whole, w, level, dir),
    }
}

/// Stores `reader` (a plain or gzip tar, `format`) through `w` byte for byte on a second
/// thread while this one decompresses, hashes and applies it; commits the ingest.
fn kept<R: Read + Send>(
    store: &Store,
    lease: &crate::Lease,
    reader: R,
    mut w: IngestWriter,
    format: Compression,
    dir: &Path,
) -> Result<Compressed, StoreError> {
    // A plain tar is its own diff ID: the writer thread need not hash it a second time.
    let plain = format == Compression::None;
    if plain {
        w.hashed_by_caller();
    }
    let ((stats, diff_id, tar_size), w) = copied(reader, w, |tee| {
        let dec = compression::decoder(format, tee)?;
        let mut tar = HashingReader::new(dec, Algorithm::Sha256);
        let stats = apply(&mut tar, dir, &ApplyOptions::default())?;
        // The diff ID is the digest of the whole decompressed stream (what a puller of the
        // blob computes), end-of-archive padding included.
        drain(&mut tar)?;
        let (_, diff_id, tar_size) = tar.finish();
        Ok((stats, diff_id, tar_size))
    })?;
    let blob = if plain {
        store.commit_ingest_hashed(lease, w, tar_size, &diff_id)?
    } else {
        store.commit_ingest(lease, w, None, None)?
    };
    Ok(Compressed {
        blob,
        stored: format,
        diff_id,
        tar_size,
        input: format,
        stats,
    })
}

/// Applies `reader` (a tar, plain or compressed) to `dir` while hashing the tar and
/// gzip-compressing it (at `level`) into `w` on a second thread; commits the ingest.
fn compressed<R: Read + Send>(
    store: &Store,
    lease: &crate::Lease,
    reader: R,
    w: IngestWriter,
    level: u32,
    dir: &Path,
) -> Result<Compressed, StoreError> {
    let (input, dec) = compression::decompress(reader)?;
    let (tx, mut rx) = pipe(8);
    std::thread::scope(|s| {
        let compressor = s.spawn(move || -> io::Result<_> {
            let mut gz = GzEncoder::new(
                BufWriter::with_capacity(1 << 20, w),
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
        let applied = apply(&mut tee, dir, &ApplyOptions::default());
        tee.finish();
        // A failed compressor (disk full) makes the unpacker fail with a broken pipe: its
        // error, the cause, is checked first.
        let w = joined("compressing layer", compressor.join())?;
        let stats = applied?;
        let (_, diff_id, tar_size) = tee.inner.finish();
        let blob = store.commit_ingest(lease, w, None, None)?;
        Ok(Compressed {
            blob,
            stored: Compression::Gzip,
            diff_id,
            tar_size,
            input,
            stats,
        })
    })
}

/// Decompresses (on this thread), hashes and applies a layer read from `r` into `dir`,
/// checking the diff ID.
fn verified_local<R: Read>(
    r: R,
    dir: &Path,
    diff_id: &Digest,
) -> Result<(ApplyStats, Compression), StoreError> {
    let (input, dec) = compression::decompress_local(r)?;
    let mut h = HashingReader::new(dec, diff_id.algorithm());
    let stats = apply(&mut h, dir, &ApplyOptions::default())?;
    let actual = h.digest();
    if actual != *diff_id {
        return Err(StoreError::DiffIdMismatch {
            expected: diff_id.clone(),
            actual,
        });
    }
    Ok((stats, input))
}

/// Reads `r` to its end, discarding the bytes.
pub(crate) fn drain<R: Read>(r: &mut R) -> Result<(), StoreError> {
    io::copy(r, &mut io::sink())
        .map(drop)
        .map_err(|source| StoreError::Io {
            op: "reading",
            path: "layer stream".into(),
            source,
        })
}
