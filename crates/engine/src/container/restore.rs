//! Start-up reconciliation: load every record; reattach to the shims of containers that were
//! running (live restore); record the exits that happened while the daemon was down (from the
//! shims' exit records); finish removals a crash interrupted; unmount what nothing uses.

use std::sync::Arc;

use super::state::Status;
use super::{rootfs, shim, Container, ContainerService, RemoveOptions};
use crate::error::{Error, Result};

impl ContainerService {
    pub(crate) async fn restore(self: Arc<Self>) -> Result<()> {
        let store = self.store.clone();
        let records = tokio::task::spawn_blocking(move || rootfs::load_records(&store))
            .await
            .map_err(Error::task("load"))??;
        let mut to_remove = Vec::new();
        let mut live = std::collections::HashSet::new();
        for mut rec in records {
            self.migrate_networks(&mut rec);
            let c = Container::new(rec.clone());
            {
                let mut idx = self.table.write();
                idx.names.insert(rec.name.clone(), rec.id.clone());
                idx.by_id.insert(rec.id.clone(), c.clone());
            }
            let paths = self.paths(&rec.id);
            let netns = self.cfg.exec_root.join("netns").join(&rec.id);
            let mut inner = c.inner.lock().await;
            inner.mounted = rootfs::is_mounted(&paths.rootfs());
            inner.netns = netns.exists().then_some(netns);
            match rec.state.status() {
                // Was waiting out a restart back-off: nothing runs; the policy decides below.
                Status::Restarting
                    if !shim::state_dir(&self.cfg, &rec.id)
                        .join(runtime::shim::SOCKET_FILE)
                        .exists() =>
                {
                    inner.record.state.cancel_restart();
                    let r = inner.record.clone();
                    self.persist(&c, &r).await?;
                }
                s if s.is_running() => match shim::reconnect(&self.cfg, &rec.id).await {
                    Ok(handle) => {
                        let handle = Arc::new(handle);
                        live.insert(rec.id.clone());
                        let view = super::networking::net_view(&inner.record);
                        if let Err(e) = self.networks.reattach(&view).await {
                            tracing::error!(container_id = %rec.id, error = %e, "restoring the container's network");
                        }
                        inner.shim = Some(handle.clone());
                        self.spawn_monitor(c.clone(), handle);
                        // Probes go on where they were; a paused container resumes them at
                        // unpause.
                        if rec.state.status() == Status::Running {
                            self.start_health_monitor(&c, &mut inner, false);
                        }
                        tracing::info!(container_id = %rec.id, "reattached to running container");
                    }
                    Err(recorded) => {
                        // A shim killed while the daemon was down may have left the container's
                        // processes running: nothing may run once the exit is recorded.
                        let killed = match shim::reap(&self.cfg, &rec.id).await {
                            Ok(killed) => killed,
                            Err(e) => {
                                tracing::error!(container_id = %rec.id, error = %e, "reaping");
                                false
                            }
                        };
                        let fallback = if killed { 137 } else { 255 };
                        let exit = inner.record.state.shim_lost(recorded, fallback);
                        self.teardown(&mut inner).await;
                        let r = inner.record.clone();
                        self.persist(&c, &r).await?;
                        shim::forget(&self.cfg, &rec.id);
                        tracing::info!(container_id = %rec.id, code = exit.code, "container exited while the daemon was down");
                        if r.host_config.auto_remove {
                            to_remove.push(rec.id.clone());
                        }
                    }
                },
                Status::Removing => {
                    inner.record.state.removal_interrupted();
                    to_remove.push(rec.id.clone());
                }
                _ => {
                    // Not running: nothing may stay mounted.
                    self.teardown(&mut inner).await;
                    shim::forget(&self.cfg, &rec.id);
                }
            }
        }
        self.networks.forget_others(&live).await;
        for id in to_remove {
            if let Err(e) = self
                .remove(
                    &id,
                    RemoveOptions {
                        force: true,
                        volumes: true,
                    },
                )
                .await
            {
                tracing::warn!(container_id = %id, error = %e, "finishing removal");
            }
        }
        self.sweep_orphans().await;
        self.start_by_policy().await;
        Ok(())
    }

    /// Removes what a crash between two steps of create or remove can leave: the trash, and
    /// container directories, rw layers and shim dirs that no record owns.
    async fn sweep_orphans(&self) {
        let known: std::collections::HashSet<String> =
            self.all().iter().map(|c| c.id.clone()).collect();
        let store = self.store.clone();
        let data_root = self.cfg.data_root.clone();
        let exec_root = self.cfg.exec_root.clone();
        let swept = tokio::task::spawn_blocking(move || {
            let mut swept = Vec::new();
            let dirs = std::fs::read_dir(data_root.join("containers"))
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned());
            for id in dirs.filter(|id| !known.contains(id)) {
                let paths = super::record::Paths::new(&data_root, &id);
                if rootfs::is_mounted(&paths.rootfs()) {
                    let _ = rootfs::unmount(&paths.rootfs());
                }
                let _ = std::fs::remove_dir_all(&paths.dir);
                swept.push(id);
            }
            // Directories of removed containers whose cleanup a crash interrupted.
            let trash = super::cleanup::trash_dir(&data_root);
            for e in std::fs::read_dir(&trash).into_iter().flatten().flatten() {
                match super::cleanup::delete_dir(&e.path()) {
                    Ok(()) => swept.push(e.file_name().to_string_lossy().into_owned()),
                    Err(err) => tracing::warn!(dir = %e.path().display(), error = %err, "emptying the trash"),
                }
            }
            for id in store.container_layers().unwrap_or_default() {
                if !known.contains(&id) {
                    let _ = rootfs::remove(&store, &id);
                    swept.push(id);
                }
            }
            for dir in ["shims", "netns"] {
                let entries = std::fs::read_dir(exec_root.join(dir))
                    .into_iter()
                    .flatten()
                    .flatten();
                for e in entries {
                    let id = e.file_name().to_string_lossy().into_owned();
                    if known.contains(&id) {
                        continue;
                    }
                    if dir == "netns" {
                        let _ = network::netns::remove(&e.path());
                    } else if !e.path().join(runtime::shim::SOCKET_FILE).exists() {
                        let _ = std::fs::remove_dir_all(e.path());
                    }
                    swept.push(id);
                }
            }
            swept
        })
        .await
        .unwrap_or_default();
        for id in swept {
            tracing::info!(container_id = %id, "removed leftovers of a container without a record");
        }
    }
}
