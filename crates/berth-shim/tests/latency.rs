//! Start latency of `true`: spawn → created → started → exited through the shim, against
//! `runc run` on the same bundle, interleaved. A measurement, not a test: run with
//! `cargo test -p berth-shim --test latency -- --ignored --nocapture` (set `BERTH_SHIM_BIN` to
//! a release build for real figures).

mod common;

use std::time::{Duration, Instant};

use common::*;

const ROUNDS: usize = 30;

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::test]
#[ignore]
async fn measure_start_latency_against_runc() {
    let f = Fixture::new("lat");
    let spec = f.spec(&["true"]);
    let oci = runtime::spec::build(&spec).unwrap();
    runtime::spec::write_bundle(&f.bundle, &oci).unwrap();
    let runc_root = f.dir.path().join("runc-root");
    let (mut created, mut started, mut exited, mut runc) = (vec![], vec![], vec![], vec![]);
    for round in 0..ROUNDS {
        let state_dir = f.dir.path().join("lat-shims").join(round.to_string());
        let cfg = runtime::shim::ShimConfig {
            log: None,
            ..f.config(&spec)
        };
        let t0 = Instant::now();
        let h = runtime::shim::spawn(runtime::shim::SpawnOptions {
            shim_binary: shim_bin(),
            state_dir,
            config: cfg,
        })
        .await
        .unwrap();
        let t1 = Instant::now();
        h.start().await.unwrap();
        let t2 = Instant::now();
        let rec = with_timeout(h.wait()).await.unwrap();
        let t3 = Instant::now();
        assert_eq!(rec.exit_code, 0);
        created.push(t1 - t0);
        started.push(t2 - t0);
        exited.push(t3 - t0);

        let t0 = Instant::now();
        let status = std::process::Command::new("runc")
            .arg("--root")
            .arg(&runc_root)
            .args(["run", "--bundle"])
            .arg(&f.bundle)
            .arg(format!("runc-{}-{round}", f.id))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        runc.push(t0.elapsed());
        assert!(status.success(), "runc run failed");
    }
    let (c, s, e, r) = (
        median(&mut created),
        median(&mut started),
        median(&mut exited),
        median(&mut runc),
    );
    println!(
        "median of {ROUNDS} (`true`): shim created {:.2} ms, started {:.2} ms, exited {:.2} ms; runc run {:.2} ms; ratio {:.2}",
        ms(c),
        ms(s),
        ms(e),
        ms(r),
        ms(e) / ms(r)
    );
}
