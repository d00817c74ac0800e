//! `shim.lock`: held by a shim for its whole life, so that whoever comes after it — the next
//! shim of a restarted container, the daemon removing the state dir — waits until it has
//! finished its cleanup (libcontainer state, cgroup), which it does after answering `wait`.

use std::fs::File;
use std::path::Path;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

/// The lock file in a shim's state dir.
pub const LOCK_FILE: &str = "shim.lock";

/// Takes the lock of `state_dir` (creating the file), waiting at most `limit` for a previous
/// holder to exit. The lock lasts as long as the returned guard (and the process's forks).
pub fn acquire(state_dir: &Path, limit: Duration) -> std::io::Result<Flock<File>> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(state_dir.join(LOCK_FILE))?;
    let deadline = Instant::now() + limit;
    let mut pause = Backoff::default();
    loop {
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(guard) => return Ok(guard),
            Err((f, Errno::EWOULDBLOCK)) if Instant::now() < deadline => {
                file = f;
                pause.sleep();
            }
            Err((_, e)) => return Err(e.into()),
        }
    }
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
    let file = match File::open(state_dir.join(LOCK_FILE)) {
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
}
