//! The client against a real `berthd` (the test harness's `Daemon`): version negotiation,
//! the image and container endpoints, logs demultiplexing, hijacked attach with half-close,
//! TTY resize, events, and the errors the daemon returns.

use std::collections::BTreeMap;
use std::time::Duration;

use api_types::{ContainerConfig, ContainerCreateRequest};
use berth_tests::Daemon;
use client::image::collect_progress;
use client::{
    AttachOptions, Client, Demux, ErrorKind, EventsOptions, ImportOptions, ListContainersOptions,
    ListImagesOptions, LogsOptions, RemoveOptions, StdStream, StopOptions, Upload, WaitCondition,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const T: Duration = Duration::from_secs(30);

/// A daemon with `busybox:latest` imported through the client itself.
async fn setup() -> (Daemon, Client) {
    let d = Daemon::start().expect("start berthd");
    let c = Client::unix(&d.socket);
    let tar = std::fs::File::open(berth_tests::busybox_tar(d.root.path()).unwrap()).unwrap();
    let opts = ImportOptions {
        from_src: "-".into(),
        repo: Some("busybox:latest".into()),
        changes: vec!["CMD [\"sh\"]".into()],
        ..Default::default()
    };
    let msgs = collect_progress(c.image_import(&opts, Upload::file(tar)).await.unwrap())
        .await
        .unwrap();
    let last = msgs
        .last()
        .and_then(|m| m.status.clone())
        .unwrap_or_default();
    assert!(last.starts_with("sha256:"), "{msgs:?}");
    (d, c)
}

fn config(cmd: &[&str]) -> ContainerCreateRequest {
    ContainerCreateRequest {
        config: ContainerConfig {
            image: "busybox".into(),
            cmd: Some(cmd.iter().map(|s| s.to_string()).collect::<Vec<_>>().into()),
            attach_stdout: true,
            attach_stderr: true,
            ..Default::default()
        },
        ..Default::default()
    }
}

#[tokio::test]
async fn negotiates_the_version_and_describes_the_daemon() {
    let (_d, c) = setup().await;
    let ping = c.ping().await.unwrap();
    assert_eq!(ping.os_type, "linux");
    assert_eq!(
        c.api_version().await.unwrap(),
        client::negotiate(&ping.api_version)
    );
    let v = c.version().await.unwrap();
    assert_eq!(v.api_version, ping.api_version);
    let info = c.info().await.unwrap();
    assert_eq!(info.images, 1);
    // A pinned version is used as is.
    let pinned = Client::unix(&_d.socket).with_version("1.41");
    assert_eq!(pinned.api_version().await.unwrap(), "1.41");
    assert!(pinned.version().await.is_ok());
}

#[tokio::test]
async fn images_list_inspect_tag_history_and_remove() {
    let (_d, c) = setup().await;
    let list = c.image_list(&ListImagesOptions::default()).await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].repo_tags, vec!["busybox:latest"]);
    let img = c.image_inspect("busybox").await.unwrap();
    assert_eq!(img.id, list[0].id);
    assert_eq!(img.config.cmd.as_deref().unwrap(), &["sh".to_string()]);
    c.image_tag("busybox", "docker.io/library/copy", Some("v1"))
        .await
        .unwrap();
    assert!(c.image_inspect("copy:v1").await.is_ok());
    assert!(!c.image_history("busybox").await.unwrap().is_empty());
    let removed = c.image_remove("copy:v1", false, false).await.unwrap();
    assert_eq!(removed[0].untagged.as_deref(), Some("copy:v1"));
    let e = c.image_inspect("nope").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(
        e.to_string(),
        "Error response from daemon: No such image: nope:latest"
    );
}

#[tokio::test]
async fn container_lifecycle_logs_and_errors() {
    let (_d, c) = setup().await;
    let created = c
        .container_create(
            &config(&["sh", "-c", "echo out; echo err >&2; exit 3"]),
            Some("job"),
        )
        .await
        .unwrap();
    // Registered before start, so the exit cannot be missed.
    let wait = c
        .container_wait(&created.id, WaitCondition::NextExit)
        .await
        .unwrap();
    c.container_start(&created.id).await.unwrap();
    let res = tokio::time::timeout(T, wait.result())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(res.status_code, 3);

    let logs = c
        .container_logs("job", &LogsOptions::default())
        .await
        .unwrap();
    let mut demux = Demux::new(logs);
    let mut got: BTreeMap<&str, String> = BTreeMap::new();
    while let Some(f) = demux.next_frame().await.unwrap() {
        let key = if f.stream == StdStream::Stderr {
            "err"
        } else {
            "out"
        };
        got.entry(key)
            .or_default()
            .push_str(&String::from_utf8_lossy(&f.data));
    }
    assert_eq!(got["out"], "out\n");
    assert_eq!(got["err"], "err\n");

    let info = c.container_inspect("job", false).await.unwrap();
    assert_eq!(
        (info.state.status.as_str(), info.state.exit_code),
        ("exited", 3)
    );
    let all = c
        .container_list(&ListContainersOptions {
            all: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
    assert!(c
        .container_list(&ListContainersOptions::default())
        .await
        .unwrap()
        .is_empty());

    // A second container by the same name is a conflict naming the holder.
    let e = c
        .container_create(&config(&["true"]), Some("job"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict);
    assert!(e.to_string().contains(&created.id), "{e}");
    c.container_rename("job", "job2").await.unwrap();
    c.container_remove("job2", RemoveOptions::default())
        .await
        .unwrap();
    let e = c.container_start("job2").await.unwrap_err();
    assert!(e.is_not_found());
    assert_eq!(
        e.to_string(),
        "Error response from daemon: No such container: job2"
    );
    let e = c.container_create(&config(&["true"]), Some("x")).await;
    assert!(e.is_err(), "one-character names are invalid");
}

#[tokio::test]
async fn attach_streams_both_ways_and_half_closes() {
    let (_d, c) = setup().await;
    let mut req = config(&["sh", "-c", "cat; echo done >&2"]);
    req.config.open_stdin = true;
    req.config.stdin_once = true;
    req.config.attach_stdin = true;
    let id = c.container_create(&req, None).await.unwrap().id;
    let opts = AttachOptions {
        stream: true,
        stdin: true,
        stdout: true,
        stderr: true,
        ..Default::default()
    };
    let mut conn = c.container_attach(&id, &opts).await.unwrap();
    let wait = c
        .container_wait(&id, WaitCondition::NextExit)
        .await
        .unwrap();
    c.container_start(&id).await.unwrap();
    conn.writer.write_all(b"hello\nworld\n").await.unwrap();
    // Half-close: the container's cat sees EOF; output keeps coming.
    conn.writer.close_write().await.unwrap();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    tokio::time::timeout(T, Demux::new(conn.reader).copy_to(&mut out, &mut err))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out), "hello\nworld\n");
    assert_eq!(String::from_utf8_lossy(&err), "done\n");
    assert_eq!(
        tokio::time::timeout(T, wait.result())
            .await
            .unwrap()
            .unwrap()
            .status_code,
        0
    );
}

#[tokio::test]
async fn tty_attach_is_raw_and_resizable() {
    let (_d, c) = setup().await;
    let mut req = config(&["sh", "-c", "read line; echo got-$line; exit 4"]);
    req.config.tty = true;
    req.config.open_stdin = true;
    req.config.attach_stdin = true;
    let id = c.container_create(&req, None).await.unwrap().id;
    let opts = AttachOptions {
        stream: true,
        stdin: true,
        stdout: true,
        stderr: true,
        ..Default::default()
    };
    let mut conn = c.container_attach(&id, &opts).await.unwrap();
    let wait = c
        .container_wait(&id, WaitCondition::NextExit)
        .await
        .unwrap();
    c.container_start(&id).await.unwrap();
    c.container_resize(&id, 30, 100).await.unwrap();
    conn.writer.write_all(b"abc\r").await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(T, conn.reader.read_to_end(&mut raw))
        .await
        .unwrap()
        .unwrap();
    // No 8-byte frame headers with a TTY: the pty's bytes as they are.
    assert!(
        String::from_utf8_lossy(&raw).contains("got-abc"),
        "{:?}",
        String::from_utf8_lossy(&raw)
    );
    assert_eq!(
        tokio::time::timeout(T, wait.result())
            .await
            .unwrap()
            .unwrap()
            .status_code,
        4
    );
}

#[tokio::test]
async fn stop_kill_top_events_and_prune() {
    let (_d, c) = setup().await;
    let mut events = c.events(&EventsOptions::default()).await.unwrap();
    let id = c
        .container_create(&config(&["sleep", "300"]), Some("sleeper"))
        .await
        .unwrap()
        .id;
    c.container_start(&id).await.unwrap();
    let top = c.container_top(&id, None).await.unwrap();
    assert!(
        top.processes
            .iter()
            .any(|p| p.iter().any(|f| f.contains("sleep"))),
        "{top:?}"
    );
    // sleep as PID 1 ignores SIGTERM: stop falls back to SIGKILL after the timeout.
    c.container_stop(
        &id,
        &StopOptions {
            signal: None,
            timeout: Some(1),
        },
    )
    .await
    .unwrap();
    assert_eq!(
        c.container_inspect(&id, false)
            .await
            .unwrap()
            .state
            .exit_code,
        137
    );
    let mut actions = Vec::new();
    while !actions.contains(&"die".to_string()) {
        let ev = tokio::time::timeout(T, events.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if ev.actor.id == id {
            actions.push(ev.action);
        }
    }
    assert!(actions.contains(&"start".to_string()), "{actions:?}");
    c.container_start(&id).await.unwrap();
    c.container_kill(&id, Some("KILL")).await.unwrap();
    let res = c
        .container_wait(&id, WaitCondition::NotRunning)
        .await
        .unwrap()
        .result()
        .await
        .unwrap();
    assert_eq!(res.status_code, 137);
    let report = c.containers_prune(&Default::default()).await.unwrap();
    assert_eq!(report.containers_deleted.unwrap_or_default(), vec![id]);
}
