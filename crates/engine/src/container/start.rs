//! `POST /containers/{id}/start` and the monitor that follows a running container to its end.
//!
//! Start mounts the rootfs, makes the network namespace, writes the OCI spec, spawns the shim
//! (container created, process not yet running), connects the attach streams that were
//! waiting, then starts the process. Any failure undoes the mount and namespace and records
//! dockerd's exit code for it (126 not executable, 127 not found); an `AutoRemove` container
//! is then removed, as dockerd does.

use std::sync::Arc;

use super::record::ContainerRecord;
use super::state::Exit;
use super::{rootfs, shim, Container, ContainerService, Inner};
use crate::clock;
use crate::error::{Error, Result};

impl ContainerService {
    /// Starts a created or exited container.
    #[tracing::instrument(skip(self))]
    pub async fn start(self: &Arc<Self>, key: &str) -> Result<()> {
        let c = self.get(key)?;
        let mut inner = c.inner.lock().await;
        inner.record.state.check_start(&c.id)?;
        match self.launch(&c, &mut inner).await {
            Ok(()) => {
                inner.record.stopped_by_user = false;
                let record = inner.record.clone();
                self.persist(&c, &record).await?;
                self.publish(&record, "start");
                Ok(())
            }
            Err(e) => {
                let exit_code = match &e {
                    Error::StartFailed { exit_code, .. } => *exit_code,
                    _ => 128,
                };
                self.teardown(&mut inner).await;
                inner.record.state.start_failed(&e.to_string(), exit_code);
                let record = inner.record.clone();
                let _ = self.persist(&c, &record).await;
                let auto_remove = record.host_config.auto_remove;
                drop(inner);
                if auto_remove {
                    let svc = self.clone();
                    let id = c.id.clone();
                    if let Err(err) = svc
                        .remove(
                            &id,
                            super::RemoveOptions {
                                force: true,
                                volumes: true,
                            },
                        )
                        .await
                    {
                        tracing::warn!(container_id = %id, error = %err, "auto-remove after failed start");
                    }
                }
                Err(e)
            }
        }
    }

    /// Mounts, spawns the shim, wires pending attaches and starts the process; on success the
    /// container is running and its monitor is watching it.
    async fn launch(self: &Arc<Self>, c: &Arc<Container>, inner: &mut Inner) -> Result<()> {
        let t0 = std::time::Instant::now();
        let lap = |what: &str| tracing::debug!(container_id = %c.id, elapsed_us = t0.elapsed().as_micros() as u64, "start: {what}");
        // The runtime will move the container's first process into its cgroup, which waits out
        // an RCU grace period unless one has just passed: start it now, so that it passes while
        // the rootfs is mounted and the shim spawned (see `prime_migration`).
        tokio::task::spawn_blocking(runtime::cgroup::prime_migration);
        let paths = self.paths(&c.id);
        // The network namespace is made while the rootfs is mounted and the bundle written
        // (building the spec reads the image's /etc/passwd and /etc/group in the rootfs).
        let store = self.store.clone();
        let id = c.id.clone();
        let target = paths.rootfs();
        let mount = async move {
            tokio::task::spawn_blocking(move || rootfs::mount(&store, &id, &target))
                .await
                .map_err(Error::task("mount"))?
        };
        let net = self.prepare_network(inner)?;
        let joins = self.resolve_joins(&inner.record)?;
        let shareable_shm = (inner.record.host_config.ipc_mode == "shareable").then(|| {
            let size = inner.record.host_config.shm_size;
            let size = if size > 0 {
                size as u64
            } else {
                runtime::spec::DEFAULT_SHM_SIZE
            };
            (paths.clone(), size)
        });
        let mut mounted = false;
        let root = async {
            mount.await?;
            mounted = true;
            self.attach_volumes(&inner.record).await?;
            if let Some((paths, size)) = shareable_shm {
                tokio::task::spawn_blocking(move || {
                    super::namespaces::mount_shareable_shm(&paths, size)
                })
                .await
                .map_err(Error::task("shm"))??;
            }
            let ns = net.spec_netns.as_deref();
            shim::write_bundle(&self.cfg, &paths, &inner.record, ns, joins, &net.link_env).await
        };
        let network = self.setup_network(&inner.record, net.own_netns.as_deref());
        let (root, (netns_made, network)) = tokio::join!(root, network);
        // Record what exists before looking at errors, so that teardown undoes it.
        inner.mounted = mounted;
        if netns_made {
            inner.netns = net.own_netns.clone();
        }
        root?;
        network?;
        lap("mounted, network and bundle");
        let log = super::logdriver::shim_config(
            &inner.record,
            &paths,
            self.cfg.log_max_size,
            self.cfg.log_max_files,
        )?;
        let handle = shim::launch(&self.cfg, &paths, &inner.record, log).await?;
        let handle = Arc::new(handle);
        lap("shim created");
        if inner.record.host_config.oom_kill_disable == Some(true) {
            // Before the process runs; a failure here fails the start (the shim's cleanup
            // removes the created container).
            let path = shim::cgroups_path(&self.cfg, &c.id);
            let set =
                tokio::task::spawn_blocking(move || runtime::cgroup::disable_oom_killer(&path))
                    .await
                    .map_err(Error::task("oom"))?;
            if let Err(e) = set {
                let _ = handle.kill(libc::SIGKILL).await;
                return Err(Error::io("disabling the OOM killer", e));
            }
        }
        for pending in inner.pending_attach.drain(..) {
            pending.connect(handle.clone()).await;
        }
        let pid = handle.start().await?;
        lap("started");
        inner.record.state.start(&c.id, pid)?;
        inner.shim = Some(handle.clone());
        self.spawn_monitor(c.clone(), handle);
        self.start_health_monitor(c, inner, true);
        Ok(())
    }

    /// Unmounts the rootfs and removes the network namespace, if present. Failures are logged:
    /// they must not hide the error that made us tear down.
    pub(crate) async fn teardown(&self, inner: &mut Inner) {
        let id = inner.record.id.clone();
        self.detach_volumes(&inner.record).await;
        if inner.record.host_config.ipc_mode == "shareable" {
            let paths = self.paths(&id);
            match tokio::task::spawn_blocking(move || super::namespaces::unmount_shm(&paths)).await
            {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(container_id = %id, error = %e, "unmount shm"),
                Err(e) => tracing::warn!(container_id = %id, error = %e, "unmount task"),
            }
        }
        if inner.mounted {
            let target = self.paths(&id).rootfs();
            match tokio::task::spawn_blocking(move || rootfs::unmount(&target)).await {
                Ok(Ok(())) => inner.mounted = false,
                Ok(Err(e)) => tracing::warn!(container_id = %id, error = %e, "unmount rootfs"),
                Err(e) => tracing::warn!(container_id = %id, error = %e, "unmount task"),
            }
        }
        // Before the namespace goes: the DNS server's sockets hold it.
        self.networks.detach(&id).await;
        if let Some(ns) = inner.netns.take() {
            let ns2 = ns.clone();
            match tokio::task::spawn_blocking(move || shim::remove_netns(&ns2)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::warn!(container_id = %id, error = %e, "remove netns");
                    inner.netns = Some(ns);
                }
                Err(e) => tracing::warn!(container_id = %id, error = %e, "netns task"),
            }
        }
    }

    /// Follows a running container until its shim reports the exit.
    pub(crate) fn spawn_monitor(self: &Arc<Self>, c: Arc<Container>, handle: Arc<shim::Shim>) {
        let svc = self.clone();
        tokio::spawn(async move {
            let exit = match handle.wait().await {
                shim::Waited::Exited(exit) => exit,
                // The exit is recorded only once nothing of the container runs any more, so
                // that a start cannot run a second instance next to the orphaned one.
                shim::Waited::Lost => {
                    if let Err(e) = shim::reap(&svc.cfg, &c.id).await {
                        tracing::error!(container_id = %c.id, error = %e, "shim lost");
                    }
                    Exit {
                        code: 137,
                        oom_killed: false,
                        at: clock::now_nanos(),
                    }
                }
            };
            svc.on_exit(&c, exit).await;
        });
    }

    /// Records an exit: state, cleanup, waiters, events, auto-removal. An auto-removed
    /// container's exit is not persisted on its own: its removal deletes the record at once
    /// (and leaves the unmounting to the background cleanup); after a crash in between, the
    /// shim's exit record is still there for `restore`, which then finishes the removal.
    pub(crate) async fn on_exit(self: &Arc<Self>, c: &Arc<Container>, exit: Exit) {
        let mut inner = c.inner.lock().await;
        if !inner.record.state.status().is_running() {
            return;
        }
        inner.record.state.exit(exit);
        inner.shim = None;
        inner.health_monitor = None;
        self.execs.container_exited(&c.id);
        let restarting = self.schedule_restart(&mut inner, &exit);
        let auto_remove = inner.record.host_config.auto_remove && !restarting;
        let record: ContainerRecord = inner.record.clone();
        if auto_remove {
            c.set_view(&record);
        } else {
            self.teardown(&mut inner).await;
            if let Err(e) = self.persist(c, &record).await {
                tracing::error!(container_id = %c.id, error = %e, "persist exit");
            }
            let (cfg, id) = (self.cfg.clone(), c.id.clone());
            let _ = tokio::task::spawn_blocking(move || shim::forget(&cfg, &id)).await;
        }
        c.observed.send_modify(|o| {
            o.exits += 1;
            o.exit_code = exit.code;
        });
        drop(inner);
        if exit.oom_killed {
            self.publish(&record, "oom");
        }
        self.publish_with(&record, "die", &[("exitCode", exit.code.to_string())]);
        tracing::debug!(container_id = %c.id, code = exit.code, at = %clock::rfc3339(exit.at), "exited");
        if auto_remove {
            let opts = super::RemoveOptions {
                force: true,
                volumes: true,
            };
            // A failed removal leaves the container visible as dead (see `remove`).
            if let Err(e) = self.remove(&c.id, opts).await {
                tracing::warn!(container_id = %c.id, error = %e, "auto-remove");
            }
        }
    }
}
