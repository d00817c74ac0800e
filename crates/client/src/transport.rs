//! One HTTP/1.1 connection per request over a unix socket or TCP, driven by hyper's low-level
//! client. Dialing a local socket costs microseconds, so a pool would buy nothing here and
//! would complicate hijacked (upgraded) connections.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpStream, UnixStream};

use crate::error::{Error, Result};
use crate::host::Host;

/// The body of every request the client sends.
pub type ReqBody = BoxBody<Bytes, io::Error>;

/// A connected byte stream to the daemon.
#[derive(Debug)]
pub enum Conn {
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl Conn {
    /// Dials the host.
    pub async fn connect(host: &Host) -> Result<Conn> {
        let res = match host {
            Host::Unix(path) => UnixStream::connect(path).await.map(Conn::Unix),
            Host::Tcp(addr) => TcpStream::connect(addr.as_str()).await.map(|s| {
                // Hijacked streams can be idle for long; without NODELAY small
                // keystrokes wait for Nagle.
                let _ = s.set_nodelay(true);
                Conn::Tcp(s)
            }),
        };
        res.map_err(|source| Error::Connect {
            host: host.to_string(),
            source,
        })
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Unix(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Tcp(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Unix(s) => Pin::new(s).poll_write(cx, buf),
            Conn::Tcp(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Unix(s) => Pin::new(s).poll_flush(cx),
            Conn::Tcp(s) => Pin::new(s).poll_flush(cx),
        }
    }

    /// Shuts down the write side only: the daemon reads EOF on the container's stdin while
    /// output keeps flowing back.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Unix(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Tcp(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

/// Sends one request on a fresh connection and returns the response head with its streaming
/// body. The connection task lives until the body is dropped or finished.
pub async fn send(host: &Host, req: Request<ReqBody>) -> Result<Response<Incoming>> {
    let method = method_name(req.method());
    let path = req.uri().to_string();
    let conn = Conn::connect(host).await?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(conn))
        .await
        .map_err(|source| Error::Http {
            method,
            path: path.clone(),
            source,
        })?;
    tokio::spawn(async move {
        // Errors surface on the response future or the body; nothing to add here.
        let _ = connection.await;
    });
    sender
        .send_request(req)
        .await
        .map_err(|source| Error::Http {
            method,
            path,
            source,
        })
}

/// Sends a request that asks to switch protocols and, on `101`, returns the raw connection
/// plus any bytes hyper had already read past the response head.
pub async fn send_upgrade(
    host: &Host,
    req: Request<ReqBody>,
) -> Result<std::result::Result<(Conn, Bytes, Option<String>), Response<Incoming>>> {
    let method = method_name(req.method());
    let path = req.uri().to_string();
    let http_err = |source| Error::Http {
        method,
        path: path.clone(),
        source,
    };
    let conn = Conn::connect(host).await?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(conn))
        .await
        .map_err(http_err)?;
    tokio::spawn(async move {
        let _ = connection.with_upgrades().await;
    });
    let resp = sender.send_request(req).await.map_err(http_err)?;
    if resp.status() != hyper::StatusCode::SWITCHING_PROTOCOLS {
        return Ok(Err(resp));
    }
    let content_type = resp
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let upgraded = hyper::upgrade::on(resp).await.map_err(http_err)?;
    let parts = upgraded
        .downcast::<TokioIo<Conn>>()
        .map_err(|_| Error::Io {
            source: io::Error::other("upgraded connection is not the one we dialed"),
        })?;
    Ok(Ok((parts.io.into_inner(), parts.read_buf, content_type)))
}

fn method_name(m: &http::Method) -> &'static str {
    match *m {
        http::Method::GET => "GET",
        http::Method::POST => "POST",
        http::Method::DELETE => "DELETE",
        http::Method::HEAD => "HEAD",
        http::Method::PUT => "PUT",
        _ => "REQUEST",
    }
}
