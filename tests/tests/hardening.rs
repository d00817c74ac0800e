//! What a hostile container or client must not be able to do: lift its own cgroup limits,
//! outlive a killed shim, jam the store with a full disk, or have a flag silently ignored.

use berth_tests::Daemon;

fn daemon() -> Daemon {
    let d = Daemon::start().expect("start berthd");
    d.import_busybox().expect("import busybox");
    d
}

/// The script a container runs to report, for each mount point under `/sys/fs/cgroup`, the
/// options of the mount that is visible there (the last one listed), then tries to raise its
/// limits and to make a sub-cgroup.
const CGROUP_PROBE: &str = r#"
awk '$2 ~ "^/sys/fs/cgroup" { opts[$2] = $4 } END { for (m in opts) print "mount", m, substr(opts[m], 1, 2) }' /proc/mounts
if [ -e /sys/fs/cgroup/pids/pids.max ]; then pids=/sys/fs/cgroup/pids/pids.max; else pids=/sys/fs/cgroup/pids.max; fi
if [ -e /sys/fs/cgroup/memory/memory.limit_in_bytes ]; then mem=/sys/fs/cgroup/memory/memory.limit_in_bytes; else mem=/sys/fs/cgroup/memory.max; fi
echo max > $pids && echo "wrote pids"
echo 4294967296 > $mem && echo "wrote memory"
if [ -d /sys/fs/cgroup/memory ]; then sub=/sys/fs/cgroup/memory/escape; else sub=/sys/fs/cgroup/escape; fi
mkdir $sub && echo "made sub-cgroup"
echo "pids now $(cat $pids)"
exec sleep 300
"#;

fn host_pids_max(d: &Daemon, id: &str) -> String {
    let rel = format!("{}/{id}", d.cgroup_parent.trim_start_matches('/'));
    for base in ["/sys/fs/cgroup/pids", "/sys/fs/cgroup"] {
        let f = std::path::Path::new(base).join(&rel).join("pids.max");
        if let Ok(s) = std::fs::read_to_string(&f) {
            return s.trim().to_string();
        }
    }
    panic!("no pids.max for {id} on the host");
}

#[test]
fn a_container_cannot_lift_its_own_cgroup_limits() {
    let d = daemon();
    for ns in ["", "host", "private"] {
        let mut args = vec!["run", "-d", "-m", "64m", "--pids-limit", "20"];
        if !ns.is_empty() {
            args.extend(["--cgroupns", ns]);
        }
        args.extend(["busybox", "sh", "-c", CGROUP_PROBE]);
        let args = args.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let id = d.docker_ok(&args);
        let out = logs_once(&d, &id, "pids now");
        let mounts: Vec<&str> = out.lines().filter(|l| l.starts_with("mount ")).collect();
        assert!(
            mounts
                .iter()
                .any(|l| l.starts_with("mount /sys/fs/cgroup ")),
            "cgroupns={ns:?}: no /sys/fs/cgroup mount:\n{out}"
        );
        for m in &mounts {
            assert!(m.ends_with(" ro"), "cgroupns={ns:?}: writable: {m}\n{out}");
        }
        for bad in ["wrote pids", "wrote memory", "made sub-cgroup"] {
            assert!(!out.contains(bad), "cgroupns={ns:?}: {bad}:\n{out}");
        }
        assert!(out.contains("pids now 20"), "cgroupns={ns:?}:\n{out}");
        // The host's view agrees with inspect.
        assert_eq!(host_pids_max(&d, &id), "20");
        let limits = d.docker_ok(&[
            "inspect",
            "-f",
            "{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}}",
            &id,
        ]);
        assert_eq!(limits, "67108864 20");
        d.docker_ok(&["rm", "-f", &id]);
    }
}

/// The container's logs once they contain `marker` (bounded wait).
fn logs_once(d: &Daemon, id: &str, marker: &str) -> String {
    for _ in 0..200 {
        let out = d.docker(&["logs", id]);
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        if text.contains(marker) {
            return text;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!(
        "{marker:?} never showed in the logs of {id}:\n{}",
        d.log_text()
    );
}

#[test]
fn cgroupns_mode_defaults_like_dockerd_and_bad_modes_are_refused() {
    let d = daemon();
    let want = if std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        "private"
    } else {
        "host"
    };
    let id = d.docker_ok(&["create", "busybox", "true"]);
    let mode = d.docker_ok(&["inspect", "-f", "{{.HostConfig.CgroupnsMode}}", &id]);
    assert_eq!(mode, want);
    let own = |extra: &[&str]| {
        let mut args = vec!["run", "--rm"];
        args.extend_from_slice(extra);
        args.extend(["busybox", "readlink", "/proc/self/ns/cgroup"]);
        d.docker_ok(&args)
    };
    let host_ns = std::fs::read_link("/proc/self/ns/cgroup")
        .unwrap()
        .display()
        .to_string();
    assert_eq!(own(&["--cgroupns", "host"]), host_ns);
    assert_ne!(own(&["--cgroupns", "private"]), host_ns);
    let out = d.docker(&["create", "--cgroupns", "sideways", "busybox", "true"]);
    assert!(!out.status.success());
    // The docker CLI checks the value itself; the API refuses it too.
    let (status, _, body) = berth_tests::daemon::http(
        &d.socket,
        "POST",
        "/v1.47/containers/create",
        Some(r#"{"Image":"busybox","Cmd":["true"],"HostConfig":{"CgroupnsMode":"sideways"}}"#),
    )
    .unwrap();
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("invalid cgroup namespace mode: sideways"),
        "{body}"
    );
}

#[test]
fn privileged_containers_keep_a_writable_cgroup_tree_as_in_docker() {
    let d = daemon();
    let out = d.docker_ok(&[
        "run",
        "--rm",
        "--privileged",
        "busybox",
        "sh",
        "-c",
        "awk '$2 == \"/sys/fs/cgroup\" { o = $4 } END { print substr(o, 1, 2) }' /proc/mounts",
    ]);
    assert_eq!(out, "rw");
}

/// Whether a host process is alive (a zombie is not: it only waits to be reaped).
fn alive(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .map(str::trim_start)
            .is_some_and(|s| !s.starts_with('Z')),
        Err(_) => false,
    }
}

fn shim_pid(d: &Daemon, id: &str) -> String {
    let f = d.exec_root.join("shims").join(id).join("shim.pid");
    std::fs::read_to_string(&f)
        .unwrap_or_else(|e| panic!("{}: {e}", f.display()))
        .trim()
        .to_string()
}

fn kill9(pid: &str) {
    let st = std::process::Command::new("kill")
        .args(["-9", pid])
        .status()
        .unwrap();
    assert!(st.success(), "kill -9 {pid}");
}

/// Polls `docker inspect -f FORMAT` until it prints `want` (bounded).
fn inspect_until(d: &Daemon, id: &str, format: &str, want: &str) {
    let mut last = String::new();
    for _ in 0..200 {
        last = d.docker_ok(&["inspect", "-f", format, id]);
        if last == want {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!(
        "{format} of {id} stayed {last:?}, wanted {want:?}:\n{}",
        d.log_text()
    );
}

#[test]
fn a_killed_shim_takes_its_container_with_it() {
    let d = daemon();
    let id = d.docker_ok(&["run", "-d", "busybox", "sleep", "1000"]);
    let pid = d.docker_ok(&["inspect", "-f", "{{.State.Pid}}", &id]);
    assert!(alive(&pid));
    kill9(&shim_pid(&d, &id));
    inspect_until(
        &d,
        &id,
        "{{.State.Status}} {{.State.ExitCode}}",
        "exited 137",
    );
    // Once the exit is recorded, nothing of the container runs any more.
    assert!(!alive(&pid), "pid {pid} outlived its shim");
    assert!(runtime_procs(&d, &id).is_empty());
    // A start runs one instance, not a second one next to an orphan.
    d.docker_ok(&["start", &id]);
    let pid2 = d.docker_ok(&["inspect", "-f", "{{.State.Pid}}", &id]);
    assert_eq!(runtime_procs(&d, &id), vec![pid2.clone()]);
    // rm -f after the shim is killed again returns only once the process is gone.
    kill9(&shim_pid(&d, &id));
    d.docker_ok(&["rm", "-f", &id]);
    assert!(!alive(&pid2), "pid {pid2} outlived rm -f");
}

#[test]
fn a_shim_killed_while_the_daemon_is_down_is_found_at_restore() {
    let mut d = daemon();
    let id = d.docker_ok(&["run", "-d", "busybox", "sleep", "1000"]);
    let pid = d.docker_ok(&["inspect", "-f", "{{.State.Pid}}", &id]);
    d.kill().unwrap();
    kill9(&shim_pid(&d, &id));
    assert!(alive(&pid), "the container runs on without its shim");
    d.spawn().unwrap();
    let state = d.docker_ok(&[
        "inspect",
        "-f",
        "{{.State.Status}} {{.State.ExitCode}}",
        &id,
    ]);
    assert_eq!(state, "exited 137");
    assert!(!alive(&pid), "pid {pid} survived the restore");
    assert!(runtime_procs(&d, &id).is_empty());
}

/// The pids in the container's cgroup (every hierarchy).
fn runtime_procs(d: &Daemon, id: &str) -> Vec<String> {
    let mut out: Vec<String> =
        berth_tests::daemon::cgroup_dirs(&format!("{}/{id}", d.cgroup_parent))
            .iter()
            .filter_map(|dir| std::fs::read_to_string(dir.join("cgroup.procs")).ok())
            .flat_map(|s| s.lines().map(str::to_string).collect::<Vec<_>>())
            .collect();
    out.sort();
    out.dedup();
    out
}

/// Bytes in use on the filesystem at `path`.
fn used_bytes(path: &std::path::Path) -> u64 {
    let out = std::process::Command::new("df")
        .args(["-B1", "--output=used"])
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .nth(1)
        .and_then(|l| l.trim().parse().ok())
        .unwrap()
}

#[test]
fn a_full_disk_fails_the_import_and_the_store_keeps_serving() {
    let d = Daemon::start_on_tmpfs("32m").expect("start berthd");
    d.import_busybox().expect("import busybox");
    let before = used_bytes(&d.data_root);
    // 48 MB that do not compress, on a 32 MB data root.
    let dir = d.root.path().join("big");
    std::fs::create_dir_all(&dir).unwrap();
    let noise = std::fs::File::create(dir.join("noise.bin")).unwrap();
    let st = std::process::Command::new("head")
        .args(["-c", "50331648", "/dev/urandom"])
        .stdout(noise)
        .status()
        .unwrap();
    assert!(st.success());
    let tar = d.root.path().join("big.tar");
    let st = std::process::Command::new("tar")
        .arg("-C")
        .arg(&dir)
        .arg("-cf")
        .arg(&tar)
        .arg(".")
        .status()
        .unwrap();
    assert!(st.success());
    std::fs::remove_dir_all(&dir).unwrap();
    let out = d.docker(&["import", tar.to_str().unwrap(), "big:1"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("No space left on device"),
        "the client must read the daemon's reason: {stderr}"
    );
    // Nothing half written stays: the disk is back to what it held.
    let after = used_bytes(&d.data_root);
    assert!(
        after < before + (4 << 20),
        "the failed import left {} bytes on the data root",
        after.saturating_sub(before)
    );
    // And the store serves writes without a restart.
    d.docker_ok(&["tag", "busybox", "again:1"]);
    assert_eq!(d.docker_ok(&["run", "--rm", "again:1", "echo", "hi"]), "hi");
    let images = d.docker_ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    assert!(!images.contains("big"), "{images}");
}

/// The create body of `docker run busybox true` with `host_config` merged into its HostConfig.
fn create_with(d: &Daemon, host_config: &str) -> (u16, String) {
    let body = format!(r#"{{"Image":"busybox","Cmd":["true"],"HostConfig":{host_config}}}"#);
    let (status, _, text) =
        berth_tests::daemon::http(&d.socket, "POST", "/v1.47/containers/create", Some(&body))
            .unwrap();
    (status, text)
}

#[test]
fn tmpfs_devices_and_sysctls_are_applied() {
    let d = daemon();
    let out = d.docker_ok(&[
        "run", "--rm", "--tmpfs", "/t:size=1m,mode=1770", "busybox", "sh", "-c",
        "grep ' /t ' /proc/mounts; stat -c %a /t; dd if=/dev/zero of=/t/x bs=1k count=2000 2>&1 | grep -c 'No space'",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].contains("tmpfs") && lines[0].contains("size=1024k"),
        "{out}"
    );
    assert!(
        lines[0].contains("noexec") && lines[0].contains("nosuid"),
        "{out}"
    );
    assert_eq!(lines[1], "1770", "{out}");
    assert_eq!(lines[2], "1", "the size limit holds: {out}");

    let out = d.docker_ok(&[
        "run",
        "--rm",
        "--device",
        "/dev/null:/dev/mynull:rw",
        "busybox",
        "sh",
        "-c",
        "stat -c '%t,%T' /dev/mynull; echo x > /dev/mynull && echo wrote",
    ]);
    assert_eq!(out, "1,3\nwrote");
    let out = d.docker(&[
        "run",
        "--rm",
        "--device",
        "/dev/berth-no-such-device",
        "busybox",
        "true",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("error gathering device information while adding custom device \"/dev/berth-no-such-device\": no such file or directory"),
        "{err}"
    );
    assert!(
        d.docker_ok(&["ps", "-aq"]).is_empty(),
        "nothing is created for a bad device"
    );

    let out = d.docker_ok(&[
        "run",
        "--rm",
        "--sysctl",
        "kernel.shmmax=123456",
        "--sysctl",
        "net.ipv4.tcp_syncookies=0",
        "busybox",
        "sh",
        "-c",
        "cat /proc/sys/kernel/shmmax /proc/sys/net/ipv4/tcp_syncookies",
    ]);
    assert_eq!(out, "123456\n0");
    // The docker CLI refuses non-namespaced sysctls itself; the API must too.
    let (status, body) = create_with(&d, r#"{"Sysctls":{"kernel.core_pattern":"|/tmp/x"}}"#);
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("is not in a separate kernel namespace"),
        "{body}"
    );
    let (status, body) = create_with(
        &d,
        r#"{"NetworkMode":"host","Sysctls":{"net.ipv4.ip_forward":"1"}}"#,
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("not allowed in host network namespace"),
        "{body}"
    );
    let (status, body) = create_with(&d, r#"{"Tmpfs":{"/t":"size=lots"}}"#);
    assert_eq!(status, 400, "{body}");
    let (status, body) = create_with(
        &d,
        r#"{"Tmpfs":{"/etc/hosts":""},"Binds":["/tmp:/etc/hosts"]}"#,
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("Duplicate mount point"), "{body}");
}

#[test]
fn namespace_modes_are_applied() {
    let d = daemon();
    let host = |ns: &str| {
        std::fs::read_link(format!("/proc/self/ns/{ns}"))
            .unwrap()
            .display()
            .to_string()
    };
    let ns_of = |flag: &str, ns: &str| {
        d.docker_ok(&[
            "run",
            "--rm",
            flag,
            "host",
            "busybox",
            "readlink",
            &format!("/proc/self/ns/{ns}"),
        ])
    };
    assert_eq!(ns_of("--ipc", "ipc"), host("ipc"));
    assert_eq!(ns_of("--pid", "pid"), host("pid"));
    assert_eq!(ns_of("--uts", "uts"), host("uts"));
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_eq!(
        d.docker_ok(&["run", "--rm", "--uts", "host", "busybox", "hostname"]),
        hostname.trim()
    );
    let mode = d.docker_ok(&["create", "busybox", "true"]);
    assert_eq!(
        d.docker_ok(&["inspect", "-f", "{{.HostConfig.IpcMode}}", &mode]),
        "private"
    );
    // A shareable container's IPC namespace and /dev/shm are joined by another.
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        "donor",
        "--ipc",
        "shareable",
        "busybox",
        "sh",
        "-c",
        "echo shared > /dev/shm/note; exec sleep 300",
    ]);
    let donor_ns = d.docker_ok(&["exec", "donor", "readlink", "/proc/self/ns/ipc"]);
    let out = d.docker_ok(&[
        "run",
        "--rm",
        "--ipc",
        "container:donor",
        "busybox",
        "sh",
        "-c",
        "readlink /proc/self/ns/ipc; cat /dev/shm/note",
    ]);
    assert_eq!(out, format!("{donor_ns}\nshared"));
    let pid_ns = d.docker_ok(&["exec", "donor", "readlink", "/proc/self/ns/pid"]);
    let out = d.docker_ok(&[
        "run",
        "--rm",
        "--pid",
        "container:donor",
        "busybox",
        "readlink",
        "/proc/self/ns/pid",
    ]);
    assert_eq!(out, pid_ns);
    // A private container cannot be joined; a stopped one neither.
    d.docker_ok(&["run", "-d", "--name", "private", "busybox", "sleep", "300"]);
    let out = d.docker(&[
        "run",
        "--rm",
        "--ipc",
        "container:private",
        "busybox",
        "true",
    ]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("non-shareable IPC"),
        "{out:?}"
    );
    d.docker_ok(&["rm", "-f", "donor"]);
    assert!(
        !d.leftover_mounts()
            .iter()
            .any(|m| m.ends_with("/mounts/shm")),
        "the shareable /dev/shm is unmounted with its container: {:?}",
        d.leftover_mounts()
    );
    let (status, body) = create_with(&d, r#"{"IpcMode":"sideways"}"#);
    assert_eq!(
        (status, body.contains("invalid IPC mode: sideways")),
        (400, true),
        "{body}"
    );
}

#[test]
fn cpu_memory_and_dns_fields_are_applied() {
    let d = daemon();
    let v2 = std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    let script = if v2 {
        "cat /sys/fs/cgroup/cpuset.cpus /sys/fs/cgroup/cpu.max /sys/fs/cgroup/memory.low"
    } else {
        "cat /sys/fs/cgroup/cpuset/cpuset.cpus /sys/fs/cgroup/cpu/cpu.cfs_period_us /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/memory/memory.soft_limit_in_bytes /sys/fs/cgroup/memory/memory.swappiness; grep oom_kill_disable /sys/fs/cgroup/memory/memory.oom_control"
    };
    let mut args = vec![
        "run",
        "--rm",
        "--cpuset-cpus",
        "0",
        "--cpu-period",
        "50000",
        "--cpu-quota",
        "25000",
        "-m",
        "32m",
        "--memory-reservation",
        "16m",
    ];
    if !v2 {
        args.extend(["--memory-swappiness", "10", "--oom-kill-disable"]);
    }
    args.extend(["busybox", "sh", "-c", script]);
    let out = d.docker_ok(&args);
    if v2 {
        assert_eq!(out, "0\n25000 50000\n16777216");
    } else {
        assert_eq!(out, "0\n50000\n25000\n16777216\n10\noom_kill_disable 1");
    }
    let out = d.docker_ok(&[
        "run",
        "--rm",
        "--dns-option",
        "ndots:3",
        "busybox",
        "cat",
        "/etc/resolv.conf",
    ]);
    assert!(out.lines().any(|l| l == "options ndots:3"), "{out}");
    let out = d.docker(&["run", "--rm", "--cpuset-cpus", "4095", "busybox", "true"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Requested CPUs are not available"),
        "{out:?}"
    );
}

#[test]
fn fields_berth_does_not_implement_are_refused_by_name() {
    let d = daemon();
    for (field, body) in [
        (
            "HostConfig.DeviceRequests",
            r#"{"DeviceRequests":[{"Driver":"","Count":-1,"Capabilities":[["gpu"]]}]}"#,
        ),
        (
            "HostConfig.KernelMemoryTCP",
            r#"{"KernelMemoryTCP":1048576}"#,
        ),
        (
            "HostConfig.CpuRealtimeRuntime",
            r#"{"CpuRealtimeRuntime":1000}"#,
        ),
        ("HostConfig.StorageOpt", r#"{"StorageOpt":{"size":"10G"}}"#),
        ("invalid isolation 'hyperv'", r#"{"Isolation":"hyperv"}"#),
        (
            "unknown or invalid runtime name: nope",
            r#"{"Runtime":"nope"}"#,
        ),
        (
            "invalid userns mode: private",
            r#"{"UsernsMode":"private"}"#,
        ),
    ] {
        let (status, text) = create_with(&d, body);
        assert_eq!(status, 400, "{body}: {text}");
        assert!(text.contains(field), "{body}: {text}");
    }
    // The defaults the docker CLI always sends are accepted.
    let (status, text) = create_with(
        &d,
        r#"{"DeviceRequests":null,"KernelMemoryTCP":0,"CpuRealtimeRuntime":0,"Isolation":"","BlkioWeight":0,"Cgroup":""}"#,
    );
    assert_eq!(status, 201, "{text}");
    if !std::path::Path::new("/sys/fs/cgroup/blkio/blkio.weight").exists()
        && !std::path::Path::new("/sys/fs/cgroup/io.weight").exists()
    {
        let out = d.docker(&["run", "--rm", "--blkio-weight", "300", "busybox", "true"]);
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("HostConfig.BlkioWeight"),
            "{out:?}"
        );
    }
}

#[test]
fn a_second_daemon_on_a_data_root_in_use_is_refused_and_leaves_no_socket() {
    let d = Daemon::start().expect("start berthd");
    let sock = d.root.path().join("second.sock");
    let out = std::process::Command::new(berth_tests::bin("berthd"))
        .arg("-H")
        .arg(format!("unix://{}", sock.display()))
        .arg("--data-root")
        .arg(&d.data_root)
        .arg("--exec-root")
        .arg(d.root.path().join("exec2"))
        .arg("--cgroup-parent")
        .arg(format!("{}-second", d.cgroup_parent))
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "a second daemon started on the same data root"
    );
    assert!(!sock.exists(), "the refused daemon left its socket");
    // The first one is unharmed.
    d.docker_ok(&["version", "--format", "{{.Server.Version}}"]);
}

#[test]
fn every_error_is_json_with_a_message() {
    let d = Daemon::start().expect("start berthd");
    let big = format!(
        r#"{{"Image":"busybox","Labels":{{"a":"{}"}}}}"#,
        "x".repeat(3 << 20)
    );
    let (status, headers, body) = raw_post(&d.socket, "/v1.47/containers/create", big.as_bytes());
    assert_eq!(status, 413, "{body}");
    assert!(
        headers.contains("content-type: application/json"),
        "{headers}"
    );
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(
        v["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    let (status, _, body) =
        berth_tests::daemon::http(&d.socket, "GET", "/v1.47/containers/create", None).unwrap();
    assert_eq!(status, 405, "{body}");
    assert!(
        serde_json::from_str::<serde_json::Value>(&body).is_ok(),
        "{body}"
    );
}

#[test]
fn values_the_kernel_would_refuse_fail_the_create_with_a_reason() {
    let d = daemon();
    let long = "h".repeat(300);
    let out = d.docker(&["create", "-h", &long, "busybox", "true"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("invalid Hostname"),
        "{out:?}"
    );
    let (status, _, body) = berth_tests::daemon::http(
        &d.socket,
        "POST",
        "/v1.47/containers/create",
        Some(r#"{"Image":"busybox","Cmd":["env"],"Env":["A=b\u0000c"]}"#),
    )
    .unwrap();
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("NUL byte"), "{body}");
    let out = d.docker(&["run", "--rm", "-u", "nosuchuser", "busybox", "true"]);
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("unable to find user nosuchuser: no matching entries in passwd file"),
        "{out:?}"
    );
    assert!(d.docker_ok(&["ps", "-aq"]).is_empty());
}

#[test]
fn an_import_that_fails_before_any_output_gets_its_status() {
    let d = Daemon::start().expect("start berthd");
    // A symlink to /etc, then a file written through it: the applier refuses it.
    let tar = d.root.path().join("evil.tar");
    let mut b = tar::Builder::new(std::fs::File::create(&tar).unwrap());
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_size(0);
    h.set_mode(0o777);
    b.append_link(&mut h, "link", "/etc").unwrap();
    let data = b"pwned\n";
    let mut h = tar::Header::new_gnu();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    b.append_data(&mut h, "link/evil-file", &data[..]).unwrap();
    b.finish().unwrap();
    drop(b);
    let body = std::fs::read(&tar).unwrap();
    let out = d
        .docker_cmd(&["import", "-", "evil:1"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(&body)?;
            c.wait_with_output()
        })
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("layer entry \"link/evil-file\""), "{err}");
    assert!(!std::path::Path::new("/etc/evil-file").exists());
    // Through the API: a 400 with a JSON message, not a 200 with the error in a stream.
    let (status, headers, text) =
        raw_post(&d.socket, "/v1.47/images/create?fromSrc=-&repo=evil", &body);
    assert_eq!(status, 400, "{text}");
    assert!(headers.contains("application/json"), "{headers}");
    assert!(text.contains("\"message\""), "{text}");
    assert!(d.docker_ok(&["images", "-q"]).is_empty());
}

/// POSTs a binary body; returns the status, the raw header block and the body.
fn raw_post(socket: &std::path::Path, path: &str, body: &[u8]) -> (u16, String, String) {
    use std::io::{Read, Write};
    let mut s = std::os::unix::net::UnixStream::connect(socket).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: berth\r\nConnection: close\r\nContent-Type: application/x-tar\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    // A server that refuses the body (413) may answer and close before reading all of it.
    let _ = s.write_all(body);
    let mut buf = Vec::new();
    // A server that closed with part of the body unread resets the connection once the
    // response is read: the response is what counts.
    if let Err(e) = s.read_to_end(&mut buf) {
        assert!(
            e.kind() == std::io::ErrorKind::ConnectionReset && !buf.is_empty(),
            "reading the response: {e}"
        );
    }
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_ascii_lowercase(), rest.to_string())
}
