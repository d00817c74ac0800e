//! `POST /images/load` (`docker load`): reads an image archive — a docker-archive
//! (`manifest.json`), an OCI image layout (`index.json`, `blobs/`), or both as current dockerd
//! and berth write them, plain or compressed (gzip, bzip2, xz, zstd) — in one pass over the
//! request body, and records its images. The format itself (walking the tar, finding the
//! images, planning layers) is `oci::archive`'s; this module decides where the bytes go.
//!
//! The tar is read once ([`reader`]). Small files (JSON, configs, manifests, tiny layers) are
//! kept in memory; large ones go to the content store as they stream in, verified against
//! their `blobs/<alg>/<hex>` name. When the archive's metadata came first (as berth writes
//! it), each layer blob is queued for unpacking as soon as its first bytes are stored, and
//! worker threads ([`workers`]) unpack several layers at once, each following its growing
//! ingest, while the reader goes on. Whatever is left is unpacked from the content store at
//! the end ([`record`]), which then records the images. Everything is held by one lease until
//! the images are recorded, so a crash or an error leaves no partial image and garbage
//! collection removes what was written.
//!
//! Progress: `{"status":"Loading layer","progressDetail":…,"id":<diff ID, 12 hex>}` per
//! layer unpacked (unless quiet), then `{"stream":"Loaded image: name:tag\n"}` per tag (or
//! `Loaded image ID: sha256:…` for an untagged image). Errors end the stream as an
//! `errorDetail` message; the HTTP status is 200 either way, as dockerd's.

mod progress;
mod reader;
mod record;
mod workers;

use std::io::{self, Read};
use std::sync::Mutex;

use api_types::JsonMessage;
use oci::archive::{Blobs, Files};
use oci::Digest;
use store::Store;
use tokio::io::AsyncRead;
use tokio::sync::mpsc;

use super::channel::ChannelStream;
use super::ImageService;
use crate::error::{Error, ErrorKind, Result};
use crate::events::EventBus;
use progress::Progress;
use workers::{Job, Shared};

/// Why the archive's content could not be stored or unpacked (the format's own errors are
/// `oci::archive::ArchiveError`). Every message starts as the archive errors do.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Reading a file of the archive failed.
    #[error("invalid archive: reading {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: io::Error,
    },
    /// A stored file does not match its `blobs/` name (or is cut short).
    #[error("invalid archive: {path}: {source}")]
    Blob {
        path: String,
        #[source]
        source: Box<store::StoreError>,
    },
    /// A layer does not unpack, or does not hash to its diff ID.
    #[error("invalid archive: layer {digest}: {source}")]
    Layer {
        digest: Digest,
        #[source]
        source: Box<store::StoreError>,
    },
    /// An image's layers do not agree with its config.
    #[error("invalid archive: {0}")]
    Image(#[source] Box<store::StoreError>),
}

impl LoadError {
    /// Always a bad archive.
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::InvalidArgument
    }
}

/// A layer failure: a bad archive when the layer is bad or missing, a store failure
/// otherwise.
pub(crate) fn layer_error(digest: &Digest, e: store::StoreError) -> Error {
    match e.kind() {
        ErrorKind::InvalidArgument | ErrorKind::NotFound => LoadError::Layer {
            digest: digest.clone(),
            source: Box::new(e),
        }
        .into(),
        _ => e.into(),
    }
}

/// The archive's stored files, read back from the content store.
struct StoreBlobs<'a>(&'a Store);

impl Blobs for StoreBlobs<'_> {
    fn read(&self, digest: &Digest) -> io::Result<Vec<u8>> {
        self.0.content().read(digest).map_err(io::Error::other)
    }

    fn head(&self, digest: &Digest, n: usize) -> io::Result<Vec<u8>> {
        let f = self
            .0
            .content()
            .open_blob(digest)
            .map_err(io::Error::other)?;
        let mut head = Vec::with_capacity(n);
        f.take(n as u64).read_to_end(&mut head)?;
        Ok(head)
    }
}

impl ImageService {
    /// Loads the archive read from `body`; the returned stream carries the progress and the
    /// result lines (see the module docs).
    #[tracing::instrument(skip(self, body))]
    pub fn load<R>(&self, body: R, quiet: bool) -> ChannelStream<JsonMessage>
    where
        R: AsyncRead + Send + Unpin + 'static,
    {
        let (tx, rx) = mpsc::channel(64);
        let store = self.store.clone();
        let events = self.events.clone();
        tokio::task::spawn_blocking(move || {
            let progress = Progress::new(tx, quiet);
            let reader = tokio_util::io::SyncIoBridge::new(body);
            if let Err(e) = load_blocking(&store, &events, reader, &progress) {
                tracing::info!(error = %e, "load failed");
                progress.send(JsonMessage::error(e.to_string()));
            }
            // Whatever the load wrote and no image took is garbage now.
            if let Err(e) = store.gc() {
                tracing::warn!(error = %e, "garbage collection after load");
            }
        });
        ChannelStream(rx)
    }
}

fn load_blocking<R: Read + Send>(
    store: &Store,
    events: &EventBus,
    body: R,
    progress: &Progress,
) -> Result<()> {
    let lease = store.lease()?;
    let shared = Shared::default();
    let (tx, rx) = std::sync::mpsc::sync_channel::<Job>(64);
    let rx = Mutex::new(rx);
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 4));
    let read: Result<Files> = std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| workers::run(store, &lease, progress, &rx, &shared));
        }
        let mut r = reader::Reader::new(store, &lease, tx, &shared);
        let res = r.read_all(body);
        // Closing the queue lets the workers finish what is queued and stop.
        let files = r.finish();
        if res.is_err() {
            shared.fail(None);
        }
        res.map(|()| files)
    });
    if let Some(e) = shared.take_error() {
        return Err(e);
    }
    let files = read?;
    record::record(store, &lease, &files, progress, events)?;
    lease.release()?;
    Ok(())
}
