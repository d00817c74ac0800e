//! Healthchecks (`HEALTHCHECK`, `--health-cmd` …): one monitor task per running container
//! that has a probe, running it as an exec through the container's shim — with the
//! `exec_create`/`exec_start`/`exec_die` events dockerd emits for probes — every interval
//! (the start interval while the container is starting within its start period), killing a
//! probe that outlives its timeout, and recording the result ([`super::health_state`]).
//! A change of verdict emits `health_status: <status>`.
//!
//! The monitor runs while the container runs and is not paused; it is started at start, at
//! unpause and when the daemon restores a running container (the verdict so far is kept
//! then, as dockerd keeps it), and stopped by dropping its handle (exit, pause, removal).

use std::sync::Arc;
use std::time::Duration;

use api_types::{ExecConfig, HealthConfig};
use tokio::io::AsyncReadExt;
use tokio::sync::oneshot;

use super::health_state::{self as hs, HealthStatus, ProbeResult};
use super::state::Status;
use super::{Container, ContainerService, Inner};
use crate::clock;

/// How long a probe's exit code may take to arrive after its output ended.
const EXIT_WAIT: Duration = Duration::from_secs(5);

/// Stops a health monitor when dropped.
pub(crate) struct MonitorHandle {
    _stop: oneshot::Sender<()>,
}

impl ContainerService {
    /// Starts (or restarts) the container's health monitor if it has a probe. With `reset`
    /// the verdict goes back to `starting` (a start); without it the verdict is kept (unpause,
    /// daemon restore).
    pub(crate) fn start_health_monitor(
        self: &Arc<Self>,
        c: &Arc<Container>,
        inner: &mut Inner,
        reset: bool,
    ) {
        let cfg = &inner.record.config;
        let Some(cmd) = hs::probe_command(cfg.healthcheck.as_ref(), cfg.shell.as_deref()) else {
            inner.health_monitor = None;
            return;
        };
        let hc = cfg.healthcheck.clone().unwrap_or_default();
        let health = inner.record.health.get_or_insert_with(Default::default);
        if reset {
            health.reset();
        }
        let (tx, rx) = oneshot::channel();
        inner.health_monitor = Some(MonitorHandle { _stop: tx });
        let started_at = inner.record.state.started_at();
        let svc = self.clone();
        let c = c.clone();
        tokio::spawn(async move { svc.health_loop(c, cmd, hc, started_at, rx).await });
    }

    async fn health_loop(
        self: Arc<Self>,
        c: Arc<Container>,
        cmd: Vec<String>,
        hc: HealthConfig,
        started_at: i128,
        mut stop: oneshot::Receiver<()>,
    ) {
        let interval = hs::duration(hc.interval, hs::DEFAULT_INTERVAL);
        let start_interval = hs::duration(hc.start_interval, hs::DEFAULT_START_INTERVAL);
        let start_period = hs::duration(hc.start_period, Duration::ZERO);
        let timeout = hs::duration(hc.timeout, hs::DEFAULT_TIMEOUT);
        loop {
            // A monitor just started at a (re)start has not published its `starting` yet.
            let starting = c
                .view()
                .health
                .as_ref()
                .is_none_or(|h| h.status() == HealthStatus::Starting);
            let next = if clock::since(started_at) < start_period && starting {
                start_interval
            } else {
                interval
            };
            tokio::select! {
                _ = &mut stop => return,
                _ = tokio::time::sleep(next) => {}
            }
            let result = self.probe(&c, &cmd, timeout).await;
            tracing::debug!(container_id = %c.id, code = result.exit_code, "health probe");
            let changed = {
                let mut inner = c.inner.lock().await;
                // Stopped (or replaced by a newer monitor) while probing: drop the result.
                if matches!(stop.try_recv(), Err(oneshot::error::TryRecvError::Closed))
                    || inner.record.state.status() != Status::Running
                {
                    return;
                }
                let Some(h) = inner.record.health.as_mut() else {
                    return;
                };
                let changed = h.record(result, &hc, started_at);
                let record = inner.record.clone();
                if changed.is_some() {
                    if let Err(e) = self.persist(&c, &record).await {
                        tracing::warn!(container_id = %c.id, error = %e, "persist health");
                    }
                } else {
                    c.set_view(&record);
                }
                changed
            };
            if let Some(status) = changed {
                self.publish(&c.view(), &format!("health_status: {}", status.as_str()));
            }
        }
    }

    /// Runs the probe once as an exec; a probe that cannot start, or outlives `timeout`
    /// (it is then killed), is a failure with exit code -1, as dockerd records it.
    async fn probe(
        self: &Arc<Self>,
        c: &Container,
        cmd: &[String],
        timeout: Duration,
    ) -> ProbeResult {
        let start = clock::now_nanos();
        let fail = |output: String| ProbeResult {
            start,
            end: clock::now_nanos(),
            exit_code: -1,
            output,
        };
        let cfg = ExecConfig {
            cmd: Some(cmd.to_vec()),
            attach_stdout: true,
            attach_stderr: true,
            ..Default::default()
        };
        let id = match self.exec_create(&c.id, cfg).await {
            Ok(id) => id,
            Err(e) => return fail(e.to_string()),
        };
        let Some(exec) = self.execs.get(&id) else {
            return fail(format!("exec {id} vanished"));
        };
        let result = async {
            let stream = match self.launch_exec(&exec, None, true).await {
                Ok(Some(s)) => s,
                Ok(None) => return fail("the probe's output stream is missing".into()),
                Err(e) => return fail(e.to_string()),
            };
            let read = read_output(stream);
            match tokio::time::timeout(timeout.saturating_sub(clock::since(start)), read).await {
                Ok(out) => {
                    let code = exec.exited(EXIT_WAIT).await.unwrap_or(-1);
                    ProbeResult {
                        start,
                        end: clock::now_nanos(),
                        exit_code: code,
                        output: hs::truncate_output(out),
                    }
                }
                Err(_) => {
                    self.kill_exec(&exec).await;
                    fail(format!(
                        "Health check exceeded timeout ({})",
                        api_types::time::format_go_duration(timeout)
                    ))
                }
            }
        }
        .await;
        self.execs.remove(&id);
        result
    }

    /// SIGKILLs a running exec through the container's shim.
    async fn kill_exec(&self, exec: &super::exec::Exec) {
        let shim = match self.get(&exec.container_id) {
            Ok(c) => c.inner.lock().await.shim.clone(),
            Err(_) => None,
        };
        if let Some(shim) = shim {
            if let Err(e) = shim.handle().exec_kill(&exec.id, libc::SIGKILL).await {
                tracing::debug!(exec_id = %exec.id, error = %e, "killing a probe");
            }
        }
    }
}

/// The probe's stdout and stderr (one multiplexed stream), up to a little more than dockerd
/// keeps; the rest is read and dropped so the probe never blocks on a full pipe.
async fn read_output(mut stream: tokio::net::UnixStream) -> Vec<u8> {
    let mut demux = api_types::stdcopy::Demuxer::default();
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return out,
            Ok(n) => demux.feed(&buf[..n], |_, payload| {
                let room = (hs::MAX_OUTPUT + 1).saturating_sub(out.len());
                out.extend_from_slice(&payload[..payload.len().min(room)]);
            }),
        }
    }
}
