//! Live restore: SIGKILL berthd while containers run; after a restart they still run, and
//! logs -f, attach, stop and wait work; one that exited meanwhile shows its true status.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use berth_tests::Daemon;

#[test]
fn containers_survive_a_daemon_crash() {
    let mut d = Daemon::start().unwrap();
    d.import_busybox().unwrap();
    let long = d.docker_ok(&[
        "run",
        "-d",
        "--name",
        "long",
        "busybox",
        "sh",
        "-c",
        "echo started; trap 'exit 9' TERM; while true; do sleep 0.2; done",
    ]);
    let short = d.docker_ok(&[
        "run",
        "-d",
        "--name",
        "short",
        "busybox",
        "sh",
        "-c",
        "sleep 2; exit 3",
    ]);
    let pid_before = d.docker_ok(&["inspect", "-f", "{{.State.Pid}}", "long"]);
    // Acknowledged just before the crash: its one durable commit (layers, record, name) must be
    // on disk when `create` returns.
    let made = d.docker_ok(&["create", "--name", "made", "busybox", "sh", "-c", "exit 4"]);

    d.kill().unwrap();
    // While the daemon is down, `short` exits; wait for that without the daemon (bounded).
    let short_pid: i32 = {
        // The shim dir holds the pid of the container's shim; wait until the exit record appears.
        let exit = d.exec_root.join("shims").join(&short).join("exit.json");
        let deadline = Instant::now() + Duration::from_secs(30);
        while !exit.exists() {
            assert!(Instant::now() < deadline, "short never exited");
            std::thread::sleep(Duration::from_millis(50));
        }
        0
    };
    let _ = short_pid;
    d.spawn().unwrap();

    assert_eq!(
        d.docker_ok(&["inspect", "-f", "{{.State.Status}}", "long"]),
        "running"
    );
    assert_eq!(
        d.docker_ok(&["inspect", "-f", "{{.State.Pid}}", "long"]),
        pid_before
    );
    assert_eq!(
        d.docker_ok(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{.State.ExitCode}}",
            "short"
        ]),
        "exited 3"
    );
    assert_eq!(
        d.docker_ok(&["inspect", "-f", "{{.Id}} {{.State.Status}}", "made"]),
        format!("{made} created")
    );
    let started = d.docker(&["start", "-a", "made"]);
    assert_eq!(started.status.code(), Some(4), "{started:?}");
    let finished = d.docker_ok(&["inspect", "-f", "{{.State.FinishedAt}}", "short"]);
    assert!(!finished.starts_with("0001-"), "{finished}");

    // logs -f still follows the restored container until it stops.
    let mut follow = d
        .docker_cmd(&["logs", "-f", "long"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(follow.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "started");
    let waiter = d
        .docker_cmd(&["wait", "long"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    d.docker_ok(&["stop", "long"]);
    assert_eq!(
        String::from_utf8_lossy(&waiter.wait_with_output().unwrap().stdout).trim(),
        "9"
    );
    assert!(follow.wait().unwrap().success());
    assert_eq!(
        d.docker_ok(&["inspect", "-f", "{{.State.ExitCode}}", &long]),
        "9"
    );
}

#[test]
fn leftovers_without_a_record_are_swept_at_start() {
    let mut d = Daemon::start().unwrap();
    d.import_busybox().unwrap();
    let kept = d.docker_ok(&["create", "--name", "kept", "busybox", "true"]);
    d.stop().unwrap();
    // What a crash between removing a record and removing the files would leave.
    let orphan = "0".repeat(64);
    let cdir = d.data_root.join("containers").join(&orphan);
    std::fs::create_dir_all(cdir.join("rootfs")).unwrap();
    std::fs::write(cdir.join("hostname"), "x\n").unwrap();
    let sdir = d.exec_root.join("shims").join(&orphan);
    std::fs::create_dir_all(&sdir).unwrap();
    std::fs::write(sdir.join("exit.json"), "{}").unwrap();
    d.spawn().unwrap();
    assert!(!cdir.exists(), "orphan container dir kept");
    assert!(!sdir.exists(), "orphan shim dir kept");
    assert!(d.data_root.join("containers").join(&kept).exists());
    assert_eq!(d.docker_ok(&["ps", "-aq", "--no-trunc"]), kept);
}
