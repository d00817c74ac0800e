//! The image config (OCI `application/vnd.oci.image.config.v1+json` and Docker's
//! `application/vnd.docker.container.image.v1+json`) with Docker's extra fields, and chain IDs.
//!
//! Every struct keeps the fields it does not model in `extra`, so a parse/serialise round trip
//! loses nothing. Still, an image ID is the digest of the config bytes *as stored*
//! ([`image_id`]): never re-serialise a config to compute one.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::digest::{Algorithm, Digest, Digester};
use crate::ErrorKind;

/// Why bytes are not a usable image config.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Not JSON of the expected shape (the message names the field).
    #[error("invalid image config JSON: {source}")]
    Json {
        /// The serde error.
        #[source]
        source: serde_json::Error,
    },
    /// `rootfs.type` is not `layers`.
    #[error("invalid image config: rootfs type {found:?}, expected \"layers\"")]
    RootFsType {
        /// The type found.
        found: String,
    },
}

impl ConfigError {
    /// Always [`ErrorKind::InvalidArgument`].
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::InvalidArgument
    }
}

/// The image config document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageConfig {
    /// Creation time, RFC 3339 (kept as the original string: Docker prints nanoseconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Author (`docker commit --author`, `MAINTAINER`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// CPU architecture (`amd64`).
    #[serde(default)]
    pub architecture: String,
    /// Operating system (`linux`).
    #[serde(default)]
    pub os: String,
    /// CPU variant (`v7`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Runtime defaults for containers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<ContainerConfig>,
    /// The layers' diff IDs, base first.
    pub rootfs: RootFs,
    /// One entry per build step; `empty_layer` entries made no layer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<History>,
    /// Docker: commit message (`docker commit -m`, `docker import -m`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Docker: version of the engine that made the image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker_version: Option<String>,
    /// Docker: ID of the container the image was committed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// Docker: that container's config (legacy; kept verbatim).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_config: Option<ContainerConfig>,
    /// Fields this version does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ImageConfig {
    /// Parses and checks an image config.
    pub fn from_slice(bytes: &[u8]) -> Result<ImageConfig, ConfigError> {
        let c: ImageConfig =
            serde_json::from_slice(bytes).map_err(|source| ConfigError::Json { source })?;
        if c.rootfs.kind != "layers" {
            return Err(ConfigError::RootFsType {
                found: c.rootfs.kind,
            });
        }
        Ok(c)
    }

    /// Serialises to compact JSON. The result's digest is the ID of an image *made* from this
    /// value; for a config read from elsewhere, use the original bytes.
    pub fn to_vec(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("image config serialises")
    }

    /// Chain IDs of the layers, base first (`chain_ids(&self.rootfs.diff_ids)`).
    pub fn chain_ids(&self) -> Vec<Digest> {
        chain_ids(&self.rootfs.diff_ids)
    }
}

/// Runtime defaults (Docker's `container.Config`; the OCI config uses the same field names).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ContainerConfig {
    /// `USER`: `name`, `uid`, `uid:gid`, `name:group`.
    #[serde(rename = "User", default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// `EXPOSE`: keys like `80/tcp`, values `{}`.
    #[serde(
        rename = "ExposedPorts",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub exposed_ports: Option<BTreeMap<String, Value>>,
    /// `ENV`: `KEY=value` strings.
    #[serde(rename = "Env", default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<String>>,
    /// `ENTRYPOINT`.
    #[serde(
        rename = "Entrypoint",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub entrypoint: Option<Vec<String>>,
    /// `CMD`.
    #[serde(rename = "Cmd", default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    /// `VOLUME`: keys are paths, values `{}`.
    #[serde(rename = "Volumes", default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<BTreeMap<String, Value>>,
    /// `WORKDIR`.
    #[serde(
        rename = "WorkingDir",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub working_dir: Option<String>,
    /// `LABEL`.
    #[serde(rename = "Labels", default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// `STOPSIGNAL`.
    #[serde(
        rename = "StopSignal",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub stop_signal: Option<String>,
    /// Docker: `HEALTHCHECK`.
    #[serde(
        rename = "Healthcheck",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub healthcheck: Option<HealthConfig>,
    /// Docker: `SHELL`.
    #[serde(rename = "Shell", default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<Vec<String>>,
    /// Docker: `ONBUILD` triggers.
    #[serde(rename = "OnBuild", default, skip_serializing_if = "Option::is_none")]
    pub on_build: Option<Vec<String>>,
    /// Windows-only escaping flag, kept for round trips.
    #[serde(
        rename = "ArgsEscaped",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub args_escaped: Option<bool>,
    /// Fields this version does not know (Hostname, Tty, Image, …), kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Docker's `HEALTHCHECK` settings; durations are nanoseconds.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct HealthConfig {
    /// `["NONE"]`, `["CMD", args…]` or `["CMD-SHELL", command]`.
    #[serde(rename = "Test", default, skip_serializing_if = "Option::is_none")]
    pub test: Option<Vec<String>>,
    /// Time between checks.
    #[serde(rename = "Interval", default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<i64>,
    /// Time before a check is considered hung.
    #[serde(rename = "Timeout", default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<i64>,
    /// Grace period after start.
    #[serde(
        rename = "StartPeriod",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub start_period: Option<i64>,
    /// Check interval during the start period.
    #[serde(
        rename = "StartInterval",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub start_interval: Option<i64>,
    /// Consecutive failures before unhealthy.
    #[serde(rename = "Retries", default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<i64>,
    /// Unknown fields, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `rootfs`: the layer diff IDs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RootFs {
    /// Always `layers`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Digest of each uncompressed layer tar, base first.
    #[serde(default)]
    pub diff_ids: Vec<Digest>,
    /// Unknown fields, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl RootFs {
    /// `{"type":"layers","diff_ids":[…]}`.
    pub fn layers(diff_ids: Vec<Digest>) -> RootFs {
        RootFs {
            kind: "layers".to_string(),
            diff_ids,
            extra: Map::new(),
        }
    }
}

/// One build step.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct History {
    /// When the step ran (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// The command (`/bin/sh -c #(nop) CMD ["sh"]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// Author.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// Comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// True when the step produced no layer.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub empty_layer: bool,
    /// Unknown fields, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The image ID of a config: the sha256 of its bytes exactly as stored.
pub fn image_id(config_bytes: &[u8]) -> Digest {
    Digest::sha256_of(config_bytes)
}

/// The chain ID of the top layer of `diff_ids` (OCI image spec, "Layer ChainID"):
/// `ChainID(L0) = DiffID(L0)`, `ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln))`.
/// `None` for an empty list.
pub fn chain_id(diff_ids: &[Digest]) -> Option<Digest> {
    chain_ids(diff_ids).pop()
}

/// The chain ID of every prefix of `diff_ids`, base first.
pub fn chain_ids(diff_ids: &[Digest]) -> Vec<Digest> {
    let mut out: Vec<Digest> = Vec::with_capacity(diff_ids.len());
    for d in diff_ids {
        let next = match out.last() {
            None => d.clone(),
            Some(parent) => {
                let mut h = Digester::new(Algorithm::Sha256);
                h.update(parent.as_str().as_bytes());
                h.update(b" ");
                h.update(d.as_str().as_bytes());
                h.finish()
            }
        };
        out.push(next);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // A config as dockerd writes it, with fields this crate does not model.
    const DOCKER_CONFIG: &str = r##"{"architecture":"amd64","config":{"Hostname":"","Domainname":"","User":"app","AttachStdin":false,"ExposedPorts":{"80/tcp":{}},"Tty":false,"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"],"Healthcheck":{"Test":["CMD-SHELL","true"],"Interval":30000000000,"Retries":3},"ArgsEscaped":true,"Image":"sha256:abc","Volumes":{"/data":{}},"WorkingDir":"/app","Entrypoint":null,"OnBuild":null,"Labels":{"a":"b"},"StopSignal":"SIGQUIT","Shell":["/bin/bash","-c"]},"container":"c0ffee","container_config":{"Hostname":"c0ffee","Cmd":["/bin/sh","-c","#(nop) ","CMD [\"sh\"]"]},"created":"2024-01-01T00:00:00.123456789Z","docker_version":"24.0.7","history":[{"created":"2024-01-01T00:00:00Z","created_by":"/bin/sh -c #(nop) ADD file:x in / "},{"created":"2024-01-01T00:00:01Z","created_by":"/bin/sh -c #(nop)  CMD [\"sh\"]","empty_layer":true}],"os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:d8e1f35641acb80b562f70cf49911341dfbe8c86f4d522b18efbf3732aa74223","sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"]},"moby.buildkit.buildinfo.v1":"e30="}"##;

    #[test]
    fn parses_docker_extras_and_round_trips_unknown_fields() {
        let c = ImageConfig::from_slice(DOCKER_CONFIG.as_bytes()).unwrap();
        let cfg = c.config.as_ref().unwrap();
        assert_eq!(cfg.user.as_deref(), Some("app"));
        assert_eq!(cfg.cmd.as_deref(), Some(&["sh".to_string()][..]));
        assert_eq!(cfg.entrypoint, None);
        assert_eq!(cfg.healthcheck.as_ref().unwrap().retries, Some(3));
        assert_eq!(cfg.shell.as_ref().unwrap()[0], "/bin/bash");
        assert_eq!(cfg.stop_signal.as_deref(), Some("SIGQUIT"));
        assert!(cfg.exposed_ports.as_ref().unwrap().contains_key("80/tcp"));
        assert_eq!(c.container.as_deref(), Some("c0ffee"));
        assert_eq!(c.docker_version.as_deref(), Some("24.0.7"));
        assert!(c.history[1].empty_layer);
        assert_eq!(c.rootfs.diff_ids.len(), 2);

        let out: Value = serde_json::from_slice(&c.to_vec()).unwrap();
        let orig: Value = serde_json::from_str(DOCKER_CONFIG).unwrap();
        assert_eq!(
            out["moby.buildkit.buildinfo.v1"],
            orig["moby.buildkit.buildinfo.v1"]
        );
        assert_eq!(out["config"]["Hostname"], orig["config"]["Hostname"]);
        assert_eq!(out["config"]["Image"], orig["config"]["Image"]);
        assert_eq!(out["container_config"], orig["container_config"]);
        assert_eq!(out["created"], orig["created"]);
        // Re-parsing the re-serialised form gives the same value.
        assert_eq!(ImageConfig::from_slice(&c.to_vec()).unwrap(), c);
    }

    #[test]
    fn image_id_is_digest_of_stored_bytes() {
        assert_eq!(
            image_id(DOCKER_CONFIG.as_bytes()),
            Digest::sha256_of(DOCKER_CONFIG.as_bytes())
        );
    }

    #[test]
    fn rejects_bad_rootfs() {
        let bad = DOCKER_CONFIG.replace("\"type\":\"layers\"", "\"type\":\"flat\"");
        assert!(matches!(
            ImageConfig::from_slice(bad.as_bytes()),
            Err(ConfigError::RootFsType { .. })
        ));
        let e = ImageConfig::from_slice(b"{\"os\":\"linux\"}").unwrap_err();
        assert!(e.to_string().contains("rootfs"), "{e}");
    }

    #[test]
    fn chain_ids_follow_the_spec() {
        let a = Digest::sha256_of(b"a");
        let b = Digest::sha256_of(b"b");
        let c = Digest::sha256_of(b"c");
        assert_eq!(chain_id(&[]), None);
        assert_eq!(chain_id(std::slice::from_ref(&a)), Some(a.clone()));
        let ab = Digest::sha256_of(format!("{a} {b}").as_bytes());
        assert_eq!(chain_id(&[a.clone(), b.clone()]), Some(ab.clone()));
        let abc = Digest::sha256_of(format!("{ab} {c}").as_bytes());
        assert_eq!(chain_ids(&[a.clone(), b, c]), vec![a, ab, abc]);
    }
}
