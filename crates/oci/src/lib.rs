//! Image formats, pure: digests, references (`busybox` → `docker.io/library/busybox:latest`),
//! media types, manifests, indexes and image configs (OCI and Docker schema2), and layer tars —
//! applying them to a directory (whiteouts, opaque dirs, hard links; nothing escapes the target)
//! and producing them from a diff.
//!
//! Vocabulary (the OCI image spec's):
//! - a **blob** is content addressed by its [`Digest`]; a **descriptor** points at one
//!   (media type, digest, size);
//! - a **layer** is a tar (possibly compressed) of filesystem changes; its **diff ID** is the
//!   digest of the *uncompressed* tar, its **chain ID** ([`config::chain_id`]) identifies the
//!   stack of layers below and including it;
//! - the **image config** lists the diff IDs and the runtime defaults; the **image ID** is the
//!   digest of the config bytes exactly as stored;
//! - a **manifest** ties one config to its layer blobs; an **index** (Docker: manifest list)
//!   points at manifests per platform;
//! - a **whiteout** (`.wh.<name>` in a tar, a 0/0 character device in an overlay upper dir)
//!   deletes a lower file; an **opaque** directory (`.wh..wh..opq`, or the
//!   `trusted.overlay.opaque=y` xattr) hides everything below it in lower layers.
//!
//! Modules: [`digest`], [`reference`](mod@reference), [`media_type`], [`manifest`], [`config`],
//! [`compression`], [`archive`] (what `docker save` writes), and [`layer`] (apply, diff,
//! changes).

pub mod archive;
pub mod compression;
pub mod config;
pub mod digest;
pub mod layer;
pub mod manifest;
pub mod media_type;
pub mod reference;

pub use compression::Compression;
pub use config::{chain_id, ImageConfig};
pub use digest::{Algorithm, Digest, Digester, HashingReader, HashingWriter};
pub use manifest::{Descriptor, Index, Manifest, Platform};
pub use reference::{AnyReference, Reference};

/// What every berth error answers from `kind()`; only the API server turns it into an HTTP
/// status. Defined once, in `errdefs`.
pub use errdefs::ErrorKind;
