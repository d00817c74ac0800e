//! The snapshotter conformance suite (after containerd's `core/snapshots/testsuite`): every
//! implementation runs it. It mounts the returned mounts for real — it needs root — and
//! checks overlay semantics, whiteouts and opaque directories. Mounts are undone by a guard
//! even when an assertion fails.

use std::fs;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustix::mount::{
    mount, mount_bind_recursive, mount_remount, unmount, MountFlags, UnmountFlags,
};

use super::*;
use crate::db::MetaDb;

/// Mounts a snapshot's mounts on a directory and unmounts them on drop.
pub(crate) struct Mounted {
    target: PathBuf,
    layers: usize,
}

impl Mounted {
    pub(crate) fn new(mounts: &[Mount], target: &Path) -> io::Result<Mounted> {
        fs::create_dir_all(target)?;
        let mut m = Mounted {
            target: target.to_path_buf(),
            layers: 0,
        };
        for mnt in mounts {
            if mnt.is_bind() {
                mount_bind_recursive(mnt.source.as_str(), target)?;
                m.layers += 1;
                if mnt.is_readonly() {
                    mount_remount(target, MountFlags::BIND | MountFlags::RDONLY, "")?;
                }
            } else {
                let flags = if mnt.is_readonly() {
                    MountFlags::RDONLY
                } else {
                    MountFlags::empty()
                };
                let data = std::ffi::CString::new(mnt.data()).map_err(io::Error::other)?;
                mount(
                    mnt.source.as_str(),
                    target,
                    mnt.kind.as_str(),
                    flags,
                    Some(data.as_c_str()),
                )?;
                m.layers += 1;
            }
        }
        Ok(m)
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        for _ in 0..self.layers {
            let _ = unmount(&self.target, UnmountFlags::DETACH);
        }
    }
}

fn labels() -> Labels {
    Labels::new()
}

/// The suite, for any snapshotter `make` builds in a fresh directory.
fn suite(make: impl Fn(&Path) -> Box<dyn Snapshotter>) {
    let tmp = tempfile::tempdir().unwrap();
    let sn = make(&tmp.path().join("sn"));
    let mnt = tmp.path().join("mnt");

    // A base layer, unpacked straight into the active snapshot's directory.
    let m = sn.prepare("extract-1", None, labels()).unwrap();
    assert_eq!(m.len(), 1);
    let base = sn.fs_dir("extract-1").unwrap();
    fs::create_dir_all(base.join("etc")).unwrap();
    fs::write(base.join("etc/passwd"), b"root:x:0:0").unwrap();
    fs::write(base.join("etc/gone"), b"x").unwrap();
    fs::create_dir_all(base.join("var/cache")).unwrap();
    fs::write(base.join("var/cache/old"), b"old").unwrap();
    {
        // A parentless active snapshot mounts read-write.
        let _g = Mounted::new(&m, &mnt).unwrap();
        fs::write(mnt.join("via-mount"), b"m").unwrap();
    }
    assert!(base.join("via-mount").exists());
    sn.commit("layer-1", "extract-1", labels()).unwrap();
    assert_eq!(sn.stat("layer-1").unwrap().kind, Kind::Committed);
    assert!(matches!(
        sn.stat("extract-1"),
        Err(SnapshotError::NotFound { .. })
    ));

    // A container on top: overlay semantics, whiteouts and opaque dirs land in the upper dir.
    let m = sn.prepare("ctr", Some("layer-1"), labels()).unwrap();
    assert_eq!(m[0].kind, "overlay");
    {
        let _g = Mounted::new(&m, &mnt).unwrap();
        assert_eq!(fs::read(mnt.join("etc/passwd")).unwrap(), b"root:x:0:0");
        fs::write(mnt.join("etc/passwd"), b"root:x:0:0\napp").unwrap();
        fs::remove_file(mnt.join("etc/gone")).unwrap();
        fs::remove_dir_all(mnt.join("var/cache")).unwrap();
        fs::create_dir(mnt.join("var/cache")).unwrap();
        fs::write(mnt.join("var/cache/new"), b"new").unwrap();
    }
    let upper = sn.fs_dir("ctr").unwrap();
    let gone = fs::symlink_metadata(upper.join("etc/gone")).unwrap();
    assert!(
        gone.file_type().is_char_device() && gone.rdev() == 0,
        "whiteout is a 0/0 char device"
    );
    let mut v = [0u8; 1];
    let n = rustix::fs::getxattr(
        upper.join("var/cache"),
        "trusted.overlay.opaque",
        &mut v[..],
    )
    .unwrap();
    assert_eq!(&v[..n], b"y");
    // The lower layer is untouched.
    assert_eq!(fs::read(base.join("etc/passwd")).unwrap(), b"root:x:0:0");
    assert!(base.join("etc/gone").exists());
    let u = sn.usage("ctr").unwrap();
    assert!(u.size >= 14 && u.inodes >= 5, "{u:?}");
    sn.commit("layer-2", "ctr", labels()).unwrap();

    // Views: one parent is a read-only bind, two are a read-only overlay.
    let v1 = sn.view("view-1", Some("layer-1"), labels()).unwrap();
    assert!(v1[0].is_bind() && v1[0].is_readonly());
    {
        let _g = Mounted::new(&v1, &mnt).unwrap();
        assert!(mnt.join("etc/gone").exists());
        let err = fs::write(mnt.join("x"), b"").unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EROFS));
    }
    let v2 = sn.view("view-2", Some("layer-2"), labels()).unwrap();
    assert_eq!(v2[0].kind, "overlay");
    {
        let _g = Mounted::new(&v2, &mnt).unwrap();
        assert!(!mnt.join("etc/gone").exists(), "whited out");
        assert_eq!(
            fs::read(mnt.join("etc/passwd")).unwrap(),
            b"root:x:0:0\napp"
        );
        let names: Vec<_> = fs::read_dir(mnt.join("var/cache"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec!["new"], "opaque dir hides the lower content");
        assert!(fs::write(mnt.join("x"), b"").is_err());
    }

    // Errors.
    assert!(matches!(
        sn.prepare("ctr2", Some("view-1"), labels()),
        Err(SnapshotError::ParentNotCommitted { .. })
    ));
    assert!(matches!(
        sn.prepare("ctr2", Some("nope"), labels()),
        Err(SnapshotError::NotFound { .. })
    ));
    assert!(matches!(
        sn.prepare("view-1", None, labels()),
        Err(SnapshotError::AlreadyExists { .. })
    ));
    assert!(matches!(
        sn.commit("x", "layer-1", labels()),
        Err(SnapshotError::NotActive { .. })
    ));
    assert!(matches!(
        sn.mounts("layer-1"),
        Err(SnapshotError::NotActive { .. })
    ));
    assert!(matches!(
        sn.prepare("", None, labels()),
        Err(SnapshotError::InvalidKey { .. })
    ));
    let e = sn.remove("layer-1").unwrap_err();
    assert!(
        matches!(e, SnapshotError::HasChildren { children: 2, .. }),
        "{e}"
    );
    assert_eq!(e.kind(), crate::ErrorKind::Conflict);

    let mut keys = Vec::new();
    sn.walk(&mut |i| keys.push((i.key.clone(), i.kind, i.parent.clone())))
        .unwrap();
    keys.sort();
    assert_eq!(
        keys,
        vec![
            ("layer-1".into(), Kind::Committed, None),
            ("layer-2".into(), Kind::Committed, Some("layer-1".into())),
            ("view-1".into(), Kind::View, Some("layer-1".into())),
            ("view-2".into(), Kind::View, Some("layer-2".into())),
        ]
    );

    // Removal, children first, takes the directories with it.
    let dir2 = sn.fs_dir("layer-2").unwrap();
    for k in ["view-1", "view-2", "layer-2", "layer-1"] {
        sn.remove(k).unwrap();
    }
    assert!(!dir2.exists() && !base.exists());
    let mut n = 0;
    sn.walk(&mut |_| n += 1).unwrap();
    assert_eq!(n, 0);
}

#[test]
fn overlay_snapshotter_conforms() {
    suite(|dir| {
        fs::create_dir_all(dir).unwrap();
        let db = Arc::new(MetaDb::open(&dir.join("meta.redb")).unwrap());
        Box::new(OverlaySnapshotter::open(&dir.join("snapshots"), db).unwrap())
    });
}

#[test]
fn oci_layers_with_whiteouts_stack_as_overlay_lowers() {
    let tmp = tempfile::tempdir().unwrap();
    let db = Arc::new(MetaDb::open(&tmp.path().join("meta.redb")).unwrap());
    let sn = OverlaySnapshotter::open(&tmp.path().join("snapshots"), db).unwrap();
    let layer = |entries: &[(&str, &[u8])]| {
        let mut b = tar::Builder::new(Vec::new());
        for (name, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_entry_type(if name.ends_with('/') {
                tar::EntryType::Directory
            } else {
                tar::EntryType::Regular
            });
            b.append_data(&mut h, name, *data).unwrap();
        }
        b.into_inner().unwrap()
    };
    let opts = oci::layer::ApplyOptions::default();
    sn.prepare("x1", None, labels()).unwrap();
    let l1 = layer(&[
        ("a/", b""),
        ("a/keep", b"k"),
        ("a/del", b"d"),
        ("o/", b""),
        ("o/hidden", b"h"),
    ]);
    oci::layer::apply(&l1[..], &sn.fs_dir("x1").unwrap(), &opts).unwrap();
    sn.commit("l1", "x1", labels()).unwrap();
    sn.prepare("x2", Some("l1"), labels()).unwrap();
    let l2 = layer(&[
        ("a/.wh.del", b""),
        ("o/", b""),
        ("o/.wh..wh..opq", b""),
        ("o/shown", b"s"),
    ]);
    oci::layer::apply(&l2[..], &sn.fs_dir("x2").unwrap(), &opts).unwrap();
    sn.commit("l2", "x2", labels()).unwrap();
    let m = sn.view("v", Some("l2"), labels()).unwrap();
    let mnt = tmp.path().join("mnt");
    let _g = Mounted::new(&m, &mnt).unwrap();
    assert!(mnt.join("a/keep").exists());
    assert!(!mnt.join("a/del").exists());
    let names: Vec<_> = fs::read_dir(mnt.join("o"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec!["shown"]);
}
