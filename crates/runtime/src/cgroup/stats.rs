//! Resource usage of a cgroup, read from its control files, for `docker stats`: CPU (total,
//! per CPU, kernel/user split, CFS throttling), memory (usage, peak, limit, failures and the
//! `memory.stat` counters), pids and block I/O.
//!
//! cgroup v1 reads `cpuacct.usage`, `cpuacct.usage_percpu`, `cpuacct.stat`, `cpu.stat`,
//! `memory.{usage_in_bytes,max_usage_in_bytes,limit_in_bytes,failcnt,stat}`,
//! `blkio.throttle.io_service{_bytes,d}_recursive` (or the CFQ/BFQ `blkio.*_recursive`
//! files where a scheduler keeps them) and `pids.{current,max}`, each under its controller's
//! hierarchy. cgroup v2 reads `cpu.stat`, `memory.{current,max,stat,events}`, `io.stat` and
//! `pids.{current,max}` in the one directory. What a version does not have stays empty
//! (per-CPU usage and peak memory on v2), exactly as dockerd reports it.
//!
//! The readers take the hierarchy's root as a parameter ([`Hierarchy`]), so the parsing of
//! both versions is unit-tested against fixture trees (`testdata/`): this host's cgroup v2
//! mount is empty, so only the fixtures exercise v2.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

/// `USER_HZ`: the unit of `cpuacct.stat` (Linux fixes it at 100 for user space).
const CLOCK_TICKS: u64 = 100;

/// The `memory.stat` keys dockerd reports on cgroup v1, in its order.
pub const V1_MEMORY_KEYS: &[&str] = &[
    "cache",
    "rss",
    "rss_huge",
    "mapped_file",
    "dirty",
    "writeback",
    "pgpgin",
    "pgpgout",
    "pgfault",
    "pgmajfault",
    "inactive_anon",
    "active_anon",
    "inactive_file",
    "active_file",
    "unevictable",
    "hierarchical_memory_limit",
    "hierarchical_memsw_limit",
    "total_cache",
    "total_rss",
    "total_rss_huge",
    "total_mapped_file",
    "total_dirty",
    "total_writeback",
    "total_pgpgin",
    "total_pgpgout",
    "total_pgfault",
    "total_pgmajfault",
    "total_inactive_anon",
    "total_active_anon",
    "total_inactive_file",
    "total_active_file",
    "total_unevictable",
];

/// The `memory.stat` keys dockerd reports on cgroup v2.
pub const V2_MEMORY_KEYS: &[&str] = &[
    "anon",
    "file",
    "kernel_stack",
    "slab",
    "sock",
    "shmem",
    "file_mapped",
    "file_dirty",
    "file_writeback",
    "anon_thp",
    "inactive_anon",
    "active_anon",
    "inactive_file",
    "active_file",
    "unevictable",
    "slab_reclaimable",
    "slab_unreclaimable",
    "pgfault",
    "pgmajfault",
    "workingset_refault",
    "workingset_activate",
    "workingset_nodereclaim",
    "pgrefill",
    "pgscan",
    "pgsteal",
    "pgactivate",
    "pgdeactivate",
    "pglazyfree",
    "pglazyfreed",
    "thp_fault_alloc",
    "thp_collapse_alloc",
];

/// Where a cgroup's control files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hierarchy {
    /// One hierarchy per controller: `<root>/<controller>/<path>`.
    V1 { root: PathBuf },
    /// The unified hierarchy: `<root>/<path>`.
    V2 { root: PathBuf },
}

impl Hierarchy {
    /// This host's layout under `/sys/fs/cgroup` (hybrid hosts count as v1: their v2 mount
    /// holds no controller berth uses).
    pub fn host() -> Hierarchy {
        let root = PathBuf::from(super::ROOT);
        if super::is_v2_only() {
            Hierarchy::V2 { root }
        } else {
            Hierarchy::V1 { root }
        }
    }

    /// The directory of cgroup `path` for `controller` (ignored on v2).
    pub fn dir(&self, controller: &str, path: &str) -> PathBuf {
        let rel = path.trim_start_matches('/');
        match self {
            Hierarchy::V1 { root } => root.join(controller).join(rel),
            Hierarchy::V2 { root } => root.join(rel),
        }
    }
}

/// CPU time, in nanoseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CpuUsage {
    pub total: u64,
    /// One entry per CPU (v1 only; empty on v2).
    pub per_cpu: Vec<u64>,
    pub kernel: u64,
    pub user: u64,
    /// CFS periods elapsed, periods throttled, and the time throttled (ns).
    pub periods: u64,
    pub throttled_periods: u64,
    pub throttled_time: u64,
}

/// Memory, in bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryUsage {
    pub usage: u64,
    /// The peak (v1 `max_usage_in_bytes`; 0 on v2, which dockerd does not report).
    pub max_usage: u64,
    /// The limit; `u64::MAX` when unlimited on v2, the kernel's page-rounded maximum on v1.
    pub limit: u64,
    /// v1: times the limit was hit; v2: the `oom` count of `memory.events`.
    pub failcnt: u64,
    /// The `memory.stat` counters dockerd reports ([`V1_MEMORY_KEYS`] or [`V2_MEMORY_KEYS`]).
    pub stats: BTreeMap<String, u64>,
}

/// One block I/O counter of one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlkioEntry {
    pub major: u64,
    pub minor: u64,
    /// `Read`, `Write`, `Sync`, `Async`, `Discard`, `Total` on v1; `read`/`write` on v2.
    pub op: String,
    pub value: u64,
}

/// Block I/O counters; on v2 only `service_bytes` is known (the others are `None`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlkioUsage {
    pub service_bytes: Option<Vec<BlkioEntry>>,
    pub serviced: Option<Vec<BlkioEntry>>,
    pub queued: Option<Vec<BlkioEntry>>,
    pub service_time: Option<Vec<BlkioEntry>>,
    pub wait_time: Option<Vec<BlkioEntry>>,
    pub merged: Option<Vec<BlkioEntry>>,
    pub time: Option<Vec<BlkioEntry>>,
    pub sectors: Option<Vec<BlkioEntry>>,
}

/// Process counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PidsUsage {
    pub current: u64,
    /// 0: no limit.
    pub limit: u64,
}

/// Everything `docker stats` shows of a cgroup.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Usage {
    pub cpu: CpuUsage,
    pub memory: MemoryUsage,
    pub pids: PidsUsage,
    pub blkio: BlkioUsage,
}

/// Reads the usage of cgroup `path` in `h`. A missing cgroup is `NotFound` (the container
/// exited meanwhile); a missing optional file leaves its counters at zero.
pub fn read(h: &Hierarchy, path: &str) -> io::Result<Usage> {
    match h {
        Hierarchy::V1 { .. } => read_v1(h, path),
        Hierarchy::V2 { .. } => read_v2(&h.dir("", path)),
    }
}

fn read_file(p: &Path) -> io::Result<String> {
    std::fs::read_to_string(p)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", p.display())))
}

/// The file's content, or `None` when the kernel does not provide it.
fn optional(p: &Path) -> io::Result<Option<String>> {
    match std::fs::read_to_string(p) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io::Error::new(e.kind(), format!("{}: {e}", p.display()))),
    }
}

/// A single number, or `max` (→ `u64::MAX`).
fn number(s: &str) -> u64 {
    match s.trim() {
        "max" => u64::MAX,
        t => t.parse().unwrap_or(0),
    }
}

/// `key value` lines.
fn flat_keyed(text: &str) -> BTreeMap<&str, u64> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            Some((f.next()?, f.next()?.parse().ok()?))
        })
        .collect()
}

fn pick(map: &BTreeMap<&str, u64>, keys: &[&str]) -> BTreeMap<String, u64> {
    keys.iter()
        .map(|k| (k.to_string(), map.get(k).copied().unwrap_or(0)))
        .collect()
}

fn read_v1(h: &Hierarchy, path: &str) -> io::Result<Usage> {
    let cpuacct = h.dir("cpuacct", path);
    let total = number(&read_file(&cpuacct.join("cpuacct.usage"))?);
    let per_cpu = optional(&cpuacct.join("cpuacct.usage_percpu"))?
        .map(|s| s.split_whitespace().map(number).collect())
        .unwrap_or_default();
    let ticks = optional(&cpuacct.join("cpuacct.stat"))?.unwrap_or_default();
    let ticks = flat_keyed(&ticks);
    let to_ns = |t: u64| t.saturating_mul(1_000_000_000) / CLOCK_TICKS;
    let throttling = optional(&h.dir("cpu", path).join("cpu.stat"))?.unwrap_or_default();
    let throttling = flat_keyed(&throttling);
    let cpu = CpuUsage {
        total,
        per_cpu,
        kernel: to_ns(ticks.get("system").copied().unwrap_or(0)),
        user: to_ns(ticks.get("user").copied().unwrap_or(0)),
        periods: throttling.get("nr_periods").copied().unwrap_or(0),
        throttled_periods: throttling.get("nr_throttled").copied().unwrap_or(0),
        throttled_time: throttling.get("throttled_time").copied().unwrap_or(0),
    };
    let mem = h.dir("memory", path);
    let stat = optional(&mem.join("memory.stat"))?.unwrap_or_default();
    let memory = MemoryUsage {
        usage: number(&read_file(&mem.join("memory.usage_in_bytes"))?),
        max_usage: optional(&mem.join("memory.max_usage_in_bytes"))?.map_or(0, |s| number(&s)),
        limit: optional(&mem.join("memory.limit_in_bytes"))?.map_or(0, |s| number(&s)),
        failcnt: optional(&mem.join("memory.failcnt"))?.map_or(0, |s| number(&s)),
        stats: pick(&flat_keyed(&stat), V1_MEMORY_KEYS),
    };
    Ok(Usage {
        cpu,
        memory,
        pids: read_pids(&h.dir("pids", path))?,
        blkio: read_blkio_v1(&h.dir("blkio", path))?,
    })
}

fn read_pids(dir: &Path) -> io::Result<PidsUsage> {
    let current = optional(&dir.join("pids.current"))?.map_or(0, |s| number(&s));
    let limit = match optional(&dir.join("pids.max"))? {
        Some(s) if s.trim() != "max" => number(&s),
        _ => 0,
    };
    Ok(PidsUsage { current, limit })
}

/// Parses a v1 blkio stat file (`8:0 Read 4096` lines, a final `Total n` without a device).
pub fn parse_blkio_v1(text: &str) -> Vec<BlkioEntry> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let dev = f.next()?;
            let (major, minor) = dev.split_once(':')?;
            let (op, value) = match (f.next(), f.next()) {
                (Some(op), Some(v)) => (op.to_string(), v.parse().ok()?),
                // `time_recursive` and `sectors_recursive` have no operation column.
                (Some(v), None) => (String::new(), v.parse().ok()?),
                _ => return None,
            };
            Some(BlkioEntry {
                major: major.parse().ok()?,
                minor: minor.parse().ok()?,
                op,
                value,
            })
        })
        .collect()
}

fn read_blkio_v1(dir: &Path) -> io::Result<BlkioUsage> {
    let list = |name: &str| -> io::Result<Vec<BlkioEntry>> {
        Ok(optional(&dir.join(format!("blkio.{name}")))?
            .map(|s| parse_blkio_v1(&s))
            .unwrap_or_default())
    };
    // A CFQ/BFQ scheduler keeps the full set; blk-mq devices only have the throttle
    // policy's counters, which is what dockerd (through containerd) then reports.
    let cfq = list("io_serviced_recursive")?;
    if !cfq.is_empty() {
        return Ok(BlkioUsage {
            service_bytes: Some(list("io_service_bytes_recursive")?),
            serviced: Some(cfq),
            queued: Some(list("io_queued_recursive")?),
            service_time: Some(list("io_service_time_recursive")?),
            wait_time: Some(list("io_wait_time_recursive")?),
            merged: Some(list("io_merged_recursive")?),
            time: Some(list("time_recursive")?),
            sectors: Some(list("sectors_recursive")?),
        });
    }
    Ok(BlkioUsage {
        service_bytes: Some(list("throttle.io_service_bytes_recursive")?),
        serviced: Some(list("throttle.io_serviced_recursive")?),
        queued: Some(Vec::new()),
        service_time: Some(Vec::new()),
        wait_time: Some(Vec::new()),
        merged: Some(Vec::new()),
        time: Some(Vec::new()),
        sectors: Some(Vec::new()),
    })
}

/// Parses v2 `io.stat` (`8:0 rbytes=1 wbytes=2 rios=3 …`) into dockerd's read/write pairs.
pub fn parse_io_stat(text: &str) -> Vec<BlkioEntry> {
    let mut out = Vec::new();
    for l in text.lines() {
        let mut f = l.split_whitespace();
        let Some((major, minor)) = f.next().and_then(|d| d.split_once(':')) else {
            continue;
        };
        let (Ok(major), Ok(minor)) = (major.parse::<u64>(), minor.parse::<u64>()) else {
            continue;
        };
        let kv: BTreeMap<&str, u64> = f
            .filter_map(|p| {
                let (k, v) = p.split_once('=')?;
                Some((k, v.parse().ok()?))
            })
            .collect();
        for (op, key) in [("read", "rbytes"), ("write", "wbytes")] {
            out.push(BlkioEntry {
                major,
                minor,
                op: op.into(),
                value: kv.get(key).copied().unwrap_or(0),
            });
        }
    }
    out
}

fn read_v2(dir: &Path) -> io::Result<Usage> {
    let cpu_stat = read_file(&dir.join("cpu.stat"))?;
    let c = flat_keyed(&cpu_stat);
    let get = |k: &str| c.get(k).copied().unwrap_or(0);
    let cpu = CpuUsage {
        total: get("usage_usec") * 1000,
        per_cpu: Vec::new(),
        kernel: get("system_usec") * 1000,
        user: get("user_usec") * 1000,
        periods: get("nr_periods"),
        throttled_periods: get("nr_throttled"),
        throttled_time: get("throttled_usec") * 1000,
    };
    let stat = optional(&dir.join("memory.stat"))?.unwrap_or_default();
    let events = optional(&dir.join("memory.events"))?.unwrap_or_default();
    let memory = MemoryUsage {
        usage: optional(&dir.join("memory.current"))?.map_or(0, |s| number(&s)),
        max_usage: 0,
        limit: optional(&dir.join("memory.max"))?.map_or(u64::MAX, |s| number(&s)),
        failcnt: flat_keyed(&events).get("oom").copied().unwrap_or(0),
        stats: pick(&flat_keyed(&stat), V2_MEMORY_KEYS),
    };
    let io = optional(&dir.join("io.stat"))?.unwrap_or_default();
    let service_bytes = parse_io_stat(&io);
    Ok(Usage {
        cpu,
        memory,
        pids: read_pids(dir)?,
        blkio: BlkioUsage {
            // dockerd leaves the list nil (JSON null) when no device was used.
            service_bytes: (!service_bytes.is_empty()).then_some(service_bytes),
            ..Default::default()
        },
    })
}

/// The host's CPU time (the first seven fields of `/proc/stat`'s `cpu` line, in ns) and the
/// number of online CPUs (its `cpuN` lines), as dockerd computes `system_cpu_usage`.
pub fn system_cpu_usage(proc_stat: &str) -> Option<(u64, u32)> {
    let mut total = None;
    let mut cpus = 0u32;
    for line in proc_stat.lines() {
        let Some(rest) = line.strip_prefix("cpu") else {
            break;
        };
        if rest.starts_with(' ') {
            let fields: Vec<u64> = rest
                .split_whitespace()
                .take(7)
                .map(|f| f.parse().ok())
                .collect::<Option<_>>()?;
            if fields.len() < 7 {
                return None;
            }
            let ticks: u64 = fields.iter().sum();
            total = Some(ticks.saturating_mul(1_000_000_000) / CLOCK_TICKS);
        } else if rest.starts_with(|c: char| c.is_ascii_digit()) {
            cpus += 1;
        }
    }
    Some((total?, cpus))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixtures(version: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("src/cgroup/testdata")
            .join(version)
    }

    #[test]
    fn v2_fixture_reads_like_dockerd() {
        let h = Hierarchy::V2 {
            root: fixtures("v2"),
        };
        let u = read(&h, "/berth/c1").unwrap();
        assert_eq!(u.cpu.total, 1_234_567_000);
        assert_eq!((u.cpu.user, u.cpu.kernel), (1_000_000_000, 234_567_000));
        assert!(u.cpu.per_cpu.is_empty(), "v2 has no per-CPU usage");
        assert_eq!(
            (u.cpu.periods, u.cpu.throttled_periods, u.cpu.throttled_time),
            (40, 3, 1_500_000)
        );
        assert_eq!(u.memory.usage, 8_388_608);
        assert_eq!(u.memory.limit, 67_108_864);
        assert_eq!(u.memory.failcnt, 2, "the oom count of memory.events");
        assert_eq!(u.memory.max_usage, 0);
        assert_eq!(u.memory.stats["inactive_file"], 1_048_576);
        assert_eq!(u.memory.stats["anon"], 4_194_304);
        assert_eq!(u.memory.stats.len(), V2_MEMORY_KEYS.len());
        assert_eq!(u.memory.stats["thp_collapse_alloc"], 0, "absent keys are 0");
        assert_eq!(
            u.pids,
            PidsUsage {
                current: 3,
                limit: 100
            }
        );
        let io = u.blkio.service_bytes.unwrap();
        assert_eq!(io.len(), 4);
        assert_eq!(
            io[0],
            BlkioEntry {
                major: 8,
                minor: 0,
                op: "read".into(),
                value: 4096
            }
        );
        assert_eq!((io[1].op.as_str(), io[1].value), ("write", 8192));
        assert_eq!((io[3].major, io[3].minor, io[3].value), (253, 1, 512));
        assert!(u.blkio.serviced.is_none());
        // An unlimited cgroup: `max` everywhere.
        let u = read(&h, "/berth/unlimited").unwrap();
        assert_eq!(u.memory.limit, u64::MAX);
        assert_eq!(u.pids.limit, 0);
        assert_eq!(u.blkio.service_bytes, None);
        assert!(matches!(read(&h, "/berth/gone"), Err(e) if e.kind() == io::ErrorKind::NotFound));
    }

    #[test]
    fn v1_fixture_reads_like_dockerd() {
        let h = Hierarchy::V1 {
            root: fixtures("v1"),
        };
        let u = read(&h, "/berth/c1").unwrap();
        assert_eq!(u.cpu.total, 52_000_000);
        assert_eq!(u.cpu.per_cpu, vec![30_000_000, 22_000_000]);
        assert_eq!((u.cpu.user, u.cpu.kernel), (30_000_000, 20_000_000));
        assert_eq!(u.cpu.throttled_time, 777);
        assert_eq!(u.memory.usage, 10_485_760);
        assert_eq!(u.memory.max_usage, 12_582_912);
        assert_eq!(u.memory.limit, 9_223_372_036_854_771_712);
        assert_eq!(u.memory.failcnt, 1);
        assert_eq!(u.memory.stats["total_inactive_file"], 2_097_152);
        assert_eq!(u.memory.stats.len(), V1_MEMORY_KEYS.len());
        assert!(!u.memory.stats.contains_key("shmem"), "only dockerd's keys");
        assert_eq!(u.pids.current, 2);
        let b = u.blkio.service_bytes.unwrap();
        assert_eq!(b.len(), 5, "the Total line has no device and is skipped");
        assert_eq!((b[0].op.as_str(), b[0].value), ("Read", 1024));
        assert_eq!(u.blkio.serviced.unwrap().len(), 5);
        assert_eq!(u.blkio.queued, Some(vec![]), "v1 lists are empty, not null");
    }

    #[test]
    fn blkio_lines_without_operation() {
        let e = parse_blkio_v1("8:0 100\nTotal 100\n");
        assert_eq!(
            e,
            vec![BlkioEntry {
                major: 8,
                minor: 0,
                op: String::new(),
                value: 100
            }]
        );
    }

    #[test]
    fn system_cpu_from_proc_stat() {
        let s = "cpu  100 0 50 1000 10 0 5 0 0 0\ncpu0 50 0 25 500 5 0 2 0 0 0\ncpu1 50 0 25 500 5 0 3 0 0 0\nintr 1\n";
        assert_eq!(system_cpu_usage(s), Some((11_650_000_000, 2)));
        assert_eq!(system_cpu_usage("intr 1\n"), None);
        let host = std::fs::read_to_string("/proc/stat").unwrap();
        let (_, cpus) = system_cpu_usage(&host).unwrap();
        assert!(cpus >= 1);
    }

    #[test]
    fn a_real_cgroup_of_this_host() {
        // This host's own hierarchy (v1 on the hybrid test hosts): a fresh cgroup with this
        // test's process in it.
        let path = format!("/berth-stats-unit-{}", std::process::id());
        let h = Hierarchy::host();
        let dirs = super::super::dirs(&path);
        for d in &dirs {
            std::fs::create_dir_all(d).unwrap();
        }
        // It waits for a line on stdin before its loop, so that the CPU it burns is spent in
        // the cgroup whatever the moves into each hierarchy cost.
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg("read go; i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; sleep 5")
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        for d in &dirs {
            let _ = std::fs::write(d.join("cgroup.procs"), child.id().to_string());
        }
        {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(b"go\n").unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
        let u = read(&h, &path);
        super::super::kill_all(&path, std::time::Duration::from_secs(10)).unwrap();
        child.wait().unwrap();
        super::super::remove(&path).unwrap();
        let u = u.unwrap();
        assert!(u.cpu.total > 0, "{u:?}");
        assert!(u.memory.usage > 0, "{u:?}");
        assert!(u.pids.current >= 1, "{u:?}");
    }
}
