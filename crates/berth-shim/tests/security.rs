//! Limits and security options enforced on real containers.

mod common;

use common::*;
use runtime::spec::{ContainerSpec, Resources};

#[tokio::test]
async fn memory_limit_oom_kills_and_is_reported() {
    let f = Fixture::new("oom");
    let spec = ContainerSpec {
        resources: Resources {
            memory: 16 << 20,
            memory_swap: 16 << 20,
            ..Resources::default()
        },
        // dd's 64 MiB block buffer is touched as /dev/zero fills it.
        ..f.spec(&["dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"])
    };
    let h = f.spawn(&spec).await.unwrap();
    h.start().await.unwrap();
    let rec = with_timeout(h.wait()).await.unwrap();
    assert_eq!(rec.exit_code, 137, "{rec:?}");
    assert!(rec.oom_killed, "{rec:?}");
}

#[tokio::test]
async fn pids_limit_stops_forks() {
    let f = Fixture::new("pids");
    let spec = ContainerSpec {
        resources: Resources {
            pids_limit: 4,
            ..Resources::default()
        },
        ..f.spec(&[
            "sh",
            "-c",
            "for i in 1 2 3 4 5 6 7 8; do sleep 1 & done; wait; echo done",
        ])
    };
    let (_, _, err) = f.run(&spec).await;
    assert!(
        err.contains("can't fork"),
        "forks beyond the limit must fail: {err:?}"
    );
}

#[tokio::test]
async fn user_is_resolved_in_the_image() {
    let f = Fixture::new("user");
    let (code, out, _) = f
        .run(&ContainerSpec {
            user: "app".into(),
            ..f.spec(&["id"])
        })
        .await;
    assert_eq!(code, 0);
    assert!(
        out.contains("uid=1000(app) gid=1000(app)") && out.contains("10(wheel)"),
        "{out:?}"
    );
    let f = Fixture::new("user2");
    let (_, out, _) = f
        .run(&ContainerSpec {
            user: "4242:4343".into(),
            ..f.spec(&["id"])
        })
        .await;
    assert!(
        out.contains("uid=4242") && out.contains("gid=4343"),
        "{out:?}"
    );
}

#[tokio::test]
async fn read_only_root_refuses_writes() {
    let f = Fixture::new("ro");
    let spec = ContainerSpec {
        readonly_rootfs: true,
        ..f.spec(&["sh", "-c", "touch /x; echo ok > /dev/shm/y && echo shm-ok"])
    };
    let (_, out, err) = f.run(&spec).await;
    assert!(err.contains("Read-only file system"), "{err:?}");
    assert!(
        out.contains("shm-ok"),
        "tmpfs mounts stay writable: {out:?}"
    );
}

#[tokio::test]
async fn no_new_privileges_is_set() {
    let f = Fixture::new("nnp");
    let cmd = ["grep", "NoNewPrivs", "/proc/self/status"];
    let (_, out, _) = f
        .run(&ContainerSpec {
            security_opt: vec!["no-new-privileges".into()],
            ..f.spec(&cmd)
        })
        .await;
    assert!(out.contains("NoNewPrivs:\t1"), "{out:?}");
    let f = Fixture::new("nnp0");
    let (_, out, _) = f.run(&f.spec(&cmd)).await;
    assert!(out.contains("NoNewPrivs:\t0"), "{out:?}");
}

/// Capability bits by number (capabilities(7) order).
fn cap_mask(names: &[&str]) -> u64 {
    const ORDER: &str = "CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ PERFMON BPF CHECKPOINT_RESTORE";
    let order: Vec<&str> = ORDER.split(' ').collect();
    names
        .iter()
        .map(|n| {
            1u64 << order
                .iter()
                .position(|c| *c == n.trim_start_matches("CAP_"))
                .expect("known cap")
        })
        .fold(0, |a, b| a | b)
}

#[tokio::test]
async fn default_capabilities_and_cap_drop() {
    let f = Fixture::new("caps");
    let (_, out, _) = f
        .run(&f.spec(&["grep", "CapEff", "/proc/self/status"]))
        .await;
    let want = cap_mask(&runtime::spec::DEFAULT_CAPABILITIES);
    assert!(
        out.contains(&format!("{want:016x}")),
        "default set {want:016x}: {out:?}"
    );
    let f = Fixture::new("capdrop");
    let spec = ContainerSpec {
        cap_drop: vec!["CHOWN".into()],
        ..f.spec(&["sh", "-c", "chown 1000 /tmp && echo chowned"])
    };
    let (code, out, err) = f.run(&spec).await;
    assert_ne!(code, 0);
    assert!(
        !out.contains("chowned") && err.contains("Operation not permitted"),
        "{out:?} {err:?}"
    );
}

#[tokio::test]
async fn default_seccomp_blocks_what_unconfined_allows() {
    // unshare(CLONE_NEWUSER) needs no capability, so only seccomp stands in its way.
    let f = Fixture::new("seccomp");
    let (code, _, err) = f.run(&f.spec(&["unshare", "-U", "true"])).await;
    assert_ne!(code, 0);
    assert!(err.contains("Operation not permitted"), "{err:?}");
    let f = Fixture::new("unconfined");
    let spec = ContainerSpec {
        security_opt: vec!["seccomp=unconfined".into()],
        ..f.spec(&["unshare", "-U", "true"])
    };
    let (code, _, err) = f.run(&spec).await;
    assert_eq!(code, 0, "{err:?}");
    // A custom profile in Docker's format, as the CLI sends it.
    let f = Fixture::new("custom");
    let profile = r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}"#;
    let spec = ContainerSpec {
        security_opt: vec![format!("seccomp={profile}")],
        ..f.spec(&["mkdir", "/tmp/d"])
    };
    let (code, _, err) = f.run(&spec).await;
    assert_ne!(code, 0);
    assert!(err.contains("Operation not permitted"), "{err:?}");
}

#[tokio::test]
async fn privileged_sees_all_capabilities_and_writable_sys() {
    let f = Fixture::new("priv");
    let spec = ContainerSpec {
        privileged: true,
        ..f.spec(&[
            "sh",
            "-c",
            "grep CapEff /proc/self/status; grep ' /sys ' /proc/mounts",
        ])
    };
    let (code, out, _) = f.run(&spec).await;
    assert_eq!(code, 0);
    let all: Vec<String> = runtime::spec::all_capabilities();
    let names: Vec<&str> = all.iter().map(String::as_str).collect();
    let want = cap_mask(&names);
    assert!(out.contains(&format!("{want:016x}")), "{out:?}");
    assert!(out.contains("sysfs rw"), "{out:?}");
}

#[tokio::test]
async fn hostname_env_and_network_namespace() {
    let f = Fixture::new("env");
    let spec = ContainerSpec {
        env: vec!["FOO=bar".into()],
        ..f.spec(&[
            "sh",
            "-c",
            "hostname; echo $FOO; echo $HOME; cat /proc/net/dev | tail -n +3 | cut -d: -f1",
        ])
    };
    let (code, out, _) = f.run(&spec).await;
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().map(str::trim).collect();
    assert_eq!(lines, vec!["testhost", "bar", "/root", "lo"]);
}
