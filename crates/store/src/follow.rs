//! Following a blob while it is written: the one way a layer is unpacked as its bytes land
//! (a registry download, an archive being loaded). The writer appends to a content-store
//! ingest and says how far it got ([`Growing::grew_to`]) and how it ended
//! ([`Growing::finish`]); a [`Follower`] reads the same file from the start with positioned
//! reads, waits when it catches up, reports the end only once the writer finished well
//! (after the blob was verified and committed), and fails when the writer failed — so no byte
//! is written twice and a bad blob makes the unpack fail, which discards its snapshot.
//!
//! The outcome type `E` is the writer's error, cloned to every follower (an `Arc` of it when
//! the error itself is not `Clone`).

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

struct State<E> {
    file: Option<Arc<File>>,
    written: u64,
    done: Option<Result<(), E>>,
}

/// A blob being written, shared by its writer and its followers.
pub struct Growing<E> {
    state: Mutex<State<E>>,
    cv: Condvar,
}

impl<E: Clone> Growing<E> {
    /// A blob whose file is not open yet.
    pub fn new() -> Arc<Growing<E>> {
        Arc::new(Growing {
            state: Mutex::new(State {
                file: None,
                written: 0,
                done: None,
            }),
            cv: Condvar::new(),
        })
    }

    /// A blob that is complete already: `file` holds its `size` bytes.
    pub fn complete(file: File, size: u64) -> Arc<Growing<E>> {
        let g = Growing::new();
        g.open(file, size);
        g.finish(Ok(()));
        g
    }

    fn update(&self, f: impl FnOnce(&mut State<E>)) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut st);
        self.cv.notify_all();
    }

    /// The file followers read (the ingest's reading handle), holding `written` bytes already
    /// (a resumed download).
    pub fn open(&self, file: File, written: u64) {
        self.update(|st| {
            st.file = Some(Arc::new(file));
            st.written = written;
        });
    }

    /// The file now holds `written` bytes.
    pub fn grew_to(&self, written: u64) {
        self.update(|st| st.written = written);
    }

    /// The writer is done: the blob is complete and verified (`Ok`), or never will be.
    pub fn finish(&self, outcome: Result<(), E>) {
        self.update(|st| st.done = Some(outcome));
    }

    /// Blocks until the writer finished; its outcome.
    pub fn wait(&self) -> Result<(), E> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(r) = &st.done {
                return r.clone();
            }
            st = self.wait_a_while(st);
        }
    }

    /// A reader of the blob's bytes, from the start, as they arrive.
    pub fn follow(self: &Arc<Self>) -> Follower<E> {
        Follower {
            growing: self.clone(),
            pos: 0,
        }
    }

    fn wait_a_while<'a>(
        &self,
        st: std::sync::MutexGuard<'a, State<E>>,
    ) -> std::sync::MutexGuard<'a, State<E>> {
        // Every change notifies under the lock; the timeout only bounds a missed wake-up.
        self.cv
            .wait_timeout(st, Duration::from_secs(1))
            .unwrap_or_else(|e| e.into_inner())
            .0
    }
}

/// Reads a [`Growing`] blob from the start while it is written; ends only once the writer
/// finished well, and fails when it failed.
pub struct Follower<E> {
    growing: Arc<Growing<E>>,
    pos: u64,
}

impl<E> Follower<E> {
    /// Bytes read so far.
    pub fn position(&self) -> u64 {
        self.pos
    }
}

impl<E> Read for Follower<E>
where
    E: Clone + Into<Box<dyn std::error::Error + Send + Sync>>,
{
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let g = &self.growing;
        let mut st = g.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(Err(e)) = &st.done {
                return Err(io::Error::other(e.clone()));
            }
            if let Some(file) = st.file.clone() {
                if self.pos < st.written {
                    let n = (buf.len() as u64).min(st.written - self.pos) as usize;
                    drop(st);
                    let n = file.read_at(&mut buf[..n], self.pos)?;
                    if n == 0 {
                        return Err(io::Error::other("the blob shrank while being read"));
                    }
                    self.pos += n as u64;
                    return Ok(n);
                }
            }
            if matches!(st.done, Some(Ok(()))) {
                return Ok(0);
            }
            st = g.wait_a_while(st);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[derive(Debug, Clone, PartialEq)]
    struct Failed;

    impl std::fmt::Display for Failed {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("the writer failed")
        }
    }

    impl std::error::Error for Failed {}

    #[test]
    fn a_follower_reads_what_lands_and_ends_when_the_writer_is_done() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blob");
        let mut w = File::create(&path).unwrap();
        let g: Arc<Growing<Failed>> = Growing::new();
        let mut f = g.follow();
        std::thread::scope(|s| {
            let reader = s.spawn(move || {
                let mut out = Vec::new();
                f.read_to_end(&mut out).map(|_| out)
            });
            g.open(File::open(&path).unwrap(), 0);
            for (i, chunk) in [&b"hello "[..], b"world"].iter().enumerate() {
                w.write_all(chunk).unwrap();
                g.grew_to(if i == 0 { 6 } else { 11 });
            }
            g.finish(Ok(()));
            assert_eq!(reader.join().unwrap().unwrap(), b"hello world");
        });
        assert_eq!(g.wait(), Ok(()));
    }

    #[test]
    fn a_failed_writer_fails_its_followers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blob");
        std::fs::write(&path, b"half").unwrap();
        let g: Arc<Growing<Failed>> = Growing::new();
        g.open(File::open(&path).unwrap(), 4);
        let mut f = g.follow();
        let mut buf = [0u8; 16];
        assert_eq!(f.read(&mut buf).unwrap(), 4);
        g.finish(Err(Failed));
        let e = f.read(&mut buf).unwrap_err();
        assert_eq!(e.to_string(), "the writer failed");
        assert_eq!(g.wait(), Err(Failed));
        let complete: Arc<Growing<Failed>> = Growing::complete(File::open(&path).unwrap(), 4);
        let mut all = Vec::new();
        complete.follow().read_to_end(&mut all).unwrap();
        assert_eq!(all, b"half");
    }
}
