//! What containers do with volumes: claim them while being created (made on demand),
//! populate them from the image (copy-up), mount them while running (driver options:
//! mounted on the first start, unmounted after the last stop), and give them back.
//!
//! Copy-up is crash safe: the record is marked `populating` (one commit) before the first
//! byte is copied and unmarked (another commit) once everything is copied and synced to
//! disk. A volume still marked after a crash is emptied before its next use, and copied
//! again if that use asks for it: it is never used half filled.

use std::collections::BTreeMap;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::PathBuf;

use super::record::TABLE;
use super::{Result, VolumeError, VolumeService};

/// A volume a container is being created with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    pub name: String,
    pub driver: String,
    /// The data directory.
    pub mountpoint: PathBuf,
}

impl VolumeService {
    /// Creates (if needed) and claims a volume for container `container_id`, which is being
    /// created; `name` `None` makes an anonymous one. The claim lasts until [`Self::release`].
    pub fn claim(
        &self,
        name: Option<&str>,
        driver: &str,
        options: Option<BTreeMap<String, String>>,
        labels: Option<BTreeMap<String, String>>,
        container_id: &str,
    ) -> Result<Claimed> {
        loop {
            let (rec, _) = self.create_blocking(name, driver, options.clone(), labels.clone())?;
            let mut st = self.state();
            // A removal between the creation and this lock: make it again.
            if !st.records.contains_key(&rec.name) {
                continue;
            }
            st.claims
                .entry(rec.name.clone())
                .or_default()
                .insert(container_id.to_string());
            return Ok(Claimed {
                mountpoint: self.driver.data(&rec.name),
                name: rec.name,
                driver: rec.driver,
            });
        }
    }

    /// Claims an existing volume (`--volumes-from`); a missing one is an error.
    pub fn claim_existing(&self, name: &str, container_id: &str) -> Result<Claimed> {
        let mut st = self.state();
        let rec = st
            .records
            .get(name)
            .cloned()
            .ok_or_else(|| VolumeError::NotFound(name.to_string()))?;
        st.claims
            .entry(rec.name.clone())
            .or_default()
            .insert(container_id.to_string());
        Ok(Claimed {
            mountpoint: self.driver.data(&rec.name),
            name: rec.name,
            driver: rec.driver,
        })
    }

    /// Drops every claim of `container_id`: its record now exists (and makes it a user), or
    /// its creation failed.
    pub fn release(&self, container_id: &str) {
        let mut st = self.state();
        st.claims.retain(|_, ids| {
            ids.remove(container_id);
            !ids.is_empty()
        });
    }

    /// Copies the directory `source` (the image's content at the mount point) into volume
    /// `name` if the volume is empty — or, with `only_if_interrupted`, only if an earlier
    /// copy-up was cut short by a crash. Returns whether it copied.
    pub fn populate(
        &self,
        name: &str,
        source: BorrowedFd<'_>,
        only_if_interrupted: bool,
    ) -> Result<bool> {
        let _one = self.copy_up.lock().unwrap_or_else(|e| e.into_inner());
        let rec = self
            .state()
            .records
            .get(name)
            .cloned()
            .ok_or_else(|| VolumeError::NotFound(name.to_string()))?;
        if only_if_interrupted && !rec.populating {
            return Ok(false);
        }
        let data_path = self.driver.data(name);
        let data = oci::layer::scope::open_root(&data_path)
            .map_err(VolumeError::io(name, "opening", &data_path))?;
        if rec.populating {
            self.empty_interrupted(name)?;
        } else if !oci::layer::scope::is_empty_dir(data.as_fd())
            .map_err(VolumeError::io(name, "reading", &data_path))?
        {
            return Ok(false);
        }
        self.set_populating(name, true)?;
        let t0 = std::time::Instant::now();
        let stats =
            oci::layer::copy_tree(source, data.as_fd()).map_err(|source| VolumeError::CopyUp {
                name: name.to_string(),
                source: Box::new(source),
            })?;
        // Everything on disk before the mark goes: a power cut must not leave a volume
        // marked complete with files the disk never got.
        oci::layer::scope::sync_fs(data.as_fd())
            .map_err(VolumeError::io(name, "syncing", &data_path))?;
        self.set_populating(name, false)?;
        tracing::debug!(volume = %name, files = stats.files, bytes = stats.bytes, elapsed_ms = t0.elapsed().as_millis() as u64, "copy-up");
        Ok(true)
    }

    /// Empties a volume whose copy-up a crash cut short (the caller holds `copy_up`).
    fn empty_interrupted(&self, name: &str) -> Result<()> {
        tracing::warn!(volume = %name, "emptying a volume whose copy-up a crash interrupted");
        let data_path = self.driver.data(name);
        let data = oci::layer::scope::open_root(&data_path)
            .map_err(VolumeError::io(name, "opening", &data_path))?;
        oci::layer::scope::empty_dir(data.as_fd())
            .map_err(VolumeError::io(name, "emptying", &data_path))
    }

    fn set_populating(&self, name: &str, on: bool) -> Result<()> {
        let mut st = self.state();
        let Some(rec) = st.records.get_mut(name) else {
            return Err(VolumeError::NotFound(name.to_string()));
        };
        let mut updated = rec.clone();
        updated.populating = on;
        self.store
            .db()
            .write(|tx| tx.put(TABLE, name, &updated))
            .map_err(VolumeError::meta(name))?;
        *rec = updated;
        Ok(())
    }

    /// Makes volume `name` ready for container `container_id` to start with: empties it if a
    /// copy-up was interrupted (and nobody copied it again), mounts its filesystem if it has
    /// driver options and nobody mounted it yet, and counts the container as a ref. Returns
    /// the directory to bind into the container.
    pub fn mount(&self, name: &str, container_id: &str) -> Result<PathBuf> {
        let rec = self
            .state()
            .records
            .get(name)
            .cloned()
            .ok_or_else(|| VolumeError::NotFound(name.to_string()))?;
        if rec.populating {
            let _one = self.copy_up.lock().unwrap_or_else(|e| e.into_inner());
            self.empty_interrupted(name)?;
            self.set_populating(name, false)?;
        }
        let mut st = self.state();
        let refs = st.refs.entry(name.to_string()).or_default();
        if refs.is_empty() {
            if let Some(opts) = super::local::MountOpts::of(rec.options.as_ref()) {
                if let Err(e) = self.driver.mount(name, &opts) {
                    st.refs.remove(name);
                    return Err(e);
                }
            }
        }
        refs.insert(container_id.to_string());
        Ok(self.driver.data(name))
    }

    /// The container stopped: it is no longer a ref (returns whether it was one); the last
    /// ref out unmounts a volume's filesystem.
    pub fn unmount(&self, name: &str, container_id: &str) -> Result<bool> {
        let mut st = self.state();
        let Some(refs) = st.refs.get_mut(name) else {
            return Ok(false);
        };
        if !refs.remove(container_id) {
            return Ok(false);
        }
        if refs.is_empty() {
            st.refs.remove(name);
            let mounted = st.records.get(name).is_some_and(|r| r.has_options());
            drop(st);
            if mounted {
                self.driver.unmount(name)?;
            }
        }
        Ok(true)
    }

    /// After a daemon restart: `running` lists, for each container still running, the
    /// volumes it has mounted. Their refs are counted again; a volume's filesystem left
    /// mounted with no running container is unmounted (no mount outlives its users).
    pub fn restore_refs(&self, running: &[(String, Vec<String>)]) {
        let mut st = self.state();
        for (id, names) in running {
            for n in names
                .iter()
                .filter(|n| st.records.contains_key(*n))
                .cloned()
                .collect::<Vec<_>>()
            {
                st.refs.entry(n).or_default().insert(id.clone());
            }
        }
        let idle: Vec<String> = st
            .records
            .values()
            .filter(|r| r.has_options() && !st.refs.contains_key(&r.name))
            .map(|r| r.name.clone())
            .collect();
        drop(st);
        for name in idle {
            if self.driver.is_mounted(&name) {
                if let Err(e) = self.driver.unmount(&name) {
                    tracing::warn!(volume = %name, error = %e, "unmounting an unused volume");
                }
            }
        }
    }

    /// Removes the directories of volumes that have no record (a crash between a removal's
    /// commit and its rename).
    pub fn sweep_orphans(&self) {
        let known: std::collections::HashSet<String> =
            self.state().records.keys().cloned().collect();
        let dirs = std::fs::read_dir(self.driver.root()).into_iter().flatten();
        for e in dirs.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if known.contains(&name) || self.driver.is_mounted(&name) {
                continue;
            }
            match self.driver.remove_dirs(&name, &self.trash) {
                Ok(()) => {
                    tracing::info!(volume = %name, "removed the directory of a volume without a record")
                }
                Err(e) => tracing::warn!(volume = %name, error = %e, "sweeping a volume directory"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::usage::{Resource, UsageIndex, User};

    struct NoUsers;

    impl UsageIndex for NoUsers {
        fn users(&self, _: Resource<'_>) -> Vec<User> {
            Vec::new()
        }
    }

    fn service(root: &std::path::Path) -> VolumeService {
        let store = store::Store::open(root, store::StoreOptions::default()).unwrap();
        VolumeService::open(
            Arc::new(store),
            root,
            crate::events::EventBus::default(),
            Arc::new(NoUsers),
        )
        .unwrap()
    }

    fn image_dir(root: &std::path::Path) -> std::fs::File {
        let img = root.join("image-etc");
        std::fs::create_dir_all(img.join("sub")).unwrap();
        std::fs::write(img.join("passwd"), "root:x:0:0").unwrap();
        std::fs::write(img.join("sub/f"), "f").unwrap();
        std::fs::File::open(img).unwrap()
    }

    fn listing(dir: &std::path::Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn an_interrupted_copy_up_is_emptied_and_copied_again() {
        let tmp = tempfile::tempdir().unwrap();
        let src = image_dir(tmp.path());
        let svc = service(tmp.path());
        let v = svc.claim(Some("vol"), "", None, None, "c1").unwrap();
        assert!(svc.populate("vol", src.as_fd(), false).unwrap());
        assert_eq!(listing(&v.mountpoint), ["passwd", "sub"]);
        // A crash in the middle: marked, half filled (and some junk).
        svc.set_populating("vol", true).unwrap();
        std::fs::remove_dir_all(v.mountpoint.join("sub")).unwrap();
        std::fs::write(v.mountpoint.join("partial"), "x").unwrap();
        drop(svc);
        // The mark survives a restart of the service (it is in the database).
        let svc = service(tmp.path());
        assert!(svc.state().records["vol"].populating);
        // The next use that copies: emptied, copied again, unmarked.
        assert!(svc.populate("vol", src.as_fd(), true).unwrap());
        assert_eq!(listing(&v.mountpoint), ["passwd", "sub"]);
        assert!(!svc.state().records["vol"].populating);
        // Nothing interrupted: no second copy.
        assert!(!svc.populate("vol", src.as_fd(), true).unwrap());
        assert!(!svc.populate("vol", src.as_fd(), false).unwrap());
    }

    #[test]
    fn a_use_without_copy_up_empties_an_interrupted_volume() {
        let tmp = tempfile::tempdir().unwrap();
        let svc = service(tmp.path());
        let v = svc.claim(Some("vol"), "", None, None, "c1").unwrap();
        std::fs::write(v.mountpoint.join("half"), "x").unwrap();
        svc.set_populating("vol", true).unwrap();
        let path = svc.mount("vol", "c2").unwrap();
        assert_eq!(path, v.mountpoint);
        assert!(listing(&path).is_empty());
        assert!(!svc.state().records["vol"].populating);
        assert!(svc.unmount("vol", "c2").unwrap());
        assert!(!svc.unmount("vol", "c2").unwrap());
    }

    #[test]
    fn claims_and_refs_keep_a_volume_from_removal() {
        let tmp = tempfile::tempdir().unwrap();
        let svc = service(tmp.path());
        svc.claim(Some("vol"), "", None, None, "c1").unwrap();
        let err = svc.remove_blocking("vol", false).unwrap_err();
        assert!(err.to_string().contains("volume is in use - [c1]"), "{err}");
        svc.release("c1");
        svc.mount("vol", "c2").unwrap();
        assert!(svc.remove_blocking("vol", false).is_err());
        svc.unmount("vol", "c2").unwrap();
        svc.remove_blocking("vol", false).unwrap();
        assert!(!tmp.path().join("volumes/vol").exists());
        assert!(matches!(
            svc.remove_blocking("vol", false),
            Err(VolumeError::NotFound(_))
        ));
    }
}
