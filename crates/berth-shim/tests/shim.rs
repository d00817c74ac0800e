//! Real containers through the real `berth-shim`: exit codes, streams, TTY, errors.
//! Run as root (CI does).

mod common;

use common::*;
use runtime::shim::ConsoleSize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn exit_codes_propagate() {
    let f = Fixture::new("exit");
    let (code, _, _) = f.run(&f.spec(&["sh", "-c", "exit 3"])).await;
    assert_eq!(code, 3);
}

#[tokio::test]
async fn attach_before_start_loses_nothing_and_frames_streams() {
    let f = Fixture::new("frames");
    let spec = f.spec(&["sh", "-c", "echo out1; echo err1 >&2; echo out2"]);
    let (code, out, err) = f.run(&spec).await;
    assert_eq!(code, 0);
    assert_eq!(out, "out1\nout2\n");
    assert_eq!(err, "err1\n");
    // The same output reached the json-file log.
    let log = f.log_text();
    assert!(log.contains("out1\n") && log.contains("err1\n"), "{log}");
}

#[tokio::test]
async fn stdin_once_gives_the_container_eof() {
    let f = Fixture::new("stdin");
    let spec = f.spec(&["cat"]);
    let cfg = runtime::shim::ShimConfig {
        open_stdin: true,
        stdin_once: true,
        ..f.config(&spec)
    };
    let h = f.spawn_with(&spec, cfg).await.unwrap();
    let mut s = h.attach(true, true, true).await.unwrap();
    h.start().await.unwrap();
    write_all(&mut s, b"hi\n").await;
    s.shutdown().await.unwrap();
    let (out, _) = read_multiplexed(s).await;
    assert_eq!(out, "hi\n");
    assert_eq!(
        with_timeout(h.wait()).await.unwrap().exit_code,
        0,
        "cat must see EOF and exit"
    );
}

#[tokio::test]
async fn tty_is_a_real_terminal_with_its_size() {
    let f = Fixture::new("tty");
    let spec = runtime::spec::ContainerSpec {
        tty: true,
        ..f.spec(&["sh", "-c", "tty; stty size; read line; stty size"])
    };
    let cfg = runtime::shim::ShimConfig {
        open_stdin: true,
        console_size: Some(ConsoleSize {
            width: 100,
            height: 30,
        }),
        ..f.config(&spec)
    };
    let h = f.spawn_with(&spec, cfg).await.unwrap();
    let mut s = h.attach(true, true, true).await.unwrap();
    h.start().await.unwrap();
    // Wait for the first size line, then resize and let the script print again.
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    while !String::from_utf8_lossy(&seen).contains("30 100") {
        let n = with_timeout(s.read(&mut buf)).await.unwrap();
        assert!(
            n > 0,
            "stream ended early: {:?}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&buf[..n]);
    }
    h.resize(120, 40).await.unwrap();
    write_all(&mut s, b"go\r").await;
    let mut rest = Vec::new();
    with_timeout(s.read_to_end(&mut rest)).await.unwrap();
    seen.extend_from_slice(&rest);
    let text = String::from_utf8_lossy(&seen);
    assert!(text.contains("/dev/pts/0"), "tty output: {text:?}");
    assert!(
        text.contains("40 120"),
        "resize must reach the container: {text:?}"
    );
    assert!(
        !text.contains("\u{1}\u{0}\u{0}\u{0}"),
        "a TTY stream is raw, not framed"
    );
    assert_eq!(with_timeout(h.wait()).await.unwrap().exit_code, 0);
}

#[tokio::test]
async fn missing_or_unexecutable_commands_fail_with_dockers_words() {
    let f = Fixture::new("nocmd");
    let e = f.spawn(&f.spec(&["nosuchcmd"])).await.unwrap_err();
    assert!(
        e.to_string()
            .contains("exec: \"nosuchcmd\": executable file not found in $PATH"),
        "{e}"
    );
    assert_eq!(e.kind(), runtime::ErrorKind::InvalidArgument);
    let f = Fixture::new("noexec");
    let e = f.spawn(&f.spec(&["/etc/passwd"])).await.unwrap_err();
    assert!(e.to_string().contains("permission denied"), "{e}");
    let f = Fixture::new("nofile");
    let e = f.spawn(&f.spec(&["/no/such/file"])).await.unwrap_err();
    assert!(e.to_string().contains("no such file or directory"), "{e}");
    // Nothing is left behind by a failed create.
    assert!(runtime::cgroup::oom_kill_count(&format!("{}/{}", f.cgroup_parent, f.id)).is_none());
}

#[tokio::test]
async fn kill_and_wait() {
    let f = Fixture::new("kill");
    let h = f.spawn(&f.spec(&["sleep", "1000"])).await.unwrap();
    h.start().await.unwrap();
    assert_eq!(
        h.state().await.unwrap().status,
        runtime::shim::Status::Running
    );
    h.kill(9).await.unwrap();
    let rec = with_timeout(h.wait()).await.unwrap();
    assert_eq!(rec.exit_code, 137);
    assert!(!rec.oom_killed);
    assert!(api_types::time::parse_system_time(&rec.exited_at).is_some());
    // The shim removed the container's cgroup and its socket before it exited (releasing its
    // lock; `wait` is answered before that cleanup).
    assert!(runtime::shim::lock::wait_released(
        &f.state_dir,
        std::time::Duration::from_secs(10)
    ));
    assert_eq!(
        runtime::cgroup::oom_kill_count(&format!("{}/{}", f.cgroup_parent, f.id)),
        None
    );
    let exit = runtime::shim::read_exit_record(&f.state_dir)
        .unwrap()
        .unwrap();
    assert_eq!(exit, rec);
    assert!(
        !f.state_dir.join(runtime::shim::SOCKET_FILE).exists(),
        "the socket goes before wait is answered"
    );
    assert!(
        !f.state_dir.join(&f.id).exists(),
        "the runtime's state of the container is removed"
    );
    assert_eq!(
        with_timeout(h.wait()).await.unwrap(),
        rec,
        "a later wait reads the record"
    );
}

/// A created container nobody starts (its daemon died between create and start) is killed
/// when the start limit passes; the shim records the exit, cleans up and exits.
#[tokio::test]
async fn a_container_never_started_is_killed_at_the_start_limit() {
    let f = Fixture::new("nostart");
    let spec = f.spec(&["sleep", "1000"]);
    let cfg = runtime::shim::ShimConfig {
        start_limit_ms: Some(300),
        ..f.config(&spec)
    };
    let h = f.spawn_with(&spec, cfg).await.unwrap();
    assert_eq!(
        h.state().await.unwrap().status,
        runtime::shim::Status::Created
    );
    let rec = with_timeout(h.wait()).await.unwrap();
    assert_eq!(rec.exit_code, 137);
    assert!(runtime::shim::lock::wait_released(
        &f.state_dir,
        std::time::Duration::from_secs(10)
    ));
    assert!(!runtime::sys::process_alive(h.pid()), "the init is gone");
    // The shim exits after releasing its lock (or stays a zombie of this test): bounded poll.
    let shim_pid = h.shim_pid();
    let gone = |pid: i32| {
        !runtime::sys::process_alive(pid)
            || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|s| s.contains(") Z "))
    };
    for _ in 0..500 {
        if gone(shim_pid) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(gone(shim_pid), "the shim is gone");
}

/// In the host's pid namespace the init's death kills nothing else: the cleanup kills what is
/// left in the container's cgroup before removing it.
#[tokio::test]
async fn what_outlives_a_host_pid_init_is_killed_with_its_cgroup() {
    let f = Fixture::new("hostpid");
    let spec = runtime::spec::ContainerSpec {
        pid_ns: runtime::spec::Namespace::Host,
        ..f.spec(&["sh", "-c", "sleep 1000 & echo $!"])
    };
    let (code, out, _) = f.run(&spec).await;
    assert_eq!(code, 0);
    let pid: i32 = out.trim().parse().expect("the sleeper's host pid");
    assert!(runtime::shim::lock::wait_released(
        &f.state_dir,
        std::time::Duration::from_secs(10)
    ));
    let gone = !runtime::sys::process_alive(pid)
        || std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z "));
    assert!(gone, "the sleeper {pid} was left running");
    assert!(runtime::cgroup::procs(&spec.cgroups_path).is_empty());
    assert_eq!(runtime::cgroup::oom_kill_count(&spec.cgroups_path), None);
}

#[tokio::test]
async fn init_reaps_and_forwards_the_exit_code() {
    let f = Fixture::new("init");
    let spec = runtime::spec::ContainerSpec {
        init: Some("/usr/bin/tini-static".into()),
        ..f.spec(&["sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '; exit 5"])
    };
    let (code, out, _) = f.run(&spec).await;
    assert_eq!(code, 5);
    assert!(
        out.starts_with("/sbin/docker-init -- sh"),
        "PID 1 must be the init: {out:?}"
    );
}

/// The process the daemon runs forks the shim and exits at once; the shim answers the spawn
/// on the stdout it inherited. A shim that dies before answering is an error, not a hang.
#[tokio::test]
async fn the_spawn_reply_comes_from_the_shim_itself() {
    let f = Fixture::new("reply");
    let spec = f.spec(&["true"]);
    let h = f.spawn(&spec).await.unwrap();
    // The reply names the container's init and the shim, which lives on.
    let (init, shim) = (h.pid(), h.shim_pid());
    assert!(init > 0 && std::path::Path::new(&format!("/proc/{shim}")).exists());
    h.start().await.unwrap();
    assert_eq!(with_timeout(h.wait()).await.unwrap().exit_code, 0);

    let dead = f.dir.path().join("dead-shim");
    std::fs::write(&dead, "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(&dead, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let f = Fixture::new("reply-dead");
    let e = with_timeout(f.spawn_binary(&dead, &spec, f.config(&spec)))
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("shim died while creating the container"),
        "{e}"
    );
}
