//! One stage being built: its current image, its run config (the `container.Config` the
//! classic builder calls `runConfig`), its build arguments, and the step machinery every
//! instruction shares — the classic comment commands (`/bin/sh -c #(nop) …`), the cache probe
//! (` ---> Using cache`) and the commit of a step as a new image.

use oci::config::{ContainerConfig, History, ImageConfig, RootFs};

use crate::args::BuildArgs;
use crate::backend::{Backend, Commit, Image, LayerChange};
use crate::cache;
use crate::driver::Builder;
use crate::error::Result;
use crate::output::Output;

/// The shell RUN/CMD/ENTRYPOINT shell forms use without a SHELL instruction.
pub const DEFAULT_SHELL: [&str; 2] = ["/bin/sh", "-c"];

/// The PATH a stage gets when its base image sets none (moby's `DefaultPathEnv`).
pub const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A name unique in this process, for files in the scratch directory.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQ: AtomicU64 = AtomicU64::new(0);
    format!("{prefix}-{}", SEQ.fetch_add(1, Ordering::Relaxed))
}

/// The short form of an id as docker prints it (`1f2a3b4c5d6e`).
pub fn short_id(id: &str) -> String {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    hex.chars().take(12).collect()
}

/// RFC 3339 with nanoseconds, as dockerd writes `created`.
pub fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The state of one stage.
pub struct Stage<'b, B: Backend> {
    /// The build this stage belongs to.
    pub b: &'b Builder<B>,
    /// This stage's output.
    pub out: Output,
    /// The image so far; `None` right after `FROM scratch`.
    pub image: Option<Image>,
    /// The image config so far (for scratch: an empty one for this host).
    pub config: ImageConfig,
    /// The run config (what containers of the next steps get, and the image's `config`).
    pub run: ContainerConfig,
    /// `MAINTAINER`.
    pub maintainer: Option<String>,
    /// Whether a CMD was set in this stage (an ENTRYPOINT then keeps it).
    pub cmd_set: bool,
    /// Build arguments visible in this stage.
    pub args: BuildArgs,
}

/// The config of `FROM scratch`.
pub fn scratch_config() -> ImageConfig {
    let (os, arch) = crate::options::host_platform();
    ImageConfig {
        created: None,
        author: None,
        architecture: arch.to_string(),
        os: os.to_string(),
        variant: None,
        config: None,
        rootfs: RootFs::layers(Vec::new()),
        history: Vec::new(),
        comment: None,
        docker_version: None,
        container: None,
        container_config: None,
        extra: Default::default(),
    }
}

impl<'b, B: Backend> Stage<'b, B> {
    /// A stage starting from `image` (`None`: scratch).
    pub fn new(b: &'b Builder<B>, out: Output, image: Option<Image>, args: BuildArgs) -> Self {
        let config = image
            .as_ref()
            .map(|i| i.config.clone())
            .unwrap_or_else(scratch_config);
        let mut run = config.config.clone().unwrap_or_default();
        run.extra.remove("Image");
        let env = run.env.get_or_insert_with(Vec::new);
        if !env.iter().any(|e| e.starts_with("PATH=")) {
            env.push(DEFAULT_PATH.to_string());
        }
        Stage {
            b,
            out,
            image,
            config,
            run,
            maintainer: None,
            cmd_set: false,
            args,
        }
    }

    /// The id of the current image (`""` for scratch).
    pub fn image_id(&self) -> &str {
        self.image.as_ref().map(|i| i.id.as_str()).unwrap_or("")
    }

    /// The stage's SHELL (`/bin/sh -c` by default).
    pub fn shell(&self) -> Vec<String> {
        match &self.run.shell {
            Some(s) if !s.is_empty() => s.clone(),
            _ => DEFAULT_SHELL.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// The variables instructions expand with: the environment, then the build arguments it
    /// does not override.
    pub fn env(&self) -> Vec<(String, String)> {
        let env = self.run.env.clone().unwrap_or_default();
        let mut out: Vec<(String, String)> = env
            .iter()
            .map(|e| match e.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (e.clone(), String::new()),
            })
            .collect();
        for a in self.args.filter_allowed(&env) {
            if let Some((k, v)) = a.split_once('=') {
                out.push((k.to_string(), v.to_string()));
            }
        }
        out
    }

    /// The run config with `Cmd` set to the classic comment of a metadata step:
    /// `[shell…, "#(nop) ", comment]` (two words) or, for WORKDIR/COPY/ADD,
    /// `[shell…, "#(nop) <comment>"]` (one word).
    pub fn comment_config(&self, comment: &str, single_word: bool) -> ContainerConfig {
        let mut c = self.run.clone();
        let mut cmd = self.shell();
        if single_word {
            cmd.push(format!("#(nop) {comment}"));
        } else {
            cmd.push("#(nop) ".into());
            cmd.push(comment.to_string());
        }
        c.cmd = Some(cmd);
        c
    }

    /// Looks `container_config` up in the cache (unless `--no-cache`); on a hit the stage moves
    /// to the cached image and ` ---> Using cache` is printed. Returns the key and the hit.
    pub async fn probe(
        &mut self,
        container_config: &ContainerConfig,
        extra: &[String],
    ) -> Result<(String, bool)> {
        let parent = self.image.as_ref().map(|i| i.id.as_str());
        let key = cache::key(parent, container_config, &self.b.platform, extra);
        if self.b.opts.no_cache {
            return Ok((key, false));
        }
        let mut hit = self.b.backend.cache_get(&key).await?;
        if hit.is_none() && extra.is_empty() {
            hit = self.b.cache_from_hit(parent, &key);
        }
        match hit {
            Some(img) => {
                self.out.line(" ---> Using cache");
                self.config = img.config.clone();
                self.image = Some(img);
                Ok((key, true))
            }
            None => Ok((key, false)),
        }
    }

    /// The config of the image a step makes: the current one with the run config, the
    /// step's container config and one more history entry.
    pub fn next_config(&self, container_config: &ContainerConfig) -> ImageConfig {
        let created = now_rfc3339();
        let mut c = self.config.clone();
        let mut run = self.run.clone();
        run.extra.insert(
            "Image".into(),
            serde_json::Value::String(self.image_id().to_string()),
        );
        c.created = Some(created.clone());
        c.author = self.maintainer.clone();
        c.comment = None;
        c.container = None;
        c.config = Some(run);
        c.container_config = Some(container_config.clone());
        c.history.push(History {
            created: Some(created),
            created_by: Some(container_config.cmd.clone().unwrap_or_default().join(" ")),
            author: self.maintainer.clone(),
            comment: None,
            empty_layer: false,
            extra: Default::default(),
        });
        c
    }

    /// Commits a step whose cache probe missed: a new image, recorded under `key`.
    pub async fn commit(
        &mut self,
        key: &str,
        container_config: &ContainerConfig,
        change: LayerChange<B::Layer>,
    ) -> Result<()> {
        let config = self.next_config(container_config);
        let description = container_config.cmd.clone().unwrap_or_default().join(" ");
        let img = self
            .b
            .backend
            .commit(Commit {
                parent: self.image.clone(),
                config,
                change,
                cache_key: key.to_string(),
                description,
            })
            .await?;
        self.config = img.config.clone();
        self.image = Some(img);
        Ok(())
    }

    /// The classic `commit(comment)` of a metadata step: probe, else a new image without a
    /// layer.
    pub async fn commit_meta(&mut self, comment: &str) -> Result<()> {
        let cc = self.comment_config(comment, false);
        let (key, hit) = self.probe(&cc, &[]).await?;
        if hit {
            return Ok(());
        }
        self.commit(&key, &cc, LayerChange::None).await
    }
}
