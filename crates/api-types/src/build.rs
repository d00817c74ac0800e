//! berth's context sync for `POST /build` (an extension; the docker CLI never sends it):
//! before a build, `berth build` sends the list of its context's entries with their stat
//! (`POST /build/context?key=`), the daemon answers which files it does not have yet from
//! the last build of the same context, and the build's body then carries only those — what
//! BuildKit's file sync does, over the classic API.

use serde::{Deserialize, Serialize};

/// What an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContextKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link.
    Symlink,
}

/// One entry of a context, as the client sees it on its disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextEntry {
    /// Slash-separated, relative.
    pub path: String,
    /// What it is.
    pub kind: ContextKind,
    /// Permission bits.
    pub mode: u32,
    /// Bytes (files).
    #[serde(default)]
    pub size: u64,
    /// Modification time, seconds.
    #[serde(default)]
    pub mtime: u64,
    /// Symlink target.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub link: String,
    /// What identifies this version of the file on the client (device, inode, change and
    /// modification times, size); empty: always send it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub stat: String,
}

/// `POST /build/context?key=`: the context's entries, in path order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextManifest {
    /// Every entry.
    pub entries: Vec<ContextEntry>,
}

/// The answer: the files to send, and the token the build names the sync with
/// (`X-Berth-Context` header).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextSyncResponse {
    /// Names the prepared context for `POST /build`.
    pub token: String,
    /// Paths of the files the build's body must carry.
    pub want: Vec<String>,
}
