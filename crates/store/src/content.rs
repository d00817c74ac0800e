//! The content store: immutable blobs addressed by digest under `content/blobs/<alg>/<hex>`,
//! written through resumable ingests under `content/ingest/<key>/`.
//!
//! Vocabulary (containerd's): an **ingest** is a partial write identified by a caller-chosen
//! **key** (e.g. the digest being pulled); reopening a writer with the same key continues at
//! its offset. **Commit** checks size and digest, fsyncs, and renames the data into place
//! atomically — a blob is either absent or complete and verified. This module only deals with
//! files; who references a blob (images, leases) is the [`crate::Store`]'s business.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use oci::{Algorithm, Digest, Digester};
use serde::{Deserialize, Serialize};

use crate::ErrorKind;

/// Errors of the content store.
#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    /// No blob with this digest.
    #[error("blob {digest} not found")]
    NotFound {
        /// The digest.
        digest: Digest,
    },
    /// The data written does not have the expected size.
    #[error("blob {key}: size mismatch: expected {expected} bytes, got {actual}")]
    SizeMismatch {
        /// The ingest key.
        key: String,
        /// Expected size.
        expected: u64,
        /// Bytes written.
        actual: u64,
    },
    /// The data written does not have the expected digest.
    #[error("blob {key}: digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch {
        /// The ingest key.
        key: String,
        /// Expected digest.
        expected: Digest,
        /// Digest of the data written.
        actual: Digest,
    },
    /// An ingest key that is empty or too long.
    #[error("invalid ingest key {key:?}")]
    InvalidKey {
        /// The key.
        key: String,
    },
    /// A filesystem operation failed.
    #[error("content store: {op} {path}: {source}")]
    Io {
        /// The operation.
        op: &'static str,
        /// The path.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
}

impl ContentError {
    /// `NotFound`, `InvalidArgument` for mismatches and bad keys, `Internal` for I/O.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ContentError::NotFound { .. } => ErrorKind::NotFound,
            ContentError::SizeMismatch { .. }
            | ContentError::DigestMismatch { .. }
            | ContentError::InvalidKey { .. } => ErrorKind::InvalidArgument,
            ContentError::Io { .. } => ErrorKind::Internal,
        }
    }
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> ContentError + 'a {
    move |source| ContentError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// A stored blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobInfo {
    /// Its digest.
    pub digest: Digest,
    /// Its size in bytes.
    pub size: u64,
}

/// A partial write in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestStatus {
    /// The caller's key.
    pub key: String,
    /// Bytes written so far.
    pub offset: u64,
    /// The total expected, if the writer was told.
    pub expected_size: Option<u64>,
    /// Last write time.
    pub updated: SystemTime,
}

#[derive(Serialize, Deserialize)]
struct IngestMeta {
    key: String,
    expected_size: Option<u64>,
}

/// Files under `content/`.
#[derive(Debug, Clone)]
pub struct ContentStore {
    root: PathBuf,
}

/// Fsyncs a directory so a rename or unlink in it is durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

impl ContentStore {
    /// Opens (creating directories as needed) the content store rooted at `root`
    /// (`<data-root>/content`).
    pub fn open(root: &Path) -> Result<ContentStore, ContentError> {
        for sub in ["blobs/sha256", "blobs/sha512", "ingest"] {
            let p = root.join(sub);
            fs::create_dir_all(&p).map_err(io_err("creating", &p))?;
        }
        Ok(ContentStore {
            root: root.to_path_buf(),
        })
    }

    /// Where the blob `digest` lives (whether or not it exists).
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root
            .join("blobs")
            .join(digest.algorithm().as_str())
            .join(digest.hex())
    }

    /// True when the blob is present.
    pub fn exists(&self, digest: &Digest) -> bool {
        self.blob_path(digest).is_file()
    }

    /// Size of a present blob.
    pub fn info(&self, digest: &Digest) -> Result<BlobInfo, ContentError> {
        match fs::metadata(self.blob_path(digest)) {
            Ok(m) => Ok(BlobInfo {
                digest: digest.clone(),
                size: m.len(),
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(ContentError::NotFound {
                digest: digest.clone(),
            }),
            Err(e) => Err(io_err("inspecting", &self.blob_path(digest))(e)),
        }
    }

    /// Opens a blob for reading.
    pub fn open_blob(&self, digest: &Digest) -> Result<File, ContentError> {
        let p = self.blob_path(digest);
        File::open(&p).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => ContentError::NotFound {
                digest: digest.clone(),
            },
            _ => io_err("opening", &p)(e),
        })
    }

    /// Reads a whole blob (configs and manifests; layers should be streamed).
    pub fn read(&self, digest: &Digest) -> Result<Vec<u8>, ContentError> {
        let mut f = self.open_blob(digest)?;
        let mut out = Vec::new();
        f.read_to_end(&mut out)
            .map_err(io_err("reading", &self.blob_path(digest)))?;
        Ok(out)
    }

    /// Deletes a blob; `Ok(false)` when it was absent.
    pub fn delete(&self, digest: &Digest) -> Result<bool, ContentError> {
        let p = self.blob_path(digest);
        match fs::remove_file(&p) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_err("deleting", &p)(e)),
        }
    }

    /// Every blob present (files whose names are not valid digests are ignored).
    pub fn list(&self) -> Result<Vec<BlobInfo>, ContentError> {
        let mut out = Vec::new();
        for algo in [Algorithm::Sha256, Algorithm::Sha512] {
            let dir = self.root.join("blobs").join(algo.as_str());
            for ent in fs::read_dir(&dir).map_err(io_err("listing", &dir))? {
                let ent = ent.map_err(io_err("listing", &dir))?;
                let name = ent.file_name();
                let Some(digest) = name.to_str().and_then(|h| Digest::from_hex(algo, h).ok())
                else {
                    continue;
                };
                let size = ent
                    .metadata()
                    .map_err(io_err("inspecting", &ent.path()))?
                    .len();
                out.push(BlobInfo { digest, size });
            }
        }
        Ok(out)
    }

    /// Writes `data` as a blob in one go and returns its info (for configs and manifests).
    pub fn put(&self, data: &[u8]) -> Result<BlobInfo, ContentError> {
        let digest = Digest::sha256_of(data);
        if let Ok(info) = self.info(&digest) {
            return Ok(info);
        }
        let mut w = self.writer(&format!("put-{}", digest.hex()), Some(data.len() as u64))?;
        w.truncate()?;
        w.write_all(data)
            .map_err(io_err("writing", &w.data_path()))?;
        w.commit(Some(data.len() as u64), Some(&digest))
    }

    /// [`ContentStore::put`] without `fsync`s (see [`IngestWriter::commit_unsynced`]).
    pub fn put_unsynced(&self, data: &[u8]) -> Result<BlobInfo, ContentError> {
        let digest = Digest::sha256_of(data);
        if let Ok(info) = self.info(&digest) {
            return Ok(info);
        }
        let mut w = self.writer(&format!("put-{}", digest.hex()), Some(data.len() as u64))?;
        w.truncate()?;
        w.write_all(data)
            .map_err(io_err("writing", &w.data_path()))?;
        w.commit_unsynced()
    }

    fn ingest_dir(&self, key: &str) -> PathBuf {
        // Keys may hold `/` and `:`; the directory is named by their hash.
        self.root
            .join("ingest")
            .join(&Digest::sha256_of(key.as_bytes()).hex()[..32])
    }

    /// Opens the ingest `key`, creating it or — when it exists — resuming at its current
    /// offset (the data written so far is re-hashed, so the digest covers all of it).
    pub fn writer(
        &self,
        key: &str,
        expected_size: Option<u64>,
    ) -> Result<IngestWriter, ContentError> {
        if key.is_empty() || key.len() > 1024 {
            return Err(ContentError::InvalidKey {
                key: key.to_string(),
            });
        }
        let dir = self.ingest_dir(key);
        fs::create_dir_all(&dir).map_err(io_err("creating", &dir))?;
        let meta = dir.join("meta.json");
        let m = IngestMeta {
            key: key.to_string(),
            expected_size,
        };
        fs::write(&meta, serde_json::to_vec(&m).unwrap_or_default())
            .map_err(io_err("writing", &meta))?;
        let data = dir.join("data");
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&data)
            .map_err(io_err("opening", &data))?;
        let mut digester = Digester::new(Algorithm::Sha256);
        let mut buf = vec![0u8; 1 << 20];
        let mut r = BufReader::new(&mut file);
        loop {
            let n = r.read(&mut buf).map_err(io_err("re-reading", &data))?;
            if n == 0 {
                break;
            }
            digester.update(&buf[..n]);
        }
        drop(r);
        file.seek(SeekFrom::End(0))
            .map_err(io_err("seeking", &data))?;
        Ok(IngestWriter {
            key: key.to_string(),
            dir,
            blobs: self.root.join("blobs"),
            file,
            digester,
            hashing: true,
            unhashed: 0,
            behind: Default::default(),
            committed: false,
        })
    }

    /// Status of the ingest `key`, if it exists.
    pub fn ingest_status(&self, key: &str) -> Result<Option<IngestStatus>, ContentError> {
        let dir = self.ingest_dir(key);
        read_status(&dir)
    }

    /// Every ingest in progress.
    pub fn ingests(&self) -> Result<Vec<IngestStatus>, ContentError> {
        let root = self.root.join("ingest");
        let mut out = Vec::new();
        for ent in fs::read_dir(&root).map_err(io_err("listing", &root))? {
            let ent = ent.map_err(io_err("listing", &root))?;
            if let Some(s) = read_status(&ent.path())? {
                out.push(s);
            }
        }
        Ok(out)
    }

    /// Removes the ingest `key` and its data; `Ok(false)` when absent.
    pub fn abort(&self, key: &str) -> Result<bool, ContentError> {
        remove_dir(&self.ingest_dir(key))
    }

    /// Removes ingest directories (by directory name) that hold no readable status — debris
    /// of a crash between `mkdir` and the first write.
    pub(crate) fn remove_broken_ingests(&self) -> Result<(), ContentError> {
        let root = self.root.join("ingest");
        for ent in fs::read_dir(&root).map_err(io_err("listing", &root))? {
            let p = ent.map_err(io_err("listing", &root))?.path();
            if read_status(&p)?.is_none() {
                remove_dir(&p)?;
            }
        }
        Ok(())
    }
}

fn remove_dir(dir: &Path) -> Result<bool, ContentError> {
    match fs::remove_dir_all(dir) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io_err("removing", dir)(e)),
    }
}

fn read_status(dir: &Path) -> Result<Option<IngestStatus>, ContentError> {
    let Ok(meta) = fs::read(dir.join("meta.json")) else {
        return Ok(None);
    };
    let Ok(m) = serde_json::from_slice::<IngestMeta>(&meta) else {
        return Ok(None);
    };
    let data = dir.join("data");
    match fs::metadata(&data) {
        Ok(md) => Ok(Some(IngestStatus {
            key: m.key,
            offset: md.len(),
            expected_size: m.expected_size,
            updated: md.modified().unwrap_or(SystemTime::UNIX_EPOCH),
        })),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err("inspecting", &data)(e)),
    }
}

/// A resumable blob writer. Dropping it without [`IngestWriter::commit`] keeps the partial
/// data for a later resume; [`ContentStore::abort`] discards it.
pub struct IngestWriter {
    key: String,
    dir: PathBuf,
    blobs: PathBuf,
    file: File,
    digester: Digester,
    /// False once the caller hashes the bytes itself ([`IngestWriter::hashed_by_caller`]):
    /// What it writes from then on is only counted, in `unhashed`.
    hashing: bool,
    unhashed: u64,
    /// Starts write-back as the blob streams in, so the `fsync` at commit finds little left.
    behind: oci::layer::WriteBehind,
    committed: bool,
}

impl IngestWriter {
    /// The key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Bytes written so far (including those from before a resume).
    pub fn offset(&self) -> u64 {
        self.digester.bytes() + self.unhashed
    }

    /// Digest of the bytes written so far (not for a writer [`IngestWriter::hashed_by_caller`]).
    pub fn digest(&self) -> Digest {
        debug_assert!(self.hashing, "digest of a writer hashed by its caller");
        self.digester.digest()
    }

    fn data_path(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// A second, read-only handle on the data written so far (and later): lets a consumer
    /// follow a download as it lands, from offset 0, without the bytes being written twice.
    /// The handle stays valid after [`IngestWriter::commit`] moves the data into place.
    pub fn reader(&self) -> Result<File, ContentError> {
        let p = self.data_path();
        File::open(&p).map_err(io_err("opening", &p))
    }

    /// Discards what was written and starts again at offset 0 (e.g. when a registry
    /// refuses a range request).
    pub fn truncate(&mut self) -> Result<(), ContentError> {
        let p = self.data_path();
        self.file.set_len(0).map_err(io_err("truncating", &p))?;
        self.file
            .seek(SeekFrom::Start(0))
            .map_err(io_err("seeking", &p))?;
        self.digester = Digester::new(Algorithm::Sha256);
        self.hashing = true;
        self.unhashed = 0;
        Ok(())
    }

    /// Stops hashing what is written: the caller hashes exactly the same bytes itself (a plain
    /// tar kept as received is its own diff ID, already hashed by the unpacker) and commits
    /// with [`IngestWriter::commit_hashed`]. Saves hashing every byte twice. Only at offset 0.
    pub fn hashed_by_caller(&mut self) {
        debug_assert_eq!(self.offset(), 0, "hashed_by_caller after data was written");
        self.hashing = false;
    }

    /// Commits data whose sha256 `digest` and `size` the caller computed over exactly the
    /// bytes it wrote ([`IngestWriter::hashed_by_caller`]); the size is checked.
    /// The digest is trusted: only a caller that hashed those very bytes may use this.
    pub fn commit_hashed(self, size: u64, digest: &Digest) -> Result<BlobInfo, ContentError> {
        self.commit_inner(Some(size), Some(digest), true)
    }

    /// Verifies and moves the data into the blob store. `expected_size` and `expected`
    /// (digest) are checked when given; the blob's digest is always the sha256 of the data.
    /// When the blob already exists the ingest is simply discarded.
    pub fn commit(
        self,
        expected_size: Option<u64>,
        expected: Option<&Digest>,
    ) -> Result<BlobInfo, ContentError> {
        self.commit_inner(expected_size, expected, true)
    }

    /// [`IngestWriter::commit`] without its `fsync`s, for a writer that flushes the whole
    /// filesystem itself once it is done (the builder, after the last step of a build).
    pub fn commit_unsynced(self) -> Result<BlobInfo, ContentError> {
        self.commit_inner(None, None, false)
    }

    fn commit_inner(
        mut self,
        expected_size: Option<u64>,
        expected: Option<&Digest>,
        sync: bool,
    ) -> Result<BlobInfo, ContentError> {
        let data = self.data_path();
        self.file.flush().map_err(io_err("flushing", &data))?;
        let size = self.offset();
        if let Some(want) = expected_size {
            if want != size {
                return Err(ContentError::SizeMismatch {
                    key: self.key.clone(),
                    expected: want,
                    actual: size,
                });
            }
        }
        let rehash = |algo: Algorithm| -> Result<Digest, ContentError> {
            let mut f = File::open(&data).map_err(io_err("opening", &data))?;
            let mut d = Digester::new(algo);
            let mut buf = vec![0u8; 1 << 20];
            loop {
                let n = f.read(&mut buf).map_err(io_err("reading", &data))?;
                if n == 0 {
                    break;
                }
                d.update(&buf[..n]);
            }
            Ok(d.finish())
        };
        let digest = match expected {
            // A sha512 expectation needs the data hashed again with that algorithm.
            Some(want) if want.algorithm() != Algorithm::Sha256 => rehash(want.algorithm())?,
            // Hashed by the caller over the same bytes: its digest is the blob's.
            Some(want) if !self.hashing => want.clone(),
            // Not hashed here and no digest given: hash what was written.
            None if !self.hashing => rehash(Algorithm::Sha256)?,
            _ => self.digester.digest(),
        };
        if let Some(want) = expected {
            if *want != digest {
                return Err(ContentError::DigestMismatch {
                    key: self.key.clone(),
                    expected: want.clone(),
                    actual: digest,
                });
            }
        }
        let target_dir = self.blobs.join(digest.algorithm().as_str());
        let target = target_dir.join(digest.hex());
        if !target.exists() {
            if sync {
                self.file.sync_all().map_err(io_err("syncing", &data))?;
            }
            fs::rename(&data, &target).map_err(io_err("committing", &target))?;
            if sync {
                sync_dir(&target_dir).map_err(io_err("syncing", &target_dir))?;
            }
        }
        self.committed = true;
        remove_dir(&self.dir)?;
        Ok(BlobInfo { digest, size })
    }
}

impl Write for IngestWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        if self.hashing {
            self.digester.update(&buf[..n]);
        } else {
            self.unhashed += n as u64;
        }
        let at = self.offset();
        self.behind.wrote(std::os::fd::AsFd::as_fd(&self.file), at);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, ContentStore) {
        let d = tempfile::tempdir().unwrap();
        let s = ContentStore::open(&d.path().join("content")).unwrap();
        (d, s)
    }

    #[test]
    fn write_commit_read_info_list_delete() {
        let (_d, s) = store();
        let data = b"hello blob".repeat(1000);
        let want = Digest::sha256_of(&data);
        let mut w = s.writer("k1", Some(data.len() as u64)).unwrap();
        w.write_all(&data).unwrap();
        let info = w.commit(Some(data.len() as u64), Some(&want)).unwrap();
        assert_eq!(
            info,
            BlobInfo {
                digest: want.clone(),
                size: data.len() as u64
            }
        );
        assert_eq!(s.read(&want).unwrap(), data);
        assert_eq!(s.info(&want).unwrap().size, data.len() as u64);
        assert_eq!(s.list().unwrap(), vec![info]);
        assert!(
            s.ingests().unwrap().is_empty(),
            "ingest removed after commit"
        );
        assert!(s.delete(&want).unwrap());
        assert_eq!(s.info(&want).unwrap_err().kind(), ErrorKind::NotFound);
        assert!(!s.delete(&want).unwrap());
    }

    #[test]
    fn a_writer_hashed_by_its_caller_counts_and_checks_the_size() {
        let (_d, s) = store();
        let data = b"plain tar bytes".repeat(100);
        let want = Digest::sha256_of(&data);
        let mut w = s.writer("caller", None).unwrap();
        w.hashed_by_caller();
        w.write_all(&data).unwrap();
        assert_eq!(w.offset(), data.len() as u64);
        let e = w.commit_hashed(data.len() as u64 + 1, &want).unwrap_err();
        assert!(matches!(e, ContentError::SizeMismatch { .. }), "{e}");
        assert!(s.info(&want).is_err(), "nothing committed");

        let mut w = s.writer("caller2", None).unwrap();
        w.hashed_by_caller();
        w.write_all(&data).unwrap();
        let info = w.commit_hashed(data.len() as u64, &want).unwrap();
        assert_eq!(info.digest, want);
        assert_eq!(s.read(&want).unwrap(), data);

        // Committed without the caller's digest, the data is hashed after all.
        let other = b"other bytes".to_vec();
        let mut w = s.writer("caller3", None).unwrap();
        w.hashed_by_caller();
        w.write_all(&other).unwrap();
        assert_eq!(
            w.commit(None, None).unwrap().digest,
            Digest::sha256_of(&other)
        );
    }

    #[test]
    fn resume_continues_at_offset() {
        let (_d, s) = store();
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        let mut w = s.writer("pull/layer", Some(data.len() as u64)).unwrap();
        w.write_all(&data[..1_234_567]).unwrap();
        drop(w); // e.g. the connection dropped
        let st = s.ingest_status("pull/layer").unwrap().unwrap();
        assert_eq!(
            (st.offset, st.expected_size),
            (1_234_567, Some(data.len() as u64))
        );
        let mut w = s.writer("pull/layer", Some(data.len() as u64)).unwrap();
        assert_eq!(w.offset(), 1_234_567);
        w.write_all(&data[1_234_567..]).unwrap();
        let info = w
            .commit(Some(data.len() as u64), Some(&Digest::sha256_of(&data)))
            .unwrap();
        assert_eq!(s.read(&info.digest).unwrap(), data);
    }

    #[test]
    fn mismatches_are_refused_and_nothing_is_committed() {
        let (_d, s) = store();
        let mut w = s.writer("k", None).unwrap();
        w.write_all(b"abc").unwrap();
        let e = w.commit(Some(4), None).unwrap_err();
        assert!(
            matches!(
                e,
                ContentError::SizeMismatch {
                    expected: 4,
                    actual: 3,
                    ..
                }
            ),
            "{e}"
        );
        let mut w = s.writer("k", None).unwrap();
        assert_eq!(w.offset(), 3, "a refused commit keeps the ingest");
        w.truncate().unwrap();
        w.write_all(b"abd").unwrap();
        let wrong = Digest::sha256_of(b"abc");
        let e = w.commit(None, Some(&wrong)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert!(e.to_string().contains("digest mismatch"), "{e}");
        assert!(!s.exists(&wrong) && !s.exists(&Digest::sha256_of(b"abd")));
        assert!(s.abort("k").unwrap());
        assert!(s.ingests().unwrap().is_empty());
    }

    #[test]
    fn put_is_idempotent_and_sha512_verifies() {
        let (_d, s) = store();
        let a = s.put(b"{}").unwrap();
        let b = s.put(b"{}").unwrap();
        assert_eq!(a, b);
        let mut w = s.writer("x", None).unwrap();
        w.write_all(b"data").unwrap();
        let want = Digest::compute(Algorithm::Sha512, b"data");
        // A blob verified against a sha512 digest is stored and addressed by it.
        assert_eq!(w.commit(None, Some(&want)).unwrap().digest, want);
        assert_eq!(s.read(&want).unwrap(), b"data");
        assert!(s.list().unwrap().iter().any(|b| b.digest == want));
    }
}
