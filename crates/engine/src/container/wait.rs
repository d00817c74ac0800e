//! `POST /containers/{id}/wait`. The waiter is registered when `wait` returns — before the
//! HTTP headers go out — so a container started right after cannot exit unseen.

use std::future::Future;
use std::pin::Pin;

use api_types::{ContainerWaitResponse, WaitExitError};

use super::ContainerService;
use crate::error::Result;

/// What to wait for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitCondition {
    /// Until the container is not running (at once if it is not).
    NotRunning,
    /// Until the next exit from now.
    NextExit,
    /// Until the container is removed.
    Removed,
}

/// The wait's result, ready when the condition holds.
pub type WaitFuture = Pin<Box<dyn Future<Output = ContainerWaitResponse> + Send>>;

impl ContainerService {
    /// Registers a waiter on a container; 404 if it does not exist.
    pub async fn wait(&self, key: &str, cond: WaitCondition) -> Result<WaitFuture> {
        let c = self.get(key)?;
        let mut rx = c.observe();
        let start = rx.borrow_and_update().clone();
        Ok(Box::pin(async move {
            let done = |o: &super::Observed| match cond {
                WaitCondition::NotRunning => {
                    !o.status.is_running() || o.exits > start.exits || o.removed
                }
                WaitCondition::NextExit => o.exits > start.exits || o.removed,
                WaitCondition::Removed => o.removed,
            };
            let last = match rx.wait_for(|o| done(o)).await {
                Ok(o) => o.clone(),
                // The container (and its sender) is gone: it was removed.
                Err(_) => start,
            };
            ContainerWaitResponse {
                status_code: last.exit_code,
                error: last.error.map(|message| WaitExitError { message }),
            }
        }))
    }
}
