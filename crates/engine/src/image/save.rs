//! `GET /images/get` and `GET /images/{name}/get` (`docker save`): images written as one tar
//! that is both a docker-archive (`manifest.json`, `repositories`) and an OCI image layout
//! (`oci-layout`, `index.json`, `blobs/`), as current dockerd writes it.
//!
//! Blobs are written exactly as stored — the layer blobs compressed as they were pulled,
//! imported or committed — so manifest digests survive a save/load round trip and nothing is
//! recompressed. Every blob is written once, however many images share it. The metadata
//! files come first and the layers last, base first, so a loader (ours) can unpack layers
//! while the archive streams in. All blobs are put under a lease before the first byte is
//! sent, so an `rmi` or prune meanwhile cannot pull them away.

use std::collections::{BTreeMap, HashSet};
use std::io::{self, BufWriter, Write};

use bytes::Bytes;
use oci::archive::{self, ArchiveEntry, Repositories};
use oci::{media_type, AnyReference, Descriptor, Digest, Index, Manifest, Reference};
use store::{ImageRecord, Lease, Store};
use tokio::sync::mpsc;

use super::channel::ChannelStream;
use super::ImageService;
use crate::error::{Error, MissingBlob, Result};

/// The archive as a stream of chunks; an error ends it early (the client sees a short body).
pub type SaveStream = ChannelStream<io::Result<Bytes>>;

/// One image to write, with the tags it is saved under.
struct Saved {
    rec: ImageRecord,
    tags: Vec<Reference>,
    config: Vec<u8>,
    manifest: (Descriptor, Vec<u8>),
}

impl ImageService {
    /// Resolves `names` (docker's rules: an ID or ID prefix saves the image untagged, `name`
    /// saves every tag of the repository, `name:tag` that tag) and starts writing the archive.
    /// Unknown names fail before anything is written.
    #[tracing::instrument(skip(self))]
    pub async fn save(&self, names: Vec<String>) -> Result<SaveStream> {
        if names.is_empty() {
            return Err(Error::invalid("no image names given to save"));
        }
        let (images, lease) = self
            .blocking(move |s| {
                let images = select(s, &names)?;
                let lease = s.lease().map_err(Error::from)?;
                let saved = images
                    .into_iter()
                    .map(|(rec, tags)| prepare(s, &lease, rec, tags))
                    .collect::<Result<Vec<_>>>()?;
                Ok((saved, lease))
            })
            .await?;
        let (tx, rx) = mpsc::channel(16);
        let store = self.store.clone();
        let events = self.events.clone();
        tokio::task::spawn_blocking(move || {
            let out = ChanWriter { tx: tx.clone() };
            match write_archive(&store, &images, out) {
                Ok(()) => {
                    for i in &images {
                        events.publish("image", "save", i.rec.id.as_str(), BTreeMap::new());
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "save failed");
                    let _ = tx.blocking_send(Err(e));
                }
            }
            drop(lease);
        });
        Ok(ChannelStream(rx))
    }
}

/// The images `names` select, each with its tags, in the order first named.
fn select(s: &Store, names: &[String]) -> Result<Vec<(ImageRecord, Vec<Reference>)>> {
    let mut out: Vec<(ImageRecord, Vec<Reference>)> = Vec::new();
    let mut add = |rec: ImageRecord, tag: Option<Reference>| {
        let i = match out.iter().position(|(r, _)| r.id == rec.id) {
            Some(i) => i,
            None => {
                out.push((rec, Vec::new()));
                out.len() - 1
            }
        };
        if let Some(t) = tag {
            if !out[i].1.contains(&t) {
                out[i].1.push(t);
            }
        }
    };
    for name in names {
        let named = match AnyReference::parse(name) {
            Ok(AnyReference::Named(r)) => Some(r),
            _ => None,
        };
        if let Some(r) = named
            .as_ref()
            .filter(|r| r.tag().is_none() && r.digest().is_none())
        {
            let repo = r.repository();
            let mut hits = Vec::new();
            for rec in s.images().map_err(Error::from)? {
                for t in rec.repo_tags.iter().filter(|t| t.repository() == repo) {
                    hits.push((rec.clone(), t.clone()));
                }
            }
            if !hits.is_empty() {
                for (rec, t) in hits {
                    add(rec, Some(t));
                }
                continue;
            }
        }
        let rec = s.resolve(name).map_err(Error::from)?;
        let tag = named
            .filter(|r| r.tag().is_some() && r.digest().is_none())
            .map(|r| r.with_default_tag());
        add(rec, tag);
    }
    Ok(out)
}

/// Collects what one image needs and puts its blobs under `lease`.
fn prepare(s: &Store, lease: &Lease, rec: ImageRecord, tags: Vec<Reference>) -> Result<Saved> {
    let mut digests = vec![rec.id.clone()];
    digests.extend(rec.layers.iter().map(|l| l.blob.digest.clone()));
    let stored = s.image_manifest(&rec.id).map_err(Error::from)?;
    if let Some((d, _)) = &stored {
        digests.push(d.digest.clone());
    }
    for d in &digests {
        if s.lease_blob(lease, d).map_err(Error::from)?.is_none() {
            return Err(MissingBlob::Save {
                image: rec.id.clone(),
                digest: d.clone(),
            }
            .into());
        }
    }
    let config = s.image_config(&rec.id).map_err(Error::from)?;
    let manifest = match stored {
        Some(m) => m,
        None => synthesize_manifest(&rec),
    };
    Ok(Saved {
        rec,
        tags,
        config,
        manifest,
    })
}

/// An OCI manifest for an image that has none stored (imported, committed or loaded from a
/// docker-archive): the config and the layer blobs as stored, with OCI media types.
/// Deterministic, so saving the same image twice gives the same digest.
pub(crate) fn synthesize_manifest(rec: &ImageRecord) -> (Descriptor, Vec<u8>) {
    let layers = rec
        .layers
        .iter()
        .map(|l| {
            let mt = media_type::layer_compression(&l.blob.media_type)
                .map(|c| media_type::layer_media_type(c, true).to_string())
                .unwrap_or_else(|| l.blob.media_type.clone());
            Descriptor::new(mt, l.blob.digest.clone(), l.blob.size)
        })
        .collect();
    let m = Manifest {
        schema_version: 2,
        media_type: Some(media_type::OCI_MANIFEST.into()),
        artifact_type: None,
        config: Descriptor::new(media_type::OCI_CONFIG, rec.id.clone(), rec.config_size),
        layers,
        subject: None,
        annotations: None,
        extra: Default::default(),
    };
    let bytes = m.to_vec();
    let d = Descriptor::new(
        media_type::OCI_MANIFEST,
        Digest::sha256_of(&bytes),
        bytes.len() as u64,
    );
    (d, bytes)
}

/// Writes chunks to the response stream; fails once the client is gone.
struct ChanWriter {
    tx: mpsc::Sender<io::Result<Bytes>>,
}

impl Write for ChanWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tx
            .blocking_send(Ok(Bytes::copy_from_slice(buf)))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "client went away"))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn header(size: u64, mode: u32, kind: tar::EntryType) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_size(size);
    h.set_mode(mode);
    h.set_mtime(0);
    h.set_uid(0);
    h.set_gid(0);
    h.set_entry_type(kind);
    h
}

fn add_file<W: Write>(b: &mut tar::Builder<W>, path: &str, data: &[u8]) -> io::Result<()> {
    let mut h = header(data.len() as u64, 0o644, tar::EntryType::Regular);
    b.append_data(&mut h, path, data)
}

fn write_archive<W: Write>(s: &Store, images: &[Saved], out: W) -> io::Result<()> {
    let mut b = tar::Builder::new(BufWriter::with_capacity(1 << 20, out));
    let (entries, repos, index) = metadata(images);
    for dir in ["blobs/", "blobs/sha256/"] {
        let mut h = header(0, 0o755, tar::EntryType::Directory);
        b.append_data(&mut h, dir, io::empty())?;
    }
    add_file(&mut b, archive::LAYOUT_FILE, &archive::layout_file())?;
    add_file(&mut b, archive::INDEX_FILE, &index.to_vec())?;
    let manifest_json = serde_json::to_vec(&entries).map_err(io::Error::other)?;
    add_file(&mut b, archive::MANIFEST_FILE, &manifest_json)?;
    if !repos.is_empty() {
        let r = serde_json::to_vec(&repos).map_err(io::Error::other)?;
        add_file(&mut b, archive::REPOSITORIES_FILE, &r)?;
    }
    let mut written: HashSet<Digest> = HashSet::new();
    for i in images {
        for (d, bytes) in [
            (&i.manifest.0.digest, &i.manifest.1),
            (&i.rec.id, &i.config),
        ] {
            if written.insert(d.clone()) {
                add_file(&mut b, &archive::blob_path(d), bytes)?;
            }
        }
    }
    for i in images {
        for l in &i.rec.layers {
            if !written.insert(l.blob.digest.clone()) {
                continue;
            }
            let f = s
                .content()
                .open_blob(&l.blob.digest)
                .map_err(|e| io::Error::other(e.to_string()))?;
            let size = f.metadata()?.len();
            let mut h = header(size, 0o644, tar::EntryType::Regular);
            b.append_data(&mut h, archive::blob_path(&l.blob.digest), f)?;
        }
    }
    b.into_inner()?.flush()
}

/// `manifest.json`, `repositories` and `index.json` for the images.
fn metadata(images: &[Saved]) -> (Vec<ArchiveEntry>, Repositories, Index) {
    let ids: HashSet<&Digest> = images.iter().map(|i| &i.rec.id).collect();
    let mut entries = Vec::new();
    let mut repos = Repositories::new();
    let mut manifests = Vec::new();
    for i in images {
        let top = i.rec.layers.last().map(|l| l.diff_id.hex().to_string());
        for t in &i.tags {
            if let (Some(tag), Some(top)) = (t.tag(), &top) {
                repos
                    .entry(t.familiar_name())
                    .or_default()
                    .insert(tag.to_string(), top.clone());
            }
            let mut d = i.manifest.0.clone();
            let mut ann = BTreeMap::new();
            ann.insert(archive::ANNOTATION_IMAGE_NAME.to_string(), t.to_string());
            if let Some(tag) = t.tag() {
                ann.insert(archive::ANNOTATION_REF_NAME.to_string(), tag.to_string());
            }
            d.annotations = Some(ann);
            manifests.push(d);
        }
        if i.tags.is_empty() {
            manifests.push(i.manifest.0.clone());
        }
        entries.push(ArchiveEntry {
            config: archive::blob_path(&i.rec.id),
            repo_tags: i.tags.iter().map(|t| t.familiar()).collect(),
            layers: i
                .rec
                .layers
                .iter()
                .map(|l| archive::blob_path(&l.blob.digest))
                .collect(),
            parent: i
                .rec
                .parent
                .as_ref()
                .filter(|p| ids.contains(p))
                .map(|p| p.to_string()),
            ..Default::default()
        });
    }
    let index = Index {
        schema_version: 2,
        media_type: Some(media_type::OCI_INDEX.into()),
        artifact_type: None,
        manifests,
        subject: None,
        annotations: None,
        extra: Default::default(),
    };
    (entries, repos, index)
}
