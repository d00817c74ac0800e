//! A container's mounts over its life: resolved at create (volumes made or found, claimed
//! until the record exists; `--volumes-from` copied; the image's `VOLUME`s given anonymous
//! volumes), copy-up at create, attached at start (volume refs and events, driver mounts,
//! sub-path binds, an interrupted copy-up redone), detached at stop, and — with `rm -v` —
//! anonymous volumes removed with the container.
//!
//! A volume sub-path (`volume-subpath`) is opened inside the volume (never following a link
//! out of it) and that very directory is bound at `<exec-root>/subpaths/<id>/<n>`, which is
//! what the runtime mounts: a container sharing the volume cannot swap a component for a
//! symlink between the check and the mount.

use std::collections::BTreeMap;
use std::os::fd::{AsFd, AsRawFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use api_types::{ContainerConfig, HostConfig};
use oci::layer::scope::{self, Flags};
use runtime::spec::BindMount;

use super::mounts::{self, MountKind, MountRecord};
use super::record::{ContainerRecord, Paths};
use super::ContainerService;
use crate::error::{Error, Result};
use crate::volume::VolumeService;

/// `<exec-root>/subpaths/<id>`: where a container's volume sub-paths are bound.
fn subpaths_dir(exec_root: &Path, id: &str) -> PathBuf {
    exec_root.join("subpaths").join(id)
}

/// The host path the runtime mounts for record mount `i`.
fn host_source(exec_root: &Path, id: &str, i: usize, m: &MountRecord) -> PathBuf {
    if m.kind == MountKind::Volume && !m.subpath.is_empty() {
        subpaths_dir(exec_root, id).join(i.to_string())
    } else {
        PathBuf::from(&m.source)
    }
}

/// The runtime's mounts for a container's record: bind mounts and tmpfs mounts.
pub(crate) fn spec_mounts(
    exec_root: &Path,
    r: &ContainerRecord,
) -> (Vec<BindMount>, Vec<(String, String)>) {
    let mut binds = Vec::new();
    let mut tmpfs = Vec::new();
    for (i, m) in r.mount_records().iter().enumerate() {
        match m.kind {
            MountKind::Tmpfs => tmpfs.push((m.destination.clone(), m.tmpfs_options.clone())),
            MountKind::Bind | MountKind::Volume => binds.push(BindMount {
                source: host_source(exec_root, &r.id, i, m),
                destination: m.destination.clone(),
                readonly: !m.rw,
                propagation: m.propagation.clone(),
                non_recursive: m.non_recursive,
                readonly_non_recursive: m.readonly_non_recursive,
            }),
        }
    }
    (binds, tmpfs)
}

/// Claims made while a container is created: released once its record is in the table,
/// and undone (claims dropped, anonymous volumes made for it removed) if creation fails.
pub(crate) struct ClaimGuard {
    volumes: Arc<VolumeService>,
    id: String,
    fresh_anonymous: Vec<String>,
    armed: bool,
}

impl ClaimGuard {
    /// Creation succeeded: the container is now a user of its volumes.
    pub fn keep(mut self) {
        self.armed = false;
        self.volumes.release(&self.id);
    }
}

impl Drop for ClaimGuard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        self.volumes.release(&self.id);
        let (volumes, names) = (
            self.volumes.clone(),
            std::mem::take(&mut self.fresh_anonymous),
        );
        if names.is_empty() {
            return;
        }
        tokio::spawn(async move {
            for n in names {
                if let Err(e) = volumes.remove_if_unused(&n).await {
                    tracing::warn!(volume = %n, error = %e, "removing the volume of a failed create");
                }
            }
        });
    }
}

impl ContainerService {
    /// Resolves the mounts of a container being created (dockerd's `registerMountPoints`,
    /// then the config's volumes): `--volumes-from` first, then binds and `--mount`s
    /// (overriding the same destination), then an anonymous volume for each `VOLUME` of
    /// the image and of the config that nothing else mounts.
    pub(crate) async fn resolve_mounts(
        &self,
        id: &str,
        hc: &HostConfig,
        config: &ContainerConfig,
    ) -> Result<(Vec<MountRecord>, ClaimGuard)> {
        let mut from = Vec::new();
        for v in hc.volumes_from.iter().flatten() {
            let (key, rw) = mounts::parse_volumes_from(v)?;
            let c = self.get(&key).map_err(|e| Error::invalid(e.to_string()))?;
            from.push((c.view().mount_records(), rw));
        }
        let specs = mounts::from_host_config(hc)?;
        let volumes = self.volumes.clone();
        let (id, hc, config) = (id.to_string(), hc.clone(), config.clone());
        let mut guard = ClaimGuard {
            volumes: volumes.clone(),
            id: id.clone(),
            fresh_anonymous: Vec::new(),
            armed: true,
        };
        let (records, fresh) = tokio::task::spawn_blocking(move || {
            let mut fresh = Vec::new();
            let res = claim_all(&volumes, &id, &hc, &config, from, specs, &mut fresh);
            (res, fresh)
        })
        .await
        .map_err(Error::task("mounts"))?;
        guard.fresh_anonymous = fresh;
        Ok((records?, guard))
    }

    /// Starting: every volume of the container is mounted (refs, driver mounts, events),
    /// an interrupted copy-up is redone, and sub-paths are bound. The rootfs is mounted.
    pub(crate) async fn attach_volumes(&self, r: &ContainerRecord) -> Result<()> {
        let mounts = r.mount_records();
        if !mounts.iter().any(|m| m.kind == MountKind::Volume) {
            mounts::create_sources(&mounts)?;
            return check_propagation(&mounts);
        }
        let volumes = self.volumes.clone();
        let exec_root = self.cfg.exec_root.clone();
        let rootfs = self.paths(&r.id).rootfs();
        let id = r.id.clone();
        let m2 = mounts.clone();
        tokio::task::spawn_blocking(move || attach(&volumes, &exec_root, &rootfs, &id, &m2))
            .await
            .map_err(Error::task("volumes"))??;
        for m in mounts.iter().filter(|m| m.kind == MountKind::Volume) {
            let attrs = BTreeMap::from([
                ("driver".to_string(), m.driver.clone()),
                ("container".to_string(), r.id.clone()),
                ("destination".to_string(), m.destination.clone()),
                ("read/write".to_string(), m.rw.to_string()),
                ("propagation".to_string(), m.propagation.clone()),
            ]);
            self.events.publish("volume", "mount", &m.name, attrs);
        }
        mounts::create_sources(&mounts)?;
        check_propagation(&mounts)
    }

    /// Stopped (or failed to start): the container's volumes lose it as a ref (the last ref
    /// out unmounts a driver-mounted volume) and its sub-path binds go. Idempotent.
    pub(crate) async fn detach_volumes(&self, r: &ContainerRecord) {
        let mounts = r.mount_records();
        if !mounts.iter().any(|m| m.kind == MountKind::Volume) {
            return;
        }
        let volumes = self.volumes.clone();
        let dir = subpaths_dir(&self.cfg.exec_root, &r.id);
        let id = r.id.clone();
        let m2 = mounts.clone();
        let detached = tokio::task::spawn_blocking(move || {
            let mut detached = Vec::new();
            for m in m2.iter().filter(|m| m.kind == MountKind::Volume) {
                match volumes.unmount(&m.name, &id) {
                    Ok(true) => detached.push(m.clone()),
                    Ok(false) => {}
                    Err(e) => tracing::warn!(container_id = %id, volume = %m.name, error = %e, "unmounting volume"),
                }
            }
            unbind_subpaths(&dir);
            detached
        })
        .await
        .unwrap_or_default();
        for m in detached {
            let attrs = BTreeMap::from([
                ("driver".to_string(), m.driver.clone()),
                ("container".to_string(), r.id.clone()),
            ]);
            self.events.publish("volume", "unmount", &m.name, attrs);
        }
    }

    /// `rm -v`: removes the anonymous volumes of a removed container that no other
    /// container uses.
    pub(crate) async fn remove_anonymous_volumes(&self, r: &ContainerRecord) {
        for m in r.mount_records() {
            if m.kind != MountKind::Volume || m.named {
                continue;
            }
            if let Err(e) = self.volumes.remove_if_unused(&m.name).await {
                tracing::warn!(container_id = %r.id, volume = %m.name, error = %e, "removing an anonymous volume");
            }
        }
    }

    /// Unbinds the volume sub-paths of containers that do not run (any more), after a
    /// daemon restart: a crash can leave them behind.
    pub fn sweep_subpaths(&self) {
        let running: std::collections::HashSet<String> = self
            .all()
            .iter()
            .filter(|c| c.view().state.status().is_running())
            .map(|c| c.id.clone())
            .collect();
        let root = self.cfg.exec_root.join("subpaths");
        for e in std::fs::read_dir(&root).into_iter().flatten().flatten() {
            if !running.contains(&*e.file_name().to_string_lossy()) {
                unbind_subpaths(&e.path());
            }
        }
    }

    /// The volumes each running container has mounted, for the volume service after a
    /// daemon restart.
    pub fn running_volume_users(&self) -> Vec<(String, Vec<String>)> {
        self.all()
            .iter()
            .map(|c| c.view())
            .filter(|r| r.state.status().is_running())
            .map(|r| {
                let names = r
                    .mount_records()
                    .into_iter()
                    .filter(|m| m.kind == MountKind::Volume)
                    .map(|m| m.name)
                    .collect();
                (r.id.clone(), names)
            })
            .collect()
    }
}

/// The blocking half of [`ContainerService::resolve_mounts`].
fn claim_all(
    volumes: &VolumeService,
    id: &str,
    hc: &HostConfig,
    config: &ContainerConfig,
    from: Vec<(Vec<MountRecord>, bool)>,
    specs: Vec<mounts::MountSpec>,
    fresh: &mut Vec<String>,
) -> Result<Vec<MountRecord>> {
    let mut points: BTreeMap<String, MountRecord> = BTreeMap::new();
    for (records, rw) in from {
        for mut m in records {
            if m.kind == MountKind::Volume {
                volumes.claim_existing(&m.name, id)?;
            }
            m.rw = m.rw && rw;
            m.mode = String::new();
            m.copy_data = false;
            points.insert(m.destination.clone(), m);
        }
    }
    for spec in specs {
        let mut m = spec.record;
        if m.kind == MountKind::Volume {
            let name = (!m.name.is_empty()).then_some(m.name.as_str());
            let c = volumes.claim(
                name,
                &spec.driver,
                spec.volume_options,
                spec.volume_labels,
                id,
            )?;
            if name.is_none() {
                fresh.push(c.name.clone());
            }
            m.name = c.name;
            m.driver = c.driver;
            m.source = c.mountpoint.display().to_string();
        }
        points.insert(m.destination.clone(), m);
    }
    let tmpfs: Vec<String> = hc
        .tmpfs
        .iter()
        .flatten()
        .map(|(d, _)| mounts::clean_path(d))
        .collect();
    for dest in config
        .volumes
        .iter()
        .flatten()
        .map(|(d, _)| mounts::clean_path(d))
    {
        if points.contains_key(&dest) || tmpfs.contains(&dest) || dest == "/" {
            continue;
        }
        let c = volumes.claim(None, &hc.volume_driver, None, None, id)?;
        fresh.push(c.name.clone());
        points.insert(
            dest.clone(),
            MountRecord {
                name: c.name,
                driver: c.driver,
                source: c.mountpoint.display().to_string(),
                copy_data: true,
                ..anonymous(dest)
            },
        );
    }
    Ok(points.into_values().collect())
}

/// An anonymous volume at `dest`, as an image's `VOLUME` makes it (no mode, no propagation).
pub(crate) fn anonymous(dest: String) -> MountRecord {
    MountRecord {
        copy_data: true,
        ..mounts::base(MountKind::Volume, dest, true)
    }
}

/// Copy-up at create: the image's content at each copying volume's destination goes into
/// the volume if the volume is empty (dockerd's `populateVolumes`). The container's fresh
/// root filesystem is mounted in a private mount namespace for it, so nothing is left
/// mounted whatever happens. An image `VOLUME` over a file is refused, as dockerd does.
pub(crate) fn copy_up(
    store: Arc<store::Store>,
    volumes: Arc<VolumeService>,
    rec: &ContainerRecord,
    paths: &Paths,
) -> Result<()> {
    let wanted: Vec<MountRecord> = rec
        .mount_records()
        .into_iter()
        .filter(|m| m.kind == MountKind::Volume && m.copy_data)
        .collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let (id, target) = (rec.id.clone(), paths.rootfs());
    runtime::sys::in_private_mount_ns(move || -> Result<()> {
        super::rootfs::mount(&store, &id, &target)?;
        let res = populate_all(&volumes, &target, &wanted, false);
        let _ = runtime::sys::unmount(&target, false);
        res
    })
    .map_err(|source| Error::Mount {
        what: "copy-up: a private mount namespace".into(),
        source,
    })?
}

/// Copies (or, with `only_if_interrupted`, copies again) the rootfs content at each mount's
/// destination into its volume.
fn populate_all(
    volumes: &VolumeService,
    rootfs: &Path,
    wanted: &[MountRecord],
    only_if_interrupted: bool,
) -> Result<()> {
    let root = scope::open_root(rootfs).map_err(|e| Error::file(rootfs, e))?;
    for m in wanted {
        let flags = Flags::RDONLY | Flags::DIRECTORY;
        let src = match scope::open_in_root(root.as_fd(), m.destination.as_bytes(), flags) {
            Ok(fd) => fd,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue,
            Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => {
                // An image's (or the config's) VOLUME: anonymous, and without the `z` mode
                // an anonymous `-v /path` gets.
                if !m.named && m.mode.is_empty() {
                    return Err(Error::invalid(format!(
                        "cannot mount volume over existing file, file exists {}",
                        rootfs.join(m.destination.trim_start_matches('/')).display()
                    )));
                }
                continue;
            }
            Err(e) => return Err(Error::file(rootfs.join(&m.destination), e)),
        };
        volumes.populate(&m.name, src.as_fd(), only_if_interrupted)?;
    }
    Ok(())
}

/// The blocking half of [`ContainerService::attach_volumes`].
fn attach(
    volumes: &VolumeService,
    exec_root: &Path,
    rootfs: &Path,
    id: &str,
    mounts: &[MountRecord],
) -> Result<()> {
    let copying: Vec<MountRecord> = mounts
        .iter()
        .filter(|m| m.kind == MountKind::Volume && m.copy_data)
        .cloned()
        .collect();
    populate_all(volumes, rootfs, &copying, true)?;
    let dir = subpaths_dir(exec_root, id);
    for (i, m) in mounts.iter().enumerate() {
        if m.kind != MountKind::Volume {
            continue;
        }
        let data = volumes.mount(&m.name, id)?;
        if m.subpath.is_empty() {
            continue;
        }
        let root = scope::open_root(&data).map_err(|e| Error::file(&data, e))?;
        let sub =
            scope::open_in_root(root.as_fd(), m.subpath.as_bytes(), Flags::PATH).map_err(|e| {
                Error::invalid(format!(
                    "cannot access path {}: {e}",
                    data.join(&m.subpath).display()
                ))
            })?;
        let target = dir.join(i.to_string());
        std::fs::create_dir_all(&dir).map_err(|e| Error::file(&dir, e))?;
        let src = PathBuf::from(format!("/proc/self/fd/{}", sub.as_raw_fd()));
        // Through the fd: the directory (or file) opened inside the volume, whatever its
        // path leads to by now.
        let is_dir = std::fs::metadata(&src).map(|m| m.is_dir()).unwrap_or(true);
        let made = if is_dir {
            std::fs::create_dir_all(&target)
        } else {
            std::fs::write(&target, b"")
        };
        made.map_err(|e| Error::file(&target, e))?;
        runtime::sys::mount("none", &src, &target, &["bind".to_string()]).map_err(|source| {
            Error::Mount {
                what: format!("binding volume sub-path {}", target.display()),
                source,
            }
        })?;
    }
    Ok(())
}

/// A `shared` bind needs a shared source mount, a `slave` one a shared or slave one (dockerd's
/// `ensureShared`/`ensureSharedOrSlave`): otherwise the propagation asked for cannot happen.
fn check_propagation(mounts: &[MountRecord]) -> Result<()> {
    for m in mounts.iter().filter(|m| m.kind == MountKind::Bind) {
        let want_shared = matches!(m.propagation.as_str(), "shared" | "rshared");
        let want_slave = matches!(m.propagation.as_str(), "slave" | "rslave");
        if !want_shared && !want_slave {
            continue;
        }
        let (mp, shared, slave) = runtime::sys::mount_propagation(Path::new(&m.source))
            .map_err(|e| Error::file(&m.source, e))?;
        let what = if want_shared && !shared {
            "a shared mount"
        } else if want_slave && !shared && !slave {
            "a shared or slave mount"
        } else {
            continue;
        };
        return Err(Error::invalid(format!(
            "path {} is mounted on {} but it is not {what}",
            m.source,
            mp.display()
        )));
    }
    Ok(())
}

/// Unmounts and removes `<exec-root>/subpaths/<id>`.
fn unbind_subpaths(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        if let Err(err) = runtime::sys::unmount(&e.path(), true) {
            tracing::warn!(path = %e.path().display(), error = %err, "unbinding a volume sub-path");
        }
    }
    if let Err(e) = std::fs::remove_dir_all(dir) {
        tracing::warn!(path = %dir.display(), error = %e, "removing sub-path binds");
    }
}
