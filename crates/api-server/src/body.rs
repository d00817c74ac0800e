//! Request bodies the engine reads as a stream (`import`, `load`).
//!
//! When the engine stops reading early — the tar is bad, the disk is full — the server must
//! still take in what the client is sending: a client that is still writing its body when the
//! connection closes fails with "broken pipe" and never reads the error response. So the body
//! is read by a task of its own, which hands the data to the engine and, once the engine has
//! stopped, drains the rest; the handler awaits [`Drain::finish`] before it answers an error.

use std::io;
use std::time::Duration;

use axum::extract::Request;
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::io::AsyncRead;
use tokio::sync::mpsc;

/// How long an error response waits for the client to finish sending its body.
const DRAIN_LIMIT: Duration = Duration::from_secs(60);

/// The task reading a request body.
pub struct Drain(tokio::task::JoinHandle<()>);

impl Drain {
    /// Waits (bounded) until the client has sent its whole body.
    pub async fn finish(self) {
        let _ = tokio::time::timeout(DRAIN_LIMIT, self.0).await;
    }
}

/// The body of `req` as a reader, and the task behind it.
pub fn reader(req: Request) -> (impl AsyncRead + Send + Unpin + 'static, Drain) {
    let (tx, mut rx) = mpsc::channel::<io::Result<Bytes>>(8);
    let mut body = req.into_body().into_data_stream();
    let task = tokio::spawn(async move {
        let mut wanted = true;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(io::Error::other);
            let failed = chunk.is_err();
            // Once the reader is gone, chunks are dropped: this is the drain.
            if wanted && tx.send(chunk).await.is_err() {
                wanted = false;
            }
            if failed {
                break;
            }
        }
    });
    let stream = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    (tokio_util::io::StreamReader::new(stream), Drain(task))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn an_abandoned_body_is_still_read_to_its_end() {
        let (tx, rx) = mpsc::channel::<Result<Bytes, io::Error>>(1);
        let body =
            axum::body::Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async {
                rx.recv().await.map(|c| (c, rx))
            }));
        let req = Request::new(body);
        let (mut r, drain) = reader(req);
        let sender = tokio::spawn(async move {
            for _ in 0..100 {
                if tx.send(Ok(Bytes::from(vec![7u8; 1024]))).await.is_err() {
                    return false;
                }
            }
            true
        });
        let mut first = [0u8; 10];
        r.read_exact(&mut first).await.unwrap();
        drop(r);
        drain.finish().await;
        assert!(
            sender.await.unwrap(),
            "the client could not send its whole body"
        );
    }
}
