//! Log drivers (`local`, `none`, json-file options), OCI runtimes (`--runtime runc`, crun's
//! refusal on hybrid hosts, `daemon.json` runtimes and `--default-runtime`), the websocket
//! attach endpoint, and `docker import` from a URL — through the docker CLI.

use std::io::{Read, Write};
use std::time::Duration;

use berth_tests::poll::until;
use berth_tests::Daemon;

fn daemon() -> Daemon {
    let d = Daemon::start().expect("start berthd");
    d.import_busybox().expect("import busybox");
    d
}

const LIMIT: Duration = Duration::from_secs(30);

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn local_driver_rotates_compressed_and_reads_back() {
    let d = daemon();
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        "loc",
        "--log-driver",
        "local",
        "--log-opt",
        "max-size=2k",
        "--log-opt",
        "max-file=3",
        "busybox",
        "sh",
        "-c",
        "i=0; while [ $i -lt 300 ]; do echo line $i; i=$((i+1)); done; echo err >&2; sleep 1000",
    ]);
    let logs = until("the last line", LIMIT, || {
        let out = d.docker(&["logs", "loc"]);
        let s = String::from_utf8_lossy(&out.stdout).into_owned();
        (s.contains("line 299") && stderr(&out).contains("err")).then_some(s)
    });
    let lines: Vec<&str> = logs.lines().collect();
    let first: usize = lines[0].trim_start_matches("line ").parse().unwrap();
    assert!(first > 0, "older lines rotated away");
    assert_eq!(
        lines.len(),
        300 - first,
        "consecutive, nothing lost in the kept files"
    );
    assert_eq!(
        d.docker_ok(&["inspect", "-f", "{{.HostConfig.LogConfig.Type}}", "loc"]),
        "local"
    );
    let id = d.docker_ok(&["inspect", "-f", "{{.Id}}", "loc"]);
    let dir = d.data_root.join("containers").join(&id).join("local-logs");
    assert!(
        dir.join("container.log.1.gz").exists(),
        "rotated files are compressed"
    );
    assert!(
        !dir.join("container.log.3.gz").exists(),
        "max-file counts the live file"
    );
    // The last three entries: two lines of stdout, then the one of stderr.
    let tail = d.docker_ok(&["logs", "--tail", "3", "loc"]);
    assert_eq!(tail, "line 298\nline 299");
}

#[test]
fn none_driver_json_attrs_and_unknown_drivers() {
    let d = daemon();
    d.docker_ok(&[
        "run",
        "--name",
        "quiet",
        "--log-driver",
        "none",
        "busybox",
        "echo",
        "hi",
    ]);
    let out = d.docker(&["logs", "quiet"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("configured logging driver does not support reading"),
        "{}",
        stderr(&out)
    );
    // Attached output is not a log: it still arrives.
    assert_eq!(
        d.docker_ok(&[
            "run",
            "--rm",
            "--log-driver",
            "none",
            "busybox",
            "echo",
            "hi"
        ]),
        "hi"
    );
    let out = d.docker(&["run", "--log-driver", "asdf", "busybox", "true"]);
    assert!(
        stderr(&out).contains("logger: no log driver named 'asdf' is registered"),
        "{}",
        stderr(&out)
    );
    let out = d.docker(&["run", "--log-driver", "syslog", "busybox", "true"]);
    assert!(stderr(&out).contains("logger: no log driver named 'syslog' is registered"));
    let out = d.docker(&[
        "run",
        "--log-driver",
        "local",
        "--log-opt",
        "labels=a",
        "busybox",
        "true",
    ]);
    assert!(stderr(&out).contains("unknown log opt 'labels' for local log driver"));
    d.docker_ok(&[
        "run",
        "--name",
        "tagged",
        "-l",
        "tier=db",
        "-e",
        "REGION=eu",
        "--log-opt",
        "labels=tier",
        "--log-opt",
        "env=REGION",
        "--log-opt",
        "tag={{.Name}}",
        "busybox",
        "echo",
        "hello",
    ]);
    assert_eq!(
        d.docker_ok(&["logs", "--details", "tagged"]),
        "REGION=eu,tag=tagged,tier=db hello"
    );
    assert_eq!(d.docker_ok(&["logs", "tagged"]), "hello");
}

#[test]
fn runc_runs_execs_and_is_recorded() {
    let d = daemon();
    assert_eq!(
        d.docker_ok(&[
            "run",
            "--rm",
            "--runtime",
            "runc",
            "busybox",
            "echo",
            "via runc"
        ]),
        "via runc"
    );
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        "rr",
        "--runtime",
        "runc",
        "busybox",
        "sleep",
        "1000",
    ]);
    assert_eq!(
        d.docker_ok(&["inspect", "-f", "{{.HostConfig.Runtime}}", "rr"]),
        "runc"
    );
    assert_eq!(
        d.docker_ok(&["exec", "rr", "sh", "-c", "echo in runc; exit 0"]),
        "in runc"
    );
    let out = d.docker(&["exec", "rr", "sh", "-c", "exit 3"]);
    assert_eq!(out.status.code(), Some(3));
    let out = d.docker(&["exec", "rr", "nope"]);
    assert_eq!(out.status.code(), Some(127), "{}", stderr(&out));
    let s = d.docker_ok(&["stats", "--no-stream", "--format", "{{.PIDs}}", "rr"]);
    assert_eq!(s, "1");
    d.docker_ok(&["pause", "rr"]);
    d.docker_ok(&["unpause", "rr"]);
    d.docker_ok(&["kill", "rr"]);
    assert_eq!(
        d.docker_ok(&["inspect", "-f", "{{.State.ExitCode}}", "rr"]),
        "137"
    );
    let out = d.docker(&["run", "--runtime", "runc", "busybox", "nope"]);
    assert_eq!(out.status.code(), Some(127), "{}", stderr(&out));
    d.docker_ok(&["run", "-d", "--name", "plain", "busybox", "sleep", "1000"]);
    assert_eq!(
        d.docker_ok(&["inspect", "-f", "{{.HostConfig.Runtime}}", "plain"]),
        "berth"
    );
    let out = d.docker(&["run", "--runtime", "kata", "busybox", "true"]);
    assert!(stderr(&out).contains("unknown or invalid runtime name: kata"));
    // crun 1.8 cannot run on a hybrid cgroup host: its own reason comes back, promptly.
    let hybrid = std::path::Path::new("/sys/fs/cgroup/unified").exists();
    if hybrid && std::path::Path::new("/usr/bin/crun").exists() {
        let t0 = std::time::Instant::now();
        let out = d.docker(&["run", "--rm", "--runtime", "crun", "busybox", "true"]);
        assert!(!out.status.success());
        assert!(
            stderr(&out).contains("cgroups in hybrid mode not supported"),
            "{}",
            stderr(&out)
        );
        assert!(t0.elapsed() < LIMIT);
    }
    assert!(d.leftover_cgroups().iter().all(|c| !c.ends_with("nope")));
}

#[test]
fn daemon_json_runtimes_and_default_runtime() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("daemon.json");
    std::fs::write(
        &cfg,
        r#"{"runtimes": {"myrunc": {"path": "runc"}}, "default-runtime": "myrunc", "log-driver": "local"}"#,
    )
    .unwrap();
    let d = Daemon::start_with(&["--config-file", cfg.to_str().unwrap()]).unwrap();
    d.import_busybox().unwrap();
    let info = d.docker_ok(&[
        "info",
        "--format",
        "{{.DefaultRuntime}} {{.LoggingDriver}} {{json .Runtimes.myrunc.Path}}",
    ]);
    assert!(info.starts_with("myrunc local \"/"), "{info}");
    d.docker_ok(&["run", "--name", "xx", "busybox", "echo", "ok"]);
    assert_eq!(
        d.docker_ok(&[
            "inspect",
            "-f",
            "{{.HostConfig.Runtime}} {{.HostConfig.LogConfig.Type}}",
            "xx"
        ]),
        "myrunc local"
    );
    assert_eq!(d.docker_ok(&["logs", "xx"]), "ok");
}

/// A minimal websocket client: the handshake, then binary frames (masked, as a client must).
fn ws_connect(socket: &std::path::Path, path: &str) -> std::os::unix::net::UnixStream {
    let mut s = std::os::unix::net::UnixStream::connect(socket).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .unwrap();
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut b).unwrap();
        head.push(b[0]);
    }
    let head = String::from_utf8_lossy(&head);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(
        head.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
        "RFC 6455's accept key: {head}"
    );
    s
}

fn ws_send(s: &mut std::os::unix::net::UnixStream, data: &[u8]) {
    let mut f = vec![0x82, 0x80 | data.len() as u8, 1, 2, 3, 4];
    f.extend(
        data.iter()
            .enumerate()
            .map(|(i, b)| b ^ [1, 2, 3, 4][i % 4]),
    );
    s.write_all(&f).unwrap();
}

fn ws_read(s: &mut std::os::unix::net::UnixStream) -> Option<(u8, Vec<u8>)> {
    let mut h = [0u8; 2];
    s.read_exact(&mut h).ok()?;
    let mut len = (h[1] & 0x7f) as usize;
    if len == 126 {
        let mut l = [0u8; 2];
        s.read_exact(&mut l).ok()?;
        len = u16::from_be_bytes(l) as usize;
    }
    let mut data = vec![0u8; len];
    s.read_exact(&mut data).ok()?;
    Some((h[0] & 0x0f, data))
}

#[test]
fn attach_over_a_websocket() {
    let d = daemon();
    d.docker_ok(&[
        "run",
        "-d",
        "-i",
        "--name",
        "cat",
        "busybox",
        "sh",
        "-c",
        "while read l; do echo got $l; echo err $l >&2; done",
    ]);
    let mut s = ws_connect(
        &d.socket,
        "/v1.47/containers/cat/attach/ws?stream=1&stdin=1&stdout=1&stderr=1",
    );
    ws_send(&mut s, b"hello\n");
    let mut out = Vec::new();
    until("both lines over the websocket", LIMIT, || {
        let (op, data) = ws_read(&mut s)?;
        assert_eq!(op, 2, "binary frames from API 1.28");
        out.extend(data);
        let text = String::from_utf8_lossy(&out);
        (text.contains("got hello\n") && text.contains("err hello\n")).then_some(())
    });
    assert!(
        !out.starts_with(&[1, 0, 0, 0]),
        "raw bytes, not multiplexed frames"
    );
    let (status, _, body) =
        berth_tests::daemon::http(&d.socket, "GET", "/containers/cat/attach/ws", None).unwrap();
    assert_eq!(status, 400, "not a websocket: {body}");
}

#[test]
fn import_from_a_url_on_loopback() {
    let d = daemon();
    let tar = std::fs::read(berth_tests::busybox_tar(d.root.path()).unwrap()).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        // Two requests: the tarball, then a 404.
        for _ in 0..2 {
            let (mut c, _) = listener.accept().unwrap();
            let mut req = [0u8; 2048];
            let n = c.read(&mut req).unwrap();
            let req = String::from_utf8_lossy(&req[..n]);
            if req.starts_with("GET /rootfs.tar ") {
                write!(
                    c,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    tar.len()
                )
                .unwrap();
                c.write_all(&tar).unwrap();
            } else {
                c.write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                )
                .unwrap();
            }
        }
    });
    let url = format!("http://127.0.0.1:{port}/rootfs.tar");
    let out = d.docker_ok(&[
        "import",
        "--change",
        "CMD [\"echo\", \"imported\"]",
        &url,
        "fromurl:1",
    ]);
    assert!(out.starts_with(&format!("Downloading from {url}")), "{out}");
    assert!(out.lines().last().unwrap().starts_with("sha256:"), "{out}");
    assert_eq!(d.docker_ok(&["run", "--rm", "fromurl:1"]), "imported");
    let out = d.docker(&[
        "import",
        &format!("http://127.0.0.1:{port}/missing.tar"),
        "nope:1",
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("404"), "{}", stderr(&out));
    server.join().unwrap();
    let (status, _, body) = berth_tests::daemon::http(
        &d.socket,
        "POST",
        "/images/create?fromSrc=ftp://127.0.0.1/x.tar",
        None,
    )
    .unwrap();
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("only http and https"), "{body}");
}
