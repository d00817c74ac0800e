//! Restart policies (`--restart no|always|unless-stopped|on-failure[:N]`), as dockerd applies
//! them: after an exit the monitor decides, waits a back-off that doubles from 100 ms (capped
//! at one minute, reset once a run lasted 10 s), and starts the container again; `stop` while
//! it waits cancels the restart. At daemon start, `always` containers — and `unless-stopped`
//! ones nobody stopped — are started again.

use std::sync::Arc;
use std::time::Duration;

use super::record::ContainerRecord;
use super::state::{Exit, Status};
use super::ContainerService;
use crate::clock;

const FIRST_DELAY: Duration = Duration::from_millis(100);
const MAX_DELAY: Duration = Duration::from_secs(60);
/// A run at least this long resets the back-off.
const STABLE_RUN: Duration = Duration::from_secs(10);

/// Whether the policy restarts a container that exited with `exit`.
pub fn wants_restart(r: &ContainerRecord, exit: &Exit) -> bool {
    if r.stopped_by_user || r.host_config.auto_remove {
        return false;
    }
    let p = &r.host_config.restart_policy;
    match p.name.as_str() {
        "always" | "unless-stopped" => true,
        "on-failure" => {
            exit.code != 0
                && (p.maximum_retry_count <= 0 || r.restart_count < p.maximum_retry_count)
        }
        _ => false,
    }
}

/// Whether the policy starts the container when the daemon starts.
pub fn wants_start_at_boot(r: &ContainerRecord) -> bool {
    match r.host_config.restart_policy.name.as_str() {
        "always" => true,
        "unless-stopped" => !r.stopped_by_user,
        _ => false,
    }
}

/// The next back-off after a run that started at `started_at`, given the previous one.
pub fn next_delay(previous: Duration, started_at: i128, exited_at: i128) -> Duration {
    let ran = Duration::from_nanos((exited_at - started_at).max(0) as u64);
    if ran >= STABLE_RUN || previous.is_zero() {
        FIRST_DELAY
    } else {
        (previous * 2).min(MAX_DELAY)
    }
}

impl ContainerService {
    /// Called by the monitor with the container's lock held and the exit recorded: marks it
    /// restarting and schedules the restart. Returns whether it did.
    pub(crate) fn schedule_restart(
        self: &Arc<Self>,
        inner: &mut super::Inner,
        exit: &Exit,
    ) -> bool {
        if !wants_restart(&inner.record, exit) {
            inner.restart_delay = Duration::ZERO;
            return false;
        }
        let delay = next_delay(
            inner.restart_delay,
            inner.record.state.started_at(),
            exit.at,
        );
        inner.restart_delay = delay;
        inner.record.state.restart_pending();
        let svc = self.clone();
        let id = inner.record.id.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            svc.restart_now(&id).await;
        });
        true
    }

    /// Starts a container whose restart back-off has passed, unless it was stopped or
    /// removed meanwhile.
    async fn restart_now(self: &Arc<Self>, id: &str) {
        let Ok(c) = self.get(id) else { return };
        {
            let mut inner = c.inner.lock().await;
            // The back-off is over; a stop or remove meanwhile cancelled the restart.
            if !inner.record.state.cancel_restart() {
                return;
            }
            inner.record.restart_count += 1;
        }
        if let Err(e) = self.start(id).await {
            tracing::warn!(container_id = %id, error = %e, "restart by policy failed");
        }
    }

    /// At daemon start: starts what the restart policies say should run.
    pub(crate) async fn start_by_policy(self: &Arc<Self>) {
        for c in self.all() {
            let r = c.view();
            let due = match r.state.status() {
                Status::Exited | Status::Created => {
                    r.state.started_at() != 0 && wants_start_at_boot(&r)
                }
                Status::Restarting => true,
                _ => false,
            };
            if !due {
                continue;
            }
            c.inner.lock().await.record.state.cancel_restart();
            tracing::info!(container_id = %r.id, policy = %r.host_config.restart_policy.name, at = %clock::rfc3339(clock::now_nanos()), "starting by restart policy");
            if let Err(e) = self.start(&r.id).await {
                tracing::warn!(container_id = %r.id, error = %e, "start by restart policy failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::state::RunState;

    fn record(policy: &str, max: i64) -> ContainerRecord {
        let mut hc = api_types::HostConfig::default();
        hc.restart_policy.name = policy.into();
        hc.restart_policy.maximum_retry_count = max;
        ContainerRecord {
            id: "c".into(),
            name: "n".into(),
            created: 0,
            image: "i".into(),
            image_id: "sha256:x".into(),
            config: Default::default(),
            host_config: hc,
            path: "true".into(),
            args: vec![],
            state: RunState::default(),
            restart_count: 0,
            stopped_by_user: false,
            health: None,
            mounts: Vec::new(),

            networks: Vec::new(),
            networks_recorded: true,
        }
    }

    #[test]
    fn policies_like_dockerd() {
        let ok = Exit {
            code: 0,
            oom_killed: false,
            at: 0,
        };
        let bad = Exit {
            code: 3,
            oom_killed: false,
            at: 0,
        };
        assert!(!wants_restart(&record("no", 0), &bad));
        assert!(wants_restart(&record("always", 0), &ok));
        assert!(!wants_restart(&record("on-failure", 0), &ok));
        assert!(wants_restart(&record("on-failure", 0), &bad));
        let mut r = record("on-failure", 2);
        r.restart_count = 2;
        assert!(!wants_restart(&r, &bad));
        let mut r = record("unless-stopped", 0);
        assert!(wants_start_at_boot(&r));
        r.stopped_by_user = true;
        assert!(!wants_restart(&r, &ok));
        assert!(!wants_start_at_boot(&r));
        assert!(wants_start_at_boot(&{
            let mut r = record("always", 0);
            r.stopped_by_user = true;
            r
        }));
    }

    #[test]
    fn backoff_doubles_and_resets() {
        let s = 1_000_000_000i128;
        assert_eq!(next_delay(Duration::ZERO, 0, s), FIRST_DELAY);
        assert_eq!(next_delay(FIRST_DELAY, 0, s), FIRST_DELAY * 2);
        assert_eq!(next_delay(Duration::from_secs(50), 0, s), MAX_DELAY);
        assert_eq!(next_delay(Duration::from_secs(50), 0, 20 * s), FIRST_DELAY);
    }
}
