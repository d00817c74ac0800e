//! `POST /images/load` (`docker load`): reads an image archive — a docker-archive
//! (`manifest.json`), an OCI image layout (`index.json`, `blobs/`), or both as current dockerd
//! and berth write them — in one pass over the request body, and records its images.
//!
//! The tar is read once. Small files (JSON, configs, manifests, tiny layers) are kept in
//! memory; large ones go to the content store as they stream in, verified against their
//! `blobs/<alg>/<hex>` name. When the archive's metadata came first (as berth writes it), each
//! layer blob is queued for unpacking as soon as it is stored, and worker threads unpack
//! several layers at once while the reader goes on (`load_workers`). Whatever is left is
//! unpacked from the content store at the end (`load_images`). Everything is held by one
//! lease until the images are recorded, so a crash or an error leaves no partial image and
//! garbage collection removes what was written.
//!
//! Progress: `{"status":"Loading layer","progressDetail":…,"id":<diff ID, 12 hex>}` per
//! layer unpacked (unless quiet), then `{"stream":"Loaded image: name:tag\n"}` per tag (or
//! `Loaded image ID: sha256:…` for an untagged image). Errors end the stream as an
//! `errorDetail` message; the HTTP status is 200 either way, as dockerd's.

use std::collections::{HashMap, HashSet};
use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex};

use api_types::{JsonMessage, ProgressDetail};
use oci::archive::{self, ArchiveEntry};
use oci::config::chain_ids;
use oci::{Digest, ImageConfig, Index, Manifest};
use store::{Lease, Store};
use tokio::io::AsyncRead;
use tokio::sync::mpsc;

use super::channel::ChannelStream;
use super::load_workers::{self, Growth, Job, Shared, Tail};
use super::ImageService;
use crate::error::{Error, Result};
use crate::events::EventBus;

/// Files up to this size are kept in memory while the archive is read.
const SMALL: u64 = 1 << 20;
/// Memory allowed for small files in total; past it they go to the content store too.
const SMALL_TOTAL: u64 = 256 << 20;
/// Largest JSON document (manifest.json, index.json, a config or manifest) accepted.
pub(crate) const JSON_MAX: u64 = 64 << 20;
/// A layer's progress is reported every this many bytes.
const PROGRESS_EVERY: u64 = 512 << 10;

/// Where a file of the archive ended up.
pub(crate) enum Src {
    /// Kept in memory.
    Mem(Vec<u8>),
    /// In the content store (held by the load's lease).
    Stored { digest: Digest, size: u64 },
}

/// The archive's files: regular files by cleaned path, and links (symbolic or hard) to them.
#[derive(Default)]
pub(crate) struct Files {
    pub(crate) files: HashMap<String, Src>,
    links: HashMap<String, String>,
    mem_total: u64,
}

impl Files {
    /// The file `path` names, following links (bounded).
    pub(crate) fn get(&self, path: &str) -> Option<(&str, &Src)> {
        let mut p = archive::clean_path(path)?;
        for _ in 0..16 {
            if let Some((k, src)) = self.files.get_key_value(&p) {
                return Some((k.as_str(), src));
            }
            p = self.links.get(&p)?.clone();
        }
        None
    }

    /// The blob `d` (by its `blobs/` path).
    pub(crate) fn blob(&self, d: &Digest) -> Option<&Src> {
        self.get(&archive::blob_path(d)).map(|(_, s)| s)
    }

    /// The bytes of a (small) file, from memory or the content store.
    pub(crate) fn bytes(&self, store: &Store, path: &str) -> Result<Vec<u8>> {
        match self.get(path) {
            Some((_, Src::Mem(b))) => Ok(b.clone()),
            Some((_, Src::Stored { digest, size })) if *size <= JSON_MAX => store
                .content()
                .read(digest)
                .map_err(|source| Error::ReadBack {
                    what: format!("reading {path} of the archive back"),
                    source,
                }),
            Some(_) => Err(invalid(format!("{path} is too large"))),
            None => Err(invalid(format!("{path} is missing"))),
        }
    }

    fn mem(&self, path: &str) -> Option<&[u8]> {
        match self.get(path) {
            Some((_, Src::Mem(b))) => Some(b),
            _ => None,
        }
    }
}

/// A `{"stream":…}` line, as dockerd's stdout writer wraps plain text.
pub(crate) fn stream_line(text: String) -> JsonMessage {
    JsonMessage {
        stream: Some(text),
        ..Default::default()
    }
}

/// A bad archive: `invalid archive: …`.
pub(crate) fn invalid(msg: impl std::fmt::Display) -> Error {
    Error::invalid(format!("invalid archive: {msg}"))
}

/// Sends progress and result lines to the response.
pub(crate) struct Progress {
    tx: mpsc::Sender<JsonMessage>,
    pub(crate) quiet: bool,
}

impl Progress {
    pub(crate) fn send(&self, m: JsonMessage) {
        // A client that went away stops reading: the body read fails soon after.
        let _ = self.tx.blocking_send(m);
    }

    /// Wraps a layer's reader so its progress is reported as it is read.
    pub(crate) fn reader<'a, R: Read>(
        &'a self,
        inner: R,
        diff_id: &Digest,
        total: u64,
    ) -> Counting<'a, R> {
        Counting {
            inner,
            progress: self,
            silent: self.quiet,
            id: diff_id.hex().chars().take(12).collect(),
            total,
            current: 0,
            last: 0,
        }
    }
}

/// A reader that reports `Loading layer` progress every [`PROGRESS_EVERY`] bytes.
pub(crate) struct Counting<'a, R> {
    inner: R,
    progress: &'a Progress,
    silent: bool,
    id: String,
    total: u64,
    current: u64,
    last: u64,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.current += n as u64;
        let done = n == 0 || self.current >= self.total;
        if !self.silent
            && (self.current - self.last >= PROGRESS_EVERY || (done && self.current > self.last))
        {
            self.last = self.current;
            let mut m = JsonMessage::status_id("Loading layer", self.id.clone());
            m.progress_detail = Some(ProgressDetail {
                current: Some(self.current as i64),
                total: Some(self.total as i64),
            });
            m.progress = Some(super::progress::bar_string(self.current, self.total));
            self.progress.send(m);
        }
        Ok(n)
    }
}

/// A layer the metadata read so far announces: what it is and what it stacks on.
#[derive(Clone)]
struct Planned {
    diff_id: Digest,
    parent: Option<Digest>,
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
            let progress = Progress { tx, quiet };
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
    let lease = store.lease().map_err(Error::from)?;
    let shared = Shared::default();
    let (tx, rx) = std::sync::mpsc::sync_channel::<Job>(64);
    let rx = Mutex::new(rx);
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 4));
    let read = std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| load_workers::run(store, &lease, progress, &rx, &shared));
        }
        let mut r = Reader {
            store,
            lease: &lease,
            files: Files::default(),
            plan: HashMap::new(),
            plan_dirty: false,
            jobs: Some(tx),
            queued: HashSet::new(),
            shared: &shared,
        };
        let res = r.read_all(body);
        // Closing the queue lets the workers finish what is queued and stop.
        r.jobs = None;
        if res.is_err() {
            shared.fail(None);
        }
        res.map(|()| r.files)
    });
    if let Some(e) = shared.take_error() {
        return Err(e);
    }
    let files = read?;
    super::load_images::record(store, &lease, &files, progress, events)?;
    lease.release().map_err(Error::from)?;
    Ok(())
}

/// Reads the archive's entries in order.
struct Reader<'a> {
    store: &'a Store,
    lease: &'a Lease,
    files: Files,
    /// Layers announced by the metadata read so far, by cleaned path.
    plan: HashMap<String, Planned>,
    plan_dirty: bool,
    /// Where stored layers go to be unpacked; `None` once the archive is read.
    jobs: Option<std::sync::mpsc::SyncSender<Job>>,
    /// Chain IDs queued (or found present) during this load.
    queued: HashSet<Digest>,
    shared: &'a Shared,
}

impl Reader<'_> {
    fn read_all<R: Read + Send>(&mut self, body: R) -> Result<()> {
        let mut ar = tar::Archive::new(io::BufReader::with_capacity(1 << 20, body));
        let entries = ar
            .entries()
            .map_err(|e| invalid(format!("reading the tar: {e}")))?;
        let mut seen = false;
        for entry in entries {
            if self.shared.failed() {
                // A worker failed: its error is the load's; stop reading.
                return Ok(());
            }
            let mut entry = entry.map_err(|e| invalid(format!("reading the tar: {e}")))?;
            seen = true;
            let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let kind = entry.header().entry_type();
            if kind.is_dir() {
                continue;
            }
            let Some(path) = archive::clean_path(&raw) else {
                if raw.trim_matches(['.', '/']).is_empty() {
                    continue;
                }
                return Err(invalid(format!("entry {raw:?} points outside the archive")));
            };
            if kind.is_symlink() || kind.is_hard_link() {
                self.link(&path, &mut entry, kind.is_symlink())?;
            } else if kind.is_file() {
                self.file(path, &mut entry)?;
            }
        }
        if !seen {
            return Err(invalid("the archive is empty (is it a tar?)"));
        }
        Ok(())
    }

    fn link<R: Read>(&mut self, path: &str, e: &mut tar::Entry<'_, R>, sym: bool) -> Result<()> {
        let target = e
            .link_name_bytes()
            .map(|t| String::from_utf8_lossy(&t).into_owned())
            .unwrap_or_default();
        let resolved = if sym {
            archive::resolve_link(path, &target)
        } else {
            archive::clean_path(&target)
        };
        let Some(t) = resolved else {
            return Err(invalid(format!("link {path} points outside the archive")));
        };
        self.files.links.insert(path.to_string(), t);
        Ok(())
    }

    fn file<R: Read + Send>(&mut self, path: String, e: &mut tar::Entry<'_, R>) -> Result<()> {
        let size = e.size();
        let is_meta = matches!(
            path.as_str(),
            archive::MANIFEST_FILE | archive::INDEX_FILE | archive::REPOSITORIES_FILE
        );
        if is_meta && size > JSON_MAX {
            return Err(invalid(format!("{path} is too large ({size} bytes)")));
        }
        if let Some(layer) = self.planned(&path) {
            return self.queue_layer(path, e, layer, size);
        }
        if is_meta || (size <= SMALL && self.files.mem_total + size <= SMALL_TOTAL) {
            let mut buf = Vec::with_capacity(size as usize);
            e.read_to_end(&mut buf)
                .map_err(|err| invalid(format!("reading {path}: {err}")))?;
            self.files.mem_total += buf.len() as u64;
            self.plan_dirty = true;
            self.files.files.insert(path, Src::Mem(buf));
            return Ok(());
        }
        self.spool(path, e, size)
    }

    /// The layer plan for `path`, if the metadata announced it and its parent is there.
    fn planned(&mut self, path: &str) -> Option<Planned> {
        archive::blob_digest(path)?;
        if self.plan_dirty {
            self.plan = plan(&self.files);
            self.plan_dirty = false;
        }
        let p = self.plan.get(path)?.clone();
        match &p.parent {
            None => Some(p),
            Some(parent) if self.queued.contains(parent) => Some(p),
            Some(parent) => match self.store.lease_layer(self.lease, parent) {
                Ok(Some(_)) => Some(p),
                _ => None,
            },
        }
    }

    /// Stores a layer blob as it streams in while a worker unpacks it from the growing
    /// ingest; the next entry is read as soon as this one is stored.
    fn queue_layer<R: Read>(
        &mut self,
        path: String,
        e: &mut tar::Entry<'_, R>,
        layer: Planned,
        size: u64,
    ) -> Result<()> {
        let digest = archive::blob_digest(&path).expect("planned paths are blob paths");
        let chain = match &layer.parent {
            None => layer.diff_id.clone(),
            Some(p) => chain_ids(&[p.clone(), layer.diff_id.clone()])[1].clone(),
        };
        // A layer this daemon has already is neither unpacked nor reported (as dockerd).
        let have_layer = self.store.has_layer(&chain).unwrap_or(false);
        let job = |tail| Job {
            digest: digest.clone(),
            size,
            diff_id: layer.diff_id.clone(),
            parent: layer.parent.clone(),
            tail,
        };
        let have_blob = self
            .store
            .lease_blob(self.lease, &digest)
            .map_err(Error::from)?
            .is_some();
        if have_blob {
            io::copy(e, &mut io::sink())
                .map_err(|err| invalid(format!("reading {path}: {err}")))?;
            if !have_layer {
                let f =
                    self.store
                        .content()
                        .open_blob(&digest)
                        .map_err(|source| Error::ReadBack {
                            what: format!("reading layer {digest} back"),
                            source,
                        })?;
                self.send(job(Tail::complete(f, size)))?;
            }
        } else {
            let growth = Arc::new(Growth::default());
            let key = format!("load/{}/{path}", self.lease.id());
            let mut w = self
                .store
                .ingest(self.lease, &key, Some(size))
                .map_err(Error::from)?;
            w.truncate().map_err(Error::from)?;
            if !have_layer {
                let f = w.reader().map_err(Error::from)?;
                self.send(job(Tail::new(f, growth.clone())))?;
            }
            let stored = copy_growing(e, &mut w, &growth)
                .map_err(|err| invalid(format!("reading {path}: {err}")))
                .and_then(|()| {
                    self.store
                        .commit_ingest(self.lease, w, Some(size), Some(&digest))
                        .map_err(|err| invalid(format!("{path}: {err}")))
                });
            growth.finish(stored.is_ok());
            if let Err(err) = stored {
                let _ = self.store.content().abort(&key);
                return Err(err);
            }
        }
        self.files.files.insert(path, Src::Stored { digest, size });
        self.queued.insert(chain);
        Ok(())
    }

    fn send(&self, job: Job) -> Result<()> {
        match &self.jobs {
            Some(tx) if tx.send(job).is_ok() => Ok(()),
            _ => Err(Error::Panicked("a layer unpacker")),
        }
    }

    /// Writes a large file to the content store (verified when its name is a digest).
    fn spool<R: Read>(&mut self, path: String, mut e: R, size: u64) -> Result<()> {
        let named = archive::blob_digest(&path);
        if let Some(d) = &named {
            if self
                .store
                .lease_blob(self.lease, d)
                .map_err(Error::from)?
                .is_some()
            {
                io::copy(&mut e, &mut io::sink())
                    .map_err(|err| invalid(format!("reading {path}: {err}")))?;
                self.files.files.insert(
                    path,
                    Src::Stored {
                        digest: d.clone(),
                        size,
                    },
                );
                return Ok(());
            }
        }
        let key = format!("load/{}/{path}", self.lease.id());
        let mut w = self
            .store
            .ingest(self.lease, &key, Some(size))
            .map_err(Error::from)?;
        w.truncate().map_err(Error::from)?;
        if let Err(err) = io::copy(&mut e, &mut w) {
            let _ = self.store.content().abort(&key);
            return Err(invalid(format!("reading {path}: {err}")));
        }
        let info = self
            .store
            .commit_ingest(self.lease, w, Some(size), named.as_ref())
            .map_err(|err| {
                let _ = self.store.content().abort(&key);
                invalid(format!("{path}: {err}"))
            })?;
        self.files.files.insert(
            path,
            Src::Stored {
                digest: info.digest,
                size,
            },
        );
        Ok(())
    }
}

/// The OCI layer media type for a layer whose first bytes are `head`.
pub(crate) fn detected_media_type(head: &[u8]) -> &'static str {
    oci::media_type::layer_media_type(oci::compression::detect(head), true)
}

/// Copies `from` into the ingest `to`, telling `growth` after every chunk.
fn copy_growing<R: Read>(
    mut from: R,
    to: &mut store::IngestWriter,
    growth: &Growth,
) -> io::Result<()> {
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        to.write_all(&buf[..n])?;
        growth.grew(n as u64);
    }
}

/// A layer failure, worded for the archive.
pub(crate) fn layer_error(digest: &Digest, e: store::StoreError) -> Error {
    match e.kind() {
        oci::ErrorKind::InvalidArgument | oci::ErrorKind::NotFound => {
            invalid(format!("layer {digest}: {e}"))
        }
        _ => e.into(),
    }
}

/// The layers the in-memory metadata announces: from `index.json` (manifests and configs in
/// memory) and from `manifest.json` (configs in memory), by blob path.
fn plan(files: &Files) -> HashMap<String, Planned> {
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
            out.entry(path).or_insert_with(|| Planned {
                diff_id: diff_ids[i].clone(),
                parent: i.checked_sub(1).map(|p| chains[p].clone()),
            });
        }
    };
    if let Some(index) = files
        .mem(archive::INDEX_FILE)
        .and_then(|b| Index::from_slice(b).ok())
    {
        for d in &index.manifests {
            let Some(m) = files
                .mem(&archive::blob_path(&d.digest))
                .and_then(|b| Manifest::from_slice(b).ok())
            else {
                continue;
            };
            if let Some(cfg) = files.mem(&archive::blob_path(&m.config.digest)) {
                let paths = m
                    .layers
                    .iter()
                    .map(|l| archive::blob_path(&l.digest))
                    .collect();
                add(paths, cfg);
            }
        }
    }
    let entries: Vec<ArchiveEntry> = files
        .mem(archive::MANIFEST_FILE)
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
                        .or_else(|| archive::clean_path(l))
                })
                .collect();
            add(paths, cfg);
        }
    }
    out
}
