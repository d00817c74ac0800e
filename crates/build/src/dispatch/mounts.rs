//! `RUN --mount`: bind (from the context, a stage or an image; read-only unless `rw`, and
//! then on a throwaway copy), cache (a persistent directory by id), tmpfs, and secret (a file
//! from the build's secrets, on the host's tmpfs, never in a layer or the cache key). SSH
//! agent mounts need a client session the classic API has not, and are refused.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use dockerfile::instructions::{Mount, MountType, Sharing};

use crate::backend::{Backend, RunMount};
use crate::error::{Error, Result};
use crate::fs::copy::{self, Owner, Place};
use crate::fs::root;
use crate::stage::Stage;

/// What a mount keeps alive while the step runs.
pub(crate) enum Guard<B: Backend> {
    View(#[allow(dead_code)] B::View),
    Cache(#[allow(dead_code)] B::CacheDir),
}

/// The mounts of a RUN, ready for its container.
pub(crate) struct Prepared<B: Backend> {
    /// For the container.
    pub mounts: Vec<RunMount>,
    /// Environment variables from secrets (`env=`), not committed.
    pub env: Vec<String>,
    /// What goes into the step's cache key.
    pub key: Vec<String>,
    /// Mounts of images and cache directories, released after the step.
    #[allow(dead_code)]
    pub guards: Vec<Guard<B>>,
}

impl<'b, B: Backend> Stage<'b, B> {
    fn mount_target(&self, m: &Mount, original: &str) -> Result<String> {
        let t = m
            .target
            .clone()
            .ok_or_else(|| Error::invalid(original, "mount target is required"))?;
        if t.starts_with('/') {
            return Ok(t);
        }
        let wd = self.run.working_dir.clone().unwrap_or_default();
        Ok(dockerfile::ignore::clean(&format!("/{wd}/{t}")))
    }

    /// Makes a private, writable copy of `source` (a `rw` bind mount: its writes are thrown
    /// away with the build).
    async fn rw_copy(&self, tree: copy::Tree, n: usize) -> Result<PathBuf> {
        let dir = self
            .b
            .backend
            .scratch()
            .join(crate::stage::unique(&format!("rw-mount-{n}")));
        let d2 = dir.clone();
        tokio::task::spawn_blocking(move || -> std::result::Result<(), copy::CopyError> {
            std::fs::create_dir_all(&d2)?;
            let how = Place {
                owner: Owner::Preserve,
                chmod: None,
                parents: false,
                excludes: Vec::new(),
            };
            copy::place(&d2, "/", &[tree], &how)
        })
        .await?
        .map_err(|e| Error::invalid("RUN --mount", e.to_string()))?;
        Ok(dir)
    }

    async fn bind(
        &mut self,
        m: &Mount,
        original: &str,
        stage: usize,
        p: &mut Prepared<B>,
        n: usize,
    ) -> Result<()> {
        let target = self.mount_target(m, original)?;
        let source = m.source.clone().unwrap_or_default();
        let (host, tree, key) = match &m.from {
            Some(from) => {
                let img = self.b.from_image(from, stage, &self.out).await?;
                let Some(img) = img else {
                    return Err(Error::invalid(
                        original,
                        format!("mount source {from} is an empty scratch stage"),
                    ));
                };
                let view = self.b.backend.mount_image(&img).await?;
                let found = root::resolve(view.as_ref(), &source, true)
                    .map_err(|e| Error::io("resolving the mount source", view.as_ref(), e))?
                    .ok_or_else(|| Error::FromSourceNotFound {
                        instruction: "RUN --mount",
                        path: source.clone(),
                        from: from.clone(),
                    })?;
                let tree = if m.read_only {
                    None
                } else {
                    Some(
                        copy::from_host(&source, &found.path)
                            .map_err(|e| Error::io("reading", &found.path, e))?,
                    )
                };
                p.guards.push(Guard::View(view));
                (found.path, tree, format!("bind:{}:{source}", img.id))
            }
            None => {
                let ctx = &self.b.ctx;
                let src = ctx.sources(&source)?.into_iter().next().ok_or_else(|| {
                    Error::SourceNotFound {
                        instruction: "RUN --mount",
                        path: source.clone(),
                    }
                })?;
                let tree = copy::from_context(ctx, &src.name, &src.path);
                // The context on disk may hold files .dockerignore hides: bind a filtered
                // copy then.
                let needs_copy = !m.read_only || ctx.ignores_something();
                let host = ctx.root().join(&src.path);
                (
                    host,
                    needs_copy.then_some(tree),
                    format!("bind:{}", src.hash),
                )
            }
        };
        let source = match tree {
            Some(t) => self.rw_copy(t, n).await?,
            None => host,
        };
        p.key.push(format!("{key}:{target}:{}", m.read_only));
        p.mounts.push(RunMount::Bind {
            source,
            target,
            readonly: m.read_only,
        });
        Ok(())
    }

    async fn secret(
        &mut self,
        m: &Mount,
        original: &str,
        p: &mut Prepared<B>,
        n: usize,
    ) -> Result<()> {
        let id = m
            .source
            .clone()
            .or_else(|| m.cache_id.clone())
            .or_else(|| {
                m.target
                    .as_deref()
                    .map(|t| t.rsplit('/').next().unwrap_or(t).to_string())
            })
            .ok_or_else(|| Error::invalid(original, "one of source, target required"))?;
        let Some(data) = self.b.opts.secrets.get(&id).cloned() else {
            if m.required {
                return Err(Error::invalid(
                    original,
                    format!("secret {id} not found: give it with `berth build --secret id={id},src=FILE`"),
                ));
            }
            return Ok(());
        };
        p.key
            .push(format!("secret:{id}:{:?}:{:?}", m.target, m.env));
        if let Some(var) = &m.env {
            p.env
                .push(format!("{var}={}", String::from_utf8_lossy(&data)));
            if m.target.is_none() {
                return Ok(());
            }
        }
        let target = match &m.target {
            Some(_) => self.mount_target(m, original)?,
            None => format!("/run/secrets/{}", id.rsplit('/').next().unwrap_or(&id)),
        };
        let file = self
            .b
            .backend
            .scratch()
            .join(crate::stage::unique(&format!("secret-{n}")));
        let (mode, uid, gid) = (
            m.mode.unwrap_or(0o400),
            m.uid.unwrap_or(0),
            m.gid.unwrap_or(0),
        );
        let f2 = file.clone();
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            std::fs::write(&f2, &data)?;
            std::os::unix::fs::chown(&f2, Some(uid), Some(gid))?;
            std::fs::set_permissions(&f2, std::fs::Permissions::from_mode(mode))
        })
        .await?
        .map_err(|e| Error::io("writing a secret", &file, e))?;
        p.mounts.push(RunMount::Bind {
            source: file,
            target,
            readonly: true,
        });
        Ok(())
    }

    /// Prepares every `--mount` of a RUN.
    pub(crate) async fn prepare_mounts(
        &mut self,
        mounts: &[Mount],
        stage: usize,
        original: &str,
    ) -> Result<Prepared<B>> {
        let mut p = Prepared {
            mounts: Vec::new(),
            env: Vec::new(),
            key: Vec::new(),
            guards: Vec::new(),
        };
        for (n, m) in mounts.iter().enumerate() {
            match m.kind {
                MountType::Bind => self.bind(m, original, stage, &mut p, n).await?,
                MountType::Cache => {
                    if m.from.is_some() {
                        return Err(Error::Unsupported {
                            what: "RUN --mount=type=cache,from=…".into(),
                            why: "a cache mount starts empty in berth",
                        });
                    }
                    let target = self.mount_target(m, original)?;
                    let id = m.cache_id.clone().unwrap_or_else(|| target.clone());
                    let owner = (
                        m.mode.unwrap_or(0o755),
                        m.uid.unwrap_or(0),
                        m.gid.unwrap_or(0),
                    );
                    let dir = self
                        .b
                        .backend
                        .cache_dir(&id, m.sharing.unwrap_or(Sharing::Shared), owner)
                        .await?;
                    p.key.push(format!("cache:{target}"));
                    p.mounts.push(RunMount::Bind {
                        source: dir.as_ref().to_path_buf(),
                        target,
                        readonly: m.read_only,
                    });
                    p.guards.push(Guard::Cache(dir));
                }
                MountType::Tmpfs => {
                    let target = self.mount_target(m, original)?;
                    p.key.push(format!("tmpfs:{target}:{}", m.size_limit));
                    p.mounts.push(RunMount::Tmpfs {
                        target,
                        size: m.size_limit,
                    });
                }
                MountType::Secret => self.secret(m, original, &mut p, n).await?,
                MountType::Ssh => {
                    return Err(Error::Unsupported {
                        what: "RUN --mount=type=ssh".into(),
                        why: "forwarding an SSH agent needs a BuildKit client session",
                    })
                }
            }
        }
        Ok(p)
    }
}
