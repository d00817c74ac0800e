//! `BuildService`: `POST /build`, `POST /build/prune` and the build cache of `system df`,
//! wiring the `build` crate to this daemon. The builder never touches the store or the
//! runtime: each build gets a [`backend::EngineBackend`] that implements `build::Backend` with
//! the store (step layers committed in place, intermediate images), the container service
//! (RUN steps are ordinary containers, as with the classic builder) and the image service
//! (base images pulled when missing).
//!
//! A build owns a lease (everything it makes is safe from GC until an image refers to it), a
//! context snapshot (the files the client sent), and a scratch directory under the exec
//! root (heredoc scripts, secrets, downloads — tmpfs on most hosts, so secrets never reach
//! the disk); all three go when the build ends, failed or not.
//!
//! Modules: `backend` (the Backend implementation), `mounts` (rw layers and views the
//! builder writes into or reads), `run` (RUN containers and their output), `cache` (cache
//! records, `system df`, prune).

mod backend;
mod cache;
mod context;
mod download;
mod mounts;
mod run;

pub use ::build::BuildOptions;
pub use cache::PruneOptions;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use api_types::{AuthConfig, JsonMessage};
use build::context::receive::{receive, Limits};
use build::{Context, Output};
use store::Store;
use tokio::io::AsyncRead;
use tokio::sync::mpsc;

use crate::container::ContainerService;
use crate::error::{Error, Result};
use crate::image::ImageService;
use crate::EngineConfig;

pub use build::output::Receiver;

/// The default largest build context: larger ones are refused before they fill the disk.
pub const DEFAULT_CONTEXT_LIMIT: u64 = 16 << 30;

/// The builds of this daemon.
pub struct BuildService {
    cfg: Arc<EngineConfig>,
    store: Arc<Store>,
    images: Arc<ImageService>,
    containers: Arc<ContainerService>,
    /// Largest accepted context, bytes.
    context_limit: u64,
    /// Locks of `sharing=locked` cache mounts, by id.
    cache_locks: Mutex<BTreeMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Synced contexts (berth's CLI).
    contexts: context::Contexts,
}

/// What a build request carries besides its options.
pub struct BuildRequest {
    /// The options.
    pub options: BuildOptions,
    /// `X-Registry-Config`: credentials by registry, for base images.
    pub auth: BTreeMap<String, AuthConfig>,
    /// `q`: print only the image id.
    pub quiet: bool,
    /// `X-Berth-Context`: the body updates the context a sync prepared (berth's CLI).
    pub context_token: Option<String>,
}

static BUILD_SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl BuildService {
    /// The build service over the daemon's store, images and containers.
    pub fn new(
        cfg: Arc<EngineConfig>,
        store: Arc<Store>,
        images: Arc<ImageService>,
        containers: Arc<ContainerService>,
    ) -> Arc<BuildService> {
        let context_limit = cfg.build_context_limit;
        Arc::new(BuildService {
            cfg,
            store,
            images,
            containers,
            context_limit,
            cache_locks: Mutex::new(BTreeMap::new()),
            contexts: context::Contexts::default(),
        })
    }

    fn scratch_dir(&self) -> PathBuf {
        let n = BUILD_SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.cfg
            .exec_root
            .join("builds")
            .join(format!("{}-{n}", std::process::id()))
    }

    /// Starts a build from the context tar `body`. Everything that can be refused before the
    /// first output line (a bad context, an unparsable Dockerfile, an unknown target, a COPY
    /// source that is not in the context) is an `Err` here; afterwards the outcome, failure
    /// included, arrives on the receiver.
    #[tracing::instrument(skip_all, fields(dockerfile = %req.options.dockerfile))]
    pub async fn build(
        self: &Arc<Self>,
        req: BuildRequest,
        body: impl AsyncRead + Send + Unpin + 'static,
    ) -> Result<Receiver> {
        let t0 = std::time::Instant::now();
        let store = self.store.clone();
        let lease = Arc::new(
            tokio::task::spawn_blocking(move || store.lease())
                .await
                .map_err(Error::task("build"))?
                .map_err(Error::from)?,
        );
        let scratch = self.scratch_dir();
        let backend = backend::EngineBackend::new(self.clone(), lease.clone(), scratch, req.auth);
        // A synced context is kept for the next build: not removed at the end, and locked
        // until then.
        let received = match &req.context_token {
            Some(token) => self
                .receive_synced(token, body)
                .await
                .map(|(ctx, guard)| (None, ctx, Some(guard))),
            None => self
                .receive_context(&lease, body)
                .await
                .map(|(key, ctx)| (Some(key), ctx, None)),
        };
        let (ctx_key, ctx, ctx_guard) = match received {
            Ok(v) => v,
            Err(e) => {
                backend.cleanup(None).await;
                return Err(e);
            }
        };
        tracing::debug!(
            elapsed_us = t0.elapsed().as_micros() as u64,
            "build: context received"
        );
        let prepared = match build::prepare(backend.clone(), ctx, req.options).await {
            Ok(p) => p,
            Err(e) => {
                backend.cleanup(ctx_key.as_deref()).await;
                return Err(Error::Build(e));
            }
        };
        let (out, rx) = Output::channel();
        let (tx, client_rx) = mpsc::unbounded_channel();
        tokio::spawn(forward(rx, tx, req.quiet));
        let svc = self.clone();
        tokio::spawn(async move {
            let result = prepared.run(&out).await;
            match &result {
                Ok(r) => {
                    tracing::info!(image = %r.image.id, elapsed_ms = t0.elapsed().as_millis() as u64, "built");
                    out.message(quiet_id(&r.image.id));
                }
                Err(e) => {
                    tracing::info!(error = %e, "build failed");
                    out.message(error_message(e));
                }
            }
            drop(out);
            backend.cleanup(ctx_key.as_deref()).await;
            drop(ctx_guard);
            // One flush for every layer of the build (see store::build).
            let store = svc.store.clone();
            let _ = tokio::task::spawn_blocking(move || {
                if let Err(e) = store.flush_build() {
                    tracing::warn!(error = %e, "flushing build layers");
                }
            })
            .await;
        });
        Ok(client_rx)
    }

    /// Writes the context tar into a new snapshot of the build; returns its key and the
    /// context.
    async fn receive_context(
        &self,
        lease: &Arc<store::Lease>,
        body: impl AsyncRead + Send + Unpin + 'static,
    ) -> Result<(String, Context)> {
        let store = self.store.clone();
        let lease = lease.clone();
        let limits = Limits {
            max_bytes: self.context_limit,
        };
        let reader = tokio_util::io::SyncIoBridge::new(body);
        tokio::task::spawn_blocking(move || -> Result<(String, Context)> {
            let snap = store
                .prepare_build_snapshot(&lease, None)
                .map_err(Error::from)?;
            let r = std::io::BufReader::with_capacity(1 << 20, reader);
            match receive(r, &snap.dir, limits) {
                Ok(received) => Ok((snap.key.clone(), Context::new(snap.dir, received.index))),
                Err(e) => {
                    store.remove_build_snapshot(&snap.key);
                    Err(Error::Build(build::Error::Context(e)))
                }
            }
        })
        .await
        .map_err(Error::task("build"))?
    }
}

/// Whether a `-t` value names a digest (`name@sha256:…`, refused by docker); `Err` with
/// the reason when it is no valid reference.
pub fn tag_has_digest(t: &str) -> std::result::Result<bool, String> {
    oci::Reference::parse(t)
        .map(|r| r.digest().is_some())
        .map_err(|e| e.to_string())
}

/// The last line of a quiet build: the image id alone.
fn quiet_id(id: &str) -> JsonMessage {
    JsonMessage {
        stream: Some(format!("{id}\n")),
        id: Some("berth.quiet".into()),
        ..Default::default()
    }
}

/// A failure as the stream's last line, with the failed RUN's exit code for the client.
fn error_message(e: &build::Error) -> JsonMessage {
    let mut m = JsonMessage::error(e.to_string());
    if let (Some(code), Some(d)) = (e.exit_code(), m.error_detail.as_mut()) {
        d.code = Some(code);
    }
    m
}

/// Passes the builder's messages to the client: all of them, or with `q` only the image id
/// (everything when the build fails, as dockerd does).
async fn forward(
    mut rx: build::output::Receiver,
    tx: mpsc::UnboundedSender<JsonMessage>,
    quiet: bool,
) {
    let mut held = Vec::new();
    while let Some(m) = rx.recv().await {
        let is_id = m.id.as_deref() == Some("berth.quiet");
        if is_id {
            if quiet {
                let _ = tx.send(JsonMessage { id: None, ..m });
            }
            continue;
        }
        if !quiet {
            let _ = tx.send(m);
            continue;
        }
        if m.error.is_some() {
            for h in held.drain(..) {
                let _ = tx.send(h);
            }
            let _ = tx.send(m);
            continue;
        }
        held.push(m);
    }
}
