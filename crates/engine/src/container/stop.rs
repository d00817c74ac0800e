//! `stop`, `restart` and `kill`. Stop sends the stop signal, waits up to the timeout for the
//! exit, then sends SIGKILL — without holding the container's mutex while it waits, so the
//! monitor can record the exit. Each signal sent is a `kill` event, as dockerd's; a paused
//! container is thawed after the signal so that it can act on it (a frozen task dies of
//! SIGKILL only once thawed). `kill` with SIGKILL returns once the exit is recorded, so an
//! inspect right after shows the container stopped.

use std::sync::Arc;
use std::time::Duration;

use super::state::Status;
use super::{ContainerService, Observed};
use crate::error::{Error, ErrorKind, Result};

/// How long `kill` with SIGKILL waits for the exit to be recorded.
const KILL_WAIT: Duration = Duration::from_secs(10);

/// Options of stop and restart.
#[derive(Debug, Clone, Default)]
pub struct StopOptions {
    /// Signal name or number; default: the container's `StopSignal`, else SIGTERM.
    pub signal: Option<String>,
    /// Seconds before SIGKILL; default: the container's `StopTimeout`, else 10; -1 waits forever.
    pub timeout: Option<i64>,
}

/// Parses `SIGTERM`, `TERM`, `term` or `15` into a signal number.
pub fn parse_signal(s: &str) -> Result<i32> {
    let t = s.trim();
    if let Ok(n) = t.parse::<i32>() {
        if (1..=64).contains(&n) {
            return Ok(n);
        }
        return Err(Error::invalid(format!("Invalid signal: {s}")));
    }
    let up = t.to_ascii_uppercase();
    let name = up.strip_prefix("SIG").unwrap_or(&up);
    if let Some(rt) = name.strip_prefix("RTMIN") {
        let off: i32 = if rt.is_empty() {
            0
        } else {
            rt.trim_start_matches('+')
                .parse()
                .map_err(|_| Error::invalid(format!("Invalid signal: {s}")))?
        };
        return Ok(libc::SIGRTMIN() + off);
    }
    let sig = match name {
        "HUP" => libc::SIGHUP,
        "INT" => libc::SIGINT,
        "QUIT" => libc::SIGQUIT,
        "ILL" => libc::SIGILL,
        "TRAP" => libc::SIGTRAP,
        "ABRT" | "IOT" => libc::SIGABRT,
        "BUS" => libc::SIGBUS,
        "FPE" => libc::SIGFPE,
        "KILL" => libc::SIGKILL,
        "USR1" => libc::SIGUSR1,
        "SEGV" => libc::SIGSEGV,
        "USR2" => libc::SIGUSR2,
        "PIPE" => libc::SIGPIPE,
        "ALRM" => libc::SIGALRM,
        "TERM" => libc::SIGTERM,
        "STKFLT" => libc::SIGSTKFLT,
        "CHLD" | "CLD" => libc::SIGCHLD,
        "CONT" => libc::SIGCONT,
        "STOP" => libc::SIGSTOP,
        "TSTP" => libc::SIGTSTP,
        "TTIN" => libc::SIGTTIN,
        "TTOU" => libc::SIGTTOU,
        "URG" => libc::SIGURG,
        "XCPU" => libc::SIGXCPU,
        "XFSZ" => libc::SIGXFSZ,
        "VTALRM" => libc::SIGVTALRM,
        "PROF" => libc::SIGPROF,
        "WINCH" => libc::SIGWINCH,
        "IO" | "POLL" => libc::SIGIO,
        "PWR" => libc::SIGPWR,
        "SYS" => libc::SIGSYS,
        _ => return Err(Error::invalid(format!("Invalid signal: {s}"))),
    };
    Ok(sig)
}

impl ContainerService {
    /// Stops a running container; 304 if it is not running.
    #[tracing::instrument(skip(self))]
    pub async fn stop(self: &Arc<Self>, key: &str, opts: StopOptions) -> Result<()> {
        let c = self.get(key)?;
        let view = c.view();
        let signal = match opts
            .signal
            .as_deref()
            .or(view.config.stop_signal.as_deref())
        {
            Some(s) => parse_signal(s)?,
            None => libc::SIGTERM,
        };
        let timeout = opts
            .timeout
            .or(view.config.stop_timeout)
            .unwrap_or(self.cfg.default_stop_timeout);
        let mut rx = c.observe();
        let exits_before = rx.borrow().exits;
        {
            let mut inner = c.inner.lock().await;
            if inner.record.state.status() == Status::Restarting && inner.shim.is_none() {
                // Waiting out a restart back-off: stopping cancels the restart.
                inner.record.stopped_by_user = true;
                inner.record.state.cancel_restart();
                let rec = inner.record.clone();
                drop(inner);
                self.persist(&c, &rec).await?;
                return Ok(());
            }
            if !inner.record.state.status().is_running() {
                return Err(Error::NotModified(c.id.clone(), "stopped"));
            }
            inner.record.stopped_by_user = true;
            if let Some(shim) = inner.shim.clone() {
                // An error here means the process is already gone: the exit is on its way.
                match shim.kill(signal).await {
                    Ok(()) => self.publish_kill(&inner.record, signal),
                    Err(e) => tracing::debug!(container_id = %c.id, error = %e, "stop signal"),
                }
            }
        }
        self.resume_if_paused(&c).await?;
        let exited = |o: &Observed| o.exits > exits_before || o.removed;
        if timeout >= 0 {
            let exited_in_time = tokio::time::timeout(
                Duration::from_secs(timeout as u64),
                rx.wait_for(|o| exited(o)),
            )
            .await
            .is_ok();
            if exited_in_time {
                self.publish(&c.view(), "stop");
                return Ok(());
            }
            tracing::info!(container_id = %c.id, timeout, "container did not stop in time; sending SIGKILL");
            match self.signal(&c.id, libc::SIGKILL).await {
                // Not running any more: it exited while we waited, which is what we wanted.
                Ok(()) | Err(Error::Conflict(_)) => {}
                Err(e) => return Err(e),
            }
        }
        // After SIGKILL the exit is a matter of the kernel reaping; bound it anyway.
        let _ = tokio::time::timeout(Duration::from_secs(60), rx.wait_for(|o| exited(o)))
            .await
            .is_ok();
        self.publish(&c.view(), "stop");
        Ok(())
    }

    /// Stops (if running) and starts again.
    pub async fn restart(self: &Arc<Self>, key: &str, opts: StopOptions) -> Result<()> {
        match self.stop(key, opts).await {
            Ok(()) | Err(Error::NotModified(..)) => {}
            Err(e) => return Err(e),
        }
        self.start(key).await?;
        self.publish(&self.get(key)?.view(), "restart");
        Ok(())
    }

    /// Sends a signal (default SIGKILL) to a running container's process; with SIGKILL,
    /// returns once the exit is recorded (at most [`KILL_WAIT`]), as dockerd does.
    #[tracing::instrument(skip(self))]
    pub async fn kill(self: &Arc<Self>, key: &str, signal: Option<&str>) -> Result<()> {
        let c = self.get(key)?;
        let sig = match signal {
            Some(s) => parse_signal(s)?,
            None => libc::SIGKILL,
        };
        let mut rx = c.observe();
        let exits_before = rx.borrow().exits;
        self.signal(&c.id, sig).await?;
        if sig == libc::SIGKILL {
            let exited = tokio::time::timeout(
                KILL_WAIT,
                rx.wait_for(|o| o.exits > exits_before || o.removed || !o.status.is_running()),
            )
            .await;
            if exited.is_err() {
                return Err(Error::Conflict(format!(
                    "tried to kill container {}, but did not receive an exit event",
                    c.id
                )));
            }
        }
        Ok(())
    }

    /// The `kill` event of a signal sent to a container.
    fn publish_kill(&self, r: &super::record::ContainerRecord, sig: i32) {
        self.publish_with(r, "kill", &[("signal", sig.to_string())]);
    }

    /// Signals a running (or paused: it is thawed after) container's init and emits `kill`.
    pub(crate) async fn signal(self: &Arc<Self>, id: &str, sig: i32) -> Result<()> {
        let c = self.get(id)?;
        let not_running = || Error::Conflict(format!("Container {} is not running", c.id));
        let (shim, record) = {
            let inner = c.inner.lock().await;
            let status = inner.record.state.status();
            if status != Status::Running && status != Status::Paused {
                return Err(not_running());
            }
            (inner.shim.clone(), inner.record.clone())
        };
        let Some(s) = shim else {
            return Err(not_running());
        };
        // The process may have exited before its exit was recorded: same answer.
        s.kill(sig).await.map_err(|e| match e.kind() {
            ErrorKind::Conflict | ErrorKind::NotFound => not_running(),
            _ => e,
        })?;
        self.publish_kill(&record, sig);
        let stop_signal = record
            .config
            .stop_signal
            .as_deref()
            .and_then(|s| parse_signal(s).ok())
            .unwrap_or(libc::SIGTERM);
        if sig == libc::SIGKILL || sig == stop_signal {
            self.resume_if_paused(&c).await?;
        }
        Ok(())
    }

    /// A paused container that was sent its stop signal or SIGKILL is thawed so that it can
    /// act on it, and is running again (dockerd resumes it the same way).
    async fn resume_if_paused(self: &Arc<Self>, c: &Arc<super::Container>) -> Result<()> {
        let mut inner = c.inner.lock().await;
        let mut next = inner.record.state.clone();
        if next.unpause(&c.id).is_err() {
            return Ok(());
        }
        self.thaw(&c.id).await?;
        inner.record.state = next;
        let record = inner.record.clone();
        self.persist(c, &record).await?;
        drop(inner);
        self.publish(&record, "unpause");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals() {
        assert_eq!(parse_signal("SIGTERM").unwrap(), libc::SIGTERM);
        assert_eq!(parse_signal("kill").unwrap(), libc::SIGKILL);
        assert_eq!(parse_signal("9").unwrap(), 9);
        assert_eq!(parse_signal("SIGRTMIN+1").unwrap(), libc::SIGRTMIN() + 1);
        assert!(parse_signal("SIGNOPE").is_err());
        assert!(parse_signal("0").is_err());
    }
}
