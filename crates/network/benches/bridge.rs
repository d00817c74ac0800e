//! Privileged: the cost of giving a container a network, i.e. what the bridge adds to
//! `docker run`: connect (veth into the namespace, addresses, route), on a
//! bridge and namespace made for the bench and removed after it (also on panic). Skipped
//! when not root.

use std::process::Command;

use criterion::{criterion_group, criterion_main, Criterion};
use network::driver::{BridgeDriver, EndpointSpec, NetworkDriver, NetworkSpec, SubnetSpec};
use network::firewall::{Firewall, FirewallConfig};
use network::netns;

struct Cleanup {
    bridge: String,
    table: String,
    ns: std::path::PathBuf,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &self.bridge])
            .status();
        let _ = netns::remove(&self.ns);
        let script = format!("table inet {0}\ndelete table inet {0}\n", self.table);
        if let Ok(mut c) = Command::new("nft")
            .args(["-f", "-"])
            .stdin(std::process::Stdio::piped())
            .spawn()
        {
            use std::io::Write;
            let _ = c.stdin.take().map(|mut s| s.write_all(script.as_bytes()));
            let _ = c.wait();
        }
    }
}

fn connect_disconnect(c: &mut Criterion) {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("bridge bench skipped: needs root");
        return;
    }
    let pid = std::process::id();
    let dir = tempfile::tempdir().unwrap();
    let cleanup = Cleanup {
        bridge: format!("bb{pid}"),
        table: format!("bbt{pid}"),
        ns: dir.path().join("ns"),
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let fw = std::sync::Arc::new(Firewall::new(FirewallConfig::new(&cleanup.table).unwrap()));
    let driver = rt.block_on(async { BridgeDriver::new(fw, false) }).unwrap();
    // 10.254.x/24 from the pid; the bench only talks to nothing, it only makes links.
    let third = (pid % 250) as u8;
    let spec = NetworkSpec {
        id: "bench".into(),
        name: "bench".into(),
        bridge: cleanup.bridge.clone(),
        mtu: 1500,
        internal: false,
        masquerade: false,
        subnets: vec![SubnetSpec {
            subnet: format!("10.254.{third}.0/24").parse().unwrap(),
            gateway: format!("10.254.{third}.1").parse().unwrap(),
        }],
        predefined: false,
    };
    rt.block_on(driver.create(&spec)).unwrap();
    netns::create(&cleanup.ns).unwrap();
    let ep = EndpointSpec {
        id: "bench-ep".into(),
        netns: cleanup.ns.clone(),
        ifname: "eth0".into(),
        addresses: vec![format!("10.254.{third}.2/24").parse().unwrap()],
        mac: None,
        default_route: true,
    };
    // What the bridge adds to a container start: connect (timed). The stop path is
    // `release` (nothing) + the namespace's removal, which --network none pays too.
    let mut group = c.benchmark_group("bridge");
    group.sample_size(30);
    group.bench_function("connect one endpoint (start path)", |b| {
        b.iter_custom(|iters| {
            let mut total = std::time::Duration::ZERO;
            for _ in 0..iters {
                let t = std::time::Instant::now();
                rt.block_on(driver.connect(&spec, &ep)).unwrap();
                total += t.elapsed();
                rt.block_on(driver.disconnect(&spec, &ep)).unwrap();
                // Let the kernel finish the deletion's deferred work (RCU) so the next
                // connect is measured as a start on a quiet bridge is.
                std::thread::sleep(std::time::Duration::from_millis(30));
            }
            total
        })
    });
    group.finish();
    rt.block_on(driver.delete(&spec)).unwrap();
    drop(cleanup);
}

criterion_group!(benches, connect_disconnect);
criterion_main!(benches);
