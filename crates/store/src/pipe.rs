//! An in-process pipe of large chunks between two threads: the writer side batches bytes into
//! 1 MiB chunks, the reader side hands them out. Used to run a tar producer and consumer, or a
//! compressor, on separate cores.

use std::io::{self, Read, Write};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

const CHUNK: usize = 1 << 20;

/// Creates a pipe holding at most `depth` chunks in flight.
pub(crate) fn pipe(depth: usize) -> (PipeWriter, PipeReader) {
    let (tx, rx) = sync_channel(depth);
    (
        PipeWriter {
            tx: Some(tx),
            buf: Vec::with_capacity(CHUNK),
        },
        PipeReader {
            rx,
            cur: Vec::new(),
            pos: 0,
        },
    )
}

/// The sending half. Dropping it (or [`PipeWriter::finish`]) ends the stream.
pub(crate) struct PipeWriter {
    tx: Option<SyncSender<Vec<u8>>>,
    buf: Vec<u8>,
}

fn closed() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "reader side of the pipe is gone")
}

impl PipeWriter {
    /// Sends a whole chunk without copying it into the batch buffer.
    pub(crate) fn send(&mut self, chunk: Vec<u8>) -> io::Result<()> {
        self.flush()?;
        let tx = self.tx.as_ref().ok_or_else(closed)?;
        tx.send(chunk).map_err(|_| closed())
    }

    /// Flushes and closes the stream.
    pub(crate) fn finish(mut self) -> io::Result<()> {
        self.flush()?;
        self.tx = None;
        Ok(())
    }
}

impl Write for PipeWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = CHUNK - self.buf.len();
        let n = room.min(data.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == CHUNK {
            self.flush()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        let tx = self.tx.as_ref().ok_or_else(closed)?;
        tx.send(chunk).map_err(|_| closed())
    }
}

impl Drop for PipeWriter {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

/// The receiving half: reads return 0 once the writer is gone and everything was read.
pub(crate) struct PipeReader {
    rx: Receiver<Vec<u8>>,
    cur: Vec<u8>,
    pos: usize,
}

impl Read for PipeReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.cur.len() {
            match self.rx.recv() {
                Ok(c) => {
                    self.cur = c;
                    self.pos = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = out.len().min(self.cur.len() - self.pos);
        out[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl PipeReader {
    /// The next whole chunk, or `None` at the end (skips the copy `read` would make).
    pub(crate) fn next_chunk(&mut self) -> Option<Vec<u8>> {
        if self.pos < self.cur.len() {
            let rest = self.cur.split_off(self.pos);
            self.pos = self.cur.len();
            return Some(rest);
        }
        self.rx.recv().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_bytes_in_order_across_threads() {
        let (mut w, mut r) = pipe(2);
        let data: Vec<u8> = (0..5_000_000u32).map(|i| (i % 253) as u8).collect();
        let d2 = data.clone();
        let h = std::thread::spawn(move || {
            for c in d2.chunks(77_777) {
                w.write_all(c).unwrap();
            }
            w.finish().unwrap();
        });
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        h.join().unwrap();
        assert_eq!(out, data);
    }

    #[test]
    fn writer_sees_a_closed_reader() {
        let (mut w, r) = pipe(1);
        drop(r);
        w.write_all(&vec![0u8; 3 * CHUNK]).unwrap_err();
    }
}
