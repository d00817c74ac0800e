//! The shim's lock: `shim.pid`, which holds the shim's pid, is locked (flock) by the shim for its
//! whole life, so that whoever comes after it — the next shim of a restarted container, the
//! daemon removing the state dir — waits until it has finished its cleanup (libcontainer state,
//! cgroup), which it does after answering `wait`. One file for both saves an inode per start.
//!
//! Shims of berth before this layout locked a separate `shim.lock`; it is waited for too while
//! it exists, so a daemon or shim upgraded under a live container still waits for its cleanup.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

/// The lock file in a shim's state dir, which holds the shim's pid once it has forked.
pub const LOCK_FILE: &str = super::PID_FILE;
/// The lock file of shims before the pid file was the lock.
const LEGACY_LOCK_FILE: &str = "shim.lock";

/// The guard of a shim's lock.
pub type Guard = Flock<File>;

/// Takes the lock of `state_dir` (creating the file, emptied once locked), waiting at most
/// `limit` for a previous holder to exit. The lock lasts as long as the returned guard (and the
/// process's forks).
pub fn acquire(state_dir: &Path, limit: Duration) -> std::io::Result<Guard> {
    let deadline = Instant::now() + limit;
    if !wait_file_released(&state_dir.join(LEGACY_LOCK_FILE), limit) {
        return Err(Errno::EWOULDBLOCK.into());
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(state_dir.join(LOCK_FILE))?;
    let mut pause = Backoff::default();
    loop {
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(guard) => {
                // The previous shim's pid is not ours.
                guard.set_len(0)?;
                return Ok(guard);
            }
            Err((f, Errno::EWOULDBLOCK)) if Instant::now() < deadline => {
                file = f;
                pause.sleep();
            }
            Err((_, e)) => return Err(e.into()),
        }
    }
}

/// Writes `pid` into the locked file (the shim's pid, once it has forked).
pub fn record_pid(guard: &Guard, pid: u32) -> std::io::Result<()> {
    let file: &File = guard;
    file.set_len(0)?;
    file.write_all_at(pid.to_string().as_bytes(), 0)
}

/// Pauses between tries: a shim's cleanup usually ends within a millisecond, so the first
/// pauses are short: 50 µs, doubling up to 800 µs.
#[derive(Default)]
struct Backoff(u32);

impl Backoff {
    fn sleep(&mut self) {
        std::thread::sleep(Duration::from_micros(50 << self.0.min(4)));
        self.0 += 1;
    }
}

/// Waits (at most `limit`) until no shim holds the lock of `state_dir`; true when none does
/// (or there is no lock file: no shim ever ran there, or the dir is gone).
pub fn wait_released(state_dir: &Path, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    wait_file_released(&state_dir.join(LEGACY_LOCK_FILE), limit)
        && wait_file_released(
            &state_dir.join(LOCK_FILE),
            deadline.saturating_duration_since(Instant::now()),
        )
}

/// Waits (at most `limit`) until nobody holds `path`'s flock; true when nobody does or the
/// file does not exist.
fn wait_file_released(path: &Path, limit: Duration) -> bool {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(_) => return true,
    };
    let deadline = Instant::now() + limit;
    let mut file = file;
    let mut pause = Backoff::default();
    loop {
        match Flock::lock(file, FlockArg::LockSharedNonblock) {
            Ok(_) => return true,
            Err((f, Errno::EWOULDBLOCK)) if Instant::now() < deadline => {
                file = f;
                pause.sleep();
            }
            Err(_) => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_is_waited_for_and_released_with_its_guard() {
        let d = tempfile::tempdir().unwrap();
        assert!(wait_released(d.path(), Duration::ZERO), "no lock file");
        let guard = acquire(d.path(), Duration::ZERO).unwrap();
        assert!(!wait_released(d.path(), Duration::from_millis(20)));
        assert!(acquire(d.path(), Duration::from_millis(20)).is_err());
        drop(guard);
        assert!(wait_released(d.path(), Duration::ZERO));
        assert!(acquire(d.path(), Duration::ZERO).is_ok());
    }

    #[test]
    fn the_lock_file_holds_the_pid_of_its_holder_only() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join(LOCK_FILE), "4242").unwrap();
        let guard = acquire(d.path(), Duration::ZERO).unwrap();
        let pid = || std::fs::read_to_string(d.path().join(LOCK_FILE)).unwrap();
        assert_eq!(pid(), "", "a previous holder's pid is cleared");
        record_pid(&guard, 12345).unwrap();
        assert_eq!(pid(), "12345");
        record_pid(&guard, 7).unwrap();
        assert_eq!(pid(), "7", "rewritten whole");
    }

    #[test]
    fn a_legacy_lock_of_an_older_shim_is_waited_for() {
        let d = tempfile::tempdir().unwrap();
        let old = File::create(d.path().join(LEGACY_LOCK_FILE)).unwrap();
        let held = Flock::lock(old, FlockArg::LockExclusiveNonblock).unwrap();
        assert!(!wait_released(d.path(), Duration::from_millis(20)));
        assert!(acquire(d.path(), Duration::from_millis(20)).is_err());
        drop(held);
        assert!(wait_released(d.path(), Duration::ZERO));
        assert!(acquire(d.path(), Duration::ZERO).is_ok());
    }
}
