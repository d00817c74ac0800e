//! Garbage collection without leaks and without races, and crash safety: after any sequence
//! of image operations nothing unreferenced stays on disk (the store's own garbage report,
//! read with the daemon stopped, is empty); operations running at the same time never pull a
//! layer from under each other; a berthd SIGKILLed in the middle of a load or a commit leaves
//! no partial image and the next start cleans what was half written. Bad archives are refused
//! with a reason and leave nothing behind; good ones in the layout current dockerd writes load.

use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use berth_tests::images::{count_entries, garbage, layered, scratch};
use berth_tests::Daemon;

fn daemon() -> Daemon {
    let d = Daemon::start().expect("start berthd");
    d.import_busybox().expect("import busybox");
    d
}

fn assert_no_garbage(d: &mut Daemon, when: &str) {
    let g = garbage(d);
    assert!(g.is_empty(), "after {when}: {g:?}");
}

/// A tar file entry.
fn entry(b: &mut tar::Builder<Vec<u8>>, path: &str, data: &[u8]) {
    let mut h = tar::Header::new_gnu();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    // Written raw so that hostile names (`..`) survive.
    let name = h.as_old_mut().name.as_mut();
    name[..path.len()].copy_from_slice(path.as_bytes());
    h.set_cksum();
    b.append(&h, data).unwrap();
}

/// A docker-archive whose one layer is `layer` and whose config announces `diff_id`.
fn docker_archive(layer: &[u8], diff_id: &str) -> Vec<u8> {
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","config":{{"Cmd":["sh"]}},"rootfs":{{"type":"layers","diff_ids":["{diff_id}"]}}}}"#
    );
    let manifest =
        r#"[{"Config":"config.json","RepoTags":["crafted:1"],"Layers":["l/layer.tar"]}]"#;
    let mut b = tar::Builder::new(Vec::new());
    entry(&mut b, "config.json", config.as_bytes());
    entry(&mut b, "l/layer.tar", layer);
    entry(&mut b, "manifest.json", manifest.as_bytes());
    b.into_inner().unwrap()
}

fn sha256_hex(data: &[u8]) -> String {
    let mut c = std::process::Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(data).unwrap();
    let out = c.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout)[..64].to_string()
}

fn layer_tar(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (p, data) in files {
        entry(&mut b, p, data);
    }
    b.into_inner().unwrap()
}

fn load_bytes(d: &Daemon, bytes: &[u8]) -> std::process::Output {
    let f = scratch(d, "in.tar");
    std::fs::write(&f, bytes).unwrap();
    d.docker(&["load", "-i", f.to_str().unwrap()])
}

#[test]
fn bad_archives_are_refused_with_a_reason_and_leave_nothing() {
    let mut d = daemon();
    let layer = layer_tar(&[("hello", b"hi")]);
    // The layer is not what the config says.
    let out = load_bytes(
        &d,
        &docker_archive(&layer, &format!("sha256:{}", "0".repeat(64))),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("diff ID mismatch"),
        "{err}"
    );
    // An entry that climbs out of the archive.
    let mut bad = docker_archive(&layer, &format!("sha256:{}", sha256_hex(&layer)));
    bad.truncate(bad.len() - 1024);
    let mut b = tar::Builder::new(bad);
    entry(&mut b, "../../escape", b"x");
    let out = load_bytes(&d, &b.into_inner().unwrap());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("points outside the archive"),
        "{err}"
    );
    // A layer that writes outside its root is refused by the applier.
    let hostile = layer_tar(&[("../outside", b"x")]);
    let out = load_bytes(
        &d,
        &docker_archive(&hostile, &format!("sha256:{}", sha256_hex(&hostile))),
    );
    assert!(
        !out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(!d.root.path().join("outside").exists());
    assert!(!d.data_root.join("outside").exists());
    // Not a tar, an empty body, a truncated archive.
    for junk in [&b"not a tar"[..], &b""[..]] {
        assert!(!load_bytes(&d, junk).status.success());
    }
    let good = docker_archive(&layer, &format!("sha256:{}", sha256_hex(&layer)));
    assert!(!load_bytes(&d, &good[..good.len() / 2]).status.success());
    // Metadata first, a large layer blob that is not what the config says: the blob is
    // stored, then its unpacker finds the mismatch while the archive is still being read.
    let big = layer_tar(&[("big", &vec![7u8; 3 << 20][..])]);
    let blob = sha256_hex(&big);
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","rootfs":{{"type":"layers","diff_ids":["sha256:{}"]}}}}"#,
        "1".repeat(64)
    );
    let cfg = sha256_hex(config.as_bytes());
    let mj = format!(
        r#"[{{"Config":"blobs/sha256/{cfg}","RepoTags":["crafted:2"],"Layers":["blobs/sha256/{blob}"]}}]"#
    );
    let mut b = tar::Builder::new(Vec::new());
    entry(&mut b, "manifest.json", mj.as_bytes());
    entry(&mut b, &format!("blobs/sha256/{cfg}"), config.as_bytes());
    entry(&mut b, &format!("blobs/sha256/{blob}"), &big);
    let out = load_bytes(&d, &b.into_inner().unwrap());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("diff ID mismatch"),
        "{err}"
    );
    for name in ["crafted:1", "crafted:2"] {
        assert!(!d.docker(&["image", "inspect", name]).status.success());
    }
    assert_no_garbage(&mut d, "refused loads");
    // The well-formed one loads.
    let out = load_bytes(&d, &good);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        d.docker_ok(&[
            "image",
            "inspect",
            "-f",
            "{{len .RootFS.Layers}}",
            "crafted:1"
        ]),
        "1"
    );
    d.docker_ok(&["create", "--name", "crafted", "crafted:1", "x"]);
    let tar = d.docker(&["export", "crafted"]).stdout;
    assert!(
        tar.windows(5).any(|w| w == b"hello"),
        "the layer's file is exported"
    );
}

#[test]
fn nothing_is_left_unreferenced_after_any_sequence() {
    let mut d = daemon();
    let blobs = d.data_root.join("content/blobs/sha256");
    let snapshots = d.data_root.join("snapshots");
    layered(&d, "a:1", "busybox", "echo a > /a");
    layered(&d, "b:1", "a:1", "echo b > /b");
    d.docker_ok(&["create", "--name", "idle", "a:1", "true"]);
    d.docker_ok(&["commit", "idle", "empty:1"]);
    let archive = scratch(&d, "ab.tar");
    d.docker_ok(&[
        "save",
        "-o",
        archive.to_str().unwrap(),
        "a:1",
        "b:1",
        "empty:1",
    ]);
    d.docker_ok(&["load", "-i", archive.to_str().unwrap()]);
    assert_no_garbage(&mut d, "commit, save and load");
    d.docker_ok(&["rmi", "b:1", "empty:1"]);
    d.docker_ok(&["load", "-i", archive.to_str().unwrap()]);
    d.docker_ok(&["rm", "idle"]);
    d.docker_ok(&["rmi", "a:1"]);
    d.docker_ok(&["image", "prune", "-a", "-f"]);
    assert_no_garbage(&mut d, "rmi, reload and prune");
    // A container's layers outlive its image; then go with the container.
    d.docker_ok(&["load", "-i", archive.to_str().unwrap()]);
    d.docker_ok(&["run", "--name", "holder", "b:1", "sh", "-c", "echo c > /c"]);
    d.docker_ok(&["commit", "holder", "c:1"]);
    d.docker_ok(&[
        "export",
        "-o",
        scratch(&d, "x.tar").to_str().unwrap(),
        "holder",
    ]);
    d.docker_ok(&["rmi", "c:1"]);
    d.docker_ok(&["rmi", "-f", "b:1"]);
    assert_no_garbage(&mut d, "commit, export and rmi -f of an image in use");
    // Its image gone, the container cannot be committed (as with dockerd), but it runs.
    let out = d.docker(&["commit", "holder"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("was removed"));
    d.docker_ok(&["start", "holder"]);
    // `start` returns once the command runs; its exit is recorded a few ms later.
    d.docker_ok(&["wait", "holder"]);
    d.docker_ok(&["rm", "holder"]);
    let all = d.docker_ok(&["images", "-aq"]);
    let mut args = vec!["rmi", "-f"];
    args.extend(all.split_whitespace());
    d.docker_ok(&args);
    assert_no_garbage(&mut d, "removing everything");
    assert_eq!(count_entries(&blobs), 0, "blobs left");
    assert_eq!(count_entries(&snapshots), 0, "snapshots left");
    assert_eq!(count_entries(&d.data_root.join("content/ingest")), 0);
}

#[test]
fn concurrent_loads_commits_and_removals_never_lose_a_layer_in_use() {
    let mut d = daemon();
    layered(
        &d,
        "base:1",
        "busybox",
        "head -c 200000 /dev/urandom > /base",
    );
    layered(&d, "left:1", "base:1", "echo left > /side");
    layered(&d, "right:1", "base:1", "echo right > /side");
    let left = scratch(&d, "left.tar");
    let right = scratch(&d, "right.tar");
    d.docker_ok(&["save", "-o", left.to_str().unwrap(), "left:1"]);
    d.docker_ok(&["save", "-o", right.to_str().unwrap(), "right:1"]);
    d.docker_ok(&["rmi", "left:1", "right:1", "base:1"]);
    let busybox = berth_tests::busybox_tar(d.root.path()).unwrap();
    let dr = &d;
    std::thread::scope(|s| {
        for (archive, tag) in [(&left, "left:1"), (&right, "right:1")] {
            s.spawn(move || {
                for _ in 0..4 {
                    dr.docker_ok(&["load", "-i", archive.to_str().unwrap()]);
                    let want = &tag[..tag.len() - 2];
                    assert_eq!(dr.docker_ok(&["run", "--rm", tag, "cat", "/side"]), want);
                    dr.docker_ok(&["rmi", tag]);
                }
            });
        }
        s.spawn(move || {
            for i in 0..4 {
                let name = format!("cm{i}");
                dr.docker_ok(&["run", "--name", &name, "busybox", "sh", "-c", "echo x > /x"]);
                dr.docker_ok(&["commit", &name, &format!("cm:{i}")]);
                dr.docker_ok(&["rm", &name]);
                assert_eq!(
                    dr.docker_ok(&["run", "--rm", &format!("cm:{i}"), "cat", "/x"]),
                    "x"
                );
            }
        });
        let busybox = &busybox;
        s.spawn(move || {
            // Every removal collects garbage while the loads and commits are in flight.
            for i in 0..6 {
                let tag = format!("tmp:{i}");
                dr.docker_ok(&["import", busybox.to_str().unwrap(), &tag]);
                dr.docker_ok(&["rmi", &tag]);
                let _ = dr.docker(&["image", "prune", "-f"]);
            }
        });
    });
    for i in 0..4 {
        assert_eq!(
            d.docker_ok(&["run", "--rm", &format!("cm:{i}"), "cat", "/x"]),
            "x"
        );
    }
    assert_no_garbage(&mut d, "the concurrent run");
}

/// Waits (bounded) until `dir` has an entry.
fn wait_for_entries(dir: &Path, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while count_entries(dir) == 0 {
        assert!(
            Instant::now() < deadline,
            "no {what} appeared in {}",
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_daemon_killed_mid_load_leaves_no_image_and_the_restart_cleans_up() {
    let mut d = daemon();
    layered(
        &d,
        "big:1",
        "busybox",
        "head -c 8000000 /dev/urandom > /big",
    );
    let archive = scratch(&d, "big.tar");
    d.docker_ok(&["save", "-o", archive.to_str().unwrap(), "big:1"]);
    d.docker_ok(&["rmi", "big:1"]);
    assert_no_garbage(&mut d, "setup");
    let bytes = std::fs::read(&archive).unwrap();
    // Feed half the archive through a pipe we hold open: the load cannot finish.
    let mut child = d
        .docker_cmd(&["load"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&bytes[..bytes.len() * 3 / 4]).unwrap();
    wait_for_entries(&d.data_root.join("content/ingest"), "ingest");
    d.kill().unwrap();
    drop(stdin);
    let _ = child.wait();
    d.spawn().unwrap();
    assert!(!d.docker(&["image", "inspect", "big:1"]).status.success());
    assert_eq!(
        d.docker_ok(&["images", "--format", "{{.Repository}}"]),
        "busybox"
    );
    assert_no_garbage(&mut d, "the restart after a killed load");
    assert_eq!(count_entries(&d.data_root.join("content/ingest")), 0);
    // And it loads fine afterwards.
    d.docker_ok(&["load", "-i", archive.to_str().unwrap()]);
    d.docker_ok(&["run", "--rm", "big:1", "test", "-s", "/big"]);
}

#[test]
fn a_daemon_killed_mid_commit_leaves_no_partial_image() {
    let mut d = daemon();
    d.docker_ok(&[
        "run",
        "--name",
        "fat",
        "busybox",
        "sh",
        "-c",
        "head -c 40000000 /dev/urandom > /fat",
    ]);
    let mut child = d
        .docker_cmd(&["commit", "fat", "fat:1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_entries(&d.data_root.join("content/ingest"), "ingest");
    d.kill().unwrap();
    let _ = child.wait();
    d.spawn().unwrap();
    // Either the commit finished before the kill (a whole image) or nothing is visible.
    let inspect = d.docker(&["image", "inspect", "-f", "{{len .RootFS.Layers}}", "fat:1"]);
    if inspect.status.success() {
        assert_eq!(String::from_utf8_lossy(&inspect.stdout).trim(), "2");
        d.docker_ok(&["run", "--rm", "fat:1", "test", "-s", "/fat"]);
    } else {
        assert_eq!(
            d.docker_ok(&["images", "-a", "--format", "{{.Repository}}"]),
            "busybox"
        );
    }
    assert_no_garbage(&mut d, "the restart after a killed commit");
    // The container is intact and commits fine now.
    d.docker_ok(&["commit", "fat", "fat:2"]);
    d.docker_ok(&["run", "--rm", "fat:2", "test", "-s", "/fat"]);
}

#[test]
fn an_archive_laid_out_as_dockerd_25_writes_it_loads_and_keeps_its_manifest() {
    let mut d = daemon();
    let layer = layer_tar(&[("hello", b"from docker 25")]);
    let diff = sha256_hex(&layer);
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","config":{{"Cmd":["x"]}},"rootfs":{{"type":"layers","diff_ids":["sha256:{diff}"]}}}}"#
    );
    let cfg = sha256_hex(config.as_bytes());
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:{cfg}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:{diff}","size":{}}}]}}"#,
        config.len(),
        layer.len()
    );
    let man = sha256_hex(manifest.as_bytes());
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:{man}","size":{},"annotations":{{"io.containerd.image.name":"docker.io/library/d25:1","org.opencontainers.image.ref.name":"1"}}}}]}}"#,
        manifest.len()
    );
    let mj = format!(
        r#"[{{"Config":"blobs/sha256/{cfg}","RepoTags":["d25:1"],"Layers":["blobs/sha256/{diff}"]}}]"#
    );
    // dockerd writes the directory in lexical order: the blobs come first.
    let mut b = tar::Builder::new(Vec::new());
    let mut blobs = vec![
        (cfg.clone(), config.into_bytes()),
        (diff.clone(), layer),
        (man.clone(), manifest.into_bytes()),
    ];
    blobs.sort();
    for (hex, data) in &blobs {
        entry(&mut b, &format!("blobs/sha256/{hex}"), data);
    }
    entry(&mut b, "index.json", index.as_bytes());
    entry(&mut b, "manifest.json", mj.as_bytes());
    entry(&mut b, "oci-layout", br#"{"imageLayoutVersion": "1.0.0"}"#);
    entry(
        &mut b,
        "repositories",
        format!(r#"{{"d25":{{"1":"{diff}"}}}}"#).as_bytes(),
    );
    let out = load_bytes(&d, &b.into_inner().unwrap());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Loaded image: d25:1\n"
    );
    assert_eq!(
        d.docker_ok(&[
            "image",
            "inspect",
            "-f",
            "{{.Id}} {{index .RootFS.Layers 0}}",
            "d25:1"
        ]),
        format!("sha256:{cfg} sha256:{diff}")
    );
    d.docker_ok(&["create", "--name", "d25", "d25:1"]);
    let tar = d.docker(&["export", "d25"]).stdout;
    assert!(tar.windows(14).any(|w| w == b"from docker 25"));
    // The manifest is kept as it came: saving gives the same digest back.
    let saved = scratch(&d, "again.tar");
    d.docker_ok(&["save", "-o", saved.to_str().unwrap(), "d25:1"]);
    let idx = berth_tests::images::tar_file(&saved, "index.json");
    assert!(idx.contains(&format!("sha256:{man}")), "{idx}");
    d.docker_ok(&["rm", "d25"]);
    d.docker_ok(&["rmi", "d25:1"]);
    assert_no_garbage(&mut d, "loading and removing a dockerd 25 archive");
}
