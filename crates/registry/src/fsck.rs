//! Consistency check (`berth-registry fsck`).
//!
//! A store is **consistent** when every blob's content hashes to its name, every link, tag and
//! referrer entry points at content that exists, and every manifest parses and its blobs
//! exist. Leftovers of interrupted writes are **garbage**, not inconsistencies: scratch files
//! of atomic writes (`_tmp/`), upload sessions and unreferenced blobs; `repair` removes the
//! scratch files (gc handles the rest). **Warnings** are states the API can create on purpose
//! but that make an image unpullable (a manifest whose layer link was deleted).

use futures_util::TryStreamExt;

use crate::digest::{Algorithm, Digest, Hasher};
use crate::manifest::{Descriptor, Manifest};
use crate::name::{Reference, RepoName};
use crate::storage::fs::TMP_DIR;
use crate::store::{list_or_empty, paths, Store, StoreError};

/// The outcome of a check.
#[derive(Debug, Default)]
pub struct FsckReport {
    /// Inconsistencies.
    pub problems: Vec<String>,
    /// Suspicious but possible states.
    pub warnings: Vec<String>,
    /// Harmless leftovers.
    pub garbage: Vec<String>,
    /// Blobs checked.
    pub blobs: usize,
    /// Repositories checked.
    pub repositories: usize,
}

impl FsckReport {
    /// Whether no problem was found.
    pub fn consistent(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks the store. With `verify_content`, every blob is read and hashed; with `repair`,
/// scratch files are removed.
pub async fn check(
    store: &Store,
    verify_content: bool,
    repair: bool,
) -> Result<FsckReport, StoreError> {
    let mut r = FsckReport::default();
    check_blobs(store, verify_content, &mut r).await?;
    for repo in store.repositories().await? {
        r.repositories += 1;
        check_repo(store, &repo, &mut r).await?;
    }
    for (path, _) in store.uploads().scratch_files().await? {
        r.garbage
            .push(format!("scratch file {path} of an interrupted upload"));
    }
    for f in list_or_empty(&**store.driver(), TMP_DIR).await? {
        let p = format!("{TMP_DIR}/{f}");
        if repair {
            store.driver().delete(&p).await?;
        }
        r.garbage.push(format!(
            "scratch file {p}{}",
            if repair { " (removed)" } else { "" }
        ));
    }
    Ok(r)
}

async fn check_blobs(store: &Store, verify: bool, r: &mut FsckReport) -> Result<(), StoreError> {
    let d = store.driver();
    for alg in crate::digest::ALGORITHMS {
        let base = format!("{}/{}", paths::BLOBS, alg.as_str());
        for shard in list_or_empty(&**d, &base).await? {
            for name in list_or_empty(&**d, &format!("{base}/{shard}")).await? {
                let path = format!("{base}/{shard}/{name}");
                let digest = match Digest::from_hex(alg, &name) {
                    Ok(dg) if dg.hex().starts_with(&shard) => dg,
                    _ => {
                        r.problems
                            .push(format!("unexpected file {path} in the blob store"));
                        continue;
                    }
                };
                r.blobs += 1;
                if verify {
                    let actual = hash_file(store, &path, alg).await?;
                    if actual != digest {
                        r.problems.push(format!(
                            "blob {digest} is corrupt: content hashes to {actual}"
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

async fn hash_file(store: &Store, path: &str, alg: Algorithm) -> Result<Digest, StoreError> {
    let mut h = Hasher::new(alg);
    let mut s = store.driver().read_stream(path, 0, None).await?;
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

async fn check_repo(store: &Store, repo: &RepoName, r: &mut FsckReport) -> Result<(), StoreError> {
    for d in store.layers(repo).await? {
        if store.blob_size(&d).await?.is_none() {
            r.problems
                .push(format!("{repo}: layer link to missing blob {d}"));
        }
    }
    for d in store.revisions(repo).await? {
        check_manifest(store, repo, &d, r).await?;
    }
    for t in list_or_empty(&**store.driver(), &paths::tags(repo)).await? {
        match store.tag_record(repo, &t).await {
            Ok(rec) => {
                if store
                    .resolve(repo, &Reference::Digest(rec.digest.clone()))
                    .await
                    .is_err()
                {
                    r.problems.push(format!(
                        "{repo}:{t} points at missing manifest {}",
                        rec.digest
                    ));
                }
            }
            Err(e) => r.problems.push(format!("{repo}:{t}: unreadable tag ({e})")),
        }
    }
    let refdir = format!("{}/_referrers", paths::repo(repo));
    for alg in list_or_empty(&**store.driver(), &refdir).await? {
        for subject in list_or_empty(&**store.driver(), &format!("{refdir}/{alg}")).await? {
            let dir = format!("{refdir}/{alg}/{subject}");
            for entry in list_or_empty(&**store.driver(), &dir).await? {
                let path = format!("{dir}/{entry}");
                match store.read_json::<Descriptor>(&path).await {
                    Ok(desc) => {
                        let known = store
                            .resolve(repo, &Reference::Digest(desc.digest.clone()))
                            .await;
                        if known.is_err() {
                            r.problems.push(format!(
                                "{repo}: referrer entry {path} names missing manifest {}",
                                desc.digest
                            ));
                        }
                    }
                    Err(e) => r
                        .problems
                        .push(format!("{repo}: unreadable referrer entry {path} ({e})")),
                }
            }
        }
    }
    for (id, _) in store.uploads().list(repo).await? {
        r.garbage.push(format!("{repo}: upload session {id}"));
    }
    Ok(())
}

async fn check_manifest(
    store: &Store,
    repo: &RepoName,
    d: &Digest,
    r: &mut FsckReport,
) -> Result<(), StoreError> {
    let link = match store.resolve(repo, &Reference::Digest(d.clone())).await {
        Ok(l) => l,
        Err(e) => {
            r.problems
                .push(format!("{repo}: unreadable manifest link {d} ({e})"));
            return Ok(());
        }
    };
    let body = match store.blob_bytes(d).await {
        Ok(b) => b,
        Err(_) => {
            r.problems.push(format!("{repo}: manifest {d} has no blob"));
            return Ok(());
        }
    };
    let m = match Manifest::parse(&body, Some(&link.media_type)) {
        Ok(m) => m,
        Err(e) => {
            r.problems
                .push(format!("{repo}: manifest {d} does not parse ({e})"));
            return Ok(());
        }
    };
    for b in m.required_blobs() {
        if store.blob_size(&b.digest).await?.is_none() {
            r.problems.push(format!(
                "{repo}: manifest {d} needs missing blob {}",
                b.digest
            ));
        } else if !store.has_layer(repo, &b.digest).await? {
            r.warnings.push(format!(
                "{repo}: manifest {d} needs {}, no longer linked in the repository",
                b.digest
            ));
        }
    }
    for c in &m.manifests {
        if store
            .resolve(repo, &Reference::Digest(c.digest.clone()))
            .await
            .is_err()
        {
            r.warnings.push(format!(
                "{repo}: index {d} names manifest {} the repository lacks",
                c.digest
            ));
        }
    }
    Ok(())
}
