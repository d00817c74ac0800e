//! Hostile tars: every way a layer could try to write outside its target, and malformed input.

use std::fs;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};

use tar::EntryType;

use super::{get_xattr, Fixture, Tar};
use crate::layer::*;

#[test]
fn dot_dot_escapes_are_refused_and_write_nothing_outside() {
    for name in [
        "../outside/evil",
        "a/../../outside/evil",
        "/../outside/evil",
        "./../evil",
    ] {
        let fx = Fixture::new();
        let err = fx
            .apply(&Tar::new().file(name, b"pwned").finish())
            .unwrap_err();
        assert!(
            matches!(err, ApplyError::Breakout { which: "path", .. }),
            "{name}: {err}"
        );
        assert!(
            err.to_string().contains("escapes the target directory"),
            "{err}"
        );
        fx.untouched();
    }
}

#[test]
fn absolute_names_land_inside_the_target() {
    let fx = Fixture::new();
    fx.apply(&Tar::new().file("/etc/passwd", b"root").finish())
        .unwrap();
    assert_eq!(fs::read(fx.target.join("etc/passwd")).unwrap(), b"root");
    fx.untouched();
}

#[test]
fn symlinks_in_parents_stay_confined_to_the_target() {
    let fx = Fixture::new();
    let outside = fx.outside.to_str().unwrap();
    let inner = fx.target.join(outside.trim_start_matches('/'));
    let mut t = Tar::new();
    t.dir(&format!("{}/", outside.trim_start_matches('/')))
        .dir("outside/")
        .symlink("abs", outside)
        .file("abs/victim", b"pwned")
        .symlink("rel", "../../../../../../../..")
        .file("rel/escaped", b"pwned")
        .symlink("rel2", "../outside")
        .file("rel2/new", b"pwned");
    fx.apply(&t.finish()).unwrap();
    fx.untouched();
    // Resolved as if the target were `/`.
    assert_eq!(fs::read(inner.join("victim")).unwrap(), b"pwned");
    assert_eq!(fs::read(fx.target.join("escaped")).unwrap(), b"pwned");
    assert_eq!(fs::read(fx.target.join("outside/new")).unwrap(), b"pwned");
    // A symlink whose target is missing inside the root is not a parent to write through.
    let fx = Fixture::new();
    let err = fx
        .apply(
            &Tar::new()
                .symlink("dang", outside)
                .file("dang/victim", b"pwned")
                .finish(),
        )
        .unwrap_err();
    assert!(err.to_string().contains("dang/victim"), "{err}");
    fx.untouched();
}

#[test]
fn a_file_replaces_a_symlink_instead_of_writing_through_it() {
    let fx = Fixture::new();
    let victim = fx.outside.join("victim");
    let mut t = Tar::new();
    t.symlink("f", victim.to_str().unwrap()).file("f", b"new");
    fx.apply(&t.finish()).unwrap();
    fx.untouched();
    let m = fs::symlink_metadata(fx.target.join("f")).unwrap();
    assert!(m.file_type().is_file());
    assert_eq!(fs::read(fx.target.join("f")).unwrap(), b"new");
    // The same for directories, devices and hard links.
    let mut t = Tar::new();
    t.symlink("d", fx.outside.to_str().unwrap())
        .dir("d/")
        .file("d/x", b"");
    t.symlink("n", victim.to_str().unwrap()).entry(
        "n",
        EntryType::Fifo,
        0o644,
        (0, 0),
        b"",
        "",
        (0, 0),
    );
    fx.apply(&t.finish()).unwrap();
    fx.untouched();
    assert!(fs::symlink_metadata(fx.target.join("d")).unwrap().is_dir());
}

#[test]
fn hard_links_cannot_reach_outside() {
    let fx = Fixture::new();
    let err = fx
        .apply(&Tar::new().hardlink("h", "../outside/victim").finish())
        .unwrap_err();
    assert!(
        matches!(
            err,
            ApplyError::Breakout {
                which: "hard link target",
                ..
            }
        ),
        "{err}"
    );
    // Through a symlink: resolved inside the target, where the file does not exist.
    let mut t = Tar::new();
    t.symlink("s", fx.outside.to_str().unwrap())
        .hardlink("h", "s/victim");
    let err = fx.apply(&t.finish()).unwrap_err();
    assert!(
        err.to_string().contains("hard link target does not exist"),
        "{err}"
    );
    // To a symlink pointing outside: the link is to the symlink itself.
    let mut t = Tar::new();
    t.symlink("s2", fx.outside.join("victim").to_str().unwrap())
        .hardlink("h2", "s2")
        .file("h2", b"replaced");
    fx.apply(&t.finish()).unwrap();
    fx.untouched();
    assert!(fs::symlink_metadata(fx.target.join("s2"))
        .unwrap()
        .file_type()
        .is_symlink());
    // To a directory: refused.
    let err = fx
        .apply(&Tar::new().dir("dd/").hardlink("hd", "dd").finish())
        .unwrap_err();
    assert!(
        err.to_string().contains("hard link to a directory"),
        "{err}"
    );
    fx.untouched();
}

#[test]
fn whiteouts_and_opaque_markers_cannot_reach_outside() {
    let fx = Fixture::new();
    let outside = fx.outside.to_str().unwrap();
    // The symlink resolves inside the target, where nothing exists: refused, nothing touched.
    assert!(fx
        .apply(
            &Tar::new()
                .symlink("s", outside)
                .file("s/.wh.victim", b"")
                .finish()
        )
        .is_err());
    assert!(fx
        .apply(
            &Tar::new()
                .symlink("s", outside)
                .file("s/.wh..wh..opq", b"")
                .finish()
        )
        .is_err());
    fx.untouched();
    // With the path present inside the target, the whiteout and the xattr land there.
    let mut t = Tar::new();
    t.dir(&format!("{}/", outside.trim_start_matches('/')))
        .symlink("s", outside)
        .file("s/.wh.victim", b"")
        .file("s/.wh..wh..opq", b"");
    fx.apply(&t.finish()).unwrap();
    fx.untouched();
    let inner = fx.target.join(outside.trim_start_matches('/'));
    assert!(fs::symlink_metadata(inner.join("victim"))
        .unwrap()
        .file_type()
        .is_char_device());
    assert_eq!(get_xattr(&inner, OPAQUE_XATTR).as_deref(), Some(&b"y"[..]));
    let opts = ApplyOptions {
        whiteouts: WhiteoutMode::Remove,
        ..ApplyOptions::default()
    };
    let mut t = Tar::new();
    t.symlink("s", fx.outside.to_str().unwrap())
        .file("s/.wh.victim", b"")
        .file("s/.wh..wh..opq", b"");
    apply(&t.finish()[..], &fx.target, &opts).unwrap();
    fx.untouched();
    for bad in ["x/.wh..", "x/.wh.", "../.wh.victim"] {
        let err = fx.apply(&Tar::new().file(bad, b"").finish()).unwrap_err();
        assert_eq!(
            err.kind(),
            crate::ErrorKind::InvalidArgument,
            "{bad}: {err}"
        );
    }
    fx.untouched();
}

#[test]
fn over_long_names_are_refused_by_name() {
    let fx = Fixture::new();
    let long = format!("d/{}", "n".repeat(300));
    let err = fx.apply(&Tar::new().file(&long, b"").finish()).unwrap_err();
    assert!(matches!(err, ApplyError::NameTooLong { .. }), "{err}");
    assert!(err.to_string().contains("d/nnnn"), "{err}");
    let deep = "abcdefgh/".repeat(600);
    let err = fx.apply(&Tar::new().file(&deep, b"").finish()).unwrap_err();
    assert!(matches!(err, ApplyError::NameTooLong { .. }), "{err}");
    // 255 is fine, through a GNU long name.
    let ok = format!("d/{}", "n".repeat(255));
    fx.apply(&Tar::new().file(&ok, b"x").finish()).unwrap();
    assert!(fx.target.join(&ok).exists());
}

#[test]
fn duplicate_entries_later_wins() {
    let fx = Fixture::new();
    let mut t = Tar::new();
    t.file("x", b"first")
        .file("x", b"second")
        .dir("d/")
        .file("d/child", b"")
        .file("d", b"now a file")
        .file("f", b"")
        .dir("f/")
        .file("f/inside", b"ok")
        .dir("m/")
        .file("m/a", b"")
        .entry("m/", EntryType::Directory, 0o700, (0, 0), b"", "", (0, 0));
    fx.apply(&t.finish()).unwrap();
    let r = &fx.target;
    assert_eq!(fs::read(r.join("x")).unwrap(), b"second");
    assert_eq!(fs::read(r.join("d")).unwrap(), b"now a file");
    assert_eq!(fs::read(r.join("f/inside")).unwrap(), b"ok");
    assert!(r.join("m/a").exists(), "dir over dir merges");
    assert_eq!(
        fs::metadata(r.join("m")).unwrap().permissions().mode() & 0o777,
        0o700
    );
}

#[test]
fn overlay_xattrs_from_the_tar_are_ignored() {
    let fx = Fixture::new();
    let mut t = Tar::new();
    t.pax(&[
        ("SCHILY.xattr.trusted.overlay.opaque", b"y"),
        ("SCHILY.xattr.trusted.overlay.redirect", b"/etc"),
    ])
    .dir("d/");
    let stats = fx.apply(&t.finish()).unwrap();
    assert_eq!(get_xattr(&fx.target.join("d"), OPAQUE_XATTR), None);
    assert_eq!(stats.xattrs_skipped, 2);
}

#[test]
fn garbage_and_truncated_input_fail_cleanly() {
    let fx = Fixture::new();
    let mut data = Tar::new().file("big", &[7u8; 5000]).finish();
    data.truncate(512 + 1000);
    let err = fx.apply(&data).unwrap_err();
    assert!(err.to_string().contains("big"), "{err}");
    let err = fx.apply(&[0x55u8; 2048][..]).unwrap_err();
    assert!(matches!(err, ApplyError::Read { .. }), "{err}");
    let err = apply(
        &b""[..],
        &fx.target.join("missing"),
        &ApplyOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, ApplyError::Target { .. }));
    fx.untouched();
}
