//! Parsing and validating manifests on push: which blobs and manifests a manifest references, its
//! subject (for the referrers API) and its artifact type.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::media;
use crate::ErrorKind;

pub use oci::config::{ContainerConfig, History, ImageConfig};
pub use oci::manifest::{Descriptor, Platform};

/// The JSON shape shared by image manifests and indexes, all fields optional so the checks below
/// can name what is missing.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawManifest {
    schema_version: Option<i64>,
    media_type: Option<String>,
    artifact_type: Option<String>,
    config: Option<Descriptor>,
    layers: Option<Vec<Descriptor>>,
    manifests: Option<Vec<Descriptor>>,
    subject: Option<Descriptor>,
    annotations: Option<BTreeMap<String, String>>,
}

/// Why a manifest was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ManifestError {
    /// Not JSON of the expected shape.
    #[error("manifest is not valid JSON of an image manifest or index: {0}")]
    Json(String),
    /// `schemaVersion` is not 2.
    #[error("manifest schemaVersion must be 2")]
    SchemaVersion,
    /// The manifest's `mediaType` disagrees with the request's `Content-Type`.
    #[error("manifest mediaType {field:?} does not match Content-Type {header:?}")]
    MediaTypeMismatch {
        /// The `mediaType` field.
        field: String,
        /// The `Content-Type` header.
        header: String,
    },
    /// A media type the registry does not store.
    #[error("unsupported manifest media type {0:?}")]
    UnsupportedMediaType(String),
    /// An image manifest without a config or layers, or an index without manifests.
    #[error("manifest of type {media_type} lacks the required field {field:?}")]
    MissingField {
        /// The manifest's media type.
        media_type: String,
        /// The missing field.
        field: &'static str,
    },
}

impl ManifestError {
    /// The error's kind.
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::InvalidArgument
    }
}

/// A manifest that passed validation.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The effective media type.
    pub media_type: String,
    /// `artifactType`, or for image manifests without one the config's media type (spec
    /// "Listing Referrers").
    pub artifact_type: Option<String>,
    /// The config (image manifests only).
    pub config: Option<Descriptor>,
    /// Layers (image manifests only).
    pub layers: Vec<Descriptor>,
    /// Child manifests (indexes only).
    pub manifests: Vec<Descriptor>,
    /// The subject, if this manifest refers to another.
    pub subject: Option<Descriptor>,
    /// Top-level annotations.
    pub annotations: Option<BTreeMap<String, String>>,
}

impl Manifest {
    /// Parses and validates `body`; `content_type` is the request's `Content-Type`, if any.
    pub fn parse(body: &[u8], content_type: Option<&str>) -> Result<Manifest, ManifestError> {
        let raw: RawManifest =
            serde_json::from_slice(body).map_err(|e| ManifestError::Json(e.to_string()))?;
        let header = content_type.map(media::essence).filter(|h| {
            !h.is_empty() && h != "application/json" && h != "application/octet-stream"
        });
        let media_type = match (&raw.media_type, header) {
            (Some(field), Some(h)) if *field != h => {
                return Err(ManifestError::MediaTypeMismatch {
                    field: field.clone(),
                    header: h,
                })
            }
            (Some(field), _) => field.clone(),
            (None, Some(h)) => h,
            // Neither says: the OCI image spec lets mediaType be omitted; infer from the shape.
            (None, None) if raw.manifests.is_some() => media::OCI_INDEX.to_owned(),
            (None, None) => media::OCI_MANIFEST.to_owned(),
        };
        if raw.schema_version != Some(2) {
            if media_type == media::DOCKER_SCHEMA1_SIGNED {
                return Err(ManifestError::UnsupportedMediaType(media_type));
            }
            return Err(ManifestError::SchemaVersion);
        }
        let missing = |field| ManifestError::MissingField {
            media_type: media_type.clone(),
            field,
        };
        match media_type.as_str() {
            media::OCI_MANIFEST | media::DOCKER_MANIFEST => {
                let config = raw.config.ok_or_else(|| missing("config"))?;
                let layers = raw.layers.ok_or_else(|| missing("layers"))?;
                let artifact_type = raw
                    .artifact_type
                    .or_else(|| Some(config.media_type.clone()));
                Ok(Manifest {
                    media_type,
                    artifact_type,
                    config: Some(config),
                    layers,
                    manifests: Vec::new(),
                    subject: raw.subject,
                    annotations: raw.annotations,
                })
            }
            media::OCI_INDEX | media::DOCKER_LIST => Ok(Manifest {
                artifact_type: raw.artifact_type,
                manifests: raw.manifests.ok_or_else(|| missing("manifests"))?,
                media_type,
                config: None,
                layers: Vec::new(),
                subject: raw.subject,
                annotations: raw.annotations,
            }),
            _ => Err(ManifestError::UnsupportedMediaType(media_type)),
        }
    }

    /// The blobs (config and distributable layers) this manifest needs in its repository. Layers
    /// with `urls` are foreign (non-distributable) and are not required.
    pub fn required_blobs(&self) -> impl Iterator<Item = &Descriptor> {
        self.config.iter().chain(
            self.layers
                .iter()
                .filter(|l| l.urls.as_ref().is_none_or(|u| u.is_empty())),
        )
    }

    /// Whether this is an index.
    pub fn is_index(&self) -> bool {
        media::is_index(&self.media_type)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(n: u8) -> String {
        format!("sha256:{}", hex::encode([n; 32]))
    }

    #[test]
    fn parses_image_manifest_and_infers_artifact_type() {
        let body = format!(
            r#"{{"schemaVersion":2,"mediaType":"{}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":2}},"layers":[{{"mediaType":"x","digest":"{}","size":3}},{{"mediaType":"y","digest":"{}","size":4,"urls":["http://x"]}}]}}"#,
            media::OCI_MANIFEST,
            d(1),
            d(2),
            d(3)
        );
        let m = Manifest::parse(body.as_bytes(), Some(media::OCI_MANIFEST)).unwrap();
        assert_eq!(m.artifact_type.as_deref(), Some(media::OCI_CONFIG));
        assert_eq!(m.required_blobs().count(), 2);
    }

    #[test]
    fn refuses_mismatch_missing_fields_and_schema1() {
        let body = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#;
        assert!(matches!(
            Manifest::parse(body, Some(media::OCI_MANIFEST)),
            Err(ManifestError::MediaTypeMismatch { .. })
        ));
        assert!(Manifest::parse(body, Some(media::OCI_INDEX))
            .unwrap()
            .is_index());
        let nolayers =
            br#"{"schemaVersion":2,"config":{"mediaType":"a","digest":"sha256:00","size":1}}"#;
        assert!(Manifest::parse(nolayers, None).is_err());
        assert!(matches!(
            Manifest::parse(br#"{"schemaVersion":1,"mediaType":"application/vnd.docker.distribution.manifest.v1+prettyjws"}"#, None),
            Err(ManifestError::UnsupportedMediaType(_))
        ));
        assert!(matches!(
            Manifest::parse(b"not json", None),
            Err(ManifestError::Json(_))
        ));
        assert!(matches!(
            Manifest::parse(br#"{"schemaVersion":3,"manifests":[]}"#, None),
            Err(ManifestError::SchemaVersion)
        ));
    }
}
