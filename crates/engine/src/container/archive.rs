//! `docker cp`: `HEAD`/`GET`/`PUT /containers/{id}/archive` — the stat of a path, a tar of
//! it, and a tar extracted into a directory — on running and stopped containers alike.
//!
//! Each operation works in a *view* of the container's filesystem, as dockerd's
//! `containerFSView`: a thread with a private mount namespace in which the container's root
//! filesystem is mounted (if it is not already) and its volumes, binds and network files are
//! bound at their destinations. The view dies with the thread, taking every mount with it,
//! whatever happens. Paths are resolved inside the root with the layer applier's confined
//! resolution (`openat2(RESOLVE_IN_ROOT)`): a symlink to `/` leads to the container's root,
//! never the host's; and what `PUT` writes goes through the applier, which cannot write
//! outside the directory it extracts to.

use std::io::{self, BufWriter, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use tokio::io::AsyncRead;
use tokio::sync::{mpsc, oneshot};

use api_types::volume::go_mode;
use api_types::ContainerPathStat;
use oci::layer::scope::{self, Flags};

use super::export::{ChanWriter, ExportStream};
use super::mounts::{MountKind, MountRecord};
use super::record::ContainerRecord;
use super::state::Status;
use super::{rootfs, ContainerService, Inner};
use crate::clock;
use crate::error::{Error, Result};
use crate::image::ChannelStream;
use crate::volume::VolumeService;

pub use super::archive_error::{ArchiveError, ViewError};

/// Options of [`ContainerService::extract_to_dir`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ExtractOptions {
    /// Refuse to replace a directory with a non-directory or the reverse.
    pub no_overwrite_dir_non_dir: bool,
    /// Give the files the container's USER (and its group) as owner.
    pub copy_uid_gid: bool,
}

/// Go's `filepath.Clean` of `/` + `path`, keeping a trailing `/` or `/.` as dockerd's
/// `PreserveTrailingDotOrSeparator` does.
pub(crate) fn abs_path(path: &str) -> String {
    let clean = super::mounts::clean_path(path);
    let dot = path == "." || path.ends_with("/.");
    if dot && clean != "/" {
        format!("{clean}/.")
    } else if dot {
        "/.".into()
    } else if path.ends_with('/') && clean != "/" {
        format!("{clean}/")
    } else {
        clean
    }
}

/// Go's `filepath.Base`.
fn base(path: &str) -> String {
    let t = path.trim_end_matches('/');
    if t.is_empty() {
        return if path.is_empty() { "." } else { "/" }.into();
    }
    t.rsplit('/').next().unwrap_or(t).to_string()
}

/// A bind of the view: a host path (or an fd's `/proc/self/fd` path) at a destination.
#[derive(Debug, Clone)]
struct ViewBind {
    source: PathBuf,
    destination: String,
    rw: bool,
    non_recursive: bool,
    subpath: String,
}

/// What a view of a container's filesystem is made of.
struct Plan {
    store: Arc<store::Store>,
    volumes: Arc<VolumeService>,
    id: String,
    rootfs: PathBuf,
    /// The rootfs is not mounted on the host: mount it in the view.
    mount_rootfs: bool,
    binds: Vec<ViewBind>,
    /// The ref under which the view holds the container's volumes.
    vol_ref: String,
    vol_names: Vec<String>,
}

impl Plan {
    /// Runs `work` with the root of the view, on the view's own thread; sends `Ok` on
    /// `ready` once the view is set up. Volumes are released when the work ends.
    fn run<T: Send + 'static>(
        self,
        ready: Option<oneshot::Sender<Result<(), Arc<ViewError>>>>,
        work: impl FnOnce(BorrowedFd<'_>, &Path) -> T + Send + 'static,
    ) -> std::thread::JoinHandle<Result<T, Arc<ViewError>>> {
        std::thread::spawn(move || {
            let res = runtime::sys::in_private_mount_ns(move || -> Result<T, Arc<ViewError>> {
                let root = match self.setup() {
                    Ok(root) => root,
                    Err(e) => {
                        let e = Arc::new(e);
                        if let Some(r) = ready {
                            let _ = r.send(Err(e.clone()));
                        }
                        self.release();
                        return Err(e);
                    }
                };
                if let Some(r) = ready {
                    let _ = r.send(Ok(()));
                }
                let out = work(root.as_fd(), &self.rootfs);
                drop(root);
                if self.mount_rootfs {
                    let _ = runtime::sys::unmount(&self.rootfs, true);
                }
                self.release();
                Ok(out)
            });
            res.map_err(|e| Arc::new(ViewError::Namespace(e)))?
        })
    }

    fn setup(&self) -> Result<OwnedFd, ViewError> {
        for name in &self.vol_names {
            self.volumes
                .mount(name, &self.vol_ref)
                .map_err(|source| ViewError::Volume {
                    name: name.clone(),
                    source,
                })?;
        }
        if self.mount_rootfs {
            rootfs::mount(&self.store, &self.id, &self.rootfs)
                .map_err(|e| ViewError::Rootfs(Box::new(e)))?;
        }
        let mut binds = self.binds.clone();
        binds.sort_by_key(|b| b.destination.split('/').filter(|c| !c.is_empty()).count());
        for b in &binds {
            bind(&self.rootfs, b).map_err(|source| ViewError::Bind {
                destination: b.destination.clone(),
                source,
            })?;
        }
        scope::open_root(&self.rootfs).map_err(ViewError::Root)
    }

    fn release(&self) {
        for name in &self.vol_names {
            if let Err(e) = self.volumes.unmount(name, &self.vol_ref) {
                tracing::warn!(volume = %name, error = %e, "releasing a volume after docker cp");
            }
        }
    }
}

/// Binds `b` at its destination inside the view's root (made if missing: a directory, or an
/// empty file for a file source).
fn bind(rootfs: &Path, b: &ViewBind) -> io::Result<()> {
    let mut source = b.source.clone();
    let _pinned: Option<OwnedFd> = if b.subpath.is_empty() {
        None
    } else {
        let vol = scope::open_root(&b.source)?;
        let fd = scope::open_in_root(vol.as_fd(), b.subpath.as_bytes(), Flags::PATH)?;
        source = PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()));
        Some(fd)
    };
    let is_dir = std::fs::metadata(&source)?.is_dir();
    let target = if is_dir {
        scope::mkdir_all_in_root(rootfs, b.destination.as_bytes())?
    } else {
        scope::touch_in_root(rootfs, b.destination.as_bytes())?
    };
    runtime::sys::bind_onto_fd(&source, target.as_fd(), b.non_recursive, !b.rw)
        .map_err(io::Error::other)?;
    Ok(())
}

/// The mount (volume or bind) `resolved` lies in, the deepest one.
fn mount_of<'a>(mounts: &'a [MountRecord], resolved: &str) -> Option<&'a MountRecord> {
    mounts
        .iter()
        .filter(|m| m.kind != MountKind::Tmpfs)
        .filter(|m| {
            resolved == m.destination
                || resolved.starts_with(&format!("{}/", m.destination.trim_end_matches('/')))
        })
        .max_by_key(|m| m.destination.len())
}

fn stat_of(st: &scope::PathStat, name: String, link_target: String) -> ContainerPathStat {
    ContainerPathStat {
        name,
        size: st.size,
        mode: go_mode::from_unix(st.mode),
        mtime: clock::rfc3339(st.mtime as i128 * 1_000_000_000 + st.mtime_nsec as i128),
        link_target,
    }
}

/// The stat the archive endpoints report for `path` (already made absolute).
fn path_stat(root: BorrowedFd<'_>, abs: &str, name: String) -> io::Result<ContainerPathStat> {
    let st = scope::lstat_in_root(root, abs.as_bytes())?;
    let target = if st.is_symlink() {
        String::from_utf8_lossy(&scope::follow_in_scope(root, abs.as_bytes())?).into_owned()
    } else {
        String::new()
    };
    Ok(stat_of(&st, name, target))
}

/// What making a view needs of the container service, to be moved into a task.
#[derive(Clone)]
struct ViewMaker {
    store: Arc<store::Store>,
    volumes: Arc<VolumeService>,
    data_root: PathBuf,
}

impl ViewMaker {
    /// The view of container `id`, whose live state is `inner` (held locked by the caller
    /// for as long as the view is used); refuses containers being removed.
    fn plan(&self, id: &str, inner: &Inner) -> Result<Plan> {
        if matches!(inner.record.state.status(), Status::Removing | Status::Dead) {
            return Err(Error::Conflict(format!(
                "container {id} is marked for removal"
            )));
        }
        let paths = super::record::Paths::new(&self.data_root, id);
        let mut binds = Vec::new();
        for (src, dest) in [
            (paths.resolv(), "/etc/resolv.conf"),
            (paths.hostname(), "/etc/hostname"),
            (paths.hosts(), "/etc/hosts"),
        ] {
            if src.exists() {
                binds.push(ViewBind {
                    source: src,
                    destination: dest.into(),
                    rw: true,
                    non_recursive: false,
                    subpath: String::new(),
                });
            }
        }
        let mounts = inner.record.mount_records();
        let mut vol_names = Vec::new();
        for m in mounts.iter().filter(|m| m.kind != MountKind::Tmpfs) {
            if m.kind == MountKind::Volume {
                vol_names.push(m.name.clone());
            } else if !Path::new(&m.source).exists() {
                continue;
            }
            binds.push(ViewBind {
                source: PathBuf::from(&m.source),
                destination: m.destination.clone(),
                rw: m.rw,
                non_recursive: m.non_recursive,
                subpath: m.subpath.clone(),
            });
        }
        Ok(Plan {
            store: self.store.clone(),
            volumes: self.volumes.clone(),
            id: id.to_string(),
            rootfs: paths.rootfs(),
            mount_rootfs: !inner.mounted,
            binds,
            vol_ref: format!("{id}:cp:{}", clock::now_nanos()),
            vol_names,
        })
    }
}

impl ContainerService {
    fn view_maker(&self) -> ViewMaker {
        ViewMaker {
            store: self.store.clone(),
            volumes: self.volumes.clone(),
            data_root: self.cfg.data_root.clone(),
        }
    }

    /// `HEAD /containers/{id}/archive?path=`: the stat of `path` (a final symlink is not
    /// followed; its target, resolved inside the container, is `linkTarget`).
    #[tracing::instrument(skip(self))]
    pub async fn stat_path(&self, key: &str, path: &str) -> Result<ContainerPathStat> {
        let c = self.get(key)?;
        let held = c.inner.lock().await;
        let plan = self.view_maker().plan(&c.id, &held)?;
        let (abs, name) = (abs_path(path), base(path));
        let res = join(plan.run(None, move |root, _| path_stat(root, &abs, name))).await?;
        res.map_err(|e| not_found_or(e, path, key))
    }

    /// `GET /containers/{id}/archive?path=`: the stat of `path` and a tar of it (a directory
    /// with everything below it, named after the path's last component).
    #[tracing::instrument(skip(self))]
    pub async fn archive_path(
        &self,
        key: &str,
        path: &str,
    ) -> Result<(ContainerPathStat, ExportStream)> {
        let c = self.get(key)?;
        let abs = abs_path(path);
        let (stat_tx, stat_rx) = oneshot::channel();
        let (tx, rx) = mpsc::channel(16);
        let (ready_tx, ready_rx) = oneshot::channel::<Result<()>>();
        let (maker, c2) = (self.view_maker(), c.clone());
        // As dockerd, the container stays locked (no start, stop or removal) until the whole
        // tar is read: a task holds the lock for the life of the view.
        tokio::spawn(async move {
            let held = c2.inner.lock().await;
            let plan = match maker.plan(&c2.id, &held) {
                Ok(p) => p,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            let (view_tx, view_rx) = oneshot::channel();
            let id = c2.id.clone();
            let handle = plan.run(Some(view_tx), move |root, _| {
                let stat = match path_stat(root, &abs, base(&abs)) {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = stat_tx.send(Err(e));
                        return;
                    }
                };
                let is_dir = stat.mode & go_mode::DIR != 0;
                let _ = stat_tx.send(Ok(stat));
                if let Err(e) = write_tar(root, &abs, is_dir, &tx) {
                    tracing::warn!(container_id = %id, error = %e, "docker cp: archive failed");
                    let _ = tx.blocking_send(Err(e));
                }
            });
            let ready = match view_rx.await {
                Ok(r) => r.map_err(Error::from),
                Err(_) => Err(Error::Panicked("docker cp view thread")),
            };
            let _ = ready_tx.send(ready);
            if let Err(e) = join(handle).await {
                tracing::warn!(container_id = %c2.id, error = %e, "docker cp: view");
            }
            drop(held);
        });
        ready_rx
            .await
            .unwrap_or_else(|_| Err(Error::Panicked("docker cp view task")))?;
        let stat = match stat_rx.await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Err(not_found_or(e, path, key)),
            Err(_) => return Err(Error::Panicked("docker cp view thread")),
        };
        let record = c.view();
        self.publish(&record, "archive-path");
        Ok((stat, ChannelStream(rx)))
    }

    /// `PUT /containers/{id}/archive?path=`: extracts the (possibly compressed) tar `body`
    /// into the directory `path` (symlinks on the way, the last one too, followed inside the
    /// container).
    #[tracing::instrument(skip(self, body))]
    pub async fn extract_to_dir<R>(
        &self,
        key: &str,
        path: &str,
        opts: ExtractOptions,
        body: R,
    ) -> Result<()>
    where
        R: AsyncRead + Send + Unpin + 'static,
    {
        let c = self.get(key)?;
        let held = c.inner.lock().await;
        let plan = self.view_maker().plan(&c.id, &held)?;
        let record = held.record.clone();
        let abs = abs_path(path);
        let reader = tokio_util::io::SyncIoBridge::new(body);
        let res = join(plan.run(None, move |root, rootfs| {
            extract(root, rootfs, &abs, &record, opts, reader)
        }))
        .await?;
        drop(held);
        match res {
            Ok(()) => {
                self.publish(&c.view(), "extract-to-dir");
                Ok(())
            }
            Err(ArchiveError::Io { source, .. }) if source.raw_os_error() == Some(libc::ENOENT) => {
                Err(ArchiveError::NotFound {
                    path: path.to_string(),
                    container: key.to_string(),
                }
                .into())
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// Waits for a view thread without blocking the runtime.
async fn join<T: Send + 'static>(
    h: std::thread::JoinHandle<Result<T, Arc<ViewError>>>,
) -> Result<T> {
    tokio::task::spawn_blocking(move || h.join())
        .await
        .map_err(Error::task("docker cp"))?
        .map_err(|_| Error::Panicked("docker cp view thread"))?
        .map_err(Error::from)
}

/// `ENOENT` is dockerd's "Could not find the file"; anything else an internal error.
fn not_found_or(e: io::Error, path: &str, container: &str) -> Error {
    if e.raw_os_error() == Some(libc::ENOENT) {
        ArchiveError::NotFound {
            path: path.to_string(),
            container: container.to_string(),
        }
        .into()
    } else {
        ArchiveError::Io {
            what: "lstat",
            path: path.to_string(),
            source: e,
        }
        .into()
    }
}

/// Streams the tar of `abs` into `tx`: a directory as `<base>/…` (the `.` of a directory
/// path ending in `/.` as `./…`), anything else as one entry.
fn write_tar(
    root: BorrowedFd<'_>,
    abs: &str,
    is_dir: bool,
    tx: &mpsc::Sender<io::Result<Bytes>>,
) -> io::Result<()> {
    let rebase = base(abs);
    let out = BufWriter::with_capacity(1 << 20, ChanWriter(tx.clone()));
    let (mut out, _) = if is_dir {
        let dir = scope::open_in_root(root, abs.as_bytes(), Flags::RDONLY | Flags::DIRECTORY)?;
        oci::layer::archive_entry(dir.as_fd(), b".", rebase.as_bytes(), out)
    } else {
        let (dir, name) = scope::open_parent_in_root(root, abs.as_bytes())?;
        oci::layer::archive_entry(dir.as_fd(), &name, rebase.as_bytes(), out)
    }
    .map_err(io::Error::other)?;
    out.flush()
}

/// The blocking half of `extract_to_dir`, in the view.
fn extract<R: io::Read + Send>(
    root: BorrowedFd<'_>,
    rootfs: &Path,
    abs: &str,
    record: &ContainerRecord,
    opts: ExtractOptions,
    body: R,
) -> Result<(), ArchiveError> {
    let io_err = |what| {
        let path = abs.to_string();
        move |source| ArchiveError::Io { what, path, source }
    };
    let dir = match scope::open_in_root(root, abs.as_bytes(), Flags::PATH | Flags::DIRECTORY) {
        Ok(fd) => fd,
        Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => {
            // The path itself is not a directory (a missing parent is ENOENT).
            return match scope::open_in_root(root, abs.as_bytes(), Flags::PATH) {
                Ok(_) => Err(ArchiveError::NotADirectory),
                Err(e) => Err(io_err("resolving")(e)),
            };
        }
        Err(e) => return Err(io_err("resolving")(e)),
    };
    let resolved = String::from_utf8_lossy(
        &scope::follow_in_scope(root, abs.as_bytes()).map_err(io_err("resolving"))?,
    )
    .into_owned();
    match mount_of(&record.mount_records(), &resolved) {
        Some(m) if !m.rw => return Err(ArchiveError::ReadOnlyVolume),
        Some(_) => {}
        None if record.host_config.readonly_rootfs => return Err(ArchiveError::ReadOnlyRootfs),
        None => {}
    }
    let chown = if opts.copy_uid_gid && !record.config.user.is_empty() {
        let u = runtime::spec::user::resolve(rootfs, &record.config.user, &[])
            .map_err(ArchiveError::User)?;
        Some((u.uid, u.gid))
    } else {
        None
    };
    let (_, body) = oci::compression::decompress(body)?;
    let apply = oci::layer::ApplyOptions {
        whiteouts: oci::layer::WhiteoutMode::Keep,
        same_owner: true,
        xattrs: true,
        chown,
        no_overwrite_dir_non_dir: opts.no_overwrite_dir_non_dir,
    };
    let target = PathBuf::from(format!("/proc/self/fd/{}", dir.as_raw_fd()));
    oci::layer::apply(body, &target, &apply)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_keep_their_trailing_dot_or_slash() {
        assert_eq!(abs_path("etc/passwd"), "/etc/passwd");
        assert_eq!(abs_path("/etc/"), "/etc/");
        assert_eq!(abs_path("/etc/."), "/etc/.");
        assert_eq!(abs_path("/etc/../etc/./x"), "/etc/x");
        assert_eq!(abs_path("/"), "/");
        assert_eq!(abs_path("."), "/.");
        assert_eq!(base("/etc/"), "etc");
        assert_eq!(base("/etc/."), ".");
        assert_eq!(base("/"), "/");
        assert_eq!(base("passwd"), "passwd");
    }

    #[test]
    fn writes_land_in_the_deepest_mount() {
        let m = |d: &str, rw| MountRecord {
            rw,
            ..super::super::volumes::anonymous(d.into())
        };
        let mounts = [m("/data", true), m("/data/ro", false)];
        assert!(mount_of(&mounts, "/data/x").unwrap().rw);
        assert!(!mount_of(&mounts, "/data/ro").unwrap().rw);
        assert!(!mount_of(&mounts, "/data/ro/y").unwrap().rw);
        assert!(mount_of(&mounts, "/database").is_none());
    }
}
