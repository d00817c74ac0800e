//! Flags to create requests, checked against what docker's `parse` produces.

use clap::Parser;

use super::*;
use crate::args::{Cli, Command};

fn flags(line: &str) -> ContainerFlags {
    let argv = std::iter::once("berth").chain(line.split_whitespace());
    match Cli::try_parse_from(argv).unwrap().command {
        Some(Command::Run(r)) => r.flags,
        Some(Command::Create(c)) => c.flags,
        other => panic!("{other:?}"),
    }
}

fn req(line: &str) -> ContainerCreateRequest {
    parse(&flags(line)).unwrap_or_else(|e| panic!("{line}: {e}"))
}

fn err(line: &str) -> String {
    parse(&flags(line)).unwrap_err().to_string()
}

#[test]
fn interactive_tty_session() {
    let r = req("run -it --rm busybox sh");
    let c = &r.config;
    assert!(
        c.tty
            && c.open_stdin
            && c.attach_stdin
            && c.attach_stdout
            && c.attach_stderr
            && c.stdin_once
    );
    assert_eq!(c.image, "busybox");
    assert_eq!(c.cmd.as_deref().unwrap(), &["sh".to_string()]);
    assert!(r.host_config.auto_remove);
    assert_eq!(r.host_config.network_mode, "default");
    assert_eq!(r.host_config.dns, Some(vec![]));
    let body = serde_json::to_value(&r).unwrap();
    assert_eq!(body["HostConfig"]["NetworkMode"], "default");
    assert_eq!(body["Entrypoint"], serde_json::Value::Null);
}

#[test]
fn attach_flags_choose_streams() {
    let c = req("run -a stdout busybox true").config;
    assert!(!c.attach_stdin && c.attach_stdout && !c.attach_stderr && !c.stdin_once);
    let c = req("run busybox true").config;
    assert!(!c.attach_stdin && c.attach_stdout && c.attach_stderr);
    assert_eq!(err("run -a bogus busybox"), "invalid argument \"bogus\" for \"-a, --attach\" flag: valid streams are STDIN, STDOUT and STDERR");
}

#[test]
fn resources_and_limits() {
    let h = req("run -m 512m --memory-swap -1 --cpus 1.5 --cpu-shares 512 --pids-limit 64 --ulimit nofile=10:20 busybox").host_config;
    assert_eq!(h.memory, 512 << 20);
    assert_eq!(h.memory_swap, -1);
    assert_eq!(h.nano_cpus, 1_500_000_000);
    assert_eq!(h.cpu_shares, 512);
    assert_eq!(h.pids_limit, Some(64));
    assert_eq!(h.ulimits.unwrap()[0].hard, 20);
    assert_eq!(req("run busybox").host_config.pids_limit, None);
    assert_eq!(
        err("run -m 12x busybox"),
        "invalid argument \"12x\" for \"-m, --memory\" flag: invalid suffix: 'x'"
    );
    assert_eq!(
        err("run --cpus abc busybox"),
        "invalid argument \"abc\" for \"--cpus\" flag: failed to parse abc as a rational number"
    );
    assert_eq!(
        err("run --memory-swappiness 101 busybox"),
        "invalid value: 101. Valid memory swappiness range is 0-100"
    );
}

#[test]
fn env_labels_and_files() {
    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join("env");
    std::fs::write(&env_file, "A=from-file\nB=2\n").unwrap();
    let r = req(&format!(
        "run --env-file {} -e A=flag -l x=1 -l y busybox",
        env_file.display()
    ));
    assert_eq!(r.config.env.unwrap(), vec!["A=from-file", "B=2", "A=flag"]);
    let l = r.config.labels.unwrap();
    assert_eq!((l["x"].as_str(), l["y"].as_str()), ("1", ""));
    assert_eq!(
        err("run --env-file /nonexistent busybox"),
        "open /nonexistent: no such file or directory"
    );
    assert_eq!(
        err("run -e =x busybox"),
        "invalid argument \"=x\" for \"-e, --env\" flag: invalid environment variable: =x"
    );
}

#[test]
fn entrypoint_user_workdir_and_stop_settings() {
    let c = req("run --entrypoint /bin/sh -u 1000:1000 -w /tmp -h box --stop-signal SIGINT --stop-timeout 3 busybox -c ls").config;
    assert_eq!(c.entrypoint.as_deref().unwrap(), &["/bin/sh".to_string()]);
    assert_eq!(
        c.cmd.as_deref().unwrap(),
        &["-c".to_string(), "ls".to_string()]
    );
    assert_eq!(
        (c.user.as_str(), c.working_dir.as_str(), c.hostname.as_str()),
        ("1000:1000", "/tmp", "box")
    );
    assert_eq!(
        (c.stop_signal.as_deref(), c.stop_timeout),
        (Some("SIGINT"), Some(3))
    );
    let c = req("run --entrypoint= busybox").config;
    assert_eq!(c.entrypoint.as_deref().unwrap(), &[String::new()]);
}

#[test]
fn security_options() {
    let h = req("run --privileged --read-only --cap-add NET_ADMIN --cap-drop ALL --security-opt no-new-privileges --init busybox").host_config;
    assert!(h.privileged && h.readonly_rootfs);
    assert_eq!(h.cap_add, Some(vec!["NET_ADMIN".to_string()]));
    assert_eq!(h.security_opt, Some(vec!["no-new-privileges".to_string()]));
    assert_eq!(h.init, Some(true));
    assert_eq!(req("run busybox").host_config.init, None);
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("p.json");
    std::fs::write(&profile, "{\n  \"defaultAction\": \"SCMP_ACT_ALLOW\"\n}\n").unwrap();
    let h = req(&format!(
        "run --security-opt seccomp={} busybox",
        profile.display()
    ))
    .host_config;
    assert_eq!(
        h.security_opt,
        Some(vec![
            "seccomp={\"defaultAction\":\"SCMP_ACT_ALLOW\"}".to_string()
        ])
    );
    let h =
        req("run --security-opt seccomp=unconfined --security-opt systempaths=unconfined busybox")
            .host_config;
    assert_eq!(h.security_opt, Some(vec!["seccomp=unconfined".to_string()]));
    assert_eq!(h.masked_paths, Some(vec![]));
    assert_eq!(
        err("run --security-opt bogus busybox"),
        "Invalid --security-opt: \"bogus\""
    );
    assert!(err("run --security-opt seccomp=/nonexistent.json busybox")
        .starts_with("opening seccomp profile (/nonexistent.json) failed"));
}

#[test]
fn networks_ports_and_conflicts() {
    let r = req("run --network none -p 8080:80 --expose 90 busybox");
    assert_eq!(r.host_config.network_mode, "none");
    assert_eq!(
        r.networking_config.endpoints_config,
        Some(Default::default())
    );
    assert!(r.config.exposed_ports.unwrap().contains_key("90/tcp"));
    assert_eq!(
        r.host_config.port_bindings.unwrap()["80/tcp"]
            .as_ref()
            .unwrap()[0]
            .host_port,
        "8080"
    );
    assert_eq!(
        err("run --rm --restart always busybox"),
        "conflicting options: cannot specify both --restart and --rm"
    );
    assert_eq!(
        err("run --network-alias a busybox"),
        "network-scoped aliases are only supported for user-defined networks"
    );
    assert_eq!(
        err("run --log-driver none --log-opt max-size=1m busybox"),
        "invalid logging opts for driver none"
    );
    assert_eq!(err("run --pid bogus busybox"), "--pid: invalid PID mode");
    let h = req("run --log-opt max-size=10m --log-opt max-file=3 busybox").host_config;
    assert_eq!(h.log_config.config["max-file"], "3");
}

#[test]
fn volumes_split_into_binds_and_anonymous() {
    let r = req("run -v /host:/ctr:ro -v /data -v named:/n busybox");
    assert_eq!(
        r.host_config.binds,
        Some(vec!["/host:/ctr:ro".to_string(), "named:/n".to_string()])
    );
    assert!(r.config.volumes.unwrap().contains_key("/data"));
}
