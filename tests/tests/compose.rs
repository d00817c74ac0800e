//! Compose v1 (Debian's docker-compose 1.29, on docker-py) against berthd: a project whose
//! `web` service `depends_on` its `db` with `condition: service_healthy` only starts once the
//! db's healthcheck passed.

use std::process::Command;

use berth_tests::Daemon;

const PROJECT: &str = r#"version: "2.4"
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

fn compose(d: &Daemon, dir: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new("docker-compose")
        .arg("-p")
        .arg("berthops")
        .args(args)
        .current_dir(dir)
        .env("DOCKER_HOST", d.host_arg())
        .env("DOCKER_CONFIG", d.root.path().join("docker-config"))
        .env("COMPOSE_HTTP_TIMEOUT", "120")
        .output()
        .expect("docker-compose (Debian's docker-compose package) is needed");
    assert!(
        out.status.success(),
        "docker-compose {args:?}:\n{}\n{}\ndaemon:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        berth_tests::daemon::tail(&d.log_text(), 30)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn compose_waits_for_a_healthy_dependency() {
    let d = Daemon::start().unwrap();
    d.import_busybox().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("docker-compose.yml"), PROJECT).unwrap();
    compose(&d, dir.path(), &["up", "-d"]);
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
    let healthy = time_of("berthops_db_1", "health_status: healthy");
    let web_start = time_of("berthops_web_1", "start");
    assert!(healthy <= web_start, "web started before db was healthy");
    let ps = compose(&d, dir.path(), &["ps"]);
    assert!(ps.contains("Up (healthy)"), "{ps}");
    compose(&d, dir.path(), &["down"]);
    assert!(d.container_ids().is_empty());
}
