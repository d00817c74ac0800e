//! `DELETE /containers/{id}` and `POST /containers/prune`.

use std::sync::Arc;
use std::time::Duration;

use api_types::{ContainerPruneResponse, Filters};

use super::state::Status;
use super::{rootfs, shim, ContainerService};
use crate::clock;
use crate::error::{Error, Result};

/// Options of remove.
#[derive(Debug, Clone, Copy, Default)]
pub struct RemoveOptions {
    /// Kill a running container first.
    pub force: bool,
    /// Also remove anonymous volumes (no volumes yet).
    pub volumes: bool,
}

impl ContainerService {
    /// Removes a container: its rw layer, directory, record and name.
    #[tracing::instrument(skip(self))]
    pub async fn remove(self: &Arc<Self>, key: &str, opts: RemoveOptions) -> Result<()> {
        let c = self.get(key)?;
        let mut rx = c.observe();
        {
            let mut inner = c.inner.lock().await;
            if inner.record.state.status == Status::Restarting && inner.shim.is_none() {
                if !opts.force {
                    return Err(Error::Conflict(format!(
                        "cannot remove container \"/{}\": container is restarting: stop the container before removing or force remove",
                        inner.record.name
                    )));
                }
                // Waiting out a restart back-off: nothing runs, just cancel it.
                inner.record.state.status = Status::Exited;
            }
            if inner.record.state.status.is_running() {
                if !opts.force {
                    return Err(Error::Conflict(format!(
                        "cannot remove container \"/{}\": container is running: stop the container before removing or force remove",
                        inner.record.name
                    )));
                }
                let exits = rx.borrow().exits;
                if let Some(s) = inner.shim.clone() {
                    drop(inner);
                    s.kill(libc::SIGKILL).await.ok();
                    let _ = tokio::time::timeout(
                        Duration::from_secs(30),
                        rx.wait_for(|o| o.exits > exits || o.removed),
                    )
                    .await;
                }
            }
        }
        let mut inner = c.inner.lock().await;
        if rx.borrow().removed {
            return Ok(());
        }
        if inner.record.state.status.is_running() {
            return Err(Error::Conflict(format!(
                "could not kill running container {}, cannot remove",
                c.id
            )));
        }
        inner.record.state.begin_removal(&c.id)?;
        self.teardown(&mut inner).await;
        let store = self.store.clone();
        let id = c.id.clone();
        let name = inner.record.name.clone();
        let dir = self.paths(&id).dir;
        let res = tokio::task::spawn_blocking(move || -> Result<()> {
            rootfs::remove(&store, &id)?;
            rootfs::delete_record(&store, &id, &name)?;
            match std::fs::remove_dir_all(&dir) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(Error::file(&dir, e)),
            }
        })
        .await
        .map_err(|e| Error::Internal(format!("remove task: {e}")))?;
        if let Err(e) = res {
            // Leave it visible as dead rather than half-removed and invisible.
            inner.record.state.status = Status::Dead;
            let rec = inner.record.clone();
            let _ = self.persist(&c, &rec).await;
            return Err(e);
        }
        shim::forget(&self.cfg, &c.id);
        {
            let mut idx = self.index.write().unwrap_or_else(|e| e.into_inner());
            idx.by_id.remove(&c.id);
            if idx.names.get(&inner.record.name) == Some(&c.id) {
                idx.names.remove(&inner.record.name);
            }
        }
        for p in inner.pending_attach.drain(..) {
            p.close();
        }
        c.observed.send_modify(|o| o.removed = true);
        self.publish(&inner.record, "destroy");
        Ok(())
    }

    /// Removes every stopped container matching `filters` (`until`, `label`, `label!`).
    pub async fn prune(self: &Arc<Self>, filters: Filters) -> Result<ContainerPruneResponse> {
        filters
            .validate(&["until", "label", "label!"])
            .map_err(|e| Error::invalid(e.to_string()))?;
        let until = match filters.get("until").next() {
            Some(u) => Some(
                clock::parse_timestamp(u)
                    .ok_or_else(|| Error::invalid(format!("invalid until value: {u}")))?,
            ),
            None => None,
        };
        let mut deleted = Vec::new();
        let mut reclaimed = 0u64;
        for c in self.all() {
            let view = c.view();
            if view.state.status.is_running() || view.state.status == Status::Removing {
                continue;
            }
            if until.is_some_and(|u| view.created >= u) {
                continue;
            }
            let labels = view.config.labels.clone().unwrap_or_default();
            if !filters.match_labels(&labels) {
                continue;
            }
            let excluded = filters
                .get("label!")
                .any(|want| match want.split_once('=') {
                    Some((k, v)) => labels.get(k).is_some_and(|have| have == v),
                    None => labels.contains_key(want),
                });
            if excluded {
                continue;
            }
            let size = self.rw_size(&c.id).await.unwrap_or(0);
            if self.remove(&c.id, RemoveOptions::default()).await.is_ok() {
                reclaimed += size.max(0) as u64;
                deleted.push(c.id.clone());
            }
        }
        Ok(ContainerPruneResponse {
            containers_deleted: (!deleted.is_empty()).then_some(deleted),
            space_reclaimed: reclaimed,
        })
    }
}
