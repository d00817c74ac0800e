//! The second half of `docker load`: once the archive is read, which images it holds, and
//! recording them — unpacking the layers that were not unpacked while streaming, then one
//! image record (with its tags) per image, in one transaction each.
//!
//! An archive with an `index.json` is read as an OCI layout (its manifests are kept, so digests
//! survive); names come from the descriptors' annotations and from `manifest.json`'s
//! `RepoTags` for the same config. Without a usable index, `manifest.json` decides (a
//! docker-archive: no manifest is kept, layer media types are detected from the blobs).

use std::collections::BTreeMap;
use std::io::Read;

use oci::archive::{self, ArchiveEntry};
use oci::config::chain_ids;
use oci::{media_type, Compression, Descriptor, Digest, ImageConfig, Index, Manifest, Platform};
use oci::{AnyReference, Reference};
use store::{ImportOptions, LayerRecord, Lease, NewImage, Store};

use super::load::{
    detected_media_type, invalid, layer_error, stream_line, Files, Progress, Src, JSON_MAX,
};
use crate::error::{Error, Result};
use crate::events::EventBus;

/// One image found in the archive.
struct Found {
    config: Vec<u8>,
    config_media_type: String,
    /// The manifest as stored in the archive (OCI layout only).
    manifest: Option<(Vec<u8>, String)>,
    /// Layer blobs, base first (media type, digest, size).
    layers: Vec<Descriptor>,
    /// Where each layer is in the archive.
    paths: Vec<String>,
    names: Vec<Reference>,
    /// The `Parent` of `manifest.json`, if any.
    parent: Option<Digest>,
}

/// Records every image of the archive and reports each as loaded.
pub(crate) fn record(
    store: &Store,
    lease: &Lease,
    files: &Files,
    progress: &Progress,
    events: &EventBus,
) -> Result<()> {
    let entries = manifest_json(store, files)?;
    let mut found = match oci_images(store, files, &entries) {
        Some(f) => f?,
        None => match &entries {
            Some(e) => docker_images(store, files, e)?,
            None => {
                return Err(invalid(format!(
                    "it contains neither {} nor {}",
                    archive::MANIFEST_FILE,
                    archive::INDEX_FILE
                )))
            }
        },
    };
    let ids: Vec<Digest> = found.iter().map(|f| Digest::sha256_of(&f.config)).collect();
    for f in &mut found {
        // Only a parent loaded from the same archive is recorded (dockerd's rule).
        f.parent = f.parent.take().filter(|p| ids.contains(p));
    }
    for f in found {
        let layers = unpack(store, lease, files, progress, &f)?;
        let id = create(store, lease, f, layers, progress)?;
        events.publish("image", "load", id.as_str(), BTreeMap::new());
    }
    Ok(())
}

fn manifest_json(store: &Store, files: &Files) -> Result<Option<Vec<ArchiveEntry>>> {
    if files.get(archive::MANIFEST_FILE).is_none() {
        return Ok(None);
    }
    let bytes = files.bytes(store, archive::MANIFEST_FILE)?;
    let entries: Option<Vec<ArchiveEntry>> = serde_json::from_slice(&bytes)
        .map_err(|e| invalid(format!("failed to decode {}: {e}", archive::MANIFEST_FILE)))?;
    entries
        .map(Some)
        .ok_or_else(|| invalid("invalid manifest, manifest cannot be null (but can be [])"))
}

/// A blob of the archive, verified against its digest.
fn blob_bytes(store: &Store, files: &Files, d: &Descriptor) -> Result<Vec<u8>> {
    if d.size > JSON_MAX {
        return Err(invalid(format!("blob {} is too large", d.digest)));
    }
    let bytes = files.bytes(store, &archive::blob_path(&d.digest))?;
    if oci::Digest::compute(d.digest.algorithm(), &bytes) != d.digest {
        return Err(invalid(format!(
            "blob {} does not match its digest",
            d.digest
        )));
    }
    Ok(bytes)
}

/// The images of the OCI view; `None` when the archive has no usable `index.json`.
fn oci_images(
    store: &Store,
    files: &Files,
    entries: &Option<Vec<ArchiveEntry>>,
) -> Option<Result<Vec<Found>>> {
    let bytes = files.bytes(store, archive::INDEX_FILE).ok()?;
    let index = Index::from_slice(&bytes).ok()?;
    let mut out: Vec<Found> = Vec::new();
    for d in &index.manifests {
        let (m, mbytes, mt) = match pick_manifest(store, files, d) {
            Ok(Some(v)) => v,
            Ok(None) => continue,
            Err(e) => return Some(Err(e)),
        };
        let config = match blob_bytes(store, files, &m.config) {
            Ok(c) => c,
            Err(e) => return Some(Err(e)),
        };
        let mut names = names_of(d);
        let mut parent = None;
        let config_path = archive::blob_path(&m.config.digest);
        for e in entries.iter().flatten() {
            if files.get(&e.config).map(|(p, _)| p) == Some(config_path.as_str()) {
                names.extend(repo_tags(e));
                parent = e.parent.as_deref().and_then(|p| Digest::parse(p).ok());
            }
        }
        match out.iter_mut().find(|f| f.config == config) {
            Some(f) => f.names.extend(names),
            None => out.push(Found {
                config,
                config_media_type: m.config.media_type.clone(),
                manifest: Some((mbytes, mt)),
                paths: m
                    .layers
                    .iter()
                    .map(|l| archive::blob_path(&l.digest))
                    .collect(),
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
    store: &Store,
    files: &Files,
    d: &Descriptor,
) -> Result<Option<(Manifest, Vec<u8>, String)>> {
    let mut d = d.clone();
    for _ in 0..4 {
        if files.blob(&d.digest).is_none() {
            return Ok(None);
        }
        let bytes = blob_bytes(store, files, &d)?;
        if media_type::is_index(&d.media_type) {
            let idx =
                Index::from_slice(&bytes).map_err(|e| invalid(format!("{}: {e}", d.digest)))?;
            let Some(next) = idx.find_platform(&Platform::host()) else {
                return Ok(None);
            };
            d = next.clone();
            continue;
        }
        let m = Manifest::from_slice(&bytes).map_err(|e| invalid(format!("{}: {e}", d.digest)))?;
        let mt = m.media_type.clone().unwrap_or_else(|| d.media_type.clone());
        return Ok(Some((m, bytes, mt)));
    }
    Err(invalid("indexes nested too deeply"))
}

/// Names an `index.json` descriptor carries: containerd's full image name, or a reference
/// name that is a whole reference (a bare tag names no repository).
fn names_of(d: &Descriptor) -> Vec<Reference> {
    let ann = d.annotations.clone().unwrap_or_default();
    let parse = |s: &str| match AnyReference::parse(s) {
        Ok(AnyReference::Named(r)) if r.tag().is_some() && r.digest().is_none() => Some(r),
        _ => None,
    };
    if let Some(r) = ann
        .get(archive::ANNOTATION_IMAGE_NAME)
        .and_then(|s| parse(s))
    {
        return vec![r];
    }
    ann.get(archive::ANNOTATION_REF_NAME)
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
fn docker_images(store: &Store, files: &Files, entries: &[ArchiveEntry]) -> Result<Vec<Found>> {
    let mut out = Vec::new();
    for e in entries {
        for t in &e.repo_tags {
            match Reference::parse(t) {
                Ok(r) if r.tag().is_some() && r.digest().is_none() => {}
                _ => return Err(invalid(format!("invalid tag {t:?}"))),
            }
        }
        let config = files.bytes(store, &e.config)?;
        let mut layers = Vec::new();
        let mut paths = Vec::new();
        for l in &e.layers {
            let Some((path, src)) = files.get(l) else {
                return Err(invalid(format!("layer {l} is missing")));
            };
            layers.push(describe(store, src)?);
            paths.push(path.to_string());
        }
        out.push(Found {
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
fn describe(store: &Store, src: &Src) -> Result<Descriptor> {
    let (digest, size, head) = match src {
        Src::Mem(b) => (
            Digest::sha256_of(b),
            b.len() as u64,
            b[..b.len().min(8)].to_vec(),
        ),
        Src::Stored { digest, size } => {
            let mut head = Vec::with_capacity(8);
            let f = store
                .content()
                .open_blob(digest)
                .map_err(|source| Error::ReadBack {
                    what: format!("reading layer {digest} back"),
                    source,
                })?;
            f.take(8)
                .read_to_end(&mut head)
                .map_err(|e| Error::io("reading a layer back", e))?;
            (digest.clone(), *size, head)
        }
    };
    Ok(Descriptor::new(detected_media_type(&head), digest, size))
}

/// Unpacks (or finds already unpacked) every layer of `f`, base first.
fn unpack(
    store: &Store,
    lease: &Lease,
    files: &Files,
    progress: &Progress,
    f: &Found,
) -> Result<Vec<LayerRecord>> {
    let cfg =
        ImageConfig::from_slice(&f.config).map_err(|e| invalid(format!("image config: {e}")))?;
    if cfg.os != "linux" {
        return Err(Error::invalid(format!(
            "cannot load {} image on linux",
            cfg.os
        )));
    }
    let diff_ids = &cfg.rootfs.diff_ids;
    if diff_ids.len() != f.layers.len() {
        return Err(invalid(format!(
            "invalid manifest, layers length mismatch: expected {}, got {}",
            f.layers.len(),
            diff_ids.len()
        )));
    }
    let chains = chain_ids(diff_ids);
    let mut out = Vec::new();
    for (i, desc) in f.layers.iter().enumerate() {
        let parent = i.checked_sub(1).map(|p| &chains[p]);
        let src = files.get(&f.paths[i]).map(|(_, s)| s);
        let rec = unpack_one(store, lease, src, progress, desc, parent, &diff_ids[i])?;
        out.push(rec);
    }
    Ok(out)
}

fn unpack_one(
    store: &Store,
    lease: &Lease,
    src: Option<&Src>,
    progress: &Progress,
    desc: &Descriptor,
    parent: Option<&Digest>,
    diff_id: &Digest,
) -> Result<LayerRecord> {
    let err = |e| layer_error(&desc.digest, e);
    let chain = match parent {
        None => diff_id.clone(),
        Some(p) => chain_ids(&[p.clone(), diff_id.clone()])[1].clone(),
    };
    let record = |size| LayerRecord {
        blob: desc.clone(),
        diff_id: diff_id.clone(),
        chain_id: chain.clone(),
        size,
    };
    match src {
        Some(Src::Mem(bytes)) => {
            let r = progress.reader(&bytes[..], diff_id, bytes.len() as u64);
            if is_unnamed_compression(bytes) {
                return recompress(store, lease, r, parent, diff_id, &desc.digest);
            }
            Ok(store
                .ingest_and_unpack(lease, r, desc, parent, diff_id)
                .map_err(err)?
                .layer)
        }
        Some(Src::Stored { digest, size }) => {
            store.lease_blob(lease, digest).map_err(Error::from)?;
            let open = || {
                store
                    .content()
                    .open_blob(digest)
                    .map_err(|source| Error::ReadBack {
                        what: format!("reading layer {digest} back"),
                        source,
                    })
            };
            let mut head = Vec::with_capacity(8);
            open()?
                .take(8)
                .read_to_end(&mut head)
                .map_err(|e| Error::io("reading a layer back", e))?;
            let file = std::io::BufReader::with_capacity(1 << 20, open()?);
            let r = progress.reader(file, diff_id, *size);
            if is_unnamed_compression(&head) {
                return recompress(store, lease, r, parent, diff_id, &desc.digest);
            }
            // Most layers were unpacked while the archive streamed in.
            if let Some(s) = store.lease_layer(lease, &chain).map_err(Error::from)? {
                return Ok(record(s));
            }
            let u = store.unpack_layer(lease, r, parent, diff_id).map_err(err)?;
            Ok(record(u.size))
        }
        None => {
            // Not in the archive: fine when this daemon has it already.
            let size = store.lease_layer(lease, &chain).map_err(Error::from)?;
            let blob = store.lease_blob(lease, &desc.digest).map_err(Error::from)?;
            match (size, blob) {
                (Some(s), Some(_)) => Ok(record(s)),
                _ => Err(invalid(format!("layer {} is missing", desc.digest))),
            }
        }
    }
}

/// xz (and bzip2): compressions no layer media type names.
fn is_unnamed_compression(head: &[u8]) -> bool {
    matches!(
        oci::compression::detect(head),
        Compression::Xz | Compression::Bzip2
    )
}

/// A layer compressed in a way no layer media type names (xz): imported, stored as gzip.
fn recompress<R: Read + Send>(
    store: &Store,
    lease: &Lease,
    r: R,
    parent: Option<&Digest>,
    diff_id: &Digest,
    digest: &Digest,
) -> Result<LayerRecord> {
    let imported = store
        .import_layer(lease, r, parent, &ImportOptions::default())
        .map_err(|e| layer_error(digest, e))?;
    if imported.layer.diff_id != *diff_id {
        return Err(invalid(format!(
            "layer {digest}: diff ID mismatch, content hashes to {}",
            imported.layer.diff_id
        )));
    }
    Ok(imported.layer)
}

/// Records the image and its tags; reports what moved and what was loaded.
fn create(
    store: &Store,
    lease: &Lease,
    f: Found,
    layers: Vec<LayerRecord>,
    progress: &Progress,
) -> Result<Digest> {
    let id = Digest::sha256_of(&f.config);
    for r in &f.names {
        if let Ok(prev) = store.resolve(&r.to_string()) {
            if prev.id != id {
                progress.send(stream_line(format!(
                    "The image {} already exists, renaming the old one with ID {} to empty string\n",
                    r.familiar(),
                    prev.id
                )));
            }
        }
    }
    let names = f.names.clone();
    let rec = store
        .create_image(
            lease,
            NewImage {
                config: f.config,
                config_media_type: f.config_media_type,
                manifest: f.manifest,
                layers,
                repo_tags: names.clone(),
                parent: f.parent,
                ..Default::default()
            },
        )
        .map_err(|e| match e.kind() {
            oci::ErrorKind::InvalidArgument => invalid(e),
            _ => e.into(),
        })?;
    if names.is_empty() {
        progress.send(stream_line(format!("Loaded image ID: {}\n", rec.id)));
    }
    for r in &names {
        progress.send(stream_line(format!("Loaded image: {}\n", r.familiar())));
    }
    Ok(rec.id)
}
