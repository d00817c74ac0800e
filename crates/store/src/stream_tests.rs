//! Tests of the one-pass store-and-unpack path and of the garbage report.

use std::io::Write;

use oci::{media_type, Descriptor, Digest};

use crate::tests::{import_layer, ingest_and_unpack, tar_of};
use crate::*;

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn desc(blob: &[u8]) -> Descriptor {
    Descriptor::new(
        media_type::OCI_LAYER_GZIP,
        Digest::sha256_of(blob),
        blob.len() as u64,
    )
}

fn open(root: &std::path::Path) -> Store {
    Store::open(root, StoreOptions::default()).unwrap()
}

#[test]
fn one_pass_stores_the_blob_and_unpacks_the_layer() {
    let tmp = tempfile::tempdir().unwrap();
    let s = open(tmp.path());
    let tar = tar_of(&[("etc/", b""), ("etc/motd", b"hello\n")]);
    let gz = gzip(&tar);
    let lease = s.lease().unwrap();
    let diff = Digest::sha256_of(&tar);
    let got = ingest_and_unpack(&s, &lease, &gz[..], &desc(&gz), None, &diff).unwrap();
    assert!(!got.blob_existed);
    assert!(got.stats.is_some());
    assert_eq!(got.layer.chain_id, diff);
    assert_eq!(s.content().read(&Digest::sha256_of(&gz)).unwrap(), gz);
    let dir = s.snapshotter().root().to_path_buf();
    let found = walk_files(&dir, "motd");
    assert_eq!(std::fs::read(&found[0]).unwrap(), b"hello\n");
    // Again: nothing is written twice, the stream is only drained.
    let again = ingest_and_unpack(&s, &lease, &gz[..], &desc(&gz), None, &diff).unwrap();
    assert!(again.blob_existed && again.stats.is_none());
    assert_eq!(again.layer, got.layer);
}

#[test]
fn a_wrong_digest_or_diff_id_keeps_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let s = open(tmp.path());
    let tar = tar_of(&[("a", b"a")]);
    let gz = gzip(&tar);
    let lease = s.lease().unwrap();
    let mut bad = desc(&gz);
    bad.digest = Digest::sha256_of(b"something else");
    let e =
        ingest_and_unpack(&s, &lease, &gz[..], &bad, None, &Digest::sha256_of(&tar)).unwrap_err();
    assert!(e.to_string().contains("digest"), "{e}");
    let e = ingest_and_unpack(
        &s,
        &lease,
        &gz[..],
        &desc(&gz),
        None,
        &Digest::sha256_of(b"x"),
    )
    .unwrap_err();
    assert!(matches!(e, StoreError::DiffIdMismatch { .. }), "{e}");
    let mut n = 0;
    s.snapshotter().walk(&mut |_| n += 1).unwrap();
    assert_eq!(n, 0, "no snapshot survives a failed unpack");
    assert!(s.content().list().unwrap().is_empty());
    assert!(s.content().ingests().unwrap().is_empty());
    drop(lease);
    s.gc().unwrap();
    assert!(s.garbage().unwrap().is_empty());
}

#[test]
fn an_uncompressed_blob_is_stored_as_is() {
    let tmp = tempfile::tempdir().unwrap();
    let s = open(tmp.path());
    let tar = tar_of(&[("plain", b"plain text")]);
    let lease = s.lease().unwrap();
    let d = Descriptor::new(
        media_type::OCI_LAYER_TAR,
        Digest::sha256_of(&tar),
        tar.len() as u64,
    );
    let got = ingest_and_unpack(&s, &lease, &tar[..], &d, None, &Digest::sha256_of(&tar)).unwrap();
    assert_eq!(got.layer.blob.digest, got.layer.diff_id);
    assert_eq!(s.content().read(&d.digest).unwrap(), tar);
}

#[test]
fn garbage_lists_what_no_root_reaches() {
    let tmp = tempfile::tempdir().unwrap();
    let s = open(tmp.path());
    let tar = tar_of(&[("x", b"x")]);
    let gz = gzip(&tar);
    let lease = s.lease().unwrap();
    ingest_and_unpack(
        &s,
        &lease,
        &gz[..],
        &desc(&gz),
        None,
        &Digest::sha256_of(&tar),
    )
    .unwrap();
    assert!(
        s.garbage().unwrap().is_empty(),
        "the lease holds everything"
    );
    lease.release().unwrap();
    let g = s.garbage().unwrap();
    assert_eq!(g.blobs, vec![Digest::sha256_of(&gz)]);
    assert_eq!(g.snapshots, vec![Digest::sha256_of(&tar).to_string()]);
    s.gc().unwrap();
    assert!(s.garbage().unwrap().is_empty());
}

fn walk_files(dir: &std::path::Path, name: &str) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if e.file_type().unwrap().is_dir() {
            out.extend(walk_files(&p, name));
        } else if e.file_name() == name {
            out.push(p);
        }
    }
    out
}

#[test]
fn the_init_layer_hides_runtime_mount_points_from_diff_and_commit() {
    let tmp = tempfile::tempdir().unwrap();
    let s = open(tmp.path());
    let lease = s.lease().unwrap();
    let tar = tar_of(&[("etc/", b""), ("etc/passwd", b"root\n"), ("bin/", b"")]);
    let base = import_layer(&s, &lease, &tar[..], None, &ImportOptions::default())
        .unwrap()
        .layer;
    s.prepare_container_layer("ctr1", Some(&base.chain_id))
        .unwrap();
    // The view has the mount points; the rw layer is empty, so nothing changed.
    assert!(s.container_changes("ctr1").unwrap().is_empty());
    let upper = s.container_layer_dir("ctr1").unwrap();
    std::fs::write(upper.join("new"), b"n").unwrap();
    let changes: Vec<String> = s
        .container_changes("ctr1")
        .unwrap()
        .into_iter()
        .map(|c| format!("{} {}", c.kind.letter(), c.path))
        .collect();
    assert_eq!(changes, vec!["A /new"]);
    let layer = s
        .commit_container_layer(&lease, "ctr1", &ImportOptions::default())
        .unwrap()
        .layer()
        .unwrap();
    // Committed on the image's layer (not on the init layer), holding only the new file.
    assert_eq!(
        layer.chain_id,
        oci::config::chain_ids(&[base.diff_id.clone(), layer.diff_id.clone()])[1]
    );
    let blob = s.content().read(&layer.blob.digest).unwrap();
    let mut names = Vec::new();
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(&blob[..]));
    for e in ar.entries().unwrap() {
        names.push(e.unwrap().path().unwrap().display().to_string());
    }
    assert_eq!(names, vec!["new"]);
    // Removing the container removes both of its layers (the id is not hex, so no layer digest
    // can contain it by chance).
    s.remove_container_layer("ctr1").unwrap();
    let mut keys = Vec::new();
    s.snapshotter()
        .walk(&mut |i| keys.push(i.key.clone()))
        .unwrap();
    assert!(keys.iter().all(|k| !k.contains("ctr1")), "{keys:?}");
}
