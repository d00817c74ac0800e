//! Media types the registry understands, from the `oci` crate, plus the helpers it needs.

pub use oci::media_type::{
    DOCKER_CONFIG, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST as DOCKER_LIST,
    DOCKER_MANIFEST_V1_SIGNED as DOCKER_SCHEMA1_SIGNED, OCI_CONFIG, OCI_INDEX, OCI_MANIFEST,
};

/// Whether `mt` names an index (a list of manifests) rather than a single image manifest.
pub fn is_index(mt: &str) -> bool {
    mt == OCI_INDEX || mt == DOCKER_LIST
}

/// Whether `mt` is an image config the UI can read.
pub fn is_image_config(mt: &str) -> bool {
    mt == OCI_CONFIG || mt == DOCKER_CONFIG
}

/// The media type of a `Content-Type` header value, without parameters, lowercased.
pub fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}
