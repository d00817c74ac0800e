//! Garbage collection (`berth-registry gc`): mark every blob some repository still needs, sweep
//! the rest.
//!
//! Marked: every manifest a repository holds (or, with `delete_untagged`, only those reachable
//! from a tag, through index children and referrers), its config, layers and children; and
//! every blob a repository links that no manifest names yet but that was linked less than
//! `layer_grace` ago (a push in progress uploads layers before its manifest). Swept: unmarked
//! blobs, layer links past the grace, idle upload sessions and leftover scratch files past
//! `upload_expiry`.
//!
//! Like distribution's, this collector expects no concurrent pushes (a blob uploaded between
//! mark and sweep could be swept): `berth-registry gc` takes the root's lock
//! ([`crate::storage::fs::RootLock`]), which a running server holds.

use std::collections::{BTreeSet, HashSet};
use std::time::{Duration, SystemTime};

use crate::digest::Digest;
use crate::manifest::Manifest;
use crate::name::{Reference, RepoName};
use crate::store::{paths, Store, StoreError};

/// What to collect.
#[derive(Debug, Clone)]
pub struct GcOptions {
    /// Report only; change nothing.
    pub dry_run: bool,
    /// Also delete manifests no tag reaches.
    pub delete_untagged: bool,
    /// Keep unreferenced layer links younger than this.
    pub layer_grace: Duration,
    /// Remove upload sessions idle longer than this.
    pub upload_expiry: Duration,
}

impl Default for GcOptions {
    fn default() -> Self {
        GcOptions {
            dry_run: false,
            delete_untagged: false,
            layer_grace: Duration::from_secs(3600),
            upload_expiry: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// What was (or, in a dry run, would be) removed.
#[derive(Debug, Default)]
pub struct GcReport {
    /// Blobs deleted.
    pub blobs: Vec<Digest>,
    /// Their total size.
    pub bytes: u64,
    /// Untagged manifests deleted, per repository.
    pub manifests: Vec<(RepoName, Digest)>,
    /// Layer links removed.
    pub layer_links: Vec<(RepoName, Digest)>,
    /// Upload sessions removed.
    pub uploads: Vec<(RepoName, String)>,
    /// Leftover scratch files of monolithic uploads removed.
    pub scratch: Vec<String>,
    /// Blobs kept.
    pub kept: usize,
}

async fn parse_manifest(store: &Store, repo: &RepoName, d: &Digest) -> Option<Manifest> {
    let link = store
        .resolve(repo, &Reference::Digest(d.clone()))
        .await
        .ok()?;
    let body = store.blob_bytes(d).await.ok()?;
    Manifest::parse(&body, Some(&link.media_type)).ok()
}

/// The manifests of `repo` to keep: all, or those a tag reaches (with children and referrers).
async fn live_manifests(
    store: &Store,
    repo: &RepoName,
    untagged: bool,
) -> Result<BTreeSet<Digest>, StoreError> {
    let all: BTreeSet<Digest> = store.revisions(repo).await?.into_iter().collect();
    if !untagged {
        return Ok(all);
    }
    let mut live = BTreeSet::new();
    let mut todo: Vec<Digest> = Vec::new();
    for t in store.tags(repo).await.unwrap_or_default() {
        if let Ok(rec) = store.tag_record(repo, &t).await {
            todo.push(rec.digest);
        }
    }
    while let Some(d) = todo.pop() {
        if !all.contains(&d) || !live.insert(d.clone()) {
            continue;
        }
        if let Some(m) = parse_manifest(store, repo, &d).await {
            todo.extend(m.manifests.iter().map(|c| c.digest.clone()));
        }
        for r in store.referrers(repo, &d, None).await? {
            todo.push(r.digest);
        }
    }
    Ok(live)
}

/// Runs a collection.
pub async fn collect(store: &Store, opts: &GcOptions) -> Result<GcReport, StoreError> {
    let mut report = GcReport::default();
    let mut marked: HashSet<Digest> = HashSet::new();
    let now = SystemTime::now();
    for repo in store.repositories().await? {
        let live = live_manifests(store, &repo, opts.delete_untagged).await?;
        for d in store.revisions(&repo).await? {
            if !live.contains(&d) {
                if !opts.dry_run {
                    store
                        .delete_manifest(&repo, &Reference::Digest(d.clone()))
                        .await?;
                }
                report.manifests.push((repo.clone(), d));
            }
        }
        let mut referenced: HashSet<Digest> = HashSet::new();
        for d in &live {
            referenced.insert(d.clone());
            if let Some(m) = parse_manifest(store, &repo, d).await {
                referenced.extend(m.required_blobs().map(|b| b.digest.clone()));
                referenced.extend(m.layers.iter().map(|b| b.digest.clone()));
            }
        }
        for d in store.layers(&repo).await? {
            if referenced.contains(&d) {
                continue;
            }
            let link = paths::layer_link(&repo, &d);
            let age = match store.driver().stat(&link).await {
                Ok(info) => now.duration_since(info.modified).unwrap_or_default(),
                Err(_) => Duration::MAX,
            };
            if age < opts.layer_grace {
                marked.insert(d);
            } else {
                if !opts.dry_run {
                    store.delete_layer(&repo, &d).await?;
                }
                report.layer_links.push((repo.clone(), d));
            }
        }
        marked.extend(referenced);
        for (id, modified) in store.uploads().list(&repo).await? {
            if now.duration_since(modified).unwrap_or_default() >= opts.upload_expiry {
                if !opts.dry_run {
                    let _ = store.uploads().cancel(&repo, &id).await;
                }
                report.uploads.push((repo.clone(), id));
            }
        }
    }
    for (path, modified) in store.uploads().scratch_files().await? {
        if now.duration_since(modified).unwrap_or_default() >= opts.upload_expiry {
            if !opts.dry_run {
                let _ = store.driver().delete(&path).await;
            }
            report.scratch.push(path);
        }
    }
    for alg in crate::digest::ALGORITHMS {
        for d in store.all_blobs(alg).await? {
            if marked.contains(&d) {
                report.kept += 1;
                continue;
            }
            report.bytes += store.blob_size(&d).await?.unwrap_or(0);
            if !opts.dry_run {
                store.driver().delete(&paths::blob(&d)).await?;
            }
            report.blobs.push(d);
        }
    }
    Ok(report)
}
