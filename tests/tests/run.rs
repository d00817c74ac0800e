//! `run` end to end through the real docker CLI and through `berth`: output, exit codes,
//! a real terminal, stdin, users, read-only roots, cleanup after `--rm`.

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use berth_tests::pty::PtyChild;
use berth_tests::Daemon;

fn daemon() -> Daemon {
    let d = Daemon::start().expect("start berthd");
    d.import_busybox().expect("import busybox");
    d
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn run_echo_with_docker_cli_and_berth() {
    let d = daemon();
    let out = d.docker(&["run", "--rm", "busybox", "echo", "hi"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "hi\n");
    let out = d.berth(&["run", "--rm", "busybox", "echo", "hi from berth"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "hi from berth\n");
    // stderr stays stderr without a tty.
    let out = d.docker(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "echo out; echo err >&2",
    ]);
    assert_eq!(stdout(&out), "out\n");
    assert!(stderr(&out).contains("err"), "{}", stderr(&out));
}

#[test]
fn exit_codes_propagate() {
    let d = daemon();
    for cli in ["docker", "berth"] {
        let run = |args: &[&str]| {
            if cli == "docker" {
                d.docker(args)
            } else {
                d.berth(args)
            }
        };
        let out = run(&["run", "--rm", "busybox", "sh", "-c", "exit 7"]);
        assert_eq!(out.status.code(), Some(7), "{cli}: {}", stderr(&out));
        let out = run(&["run", "--rm", "busybox", "no-such-command"]);
        assert_eq!(out.status.code(), Some(127), "{cli}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("executable file not found in $PATH"),
            "{cli}: {}",
            stderr(&out)
        );
        let out = run(&["run", "--rm", "busybox", "/etc/passwd"]);
        assert_eq!(out.status.code(), Some(126), "{cli}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("permission denied"),
            "{cli}: {}",
            stderr(&out)
        );
    }
    // --rm removed even the containers whose command could not start.
    assert!(d.container_ids().is_empty(), "{:?}", d.container_ids());
}

#[test]
fn run_it_under_a_real_terminal() {
    let d = daemon();
    for cli in ["docker", "berth"] {
        let cmd = if cli == "docker" {
            d.docker_cmd(&["run", "-it", "--rm", "busybox", "sh"])
        } else {
            d.berth_cmd(&["run", "-it", "--rm", "busybox", "sh"])
        };
        let mut p = PtyChild::spawn(cmd).unwrap();
        p.send("tty; echo answer-$((6*7))\r").unwrap();
        p.expect("answer-42", Duration::from_secs(20))
            .unwrap_or_else(|e| panic!("{cli}: {e}\n{}", d.log_text()));
        assert!(p.output().contains("/dev/pts/"), "{cli}: {}", p.output());
        p.send("exit 3\r").unwrap();
        assert_eq!(p.wait(Duration::from_secs(20)).unwrap(), 3, "{cli}");
    }
}

#[test]
fn stdin_is_piped_and_closed() {
    let d = daemon();
    let mut child = d
        .docker_cmd(&["run", "-i", "--rm", "busybox", "sh", "-c", "cat; echo done"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"line one\nline two\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "line one\nline two\ndone\n");
}

#[test]
fn user_workdir_env_and_hostname() {
    let d = daemon();
    let out = d.docker_ok(&["run", "--rm", "-u", "app", "busybox", "id"]);
    assert!(out.starts_with("uid=1000(app) gid=1000(app)"), "{out}");
    let out = d.docker_ok(&["run", "--rm", "-u", "1234:5678", "busybox", "id"]);
    assert!(out.starts_with("uid=1234 gid=5678"), "{out}");
    let out = d.docker(&["run", "--rm", "-u", "nobody-here", "busybox", "id"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("nobody-here"), "{}", stderr(&out));
    let out = d.docker_ok(&["run", "--rm", "-w", "/made/here", "busybox", "pwd"]);
    assert_eq!(out, "/made/here");
    let out = d.docker_ok(&[
        "run",
        "--rm",
        "-e",
        "GREETING=salut",
        "busybox",
        "sh",
        "-c",
        "echo $GREETING $HOME",
    ]);
    assert_eq!(out, "salut /root");
    let out = d.docker_ok(&["run", "--rm", "-h", "boat", "busybox", "hostname"]);
    assert_eq!(out, "boat");
    let out = d.docker_ok(&[
        "run",
        "--rm",
        "--entrypoint",
        "echo",
        "busybox",
        "via",
        "entrypoint",
    ]);
    assert_eq!(out, "via entrypoint");
}

#[test]
fn read_only_root_and_security_options() {
    let d = daemon();
    let out = d.docker(&["run", "--rm", "--read-only", "busybox", "touch", "/x"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("Read-only file system"),
        "{}",
        stderr(&out)
    );
    // /tmp is not a tmpfs in docker either; /dev/shm stays writable.
    d.docker_ok(&[
        "run",
        "--rm",
        "--read-only",
        "busybox",
        "touch",
        "/dev/shm/ok",
    ]);
    // Capabilities: the default set has CHOWN; dropping it makes chown fail.
    d.docker_ok(&["run", "--rm", "busybox", "chown", "1:1", "/tmp"]);
    let out = d.docker(&[
        "run",
        "--rm",
        "--cap-drop",
        "CHOWN",
        "busybox",
        "chown",
        "1:1",
        "/tmp",
    ]);
    assert_ne!(out.status.code(), Some(0));
    // The default set lacks NET_ADMIN: no interface changes without it.
    let out = d.docker(&["run", "--rm", "busybox", "ip", "link", "set", "lo", "down"]);
    assert_ne!(out.status.code(), Some(0));
    d.docker_ok(&[
        "run",
        "--rm",
        "--cap-add",
        "NET_ADMIN",
        "busybox",
        "ip",
        "link",
        "set",
        "lo",
        "down",
    ]);
    d.docker_ok(&[
        "run",
        "--rm",
        "--privileged",
        "busybox",
        "ip",
        "link",
        "set",
        "lo",
        "down",
    ]);
    let out = d.docker_ok(&[
        "run",
        "--rm",
        "--security-opt",
        "no-new-privileges",
        "busybox",
        "grep",
        "NoNewPrivs",
        "/proc/self/status",
    ]);
    assert!(out.ends_with('1'), "{out}");
}

#[test]
fn rm_leaves_nothing_behind() {
    let mut d = daemon();
    let count = |dir: std::path::PathBuf| std::fs::read_dir(dir).map(|r| r.count()).unwrap_or(0);
    let snapshots_before = count(d.data_root.join("snapshots"));
    for _ in 0..3 {
        d.docker_ok(&["run", "--rm", "busybox", "true"]);
    }
    d.docker_ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        "echo x > /file",
    ]);
    d.docker_ok(&["create", "--name", "plain", "busybox", "true"]);
    d.docker_ok(&["start", "-a", "plain"]);
    d.docker_ok(&["rm", "plain"]);
    // Removed means gone from the API and from the containers directory at once …
    assert!(d.container_ids().is_empty());
    assert_eq!(count(d.data_root.join("containers")), 0);
    // … and everything else once the daemon has finished its cleanups (it does before exiting).
    d.stop().unwrap();
    assert!(d.leftover_mounts().is_empty(), "{:?}", d.leftover_mounts());
    assert!(
        d.leftover_cgroups().is_empty(),
        "{:?}",
        d.leftover_cgroups()
    );
    // Five containers of one image leave one snapshot: that image's init layer, which its
    // containers share and which stays as long as the image.
    assert_eq!(
        snapshots_before + 1,
        count(d.data_root.join("snapshots")),
        "a container rw snapshot was left behind, or each container had an init layer"
    );
    assert_eq!(
        count(d.data_root.join("trash")),
        0,
        "the trash was not emptied"
    );
    assert_eq!(
        count(d.exec_root.join("netns")),
        0,
        "a network namespace file was left behind"
    );
    assert_eq!(
        count(d.exec_root.join("shims")),
        0,
        "a shim state dir was left behind"
    );
}

#[test]
fn trash_left_by_a_crash_is_emptied_at_start() {
    let mut d = daemon();
    d.docker_ok(&["run", "--name", "kept", "busybox", "true"]);
    d.kill().unwrap();
    // What a crash in the middle of a removal's cleanup leaves: a trashed directory, here with
    // its rootfs still mounted.
    let trashed = d.data_root.join("trash").join("f".repeat(64));
    std::fs::create_dir_all(trashed.join("rootfs")).unwrap();
    std::fs::write(trashed.join("hosts"), "127.0.0.1 localhost\n").unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "tmpfs"])
        .arg(trashed.join("rootfs"))
        .status()
        .unwrap();
    assert!(mounted.success());
    d.spawn().unwrap();
    assert_eq!(d.docker_ok(&["ps", "-a", "--format", "{{.Names}}"]), "kept");
    assert!(!trashed.exists(), "the trash was not emptied at start-up");
    assert!(d.leftover_mounts().is_empty(), "{:?}", d.leftover_mounts());
    // A container removed now is cleaned up as usual.
    d.docker_ok(&["rm", "kept"]);
    d.stop().unwrap();
    let trash = std::fs::read_dir(d.data_root.join("trash")).map(|r| r.count());
    assert_eq!(trash.unwrap_or(0), 0);
    assert_eq!(
        std::fs::read_dir(d.data_root.join("containers"))
            .unwrap()
            .count(),
        0
    );
}

#[test]
fn errors_match_dockerd() {
    let d = daemon();
    let out = d.docker(&["run", "--rm", "no-such-image-here"]);
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Unable to find image 'no-such-image-here:latest' locally"),
        "{}",
        stderr(&out)
    );
    d.docker_ok(&["create", "--name", "taken", "busybox"]);
    // `create` exits 1 on a daemon error, `run` 125 (docker/cli's toStatusError).
    let out = d.docker(&["create", "--name", "taken", "busybox"]);
    assert_eq!(out.status.code(), Some(1));
    let out = d.docker(&["run", "--name", "taken", "busybox"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(
        stderr(&out)
            .contains("Conflict. The container name \"/taken\" is already in use by container"),
        "{}",
        stderr(&out)
    );
    let out = d.docker(&["start", "no-such-container"]);
    assert!(
        stderr(&out).contains("No such container: no-such-container"),
        "{}",
        stderr(&out)
    );
    let out = d.docker(&["create", "--name", "bad name", "busybox"]);
    assert!(
        stderr(&out).contains("Invalid container name"),
        "{}",
        stderr(&out)
    );
    let out = d.docker(&["run", "--rm", "-m", "1k", "busybox", "true"]);
    assert!(
        stderr(&out).contains("Minimum memory limit"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn init_network_modes_and_system_commands() {
    let d = daemon();
    // --init runs an init as PID 1 that reaps and forwards; the command is its child.
    let out = d.docker_ok(&[
        "run",
        "--rm",
        "--init",
        "busybox",
        "sh",
        "-c",
        "cat /proc/1/cmdline | tr '\\0' ' '",
    ]);
    assert!(out.starts_with("/sbin/docker-init -- sh"), "{out}");
    let out = d.docker(&["run", "--rm", "--init", "busybox", "sh", "-c", "exit 6"]);
    assert_eq!(out.status.code(), Some(6));
    // --network none: loopback only, and up.
    let out = d.docker_ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "busybox",
        "ip",
        "-o",
        "link",
    ]);
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.contains("lo:") && out.contains("UP"), "{out}");
    // The default network: its own namespace with lo and eth0 on the daemon's bridge.
    let out = d.docker_ok(&["run", "--rm", "busybox", "ip", "-o", "link"]);
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(out.contains("eth0@"), "{out}");
    // --network host shares the host's interfaces and hostname.
    let out = d.docker_ok(&[
        "run",
        "--rm",
        "--network",
        "host",
        "busybox",
        "ip",
        "-o",
        "link",
    ]);
    // (Other tests add and remove interfaces meanwhile: look for this daemon's bridge.)
    assert!(out.contains(&format!(": {}:", d.net.bridge)), "{out}");
    let host = nix::unistd::gethostname()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert_eq!(
        d.docker_ok(&["run", "--rm", "--network", "host", "busybox", "hostname"]),
        host
    );
    // docker info and version render against berthd.
    let info = d.docker_ok(&["info", "--format", "{{.Driver}} {{.OSType}} {{.Images}}"]);
    assert_eq!(info, "overlay2 linux 1");
    let v = d.docker_ok(&["version", "--format", "{{.Server.APIVersion}}"]);
    assert_eq!(v, "1.47");
}

#[test]
fn bind_mounts_and_clear_refusals() {
    let d = daemon();
    let host = d.root.path().join("shared");
    std::fs::create_dir(&host).unwrap();
    std::fs::write(host.join("from-host"), "hello\n").unwrap();
    let v = format!("{}:/data", host.display());
    let out = d.docker_ok(&[
        "run",
        "--rm",
        "-v",
        &v,
        "busybox",
        "sh",
        "-c",
        "cat /data/from-host; echo back > /data/from-ctr",
    ]);
    assert_eq!(out, "hello");
    assert_eq!(
        std::fs::read_to_string(host.join("from-ctr")).unwrap(),
        "back\n"
    );
    // Read-only.
    let out = d.docker(&[
        "run",
        "--rm",
        "-v",
        &format!("{v}:ro"),
        "busybox",
        "touch",
        "/data/x",
    ]);
    assert!(
        stderr(&out).contains("Read-only file system"),
        "{}",
        stderr(&out)
    );
    // -v creates a missing host directory; --mount refuses it.
    let fresh = d.root.path().join("made-by-v");
    d.docker_ok(&[
        "run",
        "--rm",
        "-v",
        &format!("{}:/m", fresh.display()),
        "busybox",
        "true",
    ]);
    assert!(fresh.is_dir());
    let out = d.docker(&[
        "run",
        "--rm",
        "--mount",
        "type=bind,src=/nonexistent-berth-src,dst=/m",
        "busybox",
        "true",
    ]);
    assert!(
        stderr(&out).contains("bind source path does not exist"),
        "{}",
        stderr(&out)
    );
    let m = format!("type=bind,src={},dst=/m,readonly", host.display());
    let id = d.docker_ok(&["create", "--mount", &m, "busybox", "true"]);
    let mounts = d.docker_ok(&[
        "inspect",
        "-f",
        "{{range .Mounts}}{{.Type}} {{.Destination}} {{.RW}}{{end}}",
        &id,
    ]);
    assert_eq!(mounts, "bind /m false");
    // Named volumes are made on demand (tests/volumes.rs has the rest).
    let out = d.docker(&["run", "--rm", "-v", "myvol:/data", "busybox", "true"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// The container's init as `/proc/self/status` shows it: capability sets, seccomp mode and
/// no-new-privileges, keyed by field.
fn init_status(d: &Daemon, flags: &[&str]) -> std::collections::BTreeMap<String, String> {
    let mut args = vec!["run", "--rm"];
    args.extend_from_slice(flags);
    args.extend([
        "busybox",
        "grep",
        "-E",
        "^(Cap|Seccomp:|NoNewPrivs)",
        "/proc/self/status",
    ]);
    d.docker_ok(&args)
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}

#[test]
fn the_init_runs_with_dockers_capabilities_under_its_seccomp_filter() {
    let d = daemon();
    // dockerd's 14 default capabilities, nothing more, in every set a root process keeps.
    const DEFAULT: &str = "00000000a80425fb";
    let s = init_status(&d, &[]);
    for set in ["CapPrm", "CapEff", "CapBnd"] {
        assert_eq!(s[set], DEFAULT, "{set}: {s:?}");
    }
    assert_eq!(s["CapInh"], "0000000000000000", "{s:?}");
    assert_eq!(s["CapAmb"], "0000000000000000", "{s:?}");
    assert_eq!(
        (s["Seccomp"].as_str(), s["NoNewPrivs"].as_str()),
        ("2", "0")
    );
    // Another user keeps only the bounding set; the filter is the same.
    let s = init_status(&d, &["--user", "65534"]);
    assert_eq!(s["CapPrm"], "0000000000000000", "{s:?}");
    assert_eq!(s["CapEff"], "0000000000000000", "{s:?}");
    assert_eq!(s["CapBnd"], DEFAULT, "{s:?}");
    assert_eq!(s["Seccomp"], "2");
    let s = init_status(&d, &["--security-opt", "no-new-privileges"]);
    assert_eq!(s["CapEff"], DEFAULT, "{s:?}");
    assert_eq!(
        (s["Seccomp"].as_str(), s["NoNewPrivs"].as_str()),
        ("2", "1")
    );
    let s = init_status(&d, &["--cap-add", "SYS_ADMIN"]);
    assert_eq!(s["CapEff"], "00000000a82425fb", "{s:?}");
    assert_eq!(s["Seccomp"], "2");
    let s = init_status(&d, &["--security-opt", "seccomp=unconfined"]);
    assert_eq!(
        (s["CapEff"].as_str(), s["Seccomp"].as_str()),
        (DEFAULT, "0")
    );
    // The filter is Docker's: unshare(CLONE_NEWUSER) needs no capability, only it refuses it.
    let out = d.docker(&["run", "--rm", "busybox", "unshare", "-U", "true"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("Operation not permitted"),
        "{}",
        stderr(&out)
    );
    d.docker_ok(&[
        "run",
        "--rm",
        "--security-opt",
        "seccomp=unconfined",
        "busybox",
        "unshare",
        "-U",
        "true",
    ]);
}

/// `berth` and `berth-shim` run at every container start: they are linked as plain
/// executables, not PIEs (their `build.rs`), so the loader has nothing of theirs to relocate.
#[test]
fn the_cli_and_the_shim_are_not_position_independent() {
    use std::io::Read;
    for name in ["berth", "berth-shim"] {
        let path = berth_tests::bin(name);
        let mut header = [0u8; 18];
        std::fs::File::open(&path)
            .and_then(|mut f| f.read_exact(&mut header))
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        assert_eq!(
            &header[..4],
            b"\x7fELF",
            "{} is not an ELF file",
            path.display()
        );
        // e_type: 2 is an executable, 3 a shared object (which a PIE is).
        let e_type = u16::from_le_bytes([header[16], header[17]]);
        assert_eq!(e_type, 2, "{} is position-independent", path.display());
    }
}

/// `berth run -d` does not register the wait docker's CLI sends and drops unread; with `--rm`
/// it does, to see a container whose start failed removed before it exits.
#[test]
fn a_detached_run_registers_a_wait_only_with_rm() {
    let d = daemon();
    // The daemon logs a request once it has answered it: look until `start`'s line is there.
    let waits_of = |id: &str| {
        let start = format!("/containers/{id}/start");
        for _ in 0..100 {
            let log = d.log_text();
            if log.contains(&start) {
                let wait = format!("/containers/{id}/wait");
                return log.lines().filter(|l| l.contains(&wait)).count();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("no start request logged for {id}:\n{}", d.log_text());
    };
    let out = d.berth(&["run", "-d", "busybox", "true"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(waits_of(stdout(&out).trim()), 0, "waits of run -d");

    let args = [
        "run",
        "-d",
        "--rm",
        "--name",
        "gone",
        "busybox",
        "no-such-command",
    ];
    let out = d.berth(&args);
    assert_eq!(out.status.code(), Some(127), "{}", stderr(&out));
    let ps = d.berth(&["ps", "-aq", "--filter", "name=gone"]);
    assert_eq!(stdout(&ps), "", "removed before the CLI exited");
    assert_eq!(waits_of(stdout(&out).trim()), 1, "waits of run -d --rm");
}
