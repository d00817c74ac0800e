//! `berth` prints what the docker CLI prints: every command here runs through both clients
//! against the same daemon and the outputs, errors and exit statuses are compared. Where a
//! value changes with the clock ("2 seconds ago"), the comparison uses formats without it
//! or drops those words from both sides.

use std::process::Output;

use berth_tests::compare::{result, same, timeless};
use berth_tests::Daemon;

fn daemon() -> Daemon {
    let d = Daemon::start().expect("start berthd");
    d.import_busybox().expect("import busybox");
    d
}

#[test]
fn ps_and_images_print_like_docker() {
    let d = daemon();
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "-l",
        "a=1",
        "-l",
        "tier=front",
        "busybox",
        "sh",
        "-c",
        "sleep 300; echo a very long command line",
    ]);
    d.docker_ok(&["create", "--name", "idle", "busybox", "true"]);
    let fmt = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.Names}}\t{{.State}}\t{{.Labels}}\t{{.Label \"a\"}}\t{{.Ports}}\t{{.Networks}}";
    let table = same(&d, &["ps", "-a", "--format", fmt]);
    assert!(
        table.starts_with("CONTAINER ID   IMAGE     COMMAND                  NAMES"),
        "{table}"
    );
    assert!(table.contains("\"sh -c sleep 300; ec…\""), "{table}");
    same(&d, &["ps", "-a", "--no-trunc", "--format", fmt]);
    same(&d, &["ps", "-aq"]);
    same(&d, &["ps", "-q", "--no-trunc"]);
    same(
        &d,
        &[
            "ps",
            "-a",
            "--filter",
            "status=created",
            "--format",
            "{{.Names}}",
        ],
    );
    same(&d, &["ps", "-a", "--filter", "label=tier=front", "-q"]);
    same(
        &d,
        &["ps", "-a", "-n", "1", "--format", "{{.Names}} {{.Size}}"],
    );
    same(
        &d,
        &[
            "ps",
            "-a",
            "--format",
            "{{json .Names}} {{upper .State}} {{.Label \"tier\" | printf \"%q\"}}",
        ],
    );
    // The default tables, minus the clock.
    let b = String::from_utf8_lossy(&d.berth(&["ps", "-a"]).stdout).into_owned();
    let k = String::from_utf8_lossy(&d.docker(&["ps", "-a"]).stdout).into_owned();
    assert_eq!(timeless(&b), timeless(&k));

    let images = same(
        &d,
        &[
            "images",
            "--format",
            "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.Size}}\t{{.Digest}}",
        ],
    );
    assert!(images.contains("busybox      latest"), "{images}");
    same(&d, &["images", "-q"]);
    same(&d, &["images", "--no-trunc", "--format", "{{.ID}}"]);
    same(
        &d,
        &[
            "image",
            "ls",
            "busybox",
            "--format",
            "{{.Repository}}:{{.Tag}}",
        ],
    );
    same(
        &d,
        &[
            "images",
            "--digests",
            "--format",
            "table {{.Repository}}\t{{.Digest}}",
        ],
    );
    let b = String::from_utf8_lossy(&d.berth(&["images"]).stdout).into_owned();
    let k = String::from_utf8_lossy(&d.docker(&["images"]).stdout).into_owned();
    assert_eq!(timeless(&b), timeless(&k));
}

#[test]
fn inspect_prints_like_docker() {
    let d = daemon();
    d.docker_ok(&[
        "run", "-d", "--name", "web", "-e", "A=1", "-l", "x=y", "busybox", "sleep", "300",
    ]);
    let full = same(&d, &["inspect", "web"]);
    assert!(full.starts_with("[\n    {\n        \"Id\": "), "{full}");
    same(&d, &["inspect", "web", "busybox"]);
    same(&d, &["inspect", "-f", "json", "web"]);
    same(&d, &["inspect", "-s", "web"]);
    same(&d, &["container", "inspect", "web"]);
    same(&d, &["image", "inspect", "busybox"]);
    same(&d, &["inspect", "--type", "image", "busybox"]);
    for f in [
        "{{.State.Status}} {{.State.Running}} {{.State.ExitCode}} {{.State.OOMKilled}}",
        "{{.Name}} {{.Config.Image}} {{.Config.Cmd}} {{.Config.Entrypoint}} {{.Config.Labels}}",
        "{{json .Config.Env}} {{range .Config.Env}}[{{.}}]{{end}} {{index .Config.Labels \"x\"}}",
        "{{.HostConfig.NetworkMode}} {{.HostConfig.Memory}} {{len .Id}} {{.Mounts}}",
        "{{if .State.Running}}up{{else}}down{{end}} {{with .State}}{{.Pid | printf \"%T\"}}{{end}}",
        "{{.State.Health}}",
        "{{.Nope}}",
        "{{.State.Nope}}",
        "{{",
    ] {
        same(&d, &["inspect", "-f", f, "web"]);
    }
    same(&d, &["inspect", "nope"]);
    same(&d, &["inspect", "web", "nope"]);
    same(&d, &["inspect", "--type", "container", "nope"]);
    same(&d, &["container", "inspect", "nope"]);
    same(&d, &["image", "inspect", "nope"]);
    same(&d, &["inspect", "--type", "bogus", "web"]);
}

/// The same sequence of lifecycle commands through one client; what each printed.
fn lifecycle(d: &Daemon, cli: &str) -> Vec<(String, String, Option<i32>)> {
    let run = |args: &[&str]| {
        if cli == "berth" {
            d.berth(args)
        } else {
            d.docker(args)
        }
    };
    let out = run(&[
        "run",
        "-d",
        "--name",
        "aa",
        "busybox",
        "sh",
        "-c",
        "echo out; echo err >&2; sleep 300",
    ]);
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert_eq!(
        id.len(),
        64,
        "{cli}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    assert!(run(&["create", "--name", "bb", "busybox", "true"])
        .status
        .success());
    // Bounded wait for the output to reach the log.
    for _ in 0..200 {
        if String::from_utf8_lossy(&run(&["logs", "aa"]).stdout).contains("out") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    [
        &["logs", "aa"][..],
        &["logs", "--tail", "1", "aa"],
        &["stop", "-t", "1", "aa", "nope"],
        &["wait", "aa"],
        &["start", "bb", "nope"],
        &["restart", "-t", "0", "bb"],
        &["kill", "nope"],
        &["rename", "bb", "cc"],
        &["rename", "nope", "x"],
        &["rm", "aa", "nope"],
        &["rm", "-f", "cc", "nope"],
        &["container", "prune", "-f"],
    ]
    .iter()
    .map(|args| result(&run(args)))
    .collect()
}

#[test]
fn lifecycle_commands_print_like_docker() {
    let d = daemon();
    let ours = lifecycle(&d, "berth");
    let theirs = lifecycle(&d, "docker");
    assert_eq!(ours, theirs);
    assert_eq!(ours[3].0, "137\n");
}

#[test]
fn errors_and_exit_statuses_like_docker() {
    let d = daemon();
    d.docker_ok(&["run", "-d", "--name", "taken", "busybox", "sleep", "300"]);
    for args in [
        &["run", "--name", "taken", "busybox"][..],
        &["run", "--rm", "busybox", "no-such-command"],
        &["run", "--rm", "busybox", "/etc"],
        &["run", "--rm", "busybox", "sh", "-c", "exit 7"],
        &["run", "--rm", "-m", "12x", "busybox"],
        &["run", "--rm", "--cpus", "abc", "busybox"],
        &["run", "--rm", "--pull", "sometimes", "busybox"],
        &["run", "--rm", "--restart", "always", "busybox"],
        &["run", "--rm", "-a", "bogus", "busybox"],
        &["run", "--rm", "Bad:Image"],
        &["run", "-t", "busybox", "true"],
        &["run", "-d", "-a", "stdout", "busybox"],
        &["run"],
        &["rm"],
        &["logs"],
        &["logs", "a", "b"],
        &["ps", "x"],
        &["ps", "--bogus"],
        &["ps", "-n", "x"],
        &["ps", "--format", "{{.Bogus}}"],
        &["ps", "--format", "{{"],
        &["stop", "nope"],
        &["start", "nope"],
        &["attach", "nope"],
        &["top", "nope"],
        &["tag", "busybox", "bad:tag:x"],
        &["tag", "nope", "x"],
        &["rmi", "nope"],
        &["rmi", "-f", "nope"],
        &["images", "a", "b"],
        &["inspect"],
    ] {
        same(&d, args);
    }
}

#[test]
fn version_and_info_server_sections_like_docker() {
    let d = daemon();
    let server = |o: &Output| {
        let s = String::from_utf8_lossy(&o.stdout).into_owned();
        s[s.find("Server:").expect("a Server section")..].to_string()
    };
    assert_eq!(
        server(&d.berth(&["version"])),
        server(&d.docker(&["version"]))
    );
    // docker prints the runtimes in Go's (random) map order: compared as a set.
    let info = |o: &Output| {
        server(o)
            .lines()
            .map(|l| match l.strip_prefix(" Runtimes: ") {
                Some(names) => {
                    let mut v: Vec<&str> = names.split(' ').collect();
                    v.sort_unstable();
                    format!(" Runtimes: {}", v.join(" "))
                }
                None => l.to_string(),
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(info(&d.berth(&["info"])), info(&d.docker(&["info"])));
    same(
        &d,
        &[
            "version",
            "--format",
            "{{.Server.Version}} {{.Server.APIVersion}} {{.Server.Os}}",
        ],
    );
    same(
        &d,
        &[
            "info",
            "--format",
            "{{.Containers}} {{.Images}} {{.Driver}} {{.Plugins.Volume}} {{json .Plugins.Network}}",
        ],
    );
    let v = String::from_utf8_lossy(&d.berth(&["version"]).stdout).into_owned();
    assert!(v.starts_with("Client:\n Version:           "), "{v}");
}

#[test]
fn history_tag_rmi_and_import_like_docker() {
    let d = daemon();
    same(
        &d,
        &[
            "history",
            "busybox",
            "--format",
            "{{.ID}} {{.CreatedBy}} {{.Size}} {{.Comment}}",
        ],
    );
    same(&d, &["history", "-q", "busybox"]);
    same(
        &d,
        &[
            "history",
            "--no-trunc",
            "-H=false",
            "--format",
            "table {{.ID}}\t{{.Size}}",
        ],
    );
    for cli in ["berth", "docker"] {
        let tag = format!("{cli}-copy:v1");
        let run = |args: &[&str]| {
            if cli == "berth" {
                d.berth(args)
            } else {
                d.docker(args)
            }
        };
        assert!(run(&["tag", "busybox", &tag]).status.success());
        let listed = String::from_utf8_lossy(
            &run(&["images", "--format", "{{.Repository}}:{{.Tag}}"]).stdout,
        )
        .into_owned();
        assert!(listed.contains(&tag), "{cli}: {listed}");
    }
    // Untagging prints the same for both (the image stays: busybox:latest holds it).
    let b = result(&d.berth(&["rmi", "berth-copy:v1"]));
    let k = result(&d.docker(&["rmi", "docker-copy:v1"]));
    assert_eq!(
        b.0.replace("berth-copy", "X"),
        k.0.replace("docker-copy", "X")
    );
    assert_eq!(b.2, Some(0));
    // Import from stdin prints the new image's ID.
    let tar = std::fs::File::open(berth_tests::busybox_tar(d.root.path()).unwrap()).unwrap();
    let out = d
        .berth_cmd(&["import", "-", "from-stdin:1"])
        .stdin(tar)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        printed.starts_with("sha256:") && printed.len() == 71,
        "{printed}"
    );
    let id = d.docker_ok(&["image", "inspect", "-f", "{{.Id}}", "from-stdin:1"]);
    assert_eq!(id, printed);
}

#[test]
fn volume_commands_print_like_docker() {
    let d = daemon();
    same_on_own(
        &d,
        &["volume", "create", "berth-v"],
        &["volume", "create", "docker-v"],
        "berth-",
        "docker-",
    );
    same_on_own(
        &d,
        &[
            "volume",
            "create",
            "--label",
            "a=1",
            "-o",
            "type=tmpfs",
            "-o",
            "device=tmpfs",
            "berth-o",
        ],
        &[
            "volume",
            "create",
            "--label",
            "a=1",
            "-o",
            "type=tmpfs",
            "-o",
            "device=tmpfs",
            "docker-o",
        ],
        "berth-",
        "docker-",
    );
    same_on_own(
        &d,
        &["volume", "create", "x"],
        &["volume", "create", "x"],
        "berth-",
        "docker-",
    );
    same_on_own(
        &d,
        &["volume", "create", "--name", "p", "q"],
        &["volume", "create", "--name", "p", "q"],
        "berth-",
        "docker-",
    );
    d.docker_ok(&[
        "create", "--name", "user", "-v", "v10:/a", "-v", "v2:/b", "-v", "/anon", "busybox", "true",
    ]);
    same(&d, &["volume", "ls"]);
    same(&d, &["volume", "ls", "-q"]);
    same(&d, &["volume", "ls", "--format", "{{.Name}}\t{{.Driver}}\t{{.Scope}}\t{{.Labels}}\t{{.Label \"a\"}}\t{{.Links}}\t{{.Size}}"]);
    same(
        &d,
        &[
            "volume",
            "ls",
            "--format",
            "table {{.Name}}\t{{.Mountpoint}}",
        ],
    );
    same(&d, &["volume", "ls", "--format", "json"]);
    same(&d, &["volume", "ls", "-f", "dangling=true", "-q"]);
    same(
        &d,
        &["volume", "ls", "-f", "label=a", "--format", "{{.Name}}"],
    );
    same(&d, &["volume", "ls", "-f", "bogus=1"]);
    same(&d, &["volume", "inspect", "berth-v", "v10"]);
    same(
        &d,
        &[
            "volume",
            "inspect",
            "-f",
            "{{.Name}} {{.Driver}} {{json .Labels}} {{.Options}}",
            "berth-o",
        ],
    );
    same(&d, &["volume", "inspect", "nope", "v2"]);
    same(&d, &["volume", "rm", "v2", "nope"]);
    same(&d, &["volume", "rm", "-f", "nope"]);
    same(
        &d,
        &[
            "inspect",
            "--type",
            "volume",
            "-f",
            "{{.Mountpoint}}",
            "v10",
        ],
    );
    same(&d, &["inspect", "-f", "{{range .Mounts}}{{.Type}} {{.Destination}} {{.Mode}} {{.RW}} {{.Propagation}}|{{end}}", "user"]);
    same_on_own(
        &d,
        &["volume", "rm", "berth-v"],
        &["volume", "rm", "docker-v"],
        "berth-",
        "docker-",
    );
    same(
        &d,
        &["volume", "prune", "-f", "--filter", "label=nothing-has-it"],
    );
    same(&d, &["volume", "prune", "-a", "-f", "--filter", "all=1"]);
    // One prune each: the same report shape (the idle anonymous volume goes to the first).
    let gone = d.docker_ok(&["create", "-v", "/gone", "busybox", "true"]);
    d.docker_ok(&["rm", &gone]);
    let b = result(&d.berth(&["volume", "prune", "-f"]));
    assert!(
        b.0.starts_with("Deleted Volumes:\n<id>\n\nTotal reclaimed space: "),
        "{}",
        b.0
    );
    same(&d, &["volume", "prune", "-f"]);
    same(
        &d,
        &[
            "system",
            "df",
            "--format",
            "{{.Type}} {{.TotalCount}} {{.Active}} {{.Size}} {{.Reclaimable}}",
        ],
    );
    same(&d, &["volume", "create", "a/b"]);
    same(&d, &["volume", "create", "-d", "nope", "vv"]);
}

#[test]
fn cp_prints_like_docker() {
    let d = daemon();
    d.docker_ok(&[
        "run",
        "--name",
        "box",
        "busybox",
        "sh",
        "-c",
        "mkdir /d && echo x > /d/f && ln -s nowhere /l",
    ]);
    // The link is relative and leads nowhere: the docker CLI follows a destination that is a
    // symlink (berth's copy of `/l`, made first) on the host, so an absolute target would
    // send it outside the test's directory (`/d` at the host's root), and one to `d` would
    // change what the later copies of `d` send.
    let dir = d.root.path().join("cp-out");
    std::fs::create_dir_all(&dir).unwrap();
    let p = |s: &str| dir.join(s).display().to_string();
    // Not on a terminal: nothing is printed for a successful copy.
    same(&d, &["cp", "box:/d/f", &p("f")]);
    same(&d, &["cp", "box:/d", &p("d")]);
    same(&d, &["cp", &p("f"), "box:/tmp/"]);
    same(&d, &["cp", "-q", "box:/l", &p("l")]);
    same(&d, &["cp", "box:/nope", &p("x")]);
    same(&d, &["cp", &p("f"), "box:/nope/x"]);
    same(&d, &["cp", &p("f"), "nobox:/tmp"]);
    same(&d, &["cp", "box:/a", "box:/b"]);
    same(&d, &["cp", "a", "b"]);
    same(&d, &["cp", "box:/d", &p("missing-parent/x")]);
    // The docker CLI starts to tar the source before it refuses to copy a directory onto a
    // file, and logs the broken pipe if its tar is still being written: the CLI's timing.
    let args = ["cp", &p("d"), "box:/d/f"];
    let b = result(&d.berth(&args));
    let k = result(&d.docker(&args));
    let k_err: String =
        k.1.lines()
            .filter(|l| !l.contains("read/write on closed pipe"))
            .map(|l| format!("{l}\n"))
            .collect();
    assert_eq!(b, (k.0, k_err, k.2), "berth and docker differ for {args:?}");
    same(&d, &["cp", "-", "box:/d/f"]);
}

/// `berth args_b` and `docker args_k` (the same command on objects of their own) print the
/// same once `name_b` is written `name_k`.
fn same_on_own(d: &Daemon, args_b: &[&str], args_k: &[&str], name_b: &str, name_k: &str) {
    let b = result(&d.berth(args_b));
    let k = result(&d.docker(args_k));
    let b = (
        b.0.replace(name_b, name_k),
        b.1.replace(name_b, name_k),
        b.2,
    );
    assert_eq!(b, k, "berth {args_b:?} and docker {args_k:?} differ");
}

#[test]
fn network_and_port_commands_print_like_docker() {
    let d = daemon();
    let (s1, s2) = (d.net.subnet(240), d.net.subnet(241));
    same_on_own(
        &d,
        &[
            "network",
            "create",
            "--subnet",
            &s1,
            "--label",
            "tier=db",
            "--internal",
            "net-b",
        ],
        &[
            "network",
            "create",
            "--subnet",
            &s2,
            "--label",
            "tier=db",
            "--internal",
            "net-k",
        ],
        "net-b",
        "net-k",
    );
    same(&d, &["network", "create", "net-b"]);
    same(&d, &["network", "create", "--subnet", &s1, "overlap"]);
    same(
        &d,
        &["network", "create", "--subnet", "10.0.0.0/33", "badcidr"],
    );
    same(
        &d,
        &["network", "create", "--ip-range", "10.9.0.0/24", "norange"],
    );
    same(&d, &["network", "create", "-o", "colour=blue", "badopt"]);
    same(&d, &["network", "create", "--driver", "macvlan", "mv"]);
    for args in [
        &["network", "ls"][..],
        &["network", "ls", "-q"],
        &["network", "ls", "--no-trunc"],
        &["network", "ls", "--filter", "driver=bridge", "--filter", "type=custom"],
        &["network", "ls", "--filter", "label=tier=db", "--format", "{{.Name}} {{.Driver}} {{.Internal}} {{.IPv6}} {{.Labels}} {{.Label \"tier\"}}"],
        &["network", "ls", "--format", "json"],
        &["network", "ls", "--format", "table {{.Name}}\t{{.Scope}}\t{{.Internal}}"],
        &["network", "ls", "--filter", "bogus=1"],
        &["network", "inspect", "net-b"],
        &["network", "inspect", "-f", "{{.Name}} {{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}} {{.Internal}} {{len .Containers}}", "net-b", "bridge"],
        &["network", "inspect", "nosuch"],
    ] {
        same(&d, args);
    }
    // Containers on networks, published ports.
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        "pc",
        "-p",
        "127.0.0.1::80",
        "-p",
        "127.0.0.1::53/udp",
        "--expose",
        "81",
        "busybox",
        "sleep",
        "300",
    ]);
    d.docker_ok(&["run", "-d", "--name", "pk", "busybox", "sleep", "300"]);
    for args in [
        &["port", "pc"][..],
        &["port", "pc", "80"],
        &["port", "pc", "53/udp"],
        &["port", "pc", "81"],
        &["port", "pc", "x"],
        &["port", "nosuch"],
        &["container", "port", "pc", "80/tcp"],
        &["ps", "--format", "{{.Names}}\t{{.Ports}}\t{{.Networks}}"],
        &["network", "connect", "nosuch", "pc"],
        &["network", "disconnect", "net-b", "pc"],
    ] {
        same(&d, args);
    }
    same_on_own(
        &d,
        &["network", "connect", "--alias", "web", "net-b", "pc"],
        &["network", "connect", "--alias", "web", "net-k", "pk"],
        "net-b",
        "net-k",
    );
    same(&d, &["network", "connect", "net-b", "pc"]);
    same(&d, &["network", "rm", "net-b"]);
    same(&d, &["network", "rm", "bridge"]);
    same(&d, &["network", "rm", "nosuch"]);
    same(&d, &["network", "rm", "-f", "nosuch"]);
    same_on_own(
        &d,
        &["network", "disconnect", "net-b", "pc"],
        &["network", "disconnect", "net-k", "pk"],
        "net-b",
        "net-k",
    );
    same_on_own(
        &d,
        &["network", "rm", "net-b"],
        &["network", "rm", "net-k"],
        "net-b",
        "net-k",
    );
    d.docker_ok(&["network", "create", "idle-b"]);
    let b = result(&d.berth(&["network", "prune", "-f"]));
    assert_eq!(b.0, "Deleted Networks:\nidle-b\n\n");
    d.docker_ok(&["network", "create", "idle-k"]);
    let k = result(&d.docker(&["network", "prune", "-f"]));
    assert_eq!((b.0.replace("idle-b", "idle-k"), b.1, b.2), k);
    same(&d, &["network", "prune", "-f"]);
}
