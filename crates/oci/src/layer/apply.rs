//! Unpacking a layer tar into a directory, in one pass, never writing outside it.

use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use rustix::io::Errno;

use super::applier::Applier;
use super::fsutil::Root;
use super::path::{CleanPath, PathProblem};
use crate::ErrorKind;

/// How `.wh.` entries are materialised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WhiteoutMode {
    /// Overlay form: `.wh.x` → a 0/0 character device `x`; `.wh..wh..opq` → the
    /// `trusted.overlay.opaque=y` xattr on the directory. The target is one layer's directory,
    /// to be used as an overlay lower or upper dir.
    #[default]
    Overlay,
    /// Flat form: `.wh.x` deletes `x`; `.wh..wh..opq` deletes what the directory held before
    /// this layer. The target holds the merged content of all layers so far.
    Remove,
    /// No whiteouts at all: the tar is a plain archive (`docker cp`), and `.wh.` names are
    /// ordinary files.
    Keep,
}

/// Options of [`apply`].
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Whiteout encoding (default overlay).
    pub whiteouts: WhiteoutMode,
    /// Give files the uid/gid recorded in the tar (default true; needs root).
    pub same_owner: bool,
    /// Restore extended attributes from PAX `SCHILY.xattr.*` records (default true). Overlay's
    /// own `trusted.overlay.*` / `user.overlay.*` are never taken from a tar.
    pub xattrs: bool,
    /// Give every file this uid/gid instead of the tar's (`docker cp -a` into a container
    /// with a USER: dockerd's `ChownOpts`). Only with `same_owner`.
    pub chown: Option<(u32, u32)>,
    /// Refuse to replace an existing directory with a non-directory or the reverse
    /// (the archive API's `noOverwriteDirNonDir`).
    pub no_overwrite_dir_non_dir: bool,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            whiteouts: WhiteoutMode::Overlay,
            same_owner: true,
            xattrs: true,
            chown: None,
            no_overwrite_dir_non_dir: false,
        }
    }
}

/// What [`apply`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyStats {
    /// Tar entries processed (all kinds).
    pub entries: u64,
    /// Regular files written.
    pub files: u64,
    /// Directories created or updated.
    pub dirs: u64,
    /// Symbolic links created.
    pub symlinks: u64,
    /// Hard links created.
    pub hardlinks: u64,
    /// Device nodes and FIFOs created.
    pub devices: u64,
    /// `.wh.` whiteouts applied.
    pub whiteouts: u64,
    /// `.wh..wh..opq` markers applied.
    pub opaque_dirs: u64,
    /// Bytes of regular-file content written.
    pub file_bytes: u64,
    /// Extended attributes not set: the filesystem refused them (`EPERM`/`ENOTSUP`) or they
    /// were overlay-internal names.
    pub xattrs_skipped: u64,
}

/// Why a layer could not be applied. Entry names are shown as found in the tar.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The target directory could not be opened.
    #[error("opening layer target {path}: {source}")]
    Target {
        /// The target.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// The tar stream is unreadable or malformed (includes decompression errors).
    #[error("reading layer tar: {source}")]
    Read {
        /// The error.
        #[source]
        source: io::Error,
    },
    /// An entry's header or data is unreadable.
    #[error("layer entry {entry:?}: reading {what}: {source}")]
    Entry {
        /// The entry name.
        entry: String,
        /// Which part (header field, data).
        what: &'static str,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// The entry's name (or hard-link target) climbs out of the target with `..`.
    #[error("layer entry {entry:?}: {which} escapes the target directory")]
    Breakout {
        /// The entry name.
        entry: String,
        /// `path` or `hard link target`.
        which: &'static str,
    },
    /// A name component over 255 bytes or a path over 4095 bytes.
    #[error("layer entry {entry:?}: name too long")]
    NameTooLong {
        /// The entry name (truncated to 300 bytes).
        entry: String,
    },
    /// The entry cannot be represented safely.
    #[error("layer entry {entry:?}: {problem}")]
    Invalid {
        /// The entry name.
        entry: String,
        /// What is wrong.
        problem: &'static str,
    },
    /// With `no_overwrite_dir_non_dir`: the entry would replace a directory with a
    /// non-directory (`existing_dir`) or a non-directory with a directory.
    #[error("{}", if *existing_dir {
        format!("cannot overwrite directory {entry:?} with non-directory")
    } else {
        format!("cannot overwrite non-directory {entry:?} with directory")
    })]
    Overwrite {
        /// The entry name.
        entry: String,
        /// What is there now is a directory.
        existing_dir: bool,
    },
    /// A filesystem operation failed.
    #[error("layer entry {entry:?}: {op}: {source}")]
    Io {
        /// The entry name.
        entry: String,
        /// The operation.
        op: &'static str,
        /// The error.
        #[source]
        source: io::Error,
    },
}

impl ApplyError {
    /// `InvalidArgument` for bad input, `Internal` for failures of the filesystem. A path the
    /// layer itself makes unresolvable (a parent that is missing, not a directory, or a loop of
    /// the layer's symlinks) is bad input too.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ApplyError::Io { op, source, .. }
                if op.starts_with("resolving")
                    && matches!(
                        source.raw_os_error(),
                        Some(libc::ENOENT | libc::ENOTDIR | libc::ELOOP)
                    ) =>
            {
                ErrorKind::InvalidArgument
            }
            ApplyError::Target { .. } | ApplyError::Io { .. } => ErrorKind::Internal,
            _ => ErrorKind::InvalidArgument,
        }
    }
}

/// Reads buffer size: big reads from the (decompressing) stream, big writes to files.
const BUF: usize = 1 << 20;

/// Unpacks the layer tar read from `reader` into the existing directory `target`.
///
/// One pass, no fsync (the caller syncs once if it needs durability). The reader is drained to
/// its end after the tar's end-of-archive marker, so a [`crate::HashingReader`] wrapped around it
/// yields the layer's diff ID. Later entries win over earlier ones with the same name
/// (a directory is merged with a directory; anything else is replaced).
pub fn apply<R: Read>(
    reader: R,
    target: &Path,
    opts: &ApplyOptions,
) -> Result<ApplyStats, ApplyError> {
    let root = Root::open(target).map_err(|source| ApplyError::Target {
        path: target.into(),
        source,
    })?;
    let mut ap = Applier::new(root, opts.clone(), BUF);
    let mut archive = tar::Archive::new(BufReader::with_capacity(BUF, reader));
    for entry in archive
        .entries()
        .map_err(|source| ApplyError::Read { source })?
    {
        let mut entry = entry.map_err(|source| ApplyError::Read { source })?;
        ap.entry(&mut entry)?;
    }
    ap.restore_dir_times()?;
    io::copy(&mut archive.into_inner(), &mut io::sink())
        .map_err(|source| ApplyError::Read { source })?;
    Ok(ap.into_stats())
}

pub(super) fn entry_name(raw: &[u8]) -> String {
    let cut = &raw[..raw.len().min(300)];
    String::from_utf8_lossy(cut).into_owned()
}

pub(super) fn io_err<'a>(
    raw: &'a [u8],
    op: &'static str,
) -> impl FnOnce(io::Error) -> ApplyError + 'a {
    move |source| ApplyError::Io {
        entry: entry_name(raw),
        op,
        source,
    }
}

pub(super) fn errno<'a>(raw: &'a [u8], op: &'static str) -> impl FnOnce(Errno) -> ApplyError + 'a {
    move |e| ApplyError::Io {
        entry: entry_name(raw),
        op,
        source: e.into(),
    }
}

pub(super) fn clean(raw: &[u8], which: &'static str) -> Result<CleanPath, ApplyError> {
    CleanPath::parse(raw).map_err(|p| match p {
        PathProblem::Escapes => ApplyError::Breakout {
            entry: entry_name(raw),
            which,
        },
        PathProblem::TooLong => ApplyError::NameTooLong {
            entry: entry_name(raw),
        },
        PathProblem::Nul => ApplyError::Invalid {
            entry: entry_name(raw),
            problem: "NUL byte in name",
        },
    })
}
