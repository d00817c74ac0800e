//! Detached containers through their life: run -d, ps, logs (-f), stop (with a PID 1 that
//! ignores SIGTERM), start, restart, kill, wait, rename, top, inspect, rm, prune.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use berth_tests::Daemon;

fn daemon() -> Daemon {
    let d = Daemon::start().expect("start berthd");
    d.import_busybox().expect("import busybox");
    d
}

fn inspect(d: &Daemon, id: &str, fmt: &str) -> String {
    d.docker_ok(&["inspect", "-f", fmt, id])
}

#[test]
fn detached_web_server_lifecycle() {
    let d = daemon();
    let id = d.docker_ok(&[
        "run", "-d", "--name", "web", "busybox", "httpd", "-f", "-v", "-p", "8080",
    ]);
    assert_eq!(id.len(), 64, "run -d prints the full id: {id}");
    let ps = d.docker_ok(&["ps"]);
    assert!(
        ps.lines()
            .next()
            .unwrap()
            .starts_with("CONTAINER ID   IMAGE     COMMAND"),
        "{ps}"
    );
    assert!(ps.contains("web") && ps.contains("Up "), "{ps}");
    assert_eq!(
        inspect(&d, "web", "{{.State.Status}} {{.State.Running}}"),
        "running true"
    );
    let pid: i64 = inspect(&d, "web", "{{.State.Pid}}").parse().unwrap();
    assert!(pid > 0);

    d.docker_ok(&["stop", "web"]);
    assert_eq!(inspect(&d, "web", "{{.State.Status}}"), "exited");
    let ps = d.docker_ok(&["ps", "-a", "--format", "{{.Names}} {{.Status}}"]);
    assert!(ps.starts_with("web Exited ("), "{ps}");

    d.docker_ok(&["start", "web"]);
    assert_eq!(inspect(&d, "web", "{{.State.Status}}"), "running");
    d.docker_ok(&["restart", "-t", "1", "web"]);
    assert_eq!(inspect(&d, "web", "{{.State.Status}}"), "running");
    d.docker_ok(&["kill", "web"]);
    let code = d.docker_ok(&["wait", "web"]);
    assert_eq!(code, "137");
    d.docker_ok(&["rm", "web"]);
    let out = d.docker(&["inspect", "web"]);
    assert!(!out.status.success());
}

#[test]
fn logs_follow_and_tail() {
    let d = daemon();
    let id = d.docker_ok(&[
        "run",
        "-d",
        "busybox",
        "sh",
        "-c",
        "for i in 1 2 3; do echo line$i; done; echo oops >&2; exec sleep 1000",
    ]);
    // The history is there once written (bounded poll, no timing assertion).
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = d.docker(&["logs", &id]);
        if String::from_utf8_lossy(&out.stdout).contains("line3") {
            assert!(String::from_utf8_lossy(&out.stderr).contains("oops"));
            break;
        }
        assert!(Instant::now() < deadline, "logs never showed line3");
        std::thread::sleep(Duration::from_millis(50));
    }
    // The last entry is on stderr: --tail counts entries of both streams.
    let out = d.docker(&["logs", "--tail", "1", &id]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "oops\n");
    assert_eq!(d.docker_ok(&["logs", "--tail", "2", &id]), "line3");
    let ts = d.docker_ok(&["logs", "-t", "--tail", "2", &id]);
    assert!(ts.contains('T') && ts.ends_with(" line3"), "{ts}");

    // `logs -f` streams until the container exits.
    let mut follow = d
        .docker_cmd(&["logs", "-f", &id])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(follow.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "line1");
    d.docker_ok(&["kill", &id]);
    let rest: Vec<String> = lines.map(|l| l.unwrap()).collect();
    assert_eq!(rest, vec!["line2", "line3"]);
    assert!(follow.wait().unwrap().success());
}

#[test]
fn logs_follow_sees_new_output() {
    let d = daemon();
    let id = d.docker_ok(&[
        "run",
        "-d",
        "busybox",
        "sh",
        "-c",
        "echo first; sleep 1; echo second",
    ]);
    let out = d
        .docker_cmd(&["logs", "-f", &id])
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "first\nsecond\n");
}

#[test]
fn stop_kills_a_pid1_that_ignores_sigterm() {
    let d = daemon();
    // sleep as PID 1 has no handler for SIGTERM, so the kernel ignores it.
    let id = d.docker_ok(&[
        "run",
        "-d",
        "--stop-timeout",
        "1",
        "busybox",
        "sleep",
        "1000",
    ]);
    d.docker_ok(&["stop", &id]);
    assert_eq!(inspect(&d, &id, "{{.State.ExitCode}}"), "137");
    // A container that handles SIGTERM exits with its own status.
    let id = d.docker_ok(&[
        "run",
        "-d",
        "busybox",
        "sh",
        "-c",
        "trap 'exit 42' TERM; while true; do sleep 0.1; done",
    ]);
    d.docker_ok(&["stop", "-t", "10", &id]);
    assert_eq!(inspect(&d, &id, "{{.State.ExitCode}}"), "42");
    // Stop of a stopped container is not an error.
    d.docker_ok(&["stop", &id]);
}

#[test]
fn inspect_shows_what_was_asked() {
    let d = daemon();
    let id = d.docker_ok(&[
        "create",
        "--name",
        "shape",
        "-e",
        "A=1",
        "-l",
        "k=v",
        "-m",
        "64m",
        "--pids-limit",
        "50",
        "--cpus",
        "0.5",
        "-w",
        "/srv",
        "busybox",
        "sleep",
        "5",
    ]);
    let v: serde_json::Value = serde_json::from_str(&d.docker_ok(&["inspect", &id])).unwrap();
    let c = &v[0];
    assert_eq!(c["Id"], id.as_str());
    assert_eq!(c["Name"], "/shape");
    assert_eq!(c["State"]["Status"], "created");
    assert_eq!(c["Path"], "sleep");
    assert_eq!(c["Args"][0], "5");
    assert_eq!(c["Config"]["Labels"]["k"], "v");
    assert_eq!(c["Config"]["WorkingDir"], "/srv");
    assert!(c["Config"]["Env"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e == "A=1"));
    assert_eq!(c["HostConfig"]["Memory"], 64 * 1024 * 1024);
    assert_eq!(c["HostConfig"]["PidsLimit"], 50);
    assert_eq!(c["HostConfig"]["NanoCpus"], 500_000_000);
    assert!(c["Image"].as_str().unwrap().starts_with("sha256:"));
    assert_eq!(c["State"]["OOMKilled"], false);
    let ps = d.docker_ok(&[
        "ps",
        "-a",
        "--filter",
        "label=k=v",
        "--format",
        "{{.Names}}",
    ]);
    assert_eq!(ps, "shape");
    let ps = d.docker_ok(&["ps", "-a", "--filter", "status=created", "-q"]);
    assert_eq!(ps, &id[..12]);
    let ps = d.docker_ok(&[
        "ps",
        "-a",
        "--filter",
        "ancestor=busybox",
        "-q",
        "--no-trunc",
    ]);
    assert_eq!(ps, id);
    let ps = d.docker_ok(&["ps", "--filter", "status=running", "-q"]);
    assert_eq!(ps, "");
}

#[test]
fn rename_top_and_prune() {
    let d = daemon();
    d.docker_ok(&["run", "-d", "--name", "old", "busybox", "sleep", "1000"]);
    d.docker_ok(&["rename", "old", "new"]);
    assert_eq!(inspect(&d, "new", "{{.Name}}"), "/new");
    let top = d.docker_ok(&["top", "new"]);
    assert!(top.contains("sleep 1000"), "{top}");
    d.docker_ok(&["run", "--name", "done1", "busybox", "true"]);
    d.docker_ok(&["create", "--name", "fresh", "busybox"]);
    let out = d.docker_ok(&["container", "prune", "-f"]);
    assert!(out.contains("Deleted Containers:"), "{out}");
    let names = d.docker_ok(&["ps", "-a", "--format", "{{.Names}}"]);
    assert_eq!(names, "new");
    let out = d.docker(&["rm", "new"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("container is running"),
        "{:?}",
        out
    );
    d.docker_ok(&["rm", "-f", "new"]);
    assert!(d.container_ids().is_empty());
}

#[test]
fn wait_registered_before_start_sees_fast_exit() {
    let d = daemon();
    for i in 0..5 {
        let id = d.docker_ok(&["create", "busybox", "sh", "-c", &format!("exit {i}")]);
        let waiter = d
            .docker_cmd(&["wait", &id])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        // `docker wait` on a created container returns at once with 0 (not-running); use
        // start -a instead, which waits for next-exit before starting.
        let out = d.docker(&["start", "-a", &id]);
        assert_eq!(out.status.code(), Some(i), "{:?}", out);
        let w = waiter.wait_with_output().unwrap();
        let code = String::from_utf8_lossy(&w.stdout).trim().to_string();
        assert!(code == "0" || code == i.to_string(), "{code}");
    }
}

#[test]
fn events_stream_container_lifecycle() {
    let d = daemon();
    let mut events = d
        .docker_cmd(&[
            "events",
            "--filter",
            "type=container",
            "--format",
            "{{.Action}} {{.Actor.Attributes.name}}",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = events.stdout.take().unwrap();
    // The subscription is live once a first event arrives; make events until one shows up.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut n = 0;
    while !seen.iter().any(|l: &String| l.starts_with("destroy evt")) {
        assert!(Instant::now() < deadline, "events seen: {seen:?}");
        if seen.is_empty() {
            let _ = d.docker(&["rm", "-f", "warmup"]);
            d.docker_ok(&["create", "--name", "warmup", "busybox"]);
        } else if n == 0 {
            n += 1;
            d.docker_ok(&["run", "--rm", "--name", "evt", "busybox", "true"]);
        }
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(200)) {
            seen.push(l);
        }
    }
    let _ = events.kill();
    let _ = events.wait();
    let evt: Vec<&str> = seen
        .iter()
        .filter(|l| l.ends_with(" evt"))
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    assert_eq!(
        evt,
        vec!["create", "attach", "start", "die", "destroy"],
        "{seen:?}"
    );
}
