//! Storage drivers: the byte store under the registry.
//!
//! A driver stores opaque files under slash-separated relative **paths** (`blobs/sha256/ab/ab…`).
//! It knows nothing of repositories or digests; [`crate::store::Store`] decides the layout. The
//! contract every driver keeps, checked by [`testsuite::run`]:
//! - [`StorageDriver::put_content`] and [`StorageDriver::rename`] are **atomic and durable**: after
//!   they return, a crash leaves either the old or the new content, never a mix, and the new
//!   content survives;
//! - a [`FileWriter`] appends; its data is durable only once [`FileWriter::commit`] returns;
//! - a missing path is [`DriverError::NotFound`], never an empty file.
//!
//! The filesystem driver is [`fs::FsDriver`]; an S3-compatible driver would implement the same
//! trait (multipart uploads for writers, copy + delete for rename).

pub mod fs;
pub mod testsuite;

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::time::SystemTime;

use bytes::Bytes;
use futures_util::Stream;

use crate::ErrorKind;

/// A boxed future, so drivers can be used as trait objects.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A stream of file content.
pub type ByteStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

/// A driver failure.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// Nothing is stored at the path.
    #[error("storage path {path:?} not found")]
    NotFound {
        /// The path.
        path: String,
    },
    /// The path is not a clean relative path.
    #[error("invalid storage path {path:?}")]
    InvalidPath {
        /// The path.
        path: String,
    },
    /// Another process holds the store (a running server, or gc).
    #[error("{path} is locked by another berth-registry process (stop it first)")]
    Locked {
        /// The lock file.
        path: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The backing store failed.
    #[error("storage {op} of {path:?} failed")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The path.
        path: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

impl DriverError {
    /// The error's kind.
    pub fn kind(&self) -> ErrorKind {
        match self {
            DriverError::NotFound { .. } => ErrorKind::NotFound,
            DriverError::InvalidPath { .. } => ErrorKind::Internal,
            DriverError::Locked { .. } => ErrorKind::Conflict,
            DriverError::Io { .. } => ErrorKind::Unavailable,
        }
    }

    /// Whether this is [`DriverError::NotFound`].
    pub fn is_not_found(&self) -> bool {
        matches!(self, DriverError::NotFound { .. })
    }
}

/// What [`StorageDriver::stat`] tells.
#[derive(Debug, Clone, Copy)]
pub struct FileInfo {
    /// Size in bytes (0 for directories).
    pub size: u64,
    /// Last modification.
    pub modified: SystemTime,
    /// Whether the path is a directory (a prefix of other paths).
    pub is_dir: bool,
}

/// The byte store. All methods take relative paths with `/` separators and no `.`/`..`.
pub trait StorageDriver: Send + Sync + 'static {
    /// A short name for logs (`filesystem`).
    fn name(&self) -> &'static str;

    /// Reads a whole (small) file.
    fn get_content<'a>(&'a self, path: &'a str) -> BoxFuture<'a, Result<Bytes, DriverError>>;

    /// Writes a whole file atomically and durably, replacing any previous content.
    fn put_content<'a>(
        &'a self,
        path: &'a str,
        data: Bytes,
    ) -> BoxFuture<'a, Result<(), DriverError>>;

    /// Size, time and type of a path.
    fn stat<'a>(&'a self, path: &'a str) -> BoxFuture<'a, Result<FileInfo, DriverError>>;

    /// Streams `len` bytes (or to the end) from `offset`.
    fn read_stream<'a>(
        &'a self,
        path: &'a str,
        offset: u64,
        len: Option<u64>,
    ) -> BoxFuture<'a, Result<ByteStream, DriverError>>;

    /// Opens a writer at the end of `path` (`append`) or on a new empty file.
    fn writer<'a>(
        &'a self,
        path: &'a str,
        append: bool,
    ) -> BoxFuture<'a, Result<Box<dyn FileWriter>, DriverError>>;

    /// The names of the direct children of a directory, sorted.
    fn list<'a>(&'a self, path: &'a str) -> BoxFuture<'a, Result<Vec<String>, DriverError>>;

    /// Moves a file atomically and durably, replacing the destination.
    fn rename<'a>(&'a self, from: &'a str, to: &'a str) -> BoxFuture<'a, Result<(), DriverError>>;

    /// Removes a file or a whole directory.
    fn delete<'a>(&'a self, path: &'a str) -> BoxFuture<'a, Result<(), DriverError>>;
}

/// An appending writer from [`StorageDriver::writer`].
pub trait FileWriter: Send {
    /// Appends bytes (may buffer).
    fn write(&mut self, data: Bytes) -> BoxFuture<'_, Result<(), DriverError>>;

    /// The file's size including everything written so far.
    fn size(&self) -> u64;

    /// Flushes and makes everything durable.
    fn commit(self: Box<Self>) -> BoxFuture<'static, Result<(), DriverError>>;

    /// Drops whatever was written past `keep` bytes (a failed append) and closes, durably.
    fn abort_to(self: Box<Self>, keep: u64) -> BoxFuture<'static, Result<(), DriverError>>;
}

/// Checks a driver path: relative, `/`-separated, no empty, `.` or `..` components.
pub fn check_path(path: &str) -> Result<(), DriverError> {
    let ok = !path.is_empty()
        && path
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != ".." && !c.contains('\0'));
    if ok {
        Ok(())
    } else {
        Err(DriverError::InvalidPath {
            path: path.to_owned(),
        })
    }
}
