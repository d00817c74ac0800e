//! Running a client under a real pseudo-terminal, as a user at a terminal would: the child
//! gets a new session with the pty as its controlling terminal.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::pty::{openpty, Winsize};

/// A child process whose stdio is a pty; the test holds the master side.
pub struct PtyChild {
    master: File,
    pub child: Child,
    seen: Vec<u8>,
}

impl PtyChild {
    /// Spawns `cmd` with a fresh 24x80 pty as stdin, stdout, stderr and controlling terminal.
    pub fn spawn(mut cmd: Command) -> Result<PtyChild> {
        let ws = Winsize {
            ws_row: 24,
            ws_col: 80,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let pty = openpty(Some(&ws), None).context("openpty")?;
        let slave: OwnedFd = pty.slave;
        cmd.stdin(Stdio::from(slave.try_clone()?))
            .stdout(Stdio::from(slave.try_clone()?))
            .stderr(Stdio::from(slave));
        // SAFETY: between fork and exec we only call async-signal-safe setsid and ioctl.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().context("spawn under pty")?;
        Ok(PtyChild {
            master: File::from(pty.master),
            child,
            seen: Vec::new(),
        })
    }

    /// Types `s` at the terminal.
    pub fn send(&mut self, s: &str) -> Result<()> {
        self.master.write_all(s.as_bytes())?;
        Ok(())
    }

    /// Reads until the output seen so far contains `needle`, or fails after `timeout`.
    pub fn expect(&mut self, needle: &str, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            if String::from_utf8_lossy(&self.seen).contains(needle) {
                return Ok(());
            }
            if !self.read_some(deadline)? {
                bail!(
                    "did not see {needle:?}; output so far: {:?}",
                    String::from_utf8_lossy(&self.seen)
                );
            }
        }
    }

    /// Everything read so far.
    pub fn output(&self) -> String {
        String::from_utf8_lossy(&self.seen).into_owned()
    }

    fn read_some(&mut self, deadline: Instant) -> Result<bool> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(false);
        }
        let ms = left.as_millis().min(i32::MAX as u128) as i32;
        let mut fds = [PollFd::new(self.master.as_fd(), PollFlags::POLLIN)];
        let n = poll(
            &mut fds,
            PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX),
        )?;
        if n == 0 {
            return Ok(false);
        }
        let mut buf = [0u8; 4096];
        match self.master.read(&mut buf) {
            Ok(0) => Ok(false),
            Ok(n) => {
                self.seen.extend_from_slice(&buf[..n]);
                Ok(true)
            }
            // EIO: the child side closed.
            Err(_) => Ok(false),
        }
    }

    /// Waits for the child to exit (bounded), draining the terminal meanwhile.
    pub fn wait(&mut self, timeout: Duration) -> Result<i32> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(st) = self.child.try_wait()? {
                // What the child wrote just before exiting may still be in the pty: drain it.
                let drain_until = Instant::now() + Duration::from_millis(500);
                while self.read_some(drain_until)? {}
                return Ok(st.code().unwrap_or(-1));
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                bail!(
                    "client did not exit in {timeout:?}; output: {:?}",
                    self.output()
                );
            }
            let _ = self.read_some(Instant::now() + Duration::from_millis(50));
        }
    }

    /// The raw fd of the master (for window-size changes).
    pub fn master_fd(&self) -> i32 {
        self.master.as_raw_fd()
    }
}

impl Drop for PtyChild {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
