//! `GET /containers/{id}/attach/ws`: attach over a websocket (what web UIs use). The query is
//! attach's (`stdin`, `stdout`, `stderr`, `stream`, `logs`, `detachKeys`); the container's
//! output arrives as messages of raw bytes — never multiplexed, as dockerd sends it — binary
//! from API 1.28 (text before), and every message the client sends is written to the
//! container's stdin; the client closing the socket ends its stdin.
//!
//! The engine's attach session runs unchanged on one end of an in-memory pipe; this module
//! pumps between the pipe and the websocket, unwrapping the frames of a non-TTY stream.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::backend::ContainerBackend;
use crate::error::{ApiError, ApiResult};
use crate::version::RequestedVersion;
use api_types::version::ApiVersion;

use super::containers::attach_options;

/// `GET /containers/{id}/attach/ws`.
pub async fn attach_ws<B: ContainerBackend>(
    State(svc): State<Arc<B>>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    version: Option<axum::Extension<RequestedVersion>>,
    mut req: Request,
) -> ApiResult<Response> {
    let h = req.headers();
    let upgrade = h
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    let key = h.get("sec-websocket-key").cloned();
    let (true, Some(key)) = (upgrade, key) else {
        return Err(ApiError::bad_request(
            "attach/ws: not a websocket request (Upgrade: websocket and Sec-WebSocket-Key are required)",
        ));
    };
    let session = svc.attach(&id, attach_options(q.as_deref())?).await?;
    let tty = session.tty();
    let binary = version
        .as_deref()
        .is_none_or(|v| v.0 >= ApiVersion::parse("1.28").expect("constant"));
    let on_upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        let upgraded = match on_upgrade.await {
            Ok(u) => u,
            Err(e) => {
                tracing::debug!(error = %e, "websocket client went away before the upgrade");
                return;
            }
        };
        let ws = WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
        let (ours, theirs) = tokio::io::duplex(64 * 1024);
        tokio::spawn(session.run(theirs));
        pump(ws, ours, tty, binary).await;
    });
    let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let hs = resp.headers_mut();
    hs.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    hs.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    hs.insert(
        "sec-websocket-accept",
        HeaderValue::from_str(&accept).map_err(|e| ApiError::bad_request(e.to_string()))?,
    );
    Ok(resp)
}

/// Moves bytes between the websocket and the attach session until either side ends.
async fn pump<S>(ws: WebSocketStream<S>, pipe: tokio::io::DuplexStream, tty: bool, binary: bool)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let (mut ws_tx, mut ws_rx) = ws.split();
    let (mut pipe_r, mut pipe_w) = tokio::io::split(pipe);
    let output = async {
        let mut demux = api_types::stdcopy::Demuxer::default();
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            let n = match pipe_r.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let data = if tty {
                buf[..n].to_vec()
            } else {
                let mut out = Vec::with_capacity(n);
                demux.feed(&buf[..n], |_, p| out.extend_from_slice(p));
                out
            };
            if data.is_empty() {
                continue;
            }
            let msg = if binary {
                Message::binary(data)
            } else {
                Message::text(String::from_utf8_lossy(&data).into_owned())
            };
            if ws_tx.send(msg).await.is_err() {
                return;
            }
        }
        let _ = ws_tx.send(Message::Close(None)).await;
    };
    let input = async {
        while let Some(Ok(msg)) = ws_rx.next().await {
            let data = match msg {
                Message::Binary(b) => b.to_vec(),
                Message::Text(t) => t.as_bytes().to_vec(),
                Message::Close(_) => break,
                _ => continue,
            };
            if pipe_w.write_all(&data).await.is_err() {
                break;
            }
        }
        // The client is done sending: the container's stdin ends (StdinOnce closes it).
        let _ = pipe_w.shutdown().await;
        std::future::pending::<()>().await
    };
    tokio::select! {
        _ = output => {}
        _ = input => {}
    }
}
