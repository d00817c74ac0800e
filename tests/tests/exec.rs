//! `exec`, end to end: the docker CLI and `berth` against a real `berthd`, with the same
//! output and exit codes; `-it` under a real terminal; the Engine API's exec endpoints as
//! dockerd answers them; and what an exec must not leave behind.

use std::io::Write;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use berth_tests::daemon::http;
use berth_tests::pty::PtyChild;
use berth_tests::Daemon;

const T: Duration = Duration::from_secs(20);

fn daemon_with_web() -> Daemon {
    let d = Daemon::start().expect("start berthd");
    d.import_busybox().expect("import busybox");
    d.docker_ok(&["run", "-d", "--name", "web", "busybox", "httpd", "-f"]);
    d
}

/// stdout, stderr (`berth` written as `docker`), exit status.
fn result(o: &Output) -> (String, String, Option<i32>) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).replace("berth", "docker"),
        o.status.code(),
    )
}

/// Runs `args` with both clients (stdin from `input`) and asserts identical results.
fn same_with(d: &Daemon, args: &[&str], input: &[u8]) -> (String, String, Option<i32>) {
    let run = |mut cmd: std::process::Command| {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        result(&child.wait_with_output().unwrap())
    };
    let b = run(d.berth_cmd(args));
    let k = run(d.docker_cmd(args));
    assert_eq!(b, k, "berth and docker differ for {args:?}");
    b
}

fn same(d: &Daemon, args: &[&str]) -> (String, String, Option<i32>) {
    same_with(d, args, b"")
}

fn http_json(d: &Daemon, method: &str, path: &str, body: Option<&str>) -> (u16, serde_json::Value) {
    let (status, _, text) = http(&d.socket, method, path, body).unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
    )
}

#[test]
fn exec_output_and_exit_codes_match_docker() {
    let d = daemon_with_web();
    let r = same(
        &d,
        &["exec", "web", "sh", "-c", "echo out; echo err >&2; exit 3"],
    );
    assert_eq!(r, ("out\n".into(), "err\n".into(), Some(3)));
    let r = same(&d, &["exec", "web", "ls", "/"]);
    assert!(r.0.contains("bin\n") && r.2 == Some(0), "{r:?}");
    // Flags end at the container name; the command keeps its own.
    let r = same(&d, &["exec", "web", "ls", "-d", "/tmp"]);
    assert_eq!(r.0, "/tmp\n");
    let r = same(&d, &["exec", "web", "nope"]);
    assert_eq!(
        r,
        (
            "OCI runtime exec failed: exec failed: unable to start container process: exec: \"nope\": executable file not found in $PATH: unknown\r\n".into(),
            String::new(),
            Some(127)
        )
    );
    let r = same(&d, &["exec", "web", "/etc/passwd"]);
    assert_eq!(r.2, Some(126));
    assert!(
        r.0.contains("exec: \"/etc/passwd\": permission denied"),
        "{r:?}"
    );
    let r = same(&d, &["exec", "-w", "/nope", "web", "pwd"]);
    assert_eq!(r.2, Some(127));
    assert!(
        r.0.contains(
            "chdir to cwd (\"/nope\") set in config.json failed: no such file or directory"
        ),
        "{r:?}"
    );
    let r = same(&d, &["exec", "nosuch", "true"]);
    assert_eq!(
        r.1,
        "Error response from daemon: No such container: nosuch\n"
    );
    let r = same(&d, &["exec", "-u", "ghost", "web", "true"]);
    assert_eq!(
        (r.1.as_str(), r.2),
        (
            "Error response from daemon: unable to find user ghost: no matching entries in passwd file\n",
            Some(1)
        )
    );
    let r = same(&d, &["exec", "web"]);
    assert!(
        r.1.contains("'docker exec' requires at least 2 arguments"),
        "{r:?}"
    );
    let r = same(&d, &["exec", "-e", "=x", "web", "true"]);
    assert_eq!(r.2, Some(125));
    let r = same(&d, &["exec", "--env-file", "/nope", "web", "true"]);
    assert_eq!(
        (r.1.as_str(), r.2),
        ("open /nope: no such file or directory\n", Some(1))
    );
    // Without -i, stdin is not the exec's; -it needs a terminal on this side.
    let r = same_with(&d, &["exec", "web", "cat"], b"ignored\n");
    assert_eq!(r, (String::new(), String::new(), Some(0)));
    let r = same(&d, &["exec", "-it", "web", "sh"]);
    assert_eq!(
        (r.1.as_str(), r.2),
        ("the input device is not a TTY\n", Some(1))
    );
    let r = same(&d, &["exec", "-t", "web", "sh", "-c", "tty; echo $TERM"]);
    assert!(
        r.0.starts_with("/dev/pts/") && r.0.ends_with("\r\nxterm\r\n"),
        "{r:?}"
    );
}

#[test]
fn exec_stdin_user_workdir_and_env() {
    let d = daemon_with_web();
    let r = same_with(&d, &["exec", "-i", "web", "cat"], b"hi\nthere\n");
    assert_eq!(r, ("hi\nthere\n".into(), String::new(), Some(0)));
    let r = same_with(&d, &["exec", "-i", "web", "wc", "-c"], &vec![b'x'; 300_000]);
    assert_eq!(r.0.trim(), "300000");
    let env_file = d.root.path().join("exec.env");
    std::fs::write(&env_file, "FROM_FILE=1\nB=file\n").unwrap();
    let env_file = env_file.display().to_string();
    let args = [
        "exec",
        "-u",
        "app",
        "-w",
        "/tmp",
        "-e",
        "B=flag",
        "--env-file",
        &env_file,
        "web",
        "sh",
        "-c",
        "id -u; pwd; echo $FROM_FILE $B; echo $HOME; echo $HOSTNAME",
    ];
    let r = same(&d, &args);
    let host = d.docker_ok(&["inspect", "-f", "{{.Config.Hostname}}", "web"]);
    assert_eq!(r.0, format!("1000\n/tmp\n1 flag\n/home/app\n{host}\n"));
    let r = same(&d, &["exec", "-u", "1000:10", "web", "id", "-g"]);
    assert_eq!(r.0, "10\n");
}

#[test]
fn user_groups_list_the_primary_group_as_dockerd_does() {
    let d = daemon_with_web();
    // dockerd's getUser puts the primary gid in the supplementary groups too (the kernel
    // keeps them sorted).
    let groups = "uid=1000(app) gid=1000(app) groups=10(wheel),1000(app)";
    assert_eq!(d.docker_ok(&["exec", "-u", "app", "web", "id"]), groups);
    assert_eq!(
        d.docker_ok(&["run", "--rm", "-u", "app", "busybox", "id"]),
        groups
    );
    assert_eq!(
        d.docker_ok(&["exec", "-u", "1000:10", "web", "id"]),
        "uid=1000(app) gid=10(wheel) groups=10(wheel)"
    );
    assert_eq!(
        d.docker_ok(&["exec", "web", "id"]),
        "uid=0(root) gid=0(root) groups=0(root)"
    );
}

fn status_hex(d: &Daemon, extra: &[&str], key: &str) -> String {
    let mut args = vec!["exec"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["web", "grep", key, "/proc/self/status"]);
    let out = d.docker_ok(&args);
    out.split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_string()
}

#[test]
fn exec_privileged_gets_every_capability_under_the_containers_seccomp() {
    let d = daemon_with_web();
    let plain = status_hex(&d, &[], "CapEff");
    let privileged = status_hex(&d, &["--privileged"], "CapEff");
    let pid = d.docker_ok(&["inspect", "-f", "{{.State.Pid}}", "web"]);
    let init = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let init_eff = init
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .unwrap()
        .trim();
    assert_eq!(plain, init_eff, "an exec has the container's capabilities");
    let (p, i) = (
        u64::from_str_radix(&privileged, 16).unwrap(),
        u64::from_str_radix(&plain, 16).unwrap(),
    );
    assert!(
        p & i == i && p > i && p & (1 << 21) != 0,
        "{privileged} vs {plain}"
    );
    assert_eq!(status_hex(&d, &[], "Seccomp:"), "2");
    assert_eq!(status_hex(&d, &["--privileged"], "Seccomp:"), "2");
    // The filter is the container's: unshare(CLONE_NEWUSER) needs no capability, only the
    // default profile refuses it — in the container, in its execs, privileged or not.
    let refused = "unshare: unshare(0x10000000): Operation not permitted\n";
    for args in [
        &["run", "--rm", "busybox", "unshare", "-U", "true"][..],
        &["exec", "web", "unshare", "-U", "true"],
        &["exec", "--privileged", "web", "unshare", "-U", "true"],
    ] {
        let out = d.docker(args);
        assert_eq!(
            (
                String::from_utf8_lossy(&out.stderr).as_ref(),
                out.status.code()
            ),
            (refused, Some(1)),
            "{args:?}"
        );
    }
    // A container without a filter has execs without one.
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        "open",
        "--security-opt",
        "seccomp=unconfined",
        "busybox",
        "sleep",
        "1000",
    ]);
    d.docker_ok(&["exec", "open", "unshare", "-U", "true"]);
    let out = d.docker_ok(&["exec", "open", "grep", "Seccomp:", "/proc/self/status"]);
    assert_eq!(out.split_whitespace().nth(1), Some("0"));
}

#[test]
fn exec_it_is_a_terminal_with_the_clients_size_exit_status_and_detach() {
    let d = daemon_with_web();
    for cli in ["docker", "berth"] {
        let cmd = |args: &[&str]| match cli {
            "docker" => d.docker_cmd(args),
            _ => d.berth_cmd(args),
        };
        let mut p = PtyChild::spawn(cmd(&["exec", "-it", "web", "sh"])).unwrap();
        p.send("tty; stty size; echo sum-$((40+2))\r").unwrap();
        p.expect("sum-42", T).unwrap();
        assert!(p.output().contains("/dev/pts/"), "{cli}: {}", p.output());
        assert!(p.output().contains("24 80"), "{cli}: {}", p.output());
        p.send("exit 5\r").unwrap();
        assert_eq!(p.wait(T).unwrap(), 5, "{cli}: {}", p.output());

        // Detaching leaves the exec running; the client reports it as docker does.
        let args = ["exec", "-it", "--detach-keys", "ctrl-a,x", "web", "sh"];
        let mut p = PtyChild::spawn(cmd(&args)).unwrap();
        p.send("echo $$ > /tmp/shell; echo up-$((1+1))\r").unwrap();
        p.expect("up-2", T).unwrap();
        p.send("\x01x").unwrap();
        assert_eq!(p.wait(T).unwrap(), 1, "{cli}: {}", p.output());
        assert!(
            p.output().contains("read escape sequence"),
            "{}",
            p.output()
        );
        let ids = d.docker_ok(&["inspect", "-f", "{{len .ExecIDs}}", "web"]);
        assert_eq!(ids, "1", "{cli}: the detached shell still runs");
        d.docker_ok(&["exec", "web", "sh", "-c", "kill -9 $(cat /tmp/shell)"]);
        let deadline = Instant::now() + T;
        while d.docker_ok(&["inspect", "-f", "{{.ExecIDs}}", "web"]) != "[]" {
            assert!(
                Instant::now() < deadline,
                "the killed shell is still listed"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[test]
fn exec_detached_runs_in_the_background() {
    let d = daemon_with_web();
    let r = same(
        &d,
        &[
            "exec",
            "-d",
            "web",
            "sh",
            "-c",
            "echo $$ > /tmp/bg; exec sleep 1000",
        ],
    );
    assert_eq!(r, (String::new(), String::new(), Some(0)));
    let deadline = Instant::now() + T;
    loop {
        let out = d.docker(&["exec", "web", "cat", "/tmp/bg"]);
        if out.status.success() {
            break;
        }
        assert!(Instant::now() < deadline, "the background exec never ran");
        std::thread::sleep(Duration::from_millis(50));
    }
    let ps = d.docker_ok(&["exec", "web", "ps", "-o", "comm"]);
    assert_eq!(ps.matches("sleep").count(), 2, "{ps}");
    assert_eq!(
        d.docker_ok(&["inspect", "-f", "{{len .ExecIDs}}", "web"]),
        "2"
    );
}

#[test]
fn exec_api_answers_like_dockerd() {
    let d = daemon_with_web();
    let (st, v) = http_json(
        &d,
        "POST",
        "/v1.47/containers/web/exec",
        Some(r#"{"Cmd":[]}"#),
    );
    assert_eq!(
        (st, v["message"].as_str()),
        (400, Some("No exec command specified"))
    );
    let (st, _) = http_json(
        &d,
        "POST",
        "/v1.47/containers/nosuch/exec",
        Some(r#"{"Cmd":["true"]}"#),
    );
    assert_eq!(st, 404);
    let body = r#"{"Cmd":["sh","-c","exit 4"],"AttachStdout":true,"DetachKeys":"ctrl-p,ctrl-q"}"#;
    let (st, v) = http_json(&d, "POST", "/v1.47/containers/web/exec", Some(body));
    assert_eq!(st, 201, "{v}");
    let id = v["Id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 64);
    let (st, v) = http_json(&d, "GET", &format!("/v1.47/exec/{id}/json"), None);
    assert_eq!(st, 200);
    let cid = d.docker_ok(&["inspect", "-f", "{{.Id}}", "web"]);
    assert_eq!(
        v,
        serde_json::json!({
            "ID": id, "Running": false, "ExitCode": null,
            "ProcessConfig": {"tty": false, "entrypoint": "sh", "arguments": ["-c", "exit 4"], "privileged": false},
            "OpenStdin": false, "OpenStderr": false, "OpenStdout": true, "CanRemove": false,
            "ContainerID": cid, "DetachKeys": "EBE=", "Pid": 0
        })
    );
    let ids = d.docker_ok(&["inspect", "-f", "{{json .ExecIDs}}", "web"]);
    assert_eq!(ids, format!("[\"{id}\"]"));
    // Detached start: 200 at once; the exit code follows.
    let (st, _, _) = http(
        &d.socket,
        "POST",
        &format!("/v1.47/exec/{id}/start"),
        Some(r#"{"Detach":true}"#),
    )
    .unwrap();
    assert_eq!(st, 200);
    let deadline = Instant::now() + T;
    let v = loop {
        let (_, v) = http_json(&d, "GET", &format!("/v1.47/exec/{id}/json"), None);
        if !v["ExitCode"].is_null() {
            break v;
        }
        assert!(Instant::now() < deadline, "no exit code: {v}");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(
        (v["ExitCode"].as_i64(), v["Running"].as_bool()),
        (Some(4), Some(false))
    );
    assert!(v["Pid"].as_i64().unwrap() > 0);
    let (st, v) = http_json(
        &d,
        "POST",
        &format!("/v1.47/exec/{id}/start"),
        Some(r#"{"Detach":true}"#),
    );
    assert_eq!(
        (st, v["message"].as_str().unwrap()),
        (409, format!("exec command {id} has already run").as_str())
    );
    let (st, v) = http_json(
        &d,
        "POST",
        "/v1.47/exec/nosuch/start",
        Some(r#"{"Detach":true}"#),
    );
    assert_eq!(
        (st, v["message"].as_str()),
        (404, Some("No such exec instance: nosuch"))
    );
    let (st, _) = http_json(&d, "POST", "/v1.47/exec/nosuch/resize?h=10&w=10", None);
    assert_eq!(st, 404);
    assert_eq!(http_json(&d, "GET", "/v1.47/exec/nosuch/json", None).0, 404);

    // A created exec goes when its container exits; an exited one stays until removal.
    let (_, v) = http_json(
        &d,
        "POST",
        "/v1.47/containers/web/exec",
        Some(r#"{"Cmd":["true"]}"#),
    );
    let pending = v["Id"].as_str().unwrap().to_string();
    d.docker_ok(&["stop", "-t", "0", "web"]);
    assert_eq!(
        http_json(&d, "GET", &format!("/v1.47/exec/{pending}/json"), None).0,
        404
    );
    assert_eq!(
        d.docker_ok(&["inspect", "-f", "{{json .ExecIDs}}", "web"]),
        "null"
    );
    assert_eq!(
        http_json(&d, "GET", &format!("/v1.47/exec/{id}/json"), None).0,
        200
    );
    let (st, v) = http_json(
        &d,
        "POST",
        "/v1.47/containers/web/exec",
        Some(r#"{"Cmd":["true"]}"#),
    );
    let msg = format!("container {cid} is not running");
    assert_eq!((st, v["message"].as_str()), (409, Some(msg.as_str())));
    let r = same(&d, &["exec", "web", "true"]);
    assert_eq!(
        (r.1, r.2),
        (format!("Error response from daemon: {msg}\n"), Some(1))
    );
    d.docker_ok(&["rm", "web"]);
    assert_eq!(
        http_json(&d, "GET", &format!("/v1.47/exec/{id}/json"), None).0,
        404
    );
}

#[test]
fn exec_events_follow_dockerds() {
    let d = daemon_with_web();
    // The subscription may start in the middle of an exec: repeat until one is seen whole.
    d.events_until(
        &["--filter", "container=web", "--format", "{{.Action}}"],
        &[
            "exec_create: sh -c exit 2",
            "exec_start: sh -c exit 2",
            "exec_die",
        ],
        T,
        || {
            let _ = d.docker(&["exec", "web", "sh", "-c", "exit 2"]);
        },
    );
}

#[test]
fn execs_leave_no_process_file_or_memory_behind() {
    let d = daemon_with_web();
    let cid = d.docker_ok(&["inspect", "-f", "{{.Id}}", "web"]);
    let state = d.exec_root.join("shims").join(&cid);
    let shim_pid: i32 = std::fs::read_to_string(state.join("shim.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let rss = || runtime_rss(shim_pid);
    d.docker_ok(&["exec", "web", "true"]);
    let before = rss();
    for i in 0..30 {
        let args = if i % 3 == 0 {
            vec!["exec", "web", "nope"]
        } else {
            vec!["exec", "web", "true"]
        };
        let _ = d.docker(&args);
    }
    let after = rss();
    assert!(
        after <= before + 512,
        "shim RSS grew from {before} to {after} KiB"
    );
    let kids =
        std::fs::read_to_string(format!("/proc/{shim_pid}/task/{shim_pid}/children")).unwrap();
    assert_eq!(kids.split_whitespace().count(), 1, "only the init: {kids}");
    let stray: Vec<String> = walk(&state)
        .into_iter()
        .filter(|n| n.starts_with("tenant-") || n.starts_with("exec-"))
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
}

fn runtime_rss(pid: i32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap()
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        out.push(e.file_name().to_string_lossy().into_owned());
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            out.extend(walk(&e.path()));
        }
    }
    out
}
