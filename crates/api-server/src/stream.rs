//! Wire formats of streamed bodies: Docker's 8-byte multiplexed frames
//! (`[stream, 0, 0, 0, len as u32 BE]` then `len` bytes; stream 0 stdin, 1 stdout, 2 stderr)
//! and the content types that announce raw or multiplexed streams.

use bytes::{BufMut, Bytes, BytesMut};

/// Content type of a raw (TTY) stream.
pub const RAW_STREAM: &str = "application/vnd.docker.raw-stream";
/// Content type of a multiplexed (non-TTY) stream.
pub const MULTIPLEXED_STREAM: &str = "application/vnd.docker.multiplexed-stream";

/// One frame of a multiplexed stream.
pub fn frame(stream: u8, payload: &[u8]) -> Bytes {
    let mut b = BytesMut::with_capacity(8 + payload.len());
    b.put_u8(stream);
    b.put_bytes(0, 3);
    b.put_u32(payload.len() as u32);
    b.put_slice(payload);
    b.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames() {
        assert_eq!(&frame(1, b"hi")[..], &[1, 0, 0, 0, 0, 0, 0, 2, b'h', b'i']);
        assert_eq!(&frame(2, b"")[..], &[2, 0, 0, 0, 0, 0, 0, 0]);
    }
}
