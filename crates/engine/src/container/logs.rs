//! `GET /containers/{id}/logs`: the json-file history (since/until/tail), then, with `follow`,
//! what the container writes next — until it stops, `until` passes, or the client leaves.

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
    let bytes = if opts.timestamps {
        let nanos = e
            .time
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as i128)
            .unwrap_or(0);
        let mut b = clock::rfc3339(nanos).into_bytes();
        b.push(b' ');
        b.extend_from_slice(&e.line);
        Bytes::from(b)
    } else {
        Bytes::from(e.line)
    };
    Some(LogFrame { stream, bytes })
}

impl ContainerService {
    /// The json-file log config of a container.
    pub(crate) fn log_config(&self, id: &str) -> LogConfig {
        let view = self.get(id).map(|c| c.view()).ok();
        let opts = view
            .as_ref()
            .map(|v| v.host_config.log_config.config.clone())
            .unwrap_or_default();
        LogConfig {
            path: self.paths(id).log(id),
            max_size: opts
                .get("max-size")
                .and_then(|s| super::config::parse_size(s))
                .unwrap_or(self.cfg.log_max_size),
            max_files: opts
                .get("max-file")
                .and_then(|s| s.parse().ok())
                .unwrap_or(self.cfg.log_max_files)
                .max(1),
        }
    }

    /// Reads a container's logs.
    pub async fn logs(&self, key: &str, opts: LogsOptions) -> Result<LogStream> {
        let c = self.get(key)?;
        let view = c.view();
        let tty = view.config.tty;
        let cfg = self.log_config(&c.id);
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
