//! Group commit of unpacked layers to disk. A layer's files must be on disk before the layer
//! is recorded as committed (a crash must never leave a committed layer with lost data), and
//! `syncfs` is how they get there: one call flushes every file of the filesystem, without an
//! fsync per file. A pull unpacks all its layers at once and commits them one after the other
//! as each parent is committed; one `syncfs` that started after a layer's files were written
//! covers that layer, so the layers of a pull (and of concurrent pulls) share one flush
//! instead of flushing once each.

use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::{Condvar, Mutex};

/// A point in the order of events of a [`Flusher`]: taken once a layer's files are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Written(u64);

#[derive(Default)]
struct State {
    /// Event counter: stamps and flush starts each take the next value.
    clock: u64,
    /// The largest start stamp of a flush that completed successfully.
    flushed: Option<u64>,
    /// A flush is running.
    running: bool,
}

/// Coalesces `syncfs` calls of concurrent writers.
#[derive(Default)]
pub(crate) struct Flusher {
    state: Mutex<State>,
    cv: Condvar,
}

impl Flusher {
    /// Marks the moment the caller's writes are complete.
    pub(crate) fn written(&self) -> Written {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.clock += 1;
        Written(st.clock)
    }

    /// Returns once a `syncfs` of the filesystem holding `dir` that started after `w` has
    /// completed: one already done, one running that others wait for, or one run here.
    pub(crate) fn flush(&self, dir: &Path, w: Written) -> io::Result<()> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if st.flushed.is_some_and(|f| f > w.0) {
                return Ok(());
            }
            if !st.running {
                st.running = true;
                st.clock += 1;
                let start = st.clock;
                drop(st);
                let r =
                    File::open(dir).and_then(|f| rustix::fs::syncfs(&f).map_err(io::Error::from));
                st = self.state.lock().unwrap_or_else(|e| e.into_inner());
                st.running = false;
                if r.is_ok() {
                    st.flushed = Some(st.flushed.map_or(start, |f| f.max(start)));
                }
                self.cv.notify_all();
                return r;
            }
            st = self.cv.wait(st).unwrap_or_else(|e| e.into_inner());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flush_started_later_covers_earlier_writes_only() {
        let dir = tempfile::tempdir().unwrap();
        let f = Flusher::default();
        let a = f.written();
        let b = f.written();
        f.flush(dir.path(), b).unwrap();
        // `a` was stamped before that flush started: covered, nothing to run.
        let before = f.state.lock().unwrap().clock;
        f.flush(dir.path(), a).unwrap();
        assert_eq!(f.state.lock().unwrap().clock, before);
        // Writes after it need a new flush.
        let c = f.written();
        f.flush(dir.path(), c).unwrap();
        assert!(f.state.lock().unwrap().flushed.unwrap() > c.0);
    }

    #[test]
    fn a_failed_flush_covers_nothing() {
        let f = Flusher::default();
        let w = f.written();
        f.flush(Path::new("/nonexistent/berth-flush-test"), w)
            .unwrap_err();
        assert_eq!(f.state.lock().unwrap().flushed, None);
    }

    #[test]
    fn concurrent_flushers_all_return() {
        let dir = tempfile::tempdir().unwrap();
        let f = Flusher::default();
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for _ in 0..5 {
                        let w = f.written();
                        f.flush(dir.path(), w).unwrap();
                    }
                });
            }
        });
    }
}
