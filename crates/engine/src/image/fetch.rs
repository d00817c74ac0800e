//! Layer downloads that the unpacker follows as they land.
//!
//! A [`Fetch`] is one blob being downloaded into a content-store ingest. The download runs on
//! a blocking thread and writes each chunk once, to the ingest; the unpacker follows the same
//! file as it grows (`store::follow`: positioned reads, waiting for more when it catches up),
//! so a layer is decompressed, verified and unpacked while it downloads, and no byte is
//! written twice. A cut connection is retried with `Range` from what the ingest holds; the
//! ingest survives a failed pull, so the next pull resumes it too. The follower reports end of
//! data only after the blob's digest was verified and committed; a mismatch makes it fail,
//! which discards the half-unpacked snapshot.
//!
//! Fetches are shared: a pull that needs a blob another pull is downloading follows that
//! download instead of starting its own.

use std::io::{self, Read, Write};
use std::sync::Arc;
use std::time::Duration;

use distribution::Repository;
use futures_util::StreamExt;
use oci::Digest;
use store::{Follower, Growing, Lease, Store};
use tokio::runtime::Handle;

use super::progress::{short_id, Progress};
use crate::error::ErrorKind;

/// Why a layer download failed (shared, through an `Arc`, by every pull following it).
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The content store failed.
    #[error("layer {digest}: {source}")]
    Store {
        digest: Digest,
        #[source]
        source: Box<store::StoreError>,
    },
    /// The registry refused or sent too much.
    #[error("layer {digest}: {source}")]
    Registry {
        digest: Digest,
        #[source]
        source: Box<distribution::Error>,
    },
    /// Transient failures, retried until the attempts ran out.
    #[error("downloading layer {digest}: {last} (gave up after {attempts} attempts; the next pull resumes at byte {offset})")]
    GaveUp {
        digest: Digest,
        /// The last failure, in words.
        last: String,
        attempts: usize,
        offset: u64,
    },
    /// What arrived does not hash to the digest.
    #[error("filesystem layer verification failed for digest {digest}: {source}")]
    Verify {
        digest: Digest,
        #[source]
        source: Box<store::StoreError>,
    },
    /// The download task died.
    #[error("download task: {source}")]
    Task {
        #[source]
        source: tokio::task::JoinError,
    },
}

impl FetchError {
    /// What the client can do about it.
    pub fn kind(&self) -> ErrorKind {
        match self {
            FetchError::Store { source, .. } => source.kind(),
            FetchError::Registry { source, .. } => source.kind(),
            FetchError::GaveUp { .. } => ErrorKind::Unavailable,
            FetchError::Verify { .. } => ErrorKind::InvalidArgument,
            FetchError::Task { .. } => ErrorKind::Internal,
        }
    }
}

type Outcome = Result<(), Arc<FetchError>>;

/// One blob download in flight.
pub(crate) struct Fetch {
    pub(crate) digest: Digest,
    pub(crate) size: u64,
    blob: Arc<Growing<Arc<FetchError>>>,
}

impl Fetch {
    pub(crate) fn new(digest: Digest, size: u64) -> Arc<Fetch> {
        Arc::new(Fetch {
            digest,
            size,
            blob: Growing::new(),
        })
    }

    /// Records the outcome; wakes every reader.
    pub(crate) fn finish(&self, r: Outcome) {
        self.blob.finish(r);
    }

    /// Blocks until the download ended; its outcome.
    pub(crate) fn wait(&self) -> Outcome {
        self.blob.wait()
    }

    /// A reader of the blob's bytes as they arrive, reporting `Extracting` progress.
    pub(crate) fn reader(&self, progress: Progress) -> Extracting {
        Extracting {
            blob: self.blob.follow(),
            size: self.size,
            progress,
            id: short_id(&self.digest),
        }
    }

    /// Downloads the blob into its ingest (blocking; call from a blocking thread), retrying
    /// cut transfers with `Range` up to `attempts` times, then verifies and commits it.
    pub(crate) fn download(
        &self,
        rt: &Handle,
        store: &Store,
        lease: &Lease,
        repo: &Repository,
        attempts: usize,
        progress: &Progress,
    ) -> Result<(), FetchError> {
        let id = short_id(&self.digest);
        let key = format!("pull/{}", self.digest);
        let internal = |e: store::StoreError| FetchError::Store {
            digest: self.digest.clone(),
            source: Box::new(e),
        };
        // Another pull may have finished this blob since the caller looked.
        if store
            .lease_blob(lease, &self.digest)
            .map_err(internal)?
            .is_some()
        {
            let file = store
                .content()
                .open_blob(&self.digest)
                .map_err(|e| internal(e.into()))?;
            self.blob.open(file, self.size);
            progress.layer(&id, "Download complete");
            return Ok(());
        }
        let mut w = store
            .ingest(lease, &key, Some(self.size))
            .map_err(internal)?;
        if w.offset() > self.size {
            w.truncate().map_err(|e| internal(e.into()))?;
        }
        let file = w.reader().map_err(|e| internal(e.into()))?;
        let start = w.offset();
        self.blob.open(file, start);
        if start > 0 {
            tracing::info!(digest = %self.digest, offset = start, "resuming layer download");
        }
        let mut failures = 0usize;
        while w.offset() < self.size {
            let offset = w.offset();
            let outcome = rt
                .block_on(repo.blob(&self.digest, offset))
                .and_then(|mut body| {
                    // A registry that ignored the Range resends what the ingest already holds.
                    let mut skip = offset - body.offset.min(offset);
                    while let Some(chunk) = rt.block_on(body.stream.next()) {
                        let chunk = chunk?;
                        let mut c = &chunk[..];
                        if skip > 0 {
                            let k = (skip as usize).min(c.len());
                            c = &c[k..];
                            skip -= k as u64;
                        }
                        if w.offset() + c.len() as u64 > self.size {
                            return Err(distribution::Error::TooLarge {
                                what: format!("layer {}", self.digest),
                                limit: self.size,
                            });
                        }
                        w.write_all(c).map_err(|source| distribution::Error::File {
                            path: key.clone().into(),
                            source,
                        })?;
                        let now = w.offset();
                        self.blob.grew_to(now);
                        progress.bar(&id, "Downloading", now, self.size);
                    }
                    Ok(())
                });
            let err = match outcome {
                Ok(()) if w.offset() == self.size => break,
                Ok(()) => format!(
                    "connection closed after {} of {} bytes",
                    w.offset(),
                    self.size
                ),
                Err(e) if e.is_transient() => e.to_string(),
                Err(e) => {
                    if matches!(e, distribution::Error::TooLarge { .. }) {
                        let _ = store.content().abort(&key);
                    }
                    return Err(FetchError::Registry {
                        digest: self.digest.clone(),
                        source: Box::new(e),
                    });
                }
            };
            failures += 1;
            if failures >= attempts.max(1) {
                return Err(FetchError::GaveUp {
                    digest: self.digest.clone(),
                    last: err,
                    attempts: failures,
                    offset: w.offset(),
                });
            }
            tracing::warn!(digest = %self.digest, offset = w.offset(), error = %err, "layer download cut; resuming");
            let wait = Duration::from_millis(200 * failures as u64);
            progress.layer(
                &id,
                format!("Retrying in {} seconds", wait.as_secs().max(1)),
            );
            std::thread::sleep(wait);
        }
        progress.layer(&id, "Verifying Checksum");
        let committed = store.commit_ingest(lease, w, Some(self.size), Some(&self.digest));
        if let Err(e) = committed {
            // Bad content is never resumed from: start afresh next time.
            let _ = store.content().abort(&key);
            return Err(FetchError::Verify {
                digest: self.digest.clone(),
                source: Box::new(e),
            });
        }
        progress.layer(&id, "Download complete");
        Ok(())
    }
}

/// Follows a [`Fetch`]'s blob while it downloads, reporting `Extracting` progress.
pub(crate) struct Extracting {
    blob: Follower<Arc<FetchError>>,
    size: u64,
    progress: Progress,
    id: String,
}

impl Read for Extracting {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.blob.read(buf)?;
        if n > 0 {
            let pos = self.blob.position();
            self.progress.bar(&self.id, "Extracting", pos, self.size);
        }
        Ok(n)
    }
}
