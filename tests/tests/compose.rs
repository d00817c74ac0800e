//! Compose v1 (`docker-compose` 1.29 from PyPI, installed by `scripts/deps.sh` into
//! `/opt/berth-compose`, or `$BERTH_COMPOSE`) against berthd: a project with a named volume.
//! Its services use `network_mode: none`: the project's default network needs the network
//! service, which this test does not depend on.

use std::path::PathBuf;
use std::process::{Command, Output};

use berth_tests::Daemon;

fn compose_bin() -> PathBuf {
    std::env::var_os("BERTH_COMPOSE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/opt/berth-compose/bin/docker-compose"))
}

const PROJECT: &str = r#"version: "2.4"
services:
  writer:
    image: busybox
    network_mode: none
    command: sh -c "echo from-compose > /data/f"
    volumes:
      - appdata:/data
  reader:
    image: busybox
    network_mode: none
    command: cat /data/f
    volumes:
      - appdata:/data:ro
volumes:
  appdata:
    labels:
      tier: data
"#;

fn compose(d: &Daemon, dir: &std::path::Path, args: &[&str]) -> Output {
    let out = Command::new(compose_bin())
        .current_dir(dir)
        .env("DOCKER_HOST", d.host_arg())
        .env("COMPOSE_INTERACTIVE_NO_CLI", "1")
        .args(["-p", "proj"])
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("docker-compose (scripts/deps.sh installs it)");
    assert!(
        out.status.success(),
        "docker-compose {args:?}:\n{}\n{}\ndaemon:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        berth_tests::daemon::tail(&d.log_text(), 30)
    );
    out
}

#[test]
fn compose_project_with_a_named_volume() {
    let d = Daemon::start().unwrap();
    d.import_busybox().unwrap();
    let dir = d.root.path().join("project");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("docker-compose.yml"), PROJECT).unwrap();
    compose(&d, &dir, &["up", "writer"]);
    let out = compose(&d, &dir, &["run", "--rm", "-T", "reader"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "from-compose");
    let labels = d.docker_ok(&[
        "volume",
        "inspect",
        "-f",
        "{{json .Labels}}",
        "proj_appdata",
    ]);
    let labels: serde_json::Value = serde_json::from_str(&labels).unwrap();
    assert_eq!(labels["com.docker.compose.project"], "proj");
    assert_eq!(labels["com.docker.compose.volume"], "appdata");
    assert_eq!(labels["tier"], "data");
    // The data outlives the project's containers, and `down -v` removes the volume.
    compose(&d, &dir, &["rm", "-f", "writer"]);
    let out = compose(&d, &dir, &["run", "--rm", "-T", "reader"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "from-compose");
    compose(&d, &dir, &["down", "-v"]);
    assert_eq!(d.docker_ok(&["volume", "ls", "-q"]), "");
    assert_eq!(d.docker_ok(&["ps", "-aq"]), "");
}
