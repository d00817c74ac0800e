//! The calling process's own children: listing them and disposing of strays.
//!
//! libcontainer's tenant path leaves its intermediate and init processes behind as children
//! of the caller when starting an exec fails (it returns the error before reaping them); the
//! shim lists its children, keeps the ones it knows, and kills and reaps the rest.

use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

/// The pids of this process's children (`/proc/self/task/<tid>/children` of every thread,
/// or a scan of `/proc` for our ppid where the kernel lacks `CONFIG_PROC_CHILDREN`). Exited
/// but unreaped children are included.
pub fn own_children() -> Vec<i32> {
    let me = std::process::id() as i32;
    let mut out = Vec::new();
    let mut listed = false;
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for t in tasks.flatten() {
            if let Ok(s) = std::fs::read_to_string(t.path().join("children")) {
                listed = true;
                out.extend(s.split_whitespace().filter_map(|p| p.parse::<i32>().ok()));
            }
        }
    }
    if !listed {
        out = scan_proc_for_parent(me);
    }
    out.sort_unstable();
    out.dedup();
    out
}

fn scan_proc_for_parent(parent: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| {
                    // The command name may hold spaces and parentheses: fields follow the last ')'.
                    let rest = &s[s.rfind(')')? + 1..];
                    rest.split_whitespace().nth(1)?.parse::<i32>().ok()
                })
                == Some(parent)
        })
        .collect()
}

/// Kills (SIGKILL) and reaps each child of this process not in `keep`, waiting at most
/// `timeout` in all. Returns how many were reaped.
pub fn reap_strays(keep: &[i32], timeout: Duration) -> usize {
    let strays: Vec<i32> = own_children()
        .into_iter()
        .filter(|p| !keep.contains(p))
        .collect();
    kill_and_reap(&strays, timeout)
}

/// Kills and reaps the given children of this process, waiting at most `timeout` in all.
fn kill_and_reap(pids: &[i32], timeout: Duration) -> usize {
    let deadline = Instant::now() + timeout;
    let mut reaped = 0;
    for &pid in pids {
        let pid = Pid::from_raw(pid);
        // Our unreaped child: the pid cannot have been reused.
        let _ = kill(pid, Signal::SIGKILL);
        loop {
            match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(2));
                }
                Ok(WaitStatus::StillAlive) => break,
                Ok(_) => {
                    reaped += 1;
                    break;
                }
                Err(_) => break,
            }
        }
    }
    reaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_are_listed_and_strays_killed_and_reaped() {
        let mut keep = std::process::Command::new("sleep")
            .arg("100")
            .spawn()
            .unwrap();
        // Reaped by `kill_and_reap`, not by `Child::wait`.
        #[allow(clippy::zombie_processes)]
        let stray = std::process::Command::new("sleep")
            .arg("100")
            .spawn()
            .unwrap();
        let kids = own_children();
        assert!(kids.contains(&(keep.id() as i32)) && kids.contains(&(stray.id() as i32)));
        let scanned = scan_proc_for_parent(std::process::id() as i32);
        assert!(scanned.contains(&(keep.id() as i32)) && scanned.contains(&(stray.id() as i32)));
        // Other tests of this binary may have children: only the stray is named here.
        assert_eq!(
            kill_and_reap(&[stray.id() as i32], Duration::from_secs(5)),
            1
        );
        assert!(!own_children().contains(&(stray.id() as i32)));
        assert!(crate::sys::process_alive(keep.id() as i32));
        keep.kill().unwrap();
        keep.wait().unwrap();
    }
}
