//! Serde types of the Docker Engine API (moby's `api/swagger.yaml`): request and response
//! bodies, query-string helpers, filters, version constants, and the JSON progress and stream
//! message types; and the one home of the Docker text and wire formats that the daemon, the
//! shim and the CLI share: [`time`] (RFC 3339 with nanoseconds, Go's `time.Time.String()`,
//! Go durations, `since`/`until`), [`units`] (go-units' sizes and durations) and [`stdcopy`]
//! (the 8-byte multiplexed stream framing). No I/O.
//!
//! Vocabulary: a *config* is what the user asked for (`ContainerConfig`, `HostConfig`); an
//! *inspect* is the full record the daemon reports; a *summary* is one row of a list. Field
//! names follow the wire (`PascalCase`), and fields this crate does not model are kept in an
//! `extra` map so that a body round-trips without loss.

pub mod build;
pub mod container;
pub mod exec;
pub mod filters;
pub mod image;
pub mod network;
pub mod progress;
pub mod query;
pub mod registry;
pub mod serde_util;
pub mod stats;
pub mod stdcopy;
pub mod system;
pub mod time;
pub mod units;
pub mod update;
pub mod usage;
pub mod version;
pub mod volume;

pub use container::*;
pub use exec::*;
pub use filters::Filters;
pub use image::*;
pub use network::{EndpointSettings, NetworkingConfig, PortMap};
pub use progress::*;
pub use registry::{AuthConfig, AuthResponse, ImageSearchResponseItem};
pub use system::*;
pub use update::{UpdateConfig, UpdateResponse};
pub use usage::*;
pub use volume::{
    BindOptions, ContainerPathStat, Mount, TmpfsOptions, UsageData, Volume, VolumeCreateOptions,
    VolumeDriver, VolumeListResponse, VolumeOptions, VolumePruneResponse,
};

use serde::{Deserialize, Serialize};

/// The body of every error response: `{"message": "..."}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorResponse {
    /// Human-readable message; the docker CLI prints it after `Error response from daemon: `.
    pub message: String,
}

/// `{"Id": "..."}`, returned by commit and exec create.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct IdResponse {
    #[serde(rename = "Id")]
    pub id: String,
}
