//! A container's health, as a healthcheck's probes decide it (moby `daemon/health.go`):
//! `starting` until a probe succeeds; `healthy` after a success; `unhealthy` once
//! `retries` probes in a row failed — failures inside the start period do not count while
//! the container is still `starting`. The last [`MAX_LOG`] probe results are kept, each
//! output cut at [`MAX_OUTPUT`] bytes with `...` appended, as dockerd does.
//!
//! This is persisted with the container's record (inspect shows it after a daemon restart),
//! and reset to `starting` at every start.

use std::collections::VecDeque;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use api_types::HealthConfig;

/// Probe results kept (dockerd's `maxLogEntries`).
pub const MAX_LOG: usize = 5;
/// Longest probe output kept (dockerd's `maxOutputLen`).
pub const MAX_OUTPUT: usize = 4096;

/// dockerd's defaults.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
pub const DEFAULT_START_INTERVAL: Duration = Duration::from_secs(5);
pub const DEFAULT_RETRIES: i64 = 3;

/// The verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    Starting,
    Healthy,
    Unhealthy,
}

impl HealthStatus {
    /// The API's word.
    pub fn as_str(self) -> &'static str {
        match self {
            HealthStatus::Starting => "starting",
            HealthStatus::Healthy => "healthy",
            HealthStatus::Unhealthy => "unhealthy",
        }
    }

    /// What `ps` shows in parentheses after `Up …`.
    pub fn ps(self) -> &'static str {
        match self {
            HealthStatus::Starting => "health: starting",
            other => other.as_str(),
        }
    }
}

/// One probe run (times in nanoseconds since the epoch).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeResult {
    pub start: i128,
    pub end: i128,
    pub exit_code: i64,
    pub output: String,
}

/// A container's health.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthState {
    status: HealthStatus,
    failing_streak: i64,
    log: VecDeque<ProbeResult>,
}

impl Default for HealthState {
    fn default() -> Self {
        HealthState {
            status: HealthStatus::Starting,
            failing_streak: 0,
            log: VecDeque::new(),
        }
    }
}

/// What to run as the probe: `CMD` args run as they are, `CMD-SHELL` through the shell;
/// `NONE` (or no test) means no healthcheck.
pub fn probe_command(hc: Option<&HealthConfig>, shell: Option<&[String]>) -> Option<Vec<String>> {
    let test = hc?.test.as_ref()?;
    let (kind, rest) = test.split_first()?;
    match kind.as_str() {
        "CMD" if !rest.is_empty() => Some(rest.to_vec()),
        "CMD-SHELL" if !rest.is_empty() => {
            let mut cmd = match shell {
                Some(s) if !s.is_empty() => s.to_vec(),
                _ => vec!["/bin/sh".into(), "-c".into()],
            };
            cmd.push(rest.join(" "));
            Some(cmd)
        }
        _ => None,
    }
}

/// A duration field of the healthcheck (nanoseconds; 0 is the default).
pub fn duration(ns: Option<i64>, default: Duration) -> Duration {
    match ns {
        Some(n) if n > 0 => Duration::from_nanos(n as u64),
        _ => default,
    }
}

/// dockerd's output cut: at most [`MAX_OUTPUT`] bytes, `...` after a cut.
pub fn truncate_output(mut out: Vec<u8>) -> String {
    let cut = out.len() > MAX_OUTPUT;
    out.truncate(MAX_OUTPUT);
    let mut s = String::from_utf8_lossy(&out).into_owned();
    if cut {
        s.push_str("...");
    }
    s
}

impl HealthState {
    /// The verdict.
    pub fn status(&self) -> HealthStatus {
        self.status
    }

    /// Failed probes in a row.
    pub fn failing_streak(&self) -> i64 {
        self.failing_streak
    }

    /// Back to `starting`, as at every (re)start; the log is kept.
    pub fn reset(&mut self) {
        self.status = HealthStatus::Starting;
        self.failing_streak = 0;
    }

    /// Records a probe's result. `started_at` is when the container started (ns), for the
    /// start period. Returns the new status when it changed (dockerd then emits
    /// `health_status: <status>`).
    pub fn record(
        &mut self,
        r: ProbeResult,
        hc: &HealthConfig,
        started_at: i128,
    ) -> Option<HealthStatus> {
        let old = self.status;
        let retries = match hc.retries {
            Some(n) if n > 0 => n,
            _ => DEFAULT_RETRIES,
        };
        let success = r.exit_code == 0;
        let in_start_period = {
            let period = duration(hc.start_period, Duration::ZERO).as_nanos() as i128;
            r.start - started_at < period
        };
        if self.log.len() >= MAX_LOG {
            self.log.pop_front();
        }
        self.log.push_back(r);
        if success {
            self.failing_streak = 0;
            self.status = HealthStatus::Healthy;
        } else if !(self.status == HealthStatus::Starting && in_start_period) {
            self.failing_streak += 1;
            if self.failing_streak >= retries {
                self.status = HealthStatus::Unhealthy;
            }
        }
        (self.status != old).then_some(self.status)
    }

    /// `State.Health` of inspect.
    pub fn to_api(&self) -> api_types::Health {
        api_types::Health {
            status: self.status.as_str().into(),
            failing_streak: self.failing_streak,
            log: self
                .log
                .iter()
                .map(|r| api_types::HealthcheckResult {
                    start: crate::clock::rfc3339(r.start),
                    end: crate::clock::rfc3339(r.end),
                    exit_code: r.exit_code,
                    output: r.output.clone(),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i128 = 1_000_000_000;

    fn result(at: i128, code: i64) -> ProbeResult {
        ProbeResult {
            start: at,
            end: at + 1,
            exit_code: code,
            output: String::new(),
        }
    }

    #[test]
    fn starting_healthy_unhealthy_like_dockerd() {
        let hc = HealthConfig {
            retries: Some(2),
            start_period: Some(10 * S as i64),
            ..Default::default()
        };
        let mut h = HealthState::default();
        // Failures inside the start period while starting do not count.
        assert_eq!(h.record(result(S, 1), &hc, 0), None);
        assert_eq!(h.failing_streak(), 0);
        assert_eq!(
            h.record(result(2 * S, 0), &hc, 0),
            Some(HealthStatus::Healthy)
        );
        // Once healthy, failures count even inside the start period.
        assert_eq!(h.record(result(3 * S, 1), &hc, 0), None);
        assert_eq!(h.failing_streak(), 1);
        assert_eq!(
            h.record(result(4 * S, 1), &hc, 0),
            Some(HealthStatus::Unhealthy)
        );
        for i in 0..10 {
            h.record(result((5 + i) * S, 1), &hc, 0);
        }
        assert_eq!(h.to_api().log.len(), MAX_LOG);
        assert_eq!(h.failing_streak(), 12);
        h.reset();
        assert_eq!(h.status(), HealthStatus::Starting);
        // After the start period, failures count while starting.
        let mut h = HealthState::default();
        h.record(result(20 * S, 1), &hc, 0);
        assert_eq!(h.failing_streak(), 1);
        assert_eq!(h.status().ps(), "health: starting");
    }

    #[test]
    fn probe_commands_and_output() {
        let hc = |t: &[&str]| HealthConfig {
            test: Some(t.iter().map(|s| s.to_string()).collect()),
            ..Default::default()
        };
        assert_eq!(
            probe_command(Some(&hc(&["CMD-SHELL", "exit 0"])), None).unwrap(),
            ["/bin/sh", "-c", "exit 0"]
        );
        assert_eq!(
            probe_command(Some(&hc(&["CMD", "true", "x"])), None).unwrap(),
            ["true", "x"]
        );
        assert_eq!(probe_command(Some(&hc(&["NONE"])), None), None);
        assert_eq!(probe_command(None, None), None);
        let long = truncate_output(vec![b'a'; MAX_OUTPUT + 10]);
        assert_eq!(long.len(), MAX_OUTPUT + 3);
        assert!(long.ends_with("a..."));
        assert_eq!(truncate_output(b"ok\n".to_vec()), "ok\n");
    }
}
