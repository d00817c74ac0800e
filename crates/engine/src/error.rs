//! The engine's error type. Domain variants name the object they are about, in dockerd's
//! words; failures of the crates below (store, runtime, registry client, network, formats)
//! are wrapped as typed variants with their source kept, never flattened into strings.
//! `kind()` — the one [`ErrorKind`] of `errdefs` — is what the API server maps to an HTTP
//! status (and nothing else does); a wrapped error's kind is its source's.

use std::path::PathBuf;
use std::sync::Arc;

pub use errdefs::ErrorKind;
use oci::Digest;

/// Errors of the engine's services.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    // --- Domain errors: the messages dockerd gives. ---
    #[error("No such container: {0}")]
    NoSuchContainer(String),
    #[error("No such image: {0}")]
    NoSuchImage(String),
    #[error("No such exec instance: {0}")]
    NoSuchExec(String),
    #[error("Conflict. The container name \"/{name}\" is already in use by container \"{holder}\". You have to remove (or rename) that container to be able to reuse that name.")]
    NameInUse { name: String, holder: String },
    #[error("Invalid container name ({0}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")]
    InvalidName(String),
    /// A bad request; the message names the field or value.
    #[error("{0}")]
    InvalidArgument(String),
    #[error("Container {0} is not running")]
    NotRunning(String),
    #[error("container {0} is already {1}")]
    NotModified(String, &'static str),
    /// The object is in a state that refuses the operation; the message says which.
    #[error("{0}")]
    Conflict(String),
    /// The container's command could not be started; `exit_code` is 126, 127 or 128.
    #[error("{message}")]
    StartFailed { message: String, exit_code: i64 },
    /// An image to push has no tag of that repository.
    #[error("An image does not exist locally with the tag: {0}")]
    NoLocalTag(String),
    /// A filter the endpoint does not know (`invalid filter 'x'`).
    #[error(transparent)]
    Filter(#[from] api_types::filters::FilterError),
    /// Not a valid image reference (Docker's wording).
    #[error(transparent)]
    Reference(#[from] oci::reference::ReferenceError),
    /// A manifest or index that does not parse.
    #[error("{what}: {source}")]
    BadManifest {
        what: String,
        #[source]
        source: oci::manifest::ManifestError,
    },
    /// An image's blob is not in the content store (push, save).
    #[error("{0}")]
    MissingBlob(#[from] MissingBlob),
    /// What a registry served cannot be pulled (manifest, platform, layers).
    #[error(transparent)]
    Pull(Box<PullError>),

    /// An image archive (`docker load`) is malformed.
    #[error(transparent)]
    Archive(#[from] oci::archive::ArchiveError),
    /// An archive's content could not be stored or unpacked.
    #[error(transparent)]
    Load(#[from] crate::image::LoadError),

    // --- Failures of the crates below, wrapped. ---
    /// The store failed.
    #[error("store: {0}")]
    Store(Box<store::StoreError>),
    /// A content-store operation failed.
    #[error(transparent)]
    Content(#[from] store::ContentError),
    /// A blob that was just stored could not be read back.
    #[error("{what}: {source}")]
    ReadBack {
        what: String,
        #[source]
        source: store::ContentError,
    },
    /// The tarball of `docker import <URL>` could not be downloaded.
    #[error(transparent)]
    ImportUrl(#[from] crate::image::ImportUrlError),
    /// A tarball to import is not a usable layer.
    #[error("importing the tarball: {0}")]
    Import(#[source] store::StoreError),
    /// A layer could not be stored or unpacked.
    #[error("layer {digest}: {source}")]
    Layer {
        digest: Digest,
        #[source]
        source: Box<store::StoreError>,
    },
    /// A layer download failed (shared by every pull following it, hence the `Arc`).
    #[error(transparent)]
    Fetch(#[from] Arc<crate::image::FetchError>),
    /// The registry client failed (its message is shown as is).
    #[error(transparent)]
    Registry(#[from] distribution::Error),
    /// The container's shim failed.
    #[error("runtime: {0}")]
    Shim(#[from] runtime::shim::ShimError),
    /// The shim refused a signal: the process is gone or exiting.
    #[error(transparent)]
    KillRefused(runtime::shim::ShimError),
    /// An exec could not be started through the shim (the container went away meanwhile).
    #[error("runtime: {0}")]
    ExecStart(#[source] runtime::shim::ShimError),
    /// An exec's terminal could not be resized.
    #[error("runtime: {0}")]
    ExecResize(#[source] runtime::shim::ShimError),
    /// The exec session did not report ready in time.
    #[error("timeout waiting for exec session ready")]
    ExecNotReady,
    /// The runtime spec could not be built or written.
    #[error("runtime: {0}")]
    Spec(#[from] runtime::spec::SpecError),
    /// An exec's process could not be built from its request.
    #[error(transparent)]
    ExecSpec(runtime::spec::SpecError),
    /// An exec's `--user` does not resolve in the container.
    #[error(transparent)]
    ExecUser(#[from] runtime::spec::user::UserError),
    /// The container logs to a driver that keeps nothing to read (`none`).
    #[error("configured logging driver does not support reading")]
    LogsNotSupported,
    /// The container's log could not be read (a 500 even when the file is missing: the
    /// container exists, so its log should).
    #[error("reading logs: {0}")]
    Logs(#[source] runtime::logfile::LogError),
    /// A mount or unmount failed.
    #[error("{what}: {source}")]
    Mount {
        what: String,
        #[source]
        source: runtime::sys::SysError,
    },
    /// A network namespace could not be created or removed.
    #[error("network namespace: {0}")]
    Netns(#[from] network::netns::NetnsError),
    /// A stored digest (an image id, a layer) does not parse.
    #[error("{what}: {source}")]
    BadDigest {
        what: String,
        #[source]
        source: oci::digest::DigestError,
    },
    /// An image config that does not parse (pulled, loaded).
    #[error("{what}: {source}")]
    BadConfig {
        what: String,
        #[source]
        source: oci::config::ConfigError,
    },
    /// A stored image config does not parse.
    #[error("image {id}: bad config: {source}")]
    StoredConfig {
        id: Digest,
        #[source]
        source: oci::config::ConfigError,
    },
    /// A container config could not be turned into an image config.
    #[error("converting a container config: {0}")]
    ConfigConversion(#[source] serde_json::Error),

    // --- The host. ---
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A build failed (the Dockerfile, the context, or a step).
    #[error(transparent)]
    Build(#[from] build::Error),
    /// `ps` (for `top`) failed; its stderr.
    #[error("ps: {0}")]
    Ps(String),
    /// No free random name after many attempts.
    #[error("could not generate a free name")]
    NoFreeName,
    /// A blocking task was cancelled or panicked.
    #[error("{what} task: {source}")]
    Task {
        what: &'static str,
        #[source]
        source: tokio::task::JoinError,
    },
    /// A helper thread panicked.
    #[error("{0} panicked")]
    Panicked(&'static str),

    // --- The network service. ---
    /// Networks, endpoints, published ports (messages in dockerd's words; boxed: it is big).
    #[error(transparent)]
    Network(Box<crate::network::NetError>),

    // --- The volume service and `docker cp`. ---
    /// A volume operation failed.
    #[error(transparent)]
    Volume(Box<crate::volume::VolumeError>),
    /// A `docker cp` operation (`/containers/{id}/archive`) failed.
    #[error(transparent)]
    ContainerArchive(Box<crate::container::ArchiveError>),
}

impl From<crate::network::NetError> for Error {
    fn from(e: crate::network::NetError) -> Error {
        Error::Network(Box::new(e))
    }
}

impl From<crate::volume::VolumeError> for Error {
    fn from(e: crate::volume::VolumeError) -> Error {
        Error::Volume(Box::new(e))
    }
}

impl From<crate::container::ArchiveError> for Error {
    fn from(e: crate::container::ArchiveError) -> Error {
        Error::ContainerArchive(Box::new(e))
    }
}

/// A blob an image needs is not in the content store.
#[derive(Debug, thiserror::Error)]
pub enum MissingBlob {
    /// While pushing (the message the docker CLI shows).
    #[error("blob {0} of the image is not in the content store")]
    Push(Digest),
    /// While saving.
    #[error("image {image}: blob {digest} is missing from the content store")]
    Save { image: Digest, digest: Digest },
}

impl MissingBlob {
    /// A push names a blob the client can do without (404); a save finds the store broken.
    pub fn kind(&self) -> ErrorKind {
        match self {
            MissingBlob::Push(_) => ErrorKind::NotFound,
            MissingBlob::Save { .. } => ErrorKind::Internal,
        }
    }
}

/// What a registry served that cannot be pulled.
#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error("no tags in repository {0}")]
    NoTags(String),
    #[error("{reference}: unsupported manifest media type {media_type:?}")]
    UnsupportedManifest {
        reference: String,
        media_type: String,
    },
    #[error("no matching manifest for {0} in the manifest list entries")]
    NoMatchingManifest(oci::Platform),
    #[error(
        "{reference}: manifest {digest} for {platform} is a {media_type:?}, not an image manifest"
    )]
    NotAnImageManifest {
        reference: String,
        digest: Digest,
        platform: oci::Platform,
        media_type: String,
    },
    #[error("image with reference {reference} was found but its platform ({have}) does not match the specified platform ({want})")]
    PlatformMismatch {
        reference: String,
        have: oci::Platform,
        want: oci::Platform,
    },
    #[error("{reference}: layer {digest} has unsupported media type {media_type:?}")]
    UnsupportedLayer {
        reference: String,
        digest: Digest,
        media_type: String,
    },
    #[error("{reference}: the manifest lists {layers} layers but the config {diff_ids} diff IDs")]
    LayerCount {
        reference: String,
        layers: usize,
        diff_ids: usize,
    },
    #[error("layer {0} vanished after download")]
    Vanished(Digest),
}

impl PullError {
    /// What the client can do about it.
    pub fn kind(&self) -> ErrorKind {
        match self {
            PullError::NoTags(_)
            | PullError::NoMatchingManifest(_)
            | PullError::PlatformMismatch { .. } => ErrorKind::NotFound,
            PullError::UnsupportedManifest { .. }
            | PullError::NotAnImageManifest { .. }
            | PullError::UnsupportedLayer { .. }
            | PullError::LayerCount { .. } => ErrorKind::InvalidArgument,
            PullError::Vanished(_) => ErrorKind::Internal,
        }
    }
}

impl Error {
    /// What the client can do about it.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::NoSuchContainer(_)
            | Error::NoSuchImage(_)
            | Error::NoSuchExec(_)
            | Error::NoLocalTag(_) => ErrorKind::NotFound,
            Error::NameInUse { .. } | Error::Conflict(_) | Error::NotRunning(_) => {
                ErrorKind::Conflict
            }
            Error::InvalidName(_)
            | Error::InvalidArgument(_)
            | Error::Reference(_)
            | Error::BadManifest { .. }
            | Error::BadConfig { .. }
            | Error::Import(_) => ErrorKind::InvalidArgument,
            Error::NotModified(..) => ErrorKind::NotModified,
            Error::StartFailed { exit_code, .. } => {
                if *exit_code == 126 || *exit_code == 127 {
                    ErrorKind::InvalidArgument
                } else {
                    ErrorKind::Internal
                }
            }
            Error::Build(e) => e.kind(),
            Error::MissingBlob(e) => e.kind(),
            Error::ImportUrl(e) => e.kind(),
            Error::Pull(e) => e.kind(),
            Error::Archive(e) => e.kind(),
            Error::Volume(e) => e.kind(),
            Error::ContainerArchive(e) => e.kind(),
            Error::Load(e) => e.kind(),
            Error::Filter(e) => e.kind(),
            Error::Store(e) => e.kind(),
            Error::Layer { source, .. } => source.kind(),
            Error::Content(e) => e.kind(),
            Error::Fetch(e) => e.kind(),
            Error::Registry(e) => e.kind(),
            Error::Shim(e) => e.kind(),
            Error::ExecStart(_) | Error::KillRefused(_) => ErrorKind::Conflict,
            Error::Spec(e) => e.kind(),
            Error::ExecSpec(e) => match e.kind() {
                ErrorKind::Internal => ErrorKind::Internal,
                _ => ErrorKind::InvalidArgument,
            },
            Error::ExecUser(_) => ErrorKind::InvalidArgument,
            Error::LogsNotSupported => ErrorKind::NotImplemented,
            Error::Network(e) => e.kind(),
            Error::ReadBack { .. }
            | Error::ExecResize(_)
            | Error::ExecNotReady
            | Error::Logs(_)
            | Error::Mount { .. }
            | Error::Netns(_)
            | Error::BadDigest { .. }
            | Error::StoredConfig { .. }
            | Error::ConfigConversion(_)
            | Error::Io { .. }
            | Error::File { .. }
            | Error::Ps(_)
            | Error::NoFreeName
            | Error::Task { .. }
            | Error::Panicked(_) => ErrorKind::Internal,
        }
    }

    /// An I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// An I/O error on a path.
    pub fn file(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::File {
            path: path.into(),
            source,
        }
    }

    /// A bad request; `msg` names what was wrong.
    pub fn invalid(msg: impl Into<String>) -> Error {
        Error::InvalidArgument(msg.into())
    }

    /// A request the object's state refuses; `msg` says why.
    pub fn conflict(msg: impl Into<String>) -> Error {
        Error::Conflict(msg.into())
    }

    /// A blocking task that did not finish (`what` names it: `"commit"` → `commit task: …`).
    pub fn task(what: &'static str) -> impl FnOnce(tokio::task::JoinError) -> Error {
        move |source| Error::Task { what, source }
    }

    /// A layer that could not be stored or unpacked.
    pub fn layer(digest: &Digest) -> impl FnOnce(store::StoreError) -> Error + '_ {
        move |source| Error::Layer {
            digest: digest.clone(),
            source: Box::new(source),
        }
    }
}

/// `No such image` keeps dockerd's wording (no `store:` prefix); every other image error is
/// a store error.
impl From<store::ImageError> for Error {
    fn from(e: store::ImageError) -> Error {
        match e {
            store::ImageError::NotFound { reference } => Error::NoSuchImage(reference),
            e => Error::Store(Box::new(e.into())),
        }
    }
}

impl From<PullError> for Error {
    fn from(e: PullError) -> Error {
        Error::Pull(Box::new(e))
    }
}

impl From<store::StoreError> for Error {
    fn from(e: store::StoreError) -> Error {
        Error::Store(Box::new(e))
    }
}

/// Metadata failures are store failures.
impl From<store::MetaError> for Error {
    fn from(e: store::MetaError) -> Error {
        Error::Store(Box::new(e.into()))
    }
}

/// Result of the engine's services.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapped_errors_keep_their_kind_and_wording() {
        let e: Error = store::ImageError::NotFound {
            reference: "x:1".into(),
        }
        .into();
        assert_eq!(e.to_string(), "No such image: x:1");
        assert_eq!(e.kind(), ErrorKind::NotFound);
        let e: Error = store::StoreError::MissingLayer {
            chain_id: Digest::sha256_of(b"l"),
        }
        .into();
        assert!(e.to_string().starts_with("store: layer sha256:"), "{e}");
        assert_eq!(e.kind(), ErrorKind::NotFound);
        let e: Error = store::ImageError::Tagged { id: "abc".into() }.into();
        assert_eq!(e.kind(), ErrorKind::Conflict);
        assert!(e
            .to_string()
            .starts_with("store: conflict: unable to delete abc"));
    }
}
