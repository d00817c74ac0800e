//! Manifests, tags and referrers of a repository.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::{exists, list_or_empty, paths, unix_now, Store, StoreError};
use crate::digest::{Algorithm, Digest, Hasher};
use crate::manifest::{Descriptor, Manifest};
use crate::name::{Reference, RepoName};

/// A repository's record of one of its manifests.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestLink {
    /// The manifest's digest.
    pub digest: Digest,
    /// Its media type, returned as `Content-Type`.
    pub media_type: String,
    /// Its size.
    pub size: u64,
}

/// What a tag points at, and since when.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TagRecord {
    /// The manifest.
    pub digest: Digest,
    /// When the tag was last pushed (seconds since the epoch).
    pub pushed: u64,
}

/// The outcome of a manifest push.
#[derive(Debug, Clone)]
pub struct PutManifest {
    /// The manifest's digest.
    pub digest: Digest,
    /// The subject it refers to, for the `OCI-Subject` header.
    pub subject: Option<Digest>,
}

impl Store {
    /// Validates and stores a manifest under `reference` (a tag, or its own digest).
    pub async fn put_manifest(
        &self,
        repo: &RepoName,
        reference: &Reference,
        content_type: Option<&str>,
        body: Bytes,
    ) -> Result<PutManifest, StoreError> {
        let m = Manifest::parse(&body, content_type).map_err(StoreError::ManifestInvalid)?;
        let alg = match reference {
            Reference::Digest(d) => d.algorithm(),
            Reference::Tag(_) => Algorithm::Sha256,
        };
        let mut h = Hasher::new(alg);
        h.update(&body);
        let digest = h.finish();
        if let Reference::Digest(expected) = reference {
            if *expected != digest {
                return Err(StoreError::DigestMismatch {
                    expected: expected.clone(),
                    actual: digest,
                });
            }
        }
        self.check_references(repo, &m).await?;

        let link = ManifestLink {
            digest: digest.clone(),
            media_type: m.media_type.clone(),
            size: body.len() as u64,
        };
        self.put_blob_bytes(&digest, body).await?;
        self.write_json(&paths::revision(repo, &digest), &link)
            .await?;
        if let Reference::Tag(tag) = reference {
            let rec = TagRecord {
                digest: digest.clone(),
                pushed: unix_now(),
            };
            self.write_json(&paths::tag(repo, tag), &rec).await?;
        }
        if let Some(subject) = &m.subject {
            let mut desc = Descriptor::new(m.media_type.clone(), digest.clone(), link.size);
            desc.annotations = m.annotations.clone();
            desc.artifact_type = m.artifact_type.clone();
            let path = paths::referrer(repo, &subject.digest, &digest);
            self.write_json(&path, &desc).await?;
        }
        Ok(PutManifest {
            digest,
            subject: m.subject.map(|s| s.digest),
        })
    }

    /// Every blob an image manifest names must be linked in the repository with the declared
    /// size; every child of an index must be a manifest of the repository.
    async fn check_references(&self, repo: &RepoName, m: &Manifest) -> Result<(), StoreError> {
        for desc in m.required_blobs() {
            let unknown = || StoreError::ManifestBlobUnknown {
                repo: repo.to_string(),
                digest: desc.digest.clone(),
            };
            if !self.has_layer(repo, &desc.digest).await? {
                return Err(unknown());
            }
            let actual = self.blob_size(&desc.digest).await?.ok_or_else(unknown)?;
            if actual != desc.size {
                return Err(StoreError::ManifestSizeMismatch {
                    digest: desc.digest.clone(),
                    declared: desc.size,
                    actual,
                });
            }
        }
        for child in &m.manifests {
            if !exists(&**self.driver(), &paths::revision(repo, &child.digest)).await? {
                return Err(StoreError::ManifestBlobUnknown {
                    repo: repo.to_string(),
                    digest: child.digest.clone(),
                });
            }
        }
        Ok(())
    }

    /// Resolves a tag or digest to the repository's manifest record.
    pub async fn resolve(
        &self,
        repo: &RepoName,
        reference: &Reference,
    ) -> Result<ManifestLink, StoreError> {
        let unknown = || StoreError::ManifestUnknown {
            repo: repo.to_string(),
            reference: reference.to_string(),
        };
        let digest = match reference {
            Reference::Digest(d) => d.clone(),
            Reference::Tag(t) => match self.read_json::<TagRecord>(&paths::tag(repo, t)).await {
                Ok(rec) => rec.digest,
                Err(StoreError::Driver(e)) if e.is_not_found() => return Err(unknown()),
                Err(e) => return Err(e),
            },
        };
        match self.read_json(&paths::revision(repo, &digest)).await {
            Err(StoreError::Driver(e)) if e.is_not_found() => Err(unknown()),
            r => r,
        }
    }

    /// A manifest's record and bytes.
    pub async fn get_manifest(
        &self,
        repo: &RepoName,
        reference: &Reference,
    ) -> Result<(ManifestLink, Bytes), StoreError> {
        let link = self.resolve(repo, reference).await?;
        let body = self.blob_bytes(&link.digest).await?;
        Ok((link, body))
    }

    /// Deletes a tag, or a manifest with every tag pointing at it and its referrer entry.
    pub async fn delete_manifest(
        &self,
        repo: &RepoName,
        reference: &Reference,
    ) -> Result<(), StoreError> {
        let unknown = || StoreError::ManifestUnknown {
            repo: repo.to_string(),
            reference: reference.to_string(),
        };
        match reference {
            Reference::Tag(t) => match self.driver().delete(&paths::tag(repo, t)).await {
                Err(e) if e.is_not_found() => Err(unknown()),
                r => Ok(r?),
            },
            Reference::Digest(d) => {
                let link = self.resolve(repo, reference).await?;
                if let Ok(body) = self.blob_bytes(&link.digest).await {
                    if let Ok(m) = Manifest::parse(&body, Some(&link.media_type)) {
                        if let Some(s) = m.subject {
                            let p = paths::referrer(repo, &s.digest, d);
                            ignore_missing(self.driver().delete(&p).await)?;
                        }
                    }
                }
                for tag in self.tags(repo).await.unwrap_or_default() {
                    if let Ok(rec) = self.tag_record(repo, &tag).await {
                        if rec.digest == *d {
                            ignore_missing(self.driver().delete(&paths::tag(repo, &tag)).await)?;
                        }
                    }
                }
                ignore_missing(self.driver().delete(&paths::revision(repo, d)).await)
            }
        }
    }

    /// The repository's tags in lexical order; `NameUnknown` if the repository does not exist.
    pub async fn tags(&self, repo: &RepoName) -> Result<Vec<String>, StoreError> {
        if !self.repo_exists(repo).await? {
            return Err(StoreError::NameUnknown {
                repo: repo.to_string(),
            });
        }
        list_or_empty(&**self.driver(), &paths::tags(repo)).await
    }

    /// One tag's record.
    pub async fn tag_record(&self, repo: &RepoName, tag: &str) -> Result<TagRecord, StoreError> {
        match self.read_json(&paths::tag(repo, tag)).await {
            Err(StoreError::Driver(e)) if e.is_not_found() => Err(StoreError::ManifestUnknown {
                repo: repo.to_string(),
                reference: tag.to_owned(),
            }),
            r => r,
        }
    }

    /// Every manifest the repository holds.
    pub async fn revisions(&self, repo: &RepoName) -> Result<Vec<Digest>, StoreError> {
        self.linked(&paths::revisions(repo)).await
    }

    /// The descriptors of the manifests whose subject is `subject`, optionally only those of one
    /// artifact type, sorted by digest for a stable order.
    pub async fn referrers(
        &self,
        repo: &RepoName,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Vec<Descriptor>, StoreError> {
        let dir = paths::referrers(repo, subject);
        let mut out = Vec::new();
        for entry in list_or_empty(&**self.driver(), &dir).await? {
            let desc: Descriptor = self.read_json(&format!("{dir}/{entry}")).await?;
            if artifact_type.is_none_or(|t| desc.artifact_type.as_deref() == Some(t)) {
                out.push(desc);
            }
        }
        out.sort_by(|a, b| a.digest.cmp(&b.digest));
        Ok(out)
    }
}

fn ignore_missing(r: Result<(), crate::storage::DriverError>) -> Result<(), StoreError> {
    match r {
        Err(e) if e.is_not_found() => Ok(()),
        r => Ok(r?),
    }
}
