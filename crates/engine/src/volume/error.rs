//! Errors of the volume service, worded as dockerd's volume store words them
//! (`get NAME: no such volume`, `remove NAME: volume is in use - [ids]`).

use std::path::PathBuf;

use crate::error::ErrorKind;

/// Why a volume operation failed.
#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    /// No volume has this name.
    #[error("get {0}: no such volume")]
    NotFound(String),
    /// The name is not a valid local volume name.
    #[error("create {name}: {reason}")]
    InvalidName { name: String, reason: String },
    /// A driver option is unknown, missing or unusable.
    #[error("create {name}: {reason}")]
    InvalidOption { name: String, reason: String },
    /// A driver other than `local`.
    #[error(
        "create {name}: error looking up volume plugin {driver}: plugin \"{driver}\" not found"
    )]
    NoSuchDriver { name: String, driver: String },
    /// A bad filter or request field.
    #[error("{0}")]
    Invalid(String),
    /// Containers still refer to it.
    #[error("remove {name}: volume is in use - [{}]", users.join(", "))]
    InUse { name: String, users: Vec<String> },
    /// Another prune runs.
    #[error("a prune operation is already running")]
    PruneRunning,
    /// Mounting the volume's filesystem (`--opt type=…`) failed.
    #[error("error while mounting volume '{path}': failed to mount local volume: {source}")]
    Mount {
        path: PathBuf,
        #[source]
        source: Box<runtime::sys::SysError>,
    },
    /// Unmounting it failed.
    #[error("error while unmounting volume '{path}': {source}")]
    Unmount {
        path: PathBuf,
        #[source]
        source: Box<runtime::sys::SysError>,
    },
    /// A file operation on the volume's directory failed.
    #[error("volume {name}: {what} {path}: {source}")]
    Io {
        name: String,
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Copying the image's content into the volume failed.
    #[error("volume {name}: copying the image's content: {source}")]
    CopyUp {
        name: String,
        #[source]
        source: Box<oci::layer::CopyError>,
    },
    /// The metadata database failed.
    #[error("volume {name}: {source}")]
    Meta {
        name: String,
        #[source]
        source: Box<store::MetaError>,
    },
    /// A filter the endpoint does not know.
    #[error(transparent)]
    Filter(#[from] api_types::filters::FilterError),
    /// A `name` filter that is not a regular expression.
    #[error("invalid filter 'name={pattern}': {source}")]
    NameFilter {
        pattern: String,
        #[source]
        source: regex::Error,
    },
    /// A blocking task died.
    #[error("volume task: {0}")]
    Task(#[source] tokio::task::JoinError),
}

impl VolumeError {
    /// What the client can do about it.
    pub fn kind(&self) -> ErrorKind {
        match self {
            VolumeError::NotFound(_) => ErrorKind::NotFound,
            VolumeError::InvalidName { .. }
            | VolumeError::InvalidOption { .. }
            | VolumeError::NoSuchDriver { .. }
            | VolumeError::Invalid(_)
            | VolumeError::NameFilter { .. } => ErrorKind::InvalidArgument,
            VolumeError::Filter(e) => e.kind(),
            VolumeError::InUse { .. } | VolumeError::PruneRunning => ErrorKind::Conflict,
            VolumeError::Mount { .. }
            | VolumeError::Unmount { .. }
            | VolumeError::Io { .. }
            | VolumeError::CopyUp { .. }
            | VolumeError::Meta { .. }
            | VolumeError::Task(_) => ErrorKind::Internal,
        }
    }

    pub(crate) fn io(
        name: &str,
        what: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> VolumeError {
        let (name, path) = (name.to_string(), path.into());
        move |source| VolumeError::Io {
            name,
            what,
            path,
            source,
        }
    }

    pub(crate) fn meta(name: &str) -> impl FnOnce(store::MetaError) -> VolumeError {
        let name = name.to_string();
        move |source| VolumeError::Meta {
            name,
            source: Box::new(source),
        }
    }
}
