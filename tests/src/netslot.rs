//! Network slots: what lets test daemons run side by side without sharing a bridge, a
//! subnet or an nftables table. A slot `n` (64–127) owns `10.<n>.0.0/16` (the default bridge
//! on `10.<n>.0.1/24`, the rest as the daemon's address pool and for the subnets tests give
//! `--subnet`), the bridge `brt<n>`, the table `berth_t<n>` and the loopback address
//! `127.77.<n>.1` (a fake DNS resolver's). A slot is held by an exclusive `flock` on
//! `/tmp/berth-test-slots/<n>.lock` for the fixture's life, so parallel test processes never
//! pick the same one; slots whose block overlaps a route of the host are skipped.
//!
//! [`NetSlot::clean`] removes, after the daemon is gone, its bridges and the slot's table —
//! what a killed daemon leaves. A test process killed before its fixture's drop may leave
//! user-network bridges: their routes then make later runs skip that slot (never anyone
//! else's interface is touched).

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::Command;

use anyhow::{bail, Result};

const FIRST: u8 = 64;
const LAST: u8 = 127;
const LOCK_DIR: &str = "/tmp/berth-test-slots";

/// One slot, held until dropped.
#[derive(Debug)]
pub struct NetSlot {
    /// The slot number: the second octet of its block.
    pub n: u8,
    /// The default bridge's name.
    pub bridge: String,
    /// The nftables table's name.
    pub nft_table: String,
    _lock: File,
}

/// The IPv4 routes of the host: (destination, device), as `ip -o -4 route` prints them.
fn host_routes() -> Vec<(String, String)> {
    let out = Command::new("ip").args(["-o", "-4", "route"]).output();
    out.map(|o| {
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                let dest = f.first()?.to_string();
                let dev = f
                    .iter()
                    .position(|w| *w == "dev")
                    .and_then(|i| f.get(i + 1))
                    .map(|d| d.to_string())
                    .unwrap_or_default();
                Some((dest, dev))
            })
            .collect()
    })
    .unwrap_or_default()
}

/// Whether a route destination (`10.64.3.0/24`, `default`, `192.0.2.0/24`) overlaps
/// `10.<n>.0.0/16`.
fn overlaps(route: &str, n: u8) -> bool {
    let (addr, len) = route.split_once('/').unwrap_or((route, "32"));
    let Ok(ip) = addr.parse::<std::net::Ipv4Addr>() else {
        return false;
    };
    let len: u32 = len.parse().unwrap_or(32);
    let o = ip.octets();
    if len >= 16 {
        o[0] == 10 && o[1] == n
    } else {
        // A shorter prefix covering 10.n/16.
        let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
        (u32::from(ip) & mask) == (u32::from(std::net::Ipv4Addr::new(10, n, 0, 0)) & mask)
    }
}

impl NetSlot {
    /// Takes a free slot.
    pub fn take() -> Result<NetSlot> {
        std::fs::create_dir_all(LOCK_DIR)?;
        let routes = host_routes();
        for n in FIRST..=LAST {
            let own = format!("brt{n}");
            let foreign = |routes: &[(String, String)]| {
                routes
                    .iter()
                    .any(|(dest, dev)| dest != "default" && overlaps(dest, n) && *dev != own)
            };
            if foreign(&routes) {
                continue;
            }
            let f = File::create(Path::new(LOCK_DIR).join(format!("{n}.lock")))?;
            // SAFETY: flock on a file descriptor we own; no memory is involved.
            let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
            if r != 0 {
                continue;
            }
            let slot = NetSlot {
                n,
                bridge: own.clone(),
                nft_table: format!("berth_t{n}"),
                _lock: f,
            };
            // What a killed test left under this slot's own names is ours to remove now.
            slot.clean(&[]);
            if foreign(&host_routes()) {
                continue;
            }
            return Ok(slot);
        }
        bail!("no free network slot in 10.{FIRST}.0.0-10.{LAST}.0.0 (all held or routed)")
    }

    /// `10.<n>.0.0/16`.
    pub fn block(&self) -> String {
        format!("10.{}.0.0/16", self.n)
    }

    /// The default bridge's gateway, `10.<n>.0.1`.
    pub fn gateway(&self) -> String {
        format!("10.{}.0.1", self.n)
    }

    /// A /24 of the slot for a test's `--subnet` (`k` from 200 up, clear of the pool's
    /// first picks).
    pub fn subnet(&self, k: u8) -> String {
        format!("10.{}.{k}.0/24", self.n)
    }

    /// Where a test's fake DNS resolver listens (the daemon's upstream).
    pub fn resolver_ip(&self) -> String {
        format!("127.77.{}.1", self.n)
    }

    /// Whether the slot's table exists.
    pub fn table_exists(&self) -> bool {
        Command::new("nft")
            .args(["list", "table", "inet", &self.nft_table])
            .output()
            .is_ok_and(|o| o.status.success())
    }

    /// Removes the slot's bridge, the daemon's other `bridges` and the slot's table (after
    /// its daemon is gone).
    pub fn clean(&self, bridges: &[String]) {
        for b in bridges.iter().chain(std::iter::once(&self.bridge)) {
            if Path::new("/sys/class/net").join(b).join("bridge").is_dir() {
                let _ = Command::new("ip").args(["link", "del", b]).status();
            }
        }
        if self.table_exists() {
            let _ = Command::new("nft")
                .args(["delete", "table", "inet", &self.nft_table])
                .status();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_overlap() {
        assert!(overlaps("10.64.3.0/24", 64));
        assert!(!overlaps("10.65.0.0/16", 64));
        assert!(overlaps("10.0.0.0/8", 64));
        assert!(!overlaps("192.0.2.0/24", 64));
        assert!(!overlaps("default", 64));
    }
}
