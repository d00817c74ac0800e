//! The unpackers of `docker load`. The reader writes each layer blob into a content-store
//! ingest as it streams in; a worker thread follows that ingest as it grows ([`Tail`]) and
//! unpacks the layer at the same time, and the reader moves on to the next blob without
//! waiting — so the first layer starts unpacking with its first bytes, and several layers
//! unpack at once on all cores, each stacked on its parent once that one is committed
//! (`Store::unpack_layer_early`). The blob's digest is checked by the reader when the ingest
//! is committed, the layer's diff ID by the worker; either failure fails the load.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use oci::Digest;
use store::{Lease, Store};

use super::load::{layer_error, Progress};
use crate::error::Error;

/// How far the reader got with one blob.
#[derive(Default)]
pub(crate) struct Growth {
    written: AtomicU64,
    done: AtomicBool,
    failed: AtomicBool,
    lock: Mutex<()>,
    cv: Condvar,
}

impl Growth {
    /// `n` more bytes are in the file.
    pub(crate) fn grew(&self, n: u64) {
        self.written.fetch_add(n, Ordering::SeqCst);
        let _g = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        self.cv.notify_all();
    }

    /// The blob is complete (`ok`) or will never be.
    pub(crate) fn finish(&self, ok: bool) {
        if ok {
            self.done.store(true, Ordering::SeqCst);
        } else {
            self.failed.store(true, Ordering::SeqCst);
        }
        let _g = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        self.cv.notify_all();
    }
}

/// Reads an ingest while it is being written: at the end of what is there, waits for more
/// until the writer says it is done.
pub(crate) struct Tail {
    file: File,
    read: u64,
    growth: Arc<Growth>,
}

impl Tail {
    /// Follows `file` as `growth` reports it written.
    pub(crate) fn new(file: File, growth: Arc<Growth>) -> Tail {
        Tail {
            file,
            read: 0,
            growth,
        }
    }

    /// Reads a file that is complete already (`size` bytes).
    pub(crate) fn complete(file: File, size: u64) -> Tail {
        let growth = Arc::new(Growth::default());
        growth.grew(size);
        growth.finish(true);
        Tail::new(file, growth)
    }
}

impl Read for Tail {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let g = &self.growth;
        loop {
            if self.read < g.written.load(Ordering::SeqCst) {
                let n = self.file.read(buf)?;
                if n == 0 {
                    return Err(io::Error::other("the layer blob shrank while being read"));
                }
                self.read += n as u64;
                return Ok(n);
            }
            if g.failed.load(Ordering::SeqCst) {
                return Err(io::Error::other("the archive stream failed"));
            }
            if g.done.load(Ordering::SeqCst) && self.read >= g.written.load(Ordering::SeqCst) {
                return Ok(0);
            }
            let lock = g.lock.lock().unwrap_or_else(|p| p.into_inner());
            if self.read >= g.written.load(Ordering::SeqCst)
                && !g.done.load(Ordering::SeqCst)
                && !g.failed.load(Ordering::SeqCst)
            {
                // The timeout only bounds a missed wake-up.
                let _ = g.cv.wait_timeout(lock, Duration::from_millis(50));
            }
        }
    }
}

/// One layer to unpack: its blob as it is being written, what it is and what it stacks on.
pub(crate) struct Job {
    pub(crate) digest: Digest,
    pub(crate) size: u64,
    pub(crate) diff_id: Digest,
    pub(crate) parent: Option<Digest>,
    pub(crate) tail: Tail,
}

/// What the workers share: the first failure, and a signal when a layer lands.
#[derive(Default)]
pub(crate) struct Shared {
    failed: AtomicBool,
    error: Mutex<Option<Error>>,
    landed: Mutex<()>,
    cv: Condvar,
}

impl Shared {
    /// Records a failure (the first one wins) and wakes every waiter.
    pub(crate) fn fail(&self, e: Option<Error>) {
        self.failed.store(true, Ordering::SeqCst);
        if let Some(e) = e {
            let mut slot = self.error.lock().unwrap_or_else(|p| p.into_inner());
            slot.get_or_insert(e);
        }
        let _g = self.landed.lock().unwrap_or_else(|p| p.into_inner());
        self.cv.notify_all();
    }

    /// Whether anything failed.
    pub(crate) fn failed(&self) -> bool {
        self.failed.load(Ordering::SeqCst)
    }

    /// The first failure, if any.
    pub(crate) fn take_error(&self) -> Option<Error> {
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
pub(crate) fn run(
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
            BufReader::with_capacity(1 << 20, job.tail),
            &job.diff_id,
            job.size,
        );
        let res = store.unpack_layer_early(lease, r, job.parent.as_ref(), &job.diff_id, || {
            job.parent
                .as_ref()
                .is_none_or(|p| shared.wait_for(store, lease, p))
        });
        match res {
            Ok(_) => shared.landed(),
            // Giving up because something else failed is not a failure of its own.
            Err(_) if shared.failed() => {}
            Err(e) => shared.fail(Some(layer_error(&job.digest, e))),
        }
    }
}
