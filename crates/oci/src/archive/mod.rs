//! Image archives — what `docker save` writes and `docker load` reads — as plain data.
//!
//! One tar holds two views of the same images, as current dockerd writes them:
//! - the **docker-archive** view: `manifest.json`, a list of [`ArchiveEntry`] (config path,
//!   repo tags, layer paths), plus the legacy `repositories` file (name → tag → top layer);
//! - the **OCI image layout** view: `oci-layout`, `index.json` (an OCI index whose manifest
//!   descriptors carry the image name in [`ANNOTATION_IMAGE_NAME`] and the tag in
//!   [`ANNOTATION_REF_NAME`]) and every blob under `blobs/<alg>/<hex>`.
//!
//! Paths inside an archive are relative and use `/`; [`clean_path`] normalises one and refuses
//! any that would leave the archive (`..` above the top, absolute paths are made relative).
//!
//! Reading one (`docker load`) is split so a reader can keep large files out of memory and
//! unpack layers while the archive streams in: [`walk()`] hands out entries (decompressing the
//! whole archive first when it is gzip, bzip2, xz or zstd); the caller records each file in
//! [`Files`] (in memory, or stored by digest and read back through [`Blobs`]);
//! [`layer_plan`] says which blob is which layer as soon as the metadata allows; and once the
//! walk is over, [`images()`] finds the archive's images.

mod files;
mod images;
mod walk;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::compression::CompressionError;
use crate::{Descriptor, Digest, ErrorKind};

pub use files::{Blobs, Content, Files, JSON_MAX};
pub use images::{detected_media_type, images, layer_plan, FoundImage, PlannedLayer};
pub use walk::{walk, Entry};

/// Why an archive cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// The archive is malformed; the message names what is wrong.
    #[error("invalid archive: {0}")]
    Invalid(String),
    /// The tar itself could not be read.
    #[error("invalid archive: reading the tar: {0}")]
    Tar(#[source] std::io::Error),
    /// The archive's compression could not be decoded.
    #[error(transparent)]
    Compression(CompressionError),
    /// An image is for another operating system.
    #[error("cannot load {0} image on linux")]
    WrongOs(String),
    /// A file the reader stored could not be read back.
    #[error("reading {what} of the archive back: {source}")]
    ReadBack {
        /// Which file.
        what: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

impl ArchiveError {
    /// An `invalid archive: …` error.
    pub fn invalid(msg: impl Into<String>) -> ArchiveError {
        ArchiveError::Invalid(msg.into())
    }

    fn tar(e: std::io::Error) -> ArchiveError {
        ArchiveError::Tar(e)
    }

    /// The caller sent a bad archive, except when reading back what it stored failed.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ArchiveError::Invalid(_) | ArchiveError::Tar(_) | ArchiveError::WrongOs(_) => {
                ErrorKind::InvalidArgument
            }
            ArchiveError::Compression(e) => e.kind(),
            ArchiveError::ReadBack { .. } => ErrorKind::Internal,
        }
    }
}

/// The docker-archive manifest.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The legacy repositories file.
pub const REPOSITORIES_FILE: &str = "repositories";
/// The OCI layout marker.
pub const LAYOUT_FILE: &str = "oci-layout";
/// The OCI index.
pub const INDEX_FILE: &str = "index.json";
/// The directory of blobs.
pub const BLOBS_DIR: &str = "blobs";
/// containerd's annotation with the full image name (`docker.io/library/busybox:latest`).
pub const ANNOTATION_IMAGE_NAME: &str = "io.containerd.image.name";
/// The OCI annotation with the tag (or, from some tools, a whole reference).
pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";

/// One image of `manifest.json`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ArchiveEntry {
    /// Path of the config blob.
    #[serde(rename = "Config")]
    pub config: String,
    /// Familiar `name:tag` references (`null` in some archives).
    #[serde(rename = "RepoTags", default, deserialize_with = "null_vec")]
    pub repo_tags: Vec<String>,
    /// Paths of the layer tars, base first.
    #[serde(rename = "Layers", default, deserialize_with = "null_vec")]
    pub layers: Vec<String>,
    /// The image this one was made from, when it is in the same archive.
    #[serde(rename = "Parent", default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Descriptors of foreign layers, by diff ID.
    #[serde(
        rename = "LayerSources",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub layer_sources: Option<BTreeMap<Digest, Descriptor>>,
    /// Fields this version does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn null_vec<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}

/// `repositories`: familiar name → tag → top layer id (hex).
pub type Repositories = BTreeMap<String, BTreeMap<String, String>>;

/// The content of `oci-layout`.
pub fn layout_file() -> Vec<u8> {
    format!(
        r#"{{"imageLayoutVersion": "{}"}}"#,
        crate::media_type::OCI_LAYOUT_VERSION
    )
    .into_bytes()
}

/// `blobs/<alg>/<hex>` of a digest.
pub fn blob_path(d: &Digest) -> String {
    format!("{BLOBS_DIR}/{}/{}", d.algorithm(), d.hex())
}

/// The digest a `blobs/<alg>/<hex>` path names, if it is one (after [`clean_path`]).
pub fn blob_digest(path: &str) -> Option<Digest> {
    let rest = path.strip_prefix(BLOBS_DIR)?.strip_prefix('/')?;
    let (alg, hex) = rest.split_once('/')?;
    Digest::parse(&format!("{alg}:{hex}")).ok()
}

/// Normalises an archive path: `./a//b/` → `a/b`, a leading `/` dropped, `x/../y` → `y`.
/// `None` when the path climbs above the archive's top or is empty.
pub fn clean_path(p: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            c => parts.push(c),
        }
    }
    if parts.is_empty() {
        return None;
    }
    Some(parts.join("/"))
}

/// Resolves a symlink found at `link` (an archive path) with `target` relative to its
/// directory (or to the archive top when absolute).
pub fn resolve_link(link: &str, target: &str) -> Option<String> {
    if target.starts_with('/') {
        return clean_path(target);
    }
    let dir = link.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
    clean_path(&format!("{dir}/{target}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_cleaned_and_cannot_escape() {
        assert_eq!(clean_path("./a//b/").as_deref(), Some("a/b"));
        assert_eq!(clean_path("/etc/passwd").as_deref(), Some("etc/passwd"));
        assert_eq!(clean_path("a/../b").as_deref(), Some("b"));
        assert_eq!(clean_path("../x"), None);
        assert_eq!(clean_path("a/../../x"), None);
        assert_eq!(clean_path("./"), None);
        assert_eq!(
            resolve_link("abc/layer.tar", "../def/layer.tar").as_deref(),
            Some("def/layer.tar")
        );
        assert_eq!(resolve_link("abc/layer.tar", "../../x"), None);
    }

    #[test]
    fn blob_paths_round_trip() {
        let d = Digest::sha256_of(b"x");
        assert_eq!(blob_digest(&blob_path(&d)), Some(d));
        assert_eq!(blob_digest("blobs/sha256/zz"), None);
        assert_eq!(blob_digest("manifest.json"), None);
    }

    #[test]
    fn manifest_entries_accept_null_tags_and_keep_unknown_fields() {
        let m: Vec<ArchiveEntry> = serde_json::from_str(
            r#"[{"Config":"c.json","RepoTags":null,"Layers":["a/layer.tar"],"Extra":1}]"#,
        )
        .unwrap();
        assert!(m[0].repo_tags.is_empty());
        assert_eq!(m[0].extra.get("Extra"), Some(&Value::from(1)));
        let back = serde_json::to_string(&m[0]).unwrap();
        assert!(back.contains(r#""Extra":1"#), "{back}");
    }
}
