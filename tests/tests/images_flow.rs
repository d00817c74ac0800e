//! Image operations do what they promise, checked through the real docker CLI against
//! berthd: commit keeps the files a container added, changed and deleted and applies
//! `--change`; import takes plain, gzip, zstd and xz tars; save/load round-trips several images
//! sharing layers (each layer written once) with the JSON progress stream; rmi and prune
//! follow dockerd's rules; system df reports accurate sizes.

use std::process::Command;

use berth_tests::images::{layered, scratch, tar_file, tar_list};
use berth_tests::{daemon::http, Daemon};

fn daemon() -> Daemon {
    let d = Daemon::start().expect("start berthd");
    d.import_busybox().expect("import busybox");
    d
}

#[test]
fn commit_keeps_added_changed_and_deleted_files_and_applies_changes() {
    let d = daemon();
    d.docker_ok(&[
        "run",
        "--name",
        "work",
        "busybox",
        "sh",
        "-c",
        "echo added > /added; echo extra >> /etc/passwd; rm /etc/group; rm -rf /var; mkdir /var; echo v > /var/only; mkdir -p /home/app/d; echo f > /home/app/d/f",
    ]);
    let base = d.docker_ok(&["image", "inspect", "-f", "{{.Id}}", "busybox"]);
    let id = d.docker_ok(&[
        "commit",
        "-a",
        "A. Author <a@example.com>",
        "-m",
        "the message",
        "-c",
        "CMD [\"cat\", \"/added\"]",
        "-c",
        "ENV GREETING=hello",
        "-c",
        "EXPOSE 8080/tcp",
        "-c",
        "LABEL team=images",
        "-c",
        "WORKDIR /home/app",
        "-c",
        "VOLUME /data",
        "-c",
        "STOPSIGNAL SIGUSR1",
        "-c",
        "HEALTHCHECK --interval=5s CMD true",
        "-c",
        "USER app",
        "work",
        "committed:1",
    ]);
    assert!(id.starts_with("sha256:") && id.len() == 71, "{id}");
    assert_eq!(d.docker_ok(&["run", "--rm", "committed:1"]), "added");
    let check = d.docker_ok(&[
        "run",
        "--rm",
        "-u",
        "root",
        "committed:1",
        "sh",
        "-c",
        "tail -1 /etc/passwd; test -e /etc/group || echo no-group; ls /var; cat /home/app/d/f; pwd; echo $GREETING",
    ]);
    assert_eq!(check, "extra\nno-group\nonly\nf\n/home/app\nhello");
    let fmt = "{{.Author}}|{{.Comment}}|{{.Parent}}|{{len .RootFS.Layers}}|{{json .Config.Cmd}}|{{.Config.WorkingDir}}|{{.Config.User}}|{{json .Config.ExposedPorts}}|{{json .Config.Labels}}|{{json .Config.Volumes}}|{{.Config.StopSignal}}|{{json .Config.Healthcheck.Test}}|{{.Config.Healthcheck.Interval}}";
    assert_eq!(
        d.docker_ok(&["image", "inspect", "-f", fmt, "committed:1"]),
        format!("A. Author <a@example.com>|the message|{base}|2|[\"cat\",\"/added\"]|/home/app|app|{{\"8080/tcp\":{{}}}}|{{\"team\":\"images\"}}|{{\"/data\":{{}}}}|SIGUSR1|[\"CMD-SHELL\",\"true\"]|5s")
    );
    let hist = d.docker_ok(&[
        "history",
        "--no-trunc",
        "--format",
        "{{.ID}}|{{.Comment}}",
        "committed:1",
    ]);
    assert_eq!(hist, format!("{id}|the message\n{base}|Imported from -"));
    // A commit without changes adds an empty history step, no layer.
    d.docker_ok(&["create", "--name", "idle", "busybox", "true"]);
    d.docker_ok(&["commit", "idle", "same:1"]);
    assert_eq!(
        d.docker_ok(&["image", "inspect", "-f", "{{len .RootFS.Layers}}", "same:1"]),
        "1"
    );
    assert_eq!(
        d.docker_ok(&["history", "--format", "{{.Size}}", "same:1"]),
        "0B\n1.98MB"
    );
}

#[test]
fn commit_pauses_a_running_container_and_leaves_it_running() {
    let d = daemon();
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        "busy",
        "busybox",
        "sh",
        "-c",
        "i=0; while :; do i=$((i+1)); echo $i > /c.tmp; mv /c.tmp /counter; done",
    ]);
    // Wait (bounded) for the loop to have written something.
    let mut started = false;
    for _ in 0..200 {
        let out = d.docker(&["diff", "busy"]);
        if String::from_utf8_lossy(&out.stdout).contains("A /counter") {
            started = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    assert!(started, "the container never wrote /counter");
    d.docker_ok(&["commit", "busy", "snap:1"]);
    assert_eq!(
        d.docker_ok(&["inspect", "-f", "{{.State.Status}}", "busy"]),
        "running"
    );
    let count = |img: &str| -> u64 {
        let n = d.docker_ok(&["run", "--rm", img, "cat", "/counter"]);
        n.parse()
            .unwrap_or_else(|_| panic!("{img}: not a number: {n:?}"))
    };
    let first = count("snap:1");
    // Thawed after the commit: the loop goes on, and a later commit (without pausing) sees it.
    d.docker_ok(&["commit", "--pause=false", "busy", "snap:2"]);
    assert!(count("snap:2") > first, "the container did not resume");
    // The committed image is stable: its counter does not move.
    assert_eq!(count("snap:1"), first);
    d.docker_ok(&["rm", "-f", "busy"]);
}

#[test]
fn import_takes_plain_gzip_zstd_and_xz_with_change_and_message() {
    let d = daemon();
    let tar = berth_tests::busybox_tar(d.root.path()).unwrap();
    let mut files = vec![(tar.clone(), "plain")];
    for (tool, ext) in [("gzip", "gz"), ("zstd", "zst"), ("xz", "xz")] {
        let out = scratch(&d, &format!("busybox.tar.{ext}"));
        let st = Command::new(tool)
            .arg("-c")
            .arg(&tar)
            .stdout(std::fs::File::create(&out).unwrap())
            .status()
            .unwrap();
        assert!(st.success(), "{tool}");
        files.push((out, ext));
    }
    for (file, kind) in files {
        let name = format!("imp-{kind}:1");
        d.docker_ok(&[
            "import",
            "-c",
            "ENV KIND=set",
            "-c",
            "CMD [\"sh\", \"-c\", \"echo $KIND\"]",
            "-m",
            &format!("from {kind}"),
            file.to_str().unwrap(),
            &name,
        ]);
        assert_eq!(d.docker_ok(&["run", "--rm", &name]), "set", "{kind}");
        assert_eq!(
            d.docker_ok(&["image", "inspect", "-f", "{{.Comment}}", &name]),
            format!("from {kind}")
        );
    }
    // Bad input is refused with a reason and creates nothing.
    let bad = scratch(&d, "bad.tar.gz");
    std::fs::write(&bad, [0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6, 7]).unwrap();
    let out = d.docker(&["import", bad.to_str().unwrap(), "bad:1"]);
    assert!(!out.status.success());
    assert!(!d.docker(&["image", "inspect", "bad:1"]).status.success());
}

#[test]
fn save_and_load_round_trip_several_images_sharing_layers() {
    let d = daemon();
    let a = layered(&d, "app-a:1", "busybox", "echo a > /a");
    let b = layered(&d, "app-b:1", "app-a:1", "echo b > /b");
    d.docker_ok(&["tag", "app-a:1", "app-a:2"]);
    let bb = d.docker_ok(&["image", "inspect", "-f", "{{.Id}}", "busybox"]);
    let archive = scratch(&d, "all.tar");
    d.docker_ok(&[
        "save",
        "-o",
        archive.to_str().unwrap(),
        "busybox",
        "app-a",
        "app-b:1",
    ]);
    let list = tar_list(&archive);
    for f in ["oci-layout", "index.json", "manifest.json", "repositories"] {
        assert!(list.contains(&f.to_string()), "{f} missing: {list:?}");
    }
    // Three layers, three configs, three manifests: each once.
    let blobs: Vec<&String> = list
        .iter()
        .filter(|p| p.starts_with("blobs/sha256/") && p.len() > 13)
        .collect();
    assert_eq!(blobs.len(), 9, "{list:?}");
    let manifest: serde_json::Value =
        serde_json::from_str(&tar_file(&archive, "manifest.json")).unwrap();
    let tags: Vec<String> = manifest
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e["RepoTags"].as_array().unwrap().iter())
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    assert_eq!(tags, ["busybox:latest", "app-a:1", "app-a:2", "app-b:1"]);
    let index: serde_json::Value = serde_json::from_str(&tar_file(&archive, "index.json")).unwrap();
    let names: Vec<&str> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            m["annotations"]["io.containerd.image.name"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert!(names.contains(&"docker.io/library/app-b:1"), "{names:?}");
    d.docker_ok(&["rmi", "app-b:1", "app-a:1", "app-a:2", "busybox"]);
    assert_eq!(d.docker_ok(&["images", "-aq"]), "");
    // Load, with the progress stream the API gives when not quiet.
    let bytes = std::fs::read(&archive).unwrap();
    let body = raw_post(&d, "/images/load?quiet=0", &bytes);
    assert!(body.contains("\"status\":\"Loading layer\""), "{body}");
    assert!(body.contains("\"progressDetail\":{\"current\":"), "{body}");
    assert!(
        body.contains("{\"stream\":\"Loaded image: app-b:1\\n\"}"),
        "{body}"
    );
    for (name, id) in [("busybox", &bb), ("app-a:2", &a), ("app-b:1", &b)] {
        assert_eq!(
            &d.docker_ok(&["image", "inspect", "-f", "{{.Id}}", name]),
            id
        );
    }
    assert_eq!(
        d.docker_ok(&["run", "--rm", "app-b:1", "cat", "/a", "/b"]),
        "a\nb"
    );
    // The parent links survive too: history names the images.
    assert_eq!(
        d.docker_ok(&["history", "-q", "--no-trunc", "app-b:1"]),
        format!("{b}\n{a}\n{bb}")
    );
}

#[test]
fn rmi_follows_dockerds_rules() {
    let d = daemon();
    d.docker_ok(&["run", "-d", "--name", "up", "busybox", "sleep", "300"]);
    d.docker_ok(&["tag", "busybox", "other:1"]);
    // Another reference: only untagged.
    assert_eq!(d.docker_ok(&["rmi", "other:1"]), "Untagged: other:1");
    // The last reference of an image a container uses: refused, naming the container.
    let cid = d.docker_ok(&["inspect", "-f", "{{.Id}}", "up"]);
    let out = d.docker(&["rmi", "busybox"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("container {} is using", &cid[..12])),
        "{err}"
    );
    // By ID while running: cannot be forced.
    let id = d.docker_ok(&["image", "inspect", "-f", "{{.Id}}", "busybox"]);
    let out = d.docker(&["rmi", "-f", &id[7..19]]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "image is being used by running container {}",
            &cid[..12]
        )),
        "{err}"
    );
    let (code, _, body) = http(&d.socket, "DELETE", &format!("/images/{id}"), None).unwrap();
    assert_eq!(code, 409, "{body}");
    // Stopped: -f deletes it; a container keeps its layers and still starts.
    d.docker_ok(&["rm", "-f", "up"]);
    d.docker_ok(&[
        "create",
        "--name",
        "later",
        "busybox",
        "head",
        "-1",
        "/etc/passwd",
    ]);
    assert_eq!(
        d.docker_ok(&["rmi", "-f", "busybox"]),
        format!("Untagged: busybox:latest\nDeleted: {id}")
    );
    assert_eq!(
        d.docker_ok(&["start", "-a", "later"]),
        "root:x:0:0:root:/root:/bin/sh"
    );
}

#[test]
fn system_df_reports_shared_and_unique_sizes() {
    let d = daemon();
    layered(&d, "one:1", "busybox", "head -c 100000 /dev/zero > /one");
    layered(&d, "two:1", "busybox", "head -c 50000 /dev/zero > /two");
    d.docker_ok(&[
        "run",
        "--name",
        "wr",
        "busybox",
        "sh",
        "-c",
        "head -c 7000 /dev/zero > /w",
    ]);
    let (code, _, body) = http(&d.socket, "GET", "/system/df", None).unwrap();
    assert_eq!(code, 200, "{body}");
    let du: serde_json::Value = serde_json::from_str(&body).unwrap();
    let size_of = |tag: &str| {
        du["Images"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["RepoTags"][0] == tag)
            .map(|i| {
                (
                    i["Size"].as_i64().unwrap(),
                    i["SharedSize"].as_i64().unwrap(),
                    i["Containers"].as_i64().unwrap(),
                )
            })
            .unwrap()
    };
    let (bb_size, bb_shared, bb_users) = size_of("busybox:latest");
    assert_eq!(bb_shared, bb_size, "the base layer is shared by all three");
    assert_eq!(bb_users, 1);
    let (one, one_shared, _) = size_of("one:1");
    assert_eq!((one - one_shared, one_shared), (100_000, bb_size));
    let (two, two_shared, _) = size_of("two:1");
    assert_eq!(two - two_shared, 50_000);
    assert_eq!(du["LayersSize"].as_i64().unwrap(), bb_size + 150_000);
    let w = &du["Containers"][0];
    assert_eq!(w["SizeRw"].as_i64().unwrap(), 7_000);
    let summary = d.docker_ok(&[
        "system",
        "df",
        "--format",
        "{{.Type}} {{.TotalCount}} {{.Active}}",
    ]);
    assert_eq!(
        summary,
        "Images 3 1\nContainers 1 0\nLocal Volumes 0 0\nBuild Cache 0 0"
    );
}

/// POSTs raw bytes to the API and returns the (de-chunked) body.
fn raw_post(d: &Daemon, path: &str, body: &[u8]) -> String {
    use std::io::{Read, Write};
    let mut s = std::os::unix::net::UnixStream::connect(&d.socket).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: berth\r\nConnection: close\r\nContent-Type: application/x-tar\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    String::from_utf8_lossy(&out).into_owned()
}
