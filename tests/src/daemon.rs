//! The `Daemon` fixture: a real `berthd` on a temp socket, data root, exec root and cgroup
//! parent of its own, and on drop: every container force-removed, the daemon stopped, and
//! whatever it left behind (mounts, cgroups, network namespaces, bridges, its nftables
//! table) removed and reported.
//!
//! Networking: each daemon holds a *slot* (see [`crate::netslot`]): its own default bridge
//! `brt<slot>` on `10.<slot>.0.1/24`, an address pool `10.<slot>.0.0/16` for the networks
//! tests create, its own nftables table `berth_t<slot>`, `--ip-forward=false` (the host's
//! forwarding is never touched), and a resolv.conf naming `127.77.<slot>.1`, where a test
//! may run a fake resolver: no DNS query leaves the machine.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::netslot::NetSlot;
use crate::rootfs;

/// Where the workspace's binaries are: `BERTH_BIN_DIR`, else the `target/<profile>` directory
/// this test binary was built into.
pub fn bin_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("BERTH_BIN_DIR") {
        return PathBuf::from(d);
    }
    let exe = std::env::current_exe().expect("current_exe");
    let mut dir = exe.parent().expect("exe dir").to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir
}

/// The path of a workspace binary, checked to exist.
pub fn bin(name: &str) -> PathBuf {
    let p = bin_dir().join(name);
    assert!(
        p.exists(),
        "{} is missing: run `cargo build --workspace --bins` first",
        p.display()
    );
    p
}

/// The docker CLI used as a client: `BERTH_TEST_DOCKER`, else `docker` on PATH.
pub fn docker_cli() -> PathBuf {
    std::env::var_os("BERTH_TEST_DOCKER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("docker"))
}

/// Writes a tar of the busybox root filesystem into `dir` and returns its path.
pub fn busybox_tar(dir: &Path) -> Result<PathBuf> {
    let root = dir.join("busybox-rootfs");
    rootfs::make_busybox_rootfs(&root)?;
    let tar = dir.join("busybox.tar");
    let st = Command::new("tar")
        .arg("-C")
        .arg(&root)
        .arg("-cf")
        .arg(&tar)
        .arg(".")
        .status()
        .context("running tar")?;
    if !st.success() {
        bail!("tar of the busybox rootfs failed");
    }
    std::fs::remove_dir_all(&root)?;
    Ok(tar)
}

/// A running `berthd` with its own roots; removed with everything it made on drop.
pub struct Daemon {
    pub root: tempfile::TempDir,
    pub socket: PathBuf,
    pub data_root: PathBuf,
    pub exec_root: PathBuf,
    pub cgroup_parent: String,
    child: Option<Child>,
    log: PathBuf,
    /// More `berthd` flags (`--config-file …`).
    extra_args: Vec<String>,
    /// A tmpfs this fixture mounted on the data root (removed on drop).
    data_tmpfs: bool,
    /// This daemon's bridge, subnets and nftables table.
    pub net: NetSlot,
    /// The bridges of its networks when it was last stopped or killed.
    known_bridges: Vec<String>,
}

impl Daemon {
    /// Starts a daemon and waits until it answers `/_ping`.
    pub fn start() -> Result<Daemon> {
        Self::start_with(&[])
    }

    /// Starts a daemon with more `berthd` flags.
    pub fn start_with(extra_args: &[&str]) -> Result<Daemon> {
        Self::start_inner(extra_args, None)
    }

    /// Starts a daemon whose data root is a tmpfs of `size` (`64m`): a small disk that fills
    /// up.
    pub fn start_on_tmpfs(size: &str) -> Result<Daemon> {
        Self::start_inner(&[], Some(size))
    }

    fn start_inner(extra_args: &[&str], data_tmpfs: Option<&str>) -> Result<Daemon> {
        let root = tempfile::Builder::new().prefix("berth-test-").tempdir()?;
        let tag: String = root
            .path()
            .file_name()
            .map(|n| n.to_string_lossy().replace(['.', '-'], ""))
            .unwrap_or_default();
        let mut d = Daemon {
            socket: root.path().join("berth.sock"),
            data_root: root.path().join("data"),
            // Deep on purpose: shim socket paths under it exceed a socket address.
            exec_root: root.path().join("exec"),
            cgroup_parent: format!("/berth-test-{tag}"),
            log: root.path().join("berthd.log"),
            root,
            child: None,
            extra_args: extra_args.iter().map(|s| s.to_string()).collect(),
            data_tmpfs: false,
            net: NetSlot::take()?,
            known_bridges: Vec::new(),
        };
        std::fs::write(
            d.root.path().join("resolv.conf"),
            format!("nameserver {}\n", d.net.resolver_ip()),
        )?;
        if let Some(size) = data_tmpfs {
            std::fs::create_dir_all(&d.data_root)?;
            let st = Command::new("mount")
                .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
                .arg(&d.data_root)
                .status()?;
            if !st.success() {
                bail!("mounting a tmpfs on {}", d.data_root.display());
            }
            d.data_tmpfs = true;
        }
        d.spawn()?;
        Ok(d)
    }

    /// Starts `berthd` on this fixture's roots (again, after `kill`).
    pub fn spawn(&mut self) -> Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)?;
        let mut cmd = Command::new(bin("berthd"));
        cmd.arg("-H")
            .arg(format!("unix://{}", self.socket.display()))
            .arg("--data-root")
            .arg(&self.data_root)
            .arg("--exec-root")
            .arg(&self.exec_root)
            .arg("--cgroup-parent")
            .arg(&self.cgroup_parent)
            .arg("--log-level")
            .arg("debug")
            .arg("--bridge")
            .arg(&self.net.bridge)
            .arg("--bip")
            .arg(format!("{}/24", self.net.gateway()))
            .arg("--default-address-pool")
            .arg(format!("base={},size=24", self.net.block()))
            .arg("--nft-table")
            .arg(&self.net.nft_table)
            .arg("--ip-forward=false")
            .arg("--resolv-conf")
            .arg(self.root.path().join("resolv.conf"))
            .args(&self.extra_args)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .process_group(0);
        let child = cmd.spawn().context("spawning berthd")?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Some(c) = self.child.as_mut() {
                if let Some(st) = c.try_wait()? {
                    bail!("berthd exited with {st}:\n{}", self.log_text());
                }
            }
            if self.ping() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        bail!("berthd did not answer in 20s:\n{}", self.log_text())
    }

    fn ping(&self) -> bool {
        use std::io::Read;
        let Ok(mut s) = std::os::unix::net::UnixStream::connect(&self.socket) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        if s.write_all(b"GET /_ping HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n")
            .is_err()
        {
            return false;
        }
        let mut buf = Vec::new();
        let _ = s.read_to_end(&mut buf);
        buf.starts_with(b"HTTP/1.1 200")
    }

    /// The daemon's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The daemon's pid.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// SIGKILLs the daemon (containers and shims keep running).
    pub fn kill(&mut self) -> Result<()> {
        if self.child.is_some() {
            self.known_bridges = self.bridges();
        }
        if let Some(mut c) = self.child.take() {
            c.kill()?;
            c.wait()?;
        }
        Ok(())
    }

    /// SIGTERMs the daemon and waits for it.
    pub fn stop(&mut self) -> Result<()> {
        if self.child.is_some() {
            self.known_bridges = self.bridges();
        }
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(c.id().to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if c.try_wait()?.is_some() {
                    break;
                }
                if Instant::now() > deadline {
                    c.kill()?;
                    c.wait()?;
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Ok(())
    }

    /// `-H unix://<socket>`.
    pub fn host_arg(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// A `docker -H … args` command, ready to run.
    pub fn docker_cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(docker_cli());
        c.arg("-H").arg(self.host_arg()).args(args);
        // Keep the docker CLI away from any user config.
        c.env("DOCKER_CONFIG", self.root.path().join("docker-config"));
        c
    }

    /// Follows `docker events <args>` and runs `act` again until the lines printed end with
    /// `want` (the subscription starts asynchronously, maybe in the middle of an action);
    /// panics with what was seen after `limit`.
    pub fn events_until(
        &self,
        args: &[&str],
        want: &[&str],
        limit: Duration,
        mut act: impl FnMut(),
    ) {
        use std::io::BufRead;
        let mut cmd = self.docker_cmd(&[&["events"], args].concat());
        let mut events = cmd.stdout(Stdio::piped()).spawn().expect("docker events");
        let (tx, rx) = std::sync::mpsc::channel();
        let out = events.stdout.take().expect("piped stdout");
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let want: Vec<String> = want.iter().map(|w| w.to_string()).collect();
        let mut seen: Vec<String> = Vec::new();
        let deadline = Instant::now() + limit;
        while !seen.ends_with(&want) {
            if Instant::now() > deadline {
                let _ = events.kill();
                let _ = events.wait();
                panic!("events never ended with {want:?}: {seen:?}");
            }
            act();
            while let Ok(l) = rx.recv_timeout(Duration::from_millis(300)) {
                seen.push(l);
            }
        }
        let _ = events.kill();
        let _ = events.wait();
    }

    /// A `berth -H … args` command, ready to run.
    pub fn berth_cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(bin("berth"));
        c.arg("-H").arg(self.host_arg()).args(args);
        c.env("DOCKER_CONFIG", self.root.path().join("docker-config"));
        c
    }

    /// Runs the docker CLI against this daemon.
    pub fn docker(&self, args: &[&str]) -> Output {
        self.docker_cmd(args)
            .stdin(Stdio::null())
            .output()
            .expect("running docker CLI")
    }

    /// Runs `berth` against this daemon.
    pub fn berth(&self, args: &[&str]) -> Output {
        self.berth_cmd(args)
            .stdin(Stdio::null())
            .output()
            .expect("running berth")
    }

    /// Runs the docker CLI and returns its trimmed stdout, failing with its stderr.
    pub fn docker_ok(&self, args: &[&str]) -> String {
        let out = self.docker(args);
        assert!(
            out.status.success(),
            "docker {args:?} failed ({}):\nstdout: {}\nstderr: {}\ndaemon log tail:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            tail(&self.log_text(), 40)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Imports the offline busybox image as `busybox:latest` (CMD `sh`), through `berth import`.
    pub fn import_busybox(&self) -> Result<()> {
        let tar = busybox_tar(self.root.path())?;
        let out = self
            .berth_cmd(&["import", "--change", "CMD [\"sh\"]"])
            .arg(&tar)
            .arg("busybox:latest")
            .stdin(Stdio::null())
            .output()?;
        if !out.status.success() {
            bail!(
                "berth import failed: {}\n{}",
                String::from_utf8_lossy(&out.stderr),
                tail(&self.log_text(), 40)
            );
        }
        Ok(())
    }

    /// Ids of every container (running or not).
    pub fn container_ids(&self) -> Vec<String> {
        let out = self.docker(&["ps", "-aq", "--no-trunc"]);
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(str::to_string)
            .collect()
    }

    /// Mount points under this fixture's root still mounted (not counting the fixture's own
    /// data-root tmpfs).
    pub fn leftover_mounts(&self) -> Vec<String> {
        let root = self.root.path().to_string_lossy().to_string();
        let data = self.data_root.to_string_lossy().to_string();
        std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split_whitespace().nth(4).map(str::to_string))
            .filter(|m| m.starts_with(&root))
            .filter(|m| !(self.data_tmpfs && *m == data))
            .collect()
    }

    /// Cgroup directories under this daemon's parent still present (every hierarchy).
    pub fn leftover_cgroups(&self) -> Vec<PathBuf> {
        cgroup_dirs(&self.cgroup_parent)
            .into_iter()
            .flat_map(|d| {
                std::fs::read_dir(&d)
                    .map(|it| {
                        it.filter_map(|e| e.ok())
                            .filter(|e| e.path().is_dir())
                            .map(|e| e.path())
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default()
            })
            .collect()
    }

    /// The bridges of this daemon's networks (the default one and those tests created).
    pub fn bridges(&self) -> Vec<String> {
        let ids = self.docker(&["network", "ls", "-q", "--no-trunc"]);
        let ids: Vec<String> = String::from_utf8_lossy(&ids.stdout)
            .split_whitespace()
            .map(str::to_string)
            .collect();
        if ids.is_empty() {
            return Vec::new();
        }
        let mut args = vec!["network", "inspect"];
        args.extend(ids.iter().map(String::as_str));
        let out = self.docker(&args);
        let nets: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap_or_default();
        nets.iter()
            .filter(|n| n["Driver"] == "bridge")
            .filter_map(|n| {
                let name = n["Options"]["com.docker.network.bridge.name"].as_str();
                let id = n["Id"].as_str()?;
                Some(name.map_or_else(|| format!("br-{}", &id[..12]), str::to_string))
            })
            .collect()
    }

    fn cleanup(&mut self) {
        if self.child.is_some() {
            for id in self.container_ids() {
                let _ = self.docker(&["rm", "-f", &id]);
            }
            let _ = self.stop();
        }
        // Containers outlive their daemon (live restore): those a test left behind — its
        // daemon killed and not restarted, or a removal that failed — must not outlive the test.
        self.kill_leftover_processes();
        let bridges = std::mem::take(&mut self.known_bridges);
        if std::mem::take(&mut self.data_tmpfs) {
            // Container rootfs mounts under it first, then the tmpfs itself.
            let data = self.data_root.to_string_lossy().to_string();
            let mut inner: Vec<String> = self
                .leftover_mounts()
                .into_iter()
                .filter(|m| m.starts_with(&data))
                .collect();
            inner.sort_by_key(|m| std::cmp::Reverse(m.len()));
            for m in inner {
                let _ = Command::new("umount").arg("-l").arg(m).status();
            }
            let _ = Command::new("umount").arg(&self.data_root).status();
        }
        // Whatever is left is a bug, but the machine must still be left clean.
        let mut mounts = self.leftover_mounts();
        mounts.sort_by_key(|m| std::cmp::Reverse(m.len()));
        for m in &mounts {
            let _ = Command::new("umount").arg("-l").arg(m).status();
        }
        for dir in cgroup_dirs(&self.cgroup_parent) {
            remove_cgroup_tree(&dir);
        }
        self.net.clean(&bridges);
    }
}

impl Daemon {
    /// Kills, by PID, what this daemon started and left running: the processes in its
    /// cgroup parent (its containers'), then the shims whose state dirs are under its exec root
    /// (checked against their command line, so a reused PID is left alone). Bounded.
    fn kill_leftover_processes(&self) {
        let kill = |pid: i32| {
            // SAFETY: kill(2) with a PID read just now, of a process of this test.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        };
        for _ in 0..50 {
            let pids: Vec<i32> = cgroup_dirs(&self.cgroup_parent)
                .iter()
                .flat_map(|d| cgroup_procs(d))
                .collect();
            if pids.is_empty() {
                break;
            }
            eprintln!(
                "berth test fixture: killing {} leftover container process(es) of {}",
                pids.len(),
                self.root.path().display()
            );
            pids.into_iter().for_each(kill);
            std::thread::sleep(Duration::from_millis(20));
        }
        let shims = self.exec_root.join("shims");
        let dirs = std::fs::read_dir(&shims).into_iter().flatten().flatten();
        for e in dirs {
            let Ok(pid) = std::fs::read_to_string(e.path().join("shim.pid")) else {
                continue;
            };
            let Ok(pid) = pid.trim().parse::<i32>() else {
                continue;
            };
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let dir = e.path().to_string_lossy().into_owned();
            if String::from_utf8_lossy(&cmdline).contains(&dir) {
                kill(pid);
            }
        }
    }
}

/// The PIDs in a cgroup directory and the cgroups under it.
fn cgroup_procs(dir: &Path) -> Vec<i32> {
    let mut out: Vec<i32> = std::fs::read_to_string(dir.join("cgroup.procs"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if e.path().is_dir() {
            out.extend(cgroup_procs(&e.path()));
        }
    }
    out
}

/// The directories a cgroup path has in every mounted hierarchy (v1 controllers and v2).
pub fn cgroup_dirs(path: &str) -> Vec<PathBuf> {
    let rel = path.trim_start_matches('/');
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/sys/fs/cgroup") {
        for e in entries.flatten() {
            let d = e.path().join(rel);
            if d.is_dir() {
                out.push(d);
            }
        }
    }
    let top = Path::new("/sys/fs/cgroup").join(rel);
    if top.is_dir() && !out.contains(&top) {
        out.push(top);
    }
    out
}

fn remove_cgroup_tree(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.path().is_dir() {
                remove_cgroup_tree(&e.path());
            }
        }
    }
    // A container process still exiting keeps its cgroup busy for a moment: retry (bounded).
    for _ in 0..100 {
        match std::fs::remove_dir(dir) {
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            _ => return,
        }
    }
}

/// The last `n` lines of `s`.
pub fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.cleanup();
    }
}

/// An HTTP response: status, headers (names lower-cased), body (de-chunked).
pub type HttpResponse = (u16, Vec<(String, String)>, String);

/// A raw HTTP/1.1 exchange with the daemon.
pub fn http(socket: &Path, method: &str, path: &str, body: Option<&str>) -> Result<HttpResponse> {
    use std::io::Read;
    let mut s = std::os::unix::net::UnixStream::connect(socket)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let body = body.unwrap_or("");
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: berth\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes())?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .context("no status line")?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    Ok((status, headers, body))
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}
