//! The one pass over a `docker load` archive: each file goes to memory (small ones) or to
//! the content store (large ones, verified against their `blobs/` name), and a layer blob the
//! metadata already announced is queued for a worker as soon as its ingest is opened.

use std::collections::{HashMap, HashSet};
use std::io::{self, Read, Write};
use std::ops::ControlFlow;
use std::sync::mpsc::SyncSender;

use oci::archive::{self, Content, Entry, Files, PlannedLayer};
use oci::config::chain_ids;
use oci::Digest;
use store::{Growing, Lease, Store};

use super::workers::{Job, Shared, StreamFailed};
use super::LoadError;
use crate::error::{Error, Result};

/// Files up to this size are kept in memory while the archive is read.
const SMALL: u64 = 1 << 20;
/// Memory allowed for small files in total; past it they go to the content store too.
const SMALL_TOTAL: u64 = 256 << 20;

/// Reads the archive's entries in order.
pub(super) struct Reader<'a> {
    store: &'a Store,
    lease: &'a Lease,
    files: Files,
    /// Layers announced by the metadata read so far, by cleaned path.
    plan: HashMap<String, PlannedLayer>,
    plan_dirty: bool,
    /// Where stored layers go to be unpacked; `None` once the archive is read.
    jobs: Option<SyncSender<Job>>,
    /// Chain IDs queued (or found present) during this load.
    queued: HashSet<Digest>,
    shared: &'a Shared,
}

fn read_error(path: &str) -> impl FnOnce(io::Error) -> Error + '_ {
    move |source| {
        LoadError::Read {
            path: path.to_string(),
            source,
        }
        .into()
    }
}

fn blob_error(path: &str) -> impl FnOnce(store::StoreError) -> Error + '_ {
    move |e| {
        LoadError::Blob {
            path: path.to_string(),
            source: Box::new(e),
        }
        .into()
    }
}

impl<'a> Reader<'a> {
    pub(super) fn new(
        store: &'a Store,
        lease: &'a Lease,
        jobs: SyncSender<Job>,
        shared: &'a Shared,
    ) -> Reader<'a> {
        Reader {
            store,
            lease,
            files: Files::default(),
            plan: HashMap::new(),
            plan_dirty: false,
            jobs: Some(jobs),
            queued: HashSet::new(),
            shared,
        }
    }

    /// Closes the job queue (the workers finish what is queued) and returns the files.
    pub(super) fn finish(mut self) -> Files {
        self.jobs = None;
        self.files
    }

    pub(super) fn read_all<R: Read + Send>(&mut self, body: R) -> Result<()> {
        archive::walk(body, |entry| {
            if self.shared.failed() {
                // A worker failed: its error is the load's; stop reading.
                return Ok(ControlFlow::Break(()));
            }
            match entry {
                Entry::Link { path, target } => self.files.link(path, target),
                Entry::File { path, size, reader } => self.file(path, reader, size)?,
            }
            Ok::<_, Error>(ControlFlow::Continue(()))
        })
    }

    fn file(&mut self, path: String, e: &mut dyn Read, size: u64) -> Result<()> {
        let is_meta = matches!(
            path.as_str(),
            archive::MANIFEST_FILE | archive::INDEX_FILE | archive::REPOSITORIES_FILE
        );
        if is_meta && size > archive::JSON_MAX {
            return Err(archive::ArchiveError::invalid(format!(
                "{path} is too large ({size} bytes)"
            ))
            .into());
        }
        if let Some(layer) = self.planned(&path) {
            return self.queue_layer(path, e, layer, size);
        }
        if is_meta || (size <= SMALL && self.files.mem_total() + size <= SMALL_TOTAL) {
            let mut buf = Vec::with_capacity(size as usize);
            e.read_to_end(&mut buf).map_err(read_error(&path))?;
            self.plan_dirty = true;
            self.files.insert(path, Content::Mem(buf));
            return Ok(());
        }
        self.spool(path, e, size)
    }

    /// The layer plan for `path`, if the metadata announced it and its parent is there.
    fn planned(&mut self, path: &str) -> Option<PlannedLayer> {
        archive::blob_digest(path)?;
        if self.plan_dirty {
            self.plan = archive::layer_plan(&self.files);
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
    fn queue_layer(
        &mut self,
        path: String,
        e: &mut dyn Read,
        layer: PlannedLayer,
        size: u64,
    ) -> Result<()> {
        let digest = archive::blob_digest(&path).expect("planned paths are blob paths");
        let chain = match &layer.parent {
            None => layer.diff_id.clone(),
            Some(p) => chain_ids(&[p.clone(), layer.diff_id.clone()])[1].clone(),
        };
        // A layer this daemon has already is neither unpacked nor reported (as dockerd).
        let have_layer = self.store.has_layer(&chain).unwrap_or(false);
        let job = |growing: &std::sync::Arc<Growing<StreamFailed>>| Job {
            digest: digest.clone(),
            size,
            diff_id: layer.diff_id.clone(),
            parent: layer.parent.clone(),
            blob: growing.follow(),
        };
        if self.store.lease_blob(self.lease, &digest)?.is_some() {
            io::copy(e, &mut io::sink()).map_err(read_error(&path))?;
            if !have_layer {
                let f =
                    self.store
                        .content()
                        .open_blob(&digest)
                        .map_err(|source| Error::ReadBack {
                            what: format!("reading layer {digest} back"),
                            source,
                        })?;
                self.send(job(&Growing::complete(f, size)))?;
            }
        } else {
            let growing = Growing::new();
            let key = format!("load/{}/{path}", self.lease.id());
            let mut w = self.store.ingest(self.lease, &key, Some(size))?;
            w.truncate()?;
            if !have_layer {
                growing.open(w.reader()?, 0);
                self.send(job(&growing))?;
            }
            let stored = copy_growing(e, &mut w, &growing)
                .map_err(read_error(&path))
                .and_then(|()| {
                    self.store
                        .commit_ingest(self.lease, w, Some(size), Some(&digest))
                        .map_err(blob_error(&path))
                });
            growing.finish(stored.as_ref().map(drop).map_err(|_| StreamFailed));
            if let Err(err) = stored {
                let _ = self.store.content().abort(&key);
                return Err(err);
            }
        }
        self.files.insert(path, Content::Stored { digest, size });
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
    fn spool(&mut self, path: String, e: &mut dyn Read, size: u64) -> Result<()> {
        let named = archive::blob_digest(&path);
        if let Some(d) = &named {
            if self.store.lease_blob(self.lease, d)?.is_some() {
                io::copy(e, &mut io::sink()).map_err(read_error(&path))?;
                let digest = d.clone();
                self.files.insert(path, Content::Stored { digest, size });
                return Ok(());
            }
        }
        let key = format!("load/{}/{path}", self.lease.id());
        let mut w = self.store.ingest(self.lease, &key, Some(size))?;
        w.truncate()?;
        if let Err(err) = io::copy(e, &mut w) {
            let _ = self.store.content().abort(&key);
            return Err(read_error(&path)(err));
        }
        let info = self
            .store
            .commit_ingest(self.lease, w, Some(size), named.as_ref())
            .map_err(|err| {
                let _ = self.store.content().abort(&key);
                blob_error(&path)(err)
            })?;
        let digest = info.digest;
        self.files.insert(path, Content::Stored { digest, size });
        Ok(())
    }
}

/// Copies `from` into the ingest `to`, telling `growing` after every chunk.
fn copy_growing(
    from: &mut dyn Read,
    to: &mut store::IngestWriter,
    growing: &Growing<StreamFailed>,
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
        growing.grew_to(to.offset());
    }
}
