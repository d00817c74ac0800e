//! `POST /images/create?fromImage=`: pull an image (or every tag of a repository) from a
//! registry — resolve the manifest (choosing a platform from an index), fetch the config,
//! then download the layers in parallel while unpacking each one as it lands (see
//! [`super::fetch`]), all under one lease; on success record the image with its tag and repo
//! digest, on failure collect whatever the pull made.

use std::collections::BTreeMap;
use std::sync::Arc;

use distribution::repository::MAX_CONFIG_BYTES;
use distribution::{AuthConfig, Repository};
use oci::{
    config::chain_ids, media_type, Descriptor, Digest, ImageConfig, Index, Manifest, Platform,
    Reference,
};
use store::{Content, LayerRecord, Lease, NewImage, Store, Unpack};
use tokio::sync::Semaphore;

use super::fetch::{Fetch, FetchError};
use super::progress::{short_id, Progress, Receiver};
use super::ImageService;
use crate::error::PullError;
use crate::error::{Error, Result};

/// Options of a pull.
#[derive(Debug, Clone, Default)]
pub struct PullOptions {
    /// `fromImage`: a repository, possibly with a tag or digest.
    pub image: String,
    /// `tag`: a tag or a digest; with neither here nor in `image`, every tag is pulled.
    pub tag: Option<String>,
    /// `platform` (`os/arch[/variant]`); the host's when absent.
    pub platform: Option<String>,
    /// Credentials from `X-Registry-Auth`.
    pub auth: Option<AuthConfig>,
}

/// What to pull: one reference, or all tags of a repository.
fn target(image: &str, tag: Option<&str>) -> Result<(Reference, bool)> {
    let r = Reference::parse(image).map_err(Error::from)?;
    match tag.filter(|t| !t.is_empty()) {
        Some(t) => match Digest::parse(t) {
            Ok(d) => Ok((r.with_digest(d), false)),
            Err(_) if t.starts_with("sha256:") => {
                Err(Error::invalid(format!("invalid digest {t:?}")))
            }
            Err(_) => Ok((r.with_tag(t).map_err(Error::from)?, false)),
        },
        None => {
            let all = r.tag().is_none() && r.digest().is_none();
            Ok((r, all))
        }
    }
}

/// The platform asked for, and whether it was asked for explicitly.
fn wanted_platform(p: Option<&str>) -> Result<(Platform, bool)> {
    match p.filter(|p| !p.is_empty()) {
        Some(s) => Platform::parse(s).map(|p| (p, true)).ok_or_else(|| {
            Error::invalid(format!(
                "invalid platform {s:?}: expected os[/arch[/variant]]"
            ))
        }),
        None => Ok((Platform::host(), false)),
    }
}

/// One layer of the manifest being pulled.
#[derive(Clone)]
struct Planned {
    desc: Descriptor,
    diff_id: Digest,
    chain_id: Digest,
    /// Unpacked and its blob stored already.
    present: bool,
}

impl ImageService {
    /// Starts a pull; its progress (or its failure) arrives on the receiver.
    pub fn pull(self: &Arc<Self>, opts: PullOptions) -> Receiver {
        let (p, rx) = Progress::channel();
        let this = self.clone();
        tokio::spawn(async move {
            if let Err(e) = this.pull_all(&opts, &p).await {
                p.fail(e);
            }
        });
        rx
    }

    #[tracing::instrument(skip(self, opts, p), fields(image = %opts.image))]
    async fn pull_all(self: &Arc<Self>, opts: &PullOptions, p: &Progress) -> Result<()> {
        let (reference, all_tags) = target(&opts.image, opts.tag.as_deref())?;
        let (platform, explicit) = wanted_platform(opts.platform.as_deref())?;
        let repo = Arc::new(
            self.registries
                .repository(&reference, opts.auth.clone(), false)
                .map_err(Error::from)?,
        );
        if !all_tags {
            return self
                .pull_ref(&repo, &reference, &platform, explicit, p)
                .await;
        }
        let tags = repo.tags().await.map_err(Error::from)?;
        if tags.is_empty() {
            return Err(PullError::NoTags(reference.familiar_name()).into());
        }
        for t in tags {
            let r = reference.with_tag(&t).map_err(Error::from)?;
            self.pull_ref(&repo, &r, &platform, explicit, p).await?;
        }
        Ok(())
    }

    /// Fetches the manifest for `r`, resolving an index to the manifest for `platform`.
    /// Returns the top-level digest (the repo digest) and the platform manifest.
    async fn resolve(
        &self,
        repo: &Repository,
        r: &Reference,
        platform: &Platform,
    ) -> Result<(Digest, Vec<u8>, String)> {
        let wanted = r
            .digest()
            .map(|d| d.to_string())
            .or_else(|| r.tag().map(str::to_string))
            .unwrap_or_else(|| "latest".into());
        let (bytes, mt, digest) = repo.manifest(&wanted).await.map_err(Error::from)?;
        if media_type::is_manifest(&mt) {
            return Ok((digest, bytes.to_vec(), mt));
        }
        if !media_type::is_index(&mt) {
            return Err(PullError::UnsupportedManifest {
                reference: r.familiar(),
                media_type: mt,
            }
            .into());
        }
        let index = Index::from_slice(&bytes).map_err(|source| Error::BadManifest {
            what: format!("manifest list of {}", r.familiar()),
            source,
        })?;
        let d = index
            .find_platform(platform)
            .ok_or_else(|| PullError::NoMatchingManifest(platform.clone()))?;
        let (b, mt2, _) = repo
            .manifest(d.digest.as_str())
            .await
            .map_err(Error::from)?;
        if !media_type::is_manifest(&mt2) {
            return Err(PullError::NotAnImageManifest {
                reference: r.familiar(),
                digest: d.digest.clone(),
                platform: platform.clone(),
                media_type: mt2,
            }
            .into());
        }
        Ok((digest, b.to_vec(), mt2))
    }

    async fn pull_ref(
        self: &Arc<Self>,
        repo: &Arc<Repository>,
        r: &Reference,
        platform: &Platform,
        explicit: bool,
        p: &Progress,
    ) -> Result<()> {
        let (top_digest, mbytes, mtype) = self.resolve(repo, r, platform).await?;
        let id = r
            .digest()
            .map(|d| d.to_string())
            .or_else(|| r.tag().map(str::to_string))
            .unwrap_or_default();
        p.status_id(&format!("Pulling from {}", r.path()), &id);
        let manifest = Manifest::from_slice(&mbytes).map_err(|source| Error::BadManifest {
            what: format!("manifest of {}", r.familiar()),
            source,
        })?;
        let config = repo
            .blob_bytes(&manifest.config.digest, MAX_CONFIG_BYTES)
            .await
            .map_err(Error::from)?;
        let cfg = ImageConfig::from_slice(&config).map_err(|source| Error::BadConfig {
            what: format!("config of {}", r.familiar()),
            source,
        })?;
        if explicit {
            let have = Platform::new(&cfg.os, &cfg.architecture, cfg.variant.as_deref());
            if !have.satisfies(platform) {
                return Err(PullError::PlatformMismatch {
                    reference: r.familiar(),
                    have,
                    want: platform.clone(),
                }
                .into());
            }
        }
        let plan = self.plan(r, &manifest, &cfg).await?;
        for l in &plan {
            let lid = short_id(&l.desc.digest);
            p.layer(
                &lid,
                if l.present {
                    "Already exists"
                } else {
                    "Pulling fs layer"
                },
            );
        }
        let old = {
            let name = r.to_string();
            self.blocking(move |s| Ok(s.resolve(&name).ok().map(|i| i.id)))
                .await?
        };
        let store = self.store.clone();
        let lease = Arc::new(
            tokio::task::spawn_blocking(move || store.lease())
                .await
                .map_err(Error::task("lease"))?
                .map_err(Error::from)?,
        );
        let result = self.fetch_and_unpack(repo, &plan, &lease, p).await;
        let result = match result {
            Ok(layers) => {
                self.record_image(
                    r,
                    &top_digest,
                    &manifest,
                    mbytes,
                    mtype,
                    config.to_vec(),
                    layers,
                    &lease,
                )
                .await
            }
            Err(e) => Err(e),
        };
        let failed = result.is_err();
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || {
            drop(lease);
            if failed {
                // Whatever the failed pull committed (other layers, a partial snapshot) is
                // referenced by nothing now; partial downloads stay (ingests) for a resume.
                if let Err(e) = store.gc() {
                    tracing::warn!(error = %e, "collecting after a failed pull");
                }
            }
        })
        .await
        .map_err(Error::task("cleanup"))?;
        let new_id = result?;
        p.status(format!("Digest: {top_digest}"));
        let shown = r.familiar();
        if old.as_ref() == Some(&new_id) {
            p.status(format!("Status: Image is up to date for {shown}"));
        } else {
            p.status(format!("Status: Downloaded newer image for {shown}"));
        }
        let mut attrs = BTreeMap::new();
        attrs.insert("name".to_string(), r.familiar());
        self.events.publish("image", "pull", &r.familiar(), attrs);
        Ok(())
    }

    /// The manifest's layers with their diff and chain IDs, and whether each is here already.
    async fn plan(&self, r: &Reference, m: &Manifest, cfg: &ImageConfig) -> Result<Vec<Planned>> {
        for l in &m.layers {
            if !media_type::is_layer(&l.media_type) {
                return Err(PullError::UnsupportedLayer {
                    reference: r.familiar(),
                    digest: l.digest.clone(),
                    media_type: l.media_type.clone(),
                }
                .into());
            }
        }
        let diff_ids = &cfg.rootfs.diff_ids;
        if diff_ids.len() != m.layers.len() {
            return Err(PullError::LayerCount {
                reference: r.familiar(),
                layers: m.layers.len(),
                diff_ids: diff_ids.len(),
            }
            .into());
        }
        let chains = chain_ids(diff_ids);
        let mut plan: Vec<Planned> = m
            .layers
            .iter()
            .zip(diff_ids)
            .zip(chains)
            .map(|((d, diff), chain)| Planned {
                desc: d.clone(),
                diff_id: diff.clone(),
                chain_id: chain,
                present: false,
            })
            .collect();
        let probe = plan.clone();
        let present = self
            .blocking(move |s| {
                probe
                    .iter()
                    .map(|l| {
                        Ok(s.has_layer(&l.chain_id).map_err(Error::from)?
                            && s.content().exists(&l.desc.digest))
                    })
                    .collect::<Result<Vec<bool>>>()
            })
            .await?;
        for (l, p) in plan.iter_mut().zip(present) {
            l.present = p;
        }
        Ok(plan)
    }

    /// The shared download of `desc`, started unless another pull runs it already.
    fn fetch_shared(
        self: &Arc<Self>,
        repo: &Arc<Repository>,
        desc: &Descriptor,
        lease: &Arc<Lease>,
        sem: &Arc<Semaphore>,
        p: &Progress,
    ) -> (Arc<Fetch>, Option<tokio::task::JoinHandle<()>>) {
        let mut map = self.downloads.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(f) = map.get(&desc.digest).and_then(std::sync::Weak::upgrade) {
            p.layer(&short_id(&desc.digest), "Waiting");
            return (f, None);
        }
        let f = Fetch::new(desc.digest.clone(), desc.size);
        map.insert(desc.digest.clone(), Arc::downgrade(&f));
        drop(map);
        let (this, repo, lease, sem, p, f2) = (
            self.clone(),
            repo.clone(),
            lease.clone(),
            sem.clone(),
            p.clone(),
            f.clone(),
        );
        let attempts = self.registries.options().max_download_attempts;
        let handle = tokio::spawn(async move {
            let _permit = sem.acquire_owned().await;
            let rt = tokio::runtime::Handle::current();
            let store = this.store.clone();
            let f3 = f2.clone();
            let r = tokio::task::spawn_blocking(move || {
                f3.download(&rt, &store, &lease, &repo, attempts, &p)
            })
            .await
            .unwrap_or_else(|source| Err(FetchError::Task { source }));
            let r = r.map_err(Arc::new);
            f2.finish(r);
            let mut map = this.downloads.lock().unwrap_or_else(|e| e.into_inner());
            if map
                .get(&f2.digest)
                .is_some_and(|w| w.ptr_eq(&Arc::downgrade(&f2)))
            {
                map.remove(&f2.digest);
            }
        });
        (f, Some(handle))
    }

    /// Downloads what is missing and unpacks every layer in order, each as its bytes arrive.
    async fn fetch_and_unpack(
        self: &Arc<Self>,
        repo: &Arc<Repository>,
        plan: &[Planned],
        lease: &Arc<Lease>,
        p: &Progress,
    ) -> Result<Vec<LayerRecord>> {
        let opts = self.registries.options();
        let sem = Arc::new(Semaphore::new(opts.max_concurrent_downloads.max(1)));
        let store = self.store.clone();
        let stored: Vec<bool> = {
            let digests: Vec<Digest> = plan.iter().map(|l| l.desc.digest.clone()).collect();
            tokio::task::spawn_blocking(move || {
                digests.iter().map(|d| store.content().exists(d)).collect()
            })
            .await
            .map_err(Error::task("probe"))?
        };
        let mut fetches = Vec::new();
        let mut handles = Vec::new();
        for (l, have_blob) in plan.iter().zip(stored) {
            if l.present || have_blob {
                fetches.push(None);
                continue;
            }
            let (f, h) = self.fetch_shared(repo, &l.desc, lease, &sem, p);
            fetches.push(Some(f));
            handles.extend(h);
        }
        let (plan2, lease2, p2) = (plan.to_vec(), lease.clone(), p.clone());
        let unpacked = self
            .blocking(move |s| unpack_all(s, &plan2, &fetches, &lease2, &p2))
            .await;
        // Downloads end by themselves (their layers were all waited for, or failed); waiting
        // keeps their lease references from outliving the pull.
        for h in handles {
            let _ = h.await;
        }
        unpacked
    }

    #[allow(clippy::too_many_arguments)]
    async fn record_image(
        &self,
        r: &Reference,
        top_digest: &Digest,
        manifest: &Manifest,
        mbytes: Vec<u8>,
        mtype: String,
        config: Vec<u8>,
        layers: Vec<LayerRecord>,
        lease: &Arc<Lease>,
    ) -> Result<Digest> {
        let lease = lease.clone();
        let tag = r.tag().map(|_| r.clone());
        let repo_digest = r.name_only().with_digest(top_digest.clone());
        let config_mt = manifest.config.media_type.clone();
        let repository = r.repository();
        let blobs: Vec<Digest> = layers.iter().map(|l| l.blob.digest.clone()).collect();
        let id = self
            .blocking(move |s| {
                let rec = s
                    .create_image(
                        &lease,
                        NewImage {
                            config,
                            config_media_type: config_mt,
                            manifest: Some((mbytes, mtype)),
                            layers,
                            repo_tags: tag.into_iter().collect(),
                            repo_digests: vec![repo_digest],
                            ..Default::default()
                        },
                    )
                    .map_err(Error::from)?;
                super::sources::remember(s, &blobs, &repository);
                Ok(rec.id)
            })
            .await?;
        // A tag that pointed elsewhere moves here (create_image kept the old record's refs).
        if let Some(t) = r.tag().map(|_| r.clone()) {
            let id2 = id.clone();
            self.blocking(move |s| s.tag(&t, &id2).map_err(Error::from))
                .await?;
        }
        Ok(id)
    }
}

/// Whether a layer is committed yet: layer `i + 1` waits on layer `i`'s gate before it is
/// stacked on it.
struct Gate {
    state: std::sync::Mutex<Option<bool>>,
    cv: std::sync::Condvar,
}

impl Gate {
    fn new() -> Gate {
        Gate {
            state: std::sync::Mutex::new(None),
            cv: std::sync::Condvar::new(),
        }
    }

    fn open(&self, ok: bool) {
        *self.state.lock().unwrap_or_else(|e| e.into_inner()) = Some(ok);
        self.cv.notify_all();
    }

    /// Blocks until the layer is committed (`true`) or failed (`false`).
    fn wait(&self) -> bool {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(ok) = *st {
                return ok;
            }
            st = self.cv.wait(st).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// Unpacks every layer (blocking), all at once on their own threads: each one as its bytes
/// arrive (downloads), from the content store (stored blobs), or not at all (present), and
/// each committed once the layer below it is.
fn unpack_all(
    s: &Store,
    plan: &[Planned],
    fetches: &[Option<Arc<Fetch>>],
    lease: &Lease,
    p: &Progress,
) -> Result<Vec<LayerRecord>> {
    let gates: Vec<Gate> = plan.iter().map(|_| Gate::new()).collect();
    let results: Vec<Result<u64>> = std::thread::scope(|sc| {
        let handles: Vec<_> = plan
            .iter()
            .zip(fetches)
            .enumerate()
            .map(|(i, (l, f))| {
                let gates = &gates;
                sc.spawn(move || {
                    let parent = i.checked_sub(1).map(|j| &plan[j].chain_id);
                    let r = unpack_one(s, l, f.as_ref(), parent, lease, p, || {
                        i == 0 || gates[i - 1].wait()
                    });
                    gates[i].open(r.is_ok());
                    r
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Error::Panicked("unpack thread")))
            })
            .collect()
    });
    let mut out = Vec::with_capacity(plan.len());
    let mut first_err = None;
    for (l, r) in plan.iter().zip(results) {
        match r {
            Ok(size) => out.push(LayerRecord {
                blob: l.desc.clone(),
                diff_id: l.diff_id.clone(),
                chain_id: l.chain_id.clone(),
                size,
            }),
            // The first failure is the cause; later layers fail because of it.
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// One layer of [`unpack_all`]; returns its unpacked size.
fn unpack_one(
    s: &Store,
    l: &Planned,
    f: Option<&Arc<Fetch>>,
    parent: Option<&Digest>,
    lease: &Lease,
    p: &Progress,
    parent_ready: impl FnOnce() -> bool,
) -> Result<u64> {
    let lid = short_id(&l.desc.digest);
    let layer = Content::Layer {
        diff_id: &l.diff_id,
    };
    let started = std::time::Instant::now();
    let size = match f {
        Some(f) => {
            let how = Unpack::on(parent, layer).early(parent_ready);
            let unpacked = s.unpack(lease, f.reader(p.clone()), how);
            // The download's failure is the cause of an unpack failure; report it.
            f.wait()?;
            let u = unpacked.map_err(Error::layer(&l.desc.digest))?;
            if s.lease_blob(lease, &l.desc.digest)
                .map_err(Error::from)?
                .is_none()
            {
                return Err(PullError::Vanished(l.desc.digest.clone()).into());
            }
            p.layer(&lid, "Pull complete");
            u.size
        }
        None if l.present => {
            let size = s.lease_layer(lease, &l.chain_id).map_err(Error::from)?;
            let blob = s.lease_blob(lease, &l.desc.digest).map_err(Error::from)?;
            match (size, blob) {
                (Some(size), Some(_)) => size,
                _ => {
                    return Err(Error::Conflict(format!(
                        "layer {} was removed while being pulled; pull again",
                        l.desc.digest
                    )))
                }
            }
        }
        None => {
            p.layer(&lid, "Extracting");
            let file = s
                .content()
                .open_blob(&l.desc.digest)
                .map_err(|e| Error::layer(&l.desc.digest)(e.into()))?;
            if s.lease_blob(lease, &l.desc.digest)
                .map_err(Error::from)?
                .is_none()
            {
                return Err(Error::Conflict(format!(
                    "layer {} was removed while being pulled; pull again",
                    l.desc.digest
                )));
            }
            let reader = std::io::BufReader::with_capacity(1 << 20, file);
            let how = Unpack::on(parent, layer).early(parent_ready);
            let u = s
                .unpack(lease, reader, how)
                .map_err(Error::layer(&l.desc.digest))?;
            p.layer(&lid, "Pull complete");
            u.size
        }
    };
    tracing::debug!(layer = %l.desc.digest, elapsed_ms = started.elapsed().as_millis() as u64, "layer in place");
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let (r, all) = target("busybox", Some("latest")).unwrap();
        assert_eq!(
            (r.to_string().as_str(), all),
            ("docker.io/library/busybox:latest", false)
        );
        let (r, all) = target("127.0.0.1:5000/a/b", None).unwrap();
        assert!(all && r.tag().is_none());
        let (_, all) = target("busybox:1", None).unwrap();
        assert!(!all);
        let d = Digest::sha256_of(b"x");
        let (r, _) = target("busybox", Some(d.as_str())).unwrap();
        assert_eq!(r.digest(), Some(&d));
        assert!(target("Busybox", None).is_err());
        assert!(target("busybox", Some("sha256:zz")).is_err());
        assert!(wanted_platform(Some("linux/arm64")).unwrap().1);
        assert!(wanted_platform(Some("")).is_ok());
    }
}
