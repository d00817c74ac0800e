//! Restart policies: on-failure with a limit, always until stopped, and at daemon start.

use std::time::{Duration, Instant};

use berth_tests::Daemon;

fn daemon() -> Daemon {
    let d = Daemon::start().expect("start berthd");
    d.import_busybox().expect("import busybox");
    d
}

/// Polls `docker inspect -f fmt` until `done` holds (bounded).
fn wait_until(d: &Daemon, id: &str, fmt: &str, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let v = d.docker_ok(&["inspect", "-f", fmt, id]);
        if done(&v) {
            return v;
        }
        assert!(Instant::now() < deadline, "{id}: still {v}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn on_failure_restarts_up_to_its_limit() {
    let d = daemon();
    let id = d.docker_ok(&[
        "run",
        "-d",
        "--restart",
        "on-failure:2",
        "busybox",
        "sh",
        "-c",
        "echo run; exit 3",
    ]);
    let v = wait_until(&d, &id, "{{.RestartCount}} {{.State.Status}}", |v| {
        v == "2 exited"
    });
    assert_eq!(v, "2 exited");
    // Three runs in the log: the first and two restarts.
    let logs = d.docker_ok(&["logs", &id]);
    assert_eq!(logs.lines().filter(|l| *l == "run").count(), 3, "{logs}");
    assert_eq!(
        d.docker_ok(&["inspect", "-f", "{{.State.ExitCode}}", &id]),
        "3"
    );
    // A clean exit is not restarted by on-failure.
    let id = d.docker_ok(&["run", "-d", "--restart", "on-failure", "busybox", "true"]);
    wait_until(&d, &id, "{{.State.Status}}", |v| v == "exited");
    assert_eq!(
        d.docker_ok(&["inspect", "-f", "{{.RestartCount}}", &id]),
        "0"
    );
}

#[test]
fn always_restarts_until_stopped() {
    let d = daemon();
    let id = d.docker_ok(&[
        "run",
        "-d",
        "--restart",
        "always",
        "busybox",
        "sh",
        "-c",
        "sleep 0.1; exit 1",
    ]);
    wait_until(&d, &id, "{{.RestartCount}}", |v| {
        v.parse::<i64>().unwrap_or(0) >= 2
    });
    d.docker_ok(&["stop", &id]);
    let v = wait_until(&d, &id, "{{.State.Status}}", |v| v == "exited");
    assert_eq!(v, "exited");
    let count = d.docker_ok(&["inspect", "-f", "{{.RestartCount}}", &id]);
    // Stopped stays stopped.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        d.docker_ok(&["inspect", "-f", "{{.State.Status}} {{.RestartCount}}", &id]),
        format!("exited {count}")
    );
    d.docker_ok(&["rm", "-f", &id]);
}

/// `rm -f` of a running container whose policy would restart it after the kill: the removal
/// wins (dockerd cancels the restart before killing), and nothing of it keeps running.
#[test]
fn force_removal_is_not_undone_by_the_restart_policy() {
    let d = daemon();
    for policy in ["always", "on-failure:3", "unless-stopped"] {
        let id = d.docker_ok(&["run", "-d", "--restart", policy, "busybox", "sleep", "1000"]);
        let out = d.docker(&["rm", "-f", &id]);
        assert!(
            out.status.success(),
            "{policy}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Past the first restart back-off (100 ms): still gone, and no process left.
        std::thread::sleep(Duration::from_millis(400));
        assert_eq!(d.docker_ok(&["ps", "-aq"]), "", "{policy}");
        let procs: usize = berth_tests::daemon::cgroup_dirs(&d.cgroup_parent)
            .iter()
            .map(|dir| {
                std::fs::read_dir(dir)
                    .into_iter()
                    .flatten()
                    .flatten()
                    .filter(|e| e.path().is_dir())
                    .map(|e| {
                        std::fs::read_to_string(e.path().join("cgroup.procs"))
                            .unwrap_or_default()
                            .lines()
                            .count()
                    })
                    .sum::<usize>()
            })
            .sum();
        assert_eq!(
            procs, 0,
            "{policy}: processes left in the container cgroups"
        );
    }
}

#[test]
fn always_container_killed_while_daemon_down_comes_back() {
    let mut d = daemon();
    let id = d.docker_ok(&[
        "run",
        "-d",
        "--restart",
        "always",
        "busybox",
        "sleep",
        "1000",
    ]);
    let pid: i32 = d
        .docker_ok(&["inspect", "-f", "{{.State.Pid}}", &id])
        .parse()
        .unwrap();
    d.kill().unwrap();
    // The container's own process, found through the daemon before it went down.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let exit = d.exec_root.join("shims").join(&id).join("exit.json");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !exit.exists() {
        assert!(Instant::now() < deadline, "no exit record");
        std::thread::sleep(Duration::from_millis(20));
    }
    d.spawn().unwrap();
    let v = wait_until(&d, &id, "{{.State.Status}}", |v| v == "running");
    assert_eq!(v, "running");
    let new_pid: i32 = d
        .docker_ok(&["inspect", "-f", "{{.State.Pid}}", &id])
        .parse()
        .unwrap();
    assert_ne!(new_pid, pid);
}
