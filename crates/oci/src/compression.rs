//! Layer and archive compression: detection from magic bytes and decompressing readers for
//! plain tar, gzip (flate2 on zlib-rs), zstd, xz (xz2, liblzma) and bzip2 (the pure-Rust
//! libbz2) — what moby's `DecompressStream` accepts for `docker load` and `docker import`.

use std::fmt;
use std::io::{self, Cursor, Read};

use crate::ErrorKind;

/// A compression format of a layer or an imported tarball.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    /// Uncompressed.
    None,
    /// gzip (RFC 1952), possibly several members.
    Gzip,
    /// Zstandard.
    Zstd,
    /// xz (LZMA2). Accepted by `docker import`/`load`; never produced.
    Xz,
    /// bzip2. Accepted by `docker import`/`load`; never produced.
    Bzip2,
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Compression::None => "uncompressed",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::Xz => "xz",
            Compression::Bzip2 => "bzip2",
        })
    }
}

/// Why a stream cannot be decompressed.
#[derive(Debug, thiserror::Error)]
pub enum CompressionError {
    /// Reading the first bytes failed.
    #[error("reading the stream header: {source}")]
    Read {
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The decoder could not be set up.
    #[error("initialising the {format} decoder: {source}")]
    Decoder {
        /// The format.
        format: Compression,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
}

impl CompressionError {
    /// Always `Internal`: every format detected can be decoded.
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::Internal
    }
}

const MAGIC_LEN: usize = 6;

/// The compression `head` (the first bytes of a stream) starts with. Anything unrecognised is
/// [`Compression::None`].
pub fn detect(head: &[u8]) -> Compression {
    if head.starts_with(&[0x1f, 0x8b]) {
        Compression::Gzip
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Compression::Zstd
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
        Compression::Xz
    } else if head.starts_with(b"BZh") {
        Compression::Bzip2
    } else {
        Compression::None
    }
}

/// A boxed decompressing reader.
pub type DecompressReader<'a> = Box<dyn Read + Send + 'a>;

/// Reads the first bytes of `r`, detects the compression and returns a reader of the
/// decompressed bytes (the peeked bytes are replayed, nothing is lost).
pub fn decompress<'a, R: Read + Send + 'a>(
    mut r: R,
) -> Result<(Compression, DecompressReader<'a>), CompressionError> {
    let (format, head) = peek(&mut r)?;
    let whole = head.chain(r);
    Ok((format, decoder(format, whole)?))
}

/// Reads up to the magic's length from `r` and detects the compression; the bytes read come
/// back to be replayed in front of the rest (`head.chain(r)`).
pub fn peek<R: Read>(r: &mut R) -> Result<(Compression, Cursor<Vec<u8>>), CompressionError> {
    let mut head = [0u8; MAGIC_LEN];
    let mut n = 0;
    while n < MAGIC_LEN {
        match r.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(source) => return Err(CompressionError::Read { source }),
        }
    }
    Ok((detect(&head[..n]), Cursor::new(head[..n].to_vec())))
}

/// A reader that decodes `format` from `r` (no detection).
pub fn decoder<'a, R: Read + Send + 'a>(
    format: Compression,
    r: R,
) -> Result<DecompressReader<'a>, CompressionError> {
    Ok(match format {
        Compression::None => Box::new(r),
        // Multi-member: `pigz` and some registries concatenate gzip members.
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(
            io::BufReader::with_capacity(256 * 1024, r),
        )),
        Compression::Zstd => Box::new(
            zstd::stream::read::Decoder::new(r)
                .map_err(|source| CompressionError::Decoder { format, source })?,
        ),
        Compression::Xz => Box::new(xz2::read::XzDecoder::new_multi_decoder(r)),
        Compression::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(r)),
    })
}

/// A decompressing reader over any `R`, including readers that cannot move between threads
/// (a `tar::Entry` of an archive being read): [`decompress`] without the boxing and the
/// `Send` bound.
pub enum Decoder<R: Read> {
    /// Uncompressed: passed through.
    Plain(R),
    /// gzip, multi-member.
    Gzip(flate2::read::MultiGzDecoder<io::BufReader<R>>),
    /// Zstandard.
    Zstd(zstd::stream::read::Decoder<'static, io::BufReader<R>>),
    /// xz.
    Xz(xz2::read::XzDecoder<R>),
    /// bzip2, multi-stream (`pbzip2`).
    Bzip2(bzip2::read::MultiBzDecoder<R>),
}

impl<R: Read> Read for Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoder::Plain(r) => r.read(buf),
            Decoder::Gzip(r) => r.read(buf),
            Decoder::Zstd(r) => r.read(buf),
            Decoder::Xz(r) => r.read(buf),
            Decoder::Bzip2(r) => r.read(buf),
        }
    }
}

/// [`decompress`] for readers that are not `Send`: detects the format from the first bytes
/// and returns a [`Decoder`] that replays them.
#[allow(clippy::type_complexity)]
pub fn decompress_local<R: Read>(
    mut r: R,
) -> Result<(Compression, Decoder<io::Chain<Cursor<Vec<u8>>, R>>), CompressionError> {
    let (format, head) = peek(&mut r)?;
    let whole = head.chain(r);
    let d = match format {
        Compression::None => Decoder::Plain(whole),
        Compression::Gzip => Decoder::Gzip(flate2::read::MultiGzDecoder::new(
            io::BufReader::with_capacity(256 * 1024, whole),
        )),
        Compression::Zstd => Decoder::Zstd(
            zstd::stream::read::Decoder::new(whole)
                .map_err(|source| CompressionError::Decoder { format, source })?,
        ),
        Compression::Xz => Decoder::Xz(xz2::read::XzDecoder::new_multi_decoder(whole)),
        Compression::Bzip2 => Decoder::Bzip2(bzip2::read::MultiBzDecoder::new(whole)),
    };
    Ok((format, d))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn payload() -> Vec<u8> {
        (0..200_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect()
    }

    fn roundtrip(compressed: Vec<u8>, want: Compression) {
        let (format, mut r) = decompress(&compressed[..]).unwrap();
        assert_eq!(format, want);
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert_eq!(out, payload());
    }

    #[test]
    fn plain_passes_through() {
        roundtrip(payload(), Compression::None);
    }

    #[test]
    fn gzip_including_multi_member() {
        let data = payload();
        let (a, b) = data.split_at(1000);
        let mut out = Vec::new();
        for part in [a, b] {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            enc.write_all(part).unwrap();
            out.extend(enc.finish().unwrap());
        }
        roundtrip(out, Compression::Gzip);
    }

    #[test]
    fn zstd_and_xz() {
        roundtrip(
            zstd::encode_all(&payload()[..], 3).unwrap(),
            Compression::Zstd,
        );
        let mut enc = xz2::write::XzEncoder::new(Vec::new(), 1);
        enc.write_all(&payload()).unwrap();
        roundtrip(enc.finish().unwrap(), Compression::Xz);
    }

    #[test]
    fn the_local_decoder_reads_every_format() {
        let data = payload();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&data).unwrap();
        let mut xz = xz2::write::XzEncoder::new(Vec::new(), 1);
        xz.write_all(&data).unwrap();
        for (blob, want) in [
            (data.clone(), Compression::None),
            (gz.finish().unwrap(), Compression::Gzip),
            (zstd::encode_all(&data[..], 3).unwrap(), Compression::Zstd),
            (xz.finish().unwrap(), Compression::Xz),
        ] {
            // A reader that is not Send.
            let r = std::rc::Rc::new(blob);
            let (f, mut d) = decompress_local(&r[..]).unwrap();
            assert_eq!(f, want);
            let mut out = Vec::new();
            d.read_to_end(&mut out).unwrap();
            assert_eq!(out, data);
        }
    }

    #[test]
    fn short_and_empty_streams() {
        let (f, mut r) = decompress(&b"ab"[..]).unwrap();
        assert_eq!(f, Compression::None);
        let mut s = String::new();
        r.read_to_string(&mut s).unwrap();
        assert_eq!(s, "ab");
        assert_eq!(decompress(&b""[..]).unwrap().0, Compression::None);
    }

    #[test]
    fn bzip2_including_multi_stream() {
        let data = payload();
        let (a, b) = data.split_at(1000);
        let mut out = Vec::new();
        for part in [a, b] {
            let mut enc = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
            enc.write_all(part).unwrap();
            out.extend(enc.finish().unwrap());
        }
        roundtrip(out.clone(), Compression::Bzip2);
        let r = std::rc::Rc::new(out);
        let (f, mut d) = decompress_local(&r[..]).unwrap();
        assert_eq!(f, Compression::Bzip2);
        let mut got = Vec::new();
        d.read_to_end(&mut got).unwrap();
        assert_eq!(got, data);
    }

    #[test]
    fn corrupt_bzip2_fails_on_read() {
        let (f, mut r) = decompress(&b"BZh91AY&SY"[..]).unwrap();
        assert_eq!(f, Compression::Bzip2);
        assert!(r.read_to_end(&mut Vec::new()).is_err());
    }

    #[test]
    fn corrupt_gzip_fails_on_read() {
        let (_, mut r) = decompress(&[0x1f, 0x8b, 0, 0, 0, 0, 1, 2, 3][..]).unwrap();
        assert!(r.read_to_end(&mut Vec::new()).is_err());
    }
}
