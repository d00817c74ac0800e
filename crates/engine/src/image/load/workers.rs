//! The unpackers of `docker load`. The reader writes each layer blob into a content-store
//! ingest as it streams in; a worker thread follows that ingest as it grows
//! (`store::follow`) and unpacks the layer at the same time, and the reader moves on to the
//! next blob without waiting — so the first layer starts unpacking with its first bytes, and
//! several layers unpack at once on all cores, each stacked on its parent once that one is
//! committed (`Store::unpack` with `Unpack::early`). The blob's digest is checked by the
//! reader when the ingest is committed, the layer's diff ID by the worker; either failure
//! fails the load.

use std::io::BufReader;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use oci::Digest;
use store::{Content, Follower, Lease, Store, Unpack};

use super::progress::Progress;
use crate::error::Error;

/// Why a layer blob's writer gave up; the reader reports its own error, this only stops the
/// worker following the blob.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the archive stream failed")]
pub(super) struct StreamFailed;

/// One layer to unpack: its blob as it is being written, what it is and what it stacks on.
pub(super) struct Job {
    pub(super) digest: Digest,
    pub(super) size: u64,
    pub(super) diff_id: Digest,
    pub(super) parent: Option<Digest>,
    pub(super) blob: Follower<StreamFailed>,
}

/// What the workers share: the first failure, and a signal when a layer lands.
#[derive(Default)]
pub(super) struct Shared {
    failed: AtomicBool,
    error: Mutex<Option<Error>>,
    landed: Mutex<()>,
    cv: Condvar,
}

impl Shared {
    /// Records a failure (the first one wins) and wakes every waiter.
    pub(super) fn fail(&self, e: Option<Error>) {
        self.failed.store(true, Ordering::SeqCst);
        if let Some(e) = e {
            let mut slot = self.error.lock().unwrap_or_else(|p| p.into_inner());
            slot.get_or_insert(e);
        }
        let _g = self.landed.lock().unwrap_or_else(|p| p.into_inner());
        self.cv.notify_all();
    }

    /// Whether anything failed.
    pub(super) fn failed(&self) -> bool {
        self.failed.load(Ordering::SeqCst)
    }

    /// The first failure, if any.
    pub(super) fn take_error(&self) -> Option<Error> {
        self.error.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    fn landed(&self) {
        let _g = self.landed.lock().unwrap_or_else(|p| p.into_inner());
        self.cv.notify_all();
    }

    /// Waits until layer `parent` is committed (and puts it under `lease`); `false` when the
    /// load failed meanwhile. Jobs are queued in archive order, so a parent is always being
    /// unpacked by an earlier job or is there already.
    fn wait_for(&self, store: &Store, lease: &Lease, parent: &Digest) -> bool {
        let mut g = self.landed.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if matches!(store.lease_layer(lease, parent), Ok(Some(_))) {
                return true;
            }
            if self.failed() {
                return false;
            }
            // The timeout only bounds a missed wake-up.
            g = self
                .cv
                .wait_timeout(g, Duration::from_millis(50))
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
        }
    }
}

/// A worker: takes jobs until the queue closes.
pub(super) fn run(
    store: &Store,
    lease: &Lease,
    progress: &Progress,
    jobs: &Mutex<Receiver<Job>>,
    shared: &Shared,
) {
    loop {
        let job = match jobs.lock().unwrap_or_else(|p| p.into_inner()).recv() {
            Ok(j) => j,
            Err(_) => return,
        };
        if shared.failed() {
            continue;
        }
        let r = progress.reader(
            BufReader::with_capacity(1 << 20, job.blob),
            &job.diff_id,
            job.size,
        );
        let content = Content::Layer {
            diff_id: &job.diff_id,
        };
        let parent = job.parent.as_ref();
        let how = Unpack::on(parent, content)
            .early(|| parent.is_none_or(|p| shared.wait_for(store, lease, p)));
        match store.unpack(lease, r, how) {
            Ok(_) => shared.landed(),
            // Giving up because something else failed is not a failure of its own.
            Err(_) if shared.failed() => {}
            Err(e) => shared.fail(Some(super::layer_error(&job.digest, e))),
        }
    }
}
