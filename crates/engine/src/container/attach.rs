//! `POST /containers/{id}/attach`, after the API server has upgraded the connection.
//!
//! The shim serves attach streams already in Docker's wire format (raw with a TTY, 8-byte
//! frames without), so attaching is a splice between the client and the shim — except stdin,
//! which passes through the detach-key matcher. A client that attaches to a created container
//! waits in `Inner::pending_attach` and is connected by `start` before the process runs, so it
//! sees all the output.

use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::state::Status;
use super::{shim, ContainerService, LogsOptions};
use crate::error::{Error, Result};

/// Query options of attach.
#[derive(Debug, Clone, Default)]
pub struct AttachOptions {
    pub detach_keys: Option<String>,
    pub logs: bool,
    pub stream: bool,
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
}

/// The default detach sequence, ctrl-p ctrl-q.
const DEFAULT_DETACH: &[u8] = &[16, 17];

/// Parses docker's detach-key syntax: `ctrl-p,ctrl-q`, `a`, `ctrl-@` … into bytes.
pub fn parse_detach_keys(s: &str) -> Result<Vec<u8>> {
    let bad = || Error::invalid(format!("Invalid detach keys ({s}) provided"));
    let mut out = Vec::new();
    for key in s.split(',') {
        let key = key.trim();
        if let Some(c) = key.strip_prefix("ctrl-") {
            let c = c.as_bytes();
            if c.len() != 1 {
                return Err(bad());
            }
            let b = c[0].to_ascii_lowercase();
            out.push(match b {
                b'a'..=b'z' => b - b'a' + 1,
                b'@' => 0,
                b'[' => 27,
                b'\\' => 28,
                b']' => 29,
                b'^' => 30,
                b'_' => 31,
                _ => return Err(bad()),
            });
        } else if key.len() == 1 {
            out.push(key.as_bytes()[0]);
        } else {
            return Err(bad());
        }
    }
    if out.is_empty() {
        return Err(bad());
    }
    Ok(out)
}

/// An attach to a container that has not started yet. It is registered before the client
/// gets its `101`, so a `start` that follows cannot miss it; the connection itself arrives
/// through `io` once the upgrade completes.
pub(crate) struct Pending {
    id: String,
    opts: AttachOptions,
    detach: Vec<u8>,
    io: tokio::sync::oneshot::Receiver<Box<dyn Io>>,
}

/// The two-way client connection.
pub(crate) trait Io: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Io for T {}

/// How long `start` waits for an attach connection still being upgraded.
const UPGRADE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

impl Pending {
    /// Connects to the started container's shim; returns once the shim has the attacher, so
    /// no output produced after this point can be missed.
    pub(crate) async fn connect(self, shim: Arc<shim::Shim>) {
        let io = match tokio::time::timeout(UPGRADE_WAIT, self.io).await {
            Ok(Ok(io)) => io,
            _ => return,
        };
        match shim
            .attach(self.opts.stdin, self.opts.stdout, self.opts.stderr)
            .await
        {
            Ok(stream) => {
                tokio::spawn(splice(io, stream, self.detach, self.opts.stdin));
            }
            Err(e) => tracing::warn!(container_id = %self.id, error = %e, "attach to shim"),
        }
    }

    /// Closes a waiting client (the container was removed).
    pub(crate) fn close(self) {
        let mut rx = self.io;
        tokio::spawn(async move {
            if let Ok(mut io) = rx.try_recv() {
                let _ = io.shutdown().await;
            }
        });
    }
}

/// A validated attach request, ready to run on the upgraded connection.
pub struct AttachSession {
    svc: Arc<ContainerService>,
    id: String,
    tty: bool,
    opts: AttachOptions,
    detach: Vec<u8>,
    /// Set when the container had not started: the connection goes to its `Pending`.
    slot: Option<tokio::sync::oneshot::Sender<Box<dyn Io>>>,
}

impl AttachSession {
    /// Whether the stream is raw (TTY) or multiplexed.
    pub fn tty(&self) -> bool {
        self.tty
    }

    /// Runs the attach on the client connection until either side ends.
    pub async fn run<T>(self, mut io: T)
    where
        T: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        if self.opts.logs {
            let logs = self
                .svc
                .logs(
                    &self.id,
                    LogsOptions {
                        stdout: self.opts.stdout,
                        stderr: self.opts.stderr,
                        ..Default::default()
                    },
                )
                .await;
            if let Ok(logs) = logs {
                use futures_util::StreamExt;
                let mut frames = logs.frames;
                while let Some(f) = frames.next().await {
                    let bytes = if self.tty {
                        f.bytes.to_vec()
                    } else {
                        api_types::stdcopy::frame(f.stream as u8, &f.bytes)
                    };
                    if io.write_all(&bytes).await.is_err() {
                        return;
                    }
                }
            }
        }
        if !self.opts.stream {
            let _ = io.shutdown().await;
            return;
        }
        if let Some(slot) = self.slot {
            if let Err(mut io) = slot.send(Box::new(io)) {
                let _ = io.shutdown().await;
            }
            return;
        }
        let shim = match self.svc.get(&self.id) {
            Ok(c) => c.inner.lock().await.shim.clone(),
            Err(_) => None,
        };
        let Some(shim) = shim else {
            let _ = io.shutdown().await;
            return;
        };
        match shim
            .attach(self.opts.stdin, self.opts.stdout, self.opts.stderr)
            .await
        {
            Ok(stream) => splice(Box::new(io), stream, self.detach, self.opts.stdin).await,
            Err(e) => {
                tracing::warn!(container_id = %self.id, error = %e, "attach to shim");
                let _ = io.shutdown().await;
            }
        }
    }
}

/// Copies shim output to the client and client input (through the detach matcher) to the
/// shim, until the shim closes its side or the client detaches.
async fn splice(
    client: Box<dyn Io>,
    shim_stream: tokio::net::UnixStream,
    detach: Vec<u8>,
    stdin: bool,
) {
    let (mut client_r, mut client_w) = tokio::io::split(client);
    let (mut shim_r, mut shim_w) = shim_stream.into_split();
    let output = async {
        let _ = tokio::io::copy(&mut shim_r, &mut client_w).await;
        let _ = client_w.shutdown().await;
    };
    let input = async {
        if !stdin {
            return std::future::pending::<()>().await;
        }
        let mut buf = vec![0u8; 32 * 1024];
        let mut matched = 0usize;
        loop {
            let n = match client_r.read(&mut buf).await {
                Ok(0) | Err(_) => {
                    // The client closed its stdin: tell the shim (StdinOnce closes the
                    // container's stdin), keep streaming output.
                    let _ = shim_w.shutdown().await;
                    return std::future::pending::<()>().await;
                }
                Ok(n) => n,
            };
            let mut out = Vec::with_capacity(n);
            for &b in &buf[..n] {
                if b == detach[matched] {
                    matched += 1;
                    if matched == detach.len() {
                        return;
                    }
                } else {
                    out.extend_from_slice(&detach[..matched]);
                    matched = 0;
                    if b == detach[0] {
                        matched = 1;
                    } else {
                        out.push(b);
                    }
                }
            }
            if !out.is_empty() && shim_w.write_all(&out).await.is_err() {
                return;
            }
        }
    };
    tokio::select! {
        _ = output => {}
        _ = input => {}
    }
}

impl ContainerService {
    /// Validates an attach request; the returned session runs on the upgraded connection.
    pub async fn attach(self: &Arc<Self>, key: &str, opts: AttachOptions) -> Result<AttachSession> {
        let c = self.get(key)?;
        let view = c.view();
        let detach = match opts.detach_keys.as_deref() {
            Some(k) => parse_detach_keys(k)?,
            None => DEFAULT_DETACH.to_vec(),
        };
        // dockerd ignores stdin for a container created without OpenStdin.
        let opts = AttachOptions {
            stdin: opts.stdin && view.config.open_stdin,
            ..opts
        };
        let mut slot = None;
        if opts.stream {
            let mut inner = c.inner.lock().await;
            if matches!(
                inner.record.state.status(),
                Status::Created | Status::Exited
            ) {
                let (tx, rx) = tokio::sync::oneshot::channel();
                inner.pending_attach.push(Pending {
                    id: c.id.clone(),
                    opts: opts.clone(),
                    detach: detach.clone(),
                    io: rx,
                });
                slot = Some(tx);
            }
        }
        self.publish(&view, "attach");
        Ok(AttachSession {
            svc: self.clone(),
            id: c.id.clone(),
            tty: view.config.tty,
            opts,
            detach,
            slot,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detach_keys() {
        assert_eq!(parse_detach_keys("ctrl-p,ctrl-q").unwrap(), vec![16, 17]);
        assert_eq!(parse_detach_keys("ctrl-a").unwrap(), vec![1]);
        assert_eq!(parse_detach_keys("x,ctrl-@").unwrap(), vec![b'x', 0]);
        assert!(parse_detach_keys("ctrl-").is_err());
        assert!(parse_detach_keys("abc").is_err());
        assert!(parse_detach_keys("").is_err());
    }
}
