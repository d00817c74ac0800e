//! Docker's multiplexed stream framing (moby's `stdcopy`), used by attach, exec and logs when
//! there is no TTY: every frame is an 8-byte header `[stream, 0, 0, 0, len as u32 BE]` then
//! `len` bytes. The shim writes frames, the daemon forwards and writes them, the client reads
//! them: all of them with this module.

/// The stream id of stdin.
pub const STDIN: u8 = 0;
/// The stream id of stdout.
pub const STDOUT: u8 = 1;
/// The stream id of stderr.
pub const STDERR: u8 = 2;
/// The stream id of an error the daemon reports inside the stream.
pub const SYSTEMERR: u8 = 3;
/// Length of a frame header.
pub const HEADER_LEN: usize = 8;

/// The header of a frame of `len` bytes on `stream`.
pub fn header(stream: u8, len: usize) -> [u8; HEADER_LEN] {
    let l = (len as u32).to_be_bytes();
    [stream, 0, 0, 0, l[0], l[1], l[2], l[3]]
}

/// The stream id and payload length a header announces.
pub fn parse_header(h: &[u8; HEADER_LEN]) -> (u8, usize) {
    (h[0], u32::from_be_bytes([h[4], h[5], h[6], h[7]]) as usize)
}

/// A whole frame: header and payload.
pub fn frame(stream: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(&header(stream, payload.len()));
    out.extend_from_slice(payload);
    out
}

/// Splits a multiplexed stream into its frames, whatever the boundaries of the reads.
#[derive(Debug, Default)]
pub struct Demuxer {
    buf: Vec<u8>,
}

impl Demuxer {
    /// Feeds bytes read from the stream; calls `f(stream, payload)` for each frame completed.
    pub fn feed(&mut self, data: &[u8], mut f: impl FnMut(u8, &[u8])) {
        self.buf.extend_from_slice(data);
        let mut pos = 0;
        while self.buf.len() - pos >= HEADER_LEN {
            let mut h = [0u8; HEADER_LEN];
            h.copy_from_slice(&self.buf[pos..pos + HEADER_LEN]);
            let (stream, len) = parse_header(&h);
            if self.buf.len() - pos - HEADER_LEN < len {
                break;
            }
            f(stream, &self.buf[pos + HEADER_LEN..pos + HEADER_LEN + len]);
            pos += HEADER_LEN + len;
        }
        self.buf.drain(..pos);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demuxer_reassembles_frames_across_reads() {
        let mut data = frame(STDOUT, b"hello");
        data.extend(frame(STDERR, b"oops"));
        let mut d = Demuxer::default();
        let mut got = Vec::new();
        for chunk in data.chunks(3) {
            d.feed(chunk, |s, p| got.push((s, p.to_vec())));
        }
        assert_eq!(
            got,
            vec![(STDOUT, b"hello".to_vec()), (STDERR, b"oops".to_vec())]
        );
    }

    #[test]
    fn frames_are_dockers() {
        assert_eq!(header(STDERR, 0x0102), [2, 0, 0, 0, 0, 0, 1, 2]);
        assert_eq!(frame(STDOUT, b"hi"), [1, 0, 0, 0, 0, 0, 0, 2, b'h', b'i']);
        assert_eq!(frame(STDERR, b""), [2, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(parse_header(&header(SYSTEMERR, 70_000)), (3, 70_000));
    }
}
