//! The errors of `docker cp` (`/containers/{id}/archive`): dockerd's wording for what the
//! client did wrong, and why a *view* of a container's filesystem could not be made.

use std::io;
use std::sync::Arc;

use crate::error::{Error, ErrorKind};
use crate::volume::VolumeError;

/// Why an archive operation failed, worded as dockerd words it.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// The path does not exist in the container.
    #[error("Could not find the file {path} in container {container}")]
    NotFound { path: String, container: String },
    /// `PUT` to something that is not a directory.
    #[error("extraction point is not a directory")]
    NotADirectory,
    /// `PUT` under a read-only volume or bind.
    #[error("mounted volume is marked read-only")]
    ReadOnlyVolume,
    /// `PUT` outside volumes of a `--read-only` container.
    #[error("container rootfs is marked read-only")]
    ReadOnlyRootfs,
    /// The tar could not be extracted.
    #[error(transparent)]
    Apply(#[from] oci::layer::ApplyError),
    /// The upload is not a readable (possibly compressed) stream.
    #[error(transparent)]
    Decompress(#[from] oci::compression::CompressionError),
    /// `copyUIDGID`: the container's user cannot be resolved.
    #[error(transparent)]
    User(#[from] runtime::spec::user::UserError),
    /// A filesystem operation on the view failed.
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: String,
        #[source]
        source: io::Error,
    },
    /// The view of the container's filesystem could not be set up.
    #[error("docker cp: {0}")]
    View(Arc<ViewError>),
}

impl ArchiveError {
    /// What the client can do about it.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ArchiveError::NotFound { .. } => ErrorKind::NotFound,
            ArchiveError::NotADirectory
            | ArchiveError::ReadOnlyVolume
            | ArchiveError::ReadOnlyRootfs
            | ArchiveError::Decompress(_)
            | ArchiveError::User(_) => ErrorKind::InvalidArgument,
            ArchiveError::Apply(e) => match e.kind() {
                oci::ErrorKind::InvalidArgument => ErrorKind::InvalidArgument,
                _ => ErrorKind::Internal,
            },
            ArchiveError::Io { .. } => ErrorKind::Internal,
            ArchiveError::View(e) => e.kind(),
        }
    }
}

/// Why a view of a container's filesystem (a thread with a private mount namespace where its
/// rootfs, volumes and binds are mounted) could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    /// A volume of the container could not be mounted.
    #[error("volume {name}: {source}")]
    Volume {
        name: String,
        #[source]
        source: VolumeError,
    },
    /// The container's root filesystem could not be mounted.
    #[error("mounting the container's filesystem: {0}")]
    Rootfs(#[source] Box<Error>),
    /// A bind (volume, host path, network file) could not be made.
    #[error("binding {destination}: {source}")]
    Bind {
        destination: String,
        #[source]
        source: io::Error,
    },
    /// The container's root could not be opened.
    #[error("opening the container's root: {0}")]
    Root(#[source] io::Error),
    /// The private mount namespace could not be made.
    #[error("private mount namespace: {0}")]
    Namespace(#[source] runtime::sys::SysError),
}

impl ViewError {
    /// A volume's own kind (a driver mount refused); anything else is the daemon's fault.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ViewError::Volume { source, .. } => source.kind(),
            ViewError::Rootfs(e) => e.kind(),
            ViewError::Bind { .. } | ViewError::Root(_) | ViewError::Namespace(_) => {
                ErrorKind::Internal
            }
        }
    }
}

impl From<Arc<ViewError>> for Error {
    fn from(e: Arc<ViewError>) -> Error {
        ArchiveError::View(e).into()
    }
}
