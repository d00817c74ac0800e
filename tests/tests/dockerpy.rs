//! docker-py (Debian's `python3-docker`), a real third-party client, against berthd.

use std::process::Command;

use berth_tests::Daemon;

/// Runs `tests/py/<script>` with `/usr/bin/python3` against `d` (the socket first, then
/// `args`) and checks it succeeds and prints `done`.
fn run_script(d: &Daemon, script: &str, args: &[&str], done: &str) {
    let path = format!("{}/py/{script}", env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("/usr/bin/python3")
        .arg(path)
        .arg(d.host_arg())
        .args(args)
        .output()
        .expect("/usr/bin/python3 with Debian's python3-docker is needed");
    assert!(
        out.status.success(),
        "docker-py failed:\n{}\n{}\ndaemon:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        berth_tests::daemon::tail(&d.log_text(), 30)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(done));
}

fn daemon() -> Daemon {
    let d = Daemon::start().unwrap();
    d.import_busybox().unwrap();
    d
}

#[test]
fn docker_py_runs_its_everyday_calls() {
    let d = daemon();
    run_script(&d, "dockerpy_smoke.py", &[], "docker-py OK");
}

#[test]
fn docker_py_network_calls() {
    let d = daemon();
    let subnet = d.net.subnet(230);
    let gateway = subnet.replace(".0/24", ".1");
    run_script(
        &d,
        "dockerpy_network.py",
        &[&subnet, &gateway],
        "docker-py networks OK",
    );
}

#[test]
fn docker_py_operates_containers() {
    let d = daemon();
    let config = d.root.path().join("py-config");
    // The script's last line (after "docker-py operate OK"): the detach keys part passed too.
    run_script(
        &d,
        "dockerpy_operate.py",
        &[config.to_str().unwrap()],
        "docker-py detach keys OK",
    );
}

#[test]
fn docker_py_builds_images() {
    let d = daemon();
    let ctx = berth_tests::build::context(
        &d,
        "py-ctx",
        &[
            ("Dockerfile", "FROM busybox\nCOPY app /app\n"),
            (".dockerignore", "**/*.log\n"),
            ("app/kept.txt", "k"),
            ("app/skipped.log", "s"),
        ],
    );
    run_script(
        &d,
        "dockerpy_build.py",
        &[ctx.to_str().unwrap()],
        "docker-py build OK",
    );
}

#[test]
fn docker_py_volume_and_archive_calls() {
    let d = Daemon::start().unwrap();
    d.import_busybox().unwrap();
    run_script(&d, "dockerpy_volumes.py", &[], "docker-py volumes OK");
}
