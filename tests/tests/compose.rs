//! Compose v1 (`docker-compose` 1.29 from PyPI, installed by `scripts/deps.sh` in its own
//! venv) against berthd: a project with two services, its default network and a published
//! port comes up, the services talk by name, and `down` removes everything it made; a project
//! whose `web` service `depends_on` its `db` with `condition: service_healthy` only starts web
//! once the db's healthcheck passed; a project with a named volume (its services without
//! network: the volume is what is tested) keeps its data across containers, and `down -v`
//! removes the volume.

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

const HEALTHY_PROJECT: &str = r#"version: "2.4"
services:
  db:
    image: busybox
    command: sh -c "sleep 1; touch /tmp/ready; sleep 1000"
    network_mode: none
    healthcheck:
      test: ["CMD-SHELL", "test -f /tmp/ready"]
      interval: 300ms
      timeout: 2s
      retries: 20
  web:
    image: busybox
    command: sleep 1000
    network_mode: none
    depends_on:
      db:
        condition: service_healthy
"#;

#[test]
fn compose_waits_for_a_healthy_dependency() {
    let d = Daemon::start().unwrap();
    d.import_busybox().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("docker-compose.yml"), HEALTHY_PROJECT).unwrap();
    ok(compose(&d, dir.path(), &["up", "-d"]), "up");
    // The order of events: db healthy, then web started.
    let until = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 1)
    .to_string();
    let time_of = |container: &str, event: &str| -> u128 {
        let out = d.docker_ok(&[
            "events",
            "--since",
            "0",
            "--until",
            &until,
            "--filter",
            &format!("container={container}"),
            "--filter",
            &format!("event={event}"),
            "--format",
            "{{.TimeNano}}",
        ]);
        out.lines()
            .next()
            .unwrap_or_else(|| panic!("no {event} of {container}"))
            .parse()
            .unwrap()
    };
    let healthy = time_of("berthproj_db_1", "health_status: healthy");
    let web_start = time_of("berthproj_web_1", "start");
    assert!(healthy <= web_start, "web started before db was healthy");
    let ps = ok(compose(&d, dir.path(), &["ps"]), "ps");
    assert!(ps.contains("Up (healthy)"), "{ps}");
    ok(compose(&d, dir.path(), &["down"]), "down");
    assert!(d.container_ids().is_empty());
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
