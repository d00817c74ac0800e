//! The seam between the builder and the daemon: what a build needs from the image store and
//! the container runner, as a trait the engine implements once per build. The builder never
//! touches the store, the runtime or the network itself.
//!
//! Every build step ends in [`Backend::commit`]: a new image on top of the previous one (the
//! classic builder's intermediate image), made of the previous image's layers, maybe one more
//! layer — written by a RUN container ([`LayerChange::Container`]) or by the builder through a
//! mounted rw layer ([`LayerChange::Written`], COPY/ADD/WORKDIR) — and the config the step
//! computed. Cache hits are looked up by key ([`Backend::cache_get`]).

use std::future::Future;
use std::path::{Path, PathBuf};

use oci::config::{ContainerConfig, ImageConfig};

use crate::error::BackendError;
use crate::options::Resources;
use crate::output::Output;

/// An image: its id (`sha256:…`) and its config.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    /// `sha256:…`.
    pub id: String,
    /// The parsed config.
    pub config: ImageConfig,
    /// The image it was built on, when known (for `cachefrom`).
    pub parent: Option<String>,
}

/// A mount of a RUN container besides its root filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunMount {
    /// A host directory or file, bind-mounted.
    Bind {
        /// On the host (inside the build's own directories or snapshots).
        source: PathBuf,
        /// In the container.
        target: String,
        /// Read-only.
        readonly: bool,
    },
    /// An empty tmpfs.
    Tmpfs {
        /// In the container.
        target: String,
        /// Bytes (0: the default).
        size: i64,
    },
}

/// What a RUN container is made of.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSpec {
    /// The image to start from (`sha256:…`).
    pub image: String,
    /// Its config: the command in `cmd` (shell prepended), env with the build args in use,
    /// user, working dir, and an empty entrypoint.
    pub config: ContainerConfig,
    /// `default`, `none`, `host`.
    pub network: String,
    /// `/etc/hosts` additions.
    pub extra_hosts: Vec<String>,
    /// Limits.
    pub resources: Resources,
    /// RUN --mount mounts.
    pub mounts: Vec<RunMount>,
}

/// The layer a step adds.
pub enum LayerChange<L> {
    /// None (a metadata step).
    None,
    /// The rw layer of this (stopped) container.
    Container(String),
    /// A layer the builder wrote through [`Backend::open_layer`].
    Written(L),
}

/// One step's commit.
pub struct Commit<L> {
    /// The image the step started from; `None` on `FROM scratch`.
    pub parent: Option<Image>,
    /// The new config: the parent's with the step's changes and one more history entry. The
    /// backend appends the new layer's diff ID to `rootfs`, or marks that history entry
    /// `empty_layer` when the step changed no file.
    pub config: ImageConfig,
    /// The layer.
    pub change: LayerChange<L>,
    /// The step's cache key: recorded with the image, in the same transaction.
    pub cache_key: String,
    /// What the step did (its command), for `system df -v`.
    pub description: String,
}

/// A file downloaded for `ADD <url>`.
#[derive(Debug, Clone)]
pub struct Download {
    /// Where it is (inside the build's scratch directory).
    pub path: PathBuf,
    /// The name from the URL or `Content-Disposition`, if any.
    pub filename: Option<String>,
    /// `Last-Modified`, seconds since the epoch.
    pub mtime: Option<u64>,
}

/// How concurrent builds share a `RUN --mount=type=cache` directory.
pub use dockerfile::instructions::Sharing;

/// What the builder needs from the daemon; the engine implements it per build.
pub trait Backend: Send + Sync {
    /// An rw layer being written (unmounted and discarded when dropped uncommitted).
    type Layer: AsRef<Path> + Send + Sync;
    /// A read-only mount of an image's filesystem (unmounted when dropped).
    type View: AsRef<Path> + Send + Sync;
    /// A cache mount directory, held while a step uses it.
    type CacheDir: AsRef<Path> + Send + Sync;

    /// A private directory for this build's temporary files (heredoc scripts, secrets,
    /// downloads), removed with the build.
    fn scratch(&self) -> &Path;

    /// Refuses a network mode the daemon cannot give RUN containers.
    fn check_network(&self, mode: &str) -> Result<(), BackendError>;

    /// The image `name` (a reference or id) to build on, pulled when missing or when `pull`
    /// is set; pull progress goes to `out`.
    fn base_image(
        &self,
        name: &str,
        platform: Option<&str>,
        pull: bool,
        out: &Output,
    ) -> impl Future<Output = Result<Image, BackendError>> + Send;

    /// The images of `name` and its ancestors still present, newest first (`cachefrom`).
    fn image_chain(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Vec<Image>, BackendError>> + Send;

    /// The image a cache key points at, when both exist.
    fn cache_get(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<Image>, BackendError>> + Send;

    /// Records a step's result as a new image, and its cache key.
    fn commit(
        &self,
        commit: Commit<Self::Layer>,
    ) -> impl Future<Output = Result<Image, BackendError>> + Send;

    /// Creates (does not start) a RUN container; returns its id.
    fn create_container(
        &self,
        spec: &RunSpec,
    ) -> impl Future<Output = Result<String, BackendError>> + Send;

    /// Starts the container, streams its output to `out`, waits; returns its exit code.
    fn run_container(
        &self,
        id: &str,
        out: &Output,
    ) -> impl Future<Output = Result<i64, BackendError>> + Send;

    /// Removes a container.
    fn remove_container(&self, id: &str) -> impl Future<Output = Result<(), BackendError>> + Send;

    /// Mounts a new rw layer on top of `parent` for the builder to write into.
    fn open_layer(
        &self,
        parent: Option<&Image>,
    ) -> impl Future<Output = Result<Self::Layer, BackendError>> + Send;

    /// Mounts `image`'s filesystem read-only.
    fn mount_image(
        &self,
        image: &Image,
    ) -> impl Future<Output = Result<Self::View, BackendError>> + Send;

    /// The persistent directory of cache mount `id` (created empty with `mode`, `uid`,
    /// `gid` the first time).
    fn cache_dir(
        &self,
        id: &str,
        sharing: Sharing,
        owner: (u32, u32, u32),
    ) -> impl Future<Output = Result<Self::CacheDir, BackendError>> + Send;

    /// Downloads `url` into the scratch directory (progress to `out`).
    fn download(
        &self,
        url: &str,
        out: &Output,
    ) -> impl Future<Output = Result<Download, BackendError>> + Send;

    /// Points each of `tags` at `image`; returns them in familiar form (`app:latest`).
    fn tag(
        &self,
        image: &Image,
        tags: &[String],
    ) -> impl Future<Output = Result<Vec<String>, BackendError>> + Send;
}
