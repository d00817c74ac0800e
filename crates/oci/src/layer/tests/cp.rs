//! The `docker cp` side of the layer code: plain archives out ([`archive_entry`]) and in
//! ([`WhiteoutMode::Keep`], `no_overwrite_dir_non_dir`, `chown`), hostile input included.

use std::fs;
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;

use super::{Fixture, Tar};
use crate::layer::*;

fn cp_opts() -> ApplyOptions {
    ApplyOptions {
        whiteouts: WhiteoutMode::Keep,
        no_overwrite_dir_non_dir: true,
        ..ApplyOptions::default()
    }
}

fn names(tar: &[u8]) -> Vec<String> {
    let mut a = tar::Archive::new(tar);
    a.entries()
        .unwrap()
        .map(|e| String::from_utf8_lossy(&e.unwrap().path_bytes()).into_owned())
        .collect()
}

#[test]
fn whiteout_names_are_plain_files_in_a_copy() {
    let fx = Fixture::new();
    let mut t = Tar::new();
    t.file(".wh.config", b"kept").file("d/.wh..wh..opq", b"too");
    apply(&t.finish()[..], &fx.target, &cp_opts()).unwrap();
    assert_eq!(fs::read(fx.target.join(".wh.config")).unwrap(), b"kept");
    assert_eq!(fs::read(fx.target.join("d/.wh..wh..opq")).unwrap(), b"too");
    fx.untouched();
}

#[test]
fn no_overwrite_dir_non_dir_refuses_both_ways() {
    let fx = Fixture::new();
    fs::create_dir(fx.target.join("dir")).unwrap();
    fs::write(fx.target.join("file"), b"x").unwrap();
    let err = apply(
        &Tar::new().file("dir", b"x").finish()[..],
        &fx.target,
        &cp_opts(),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("cannot overwrite directory \"dir\" with non-directory"),
        "{err}"
    );
    let err = apply(
        &Tar::new().dir("file/").finish()[..],
        &fx.target,
        &cp_opts(),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("cannot overwrite non-directory"),
        "{err}"
    );
    assert!(fx.target.join("dir").is_dir() && fx.target.join("file").is_file());
    // Without the option, as dockerd without noOverwriteDirNonDir: replaced.
    let opts = ApplyOptions {
        no_overwrite_dir_non_dir: false,
        ..cp_opts()
    };
    apply(
        &Tar::new().file("dir", b"now a file").finish()[..],
        &fx.target,
        &opts,
    )
    .unwrap();
    assert!(fx.target.join("dir").is_file());
}

#[test]
fn chown_overrides_the_tar_owner() {
    let fx = Fixture::new();
    let opts = ApplyOptions {
        chown: Some((1234, 5678)),
        ..cp_opts()
    };
    let mut t = Tar::new();
    t.dir("d/").file("d/f", b"x").symlink("d/l", "f");
    apply(&t.finish()[..], &fx.target, &opts).unwrap();
    for p in ["d", "d/f", "d/l"] {
        let m = fs::symlink_metadata(fx.target.join(p)).unwrap();
        assert_eq!((m.uid(), m.gid()), (1234, 5678), "{p}");
    }
}

#[test]
fn hostile_copies_stay_inside() {
    let fx = Fixture::new();
    let outside = fx.outside.to_str().unwrap().to_string();
    let mut t = Tar::new();
    t.symlink("abs", &outside)
        .file("abs/victim", b"pwned")
        .symlink("up", "../../../../../..")
        .file("up/escaped", b"pwned")
        .hardlink("hl", &format!("{outside}/victim"));
    let _ = apply(&t.finish()[..], &fx.target, &cp_opts());
    fx.untouched();
}

#[test]
fn archive_entry_names_entries_like_dockerd() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    fs::create_dir_all(root.join("etc/sub")).unwrap();
    fs::write(root.join("etc/passwd"), b"root").unwrap();
    fs::write(root.join("etc/sub/x"), b"x").unwrap();
    std::os::unix::fs::symlink("/etc/passwd", root.join("link")).unwrap();
    let dir = fs::File::open(root).unwrap();
    let etc = fs::File::open(root.join("etc")).unwrap();
    let (tar, stats) = archive_entry(dir.as_fd(), b"etc", b"etc", Vec::new()).unwrap();
    assert_eq!(stats.files, 2);
    assert_eq!(names(&tar), ["etc/", "etc/passwd", "etc/sub/", "etc/sub/x"]);
    let (tar, _) = archive_entry(etc.as_fd(), b".", b".", Vec::new()).unwrap();
    assert_eq!(names(&tar), ["./", "./passwd", "./sub/", "./sub/x"]);
    let (tar, _) = archive_entry(etc.as_fd(), b".", b"renamed", Vec::new()).unwrap();
    assert_eq!(names(&tar)[0], "renamed/");
    // A symlink is archived as a link, not followed.
    let (tar, _) = archive_entry(dir.as_fd(), b"link", b"link", Vec::new()).unwrap();
    let mut a = tar::Archive::new(&tar[..]);
    let e = a.entries().unwrap().next().unwrap().unwrap();
    assert_eq!(e.header().entry_type(), tar::EntryType::Symlink);
    assert_eq!(&*e.link_name_bytes().unwrap(), b"/etc/passwd");
    // The root keeps a leading slash, as dockerd sends it.
    let (tar, _) = archive_entry(etc.as_fd(), b".", b"/", Vec::new()).unwrap();
    assert_eq!(names(&tar), ["/", "/passwd", "/sub/", "/sub/x"]);
    // Long names survive through PAX records.
    let long = "n".repeat(150);
    fs::write(root.join("etc/sub").join(&long), b"l").unwrap();
    let (tar, _) = archive_entry(dir.as_fd(), b"etc", b"etc", Vec::new()).unwrap();
    assert!(names(&tar).contains(&format!("etc/sub/{long}")));
}
