//! Layer tars: [`apply`] one to a directory, [`diff`] an overlay upper directory back into one,
//! and list its [`changes`] as `docker diff` does. The same machinery serves `docker cp`
//! (plain tars: [`archive_entry`], [`WhiteoutMode::Keep`]) and volume copy-up
//! ([`copy_tree`]); [`scope`] resolves paths inside a root as the applier does.
//!
//! Two whiteout encodings meet here. In a **layer tar**, `dir/.wh.name` deletes `dir/name` from
//! the layers below, and `dir/.wh..wh..opq` makes `dir` opaque (hides everything below it). In
//! **overlay form** — what overlayfs reads from an upper or lower directory — a deletion is a
//! character device with device number 0/0 named `name`, and an opaque directory carries the
//! xattr `trusted.overlay.opaque=y`. [`apply`] converts tar form to overlay form (or, in
//! [`WhiteoutMode::Remove`], simply deletes, for a flat directory); [`diff`] converts back.
//!
//! Safety: every path is resolved relative to the target's directory file descriptor with
//! `openat2(RESOLVE_IN_ROOT)`, so `..`, absolute names and symlinks (including ones planted by
//! earlier entries of the same tar) can never lead outside the target; the last component of a
//! path is never followed when writing.

mod applier;
mod apply;
mod changes;
mod copy;
mod diff;
mod fsutil;
mod meta;
mod path;
pub mod scope;

#[cfg(test)]
mod tests;

pub use apply::{apply, ApplyError, ApplyOptions, ApplyStats, WhiteoutMode};
pub use changes::{changes, Change, ChangeKind};
pub use copy::{copy_tree, CopyError, CopyStats};
pub use diff::{archive_entry, diff, DiffError, DiffStats};
pub use fsutil::WriteBehind;

/// Prefix of a whiteout entry in a layer tar.
pub const WHITEOUT_PREFIX: &str = ".wh.";
/// Prefix of AUFS metadata entries (`.wh..wh.plnk` …), which are skipped.
pub const WHITEOUT_META_PREFIX: &str = ".wh..wh.";
/// Name of the opaque-directory marker in a layer tar.
pub const WHITEOUT_OPAQUE: &str = ".wh..wh..opq";
/// The overlayfs xattr that marks a directory opaque.
pub const OPAQUE_XATTR: &str = "trusted.overlay.opaque";
