//! The `berth-registry` binary: `serve` with flags and with a config file, graceful stop,
//! `gc`, `fsck`, and crash safety (SIGKILL in the middle of uploads and pushes leaves a store
//! that `fsck` finds consistent and that still holds everything acknowledged).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest as _, Sha256};

const BIN: &str = env!("CARGO_BIN_EXE_berth-registry");

/// A running `berth-registry serve`, killed (by PID) when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(args: &[&str]) -> Server {
        let mut child = Command::new(BIN)
            .arg("serve")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .rsplit("://")
            .next()
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no listening line, got {line:?}"));
        Server { child, addr }
    }

    fn root(dir: &Path) -> Server {
        Server::start(&["--addr", "127.0.0.1:0", "--root", dir.to_str().unwrap()])
    }

    fn signal(&mut self, sig: nix::sys::signal::Signal) -> std::process::ExitStatus {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.child.id() as i32), sig).unwrap();
        self.child.wait().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal blocking HTTP/1.1 exchange; returns status, headers (lowercase names) and body.
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("response head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let hs = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    (status, hs, raw[split + 4..].to_vec())
}

fn header<'a>(hs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    hs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn sha(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

/// Pushes a config blob, a layer and a manifest; returns the manifest digest.
fn push_image(addr: SocketAddr, repo: &str, tag: &str, seed: &str, layer_size: usize) -> String {
    let layer: Vec<u8> = (0..layer_size)
        .map(|i| (i as u8) ^ seed.len() as u8)
        .chain(seed.bytes())
        .collect();
    let config = format!(r#"{{"architecture":"amd64","os":"linux","seed":"{seed}"}}"#).into_bytes();
    for blob in [&layer, &config] {
        let (st, _, body) = http(
            addr,
            "POST",
            &format!("/v2/{repo}/blobs/uploads/?digest={}", sha(blob)),
            &[],
            blob,
        );
        assert_eq!(st, 201, "{}", String::from_utf8_lossy(&body));
    }
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{}","size":{}}}]}}"#,
        sha(&config),
        config.len(),
        sha(&layer),
        layer.len()
    );
    let (st, _, body) = http(
        addr,
        "PUT",
        &format!("/v2/{repo}/manifests/{tag}"),
        &[("Content-Type", "application/vnd.oci.image.manifest.v1+json")],
        manifest.as_bytes(),
    );
    assert_eq!(st, 201, "{}", String::from_utf8_lossy(&body));
    sha(manifest.as_bytes())
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn fsck(root: &Path) -> (i32, String) {
    let (code, out, err) = run(&["fsck", "--root", root.to_str().unwrap()]);
    (code, format!("{out}{err}"))
}

#[test]
fn serve_with_flags_and_stop_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Server::root(&dir.path().join("root"));
    let (st, hs, body) = http(s.addr, "GET", "/v2/", &[], b"");
    assert_eq!(st, 200);
    assert_eq!(
        header(&hs, "docker-distribution-api-version"),
        Some("registry/2.0")
    );
    assert_eq!(body, b"{}");
    push_image(s.addr, "flags/app", "v1", "f", 1000);
    let status = s.signal(nix::sys::signal::Signal::SIGTERM);
    assert!(status.success(), "{status:?}");
}

#[test]
fn serve_with_a_config_file_and_refuse_bad_ones() {
    let dir = tempfile::tempdir().unwrap();
    let ht = dir.path().join("htpasswd");
    std::fs::write(&ht, format!("ci:{}\n", bcrypt::hash("ci-pw", 4).unwrap())).unwrap();
    let cfg = dir.path().join("registry.toml");
    std::fs::write(
        &cfg,
        format!(
            "[server]\naddr = \"127.0.0.1:0\"\n[storage.filesystem]\nroot = \"{}\"\n[auth]\nmode = \"basic\"\nhtpasswd = \"{}\"\n[[auth.access]]\nrepository = \"*\"\nusers = [\"ci\"]\nactions = [\"pull\", \"push\"]\n[ui]\ntitle = \"CI registry\"\n",
            dir.path().join("root").display(),
            ht.display()
        ),
    )
    .unwrap();
    let s = Server::start(&["--config", cfg.to_str().unwrap()]);
    assert_eq!(http(s.addr, "GET", "/v2/", &[], b"").0, 401);
    // ci:ci-pw
    assert_eq!(
        http(
            s.addr,
            "GET",
            "/v2/",
            &[("Authorization", "Basic Y2k6Y2ktcHc=")],
            b""
        )
        .0,
        200
    );
    let (_, _, home) = http(s.addr, "GET", "/", &[], b"");
    assert!(String::from_utf8_lossy(&home).contains("CI registry"));

    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[storage.filesystem]\nroot = \"/x\"\n[server]\nport = 5\n",
    )
    .unwrap();
    let (code, _, err) = run(&["serve", "--config", bad.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(err.contains("bad.toml") && err.contains("port"), "{err}");
    let (code, _, err) = run(&[
        "serve",
        "--config",
        dir.path().join("missing.toml").to_str().unwrap(),
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("missing.toml"), "{err}");
}

#[test]
fn gc_removes_only_what_nothing_needs() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let mut s = Server::root(&root);
    let kept = push_image(s.addr, "gc/app", "v1", "keep", 5000);
    // An image whose tag is then deleted (untagged) and a blob then unlinked.
    let untagged = push_image(s.addr, "gc/app", "old", "drop", 6000);
    assert_eq!(
        http(s.addr, "DELETE", "/v2/gc/app/manifests/old", &[], b"").0,
        202
    );
    // The running server holds the root: gc refuses, a dry run may look.
    let (code, _, err) = run(&["gc", "--root", root.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(err.contains("locked by another berth-registry"), "{err}");
    assert_eq!(
        run(&["gc", "--dry-run", "--root", root.to_str().unwrap()]).0,
        0
    );
    let (code, _, err) = run(&[
        "serve",
        "--addr",
        "127.0.0.1:0",
        "--root",
        root.to_str().unwrap(),
    ]);
    assert_ne!(code, 0, "a second server on the same root");
    assert!(err.contains("locked"), "{err}");
    let orphan = b"orphan blob".to_vec();
    http(
        s.addr,
        "POST",
        &format!("/v2/gc/app/blobs/uploads/?digest={}", sha(&orphan)),
        &[],
        &orphan,
    );
    assert_eq!(
        http(
            s.addr,
            "DELETE",
            &format!("/v2/gc/app/blobs/{}", sha(&orphan)),
            &[],
            b""
        )
        .0,
        202
    );
    s.signal(nix::sys::signal::Signal::SIGTERM);

    let r = root.to_str().unwrap();
    let (code, out, _) = run(&[
        "gc",
        "--root",
        r,
        "--dry-run",
        "--delete-untagged",
        "--layer-grace-secs",
        "0",
    ]);
    assert_eq!(code, 0);
    assert!(
        out.contains(&format!("would delete blob {}", sha(&orphan))),
        "{out}"
    );
    assert!(
        out.contains(&format!("would delete manifest gc/app@{untagged}")),
        "{out}"
    );
    assert!(
        root.join("blobs/sha256")
            .join(&sha(&orphan)[7..9])
            .join(&sha(&orphan)[7..])
            .exists(),
        "dry run deleted"
    );

    let (code, out, _) = run(&["gc", "--root", r]);
    assert_eq!(code, 0);
    assert!(
        out.contains(&format!("deleted blob {}", sha(&orphan))),
        "{out}"
    );
    assert!(
        !out.contains(&untagged),
        "untagged kept without --delete-untagged: {out}"
    );
    let (code, out, _) = run(&[
        "gc",
        "--root",
        r,
        "--delete-untagged",
        "--layer-grace-secs",
        "0",
    ]);
    assert_eq!(code, 0);
    assert!(
        out.contains(&format!("deleted manifest gc/app@{untagged}")),
        "{out}"
    );
    // "drop"'s layer and config went with it; "keep" is whole.
    assert!(out.contains("deleted 3 blobs"), "{out}");
    let (code, out) = fsck(&root);
    assert_eq!(code, 0, "{out}");
    let s = Server::root(&root);
    let (st, hs, _) = http(s.addr, "GET", "/v2/gc/app/manifests/v1", &[], b"");
    assert_eq!(st, 200);
    assert_eq!(header(&hs, "docker-content-digest"), Some(kept.as_str()));
}

#[test]
fn fsck_finds_corruption_and_missing_content() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let mut s = Server::root(&root);
    push_image(s.addr, "fs/app", "v1", "x", 4000);
    s.signal(nix::sys::signal::Signal::SIGTERM);
    let (code, out) = fsck(&root);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("consistent: 3 blobs, 1 repositories, 0 problems"),
        "{out}"
    );

    // Flip a byte of the layer.
    let layer_dir = root.join("blobs/sha256");
    let mut biggest = None;
    for shard in std::fs::read_dir(&layer_dir).unwrap() {
        for f in std::fs::read_dir(shard.unwrap().path()).unwrap() {
            let p = f.unwrap().path();
            let len = p.metadata().unwrap().len();
            if biggest.as_ref().is_none_or(|(l, _)| len > *l) {
                biggest = Some((len, p));
            }
        }
    }
    let path = biggest.unwrap().1;
    let mut data = std::fs::read(&path).unwrap();
    data[10] ^= 0xff;
    std::fs::write(&path, &data).unwrap();
    let (code, out) = fsck(&root);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("is corrupt") && out.contains("INCONSISTENT"),
        "{out}"
    );
    // --quick does not hash, but a missing blob is still found.
    std::fs::remove_file(&path).unwrap();
    let (code, out, _) = run(&["fsck", "--quick", "--root", root.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("missing blob"), "{out}");
}

/// Sends the head and part of a body, never the rest: an upload in flight.
fn start_partial_upload(addr: SocketAddr, path: &str, total: usize, sent: usize) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap();
    let head = format!("PUT {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {total}\r\n\r\n");
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(&vec![7u8; sent]).unwrap();
    s.flush().unwrap();
    s
}

/// Waits (bounded) until some file under `dir` has at least `min` bytes: the server received
/// and wrote part of a body.
fn wait_for_bytes(dir: &Path, min: u64) {
    for _ in 0..2000 {
        let mut stack = vec![dir.to_owned()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.metadata().map(|m| m.len()).unwrap_or(0) >= min {
                    return;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("the server never wrote {min} bytes under {}", dir.display());
}

#[test]
fn sigkill_mid_upload_leaves_a_consistent_store() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let mut s = Server::root(&root);
    let before = push_image(s.addr, "crash/app", "v1", "before", 20_000);
    // A chunked session with one acknowledged chunk, then a second chunk in flight.
    let (st, hs, _) = http(s.addr, "POST", "/v2/crash/app/blobs/uploads/", &[], b"");
    assert_eq!(st, 202);
    let loc = header(&hs, "location").unwrap().to_owned();
    let (st, _, _) = http(
        s.addr,
        "PATCH",
        &loc,
        &[("Content-Range", "0-99999")],
        &vec![1u8; 100_000],
    );
    assert_eq!(st, 202);
    let _inflight = start_partial_upload(
        s.addr,
        &format!("{loc}?digest={}", sha(b"x")),
        8_000_000,
        2_000_000,
    );
    // And a monolithic upload in flight.
    let digest = sha(&vec![9u8; 8_000_000]);
    let mut mono = TcpStream::connect(s.addr).unwrap();
    let head = format!("POST /v2/crash/app/blobs/uploads/?digest={digest} HTTP/1.1\r\nHost: x\r\nContent-Length: 8000000\r\n\r\n");
    mono.write_all(head.as_bytes()).unwrap();
    mono.write_all(&vec![9u8; 3_000_000]).unwrap();
    wait_for_bytes(&root.join("uploads"), 1_000_000);
    wait_for_bytes(&root.join("repositories/crash/app/_uploads"), 1_000_000);
    s.signal(nix::sys::signal::Signal::SIGKILL);

    let (code, out) = fsck(&root);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("consistent"), "{out}");
    assert!(out.contains("garbage: scratch file uploads/"), "{out}");
    let mut s = Server::root(&root);
    let (st, hs, _) = http(s.addr, "GET", "/v2/crash/app/manifests/v1", &[], b"");
    assert_eq!(
        (st, header(&hs, "docker-content-digest")),
        (200, Some(before.as_str()))
    );
    // The acknowledged chunk survived; the torn second one is not part of it.
    let (st, hs, _) = http(s.addr, "GET", &loc, &[], b"");
    assert_eq!(st, 204);
    let range = header(&hs, "range").unwrap().to_owned();
    let end: u64 = range.trim_start_matches("0-").parse().unwrap();
    assert!(end >= 99_999, "acknowledged bytes lost: {range}");
    assert_eq!(
        http(
            s.addr,
            "HEAD",
            &format!("/v2/crash/app/blobs/{digest}"),
            &[],
            b""
        )
        .0,
        404
    );
    s.signal(nix::sys::signal::Signal::SIGTERM);

    // gc with an expiry of 0 clears the leftovers; the store stays consistent.
    let cfg = dir.path().join("gc.toml");
    std::fs::write(
        &cfg,
        format!(
            "[storage.filesystem]\nroot = \"{}\"\n[limits]\nupload_expiry_secs = 0\n",
            root.display()
        ),
    )
    .unwrap();
    let (code, gc_out, _) = run(&["gc", "--config", cfg.to_str().unwrap()]);
    assert_eq!(code, 0, "{gc_out}");
    assert!(
        gc_out.contains("deleted scratch file uploads/")
            && gc_out.contains("deleted upload crash/app/"),
        "{gc_out}"
    );
    let (code, out) = fsck(&root);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("garbage: scratch file uploads/"), "{out}");
}

#[test]
fn sigkill_during_concurrent_pushes_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    for round in 0..3usize {
        let mut s = Server::root(&root);
        let addr = s.addr;
        let acked: Arc<std::sync::Mutex<Vec<(String, String)>>> = Arc::default();
        let done = Arc::new(AtomicUsize::new(0));
        let mut workers = Vec::new();
        for w in 0..3 {
            let (acked, done) = (Arc::clone(&acked), Arc::clone(&done));
            workers.push(std::thread::spawn(move || {
                for i in 0..1000 {
                    let tag = format!("r{round}w{w}i{i}");
                    // After the kill every request fails: stop quietly.
                    let r = std::panic::catch_unwind(|| {
                        push_image(addr, &format!("crash/w{w}"), &tag, &tag, 200_000)
                    });
                    match r {
                        Ok(d) => {
                            acked.lock().unwrap().push((format!("crash/w{w}:{tag}"), d));
                            done.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(_) => return,
                    }
                }
            }));
        }
        // Kill once a few pushes (a different number each round) were acknowledged.
        for _ in 0..20_000 {
            if done.load(Ordering::SeqCst) > 2 + round * 3 {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        s.signal(nix::sys::signal::Signal::SIGKILL);
        let prev_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        for w in workers {
            let _ = w.join();
        }
        std::panic::set_hook(prev_hook);

        let (code, out) = fsck(&root);
        assert_eq!(code, 0, "round {round}: {out}");
        let s = Server::root(&root);
        for (r, d) in acked.lock().unwrap().iter() {
            let (repo, tag) = r.split_once(':').unwrap();
            let (st, hs, _) = http(
                s.addr,
                "GET",
                &format!("/v2/{repo}/manifests/{tag}"),
                &[],
                b"",
            );
            assert_eq!(
                (st, header(&hs, "docker-content-digest")),
                (200, Some(d.as_str())),
                "lost {r}"
            );
        }
    }
}
