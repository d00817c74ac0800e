//! Compose v1 (`docker-compose` 1.29 from PyPI, installed by `scripts/deps.sh` in its own
//! venv) against berthd: a project with two services, its default network and a published
//! port comes up, the services talk by name, and `down` removes everything it made; a project
//! with a named volume (its services without network: the volume is what is tested) keeps
//! its data across containers, and `down -v` removes the volume.

use std::path::PathBuf;
use std::process::{Command, Output};

use berth_tests::net::{curl, wait_until};
use berth_tests::Daemon;

/// `BERTH_TEST_COMPOSE`, else deps.sh's venv, else `docker-compose` on PATH. Missing is a
/// failure, not a skip: CI runs deps.sh.
fn compose_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("BERTH_TEST_COMPOSE") {
        return PathBuf::from(p);
    }
    let venv = PathBuf::from("/opt/berth-compose/bin/docker-compose");
    if venv.exists() {
        return venv;
    }
    let on_path = Command::new("docker-compose").arg("version").output();
    assert!(
        on_path.is_ok_and(|o| o.status.success()),
        "docker-compose (v1) is missing: run scripts/deps.sh, or set BERTH_TEST_COMPOSE"
    );
    PathBuf::from("docker-compose")
}

const PROJECT: &str = r#"version: "3"
services:
  web:
    image: busybox
    command: sh -c 'mkdir -p /www && echo hello-compose > /www/index.html && exec httpd -f -p 80 -h /www'
    ports:
      - "127.0.0.1::80"
  client:
    image: busybox
    command: sleep 300
"#;

fn compose(d: &Daemon, dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(compose_bin())
        .current_dir(dir)
        .env("DOCKER_HOST", d.host_arg())
        .env("DOCKER_CONFIG", d.root.path().join("docker-config"))
        .env("COMPOSE_INTERACTIVE_NO_CLI", "1")
        .args(["-p", "berthproj"])
        .args(args)
        .output()
        .expect("running docker-compose")
}

fn ok(o: Output, what: &str) -> String {
    assert!(
        o.status.success(),
        "docker-compose {what} failed:\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

#[test]
fn compose_v1_project_comes_up_talks_by_name_and_goes_down() {
    let d = Daemon::start().unwrap();
    d.import_busybox().unwrap();
    let dir = d.root.path().join("project");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("docker-compose.yml"), PROJECT).unwrap();
    let bridges_before = d.bridges();
    ok(compose(&d, &dir, &["up", "-d"]), "up");
    let nets = d.docker_ok(&["network", "ls", "--format", "{{.Name}}"]);
    assert!(nets.lines().any(|n| n == "berthproj_default"), "{nets}");
    // The published port, from the host.
    let port = ok(compose(&d, &dir, &["port", "web", "80"]), "port");
    assert!(port.starts_with("127.0.0.1:"), "{port}");
    assert_eq!(
        curl(&format!("http://{port}/"), 15).as_deref(),
        Some("hello-compose\n")
    );
    // The services by name, over the project's network.
    let fetch = || {
        d.docker(&[
            "exec",
            "berthproj_client_1",
            "sh",
            "-c",
            "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 web 80",
        ])
    };
    assert!(
        wait_until(15, || String::from_utf8_lossy(&fetch().stdout)
            .contains("hello-compose")),
        "client could not reach web by name"
    );
    let ps = ok(compose(&d, &dir, &["ps"]), "ps");
    assert!(ps.contains("berthproj_web_1") && ps.contains("Up"), "{ps}");
    // Down removes the containers, the network and its bridge.
    ok(compose(&d, &dir, &["down"]), "down");
    assert!(d.container_ids().is_empty(), "{:?}", d.container_ids());
    let nets = d.docker_ok(&["network", "ls", "--format", "{{.Name}}"]);
    assert!(!nets.contains("berthproj"), "{nets}");
    assert_eq!(d.bridges(), bridges_before);
}

const VOLUME_PROJECT: &str = r#"version: "2.4"
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

#[test]
fn compose_project_with_a_named_volume() {
    let d = Daemon::start().unwrap();
    d.import_busybox().unwrap();
    let dir = d.root.path().join("project");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("docker-compose.yml"), VOLUME_PROJECT).unwrap();
    ok(compose(&d, &dir, &["up", "writer"]), "up writer");
    // `up` prints the service's output from its logs (`run -T` attaches, which compose can
    // do after a command this short has exited).
    let out = ok(compose(&d, &dir, &["up", "reader"]), "up reader");
    assert!(out.contains("from-compose"), "{out}");
    let labels = d.docker_ok(&[
        "volume",
        "inspect",
        "-f",
        "{{json .Labels}}",
        "berthproj_appdata",
    ]);
    let labels: serde_json::Value = serde_json::from_str(&labels).unwrap();
    assert_eq!(labels["com.docker.compose.project"], "berthproj");
    assert_eq!(labels["com.docker.compose.volume"], "appdata");
    assert_eq!(labels["tier"], "data");
    // The data outlives the project's containers, and `down -v` removes the volume.
    ok(compose(&d, &dir, &["rm", "-f"]), "rm");
    assert!(d.container_ids().is_empty(), "{:?}", d.container_ids());
    let out = ok(compose(&d, &dir, &["up", "reader"]), "up reader again");
    assert!(out.contains("from-compose"), "{out}");
    ok(compose(&d, &dir, &["down", "-v"]), "down -v");
    assert_eq!(d.docker_ok(&["volume", "ls", "-q"]), "");
    assert!(d.container_ids().is_empty(), "{:?}", d.container_ids());
}
