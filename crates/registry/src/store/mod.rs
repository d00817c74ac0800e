//! The registry's layout on top of a [`StorageDriver`]: blobs, repository links, manifests, tags,
//! referrers and uploads.
//!
//! ```text
//! blobs/<alg>/<hex[..2]>/<hex>                         content, shared by all repositories
//! repositories/<name>/_layers/<alg>/<hex>              link (empty): the repository holds it
//! repositories/<name>/_manifests/revisions/<alg>/<hex> link: a manifest of the repository (JSON)
//! repositories/<name>/_manifests/tags/<tag>            the tag's digest and push time (JSON)
//! repositories/<name>/_referrers/<alg>/<subject-hex>/<alg>-<hex>   a referrer's descriptor (JSON)
//! repositories/<name>/_uploads/<id>/{data,info}        an upload session
//! repositories/<name>/_meta/pulls                      the pull count
//! uploads/<id>                                         a monolithic upload being received
//! ```
//!
//! Names components never start with `_` (see [`crate::name`]), so `_`-entries cannot clash with
//! nested repositories. Writes are ordered so that every link points at content that is already
//! durable: blob before layer link, manifest blob before revision link, revision before tag and
//! referrer. A crash between two steps leaves at worst an unreferenced blob, which `gc` reclaims
//! and `fsck` reports only as garbage.

mod manifests;
pub mod upload;

use std::pin::Pin;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures_util::Stream;
use serde::Serialize;

use crate::digest::{Algorithm, Digest};
use crate::manifest::ManifestError;
use crate::name::RepoName;
use crate::storage::{ByteStream, DriverError, StorageDriver};
use crate::ErrorKind;

pub use manifests::{ManifestLink, PutManifest, TagRecord};
pub use upload::Uploads;

/// A request body or other byte source fed to the store.
pub type BodyStream = Pin<Box<dyn Stream<Item = Result<Bytes, std::io::Error>> + Send>>;

/// A store failure; each variant maps to one distribution-spec error code in [`crate::api`].
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The blob is not in the repository.
    #[error("blob {digest} is not known to repository {repo}")]
    BlobUnknown {
        /// The repository.
        repo: String,
        /// The blob.
        digest: Digest,
    },
    /// The manifest (tag or digest) is not in the repository.
    #[error("manifest {reference} is not known to repository {repo}")]
    ManifestUnknown {
        /// The repository.
        repo: String,
        /// The tag or digest.
        reference: String,
    },
    /// The repository does not exist.
    #[error("repository {repo} is not known")]
    NameUnknown {
        /// The repository.
        repo: String,
    },
    /// No such upload session.
    #[error("upload {id} is not known to repository {repo}")]
    UploadUnknown {
        /// The repository.
        repo: String,
        /// The session id.
        id: String,
    },
    /// A chunk does not start where the upload ends.
    #[error("chunk starts at byte {got} but upload {id} has {size} bytes")]
    RangeInvalid {
        /// The session id.
        id: String,
        /// The upload's size.
        size: u64,
        /// Where the chunk claimed to start.
        got: u64,
    },
    /// The content's digest is not the one the client named.
    #[error("content digest {actual} does not match the requested digest {expected}")]
    DigestMismatch {
        /// What the client said.
        expected: Digest,
        /// What the bytes hash to.
        actual: Digest,
    },
    /// The body is larger than the configured limit.
    #[error("content exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// A byte count in the request disagrees with the body.
    #[error("size mismatch: request says {expected} bytes, got {actual}")]
    SizeInvalid {
        /// Declared size.
        expected: u64,
        /// Actual size.
        actual: u64,
    },
    /// The manifest is malformed.
    #[error("invalid manifest")]
    ManifestInvalid(#[source] ManifestError),
    /// A descriptor's size disagrees with the stored blob.
    #[error("manifest references {digest} with size {declared} but the blob has {actual} bytes")]
    ManifestSizeMismatch {
        /// The blob.
        digest: Digest,
        /// The descriptor's size.
        declared: u64,
        /// The stored size.
        actual: u64,
    },
    /// A manifest references a blob or manifest the repository lacks.
    #[error("manifest references {digest}, which repository {repo} does not have")]
    ManifestBlobUnknown {
        /// The repository.
        repo: String,
        /// The missing content.
        digest: Digest,
    },
    /// Reading the request body failed.
    #[error("reading the request body failed")]
    Body(#[source] std::io::Error),
    /// Stored metadata could not be parsed.
    #[error("corrupt metadata at {path}")]
    Corrupt {
        /// The path.
        path: String,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// The driver failed.
    #[error(transparent)]
    Driver(#[from] DriverError),
}

impl StoreError {
    /// The error's kind.
    pub fn kind(&self) -> ErrorKind {
        use StoreError::*;
        match self {
            BlobUnknown { .. } | ManifestUnknown { .. } | NameUnknown { .. } => ErrorKind::NotFound,
            UploadUnknown { .. } => ErrorKind::NotFound,
            RangeInvalid { .. } => ErrorKind::Conflict,
            DigestMismatch { .. } | TooLarge { .. } | SizeInvalid { .. } => {
                ErrorKind::InvalidArgument
            }
            ManifestInvalid(_) | ManifestSizeMismatch { .. } | ManifestBlobUnknown { .. } => {
                ErrorKind::InvalidArgument
            }
            Body(_) => ErrorKind::InvalidArgument,
            Corrupt { .. } => ErrorKind::Internal,
            Driver(e) => e.kind(),
        }
    }
}

/// The registry's view of its storage. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    driver: Arc<dyn StorageDriver>,
    uploads: Uploads,
}

/// Where things live (see the module doc).
pub(crate) mod paths {
    use crate::digest::Digest;
    use crate::name::RepoName;

    pub const REPOS: &str = "repositories";
    pub const BLOBS: &str = "blobs";
    /// Monolithic uploads, which need no resumable session, are written here.
    pub const SCRATCH: &str = "uploads";

    pub fn blob(d: &Digest) -> String {
        format!(
            "blobs/{}/{}/{}",
            d.algorithm().as_str(),
            &d.hex()[..2],
            d.hex()
        )
    }
    pub fn repo(r: &RepoName) -> String {
        format!("repositories/{r}")
    }
    pub fn layer_link(r: &RepoName, d: &Digest) -> String {
        format!(
            "repositories/{r}/_layers/{}/{}",
            d.algorithm().as_str(),
            d.hex()
        )
    }
    pub fn revisions(r: &RepoName) -> String {
        format!("repositories/{r}/_manifests/revisions")
    }
    pub fn revision(r: &RepoName, d: &Digest) -> String {
        format!("{}/{}/{}", revisions(r), d.algorithm().as_str(), d.hex())
    }
    pub fn tags(r: &RepoName) -> String {
        format!("repositories/{r}/_manifests/tags")
    }
    pub fn tag(r: &RepoName, t: &str) -> String {
        format!("{}/{t}", tags(r))
    }
    pub fn referrers(r: &RepoName, subject: &Digest) -> String {
        format!(
            "repositories/{r}/_referrers/{}/{}",
            subject.algorithm().as_str(),
            subject.hex()
        )
    }
    pub fn referrer(r: &RepoName, subject: &Digest, d: &Digest) -> String {
        format!(
            "{}/{}-{}",
            referrers(r, subject),
            d.algorithm().as_str(),
            d.hex()
        )
    }
    pub fn uploads(r: &RepoName) -> String {
        format!("repositories/{r}/_uploads")
    }
    pub fn pulls(r: &RepoName) -> String {
        format!("repositories/{r}/_meta/pulls")
    }
}

/// Seconds since the epoch, for records.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Store {
    /// A store over `driver`.
    pub fn new(driver: Arc<dyn StorageDriver>) -> Store {
        Store {
            uploads: Uploads::new(Arc::clone(&driver)),
            driver,
        }
    }

    /// The driver.
    pub fn driver(&self) -> &Arc<dyn StorageDriver> {
        &self.driver
    }

    /// Upload sessions.
    pub fn uploads(&self) -> &Uploads {
        &self.uploads
    }

    pub(crate) async fn read_json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<T, StoreError> {
        let raw = self.driver.get_content(path).await?;
        serde_json::from_slice(&raw).map_err(|source| StoreError::Corrupt {
            path: path.to_owned(),
            source,
        })
    }

    pub(crate) async fn write_json<T: Serialize>(
        &self,
        path: &str,
        v: &T,
    ) -> Result<(), StoreError> {
        let raw = serde_json::to_vec(v).expect("records serialize");
        Ok(self.driver.put_content(path, Bytes::from(raw)).await?)
    }

    /// Size of a stored blob, whether or not any repository links it.
    pub async fn blob_size(&self, d: &Digest) -> Result<Option<u64>, StoreError> {
        match self.driver.stat(&paths::blob(d)).await {
            Ok(info) => Ok(Some(info.size)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Whether `repo` links blob `d`.
    pub async fn has_layer(&self, repo: &RepoName, d: &Digest) -> Result<bool, StoreError> {
        exists(&*self.driver, &paths::layer_link(repo, d)).await
    }

    /// Size of blob `d` as seen from `repo`: `BlobUnknown` unless the repository links it and the
    /// content is present.
    pub async fn stat_blob(&self, repo: &RepoName, d: &Digest) -> Result<u64, StoreError> {
        let unknown = || StoreError::BlobUnknown {
            repo: repo.to_string(),
            digest: d.clone(),
        };
        if !self.has_layer(repo, d).await? {
            return Err(unknown());
        }
        self.blob_size(d).await?.ok_or_else(unknown)
    }

    /// Streams part of a blob (the caller checked the repository link and range).
    pub async fn read_blob(
        &self,
        d: &Digest,
        offset: u64,
        len: Option<u64>,
    ) -> Result<ByteStream, StoreError> {
        Ok(self
            .driver
            .read_stream(&paths::blob(d), offset, len)
            .await?)
    }

    /// Reads a whole (small) blob such as a manifest or a config.
    pub async fn blob_bytes(&self, d: &Digest) -> Result<Bytes, StoreError> {
        Ok(self.driver.get_content(&paths::blob(d)).await?)
    }

    /// Links an existing blob into `repo`. A link is an empty file: its path says it all.
    pub async fn link_layer(&self, repo: &RepoName, d: &Digest) -> Result<(), StoreError> {
        let path = paths::layer_link(repo, d);
        Ok(self.driver.put_content(&path, Bytes::new()).await?)
    }

    /// Cross-repository mount: links `d` into `to` if `from` has it. `Ok(false)` when it does not.
    pub async fn mount(
        &self,
        from: &RepoName,
        to: &RepoName,
        d: &Digest,
    ) -> Result<bool, StoreError> {
        if !self.has_layer(from, d).await? || self.blob_size(d).await?.is_none() {
            return Ok(false);
        }
        self.link_layer(to, d).await?;
        Ok(true)
    }

    /// Removes `repo`'s link to blob `d` (the content stays until `gc`).
    pub async fn delete_layer(&self, repo: &RepoName, d: &Digest) -> Result<(), StoreError> {
        match self.driver.delete(&paths::layer_link(repo, d)).await {
            Err(e) if e.is_not_found() => Err(StoreError::BlobUnknown {
                repo: repo.to_string(),
                digest: d.clone(),
            }),
            r => Ok(r?),
        }
    }

    /// Stores content that is already in memory (manifests) as a blob, after checking it.
    pub(crate) async fn put_blob_bytes(&self, d: &Digest, data: Bytes) -> Result<(), StoreError> {
        if self.blob_size(d).await? == Some(data.len() as u64) {
            return Ok(());
        }
        Ok(self.driver.put_content(&paths::blob(d), data).await?)
    }

    /// Whether `repo` exists (has any manifest, layer or upload).
    pub async fn repo_exists(&self, repo: &RepoName) -> Result<bool, StoreError> {
        exists(&*self.driver, &paths::repo(repo)).await
    }

    /// Every repository, sorted by name.
    pub async fn repositories(&self) -> Result<Vec<RepoName>, StoreError> {
        let mut out = Vec::new();
        let mut stack = vec![String::new()];
        while let Some(prefix) = stack.pop() {
            let dir = if prefix.is_empty() {
                paths::REPOS.to_owned()
            } else {
                format!("{}/{prefix}", paths::REPOS)
            };
            let children = match self.driver.list(&dir).await {
                Ok(c) => c,
                Err(e) if e.is_not_found() => continue,
                Err(e) => return Err(e.into()),
            };
            if children.iter().any(|c| c == "_manifests" || c == "_layers") {
                if let Ok(name) = RepoName::parse(&prefix) {
                    out.push(name);
                }
            }
            for c in children.into_iter().filter(|c| !c.starts_with('_')) {
                stack.push(if prefix.is_empty() {
                    c
                } else {
                    format!("{prefix}/{c}")
                });
            }
        }
        out.sort();
        Ok(out)
    }

    /// The stored pull count of `repo`.
    pub async fn pull_count(&self, repo: &RepoName) -> u64 {
        match self.driver.get_content(&paths::pulls(repo)).await {
            Ok(b) => std::str::from_utf8(&b)
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(0),
            Err(_) => 0,
        }
    }

    /// Persists the pull count of `repo`.
    pub async fn set_pull_count(&self, repo: &RepoName, n: u64) -> Result<(), StoreError> {
        // Counts are statistics: never recreate a repository (or a whole root) that was
        // deleted while they were pending.
        if self
            .driver
            .stat(&format!("repositories/{repo}"))
            .await
            .is_err()
        {
            return Ok(());
        }
        let p = paths::pulls(repo);
        Ok(self
            .driver
            .put_content(&p, Bytes::from(n.to_string()))
            .await?)
    }

    /// Digests of every stored blob of `alg`.
    pub async fn all_blobs(&self, alg: Algorithm) -> Result<Vec<Digest>, StoreError> {
        let base = format!("{}/{}", paths::BLOBS, alg.as_str());
        let mut out = Vec::new();
        for shard in list_or_empty(&*self.driver, &base).await? {
            for hex in list_or_empty(&*self.driver, &format!("{base}/{shard}")).await? {
                if let Ok(d) = Digest::from_hex(alg, &hex) {
                    out.push(d);
                }
            }
        }
        Ok(out)
    }

    /// Digests linked in a `<alg>/<hex>` directory such as `_layers` or revisions.
    pub(crate) async fn linked(&self, dir: &str) -> Result<Vec<Digest>, StoreError> {
        let mut out = Vec::new();
        for alg in crate::digest::ALGORITHMS {
            for hex in list_or_empty(&*self.driver, &format!("{dir}/{}", alg.as_str())).await? {
                if let Ok(d) = Digest::from_hex(alg, &hex) {
                    out.push(d);
                }
            }
        }
        Ok(out)
    }

    /// Blobs `repo` links as layers.
    pub async fn layers(&self, repo: &RepoName) -> Result<Vec<Digest>, StoreError> {
        self.linked(&format!("{}/_layers", paths::repo(repo))).await
    }
}

/// Whether a path exists.
pub(crate) async fn exists(d: &dyn StorageDriver, path: &str) -> Result<bool, StoreError> {
    match d.stat(path).await {
        Ok(_) => Ok(true),
        Err(e) if e.is_not_found() => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// The children of a directory, or nothing when it does not exist.
pub(crate) async fn list_or_empty(
    d: &dyn StorageDriver,
    path: &str,
) -> Result<Vec<String>, StoreError> {
    match d.list(path).await {
        Ok(v) => Ok(v),
        Err(e) if e.is_not_found() => Ok(Vec::new()),
        Err(e) => Err(e.into()),
    }
}
