//! The in-memory index of repositories behind the catalog, `/v1/search` and the web UI: per
//! repository its tag count, last push, pull count and description.
//!
//! It is built from the store at start-up and refreshed by the API after every push or delete of
//! a manifest, so search follows pushes and deletes. Pull counts (manifest GETs, as Docker Hub
//! counts them) are counted in memory and written back by a background task and at shutdown;
//! they are statistics, not acknowledged data, so a crash may lose the last few.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};

use tokio::sync::Notify;

use crate::manifest::{ImageConfig, Manifest};
use crate::name::RepoName;
use crate::store::{Store, StoreError};

/// Annotation or label holding a repository's description.
pub const DESCRIPTION_KEY: &str = "org.opencontainers.image.description";

/// What the index knows about one repository.
#[derive(Debug, Clone, Default)]
pub struct RepoSummary {
    /// Number of tags.
    pub tags: usize,
    /// Newest tag push (seconds since the epoch), 0 if none.
    pub last_push: u64,
    /// Manifest pulls.
    pub pulls: u64,
    /// The description of the newest tag's image, if it has one.
    pub description: String,
}

/// The index.
pub struct Index {
    store: Store,
    repos: RwLock<BTreeMap<RepoName, RepoSummary>>,
    dirty: Mutex<HashSet<RepoName>>,
    flush_wanted: Notify,
    refresh_lock: tokio::sync::Mutex<()>,
}

impl Index {
    /// Builds the index from the store.
    pub async fn build(store: Store) -> Result<Arc<Index>, StoreError> {
        let index = Arc::new(Index {
            store,
            repos: RwLock::default(),
            dirty: Mutex::default(),
            flush_wanted: Notify::new(),
            refresh_lock: tokio::sync::Mutex::new(()),
        });
        for repo in index.store.repositories().await? {
            index.refresh(&repo).await?;
        }
        Ok(index)
    }

    /// Adds `repo` if it is not indexed yet (a first blob push creates a repository).
    pub fn touch(&self, repo: &RepoName) {
        let mut repos = self.repos.write().expect("index lock");
        repos.entry(repo.clone()).or_default();
    }

    /// Recomputes `repo`'s summary from the store, dropping it if the repository is gone.
    pub async fn refresh(&self, repo: &RepoName) -> Result<(), StoreError> {
        let _serial = self.refresh_lock.lock().await;
        if !self.store.repo_exists(repo).await? {
            self.repos.write().expect("index lock").remove(repo);
            return Ok(());
        }
        let tags = self.store.tags(repo).await.unwrap_or_default();
        let mut newest: Option<(u64, crate::digest::Digest)> = None;
        for t in &tags {
            if let Ok(rec) = self.store.tag_record(repo, t).await {
                if newest.as_ref().is_none_or(|(p, _)| rec.pushed >= *p) {
                    newest = Some((rec.pushed, rec.digest));
                }
            }
        }
        let description = match &newest {
            Some((_, d)) => describe(&self.store, repo, d).await.unwrap_or_default(),
            None => String::new(),
        };
        let stored_pulls = self.store.pull_count(repo).await;
        let mut repos = self.repos.write().expect("index lock");
        let entry = repos.entry(repo.clone()).or_default();
        entry.tags = tags.len();
        entry.last_push = newest.map(|(p, _)| p).unwrap_or(0);
        entry.description = description;
        entry.pulls = entry.pulls.max(stored_pulls);
        Ok(())
    }

    /// Records a tag push without re-reading every tag: the pushed tag is the newest, so only
    /// the tag count and the new image's description need reading.
    pub async fn tag_pushed(&self, repo: &RepoName, digest: &crate::digest::Digest, pushed: u64) {
        let _serial = self.refresh_lock.lock().await;
        let tags = self.store.tags(repo).await.map(|t| t.len()).unwrap_or(0);
        let description = describe(&self.store, repo, digest)
            .await
            .unwrap_or_default();
        let mut repos = self.repos.write().expect("index lock");
        let entry = repos.entry(repo.clone()).or_default();
        entry.tags = tags;
        entry.last_push = entry.last_push.max(pushed);
        entry.description = description;
    }

    /// Counts one pull of `repo`.
    pub fn record_pull(&self, repo: &RepoName) {
        if let Some(s) = self.repos.write().expect("index lock").get_mut(repo) {
            s.pulls += 1;
        }
        self.dirty.lock().expect("dirty lock").insert(repo.clone());
        self.flush_wanted.notify_one();
    }

    /// Writes changed pull counts to the store.
    pub async fn flush(&self) {
        let dirty: Vec<RepoName> = self.dirty.lock().expect("dirty lock").drain().collect();
        for repo in dirty {
            let n = self.summary(&repo).map(|s| s.pulls).unwrap_or(0);
            if let Err(e) = self.store.set_pull_count(&repo, n).await {
                tracing::warn!(repo = %repo, error = %e, "cannot save pull count");
            }
        }
    }

    /// Flushes whenever pulls were counted, until `stop` resolves; then flushes once more if
    /// `stop` says so (a graceful stop: yes; a server that was dropped: no, its storage may be
    /// going away). A flush in progress is never cancelled (that would lose its counts).
    pub async fn flush_loop(self: Arc<Self>, stop: impl std::future::Future<Output = bool>) {
        tokio::pin!(stop);
        let last_flush = loop {
            tokio::select! {
                _ = self.flush_wanted.notified() => self.flush().await,
                graceful = &mut stop => break graceful,
            }
        };
        if last_flush {
            self.flush().await;
        }
    }

    /// One repository's summary.
    pub fn summary(&self, repo: &RepoName) -> Option<RepoSummary> {
        self.repos.read().expect("index lock").get(repo).cloned()
    }

    /// Every repository, sorted by name.
    pub fn all(&self) -> Vec<(RepoName, RepoSummary)> {
        let repos = self.repos.read().expect("index lock");
        repos.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    /// Tagged repositories matching every word of `query` (in the name or the description,
    /// ignoring case) and `visible`, best first: exact name, name match, then by pulls.
    pub fn search(
        &self,
        query: &str,
        visible: impl Fn(&RepoName) -> bool,
    ) -> Vec<(RepoName, RepoSummary)> {
        let q = query.trim().to_lowercase();
        let words: Vec<&str> = q.split_whitespace().collect();
        let mut hits: Vec<(u8, RepoName, RepoSummary)> = self
            .all()
            .into_iter()
            .filter(|(name, s)| s.tags > 0 && visible(name))
            .filter_map(|(name, s)| {
                let desc = s.description.to_lowercase();
                let all = words
                    .iter()
                    .all(|w| name.as_str().contains(w) || desc.contains(w));
                if !all {
                    return None;
                }
                let last = name.as_str().rsplit('/').next().unwrap_or("");
                let rank = if name.as_str() == q || last == q {
                    0
                } else if words.iter().all(|w| name.as_str().contains(w)) {
                    1
                } else {
                    2
                };
                Some((rank, name, s))
            })
            .collect();
        hits.sort_by(|a, b| {
            (a.0, std::cmp::Reverse(a.2.pulls), &a.1).cmp(&(
                b.0,
                std::cmp::Reverse(b.2.pulls),
                &b.1,
            ))
        });
        hits.into_iter().map(|(_, n, s)| (n, s)).collect()
    }
}

/// The description of a manifest: its annotation, else its config's label (for an index, the
/// first child's).
pub async fn describe(
    store: &Store,
    repo: &RepoName,
    digest: &crate::digest::Digest,
) -> Option<String> {
    let mut digest = digest.clone();
    for _ in 0..2 {
        let link = store
            .resolve(repo, &crate::name::Reference::Digest(digest.clone()))
            .await
            .ok()?;
        let body = store.blob_bytes(&link.digest).await.ok()?;
        let m = Manifest::parse(&body, Some(&link.media_type)).ok()?;
        if let Some(d) = m.annotations.as_ref().and_then(|a| a.get(DESCRIPTION_KEY)) {
            return Some(d.clone());
        }
        if m.is_index() {
            digest = m.manifests.first()?.digest.clone();
            continue;
        }
        let config = m.config?;
        let raw = store.blob_bytes(&config.digest).await.ok()?;
        let cfg: ImageConfig = serde_json::from_slice(&raw).ok()?;
        return cfg.config?.labels?.get(DESCRIPTION_KEY).cloned();
    }
    None
}
