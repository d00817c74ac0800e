//! `attach` and detach keys, through the docker CLI under a real terminal.

use std::time::Duration;

use berth_tests::pty::PtyChild;
use berth_tests::Daemon;

fn daemon() -> Daemon {
    let d = Daemon::start().expect("start berthd");
    d.import_busybox().expect("import busybox");
    d
}

#[test]
fn attach_then_detach_with_keys_leaves_it_running() {
    let d = daemon();
    let id = d.docker_ok(&["run", "-dit", "--name", "shell", "busybox", "sh"]);
    let mut p = PtyChild::spawn(d.docker_cmd(&["attach", "shell"])).unwrap();
    p.send("echo attached-$((40+2))\r").unwrap();
    p.expect("attached-42", Duration::from_secs(20)).unwrap();
    // ctrl-p ctrl-q detaches; the container keeps running. `docker attach` reports the
    // detach as docker does: "read escape sequence", exit status 1.
    p.send("\x10\x11").unwrap();
    let code = p.wait(Duration::from_secs(20)).unwrap();
    assert!(
        p.output().contains("read escape sequence"),
        "{}",
        p.output()
    );
    assert_eq!(code, 1, "{}", p.output());
    let status = d.docker_ok(&["inspect", "-f", "{{.State.Status}}", &id]);
    assert_eq!(status, "running");

    // Custom keys.
    let mut p =
        PtyChild::spawn(d.docker_cmd(&["attach", "--detach-keys", "ctrl-a,x", "shell"])).unwrap();
    p.send("echo again\r").unwrap();
    p.expect("again", Duration::from_secs(20)).unwrap();
    p.send("\x01x").unwrap();
    assert_eq!(p.wait(Duration::from_secs(20)).unwrap(), 1);
    assert_eq!(
        d.docker_ok(&["inspect", "-f", "{{.State.Status}}", &id]),
        "running"
    );

    // Exiting the shell from an attached client ends the container.
    let mut p = PtyChild::spawn(d.docker_cmd(&["attach", "shell"])).unwrap();
    p.send("\rexit 5\r").unwrap();
    assert_eq!(
        p.wait(Duration::from_secs(20)).unwrap(),
        5,
        "{}",
        p.output()
    );
    assert_eq!(
        d.docker_ok(&["inspect", "-f", "{{.State.ExitCode}}", &id]),
        "5"
    );
}

#[test]
fn start_attach_replays_nothing_and_streams_output() {
    let d = daemon();
    let id = d.docker_ok(&[
        "create",
        "busybox",
        "sh",
        "-c",
        "echo one; echo two >&2; exit 4",
    ]);
    let out = d.docker(&["start", "-a", &id]);
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "one\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "two\n");
}

#[test]
fn run_it_then_detach_keeps_the_container() {
    let d = daemon();
    for cli in ["docker", "berth"] {
        let name = format!("bg-{cli}");
        let args = ["run", "-it", "--name", &name, "busybox", "sh"];
        let cmd = if cli == "docker" {
            d.docker_cmd(&args)
        } else {
            d.berth_cmd(&args)
        };
        let mut p = PtyChild::spawn(cmd).unwrap();
        p.send("echo ready-$((1+1))\r").unwrap();
        p.expect("ready-2", Duration::from_secs(20)).unwrap();
        p.send("\x10\x11").unwrap();
        let code = p
            .wait(Duration::from_secs(20))
            .unwrap_or_else(|e| panic!("{cli}: {e}"));
        assert_eq!(code, 0, "{cli}: {}", p.output());
        assert_eq!(
            d.docker_ok(&["inspect", "-f", "{{.State.Status}}", &name]),
            "running",
            "{cli}"
        );
    }
}
