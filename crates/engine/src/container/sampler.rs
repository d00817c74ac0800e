//! The daemon's stats sampler (dockerd's stats collector): while at least one client streams
//! the stats of a container, one task samples every streamed container once a second —
//! `/proc/stat` once per round, then each cgroup — and hands each stream its sample. With no
//! stream open there is no task and no timer: an idle daemon does no periodic work.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use api_types::stats::StatsResponse;
use tokio::sync::mpsc;

use super::Container;

/// Time between two samples of a stream (dockerd's collector interval).
pub const INTERVAL: Duration = Duration::from_secs(1);

struct Subscriber {
    container: Arc<Container>,
    tx: mpsc::Sender<StatsResponse>,
}

#[derive(Default)]
struct State {
    subs: HashMap<u64, Subscriber>,
    next: u64,
    /// Whether the sampling task runs.
    running: bool,
}

/// Samples the containers whose stats are streamed.
#[derive(Clone)]
pub(crate) struct Sampler {
    state: Arc<Mutex<State>>,
    /// The daemon's `--cgroup-parent`.
    cgroup_parent: Arc<str>,
}

impl Sampler {
    /// A sampler of the containers under `cgroup_parent`; no task runs yet.
    pub fn new(cgroup_parent: &str) -> Sampler {
        Sampler {
            state: Arc::default(),
            cgroup_parent: cgroup_parent.into(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Streams samples of `c` from the next round on; the stream ends when the container is
    /// removed. The subscription ends when the receiver is dropped.
    pub fn subscribe(&self, c: Arc<Container>) -> mpsc::Receiver<StatsResponse> {
        let (tx, rx) = mpsc::channel(2);
        let start = {
            let mut st = self.lock();
            let id = st.next;
            st.next += 1;
            st.subs.insert(id, Subscriber { container: c, tx });
            !std::mem::replace(&mut st.running, true)
        };
        if start {
            let s = self.clone();
            tokio::spawn(async move { s.run().await });
        }
        rx
    }

    /// The sampling loop: one round per [`INTERVAL`] while anyone subscribes.
    async fn run(self) {
        let mut tick = tokio::time::interval(INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The first tick fires at once; each stream already got a sample when it subscribed.
        tick.tick().await;
        loop {
            tick.tick().await;
            let subs: Vec<(u64, Arc<Container>, mpsc::Sender<StatsResponse>)> = {
                let mut st = self.lock();
                st.subs.retain(|_, s| !s.tx.is_closed());
                if st.subs.is_empty() {
                    st.running = false;
                    return;
                }
                st.subs
                    .iter()
                    .map(|(id, s)| (*id, s.container.clone(), s.tx.clone()))
                    .collect()
            };
            let parent = self.cgroup_parent.clone();
            let records: Vec<_> = subs.iter().map(|(_, c, _)| c.view()).collect();
            let removed: Vec<bool> = subs
                .iter()
                .map(|(_, c, _)| c.observe().borrow().removed)
                .collect();
            let samples = tokio::task::spawn_blocking(move || {
                let system = super::stats::system_cpu();
                records
                    .iter()
                    .map(|r| super::stats::sample(&parent, r, system))
                    .collect::<Vec<_>>()
            })
            .await
            .unwrap_or_default();
            let mut gone = Vec::new();
            for (((id, _, tx), sample), removed) in subs.into_iter().zip(samples).zip(removed) {
                // A full channel is a slow client: it skips this round, as dockerd's does.
                if removed
                    || matches!(
                        tx.try_send(sample),
                        Err(mpsc::error::TrySendError::Closed(_))
                    )
                {
                    gone.push(id);
                }
            }
            if !gone.is_empty() {
                let mut st = self.lock();
                for id in gone {
                    st.subs.remove(&id);
                }
            }
        }
    }
}
