//! `GET /containers/{id}/stats`: samples of a container's cgroup (CPU, memory, pids, block
//! I/O; `runtime::cgroup::stats`), of the host's CPU time (`system_cpu_usage`, what the CLI
//! divides by) and of the interfaces of its network namespace, in dockerd's JSON.
//!
//! - `stream=false` (`docker stats --no-stream`): a first sample primes `precpu_stats`, the
//!   second, [`PRIME_GAP`] later, is sent (dockerd waits for its collector's next tick);
//! - `one-shot=true`: one sample at once, `precpu_stats` empty;
//! - streaming: a sample at once, then one per second from the daemon's [`super::sampler`],
//!   each with the previous one's CPU as `precpu_stats`.
//!
//! A container that is not running gives a sample with only its name and id, as dockerd's.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use api_types::stats::{
    BlkioStatEntry, BlkioStats, CpuStats, CpuUsage, MemoryStats, NetworkStats, PidsStats,
    StatsResponse, ThrottlingData,
};
use futures_util::Stream;
use runtime::cgroup::stats::{self as cg, Hierarchy};

use super::record::ContainerRecord;
use super::{Container, ContainerService};
use crate::clock;
use crate::error::{Error, Result};

/// How long `stream=false` waits between its priming sample and the one it sends: long
/// enough for `/proc/stat`'s 10 ms ticks to give a CPU percentage to within a percent, short
/// of the docker CLI's 2 s timeout.
pub const PRIME_GAP: Duration = Duration::from_millis(500);

/// Options of `GET /containers/{id}/stats`.
#[derive(Debug, Clone, Copy, Default)]
pub struct StatsOptions {
    pub stream: bool,
    pub one_shot: bool,
}

/// The samples of one request.
pub type StatsStream = Pin<Box<dyn Stream<Item = StatsResponse> + Send>>;

/// A sample with only the container's name and id (not running, or gone).
pub(crate) fn empty(r: &ContainerRecord) -> StatsResponse {
    StatsResponse {
        read: clock::ZERO_TIME.into(),
        preread: clock::ZERO_TIME.into(),
        name: format!("/{}", r.name),
        id: r.id.clone(),
        ..Default::default()
    }
}

fn entries(list: Option<Vec<cg::BlkioEntry>>) -> Option<Vec<BlkioStatEntry>> {
    list.map(|v| {
        v.into_iter()
            .map(|e| BlkioStatEntry {
                major: e.major,
                minor: e.minor,
                op: e.op,
                value: e.value,
            })
            .collect()
    })
}

/// Parses `/proc/<pid>/net/dev`: the counters of every interface but `lo` (dockerd reports
/// the sandbox's endpoints, never the loopback).
pub fn parse_net_dev(text: &str) -> BTreeMap<String, NetworkStats> {
    text.lines()
        .skip(2)
        .filter_map(|l| {
            let (name, rest) = l.split_once(':')?;
            let name = name.trim();
            if name == "lo" {
                return None;
            }
            let f: Vec<u64> = rest
                .split_whitespace()
                .map(|n| n.parse().unwrap_or(0))
                .collect();
            (f.len() >= 12).then(|| {
                (
                    name.to_string(),
                    NetworkStats {
                        rx_bytes: f[0],
                        rx_packets: f[1],
                        rx_errors: f[2],
                        rx_dropped: f[3],
                        tx_bytes: f[8],
                        tx_packets: f[9],
                        tx_errors: f[10],
                        tx_dropped: f[11],
                    },
                )
            })
        })
        .collect()
}

/// The host's memory, to cap "no limit" as dockerd does.
fn machine_memory() -> u64 {
    static MEM: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *MEM.get_or_init(|| {
        std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("MemTotal:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            })
            .map(|kb| kb * 1024)
            .unwrap_or(0)
    })
}

/// The host's CPU time and online CPUs (read once per sampling round).
pub(crate) fn system_cpu() -> (u64, u32) {
    std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| cg::system_cpu_usage(&s))
        .unwrap_or((0, 0))
}

/// One sample of a container (blocking: reads its cgroup and `/proc`). `system` is the
/// host's CPU time and CPU count, read once for all containers of a round.
pub(crate) fn sample(
    cgroup_parent: &str,
    r: &ContainerRecord,
    system: (u64, u32),
) -> StatsResponse {
    if !r.state.status().is_running() || r.state.status() == super::state::Status::Restarting {
        return empty(r);
    }
    let path = format!("{}/{}", cgroup_parent.trim_end_matches('/'), r.id);
    let u = match cg::read(&Hierarchy::host(), &path) {
        Ok(u) => u,
        Err(e) => {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(container_id = %r.id, error = %e, "reading stats");
            }
            return empty(r);
        }
    };
    let mut limit = u.memory.limit;
    let machine = machine_memory();
    if machine > 0 && limit > machine {
        limit = machine;
    }
    let networks = match r.network_mode() {
        "host" => None,
        _ if r.config.network_disabled == Some(true) => None,
        _ => std::fs::read_to_string(format!("/proc/{}/net/dev", r.state.pid()))
            .ok()
            .map(|t| parse_net_dev(&t))
            .filter(|m| !m.is_empty()),
    };
    StatsResponse {
        read: clock::rfc3339(clock::now_nanos()),
        preread: clock::ZERO_TIME.into(),
        pids_stats: PidsStats {
            current: u.pids.current,
            limit: u.pids.limit,
        },
        blkio_stats: BlkioStats {
            io_service_bytes_recursive: entries(u.blkio.service_bytes),
            io_serviced_recursive: entries(u.blkio.serviced),
            io_queue_recursive: entries(u.blkio.queued),
            io_service_time_recursive: entries(u.blkio.service_time),
            io_wait_time_recursive: entries(u.blkio.wait_time),
            io_merged_recursive: entries(u.blkio.merged),
            io_time_recursive: entries(u.blkio.time),
            sectors_recursive: entries(u.blkio.sectors),
        },
        num_procs: 0,
        storage_stats: Default::default(),
        cpu_stats: CpuStats {
            cpu_usage: CpuUsage {
                total_usage: u.cpu.total,
                percpu_usage: u.cpu.per_cpu,
                usage_in_kernelmode: u.cpu.kernel,
                usage_in_usermode: u.cpu.user,
            },
            system_cpu_usage: system.0,
            online_cpus: system.1,
            throttling_data: ThrottlingData {
                periods: u.cpu.periods,
                throttled_periods: u.cpu.throttled_periods,
                throttled_time: u.cpu.throttled_time,
            },
        },
        precpu_stats: CpuStats::default(),
        memory_stats: MemoryStats {
            usage: u.memory.usage,
            max_usage: u.memory.max_usage,
            stats: u.memory.stats,
            failcnt: u.memory.failcnt,
            limit,
        },
        name: format!("/{}", r.name),
        id: r.id.clone(),
        networks,
    }
}

/// Sets the previous sample's CPU and time on `next` and remembers `next`'s.
pub(crate) fn chain(
    prev: &mut Option<(CpuStats, String)>,
    mut next: StatsResponse,
) -> StatsResponse {
    if let Some((cpu, read)) = prev.take() {
        next.precpu_stats = cpu;
        next.preread = read;
    }
    if next.read != clock::ZERO_TIME {
        *prev = Some((next.cpu_stats.clone(), next.read.clone()));
    }
    next
}

impl ContainerService {
    async fn sample_now(&self, c: &Container) -> Result<StatsResponse> {
        let r = c.view();
        let parent = self.cfg.cgroup_parent.clone();
        tokio::task::spawn_blocking(move || sample(&parent, &r, system_cpu()))
            .await
            .map_err(Error::task("stats"))
    }

    /// `GET /containers/{id}/stats?stream=&one-shot=`.
    pub async fn stats(self: &Arc<Self>, key: &str, opts: StatsOptions) -> Result<StatsStream> {
        if opts.stream && opts.one_shot {
            return Err(Error::invalid("cannot have stream=true and one-shot=true"));
        }
        let c = self.get(key)?;
        let view = c.view();
        let running = view.state.status().is_running()
            && view.state.status() != super::state::Status::Restarting;
        if !opts.stream {
            let s = if !running {
                empty(&view)
            } else if opts.one_shot {
                self.sample_now(&c).await?
            } else {
                let mut prev = None;
                chain(&mut prev, self.sample_now(&c).await?);
                tokio::time::sleep(PRIME_GAP).await;
                chain(&mut prev, self.sample_now(&c).await?)
            };
            return Ok(Box::pin(futures_util::stream::once(async move { s })));
        }
        let first = self.sample_now(&c).await?;
        let rx = self.sampler.subscribe(c.clone());
        let stream = futures_util::stream::unfold(
            (Some(first), rx, None::<(CpuStats, String)>),
            |(first, mut rx, mut prev)| async move {
                let next = match first {
                    Some(s) => s,
                    None => rx.recv().await?,
                };
                let out = chain(&mut prev, next);
                Some((out, (None, rx, prev)))
            },
        );
        Ok(Box::pin(stream))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn net_dev_interfaces_without_loopback() {
        let text = "Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    lo:     100       1    0    0    0     0          0         0      100       1    0    0    0     0       0          0\n  eth0:    1500      10    1    2    0     0          0         0      900       8    3    4    0     0       0          0\n";
        let m = parse_net_dev(text);
        assert_eq!(m.len(), 1);
        let e = &m["eth0"];
        assert_eq!(
            (e.rx_bytes, e.rx_packets, e.rx_errors, e.rx_dropped),
            (1500, 10, 1, 2)
        );
        assert_eq!(
            (e.tx_bytes, e.tx_packets, e.tx_errors, e.tx_dropped),
            (900, 8, 3, 4)
        );
    }

    #[test]
    fn samples_chain_their_precpu() {
        let mut prev = None;
        let mk = |total: u64, read: &str| StatsResponse {
            read: read.into(),
            cpu_stats: CpuStats {
                cpu_usage: CpuUsage {
                    total_usage: total,
                    ..Default::default()
                },
                system_cpu_usage: total * 10,
                ..Default::default()
            },
            ..Default::default()
        };
        let a = chain(&mut prev, mk(5, "t1"));
        assert_eq!(a.precpu_stats, CpuStats::default());
        let b = chain(&mut prev, mk(9, "t2"));
        assert_eq!(b.precpu_stats.cpu_usage.total_usage, 5);
        assert_eq!(b.preread, "t1");
    }
}
