//! Fixture for shim tests: a busybox rootfs under an overlay of our own, a unique id and
//! cgroup, and a Drop guard that removes every process, mount, cgroup and netns made.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use runtime::logfile::LogConfig;
use runtime::shim::{self, ShimConfig, ShimError, ShimHandle, SpawnOptions};
use runtime::spec::{self, ContainerSpec};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub const SHIM: &str = env!("CARGO_BIN_EXE_berth-shim");

/// The shim binary to test: `BERTH_SHIM_BIN` (e.g. a release build, for measurements) or the
/// one cargo built for this test.
pub fn shim_bin() -> std::path::PathBuf {
    std::env::var_os("BERTH_SHIM_BIN")
        .map(Into::into)
        .unwrap_or_else(|| SHIM.into())
}

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub id: String,
    pub rootfs: PathBuf,
    pub cgroup_parent: String,
    pub state_dir: PathBuf,
    pub bundle: PathBuf,
    pub log_path: PathBuf,
    pub netns: Option<PathBuf>,
}

impl Fixture {
    /// A fresh overlay rootfs over a busybox lower dir, with its own network namespace.
    pub fn new(name: &str) -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let suffix: u32 = rand::random();
        let id = format!("{name}-{suffix:08x}");
        let lower = dir.path().join("lower");
        berth_tests::rootfs::make_busybox_rootfs(&lower).expect("busybox rootfs");
        let (upper, work, merged) = (
            dir.path().join("upper"),
            dir.path().join("work"),
            dir.path().join("merged"),
        );
        for d in [&upper, &work, &merged] {
            std::fs::create_dir_all(d).unwrap();
        }
        let opts = vec![format!(
            "lowerdir={},upperdir={},workdir={}",
            lower.display(),
            upper.display(),
            work.display()
        )];
        runtime::sys::mount("overlay", Path::new("overlay"), &merged, &opts)
            .expect("mount overlay");
        let netns = dir.path().join("netns");
        let mut f = Fixture {
            cgroup_parent: format!("/berth-test-{suffix:08x}"),
            state_dir: dir.path().join("shims").join(&id),
            bundle: dir.path().join("bundle"),
            log_path: dir.path().join("logs").join(format!("{id}-json.log")),
            rootfs: merged,
            netns: None,
            id,
            dir,
        };
        network::netns::create(&netns).expect("netns");
        f.netns = Some(netns);
        f
    }

    pub fn spec(&self, args: &[&str]) -> ContainerSpec {
        ContainerSpec {
            id: self.id.clone(),
            rootfs: self.rootfs.clone(),
            args: args.iter().map(|s| s.to_string()).collect(),
            hostname: "testhost".into(),
            cgroups_path: format!("{}/{}", self.cgroup_parent, self.id),
            netns: self.netns.clone(),
            ..ContainerSpec::default()
        }
    }

    pub fn config(&self, spec: &ContainerSpec) -> ShimConfig {
        ShimConfig {
            id: self.id.clone(),
            bundle: self.bundle.clone(),
            cgroups_path: spec.cgroups_path.clone(),
            tty: spec.tty,
            open_stdin: false,
            stdin_once: false,
            console_size: None,
            log: Some(LogConfig::with_defaults(self.log_path.clone())),
            seccomp_cache: Some(self.dir.path().join("seccomp")),
            runtime: None,
            start_limit_ms: None,
        }
    }

    /// Builds the bundle and spawns the shim: returns when the container is created.
    pub async fn spawn_with(
        &self,
        spec: &ContainerSpec,
        cfg: ShimConfig,
    ) -> Result<ShimHandle, ShimError> {
        self.spawn_binary(&shim_bin(), spec, cfg).await
    }

    /// Like [`Fixture::spawn_with`], with the shim binary `bin`.
    pub async fn spawn_binary(
        &self,
        bin: &Path,
        spec: &ContainerSpec,
        cfg: ShimConfig,
    ) -> Result<ShimHandle, ShimError> {
        let oci = spec::build(spec).expect("build spec");
        spec::write_bundle(&self.bundle, &oci).expect("write bundle");
        let h = shim::spawn(SpawnOptions {
            shim_binary: bin.to_path_buf(),
            state_dir: self.state_dir.clone(),
            config: cfg,
        })
        .await?;
        Ok(h)
    }

    pub async fn spawn(&self, spec: &ContainerSpec) -> Result<ShimHandle, ShimError> {
        self.spawn_with(spec, self.config(spec)).await
    }

    /// Runs `args` to completion; returns (exit code, stdout, stderr) from an attach stream
    /// opened before start.
    pub async fn run(&self, spec: &ContainerSpec) -> (i32, String, String) {
        let h = self.spawn(spec).await.expect("spawn");
        let stream = h.attach(false, true, true).await.expect("attach");
        h.start().await.expect("start");
        let (out, err) = read_multiplexed(stream).await;
        let rec = with_timeout(h.wait()).await.expect("wait");
        (rec.exit_code, out, err)
    }

    pub fn log_text(&self) -> String {
        let cfg = LogConfig::with_defaults(self.log_path.clone());
        let (entries, _) = runtime::logfile::read(&cfg, &Default::default()).expect("read log");
        entries
            .iter()
            .map(|e| String::from_utf8_lossy(&e.line).into_owned())
            .collect()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        // Kill the shim and the container if a test left them running.
        for file in [shim::PID_FILE] {
            if let Ok(pid) = std::fs::read_to_string(self.state_dir.join(file)) {
                if let Ok(pid) = pid.trim().parse::<i32>() {
                    if runtime::sys::process_alive(pid) && is_shim(pid) {
                        let _ = nix::sys::signal::kill(
                            nix::unistd::Pid::from_raw(pid),
                            nix::sys::signal::Signal::SIGKILL,
                        );
                    }
                }
            }
        }
        // Processes left in the container's cgroup.
        for dir in runtime::cgroup::dirs(&format!("{}/{}", self.cgroup_parent, self.id)) {
            if let Ok(procs) = std::fs::read_to_string(dir.join("cgroup.procs")) {
                for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(pid),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
            }
        }
        // Bounded wait for the killed processes to leave the cgroup, then remove it.
        for _ in 0..50 {
            if runtime::cgroup::remove(&self.cgroup_parent).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = runtime::sys::unmount(&self.rootfs, true);
        if let Some(ns) = &self.netns {
            let _ = network::netns::remove(ns);
        }
    }
}

fn is_shim(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c.contains("berth-shim"))
}

pub async fn with_timeout<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), f)
        .await
        .expect("timed out after 30 s")
}

/// Reads an attach stream to EOF and splits Docker's 8-byte-framed stdout and stderr.
pub async fn read_multiplexed(mut s: tokio::net::UnixStream) -> (String, String) {
    let mut all = Vec::new();
    with_timeout(s.read_to_end(&mut all))
        .await
        .expect("read attach stream");
    demux(&all)
}

pub fn demux(mut all: &[u8]) -> (String, String) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    while all.len() >= 8 {
        let len = u32::from_be_bytes([all[4], all[5], all[6], all[7]]) as usize;
        assert_eq!(&all[1..4], &[0, 0, 0], "bad frame header");
        assert!(all.len() >= 8 + len, "truncated frame");
        match all[0] {
            1 => out.extend_from_slice(&all[8..8 + len]),
            2 => err.extend_from_slice(&all[8..8 + len]),
            s => panic!("unknown stream {s}"),
        }
        all = &all[8 + len..];
    }
    assert!(all.is_empty(), "trailing bytes after the last frame");
    (
        String::from_utf8_lossy(&out).into_owned(),
        String::from_utf8_lossy(&err).into_owned(),
    )
}

pub async fn write_all(s: &mut tokio::net::UnixStream, data: &[u8]) {
    s.write_all(data).await.expect("write to attach stream");
}
