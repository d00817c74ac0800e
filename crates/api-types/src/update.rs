//! `POST /containers/{id}/update` (`docker update`): new resource limits and restart policy for
//! a container, and the `{"Warnings": […]}` answer.

use serde::{Deserialize, Serialize};

use crate::container::{Extra, RestartPolicy};
use crate::serde_util::null_default;

/// The body of an update: moby's `UpdateConfig` (its `Resources` and a `RestartPolicy`). A
/// zero value leaves that limit as it is, as dockerd reads it; fields berth does not model
/// are kept in `extra` so that a set one can be refused by name.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateConfig {
    #[serde(default, deserialize_with = "null_default")]
    pub cpu_shares: i64,
    #[serde(default, deserialize_with = "null_default")]
    pub memory: i64,
    #[serde(default, deserialize_with = "null_default")]
    pub memory_swap: i64,
    #[serde(default, deserialize_with = "null_default")]
    pub memory_reservation: i64,
    #[serde(default, deserialize_with = "null_default")]
    pub nano_cpus: i64,
    #[serde(default, deserialize_with = "null_default")]
    pub cpu_period: i64,
    #[serde(default, deserialize_with = "null_default")]
    pub cpu_quota: i64,
    #[serde(default, deserialize_with = "null_default")]
    pub cpuset_cpus: String,
    #[serde(default, deserialize_with = "null_default")]
    pub cpuset_mems: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pids_limit: Option<i64>,
    #[serde(default, deserialize_with = "null_default")]
    pub blkio_weight: u16,
    #[serde(default, deserialize_with = "null_default")]
    pub restart_policy: RestartPolicy,
    #[serde(flatten)]
    pub extra: Extra,
}

/// The answer to an update.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateResponse {
    #[serde(default, deserialize_with = "null_default")]
    pub warnings: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_docker_clis_body() {
        let body = r#"{"CpuShares":0,"Memory":67108864,"CgroupParent":"","BlkioWeight":0,
            "BlkioWeightDevice":null,"BlkioDeviceReadBps":null,"CpuPeriod":0,"CpuQuota":0,
            "CpusetCpus":"","CpusetMems":"","Devices":null,"MemoryReservation":0,
            "MemorySwap":-1,"MemorySwappiness":null,"OomKillDisable":null,"PidsLimit":null,
            "Ulimits":null,"NanoCpus":0,"RestartPolicy":{"Name":"always","MaximumRetryCount":0}}"#;
        let u: UpdateConfig = serde_json::from_str(body).unwrap();
        assert_eq!((u.memory, u.memory_swap), (64 << 20, -1));
        assert_eq!(u.restart_policy.name, "always");
        assert_eq!(u.pids_limit, None);
        assert!(u.extra.contains_key("Devices"));
    }
}
