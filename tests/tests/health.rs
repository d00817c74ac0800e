//! Healthchecks through the docker CLI: `--health-*` and the image's `HEALTHCHECK`, the
//! verdict in `State.Health` and `ps`, the `health_status` events and `--filter health=`,
//! timeouts, output truncation, `--no-healthcheck`, and probes that go on after a daemon
//! restart.

use std::time::Duration;

use berth_tests::poll::until;
use berth_tests::Daemon;
use serde_json::Value;

fn daemon() -> Daemon {
    let d = Daemon::start().expect("start berthd");
    d.import_busybox().expect("import busybox");
    d
}

fn health(d: &Daemon, c: &str) -> Value {
    let out = d.docker_ok(&["inspect", "-f", "{{json .State.Health}}", c]);
    serde_json::from_str(&out).unwrap_or(Value::Null)
}

fn status_of(d: &Daemon, c: &str) -> String {
    health(d, c)["Status"].as_str().unwrap_or("").to_string()
}

const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn health_goes_from_starting_to_healthy_to_unhealthy() {
    let d = daemon();
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    };
    let t0 = (now() - 1).to_string();
    // Healthy once /tmp/ok exists; the start period keeps early failures from counting.
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        "hc",
        "--health-cmd",
        "cat /tmp/ok",
        "--health-interval",
        "200ms",
        "--health-start-interval",
        "200ms",
        "--health-start-period",
        "30s",
        "--health-retries",
        "2",
        "busybox",
        "sh",
        "-c",
        "sleep 1; echo yes > /tmp/ok; sleep 1000",
    ]);
    assert_eq!(status_of(&d, "hc"), "starting");
    let ps = d.docker_ok(&["ps", "--format", "{{.Status}}"]);
    assert!(ps.ends_with("(health: starting)"), "{ps}");
    until("healthy", LIMIT, || {
        (status_of(&d, "hc") == "healthy").then_some(())
    });
    let h = health(&d, "hc");
    assert_eq!(h["FailingStreak"], 0);
    let log = h["Log"].as_array().unwrap();
    assert!(!log.is_empty() && log.len() <= 5);
    let last = log.last().unwrap();
    assert_eq!(
        (last["ExitCode"].as_i64(), last["Output"].as_str()),
        (Some(0), Some("yes\n"))
    );
    assert!(last["Start"].as_str().unwrap() <= last["End"].as_str().unwrap());
    let ps = d.docker_ok(&["ps", "--format", "{{.Status}}"]);
    assert!(ps.ends_with("(healthy)"), "{ps}");
    assert_eq!(
        d.docker_ok(&["ps", "-q", "--filter", "health=healthy"])
            .lines()
            .count(),
        1
    );
    assert_eq!(
        d.docker_ok(&["ps", "-q", "--filter", "health=unhealthy"]),
        ""
    );
    // Two failures in a row, past the healthy state: unhealthy.
    d.docker_ok(&["exec", "hc", "rm", "/tmp/ok"]);
    until("unhealthy", LIMIT, || {
        (status_of(&d, "hc") == "unhealthy").then_some(())
    });
    assert!(health(&d, "hc")["FailingStreak"].as_i64().unwrap() >= 2);
    let out = d.docker(&["ps", "--filter", "health=sick"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Unrecognised filter value for health: sick")
    );
    let t1 = (now() + 1).to_string();
    let ev = d.docker_ok(&[
        "events",
        "--since",
        &t0,
        "--until",
        &t1,
        "--filter",
        "event=health_status",
        "--format",
        "{{.Action}}",
    ]);
    assert_eq!(ev, "health_status: healthy\nhealth_status: unhealthy");
    // Probes are execs: dockerd's exec events come with them.
    let execs = d.docker_ok(&[
        "events",
        "--since",
        &t0,
        "--until",
        &t1,
        "--filter",
        "event=exec_die",
        "--format",
        "{{.Action}}",
    ]);
    assert!(execs.lines().count() >= 3, "{execs}");
}

#[test]
fn probe_timeout_output_cut_and_image_healthcheck() {
    let d = daemon();
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        "slow",
        "--health-cmd",
        "sleep 30",
        "--health-timeout",
        "300ms",
        "--health-interval",
        "200ms",
        "--health-retries",
        "1",
        "busybox",
        "sleep",
        "1000",
    ]);
    until("unhealthy", LIMIT, || {
        (status_of(&d, "slow") == "unhealthy").then_some(())
    });
    let log = health(&d, "slow")["Log"][0].clone();
    assert_eq!(log["ExitCode"], -1);
    assert_eq!(log["Output"], "Health check exceeded timeout (300ms)");
    // The timed-out probe was killed, not left behind.
    let top = d.docker_ok(&["top", "slow"]);
    assert!(!top.contains("sleep 30"), "{top}");

    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        "loud",
        "--health-cmd",
        "yes a | head -c 5000; exit 1",
        "--health-interval",
        "200ms",
        "busybox",
        "sleep",
        "1000",
    ]);
    let out = until("a probe result", LIMIT, || {
        health(&d, "loud")["Log"][0]["Output"]
            .as_str()
            .map(str::to_string)
    });
    assert_eq!(out.len(), 4096 + 3, "dockerd keeps 4096 bytes and adds ...");
    assert!(
        out.ends_with("a\na...") || out.ends_with("\na\n..."),
        "{}",
        &out[4000..]
    );

    // The image's HEALTHCHECK applies unless --no-healthcheck; flags override its fields.
    d.docker_ok(&[
        "commit",
        "--change",
        "HEALTHCHECK --interval=200ms CMD true",
        "loud",
        "withhc:1",
    ]);
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        "fromimage",
        "withhc:1",
        "sleep",
        "1000",
    ]);
    until("healthy from the image's check", LIMIT, || {
        (status_of(&d, "fromimage") == "healthy").then_some(())
    });
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        "none",
        "--no-healthcheck",
        "withhc:1",
        "sleep",
        "1000",
    ]);
    assert_eq!(
        d.docker_ok(&["inspect", "-f", "{{json .State.Health}}", "none"]),
        "null"
    );
    assert_eq!(
        d.docker_ok(&["inspect", "-f", "{{json .Config.Healthcheck.Test}}", "none"]),
        "[\"NONE\"]"
    );
    let ps = d.docker_ok(&["ps", "--filter", "name=none", "--format", "{{.Status}}"]);
    assert!(!ps.contains('('), "{ps}");
    assert_eq!(
        d.docker_ok(&["ps", "-q", "--filter", "health=none"])
            .lines()
            .count(),
        1
    );
    let out = d.docker(&["run", "--health-interval", "1us", "busybox", "true"]);
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("Interval in Healthcheck cannot be less than 1ms"));
}

#[test]
fn probes_go_on_after_a_daemon_restart() {
    let mut d = daemon();
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        "hc",
        "--health-cmd",
        "date +%s%N > /tmp/last; true",
        "--health-interval",
        "200ms",
        "busybox",
        "sleep",
        "1000",
    ]);
    until("healthy", LIMIT, || {
        (status_of(&d, "hc") == "healthy").then_some(())
    });
    d.kill().unwrap();
    d.spawn().unwrap();
    assert_eq!(
        status_of(&d, "hc"),
        "healthy",
        "the verdict survives the restart"
    );
    let last = |d: &Daemon| {
        health(d, "hc")["Log"]
            .as_array()
            .and_then(|l| l.last().cloned())
            .unwrap_or(Value::Null)["End"]
            .clone()
    };
    let before = last(&d);
    until("a probe after the restart", LIMIT, || {
        (last(&d) != before).then_some(())
    });
    let ps = d.docker_ok(&["ps", "--format", "{{.Status}}"]);
    assert!(ps.ends_with("(healthy)"), "{ps}");
}
