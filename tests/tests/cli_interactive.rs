//! `berth` at a real terminal and with real signals: `run -it` exit statuses, detach keys
//! (default, custom, typed together or apart), `attach`, `start -ai`, stdin EOF, and
//! `--sig-proxy`.

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use berth_tests::pty::PtyChild;
use berth_tests::Daemon;

const T: Duration = Duration::from_secs(20);

fn daemon() -> Daemon {
    let d = Daemon::start().expect("start berthd");
    d.import_busybox().expect("import busybox");
    d
}

fn status(d: &Daemon, name: &str) -> String {
    d.docker_ok(&["inspect", "-f", "{{.State.Status}}", name])
}

#[test]
fn run_it_gives_a_shell_and_its_exit_status() {
    let d = daemon();
    let mut p = PtyChild::spawn(d.berth_cmd(&["run", "-it", "--rm", "busybox", "sh"])).unwrap();
    p.send("echo sum-$((20+22)); tty\r").unwrap();
    p.expect("sum-42", T).unwrap();
    p.expect("/dev/pts/", T).unwrap();
    p.send("exit 9\r").unwrap();
    assert_eq!(p.wait(T).unwrap(), 9, "{}", p.output());
    // `--rm` removed it.
    assert!(d.container_ids().is_empty());
}

#[test]
fn detach_keys_typed_apart_together_and_custom() {
    let d = daemon();
    // Keys typed one at a time.
    let mut p =
        PtyChild::spawn(d.berth_cmd(&["run", "-it", "--name", "apart", "busybox", "sh"])).unwrap();
    p.send("echo up-$((0+1))\r").unwrap();
    p.expect("up-1", T).unwrap();
    p.send("\x10").unwrap();
    std::thread::sleep(Duration::from_millis(100));
    p.send("\x11").unwrap();
    assert_eq!(p.wait(T).unwrap(), 0, "{}", p.output());
    assert_eq!(status(&d, "apart"), "running");

    // Both keys in one read, right after other input.
    let mut p =
        PtyChild::spawn(d.berth_cmd(&["run", "-it", "--name", "together", "busybox", "sh"]))
            .unwrap();
    p.send("echo up-$((1+1))\r").unwrap();
    p.expect("up-2", T).unwrap();
    p.send("echo last\r\x10\x11").unwrap();
    assert_eq!(p.wait(T).unwrap(), 0, "{}", p.output());
    assert_eq!(status(&d, "together"), "running");

    // Custom keys; the default ones are then ordinary input.
    let args = [
        "run",
        "-it",
        "--detach-keys",
        "ctrl-a,x",
        "--name",
        "custom",
        "busybox",
        "sh",
    ];
    let mut p = PtyChild::spawn(d.berth_cmd(&args)).unwrap();
    p.send("echo up-$((1+2))\r").unwrap();
    p.expect("up-3", T).unwrap();
    p.send("\x10\x11echo still-$((2*2))\r").unwrap();
    p.expect("still-4", T).unwrap();
    p.send("\x01x").unwrap();
    assert_eq!(p.wait(T).unwrap(), 0, "{}", p.output());
    assert_eq!(status(&d, "custom"), "running");
}

#[test]
fn attach_and_start_ai_like_docker() {
    let d = daemon();
    d.docker_ok(&["run", "-dit", "--name", "shell", "busybox", "sh"]);
    // `attach` reports a detach as docker does: "read escape sequence", status 1.
    let mut p = PtyChild::spawn(d.berth_cmd(&["attach", "shell"])).unwrap();
    p.send("echo attached-$((6*7))\r").unwrap();
    p.expect("attached-42", T).unwrap();
    p.send("\x10\x11").unwrap();
    assert_eq!(p.wait(T).unwrap(), 1);
    assert!(
        p.output().contains("read escape sequence"),
        "{}",
        p.output()
    );
    assert_eq!(status(&d, "shell"), "running");

    // Ending the shell from an attached client gives its status.
    let mut p = PtyChild::spawn(d.berth_cmd(&["attach", "shell"])).unwrap();
    p.send("\rexit 6\r").unwrap();
    assert_eq!(p.wait(T).unwrap(), 6, "{}", p.output());

    // `start -ai` re-attaches to the stopped shell and returns its next status.
    let mut p = PtyChild::spawn(d.berth_cmd(&["start", "-ai", "shell"])).unwrap();
    p.send("echo again-$((1+2))\r").unwrap();
    p.expect("again-3", T).unwrap();
    p.send("exit 3\r").unwrap();
    assert_eq!(p.wait(T).unwrap(), 3, "{}", p.output());

    // Attaching to a stopped container is refused, as docker refuses it.
    let out = d.berth(&["attach", "shell"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "You cannot attach to a stopped container, start it first\n"
    );
}

#[test]
fn stdin_eof_reaches_the_container() {
    let d = daemon();
    let mut child = d
        .berth_cmd(&[
            "run",
            "-i",
            "--rm",
            "busybox",
            "sh",
            "-c",
            "cat; echo after-eof",
        ])
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
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "line one\nline two\nafter-eof\n"
    );
}

#[test]
fn sig_proxy_forwards_signals_to_the_container() {
    let d = daemon();
    let script = "trap 'echo got-term; exit 3' TERM; echo ready; while true; do sleep 0.1; done";
    let mut child = d
        .berth_cmd(&["run", "--rm", "busybox", "sh", "-c", script])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    // Bounded: at most a few hundred reads before "ready" shows.
    for _ in 0..200 {
        use std::io::Read;
        let n = stdout.read(&mut buf).unwrap();
        seen.extend_from_slice(&buf[..n]);
        if n == 0 || String::from_utf8_lossy(&seen).contains("ready") {
            break;
        }
    }
    assert!(String::from_utf8_lossy(&seen).contains("ready"));
    let st = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(st.success());
    let rest = {
        use std::io::Read;
        let mut r = Vec::new();
        stdout.read_to_end(&mut r).unwrap();
        r
    };
    let code = child.wait().unwrap().code();
    assert!(
        String::from_utf8_lossy(&rest).contains("got-term"),
        "{}",
        String::from_utf8_lossy(&rest)
    );
    assert_eq!(code, Some(3));

    // With --sig-proxy=false the signal stays with the client.
    let mut child = d
        .berth_cmd(&[
            "run",
            "--rm",
            "--sig-proxy=false",
            "--name",
            "noproxy",
            "busybox",
            "sleep",
            "300",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..200 {
        if d.docker_ok(&["ps", "-q", "--filter", "name=noproxy"]).len() == 12 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    std::process::Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert_eq!(
        child.wait().unwrap().code(),
        None,
        "the client died of SIGTERM"
    );
    assert_eq!(status(&d, "noproxy"), "running");
    d.docker_ok(&["rm", "-f", "noproxy"]);
}
