//! `POST /images/{name}/push`: upload an image's blobs (those the registry lacks; mounted
//! from another repository of the same registry when one is known to hold them) in parallel,
//! straight from the content store — the compressed blobs are kept, so nothing is
//! recompressed and an unchanged image pushes in a few HEAD requests — then its manifest.

use std::collections::BTreeMap;
use std::sync::Arc;

use distribution::{AuthConfig, Mount, Repository};
use oci::{media_type, Descriptor, Digest, Manifest, Reference};
use store::ImageRecord;
use tokio::sync::Semaphore;

use super::progress::{short_id, Progress, Receiver};
use super::ImageService;
use crate::error::{Error, MissingBlob, Result};

/// Options of a push.
#[derive(Debug, Clone, Default)]
pub struct PushOptions {
    /// The repository (`127.0.0.1:5000/app`), possibly with a tag.
    pub name: String,
    /// The tag; with none here nor in `name`, every tag of the repository is pushed.
    pub tag: Option<String>,
    /// Credentials from `X-Registry-Auth`.
    pub auth: Option<AuthConfig>,
}

impl ImageService {
    /// Starts a push; its progress (or failure) arrives on the receiver.
    pub fn push(self: &Arc<Self>, opts: PushOptions) -> Receiver {
        let (p, rx) = Progress::channel();
        let this = self.clone();
        tokio::spawn(async move {
            if let Err(e) = this.push_all(&opts, &p).await {
                p.fail(e);
            }
        });
        rx
    }

    async fn push_all(self: &Arc<Self>, opts: &PushOptions, p: &Progress) -> Result<()> {
        let r = Reference::parse(&opts.name).map_err(Error::from)?;
        let r = match opts.tag.as_deref().filter(|t| !t.is_empty()) {
            Some(t) => r.with_tag(t).map_err(Error::from)?,
            None => r,
        };
        if r.digest().is_some() {
            return Err(Error::invalid("cannot push a digest reference"));
        }
        // Every local tag of the repository when none is named (`push --all-tags`).
        let refs: Vec<Reference> = match r.tag() {
            Some(_) => vec![r.clone()],
            None => {
                let repo = r.repository();
                let mut v: Vec<Reference> = self
                    .blocking(|s| s.images().map_err(Error::from))
                    .await?
                    .into_iter()
                    .flat_map(|i| i.repo_tags)
                    .filter(|t| t.repository() == repo)
                    .collect();
                v.sort();
                v
            }
        };
        if refs.is_empty() {
            return Err(Error::NoLocalTag(r.familiar_name()));
        }
        let mut images = Vec::new();
        for t in &refs {
            let name = t.to_string();
            let rec = self
                .blocking(move |s| s.resolve(&name).map_err(Error::from))
                .await
                .map_err(|_| Error::NoLocalTag(t.familiar_name()))?;
            images.push((t.clone(), rec));
        }
        let repo = Arc::new(
            self.registries
                .repository(&r, opts.auth.clone(), true)
                .map_err(Error::from)?,
        );
        p.status(format!(
            "The push refers to repository [{}]",
            r.familiar_name()
        ));
        for (t, rec) in images {
            self.push_one(&repo, &t, &rec, p).await?;
        }
        Ok(())
    }

    async fn push_one(
        self: &Arc<Self>,
        repo: &Arc<Repository>,
        t: &Reference,
        rec: &ImageRecord,
        p: &Progress,
    ) -> Result<()> {
        let layers: Vec<Descriptor> = rec
            .layers
            .iter()
            .map(|l| l.blob.clone())
            .filter(|d| !media_type::is_foreign_layer(&d.media_type))
            .collect();
        for l in layers.iter().rev() {
            p.layer(&short_id(&l.digest), "Preparing");
        }
        let sem = Arc::new(Semaphore::new(
            self.registries.options().max_concurrent_uploads.max(1),
        ));
        let mut tasks = Vec::new();
        for l in layers.iter().rev() {
            let (this, repo, sem, p, l, t) = (
                self.clone(),
                repo.clone(),
                sem.clone(),
                p.clone(),
                l.clone(),
                t.clone(),
            );
            p.layer(&short_id(&l.digest), "Waiting");
            tasks.push(tokio::spawn(async move {
                let _permit = sem.acquire_owned().await;
                this.push_blob(&repo, &t, &l, Some(&p)).await
            }));
        }
        let mut first_err = None;
        for task in tasks {
            let r = task.await.unwrap_or_else(|e| Err(Error::task("push")(e)));
            if let (Err(e), None) = (r, &first_err) {
                first_err = Some(e);
            }
        }
        if let Some(e) = first_err {
            return Err(e);
        }
        let config = Descriptor::new(
            rec.config_media_type.clone(),
            rec.id.clone(),
            rec.config_size,
        );
        self.push_blob(repo, t, &config, None).await?;
        let (mbytes, mtype) = self.manifest_for(rec).await?;
        let size = mbytes.len();
        let tag = t.tag().unwrap_or("latest").to_string();
        let digest = repo
            .put_manifest(&tag, &mtype, mbytes.into())
            .await
            .map_err(Error::from)?;
        p.status(format!("{tag}: digest: {digest} size: {size}"));
        p.aux(serde_json::json!({"Tag": tag, "Digest": digest.to_string(), "Size": size}));
        let (id, repo_digest, blobs, repository) = (
            rec.id.clone(),
            t.name_only().with_digest(digest),
            layers.iter().map(|l| l.digest.clone()).collect::<Vec<_>>(),
            t.repository(),
        );
        self.blocking(move |s| {
            super::sources::remember(s, &blobs, &repository);
            s.tag(&repo_digest, &id).map_err(Error::from)
        })
        .await?;
        let mut attrs = BTreeMap::new();
        attrs.insert("name".to_string(), t.familiar());
        self.events.publish("image", "push", &t.familiar(), attrs);
        Ok(())
    }

    /// Uploads one blob unless the registry has it; with `p`, shows a layer line.
    async fn push_blob(
        &self,
        repo: &Repository,
        target: &Reference,
        d: &Descriptor,
        p: Option<&Progress>,
    ) -> Result<()> {
        let id = short_id(&d.digest);
        if repo
            .blob_exists(&d.digest)
            .await
            .map_err(Error::from)?
            .is_some()
        {
            if let Some(p) = p {
                p.layer(&id, "Layer already exists");
            }
            return Ok(());
        }
        let (digest, target2) = (d.digest.clone(), target.clone());
        let (path, from) = self
            .blocking(move |s| {
                let path = s.content().blob_path(&digest);
                if !path.is_file() {
                    return Err(MissingBlob::Push(digest).into());
                }
                Ok((path, super::sources::mount_source(s, &digest, &target2)))
            })
            .await?;
        let upload = match from {
            Some(from) => match repo.mount(&d.digest, &from).await.map_err(Error::from)? {
                Mount::Mounted => {
                    if let Some(p) = p {
                        p.layer(&id, format!("Mounted from {from}"));
                    }
                    return Ok(());
                }
                Mount::Upload(u) => u,
            },
            None => repo.start_upload().await.map_err(Error::from)?,
        };
        let total = d.size;
        let progress: Arc<dyn Fn(u64) + Send + Sync> = match p {
            Some(p) => {
                let (p, id) = (p.clone(), id.clone());
                Arc::new(move |n| p.bar(&id, "Pushing", n, total))
            }
            None => Arc::new(|_| {}),
        };
        repo.upload_file(upload, &path, &d.digest, d.size, progress)
            .await
            .map_err(Error::from)?;
        if let Some(p) = p {
            p.layer(&id, "Pushed");
        }
        Ok(())
    }

    /// The manifest to push: the one stored with the image when it matches the image's
    /// blobs, else a new one (Docker schema 2 for Docker configs, OCI otherwise).
    async fn manifest_for(&self, rec: &ImageRecord) -> Result<(Vec<u8>, String)> {
        let id = rec.id.clone();
        let stored = self
            .blocking(move |s| s.image_manifest(&id).map_err(Error::from))
            .await?;
        let blobs: Vec<&Digest> = rec.layers.iter().map(|l| &l.blob.digest).collect();
        if let Some((d, bytes)) = stored {
            if let Ok(m) = Manifest::from_slice(&bytes) {
                let same = m.config.digest == rec.id
                    && m.layers.iter().map(|l| &l.digest).collect::<Vec<_>>() == blobs;
                if same {
                    return Ok((bytes, d.media_type));
                }
            }
        }
        let docker = rec.config_media_type == media_type::DOCKER_CONFIG;
        let mt = if docker {
            media_type::DOCKER_MANIFEST
        } else {
            media_type::OCI_MANIFEST
        };
        let layers = rec
            .layers
            .iter()
            .map(|l| {
                let mut d = l.blob.clone();
                // Keep the family consistent with the manifest's.
                if let Some(c) = media_type::layer_compression(&d.media_type) {
                    d.media_type = media_type::layer_media_type(c, !docker).to_string();
                }
                d
            })
            .collect();
        let m = Manifest {
            schema_version: 2,
            media_type: Some(mt.to_string()),
            artifact_type: None,
            config: Descriptor::new(
                rec.config_media_type.clone(),
                rec.id.clone(),
                rec.config_size,
            ),
            layers,
            subject: None,
            annotations: None,
            extra: Default::default(),
        };
        Ok((m.to_vec(), mt.to_string()))
    }
}
