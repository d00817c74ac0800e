//! `POST /containers/{id}/update` (`docker update`): new memory, swap, reservation, CPU
//! shares/quota/period/cpus/cpusets, pids and block I/O weight limits, and a new restart
//! policy. The values are checked first ([`check_update`], pure: the fuzz target drives it),
//! then merged into the recorded host config as dockerd merges them (a zero leaves a limit
//! as it is), written to the cgroup of a running or paused container (only the fields the
//! request sets), and persisted. Fields dockerd would silently ignore are refused by name.

use std::sync::Arc;

use api_types::{HostConfig, UpdateConfig, UpdateResponse};
use runtime::cgroup::resources::Update;
use runtime::cgroup::stats::Hierarchy;
use serde_json::Value;

use super::checks::unset;
use super::{shim, ContainerService};
use crate::error::{Error, Result};

/// `UpdateConfig` fields berth does not apply on update, refused when set.
const REFUSED: &[&str] = &[
    "CgroupParent",
    "BlkioWeightDevice",
    "BlkioDeviceReadBps",
    "BlkioDeviceWriteBps",
    "BlkioDeviceReadIOps",
    "BlkioDeviceWriteIOps",
    "CpuRealtimePeriod",
    "CpuRealtimeRuntime",
    "Devices",
    "DeviceCgroupRules",
    "DeviceRequests",
    "KernelMemory",
    "KernelMemoryTCP",
    "MemorySwappiness",
    "OomKillDisable",
    "Ulimits",
    "CpuCount",
    "CpuPercent",
    "IOMaximumIOps",
    "IOMaximumBandwidth",
];

/// Every check of an update body that needs no container: fields berth cannot apply, and
/// dockerd's range checks.
pub fn check_update(u: &UpdateConfig) -> Result<()> {
    for (field, v) in &u.extra {
        if unset(v) {
            continue;
        }
        if REFUSED.contains(&field.as_str()) {
            return Err(Error::invalid(format!(
                "{field}: updating it is not supported by berth (recreate the container instead)"
            )));
        }
        return Err(Error::invalid(format!(
            "unknown field {field} in update request"
        )));
    }
    let mem_min = super::config::MIN_MEMORY;
    if u.memory != 0 && u.memory < mem_min {
        return Err(Error::invalid("Minimum memory limit allowed is 6MB"));
    }
    if u.memory_reservation != 0 && u.memory_reservation < mem_min {
        return Err(Error::invalid("Minimum memory reservation allowed is 6MB"));
    }
    if u.memory > 0 && u.memory_swap > 0 && u.memory_swap < u.memory {
        return Err(Error::invalid(
            "Minimum memoryswap limit should be larger than memory limit, see usage",
        ));
    }
    if u.memory_swap < -1 {
        return Err(Error::invalid(format!(
            "invalid memory swap limit {}",
            u.memory_swap
        )));
    }
    if u.cpu_shares < 0 {
        return Err(Error::invalid("invalid CPU shares: must not be negative"));
    }
    if u.nano_cpus < 0 {
        return Err(Error::invalid(
            "invalid value for NanoCpus: must not be negative",
        ));
    }
    if u.nano_cpus > 0 && (u.cpu_period != 0 || u.cpu_quota != 0) {
        return Err(Error::invalid(
            "Conflicting options: Nano CPUs and CPU Period cannot both be set",
        ));
    }
    if u.nano_cpus > 0 {
        let ncpu = std::thread::available_parallelism()
            .map(|n| n.get() as i64)
            .unwrap_or(1);
        if u.nano_cpus > ncpu * 1_000_000_000 || u.nano_cpus < 10_000_000 {
            return Err(Error::invalid(format!(
                "Range of CPUs is from 0.01 to {ncpu}.00, as there are only {ncpu} CPUs available"
            )));
        }
    }
    if u.cpu_period != 0 && !(1000..=1_000_000).contains(&u.cpu_period) {
        return Err(Error::invalid(
            "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)",
        ));
    }
    if u.cpu_quota != 0 && u.cpu_quota != -1 && u.cpu_quota < 1000 {
        return Err(Error::invalid(
            "CPU cfs quota can not be less than 1ms (i.e. 1000)",
        ));
    }
    if u.blkio_weight != 0 && !(10..=1000).contains(&u.blkio_weight) {
        return Err(Error::invalid(format!(
            "invalid weight {}: range is 10 to 1000",
            u.blkio_weight
        )));
    }
    if let Some(p) = u.pids_limit.filter(|p| *p < -1) {
        return Err(Error::invalid(format!("invalid PIDs limit: {p}")));
    }
    for (what, v) in [("cpus", &u.cpuset_cpus), ("mems", &u.cpuset_mems)] {
        if !v.is_empty() && !v.split(',').all(valid_cpuset_part) {
            return Err(Error::invalid(format!(
                "Invalid value {v} for cpuset {what}"
            )));
        }
    }
    let p = &u.restart_policy;
    match p.name.as_str() {
        "" | "no" | "always" | "unless-stopped" | "on-failure" => {}
        other => {
            return Err(Error::invalid(format!(
                "invalid restart policy: unknown policy '{other}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'"
            )))
        }
    }
    if p.maximum_retry_count < 0 {
        return Err(Error::invalid(
            "invalid restart policy: maximum retry count cannot be negative",
        ));
    }
    if p.maximum_retry_count != 0 && p.name != "on-failure" {
        return Err(Error::invalid(
            "invalid restart policy: maximum retry count can only be used with 'on-failure'",
        ));
    }
    Ok(())
}

fn valid_cpuset_part(p: &str) -> bool {
    let num = |s: &str| !s.is_empty() && s.len() < 6 && s.bytes().all(|b| b.is_ascii_digit());
    match p.split_once('-') {
        Some((a, b)) => num(a) && num(b) && a.parse::<u32>().ok() <= b.parse::<u32>().ok(),
        None => num(p),
    }
}

/// The swap limit in effect: recorded, or Docker's default of twice the memory limit.
fn effective_swap(hc: &HostConfig) -> i64 {
    match (hc.memory, hc.memory_swap) {
        (m, 0) if m > 0 => 2 * m,
        (_, s) => s,
    }
}

/// Merges `u` into `hc` as dockerd's `UpdateContainer` does; returns the cgroup writes.
fn merge(hc: &mut HostConfig, u: &UpdateConfig, id: &str) -> Result<Update> {
    let cannot = |m: &str| Error::invalid(format!("Cannot update container {id}: {m}"));
    if u.nano_cpus > 0 && (hc.cpu_period > 0 || hc.cpu_quota > 0) {
        return Err(cannot(
            "Conflicting options: Nano CPUs cannot be updated as CPU Period or Quota has already been set",
        ));
    }
    if (u.cpu_period > 0 || u.cpu_quota > 0) && hc.nano_cpus > 0 {
        return Err(cannot(
            "Conflicting options: CPU Period or Quota cannot be updated as NanoCPUs has already been set",
        ));
    }
    let swap_now = effective_swap(hc);
    if u.memory != 0 && swap_now > 0 && u.memory > swap_now && u.memory_swap == 0 {
        return Err(cannot(
            "Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time",
        ));
    }
    if u.memory_swap > 0 && u.memory == 0 && (hc.memory == 0 || u.memory_swap < hc.memory) {
        return Err(cannot(if hc.memory == 0 {
            "You should always set the Memory limit when using Memoryswap limit, see usage"
        } else {
            "Minimum memoryswap limit should be larger than memory limit, see usage"
        }));
    }
    if !u.restart_policy.name.is_empty() && u.restart_policy.name != "no" && hc.auto_remove {
        return Err(cannot(
            "Restart policy cannot be updated because AutoRemove is enabled for the container",
        ));
    }
    let mut w = Update::default();
    if u.blkio_weight != 0 {
        hc.extra
            .insert("BlkioWeight".into(), Value::from(u.blkio_weight));
        w.blkio_weight = Some(u.blkio_weight);
    }
    if u.cpu_shares != 0 {
        hc.cpu_shares = u.cpu_shares;
        w.cpu_shares = Some(u.cpu_shares as u64);
    }
    if u.nano_cpus != 0 {
        hc.nano_cpus = u.nano_cpus;
        w.cpu_period = Some(100_000);
        w.cpu_quota = Some(u.nano_cpus * 100_000 / 1_000_000_000);
    }
    if u.cpu_period != 0 {
        hc.cpu_period = u.cpu_period;
        w.cpu_period = Some(u.cpu_period as u64);
    }
    if u.cpu_quota != 0 {
        hc.cpu_quota = u.cpu_quota;
        w.cpu_quota = Some(u.cpu_quota);
    }
    if !u.cpuset_cpus.is_empty() {
        hc.cpuset_cpus = u.cpuset_cpus.clone();
        w.cpuset_cpus = Some(u.cpuset_cpus.clone());
    }
    if !u.cpuset_mems.is_empty() {
        hc.cpuset_mems = u.cpuset_mems.clone();
        w.cpuset_mems = Some(u.cpuset_mems.clone());
    }
    if u.memory != 0 {
        hc.memory = u.memory;
        w.memory = Some(u.memory);
    }
    if u.memory_swap != 0 {
        hc.memory_swap = u.memory_swap;
        w.memory_swap = Some(u.memory_swap);
    }
    if u.memory_reservation != 0 {
        hc.memory_reservation = u.memory_reservation;
        w.memory_reservation = Some(u.memory_reservation);
    }
    if let Some(p) = u.pids_limit {
        hc.pids_limit = Some(p);
        w.pids_limit = Some(p);
    }
    if !u.restart_policy.name.is_empty() {
        hc.restart_policy = u.restart_policy.clone();
    }
    Ok(w)
}

impl ContainerService {
    /// `POST /containers/{id}/update`.
    #[tracing::instrument(skip(self, u))]
    pub async fn update(self: &Arc<Self>, key: &str, u: UpdateConfig) -> Result<UpdateResponse> {
        check_update(&u)?;
        let c = self.get(key)?;
        let mut inner = c.inner.lock().await;
        let status = inner.record.state.status();
        if matches!(
            status,
            super::state::Status::Removing | super::state::Status::Dead
        ) {
            return Err(Error::Conflict(format!(
                "Cannot update container {}: container is marked for removal and cannot be \"update\"",
                c.id
            )));
        }
        let mut hc = inner.record.host_config.clone();
        let writes = merge(&mut hc, &u, &c.id)?;
        // A running (or paused) container gets the limits now; a stopped one at its next start.
        if inner.shim.is_some() && writes != Update::default() {
            let cgroup = shim::cgroups_path(&self.cfg, &c.id);
            tokio::task::spawn_blocking(move || {
                runtime::cgroup::resources::apply(&Hierarchy::host(), &cgroup, &writes)
            })
            .await
            .map_err(Error::task("update"))?
            .map_err(|e| Error::io(format!("Cannot update container {}", c.id), e))?;
        }
        inner.record.host_config = hc;
        let record = inner.record.clone();
        self.persist(&c, &record).await?;
        drop(inner);
        self.publish(&record, "update");
        Ok(UpdateResponse::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(json: &str) -> UpdateConfig {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn checks_like_dockerd() {
        check_update(&body(r#"{"Memory":67108864,"MemorySwap":-1}"#)).unwrap();
        let e = |j: &str| check_update(&body(j)).unwrap_err().to_string();
        assert_eq!(
            e(r#"{"Memory":1024}"#),
            "Minimum memory limit allowed is 6MB"
        );
        assert!(e(r#"{"CpuQuota":5}"#).contains("quota"));
        assert!(e(r#"{"NanoCpus":100000000,"CpuPeriod":10000}"#).contains("Conflicting"));
        assert!(e(r#"{"BlkioWeight":5}"#).contains("range is 10 to 1000"));
        assert!(e(r#"{"RestartPolicy":{"Name":"sometimes"}}"#).contains("unknown policy"));
        assert!(e(r#"{"Ulimits":[{"Name":"nofile","Soft":1,"Hard":2}]}"#).starts_with("Ulimits:"));
        assert!(e(r#"{"Bogus":1}"#).contains("unknown field Bogus"));
        assert!(e(r#"{"CpusetCpus":"1-0"}"#).contains("cpuset"));
        // Unset fields the docker CLI always sends are fine.
        check_update(&body(
            r#"{"Ulimits":null,"Devices":[],"KernelMemory":0,"CgroupParent":""}"#,
        ))
        .unwrap();
    }

    #[test]
    fn merges_like_dockerd() {
        let mut hc = HostConfig {
            memory: 64 << 20,
            ..Default::default()
        };
        // 256m > the default swap of 128m, without a new swap limit: refused.
        let e = merge(&mut hc, &body(r#"{"Memory":268435456}"#), "c1").unwrap_err();
        assert!(e
            .to_string()
            .starts_with("Cannot update container c1: Memory limit should be smaller"));
        let w = merge(
            &mut hc,
            &body(r#"{"Memory":268435456,"MemorySwap":-1,"CpuShares":512,"PidsLimit":20,"RestartPolicy":{"Name":"always"}}"#),
            "c1",
        )
        .unwrap();
        assert_eq!(
            (hc.memory, hc.memory_swap, hc.cpu_shares),
            (256 << 20, -1, 512)
        );
        assert_eq!(hc.restart_policy.name, "always");
        assert_eq!(w.memory, Some(256 << 20));
        assert_eq!(w.pids_limit, Some(20));
        assert_eq!(w.cpu_quota, None, "unset fields are not written");
        let w = merge(&mut hc, &body(r#"{"NanoCpus":500000000}"#), "c1").unwrap();
        assert_eq!((w.cpu_quota, w.cpu_period), (Some(50_000), Some(100_000)));
        let e = merge(&mut hc, &body(r#"{"CpuQuota":20000}"#), "c1").unwrap_err();
        assert!(e.to_string().contains("NanoCPUs has already been set"));
        hc.auto_remove = true;
        assert!(merge(
            &mut hc,
            &body(r#"{"RestartPolicy":{"Name":"always"}}"#),
            "c1"
        )
        .is_err());
    }
}
