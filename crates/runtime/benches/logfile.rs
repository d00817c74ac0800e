//! The shim's hot path: turning container output into json-file lines, and the engine's
//! parsing of them back for `docker logs`.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use runtime::logfile::{self, LogConfig, LogWriter, ReadOptions, Stream};

fn output_chunk() -> Vec<u8> {
    let mut chunk = Vec::with_capacity(32 * 1024);
    let mut i = 0;
    while chunk.len() < 32 * 1024 - 100 {
        chunk.extend_from_slice(
            format!("line {i}: some typical log output with \"quotes\" and a tab\t\n").as_bytes(),
        );
        i += 1;
    }
    chunk
}

fn write(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let chunk = output_chunk();
    let mut g = c.benchmark_group("logfile");
    g.throughput(Throughput::Bytes(chunk.len() as u64));
    g.bench_function("write 32 KiB of lines", |b| {
        let cfg = LogConfig {
            path: dir.path().join("w.log"),
            max_size: 64 << 20,
            max_files: 2,
            ..LogConfig::with_defaults(Default::default())
        };
        let mut w = LogWriter::open(cfg).unwrap();
        b.iter(|| w.write(Stream::Stdout, &chunk).unwrap());
    });
    g.finish();
}

fn read(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = LogConfig {
        path: dir.path().join("r.log"),
        max_size: 0,
        max_files: 1,
        ..LogConfig::with_defaults(Default::default())
    };
    let mut w = LogWriter::open(cfg.clone()).unwrap();
    let chunk = output_chunk();
    for _ in 0..32 {
        w.write(Stream::Stdout, &chunk).unwrap();
    }
    drop(w);
    let size = std::fs::metadata(&cfg.path).unwrap().len();
    let mut g = c.benchmark_group("logfile");
    g.throughput(Throughput::Bytes(size));
    g.bench_function("read 1 MiB of output, tail 100", |b| {
        b.iter_batched(
            || ReadOptions {
                tail: Some(100),
                ..Default::default()
            },
            |opts| logfile::read(&cfg, &opts).unwrap().0.len(),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, write, read);
criterion_main!(benches);
