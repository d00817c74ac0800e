//! The store's layer pipeline on a real disk: one-pass import (decompress, diff-ID hash,
//! gzip into the content store on a second thread, unpack into a snapshot, commit) and the
//! pull-path unpack of a blob already in the content store (gunzip, verify, unpack), and the
//! load path that stores a streamed blob and unpacks it in the same pass.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use oci::{Descriptor, Digest};
use store::{Content, ImportOptions, Store, StoreOptions, Unpack};

#[path = "../../oci/benches/common/mod.rs"]
mod gen_layer;

fn bench(c: &mut Criterion) {
    let tar = gen_layer::layer_tar(100 << 20);
    let gz = gen_layer::gzip(&tar);
    let diff_id = Digest::sha256_of(&tar);
    let root = tempfile::tempdir_in(gen_layer::bench_dir()).unwrap();
    let s = Store::open(root.path(), StoreOptions::default()).unwrap();
    eprintln!(
        "layer: {} bytes tar, {} bytes gzip, store in {}",
        tar.len(),
        gz.len(),
        root.path().display()
    );
    let mut g = c.benchmark_group("store");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(tar.len() as u64));
    // Each iteration starts from an empty store (GC in the untimed setup), so every import
    // really unpacks and compresses.
    g.bench_function("import_gzip_100MB", |b| {
        b.iter_batched(
            || s.gc().unwrap(),
            |_| {
                let lease = s.lease().unwrap();
                let opts = ImportOptions::default();
                let content = Content::Tarball {
                    opts: &opts,
                    expect: None,
                };
                s.unpack(&lease, &gz[..], Unpack::on(None, content))
                    .unwrap();
                lease
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("import_plain_100MB", |b| {
        b.iter_batched(
            || s.gc().unwrap(),
            |_| {
                let lease = s.lease().unwrap();
                let opts = ImportOptions::default();
                let content = Content::Tarball {
                    opts: &opts,
                    expect: None,
                };
                s.unpack(&lease, &tar[..], Unpack::on(None, content))
                    .unwrap();
                lease
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("unpack_blob_100MB", |b| {
        b.iter_batched(
            || {
                s.gc().unwrap();
                let lease = s.lease().unwrap();
                let info = s.put_blob(&lease, &gz).unwrap();
                (
                    lease,
                    Descriptor::new(oci::media_type::DOCKER_LAYER_GZIP, info.digest, info.size),
                )
            },
            |(lease, desc)| {
                s.unpack_blob(&lease, &desc, None, &diff_id).unwrap();
                lease
            },
            BatchSize::PerIteration,
        )
    });
    // The load path: the blob streamed in once, stored and unpacked in the same pass.
    let gz_desc = Descriptor::new(
        oci::media_type::OCI_LAYER_GZIP,
        Digest::sha256_of(&gz),
        gz.len() as u64,
    );
    g.bench_function("unpack_and_store_gzip_100MB", |b| {
        b.iter_batched(
            || s.gc().unwrap(),
            |_| {
                let lease = s.lease().unwrap();
                let content = Content::Blob {
                    blob: &gz_desc,
                    diff_id: &diff_id,
                };
                s.unpack(&lease, &gz[..], Unpack::on(None, content))
                    .unwrap();
                lease
            },
            BatchSize::PerIteration,
        )
    });
    let root2 = tempfile::tempdir_in(gen_layer::bench_dir()).unwrap();
    let nosync = Store::open(
        root2.path(),
        StoreOptions {
            sync_layers: false,
            ..StoreOptions::default()
        },
    )
    .unwrap();
    g.bench_function("unpack_blob_100MB_nosync", |b| {
        b.iter_batched(
            || {
                nosync.gc().unwrap();
                let lease = nosync.lease().unwrap();
                let info = nosync.put_blob(&lease, &gz).unwrap();
                (
                    lease,
                    Descriptor::new(oci::media_type::DOCKER_LAYER_GZIP, info.digest, info.size),
                )
            },
            |(lease, desc)| {
                nosync.unpack_blob(&lease, &desc, None, &diff_id).unwrap();
                lease
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
