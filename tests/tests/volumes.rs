//! Volumes end to end through the real docker CLI: named and anonymous volumes, copy-up,
//! read-only mounts, `--mount` of every type, `--volumes-from`, `rm -v`, prune, driver
//! options, events, and what survives daemon restarts and crashes.

use std::time::Duration;

use berth_tests::daemon::{http, tail};
use berth_tests::Daemon;

fn daemon() -> Daemon {
    let d = Daemon::start().expect("start berthd");
    d.import_busybox().expect("import busybox");
    d
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// An image with `/srv/app` (a file owned 1000:1000 mode 0640, a symlink, a subdirectory)
/// and `VOLUME /data` over a seeded `/data`.
fn app_image(d: &Daemon) {
    d.docker_ok(&[
        "run",
        "--name",
        "seed",
        "busybox",
        "sh",
        "-c",
        "mkdir -p /srv/app/sub /data && echo config > /srv/app/conf && chown 1000:1000 /srv/app/conf \
         && chmod 640 /srv/app/conf && ln -s conf /srv/app/link && echo deep > /srv/app/sub/x \
         && chmod 750 /srv/app && echo seeded > /data/seed",
    ]);
    d.docker_ok(&["commit", "--change", "VOLUME /data", "seed", "app:1"]);
    d.docker_ok(&["rm", "seed"]);
}

#[test]
fn named_volume_is_shared_and_survives_removal_restart_and_a_crash() {
    let mut d = daemon();
    d.docker_ok(&[
        "run",
        "--name",
        "writer",
        "-v",
        "shared:/data",
        "busybox",
        "sh",
        "-c",
        "echo precious > /data/file",
    ]);
    let read = |d: &Daemon| {
        d.docker_ok(&[
            "run",
            "--rm",
            "-v",
            "shared:/in",
            "busybox",
            "cat",
            "/in/file",
        ])
    };
    assert_eq!(read(&d), "precious");
    d.docker_ok(&["rm", "writer"]);
    assert_eq!(read(&d), "precious");
    d.stop().unwrap();
    d.spawn().unwrap();
    assert_eq!(read(&d), "precious");
    d.kill().unwrap();
    d.spawn().unwrap();
    assert_eq!(read(&d), "precious");
    let inspect = d.docker_ok(&["volume", "inspect", "shared"]);
    let v: serde_json::Value = serde_json::from_str(&inspect).unwrap();
    assert_eq!(v[0]["Name"], "shared");
    assert_eq!(v[0]["Driver"], "local");
    assert_eq!(v[0]["Scope"], "local");
    assert_eq!(v[0]["Labels"], serde_json::Value::Null);
    let mp = v[0]["Mountpoint"].as_str().unwrap();
    assert_eq!(
        mp,
        d.data_root
            .join("volumes/shared/_data")
            .display()
            .to_string()
    );
    assert_eq!(
        std::fs::read_to_string(format!("{mp}/file")).unwrap(),
        "precious\n"
    );
    let vol_mounts: Vec<String> = d
        .leftover_mounts()
        .into_iter()
        .filter(|m| m.contains("/volumes/"))
        .collect();
    assert!(vol_mounts.is_empty(), "{vol_mounts:?}");
}

#[test]
fn inspect_shows_mounts_as_dockerd_does() {
    let d = daemon();
    let host = d.root.path().join("hostdir");
    std::fs::create_dir_all(&host).unwrap();
    let bind = format!("{}:/b:ro", host.display());
    let id = d.docker_ok(&[
        "create",
        "-v",
        "named:/n",
        "-v",
        "/anon",
        "-v",
        &bind,
        "--mount",
        "type=volume,src=m2,dst=/m2,readonly",
        "--mount",
        "type=tmpfs,dst=/t,tmpfs-size=1m",
        "busybox",
        "true",
    ]);
    let mounts = d.docker_ok(&["inspect", "-f", "{{json .Mounts}}", &id]);
    let mounts: Vec<serde_json::Value> = serde_json::from_str(&mounts).unwrap();
    let by_dest = |dst: &str| {
        mounts
            .iter()
            .find(|m| m["Destination"] == dst)
            .unwrap_or_else(|| panic!("no mount at {dst}: {mounts:?}"))
            .clone()
    };
    let n = by_dest("/n");
    assert_eq!(
        (n["Type"].as_str(), n["Name"].as_str(), n["Driver"].as_str()),
        (Some("volume"), Some("named"), Some("local"))
    );
    assert_eq!(
        (n["Mode"].as_str(), n["RW"].as_bool()),
        (Some("z"), Some(true))
    );
    assert_eq!(n["Propagation"], "");
    assert!(n["Source"]
        .as_str()
        .unwrap()
        .ends_with("/volumes/named/_data"));
    let a = by_dest("/anon");
    assert_eq!(a["Type"], "volume");
    assert_eq!(a["Name"].as_str().unwrap().len(), 64);
    assert_eq!(a["Mode"], "");
    let b = by_dest("/b");
    assert_eq!(b["Type"], "bind");
    assert_eq!(b["Source"], host.display().to_string());
    assert_eq!(
        (b["Mode"].as_str(), b["RW"].as_bool()),
        (Some("ro"), Some(false))
    );
    assert_eq!(b["Propagation"], "rprivate");
    assert!(b.get("Name").is_none() && b.get("Driver").is_none(), "{b}");
    let m2 = by_dest("/m2");
    assert_eq!(
        (m2["Mode"].as_str(), m2["RW"].as_bool()),
        (Some("z"), Some(false))
    );
    let t = by_dest("/t");
    assert_eq!(t["Type"], "tmpfs");
    assert_eq!(t["Source"], "");
    // The anonymous volume carries dockerd's label.
    let labels = d.docker_ok(&[
        "volume",
        "inspect",
        "-f",
        "{{json .Labels}}",
        a["Name"].as_str().unwrap(),
    ]);
    assert_eq!(labels, r#"{"com.docker.volume.anonymous":""}"#);
}

#[test]
fn read_only_mounts_refuse_writes() {
    let d = daemon();
    d.docker_ok(&["volume", "create", "ro"]);
    for flag in ["ro:/d:ro", "type=volume,src=ro,dst=/d,readonly"] {
        let kind = if flag.contains("type=") {
            "--mount"
        } else {
            "-v"
        };
        let out = d.docker(&["run", "--rm", kind, flag, "busybox", "touch", "/d/x"]);
        assert_ne!(out.status.code(), Some(0), "{flag}: write succeeded");
        assert!(
            stderr(&out).contains("Read-only file system"),
            "{flag}: {}",
            stderr(&out)
        );
    }
    let mp = d.data_root.join("volumes/ro/_data");
    assert!(!mp.join("x").exists());
}

#[test]
fn copy_up_fills_a_fresh_volume_with_owners_modes_and_links() {
    let d = daemon();
    app_image(&d);
    let show =
        "stat -c '%n %u:%g %a' /srv/app /srv/app/conf; readlink /srv/app/link; cat /srv/app/sub/x";
    let out = d.docker_ok(&[
        "run",
        "--rm",
        "-v",
        "appvol:/srv/app",
        "app:1",
        "sh",
        "-c",
        show,
    ]);
    assert_eq!(
        out,
        "/srv/app 0:0 750\n/srv/app/conf 1000:1000 640\nconf\ndeep"
    );
    // /etc of the image, owners and content.
    let etc = d.docker_ok(&[
        "run",
        "--rm",
        "-v",
        "etc:/etc",
        "busybox",
        "cat",
        "/etc/passwd",
    ]);
    assert!(etc.starts_with("root:x:0:0"), "{etc}");
    // A volume that is not empty is not copied into again.
    d.docker_ok(&[
        "run",
        "--rm",
        "-v",
        "appvol:/srv/app",
        "app:1",
        "sh",
        "-c",
        "rm /srv/app/conf",
    ]);
    let out = d.docker_ok(&[
        "run",
        "--rm",
        "-v",
        "appvol:/srv/app",
        "app:1",
        "ls",
        "/srv/app",
    ]);
    assert_eq!(out, "link\nsub");
    // nocopy, both spellings: the volume stays empty.
    for (kind, spec) in [
        ("-v", "empty1:/srv/app:nocopy"),
        ("--mount", "src=empty2,dst=/srv/app,volume-nocopy"),
    ] {
        let out = d.docker_ok(&["run", "--rm", kind, spec, "app:1", "ls", "-A", "/srv/app"]);
        assert_eq!(out, "", "{spec}");
    }
}

#[test]
fn anonymous_volumes_from_the_image_and_dash_v_go_with_rm_v() {
    let d = daemon();
    app_image(&d);
    let id = d.docker_ok(&[
        "create",
        "-v",
        "/scratch",
        "-v",
        "keep:/keep",
        "app:1",
        "true",
    ]);
    let names = d.docker_ok(&[
        "inspect",
        "-f",
        "{{range .Mounts}}{{.Destination}}={{.Name}} {{end}}",
        &id,
    ]);
    let anon: Vec<&str> = names
        .split_whitespace()
        .filter(|m| m.starts_with("/data=") || m.starts_with("/scratch="))
        .map(|m| m.split_once('=').unwrap().1)
        .collect();
    assert_eq!(anon.len(), 2, "{names}");
    // The image's VOLUME was copied up from the image.
    d.docker_ok(&["start", "-a", &id]);
    let seed = d.data_root.join("volumes").join(
        names
            .split_whitespace()
            .find_map(|m| m.strip_prefix("/data="))
            .unwrap(),
    );
    assert_eq!(
        std::fs::read_to_string(seed.join("_data/seed")).unwrap(),
        "seeded\n"
    );
    let vols = d.docker_ok(&["volume", "ls", "-q"]);
    for a in &anon {
        assert!(vols.contains(a), "{vols}");
    }
    d.docker_ok(&["rm", "-v", &id]);
    let vols = d.docker_ok(&["volume", "ls", "-q"]);
    assert_eq!(vols, "keep", "anonymous volumes left: {vols}");
    // Without -v they stay.
    let id = d.docker_ok(&["create", "-v", "/scratch", "busybox", "true"]);
    d.docker_ok(&["rm", &id]);
    assert_eq!(d.docker_ok(&["volume", "ls", "-q"]).lines().count(), 2);
    // An image VOLUME over a file is refused, as dockerd does.
    d.docker_ok(&[
        "run",
        "--name",
        "fc",
        "busybox",
        "sh",
        "-c",
        "echo x > /file",
    ]);
    d.docker_ok(&["commit", "--change", "VOLUME /file", "fc", "fileimg"]);
    let out = d.docker(&["create", "fileimg"]);
    assert!(
        stderr(&out).contains("cannot mount volume over existing file"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn tmpfs_mounts_take_size_and_mode() {
    let d = daemon();
    let out = d.docker_ok(&[
        "run",
        "--rm",
        "--mount",
        "type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1770",
        "busybox",
        "sh",
        "-c",
        "stat -c %a /t; dd if=/dev/zero of=/t/x bs=1k count=2000 2>&1 | grep -c 'No space'",
    ]);
    assert_eq!(out, "1770\n1");
}

#[test]
fn volumes_from_shares_volumes_and_binds() {
    let d = daemon();
    let host = d.root.path().join("hb");
    std::fs::create_dir_all(&host).unwrap();
    std::fs::write(host.join("h"), "host").unwrap();
    let bind = format!("{}:/hb", host.display());
    d.docker_ok(&[
        "create", "--name", "data", "-v", "dv:/dv", "-v", "/anon", "-v", &bind, "busybox", "true",
    ]);
    d.docker_ok(&[
        "run",
        "--rm",
        "--volumes-from",
        "data",
        "busybox",
        "sh",
        "-c",
        "echo a > /dv/a && echo b > /anon/b",
    ]);
    let out = d.docker_ok(&[
        "run",
        "--rm",
        "--volumes-from",
        "data:ro",
        "busybox",
        "sh",
        "-c",
        "cat /dv/a /anon/b /hb/h; touch /dv/no 2>&1 | grep -c Read-only",
    ]);
    assert_eq!(out, "a\nb\nhost1");
    let out = d.docker(&["run", "--rm", "--volumes-from", "nope", "busybox", "true"]);
    assert!(
        stderr(&out).contains("No such container: nope"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn prune_keeps_volumes_in_use_and_rm_of_a_used_volume_is_a_conflict() {
    let d = daemon();
    let user = d.docker_ok(&[
        "create",
        "-v",
        "used:/u",
        "-v",
        "/anon-used",
        "busybox",
        "true",
    ]);
    d.docker_ok(&["volume", "create", "idle-named"]);
    let gone = d.docker_ok(&["create", "-v", "/anon-idle", "busybox", "true"]);
    d.docker_ok(&["rm", &gone]);
    let before: Vec<String> = d
        .docker_ok(&["volume", "ls", "-q"])
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(before.len(), 4, "{before:?}");
    let dangling = d.docker_ok(&["volume", "ls", "-q", "-f", "dangling=true"]);
    assert_eq!(dangling.lines().count(), 2, "{dangling}");
    assert!(dangling.contains("idle-named"));
    let out = d.docker_ok(&["volume", "prune", "-f"]);
    assert!(out.starts_with("Deleted Volumes:\n"), "{out}");
    assert!(out.ends_with("Total reclaimed space: 0B"), "{out}");
    let after = d.docker_ok(&["volume", "ls", "-q"]);
    assert_eq!(
        after.lines().count(),
        3,
        "only the idle anonymous one goes: {after}"
    );
    assert!(after.contains("idle-named") && after.contains("used"));
    d.docker_ok(&["volume", "prune", "-af"]);
    let after = d.docker_ok(&["volume", "ls", "-q"]);
    assert_eq!(after.lines().count(), 2, "in-use volumes stay: {after}");
    assert!(!after.contains("idle-named"));
    // rm of a used volume: 409 naming the container.
    let (status, _, body) = http(&d.socket, "DELETE", "/v1.47/volumes/used", None).unwrap();
    assert_eq!(status, 409, "{body}");
    assert!(
        body.contains("volume is in use") && body.contains(&user),
        "{body}"
    );
    let out = d.docker(&["volume", "rm", "used"]);
    assert!(
        stderr(&out).contains(&format!("remove used: volume is in use - [{user}]")),
        "{}",
        stderr(&out)
    );
    // -f does not force a used volume away, but makes a missing one fine.
    assert!(!d.docker(&["volume", "rm", "-f", "used"]).status.success());
    d.docker_ok(&["volume", "rm", "-f", "never-existed"]);
    let out = d.docker(&["volume", "rm", "never-existed"]);
    assert!(
        stderr(&out).contains("get never-existed: no such volume"),
        "{}",
        stderr(&out)
    );
    d.docker_ok(&["rm", &user]);
    d.docker_ok(&["volume", "rm", "used"]);
    // Before API 1.42, prune takes named volumes too.
    d.docker_ok(&["volume", "create", "old-api"]);
    let (status, _, body) = http(&d.socket, "POST", "/v1.41/volumes/prune", None).unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("old-api"), "{body}");
}

#[test]
fn volume_names_options_and_filters_are_checked() {
    let d = daemon();
    for (name, want) in [
        ("a", "volume name is too short"),
        ("a/b", "includes invalid characters for a local volume name"),
        ("..", "includes invalid characters"),
    ] {
        let out = d.docker(&["volume", "create", name]);
        assert!(stderr(&out).contains(want), "{name}: {}", stderr(&out));
    }
    let out = d.docker(&["run", "--rm", "-v", "a/b:/x", "busybox", "true"]);
    assert!(
        stderr(&out).contains("includes invalid characters"),
        "{}",
        stderr(&out)
    );
    let out = d.docker(&["volume", "create", "-o", "bogus=1", "v1"]);
    assert!(
        stderr(&out).contains("invalid option: \"bogus\""),
        "{}",
        stderr(&out)
    );
    let out = d.docker(&["volume", "create", "-o", "type=tmpfs", "v1"]);
    assert!(
        stderr(&out).contains("missing required option: \"device\""),
        "{}",
        stderr(&out)
    );
    let out = d.docker(&["volume", "create", "-d", "nfsplugin", "v1"]);
    assert!(
        stderr(&out).contains("plugin \"nfsplugin\" not found"),
        "{}",
        stderr(&out)
    );
    d.docker_ok(&["volume", "create", "--label", "team=a", "lab1"]);
    d.docker_ok(&["volume", "create", "lab2"]);
    assert_eq!(
        d.docker_ok(&["volume", "ls", "-q", "-f", "label=team=a"]),
        "lab1"
    );
    assert_eq!(
        d.docker_ok(&["volume", "ls", "-q", "-f", "name=ab2"]),
        "lab2"
    );
    assert_eq!(
        d.docker_ok(&["volume", "ls", "-q", "-f", "driver=local"])
            .lines()
            .count(),
        2
    );
    let out = d.docker(&["volume", "ls", "-f", "bogus=1"]);
    assert!(
        stderr(&out).contains("invalid filter 'bogus'"),
        "{}",
        stderr(&out)
    );
    // Creating an existing volume returns it unchanged.
    d.docker_ok(&["volume", "create", "--label", "x=y", "lab1"]);
    assert_eq!(
        d.docker_ok(&["volume", "inspect", "-f", "{{json .Labels}}", "lab1"]),
        r#"{"team":"a"}"#
    );
}

#[test]
fn driver_options_mount_a_tmpfs_while_containers_use_it() {
    let mut d = daemon();
    d.docker_ok(&[
        "volume",
        "create",
        "--opt",
        "type=tmpfs",
        "--opt",
        "device=tmpfs",
        "--opt",
        "o=size=2m",
        "tv",
    ]);
    let data = d.data_root.join("volumes/tv/_data").display().to_string();
    let mounted = |d: &Daemon| d.leftover_mounts().contains(&data);
    let out = d.docker_ok(&[
        "run",
        "--rm",
        "-v",
        "tv:/x",
        "busybox",
        "sh",
        "-c",
        "grep ' /x ' /proc/mounts",
    ]);
    assert!(
        out.starts_with("tmpfs /x tmpfs") && out.contains("size=2048k"),
        "{out}"
    );
    assert!(!mounted(&d), "unmounted once the last user is gone");
    d.docker_ok(&[
        "run", "-d", "--name", "ca", "-v", "tv:/x", "busybox", "sleep", "300",
    ]);
    d.docker_ok(&[
        "run", "-d", "--name", "cb", "-v", "tv:/x", "busybox", "sleep", "300",
    ]);
    assert!(mounted(&d));
    d.docker_ok(&["exec", "ca", "sh", "-c", "echo shared > /x/f"]);
    assert_eq!(d.docker_ok(&["exec", "cb", "cat", "/x/f"]), "shared");
    // A daemon crash keeps the running containers and their volume; it is unmounted when
    // the last of them stops.
    d.kill().unwrap();
    d.spawn().unwrap();
    assert!(mounted(&d));
    d.docker_ok(&["rm", "-f", "ca"]);
    assert!(mounted(&d), "b still uses it");
    d.docker_ok(&["rm", "-f", "cb"]);
    assert!(!mounted(&d), "{:?}", d.leftover_mounts());
    // Such volumes are not pruned (nothing to reclaim), as dockerd skips them.
    d.docker_ok(&["volume", "prune", "-af"]);
    assert_eq!(d.docker_ok(&["volume", "ls", "-q"]), "tv");
    d.docker_ok(&["volume", "rm", "tv"]);
    assert!(!mounted(&d));
    assert!(!d.data_root.join("volumes/tv").exists());
}

#[test]
fn volume_events_follow_dockerd() {
    let d = daemon();
    d.events_until(
        &[
            "--filter",
            "type=volume",
            "--format",
            "{{.Action}} {{.Actor.ID}} {{.Actor.Attributes.driver}} {{.Actor.Attributes.destination}}",
        ],
        &[
            "create evol local <no value>",
            "mount evol local /e",
            "unmount evol local <no value>",
            "destroy evol local <no value>",
        ],
        Duration::from_secs(60),
        || {
            d.docker_ok(&["run", "--rm", "-v", "evol:/e", "busybox", "true"]);
            d.docker_ok(&["volume", "rm", "evol"]);
        },
    );
}

#[test]
fn system_df_counts_volumes_and_their_size() {
    let d = daemon();
    d.docker_ok(&[
        "run",
        "--rm",
        "-v",
        "big:/b",
        "busybox",
        "sh",
        "-c",
        "dd if=/dev/zero of=/b/f bs=1k count=100 2>/dev/null",
    ]);
    d.docker_ok(&["create", "-v", "small:/s", "busybox", "true"]);
    let row = d.docker_ok(&[
        "system",
        "df",
        "--format",
        "{{.Type}} {{.TotalCount}} {{.Active}} {{.Size}} {{.Reclaimable}}",
    ]);
    assert!(
        row.contains("Local Volumes 2 1 102.4kB 102.4kB (100%)"),
        "{row}\n{}",
        tail(&d.log_text(), 20)
    );
    let v = d.docker_ok(&["system", "df", "-v"]);
    assert!(v.contains("Local Volumes space usage:"), "{v}");
    let big = v
        .lines()
        .find(|l| l.starts_with("big "))
        .unwrap_or_default();
    assert!(big.split_whitespace().eq(["big", "0", "102.4kB"]), "{v}");
}

/// Puts volume `name` in the state a daemon killed in the middle of its copy-up leaves: the
/// record marked, the data half copied. The daemon must be down (the database has one
/// owner).
fn cut_copy_up_short(d: &Daemon, name: &str) {
    let s = store::Store::open_without_recovery(&d.data_root, store::StoreOptions::default())
        .expect("opening the store");
    s.db()
        .write(|tx| {
            let mut rec: serde_json::Value = tx.get("volumes", name)?.expect("volume record");
            rec["populating"] = serde_json::Value::Bool(true);
            tx.put("volumes", name, &rec)
        })
        .unwrap();
    let data = d.data_root.join("volumes").join(name).join("_data");
    let _ = std::fs::remove_file(data.join("conf"));
    std::fs::write(data.join("junk"), "half written").unwrap();
}

#[test]
fn a_copy_up_cut_short_by_a_crash_is_redone_before_the_volume_is_used() {
    let mut d = daemon();
    app_image(&d);
    let copier = d.docker_ok(&["create", "-v", "half:/srv/app", "app:1", "ls", "/srv/app"]);
    d.kill().unwrap();
    cut_copy_up_short(&d, "half");
    d.spawn().unwrap();
    let out = d.docker_ok(&["start", "-a", &copier]);
    assert_eq!(
        out, "conf\nlink\nsub",
        "repopulated from the image, junk gone"
    );
    // Done for good: a later change is not undone by the next start.
    d.docker_ok(&[
        "run",
        "--rm",
        "-v",
        "half:/srv/app",
        "busybox",
        "rm",
        "/srv/app/conf",
    ]);
    assert_eq!(d.docker_ok(&["start", "-a", &copier]), "link\nsub");
    // A container that does not copy finds such a volume empty, never half filled.
    let nocopy = d.docker_ok(&[
        "create",
        "-v",
        "half:/srv/app:nocopy",
        "busybox",
        "ls",
        "-A",
        "/srv/app",
    ]);
    d.kill().unwrap();
    cut_copy_up_short(&d, "half");
    d.spawn().unwrap();
    assert_eq!(d.docker_ok(&["start", "-a", &nocopy]), "");
}

#[test]
fn volume_subpaths_stay_inside_their_volume() {
    let d = daemon();
    d.docker_ok(&[
        "run", "--rm", "-v", "sv:/x", "busybox", "sh", "-c",
        "mkdir -p /x/sub/dir && echo deep > /x/sub/dir/f && ln -s / /x/escape && ln -s ../../.. /x/sub/up",
    ]);
    let mount = |sub: &str| format!("type=volume,src=sv,dst=/s,volume-subpath={sub}");
    assert_eq!(
        d.docker_ok(&[
            "run",
            "--rm",
            "--mount",
            &mount("sub/dir"),
            "busybox",
            "cat",
            "/s/f"
        ]),
        "deep"
    );
    // Links out of the volume resolve inside it: the volume's root, not the host's.
    for sub in ["escape", "sub/up"] {
        let ls = d.docker_ok(&["run", "--rm", "--mount", &mount(sub), "busybox", "ls", "/s"]);
        assert_eq!(ls, "escape\nsub", "{sub}");
    }
    let out = d.docker(&[
        "run",
        "--rm",
        "--mount",
        &mount("missing"),
        "busybox",
        "true",
    ]);
    assert!(
        stderr(&out).contains("cannot access path"),
        "{}",
        stderr(&out)
    );
    let out = d.docker(&["run", "--rm", "--mount", &mount("../x"), "busybox", "true"]);
    assert!(
        stderr(&out).contains("subpath must be a relative path within the volume"),
        "{}",
        stderr(&out)
    );
    assert!(
        d.leftover_mounts()
            .iter()
            .all(|m| !m.contains("/subpaths/")),
        "{:?}",
        d.leftover_mounts()
    );
}

#[test]
fn bind_propagation_needs_a_propagating_source() {
    let d = daemon();
    let src = d.root.path().join("prop");
    std::fs::create_dir_all(&src).unwrap();
    let (mp, shared, slave) = {
        let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        let line = info
            .lines()
            .filter(|l| src.starts_with(l.split(' ').nth(4).unwrap_or("\0")))
            .max_by_key(|l| l.split(' ').nth(4).unwrap_or("").len())
            .unwrap()
            .to_string();
        let f: Vec<&str> = line.split(' ').collect();
        (
            f[4].to_string(),
            line.contains(" shared:"),
            line.contains(" master:"),
        )
    };
    for (prop, refused, what) in [
        ("rshared", !shared, "a shared mount"),
        ("rslave", !shared && !slave, "a shared or slave mount"),
    ] {
        let m = format!(
            "type=bind,src={},dst=/b,bind-propagation={prop}",
            src.display()
        );
        let out = d.docker(&["run", "--rm", "--mount", &m, "busybox", "true"]);
        if refused {
            let want = format!(
                "path {} is mounted on {mp} but it is not {what}",
                src.display()
            );
            assert!(stderr(&out).contains(&want), "{prop}: {}", stderr(&out));
        } else {
            assert!(out.status.success(), "{prop}: {}", stderr(&out));
        }
    }
    let m = format!(
        "type=bind,src={},dst=/b,bind-propagation=rprivate,readonly",
        src.display()
    );
    let out = d.docker_ok(&[
        "run",
        "--rm",
        "--mount",
        &m,
        "busybox",
        "sh",
        "-c",
        "grep ' /b ' /proc/mounts",
    ]);
    assert!(out.contains(" ro,"), "{out}");
}
