//! Blob upload sessions (spec "Pushing blobs"): `repositories/<name>/_uploads/<id>/data` holds the
//! bytes received so far, durably after each acknowledged request, so a session survives a
//! restart. The running sha256 is kept in memory as an optimisation; after a restart (or for
//! sha512) the data is hashed again on completion.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures_util::{StreamExt, TryStreamExt};

use super::{list_or_empty, paths, BodyStream, Store, StoreError};
use crate::digest::{Algorithm, Digest, Hasher};
use crate::name::RepoName;
use crate::storage::{FileWriter, StorageDriver};

/// The running hash of a session; valid while `offset` equals the data's size.
struct HashState {
    hasher: Hasher,
    offset: u64,
}

/// The upload sessions of a store.
#[derive(Clone)]
pub struct Uploads {
    driver: Arc<dyn StorageDriver>,
    sessions: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<HashState>>>>>,
}

fn data_path(repo: &RepoName, id: &str) -> String {
    format!("{}/{id}/data", paths::uploads(repo))
}

/// Session ids are 32 lowercase hex characters; anything else cannot name a session (and never
/// reaches a path).
fn valid_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A size limit check on an upload's total.
fn over(limit: Option<u64>, size: u64) -> Option<u64> {
    limit.filter(|l| size > *l)
}

impl Uploads {
    pub(super) fn new(driver: Arc<dyn StorageDriver>) -> Uploads {
        Uploads {
            driver,
            sessions: Arc::default(),
        }
    }

    fn state(&self, id: &str) -> Arc<tokio::sync::Mutex<HashState>> {
        let mut map = self.sessions.lock().expect("sessions lock");
        Arc::clone(map.entry(id.to_owned()).or_insert_with(|| {
            Arc::new(tokio::sync::Mutex::new(HashState {
                hasher: Hasher::new(Algorithm::Sha256),
                offset: 0,
            }))
        }))
    }

    fn forget(&self, id: &str) {
        self.sessions.lock().expect("sessions lock").remove(id);
    }

    fn unknown(repo: &RepoName, id: &str) -> StoreError {
        StoreError::UploadUnknown {
            repo: repo.to_string(),
            id: id.to_owned(),
        }
    }

    /// Opens a new, empty session.
    pub async fn start(&self, repo: &RepoName) -> Result<String, StoreError> {
        let id = format!("{:032x}", rand::random::<u128>());
        let w = self.driver.writer(&data_path(repo, &id), false).await?;
        w.commit().await?;
        Ok(id)
    }

    /// Bytes received so far.
    pub async fn size(&self, repo: &RepoName, id: &str) -> Result<u64, StoreError> {
        if !valid_id(id) {
            return Err(Self::unknown(repo, id));
        }
        match self.driver.stat(&data_path(repo, id)).await {
            Ok(info) => Ok(info.size),
            Err(e) if e.is_not_found() => Err(Self::unknown(repo, id)),
            Err(e) => Err(e.into()),
        }
    }

    /// Appends a chunk. `start` is the chunk's first byte from `Content-Range`; it must equal
    /// the session's size (else `RangeInvalid`, the spec's 416). On any failure the session is
    /// left exactly as it was. Returns the new size.
    pub async fn append(
        &self,
        repo: &RepoName,
        id: &str,
        start: Option<u64>,
        body: BodyStream,
        limit: Option<u64>,
    ) -> Result<u64, StoreError> {
        self.size(repo, id).await?;
        let state = self.state(id);
        let mut st = state.lock().await;
        let mut w = self.driver.writer(&data_path(repo, id), true).await?;
        let size0 = w.size();
        if let Some(s) = start.filter(|s| *s != size0) {
            let _ = w.abort_to(size0).await;
            return Err(StoreError::RangeInvalid {
                id: id.to_owned(),
                size: size0,
                got: s,
            });
        }
        if st.offset != size0 {
            // Restarted, or the data changed under us: rehash at the end instead.
            st.offset = u64::MAX;
        }
        let saved = st.hasher.clone();
        match feed(&mut *w, &mut st, body, limit).await {
            Ok(()) => {
                let size = w.size();
                w.commit().await?;
                Ok(size)
            }
            Err(e) => {
                st.hasher = saved;
                if st.offset != u64::MAX {
                    st.offset = size0;
                }
                w.abort_to(size0).await?;
                Err(e)
            }
        }
    }

    /// Completes a session: appends the final chunk if any, checks the digest, moves the data to
    /// its content address and links it into the repository. A digest mismatch discards the
    /// session. Returns the blob's size.
    pub async fn finish(
        &self,
        store: &Store,
        repo: &RepoName,
        id: &str,
        digest: &Digest,
        body: Option<BodyStream>,
        limit: Option<u64>,
    ) -> Result<u64, StoreError> {
        if let Some(body) = body {
            self.append(repo, id, None, body, limit).await?;
        }
        let state = self.state(id);
        let st = state.lock().await;
        let path = data_path(repo, id);
        let size = self.size(repo, id).await?;
        let actual = if st.offset == size && digest.algorithm() == Algorithm::Sha256 {
            st.hasher.clone().finish()
        } else {
            self.rehash(&path, digest.algorithm()).await?
        };
        if actual != *digest {
            drop(st);
            self.cancel(repo, id).await?;
            return Err(StoreError::DigestMismatch {
                expected: digest.clone(),
                actual,
            });
        }
        let blob = paths::blob(digest);
        if store.blob_size(digest).await? != Some(size) {
            self.driver.rename(&path, &blob).await?;
        }
        store.link_layer(repo, digest).await?;
        drop(st);
        self.cancel(repo, id).await?;
        Ok(size)
    }

    /// A monolithic upload (`POST ?digest=` with the body): no session to resume, so the data
    /// goes to a scratch file and nothing is kept unless the digest matches.
    pub async fn put_direct(
        &self,
        store: &Store,
        repo: &RepoName,
        digest: &Digest,
        body: BodyStream,
        limit: Option<u64>,
    ) -> Result<u64, StoreError> {
        let scratch = format!("{}/{:032x}", paths::SCRATCH, rand::random::<u128>());
        let mut w = self.driver.writer(&scratch, false).await?;
        let mut st = HashState {
            hasher: Hasher::new(digest.algorithm()),
            offset: 0,
        };
        if let Err(e) = feed(&mut *w, &mut st, body, limit).await {
            let _ = w.abort_to(0).await;
            let _ = self.driver.delete(&scratch).await;
            return Err(e);
        }
        let size = w.size();
        w.commit().await?;
        let actual = st.hasher.finish();
        if actual != *digest {
            let _ = self.driver.delete(&scratch).await;
            return Err(StoreError::DigestMismatch {
                expected: digest.clone(),
                actual,
            });
        }
        if store.blob_size(digest).await? == Some(size) {
            let _ = self.driver.delete(&scratch).await;
        } else {
            self.driver.rename(&scratch, &paths::blob(digest)).await?;
        }
        store.link_layer(repo, digest).await?;
        Ok(size)
    }

    async fn rehash(&self, path: &str, alg: Algorithm) -> Result<Digest, StoreError> {
        let mut h = Hasher::new(alg);
        let mut s = self.driver.read_stream(path, 0, None).await?;
        while let Some(chunk) = s.try_next().await.map_err(|source| {
            StoreError::Driver(crate::storage::DriverError::Io {
                op: "read",
                path: path.to_owned(),
                source,
            })
        })? {
            h.update(&chunk);
        }
        Ok(h.finish())
    }

    /// Ends a session and removes its data.
    pub async fn cancel(&self, repo: &RepoName, id: &str) -> Result<(), StoreError> {
        if !valid_id(id) {
            return Err(Self::unknown(repo, id));
        }
        self.forget(id);
        match self
            .driver
            .delete(&format!("{}/{id}", paths::uploads(repo)))
            .await
        {
            Err(e) if e.is_not_found() => Err(Self::unknown(repo, id)),
            r => Ok(r?),
        }
    }

    /// The sessions of `repo` with the time of their last write, for garbage collection.
    pub async fn list(
        &self,
        repo: &RepoName,
    ) -> Result<Vec<(String, std::time::SystemTime)>, StoreError> {
        let mut out = Vec::new();
        for id in list_or_empty(&*self.driver, &paths::uploads(repo)).await? {
            let modified = match self.driver.stat(&data_path(repo, &id)).await {
                Ok(info) => info.modified,
                Err(_) => std::time::UNIX_EPOCH,
            };
            out.push((id, modified));
        }
        Ok(out)
    }
}

impl Uploads {
    /// Scratch files of monolithic uploads with the time of their last write. They live only
    /// while a request is being received; older ones are leftovers of a crash.
    pub async fn scratch_files(&self) -> Result<Vec<(String, std::time::SystemTime)>, StoreError> {
        let mut out = Vec::new();
        for name in list_or_empty(&*self.driver, paths::SCRATCH).await? {
            let path = format!("{}/{name}", paths::SCRATCH);
            let modified = match self.driver.stat(&path).await {
                Ok(info) => info.modified,
                Err(_) => std::time::UNIX_EPOCH,
            };
            out.push((path, modified));
        }
        Ok(out)
    }
}

/// Streams `body` into the writer and the hash, enforcing the limit on the total size.
async fn feed(
    w: &mut dyn FileWriter,
    st: &mut HashState,
    mut body: BodyStream,
    limit: Option<u64>,
) -> Result<(), StoreError> {
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(StoreError::Body)?;
        let new_size = w.size() + chunk.len() as u64;
        if let Some(limit) = over(limit, new_size) {
            return Err(StoreError::TooLarge { limit });
        }
        if st.offset != u64::MAX {
            st.hasher.update(&chunk);
            st.offset = new_size;
        }
        w.write(chunk).await?;
    }
    Ok(())
}
