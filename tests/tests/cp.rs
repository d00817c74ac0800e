//! `docker cp` end to end, through the real docker CLI and through `berth cp`: files and
//! directories both ways, running and stopped containers, volumes, symlinks (resolved inside
//! the container, never on the host), errors, and hostile uploads.

use std::io::{Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use berth_tests::daemon::http;
use berth_tests::Daemon;

fn daemon() -> Daemon {
    let d = Daemon::start().expect("start berthd");
    d.import_busybox().expect("import busybox");
    d
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A container `box` with files, a directory, symlinks (one to `/`, one climbing out, one
/// absolute) and a volume at `/vol`.
fn setup(d: &Daemon, running: bool) {
    let script =
        "mkdir -p /srv/dir/sub /tmp/in && echo one > /srv/dir/one && echo two > /srv/dir/sub/two \
        && ln -s / /rootlink && ln -s ../../../../../.. /up && ln -s /srv/dir /dirlink \
        && echo inside > /marker && echo v > /vol/v";
    let cmd = if running {
        format!("{script} && sleep 300")
    } else {
        script.to_string()
    };
    let mut args = vec!["run", "--name", "box", "-v", "cpvol:/vol"];
    if running {
        args.push("-d");
    }
    args.extend(["busybox", "sh", "-c", &cmd]);
    d.docker_ok(&args);
    if running {
        // The setup is done once the marker exists.
        for _ in 0..100 {
            if d.docker(&["exec", "box", "cat", "/marker"])
                .status
                .success()
            {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("the container did not set up");
    }
}

fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        for e in std::fs::read_dir(dir.join(&rel)).unwrap() {
            let e = e.unwrap();
            let p = rel.join(e.file_name());
            let m = std::fs::symlink_metadata(e.path()).unwrap();
            if m.is_dir() {
                out.push(format!("{}/", p.display()));
                stack.push(p);
            } else if m.file_type().is_symlink() {
                let t = std::fs::read_link(e.path()).unwrap();
                out.push(format!("{} -> {}", p.display(), t.display()));
            } else {
                let c = std::fs::read_to_string(e.path()).unwrap_or_default();
                out.push(format!("{}={}", p.display(), c.trim()));
            }
        }
    }
    out.sort();
    out
}

/// The same copies out of the container, through `cli` (`docker` or `berth`), into `out`.
fn copies_out(d: &Daemon, cli: &str, out: &Path) {
    std::fs::create_dir_all(out.join("existing")).unwrap();
    let run = |args: &[&str]| {
        let o = if cli == "docker" {
            d.docker(args)
        } else {
            d.berth(args)
        };
        assert!(o.status.success(), "{cli} {args:?}: {}", stderr(&o));
    };
    let p = |s: &str| out.join(s).display().to_string();
    run(&["cp", "box:/srv/dir/one", &p("file")]);
    run(&["cp", "box:/srv/dir/one", &p("existing")]);
    run(&["cp", "box:/srv/dir", &p("newdir")]);
    run(&["cp", "box:/srv/dir", &p("existing")]);
    run(&["cp", "box:/srv/dir/.", &p("contents")]);
    run(&["cp", "box:/dirlink", &p("link")]);
    run(&["cp", "-L", "box:/dirlink", &p("followed")]);
    run(&["cp", "box:/rootlink/marker", &p("through-root-link")]);
    run(&["cp", "box:/up/marker", &p("through-up-link")]);
    run(&["cp", "box:/vol/v", &p("from-volume")]);
}

fn expected_out() -> Vec<String> {
    [
        "contents/",
        "contents/one=one",
        "contents/sub/",
        "contents/sub/two=two",
        "existing/",
        "existing/dir/",
        "existing/dir/one=one",
        "existing/dir/sub/",
        "existing/dir/sub/two=two",
        "existing/one=one",
        "file=one",
        "followed/",
        "followed/one=one",
        "followed/sub/",
        "followed/sub/two=two",
        "from-volume=v",
        "link -> /srv/dir",
        "newdir/",
        "newdir/one=one",
        "newdir/sub/",
        "newdir/sub/two=two",
        "through-root-link=inside",
        "through-up-link=inside",
    ]
    .map(String::from)
    .to_vec()
}

#[test]
fn copies_out_of_running_and_stopped_containers_like_docker() {
    for running in [true, false] {
        let d = daemon();
        setup(&d, running);
        for cli in ["docker", "berth"] {
            let out = d.root.path().join(format!("out-{cli}"));
            copies_out(&d, cli, &out);
            assert_eq!(tree(&out), expected_out(), "{cli}, running={running}");
        }
        // To stdout: a tar of the directory, named after it.
        let o = d.docker(&["cp", "box:/srv/dir", "-"]);
        let mut a = tar::Archive::new(&o.stdout[..]);
        let mut names: Vec<String> = a
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        names.sort();
        assert_eq!(names, ["dir/", "dir/one", "dir/sub/", "dir/sub/two"]);
        assert!(d.leftover_mounts().iter().all(|m| !m.contains("/volumes/")));
    }
}

#[test]
fn copies_into_containers_and_volumes_like_docker() {
    let d = daemon();
    setup(&d, false);
    let local = d.root.path().join("local");
    std::fs::create_dir_all(local.join("d/sub")).unwrap();
    std::fs::write(local.join("f"), "file").unwrap();
    std::fs::write(local.join("d/x"), "x").unwrap();
    std::fs::write(local.join("d/sub/y"), "y").unwrap();
    let l = |s: &str| local.join(s).display().to_string();
    for (cli, base) in [("docker", "/tmp/in/docker"), ("berth", "/tmp/in/berth")] {
        let run = |args: &[&str]| {
            let o = if cli == "docker" {
                d.docker(args)
            } else {
                d.berth(args)
            };
            assert!(o.status.success(), "{cli} {args:?}: {}", stderr(&o));
        };
        let dst = |s: &str| format!("box:{base}{s}");
        run(&["cp", &l("f"), "box:/tmp/in/"]);
        // The parent must exist; the destination itself need not.
        let mkdir = format!("box:{base}");
        run(&["cp", &l("d"), &mkdir]);
        run(&["cp", &l("f"), &dst("/file-renamed")]);
        run(&["cp", &l("d/."), &dst("/contents")]);
        run(&["cp", &l("d"), &dst("/")]);
        run(&["cp", &l("f"), &format!("box:/vol/{cli}-in-volume")]);
        run(&[
            "cp",
            &l("f"),
            &format!("box:/rootlink/tmp/{cli}-through-link"),
        ]);
        run(&["cp", &l("f"), &format!("box:/dirlink/{cli}-into-dirlink")]);
    }
    // Read the results back through an export of the container and the volume's directory.
    let exported = d.docker(&["export", "box"]);
    let mut a = tar::Archive::new(&exported.stdout[..]);
    let mut names: Vec<String> = a
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .filter(|n| n.starts_with("tmp/") || n.starts_with("srv/dir/"))
        .collect();
    names.sort();
    for cli in ["docker", "berth"] {
        for want in [
            format!("tmp/in/{cli}/x"),
            format!("tmp/in/{cli}/sub/y"),
            format!("tmp/in/{cli}/file-renamed"),
            format!("tmp/in/{cli}/contents/x"),
            format!("tmp/in/{cli}/d/x"),
            format!("tmp/{cli}-through-link"),
            format!("srv/dir/{cli}-into-dirlink"),
        ] {
            assert!(names.contains(&want), "{want} missing: {names:?}");
        }
        let vol = d
            .data_root
            .join(format!("volumes/cpvol/_data/{cli}-in-volume"));
        assert_eq!(std::fs::read_to_string(vol).unwrap(), "file");
    }
    assert!(names.contains(&"tmp/in/f".to_string()));
    // What went through `/rootlink` landed in the container, not on the host.
    assert!(!Path::new("/tmp/docker-through-link").exists());
    assert!(!Path::new("/tmp/berth-through-link").exists());
    // A tar on stdin.
    let mut tarball = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(5);
    h.set_mode(0o644);
    h.set_cksum();
    tarball
        .append_data(&mut h, "from-stdin", &b"stdin"[..])
        .unwrap();
    let tarball = tarball.into_inner().unwrap();
    let mut child = d
        .docker_cmd(&["cp", "-", "box:/tmp"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&tarball).unwrap();
    assert!(child.wait().unwrap().success());
    let o = d.docker(&["cp", "box:/tmp/from-stdin", "-"]);
    let mut a = tar::Archive::new(&o.stdout[..]);
    let mut e = a.entries().unwrap().next().unwrap().unwrap();
    let mut s = String::new();
    e.read_to_string(&mut s).unwrap();
    assert_eq!(s, "stdin");
}

#[test]
fn errors_are_dockerds() {
    let d = daemon();
    setup(&d, false);
    d.docker_ok(&[
        "create",
        "--name",
        "ro",
        "--read-only",
        "-v",
        "rovol:/rv:ro",
        "busybox",
        "true",
    ]);
    let local = d.root.path().join("f");
    std::fs::write(&local, "f").unwrap();
    let l = local.display().to_string();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["cp", "box:/nope", "/tmp"],
            "Could not find the file /nope in container box",
        ),
        (
            vec!["cp", &l, "box:/nope/deeper/x"],
            "Could not find the file /nope/deeper in container box",
        ),
        (
            vec!["cp", &l, "ro:/rv/x"],
            "mounted volume is marked read-only",
        ),
        (
            vec!["cp", &l, "ro:/tmp/x"],
            "container rootfs is marked read-only",
        ),
        (vec!["cp", &l, "nobox:/tmp"], "No such container: nobox"),
        (
            vec!["cp", "box:/a", "box:/b"],
            "copying between containers is not supported",
        ),
        (
            vec!["cp", "a", "b"],
            "must specify at least one container source",
        ),
    ];
    for (args, want) in cases {
        for cli in ["docker", "berth"] {
            let o = if cli == "docker" {
                d.docker(&args)
            } else {
                d.berth(&args)
            };
            assert!(!o.status.success(), "{cli} {args:?} succeeded");
            assert!(stderr(&o).contains(want), "{cli} {args:?}: {}", stderr(&o));
        }
    }
    // A directory in the way of a file (noOverwriteDirNonDir, which the docker CLI sends).
    std::fs::create_dir_all(d.root.path().join("clash")).unwrap();
    std::fs::write(d.root.path().join("clash/dir"), "file").unwrap();
    let o = d.docker(&[
        "cp",
        &d.root.path().join("clash/dir").display().to_string(),
        "box:/srv/",
    ]);
    assert!(
        stderr(&o).contains("cannot overwrite directory"),
        "{}",
        stderr(&o)
    );
    // The API: a missing path parameter, and 404 on HEAD.
    let (status, _, body) = http(
        &d.socket,
        "HEAD",
        "/v1.47/containers/box/archive?path=/nope",
        None,
    )
    .unwrap();
    assert_eq!(status, 404, "{body}");
    let (status, _, body) = http(&d.socket, "GET", "/v1.47/containers/box/archive", None).unwrap();
    assert_eq!(status, 400);
    assert!(body.contains("path cannot be empty"), "{body}");
}

#[test]
fn the_path_stat_header_is_dockerds() {
    let d = daemon();
    setup(&d, false);
    let stat = |p: &str| -> serde_json::Value {
        let (status, headers, _) = http(
            &d.socket,
            "HEAD",
            &format!("/v1.47/containers/box/archive?path={p}"),
            None,
        )
        .unwrap();
        assert_eq!(status, 200, "{p}");
        let h = &headers
            .iter()
            .find(|(k, _)| k == "x-docker-container-path-stat")
            .unwrap()
            .1;
        use base64::Engine as _;
        let raw = base64::engine::general_purpose::STANDARD.decode(h).unwrap();
        serde_json::from_slice(&raw).unwrap()
    };
    let f = stat("/srv/dir/one");
    assert_eq!(f["name"], "one");
    assert_eq!(f["size"], 4);
    assert_eq!(f["mode"], 0o644);
    assert_eq!(f["linkTarget"], "");
    assert!(f["mtime"].as_str().unwrap().ends_with('Z'));
    let dir = stat("/srv/dir/");
    assert_eq!(dir["name"], "dir");
    assert_eq!(dir["mode"], (1u64 << 31) | 0o755);
    let link = stat("/rootlink");
    assert_eq!(link["mode"], (1u64 << 27) | 0o777);
    assert_eq!(link["linkTarget"], "/");
    let up = stat("/up");
    assert_eq!(up["linkTarget"], "/", "`..` stops at the container's root");
    let through = stat("/dirlink/sub");
    assert_eq!(through["name"], "sub");
}

/// A raw `PUT /containers/box/archive` with a tar body.
fn put_archive(d: &Daemon, path: &str, body: &[u8]) -> (u16, String) {
    let mut s = std::os::unix::net::UnixStream::connect(&d.socket).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let head = format!(
        "PUT /v1.47/containers/box/archive?path={path} HTTP/1.1\r\nHost: b\r\nConnection: close\r\nContent-Type: application/x-tar\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, out)
}

/// A tar whose names are written as given (the `tar` crate refuses `..`).
fn raw_tar(entries: &[(&str, u8, &str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, kind, link, data) in entries {
        let mut h = tar::Header::new_gnu();
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        h.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
        h.set_entry_type(tar::EntryType::new(*kind));
        h.set_mode(0o644);
        h.set_size(data.len() as u64);
        h.set_cksum();
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(data);
        out.extend(std::iter::repeat_n(0u8, (512 - data.len() % 512) % 512));
    }
    out.extend(std::iter::repeat_n(0u8, 1024));
    out
}

#[test]
fn hostile_uploads_cannot_write_outside_the_container() {
    let d = daemon();
    setup(&d, true);
    let canary_dir = d.root.path().join("host-canary");
    std::fs::create_dir_all(&canary_dir).unwrap();
    let canary = canary_dir.display().to_string();
    let cases: Vec<Vec<u8>> = vec![
        raw_tar(&[("../../../../../../../../tmp/escaped", b'0', "", b"x")]),
        raw_tar(&[("esc", b'2', &canary, b""), ("esc/pwned", b'0', "", b"x")]),
        raw_tar(&[
            ("up", b'2', "../../../../../../../../..", b""),
            ("up/tmp/pwned", b'0', "", b"x"),
        ]),
        raw_tar(&[("hl", b'1', "/etc/shadow", b"")]),
    ];
    for (i, t) in cases.iter().enumerate() {
        for path in ["/tmp", "/rootlink/tmp", "/up", "/vol"] {
            let (status, body) = put_archive(&d, path, t);
            assert!(status == 200 || status == 400, "case {i} at {path}: {body}");
        }
    }
    assert!(std::fs::read_dir(&canary_dir).unwrap().next().is_none());
    assert!(!Path::new("/tmp/escaped").exists() && !Path::new("/tmp/pwned").exists());
    // What did land stays in the container (its root, its volume).
    let inside = d.docker_ok(&["exec", "box", "find", "/tmp", "/vol", "-name", "pwned"]);
    assert!(inside.contains("/tmp/"), "{inside}");
}

#[test]
fn copy_uid_gid_gives_files_the_containers_user() {
    let d = daemon();
    d.docker_ok(&["create", "--name", "box", "-u", "app", "busybox", "true"]);
    let local = d.root.path().join("owned");
    std::fs::write(&local, "x").unwrap();
    std::os::unix::fs::chown(&local, Some(4321), Some(4321)).unwrap();
    let l = local.display().to_string();
    d.docker_ok(&["cp", &l, "box:/tmp/kept"]);
    d.docker_ok(&["cp", "-a", &l, "box:/tmp/chowned"]);
    let out = d.docker(&["export", "box"]);
    let mut a = tar::Archive::new(&out.stdout[..]);
    let owners: Vec<(String, u64, u64)> = a
        .entries()
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().unwrap().starts_with("tmp/"))
        .map(|e| {
            let h = e.header();
            (
                e.path().unwrap().display().to_string(),
                h.uid().unwrap(),
                h.gid().unwrap(),
            )
        })
        .collect();
    assert!(
        owners.contains(&("tmp/kept".into(), 4321, 4321)),
        "{owners:?}"
    );
    assert!(
        owners.contains(&("tmp/chowned".into(), 1000, 1000)),
        "{owners:?}"
    );
    // Out of the container, files belong to whoever runs the copy.
    let back = d.root.path().join("back");
    d.docker_ok(&["cp", "box:/tmp/chowned", &back.display().to_string()]);
    assert_eq!(std::fs::metadata(&back).unwrap().uid(), 0);
}
