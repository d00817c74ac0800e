//! `--pid` and `--ipc` modes that name the host or another container, resolved at start (the
//! other container must be running then), and the host-side `/dev/shm` of a `shareable`
//! container that others may join, as dockerd mounts it under the container's directory.

use std::path::{Path, PathBuf};

use runtime::spec::{Namespace, Shm};

use super::record::{ContainerRecord, Paths};
use super::ContainerService;
use crate::error::{Error, Result};

/// The namespaces and `/dev/shm` a container takes from the host or another container.
#[derive(Debug, Clone, Default)]
pub(crate) struct Joins {
    pub pid: Namespace,
    pub ipc: Namespace,
    pub shm: Shm,
}

impl ContainerService {
    /// Resolves `r`'s PID and IPC modes.
    pub(crate) fn resolve_joins(&self, r: &ContainerRecord) -> Result<Joins> {
        let hc = &r.host_config;
        let mut joins = Joins::default();
        match hc.pid_mode.as_str() {
            "host" => joins.pid = Namespace::Host,
            mode => {
                if let Some(other) = mode.strip_prefix("container:") {
                    let (pid, _) = self.running_peer(other, "PID")?;
                    joins.pid = Namespace::Join(ns_path(pid, "pid"));
                }
            }
        }
        match hc.ipc_mode.as_str() {
            "host" => {
                joins.ipc = Namespace::Host;
                joins.shm = Shm::Bind(PathBuf::from("/dev/shm"));
            }
            "none" => joins.shm = Shm::None,
            "shareable" => joins.shm = Shm::Bind(self.paths(&r.id).shm()),
            mode => {
                if let Some(other) = mode.strip_prefix("container:") {
                    let (pid, peer) = self.running_peer(other, "IPC")?;
                    match peer.host_config.ipc_mode.as_str() {
                        "shareable" => {
                            joins.ipc = Namespace::Join(ns_path(pid, "ipc"));
                            joins.shm = Shm::Bind(self.paths(&peer.id).shm());
                        }
                        "host" => {
                            joins.ipc = Namespace::Host;
                            joins.shm = Shm::Bind(PathBuf::from("/dev/shm"));
                        }
                        _ => {
                            return Err(Error::invalid(
                                "non-shareable IPC (hint: use IpcMode:shareable for the donor container)",
                            ))
                        }
                    }
                }
            }
        }
        Ok(joins)
    }

    /// The init pid and record of the running container `key`, which another wants to join.
    fn running_peer(
        &self,
        key: &str,
        what: &str,
    ) -> Result<(i64, std::sync::Arc<ContainerRecord>)> {
        let peer = self.get(key)?.view();
        if !peer.state.status().is_running() || peer.state.pid() <= 0 {
            return Err(Error::Conflict(format!(
                "cannot join {what} of a non running container: {key}"
            )));
        }
        Ok((peer.state.pid(), peer))
    }
}

fn ns_path(pid: i64, kind: &str) -> PathBuf {
    PathBuf::from(format!("/proc/{pid}/ns/{kind}"))
}

/// Mounts the host-side `/dev/shm` of a shareable container (a tmpfs of `size` bytes).
pub(crate) fn mount_shareable_shm(paths: &Paths, size: u64) -> Result<()> {
    let dir = paths.shm();
    std::fs::create_dir_all(&dir).map_err(|e| Error::file(&dir, e))?;
    if super::rootfs::is_mounted(&dir) {
        return Ok(());
    }
    let opts = [
        "nosuid".to_string(),
        "nodev".to_string(),
        "noexec".to_string(),
        "mode=1777".to_string(),
        format!("size={size}"),
    ];
    runtime::sys::mount("tmpfs", Path::new("shm"), &dir, &opts).map_err(|source| Error::Mount {
        what: "mounting the shareable /dev/shm".into(),
        source,
    })
}

/// Unmounts a shareable container's `/dev/shm`, if mounted.
pub(crate) fn unmount_shm(paths: &Paths) -> Result<()> {
    let dir = paths.shm();
    if !super::rootfs::is_mounted(&dir) {
        return Ok(());
    }
    runtime::sys::unmount(&dir, true).map_err(|source| Error::Mount {
        what: format!("unmounting {}", dir.display()),
        source,
    })
}
