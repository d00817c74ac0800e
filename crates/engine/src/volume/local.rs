//! The `local` driver, as dockerd's: a volume is the directory
//! `<data-root>/volumes/<name>/_data`; with `--opt type=… device=… [o=…]` that directory is
//! the mount point of a filesystem (a tmpfs, a bind of a host path with `type=none o=bind`,
//! a block device), mounted when the first container using it starts and unmounted when the
//! last one stops. Everything here blocks.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use runtime::sys::is_mount_point;

use super::error::VolumeError;

/// The options the local driver takes (`--opt`).
const VALID_OPTS: &[&str] = &["type", "o", "device", "size"];

/// Where the local driver keeps its volumes.
#[derive(Debug, Clone)]
pub struct LocalDriver {
    root: PathBuf,
}

impl LocalDriver {
    /// The driver for `<data-root>/volumes`.
    pub fn new(data_root: &Path) -> LocalDriver {
        LocalDriver {
            root: data_root.join("volumes"),
        }
    }

    /// `<data-root>/volumes`.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `<data-root>/volumes/<name>`.
    pub fn dir(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// `<data-root>/volumes/<name>/_data`: what containers mount.
    pub fn data(&self, name: &str) -> PathBuf {
        self.dir(name).join("_data")
    }

    /// Makes the volume's directories (`<name>` 0701, `_data` 0755, as dockerd).
    pub fn create_dirs(&self, name: &str) -> Result<(), VolumeError> {
        use std::os::unix::fs::DirBuilderExt;
        let dir = self.dir(name);
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o701)
            .create(&dir)
            .map_err(VolumeError::io(name, "creating", &dir))?;
        let data = self.data(name);
        match std::fs::DirBuilder::new().mode(0o755).create(&data) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(VolumeError::io(name, "creating", &data)(e)),
        }
    }

    /// Moves the volume's directory into `trash` (one rename: the data is gone for good once
    /// the record is) and deletes it there. The data directory must not be mounted: a
    /// volume binding a host directory must never have that directory emptied.
    pub fn remove_dirs(&self, name: &str, trash: &Path) -> Result<(), VolumeError> {
        let data = self.data(name);
        if is_mount_point(&data) {
            runtime::sys::unmount(&data, false).map_err(|source| VolumeError::Unmount {
                path: data.clone(),
                source: Box::new(source),
            })?;
            if is_mount_point(&data) {
                return Err(VolumeError::io(name, "unmounting", &data)(
                    std::io::Error::other("still mounted"),
                ));
            }
        }
        let dir = self.dir(name);
        std::fs::create_dir_all(trash).map_err(VolumeError::io(name, "creating", trash))?;
        let stash = trash.join(format!("volume-{name}-{}", crate::clock::now_nanos()));
        match std::fs::rename(&dir, &stash) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(VolumeError::io(name, "moving to the trash", &dir)(e)),
        }
        std::fs::remove_dir_all(&stash).map_err(VolumeError::io(name, "removing", &stash))
    }

    /// Mounts the filesystem the options describe on the volume's data directory.
    pub fn mount(&self, name: &str, opts: &MountOpts) -> Result<(), VolumeError> {
        let data = self.data(name);
        if is_mount_point(&data) {
            return Ok(()); // left mounted by a daemon that died; in use again
        }
        let options: Vec<String> = opts
            .options
            .split(',')
            .filter(|o| !o.is_empty())
            .map(str::to_string)
            .collect();
        runtime::sys::mount(&opts.fstype, Path::new(&opts.device), &data, &options).map_err(
            |source| VolumeError::Mount {
                path: data.clone(),
                source: Box::new(source),
            },
        )
    }

    /// Unmounts the volume's data directory (not mounted is fine).
    pub fn unmount(&self, name: &str) -> Result<(), VolumeError> {
        let data = self.data(name);
        runtime::sys::unmount(&data, false).map_err(|source| VolumeError::Unmount {
            path: data.clone(),
            source: Box::new(source),
        })
    }

    /// Whether the volume's data directory is a mount point now.
    pub fn is_mounted(&self, name: &str) -> bool {
        is_mount_point(&self.data(name))
    }

    /// Bytes used below the volume's data directory, each hard-linked file once (moby's
    /// `directory.Size`).
    pub fn size(&self, name: &str) -> std::io::Result<i64> {
        dir_size(&self.data(name))
    }
}

/// What `--opt type=… device=… o=…` asks the driver to mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountOpts {
    pub fstype: String,
    pub device: String,
    pub options: String,
}

impl MountOpts {
    /// The mount the options describe; `None` for a plain directory.
    pub fn of(opts: Option<&BTreeMap<String, String>>) -> Option<MountOpts> {
        let opts = opts?;
        let (t, d) = (opts.get("type"), opts.get("device"));
        if t.is_none() && d.is_none() {
            return None;
        }
        Some(MountOpts {
            fstype: t.cloned().unwrap_or_default(),
            device: d.cloned().unwrap_or_default(),
            options: opts.get("o").cloned().unwrap_or_default(),
        })
    }
}

/// dockerd's `validateName` of the local driver.
pub fn validate_name(name: &str) -> Result<(), VolumeError> {
    let bad = |reason: String| VolumeError::InvalidName {
        name: name.to_string(),
        reason,
    };
    if name.len() == 1 {
        return Err(bad(
            "volume name is too short, names should be at least two alphanumeric characters".into(),
        ));
    }
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)) {
        return Err(bad(format!(
            "{name:?} includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path"
        )));
    }
    Ok(())
}

/// dockerd's `validateOpts` of the local driver (on a filesystem without project quotas).
pub fn validate_opts(
    name: &str,
    opts: Option<&BTreeMap<String, String>>,
) -> Result<(), VolumeError> {
    let Some(opts) = opts.filter(|o| !o.is_empty()) else {
        return Ok(());
    };
    let bad = |reason: String| VolumeError::InvalidOption {
        name: name.to_string(),
        reason,
    };
    if let Some(k) = opts.keys().find(|k| !VALID_OPTS.contains(&k.as_str())) {
        return Err(bad(format!("invalid option: {k:?}")));
    }
    if let Some(size) = opts.get("size") {
        let bytes = api_types::units::ram_in_bytes(size).map_err(bad)?;
        if bytes > 0 {
            return Err(bad("quota size requested but no quota support".into()));
        }
    }
    for (opt, required) in [
        ("device", &["type"][..]),
        ("type", &["device"][..]),
        ("o", &["device", "type"][..]),
    ] {
        if opts.contains_key(opt) {
            if let Some(r) = required.iter().find(|r| !opts.contains_key(**r)) {
                return Err(bad(format!("missing required option: {r:?}")));
            }
        }
    }
    Ok(())
}

/// Sum of the sizes of everything below `dir` but directories, hard links once; symlinks
/// are not followed.
fn dir_size(dir: &Path) -> std::io::Result<i64> {
    use std::os::unix::fs::MetadataExt;
    let mut seen = std::collections::HashSet::new();
    let mut total = 0i64;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)? {
            let e = e?;
            let m = match e.path().symlink_metadata() {
                Ok(m) => m,
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
                Err(err) => return Err(err),
            };
            if m.is_dir() {
                stack.push(e.path());
                continue;
            }
            if m.nlink() > 1 && !seen.insert((m.dev(), m.ino())) {
                continue;
            }
            total += m.size() as i64;
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_dockerd() {
        validate_name("data").unwrap();
        validate_name("a1_b.c-d").unwrap();
        let short = validate_name("a").unwrap_err().to_string();
        assert!(short.contains("too short"), "{short}");
        for bad in ["a/b", "..", "../x", "-x", ".hidden", "a b", "é"] {
            let e = validate_name(bad).unwrap_err().to_string();
            assert!(e.contains("includes invalid characters"), "{bad}: {e}");
        }
    }

    #[test]
    fn options_follow_dockerd() {
        let m = |kv: &[(&str, &str)]| -> BTreeMap<String, String> {
            kv.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        validate_opts("v", None).unwrap();
        validate_opts("v", Some(&m(&[("type", "tmpfs"), ("device", "tmpfs")]))).unwrap();
        let e = |kv| validate_opts("v", Some(&m(kv))).unwrap_err().to_string();
        assert!(e(&[("bogus", "1")]).contains("invalid option: \"bogus\""));
        assert!(e(&[("type", "tmpfs")]).contains("missing required option: \"device\""));
        assert!(e(&[("o", "size=1m"), ("device", "x")]).contains("missing required option"));
        assert!(e(&[("size", "10m")]).contains("no quota support"));
        assert_eq!(
            MountOpts::of(Some(&m(&[
                ("type", "tmpfs"),
                ("device", "tmpfs"),
                ("o", "size=1m")
            ]))),
            Some(MountOpts {
                fstype: "tmpfs".into(),
                device: "tmpfs".into(),
                options: "size=1m".into()
            })
        );
        assert_eq!(MountOpts::of(Some(&m(&[]))), None);
    }
}
