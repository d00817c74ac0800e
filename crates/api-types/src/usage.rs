//! Disk usage and pruning bodies that span object types: `GET /system/df`, and the prune
//! responses `docker system prune` collects (`/networks/prune`, `/build/prune`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::container::ContainerSummary;
use crate::image::ImageSummary;

/// Response of `GET /system/df`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct DiskUsage {
    /// Bytes of every unpacked layer, each counted once.
    pub layers_size: i64,
    /// Images, with `SharedSize` and `Containers` filled in.
    #[serde(default, deserialize_with = "crate::serde_util::null_default")]
    pub images: Vec<ImageSummary>,
    /// Containers, with `SizeRw` and `SizeRootFs` filled in.
    #[serde(default, deserialize_with = "crate::serde_util::null_default")]
    pub containers: Vec<ContainerSummary>,
    /// Volumes (moby's `volume.Volume` with `UsageData`).
    #[serde(default, deserialize_with = "crate::serde_util::null_default")]
    pub volumes: Vec<crate::volume::Volume>,
    /// Build cache records.
    #[serde(default, deserialize_with = "crate::serde_util::null_default")]
    pub build_cache: Vec<Value>,
}

/// Response of `POST /build/prune`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct BuildCachePruneResponse {
    pub caches_deleted: Option<Vec<String>>,
    pub space_reclaimed: u64,
}
