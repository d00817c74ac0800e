//! The second half of `docker load`: once the archive is read, the images it holds
//! (`oci::archive::images`) are recorded — the layers not unpacked while streaming are
//! unpacked now, then one image record (with its tags) per image, in one transaction each.

use std::collections::BTreeMap;
use std::io::Read;

use oci::archive::{self, Content as ArchiveContent, Files, FoundImage};
use oci::config::chain_ids;
use oci::{Compression, Descriptor, Digest};
use store::{Content, ImportOptions, LayerRecord, Lease, NewImage, Store, Unpack};

use super::progress::{stream_line, Progress};
use super::{layer_error, LoadError, StoreBlobs};
use crate::error::{Error, ErrorKind, Result};
use crate::events::EventBus;

/// Records every image of the archive and reports each as loaded.
pub(super) fn record(
    store: &Store,
    lease: &Lease,
    files: &Files,
    progress: &Progress,
    events: &EventBus,
) -> Result<()> {
    for f in archive::images(files, &StoreBlobs(store))? {
        let layers = unpack(store, lease, files, progress, &f)?;
        let id = create(store, lease, f, layers, progress)?;
        events.publish("image", "load", id.as_str(), BTreeMap::new());
    }
    Ok(())
}

/// Unpacks (or finds already unpacked) every layer of `f`, base first.
fn unpack(
    store: &Store,
    lease: &Lease,
    files: &Files,
    progress: &Progress,
    f: &FoundImage,
) -> Result<Vec<LayerRecord>> {
    let diff_ids = f.diff_ids()?;
    let chains = chain_ids(&diff_ids);
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
    src: Option<&ArchiveContent>,
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
        Some(ArchiveContent::Mem(bytes)) => {
            let r = progress.reader(&bytes[..], diff_id, bytes.len() as u64);
            if is_unnamed_compression(bytes) {
                return recompress(store, lease, r, parent, diff_id, &desc.digest);
            }
            let content = Content::Blob {
                blob: desc,
                diff_id,
            };
            let u = store
                .unpack(lease, r, Unpack::on(parent, content))
                .map_err(err)?;
            Ok(record(u.size))
        }
        Some(stored @ ArchiveContent::Stored { digest, size }) => {
            store.lease_blob(lease, digest)?;
            let head = stored.head(&StoreBlobs(store), 8)?;
            let open = || {
                store
                    .content()
                    .open_blob(digest)
                    .map_err(|source| Error::ReadBack {
                        what: format!("reading layer {digest} back"),
                        source,
                    })
            };
            let file = std::io::BufReader::with_capacity(1 << 20, open()?);
            let r = progress.reader(file, diff_id, *size);
            if is_unnamed_compression(&head) {
                return recompress(store, lease, r, parent, diff_id, &desc.digest);
            }
            // Most layers were unpacked while the archive streamed in.
            if let Some(s) = store.lease_layer(lease, &chain)? {
                return Ok(record(s));
            }
            let u = store
                .unpack(lease, r, Unpack::on(parent, Content::Layer { diff_id }))
                .map_err(err)?;
            Ok(record(u.size))
        }
        None => {
            // Not in the archive: fine when this daemon has it already.
            let size = store.lease_layer(lease, &chain)?;
            let blob = store.lease_blob(lease, &desc.digest)?;
            match (size, blob) {
                (Some(s), Some(_)) => Ok(record(s)),
                _ => Err(archive::ArchiveError::invalid(format!(
                    "layer {} is missing",
                    desc.digest
                ))
                .into()),
            }
        }
    }
}

/// xz and bzip2: compressions no layer media type names.
fn is_unnamed_compression(head: &[u8]) -> bool {
    matches!(
        oci::compression::detect(head),
        Compression::Xz | Compression::Bzip2
    )
}

/// A layer compressed in a way no layer media type names (xz, bzip2): unpacked and stored
/// as gzip, its diff ID checked.
fn recompress<R: Read + Send>(
    store: &Store,
    lease: &Lease,
    r: R,
    parent: Option<&Digest>,
    diff_id: &Digest,
    digest: &Digest,
) -> Result<LayerRecord> {
    let opts = ImportOptions::default();
    let content = Content::Tarball {
        opts: &opts,
        expect: Some(diff_id),
    };
    let u = store
        .unpack(lease, r, Unpack::on(parent, content))
        .map_err(|e| layer_error(digest, e))?;
    Ok(u.layer().expect("a tarball keeps a blob"))
}

/// Records the image and its tags; reports what moved and what was loaded.
fn create(
    store: &Store,
    lease: &Lease,
    f: FoundImage,
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
            ErrorKind::InvalidArgument => LoadError::Image(Box::new(e)).into(),
            _ => Error::from(e),
        })?;
    if names.is_empty() {
        progress.send(stream_line(format!("Loaded image ID: {}\n", rec.id)));
    }
    for r in &names {
        progress.send(stream_line(format!("Loaded image: {}\n", r.familiar())));
    }
    Ok(rec.id)
}
