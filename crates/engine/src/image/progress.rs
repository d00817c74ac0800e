//! Progress of pulls and pushes as docker's JSON message stream: status lines, one line per
//! layer (id = the first 12 hex digits of its digest) with `progressDetail` bars throttled to
//! ten updates a second, and a final error. A failure before the first message is sent as
//! an [`Event::Failed`] so the API can still answer with a plain HTTP error, as dockerd does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use api_types::{JsonMessage, ProgressDetail};
use tokio::sync::mpsc;

use crate::error::Error;

/// One item of a progress stream.
#[derive(Debug)]
pub enum Event {
    /// A message to show.
    Message(JsonMessage),
    /// The operation failed; nothing follows.
    Failed(Error),
}

/// The receiving end the API turns into a response body.
pub type Receiver = mpsc::UnboundedReceiver<Event>;

const THROTTLE: Duration = Duration::from_millis(100);

/// Where an operation reports progress. Cheap to clone; usable from any thread.
#[derive(Clone)]
pub struct Progress {
    tx: mpsc::UnboundedSender<Event>,
    last: Arc<Mutex<HashMap<String, Instant>>>,
}

impl Progress {
    /// A progress sink and its receiver.
    pub fn channel() -> (Progress, Receiver) {
        let (tx, rx) = mpsc::unbounded_channel();
        (
            Progress {
                tx,
                last: Arc::new(Mutex::new(HashMap::new())),
            },
            rx,
        )
    }

    fn send(&self, m: JsonMessage) {
        // A client that went away stops reading; the operation still completes.
        let _ = self.tx.send(Event::Message(m));
    }

    /// `{"status": s}`.
    pub fn status(&self, s: impl Into<String>) {
        self.send(JsonMessage::status(s));
    }

    /// `{"status": s, "id": id}`.
    pub fn status_id(&self, s: &str, id: &str) {
        self.send(JsonMessage::status_id(s, id));
    }

    /// `{"status": s, "id": id}` (with an empty `progressDetail`, as dockerd sends for layer
    /// lines, so the CLI keeps the layer on its own line).
    pub fn layer(&self, id: &str, s: impl Into<String>) {
        let mut m = JsonMessage::status_id(s, id);
        m.progress_detail = Some(ProgressDetail::default());
        self.send(m);
    }

    /// A bar for layer `id`: `current` of `total` bytes. Updates closer than 100 ms apart are
    /// dropped, except the last one.
    pub fn bar(&self, id: &str, s: &str, current: u64, total: u64) {
        let now = Instant::now();
        {
            let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
            let key = format!("{id}/{s}");
            if current < total && last.get(&key).is_some_and(|t| now - *t < THROTTLE) {
                return;
            }
            last.insert(key, now);
        }
        let mut m = JsonMessage::status_id(s, id);
        m.progress_detail = Some(ProgressDetail {
            current: Some(current as i64),
            total: Some(total as i64),
        });
        m.progress = Some(bar_string(current, total));
        self.send(m);
    }

    /// A message with `aux` data (push sends the pushed digest this way).
    pub fn aux(&self, v: serde_json::Value) {
        self.send(JsonMessage {
            aux: Some(v),
            ..Default::default()
        });
    }

    /// Ends the stream with an error.
    pub fn fail(&self, e: Error) {
        let _ = self.tx.send(Event::Failed(e));
    }
}

/// The first 12 hex digits of a digest: how docker names layers in progress output.
pub fn short_id(d: &oci::Digest) -> String {
    d.hex().chars().take(12).collect()
}

/// A size as go-units' `HumanSize` writes it (`2.221MB`).
fn size(n: u64) -> String {
    api_types::units::human_size(n as f64)
}

/// dockerd's `progress` string: a 50-column bar and the sizes.
pub fn bar_string(current: u64, total: u64) -> String {
    if total == 0 {
        return format!("{:>8}", size(current));
    }
    let pct = ((current.min(total) as f64 / total as f64) * 50.0) as usize;
    let bar = format!(
        "[{}>{}]",
        "=".repeat(pct),
        " ".repeat(50usize.saturating_sub(pct))
    );
    format!("{bar} {:>8}/{}", size(current), size(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_bars() {
        assert_eq!(size(0), "0B");
        assert_eq!(size(999), "999B");
        assert_eq!(size(2_221_000), "2.221MB");
        assert_eq!(size(32_100), "32.1kB");
        assert_eq!(size(123_456_000), "123.5MB");
        assert!(bar_string(50, 100).starts_with("[=========================>"));
        assert!(bar_string(100, 100).ends_with("100B/100B"));
    }

    #[tokio::test]
    async fn throttles_bars_but_keeps_the_last() {
        let (p, mut rx) = Progress::channel();
        for i in 0..=10 {
            p.bar("abc", "Downloading", i, 10);
        }
        drop(p);
        let mut seen = Vec::new();
        while let Some(Event::Message(m)) = rx.recv().await {
            seen.push(m.progress_detail.unwrap().current.unwrap());
        }
        assert_eq!(seen.first(), Some(&0));
        assert_eq!(seen.last(), Some(&10));
        assert!(seen.len() < 11, "{seen:?}");
    }
}
