//! Resource limits enforced by the kernel: memory (OOM kill reported), pids, cpus.

use berth_tests::Daemon;

fn daemon() -> Daemon {
    let d = Daemon::start().expect("start berthd");
    d.import_busybox().expect("import busybox");
    d
}

#[test]
fn memory_limit_oom_kills_and_inspect_says_so() {
    let d = daemon();
    // Holding 64 MiB in a shell variable under a 16 MiB limit (no swap beyond it).
    let out = d.docker(&[
        "run",
        "--name",
        "hog",
        "-m",
        "16m",
        "--memory-swap",
        "16m",
        "busybox",
        "sh",
        "-c",
        "x=$(head -c 67108864 /dev/zero | tr '\\0' a); echo survived ${#x}",
    ]);
    assert_ne!(out.status.code(), Some(0), "{:?}", out);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("survived"));
    let v = d.docker_ok(&[
        "inspect",
        "-f",
        "{{.State.OOMKilled}} {{.State.ExitCode}}",
        "hog",
    ]);
    assert_eq!(v, "true 137", "{}", d.log_text());
    // dockerd's `oom` event, before the `die`.
    let until = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 1)
    .to_string();
    let ev = d.docker_ok(&[
        "events",
        "--since",
        "0",
        "--until",
        &until,
        "--filter",
        "container=hog",
        "--filter",
        "event=oom",
        "--filter",
        "event=die",
        "--format",
        "{{.Action}}",
    ]);
    assert_eq!(ev.lines().collect::<Vec<_>>(), ["oom", "die"], "{ev}");
    // Under the limit it runs.
    let out = d.docker_ok(&[
        "run",
        "--rm",
        "-m",
        "64m",
        "busybox",
        "sh",
        "-c",
        "x=$(head -c 1048576 /dev/zero | tr '\\0' a); echo ok ${#x}",
    ]);
    assert_eq!(out, "ok 1048576");
}

#[test]
fn pids_limit_is_enforced() {
    let d = daemon();
    // 30 background sleeps under a limit of 10 processes: a fork fails and sh gives up.
    let script = "for i in $(seq 1 30); do sleep 30 & done; echo all-started";
    let out = d.docker(&[
        "run",
        "--rm",
        "--pids-limit",
        "10",
        "busybox",
        "sh",
        "-c",
        script,
    ]);
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(!text.contains("all-started"), "{text}");
    assert!(text.contains("can't fork"), "{text}");
    // Without the limit all 30 start.
    let out = d.docker_ok(&["run", "--rm", "busybox", "sh", "-c", script]);
    assert_eq!(out, "all-started");
}

#[test]
fn cpu_and_memory_limits_reach_the_cgroup() {
    let d = daemon();
    let out = d.docker_ok(&[
        "run", "--rm", "-m", "32m", "--cpus", "0.5", "busybox", "sh", "-c",
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max",
    ]);
    assert_eq!(out, (32 * 1024 * 1024).to_string());
}
