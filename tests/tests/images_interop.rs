//! Archives move between berth and real third-party tools: an archive written by
//! `skopeo copy … docker-archive:` (and `oci-archive:`) loads into berth and runs; berth's
//! `save` output is read back by `skopeo inspect` and copied by skopeo into an OCI layout
//! whose blobs verify; and the real docker CLI against berthd goes commit → run → save → rmi →
//! load → run. skopeo is Debian's package (CI installs it).

use std::collections::BTreeSet;
use std::path::Path;

use berth_tests::images::{layered, scratch, skopeo};
use berth_tests::Daemon;

fn daemon() -> Daemon {
    let d = Daemon::start().expect("start berthd");
    d.import_busybox().expect("import busybox");
    d
}

/// sha256 of a file, as hex.
fn sha256_file(p: &Path) -> String {
    let out = std::process::Command::new("sha256sum")
        .arg(p)
        .output()
        .expect("sha256sum");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn berth_save_is_read_back_by_skopeo_and_its_blobs_verify() {
    let d = daemon();
    let top = layered(&d, "layers:1", "busybox", "echo one > /one");
    let archive = scratch(&d, "saved.tar");
    d.docker_ok(&["save", "-o", archive.to_str().unwrap(), "layers:1"]);
    let a = format!("docker-archive:{}", archive.display());
    let inspect: serde_json::Value =
        serde_json::from_str(&skopeo(&["inspect", &a]).unwrap()).unwrap();
    assert_eq!(inspect["Layers"].as_array().unwrap().len(), 2, "{inspect}");
    let diff_ids = d.docker_ok(&[
        "image",
        "inspect",
        "-f",
        "{{range .RootFS.Layers}}{{.}} {{end}}",
        "layers:1",
    ]);
    let config: serde_json::Value =
        serde_json::from_str(&skopeo(&["inspect", "--config", &a]).unwrap()).unwrap();
    let got: Vec<&str> = config["rootfs"]["diff_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(got.join(" "), diff_ids.trim());
    // The same archive read as an OCI layout.
    let o = format!("oci-archive:{}", archive.display());
    let oci: serde_json::Value =
        serde_json::from_str(&skopeo(&["inspect", "--raw", &o]).unwrap()).unwrap();
    assert_eq!(oci["config"]["digest"].as_str().unwrap(), top);
    // Copied into an OCI directory by skopeo: every blob hashes to its name.
    let dir = scratch(&d, "oci-dir");
    skopeo(&["copy", &a, &format!("oci:{}:copy", dir.display())]).unwrap();
    let blobs = dir.join("blobs/sha256");
    let mut n = 0;
    for e in std::fs::read_dir(&blobs).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        assert_eq!(sha256_file(&e.path()), name, "blob {name} does not verify");
        n += 1;
    }
    assert!(n >= 4, "config, manifest and two layers: {n}");
}

#[test]
fn archives_written_by_skopeo_load_into_berth_and_run() {
    let d = daemon();
    layered(&d, "src:1", "busybox", "echo from-skopeo > /marker");
    let saved = scratch(&d, "src.tar");
    d.docker_ok(&["save", "-o", saved.to_str().unwrap(), "src:1"]);
    let dir = scratch(&d, "oci");
    skopeo(&[
        "copy",
        &format!("docker-archive:{}", saved.display()),
        &format!("oci:{}:v1", dir.display()),
    ])
    .unwrap();
    d.docker_ok(&["rmi", "src:1"]);
    // skopeo's docker-archive: uncompressed layers, legacy <id>/layer.tar links,
    // manifest.json last.
    let da = scratch(&d, "skopeo-docker.tar");
    skopeo(&[
        "copy",
        &format!("oci:{}:v1", dir.display()),
        &format!("docker-archive:{}:skopeo/img:v1", da.display()),
    ])
    .unwrap();
    assert_eq!(
        d.docker_ok(&["load", "-i", da.to_str().unwrap()]),
        "Loaded image: skopeo/img:v1"
    );
    assert_eq!(
        d.docker_ok(&["run", "--rm", "skopeo/img:v1", "cat", "/marker"]),
        "from-skopeo"
    );
    // skopeo's oci-archive: an OCI layout only, the tag in the ref.name annotation.
    let oa = scratch(&d, "skopeo-oci.tar");
    skopeo(&[
        "copy",
        &format!("oci:{}:v1", dir.display()),
        &format!("oci-archive:{}:skopeo/oci:v2", oa.display()),
    ])
    .unwrap();
    assert_eq!(
        d.docker_ok(&["load", "-i", oa.to_str().unwrap()]),
        "Loaded image: skopeo/oci:v2"
    );
    assert_eq!(
        d.docker_ok(&["run", "--rm", "skopeo/oci:v2", "cat", "/marker"]),
        "from-skopeo"
    );
    // The manifest skopeo wrote is kept: saving again gives skopeo's own digest back.
    let again = scratch(&d, "again.tar");
    d.docker_ok(&["save", "-o", again.to_str().unwrap(), "skopeo/oci:v2"]);
    let want = skopeo(&[
        "inspect",
        "--format",
        "{{.Digest}}",
        &format!("oci:{}:v1", dir.display()),
    ])
    .unwrap();
    let got = skopeo(&[
        "inspect",
        "--format",
        "{{.Digest}}",
        &format!("oci-archive:{}", again.display()),
    ])
    .unwrap();
    assert_eq!(got.trim(), want.trim());
}

#[test]
fn docker_cli_commits_runs_saves_removes_loads_and_runs() {
    let d = daemon();
    d.docker_ok(&[
        "run",
        "--name",
        "maker",
        "busybox",
        "sh",
        "-c",
        "echo persisted > /state; rm /etc/group",
    ]);
    let id = d.docker_ok(&[
        "commit",
        "-c",
        "CMD [\"cat\", \"/state\"]",
        "maker",
        "flow:1",
    ]);
    assert_eq!(d.docker_ok(&["run", "--rm", "flow:1"]), "persisted");
    let archive = scratch(&d, "flow.tar");
    d.docker_ok(&["save", "-o", archive.to_str().unwrap(), "flow:1"]);
    d.docker_ok(&["rm", "maker"]);
    let removed: BTreeSet<String> = d
        .docker_ok(&["rmi", "flow:1"])
        .lines()
        .map(str::to_string)
        .collect();
    assert!(removed.contains("Untagged: flow:1"), "{removed:?}");
    assert!(removed.contains(&format!("Deleted: {id}")), "{removed:?}");
    assert!(!d.docker(&["image", "inspect", "flow:1"]).status.success());
    assert_eq!(
        d.docker_ok(&["load", "-i", archive.to_str().unwrap()]),
        "Loaded image: flow:1"
    );
    assert_eq!(
        d.docker_ok(&["image", "inspect", "-f", "{{.Id}}", "flow:1"]),
        id
    );
    assert_eq!(
        d.docker_ok(&[
            "run",
            "--rm",
            "flow:1",
            "sh",
            "-c",
            "cat /state; test -e /etc/group || echo gone"
        ]),
        "persisted\ngone"
    );
    // And through stdin, as `docker save | docker load` pipes it.
    d.docker_ok(&["rmi", "flow:1"]);
    let f = std::fs::File::open(&archive).unwrap();
    let out = d.docker_cmd(&["load"]).stdin(f).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Loaded image: flow:1\n"
    );
}
