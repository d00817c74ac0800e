//! `berth build` and `berth builder prune`: docker's flags (`-t`, `-f`, `-q`, `--iidfile`,
//! `--build-arg`, `--label`, `--target`, stdin contexts), BuildKit's RUN mounts through the
//! classic API (secrets that never reach a layer, cache mounts that persist, tmpfs, binds),
//! ADD of a URL on a loopback server and of a local tar, and the build cache in `system df`.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Stdio;

use berth_tests::build::{berth_build, built_id, context, ok, text};
use berth_tests::Daemon;

#[test]
fn berth_build_takes_dockers_flags() {
    let d = Daemon::start().unwrap();
    d.import_busybox().unwrap();
    let df =
        "FROM busybox\nARG GREETING=hi\nRUN echo $GREETING > /g.txt\nCMD [\"cat\", \"/g.txt\"]\n";
    let dir = context(&d, "flags", &[("Dockerfile", df)]);
    let ctx = dir.to_str().unwrap();
    let iid = d.root.path().join("iid");
    let out = ok(
        &d,
        berth_build(
            &d,
            &[
                "-t",
                "flags:1",
                "-t",
                "flags:2",
                "--build-arg",
                "GREETING=salut",
                "--label",
                "team=build",
                "--iidfile",
                iid.to_str().unwrap(),
                ctx,
            ],
        ),
    );
    assert!(
        out.starts_with("Sending build context to berth daemon  "),
        "{out}"
    );
    assert!(
        out.contains("Successfully tagged flags:1\nSuccessfully tagged flags:2"),
        "{out}"
    );
    let id = std::fs::read_to_string(&iid).unwrap();
    assert!(
        id.starts_with("sha256:") && id.contains(&built_id(&out)),
        "{id}"
    );
    assert_eq!(
        d.docker_ok(&["run", "--rm", "--network", "none", "flags:2"]),
        "salut"
    );
    assert_eq!(
        d.docker_ok(&[
            "image",
            "inspect",
            "--format",
            "{{index .Config.Labels \"team\"}}",
            "flags:1"
        ]),
        "build"
    );
    // -q prints only the id; an unused --build-arg gets docker's warning.
    let q = berth_build(&d, &["-q", "--build-arg", "UNUSED=1", ctx]);
    let qo = String::from_utf8_lossy(&q.stdout).trim().to_string();
    assert!(
        q.status.success() && qo.starts_with("sha256:") && !qo.contains('\n'),
        "{}",
        text(&q)
    );
    let w = ok(&d, berth_build(&d, &["--build-arg", "UNUSED=1", ctx]));
    assert!(
        w.contains("[Warning] One or more build-args [UNUSED] were not consumed"),
        "{w}"
    );
}

#[test]
fn dockerfiles_from_stdin_and_outside_the_context() {
    let d = Daemon::start().unwrap();
    d.import_busybox().unwrap();
    let dir = context(&d, "ctx", &[("data.txt", "from the context\n")]);
    let outside = d.root.path().join("elsewhere.Dockerfile");
    std::fs::write(
        &outside,
        "FROM busybox\nCOPY data.txt /data.txt\nCMD [\"cat\", \"/data.txt\"]\n",
    )
    .unwrap();
    ok(
        &d,
        berth_build(
            &d,
            &[
                "-f",
                outside.to_str().unwrap(),
                "-t",
                "outside",
                dir.to_str().unwrap(),
            ],
        ),
    );
    assert_eq!(
        d.docker_ok(&["run", "--rm", "--network", "none", "outside"]),
        "from the context"
    );
    // The Dockerfile added under a random name is not part of the image's context.
    let files = d.docker_ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "outside",
        "ls",
        "-a",
        "/",
    ]);
    assert!(!files.contains(".dockerfile."), "{files}");
    // `-f -`: the Dockerfile on stdin, the context a directory.
    let run = |args: &[&str], stdin: &[u8]| {
        let mut c = d.berth_cmd(&["build"]);
        c.args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        child.wait_with_output().unwrap()
    };
    let o = run(
        &["-f", "-", "-t", "stdin-df", dir.to_str().unwrap()],
        b"FROM busybox\nCOPY data.txt /d\n",
    );
    assert!(o.status.success(), "{}", text(&o));
    // `build -` with a Dockerfile: no context at all.
    let o = run(
        &["-t", "bare", "-"],
        b"FROM busybox\nRUN echo bare > /bare\n",
    );
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        d.docker_ok(&["run", "--rm", "--network", "none", "bare", "cat", "/bare"]),
        "bare"
    );
    // `build -` with a tar: the context comes from stdin.
    std::fs::write(dir.join("Dockerfile"), "FROM busybox\nCOPY data.txt /t\n").unwrap();
    let tar = std::process::Command::new("tar")
        .arg("-C")
        .arg(&dir)
        .args(["-cf", "-", "."])
        .output()
        .unwrap()
        .stdout;
    let o = run(&["-t", "from-tar", "-"], &tar);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        d.docker_ok(&["run", "--rm", "--network", "none", "from-tar", "cat", "/t"]),
        "from the context"
    );
}

#[test]
fn run_mounts_work_and_secrets_stay_out_of_the_image() {
    let d = Daemon::start().unwrap();
    d.import_busybox().unwrap();
    let df = r#"FROM busybox
RUN --mount=type=secret,id=tok test "$(md5sum < /run/secrets/tok | cut -c1-32)" = e74a7345b906b2dd50c8e026a10bc02f
RUN --mount=type=secret,id=tok,env=TOK test "$(printf %s "$TOK" | md5sum | cut -c1-32)" = e74a7345b906b2dd50c8e026a10bc02f
RUN --mount=type=cache,target=/cache echo x >> /cache/hits && wc -l < /cache/hits > /hits.txt
RUN --mount=type=tmpfs,target=/scratch echo tmp > /scratch/f && test -f /scratch/f
RUN --mount=type=bind,source=data,target=/data cat /data/file > /from-bind.txt
RUN test ! -e /cache/hits && test ! -e /scratch/f && test ! -e /run/secrets/tok && test ! -e /data/file
"#;
    let dir = context(
        &d,
        "mounts",
        &[("Dockerfile", df), ("data/file", "bound\n")],
    );
    let secret = d.root.path().join("tok.txt");
    std::fs::write(&secret, "s3cr3t-value").unwrap();
    let src = format!("id=tok,src={}", secret.display());
    ok(
        &d,
        berth_build(
            &d,
            &["--secret", &src, "-t", "mounts", dir.to_str().unwrap()],
        ),
    );
    let got = d.docker_ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "mounts",
        "cat",
        "/hits.txt",
        "/from-bind.txt",
    ]);
    assert_eq!(got, "1\nbound");
    // Not in any layer, not in the history (the Dockerfile only has its md5).
    let save = d.berth_cmd(&["save", "mounts"]).output().unwrap();
    assert!(save.status.success());
    assert!(
        !String::from_utf8_lossy(&save.stdout).contains("s3cr3t-value"),
        "the secret is in the image"
    );
    let hist = d.docker_ok(&["history", "--no-trunc", "mounts"]);
    assert!(!hist.contains("s3cr3t-value"));
    // The cache mount keeps its content across builds.
    ok(
        &d,
        berth_build(
            &d,
            &[
                "--no-cache",
                "--secret",
                &src,
                "-t",
                "mounts",
                dir.to_str().unwrap(),
            ],
        ),
    );
    assert_eq!(
        d.docker_ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            "mounts",
            "cat",
            "/hits.txt"
        ]),
        "2"
    );
    // A required secret that is not given is an error naming it.
    let df2 = "FROM busybox\nRUN --mount=type=secret,id=need,required cat /run/secrets/need\n";
    let dir2 = context(&d, "needsecret", &[("Dockerfile", df2)]);
    let o = berth_build(&d, &[dir2.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(text(&o).contains("secret need not found"), "{}", text(&o));
}

/// Serves `body` at any path on 127.0.0.1, `n` times; returns the port.
fn serve(body: &'static [u8], n: usize) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for _ in 0..n {
            let Ok((mut s, _)) = l.accept() else { return };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nLast-Modified: Wed, 21 Oct 2015 07:28:00 GMT\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(body);
        }
    });
    port
}

#[test]
fn add_fetches_loopback_urls_and_unpacks_local_tars() {
    let d = Daemon::start().unwrap();
    d.import_busybox().unwrap();
    let port = serve(b"downloaded\n", 4);
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_path("dir/x.txt").unwrap();
    h.set_size(9);
    h.set_mode(0o644);
    h.set_cksum();
    b.append(&h, &b"unpacked\n"[..]).unwrap();
    let tar = b.into_inner().unwrap();
    let df = format!(
        "FROM busybox\nADD http://127.0.0.1:{port}/files/hello.txt /web/\nADD a.tar /unpacked/\nCOPY a.tar /copied/\n"
    );
    let dir = context(&d, "add", &[("Dockerfile", &df)]);
    std::fs::write(dir.join("a.tar"), &tar).unwrap();
    ok(&d, berth_build(&d, &["-t", "added", dir.to_str().unwrap()]));
    let out = d.docker_ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "added",
        "sh",
        "-c",
        "cat /web/hello.txt /unpacked/dir/x.txt; stat -c %a /web/hello.txt; ls /copied",
    ]);
    assert_eq!(out, "downloaded\nunpacked\n600\na.tar");
}

#[test]
fn builder_prune_and_system_df_show_the_build_cache() {
    let d = Daemon::start().unwrap();
    d.import_busybox().unwrap();
    let dir = context(
        &d,
        "prune",
        &[("Dockerfile", "FROM busybox\nRUN echo one > /one\nENV A=1\n")],
    );
    ok(
        &d,
        berth_build(&d, &["-t", "pruned", dir.to_str().unwrap()]),
    );
    // A second version of the same tag leaves the first version's steps dangling.
    std::fs::write(
        dir.join("Dockerfile"),
        "FROM busybox\nRUN echo two > /two\nENV A=2\n",
    )
    .unwrap();
    ok(
        &d,
        berth_build(&d, &["-t", "pruned", dir.to_str().unwrap()]),
    );
    let df = d.docker_ok(&["system", "df", "--format", "{{.Type}} {{.TotalCount}}"]);
    // Four step records and the context kept for the next build (a `source.local` record).
    assert!(df.contains("Build Cache 5"), "{df}");
    let v = d.docker_ok(&["system", "df", "-v"]);
    assert!(v.contains("regular"), "{v}");
    // Plain prune: the dangling version's records and images go; the tagged one's stay.
    let out = d.docker_ok(&["builder", "prune", "-f"]);
    assert!(out.contains("Total reclaimed space:"), "{out}");
    let df = d.docker_ok(&["system", "df", "--format", "{{.Type}} {{.TotalCount}}"]);
    assert!(df.contains("Build Cache 2"), "{df}");
    let again = ok(
        &d,
        berth_build(&d, &["-t", "pruned", dir.to_str().unwrap()]),
    );
    assert_eq!(
        again.matches("Using cache").count(),
        2,
        "the kept steps still hit:\n{again}"
    );
    // --all: everything; the tagged image still runs.
    let out =
        String::from_utf8_lossy(&d.berth(&["builder", "prune", "-a", "-f"]).stdout).into_owned();
    assert!(out.contains("Deleted build cache objects:"), "{out}");
    let df = d.docker_ok(&["system", "df", "--format", "{{.Type}} {{.TotalCount}}"]);
    assert!(df.contains("Build Cache 0"), "{df}");
    assert_eq!(
        d.docker_ok(&["run", "--rm", "--network", "none", "pruned", "cat", "/two"]),
        "two"
    );
    let refused = d.berth(&["builder", "prune", "-f", "--keep-storage", "1g"]);
    assert!(!refused.status.success());
    assert!(text(&refused).contains("--keep-storage is not supported"));
}

/// The bytes `berth build` said it sent ("Sending build context to berth daemon  2.048kB").
fn sent_bytes(out: &str) -> f64 {
    let line = out.lines().next().unwrap_or_default();
    let size = line
        .strip_prefix("Sending build context to berth daemon  ")
        .unwrap_or_else(|| panic!("no context line in {out}"));
    let split = size.find(|c: char| c.is_ascii_alphabetic()).unwrap();
    let (n, unit) = size.split_at(split);
    let mult = match unit {
        "B" => 1.0,
        "kB" => 1e3,
        "MB" => 1e6,
        other => panic!("unit {other} in {out}"),
    };
    n.parse::<f64>().unwrap() * mult
}

#[test]
fn berth_build_sends_only_the_files_that_changed() {
    let d = Daemon::start().unwrap();
    d.import_busybox().unwrap();
    let big = "x".repeat(300_000);
    let dir = context(
        &d,
        "sync",
        &[
            ("Dockerfile", "FROM busybox\nCOPY . /ctx/\n"),
            ("big.txt", big.as_str()),
            ("sub/small.txt", "one"),
            ("gone.txt", "bye"),
        ],
    );
    let ctx = dir.to_str().unwrap();
    let first = ok(&d, berth_build(&d, &["-t", "sync:1", ctx]));
    assert!(sent_bytes(&first) > 300_000.0, "{first}");
    // Nothing changed: only the list travels, and every step hits.
    let second = ok(&d, berth_build(&d, &["-t", "sync:2", ctx]));
    assert!(sent_bytes(&second) < 20_000.0, "{second}");
    assert_eq!(built_id(&first), built_id(&second));
    assert_eq!(second.matches("Using cache").count(), 1, "{second}");
    // A file changed, one removed, one added, a symlink: the image sees exactly that, and
    // the big file did not travel again.
    std::fs::write(dir.join("sub/small.txt"), "two").unwrap();
    std::fs::remove_file(dir.join("gone.txt")).unwrap();
    std::fs::write(dir.join("new.txt"), "new").unwrap();
    std::os::unix::fs::symlink("sub/small.txt", dir.join("link")).unwrap();
    let third = ok(&d, berth_build(&d, &["-t", "sync:3", ctx]));
    assert!(sent_bytes(&third) < 20_000.0, "{third}");
    assert_ne!(built_id(&first), built_id(&third));
    let out = d.docker_ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "sync:3",
        "sh",
        "-c",
        "cat /ctx/sub/small.txt /ctx/new.txt /ctx/link; ls /ctx; wc -c < /ctx/big.txt",
    ]);
    assert_eq!(
        out,
        "twonewtwoDockerfile\nbig.txt\nlink\nnew.txt\nsub\n300000"
    );
    // The docker CLI's whole tar of the same directory hashes the same: its build hits the
    // cache berth's synced build left.
    let docker = ok(&d, berth_tests::build::docker_build(&d, &[ctx]));
    assert!(docker.contains("Using cache"), "{docker}");
    assert_eq!(built_id(&docker), built_id(&third));
    // The kept context shows in system df, and builder prune removes it: the next build
    // sends everything again.
    let v = d.docker_ok(&["system", "df", "-v"]);
    assert!(v.contains("source.local"), "{v}");
    d.docker_ok(&["builder", "prune", "-a", "-f"]);
    let fourth = ok(&d, berth_build(&d, &[ctx]));
    assert!(sent_bytes(&fourth) > 300_000.0, "{fourth}");
}
