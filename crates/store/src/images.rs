//! Image records and references. An image is identified by its config digest (its ID); it is
//! reachable by references (`docker.io/library/busybox:latest` as a *tag*,
//! `docker.io/library/busybox@sha256:…` as a *repo digest*). A reference points at exactly
//! one image: tagging moves it, and an image left with none is "dangling" (`<none>:<none>`).
//!
//! `resolve` follows Docker's rules for what a user may type: a full `sha256:` ID, a bare hex
//! ID, a unique ID prefix, or a name with optional tag and digest.

use std::collections::BTreeMap;

use oci::reference::{id_prefix, ReferenceError};
use oci::{AnyReference, Descriptor, Digest, Reference};
use serde::{Deserialize, Serialize};

use crate::db::{MetaError, Reader, WriteTx};
use crate::ErrorKind;

pub(crate) const IMAGES: &str = "images";
pub(crate) const REFS: &str = "refs";

/// One layer of an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerRecord {
    /// The layer blob in the content store (compressed as stored).
    pub blob: Descriptor,
    /// Digest of the uncompressed tar.
    pub diff_id: Digest,
    /// Chain ID: also the name of the committed snapshot holding the unpacked layer.
    pub chain_id: Digest,
    /// Unpacked size (Docker's rule: file sizes, hard links once).
    pub size: u64,
}

/// An image as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageRecord {
    /// Image ID: digest of the config blob.
    pub id: Digest,
    /// Tags pointing here, sorted.
    #[serde(default)]
    pub repo_tags: Vec<Reference>,
    /// Repo digests (`name@sha256:…` of the manifest as pulled or pushed), sorted.
    #[serde(default)]
    pub repo_digests: Vec<Reference>,
    /// The config's `created`, verbatim.
    pub created: Option<String>,
    /// When this record was stored, nanoseconds since the epoch.
    pub added: u64,
    /// Sum of the layers' unpacked sizes.
    pub size: u64,
    /// Media type of the config blob.
    pub config_media_type: String,
    /// Size of the config blob.
    pub config_size: u64,
    /// Layers, base first.
    pub layers: Vec<LayerRecord>,
    /// The image this one was built or committed from, if known.
    pub parent: Option<Digest>,
    /// The manifest blob, when there is one in the content store.
    pub manifest: Option<Descriptor>,
    /// Free-form metadata for the engine (e.g. the last tag time).
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

impl ImageRecord {
    /// Chain ID of the top layer: the parent snapshot of containers made from this image.
    pub fn top_chain_id(&self) -> Option<&Digest> {
        self.layers.last().map(|l| &l.chain_id)
    }
}

/// Errors about images and references.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// Nothing matches (Docker's wording; the API maps it to 404).
    #[error("No such image: {reference}")]
    NotFound {
        /// What was asked for, as Docker prints it (`busybox:latest`, `sha256:…`).
        reference: String,
    },
    /// The request is not a valid reference.
    #[error(transparent)]
    InvalidReference(#[from] ReferenceError),
    /// Deleting an image that is still tagged (and not forced).
    #[error("conflict: unable to delete {id} (must be forced) - image is referenced in multiple repositories")]
    Tagged {
        /// The image's short ID.
        id: String,
    },
    /// Deleting an image other images were built from (and not forced).
    #[error(
        "conflict: unable to delete {id} (cannot be forced) - image has dependent child images"
    )]
    HasChildren {
        /// The image's short ID.
        id: String,
    },
    /// The metadata database failed.
    #[error(transparent)]
    Meta(#[from] MetaError),
}

impl ImageError {
    /// The error's category.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ImageError::NotFound { .. } => ErrorKind::NotFound,
            ImageError::InvalidReference(_) => ErrorKind::InvalidArgument,
            ImageError::Tagged { .. } | ImageError::HasChildren { .. } => ErrorKind::Conflict,
            ImageError::Meta(e) => e.kind(),
        }
    }
}

fn not_found(r: &str) -> ImageError {
    ImageError::NotFound {
        reference: r.to_string(),
    }
}

/// The record of image `id`.
pub(crate) fn get<R: Reader>(tx: &R, id: &Digest) -> Result<ImageRecord, ImageError> {
    tx.raw_get(IMAGES, id.as_str())?
        .ok_or_else(|| not_found(id.as_str()))
}

/// Every image.
pub(crate) fn list<R: Reader>(tx: &R) -> Result<Vec<ImageRecord>, ImageError> {
    Ok(tx
        .raw_list::<ImageRecord>(IMAGES, "")?
        .into_iter()
        .map(|(_, r)| r)
        .collect())
}

fn is_digest_ref(r: &Reference) -> bool {
    r.digest().is_some() && r.tag().is_none()
}

/// Points `reference` at image `id`, taking it from whichever image held it.
pub(crate) fn tag(tx: &mut WriteTx, reference: &Reference, id: &Digest) -> Result<(), ImageError> {
    let mut rec = get(tx, id)?;
    if let Some(prev) = tx.raw_get::<Digest>(REFS, &reference.to_string())? {
        if prev == *id {
            return Ok(());
        }
        drop_ref(tx, &prev, reference)?;
    }
    tx.raw_put(REFS, &reference.to_string(), id)?;
    let list = if is_digest_ref(reference) {
        &mut rec.repo_digests
    } else {
        &mut rec.repo_tags
    };
    list.push(reference.clone());
    list.sort();
    list.dedup();
    tx.raw_put(IMAGES, id.as_str(), &rec)?;
    Ok(())
}

fn drop_ref(tx: &mut WriteTx, id: &Digest, reference: &Reference) -> Result<(), ImageError> {
    if let Some(mut rec) = tx.raw_get::<ImageRecord>(IMAGES, id.as_str())? {
        rec.repo_tags.retain(|r| r != reference);
        rec.repo_digests.retain(|r| r != reference);
        tx.raw_put(IMAGES, id.as_str(), &rec)?;
    }
    Ok(())
}

/// Removes `reference`; returns the image it pointed at.
pub(crate) fn untag(tx: &mut WriteTx, reference: &Reference) -> Result<Digest, ImageError> {
    let key = reference.to_string();
    let id: Digest = tx
        .raw_get(REFS, &key)?
        .ok_or_else(|| not_found(&reference.familiar()))?;
    tx.raw_delete(REFS, &key)?;
    drop_ref(tx, &id, reference)?;
    Ok(id)
}

/// Stores a new or updated image record and points its references at it.
pub(crate) fn put(tx: &mut WriteTx, rec: &ImageRecord) -> Result<(), ImageError> {
    let mut stored = rec.clone();
    stored.repo_tags.clear();
    stored.repo_digests.clear();
    if let Some(old) = tx.raw_get::<ImageRecord>(IMAGES, rec.id.as_str())? {
        stored.repo_tags = old.repo_tags;
        stored.repo_digests = old.repo_digests;
    }
    tx.raw_put(IMAGES, rec.id.as_str(), &stored)?;
    for r in rec.repo_tags.iter().chain(&rec.repo_digests) {
        tag(tx, r, &rec.id)?;
    }
    Ok(())
}

/// Deletes image `id` and its references. Unless `force`, refuses when it is still tagged or
/// has child images. Blobs and snapshots are left to garbage collection.
pub(crate) fn delete(
    tx: &mut WriteTx,
    id: &Digest,
    force: bool,
) -> Result<ImageRecord, ImageError> {
    let rec = get(tx, id)?;
    let short = id.short_hex().to_string();
    if !force && !rec.repo_tags.is_empty() {
        return Err(ImageError::Tagged { id: short });
    }
    let children = list(tx)?.into_iter().any(|i| i.parent.as_ref() == Some(id));
    if children && !force {
        return Err(ImageError::HasChildren { id: short });
    }
    for r in rec.repo_tags.iter().chain(&rec.repo_digests) {
        tx.raw_delete(REFS, &r.to_string())?;
    }
    tx.raw_delete(IMAGES, id.as_str())?;
    Ok(rec)
}

/// Finds the image `s` names, by Docker's rules: an ID (`sha256:<64 hex>` or 64 hex), then a
/// reference (`name`, `name:tag`, `name@digest`; `latest` implied), then a unique ID prefix.
pub(crate) fn resolve<R: Reader>(tx: &R, s: &str) -> Result<ImageRecord, ImageError> {
    let named = match AnyReference::parse(s)? {
        AnyReference::Id(d) => return get(tx, &d).map_err(|_| not_found(s)),
        AnyReference::Named(r) => r,
    };
    let lookup = match (named.tag(), named.digest()) {
        // name:tag@digest: the digest decides.
        (Some(_), Some(d)) => named.name_only().with_digest(d.clone()),
        _ => named.clone().with_default_tag(),
    };
    if let Some(id) = tx.raw_get::<Digest>(REFS, &lookup.to_string())? {
        if let Ok(rec) = get(tx, &id) {
            return Ok(rec);
        }
    }
    if let Some(prefix) = id_prefix(s) {
        let key = format!("sha256:{prefix}");
        let hits = tx.raw_list::<ImageRecord>(IMAGES, &key)?;
        if hits.len() == 1 {
            return Ok(hits.into_iter().next().map(|(_, r)| r).expect("one hit"));
        }
    }
    Err(not_found(&lookup.familiar()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::MetaDb;

    fn rec(id: &Digest) -> ImageRecord {
        ImageRecord {
            id: id.clone(),
            repo_tags: vec![],
            repo_digests: vec![],
            created: None,
            added: 0,
            size: 0,
            config_media_type: oci::media_type::OCI_CONFIG.into(),
            config_size: 2,
            layers: vec![],
            parent: None,
            manifest: None,
            annotations: BTreeMap::new(),
        }
    }

    fn r(s: &str) -> Reference {
        Reference::parse_tagged(s).unwrap()
    }

    fn setup() -> (tempfile::TempDir, MetaDb, Digest, Digest) {
        let d = tempfile::tempdir().unwrap();
        let db = MetaDb::open(&d.path().join("m")).unwrap();
        let a = Digest::sha256_of(b"image a");
        let b = Digest::sha256_of(b"image b");
        db.write(|tx| {
            put(
                tx,
                &ImageRecord {
                    repo_tags: vec![r("busybox")],
                    ..rec(&a)
                },
            )?;
            put(tx, &rec(&b))
        })
        .unwrap();
        (d, db, a, b)
    }

    #[test]
    fn resolve_follows_dockers_rules() {
        let (_d, db, a, b) = setup();
        let got = |s: &str| db.read(|tx| resolve(tx, s)).map(|r| r.id);
        assert_eq!(got("busybox").unwrap(), a);
        assert_eq!(got("busybox:latest").unwrap(), a);
        assert_eq!(got("docker.io/library/busybox").unwrap(), a);
        assert_eq!(got(a.as_str()).unwrap(), a);
        assert_eq!(got(a.hex()).unwrap(), a);
        assert_eq!(got(&a.hex()[..12]).unwrap(), a);
        assert_eq!(got(&format!("sha256:{}", &b.hex()[..5])).unwrap(), b);
        let e = got("busybox:1").unwrap_err();
        assert_eq!(e.to_string(), "No such image: busybox:1");
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert_eq!(
            got("nothere").unwrap_err().to_string(),
            "No such image: nothere:latest"
        );
        let missing = Digest::sha256_of(b"zzz");
        assert_eq!(
            got(missing.as_str()).unwrap_err().to_string(),
            format!("No such image: {missing}")
        );
        assert_eq!(got("Bad").unwrap_err().kind(), ErrorKind::InvalidArgument);
    }

    #[test]
    fn ambiguous_prefixes_do_not_resolve() {
        let d = tempfile::tempdir().unwrap();
        let db = MetaDb::open(&d.path().join("m")).unwrap();
        // Two ids sharing the first hex digit.
        let mut ids = Vec::new();
        let mut i = 0u32;
        while ids.len() < 2 {
            let dg = Digest::sha256_of(&i.to_le_bytes());
            if dg.hex().starts_with('a') {
                ids.push(dg);
            }
            i += 1;
        }
        db.write(|tx| {
            put(tx, &rec(&ids[0]))?;
            put(tx, &rec(&ids[1]))
        })
        .unwrap();
        assert!(db.read(|tx| resolve(tx, "a")).is_err());
        assert_eq!(
            db.read(|tx| resolve(tx, &ids[1].hex()[..20])).unwrap().id,
            ids[1]
        );
    }

    #[test]
    fn tags_move_and_digest_references_resolve() {
        let (_d, db, a, b) = setup();
        db.write(|tx| tag(tx, &r("busybox"), &b)).unwrap();
        let (ra, rb) = db
            .read(|tx| Ok::<_, ImageError>((get(tx, &a)?, get(tx, &b)?)))
            .unwrap();
        assert!(ra.repo_tags.is_empty(), "a is dangling now");
        assert_eq!(rb.repo_tags, vec![r("busybox")]);
        let m = Digest::sha256_of(b"manifest");
        let dref = Reference::parse("localhost:5000/app")
            .unwrap()
            .with_digest(m.clone());
        db.write(|tx| tag(tx, &dref, &a)).unwrap();
        let got = db
            .read(|tx| resolve(tx, &format!("localhost:5000/app@{m}")))
            .unwrap();
        assert_eq!((got.id, got.repo_digests), (a.clone(), vec![dref.clone()]));
        let both = format!("localhost:5000/app:v9@{m}");
        assert_eq!(db.read(|tx| resolve(tx, &both)).unwrap().id, a);
        assert_eq!(db.write(|tx| untag(tx, &r("busybox"))).unwrap(), b);
        assert!(db.read(|tx| resolve(tx, "busybox")).is_err());
        assert!(matches!(
            db.write(|tx| untag(tx, &r("busybox"))),
            Err(ImageError::NotFound { .. })
        ));
    }

    #[test]
    fn delete_refuses_tagged_and_parents_unless_forced() {
        let (_d, db, a, b) = setup();
        let e = db.write(|tx| delete(tx, &a, false)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Conflict);
        let child = Digest::sha256_of(b"child");
        db.write(|tx| {
            put(
                tx,
                &ImageRecord {
                    parent: Some(b.clone()),
                    ..rec(&child)
                },
            )
        })
        .unwrap();
        assert!(matches!(
            db.write(|tx| delete(tx, &b, false)),
            Err(ImageError::HasChildren { .. })
        ));
        db.write(|tx| delete(tx, &a, true)).unwrap();
        assert!(db.read(|tx| resolve(tx, "busybox")).is_err());
        assert!(db
            .read(|tx| tx.raw_get::<Digest>(REFS, &r("busybox").to_string()))
            .unwrap()
            .is_none());
    }
}
