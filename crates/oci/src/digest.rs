//! Content digests: `algorithm:hex`, as the OCI image spec defines them (`sha256` and `sha512`),
//! plus hashing adapters that digest and count the bytes passing through a `Read` or `Write`.

use std::fmt;
use std::io::{self, Read, Write};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256, Sha512};

use crate::ErrorKind;

/// A digest algorithm berth can compute and verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    /// `sha256`: 64 lowercase hex characters. Image IDs, chain IDs and blob digests use it.
    Sha256,
    /// `sha512`: 128 lowercase hex characters.
    Sha512,
}

impl Algorithm {
    /// The name used before the `:` (`sha256`).
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }

    /// Length of the hex-encoded value.
    pub fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Sha512 => 128,
        }
    }

    /// A fresh hasher for this algorithm.
    pub fn digester(self) -> Digester {
        Digester::new(self)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a string is not a valid digest. The messages start with go-digest's wording
/// (`invalid checksum digest format` …) so users see what Docker would print.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    /// No `:` separator, empty parts, or characters outside the grammar.
    #[error("invalid checksum digest format: {input:?}")]
    InvalidFormat {
        /// The rejected input.
        input: String,
    },
    /// The algorithm is well formed but not one berth supports.
    #[error("unsupported digest algorithm: {algorithm:?} in {input:?}")]
    Unsupported {
        /// The algorithm part.
        algorithm: String,
        /// The rejected input.
        input: String,
    },
    /// The hex part has the wrong length or is not lowercase hex.
    #[error("invalid checksum digest length: {input:?} (want {want} lowercase hex characters after {algorithm}:)")]
    InvalidLength {
        /// The algorithm named.
        algorithm: Algorithm,
        /// Expected hex length.
        want: usize,
        /// The rejected input.
        input: String,
    },
}

impl DigestError {
    /// Always [`ErrorKind::InvalidArgument`]: a bad digest is bad input.
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::InvalidArgument
    }
}

/// A validated digest such as `sha256:6c3c62…`. Displays, parses and serialises as that string.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    // Kept as the full string so `as_str` and ordering are free; `algo` caches the prefix.
    text: String,
    algo: Algorithm,
}

impl Digest {
    /// Parses and validates `algo:hex` (lowercase hex of the algorithm's exact length).
    pub fn parse(s: &str) -> Result<Digest, DigestError> {
        let invalid = || DigestError::InvalidFormat {
            input: s.to_string(),
        };
        let (alg, hex) = s.split_once(':').ok_or_else(invalid)?;
        if alg.is_empty() || hex.is_empty() || !valid_algorithm_syntax(alg) {
            return Err(invalid());
        }
        let algo = match alg {
            "sha256" => Algorithm::Sha256,
            "sha512" => Algorithm::Sha512,
            _ => {
                return Err(DigestError::Unsupported {
                    algorithm: alg.to_string(),
                    input: s.to_string(),
                })
            }
        };
        if hex.len() != algo.hex_len() || !is_lower_hex(hex) {
            return Err(DigestError::InvalidLength {
                algorithm: algo,
                want: algo.hex_len(),
                input: s.to_string(),
            });
        }
        Ok(Digest {
            text: s.to_string(),
            algo,
        })
    }

    /// Builds a digest from an algorithm and its lowercase hex value, validating the hex.
    pub fn from_hex(algo: Algorithm, hex: &str) -> Result<Digest, DigestError> {
        Digest::parse(&format!("{}:{hex}", algo.as_str()))
    }

    /// `sha256` of `data`.
    pub fn sha256_of(data: &[u8]) -> Digest {
        let mut d = Digester::new(Algorithm::Sha256);
        d.update(data);
        d.finish()
    }

    /// The digest of `data` with the given algorithm.
    pub fn compute(algo: Algorithm, data: &[u8]) -> Digest {
        let mut d = Digester::new(algo);
        d.update(data);
        d.finish()
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algo
    }

    /// The hex value after the `:` (what goes in `blobs/sha256/<hex>`).
    pub fn hex(&self) -> &str {
        &self.text[self.algo.as_str().len() + 1..]
    }

    /// The whole `algo:hex` string.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The first 12 hex characters: Docker's short image/layer ID.
    pub fn short_hex(&self) -> &str {
        &self.hex()[..12]
    }
}

fn valid_algorithm_syntax(alg: &str) -> bool {
    // go-digest: [a-z0-9]+(?:[.+_-][a-z0-9]+)*
    alg.split(['.', '+', '_', '-']).all(|c| {
        !c.is_empty()
            && c.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

/// True when `s` is non-empty and only `[0-9a-f]`.
pub(crate) fn is_lower_hex(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.text)
    }
}

impl FromStr for Digest {
    type Err = DigestError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Digest::parse(s)
    }
}

impl AsRef<str> for Digest {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Digest::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// An incremental hasher producing a [`Digest`].
#[derive(Clone)]
pub struct Digester {
    inner: Hasher,
    bytes: u64,
}

#[derive(Clone)]
enum Hasher {
    Sha256(Sha256),
    Sha512(Sha512),
}

impl Digester {
    /// A hasher for `algo`.
    pub fn new(algo: Algorithm) -> Digester {
        let inner = match algo {
            Algorithm::Sha256 => Hasher::Sha256(Sha256::new()),
            Algorithm::Sha512 => Hasher::Sha512(Sha512::new()),
        };
        Digester { inner, bytes: 0 }
    }

    /// Feeds `data`.
    pub fn update(&mut self, data: &[u8]) {
        self.bytes += data.len() as u64;
        match &mut self.inner {
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
        }
    }

    /// Bytes fed so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The digest of everything fed so far (the hasher itself is left untouched).
    pub fn digest(&self) -> Digest {
        self.clone().finish()
    }

    /// Consumes the hasher and returns the digest.
    pub fn finish(self) -> Digest {
        let (algo, hex) = match self.inner {
            Hasher::Sha256(h) => (Algorithm::Sha256, hex::encode(h.finalize())),
            Hasher::Sha512(h) => (Algorithm::Sha512, hex::encode(h.finalize())),
        };
        Digest {
            text: format!("{}:{hex}", algo.as_str()),
            algo,
        }
    }
}

/// A `Read` adapter that hashes and counts every byte read through it.
pub struct HashingReader<R> {
    inner: R,
    digester: Digester,
}

impl<R: Read> HashingReader<R> {
    /// Wraps `inner`, hashing with `algo`.
    pub fn new(inner: R, algo: Algorithm) -> Self {
        HashingReader {
            inner,
            digester: Digester::new(algo),
        }
    }

    /// Bytes read so far.
    pub fn bytes(&self) -> u64 {
        self.digester.bytes()
    }

    /// Digest of the bytes read so far.
    pub fn digest(&self) -> Digest {
        self.digester.digest()
    }

    /// Returns the inner reader, the digest and the byte count.
    pub fn finish(self) -> (R, Digest, u64) {
        let n = self.digester.bytes();
        (self.inner, self.digester.finish(), n)
    }

    /// The wrapped reader.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.digester.update(&buf[..n]);
        Ok(n)
    }
}

/// A `Write` adapter that hashes and counts every byte written through it.
pub struct HashingWriter<W> {
    inner: W,
    digester: Digester,
}

impl<W: Write> HashingWriter<W> {
    /// Wraps `inner`, hashing with `algo`.
    pub fn new(inner: W, algo: Algorithm) -> Self {
        HashingWriter {
            inner,
            digester: Digester::new(algo),
        }
    }

    /// Wraps `inner`, continuing from an existing hasher state (used to resume an ingest).
    pub fn with_digester(inner: W, digester: Digester) -> Self {
        HashingWriter { inner, digester }
    }

    /// Bytes written so far.
    pub fn bytes(&self) -> u64 {
        self.digester.bytes()
    }

    /// Digest of the bytes written so far.
    pub fn digest(&self) -> Digest {
        self.digester.digest()
    }

    /// The wrapped writer.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// The wrapped writer.
    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    /// Returns the inner writer, the digest and the byte count.
    pub fn finish(self) -> (W, Digest, u64) {
        let n = self.digester.bytes();
        (self.inner, self.digester.finish(), n)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.digester.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn sha256_of_empty_is_the_well_known_value() {
        assert_eq!(Digest::sha256_of(b"").as_str(), EMPTY);
    }

    #[test]
    fn sha512_of_abc() {
        let d = Digest::compute(Algorithm::Sha512, b"abc");
        assert!(d.hex().starts_with("ddaf35a193617aba"));
        assert_eq!(d.hex().len(), 128);
        assert_eq!(Digest::parse(d.as_str()).unwrap(), d);
    }

    #[test]
    fn parse_round_trips_and_splits() {
        let d = Digest::parse(EMPTY).unwrap();
        assert_eq!(d.algorithm(), Algorithm::Sha256);
        assert_eq!(d.hex(), &EMPTY[7..]);
        assert_eq!(d.to_string(), EMPTY);
        assert_eq!(d.short_hex(), "e3b0c44298fc");
    }

    #[test]
    fn parse_rejects_bad_input_with_clear_errors() {
        let e = Digest::parse("sha256").unwrap_err();
        assert!(
            e.to_string().starts_with("invalid checksum digest format"),
            "{e}"
        );
        let e = Digest::parse("md5:abcd").unwrap_err();
        assert!(
            e.to_string().starts_with("unsupported digest algorithm"),
            "{e}"
        );
        let e = Digest::parse("sha256:abcd").unwrap_err();
        assert!(
            e.to_string().starts_with("invalid checksum digest length"),
            "{e}"
        );
        let upper = EMPTY.to_uppercase().replace("SHA256", "sha256");
        assert!(matches!(
            Digest::parse(&upper),
            Err(DigestError::InvalidLength { .. })
        ));
        assert!(matches!(
            Digest::parse(":abc"),
            Err(DigestError::InvalidFormat { .. })
        ));
        assert!(matches!(
            Digest::parse("SHA256:abc"),
            Err(DigestError::InvalidFormat { .. })
        ));
        assert_eq!(
            Digest::parse("x:y").unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
    }

    #[test]
    fn serde_is_a_plain_string_and_validates() {
        let d = Digest::parse(EMPTY).unwrap();
        let j = serde_json::to_string(&d).unwrap();
        assert_eq!(j, format!("\"{EMPTY}\""));
        assert_eq!(serde_json::from_str::<Digest>(&j).unwrap(), d);
        assert!(serde_json::from_str::<Digest>("\"sha256:zz\"").is_err());
    }

    #[test]
    fn hashing_adapters_count_and_hash() {
        let data = vec![7u8; 100_000];
        let mut r = HashingReader::new(&data[..], Algorithm::Sha256);
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        let (_, d, n) = r.finish();
        assert_eq!(n, 100_000);
        assert_eq!(d, Digest::sha256_of(&data));

        let mut w = HashingWriter::new(Vec::new(), Algorithm::Sha256);
        w.write_all(&data[..10]).unwrap();
        let partial = w.digest();
        w.write_all(&data[10..]).unwrap();
        assert_eq!(partial, Digest::sha256_of(&data[..10]));
        let (buf, d2, n2) = w.finish();
        assert_eq!((buf.len() as u64, d2), (n2, d));
    }
}
