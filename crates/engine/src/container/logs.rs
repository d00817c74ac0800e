//! `GET /containers/{id}/logs`: the log's history (json-file or local; since/until/tail),
//! then, with `follow`, what the container writes next — until it stops, `until` passes, or
//! the client leaves. A container logging to `none` has no history: dockerd's 501.

use std::pin::Pin;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures_util::Stream;
use runtime::logfile::{self, LogConfig, LogEntry, ReadOptions};

use super::ContainerService;
use crate::clock;
use crate::error::{Error, Result};

/// How often a follower looks for new entries while the container runs.
const FOLLOW_POLL: Duration = Duration::from_millis(50);

/// The stream a frame belongs to (the multiplexed stream's type byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum StreamKind {
    Stdout = 1,
    Stderr = 2,
}

/// One piece of output.
#[derive(Debug, Clone)]
pub struct LogFrame {
    pub stream: StreamKind,
    pub bytes: Bytes,
}

/// Options of `logs`.
#[derive(Debug, Clone, Default)]
pub struct LogsOptions {
    pub follow: bool,
    pub stdout: bool,
    pub stderr: bool,
    /// Nanoseconds since the epoch.
    pub since: Option<i128>,
    /// Nanoseconds since the epoch.
    pub until: Option<i128>,
    pub timestamps: bool,
    pub tail: Option<usize>,
    /// Prefix each line with its attributes (`--details`: `k=v,k2=v2 `).
    pub details: bool,
}

/// The output of `logs`: whether it is a TTY's (raw) and the frames.
pub struct LogStream {
    pub tty: bool,
    pub frames: Pin<Box<dyn Stream<Item = LogFrame> + Send>>,
}

fn to_system_time(nanos: i128) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(nanos.max(0) as u64)
}

fn frame(e: LogEntry, opts: &LogsOptions) -> Option<LogFrame> {
    let stream = match e.stream {
        logfile::Stream::Stdout if opts.stdout => StreamKind::Stdout,
        logfile::Stream::Stderr if opts.stderr => StreamKind::Stderr,
        _ => return None,
    };
    let mut b = Vec::with_capacity(e.line.len() + 40);
    if opts.timestamps {
        let nanos = e
            .time
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as i128)
            .unwrap_or(0);
        b.extend_from_slice(clock::rfc3339(nanos).as_bytes());
        b.push(b' ');
    }
    if opts.details {
        // dockerd's `--details`: the attributes, query-escaped, then a space.
        let attrs: Vec<String> = e
            .attrs
            .iter()
            .map(|(k, v)| format!("{k}={}", query_escape(v)))
            .collect();
        b.extend_from_slice(attrs.join(",").as_bytes());
        b.push(b' ');
    }
    b.extend_from_slice(&e.line);
    let bytes = Bytes::from(b);
    Some(LogFrame { stream, bytes })
}

/// Go's `url.QueryEscape` of an attribute value (spaces as `+`).
fn query_escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

impl ContainerService {
    /// The log config of a container as its shim writes it; `None` for the `none` driver.
    fn log_config(&self, r: &super::record::ContainerRecord) -> Result<Option<LogConfig>> {
        super::logdriver::shim_config(
            r,
            &self.paths(&r.id),
            self.cfg.log_max_size,
            self.cfg.log_max_files,
        )
    }

    /// Reads a container's logs.
    pub async fn logs(&self, key: &str, opts: LogsOptions) -> Result<LogStream> {
        let c = self.get(key)?;
        let view = c.view();
        let tty = view.config.tty;
        let cfg = self.log_config(&view)?.ok_or(Error::LogsNotSupported)?;
        let read_opts = ReadOptions {
            since: opts.since.map(to_system_time),
            until: opts.until.map(to_system_time),
            tail: opts.tail,
        };
        let (history, mut follower) =
            tokio::task::spawn_blocking(move || logfile::read(&cfg, &read_opts))
                .await
                .map_err(Error::task("logs"))?
                .map_err(Error::Logs)?;
        let (tx, rx) = tokio::sync::mpsc::channel::<LogFrame>(64);
        let mut observed = c.observe();
        let follow = opts.follow && view.state.status().is_running();
        tokio::spawn(async move {
            for e in history {
                if let Some(f) = frame(e, &opts) {
                    if tx.send(f).await.is_err() {
                        return;
                    }
                }
            }
            if !follow {
                return;
            }
            loop {
                let running = observed.borrow_and_update().status.is_running();
                let (entries, f) = match tokio::task::spawn_blocking(move || {
                    let r = follower.poll();
                    (r, follower)
                })
                .await
                {
                    Ok((Ok(entries), f)) => (entries, f),
                    _ => return,
                };
                follower = f;
                for e in entries {
                    if let Some(fr) = frame(e, &opts) {
                        if tx.send(fr).await.is_err() {
                            return;
                        }
                    }
                }
                if !running || follower.past_until() {
                    return;
                }
                tokio::select! {
                    _ = tokio::time::sleep(FOLLOW_POLL) => {}
                    _ = observed.changed() => {}
                    _ = tx.closed() => return,
                }
            }
        });
        let frames =
            futures_util::stream::unfold(
                rx,
                |mut rx| async move { rx.recv().await.map(|f| (f, rx)) },
            );
        Ok(LogStream {
            tty,
            frames: Box::pin(frames),
        })
    }
}
