//! The persisted record of a volume (metadata table `volumes`, name → JSON) and how the API
//! shows it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use api_types::Volume;

/// The label dockerd puts on volumes it names itself (`-v /data`, an image's `VOLUME`):
/// `volume prune` removes only these unless asked for all.
pub const ANONYMOUS_LABEL: &str = "com.docker.volume.anonymous";

/// The metadata table of volume records.
pub(crate) const TABLE: &str = "volumes";

/// What berth stores about a volume.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct VolumeRecord {
    pub name: String,
    /// Always `local`.
    pub driver: String,
    /// Nanoseconds since the epoch.
    pub created: i128,
    /// As given at creation: `None` and an empty map are shown differently (`null`, `{}`).
    pub labels: Option<BTreeMap<String, String>>,
    /// The driver options (`--opt`), as given.
    pub options: Option<BTreeMap<String, String>>,
    /// Set while the image's content is being copied in (copy-up) and cleared once it is all
    /// there: a volume found with this set after a crash is emptied before its next use and
    /// copied again, never used half filled.
    #[serde(default)]
    pub populating: bool,
}

impl VolumeRecord {
    /// Whether dockerd would call it anonymous.
    pub fn anonymous(&self) -> bool {
        self.labels
            .as_ref()
            .is_some_and(|l| l.contains_key(ANONYMOUS_LABEL))
    }

    /// Whether it has driver options (such volumes are neither pruned nor sized).
    pub fn has_options(&self) -> bool {
        self.options.as_ref().is_some_and(|o| !o.is_empty())
    }

    /// The API's view, with the data directory as the mount point.
    pub fn to_api(&self, mountpoint: &std::path::Path) -> Volume {
        Volume {
            created_at: created_at(self.created),
            driver: self.driver.clone(),
            labels: self.labels.clone(),
            mountpoint: mountpoint.display().to_string(),
            name: self.name.clone(),
            options: self.options.clone(),
            scope: "local".into(),
            status: None,
            usage_data: None,
        }
    }
}

/// RFC 3339 in seconds, as dockerd formats a volume's `CreatedAt`.
fn created_at(nanos: i128) -> String {
    crate::clock::rfc3339(nanos - nanos.rem_euclid(1_000_000_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_at_has_no_fraction() {
        assert_eq!(
            created_at(1_700_000_000_987_654_321),
            "2023-11-14T22:13:20Z"
        );
    }
}
