//! Changing the limits of a running container's cgroup (`docker update`): memory, swap,
//! reservation, CPU shares, CFS quota and period, cpusets, pids and the block I/O weight, on
//! cgroup v1 (one file per controller) and v2 (the unified files, with dockerd's
//! conversions: shares → `cpu.weight`, memory+swap → `memory.swap.max`).
//!
//! Only the fields set in [`Update`] are written. On v1 the memory limit and the memory+swap
//! limit are written in the order the kernel accepts (the memory limit may never exceed the
//! memory+swap one).

use std::io;
use std::path::Path;

use super::stats::Hierarchy;

/// The limits to change; `None` leaves a limit as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Update {
    /// Bytes; -1 unlimited.
    pub memory: Option<i64>,
    /// Memory plus swap in bytes; -1 unlimited.
    pub memory_swap: Option<i64>,
    /// Soft limit in bytes.
    pub memory_reservation: Option<i64>,
    /// Relative weight (2–262144).
    pub cpu_shares: Option<u64>,
    /// CFS quota in µs; -1 unlimited.
    pub cpu_quota: Option<i64>,
    /// CFS period in µs.
    pub cpu_period: Option<u64>,
    pub cpuset_cpus: Option<String>,
    pub cpuset_mems: Option<String>,
    /// 0 or -1 unlimited.
    pub pids_limit: Option<i64>,
    /// 10–1000.
    pub blkio_weight: Option<u16>,
}

fn write(dir: &Path, file: &str, value: &str) -> io::Result<()> {
    let p = dir.join(file);
    std::fs::write(&p, value).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("writing {value:?} to {}: {e}", p.display()),
        )
    })
}

fn read_i64(dir: &Path, file: &str) -> Option<i64> {
    let s = std::fs::read_to_string(dir.join(file)).ok()?;
    match s.trim() {
        "max" => Some(-1),
        t => t.parse().ok(),
    }
}

/// dockerd's (runc's) conversion of CPU shares (2–262144) to a v2 weight (1–10000).
pub fn shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    1 + (shares.clamp(2, 262_144) - 2) * 9999 / 262_142
}

/// Applies `u` to cgroup `path`.
pub fn apply(h: &Hierarchy, path: &str, u: &Update) -> io::Result<()> {
    match h {
        Hierarchy::V1 { .. } => apply_v1(h, path, u),
        Hierarchy::V2 { .. } => apply_v2(&h.dir("", path), u),
    }
}

fn limit(v: i64) -> String {
    if v < 0 {
        "-1".into()
    } else {
        v.to_string()
    }
}

fn apply_v1(h: &Hierarchy, path: &str, u: &Update) -> io::Result<()> {
    let mem = h.dir("memory", path);
    // Without swap accounting there is no memsw file: dockerd drops the swap limit then.
    let swap = u
        .memory_swap
        .filter(|_| mem.join("memory.memsw.limit_in_bytes").exists());
    match (u.memory, swap) {
        (Some(m), Some(s)) => {
            // The memory limit may never exceed memory+swap: raise memsw first when growing.
            let current_memsw = read_i64(&mem, "memory.memsw.limit_in_bytes");
            let grows = s < 0 || current_memsw.is_some_and(|c| c >= 0 && s > c);
            if grows {
                write(&mem, "memory.memsw.limit_in_bytes", &limit(s))?;
                write(&mem, "memory.limit_in_bytes", &limit(m))?;
            } else {
                write(&mem, "memory.limit_in_bytes", &limit(m))?;
                write(&mem, "memory.memsw.limit_in_bytes", &limit(s))?;
            }
        }
        (Some(m), None) => write(&mem, "memory.limit_in_bytes", &limit(m))?,
        (None, Some(s)) => write(&mem, "memory.memsw.limit_in_bytes", &limit(s))?,
        (None, None) => {}
    }
    if let Some(r) = u.memory_reservation {
        write(&mem, "memory.soft_limit_in_bytes", &limit(r))?;
    }
    let cpu = h.dir("cpu", path);
    if let Some(s) = u.cpu_shares {
        write(&cpu, "cpu.shares", &s.to_string())?;
    }
    if let Some(p) = u.cpu_period {
        write(&cpu, "cpu.cfs_period_us", &p.to_string())?;
    }
    if let Some(q) = u.cpu_quota {
        write(&cpu, "cpu.cfs_quota_us", &limit(q))?;
    }
    let cpuset = h.dir("cpuset", path);
    if let Some(c) = &u.cpuset_cpus {
        write(&cpuset, "cpuset.cpus", c)?;
    }
    if let Some(m) = &u.cpuset_mems {
        write(&cpuset, "cpuset.mems", m)?;
    }
    if let Some(p) = u.pids_limit {
        let v = if p <= 0 { "max".into() } else { p.to_string() };
        write(&h.dir("pids", path), "pids.max", &v)?;
    }
    if let Some(w) = u.blkio_weight {
        let blkio = h.dir("blkio", path);
        let file = if blkio.join("blkio.weight").exists() {
            "blkio.weight"
        } else {
            "blkio.bfq.weight"
        };
        write(&blkio, file, &w.to_string())?;
    }
    Ok(())
}

fn max_or(v: i64) -> String {
    if v < 0 {
        "max".into()
    } else {
        v.to_string()
    }
}

fn apply_v2(dir: &Path, u: &Update) -> io::Result<()> {
    if let Some(m) = u.memory {
        write(dir, "memory.max", &max_or(m))?;
    }
    if let Some(s) = u.memory_swap {
        // v2 limits swap alone: memory+swap minus memory.
        let swap = match (s, u.memory.or_else(|| read_i64(dir, "memory.max"))) {
            (s, _) if s < 0 => -1,
            (s, Some(m)) if m > 0 => (s - m).max(0),
            (s, _) => s,
        };
        write(dir, "memory.swap.max", &max_or(swap))?;
    }
    if let Some(r) = u.memory_reservation {
        write(dir, "memory.low", &max_or(r))?;
    }
    if let Some(s) = u.cpu_shares {
        write(dir, "cpu.weight", &shares_to_weight(s).to_string())?;
    }
    if u.cpu_quota.is_some() || u.cpu_period.is_some() {
        // `cpu.max` holds both: keep the half that is not changing.
        let current = std::fs::read_to_string(dir.join("cpu.max")).unwrap_or_default();
        let mut parts = current.split_whitespace();
        let (cur_q, cur_p) = (
            parts.next().unwrap_or("max"),
            parts.next().unwrap_or("100000"),
        );
        let q = u.cpu_quota.map_or(cur_q.to_string(), max_or);
        let p = u.cpu_period.map_or(cur_p.to_string(), |p| p.to_string());
        write(dir, "cpu.max", &format!("{q} {p}"))?;
    }
    if let Some(c) = &u.cpuset_cpus {
        write(dir, "cpuset.cpus", c)?;
    }
    if let Some(m) = &u.cpuset_mems {
        write(dir, "cpuset.mems", m)?;
    }
    if let Some(p) = u.pids_limit {
        let v = if p <= 0 { "max".into() } else { p.to_string() };
        write(dir, "pids.max", &v)?;
    }
    if let Some(w) = u.blkio_weight {
        if dir.join("io.weight").exists() {
            write(dir, "io.weight", &format!("default {w}"))?;
        } else {
            write(dir, "io.bfq.weight", &w.to_string())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(p: &Path) -> String {
        std::fs::read_to_string(p).unwrap().trim().to_string()
    }

    /// A v2 cgroup directory made of plain files (the host's v2 mount has no controllers).
    #[test]
    fn v2_writes_dockerds_conversions() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("berth/c1");
        std::fs::create_dir_all(&dir).unwrap();
        for (f, v) in [
            ("memory.max", "max"),
            ("cpu.max", "max 100000"),
            ("io.weight", "default 100"),
        ] {
            std::fs::write(dir.join(f), v).unwrap();
        }
        let h = Hierarchy::V2 {
            root: root.path().to_path_buf(),
        };
        let u = Update {
            memory: Some(64 << 20),
            memory_swap: Some(96 << 20),
            memory_reservation: Some(32 << 20),
            cpu_shares: Some(512),
            cpu_quota: Some(50_000),
            pids_limit: Some(0),
            blkio_weight: Some(300),
            cpuset_cpus: Some("0".into()),
            ..Default::default()
        };
        apply(&h, "/berth/c1", &u).unwrap();
        assert_eq!(read(&dir.join("memory.max")), (64 << 20).to_string());
        assert_eq!(read(&dir.join("memory.swap.max")), (32 << 20).to_string());
        assert_eq!(read(&dir.join("memory.low")), (32 << 20).to_string());
        assert_eq!(read(&dir.join("cpu.weight")), "20");
        assert_eq!(read(&dir.join("cpu.max")), "50000 100000");
        assert_eq!(read(&dir.join("pids.max")), "max");
        assert_eq!(read(&dir.join("io.weight")), "default 300");
        assert_eq!(read(&dir.join("cpuset.cpus")), "0");
        // Only the period: the quota stays.
        apply(
            &h,
            "/berth/c1",
            &Update {
                cpu_period: Some(200_000),
                memory_swap: Some(-1),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(read(&dir.join("cpu.max")), "50000 200000");
        assert_eq!(read(&dir.join("memory.swap.max")), "max");
    }

    #[test]
    fn shares_convert_like_runc() {
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(262_144), 10_000);
    }

    /// The host's real v1 hierarchy: limits land in the kernel's files.
    #[test]
    fn v1_limits_reach_the_kernel() {
        let h = Hierarchy::host();
        if !matches!(h, Hierarchy::V1 { .. }) {
            return; // covered by the v2 test above on a pure v2 host
        }
        let path = format!("/berth-update-unit-{}", std::process::id());
        for d in super::super::dirs(&path) {
            std::fs::create_dir_all(&d).unwrap();
        }
        let u = Update {
            memory: Some(64 << 20),
            memory_swap: Some(128 << 20),
            cpu_shares: Some(512),
            cpu_quota: Some(50_000),
            cpu_period: Some(100_000),
            pids_limit: Some(50),
            ..Default::default()
        };
        let res = apply(&h, &path, &u);
        let mem = h.dir("memory", &path);
        let got = (
            read(&mem.join("memory.limit_in_bytes")),
            read(&h.dir("cpu", &path).join("cpu.shares")),
            read(&h.dir("pids", &path).join("pids.max")),
        );
        // Shrinking: memory first, then memsw.
        let res2 = apply(
            &h,
            &path,
            &Update {
                memory: Some(16 << 20),
                memory_swap: Some(32 << 20),
                ..Default::default()
            },
        );
        let shrunk = read(&mem.join("memory.limit_in_bytes"));
        super::super::remove(&path).unwrap();
        res.unwrap();
        res2.unwrap();
        assert_eq!(
            got,
            ((64 << 20).to_string(), "512".into(), "50".to_string())
        );
        assert_eq!(shrunk, (16 << 20).to_string());
    }
}
