//! Snapshots: the directories containers' root filesystems are stacked from.
//!
//! Vocabulary (containerd's `core/snapshots`): a snapshot is identified by a **key** while it
//! is **active** (writable: being unpacked into, or a container's rw layer) or a **view**
//! (read-only), and by a **name** once **committed** (immutable; image layers are committed
//! under their chain ID). A snapshot's **parent** is a committed snapshot it is stacked on.
//! [`Snapshotter::prepare`] and [`Snapshotter::view`] return the [`Mount`]s that assemble the
//! snapshot and never mount anything themselves; the caller (the runtime) mounts them.

pub(crate) mod overlay;
mod spread;
pub use spread::mark_topdir;

use std::collections::BTreeMap;
use std::io;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use overlay::OverlaySnapshotter;

use crate::db::MetaError;
use crate::ErrorKind;

/// Free-form labels on a snapshot.
pub type Labels = BTreeMap<String, String>;

/// The state of a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Kind {
    /// Writable, addressed by key.
    Active,
    /// Read-only view of a parent, addressed by key.
    View,
    /// Immutable, addressed by name; can be a parent.
    Committed,
}

/// What a snapshotter knows about one snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    /// Key (active, view) or name (committed).
    pub key: String,
    /// State.
    pub kind: Kind,
    /// Parent's name, if any.
    pub parent: Option<String>,
    /// Labels.
    pub labels: Labels,
    /// Creation time, nanoseconds since the epoch.
    pub created: u64,
    /// The numeric id naming its directory (`snapshots/<id>`).
    pub id: u64,
}

/// Disk use of a snapshot's own directory (not its parents).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Bytes: the sum of the sizes of its files, hard links counted once (Docker's rule).
    pub size: u64,
    /// Number of inodes (files, directories, links, devices).
    pub inodes: u64,
}

/// One mount of a snapshot's assembly, in `mount(8)` terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mount {
    /// Filesystem type: `overlay` or `bind`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Source: `overlay`, or the directory to bind.
    pub source: String,
    /// Options: `lowerdir=…`, `upperdir=…`, `workdir=…`, or `rbind`, `ro`/`rw`.
    pub options: Vec<String>,
}

impl Mount {
    /// True for a bind mount (to be done with `MS_BIND`, plus a remount for `ro`).
    pub fn is_bind(&self) -> bool {
        self.kind == "bind"
    }

    /// True when `ro` is among the options.
    pub fn is_readonly(&self) -> bool {
        self.options.iter().any(|o| o == "ro")
    }

    /// The options that are filesystem data (everything but the bind/ro/rw flags), joined with
    /// `,` as `mount(2)`'s `data` argument wants them.
    pub fn data(&self) -> String {
        self.options
            .iter()
            .filter(|o| !matches!(o.as_str(), "ro" | "rw" | "bind" | "rbind"))
            .cloned()
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Errors of the snapshotter.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// No snapshot with this key or name.
    #[error("snapshot {key:?} not found")]
    NotFound {
        /// The key.
        key: String,
    },
    /// The key or name is taken.
    #[error("snapshot {key:?} already exists")]
    AlreadyExists {
        /// The key.
        key: String,
    },
    /// The operation needs an active snapshot.
    #[error("snapshot {key:?} is not active")]
    NotActive {
        /// The key.
        key: String,
    },
    /// A parent must be committed.
    #[error("parent snapshot {parent:?} is not committed")]
    ParentNotCommitted {
        /// The parent.
        parent: String,
    },
    /// Removing a snapshot other snapshots are stacked on.
    #[error("snapshot {key:?} has {children} dependent snapshot(s)")]
    HasChildren {
        /// The key.
        key: String,
        /// How many.
        children: usize,
    },
    /// Empty or oversized key.
    #[error("invalid snapshot key {key:?}")]
    InvalidKey {
        /// The key.
        key: String,
    },
    /// A filesystem operation failed.
    #[error("snapshot {op} {path}: {source}")]
    Io {
        /// The operation.
        op: &'static str,
        /// The path.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// The metadata database failed.
    #[error(transparent)]
    Meta(#[from] MetaError),
}

impl SnapshotError {
    /// The error's category.
    pub fn kind(&self) -> ErrorKind {
        match self {
            SnapshotError::NotFound { .. } => ErrorKind::NotFound,
            SnapshotError::AlreadyExists { .. } | SnapshotError::HasChildren { .. } => {
                ErrorKind::Conflict
            }
            SnapshotError::NotActive { .. }
            | SnapshotError::ParentNotCommitted { .. }
            | SnapshotError::InvalidKey { .. } => ErrorKind::InvalidArgument,
            SnapshotError::Io { .. } => ErrorKind::Internal,
            SnapshotError::Meta(e) => e.kind(),
        }
    }
}

/// A snapshotter: containerd's interface, blocking.
pub trait Snapshotter: Send + Sync {
    /// Creates an active snapshot `key` on top of the committed `parent` and returns its mounts.
    fn prepare(
        &self,
        key: &str,
        parent: Option<&str>,
        labels: Labels,
    ) -> Result<Vec<Mount>, SnapshotError>;

    /// Creates a read-only view `key` of the committed `parent` and returns its mounts.
    fn view(
        &self,
        key: &str,
        parent: Option<&str>,
        labels: Labels,
    ) -> Result<Vec<Mount>, SnapshotError>;

    /// The mounts of an active snapshot or view.
    fn mounts(&self, key: &str) -> Result<Vec<Mount>, SnapshotError>;

    /// Turns the active snapshot `key` into the committed snapshot `name`.
    fn commit(&self, name: &str, key: &str, labels: Labels) -> Result<(), SnapshotError>;

    /// Removes a snapshot; refuses when others are stacked on it.
    fn remove(&self, key: &str) -> Result<(), SnapshotError>;

    /// Information about one snapshot.
    fn stat(&self, key: &str) -> Result<Info, SnapshotError>;

    /// Disk use of the snapshot's own directory.
    fn usage(&self, key: &str) -> Result<Usage, SnapshotError>;

    /// Calls `f` for every snapshot.
    fn walk(&self, f: &mut dyn FnMut(&Info)) -> Result<(), SnapshotError>;

    /// The snapshot's own filesystem directory: for an active snapshot, where a layer can be
    /// unpacked directly, without mounting anything.
    fn fs_dir(&self, key: &str) -> Result<PathBuf, SnapshotError>;
}

#[cfg(test)]
pub(crate) mod conformance;
