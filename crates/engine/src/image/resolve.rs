//! What a new container takes from its image: the id, the top layer its rw layer stacks on,
//! and the config's runtime defaults that `create` merges under the user's config.

use std::collections::BTreeMap;

use super::ImageService;
use crate::error::Result;

/// The image config fields that flow into a container (a subset of `ContainerConfig`).
#[derive(Debug, Clone, Default)]
pub struct ImageDefaults {
    pub user: String,
    pub env: Vec<String>,
    pub cmd: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    pub working_dir: String,
    pub labels: BTreeMap<String, String>,
    pub exposed_ports: BTreeMap<String, serde_json::Value>,
    pub volumes: BTreeMap<String, serde_json::Value>,
    pub stop_signal: Option<String>,
    pub healthcheck: Option<api_types::HealthConfig>,
    pub shell: Option<Vec<String>>,
    pub on_build: Option<Vec<String>>,
}

/// The image facts container creation needs.
#[derive(Debug, Clone)]
pub struct ResolvedImage {
    /// `sha256:…` image id.
    pub id: String,
    /// The snapshot to put the rw layer on (the image's top chain id); `None` for an image
    /// without layers.
    pub top_layer: Option<String>,
    /// The image config's runtime defaults.
    pub defaults: ImageDefaults,
}

impl ImageService {
    /// The image facts a new container needs.
    pub async fn resolve_for_create(&self, name: &str) -> Result<ResolvedImage> {
        let rec = self.record(name).await?;
        let cfg = self.config(&rec.id).await?;
        let c = cfg.config.unwrap_or_default();
        Ok(ResolvedImage {
            id: rec.id.to_string(),
            top_layer: rec.top_chain_id().map(|d| d.to_string()),
            defaults: ImageDefaults {
                user: c.user.unwrap_or_default(),
                env: c.env.unwrap_or_default(),
                cmd: c.cmd,
                entrypoint: c.entrypoint,
                working_dir: c.working_dir.unwrap_or_default(),
                labels: c.labels.unwrap_or_default(),
                exposed_ports: c.exposed_ports.unwrap_or_default(),
                volumes: c.volumes.unwrap_or_default(),
                stop_signal: c.stop_signal,
                healthcheck: c
                    .healthcheck
                    .and_then(|h| serde_json::to_value(h).ok())
                    .and_then(|v| serde_json::from_value(v).ok()),
                shell: c.shell,
                on_build: c.on_build,
            },
        })
    }
}
