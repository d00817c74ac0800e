//! Layer downloads that the unpacker follows as they land.
//!
//! A [`Fetch`] is one blob being downloaded into a content-store ingest. The download runs on
//! a blocking thread and writes each chunk once, to the ingest; the unpacker reads the same
//! file through a [`TailReader`] (positioned reads, waiting for more when it catches up), so a
//! layer is decompressed, verified and unpacked while it downloads, and no byte is written
//! twice. A cut connection is retried with `Range` from what the ingest holds; the ingest
//! survives a failed pull, so the next pull resumes it too. The tail reader reports end of
//! data only after the blob's digest was verified and committed; a mismatch makes it fail,
//! which discards the half-unpacked snapshot.
//!
//! Fetches are shared: a pull that needs a blob another pull is downloading follows that
//! download instead of starting its own.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::fs::FileExt;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use distribution::Repository;
use futures_util::StreamExt;
use oci::Digest;
use store::{Lease, Store};
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

struct FetchState {
    file: Option<Arc<File>>,
    written: u64,
    done: Option<Outcome>,
}

/// One blob download in flight.
pub(crate) struct Fetch {
    pub(crate) digest: Digest,
    pub(crate) size: u64,
    state: Mutex<FetchState>,
    cv: Condvar,
}

impl Fetch {
    pub(crate) fn new(digest: Digest, size: u64) -> Arc<Fetch> {
        Arc::new(Fetch {
            digest,
            size,
            state: Mutex::new(FetchState {
                file: None,
                written: 0,
                done: None,
            }),
            cv: Condvar::new(),
        })
    }

    fn update(&self, f: impl FnOnce(&mut FetchState)) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut st);
        self.cv.notify_all();
    }

    /// Records the outcome; wakes every reader.
    pub(crate) fn finish(&self, r: Outcome) {
        self.update(|st| st.done = Some(r));
    }

    /// Blocks until the download ended; its outcome.
    pub(crate) fn wait(&self) -> Outcome {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(r) = &st.done {
                return r.clone();
            }
            st = self
                .cv
                .wait_timeout(st, Duration::from_secs(1))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// A reader of the blob's bytes as they arrive.
    pub(crate) fn reader(self: &Arc<Self>, progress: Progress) -> TailReader {
        TailReader {
            fetch: self.clone(),
            pos: 0,
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
            self.update(|st| {
                st.file = Some(Arc::new(file));
                st.written = self.size;
            });
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
        self.update(|st| {
            st.file = Some(Arc::new(file));
            st.written = start;
        });
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
                        self.update(|st| st.written = now);
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

/// Reads a [`Fetch`]'s blob from the start while it downloads; ends only once the blob is
/// verified, and fails when the download does.
pub(crate) struct TailReader {
    fetch: Arc<Fetch>,
    pos: u64,
    progress: Progress,
    id: String,
}

impl Read for TailReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let f = &self.fetch;
        let mut st = f.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(Err(e)) = &st.done {
                return Err(io::Error::other(e.clone()));
            }
            if let Some(file) = st.file.clone() {
                if self.pos < st.written {
                    let n = (buf.len() as u64).min(st.written - self.pos) as usize;
                    drop(st);
                    let n = file.read_at(&mut buf[..n], self.pos)?;
                    self.pos += n as u64;
                    self.progress.bar(&self.id, "Extracting", self.pos, f.size);
                    return Ok(n);
                }
            }
            if matches!(st.done, Some(Ok(()))) {
                return Ok(0);
            }
            st =
                f.cv.wait_timeout(st, Duration::from_secs(1))
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
        }
    }
}
