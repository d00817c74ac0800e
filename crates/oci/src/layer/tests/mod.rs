//! Layer apply/diff/changes tests, hostile tars included. They run as root (mknod, chown,
//! trusted.* xattrs), as CI does.

use std::fs;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;

use tar::{EntryType, Header};

use super::*;

mod cp;
mod hostile;
use crate::digest::{Algorithm, HashingReader};

/// A tar writer that puts names in headers verbatim (the `tar` crate's builder refuses `..`,
/// which is exactly what hostile tars contain).
pub(crate) struct Tar {
    out: Vec<u8>,
}

impl Tar {
    pub(crate) fn new() -> Tar {
        Tar { out: Vec::new() }
    }

    fn long(&mut self, kind: u8, value: &[u8]) {
        let mut data = value.to_vec();
        data.push(0);
        let mut h = Header::new_gnu();
        h.as_old_mut().name[..13].copy_from_slice(b"././@LongLink");
        h.set_entry_type(EntryType::new(kind));
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        self.push(&h, &data);
    }

    fn push(&mut self, h: &Header, data: &[u8]) {
        self.out.extend_from_slice(h.as_bytes());
        self.out.extend_from_slice(data);
        let pad = (512 - data.len() % 512) % 512;
        self.out.extend(std::iter::repeat_n(0u8, pad));
    }

    /// A PAX header applying to the next entry.
    pub(crate) fn pax(&mut self, records: &[(&str, &[u8])]) -> &mut Self {
        let mut body = Vec::new();
        for (k, v) in records {
            let inner = k.len() + v.len() + 3;
            let mut len = inner + 1;
            while len.to_string().len() + inner != len {
                len = len.to_string().len() + inner;
            }
            body.extend(format!("{len} {k}=").into_bytes());
            body.extend_from_slice(v);
            body.push(b'\n');
        }
        let mut h = Header::new_ustar();
        h.as_old_mut().name[..9].copy_from_slice(b"PaxHeader");
        h.set_entry_type(EntryType::XHeader);
        h.set_size(body.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        self.push(&h, &body);
        self
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn entry(
        &mut self,
        name: &str,
        kind: EntryType,
        mode: u32,
        ids: (u64, u64),
        data: &[u8],
        link: &str,
        dev: (u32, u32),
    ) -> &mut Self {
        if name.len() > 100 {
            self.long(b'L', name.as_bytes());
        }
        if link.len() > 100 {
            self.long(b'K', link.as_bytes());
        }
        let mut h = Header::new_gnu();
        let n = name.len().min(100);
        h.as_old_mut().name[..n].copy_from_slice(&name.as_bytes()[..n]);
        let l = link.len().min(100);
        h.as_old_mut().linkname[..l].copy_from_slice(&link.as_bytes()[..l]);
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_uid(ids.0);
        h.set_gid(ids.1);
        h.set_mtime(1_600_000_000);
        h.set_size(data.len() as u64);
        if matches!(kind, EntryType::Char | EntryType::Block) {
            h.set_device_major(dev.0).unwrap();
            h.set_device_minor(dev.1).unwrap();
        }
        h.set_cksum();
        self.push(&h, data);
        self
    }

    pub(crate) fn file(&mut self, name: &str, data: &[u8]) -> &mut Self {
        self.entry(name, EntryType::Regular, 0o644, (0, 0), data, "", (0, 0))
    }

    pub(crate) fn dir(&mut self, name: &str) -> &mut Self {
        self.entry(name, EntryType::Directory, 0o755, (0, 0), b"", "", (0, 0))
    }

    pub(crate) fn symlink(&mut self, name: &str, target: &str) -> &mut Self {
        self.entry(name, EntryType::Symlink, 0o777, (0, 0), b"", target, (0, 0))
    }

    pub(crate) fn hardlink(&mut self, name: &str, target: &str) -> &mut Self {
        self.entry(name, EntryType::Link, 0o644, (0, 0), b"", target, (0, 0))
    }

    pub(crate) fn finish(&mut self) -> Vec<u8> {
        let mut out = std::mem::take(&mut self.out);
        out.extend(std::iter::repeat_n(0u8, 1024));
        out
    }
}

/// A target dir next to an `outside` dir holding a victim file; `untouched` checks that the
/// outside is exactly as created.
pub(crate) struct Fixture {
    _tmp: tempfile::TempDir,
    pub(crate) target: std::path::PathBuf,
    pub(crate) outside: std::path::PathBuf,
}

impl Fixture {
    pub(crate) fn new() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("target");
        let outside = tmp.path().join("outside");
        fs::create_dir(&target).unwrap();
        fs::create_dir(&outside).unwrap();
        fs::write(outside.join("victim"), b"original").unwrap();
        Fixture {
            _tmp: tmp,
            target,
            outside,
        }
    }

    pub(crate) fn apply(&self, tar: &[u8]) -> Result<ApplyStats, ApplyError> {
        apply(tar, &self.target, &ApplyOptions::default())
    }

    pub(crate) fn untouched(&self) {
        let names: Vec<_> = fs::read_dir(&self.outside)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec!["victim"], "outside dir gained entries");
        assert_eq!(fs::read(self.outside.join("victim")).unwrap(), b"original");
        let parent = self.outside.parent().unwrap();
        let mut top: Vec<_> = fs::read_dir(parent)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        top.sort();
        assert_eq!(
            top,
            vec!["outside", "target"],
            "the temp dir gained entries"
        );
        let xattr = rustix::fs::lgetxattr(&self.outside, OPAQUE_XATTR, &mut [0u8; 4][..]);
        assert!(xattr.is_err(), "opaque xattr set outside");
    }
}

pub(crate) fn get_xattr(p: &Path, name: &str) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; 256];
    let n = rustix::fs::lgetxattr(p, name, &mut buf[..]).ok()?;
    buf.truncate(n);
    Some(buf)
}

#[test]
fn applies_every_entry_kind_with_metadata() {
    let fx = Fixture::new();
    let mut t = Tar::new();
    t.dir("./")
        .dir("bin/")
        .entry(
            "bin/su",
            EntryType::Regular,
            0o4755,
            (0, 0),
            b"setuid",
            "",
            (0, 0),
        )
        .entry(
            "home/app/f",
            EntryType::Regular,
            0o600,
            (1000, 1001),
            b"mine",
            "",
            (0, 0),
        )
        .symlink("bin/sh", "/bin/busybox")
        .hardlink("bin/su2", "bin/su")
        .entry("dev/null", EntryType::Char, 0o666, (0, 0), b"", "", (1, 3))
        .entry(
            "dev/loop9",
            EntryType::Block,
            0o660,
            (0, 6),
            b"",
            "",
            (7, 9),
        )
        .entry("run/fifo", EntryType::Fifo, 0o620, (0, 0), b"", "", (0, 0))
        .pax(&[
            ("SCHILY.xattr.user.test", b"v1"),
            (
                "SCHILY.xattr.security.capability",
                b"\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
            ),
        ])
        .file("bin/ping", b"ping");
    let stats = fx.apply(&t.finish()).unwrap();
    let r = &fx.target;
    let su = fs::metadata(r.join("bin/su")).unwrap();
    assert_eq!(su.mode() & 0o7777, 0o4755);
    assert_eq!(su.mtime(), 1_600_000_000);
    assert_eq!(su.nlink(), 2);
    assert_eq!(fs::metadata(r.join("bin/su2")).unwrap().ino(), su.ino());
    let f = fs::metadata(r.join("home/app/f")).unwrap();
    assert_eq!((f.uid(), f.gid(), f.mode() & 0o777), (1000, 1001, 0o600));
    assert_eq!(
        fs::read_link(r.join("bin/sh")).unwrap(),
        Path::new("/bin/busybox")
    );
    let null = fs::symlink_metadata(r.join("dev/null")).unwrap();
    assert!(null.file_type().is_char_device());
    assert_eq!(null.rdev(), rustix::fs::makedev(1, 3));
    assert_eq!(null.mode() & 0o777, 0o666);
    assert!(fs::symlink_metadata(r.join("dev/loop9"))
        .unwrap()
        .file_type()
        .is_block_device());
    assert!(fs::symlink_metadata(r.join("run/fifo"))
        .unwrap()
        .file_type()
        .is_fifo());
    assert_eq!(
        get_xattr(&r.join("bin/ping"), "user.test").as_deref(),
        Some(&b"v1"[..])
    );
    assert!(get_xattr(&r.join("bin/ping"), "security.capability").is_some());
    // Directory times survive the creation of their children.
    assert_eq!(fs::metadata(r.join("bin")).unwrap().mtime(), 1_600_000_000);
    assert_eq!(stats.files, 3);
    assert_eq!(stats.hardlinks, 1);
    assert_eq!(stats.devices, 3);
    assert_eq!(stats.file_bytes, 6 + 4 + 4);
    fx.untouched();
}

#[test]
fn whiteouts_become_overlay_devices_and_opaque_xattrs() {
    let fx = Fixture::new();
    let mut t = Tar::new();
    t.dir("etc/")
        .file("etc/gone", b"x")
        .entry(
            "etc/.wh.gone",
            EntryType::Regular,
            0o600,
            (5, 6),
            b"",
            "",
            (0, 0),
        )
        .entry(
            "etc/.wh.lower-only",
            EntryType::Regular,
            0o600,
            (0, 0),
            b"",
            "",
            (0, 0),
        )
        .dir("var/")
        .file("var/.wh..wh..opq", b"")
        .file("var/new", b"n")
        .file(".wh..wh.plnk", b"");
    let stats = fx.apply(&t.finish()).unwrap();
    for (name, owner) in [("etc/gone", (5, 6)), ("etc/lower-only", (0, 0))] {
        let m = fs::symlink_metadata(fx.target.join(name)).unwrap();
        assert!(m.file_type().is_char_device(), "{name}");
        assert_eq!(m.rdev(), 0);
        assert_eq!((m.uid(), m.gid()), owner);
    }
    assert!(!fx.target.join("etc/.wh.gone").exists());
    assert_eq!(
        get_xattr(&fx.target.join("var"), OPAQUE_XATTR).as_deref(),
        Some(&b"y"[..])
    );
    assert!(!fx.target.join("var/.wh..wh..opq").exists());
    assert!(!fx.target.join(".wh..wh.plnk").exists());
    assert_eq!((stats.whiteouts, stats.opaque_dirs), (2, 1));
}

#[test]
fn remove_mode_deletes_and_empties_opaque_dirs() {
    let fx = Fixture::new();
    let r = &fx.target;
    fs::create_dir_all(r.join("a/sub")).unwrap();
    fs::write(r.join("a/old"), b"").unwrap();
    fs::write(r.join("a/sub/deep"), b"").unwrap();
    fs::write(r.join("keep"), b"").unwrap();
    fs::write(r.join("gone"), b"").unwrap();
    let mut t = Tar::new();
    t.dir("a/")
        .file("a/new", b"")
        .file("a/.wh..wh..opq", b"")
        .file(".wh.gone", b"")
        .file(".wh.never-existed", b"");
    let opts = ApplyOptions {
        whiteouts: WhiteoutMode::Remove,
        ..ApplyOptions::default()
    };
    apply(&t.finish()[..], r, &opts).unwrap();
    assert!(r.join("a/new").exists());
    assert!(!r.join("a/old").exists() && !r.join("a/sub").exists());
    assert!(r.join("keep").exists() && !r.join("gone").exists());
    assert!(!r.join("never-existed").exists());
}

#[test]
fn the_whole_stream_is_read_so_the_diff_id_is_right() {
    let fx = Fixture::new();
    let mut data = Tar::new().file("a", b"hello").finish();
    data.extend(std::iter::repeat_n(0u8, 10 * 512)); // producers pad to a record size
    let mut r = HashingReader::new(&data[..], Algorithm::Sha256);
    fx.apply_reader(&mut r);
    let (_, d, n) = r.finish();
    assert_eq!(n, data.len() as u64);
    assert_eq!(d, crate::Digest::sha256_of(&data));
}

impl Fixture {
    fn apply_reader<R: Read>(&self, r: R) {
        apply(r, &self.target, &ApplyOptions::default()).unwrap();
    }
}

/// A comparable description of a tree: path, type, mode, owner, size, content hash, rdev,
/// symlink target, opaque flag.
fn snapshot(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            let m = fs::symlink_metadata(&p).unwrap();
            let rel = p.strip_prefix(root).unwrap().display().to_string();
            let extra = if m.file_type().is_symlink() {
                fs::read_link(&p).unwrap().display().to_string()
            } else if m.is_file() {
                crate::Digest::sha256_of(&fs::read(&p).unwrap()).to_string()
            } else if m.is_dir() {
                stack.push(p.clone());
                format!("opaque={:?}", get_xattr(&p, OPAQUE_XATTR))
            } else {
                format!("rdev={}", m.rdev())
            };
            let mtime = if m.is_dir() || m.file_type().is_char_device() {
                0
            } else {
                m.mtime()
            };
            out.push(format!(
                "{rel} {:o} {}:{} {mtime} {extra}",
                m.mode(),
                m.uid(),
                m.gid()
            ));
        }
    }
    out.sort();
    out
}

#[test]
fn diff_of_an_upper_dir_reapplies_to_the_same_tree() {
    let fx = Fixture::new();
    let mut t = Tar::new();
    t.dir("etc/")
        .file("etc/.wh.shadow", b"")
        .dir("var/")
        .file("var/.wh..wh..opq", b"")
        .file("var/log", b"l")
        .entry(
            "bin/tool",
            EntryType::Regular,
            0o2755,
            (3, 4),
            b"tool",
            "",
            (0, 0),
        )
        .hardlink("bin/tool2", "bin/tool")
        .symlink("bin/sh", "busybox")
        .entry("dev/zero", EntryType::Char, 0o666, (0, 0), b"", "", (1, 5))
        .pax(&[("SCHILY.xattr.user.k", b"v")])
        .file(&format!("long/{}", "x".repeat(150)), b"long name");
    fx.apply(&t.finish()).unwrap();
    let (layer, stats) = diff(&fx.target, Vec::new()).unwrap();
    assert_eq!((stats.whiteouts, stats.opaque_dirs), (1, 1));
    let names: Vec<String> = tar::Archive::new(&layer[..])
        .entries()
        .unwrap()
        .map(|e| String::from_utf8_lossy(&e.unwrap().path_bytes()).into_owned())
        .collect();
    assert!(names.contains(&"etc/.wh.shadow".to_string()), "{names:?}");
    assert!(names.contains(&"var/.wh..wh..opq".to_string()), "{names:?}");
    assert_eq!(
        names.iter().position(|n| n == "var/"),
        names
            .iter()
            .position(|n| n == "var/.wh..wh..opq")
            .map(|i| i - 1)
    );

    let again = tempfile::tempdir().unwrap();
    apply(&layer[..], again.path(), &ApplyOptions::default()).unwrap();
    assert_eq!(snapshot(&fx.target), snapshot(again.path()));
    assert_eq!(
        get_xattr(
            &again.path().join(format!("long/{}", "x".repeat(150))),
            "user.k"
        )
        .as_deref(),
        Some(&b"v"[..])
    );
    assert_eq!(
        fs::metadata(again.path().join("bin/tool2"))
            .unwrap()
            .nlink(),
        2
    );
}

#[test]
fn changes_report_like_docker_diff() {
    let tmp = tempfile::tempdir().unwrap();
    let (lower, upper) = (tmp.path().join("lower"), tmp.path().join("upper"));
    let mut t = Tar::new();
    t.dir("etc/")
        .file("etc/passwd", b"root")
        .file("etc/old", b"")
        .dir("usr/")
        .dir("usr/bin/")
        .file("usr/bin/x", b"");
    fs::create_dir(&lower).unwrap();
    fs::create_dir(&upper).unwrap();
    apply(&t.finish()[..], &lower, &ApplyOptions::default()).unwrap();
    // What a container's upper dir looks like after: edit etc/passwd, rm etc/old, add
    // tmp/new, and `rm -rf usr/bin; mkdir usr/bin` (opaque).
    let mut t = Tar::new();
    t.dir("etc/")
        .file("etc/passwd", b"root\napp")
        .file("etc/.wh.old", b"")
        .dir("tmp/")
        .file("tmp/new", b"")
        .dir("usr/")
        .dir("usr/bin/")
        .file("usr/bin/.wh..wh..opq", b"");
    apply(&t.finish()[..], &upper, &ApplyOptions::default()).unwrap();
    // Make upper's usr identical to the lower one, so it is not reported as a change itself.
    let lm = fs::metadata(lower.join("usr")).unwrap();
    fs::set_permissions(upper.join("usr"), lm.permissions()).unwrap();
    let got: Vec<String> = changes(&upper, &[lower])
        .unwrap()
        .into_iter()
        .map(|c| format!("{} {}", c.kind.letter(), c.path))
        .collect();
    assert_eq!(
        got,
        vec![
            "C /etc",
            "D /etc/old",
            "C /etc/passwd",
            "A /tmp",
            "A /tmp/new",
            "C /usr",
            "D /usr/bin"
        ]
    );
    let json = serde_json::to_string(&Change {
        path: "/a".into(),
        kind: ChangeKind::Add,
    })
    .unwrap();
    assert_eq!(json, r#"{"Path":"/a","Kind":1}"#);
}

#[test]
fn blank_numeric_fields_read_as_zero_like_go() {
    // tar::Header::new_gnu leaves uid/gid/mtime blank unless set; Docker (Go) reads 0.
    let mut b = tar::Builder::new(Vec::new());
    let mut h = Header::new_gnu();
    h.set_size(1);
    h.set_mode(0o640);
    h.set_entry_type(EntryType::Regular);
    b.append_data(&mut h, "f", &b"x"[..]).unwrap();
    let mut h = Header::new_gnu();
    h.set_entry_type(EntryType::Char);
    h.set_mode(0o600);
    h.set_size(0);
    b.append_data(&mut h, "c", &b""[..]).unwrap();
    let fx = Fixture::new();
    fx.apply(&b.into_inner().unwrap()).unwrap();
    let m = fs::metadata(fx.target.join("f")).unwrap();
    assert_eq!(
        (m.uid(), m.gid(), m.mode() & 0o777, m.mtime()),
        (0, 0, 0o640, 0)
    );
    assert_eq!(fs::symlink_metadata(fx.target.join("c")).unwrap().rdev(), 0);
    // Garbage in a numeric field is still an error naming the entry.
    let mut t = Tar::new().file("g", b"").finish();
    t[108..116].copy_from_slice(b"zz\0\0\0\0\0\0");
    let sum: u32 = t[..512]
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u32::from(b)
            }
        })
        .sum();
    t[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    let err = fx.apply(&t).unwrap_err();
    assert!(
        err.to_string().contains("\"g\"") && err.to_string().contains("uid"),
        "{err}"
    );
}

/// Interop with a real third-party tar: GNU tar's archive (long names, hard links, symlinks,
/// setgid dirs, PAX xattrs) applies to the same tree, and GNU tar reads our diff back.
#[test]
fn gnu_tar_archives_round_trip_through_apply_and_diff() {
    use std::process::Command;
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let deep = src.join(format!("d/{}/{}", "x".repeat(120), "y".repeat(120)));
    fs::create_dir_all(&deep).unwrap();
    fs::write(deep.join("file"), b"deep").unwrap();
    fs::write(src.join("d/exec"), b"#!/bin/sh").unwrap();
    fs::set_permissions(src.join("d/exec"), fs::Permissions::from_mode(0o4755)).unwrap();
    fs::set_permissions(src.join("d"), fs::Permissions::from_mode(0o2775)).unwrap();
    fs::hard_link(src.join("d/exec"), src.join("d/exec-link")).unwrap();
    std::os::unix::fs::symlink("../d/exec", src.join("d/sym")).unwrap();
    rustix::fs::setxattr(
        src.join("d/exec"),
        "user.gnu",
        b"yes",
        rustix::fs::XattrFlags::empty(),
    )
    .unwrap();
    let archive = tmp.path().join("layer.tar");
    let st = Command::new("tar")
        .args([
            "--xattrs",
            "--xattrs-include=user.*",
            "--format=posix",
            "-C",
        ])
        .arg(&src)
        .arg("-cf")
        .arg(&archive)
        .arg(".")
        .status()
        .unwrap();
    assert!(st.success());
    let dst = tmp.path().join("dst");
    fs::create_dir(&dst).unwrap();
    apply(
        &fs::read(&archive).unwrap()[..],
        &dst,
        &ApplyOptions::default(),
    )
    .unwrap();
    assert_eq!(snapshot(&src), snapshot(&dst));
    assert_eq!(
        get_xattr(&dst.join("d/exec"), "user.gnu").as_deref(),
        Some(&b"yes"[..])
    );
    assert_eq!(
        fs::metadata(dst.join("d/exec")).unwrap().ino(),
        fs::metadata(dst.join("d/exec-link")).unwrap().ino()
    );

    let (ours, _) = diff(&dst, Vec::new()).unwrap();
    let ours_path = tmp.path().join("ours.tar");
    fs::write(&ours_path, &ours).unwrap();
    let back = tmp.path().join("back");
    fs::create_dir(&back).unwrap();
    let st = Command::new("tar")
        .args([
            "--xattrs",
            "--xattrs-include=user.*",
            "--same-owner",
            "-p",
            "-C",
        ])
        .arg(&back)
        .arg("-xf")
        .arg(&ours_path)
        .status()
        .unwrap();
    assert!(st.success());
    assert_eq!(snapshot(&src), snapshot(&back));
    assert_eq!(
        get_xattr(&back.join("d/exec"), "user.gnu").as_deref(),
        Some(&b"yes"[..])
    );
}
