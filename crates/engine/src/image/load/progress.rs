//! What `docker load` prints while it works: `Loading layer` progress per layer as it is read,
//! and plain lines (`Loaded image: …`) as dockerd's stdout writer wraps them.

use std::io::{self, Read};

use api_types::{JsonMessage, ProgressDetail};
use oci::Digest;
use tokio::sync::mpsc;

/// A layer's progress is reported every this many bytes.
const PROGRESS_EVERY: u64 = 512 << 10;

/// A `{"stream":…}` line, as dockerd's stdout writer wraps plain text.
pub(super) fn stream_line(text: String) -> JsonMessage {
    JsonMessage {
        stream: Some(text),
        ..Default::default()
    }
}

/// Sends progress and result lines to the response.
pub(super) struct Progress {
    tx: mpsc::Sender<JsonMessage>,
    quiet: bool,
}

impl Progress {
    pub(super) fn new(tx: mpsc::Sender<JsonMessage>, quiet: bool) -> Progress {
        Progress { tx, quiet }
    }

    pub(super) fn send(&self, m: JsonMessage) {
        // A client that went away stops reading: the body read fails soon after.
        let _ = self.tx.blocking_send(m);
    }

    /// Wraps a layer's reader so its progress is reported as it is read.
    pub(super) fn reader<'a, R: Read>(
        &'a self,
        inner: R,
        diff_id: &Digest,
        total: u64,
    ) -> Counting<'a, R> {
        Counting {
            inner,
            progress: self,
            id: diff_id.hex().chars().take(12).collect(),
            total,
            current: 0,
            last: 0,
        }
    }
}

/// A reader that reports `Loading layer` progress every [`PROGRESS_EVERY`] bytes.
pub(super) struct Counting<'a, R> {
    inner: R,
    progress: &'a Progress,
    id: String,
    total: u64,
    current: u64,
    last: u64,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.current += n as u64;
        let done = n == 0 || self.current >= self.total;
        if !self.progress.quiet
            && (self.current - self.last >= PROGRESS_EVERY || (done && self.current > self.last))
        {
            self.last = self.current;
            let mut m = JsonMessage::status_id("Loading layer", self.id.clone());
            m.progress_detail = Some(ProgressDetail {
                current: Some(self.current as i64),
                total: Some(self.total as i64),
            });
            m.progress = Some(crate::image::progress::bar_string(self.current, self.total));
            self.progress.send(m);
        }
        Ok(n)
    }
}
