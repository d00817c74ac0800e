//! Pull and push end to end: a real berthd, the real docker CLI and `berth`, against real
//! registries started here on 127.0.0.1 (Debian's docker-registry, plain or htpasswd over
//! TLS with a generated CA; our berth-registry with token auth), images put there by skopeo
//! or by `push` itself, and a proxy that records requests and cuts connections.

use std::process::Output;

use anyhow::Result;
use berth_tests::oci_layout::{busybox_layer, tar_of, Layout};
use berth_tests::registry::{
    free_port, BerthRegistry, DockerRegistry, Proxy, RegistryOptions, TestCa,
};
use berth_tests::Daemon;

fn text(o: &Output) -> String {
    format!(
        "status {}\nstdout: {}\nstderr: {}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn ok(d: &Daemon, o: Output) -> String {
    assert!(
        o.status.success(),
        "{}\ndaemon log:\n{}",
        text(&o),
        tail(&d.log_text())
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn tail(s: &str) -> String {
    berth_tests::daemon::tail(s, 30)
}

/// Deterministic incompressible bytes (xorshift), so a layer has a known, large blob.
fn noise(seed: u64, n: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// An image `busybox + /data/<name>` (plus `extra` bytes of noise) in a fresh layout.
fn app_layout(
    dir: &std::path::Path,
    name: &str,
    extra: usize,
) -> Result<(Layout, berth_tests::oci_layout::BuiltImage)> {
    let mut l = Layout::new(dir)?;
    let base = busybox_layer(dir)?;
    let noise = noise(name.len() as u64 * 7919, extra);
    let top = tar_of(&[
        (
            &format!("data/{name}"),
            format!("hello from {name}\n").as_bytes(),
        ),
        ("data/noise", &noise),
    ])?;
    let img = l.image(&[base, top], "amd64", &["sh"])?;
    l.tag("1", &img.manifest)?;
    Ok((l, img))
}

#[test]
fn push_then_pull_round_trip_by_tag_and_digest_with_mounts() -> Result<()> {
    let reg = DockerRegistry::start()?;
    let d = Daemon::start()?;
    d.import_busybox()?;
    let dest = format!("{}/test/bb:1", reg.addr);
    ok(&d, d.docker(&["tag", "busybox", &dest]));
    let out = ok(&d, d.docker(&["push", &dest]));
    assert!(
        out.contains("The push refers to repository") && out.contains("Pushed"),
        "{out}"
    );
    assert!(out.contains("1: digest: sha256:"), "{out}");
    // Unchanged image: every blob is already there, nothing is uploaded.
    let again = ok(&d, d.berth(&["push", &dest]));
    assert!(
        again.contains("Layer already exists") && !again.contains("Pushed"),
        "{again}"
    );
    // Another repository on the same registry: mounted, not uploaded.
    let other = format!("{}/other/bb:2", reg.addr);
    ok(&d, d.docker(&["tag", "busybox", &other]));
    let mounted = ok(&d, d.docker(&["push", &other]));
    assert!(mounted.contains("Mounted from test/bb"), "{mounted}");

    let d2 = Daemon::start()?;
    let pulled = ok(&d2, d2.berth(&["pull", &dest]));
    assert!(
        pulled.contains("Pull complete") && pulled.contains("Status: Downloaded newer image"),
        "{pulled}"
    );
    let out = ok(
        &d2,
        d2.docker(&["run", "--rm", &dest, "busybox", "echo", "pulled-ok"]),
    );
    assert_eq!(out.trim(), "pulled-ok");
    let digests = ok(
        &d2,
        d2.docker(&[
            "image",
            "inspect",
            "--format",
            "{{index .RepoDigests 0}}",
            &dest,
        ]),
    );
    let digest = digests.trim().rsplit('@').next().unwrap_or("").to_string();
    assert!(digest.starts_with("sha256:"), "{digests}");
    let up = ok(&d2, d2.docker(&["pull", &dest]));
    assert!(up.contains("Image is up to date"), "{up}");
    ok(&d2, d2.docker(&["rmi", &dest]));
    assert!(
        ok(&d2, d2.docker(&["images", "-q"])).trim().is_empty(),
        "rmi of the last tag removes the digest reference too"
    );
    let by_digest = format!("{}/test/bb@{digest}", reg.addr);
    let out = ok(&d2, d2.berth(&["pull", "-q", &by_digest]));
    assert_eq!(out.trim(), by_digest);
    Ok(())
}

#[test]
fn chunked_uploads_round_trip() -> Result<()> {
    let src = DockerRegistry::start()?;
    let dst = DockerRegistry::start()?;
    let scratch = tempfile::tempdir()?;
    let (l, img) = app_layout(&scratch.path().join("l"), "chunky", 3_500_000)?;
    l.push("1", &format!("{}/c/app:1", src.addr), None)?;
    let cfg = scratch.path().join("daemon.json");
    std::fs::write(&cfg, r#"{"upload-chunk-size": 1048576}"#)?;
    let d = Daemon::start_with(&["--config-file", cfg.to_str().unwrap()])?;
    ok(&d, d.berth(&["pull", &format!("{}/c/app:1", src.addr)]));
    let counted = Proxy::start(&dst.addr)?;
    let target = format!("{}/c/app:1", counted.addr);
    ok(
        &d,
        d.berth(&["tag", &format!("{}/c/app:1", src.addr), &target]),
    );
    let out = ok(&d, d.berth(&["push", &target]));
    assert!(out.contains("Pushed"), "{out}");
    // Layers above 1 MiB went up in 1 MiB PATCHes (smaller ones in one PUT), and come out whole.
    let chunks: u64 = img
        .layers
        .iter()
        .filter(|l| l.size > 1 << 20)
        .map(|l| l.size.div_ceil(1 << 20))
        .sum();
    assert!(chunks >= 4);
    let patches = counted
        .seen()
        .iter()
        .filter(|r| r.method == "PATCH")
        .count() as u64;
    assert_eq!(patches, chunks, "{:?}", counted.seen());
    let d2 = Daemon::start()?;
    let out = ok(
        &d2,
        d2.docker(&["run", "--rm", &target, "cat", "/data/chunky"]),
    );
    assert_eq!(out, "hello from chunky\n");
    Ok(())
}

#[test]
fn docker_run_pulls_an_absent_multi_layer_image() -> Result<()> {
    let reg = DockerRegistry::start()?;
    let d = Daemon::start()?;
    let (l, img) = app_layout(&d.root.path().join("layout"), "app", 300_000)?;
    l.push("1", &format!("{}/team/app:1", reg.addr), None)?;
    assert_eq!(img.layers.len(), 2);
    let out = d.docker(&[
        "run",
        "--rm",
        &format!("{}/team/app:1", reg.addr),
        "cat",
        "/data/app",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello from app\n");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Unable to find image") && err.contains("Pull complete"),
        "{err}"
    );
    let missing = d.docker(&["pull", &format!("{}/team/app:nope", reg.addr)]);
    assert!(!missing.status.success());
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("manifest for"),
        "{}",
        text(&missing)
    );
    Ok(())
}

#[test]
fn multi_arch_index_platform_choice() -> Result<()> {
    let reg = DockerRegistry::start()?;
    let d = Daemon::start()?;
    let dir = d.root.path().join("layout");
    let mut l = Layout::new(&dir)?;
    let base = busybox_layer(&dir)?;
    let amd = l.image(
        &[base.clone(), tar_of(&[("arch", b"amd64\n")])?],
        "amd64",
        &["sh"],
    )?;
    let arm = l.image(&[base, tar_of(&[("arch", b"arm64\n")])?], "arm64", &["sh"])?;
    let index = l.index(&[(&amd, "amd64", None), (&arm, "arm64", Some("v8"))])?;
    l.tag("multi", &index)?;
    let r = format!("{}/multi/arch:1", reg.addr);
    l.push("multi", &r, None)?;
    ok(&d, d.berth(&["pull", &r]));
    assert_eq!(
        ok(&d, d.docker(&["run", "--rm", &r, "cat", "/arch"])),
        "amd64\n"
    );
    let out = ok(&d, d.berth(&["pull", "--platform", "linux/arm64", &r]));
    assert!(out.contains("Downloaded newer image"), "{out}");
    let arch = ok(
        &d,
        d.docker(&["image", "inspect", "--format", "{{.Architecture}}", &r]),
    );
    assert_eq!(arch.trim(), "arm64");
    let bad = d.berth(&["pull", "--platform", "linux/s390x", &r]);
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("no matching manifest for linux/s390x"),
        "{}",
        text(&bad)
    );
    Ok(())
}

#[test]
fn interrupted_downloads_resume_with_range() -> Result<()> {
    let reg = DockerRegistry::start()?;
    let proxy = Proxy::start(&reg.addr)?;
    let d = Daemon::start()?;
    let (l, img) = app_layout(&d.root.path().join("layout"), "big", 6_000_000)?;
    l.push("1", &format!("{}/cut/app:1", reg.addr), None)?;
    let big = img.layers.iter().max_by_key(|b| b.size).unwrap().clone();
    let r = format!("{}/cut/app:1", proxy.addr);

    // Cut once in the middle: the same pull resumes from where it stopped.
    proxy.cut(big.hex(), 2_000_000, 1);
    ok(&d, d.berth(&["pull", &r]));
    let gets: Vec<_> = proxy
        .seen()
        .into_iter()
        .filter(|s| s.method == "GET" && s.path.contains(big.hex()))
        .collect();
    assert!(gets.len() >= 2, "{gets:?}");
    let resumed = gets
        .iter()
        .filter_map(|g| g.range.as_deref())
        .find(|r| r.starts_with("bytes=") && !r.starts_with("bytes=0-"));
    assert!(resumed.is_some(), "no ranged request: {gets:?}");

    // A daemon that gives up at the first cut: the pull fails, keeps what it has, and the
    // next pull resumes from there.
    let cfg = d.root.path().join("one-attempt.json");
    std::fs::write(&cfg, r#"{"max-download-attempts": 1}"#)?;
    let d2 = Daemon::start_with(&["--config-file", cfg.to_str().unwrap()])?;
    proxy.cut(big.hex(), 2_500_000, 1);
    let failed = d2.berth(&["pull", &r]);
    assert!(!failed.status.success(), "{}", text(&failed));
    assert!(
        String::from_utf8_lossy(&failed.stderr).contains(big.hex()),
        "{}",
        text(&failed)
    );
    proxy.cut(big.hex(), 0, 0);
    let before = proxy.seen().len();
    ok(&d2, d2.berth(&["pull", &r]));
    let after: Vec<_> = proxy
        .seen()
        .into_iter()
        .skip(before)
        .filter(|s| s.path.contains(big.hex()))
        .collect();
    assert!(
        after.iter().all(|g| g
            .range
            .as_deref()
            .is_some_and(|r| !r.starts_with("bytes=0-"))),
        "the next pull starts where the last stopped: {after:?}"
    );
    assert_eq!(
        ok(&d2, d2.docker(&["run", "--rm", &r, "cat", "/data/big"])),
        "hello from big\n"
    );
    Ok(())
}

#[test]
fn corrupted_blob_fails_the_pull_naming_the_layer_and_leaves_nothing() -> Result<()> {
    let reg = DockerRegistry::start()?;
    let d = Daemon::start()?;
    let (l, img) = app_layout(&d.root.path().join("layout"), "bad", 100_000)?;
    l.push("1", &format!("{}/bad/app:1", reg.addr), None)?;
    let victim = &img.layers[1];
    let path = reg.blob_file(victim.hex());
    let mut bytes = std::fs::read(&path)?;
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&path, bytes)?;
    let snapshots = || {
        std::fs::read_dir(d.data_root.join("snapshots"))
            .map(|r| r.count())
            .unwrap_or(0)
    };
    let before = snapshots();
    let out = d.berth(&["pull", &format!("{}/bad/app:1", reg.addr)]);
    assert!(!out.status.success(), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&victim.digest),
        "the error names the layer: {err}"
    );
    assert!(ok(&d, d.docker(&["images", "-q"])).trim().is_empty());
    assert_eq!(snapshots(), before, "no snapshot left behind");
    let blobs = d.data_root.join("content/blobs/sha256");
    for layer in &img.layers {
        assert!(
            !blobs.join(layer.hex()).exists(),
            "blob {} left behind",
            layer.digest
        );
    }
    let ingests = std::fs::read_dir(d.data_root.join("content/ingest"))?.count();
    assert_eq!(ingests, 0, "the bad download is not kept for a resume");
    Ok(())
}

#[test]
fn concurrent_pulls_download_a_shared_layer_once() -> Result<()> {
    let reg = DockerRegistry::start()?;
    let proxy = Proxy::start(&reg.addr)?;
    let d = Daemon::start()?;
    let dir = d.root.path().join("layout");
    let mut l = Layout::new(&dir)?;
    let base = tar_of(&[("base/noise", &noise(42, 4_000_000))])?;
    let a = l.image(&[base.clone(), tar_of(&[("a", b"a")])?], "amd64", &["sh"])?;
    let b = l.image(&[base, tar_of(&[("b", b"b")])?], "amd64", &["sh"])?;
    l.tag("a", &a.manifest)?;
    l.tag("b", &b.manifest)?;
    l.push("a", &format!("{}/share/a:1", reg.addr), None)?;
    l.push("b", &format!("{}/share/b:1", reg.addr), None)?;
    let shared = a.layers[0].hex().to_string();
    assert_eq!(shared, b.layers[0].hex());
    let mut c1 = d
        .berth_cmd(&["pull", "-q", &format!("{}/share/a:1", proxy.addr)])
        .spawn()?;
    let mut c2 = d
        .berth_cmd(&["pull", "-q", &format!("{}/share/b:1", proxy.addr)])
        .spawn()?;
    assert!(c1.wait()?.success() && c2.wait()?.success());
    let gets = proxy
        .seen()
        .into_iter()
        .filter(|s| s.method == "GET" && s.path.contains(&shared))
        .count();
    assert_eq!(gets, 1, "{:?}", proxy.seen());
    Ok(())
}

#[test]
fn mirrors_are_used_skipped_when_down_and_fall_back_to_the_origin() -> Result<()> {
    let origin = DockerRegistry::start()?;
    let counted = Proxy::start(&origin.addr)?;
    let mirror = DockerRegistry::start()?;
    let scratch = tempfile::tempdir()?;
    let (l, _) = app_layout(&scratch.path().join("l1"), "mirrored", 1000)?;
    l.push("1", &format!("{}/m/app:1", mirror.addr), None)?;
    l.push("1", &format!("{}/m/app:1", origin.addr), None)?;
    let (l2, _) = app_layout(&scratch.path().join("l2"), "originonly", 1000)?;
    l2.push("1", &format!("{}/m/other:1", origin.addr), None)?;
    let cfg = scratch.path().join("daemon.json");
    let down = format!("http://127.0.0.1:{}", free_port());
    std::fs::write(
        &cfg,
        format!(
            r#"{{"registry-mirrors": ["{down}", "http://{}"], "max-concurrent-downloads": 2}}"#,
            mirror.addr
        ),
    )?;
    let d = Daemon::start_with(&["--config-file", cfg.to_str().unwrap()])?;
    ok(&d, d.berth(&["pull", &format!("{}/m/app:1", counted.addr)]));
    assert!(
        counted.seen().iter().all(|s| !s.path.contains("/m/app/")),
        "origin not asked: {:?}",
        counted.seen()
    );
    assert_eq!(
        ok(
            &d,
            d.docker(&[
                "run",
                "--rm",
                &format!("{}/m/app:1", counted.addr),
                "cat",
                "/data/mirrored"
            ])
        ),
        "hello from mirrored\n"
    );
    // Not on the mirror: the origin serves it.
    ok(
        &d,
        d.berth(&["pull", &format!("{}/m/other:1", counted.addr)]),
    );
    assert!(counted
        .seen()
        .iter()
        .any(|s| s.path.contains("/m/other/manifests/1")));
    // A bad config file is refused with its key named.
    std::fs::write(&cfg, r#"{"registry-mirror": ["x"]}"#)?;
    let e = Daemon::start_with(&["--config-file", cfg.to_str().unwrap()])
        .err()
        .expect("refused");
    assert!(e.to_string().contains("registry-mirror"), "{e}");
    Ok(())
}

#[test]
fn tls_htpasswd_registry_with_a_generated_ca() -> Result<()> {
    let scratch = tempfile::tempdir()?;
    let ca = TestCa::generate(scratch.path(), "good")?;
    let wrong = TestCa::generate(scratch.path(), "wrong")?;
    let reg = DockerRegistry::start_with(RegistryOptions {
        htpasswd: Some(("alice".into(), "s3cret".into())),
        tls: Some((ca.cert.clone(), ca.key.clone())),
    })?;
    let certs = scratch.path().join("certs.d");
    std::fs::create_dir_all(certs.join(&reg.addr))?;
    std::fs::copy(&ca.ca_cert, certs.join(&reg.addr).join("ca.crt"))?;
    let d = Daemon::start_with(&["--certs-dir", certs.to_str().unwrap()])?;
    d.import_busybox()?;
    let r = format!("{}/secure/bb:1", reg.addr);
    ok(&d, d.docker(&["tag", "busybox", &r]));

    let denied = d.docker(&["push", &r]);
    assert!(!denied.status.success());
    let e = String::from_utf8_lossy(&denied.stderr);
    assert!(
        e.contains("requires authentication") || e.contains("denied"),
        "{}",
        text(&denied)
    );

    let bad = d.docker(&["login", "-u", "alice", "-p", "nope", &reg.addr]);
    assert!(!bad.status.success());
    let e = String::from_utf8_lossy(&bad.stderr);
    assert!(
        e.contains("unauthorized") && e.contains("alice"),
        "{}",
        text(&bad)
    );
    let out = ok(
        &d,
        d.berth_cmd(&["login", "-u", "alice", "--password-stdin", &reg.addr])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write;
                c.stdin.take().unwrap().write_all(b"s3cret\n")?;
                c.wait_with_output()
            })?,
    );
    assert!(out.contains("Login Succeeded"), "{out}");
    let cfg = std::fs::read_to_string(d.root.path().join("docker-config/config.json"))?;
    assert!(cfg.contains(&reg.addr) && cfg.contains("\"auth\""), "{cfg}");
    // The docker CLI reads what berth wrote and sends it as X-Registry-Auth.
    let pushed = ok(&d, d.docker(&["push", &r]));
    assert!(pushed.contains("digest: sha256:"), "{pushed}");
    ok(&d, d.docker(&["rmi", &r]));
    ok(&d, d.berth(&["pull", &r]));
    assert!(ok(&d, d.berth(&["logout", &reg.addr])).contains("Removing login credentials"));

    // certs.d decides trust: a CA that did not sign the server's certificate is refused.
    let wrong_dir = scratch.path().join("wrong.d");
    std::fs::create_dir_all(wrong_dir.join(&reg.addr))?;
    std::fs::copy(&wrong.ca_cert, wrong_dir.join(&reg.addr).join("ca.crt"))?;
    let d2 = Daemon::start_with(&["--certs-dir", wrong_dir.to_str().unwrap()])?;
    let refused = d2.docker(&["pull", &r]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr)
            .to_lowercase()
            .contains("certificate"),
        "{}",
        text(&refused)
    );
    Ok(())
}

#[test]
fn berth_registry_token_auth_login_and_search() -> Result<()> {
    let reg = BerthRegistry::start(&[("alice", "pw-alice")])?;
    let d = Daemon::start()?;
    d.import_busybox()?;
    let r = format!("{}/library/busybox:1", reg.addr);
    ok(&d, d.docker(&["tag", "busybox", &r]));
    let anon = d.docker(&["push", &r]);
    assert!(!anon.status.success(), "{}", text(&anon));
    let bad = d.berth(&["login", "-u", "alice", "-p", "wrong", &reg.addr]);
    assert!(!bad.status.success());
    let e = String::from_utf8_lossy(&bad.stderr);
    assert!(
        e.contains("unauthorized") && e.contains("alice"),
        "{}",
        text(&bad)
    );
    ok(
        &d,
        d.docker(&["login", "-u", "alice", "-p", "pw-alice", &reg.addr]),
    );
    let out = ok(&d, d.berth(&["push", &r]));
    assert!(out.contains("digest: sha256:"), "{out}");
    // The docker CLI through berthd pushes with the token the login stored.
    let r2 = format!("{}/alice/tools:2", reg.addr);
    ok(&d, d.docker(&["tag", "busybox", &r2]));
    let out = ok(&d, d.docker(&["push", &r2]));
    assert!(out.contains("2: digest: sha256:"), "{out}");
    ok(&d, d.docker(&["logout", &reg.addr]));
    // Anonymous pulls get an anonymous token.
    let d2 = Daemon::start()?;
    ok(&d2, d2.docker(&["pull", &r]));
    let ran = ok(
        &d2,
        d2.docker(&["run", "--rm", &r2, "echo", "from-berth-registry"]),
    );
    assert_eq!(ran.trim(), "from-berth-registry");
    let hits = ok(&d, d.docker(&["search", &format!("{}/busy", reg.addr)]));
    assert!(
        hits.contains("NAME") && hits.contains(&format!("{}/library/busybox", reg.addr)),
        "{hits}"
    );
    let official = ok(
        &d,
        d.berth(&[
            "search",
            "--filter",
            "is-official=true",
            "--format",
            "{{.Name}}",
            &format!("{}/busy", reg.addr),
        ]),
    );
    assert!(official.trim().is_empty(), "{official}");
    let limited = ok(
        &d,
        d.berth(&[
            "search",
            "--limit",
            "1",
            "--format",
            "{{.Name}}",
            &format!("{}/busy", reg.addr),
        ]),
    );
    assert_eq!(limited.lines().count(), 1, "{limited}");
    Ok(())
}
