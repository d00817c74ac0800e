//! `docker stats` rows: the numbers the docker CLI computes from each sample (`stats_helpers`:
//! CPU % from the deltas against `precpu_stats`, memory without the inactive file cache,
//! network and block I/O totals) and the `statsContext` placeholders (`.Container .Name .ID
//! .CPUPerc .MemUsage .MemPerc .NetIO .BlockIO .PIDs`).

use std::rc::Rc;

use api_types::stats::StatsResponse;
use gotemplate::{ObjKind, Object, Value};

use super::container::Header;
use super::units::{bytes_size, human_size_with_precision};

/// docker's default `stats` table (Linux daemons).
pub const DEFAULT_TABLE: &str =
    "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";

/// One container's figures, as the docker CLI derives them from a sample.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatsEntry {
    /// What the user named (or the id, for `stats` without arguments).
    pub container: String,
    pub name: String,
    pub id: String,
    pub cpu_percentage: f64,
    pub memory: f64,
    pub memory_limit: f64,
    pub memory_percentage: f64,
    pub network_rx: f64,
    pub network_tx: f64,
    pub block_read: f64,
    pub block_write: f64,
    pub pids_current: u64,
    /// No sample (yet), or the container is gone: every figure shows `--`.
    pub invalid: bool,
}

/// docker's `calculateCPUPercentUnix`.
pub fn cpu_percent(s: &StatsResponse) -> f64 {
    let cpu_delta =
        s.cpu_stats.cpu_usage.total_usage as f64 - s.precpu_stats.cpu_usage.total_usage as f64;
    let system_delta = s.cpu_stats.system_cpu_usage as f64 - s.precpu_stats.system_cpu_usage as f64;
    let mut online = s.cpu_stats.online_cpus as f64;
    if online == 0.0 {
        online = s.cpu_stats.cpu_usage.percpu_usage.len() as f64;
    }
    if system_delta > 0.0 && cpu_delta > 0.0 {
        cpu_delta / system_delta * online * 100.0
    } else {
        0.0
    }
}

/// docker's `calculateMemUsageUnixNoCache`: usage without the inactive file cache
/// (`total_inactive_file` on cgroup v1, `inactive_file` on v2).
pub fn mem_usage_no_cache(s: &StatsResponse) -> f64 {
    let m = &s.memory_stats;
    if let Some(v) = m.stats.get("total_inactive_file") {
        if *v < m.usage {
            return (m.usage - v) as f64;
        }
    }
    let v = m.stats.get("inactive_file").copied().unwrap_or(0);
    if v < m.usage {
        (m.usage - v) as f64
    } else {
        m.usage as f64
    }
}

impl StatsEntry {
    /// The figures of `sample` for the container the user named `container`.
    pub fn from_sample(container: &str, s: &StatsResponse) -> StatsEntry {
        let mem = mem_usage_no_cache(s);
        let limit = s.memory_stats.limit as f64;
        let (mut rx, mut tx) = (0.0, 0.0);
        for n in s.networks.iter().flat_map(|m| m.values()) {
            rx += n.rx_bytes as f64;
            tx += n.tx_bytes as f64;
        }
        let (mut read, mut write) = (0.0, 0.0);
        for e in s.blkio_stats.io_service_bytes_recursive.iter().flatten() {
            match e.op.as_bytes().first() {
                Some(b'r' | b'R') => read += e.value as f64,
                Some(b'w' | b'W') => write += e.value as f64,
                _ => {}
            }
        }
        StatsEntry {
            container: container.to_string(),
            name: s.name.clone(),
            id: s.id.clone(),
            cpu_percentage: cpu_percent(s),
            memory: mem,
            memory_limit: limit,
            memory_percentage: if limit != 0.0 {
                mem / limit * 100.0
            } else {
                0.0
            },
            network_rx: rx,
            network_tx: tx,
            block_read: read,
            block_write: write,
            pids_current: s.pids_stats.current,
            invalid: false,
        }
    }
}

/// One row as a template object.
pub struct StatsContext {
    pub e: StatsEntry,
    pub trunc: bool,
}

const FIELDS: &[&str] = &[
    "BlockIO",
    "CPUPerc",
    "Container",
    "ID",
    "MemPerc",
    "MemUsage",
    "Name",
    "NetIO",
    "PIDs",
];

impl StatsContext {
    fn get(&self, name: &str) -> Option<Value> {
        let e = &self.e;
        let dashes = |v: String| Value::Str(if e.invalid { "--".into() } else { v });
        let pair = |a: f64, b: f64| {
            format!(
                "{} / {}",
                human_size_with_precision(a, 3),
                human_size_with_precision(b, 3)
            )
        };
        Some(match name {
            "Container" => Value::Str(e.container.clone()),
            "Name" => dashes(e.name.trim_start_matches('/').to_string()),
            "ID" => Value::Str(if self.trunc {
                e.id.chars().take(12).collect()
            } else {
                e.id.clone()
            }),
            "CPUPerc" => dashes(format!("{:.2}%", e.cpu_percentage)),
            "MemUsage" => Value::Str(if e.invalid {
                "-- / --".into()
            } else {
                format!("{} / {}", bytes_size(e.memory), bytes_size(e.memory_limit))
            }),
            "MemPerc" => dashes(format!("{:.2}%", e.memory_percentage)),
            "NetIO" => Value::Str(if e.invalid {
                "--".into()
            } else {
                pair(e.network_rx, e.network_tx)
            }),
            "BlockIO" => Value::Str(if e.invalid {
                "--".into()
            } else {
                pair(e.block_read, e.block_write)
            }),
            "PIDs" => dashes(e.pids_current.to_string()),
            _ => return None,
        })
    }
}

impl Object for StatsContext {
    fn type_name(&self) -> &'static str {
        "*container.statsContext"
    }

    fn call(&self, name: &str, _args: &[Value]) -> Option<Result<Value, String>> {
        self.get(name).map(Ok)
    }

    fn to_json(&self) -> Value {
        Value::Obj(
            ObjKind::Map,
            FIELDS
                .iter()
                .filter_map(|f| Some((f.to_string(), self.get(f)?)))
                .collect(),
        )
    }
}

/// The header of `stats` tables.
pub fn stats_header() -> Value {
    Value::Object(Rc::new(Header {
        names: vec![
            ("Container", "CONTAINER"),
            ("ID", "CONTAINER ID"),
            ("Name", "NAME"),
            ("CPUPerc", "CPU %"),
            ("MemUsage", "MEM USAGE / LIMIT"),
            ("MemPerc", "MEM %"),
            ("NetIO", "NET I/O"),
            ("BlockIO", "BLOCK I/O"),
            ("PIDs", "PIDS"),
        ],
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use api_types::stats::{BlkioStatEntry, CpuStats, CpuUsage, MemoryStats};

    #[test]
    fn figures_like_the_docker_cli() {
        let mut s = StatsResponse {
            name: "/web".into(),
            id: "0123456789abcdef".into(),
            ..Default::default()
        };
        s.cpu_stats = CpuStats {
            cpu_usage: CpuUsage {
                total_usage: 300,
                ..Default::default()
            },
            system_cpu_usage: 2000,
            online_cpus: 2,
            ..Default::default()
        };
        s.precpu_stats.cpu_usage.total_usage = 100;
        s.precpu_stats.system_cpu_usage = 1000;
        s.memory_stats = MemoryStats {
            usage: 10 << 20,
            limit: 100 << 20,
            stats: [("total_inactive_file".to_string(), 2 << 20)].into(),
            ..Default::default()
        };
        s.blkio_stats.io_service_bytes_recursive = Some(vec![
            BlkioStatEntry {
                op: "Read".into(),
                value: 4096,
                ..Default::default()
            },
            BlkioStatEntry {
                op: "write".into(),
                value: 1000,
                ..Default::default()
            },
        ]);
        let e = StatsEntry::from_sample("web", &s);
        assert_eq!(e.cpu_percentage, 40.0);
        assert_eq!(e.memory, (8 << 20) as f64);
        let ctx = StatsContext { e, trunc: true };
        let get = |f: &str| ctx.get(f).unwrap().to_go_string();
        assert_eq!(get("CPUPerc"), "40.00%");
        assert_eq!(get("MemUsage"), "8MiB / 100MiB");
        assert_eq!(get("MemPerc"), "8.00%");
        assert_eq!(get("BlockIO"), "4.1kB / 1kB");
        assert_eq!(get("NetIO"), "0B / 0B");
        assert_eq!(get("Name"), "web");
        assert_eq!(get("ID"), "0123456789ab");
        let bad = StatsContext {
            e: StatsEntry {
                invalid: true,
                ..Default::default()
            },
            trunc: true,
        };
        assert_eq!(bad.get("MemUsage").unwrap().to_go_string(), "-- / --");
        assert_eq!(bad.get("CPUPerc").unwrap().to_go_string(), "--");
    }
}
