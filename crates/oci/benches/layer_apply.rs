//! Layer apply throughput (MB/s of uncompressed tar) on a real disk: from a plain tar, and the
//! pull path (gunzip + diff-ID hash + apply). No fsync, as in the real pipeline.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use oci::layer::{apply, ApplyOptions};
use oci::{Algorithm, HashingReader};

#[path = "common/mod.rs"]
mod gen_layer;

fn bench(c: &mut Criterion) {
    let tar = gen_layer::layer_tar(100 << 20);
    let gz = gen_layer::gzip(&tar);
    let base = gen_layer::bench_dir();
    eprintln!(
        "layer: {} bytes tar, {} bytes gzip, in {}",
        tar.len(),
        gz.len(),
        base.display()
    );
    let mut g = c.benchmark_group("layer_apply");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(tar.len() as u64));
    let fresh = || tempfile::tempdir_in(&base).unwrap();
    g.bench_function("tar_100MB", |b| {
        b.iter_batched(
            fresh,
            |dir| {
                apply(&tar[..], dir.path(), &ApplyOptions::default()).unwrap();
                dir
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("gzip_hash_apply_100MB", |b| {
        b.iter_batched(
            fresh,
            |dir| {
                let (_, dec) = oci::compression::decompress(&gz[..]).unwrap();
                let mut h = HashingReader::new(dec, Algorithm::Sha256);
                apply(&mut h, dir.path(), &ApplyOptions::default()).unwrap();
                assert_eq!(h.bytes(), tar.len() as u64);
                dir
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
