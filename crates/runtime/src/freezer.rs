//! Freezing a container's processes through its cgroup, as `docker commit` does by default so
//! the files it snapshots are not being written meanwhile: the v1 `freezer` controller's
//! `freezer.state` (`FROZEN`/`THAWED`), or cgroup v2's `cgroup.freeze` with `cgroup.events`
//! reporting `frozen 1` once every task has stopped.
//!
//! The cgroup path is the spec's `linux.cgroupsPath` (see [`crate::cgroup`]).

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

const ROOT: &str = "/sys/fs/cgroup";
/// How long freezing may take before it is given up (the tasks are thawed again).
const FREEZE_TIMEOUT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(2);

enum Control {
    V1(PathBuf),
    V2(PathBuf),
}

fn control(path: &str) -> Control {
    let rel = path.trim_start_matches('/');
    if crate::cgroup::is_v2_only() {
        Control::V2(Path::new(ROOT).join(rel))
    } else {
        Control::V1(Path::new(ROOT).join("freezer").join(rel))
    }
}

fn ctx(e: io::Error, file: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", file.display()))
}

fn frozen(c: &Control) -> io::Result<bool> {
    match c {
        Control::V1(dir) => {
            let f = dir.join("freezer.state");
            let s = std::fs::read_to_string(&f).map_err(|e| ctx(e, &f))?;
            Ok(s.trim() == "FROZEN")
        }
        Control::V2(dir) => {
            let f = dir.join("cgroup.events");
            let s = std::fs::read_to_string(&f).map_err(|e| ctx(e, &f))?;
            Ok(s.lines().any(|l| l.trim() == "frozen 1"))
        }
    }
}

fn set(c: &Control, freeze: bool) -> io::Result<()> {
    let (file, value) = match c {
        Control::V1(dir) => (
            dir.join("freezer.state"),
            if freeze { "FROZEN" } else { "THAWED" },
        ),
        Control::V2(dir) => (dir.join("cgroup.freeze"), if freeze { "1" } else { "0" }),
    };
    std::fs::write(&file, value).map_err(|e| ctx(e, &file))
}

/// Freezes every process of the cgroup `path` and waits until the kernel reports them
/// frozen. On failure (including a timeout) the cgroup is thawed again.
pub fn freeze(path: &str) -> io::Result<()> {
    let c = control(path);
    set(&c, true)?;
    let mut waited = Duration::ZERO;
    loop {
        match frozen(&c) {
            Ok(true) => return Ok(()),
            Ok(false) if waited < FREEZE_TIMEOUT => {
                // v1 reports FREEZING while tasks are being stopped; asking again retries
                // the ones that could not be frozen yet.
                if let Control::V1(_) = c {
                    let _ = set(&c, true);
                }
                std::thread::sleep(POLL);
                waited += POLL;
            }
            Ok(false) => {
                let _ = set(&c, false);
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("cgroup {path} did not freeze within {FREEZE_TIMEOUT:?}"),
                ));
            }
            Err(e) => {
                let _ = set(&c, false);
                return Err(e);
            }
        }
    }
}

/// Thaws the cgroup `path` (a cgroup that is not frozen is left as it is).
pub fn thaw(path: &str) -> io::Result<()> {
    set(&control(path), false)
}

/// Whether the cgroup `path` is frozen now.
pub fn is_frozen(path: &str) -> io::Result<bool> {
    frozen(&control(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A process in a fresh cgroup stops advancing while frozen and goes on once thawed.
    #[test]
    fn freeze_stops_and_thaw_resumes_a_process() {
        let path = format!("/berth-freezer-unit-{}", std::process::id());
        let dir = match control(&path) {
            Control::V1(d) | Control::V2(d) => d,
        };
        std::fs::create_dir_all(&dir).unwrap();
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg("while :; do :; done")
            .spawn()
            .unwrap();
        let procs = dir.join("cgroup.procs");
        std::fs::write(&procs, child.id().to_string()).unwrap();
        let state = || {
            std::fs::read_to_string(format!("/proc/{}/stat", child.id()))
                .unwrap()
                .rsplit(')')
                .next()
                .unwrap()
                .split_whitespace()
                .next()
                .unwrap()
                .to_string()
        };
        freeze(&path).unwrap();
        assert!(is_frozen(&path).unwrap());
        // Frozen tasks sleep in the freezer (state D or S), never run.
        assert_ne!(state(), "R");
        thaw(&path).unwrap();
        assert!(!is_frozen(&path).unwrap());
        child.kill().unwrap();
        child.wait().unwrap();
        crate::cgroup::remove(&path).unwrap();
    }
}
