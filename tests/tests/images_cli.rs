//! The image commands print what the docker CLI prints: `commit`, `diff`, `export`, `save`,
//! `load`, `history`, `images`, `rmi`, `image prune`, `system df`, `system prune` run through
//! both `berth` and the real docker CLI against the same berthd, and their outputs, errors
//! and exit statuses are compared. Commands that change state are run once per client from
//! the same starting state.

use std::process::Output;

use berth_tests::compare::{result, same, same_timeless};
use berth_tests::images::{layered, scratch};
use berth_tests::Daemon;

fn daemon() -> Daemon {
    let d = Daemon::start().expect("start berthd");
    d.import_busybox().expect("import busybox");
    d
}

/// Runs `args` with the named client.
fn run(d: &Daemon, cli: &str, args: &[&str]) -> Output {
    if cli == "berth" {
        d.berth(args)
    } else {
        d.docker(args)
    }
}

#[test]
fn diff_commit_and_export_print_like_docker() {
    let d = daemon();
    d.docker_ok(&[
        "run",
        "--name",
        "ctr",
        "busybox",
        "sh",
        "-c",
        "echo hi > /root/new; rm /etc/group; mkdir -p /tmp/a/b; echo x > /tmp/a/b/f",
    ]);
    let diff = same(&d, &["diff", "ctr"]);
    assert_eq!(
        diff,
        "C /etc\nD /etc/group\nC /root\nA /root/new\nC /tmp\nA /tmp/a\nA /tmp/a/b\nA /tmp/a/b/f\n"
    );
    same(&d, &["container", "diff", "ctr"]);
    same(&d, &["diff", "nothere"]);
    same(&d, &["diff"]);
    same(&d, &["commit", "nothere"]);
    same(&d, &["commit", "ctr", "Bad:Name"]);
    same(
        &d,
        &[
            "commit",
            "ctr",
            "x@sha256:0123456789012345678901234567890123456789012345678901234567890123",
        ],
    );
    same(&d, &["commit", "-c", "BOGUS x", "ctr"]);
    same(&d, &["export", "nothere"]);
    same(&d, &["export", "-o", "/nonexistent/dir/x.tar", "ctr"]);
    // Both clients commit the same container: the same output, a new image each.
    for cli in ["berth", "docker"] {
        let out = result(&run(
            &d,
            cli,
            &[
                "commit",
                "-m",
                "msg",
                "-a",
                "me",
                "-c",
                "ENV A=1",
                "ctr",
                &format!("img:{cli}"),
            ],
        ));
        assert_eq!(out, ("sha256:<id>\n".into(), String::new(), Some(0)));
    }
    same(
        &d,
        &[
            "history",
            "--format",
            "{{.CreatedBy}}|{{.Size}}|{{.Comment}}",
            "img:berth",
        ],
    );
    same(
        &d,
        &[
            "inspect",
            "-f",
            "{{.Author}} {{.Comment}} {{.Config.Env}} {{len .RootFS.Layers}}",
            "img:docker",
        ],
    );
    // Export: the very same bytes through either client, to stdout or to a file.
    let b = d.berth(&["export", "ctr"]);
    let k = d.docker(&["export", "ctr"]);
    assert!(b.status.success() && k.status.success());
    assert!(b.stdout.len() > 1_000_000, "a busybox root is > 1 MB");
    assert!(b.stdout == k.stdout, "exports differ");
    for cli in ["berth", "docker"] {
        let f = scratch(&d, &format!("{cli}-export.tar"));
        let f = f.to_str().unwrap();
        assert!(run(&d, cli, &["export", "-o", f, "ctr"]).status.success());
        assert!(std::fs::read(f).unwrap() == b.stdout, "{cli} -o differs");
    }
}

#[test]
fn save_and_load_print_like_docker() {
    let d = daemon();
    same(&d, &["save", "nothere"]);
    same(&d, &["save", "-o", "/dev/null", "busybox"]);
    same(&d, &["save", "-o", "/nonexistent/x.tar", "busybox"]);
    same(&d, &["save"]);
    same(&d, &["load", "-i", "/nonexistent.tar"]);
    same(&d, &["load", "extra-arg"]);
    let junk = scratch(&d, "junk.tar");
    std::fs::write(&junk, b"this is not a tar archive at all, not even close").unwrap();
    let out = same(&d, &["load", "-i", junk.to_str().unwrap()]);
    assert!(out.is_empty(), "{out}");
    // A directory: both clients fail naming the read (their "error during connect" prefixes
    // differ: docker prints the URL it dialled).
    let dir = scratch(&d, "a-dir");
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.to_str().unwrap();
    for args in [vec!["load", "-i", p], vec!["import", p, "from-dir:1"]] {
        for cli in ["berth", "docker"] {
            let out = run(&d, cli, &args);
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success(), "{cli} {args:?}");
            assert!(
                err.contains(&format!("read {p}: is a directory")),
                "{cli} {args:?}: {err}"
            );
        }
    }
    // The archive is the same bytes through either client.
    let b = d.berth(&["save", "busybox"]);
    let k = d.docker(&["save", "busybox"]);
    assert!(
        b.status.success() && b.stdout == k.stdout,
        "save output differs"
    );
    let a = scratch(&d, "bb.tar");
    std::fs::write(&a, &b.stdout).unwrap();
    let a = a.to_str().unwrap();
    // Loading an image that is there already, then after removing it.
    assert_eq!(
        same(&d, &["load", "-i", a]),
        "Loaded image: busybox:latest\n"
    );
    for cli in ["berth", "docker"] {
        d.docker_ok(&["rmi", "busybox"]);
        let out = result(&run(&d, cli, &["load", "-q", "-i", a]));
        assert_eq!(
            out,
            (
                "Loaded image: busybox:latest\n".into(),
                String::new(),
                Some(0)
            )
        );
    }
    // An untagged image is reported by ID.
    let id = d.docker_ok(&["image", "inspect", "-f", "{{.Id}}", "busybox"]);
    let by_id = scratch(&d, "by-id.tar");
    d.docker_ok(&["save", "-o", by_id.to_str().unwrap(), &id]);
    for cli in ["berth", "docker"] {
        d.docker_ok(&["rmi", "busybox"]);
        let out = result(&run(&d, cli, &["load", "-i", by_id.to_str().unwrap()]));
        assert_eq!(
            out,
            (
                "Loaded image ID: sha256:<id>\n".into(),
                String::new(),
                Some(0)
            )
        );
        d.docker_ok(&["tag", &id, "busybox"]);
    }
}

#[test]
fn rmi_prune_and_df_print_like_docker() {
    let d = daemon();
    d.docker_ok(&["create", "--name", "user", "busybox", "true"]);
    // 409s naming the container that uses the image.
    let err = same(&d, &["rmi", "busybox"]);
    assert!(err.is_empty());
    let out = result(&d.berth(&["rmi", "busybox"]));
    assert!(
        out.1
            .contains("unable to remove repository reference \"busybox\" (must force) - container"),
        "{out:?}"
    );
    same(&d, &["rmi", "nothere"]);
    same(&d, &["rmi", "-f", "nothere"]);
    same_timeless(&d, &["system", "df"]);
    same_timeless(&d, &["system", "df", "-v"]);
    same(
        &d,
        &[
            "system",
            "df",
            "--format",
            "{{.Type}}: {{.TotalCount}} {{.Active}} {{.Size}} {{.Reclaimable}}",
        ],
    );
    same(&d, &["image", "prune", "-f"]);
    // A parent made by commit and untagged goes with its child; --no-prune keeps it.
    let mut seen = Vec::new();
    for cli in ["berth", "docker"] {
        let parent = layered(&d, "parent:1", "busybox", "echo 1 > /one");
        layered(&d, "child:1", "parent:1", "echo 2 > /two");
        d.docker_ok(&["rmi", "parent:1"]);
        let out = result(&run(&d, cli, &["rmi", "child:1"]));
        assert_eq!(
            out,
            (
                "Untagged: child:1\nDeleted: sha256:<id>\nDeleted: sha256:<id>\n".into(),
                String::new(),
                Some(0)
            ),
            "{cli}"
        );
        assert!(!d.docker(&["image", "inspect", &parent]).status.success());
        layered(&d, "parent:1", "busybox", "echo 1 > /one");
        layered(&d, "child:1", "parent:1", "echo 2 > /two");
        d.docker_ok(&["rmi", "parent:1"]);
        let out = result(&run(&d, cli, &["rmi", "--no-prune", "child:1"]));
        assert_eq!(out.0, "Untagged: child:1\nDeleted: sha256:<id>\n", "{cli}");
        // The kept parent is dangling now: image prune takes it.
        let out = result(&run(&d, cli, &["image", "prune", "-f"]));
        assert!(
            out.0
                .starts_with("Deleted Images:\ndeleted: sha256:<id>\n\nTotal reclaimed space: "),
            "{cli}: {out:?}"
        );
        seen.push(out);
    }
    assert_eq!(seen[0], seen[1]);
    // -a with a label filter: only the labelled, unused image goes.
    let mut seen = Vec::new();
    for cli in ["berth", "docker"] {
        d.docker_ok(&["run", "--name", "lab", "busybox", "true"]);
        d.docker_ok(&["commit", "-c", "LABEL drop=yes", "lab", "labelled:1"]);
        d.docker_ok(&["rm", "lab"]);
        let out = result(&run(
            &d,
            cli,
            &["image", "prune", "-a", "-f", "--filter", "label=drop=yes"],
        ));
        assert!(
            out.0
                .starts_with("Deleted Images:\nuntagged: labelled:1\ndeleted: sha256:<id>\n"),
            "{cli}: {out:?}"
        );
        assert!(d.docker(&["image", "inspect", "busybox"]).status.success());
        seen.push(out);
    }
    assert_eq!(seen[0], seen[1]);
    // system prune: stopped containers, then the dangling image.
    let mut seen = Vec::new();
    for cli in ["berth", "docker"] {
        d.docker_ok(&["rm", "-f", "user"]);
        d.docker_ok(&[
            "run",
            "--name",
            "gone",
            "busybox",
            "sh",
            "-c",
            "echo 3 > /three",
        ]);
        d.docker_ok(&["commit", "gone"]);
        let out = result(&run(&d, cli, &["system", "prune", "-f"]));
        assert!(
            out.0.starts_with("Deleted Containers:\n<id>\n\nDeleted Images:\ndeleted: sha256:<id>\n\nTotal reclaimed space: "),
            "{cli}: {out:?}"
        );
        seen.push(out);
    }
    assert_eq!(seen[0], seen[1]);
    same(
        &d,
        &["system", "prune", "-f", "--volumes", "--filter", "until=1h"],
    );
}

#[test]
fn history_and_images_list_like_docker() {
    let d = daemon();
    layered(&d, "mid:1", "busybox", "echo 1 > /one");
    layered(&d, "top:1", "mid:1", "echo 2 > /two; rm /one");
    d.docker_ok(&["rmi", "mid:1"]);
    for args in [
        &["history", "top:1"][..],
        &["history", "-H=false", "top:1"],
        &["history", "--no-trunc", "top:1"],
        &["images"],
        &["images", "-a"],
    ] {
        same_timeless(&d, args);
    }
    same(&d, &["history", "-q", "top:1"]);
    same(
        &d,
        &[
            "history",
            "--format",
            "{{.ID}}|{{.CreatedBy}}|{{.Size}}",
            "top:1",
        ],
    );
    same(&d, &["history", "--format", "json", "-H=false", "top:1"]);
    same(&d, &["images", "-a", "-q"]);
    same(&d, &["images", "-q"]);
    same(
        &d,
        &[
            "images",
            "--digests",
            "--format",
            "{{.Repository}} {{.Tag}} {{.Digest}}",
        ],
    );
    same(&d, &["images", "--filter", "dangling=true", "-q"]);
    same(
        &d,
        &[
            "images",
            "--filter",
            "dangling=false",
            "--format",
            "{{.Repository}}",
        ],
    );
    same(
        &d,
        &[
            "images",
            "--filter",
            "reference=to*",
            "--format",
            "{{.Repository}}:{{.Tag}}",
        ],
    );
    same(
        &d,
        &[
            "images",
            "--filter",
            "before=top:1",
            "--format",
            "{{.Repository}}",
        ],
    );
    same(&d, &["images", "--filter", "bogus=1"]);
    same(
        &d,
        &[
            "images",
            "--no-trunc",
            "-a",
            "--format",
            "{{.ID}} {{.Size}}",
        ],
    );
}

#[test]
fn load_reads_gzip_and_bzip2_compressed_archives() {
    let d = daemon();
    let tar = scratch(&d, "bb.tar");
    d.docker_ok(&["save", "-o", tar.to_str().unwrap(), "busybox"]);
    let id = d.docker_ok(&["image", "inspect", "-f", "{{.Id}}", "busybox"]);
    // `docker save busybox | gzip > bb.tar.gz`, and the same with bzip2.
    for (codec, ext) in [("gzip", "gz"), ("bzip2", "bz2")] {
        let packed = scratch(&d, &format!("bb.tar.{ext}"));
        let out = std::process::Command::new(codec)
            .arg("-c")
            .arg(&tar)
            .output()
            .expect("running the compressor");
        assert!(out.status.success(), "{codec} failed");
        std::fs::write(&packed, &out.stdout).unwrap();
        d.docker_ok(&["rmi", "busybox"]);
        let loaded = d.docker(&["load", "-i", packed.to_str().unwrap()]);
        let (stdout, stderr, code) = result(&loaded);
        assert_eq!(
            (stdout.as_str(), stderr.as_str(), code),
            ("Loaded image: busybox:latest\n", "", Some(0)),
            "{codec}"
        );
        assert_eq!(
            d.docker_ok(&["image", "inspect", "-f", "{{.Id}}", "busybox"]),
            id,
            "{codec}: the same image"
        );
        d.docker_ok(&["run", "--rm", "busybox", "true"]);
    }
}
