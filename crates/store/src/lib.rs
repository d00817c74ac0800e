//! Everything berth keeps on disk: the content store (blobs by digest), the overlay snapshotter
//! (returns mount lists, never mounts), the redb metadata database and garbage collection.
//!
//! Layout under a data root:
//! - `meta.redb` — metadata ([`db`]): snapshots, images, references, leases, and the engine's
//!   own JSON tables (containers, names, volumes, networks);
//! - `content/blobs/<alg>/<hex>` and `content/ingest/<key>/` — the [`content`] store;
//! - `snapshots/<n>/{fs,work}` — the [`snapshot`]ter's directories.
//!
//! Vocabulary: a **blob** is immutable content named by its digest; an **ingest** is a
//! resumable partial blob; a **snapshot** is an active (writable), view (read-only) or
//! committed (immutable) directory stacked on a committed **parent**; image layers are
//! committed snapshots named by their **chain ID**; a container's rw layer is the active
//! snapshot `container/<id>`; a **lease** keeps what an operation in flight created safe from
//! **garbage collection**, which removes whatever no image, lease or active snapshot reaches.
//!
//! [`Store`] opens all of it from a data root and is what the engine holds. Every method
//! blocks; the engine calls them from `spawn_blocking`.
//!
//! The **layer pipeline** has one entry point, [`Store::unpack`], whose [`Unpack`] options
//! say what the bytes are (a layer blob kept elsewhere, a blob to store as it streams by, a
//! tarball to keep gzip-compressed) and whether to unpack before the parent is committed;
//! [`follow`] is the one way to read a blob while it is still being written (a download, an
//! archive being loaded).
//!
//! Modules: [`store`] (the facade), [`db`], [`content`], [`snapshot`], [`images`], [`lease`],
//! [`layers`] (the pipeline), [`follow`] (readers of growing blobs), [`containers`] (rw
//! layers, diff, commit, export view), [`build`] (the builder's snapshots and in-place
//! layers), [`gc`].

pub mod build;
pub mod containers;
pub mod content;
pub mod db;
pub mod follow;
pub mod gc;
pub mod images;
pub mod layers;
pub mod lease;
pub mod snapshot;
pub mod store;

mod flush;
mod pipe;
mod split;
mod tee;
mod walk;

#[cfg(test)]
mod stream_tests;
#[cfg(test)]
mod tests;

pub use build::{BuildSnapshot, CacheDirKind, BUILD_CACHE_OWNER};
pub use content::{BlobInfo, ContentError, ContentStore, IngestWriter};
pub use db::{MetaDb, MetaError, ReadTx, WriteTx};
pub use errdefs::ErrorKind;
pub use follow::{Follower, Growing};
pub use gc::{Garbage, GcStats};
pub use images::{ImageError, ImageRecord, LayerRecord};
pub use layers::{Content, ImportOptions, Unpack, UnpackedLayer};
pub use lease::{Lease, LeaseOptions, Resource};
pub use snapshot::{
    Info, Kind, Labels, Mount, OverlaySnapshotter, SnapshotError, Snapshotter, Usage,
};
pub use store::{NewImage, Store, StoreError, StoreOptions, OWNER_LABEL};

/// Nanoseconds since the Unix epoch, now.
pub(crate) fn now_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}
