//! Image bodies: list summaries, inspect, delete results, history, prune.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::container::ContainerConfig;

/// One row of `GET /images/json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct ImageSummary {
    pub id: String,
    pub parent_id: String,
    pub repo_tags: Vec<String>,
    pub repo_digests: Vec<String>,
    pub created: i64,
    pub size: i64,
    pub shared_size: i64,
    pub labels: BTreeMap<String, String>,
    pub containers: i64,
}

/// `RootFS` of an image inspect.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct RootFs {
    pub r#type: String,
    pub layers: Vec<String>,
}

/// `Metadata` of an image inspect.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct ImageMetadata {
    pub last_tag_time: String,
}

/// Response of `GET /images/{name}/json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct ImageInspect {
    pub id: String,
    pub repo_tags: Vec<String>,
    pub repo_digests: Vec<String>,
    pub parent: String,
    pub comment: String,
    pub created: String,
    pub docker_version: String,
    pub author: String,
    pub config: ContainerConfig,
    pub architecture: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub variant: String,
    pub os: String,
    pub size: i64,
    pub graph_driver: crate::container::GraphDriver,
    #[serde(rename = "RootFS")]
    pub root_fs: RootFs,
    pub metadata: ImageMetadata,
}

/// One entry of the `DELETE /images/{name}` response.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ImageDeleteResponseItem {
    #[serde(rename = "Untagged", default, skip_serializing_if = "Option::is_none")]
    pub untagged: Option<String>,
    #[serde(rename = "Deleted", default, skip_serializing_if = "Option::is_none")]
    pub deleted: Option<String>,
}

/// One entry of `GET /images/{name}/history`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct HistoryResponseItem {
    pub id: String,
    pub created: i64,
    pub created_by: String,
    pub tags: Option<Vec<String>>,
    pub size: i64,
    pub comment: String,
}

/// Response of `POST /images/prune`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct ImagePruneResponse {
    pub images_deleted: Option<Vec<ImageDeleteResponseItem>>,
    pub space_reclaimed: u64,
}
