//! Execs through the real `berth-shim`: a second process in a running container, with its
//! own streams, TTY, user and exit code, under the container's seccomp filter and
//! capabilities, never disturbing the container's own process. Run as root (CI does).

mod common;

use common::*;
use runtime::shim::ShimHandle;
use runtime::spec::exec::{self as spec_exec, ExecSpec};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A running `sleep` container.
async fn running(f: &Fixture) -> ShimHandle {
    let h = f.spawn(&f.spec(&["sleep", "1000"])).await.expect("spawn");
    h.start().await.expect("start");
    h
}

fn process(f: &Fixture, args: &[&str], tweak: impl FnOnce(&mut ExecSpec)) -> serde_json::Value {
    let base = spec_exec::container_process(&f.bundle).expect("container process");
    let mut e = ExecSpec {
        rootfs: f.rootfs.clone(),
        args: args.iter().map(|s| s.to_string()).collect(),
        env: spec_exec::exec_env("testhost", false, &[], &[]),
        ..Default::default()
    };
    tweak(&mut e);
    spec_exec::process(&base, &e).expect("exec process")
}

/// Runs an exec with stdout and stderr to the end: (exit code, stdout, stderr).
async fn run(h: &ShimHandle, id: &str, p: serde_json::Value) -> (i32, String, String) {
    let (_, s) = h.exec(id, p, false, true, true).await.expect("exec");
    let (out, err) = read_multiplexed(s).await;
    let code = with_timeout(h.exec_wait(id)).await.expect("exec-wait");
    (code, out, err)
}

fn status_field(status: &str, key: &str) -> String {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .unwrap_or_default()
        .trim()
        .to_string()
}

#[tokio::test]
async fn exec_streams_output_and_its_exit_code() {
    let f = Fixture::new("exec");
    let h = running(&f).await;
    let p = process(&f, &["sh", "-c", "echo out; echo err >&2; exit 7"], |_| {});
    assert_eq!(run(&h, "e1", p).await, (7, "out\n".into(), "err\n".into()));
    // A second exit-wait for the same exec is refused: its code was claimed.
    assert!(h.exec_wait("e1").await.is_err());
    // The container's process is untouched.
    assert_eq!(
        h.state().await.unwrap().status,
        runtime::shim::Status::Running
    );
    // libcontainer's per-exec sockets and our process file are gone.
    let dir = f.state_dir.join(&f.id);
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("tenant-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    // (The runtime's dir of the container, named after its id, is in the state dir too.)
    let ours: Vec<_> = std::fs::read_dir(&f.state_dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("exec-") && *n != f.id)
        .collect();
    assert!(ours.is_empty(), "{ours:?}");
    h.kill(9).await.unwrap();
    with_timeout(h.wait()).await.unwrap();
}

#[tokio::test]
async fn exec_stdin_end_is_eof_and_user_cwd_env_apply() {
    let f = Fixture::new("exec-in");
    let h = running(&f).await;
    let p = process(&f, &["cat"], |_| {});
    let (_, mut s) = h.exec("cat", p, true, true, true).await.unwrap();
    s.write_all(b"hello\n").await.unwrap();
    s.shutdown().await.unwrap();
    let (out, _) = read_multiplexed(s).await;
    assert_eq!(out, "hello\n");
    assert_eq!(with_timeout(h.exec_wait("cat")).await.unwrap(), 0);

    let p = process(&f, &["sh", "-c", "id -u; id -g; pwd; echo $A"], |e| {
        e.user = "1000:1000".into();
        e.working_dir = "/tmp".into();
        e.env.push("A=1".into());
    });
    let (code, out, _) = run(&h, "who", p).await;
    assert_eq!((code, out.as_str()), (0, "1000\n1000\n/tmp\n1\n"));
    h.kill(9).await.unwrap();
    with_timeout(h.wait()).await.unwrap();
}

#[tokio::test]
async fn exec_runs_under_the_containers_seccomp_and_capabilities() {
    let f = Fixture::new("exec-sec");
    let h = running(&f).await;
    // Started means released, not yet exec'd: the init installs its filter and drops to its
    // final capabilities just before it execs `sleep`. Read it once it has.
    let exe = format!("/proc/{}/exe", h.pid());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::fs::read_link(&exe).map_or(true, |p| p.ends_with("berth-shim")) {
        assert!(
            std::time::Instant::now() < deadline,
            "the init never exec'd"
        );
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let init = std::fs::read_to_string(format!("/proc/{}/status", h.pid())).unwrap();
    let p = process(&f, &["cat", "/proc/self/status"], |_| {});
    let (code, status, _) = run(&h, "st", p).await;
    assert_eq!(code, 0);
    assert_eq!(status_field(&status, "Seccomp:"), "2", "{status}");
    for key in ["CapEff:", "CapPrm:", "CapBnd:", "NoNewPrivs:"] {
        assert_eq!(
            status_field(&status, key),
            status_field(&init, key),
            "{key} differs from the container's init"
        );
    }
    // --privileged: every capability, still filtered.
    let p = process(&f, &["cat", "/proc/self/status"], |e| e.privileged = true);
    let (_, status, _) = run(&h, "priv", p).await;
    let eff = u64::from_str_radix(&status_field(&status, "CapEff:"), 16).unwrap();
    let init_eff = u64::from_str_radix(&status_field(&init, "CapEff:"), 16).unwrap();
    assert!(eff & (1 << 21) != 0 && eff > init_eff, "{status}");
    assert_eq!(status_field(&status, "Seccomp:"), "2");
    h.kill(9).await.unwrap();
    with_timeout(h.wait()).await.unwrap();
}

#[tokio::test]
async fn exec_errors_use_runcs_words() {
    let f = Fixture::new("exec-err");
    let h = running(&f).await;
    let p = process(&f, &["nope"], |_| {});
    let e = h.exec("x1", p, false, true, true).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "exec: \"nope\": executable file not found in $PATH"
    );
    let p = process(&f, &["/etc/passwd"], |_| {});
    let e = h.exec("x2", p, false, true, true).await.unwrap_err();
    assert_eq!(e.to_string(), "exec: \"/etc/passwd\": permission denied");
    let p = process(&f, &["pwd"], |e| e.working_dir = "/nope".into());
    let e = h.exec("x4", p, false, true, true).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "chdir to cwd (\"/nope\") set in config.json failed: no such file or directory"
    );
    let p = process(&f, &["/etc"], |_| {});
    let e = h.exec("x5", p, false, true, true).await.unwrap_err();
    assert_eq!(e.to_string(), "exec: \"/etc\": is a directory");
    // No process of the failed starts is left behind.
    let shim_pid = h.shim_pid();
    let kids = std::fs::read_to_string(format!("/proc/{shim_pid}/task/{shim_pid}/children"))
        .unwrap_or_default();
    assert_eq!(kids.split_whitespace().count(), 1, "{kids}");
    // The container still runs, and the next exec works.
    let p = process(&f, &["true"], |_| {});
    assert_eq!(run(&h, "x3", p).await.0, 0);
    h.kill(9).await.unwrap();
    with_timeout(h.wait()).await.unwrap();
}

#[tokio::test]
async fn exec_tty_has_its_size_and_resizes() {
    let f = Fixture::new("exec-tty");
    let h = running(&f).await;
    let p = process(
        &f,
        &["sh", "-c", "tty; stty size; read l; stty size"],
        |e| {
            e.tty = true;
            e.console_size = Some((30, 100));
        },
    );
    let (_, mut s) = h.exec("t", p, true, true, true).await.unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    while !String::from_utf8_lossy(&seen).contains("30 100") {
        let n = with_timeout(s.read(&mut buf)).await.unwrap();
        assert!(n > 0, "{}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
    assert!(String::from_utf8_lossy(&seen).contains("/dev/pts/"));
    h.exec_resize("t", 90, 20).await.unwrap();
    s.write_all(b"\n").await.unwrap();
    let mut rest = Vec::new();
    with_timeout(s.read_to_end(&mut rest)).await.unwrap();
    assert!(String::from_utf8_lossy(&rest).contains("20 90"), "{rest:?}");
    assert_eq!(with_timeout(h.exec_wait("t")).await.unwrap(), 0);
    h.kill(9).await.unwrap();
    with_timeout(h.wait()).await.unwrap();
}

#[tokio::test]
async fn execs_die_with_the_container_and_their_waiters_hear_it() {
    let f = Fixture::new("exec-die");
    let h = running(&f).await;
    let p = process(&f, &["sleep", "1000"], |_| {});
    let (_, s) = h.exec("long", p, false, true, true).await.unwrap();
    let h2 = h.clone();
    let waiter = tokio::spawn(async move { h2.exec_wait("long").await });
    // A detached exec: no stream, the connection closes at once.
    let p = process(&f, &["sleep", "1000"], |_| {});
    let (pid, mut d) = h.exec("bg", p, false, false, false).await.unwrap();
    let mut rest = Vec::new();
    with_timeout(d.read_to_end(&mut rest)).await.unwrap();
    assert!(rest.is_empty());
    assert!(runtime::sys::process_alive(pid));
    h.kill(9).await.unwrap();
    let (out, _) = read_multiplexed(s).await;
    assert_eq!(out, "");
    assert_eq!(with_timeout(waiter).await.unwrap().unwrap(), 137);
    with_timeout(h.wait()).await.unwrap();
    assert!(!runtime::sys::process_alive(pid));
}
