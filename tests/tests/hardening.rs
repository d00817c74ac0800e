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
