//! Which images an archive holds, once its files are known ([`images`]), and which layer each
//! blob path is as soon as the metadata read so far says so ([`layer_plan`], what lets a
//! reader unpack layers while the archive still streams in).
//!
//! An archive with a usable `index.json` is read as an OCI layout (its manifests are kept, so
//! digests survive); names come from the descriptors' annotations and from `manifest.json`'s
//! `RepoTags` for the same config. Without one, `manifest.json` decides (a docker-archive: no
//! manifest is kept, layer media types are detected from the blobs' first bytes).

use std::collections::HashMap;

use super::files::{Blobs, Content, Files, JSON_MAX};
use super::{
    blob_path, clean_path, ArchiveEntry, ArchiveError, ANNOTATION_IMAGE_NAME, ANNOTATION_REF_NAME,
    INDEX_FILE, MANIFEST_FILE,
};
use crate::config::chain_ids;
use crate::{compression, Reference};
use crate::{media_type, AnyReference, Descriptor, Digest, ImageConfig, Index, Manifest, Platform};

/// One image of an archive.
#[derive(Debug, Clone, PartialEq)]
pub struct FoundImage {
    /// The config, as stored.
    pub config: Vec<u8>,
    /// Its media type.
    pub config_media_type: String,
    /// The manifest as stored in the archive (OCI layout only) and its media type.
    pub manifest: Option<(Vec<u8>, String)>,
    /// Layer blobs, base first.
    pub layers: Vec<Descriptor>,
    /// Where each layer is in the archive.
    pub paths: Vec<String>,
    /// Its names (`RepoTags`, annotations).
    pub names: Vec<Reference>,
    /// The image it was made from, when that one is in the same archive.
    pub parent: Option<Digest>,
}

impl FoundImage {
    /// The config's diff IDs, checked: a Linux image with one diff ID per layer.
    pub fn diff_ids(&self) -> Result<Vec<Digest>, ArchiveError> {
        let cfg = ImageConfig::from_slice(&self.config)
            .map_err(|e| ArchiveError::invalid(format!("image config: {e}")))?;
        if cfg.os != "linux" {
            return Err(ArchiveError::WrongOs(cfg.os));
        }
        if cfg.rootfs.diff_ids.len() != self.layers.len() {
            return Err(ArchiveError::invalid(format!(
                "invalid manifest, layers length mismatch: expected {}, got {}",
                self.layers.len(),
                cfg.rootfs.diff_ids.len()
            )));
        }
        Ok(cfg.rootfs.diff_ids)
    }
}

/// Every image of the archive whose files are `files` (stored ones read back from `blobs`).
pub fn images(files: &Files, blobs: &dyn Blobs) -> Result<Vec<FoundImage>, ArchiveError> {
    let entries = manifest_json(files, blobs)?;
    let mut found = match oci_images(files, blobs, &entries) {
        Some(f) => f?,
        None => match &entries {
            Some(e) => docker_images(files, blobs, e)?,
            None => {
                return Err(ArchiveError::invalid(format!(
                    "it contains neither {MANIFEST_FILE} nor {INDEX_FILE}"
                )))
            }
        },
    };
    let ids: Vec<Digest> = found.iter().map(|f| Digest::sha256_of(&f.config)).collect();
    for f in &mut found {
        // Only a parent loaded from the same archive is recorded (dockerd's rule).
        f.parent = f.parent.take().filter(|p| ids.contains(p));
    }
    Ok(found)
}

fn manifest_json(
    files: &Files,
    blobs: &dyn Blobs,
) -> Result<Option<Vec<ArchiveEntry>>, ArchiveError> {
    if files.get(MANIFEST_FILE).is_none() {
        return Ok(None);
    }
    let bytes = files.bytes(blobs, MANIFEST_FILE)?;
    let entries: Option<Vec<ArchiveEntry>> = serde_json::from_slice(&bytes)
        .map_err(|e| ArchiveError::invalid(format!("failed to decode {MANIFEST_FILE}: {e}")))?;
    entries.map(Some).ok_or_else(|| {
        ArchiveError::invalid("invalid manifest, manifest cannot be null (but can be [])")
    })
}

/// A blob of the archive, verified against its digest.
fn blob_bytes(files: &Files, blobs: &dyn Blobs, d: &Descriptor) -> Result<Vec<u8>, ArchiveError> {
    if d.size > JSON_MAX {
        return Err(ArchiveError::invalid(format!(
            "blob {} is too large",
            d.digest
        )));
    }
    let bytes = files.bytes(blobs, &blob_path(&d.digest))?;
    if Digest::compute(d.digest.algorithm(), &bytes) != d.digest {
        return Err(ArchiveError::invalid(format!(
            "blob {} does not match its digest",
            d.digest
        )));
    }
    Ok(bytes)
}

/// The images of the OCI view; `None` when the archive has no usable `index.json`.
fn oci_images(
    files: &Files,
    blobs: &dyn Blobs,
    entries: &Option<Vec<ArchiveEntry>>,
) -> Option<Result<Vec<FoundImage>, ArchiveError>> {
    let bytes = files.bytes(blobs, INDEX_FILE).ok()?;
    let index = Index::from_slice(&bytes).ok()?;
    let mut out: Vec<FoundImage> = Vec::new();
    for d in &index.manifests {
        let (m, mbytes, mt) = match pick_manifest(files, blobs, d) {
            Ok(Some(v)) => v,
            Ok(None) => continue,
            Err(e) => return Some(Err(e)),
        };
        let config = match blob_bytes(files, blobs, &m.config) {
            Ok(c) => c,
            Err(e) => return Some(Err(e)),
        };
        let mut names = names_of(d);
        let mut parent = None;
        let config_path = blob_path(&m.config.digest);
        for e in entries.iter().flatten() {
            if files.get(&e.config).map(|(p, _)| p) == Some(config_path.as_str()) {
                names.extend(repo_tags(e));
                parent = e.parent.as_deref().and_then(|p| Digest::parse(p).ok());
            }
        }
        match out.iter_mut().find(|f| f.config == config) {
            Some(f) => f.names.extend(names),
            None => out.push(FoundImage {
                config,
                config_media_type: m.config.media_type.clone(),
                manifest: Some((mbytes, mt)),
                paths: m.layers.iter().map(|l| blob_path(&l.digest)).collect(),
                layers: m.layers.clone(),
                names,
                parent,
            }),
        }
    }
    if out.is_empty() {
        return None;
    }
    for f in &mut out {
        f.names.sort();
        f.names.dedup();
    }
    Some(Ok(out))
}

/// The manifest a descriptor of `index.json` leads to (for a nested index: this host's
/// platform); `None` when it is not in the archive (a platform not saved).
fn pick_manifest(
    files: &Files,
    blobs: &dyn Blobs,
    d: &Descriptor,
) -> Result<Option<(Manifest, Vec<u8>, String)>, ArchiveError> {
    let mut d = d.clone();
    for _ in 0..4 {
        if files.blob(&d.digest).is_none() {
            return Ok(None);
        }
        let bytes = blob_bytes(files, blobs, &d)?;
        let bad = |e: &dyn std::fmt::Display| ArchiveError::invalid(format!("{}: {e}", d.digest));
        if media_type::is_index(&d.media_type) {
            let idx = Index::from_slice(&bytes).map_err(|e| bad(&e))?;
            let Some(next) = idx.find_platform(&Platform::host()) else {
                return Ok(None);
            };
            d = next.clone();
            continue;
        }
        let m = Manifest::from_slice(&bytes).map_err(|e| bad(&e))?;
        let mt = m.media_type.clone().unwrap_or_else(|| d.media_type.clone());
        return Ok(Some((m, bytes, mt)));
    }
    Err(ArchiveError::invalid("indexes nested too deeply"))
}

/// Names an `index.json` descriptor carries: containerd's full image name, or a reference
/// name that is a whole reference (a bare tag names no repository).
fn names_of(d: &Descriptor) -> Vec<Reference> {
    let ann = d.annotations.clone().unwrap_or_default();
    let parse = |s: &str| match AnyReference::parse(s) {
        Ok(AnyReference::Named(r)) if r.tag().is_some() && r.digest().is_none() => Some(r),
        _ => None,
    };
    if let Some(r) = ann.get(ANNOTATION_IMAGE_NAME).and_then(|s| parse(s)) {
        return vec![r];
    }
    ann.get(ANNOTATION_REF_NAME)
        .filter(|s| s.contains(':') || s.contains('/'))
        .and_then(|s| parse(s))
        .into_iter()
        .collect()
}

fn repo_tags(e: &ArchiveEntry) -> Vec<Reference> {
    e.repo_tags
        .iter()
        .filter_map(|t| Reference::parse(t).ok())
        .filter(|r| r.tag().is_some() && r.digest().is_none())
        .collect()
}

/// The images of `manifest.json` (docker-archive).
fn docker_images(
    files: &Files,
    blobs: &dyn Blobs,
    entries: &[ArchiveEntry],
) -> Result<Vec<FoundImage>, ArchiveError> {
    let mut out = Vec::new();
    for e in entries {
        for t in &e.repo_tags {
            match Reference::parse(t) {
                Ok(r) if r.tag().is_some() && r.digest().is_none() => {}
                _ => return Err(ArchiveError::invalid(format!("invalid tag {t:?}"))),
            }
        }
        let config = files.bytes(blobs, &e.config)?;
        let mut layers = Vec::new();
        let mut paths = Vec::new();
        for l in &e.layers {
            let Some((path, content)) = files.get(l) else {
                return Err(ArchiveError::invalid(format!("layer {l} is missing")));
            };
            layers.push(describe(blobs, content)?);
            paths.push(path.to_string());
        }
        out.push(FoundImage {
            config,
            config_media_type: media_type::DOCKER_CONFIG.into(),
            manifest: None,
            layers,
            paths,
            names: repo_tags(e),
            parent: e.parent.as_deref().and_then(|p| Digest::parse(p).ok()),
        });
    }
    Ok(out)
}

/// A descriptor for a layer file of a docker-archive: its digest, size and (detected)
/// compression.
fn describe(blobs: &dyn Blobs, content: &Content) -> Result<Descriptor, ArchiveError> {
    let head = content.head(blobs, 8)?;
    let (digest, size) = match content {
        Content::Mem(b) => (Digest::sha256_of(b), b.len() as u64),
        Content::Stored { digest, size } => (digest.clone(), *size),
    };
    Ok(Descriptor::new(detected_media_type(&head), digest, size))
}

/// The OCI layer media type for a layer whose first bytes are `head`.
pub fn detected_media_type(head: &[u8]) -> &'static str {
    media_type::layer_media_type(compression::detect(head), true)
}

/// A layer the metadata read so far announces: what it is and what it stacks on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedLayer {
    /// Its diff ID.
    pub diff_id: Digest,
    /// The chain ID of the layer below, if any.
    pub parent: Option<Digest>,
}

/// The layers the in-memory metadata announces, by blob path: from `index.json` (manifests
/// and configs in memory) and from `manifest.json` (configs in memory).
pub fn layer_plan(files: &Files) -> HashMap<String, PlannedLayer> {
    let mut out = HashMap::new();
    let mut add = |paths: Vec<String>, cfg: &[u8]| {
        let Ok(cfg) = ImageConfig::from_slice(cfg) else {
            return;
        };
        let diff_ids = &cfg.rootfs.diff_ids;
        if diff_ids.len() != paths.len() {
            return;
        }
        let chains = chain_ids(diff_ids);
        for (i, path) in paths.into_iter().enumerate() {
            out.entry(path).or_insert_with(|| PlannedLayer {
                diff_id: diff_ids[i].clone(),
                parent: i.checked_sub(1).map(|p| chains[p].clone()),
            });
        }
    };
    if let Some(index) = files
        .mem(INDEX_FILE)
        .and_then(|b| Index::from_slice(b).ok())
    {
        for d in &index.manifests {
            let Some(m) = files
                .mem(&blob_path(&d.digest))
                .and_then(|b| Manifest::from_slice(b).ok())
            else {
                continue;
            };
            if let Some(cfg) = files.mem(&blob_path(&m.config.digest)) {
                add(m.layers.iter().map(|l| blob_path(&l.digest)).collect(), cfg);
            }
        }
    }
    let entries: Vec<ArchiveEntry> = files
        .mem(MANIFEST_FILE)
        .and_then(|b| serde_json::from_slice(b).ok())
        .unwrap_or_default();
    for e in entries {
        if let Some(cfg) = files.get(&e.config).and_then(|(p, _)| files.mem(p)) {
            let paths = e
                .layers
                .iter()
                .filter_map(|l| {
                    files
                        .get(l)
                        .map(|(p, _)| p.to_string())
                        .or_else(|| clean_path(l))
                })
                .collect();
            add(paths, cfg);
        }
    }
    out
}
