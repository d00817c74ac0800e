//! `DELETE /containers/{id}` and `POST /containers/prune`.

use std::sync::Arc;
use std::time::Duration;

use api_types::{ContainerPruneResponse, Filters};

use super::state::Status;
use super::{cleanup, rootfs, ContainerService};
use crate::clock;
use crate::error::{Error, Result};

/// Options of remove.
#[derive(Debug, Clone, Copy, Default)]
pub struct RemoveOptions {
    /// Kill a running container first.
    pub force: bool,
    /// Also remove the container's anonymous volumes (`rm -v`) that no other container
    /// uses.
    pub volumes: bool,
}

impl ContainerService {
    /// Removes a container: its record and name at once, then (in the background, see
    /// `cleanup`) its mounts, rw layer and directory.
    #[tracing::instrument(skip(self))]
    pub async fn remove(self: &Arc<Self>, key: &str, opts: RemoveOptions) -> Result<()> {
        let c = self.get(key)?;
        let mut rx = c.observe();
        {
            let mut inner = c.inner.lock().await;
            if awaiting_restart(&inner) {
                if !opts.force {
                    return Err(Error::Conflict(format!(
                        "cannot remove container \"/{}\": container is restarting: stop the container before removing or force remove",
                        inner.record.name
                    )));
                }
                // Waiting out a restart back-off: nothing runs, just cancel it.
                inner.record.state.cancel_restart();
            }
            if inner.record.state.status().is_running() {
                if !opts.force {
                    return Err(Error::Conflict(format!(
                        "cannot remove container \"/{}\": container is running: stop the container before removing or force remove",
                        inner.record.name
                    )));
                }
                let exits = rx.borrow().exits;
                if inner.shim.is_some() {
                    drop(inner);
                    // As `kill`: the `kill` event, and a paused container thawed to die.
                    if let Err(e) = self.signal(&c.id, libc::SIGKILL).await {
                        tracing::debug!(container_id = %c.id, error = %e, "kill before removal");
                    }
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
        // The kill may have scheduled a restart (`always`, `on-failure`…): a forced removal
        // cancels it, as dockerd stops the restart manager before it kills. The waiting restart
        // then finds nothing to restart.
        if opts.force && awaiting_restart(&inner) {
            inner.record.state.cancel_restart();
        }
        if inner.record.state.status().is_running() {
            return Err(Error::Conflict(format!(
                "could not kill running container {}, cannot remove",
                c.id
            )));
        }
        inner.record.state.begin_removal(&c.id)?;
        // Whatever the shim did or did not do, nothing of the container may outlive its
        // removal (a shim killed by hand leaves its processes to nobody). A live shim is still
        // cleaning up after the exit it reported: let it finish first.
        super::shim::wait_finished(&self.cfg, &c.id).await;
        if let Err(e) = super::shim::reap(&self.cfg, &c.id).await {
            inner.record.state.mark_dead();
            let rec = inner.record.clone();
            let _ = self.persist(&c, &rec).await;
            return Err(e);
        }
        // The record and name go in one commit and the directory into the trash: that is the
        // removal. Unmounting and deleting files is cleanup, done in the background.
        let store = self.store.clone();
        let id = c.id.clone();
        let name = inner.record.name.clone();
        let data_root = self.cfg.data_root.clone();
        let res = tokio::task::spawn_blocking(move || -> Result<std::path::PathBuf> {
            rootfs::delete_record(&store, &id, &name)?;
            Ok(match cleanup::stash(&data_root, &id) {
                Ok(dir) => dir,
                Err(e) => {
                    // Gone from the database all the same; clean up in place.
                    tracing::warn!(container_id = %id, error = %e, "moving the directory to the trash");
                    super::record::Paths::new(&data_root, &id).dir
                }
            })
        })
        .await
        .map_err(Error::task("remove"))?;
        let dir = match res {
            Ok(dir) => dir,
            Err(e) => {
                // Leave it visible as dead rather than half-removed and invisible.
                inner.record.state.mark_dead();
                let rec = inner.record.clone();
                let _ = self.persist(&c, &rec).await;
                return Err(e);
            }
        };
        self.execs.container_removed(&c.id);
        {
            let mut idx = self.table.write();
            idx.by_id.remove(&c.id);
            if idx.names.get(&inner.record.name) == Some(&c.id) {
                idx.names.remove(&inner.record.name);
            }
        }
        for p in inner.pending_attach.drain(..) {
            p.close();
        }
        inner.health_monitor = None;
        // An auto-removed container goes from its exit straight here, without a teardown.
        self.detach_volumes(&inner.record).await;

        // Ports, addresses and DNS records go now; the namespace with the cleanup.
        self.networks.detach(&c.id).await;
        self.spawn_cleanup(cleanup::Leftovers {
            id: c.id.clone(),
            image_id: inner.record.image_id.clone(),
            dir,
            mounted: std::mem::take(&mut inner.mounted),
            netns: inner.netns.take(),
        });
        c.observed.send_modify(|o| o.removed = true);
        self.publish(&inner.record, "destroy");
        if opts.volumes {
            self.remove_anonymous_volumes(&inner.record).await;
        }
        Ok(())
    }

    /// Removes every stopped container matching `filters` (`until`, `label`, `label!`).
    pub async fn prune(self: &Arc<Self>, filters: Filters) -> Result<ContainerPruneResponse> {
        filters
            .validate(&["until", "label", "label!"])
            .map_err(Error::from)?;
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
            if view.state.status().is_running() || view.state.status() == Status::Removing {
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

/// Whether the container waits out a restart back-off: exited, nothing runs, a restart is due.
fn awaiting_restart(inner: &super::Inner) -> bool {
    inner.record.state.status() == Status::Restarting && inner.shim.is_none()
}
