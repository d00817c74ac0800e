use super::*;

fn base(rootfs: &Path) -> ContainerSpec {
    std::fs::create_dir_all(rootfs.join("etc")).unwrap();
    std::fs::write(
        rootfs.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n",
    )
    .unwrap();
    std::fs::write(rootfs.join("etc/group"), "root:x:0:\napp:x:1000:\n").unwrap();
    ContainerSpec {
        id: "c1".into(),
        rootfs: rootfs.to_owned(),
        args: vec!["sh".into()],
        hostname: "c1host".into(),
        cgroups_path: "/berth/c1".into(),
        netns: Some(PathBuf::from("/run/berth/netns/c1")),
        ..ContainerSpec::default()
    }
}

fn caps_of(spec: &Spec) -> Vec<String> {
    let v = serde_json::to_value(spec.process().as_ref().unwrap().capabilities()).unwrap();
    serde_json::from_value(v["bounding"].clone()).unwrap()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[test]
fn defaults_match_docker() {
    let d = tempfile::tempdir().unwrap();
    let spec = build(&base(d.path())).unwrap();
    let v = serde_json::to_value(&spec).unwrap();
    let env: Vec<String> = serde_json::from_value(v["process"]["env"].clone()).unwrap();
    assert_eq!(
        env,
        vec![
            format!("PATH={DEFAULT_PATH}"),
            "HOSTNAME=c1host".into(),
            "HOME=/root".into()
        ]
    );
    assert_eq!(v["process"]["cwd"], "/");
    assert_eq!(v["process"]["user"]["uid"], 0);
    assert!(v["process"].get("noNewPrivileges").is_none());
    let mut caps = caps_of(&spec);
    caps.sort();
    let mut want: Vec<String> = DEFAULT_CAPABILITIES.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(caps, want);
    assert_eq!(v["linux"]["cgroupsPath"], "/berth/c1");
    assert_eq!(v["linux"]["seccomp"]["defaultAction"], "SCMP_ACT_ERRNO");
    assert!(v["linux"]["maskedPaths"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p == "/proc/kcore"));
    assert!(v["linux"]["readonlyPaths"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p == "/proc/sys"));
    let ns: Vec<String> = v["linux"]["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["type"].as_str().unwrap().to_string())
        .collect();
    assert!(
        ns.contains(&"network".into())
            && ns.contains(&"pid".into())
            && ns.contains(&"mount".into())
    );
    let mounts = v["mounts"].as_array().unwrap();
    let sys = mounts.iter().find(|m| m["destination"] == "/sys").unwrap();
    assert!(sys["options"].as_array().unwrap().iter().any(|o| o == "ro"));
    let shm = mounts
        .iter()
        .find(|m| m["destination"] == "/dev/shm")
        .unwrap();
    assert!(shm["options"]
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o == "size=67108864"));
    for dest in ["/proc", "/dev", "/dev/pts", "/dev/mqueue", "/sys/fs/cgroup"] {
        assert!(
            mounts.iter().any(|m| m["destination"] == dest),
            "missing {dest}"
        );
    }
    let devices = v["linux"]["resources"]["devices"].as_array().unwrap();
    assert_eq!(
        devices[0]["allow"], false,
        "device cgroup must start by denying everything"
    );
    assert!(v["process"]
        .get("rlimits")
        .is_none_or(|r| r.as_array().is_none_or(|a| a.is_empty())));
}

#[test]
fn the_cgroup_tree_is_bound_read_only_over_itself_unless_privileged() {
    let d = tempfile::tempdir().unwrap();
    let cgroup_mounts = |privileged: bool| {
        let spec = build(&ContainerSpec {
            privileged,
            ..base(d.path())
        })
        .unwrap();
        let v = serde_json::to_value(&spec).unwrap();
        v["mounts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["destination"] == "/sys/fs/cgroup")
            .cloned()
            .collect::<Vec<_>>()
    };
    let m = cgroup_mounts(false);
    assert_eq!(m.len(), 2, "{m:?}");
    assert_eq!(m[0]["type"], "cgroup");
    assert_eq!(m[1]["type"], "bind");
    assert_eq!(
        m[1]["source"],
        d.path().join("sys/fs/cgroup").display().to_string()
    );
    let opts = m[1]["options"].as_array().unwrap();
    assert!(opts.iter().any(|o| o == "rro") && opts.iter().any(|o| o == "rbind"));
    assert_eq!(cgroup_mounts(true).len(), 1);
}

#[test]
fn cgroup_namespace_only_when_private() {
    let d = tempfile::tempdir().unwrap();
    let has_cgroupns = |private: bool| {
        let spec = build(&ContainerSpec {
            cgroupns_private: private,
            ..base(d.path())
        })
        .unwrap();
        let v = serde_json::to_value(&spec).unwrap();
        v["linux"]["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["type"] == "cgroup")
    };
    assert!(has_cgroupns(true));
    assert!(!has_cgroupns(false));
}

#[test]
fn privileged_lifts_everything() {
    let d = tempfile::tempdir().unwrap();
    let spec = build(&ContainerSpec {
        privileged: true,
        ..base(d.path())
    })
    .unwrap();
    let v = serde_json::to_value(&spec).unwrap();
    assert_eq!(sorted(caps_of(&spec)), sorted(all_capabilities()));
    assert!(v["linux"].get("seccomp").is_none());
    assert!(v["linux"]["maskedPaths"]
        .as_array()
        .is_none_or(|a| a.is_empty()));
    assert_eq!(v["linux"]["resources"]["devices"][0]["allow"], true);
    assert!(v["linux"]["devices"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["path"] == "/dev/null"));
    let sys = v["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["destination"] == "/sys")
        .unwrap()
        .clone();
    assert!(sys["options"].as_array().unwrap().iter().any(|o| o == "rw"));
}

#[test]
fn cap_add_and_drop_follow_dockers_rules() {
    let d = tempfile::tempdir().unwrap();
    let c = ContainerSpec {
        cap_add: vec!["net_admin".into()],
        cap_drop: vec!["CAP_CHOWN".into(), "kill".into()],
        ..base(d.path())
    };
    let caps = caps_of(&build(&c).unwrap());
    assert!(caps.contains(&"CAP_NET_ADMIN".into()));
    assert!(!caps.contains(&"CAP_CHOWN".into()) && !caps.contains(&"CAP_KILL".into()));
    let c = ContainerSpec {
        cap_drop: vec!["ALL".into()],
        cap_add: vec!["CAP_SETUID".into()],
        ..base(d.path())
    };
    assert_eq!(caps_of(&build(&c).unwrap()), vec!["CAP_SETUID".to_string()]);
    let c = ContainerSpec {
        cap_add: vec!["ALL".into()],
        ..base(d.path())
    };
    assert_eq!(
        sorted(caps_of(&build(&c).unwrap())),
        sorted(all_capabilities())
    );
    let c = ContainerSpec {
        cap_add: vec!["FOO".into()],
        ..base(d.path())
    };
    assert_eq!(
        build(&c).unwrap_err().to_string(),
        "unknown capability: \"CAP_FOO\""
    );
}

#[test]
fn security_opts() {
    let d = tempfile::tempdir().unwrap();
    let with = |opts: &[&str]| {
        build(&ContainerSpec {
            security_opt: opts.iter().map(|s| s.to_string()).collect(),
            ..base(d.path())
        })
    };
    let v = serde_json::to_value(with(&["no-new-privileges"]).unwrap()).unwrap();
    assert_eq!(v["process"]["noNewPrivileges"], true);
    let v = serde_json::to_value(with(&["no-new-privileges:false"]).unwrap()).unwrap();
    assert!(v["process"].get("noNewPrivileges").is_none());
    let v = serde_json::to_value(with(&["seccomp=unconfined"]).unwrap()).unwrap();
    assert!(v["linux"].get("seccomp").is_none());
    let v = serde_json::to_value(
        with(&[r#"seccomp={"defaultAction":"SCMP_ACT_ALLOW","syscalls":[]}"#]).unwrap(),
    )
    .unwrap();
    assert_eq!(v["linux"]["seccomp"]["defaultAction"], "SCMP_ACT_ALLOW");
    let e = with(&["bogus"]).unwrap_err();
    assert_eq!(e.to_string(), "invalid --security-opt: \"bogus\"");
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(with(&["seccomp={broken"]).is_err());
}

#[test]
fn env_tty_user_workdir_init_and_limits() {
    let d = tempfile::tempdir().unwrap();
    let c = ContainerSpec {
        tty: true,
        env: vec![
            "PATH=/custom".into(),
            "HOSTNAME=override".into(),
            "A=1".into(),
        ],
        user: "app".into(),
        working_dir: "/srv/work".into(),
        init: Some(PathBuf::from("/usr/bin/tini-static")),
        readonly_rootfs: true,
        resources: Resources {
            memory: 64 << 20,
            nano_cpus: 1_500_000_000,
            pids_limit: 10,
            cpu_shares: 512,
            ..Resources::default()
        },
        mounts: vec![BindMount {
            source: "/tmp/hosts".into(),
            destination: "/etc/hosts".into(),
            readonly: false,
            ..Default::default()
        }],
        ..base(d.path())
    };
    let v = serde_json::to_value(build(&c).unwrap()).unwrap();
    let env: Vec<String> = serde_json::from_value(v["process"]["env"].clone()).unwrap();
    assert_eq!(
        env,
        vec![
            "PATH=/custom",
            "HOSTNAME=override",
            "TERM=xterm",
            "A=1",
            "HOME=/home/app"
        ]
    );
    assert_eq!(v["process"]["user"]["uid"], 1000);
    assert_eq!(v["process"]["terminal"], true);
    assert!(d.path().join("srv/work").is_dir());
    assert_eq!(
        v["process"]["args"],
        serde_json::json!([INIT_PATH_IN_CONTAINER, "--", "sh"])
    );
    assert!(v["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["destination"] == INIT_PATH_IN_CONTAINER));
    assert!(v["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["destination"] == "/etc/hosts"));
    assert_eq!(v["root"]["readonly"], true);
    let r = &v["linux"]["resources"];
    assert_eq!(r["memory"]["limit"], 64 << 20);
    assert_eq!(
        r["memory"]["swap"],
        128 << 20,
        "docker's default swap is twice the memory"
    );
    assert_eq!(r["cpu"]["quota"], 150_000);
    assert_eq!(r["cpu"]["period"], 100_000);
    assert_eq!(r["cpu"]["shares"], 512);
    assert_eq!(r["pids"]["limit"], 10);
}

#[test]
fn bad_input_is_named() {
    let d = tempfile::tempdir().unwrap();
    let e = build(&ContainerSpec {
        user: "foo".into(),
        ..base(d.path())
    })
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "unable to find user foo: no matching entries in passwd file"
    );
    let e = build(&ContainerSpec {
        args: vec![],
        ..base(d.path())
    })
    .unwrap_err();
    assert_eq!(e.to_string(), "no command specified");
    let e = build(&ContainerSpec {
        resources: Resources {
            memory: 1024,
            ..Resources::default()
        },
        ..base(d.path())
    })
    .unwrap_err();
    assert!(e.to_string().contains("minimum memory limit"), "{e}");
    let too_high = Ulimit {
        name: "nofile".into(),
        soft: 10,
        hard: u64::MAX - 1,
    };
    let e = build(&ContainerSpec {
        ulimits: vec![too_high],
        ..base(d.path())
    })
    .unwrap_err();
    assert!(
        e.to_string().contains("above this host's hard limit"),
        "{e}"
    );
    let ok = Ulimit {
        name: "nofile".into(),
        soft: 100,
        hard: 200,
    };
    let v = serde_json::to_value(
        build(&ContainerSpec {
            ulimits: vec![ok],
            ..base(d.path())
        })
        .unwrap(),
    )
    .unwrap();
    assert_eq!(v["process"]["rlimits"][0]["type"], "RLIMIT_NOFILE");
}

#[test]
fn bundle_is_written_atomically() {
    let d = tempfile::tempdir().unwrap();
    let spec = build(&base(&d.path().join("rootfs"))).unwrap();
    write_bundle(&d.path().join("bundle"), &spec).unwrap();
    let back = Spec::load(d.path().join("bundle/config.json")).unwrap();
    assert_eq!(back.hostname().as_deref(), Some("c1host"));
}

#[test]
fn bind_mount_options_follow_dockerd() {
    let d = tempfile::tempdir().unwrap();
    let bind = |dest: &str, f: &dyn Fn(&mut BindMount)| {
        let mut b = BindMount {
            source: "/srv".into(),
            destination: dest.into(),
            ..Default::default()
        };
        f(&mut b);
        b
    };
    let c = ContainerSpec {
        mounts: vec![
            bind("/a", &|_| {}),
            bind("/b", &|b| b.readonly = true),
            bind("/c", &|b| {
                b.readonly = true;
                b.readonly_non_recursive = true;
            }),
            bind("/d", &|b| {
                b.non_recursive = true;
                b.propagation = "rslave".into();
            }),
        ],
        ..base(d.path())
    };
    let v = serde_json::to_value(build(&c).unwrap()).unwrap();
    let opts = |dest: &str| -> Vec<String> {
        let m = v["mounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["destination"] == dest)
            .unwrap();
        serde_json::from_value(m["options"].clone()).unwrap()
    };
    assert_eq!(opts("/a"), ["rbind", "rprivate"]);
    assert_eq!(opts("/b"), ["rbind", "rprivate", "ro", "rro"]);
    assert_eq!(opts("/c"), ["rbind", "rprivate", "ro"]);
    assert_eq!(opts("/d"), ["bind", "rslave"]);
    assert_eq!(v["linux"]["rootfsPropagation"], "slave");
    let bad = ContainerSpec {
        mounts: vec![bind("/e", &|b| b.propagation = "sideways".into())],
        ..base(d.path())
    };
    assert!(build(&bad).unwrap_err().to_string().contains("sideways"));
}
