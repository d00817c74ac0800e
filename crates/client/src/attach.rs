//! Hijacked attach: `POST /containers/{id}/attach` with `Connection: Upgrade` and
//! `Upgrade: tcp`; after `101 Switching Protocols` the socket carries the container's
//! stdio both ways. With a TTY the bytes are raw; without one the daemon's output is
//! multiplexed (see [`crate::Demux`]). Closing the [`AttachWriter`] half-closes the socket,
//! which the daemon turns into EOF on the container's stdin.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use hyper::Method;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf, ReadHalf, WriteHalf};

use crate::body;
use crate::error::{Error, Result};
use crate::request::{self, Query};
use crate::transport::{self, Conn};
use crate::{build, Client};

/// Which streams to attach, as `docker attach`/`run` ask for them.
#[derive(Debug, Clone, Default)]
pub struct AttachOptions {
    pub stream: bool,
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    /// Replay the log before streaming.
    pub logs: bool,
    /// Key sequence the daemon watches for on stdin (`ctrl-p,ctrl-q`).
    pub detach_keys: Option<String>,
}

/// A hijacked connection, split into its two directions.
pub struct AttachConn {
    pub reader: AttachReader,
    pub writer: AttachWriter,
    /// `application/vnd.docker.raw-stream` or `…multiplexed-stream`, when the daemon says.
    pub content_type: Option<String>,
}

/// The daemon-to-client half of an attach: container output.
pub struct AttachReader {
    /// Bytes read past the `101` head before the hand-over.
    pending: Bytes,
    half: ReadHalf<Conn>,
}

/// The client-to-daemon half of an attach: container input.
pub struct AttachWriter {
    half: WriteHalf<Conn>,
}

impl AttachWriter {
    /// Half-closes the connection: the container's stdin sees EOF, output keeps coming.
    pub async fn close_write(&mut self) -> Result<()> {
        self.half
            .shutdown()
            .await
            .map_err(|source| Error::Io { source })
    }
}

impl AsyncRead for AttachReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.pending.is_empty() {
            let n = self.pending.len().min(buf.remaining());
            buf.put_slice(&self.pending[..n]);
            self.pending.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.half).poll_read(cx, buf)
    }
}

impl AsyncWrite for AttachWriter {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.half).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.half).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.half).poll_shutdown(cx)
    }
}

impl Client {
    /// `POST /containers/{id}/attach`, hijacked. Fails with `unable to upgrade to tcp,
    /// received N` if the daemon answers anything but an error status or `101`.
    pub async fn container_attach(&self, id: &str, opts: &AttachOptions) -> Result<AttachConn> {
        let path = format!("/containers/{id}/attach");
        let q = Query::new()
            .flag("stream", opts.stream)
            .flag("stdin", opts.stdin)
            .flag("stdout", opts.stdout)
            .flag("stderr", opts.stderr)
            .opt("detachKeys", opts.detach_keys.as_deref())
            .flag("logs", opts.logs);
        self.hijack(&path, q).await
    }

    /// `POST /containers/{id}/resize?h=&w=`.
    pub async fn container_resize(&self, id: &str, height: u16, width: u16) -> Result<()> {
        let path = format!("/containers/{id}/resize");
        let q = Query::new()
            .set("h", height.to_string())
            .set("w", width.to_string());
        self.send_discard(Method::POST, &path, q).await
    }

    /// Sends a POST asking to upgrade to `tcp` and returns the split raw connection.
    pub(crate) async fn hijack(&self, path: &str, query: Query) -> Result<AttachConn> {
        self.hijack_with(path, query, body::empty(), "text/plain")
            .await
    }

    /// [`Client::hijack`] with a request body (exec start sends its JSON config).
    pub(crate) async fn hijack_with(
        &self,
        path: &str,
        query: Query,
        body: crate::transport::ReqBody,
        content_type: &str,
    ) -> Result<AttachConn> {
        let version = self.api_version().await?;
        let uri = request::uri(Some(&version), path, &query);
        let headers = [
            ("Content-Type", content_type),
            ("Connection", "Upgrade"),
            ("Upgrade", "tcp"),
        ];
        let req = build(Method::POST, &uri, body, &headers)?;
        match transport::send_upgrade(self.host(), req).await? {
            Ok((conn, pending, content_type)) => {
                let (r, w) = tokio::io::split(conn);
                Ok(AttachConn {
                    reader: AttachReader { pending, half: r },
                    writer: AttachWriter { half: w },
                    content_type,
                })
            }
            Err(resp) => {
                let status = resp.status().as_u16();
                // Error statuses carry the daemon's message (no such container …).
                request::check(resp, &uri).await?;
                Err(Error::Upgrade { status })
            }
        }
    }
}
