//! What berth does with cgroups itself (the runtime — libcontainer, runc — creates and fills
//! them): the OOM-kill counter behind `State.OOMKilled`, resource usage for `docker stats`
//! ([`stats`]), new limits for `docker update` ([`resources`]), and removal of a container's
//! cgroup (and of test parents), on cgroup v1, hybrid and v2 hosts. Freezing is
//! [`crate::freezer`]'s.
//!
//! A **cgroup path** is the spec's `linux.cgroupsPath`, e.g. `/berth/<id>`: on v1 it exists under
//! every controller's hierarchy (`/sys/fs/cgroup/<ctrl>/berth/<id>`), on v2 once under
//! `/sys/fs/cgroup`.

pub mod resources;
pub mod stats;

use std::path::{Path, PathBuf};

const ROOT: &str = "/sys/fs/cgroup";

/// Whether the host uses only the unified (v2) hierarchy.
pub fn is_v2_only() -> bool {
    Path::new(ROOT).join("cgroup.controllers").exists()
}

fn rel(path: &str) -> &str {
    path.trim_start_matches('/')
}

/// Every directory the cgroup path occupies on this host (existing or not).
pub fn dirs(path: &str) -> Vec<PathBuf> {
    if is_v2_only() {
        return vec![Path::new(ROOT).join(rel(path))];
    }
    let Ok(entries) = std::fs::read_dir(ROOT) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path().join(rel(path)))
        .collect()
}

/// How many processes of the cgroup the kernel's OOM killer has killed (v1
/// `memory.oom_control`'s `oom_kill`, v2 `memory.events`' `oom_kill`). `None` when the cgroup
/// or the counter is absent. Read it before the cgroup is deleted.
pub fn oom_kill_count(path: &str) -> Option<u64> {
    let file = if is_v2_only() {
        Path::new(ROOT).join(rel(path)).join("memory.events")
    } else {
        Path::new(ROOT)
            .join("memory")
            .join(rel(path))
            .join("memory.oom_control")
    };
    let text = std::fs::read_to_string(file).ok()?;
    text.lines().find_map(|l| {
        l.strip_prefix("oom_kill ")
            .and_then(|n| n.trim().parse().ok())
    })
}

/// Turns the OOM killer off for the cgroup `path` (v1 `memory.oom_control`): libcontainer
/// leaves it on whatever the spec says. cgroup v2 has no such switch.
pub fn disable_oom_killer(path: &str) -> std::io::Result<()> {
    let file = Path::new(ROOT)
        .join("memory")
        .join(rel(path))
        .join("memory.oom_control");
    std::fs::write(&file, "1")
        .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", file.display())))
}

/// Whether the cgroup `path` exists in any hierarchy of this host.
pub fn exists(path: &str) -> bool {
    dirs(path).iter().any(|d| d.exists())
}

/// The host pids of every process in the cgroup `path` (every hierarchy, children included),
/// sorted and without duplicates. Exited processes are not listed, even before they are
/// reaped.
pub fn procs(path: &str) -> Vec<i32> {
    let mut out = Vec::new();
    for dir in dirs(path) {
        collect_procs(&dir, &mut out);
    }
    out.sort_unstable();
    out.dedup();
    out
}

fn collect_procs(dir: &Path, out: &mut Vec<i32>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    if let Ok(text) = std::fs::read_to_string(dir.join("cgroup.procs")) {
        out.extend(text.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
    }
    for e in entries.flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            collect_procs(&e.path(), out);
        }
    }
}

/// Kills every process of the cgroup `path` and waits until none is left, at most `limit`.
///
/// On cgroup v2 the kernel does it (`cgroup.kill`, Linux 5.14). Otherwise the cgroup is frozen
/// so that nothing forks between reading its tasks and signalling them, each task gets
/// SIGKILL, and it is thawed (a frozen task dies of SIGKILL once thawed); a hierarchy without a
/// freezer is signalled round after round instead. This is what makes a container whose shim
/// was killed stop for good: its processes are no longer anybody's children the daemon knows.
pub fn kill_all(path: &str, limit: std::time::Duration) -> std::io::Result<()> {
    let deadline = std::time::Instant::now() + limit;
    loop {
        let pids = procs(path);
        if pids.is_empty() {
            return Ok(());
        }
        if std::time::Instant::now() >= deadline {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("cgroup {path} still has processes {pids:?} after SIGKILL"),
            ));
        }
        let kill_file = Path::new(ROOT).join(rel(path)).join("cgroup.kill");
        if is_v2_only() && kill_file.exists() {
            std::fs::write(&kill_file, "1")?;
        } else {
            let frozen = crate::freezer::freeze(path).is_ok();
            for pid in procs(path) {
                // ESRCH: it exited meanwhile, which is what we want.
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            if frozen {
                let _ = crate::freezer::thaw(path);
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

/// Removes the cgroup `path` in every hierarchy, children first. Missing directories are fine;
/// a cgroup that still has processes cannot be removed and is reported.
pub fn remove(path: &str) -> std::io::Result<()> {
    let mut first_err = None;
    for dir in dirs(path) {
        if let Err(e) = remove_tree(&dir) {
            first_err.get_or_insert(e);
        }
    }
    first_err.map_or(Ok(()), Err)
}

fn remove_tree(dir: &Path) -> std::io::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for e in entries.flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            remove_tree(&e.path())?;
        }
    }
    // cgroupfs directories are removed with rmdir even though they list control files. A
    // process that is still exiting keeps the cgroup busy for a moment: retry, bounded.
    let mut tries = 0;
    loop {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && tries < 200 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Starts, ahead of time, the wait that the next move of a process into a cgroup would make.
///
/// Moving a process into a cgroup (writing its `cgroup.procs`, which the runtime's intermediate
/// process does for every container start and exec) takes the kernel's cgroup threadgroup lock
/// for writing. Unless another move took it within about the last grace period, that first
/// waits out an RCU grace period (the lock's `rcu_sync`): 10–25 ms on this 2-core host, the
/// largest single cost of a container start. Called when a start begins, this moves berthd
/// into the cgroup it is already in — a move of nothing, which starts that grace period now,
/// on the caller's thread, so that it elapses while the rootfs is mounted and the shim spawned,
/// and the runtime's move finds it over. Hosts whose cgroupfs is mounted with `favordynmods`
/// never wait; there this costs a few microseconds.
///
/// Blocking (it sleeps through the grace period): call it from a thread that may wait. One
/// call at a time does anything, since one grace period serves every start that overlaps it.
/// A host where berthd cannot write its own cgroup (a read-only cgroupfs) turns this off.
/// Returns whether the move was made.
pub fn prime_migration() -> bool {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::OnceLock;
    static OWN: OnceLock<Option<PathBuf>> = OnceLock::new();
    static IN_FLIGHT: AtomicBool = AtomicBool::new(false);
    static OFF: AtomicBool = AtomicBool::new(false);
    if OFF.load(Ordering::Relaxed) || IN_FLIGHT.swap(true, Ordering::AcqRel) {
        return false;
    }
    let own = OWN.get_or_init(|| {
        let text = std::fs::read_to_string("/proc/self/cgroup").ok()?;
        own_procs_file(&text, is_v2_only())
    });
    let written = own
        .as_deref()
        .map(|file| std::fs::write(file, "0").map_err(|e| (file, e)));
    let moved = match written {
        Some(Ok(())) => true,
        Some(Err((file, e))) => {
            tracing::debug!(file = %file.display(), error = %e, "cgroup move priming off");
            OFF.store(true, Ordering::Relaxed);
            false
        }
        None => {
            OFF.store(true, Ordering::Relaxed);
            false
        }
    };
    IN_FLIGHT.store(false, Ordering::Release);
    moved
}

/// The `cgroup.procs` of the cgroup that `/proc/self/cgroup` (`text`) puts this process in:
/// the unified hierarchy's (`0::/path`; under `unified/` on a hybrid host), else the first v1
/// hierarchy's that exists.
fn own_procs_file(text: &str, v2_only: bool) -> Option<PathBuf> {
    let mut v1 = None;
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(ctrls), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let file = if ctrls.is_empty() {
            let base = match v2_only {
                true => Path::new(ROOT).to_path_buf(),
                false => Path::new(ROOT).join("unified"),
            };
            base.join(rel(path)).join("cgroup.procs")
        } else {
            let hierarchy = ctrls.strip_prefix("name=").unwrap_or(ctrls);
            Path::new(ROOT)
                .join(hierarchy)
                .join(rel(path))
                .join("cgroup.procs")
        };
        if !file.exists() {
            continue;
        }
        if ctrls.is_empty() {
            return Some(file);
        }
        v1.get_or_insert(file);
    }
    v1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_cgroup_is_found_in_the_unified_hierarchy_first() {
        let text = std::fs::read_to_string("/proc/self/cgroup").unwrap();
        let file = own_procs_file(&text, is_v2_only()).expect("this process's cgroup.procs");
        let pids = std::fs::read_to_string(&file).unwrap();
        let me = std::process::id().to_string();
        assert!(
            pids.lines().any(|l| l == me),
            "{} lacks {me}",
            file.display()
        );
        let unified = text.lines().any(|l| l.starts_with("0::"));
        let v2_root = if is_v2_only() {
            ROOT.to_string()
        } else {
            format!("{ROOT}/unified")
        };
        if unified && Path::new(&v2_root).join("cgroup.procs").exists() {
            assert!(file.starts_with(&v2_root), "{}", file.display());
        }
        // A v1-only listing falls back to a hierarchy that exists; nonsense finds nothing.
        assert!(own_procs_file("garbage\n9:nonexistent-ctrl:/x", false).is_none());
    }

    #[test]
    fn priming_a_move_leaves_the_process_where_it_was() {
        let before = std::fs::read_to_string("/proc/self/cgroup").unwrap();
        assert!(
            prime_migration(),
            "berthd can move itself into its own cgroup here"
        );
        assert_eq!(
            std::fs::read_to_string("/proc/self/cgroup").unwrap(),
            before
        );
    }

    #[test]
    fn dirs_cover_each_hierarchy() {
        let d = dirs("/berth-unit/x");
        assert!(!d.is_empty());
        assert!(d.iter().all(|p| p.ends_with("berth-unit/x")));
        if !is_v2_only() {
            assert!(d.iter().any(|p| p.starts_with("/sys/fs/cgroup/memory")));
        }
    }

    #[test]
    fn kill_all_empties_a_cgroup_even_of_forking_processes() {
        let path = format!("/berth-unit-kill-{}", std::process::id());
        let dirs = dirs(&path);
        for d in &dirs {
            std::fs::create_dir_all(d).unwrap();
        }
        // A shell that keeps forking sleepers, in every hierarchy of the cgroup. It waits for
        // a line on stdin before its first fork, so that no sleeper starts outside the cgroup.
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg("read go; while :; do sleep 100 & done")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        for d in &dirs {
            let _ = std::fs::write(d.join("cgroup.procs"), child.id().to_string());
        }
        {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(b"go\n").unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(procs(&path).len() > 1, "{:?}", procs(&path));
        kill_all(&path, std::time::Duration::from_secs(10)).unwrap();
        assert!(procs(&path).is_empty());
        let _ = child.wait();
        assert!(exists(&path));
        remove(&path).unwrap();
        assert!(!exists(&path));
        assert!(
            kill_all(&path, std::time::Duration::ZERO).is_ok(),
            "a missing cgroup is empty"
        );
    }

    #[test]
    fn create_read_and_remove_a_cgroup() {
        let path = format!("/berth-unit-{}/leaf", std::process::id());
        let mem = if is_v2_only() {
            Path::new(ROOT).join(rel(&path))
        } else {
            Path::new(ROOT).join("memory").join(rel(&path))
        };
        std::fs::create_dir_all(&mem).unwrap();
        assert_eq!(oom_kill_count(&path), Some(0));
        remove(&format!("/berth-unit-{}", std::process::id())).unwrap();
        assert!(!mem.exists());
        assert_eq!(oom_kill_count(&path), None);
    }
}
