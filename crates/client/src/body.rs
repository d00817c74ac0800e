//! Request bodies (empty, JSON, streamed from a reader) and response bodies (collected,
//! read as a byte stream, or decoded as a stream of JSON values).

use std::io;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes, BytesMut};
use futures_util::TryStreamExt;
use http_body_util::{BodyExt, Empty, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use serde::de::DeserializeOwned;
use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf};
use tokio_util::io::ReaderStream;

use crate::error::{Error, Result};
use crate::transport::ReqBody;

/// An empty request body.
pub fn empty() -> ReqBody {
    Empty::<Bytes>::new()
        .map_err(|never| match never {})
        .boxed()
}

/// A request body holding `bytes`.
pub fn full(bytes: impl Into<Bytes>) -> ReqBody {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// A request body streamed from `reader` (a tar for import, a context for build).
pub fn from_reader<R: AsyncRead + Send + Sync + 'static>(reader: R) -> ReqBody {
    let stream = ReaderStream::with_capacity(reader, 512 * 1024).map_ok(Frame::data);
    StreamBody::new(stream).boxed()
}

/// Bytes per chunk of [`from_file`].
const FILE_CHUNK: usize = 1 << 20;

/// A request body streamed from a regular file: a thread of its own reads it in 1 MiB chunks
/// straight into the buffers the body sends (no hop through tokio's blocking pool per read, and
/// no copy between buffers). The thread stops when the file ends, a read fails, or the request
/// is dropped.
pub fn from_file(file: std::fs::File) -> ReqBody {
    let (tx, rx) = tokio::sync::mpsc::channel::<io::Result<Bytes>>(4);
    let reader = move || {
        let mut file = file;
        loop {
            let mut chunk = Vec::with_capacity(FILE_CHUNK);
            let item = match io::Read::read_to_end(
                &mut io::Read::take(&mut file, FILE_CHUNK as u64),
                &mut chunk,
            ) {
                Ok(0) => return,
                Ok(_) => Ok(Bytes::from(chunk)),
                Err(e) => Err(e),
            };
            let failed = item.is_err();
            if tx.blocking_send(item).is_err() || failed {
                return;
            }
        }
    };
    let spawned = std::thread::Builder::new()
        .name("upload".into())
        .spawn(reader);
    let first = spawned.err();
    let stream = futures_util::stream::unfold((rx, first), |(mut rx, first)| async move {
        if let Some(e) = first {
            return Some((Err(e), (rx, None)));
        }
        let item = rx.recv().await?;
        Some((item.map(Frame::data), (rx, None)))
    });
    StreamBody::new(stream).boxed()
}

/// What an upload (import, load) sends: any reader, or a file read as [`from_file`] does.
pub struct Upload(pub(crate) ReqBody);

impl Upload {
    /// Streams `reader` (stdin, a pipe).
    pub fn reader<R: AsyncRead + Send + Sync + 'static>(reader: R) -> Upload {
        Upload(from_reader(reader))
    }

    /// Streams a regular file.
    pub fn file(file: std::fs::File) -> Upload {
        Upload(from_file(file))
    }
}

/// Reads a whole response body.
pub async fn collect(body: Incoming) -> Result<Bytes> {
    body.collect()
        .await
        .map(|c| c.to_bytes())
        .map_err(|e| Error::Io {
            source: io::Error::other(e),
        })
}

/// Reads a whole response body and decodes it as JSON.
pub async fn json<T: DeserializeOwned>(body: Incoming, what: &'static str) -> Result<T> {
    let bytes = collect(body).await?;
    serde_json::from_slice(&bytes).map_err(|source| Error::Decode { what, source })
}

type DataStream = futures_util::stream::MapErr<
    http_body_util::BodyDataStream<Incoming>,
    fn(hyper::Error) -> io::Error,
>;

/// A streaming response body as an `AsyncRead` (logs, events, progress).
pub struct BodyReader {
    inner: tokio_util::io::StreamReader<DataStream, Bytes>,
}

impl BodyReader {
    /// Wraps a response body.
    pub fn new(body: Incoming) -> BodyReader {
        let to_io: fn(hyper::Error) -> io::Error = io::Error::other;
        let stream = body.into_data_stream().map_err(to_io);
        BodyReader {
            inner: tokio_util::io::StreamReader::new(stream),
        }
    }
}

impl AsyncRead for BodyReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

/// A stream of JSON values, one after another (`\r\n`-separated in practice, but any
/// whitespace works, as with Go's `json.Decoder`).
pub struct JsonStream<T, R = BodyReader> {
    reader: R,
    buf: BytesMut,
    eof: bool,
    _t: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned, R: AsyncRead + Unpin> JsonStream<T, R> {
    /// Decodes values from `reader`.
    pub fn new(reader: R) -> Self {
        JsonStream {
            reader,
            buf: BytesMut::with_capacity(8 * 1024),
            eof: false,
            _t: PhantomData,
        }
    }

    /// The next value; `None` at a clean end of stream.
    pub async fn next(&mut self) -> Option<Result<T>> {
        loop {
            // Skip whitespace between values so a trailing newline is a clean end.
            let ws = self
                .buf
                .iter()
                .take_while(|b| b.is_ascii_whitespace())
                .count();
            self.buf.advance(ws);
            if !self.buf.is_empty() {
                let mut it = serde_json::Deserializer::from_slice(&self.buf).into_iter::<T>();
                match it.next() {
                    Some(Ok(v)) => {
                        let used = it.byte_offset();
                        self.buf.advance(used);
                        return Some(Ok(v));
                    }
                    Some(Err(e)) if e.is_eof() && !self.eof => {}
                    Some(Err(source)) => {
                        self.buf.clear();
                        self.eof = true;
                        return Some(Err(Error::Decode {
                            what: "stream message",
                            source,
                        }));
                    }
                    None => {}
                }
            } else if self.eof {
                return None;
            }
            if self.eof {
                return None;
            }
            match self.reader.read_buf(&mut self.buf).await {
                Ok(0) => self.eof = true,
                Ok(_) => {}
                Err(source) => {
                    self.eof = true;
                    return Some(Err(Error::Io { source }));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn json_stream_splits_values_across_reads() {
        let data: &[u8] = b"{\"a\":1}\r\n{\"a\":2}\n  {\"a\":3}\r\n";
        // A reader that hands out one byte at a time exercises partial values.
        let (mut tx, rx) = tokio::io::duplex(1);
        tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            tx.write_all(data).await.unwrap();
        });
        let mut s: JsonStream<serde_json::Value, _> = JsonStream::new(rx);
        let mut got = vec![];
        while let Some(v) = s.next().await {
            got.push(v.unwrap()["a"].as_i64().unwrap());
        }
        assert_eq!(got, vec![1, 2, 3]);
    }

    #[tokio::test]
    async fn json_stream_reports_garbage() {
        let data: &[u8] = b"{\"a\":1}\nnot json";
        let mut s: JsonStream<serde_json::Value, _> = JsonStream::new(data);
        assert!(s.next().await.unwrap().is_ok());
        assert!(s.next().await.unwrap().is_err());
        assert!(s.next().await.is_none());
    }

    #[tokio::test]
    async fn json_stream_truncated_value_is_an_error() {
        let data: &[u8] = b"{\"a\":1}\n{\"a\":";
        let mut s: JsonStream<serde_json::Value, _> = JsonStream::new(data);
        assert!(s.next().await.unwrap().is_ok());
        assert!(s.next().await.unwrap().is_err());
    }
}
