//! `docker pause` / `docker unpause`: freezes every process of a running container through
//! its cgroup (the v1 freezer's `freezer.state`, v2's `cgroup.freeze`; `runtime::freezer`)
//! and thaws it again. A paused container still counts as running; its healthcheck is
//! suspended meanwhile. `stop`, `kill` and `rm -f` of a paused container thaw it after
//! signalling (see `stop`), as dockerd does; `exec` is refused until it is unpaused.

use std::sync::Arc;

use super::{shim, ContainerService};
use crate::error::{Error, Result};

impl ContainerService {
    /// `POST /containers/{id}/pause`.
    #[tracing::instrument(skip(self))]
    pub async fn pause(self: &Arc<Self>, key: &str) -> Result<()> {
        let c = self.get(key)?;
        let mut inner = c.inner.lock().await;
        let mut next = inner.record.state.clone();
        next.pause(&c.id)?;
        let cgroup = shim::cgroups_path(&self.cfg, &c.id);
        let id = c.id.clone();
        tokio::task::spawn_blocking(move || runtime::freezer::freeze(&cgroup))
            .await
            .map_err(Error::task("pause"))?
            .map_err(|e| Error::io(format!("pausing container {id}"), e))?;
        inner.record.state = next;
        inner.health_monitor = None;
        let record = inner.record.clone();
        self.persist(&c, &record).await?;
        drop(inner);
        self.publish(&record, "pause");
        Ok(())
    }

    /// `POST /containers/{id}/unpause`.
    #[tracing::instrument(skip(self))]
    pub async fn unpause(self: &Arc<Self>, key: &str) -> Result<()> {
        let c = self.get(key)?;
        let mut inner = c.inner.lock().await;
        let mut next = inner.record.state.clone();
        next.unpause(&c.id)?;
        self.thaw(&c.id).await?;
        inner.record.state = next;
        self.start_health_monitor(&c, &mut inner, false);
        let record = inner.record.clone();
        self.persist(&c, &record).await?;
        drop(inner);
        self.publish(&record, "unpause");
        Ok(())
    }

    /// Thaws a container's cgroup (a cgroup that is not frozen is left as it is).
    pub(crate) async fn thaw(&self, id: &str) -> Result<()> {
        let cgroup = shim::cgroups_path(&self.cfg, id);
        let id = id.to_string();
        tokio::task::spawn_blocking(move || runtime::freezer::thaw(&cgroup))
            .await
            .map_err(Error::task("unpause"))?
            .map_err(|e| Error::io(format!("unpausing container {id}"), e))
    }
}
