//! Operating running containers through the real docker CLI: `stats` (table, `--format`, the
//! raw samples), `pause`/`unpause`, `update`, `kill` then an immediate `inspect`, the events
//! history (`--since`/`--until`, filters, the `kill` of `stop`), and `system df`.

use std::time::Duration;

use berth_tests::daemon::http;
use berth_tests::poll::until;
use berth_tests::Daemon;
use serde_json::Value;

fn daemon() -> Daemon {
    let d = Daemon::start().expect("start berthd");
    d.import_busybox().expect("import busybox");
    d
}

fn inspect(d: &Daemon, id: &str, fmt: &str) -> String {
    d.docker_ok(&["inspect", "-f", fmt, id])
}

fn api_json(d: &Daemon, path: &str) -> Value {
    let (status, _, body) = http(&d.socket, "GET", path, None).unwrap();
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(body.lines().next().unwrap_or(""))
        .unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// A shell loop that burns CPU and counts: the counter shows whether it advances.
const SPIN: &str = "trap 'exit 0' TERM; i=0; while :; do i=$((i+1)); echo $i > /tmp/n; done";

#[test]
fn stats_table_and_samples_match_dockerd() {
    let d = daemon();
    d.docker_ok(&[
        "run", "-d", "--name", "spin", "-m", "64m", "busybox", "sh", "-c", SPIN,
    ]);
    d.docker_ok(&["run", "-d", "--name", "idle", "busybox", "sleep", "1000"]);
    d.docker_ok(&["create", "--name", "never", "busybox", "true"]);
    let out = d.docker_ok(&["stats", "--no-stream"]);
    let lines: Vec<&str> = out.lines().collect();
    // docker's columns, in its order (their widths follow the values).
    let header: Vec<&str> = lines[0]
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(
        header,
        [
            "CONTAINER ID",
            "NAME",
            "CPU %",
            "MEM USAGE / LIMIT",
            "MEM %",
            "NET I/O",
            "BLOCK I/O",
            "PIDS"
        ],
        "{out}"
    );
    assert_eq!(lines.len(), 3, "running containers only: {out}");
    let row = lines
        .iter()
        .find(|l| l.contains(" spin "))
        .expect("spin row");
    assert!(!row.contains("--"), "every column filled: {row}");
    assert!(row.contains("/ 64MiB"), "the memory limit: {row}");
    let f = d.docker_ok(&[
        "stats",
        "--no-stream",
        "--format",
        "{{.Name}} {{.CPUPerc}} {{.PIDs}}",
        "spin",
    ]);
    let cpu: f64 = f
        .split_whitespace()
        .nth(1)
        .unwrap()
        .trim_end_matches('%')
        .parse()
        .unwrap();
    assert!(cpu > 1.0, "a spinning shell uses CPU: {f}");
    assert!(f.starts_with("spin ") && f.ends_with(" 1"), "{f}");

    // The raw sample, as the CLI reads it.
    let s = api_json(&d, "/containers/spin/stats?stream=false");
    assert_eq!(s["name"], "/spin");
    assert!(
        s["cpu_stats"]["system_cpu_usage"].as_u64().unwrap()
            > s["precpu_stats"]["system_cpu_usage"].as_u64().unwrap()
    );
    assert!(s["cpu_stats"]["cpu_usage"]["total_usage"].as_u64().unwrap() > 0);
    assert!(s["cpu_stats"]["online_cpus"].as_u64().unwrap() >= 1);
    assert!(s["memory_stats"]["usage"].as_u64().unwrap() > 0);
    assert_eq!(s["memory_stats"]["limit"], 64 << 20);
    assert!(s["pids_stats"]["current"].as_u64().unwrap() >= 1);
    assert!(s["preread"].as_str().unwrap() != "0001-01-01T00:00:00Z");
    // On the default bridge: the counters of the namespace's interface, `lo` left out.
    assert!(
        s["networks"]["eth0"]["rx_bytes"].is_u64(),
        "{}",
        s["networks"]
    );
    assert!(s["networks"].get("lo").is_none(), "{}", s["networks"]);
    for k in [
        "read",
        "preread",
        "pids_stats",
        "blkio_stats",
        "num_procs",
        "storage_stats",
        "cpu_stats",
        "precpu_stats",
        "memory_stats",
        "id",
    ] {
        assert!(s.get(k).is_some(), "{k} missing: {s}");
    }
    if !std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        // cgroup v1: per-CPU usage, dockerd's memory.stat keys, empty (not null) blkio lists.
        assert!(!s["cpu_stats"]["cpu_usage"]["percpu_usage"]
            .as_array()
            .unwrap()
            .is_empty());
        assert!(s["memory_stats"]["stats"]
            .get("total_inactive_file")
            .is_some());
        assert!(s["blkio_stats"]["io_queue_recursive"].is_array());
    }
    let one = api_json(&d, "/containers/spin/stats?stream=false&one-shot=true");
    assert!(
        one["precpu_stats"].get("system_cpu_usage").is_none(),
        "one-shot has no prior sample"
    );
    let stopped = api_json(&d, "/containers/never/stats?stream=false");
    assert_eq!(stopped["read"], "0001-01-01T00:00:00Z");
    assert_eq!(stopped["name"], "/never");
    assert!(stopped.get("networks").is_none());
    let (status, _, body) = http(
        &d.socket,
        "GET",
        "/containers/spin/stats?stream=true&one-shot=true",
        None,
    )
    .unwrap();
    assert_eq!(status, 400, "{body}");
}

#[test]
fn stats_stream_chains_samples() {
    use std::io::{BufRead, BufReader, Write};
    let d = daemon();
    d.docker_ok(&["run", "-d", "--name", "ss", "busybox", "sleep", "1000"]);
    let mut sock = std::os::unix::net::UnixStream::connect(&d.socket).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // HTTP/1.0: the body is not chunked, so each line read is a whole sample.
    sock.write_all(b"GET /containers/ss/stats HTTP/1.0\r\nHost: d\r\n\r\n")
        .unwrap();
    let mut r = BufReader::new(sock);
    let mut samples = Vec::new();
    let mut line = String::new();
    while samples.len() < 3 {
        line.clear();
        assert!(r.read_line(&mut line).unwrap() > 0, "stream ended early");
        // Headers are skipped; only JSON objects are samples.
        if let Ok(v @ Value::Object(_)) = serde_json::from_str::<Value>(line.trim()) {
            samples.push(v);
        }
    }
    assert_eq!(
        samples[0]["preread"], "0001-01-01T00:00:00Z",
        "the first sample has no prior"
    );
    for w in samples.windows(2) {
        assert_eq!(w[1]["preread"], w[0]["read"]);
        assert_eq!(w[1]["precpu_stats"], w[0]["cpu_stats"]);
    }
}

#[test]
fn pause_freezes_and_unpause_resumes() {
    let d = daemon();
    d.docker_ok(&["run", "-d", "--name", "pp", "busybox", "sh", "-c", SPIN]);
    let count = || {
        d.docker_ok(&["exec", "pp", "cat", "/tmp/n"])
            .parse::<u64>()
            .unwrap_or(0)
    };
    until("the counter", Duration::from_secs(20), || {
        (count() > 0).then_some(())
    });
    assert_eq!(d.docker_ok(&["pause", "pp"]), "pp");
    assert_eq!(
        inspect(
            &d,
            "pp",
            "{{.State.Status}} {{.State.Paused}} {{.State.Running}}"
        ),
        "paused true true"
    );
    let ps = d.docker_ok(&["ps", "--format", "{{.Status}}"]);
    assert!(ps.ends_with("(Paused)"), "{ps}");
    let out = d.docker(&["exec", "pp", "true"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("is paused, unpause the container before exec"));
    let out = d.docker(&["pause", "pp"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("is already paused"));
    let info: Value =
        serde_json::from_str(&d.docker_ok(&["info", "--format", "{{json .}}"])).unwrap();
    assert_eq!(info["ContainersPaused"], 1);
    // Frozen: the counter file does not move (read from the host through the rootfs).
    let root = inspect(&d, "pp", "{{.GraphDriver.Data.MergedDir}}");
    let read = || std::fs::read_to_string(format!("{root}/tmp/n")).unwrap_or_default();
    let a = read();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(a, read(), "a paused container does not run");
    assert_eq!(d.docker_ok(&["unpause", "pp"]), "pp");
    until("the counter to move again", Duration::from_secs(20), || {
        (read() != a).then_some(())
    });
    let out = d.docker(&["unpause", "pp"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not paused"));
    // A paused container stops promptly (thawed after the signal) and rm -f kills it.
    d.docker_ok(&["pause", "pp"]);
    let t0 = std::time::Instant::now();
    d.docker_ok(&["stop", "-t", "5", "pp"]);
    assert!(
        t0.elapsed() < Duration::from_secs(5),
        "stop waited out its timeout: {:?}",
        t0.elapsed()
    );
    assert_eq!(inspect(&d, "pp", "{{.State.Status}}"), "exited");
    d.docker_ok(&["run", "-d", "--name", "qq", "busybox", "sleep", "1000"]);
    d.docker_ok(&["pause", "qq"]);
    d.docker_ok(&["rm", "-f", "qq"]);
}

#[test]
fn update_applies_to_the_cgroup_and_persists() {
    let d = daemon();
    let id = d.docker_ok(&["run", "-d", "--name", "uu", "busybox", "sleep", "1000"]);
    assert_eq!(
        d.docker_ok(&[
            "update",
            "-m",
            "64m",
            "--memory-swap",
            "128m",
            "--cpus",
            "0.5",
            "--pids-limit",
            "20",
            "--cpu-shares",
            "512",
            "--restart",
            "on-failure:3",
            "uu"
        ]),
        "uu"
    );
    assert_eq!(
        inspect(&d, "uu", "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}} {{.HostConfig.CpuShares}} {{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}"),
        "67108864 134217728 500000000 20 512 on-failure:3"
    );
    let cg = |ctrl: &str, file: &str| {
        let v1 = format!("/sys/fs/cgroup/{ctrl}{}/{id}/{file}", d.cgroup_parent);
        std::fs::read_to_string(v1)
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    if !std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        assert_eq!(cg("memory", "memory.limit_in_bytes"), "67108864");
        assert_eq!(cg("cpu", "cpu.cfs_quota_us"), "50000");
        assert_eq!(cg("cpu", "cpu.shares"), "512");
        assert_eq!(cg("pids", "pids.max"), "20");
    }
    let s = d.docker_ok(&["stats", "--no-stream", "--format", "{{.MemUsage}}", "uu"]);
    assert!(s.ends_with("/ 64MiB"), "{s}");
    // dockerd's refusals.
    let out = d.docker(&["update", "-m", "512m", "uu"]);
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("Memory limit should be smaller than already set memoryswap limit"));
    let out = d.docker(&["update", "--kernel-memory", "10m", "uu"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("KernelMemory"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = d.docker(&["update", "uu"]);
    assert!(!out.status.success());
    // A stopped container keeps the new limits and gets them at its next start.
    d.docker_ok(&["stop", "-t", "0", "uu"]);
    d.docker_ok(&["update", "--memory", "32m", "--memory-swap", "64m", "uu"]);
    d.docker_ok(&["start", "uu"]);
    let s = d.docker_ok(&["stats", "--no-stream", "--format", "{{.MemUsage}}", "uu"]);
    assert!(s.ends_with("/ 32MiB"), "{s}");
}

#[test]
fn kill_returns_once_the_exit_is_recorded() {
    let d = daemon();
    for i in 0..10 {
        let name = format!("k{i}");
        d.docker_ok(&["run", "-d", "--name", &name, "busybox", "sleep", "1000"]);
        d.docker_ok(&["kill", &name]);
        assert_eq!(
            inspect(
                &d,
                &name,
                "{{.State.Running}} {{.State.ExitCode}} {{.State.Status}}"
            ),
            "false 137 exited",
            "inspect right after kill"
        );
    }
}

fn events(d: &Daemon, args: &[&str]) -> Vec<Value> {
    let mut a = vec!["events", "--format", "{{json .}}"];
    a.extend_from_slice(args);
    d.docker_ok(&a)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn events_history_replays_since_until_with_filters() {
    let d = daemon();
    let t0 = format!(
        "{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            - 1
    );
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        "ev",
        "-l",
        "tier=db",
        "busybox",
        "sh",
        "-c",
        "trap 'exit 0' TERM; while :; do sleep 0.1; done",
    ]);
    d.docker_ok(&["exec", "ev", "true"]);
    d.docker_ok(&["stop", "ev"]);
    d.docker_ok(&["rm", "ev"]);
    d.docker_ok(&["tag", "busybox", "busybox:ev"]);
    let t1 = format!(
        "{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 1
    );
    // Replayed then ended: `until` is (or becomes) past.
    let all = events(&d, &["--since", &t0, "--until", &t1]);
    let actions: Vec<&str> = all.iter().map(|e| e["Action"].as_str().unwrap()).collect();
    let pos = |a: &str| {
        actions
            .iter()
            .position(|x| x.starts_with(a))
            .unwrap_or_else(|| panic!("{a} missing from {actions:?}"))
    };
    assert!(pos("create") < pos("start"));
    assert!(pos("exec_create") < pos("exec_start") && pos("exec_start") < pos("exec_die"));
    assert!(
        pos("kill") < pos("die") && pos("die") < pos("stop") && pos("stop") < pos("destroy"),
        "{actions:?}"
    );
    let kill = &all[pos("kill")];
    assert_eq!(
        kill["Actor"]["Attributes"]["signal"], "15",
        "stop sends its signal as a kill event"
    );
    assert_eq!(
        kill["status"], "kill",
        "the deprecated fields dockerd still fills"
    );
    assert!(actions.contains(&"tag"));
    let only_die = events(
        &d,
        &["--since", &t0, "--until", &t1, "--filter", "event=die"],
    );
    assert_eq!(only_die.len(), 1);
    assert_eq!(only_die[0]["Actor"]["Attributes"]["exitCode"], "0");
    let images = events(
        &d,
        &["--since", &t0, "--until", &t1, "--filter", "type=image"],
    );
    assert!(images.iter().all(|e| e["Type"] == "image") && !images.is_empty());
    let labelled = events(
        &d,
        &["--since", &t0, "--until", &t1, "--filter", "label=tier=db"],
    );
    assert!(labelled.len() >= 5 && labelled.iter().all(|e| e["Type"] == "container"));
    let fuzzy = events(
        &d,
        &[
            "--since",
            &t0,
            "--until",
            &t1,
            "--filter",
            "event=exec_start",
        ],
    );
    assert_eq!(fuzzy.len(), 1, "exec_start matches `exec_start: true`");
    let out = d.docker(&["events", "--since", &t1, "--until", &t0]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be after `until`"));
}

#[test]
fn system_df_counts_used_images_as_not_reclaimable() {
    let d = daemon();
    d.docker_ok(&["run", "-d", "busybox", "sleep", "1000"]);
    let df = d.docker_ok(&[
        "system",
        "df",
        "--format",
        "{{.Type}} {{.Active}} {{.Reclaimable}}",
    ]);
    let images = df.lines().next().unwrap();
    assert_eq!(images, "Images 1 0B (0%)", "{df}");
}

#[test]
fn version_and_info_report_the_build_and_the_host() {
    let d = daemon();
    let v = d.docker_ok(&[
        "version",
        "--format",
        "{{.Server.GitCommit}}|{{.Server.BuildTime}}",
    ]);
    let (commit, built) = v.split_once('|').unwrap();
    assert!(!commit.is_empty() && commit != "unknown", "{v}");
    assert!(built.len() >= 20, "{v}");
    let version = d.docker_ok(&["version"]);
    let built_line = version
        .lines()
        .skip_while(|l| !l.starts_with("Server:"))
        .find(|l| l.trim_start().starts_with("Built:"))
        .unwrap();
    assert!(built_line.trim().len() > "Built:".len() + 5, "{built_line}");
    // The daemon's own JSON: the CLI drops deprecated fields that are false.
    let info = api_json(&d, "/v1.47/info");
    for k in [
        "ContainerdCommit",
        "RuncCommit",
        "InitCommit",
        "IPv4Forwarding",
        "BridgeNfIptables",
        "HttpProxy",
        "HttpsProxy",
        "NoProxy",
        "DefaultAddressPools",
        "CDISpecDirs",
        "OSVersion",
        "NGoroutines",
    ] {
        assert!(info.get(k).is_some(), "{k} missing from /info");
    }
    assert!(!info["ContainerdCommit"]["ID"].as_str().unwrap().is_empty());
    assert!(info["NGoroutines"].as_i64().unwrap() > 0);
    assert!(
        info["RegistryConfig"]["IndexConfigs"]["docker.io"]["Official"]
            .as_bool()
            .unwrap()
    );
    assert_eq!(info["DefaultRuntime"], "berth");
    assert!(info["Runtimes"].get("berth").is_some());
    // Drivers whose endpoints this daemon does not serve are not advertised.
    for (kind, path) in [("Volume", "/volumes"), ("Network", "/networks")] {
        let (status, _, _) = http(&d.socket, "GET", path, None).unwrap();
        let listed = !info["Plugins"][kind].as_array().unwrap().is_empty();
        assert_eq!(
            listed,
            status != 404,
            "{kind}: listed={listed}, {path} answered {status}"
        );
    }
    assert_eq!(
        info["Plugins"]["Log"],
        serde_json::json!(["json-file", "local"])
    );
    let text = d.docker_ok(&["info"]);
    let line = text
        .lines()
        .find(|l| l.contains("containerd version:"))
        .unwrap();
    assert!(line.trim() != "containerd version:", "{line}");
}
