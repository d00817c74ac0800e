//! Hot paths of the registry's storage: receiving a blob (hash, write, fsync, rename, link),
//! streaming it back, and validating a manifest push.

use std::sync::Arc;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use futures_util::TryStreamExt;
use registry::name::{Reference, RepoName};
use registry::storage::fs::FsDriver;
use registry::store::{BodyStream, Store};
use registry::Digest;

const SIZE: usize = 10 * 1024 * 1024;

/// The body in 64 KiB frames, as hyper delivers a request body.
fn body(data: &Bytes) -> BodyStream {
    let frames: Vec<Result<Bytes, std::io::Error>> = (0..data.len())
        .step_by(64 * 1024)
        .map(|i| Ok(data.slice(i..(i + 64 * 1024).min(data.len()))))
        .collect();
    Box::pin(futures_util::stream::iter(frames))
}

fn blobs(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(Arc::new(FsDriver::new(dir.path()).unwrap()));
    let repo = RepoName::parse("bench/blobs").unwrap();
    let mut g = c.benchmark_group("blob");
    g.throughput(Throughput::Bytes(SIZE as u64));
    g.sample_size(20);

    let mut n = 0u64;
    g.bench_function("push_10MiB", |b| {
        b.iter(|| {
            // A new blob each time, so every iteration writes and renames for real.
            n += 1;
            let mut data = vec![0u8; SIZE];
            data[..8].copy_from_slice(&n.to_le_bytes());
            let data = Bytes::from(data);
            let d = Digest::sha256_of(&data);
            rt.block_on(
                store
                    .uploads()
                    .put_direct(&store, &repo, &d, body(&data), None),
            )
            .unwrap();
        })
    });

    let data = Bytes::from(vec![7u8; SIZE]);
    let d = Digest::sha256_of(&data);
    rt.block_on(
        store
            .uploads()
            .put_direct(&store, &repo, &d, body(&data), None),
    )
    .unwrap();
    g.bench_function("pull_10MiB", |b| {
        b.iter(|| {
            rt.block_on(async {
                let s = store.read_blob(&d, 0, None).await.unwrap();
                let total = s
                    .try_fold(0usize, |n, chunk| async move { Ok(n + chunk.len()) })
                    .await
                    .unwrap();
                assert_eq!(total, SIZE);
            })
        })
    });
    g.finish();

    let config = Bytes::from_static(
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#,
    );
    let cd = Digest::sha256_of(&config);
    rt.block_on(
        store
            .uploads()
            .put_direct(&store, &repo, &cd, body(&config), None),
    )
    .unwrap();
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd.to_string(), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": d.to_string(), "size": SIZE}]
    }))
    .unwrap();
    let manifest = Bytes::from(manifest);
    let tag = Reference::Tag("latest".into());
    c.bench_function("manifest_put", |b| {
        b.iter(|| {
            rt.block_on(store.put_manifest(
                &repo,
                &tag,
                Some("application/vnd.oci.image.manifest.v1+json"),
                manifest.clone(),
            ))
            .unwrap();
        })
    });
}

criterion_group!(benches, blobs);
criterion_main!(benches);
