//! Demultiplexing of the Engine API's multiplexed stream (attach and logs without a TTY),
//! framed as `api_types::stdcopy` says. Stream 0 is stdin, 1 stdout, 2 stderr, 3 an error
//! from the daemon.

use api_types::stdcopy;
use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::error::{Error, Result};

/// Which standard stream a frame belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StdStream {
    Stdin,
    Stdout,
    Stderr,
}

/// One demultiplexed frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub stream: StdStream,
    pub data: Bytes,
}

/// Reads frames from a multiplexed stream.
pub struct Demux<R> {
    reader: R,
}

impl<R: AsyncRead + Unpin> Demux<R> {
    /// Wraps a multiplexed stream.
    pub fn new(reader: R) -> Self {
        Demux { reader }
    }

    /// The next frame, `None` at end of stream (a stream cut inside a frame is an error).
    pub async fn next_frame(&mut self) -> Result<Option<Frame>> {
        let mut header = [0u8; stdcopy::HEADER_LEN];
        let mut got = 0;
        while got < header.len() {
            let n = self
                .reader
                .read(&mut header[got..])
                .await
                .map_err(|source| Error::Io { source })?;
            if n == 0 {
                if got == 0 {
                    return Ok(None);
                }
                return Err(Error::Io {
                    source: std::io::ErrorKind::UnexpectedEof.into(),
                });
            }
            got += n;
        }
        let (id, len) = stdcopy::parse_header(&header);
        let mut data = vec![0u8; len];
        self.reader
            .read_exact(&mut data)
            .await
            .map_err(|source| Error::Io { source })?;
        let stream = match id {
            stdcopy::STDIN => StdStream::Stdin,
            stdcopy::STDOUT => StdStream::Stdout,
            stdcopy::STDERR => StdStream::Stderr,
            stdcopy::SYSTEMERR => {
                return Err(Error::DaemonStream {
                    message: String::from_utf8_lossy(&data).into_owned(),
                })
            }
            other => return Err(Error::BadFrame { header: other }),
        };
        Ok(Some(Frame {
            stream,
            data: Bytes::from(data),
        }))
    }

    /// Copies stdout frames to `stdout` and stderr frames to `stderr` until the stream
    /// ends (docker's `StdCopy`). Stdin frames are written to stdout, as docker does.
    pub async fn copy_to<O, E>(mut self, stdout: &mut O, stderr: &mut E) -> Result<u64>
    where
        O: AsyncWrite + Unpin + ?Sized,
        E: AsyncWrite + Unpin + ?Sized,
    {
        let mut total = 0u64;
        while let Some(frame) = self.next_frame().await? {
            let res = match frame.stream {
                StdStream::Stderr => write_flush(stderr, &frame.data).await,
                _ => write_flush(stdout, &frame.data).await,
            };
            res.map_err(|source| Error::Io { source })?;
            total += frame.data.len() as u64;
        }
        Ok(total)
    }
}

async fn write_flush<W: AsyncWrite + Unpin + ?Sized>(w: &mut W, b: &[u8]) -> std::io::Result<()> {
    w.write_all(b).await?;
    w.flush().await
}

/// Encodes one frame (used by tests and by anything that fakes a daemon stream).
pub fn encode_frame(stream: u8, data: &[u8]) -> Vec<u8> {
    stdcopy::frame(stream, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn splits_stdout_and_stderr() {
        let mut wire = encode_frame(1, b"out1\n");
        wire.extend(encode_frame(2, b"err\n"));
        wire.extend(encode_frame(1, b""));
        wire.extend(encode_frame(1, b"out2\n"));
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let n = Demux::new(&wire[..])
            .copy_to(&mut out, &mut err)
            .await
            .unwrap();
        assert_eq!(out, b"out1\nout2\n");
        assert_eq!(err, b"err\n");
        assert_eq!(n, 14);
    }

    #[tokio::test]
    async fn rejects_bad_header_and_truncation() {
        let wire = encode_frame(7, b"x");
        let e = Demux::new(&wire[..]).next_frame().await.unwrap_err();
        assert_eq!(e.to_string(), "Unrecognized input header: 7");
        let wire = encode_frame(1, b"hello");
        let e = Demux::new(&wire[..wire.len() - 2]).next_frame().await;
        assert!(e.is_err());
        let wire = encode_frame(3, b"boom");
        let e = Demux::new(&wire[..]).next_frame().await.unwrap_err();
        assert_eq!(e.to_string(), "error from daemon in stream: boom");
    }
}
