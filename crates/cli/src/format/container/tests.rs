//! `ps` formatting against the expectations of docker/cli's
//! `cli/command/formatter/container_test.go` (and its golden file).

use std::collections::BTreeMap;

use api_types::MountPoint;

use super::*;
use crate::format::table::render;

const NOW: f64 = 1_700_000_000.0;

fn ctx(c: ContainerSummary, trunc: bool) -> ContainerContext {
    ContainerContext {
        c,
        trunc,
        now: NOW,
        zone: Zone::utc_static(),
        size_used: Rc::new(Cell::new(false)),
    }
}

fn field(c: ContainerSummary, trunc: bool, name: &str) -> String {
    ctx(c, trunc)
        .call(name, &[])
        .unwrap()
        .unwrap()
        .to_go_string()
}

fn summary(f: impl FnOnce(&mut ContainerSummary)) -> ContainerSummary {
    let mut c = ContainerSummary::default();
    f(&mut c);
    c
}

#[test]
fn ps_context_fields() {
    let id = "a".repeat(64);
    assert_eq!(
        field(summary(|c| c.id = id.clone()), true, "ID"),
        "a".repeat(12)
    );
    assert_eq!(field(summary(|c| c.id = id.clone()), false, "ID"), id);
    assert_eq!(
        field(
            summary(|c| c.names = vec!["/foobar_baz".into()]),
            true,
            "Names"
        ),
        "foobar_baz"
    );
    assert_eq!(
        field(
            summary(|c| c.names = vec!["/a".into(), "/b/link".into()]),
            true,
            "Names"
        ),
        "a"
    );
    assert_eq!(
        field(
            summary(|c| c.names = vec!["/a".into(), "/b/link".into()]),
            false,
            "Names"
        ),
        "a,b/link"
    );
    assert_eq!(
        field(summary(|c| c.image = "ubuntu".into()), true, "Image"),
        "ubuntu"
    );
    assert_eq!(
        field(
            summary(|c| c.image = "verylongimagename".into()),
            false,
            "Image"
        ),
        "verylongimagename"
    );
    let with_id = |c: &mut ContainerSummary| {
        c.image = "a5a665ff33eced1e0803148700880edab4".into();
        c.image_id = "a5a665ff33eced1e0803148700880edab4269067ed77e27737a708d0d293fbf5".into();
    };
    assert_eq!(field(summary(with_id), true, "Image"), "a5a665ff33ec");
    assert_eq!(
        field(summary(with_id), false, "Image"),
        "a5a665ff33eced1e0803148700880edab4"
    );
    let digest = format!("ubuntu@sha256:{}", "b".repeat(64));
    assert_eq!(
        field(summary(|c| c.image = digest.clone()), true, "Image"),
        "ubuntu"
    );
    assert_eq!(
        field(
            summary(|c| c.image = format!("ubuntu:22.04@sha256:{}", "b".repeat(64))),
            true,
            "Image"
        ),
        "ubuntu:22.04"
    );
    assert_eq!(
        field(summary(|c| c.image = String::new()), true, "Image"),
        "<no image>"
    );
    assert_eq!(
        field(
            summary(|c| c.command = "sh -c 'ls -la'".into()),
            true,
            "Command"
        ),
        "\"sh -c 'ls -la'\""
    );
    assert_eq!(
        field(
            summary(|c| c.command = "httpd -f -v -p 8080 -h /www".into()),
            true,
            "Command"
        ),
        "\"httpd -f -v -p 8080…\""
    );
    assert_eq!(
        field(summary(|c| c.created = 1_699_999_935), true, "CreatedAt"),
        "2023-11-14 22:12:15 +0000 UTC"
    );
    assert_eq!(
        field(
            summary(|c| c.ports = vec![Port {
                private_port: 8080,
                public_port: Some(8080),
                r#type: "tcp".into(),
                ..Default::default()
            }]),
            true,
            "Ports"
        ),
        "8080/tcp"
    );
    assert_eq!(
        field(
            summary(|c| c.status = "Up 123 seconds".into()),
            true,
            "Status"
        ),
        "Up 123 seconds"
    );
    assert_eq!(
        field(summary(|c| c.state = "running".into()), true, "State"),
        "running"
    );
    assert_eq!(
        field(summary(|c| c.size_rw = Some(10)), true, "Size"),
        "10B"
    );
    assert_eq!(
        field(
            summary(|c| {
                c.size_rw = Some(10);
                c.size_root_fs = Some(20)
            }),
            true,
            "Size"
        ),
        "10B (virtual 20B)"
    );
    assert_eq!(field(summary(|_| {}), true, "Labels"), "");
    let labels: BTreeMap<String, String> = [("cpu", "6"), ("storage", "ssd")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(
        field(summary(|c| c.labels = labels.clone()), true, "Labels"),
        "cpu=6,storage=ssd"
    );
    assert_eq!(
        field(
            summary(|c| c.created = (NOW - 65.0) as i64),
            true,
            "RunningFor"
        ),
        "About a minute ago"
    );
    let long = MountPoint {
        name: "this-is-a-long-volume-name-and-will-be-truncated-if-trunc-is-set".into(),
        driver: "local".into(),
        source: "/a/path".into(),
        ..Default::default()
    };
    assert_eq!(
        field(summary(|c| c.mounts = vec![long.clone()]), true, "Mounts"),
        "this-is-a-long…"
    );
    assert_eq!(
        field(
            summary(|c| c.mounts = vec![long.clone()]),
            true,
            "LocalVolumes"
        ),
        "1"
    );
    let anon = MountPoint {
        driver: "local".into(),
        source: "/a/path".into(),
        ..Default::default()
    };
    assert_eq!(
        field(summary(|c| c.mounts = vec![anon]), false, "Mounts"),
        "/a/path"
    );

    let swarm: BTreeMap<String, String> = [
        ("com.docker.swarm.swarm-id", "33"),
        ("com.docker.swarm.node_name", "ubuntu"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let c = ctx(summary(|c| c.labels = swarm), true);
    assert_eq!(
        c.call("Label", &["com.docker.swarm.swarm-id".into()])
            .unwrap()
            .unwrap(),
        Value::from("33")
    );
    assert_eq!(
        c.call("Label", &["anything.really".into()])
            .unwrap()
            .unwrap(),
        Value::from("")
    );
}

fn two_containers() -> Vec<Value> {
    let created = (NOW - 86400.0) as i64;
    ["foobar_baz", "foobar_bar"]
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let c = summary(|c| {
                c.id = format!("containerID{}", i + 1);
                c.names = vec![format!("/{n}")];
                c.image = "ubuntu".into();
                c.created = created;
                c.state = "running".into();
            });
            Value::Object(Rc::new(ctx(c, true)))
        })
        .collect()
}

fn write(format: &str) -> Result<String, crate::format::table::FormatError> {
    render(format, &container_header(), &two_containers())
}

#[test]
fn ps_write_cases() {
    assert_eq!(
        write("{{InvalidFunction}}").unwrap_err().to_string(),
        "template parsing error: template: :1: function \"InvalidFunction\" not defined"
    );
    assert_eq!(
        write("{{nil}}").unwrap_err().to_string(),
        "template parsing error: template: :1:2: executing \"\" at <nil>: nil is not a command"
    );
    assert_eq!(
        write(&container_format("table", false, true)).unwrap(),
        "CONTAINER ID   IMAGE     COMMAND   CREATED        STATUS    PORTS     NAMES        SIZE\n\
         containerID1   ubuntu    \"\"        24 hours ago                       foobar_baz   0B\n\
         containerID2   ubuntu    \"\"        24 hours ago                       foobar_bar   0B\n"
    );
    assert_eq!(
        write(&container_format("table", false, false)).unwrap(),
        "CONTAINER ID   IMAGE     COMMAND   CREATED        STATUS    PORTS     NAMES\n\
         containerID1   ubuntu    \"\"        24 hours ago                       foobar_baz\n\
         containerID2   ubuntu    \"\"        24 hours ago                       foobar_bar\n"
    );
    assert_eq!(
        write(&container_format("table {{.Image}}", false, false)).unwrap(),
        "IMAGE\nubuntu\nubuntu\n"
    );
    assert_eq!(
        write(&container_format("table {{.Image}}", true, false)).unwrap(),
        "containerID1\ncontainerID2\n"
    );
    assert_eq!(
        write(&container_format("table", true, false)).unwrap(),
        "containerID1\ncontainerID2\n"
    );
    assert_eq!(
        write(&container_format("table {{.State}}", false, true)).unwrap(),
        "STATE\nrunning\nrunning\n"
    );
    let t = "2023-11-13 22:13:20 +0000 UTC";
    assert_eq!(
        write(&container_format("raw", false, false)).unwrap(),
        format!("container_id: containerID1\nimage: ubuntu\ncommand: \"\"\ncreated_at: {t}\nstate: running\nstatus:\nnames: foobar_baz\nlabels:\nports:\n\ncontainer_id: containerID2\nimage: ubuntu\ncommand: \"\"\ncreated_at: {t}\nstate: running\nstatus:\nnames: foobar_bar\nlabels:\nports:\n\n")
    );
    assert_eq!(
        write(&container_format("raw", true, false)).unwrap(),
        "container_id: containerID1\ncontainer_id: containerID2\n"
    );
    assert_eq!(write("{{.Image}}").unwrap(), "ubuntu\nubuntu\n");
    // docker's container-context-write-special-headers.golden
    assert_eq!(
        write(&container_format(r"table {{truncate .ID 5}}\t{{json .Image}} {{.RunningFor}}/{{title .Status}}/{{pad .Ports 2 2}}.{{upper .Names}} {{lower .Status}}", false, true)).unwrap(),
        "CONTAINER ID   IMAGE CREATED/STATUS/  PORTS  .NAMES STATUS\n\
         conta          \"ubuntu\" 24 hours ago//.FOOBAR_BAZ \n\
         conta          \"ubuntu\" 24 hours ago//.FOOBAR_BAR \n"
    );
    assert_eq!(
        write(&container_format(
            r#"table {{split .Image ":"}}"#,
            false,
            false
        ))
        .unwrap(),
        "IMAGE\n[ubuntu]\n[ubuntu]\n"
    );
}

#[test]
fn ps_write_without_containers() {
    let none = |f: &str| render(f, &container_header(), &[]).unwrap();
    assert_eq!(none("{{.Image}}"), "");
    assert_eq!(none("table {{.Image}}"), "IMAGE\n");
    assert_eq!(none("table {{.Image}}\t{{.Size}}"), "IMAGE     SIZE\n");
}

#[test]
fn ps_write_json() {
    let out = write("{{json .}}").unwrap();
    let first: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    let want = serde_json::json!({
        "Command": "\"\"", "CreatedAt": "2023-11-13 22:13:20 +0000 UTC", "ID": "containerID1", "Image": "ubuntu",
        "Labels": "", "LocalVolumes": "0", "Mounts": "", "Names": "foobar_baz", "Networks": "", "Platform": null,
        "Ports": "", "RunningFor": "24 hours ago", "Size": "0B", "State": "running", "Status": ""
    });
    assert_eq!(first, want);
    assert_eq!(
        write("{{json .Names}}").unwrap(),
        "\"foobar_baz\"\n\"foobar_bar\"\n"
    );
}

#[test]
fn size_use_is_detected() {
    let c = ctx(ContainerSummary::default(), true);
    let used = c.size_used.clone();
    let v = Value::Object(Rc::new(c));
    gotemplate::Template::docker("{{.Names}}")
        .unwrap()
        .execute(&v)
        .unwrap();
    assert!(!used.get());
    gotemplate::Template::docker("{{.Names}} {{.Size}}")
        .unwrap()
        .execute(&v)
        .unwrap();
    assert!(used.get());
}

fn port(ip: &str, private: u16, public: Option<u16>, ty: &str) -> Port {
    Port {
        ip: ip.into(),
        private_port: private,
        public_port: public,
        r#type: ty.into(),
    }
}

#[test]
fn displayable_ports_like_docker() {
    let cases: Vec<(Vec<Port>, &str)> = vec![
        (vec![port("", 9988, None, "tcp")], "9988/tcp"),
        (vec![port("", 9988, None, "udp")], "9988/udp"),
        (vec![port("0.0.0.0", 9988, None, "tcp")], "0.0.0.0:0->9988/tcp"),
        (vec![port("::", 9988, None, "tcp")], "[::]:0->9988/tcp"),
        (vec![port("", 9988, Some(8899), "tcp")], "9988/tcp"),
        (vec![port("4.3.2.1", 9988, Some(8899), "tcp")], "4.3.2.1:8899->9988/tcp"),
        (vec![port("::1", 9988, Some(8899), "tcp")], "[::1]:8899->9988/tcp"),
        (vec![port("4.3.2.1", 9988, Some(9988), "tcp")], "4.3.2.1:9988->9988/tcp"),
        (vec![port("::1", 9988, Some(9988), "tcp")], "[::1]:9988->9988/tcp"),
        (vec![port("", 9988, None, "udp"), port("", 9988, None, "udp")], "9988/udp, 9988/udp"),
        (vec![port("1.2.3.4", 9998, Some(9998), "udp"), port("1.2.3.4", 9999, Some(9999), "udp")], "1.2.3.4:9998-9999->9998-9999/udp"),
        (vec![port("::1", 9998, Some(9998), "udp"), port("::1", 9999, Some(9999), "udp")], "[::1]:9998-9999->9998-9999/udp"),
        (vec![port("1.2.3.4", 9998, Some(8887), "udp"), port("1.2.3.4", 9999, Some(8888), "udp")], "1.2.3.4:8887->9998/udp, 1.2.3.4:8888->9999/udp"),
        (vec![port("", 9998, None, "udp"), port("", 9999, None, "udp")], "9998-9999/udp"),
        (vec![port("1.2.3.4", 6677, Some(7766), "tcp"), port("", 9988, Some(8899), "udp")], "9988/udp, 1.2.3.4:7766->6677/tcp"),
        (
            vec![port("1.2.3.4", 9988, Some(8899), "udp"), port("1.2.3.4", 9988, Some(8899), "tcp"), port("4.3.2.1", 2233, Some(3322), "tcp"), port("::1", 2233, Some(3322), "tcp")],
            "4.3.2.1:3322->2233/tcp, [::1]:3322->2233/tcp, 1.2.3.4:8899->9988/tcp, 1.2.3.4:8899->9988/udp",
        ),
        (
            vec![
                port("", 80, None, "tcp"), port("", 1024, None, "tcp"), port("", 80, None, "udp"), port("", 1024, None, "udp"),
                port("1.1.1.1", 1024, Some(80), "tcp"), port("1.1.1.1", 1024, Some(80), "udp"), port("1.1.1.1", 80, Some(1024), "tcp"),
                port("1.1.1.1", 80, Some(1024), "udp"), port("2.1.1.1", 1024, Some(80), "tcp"), port("2.1.1.1", 1024, Some(80), "udp"),
                port("2.1.1.1", 80, Some(1024), "tcp"), port("2.1.1.1", 80, Some(1024), "udp"), port("", 12345, None, "sctp"),
            ],
            "80/tcp, 80/udp, 1024/tcp, 1024/udp, 12345/sctp, 1.1.1.1:1024->80/tcp, 1.1.1.1:1024->80/udp, 2.1.1.1:1024->80/tcp, 2.1.1.1:1024->80/udp, 1.1.1.1:80->1024/tcp, 1.1.1.1:80->1024/udp, 2.1.1.1:80->1024/tcp, 2.1.1.1:80->1024/udp",
        ),
    ];
    for (ports, want) in cases {
        assert_eq!(displayable_ports(&ports), want);
    }
}

#[test]
fn ellipsis_like_docker() {
    assert_eq!(ellipsis("abcdefg", 5), "abcd…");
    assert_eq!(ellipsis("abc", 5), "abc");
    assert_eq!(ellipsis("abc", 1), "a");
    assert_eq!(ellipsis("abc", 0), "");
    assert_eq!(ellipsis("你好世界", 5), "你好…");
}
