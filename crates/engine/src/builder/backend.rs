//! `build::Backend` for this daemon, one per build: base images from the image store (pulled
//! through the image service when missing), step layers and views in the store, RUN steps as
//! containers of the container service, intermediate images recorded with their cache key in
//! one transaction.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use api_types::AuthConfig;
use build::{
    BackendError, Commit, Download, Image, LayerChange, Output, RunMount, RunSpec, Sharing,
};
use oci::config::ImageConfig;
use oci::{Digest, Reference};
use store::{Lease, NewImage};

use super::cache::{CacheRecord, TABLE};
use super::mounts::{mount_at, CacheDir, ImageView, StepLayer};
use super::{run, BuildService};
use crate::clock;
use crate::container::RemoveOptions;
use crate::error::{Error, Result};
use crate::image::progress::Event;
use crate::image::PullOptions;
use crate::system::VERSION;

/// The engine's error as the builder's.
pub(crate) fn backend_error(e: Error) -> BackendError {
    // One kind for every crate (errdefs): it passes through unchanged.
    let kind = e.kind();
    BackendError::new(kind, e)
}

struct Inner {
    svc: Arc<BuildService>,
    lease: Arc<Lease>,
    scratch: PathBuf,
    auth: BTreeMap<String, AuthConfig>,
    /// Cache keys hit, recorded at the end.
    hits: Mutex<Vec<String>>,
    /// Mount targets of each RUN container (removed from its layer before the commit).
    targets: Mutex<BTreeMap<String, Vec<String>>>,
    seq: AtomicU64,
}

/// The backend of one build.
#[derive(Clone)]
pub struct EngineBackend {
    inner: Arc<Inner>,
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(Error::task("build"))?
}

/// The credentials of `X-Registry-Config` for the registry of `r`.
fn auth_for(auth: &BTreeMap<String, AuthConfig>, r: &Reference) -> Option<AuthConfig> {
    let want = match r.domain() {
        "docker.io" => "index.docker.io",
        d => d,
    };
    auth.iter()
        .find(|(k, _)| {
            let host = k
                .trim_start_matches("https://")
                .trim_start_matches("http://")
                .split('/')
                .next()
                .unwrap_or("");
            host == want || (want == "index.docker.io" && host == "docker.io")
        })
        .map(|(_, v)| v.clone())
}

impl EngineBackend {
    pub(crate) fn new(
        svc: Arc<BuildService>,
        lease: Arc<Lease>,
        scratch: PathBuf,
        auth: BTreeMap<String, AuthConfig>,
    ) -> EngineBackend {
        if let Err(e) = std::fs::create_dir_all(&scratch) {
            tracing::warn!(path = %scratch.display(), error = %e, "creating the build's scratch directory");
        }
        EngineBackend {
            inner: Arc::new(Inner {
                svc,
                lease,
                scratch,
                auth,
                hits: Mutex::new(Vec::new()),
                targets: Mutex::new(BTreeMap::new()),
                seq: AtomicU64::new(0),
            }),
        }
    }

    fn svc(&self) -> &Arc<BuildService> {
        &self.inner.svc
    }

    fn next_path(&self, what: &str) -> PathBuf {
        let n = self.inner.seq.fetch_add(1, Ordering::Relaxed);
        self.inner.scratch.join(format!("{what}-{n}"))
    }

    /// Ends the build: cache hits recorded, the context snapshot and scratch directory
    /// removed, the lease released.
    pub(crate) async fn cleanup(&self, context_key: Option<&str>) {
        let hits = std::mem::take(&mut *self.inner.hits.lock().unwrap_or_else(|e| e.into_inner()));
        self.svc().touch(hits).await;
        let store = self.svc().store.clone();
        let key = context_key.map(str::to_string);
        let scratch = self.inner.scratch.clone();
        let lease = self.inner.lease.clone();
        let _ = tokio::task::spawn_blocking(move || {
            if let Some(k) = key {
                store.remove_build_snapshot(&k);
            }
            if let Err(e) = std::fs::remove_dir_all(&scratch) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(path = %scratch.display(), error = %e, "removing the build's scratch directory");
                }
            }
            drop(lease);
        })
        .await;
    }

    /// The image `id` as the builder sees it.
    async fn image(&self, id: &str) -> Result<Image> {
        let store = self.svc().store.clone();
        let id = id.to_string();
        blocking(move || {
            let rec = store.resolve(&id).map_err(Error::from)?;
            let bytes = store.image_config(&rec.id).map_err(Error::from)?;
            let config = ImageConfig::from_slice(&bytes).map_err(|source| Error::StoredConfig {
                id: rec.id.clone(),
                source,
            })?;
            Ok(Image {
                id: rec.id.to_string(),
                config,
                parent: rec.parent.map(|p| p.to_string()),
            })
        })
        .await
    }

    async fn pull(&self, name: &str, platform: Option<&str>, out: &Output) -> Result<()> {
        let r = Reference::parse(name).map_err(|e| Error::invalid(e.to_string()))?;
        let r = if r.tag().is_none() && r.digest().is_none() {
            r.with_default_tag()
        } else {
            r
        };
        let mut rx = self.svc().images.pull(PullOptions {
            image: r.to_string(),
            tag: None,
            platform: platform.map(str::to_string),
            auth: auth_for(&self.inner.auth, &r),
        });
        while let Some(ev) = rx.recv().await {
            match ev {
                Event::Message(m) => out.message(m),
                Event::Failed(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// The chain ID of an image's top layer.
    fn top(image: Option<&Image>) -> Option<Digest> {
        image.and_then(|i| oci::config::chain_id(&i.config.rootfs.diff_ids))
    }

    async fn commit_layer(
        &self,
        parent: Option<&Image>,
        change: LayerChange<StepLayer>,
    ) -> Result<(Option<store::LayerRecord>, Option<String>)> {
        let lease = self.inner.lease.clone();
        match change {
            LayerChange::None => Ok((None, None)),
            LayerChange::Written(mut layer) => {
                layer.unmount();
                let store = self.svc().store.clone();
                let key = layer.snap.key.clone();
                let top = Self::top(parent);
                let rec = blocking(move || {
                    store
                        .commit_build_layer(&lease, &key, top.as_ref(), false)
                        .map_err(Error::from)
                })
                .await;
                // Committed, or discarded by the store when empty.
                layer.committed = rec.is_ok();
                Ok((rec?, None))
            }
            LayerChange::Container(id) => {
                let targets = self
                    .inner
                    .targets
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&id)
                    .unwrap_or_default();
                let rec = self
                    .svc()
                    .containers
                    .commit_stopped_in_place(&id, lease, move |dir| {
                        run::remove_mountpoints(dir, &targets)
                    })
                    .await?;
                Ok((rec, Some(id)))
            }
        }
    }

    async fn record(&self, c: Commit<StepLayer>) -> Result<Image> {
        let parent = c.parent.clone();
        let (layer, container) = self.commit_layer(parent.as_ref(), c.change).await?;
        let mut config = c.config;
        config.docker_version = Some(format!("berth {VERSION}"));
        config.container = container;
        match &layer {
            Some(l) => config.rootfs.diff_ids.push(l.diff_id.clone()),
            None => {
                if let Some(h) = config.history.last_mut() {
                    h.empty_layer = true;
                }
            }
        }
        let store = self.svc().store.clone();
        let bytes = config.to_vec();
        let (key, description) = (c.cache_key, c.description);
        let parent_id = parent.as_ref().map(|p| p.id.clone());
        let rec = blocking(move || {
            let mut layers = match &parent_id {
                Some(p) => {
                    let d = Digest::parse(p).map_err(|source| Error::BadDigest {
                        what: format!("parent image id {p}"),
                        source,
                    })?;
                    store.image(&d).map_err(Error::from)?.layers
                }
                None => Vec::new(),
            };
            let size = layer.as_ref().map(|l| l.size).unwrap_or(0);
            layers.extend(layer);
            let new = NewImage {
                config: bytes,
                config_media_type: oci::media_type::DOCKER_CONFIG.into(),
                layers,
                parent: parent_id
                    .as_deref()
                    .map(Digest::parse)
                    .transpose()
                    .map_err(|source| Error::BadDigest {
                        what: "parent image id".into(),
                        source,
                    })?,
                ..Default::default()
            };
            store
                .record_build_image(new, |tx, id| {
                    let rec = CacheRecord {
                        image: id.to_string(),
                        description,
                        created: clock::now_nanos() as u64,
                        last_used: 0,
                        usage_count: 0,
                        size,
                    };
                    tx.put(TABLE, &key, &rec)
                })
                .map_err(Error::from)
        })
        .await?;
        Ok(Image {
            id: rec.id.to_string(),
            config,
            parent: parent.map(|p| p.id),
        })
    }
}

impl build::Backend for EngineBackend {
    type Layer = StepLayer;
    type View = ImageView;
    type CacheDir = CacheDir;

    fn scratch(&self) -> &Path {
        &self.inner.scratch
    }

    fn check_network(&self, mode: &str) -> std::result::Result<(), BackendError> {
        match mode {
            "default" | "bridge" | "none" | "host" => Ok(()),
            other => Err(backend_error(Error::invalid(format!(
                "network mode {other:?} is not supported for builds: berth runs build steps with \"none\", \"host\" or \"default\""
            )))),
        }
    }

    async fn base_image(
        &self,
        name: &str,
        platform: Option<&str>,
        pull: bool,
        out: &Output,
    ) -> std::result::Result<Image, BackendError> {
        if !pull {
            if let Ok(img) = self.image(name).await {
                return Ok(img);
            }
        }
        self.pull(name, platform, out)
            .await
            .map_err(backend_error)?;
        let r = Reference::parse(name).map(|r| r.with_default_tag().to_string());
        self.image(r.as_deref().unwrap_or(name))
            .await
            .map_err(backend_error)
    }

    async fn image_chain(&self, name: &str) -> std::result::Result<Vec<Image>, BackendError> {
        let mut out = Vec::new();
        let mut next = Some(name.to_string());
        while let Some(n) = next.take() {
            let Ok(img) = self.image(&n).await else { break };
            next = img.parent.clone();
            out.push(img);
            if out.len() > 10_000 {
                break;
            }
        }
        Ok(out)
    }

    async fn cache_get(&self, key: &str) -> std::result::Result<Option<Image>, BackendError> {
        let store = self.svc().store.clone();
        let k = key.to_string();
        let rec: Option<CacheRecord> =
            blocking(move || store.db().read(|tx| tx.get(TABLE, &k)).map_err(Error::from))
                .await
                .map_err(backend_error)?;
        let Some(rec) = rec else { return Ok(None) };
        match self.image(&rec.image).await {
            Ok(img) => {
                self.inner
                    .hits
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(key.to_string());
                Ok(Some(img))
            }
            // The image was removed since: a miss.
            Err(_) => Ok(None),
        }
    }

    async fn commit(&self, commit: Commit<StepLayer>) -> std::result::Result<Image, BackendError> {
        self.record(commit).await.map_err(backend_error)
    }

    async fn create_container(&self, spec: &RunSpec) -> std::result::Result<String, BackendError> {
        let req = run::create_request(spec).map_err(backend_error)?;
        let resp = self
            .svc()
            .containers
            .create(None, req)
            .await
            .map_err(backend_error)?;
        let targets = spec
            .mounts
            .iter()
            .map(|m| match m {
                RunMount::Bind { target, .. } | RunMount::Tmpfs { target, .. } => target.clone(),
            })
            .collect();
        self.inner
            .targets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(resp.id.clone(), targets);
        Ok(resp.id)
    }

    async fn run_container(
        &self,
        id: &str,
        out: &Output,
    ) -> std::result::Result<i64, BackendError> {
        run::run(&self.svc().containers, id, out)
            .await
            .map_err(backend_error)
    }

    async fn remove_container(&self, id: &str) -> std::result::Result<(), BackendError> {
        self.svc()
            .containers
            .remove(
                id,
                RemoveOptions {
                    force: true,
                    volumes: true,
                },
            )
            .await
            .map_err(backend_error)
    }

    async fn open_layer(
        &self,
        parent: Option<&Image>,
    ) -> std::result::Result<StepLayer, BackendError> {
        let store = self.svc().store.clone();
        let lease = self.inner.lease.clone();
        let top = Self::top(parent);
        let mountpoint = self.next_path("layer");
        blocking(move || {
            let snap = store
                .prepare_build_snapshot(&lease, top.as_ref())
                .map_err(Error::from)?;
            let mut layer = StepLayer {
                store,
                snap,
                mountpoint,
                mounted: false,
                committed: false,
            };
            mount_at(&layer.snap.mounts, &layer.mountpoint)?;
            layer.mounted = true;
            Ok(layer)
        })
        .await
        .map_err(backend_error)
    }

    async fn mount_image(&self, image: &Image) -> std::result::Result<ImageView, BackendError> {
        let store = self.svc().store.clone();
        let lease = self.inner.lease.clone();
        let top = Self::top(Some(image));
        let mountpoint = self.next_path("view");
        blocking(move || {
            let snap = store
                .build_view(&lease, top.as_ref())
                .map_err(Error::from)?;
            let view = ImageView {
                store,
                key: snap.key.clone(),
                mountpoint,
            };
            mount_at(&snap.mounts, &view.mountpoint)?;
            Ok(view)
        })
        .await
        .map_err(backend_error)
    }

    async fn cache_dir(
        &self,
        id: &str,
        sharing: Sharing,
        (mode, uid, gid): (u32, u32, u32),
    ) -> std::result::Result<CacheDir, BackendError> {
        let store = self.svc().store.clone();
        let cid = id.to_string();
        let path = blocking(move || {
            store
                .build_cache_dir(store::CacheDirKind::Mount, &cid, (mode, uid, gid))
                .map_err(Error::from)
        })
        .await
        .map_err(backend_error)?;
        let lock = {
            let mut locks = self
                .svc()
                .cache_locks
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            locks.entry(id.to_string()).or_default().clone()
        };
        Ok(match sharing {
            Sharing::Shared => CacheDir {
                path,
                _lock: None,
                throwaway: false,
            },
            Sharing::Locked => CacheDir {
                path,
                _lock: Some(lock.lock_owned().await),
                throwaway: false,
            },
            Sharing::Private => match lock.try_lock_owned() {
                Ok(g) => CacheDir {
                    path,
                    _lock: Some(g),
                    throwaway: false,
                },
                Err(_) => {
                    let tmp = self.next_path("private-cache");
                    std::fs::create_dir_all(&tmp)
                        .and_then(|_| std::os::unix::fs::chown(&tmp, Some(uid), Some(gid)))
                        .map_err(|e| backend_error(Error::file(&tmp, e)))?;
                    CacheDir {
                        path: tmp,
                        _lock: None,
                        throwaway: true,
                    }
                }
            },
        })
    }

    async fn download(
        &self,
        url: &str,
        out: &Output,
    ) -> std::result::Result<Download, BackendError> {
        let dir = self.next_path("download");
        super::download::fetch(url, &dir, out)
            .await
            .map_err(backend_error)
    }

    async fn tag(
        &self,
        image: &Image,
        tags: &[String],
    ) -> std::result::Result<Vec<String>, BackendError> {
        let mut out = Vec::new();
        for t in tags {
            let r = Reference::parse(t)
                .map_err(|e| backend_error(Error::invalid(e.to_string())))?
                .with_default_tag();
            let tag = r.tag().unwrap_or("latest").to_string();
            self.svc()
                .images
                .tag(&image.id, &r.repository(), Some(&tag))
                .await
                .map_err(backend_error)?;
            if !out.contains(&r.familiar()) {
                out.push(r.familiar());
            }
        }
        Ok(out)
    }
}
