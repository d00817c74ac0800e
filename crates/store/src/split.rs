//! Unpacking a compressed layer on two threads: one decompresses and hashes (the diff ID),
//! the other creates the files. For a large layer (a distribution's base image: tens of
//! megabytes of gzip, thousands of files) each half takes about as long as the other, so
//! splitting them nearly halves the time the layer takes, which is the time the whole pull
//! waits for.

use std::io::{self, Read};
use std::path::Path;

use oci::compression::{self, Compression};
use oci::layer::{apply, ApplyError, ApplyOptions, ApplyStats};
use oci::{Digest, Digester};

use crate::pipe::pipe;
use crate::store::StoreError;

/// Bytes handed from the decompressor to the unpacker at a time.
const CHUNK: usize = 1 << 20;
/// Chunks in flight between the two threads.
const DEPTH: usize = 4;

/// Why the decompressing half stopped early.
enum Stop {
    /// The unpacker is gone (it failed; its error is the one to report).
    Closed,
    /// Reading or decompressing failed.
    Failed(StoreError),
}

/// Decompresses `reader` (any compression [`compression::decompress`] detects), checks that
/// the tar hashes to `diff_id` and applies it to `dir`; returns what unpacking did and the
/// input's compression. The tar is read to its very end (what follows the end-of-archive
/// marker is part of the diff ID too). On failure `dir` may hold part of the layer; the
/// caller discards it.
pub(crate) fn unpack_verified<R: Read + Send>(
    reader: R,
    dir: &Path,
    diff_id: &Digest,
    opts: &ApplyOptions,
) -> Result<(ApplyStats, Compression), StoreError> {
    let (mut tx, rx) = pipe(DEPTH);
    let algo = diff_id.algorithm();
    std::thread::scope(|s| {
        let producer = s.spawn(move || -> Result<(Digest, Compression), Stop> {
            let (format, mut dec) =
                compression::decompress(reader).map_err(|e| Stop::Failed(StoreError::from(e)))?;
            let mut d = Digester::new(algo);
            loop {
                let chunk = read_chunk(&mut dec).map_err(|source| {
                    Stop::Failed(StoreError::Apply(ApplyError::Read { source }))
                })?;
                if chunk.is_empty() {
                    break;
                }
                d.update(&chunk);
                tx.send(chunk).map_err(|_| Stop::Closed)?;
            }
            tx.finish().map_err(|_| Stop::Closed)?;
            Ok((d.finish(), format))
        });
        // `apply` owns the reading half: when it fails it drops it, which stops the producer.
        let applied = apply(rx, dir, opts);
        let produced = producer.join().unwrap_or_else(|_| {
            Err(Stop::Failed(StoreError::Thread {
                what: "decompressing layer",
                source: io::Error::other("decompressor thread panicked"),
            }))
        });
        match (produced, applied) {
            // A failed read (a cut download, corrupt gzip) is the cause of whatever the
            // unpacker then saw (a truncated tar).
            (Err(Stop::Failed(e)), _) => Err(e),
            (_, Err(e)) => Err(e.into()),
            (Err(Stop::Closed), Ok(_)) => Err(StoreError::Thread {
                what: "decompressing layer",
                source: io::Error::new(io::ErrorKind::BrokenPipe, "unpacker stopped reading"),
            }),
            (Ok((actual, format)), Ok(stats)) if actual == *diff_id => Ok((stats, format)),
            (Ok((actual, _)), Ok(_)) => Err(StoreError::DiffIdMismatch {
                expected: diff_id.clone(),
                actual,
            }),
        }
    })
}

/// Reads up to [`CHUNK`] bytes (fewer only at the end of the stream).
fn read_chunk<R: Read>(r: &mut R) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; CHUNK];
    let mut n = 0;
    while n < CHUNK {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(n);
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use std::io::Write;

    fn layer() -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for i in 0..50 {
            let data = vec![b'a' + (i % 26) as u8; 100_000 + i as usize];
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, format!("d/f{i}"), &data[..]).unwrap();
        }
        b.into_inner().unwrap()
    }

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn opts() -> ApplyOptions {
        ApplyOptions {
            same_owner: false,
            ..Default::default()
        }
    }

    #[test]
    fn unpacks_and_verifies_the_diff_id() {
        let tar = layer();
        let dir = tempfile::tempdir().unwrap();
        let (stats, _) =
            unpack_verified(&gz(&tar)[..], dir.path(), &Digest::sha256_of(&tar), &opts()).unwrap();
        assert_eq!(stats.files, 50);
        let f = std::fs::read(dir.path().join("d/f49")).unwrap();
        assert_eq!(f.len(), 100_049);
    }

    #[test]
    fn trailing_bytes_after_the_tar_count_toward_the_diff_id() {
        let mut tar = layer();
        tar.extend_from_slice(&[0u8; 4096]);
        let dir = tempfile::tempdir().unwrap();
        let wrong = Digest::sha256_of(&tar[..tar.len() - 4096]);
        let e = unpack_verified(&gz(&tar)[..], dir.path(), &wrong, &opts()).unwrap_err();
        assert!(matches!(e, StoreError::DiffIdMismatch { .. }), "{e}");
        let dir = tempfile::tempdir().unwrap();
        unpack_verified(&gz(&tar)[..], dir.path(), &Digest::sha256_of(&tar), &opts()).unwrap();
    }

    /// A reader that fails after `ok` bytes, like a download that was cut.
    struct Cut<'a> {
        data: &'a [u8],
        ok: usize,
    }

    impl Read for Cut<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.ok == 0 {
                return Err(io::Error::other("connection reset"));
            }
            let n = buf.len().min(self.ok).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            self.ok -= n;
            Ok(n)
        }
    }

    #[test]
    fn a_failing_reader_is_reported_not_the_truncated_tar() {
        let tar = layer();
        let z = gz(&tar);
        let dir = tempfile::tempdir().unwrap();
        let r = Cut {
            data: &z,
            ok: z.len() / 2,
        };
        let e = unpack_verified(r, dir.path(), &Digest::sha256_of(&tar), &opts()).unwrap_err();
        assert!(e.to_string().contains("connection reset"), "{e}");
    }

    #[test]
    fn a_bad_tar_stops_the_decompressor() {
        // Far more than the pipe holds, so the producer must notice the unpacker is gone.
        let mut junk = vec![0xffu8; 16 << 20];
        junk[..5].copy_from_slice(b"hello");
        let dir = tempfile::tempdir().unwrap();
        let e =
            unpack_verified(&junk[..], dir.path(), &Digest::sha256_of(b""), &opts()).unwrap_err();
        assert!(matches!(e, StoreError::Apply(_)), "{e}");
    }
}
