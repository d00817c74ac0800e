//! Media types of the OCI image spec and of Docker's image manifest v2 schema 2, and what they
//! say about a blob (is it a manifest? a layer? which compression?).

use crate::compression::Compression;

/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// OCI image config.
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// OCI layer, uncompressed tar.
pub const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
/// OCI layer, gzip.
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// OCI layer, zstd.
pub const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
/// OCI non-distributable layer, uncompressed (deprecated but still seen).
pub const OCI_LAYER_NONDIST_TAR: &str = "application/vnd.oci.image.layer.nondistributable.v1.tar";
/// OCI non-distributable layer, gzip.
pub const OCI_LAYER_NONDIST_GZIP: &str =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
/// OCI non-distributable layer, zstd.
pub const OCI_LAYER_NONDIST_ZSTD: &str =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";
/// OCI empty JSON descriptor (`{}`), used by artifacts.
pub const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
/// The `oci-layout` file's version.
pub const OCI_LAYOUT_VERSION: &str = "1.0.0";

/// Docker schema 2 manifest.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list (multi-platform).
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// Docker image config.
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
/// Docker layer, gzip ("rootfs.diff.tar.gzip").
pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
/// Docker layer, uncompressed (used by `docker save`'s OCI output and some tools).
pub const DOCKER_LAYER_TAR: &str = "application/vnd.docker.image.rootfs.diff.tar";
/// Docker layer, zstd.
pub const DOCKER_LAYER_ZSTD: &str = "application/vnd.docker.image.rootfs.diff.tar.zstd";
/// Docker foreign layer (Windows base layers; fetched from `urls`).
pub const DOCKER_FOREIGN_LAYER: &str = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
/// Docker schema 1 signed manifest (legacy; recognised only to refuse it clearly).
pub const DOCKER_MANIFEST_V1_SIGNED: &str =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";

/// True for single-image manifests (OCI or Docker schema 2).
pub fn is_manifest(mt: &str) -> bool {
    mt == OCI_MANIFEST || mt == DOCKER_MANIFEST
}

/// True for multi-platform indexes (OCI index or Docker manifest list).
pub fn is_index(mt: &str) -> bool {
    mt == OCI_INDEX || mt == DOCKER_MANIFEST_LIST
}

/// True for image configs.
pub fn is_config(mt: &str) -> bool {
    mt == OCI_CONFIG || mt == DOCKER_CONFIG
}

/// True for any layer media type berth can unpack (OCI, Docker, non-distributable, foreign).
pub fn is_layer(mt: &str) -> bool {
    layer_compression(mt).is_some()
}

/// True for layers that registries may refuse to serve (foreign / non-distributable).
pub fn is_foreign_layer(mt: &str) -> bool {
    mt == DOCKER_FOREIGN_LAYER
        || mt.starts_with("application/vnd.oci.image.layer.nondistributable.")
}

/// The compression a layer media type declares, or `None` when it is not a layer type.
pub fn layer_compression(mt: &str) -> Option<Compression> {
    Some(match mt {
        OCI_LAYER_TAR | OCI_LAYER_NONDIST_TAR | DOCKER_LAYER_TAR => Compression::None,
        OCI_LAYER_GZIP | OCI_LAYER_NONDIST_GZIP | DOCKER_LAYER_GZIP | DOCKER_FOREIGN_LAYER => {
            Compression::Gzip
        }
        OCI_LAYER_ZSTD | OCI_LAYER_NONDIST_ZSTD | DOCKER_LAYER_ZSTD => Compression::Zstd,
        _ => return None,
    })
}

/// The layer media type for a compression in the OCI (`oci = true`) or Docker family.
/// `xz` has no registered layer type; it maps to the uncompressed type (store it recompressed).
pub fn layer_media_type(compression: Compression, oci: bool) -> &'static str {
    match (compression, oci) {
        (Compression::Gzip, true) => OCI_LAYER_GZIP,
        (Compression::Gzip, false) => DOCKER_LAYER_GZIP,
        (Compression::Zstd, true) => OCI_LAYER_ZSTD,
        (Compression::Zstd, false) => DOCKER_LAYER_ZSTD,
        (_, true) => OCI_LAYER_TAR,
        (_, false) => DOCKER_LAYER_TAR,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_media_types() {
        assert!(is_manifest(DOCKER_MANIFEST) && is_manifest(OCI_MANIFEST));
        assert!(is_index(DOCKER_MANIFEST_LIST) && is_index(OCI_INDEX));
        assert!(is_config(DOCKER_CONFIG) && !is_config(OCI_MANIFEST));
        assert_eq!(
            layer_compression(DOCKER_LAYER_GZIP),
            Some(Compression::Gzip)
        );
        assert_eq!(layer_compression(OCI_LAYER_ZSTD), Some(Compression::Zstd));
        assert_eq!(layer_compression(OCI_LAYER_TAR), Some(Compression::None));
        assert_eq!(layer_compression(OCI_CONFIG), None);
        assert!(is_foreign_layer(DOCKER_FOREIGN_LAYER) && is_layer(DOCKER_FOREIGN_LAYER));
        assert!(is_foreign_layer(OCI_LAYER_NONDIST_GZIP) && !is_foreign_layer(OCI_LAYER_GZIP));
        assert_eq!(
            layer_media_type(Compression::Gzip, false),
            DOCKER_LAYER_GZIP
        );
        assert_eq!(layer_media_type(Compression::Xz, true), OCI_LAYER_TAR);
    }
}
