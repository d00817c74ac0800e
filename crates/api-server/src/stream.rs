//! Wire formats of streamed bodies: Docker's 8-byte multiplexed frames (`api_types::stdcopy`)
//! as response chunks, and the content types that announce raw or multiplexed streams.

use bytes::Bytes;

/// Content type of a raw (TTY) stream.
pub const RAW_STREAM: &str = "application/vnd.docker.raw-stream";
/// Content type of a multiplexed (non-TTY) stream.
pub const MULTIPLEXED_STREAM: &str = "application/vnd.docker.multiplexed-stream";

/// One frame of a multiplexed stream.
pub fn frame(stream: u8, payload: &[u8]) -> Bytes {
    Bytes::from(api_types::stdcopy::frame(stream, payload))
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
