//! Fixtures of the privileged network tests: unique names, free subnets, and guards that
//! remove every namespace, link and nft table on drop, panics included. Tests only talk to
//! loopback and to addresses inside the namespaces and bridges they make.

#![allow(dead_code)]

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use ipnet::IpNet;
use network::ipam::{find_free_subnet, PoolSpec};
use network::link::Netlink;
use network::netns;

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A name unique to this process and call: `<prefix><pid><n>`, at most 15 bytes.
pub fn unique(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = format!("{prefix}{}{n}", std::process::id());
    assert!(name.len() <= 15, "{name} too long for an interface");
    name
}

/// A /24 in 10.128.0.0/9 that overlaps no route of the host right now, starting at a
/// point derived from the pid so concurrent test processes do not collide.
pub async fn free_subnet(taken: &[IpNet]) -> IpNet {
    let nl = Netlink::host().unwrap();
    let mut avoid = nl.host_prefixes().await.unwrap();
    avoid.extend_from_slice(taken);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let offset = (std::process::id().wrapping_mul(131) + n * 7) % 30000;
    let base: IpNet = "10.128.0.0/9".parse().unwrap();
    let start = base.subnets(24).unwrap().nth(offset as usize).unwrap();
    // Search from `start` to the end of the pool.
    let pool = PoolSpec::new(IpNet::new(start.addr(), 17).unwrap().trunc(), 24).unwrap();
    find_free_subnet(&[pool], false, &avoid)
        .or_else(|| find_free_subnet(&[PoolSpec::new(base, 24).unwrap()], false, &avoid))
        .expect("a free test subnet")
}

/// Removes a pinned namespace on drop.
pub struct NsGuard(pub PathBuf, tempfile::TempDir);

impl NsGuard {
    /// A new namespace with only `lo`.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("netns");
        netns::create(&path).unwrap();
        NsGuard(path, dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for NsGuard {
    fn drop(&mut self) {
        let _ = netns::remove(&self.0);
    }
}

/// Deletes a host interface on drop.
pub struct LinkGuard(pub String);

impl Drop for LinkGuard {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &self.0])
            .stderr(std::process::Stdio::null())
            .status();
    }
}

/// Deletes an nft table on drop.
pub struct TableGuard(pub String);

impl Drop for TableGuard {
    fn drop(&mut self) {
        let script = format!("table inet {0}\ndelete table inet {0}\n", self.0);
        let _ = run_nft_script(&script);
    }
}

/// Runs an nft script, panicking if nft refuses it.
pub fn nft_script(script: &str) {
    use std::io::Write;
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success(), "nft refused {script}");
}

/// The tables other than transient test tables (`btt…`/`bts…` of these tests, `berth…` of
/// test daemons, which come and go with parallel runs): what no test may remove.
pub fn lasting_tables() -> std::collections::BTreeSet<String> {
    nft_tables()
        .into_iter()
        .filter(|t| {
            let name = t.split(' ').nth(1).unwrap_or_default();
            !(name.starts_with("btt") || name.starts_with("bts") || name.starts_with("berth"))
        })
        .collect()
}

fn run_nft_script(script: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(std::process::Stdio::piped())
        .spawn()?;
    child.stdin.take().unwrap().write_all(script.as_bytes())?;
    child.wait()?;
    Ok(())
}

/// `nft list tables`, one `family name` per entry.
pub fn nft_tables() -> Vec<String> {
    let out = Command::new("nft")
        .args(["list", "tables"])
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("table ").map(str::to_string))
        .collect()
}

/// `nft list table inet <name>`, or None if absent.
pub fn nft_table(name: &str) -> Option<String> {
    let out = Command::new("nft")
        .args(["list", "table", "inet", name])
        .output()
        .unwrap();
    out.status
        .success()
        .then(|| String::from_utf8(out.stdout).unwrap())
}

/// Whether a host interface exists.
pub fn link_exists(name: &str) -> bool {
    Path::new("/sys/class/net").join(name).exists()
}

/// A TCP server inside a namespace: each connection is answered with
/// `"<tag> <peer ip> <peer port>\n"`, then closed. Serves `count` connections.
pub fn tcp_server_in(ns: &Path, port: u16, tag: &'static str, count: usize) {
    serve_in(ns, SocketAddr::from(([0, 0, 0, 0], port)), tag, count)
}

/// [`tcp_server_in`] on `addr` (`[::]:port` for IPv6).
pub fn serve_in(ns: &Path, addr: SocketAddr, tag: &'static str, count: usize) {
    let listener = netns::run_in(ns, move || std::net::TcpListener::bind(addr))
        .unwrap()
        .unwrap();
    std::thread::spawn(move || {
        use std::io::Write;
        for conn in listener.incoming().take(count) {
            let Ok(mut c) = conn else { continue };
            let peer = c.peer_addr().unwrap();
            let _ = writeln!(c, "{tag} {} {}", peer.ip(), peer.port());
        }
    });
}

/// Connects to `addr` (from the calling thread's namespace) and returns the server's line
/// and the local port used.
pub fn ask(addr: SocketAddr) -> std::io::Result<(String, u16)> {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(5))?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
    let local = s.local_addr()?.port();
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok((out.trim().to_string(), local))
}

/// The addresses of an interface in a namespace, as `ip -o addr` prints them.
pub fn ip_in(ns: &Path, args: &[&str]) -> String {
    let out = Command::new("nsenter")
        .arg(format!("--net={}", ns.display()))
        .arg("ip")
        .args(args)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// busybox ping from inside a namespace; true if a reply came.
pub fn ping_from(ns: &Path, to: IpAddr) -> bool {
    Command::new("nsenter")
        .arg(format!("--net={}", ns.display()))
        .args(["busybox", "ping", "-c", "1", "-W", "3"])
        .arg(to.to_string())
        .stdout(std::process::Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}
