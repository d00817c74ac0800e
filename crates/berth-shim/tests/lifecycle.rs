//! The shim's life apart from its spawner: detachment, reconnection, exit while the daemon is
//! down, log rotation; and the shim's memory footprint.

mod common;

use std::io::BufRead;
use std::time::Duration;

use common::*;
use runtime::logfile::LogConfig;
use runtime::shim::{ShimConfig, ShimHandle, Status};

#[tokio::test]
async fn shim_survives_a_killed_spawner_and_reconnects() {
    let f = Fixture::new("survive");
    let spec = f.spec(&["sh", "-c", "read x; echo got $x; exit 4"]);
    let oci = runtime::spec::build(&spec).unwrap();
    runtime::spec::write_bundle(&f.bundle, &oci).unwrap();
    let cfg = ShimConfig {
        open_stdin: true,
        ..f.config(&spec)
    };
    std::fs::create_dir_all(&f.state_dir).unwrap();
    std::fs::write(
        f.state_dir.join(runtime::shim::CONFIG_FILE),
        serde_json::to_vec(&cfg).unwrap(),
    )
    .unwrap();
    // A stand-in "daemon": a shell that spawns the shim, then would live on (without the
    // pipe, so that a shim that never answers gives EOF here instead of a hang).
    let mut daemon = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{SHIM} {}; exec sleep 1000 >/dev/null",
            f.state_dir.display()
        ))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(daemon.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let reply: runtime::shim::SpawnReply = serde_json::from_str(&line).unwrap();
    assert!(reply.error.is_none(), "{line}");
    daemon.kill().unwrap();
    daemon.wait().unwrap();

    let h = ShimHandle::connect(&f.state_dir).await.unwrap();
    assert_eq!(Some(h.pid()), reply.pid);
    let shim_pid = h.shim_pid();
    let stat = std::fs::read_to_string(format!("/proc/{shim_pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    assert_eq!(
        fields[3],
        shim_pid.to_string(),
        "the shim leads its own session"
    );
    assert_ne!(
        fields[1],
        daemon.id().to_string(),
        "the shim is not the daemon's child"
    );

    let mut s = h.attach(true, true, true).await.unwrap();
    h.start().await.unwrap();
    // "Daemon restart": a new handle from the state dir only.
    let h2 = ShimHandle::connect(&f.state_dir).await.unwrap();
    assert_eq!(h2.state().await.unwrap().status, Status::Running);
    write_all(&mut s, b"ping\n").await;
    let (out, _) = read_multiplexed(s).await;
    assert_eq!(out, "got ping\n");
    assert_eq!(with_timeout(h2.wait()).await.unwrap().exit_code, 4);
}

#[tokio::test]
async fn exit_while_daemon_is_down_leaves_the_record() {
    let f = Fixture::new("down");
    let h = f.spawn(&f.spec(&["sh", "-c", "exit 7"])).await.unwrap();
    h.start().await.unwrap();
    let shim_pid = h.shim_pid();
    drop(h);
    // Nobody waits: the shim must finish on its own. Bounded poll for it to go away.
    for _ in 0..500 {
        if !runtime::sys::process_alive(shim_pid)
            || std::fs::read_to_string(format!("/proc/{shim_pid}/stat"))
                .is_ok_and(|s| s.contains(") Z "))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let rec = runtime::shim::read_exit_record(&f.state_dir)
        .unwrap()
        .expect("exit record");
    assert_eq!(rec.exit_code, 7);
    // A reconnecting daemon learns the same through wait().
    let err = ShimHandle::connect(&f.state_dir).await.unwrap_err();
    assert_eq!(err.kind(), runtime::ErrorKind::NotFound);
}

#[tokio::test]
async fn log_rotates_and_reads_back_in_order() {
    let f = Fixture::new("rotate");
    let spec = f.spec(&[
        "sh",
        "-c",
        "i=0; while [ $i -lt 300 ]; do echo line $i; i=$((i+1)); done",
    ]);
    let log = LogConfig {
        path: f.log_path.clone(),
        max_size: 4000,
        max_files: 3,
        ..LogConfig::with_defaults(Default::default())
    };
    let cfg = ShimConfig {
        log: Some(log.clone()),
        ..f.config(&spec)
    };
    let h = f.spawn_with(&spec, cfg).await.unwrap();
    h.start().await.unwrap();
    assert_eq!(with_timeout(h.wait()).await.unwrap().exit_code, 0);
    assert!(log.file(1).exists() && log.file(2).exists() && !log.file(3).exists());
    for n in 0..3 {
        assert!(std::fs::metadata(log.file(n)).unwrap().len() <= 4000);
    }
    let (entries, _) = runtime::logfile::read(&log, &Default::default()).unwrap();
    let lines: Vec<String> = entries
        .iter()
        .map(|e| String::from_utf8_lossy(&e.line).into_owned())
        .collect();
    assert_eq!(lines.last().map(String::as_str), Some("line 299\n"));
    let first: usize = lines[0].trim_start_matches("line ").trim().parse().unwrap();
    let want: Vec<String> = (first..300).map(|i| format!("line {i}\n")).collect();
    assert_eq!(lines, want, "rotated files keep a contiguous tail");
}

#[tokio::test]
async fn several_attachers_get_the_same_output() {
    let f = Fixture::new("multi");
    let h = f
        .spawn(&f.spec(&["sh", "-c", "echo one; echo two >&2"]))
        .await
        .unwrap();
    let a = h.attach(false, true, true).await.unwrap();
    let b = h.attach(false, true, false).await.unwrap();
    h.start().await.unwrap();
    let (out_a, err_a) = read_multiplexed(a).await;
    let (out_b, err_b) = read_multiplexed(b).await;
    assert_eq!((out_a.as_str(), err_a.as_str()), ("one\n", "two\n"));
    assert_eq!(
        (out_b.as_str(), err_b.as_str()),
        ("one\n", ""),
        "stderr was not asked for"
    );
    assert_eq!(with_timeout(h.wait()).await.unwrap().exit_code, 0);
}

/// The shim's memory budget (ARCHITECTURE: "around 1–2 MiB RSS"): an idle container's shim stays
/// within 2 MiB resident; one streaming output to its log and an attacher touches more of its own
/// code (≈ 0.6 MiB of text and libc, shared between shims), so it gets 2.5 MiB resident and
/// 2 MiB proportional (PSS).
const IDLE_RSS_BUDGET_KIB: u64 = 2048;
const BUSY_RSS_BUDGET_KIB: u64 = 2560;
const BUSY_PSS_BUDGET_KIB: u64 = 2048;

/// The release build of the shim, which is what runs in production: `BERTH_SHIM_RELEASE`, else
/// `target/release/berth-shim` next to this test's own build. Debug builds are twice the size.
fn release_shim() -> std::path::PathBuf {
    if let Some(p) = std::env::var_os("BERTH_SHIM_RELEASE") {
        return p.into();
    }
    let debug = std::path::Path::new(common::SHIM);
    let target = debug.parent().and_then(|d| d.parent()).expect("target dir");
    let release = target.join("release").join("berth-shim");
    assert!(
        release.exists(),
        "{} is missing: the memory budget is measured on the release shim \
         (cargo build --release -p berth-shim; scripts/test.sh builds it)",
        release.display()
    );
    release
}

/// A release shim holding an idle container, then one writing output to its log and an
/// attacher, stays within its RSS budget (issue: the budget was printed, never checked).
#[tokio::test]
async fn shim_rss_stays_within_its_budget() {
    let bin = release_shim();
    let f = Fixture::new("rss");
    let spec = f.spec(&["sleep", "30"]);
    let h = f.spawn_binary(&bin, &spec, f.config(&spec)).await.unwrap();
    h.start().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let idle = Memory::of("idle", h.shim_pid());
    h.kill(9).await.unwrap();
    with_timeout(h.wait()).await.unwrap();

    let f = Fixture::new("rss2");
    let spec = f.spec(&[
        "sh",
        "-c",
        "i=0; while [ $i -lt 2000 ]; do echo line $i; i=$((i+1)); usleep 500; done",
    ]);
    let h = f.spawn_binary(&bin, &spec, f.config(&spec)).await.unwrap();
    let mut s = h.attach(false, true, true).await.unwrap();
    h.start().await.unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0;
    while total < 20_000 {
        let n = tokio::io::AsyncReadExt::read(&mut s, &mut buf)
            .await
            .unwrap();
        assert!(n > 0);
        total += n;
    }
    let busy = Memory::of("busy (log + attacher)", h.shim_pid());
    h.kill(9).await.unwrap();
    with_timeout(h.wait()).await.unwrap();
    assert!(
        idle.rss <= IDLE_RSS_BUDGET_KIB,
        "idle shim RSS {} KiB is over its {IDLE_RSS_BUDGET_KIB} KiB budget\n{}",
        idle.rss,
        idle.mappings
    );
    assert!(
        busy.rss <= BUSY_RSS_BUDGET_KIB && busy.pss <= BUSY_PSS_BUDGET_KIB,
        "busy shim RSS {} KiB / PSS {} KiB is over its {BUSY_RSS_BUDGET_KIB} / \
         {BUSY_PSS_BUDGET_KIB} KiB budget\n{}",
        busy.rss,
        busy.pss,
        busy.mappings
    );
}

/// A process's resident memory, from `/proc/<pid>/smaps`, in KiB.
struct Memory {
    rss: u64,
    pss: u64,
    /// The mappings holding 32 KiB or more, to say where a budget went when it is exceeded.
    mappings: String,
}

impl Memory {
    /// Measures `pid` and prints the figures.
    fn of(what: &str, pid: i32) -> Memory {
        let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap_or_default();
        let kib = |l: &str| -> u64 {
            l.split_whitespace()
                .nth(1)
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        let (mut rss, mut pss, mut mapping) = (0, 0, "");
        let mut mappings = String::new();
        for line in smaps.lines() {
            if line.starts_with(|c: char| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()) {
                mapping = line;
            } else if line.starts_with("Rss:") {
                rss += kib(line);
                if kib(line) >= 32 {
                    mappings.push_str(&format!("{:6} KiB {mapping}\n", kib(line)));
                }
            } else if line.starts_with("Pss:") {
                pss += kib(line);
            }
        }
        println!("shim {what}: RSS {rss} KiB, PSS {pss} KiB");
        Memory { rss, pss, mappings }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_containers_in_parallel() {
    let fixtures: Vec<Fixture> = (0..10).map(|i| Fixture::new(&format!("par{i}"))).collect();
    let runs = fixtures.iter().enumerate().map(|(i, f)| async move {
        let spec = f.spec(&["sh", "-c", &format!("echo container {i}; exit {i}")]);
        f.run(&spec).await
    });
    let results = futures_join_all(runs).await;
    for (i, (code, out, _)) in results.into_iter().enumerate() {
        assert_eq!(code, i as i32);
        assert_eq!(out, format!("container {i}\n"));
    }
}

/// Polls every future to completion concurrently (a tiny join_all, to avoid a dependency).
async fn futures_join_all<F: std::future::Future>(
    futs: impl IntoIterator<Item = F>,
) -> Vec<F::Output> {
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = futs.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, slot) in pinned.iter_mut().zip(out.iter_mut()) {
            if slot.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *slot = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter()
        .map(|o| o.expect("every future completed"))
        .collect()
}

#[tokio::test]
async fn a_restart_reuses_the_state_dir_and_a_live_shim_is_not_replaced() {
    let f = Fixture::new("restart");
    let h = f.spawn(&f.spec(&["sh", "-c", "exit 3"])).await.unwrap();
    h.start().await.unwrap();
    assert_eq!(with_timeout(h.wait()).await.unwrap().exit_code, 3);

    let h = f.spawn(&f.spec(&["sleep", "100"])).await.unwrap();
    assert_eq!(
        runtime::shim::read_exit_record(&f.state_dir).unwrap(),
        None,
        "the old exit record is gone"
    );
    let err = f.spawn(&f.spec(&["true"])).await.unwrap_err();
    assert_eq!(err.kind(), runtime::ErrorKind::Conflict, "{err}");
    h.start().await.unwrap();
    h.kill(15).await.unwrap();
    // sleep as PID 1 has no SIGTERM handler, so the kernel ignores the signal: SIGKILL it.
    h.kill(9).await.unwrap();
    assert_eq!(with_timeout(h.wait()).await.unwrap().exit_code, 137);
}

#[tokio::test]
async fn a_killed_shims_leftovers_are_cleared_by_the_next_run() {
    killed_shim_leftovers_are_cleared(Fixture::new("crashed"), false).await;
}

/// The same, when the killed shim was of an earlier berth: its runtime state is under
/// `libcontainer/` and it locked `shim.lock`.
#[tokio::test]
async fn a_killed_older_shims_leftovers_are_cleared_by_the_next_run() {
    killed_shim_leftovers_are_cleared(Fixture::new("crashed-old"), true).await;
}

async fn killed_shim_leftovers_are_cleared(f: Fixture, legacy_layout: bool) {
    let h = f.spawn(&f.spec(&["sleep", "100"])).await.unwrap();
    h.start().await.unwrap();
    let (old_init, shim_pid) = (h.pid(), h.shim_pid());
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(shim_pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    for _ in 0..500 {
        let stat = std::fs::read_to_string(format!("/proc/{shim_pid}/stat")).unwrap_or_default();
        if stat.is_empty() || stat.contains(") Z ") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        runtime::sys::process_alive(old_init),
        "the container outlives its shim"
    );
    // The daemon finds no shim and no exit record.
    let gone = ShimHandle::connect(&f.state_dir).await.unwrap_err();
    assert_eq!(gone.kind(), runtime::ErrorKind::NotFound);
    let legacy = f.state_dir.join(runtime::shim::LEGACY_RUNTIME_ROOT_DIR);
    if legacy_layout {
        std::fs::create_dir(&legacy).unwrap();
        std::fs::rename(f.state_dir.join(&f.id), legacy.join(&f.id)).unwrap();
        std::fs::write(f.state_dir.join("shim.lock"), "").unwrap();
    }

    let h = f.spawn(&f.spec(&["sh", "-c", "exit 2"])).await.unwrap();
    let stat = std::fs::read_to_string(format!("/proc/{old_init}/stat")).unwrap_or_default();
    assert!(
        stat.is_empty() || stat.contains(") Z "),
        "the orphaned container was killed: {stat}"
    );
    assert!(!legacy.exists(), "the old runtime root is removed");
    h.start().await.unwrap();
    assert_eq!(with_timeout(h.wait()).await.unwrap().exit_code, 2);
}
