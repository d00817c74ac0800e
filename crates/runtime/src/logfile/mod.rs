//! A container's log file, in one of dockerd's two readable formats ([`LogFormat`]):
//! - **json-file**: one JSON object per line,
//!   `{"log":"hi\n","stream":"stdout","attrs":{…},"time":"2024-01-02T03:04:05.123456789Z"}`
//!   (`attrs` only when `--log-opt labels/env/tag` asked for them);
//! - **local**: length-framed protobuf entries ([`local`]), smaller and faster to parse.
//!
//! The shim writes it ([`LogWriter`]): output is cut into lines, a line longer than
//! [`MAX_LINE`] (16 KiB, as dockerd) is split into partial entries, and the file rotates at
//! `max_size` into `<path>.1` … `<path>.<max_files-1>` — gzip-compressed (`<path>.1.gz`)
//! when `compress` is set, as dockerd's rotation does. The engine reads it back for
//! `docker logs` ([`read`]: since/until/tail across rotated files, compressed or not, then a
//! [`LogFollower`] that continues with new entries for `-f`, across rotations).

pub mod local;
mod reader;
mod writer;

use std::collections::BTreeMap;
use std::path::PathBuf;

pub use reader::{read, LogFollower, ReadOptions};
pub use writer::LogWriter;

use crate::ErrorKind;

/// The longest log entry; longer lines are split (dockerd's 16 KiB buffer).
pub const MAX_LINE: usize = 16 * 1024;

/// Default rotation: 20 MB × 5 files (the defaults of dockerd's `local` driver; dockerd's
/// json-file default is unbounded, which fills disks).
pub const DEFAULT_MAX_SIZE: u64 = 20 * 1024 * 1024;
/// See [`DEFAULT_MAX_SIZE`].
pub const DEFAULT_MAX_FILES: u32 = 5;

/// Which output stream an entry came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    /// Standard output (and all output of a TTY container).
    Stdout,
    /// Standard error.
    Stderr,
}

impl Stream {
    /// `"stdout"` or `"stderr"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// How entries are encoded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogFormat {
    /// dockerd's `json-file` driver.
    #[default]
    JsonFile,
    /// dockerd's `local` driver.
    Local,
}

/// Where, how and how big the log may grow.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LogConfig {
    /// The live file, e.g. `<data-root>/containers/<id>/<id>-json.log`.
    pub path: PathBuf,
    /// Rotate when the file would exceed this many bytes; 0 never rotates.
    pub max_size: u64,
    /// How many files to keep, the live one included (at least 1).
    pub max_files: u32,
    /// The encoding.
    #[serde(default)]
    pub format: LogFormat,
    /// Gzip the rotated files.
    #[serde(default)]
    pub compress: bool,
    /// Attributes attached to every json-file entry (`labels`, `env`, `tag` options).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attrs: BTreeMap<String, String>,
}

impl LogConfig {
    /// A json-file config with the default rotation.
    pub fn with_defaults(path: PathBuf) -> Self {
        LogConfig {
            path,
            max_size: DEFAULT_MAX_SIZE,
            max_files: DEFAULT_MAX_FILES,
            format: LogFormat::JsonFile,
            compress: false,
            attrs: BTreeMap::new(),
        }
    }

    /// The compressed form of rotated file `n`.
    pub fn compressed_file(&self, n: u32) -> PathBuf {
        let mut s = self.file(n).into_os_string();
        s.push(".gz");
        PathBuf::from(s)
    }

    /// The path of rotated file `n` (0 is the live file).
    pub fn file(&self, n: u32) -> PathBuf {
        if n == 0 {
            self.path.clone()
        } else {
            let mut s = self.path.clone().into_os_string();
            s.push(format!(".{n}"));
            PathBuf::from(s)
        }
    }
}

/// One log entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// Where it came from.
    pub stream: Stream,
    /// When the shim read it.
    pub time: std::time::SystemTime,
    /// The bytes, with their trailing newline unless the entry is partial.
    pub line: Vec<u8>,
    /// The entry's attributes (json-file `attrs`), in the file's order.
    pub attrs: Vec<(String, String)>,
}

/// Why a log could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// File I/O failed.
    #[error("log file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl LogError {
    /// The error's kind.
    pub fn kind(&self) -> ErrorKind {
        match self {
            LogError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                ErrorKind::NotFound
            }
            LogError::Io { .. } => ErrorKind::Internal,
        }
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Record<'a> {
    #[serde(borrow)]
    log: std::borrow::Cow<'a, str>,
    stream: Stream,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    attrs: Option<std::borrow::Cow<'a, BTreeMap<String, String>>>,
    #[serde(borrow)]
    time: std::borrow::Cow<'a, str>,
}

#[cfg(test)]
mod tests;
