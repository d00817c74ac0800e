//! Manifests, indexes, descriptors and platforms — one set of types for OCI and Docker
//! schema 2 (their JSON shapes are the same; only media types differ). Unknown fields are kept
//! in `extra` so re-serialising loses nothing, but digests are always of the bytes as received.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::digest::Digest;
use crate::media_type;
use crate::ErrorKind;

/// Why bytes are not a usable manifest or index.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// Not JSON of the expected shape.
    #[error("invalid manifest JSON: {source}")]
    Json {
        /// The serde error (names the field and position).
        #[source]
        source: serde_json::Error,
    },
    /// `schemaVersion` other than 2 (schema 1 is not supported).
    #[error("unsupported manifest schemaVersion {found} (only 2 is supported)")]
    SchemaVersion {
        /// The version found.
        found: u32,
    },
    /// The `mediaType` field contradicts the kind of document.
    #[error("manifest media type {found:?} is not one of {expected}")]
    MediaType {
        /// What the document says.
        found: String,
        /// What was expected.
        expected: &'static str,
    },
    /// The document is neither a manifest nor an index.
    #[error("document is neither an image manifest nor an index (media type {media_type:?})")]
    Unknown {
        /// The media type given or found, if any.
        media_type: Option<String>,
    },
}

impl ManifestError {
    /// Always [`ErrorKind::InvalidArgument`].
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::InvalidArgument
    }
}

/// A pointer to a blob: media type, digest, size, and optional extras.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Descriptor {
    /// Media type of the target.
    #[serde(rename = "mediaType")]
    pub media_type: String,
    /// Digest of the target's bytes.
    pub digest: Digest,
    /// Size of the target in bytes.
    pub size: u64,
    /// Alternative download URLs (foreign layers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urls: Option<Vec<String>>,
    /// Free-form annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Platform of the target (in an index).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    /// Artifact type (OCI 1.1).
    #[serde(
        rename = "artifactType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub artifact_type: Option<String>,
    /// Embedded content, base64 (OCI 1.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// Fields this version does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Descriptor {
    /// A plain descriptor.
    pub fn new(media_type: impl Into<String>, digest: Digest, size: u64) -> Descriptor {
        Descriptor {
            media_type: media_type.into(),
            digest,
            size,
            urls: None,
            annotations: None,
            platform: None,
            artifact_type: None,
            data: None,
            extra: Map::new(),
        }
    }
}

/// An OS/architecture pair, as found in indexes and image configs.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Platform {
    /// CPU architecture (`amd64`, `arm64`, …), Go's GOARCH names.
    pub architecture: String,
    /// Operating system (`linux`).
    pub os: String,
    /// OS version (Windows).
    #[serde(
        rename = "os.version",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub os_version: Option<String>,
    /// OS features (Windows).
    #[serde(
        rename = "os.features",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub os_features: Option<Vec<String>>,
    /// CPU variant (`v7`, `v8`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Reserved by the spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<Vec<String>>,
}

impl Platform {
    /// `os/arch[/variant]` with no further fields.
    pub fn new(os: &str, architecture: &str, variant: Option<&str>) -> Platform {
        Platform {
            architecture: architecture.to_string(),
            os: os.to_string(),
            variant: variant.map(str::to_string),
            ..Platform::default()
        }
    }

    /// The platform berth runs containers for on this build (`linux` + the compile target).
    pub fn host() -> Platform {
        let arch = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            "x86" => "386",
            "arm" => "arm",
            "powerpc64" => "ppc64le",
            "s390x" => "s390x",
            "riscv64" => "riscv64",
            other => other,
        };
        Platform::new("linux", arch, None).normalized()
    }

    /// Parses `os[/arch[/variant]]` as `--platform` takes it (`linux/arm64/v8`).
    pub fn parse(s: &str) -> Option<Platform> {
        let mut parts = s.split('/');
        let os = parts.next().filter(|p| !p.is_empty())?.to_lowercase();
        let arch = parts.next().map(str::to_lowercase);
        let variant = parts.next().map(str::to_lowercase);
        if parts.next().is_some() {
            return None;
        }
        let arch = arch.unwrap_or_else(|| Platform::host().architecture);
        Some(Platform::new(&os, &arch, variant.as_deref()).normalized())
    }

    /// Normalises architecture aliases and default variants as containerd does
    /// (`x86_64` → `amd64`, `aarch64` → `arm64`, `arm64/v8` → `arm64`, `arm` → `arm/v7`).
    pub fn normalized(mut self) -> Platform {
        let variant = self.variant.take();
        let (arch, variant) = match self.architecture.as_str() {
            "x86_64" | "x86-64" | "amd64" => ("amd64".to_string(), variant.filter(|v| v != "v1")),
            "aarch64" | "arm64" => (
                "arm64".to_string(),
                variant.filter(|v| v != "v8" && v != "8"),
            ),
            "armhf" => ("arm".to_string(), Some("v7".to_string())),
            "armel" => ("arm".to_string(), Some("v6".to_string())),
            "arm" => {
                let v = match variant {
                    None => "v7".to_string(),
                    Some(v) if v.starts_with('v') => v,
                    Some(v) => format!("v{v}"),
                };
                ("arm".to_string(), Some(v))
            }
            "i386" => ("386".to_string(), variant),
            other => (other.to_string(), variant),
        };
        self.architecture = arch;
        self.variant = variant;
        self
    }

    /// True when `self` (an index entry) can serve a request for `want`: same OS and
    /// architecture, and the same variant unless `want` names none.
    pub fn satisfies(&self, want: &Platform) -> bool {
        let have = self.clone().normalized();
        let want = want.clone().normalized();
        have.os == want.os
            && have.architecture == want.architecture
            && (want.variant.is_none() || have.variant == want.variant)
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// A single-image manifest (OCI image manifest or Docker schema 2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always 2.
    #[serde(rename = "schemaVersion")]
    pub schema_version: u32,
    /// Media type (required by Docker schema 2, optional in OCI).
    #[serde(rename = "mediaType", default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// Artifact type (OCI 1.1).
    #[serde(
        rename = "artifactType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub artifact_type: Option<String>,
    /// The image config blob.
    pub config: Descriptor,
    /// Layer blobs, base first.
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    /// The manifest this one refers to (OCI 1.1 referrers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    /// Free-form annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Fields this version does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Manifest {
    /// Parses and checks schema version and media type.
    pub fn from_slice(bytes: &[u8]) -> Result<Manifest, ManifestError> {
        let m: Manifest =
            serde_json::from_slice(bytes).map_err(|source| ManifestError::Json { source })?;
        if m.schema_version != 2 {
            return Err(ManifestError::SchemaVersion {
                found: m.schema_version,
            });
        }
        if let Some(mt) = &m.media_type {
            if !media_type::is_manifest(mt) {
                return Err(ManifestError::MediaType {
                    found: mt.clone(),
                    expected: "an OCI or Docker schema 2 image manifest",
                });
            }
        }
        Ok(m)
    }

    /// Serialises to compact JSON bytes (to be stored and digested as is).
    pub fn to_vec(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("manifest serialises")
    }
}

/// A multi-platform index (OCI image index or Docker manifest list).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Index {
    /// Always 2.
    #[serde(rename = "schemaVersion")]
    pub schema_version: u32,
    /// Media type (required by Docker, optional in OCI).
    #[serde(rename = "mediaType", default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// Artifact type (OCI 1.1).
    #[serde(
        rename = "artifactType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub artifact_type: Option<String>,
    /// The manifests, each usually with a platform.
    pub manifests: Vec<Descriptor>,
    /// The manifest this one refers to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    /// Free-form annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Fields this version does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Index {
    /// Parses and checks schema version and media type.
    pub fn from_slice(bytes: &[u8]) -> Result<Index, ManifestError> {
        let i: Index =
            serde_json::from_slice(bytes).map_err(|source| ManifestError::Json { source })?;
        if i.schema_version != 2 {
            return Err(ManifestError::SchemaVersion {
                found: i.schema_version,
            });
        }
        if let Some(mt) = &i.media_type {
            if !media_type::is_index(mt) {
                return Err(ManifestError::MediaType {
                    found: mt.clone(),
                    expected: "an OCI image index or Docker manifest list",
                });
            }
        }
        Ok(i)
    }

    /// Serialises to compact JSON bytes.
    pub fn to_vec(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("index serialises")
    }

    /// The manifest for `want`: the first entry whose platform satisfies it exactly, else (when
    /// `want` has no variant) the first with the same OS and architecture. Entries without a
    /// platform, and attestation manifests (`unknown/unknown`), are never chosen.
    pub fn find_platform(&self, want: &Platform) -> Option<&Descriptor> {
        self.manifests
            .iter()
            .filter(|d| {
                media_type::is_manifest(&d.media_type) || media_type::is_index(&d.media_type)
            })
            .find(|d| d.platform.as_ref().is_some_and(|p| p.satisfies(want)))
    }
}

/// A parsed manifest-or-index, as a registry or an archive may hand either.
#[derive(Debug, Clone, PartialEq)]
pub enum AnyManifest {
    /// A single-image manifest.
    Manifest(Box<Manifest>),
    /// A multi-platform index.
    Index(Box<Index>),
}

impl AnyManifest {
    /// Parses `bytes`, using `media_type` (e.g. the HTTP Content-Type) when given, else the
    /// document's own `mediaType`, else its shape (`manifests` vs `config`).
    pub fn from_slice(
        media_type: Option<&str>,
        bytes: &[u8],
    ) -> Result<AnyManifest, ManifestError> {
        let probe: Map<String, Value> =
            serde_json::from_slice(bytes).map_err(|source| ManifestError::Json { source })?;
        let declared = media_type
            .filter(|m| media_type::is_manifest(m) || media_type::is_index(m))
            .map(str::to_string)
            .or_else(|| {
                probe
                    .get("mediaType")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            });
        let is_index = match declared.as_deref() {
            Some(m) if media_type::is_index(m) => true,
            Some(m) if media_type::is_manifest(m) => false,
            _ if probe.contains_key("manifests") => true,
            _ if probe.contains_key("config") => false,
            _ => {
                return Err(ManifestError::Unknown {
                    media_type: declared,
                })
            }
        };
        if is_index {
            Index::from_slice(bytes).map(|i| AnyManifest::Index(Box::new(i)))
        } else {
            Manifest::from_slice(bytes).map(|m| AnyManifest::Manifest(Box::new(m)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCKER_V2S2: &str = r#"{
   "schemaVersion": 2,
   "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
   "config": {
      "mediaType": "application/vnd.docker.container.image.v1+json",
      "size": 1457,
      "digest": "sha256:a416a98b71e224a31ee99cff8e16063554498227d2b696152a9c3e0aa65e5824"
   },
   "layers": [
      {
         "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
         "size": 2220094,
         "digest": "sha256:ec562eabd705d25bfea8c8d79e4610775e375524af00552fe871d3338261563c"
      }
   ],
   "x-vendor": {"kept": true}
}"#;

    #[test]
    fn parses_docker_schema2_and_keeps_unknown_fields() {
        let m = Manifest::from_slice(DOCKER_V2S2.as_bytes()).unwrap();
        assert_eq!(m.config.size, 1457);
        assert_eq!(m.layers.len(), 1);
        assert_eq!(m.layers[0].media_type, media_type::DOCKER_LAYER_GZIP);
        let again: Value = serde_json::from_slice(&m.to_vec()).unwrap();
        assert_eq!(again["x-vendor"]["kept"], Value::Bool(true));
        match AnyManifest::from_slice(None, DOCKER_V2S2.as_bytes()).unwrap() {
            AnyManifest::Manifest(m2) => assert_eq!(*m2, m),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rejects_wrong_schema_and_media_type() {
        let v1 = DOCKER_V2S2.replace("\"schemaVersion\": 2", "\"schemaVersion\": 1");
        assert!(matches!(
            Manifest::from_slice(v1.as_bytes()),
            Err(ManifestError::SchemaVersion { found: 1 })
        ));
        let wrong = DOCKER_V2S2.replace(media_type::DOCKER_MANIFEST, media_type::OCI_INDEX);
        assert!(matches!(
            Manifest::from_slice(wrong.as_bytes()),
            Err(ManifestError::MediaType { .. })
        ));
        let e = Manifest::from_slice(b"{\"schemaVersion\":2}").unwrap_err();
        assert!(e.to_string().contains("config"), "{e}");
        assert!(matches!(
            AnyManifest::from_slice(None, b"{}"),
            Err(ManifestError::Unknown { .. })
        ));
    }

    #[test]
    fn index_selects_platform() {
        let d = Digest::sha256_of(b"a");
        let mut amd = Descriptor::new(media_type::OCI_MANIFEST, d.clone(), 1);
        amd.platform = Some(Platform::new("linux", "amd64", None));
        let mut arm = Descriptor::new(media_type::OCI_MANIFEST, Digest::sha256_of(b"b"), 1);
        arm.platform = Some(Platform::new("linux", "arm64", Some("v8")));
        let mut att = Descriptor::new(media_type::OCI_MANIFEST, Digest::sha256_of(b"c"), 1);
        att.platform = Some(Platform::new("unknown", "unknown", None));
        let idx = Index {
            schema_version: 2,
            media_type: Some(media_type::OCI_INDEX.into()),
            artifact_type: None,
            manifests: vec![att, amd, arm],
            subject: None,
            annotations: None,
            extra: Map::new(),
        };
        let bytes = idx.to_vec();
        let idx = match AnyManifest::from_slice(Some(media_type::OCI_INDEX), &bytes).unwrap() {
            AnyManifest::Index(i) => i,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            idx.find_platform(&Platform::parse("linux/amd64").unwrap())
                .unwrap()
                .digest,
            d
        );
        let arm64 = idx
            .find_platform(&Platform::parse("linux/aarch64").unwrap())
            .unwrap();
        assert_eq!(arm64.digest, Digest::sha256_of(b"b"));
        assert!(idx
            .find_platform(&Platform::parse("linux/s390x").unwrap())
            .is_none());
    }

    #[test]
    fn platform_normalisation() {
        assert_eq!(
            Platform::parse("linux/arm").unwrap().to_string(),
            "linux/arm/v7"
        );
        assert_eq!(
            Platform::parse("linux/arm64/v8").unwrap().to_string(),
            "linux/arm64"
        );
        assert_eq!(
            Platform::parse("linux/x86_64").unwrap().to_string(),
            "linux/amd64"
        );
        assert_eq!(
            Platform::parse("linux/armhf").unwrap().to_string(),
            "linux/arm/v7"
        );
        assert!(Platform::parse("a/b/c/d").is_none());
        assert!(Platform::new("linux", "arm", Some("v7"))
            .satisfies(&Platform::parse("linux/arm").unwrap()));
        assert!(!Platform::new("linux", "arm", Some("v6"))
            .satisfies(&Platform::parse("linux/arm/v7").unwrap()));
    }
}
