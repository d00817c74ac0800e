//! Store-level tests: the layer pipeline, images, container layers, leases, GC and crash
//! recovery, on a real data root in a temp dir (root needed for overlay mounts).

use std::io::{Read, Write};
use std::path::Path;

use oci::config::ImageConfig;
use oci::{Digest, Reference};

use crate::snapshot::conformance::Mounted;
use crate::*;

pub(crate) fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(if name.ends_with('/') { 0o755 } else { 0o644 });
        h.set_mtime(1_700_000_000);
        h.set_entry_type(if name.ends_with('/') {
            tar::EntryType::Directory
        } else {
            tar::EntryType::Regular
        });
        b.append_data(&mut h, name, *data).unwrap();
    }
    b.into_inner().unwrap()
}

/// A layer as the assertions below read it (`.layer`, `.stats`, …), from [`Store::unpack`].
#[derive(Debug)]
pub(crate) struct Kept {
    pub layer: LayerRecord,
    pub stats: Option<oci::layer::ApplyStats>,
    pub blob_existed: bool,
    pub input_compression: oci::Compression,
    pub tar_size: u64,
}

impl From<UnpackedLayer> for Kept {
    fn from(u: UnpackedLayer) -> Kept {
        Kept {
            layer: u.layer().expect("a kept blob"),
            stats: u.stats,
            blob_existed: u.blob_existed,
            input_compression: u.input_compression.unwrap_or(oci::Compression::None),
            tar_size: u.tar_size.unwrap_or(0),
        }
    }
}

/// A tarball imported: unpacked and kept gzip-compressed.
pub(crate) fn import_layer<R: Read + Send>(
    s: &Store,
    lease: &Lease,
    r: R,
    parent: Option<&Digest>,
    opts: &ImportOptions,
) -> Result<Kept, StoreError> {
    let content = Content::Tarball { opts, expect: None };
    s.unpack(lease, r, Unpack::on(parent, content))
        .map(Kept::from)
}

/// A layer blob stored and unpacked in one pass.
pub(crate) fn ingest_and_unpack<R: Read + Send>(
    s: &Store,
    lease: &Lease,
    r: R,
    blob: &oci::Descriptor,
    parent: Option<&Digest>,
    diff_id: &Digest,
) -> Result<Kept, StoreError> {
    let content = Content::Blob { blob, diff_id };
    s.unpack(lease, r, Unpack::on(parent, content))
        .map(Kept::from)
}

/// A layer whose blob is kept elsewhere, unpacked.
pub(crate) fn unpack_layer<R: Read + Send>(
    s: &Store,
    lease: &Lease,
    r: R,
    parent: Option<&Digest>,
    diff_id: &Digest,
) -> Result<UnpackedLayer, StoreError> {
    s.unpack(lease, r, Unpack::on(parent, Content::Layer { diff_id }))
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn open(root: &Path) -> Store {
    Store::open(root, StoreOptions::default()).unwrap()
}

fn config_for(diff_ids: &[Digest]) -> Vec<u8> {
    let ids: Vec<String> = diff_ids.iter().map(|d| format!("\"{d}\"")).collect();
    format!(
        r#"{{"architecture":"amd64","os":"linux","created":"2024-01-01T00:00:00Z","config":{{"Cmd":["sh"]}},"rootfs":{{"type":"layers","diff_ids":[{}]}}}}"#,
        ids.join(",")
    )
    .into_bytes()
}

fn make_image(
    s: &Store,
    lease: &Lease,
    layers: Vec<LayerRecord>,
    tag: Option<&str>,
) -> ImageRecord {
    let diff_ids: Vec<Digest> = layers.iter().map(|l| l.diff_id.clone()).collect();
    s.create_image(
        lease,
        NewImage {
            config: config_for(&diff_ids),
            config_media_type: oci::media_type::OCI_CONFIG.into(),
            layers,
            repo_tags: tag
                .map(|t| vec![Reference::parse_tagged(t).unwrap()])
                .unwrap_or_default(),
            ..NewImage::default()
        },
    )
    .unwrap()
}

fn snapshot_count(s: &Store) -> usize {
    let mut n = 0;
    s.snapshotter().walk(&mut |_| n += 1).unwrap();
    n
}

#[test]
fn import_hashes_compresses_and_unpacks_in_one_pass() {
    let tmp = tempfile::tempdir().unwrap();
    let s = open(tmp.path());
    let tar = tar_of(&[
        ("bin/", b""),
        ("bin/hello", b"hello world"),
        ("etc/", b""),
        ("etc/os", b"berth"),
    ]);
    let lease = s.lease().unwrap();
    // The input is gzip; the stored blob is our own gzip of the same tar.
    let imp = import_layer(&s, &lease, &gzip(&tar)[..], None, &ImportOptions::default()).unwrap();
    assert_eq!(imp.input_compression, oci::Compression::Gzip);
    assert_eq!(imp.layer.diff_id, Digest::sha256_of(&tar));
    assert_eq!(imp.layer.chain_id, imp.layer.diff_id);
    assert_eq!(imp.tar_size, tar.len() as u64);
    assert_eq!(imp.layer.size, 16);
    let blob = s.content().read(&imp.layer.blob.digest).unwrap();
    assert_eq!(imp.layer.blob.size, blob.len() as u64);
    assert_eq!(imp.layer.blob.media_type, oci::media_type::OCI_LAYER_GZIP);
    let mut unz = Vec::new();
    flate2::read::GzDecoder::new(&blob[..])
        .read_to_end(&mut unz)
        .unwrap();
    assert_eq!(unz, tar);
    let dir = s.snapshotter().fs_dir(imp.layer.chain_id.as_str()).unwrap();
    assert_eq!(
        std::fs::read(dir.join("bin/hello")).unwrap(),
        b"hello world"
    );
    assert_eq!(
        s.snapshotter()
            .stat(imp.layer.chain_id.as_str())
            .unwrap()
            .kind,
        Kind::Committed
    );
    assert!(s.content().ingests().unwrap().is_empty());

    // The same layer again: shared, not a second snapshot.
    let again = import_layer(&s, &lease, &tar[..], None, &ImportOptions::default()).unwrap();
    assert_eq!(again.layer.chain_id, imp.layer.chain_id);
    assert_eq!(snapshot_count(&s), 1);
}

#[test]
fn import_keeps_a_plain_or_gzip_tarball_as_received() {
    let tmp = tempfile::tempdir().unwrap();
    let s = open(tmp.path());
    let lease = s.lease().unwrap();
    let keep = ImportOptions {
        keep_as_received: true,
        ..Default::default()
    };
    let tar = tar_of(&[("etc/", b""), ("etc/os", b"berth")]);
    let plain = import_layer(&s, &lease, &tar[..], None, &keep).unwrap();
    assert_eq!(plain.layer.blob.media_type, oci::media_type::OCI_LAYER_TAR);
    assert_eq!(
        plain.layer.blob.digest,
        Digest::sha256_of(&tar),
        "the bytes received"
    );
    assert_eq!(plain.layer.diff_id, Digest::sha256_of(&tar));
    assert_eq!(s.content().read(&plain.layer.blob.digest).unwrap(), tar);

    let tar2 = tar_of(&[("srv/", b""), ("srv/data", b"zipped")]);
    let gz = gzip(&tar2);
    let zipped = import_layer(&s, &lease, &gz[..], None, &keep).unwrap();
    assert_eq!(
        zipped.layer.blob.media_type,
        oci::media_type::OCI_LAYER_GZIP
    );
    assert_eq!(zipped.layer.blob.digest, Digest::sha256_of(&gz));
    assert_eq!(zipped.layer.diff_id, Digest::sha256_of(&tar2));
    let dir = s
        .snapshotter()
        .fs_dir(zipped.layer.chain_id.as_str())
        .unwrap();
    assert_eq!(std::fs::read(dir.join("srv/data")).unwrap(), b"zipped");

    // zstd is not kept: stored gzip-compressed, same diff ID.
    let tar3 = tar_of(&[("opt/", b""), ("opt/z", b"zstd")]);
    let zst = zstd::encode_all(&tar3[..], 3).unwrap();
    let other = import_layer(&s, &lease, &zst[..], None, &keep).unwrap();
    assert_eq!(other.layer.blob.media_type, oci::media_type::OCI_LAYER_GZIP);
    assert_eq!(other.layer.diff_id, Digest::sha256_of(&tar3));
    assert!(s.content().ingests().unwrap().is_empty());
}

#[test]
fn images_containers_commit_and_diff_end_to_end() {
    let tmp = tempfile::tempdir().unwrap();
    let s = open(tmp.path());
    let lease = s.lease().unwrap();
    let base = import_layer(
        &s,
        &lease,
        &tar_of(&[("etc/", b""), ("etc/passwd", b"root"), ("etc/gone", b"x")])[..],
        None,
        &ImportOptions::default(),
    )
    .unwrap();
    let top = import_layer(
        &s,
        &lease,
        &tar_of(&[("app/", b""), ("app/run", b"#!/bin/sh")])[..],
        Some(&base.layer.chain_id),
        &ImportOptions::default(),
    )
    .unwrap();
    assert_eq!(
        top.layer.chain_id,
        oci::chain_id(&[base.layer.diff_id.clone(), top.layer.diff_id.clone()]).unwrap()
    );
    let img = make_image(
        &s,
        &lease,
        vec![base.layer.clone(), top.layer.clone()],
        Some("app:1"),
    );
    lease.release().unwrap();
    assert_eq!(s.resolve("app:1").unwrap().id, img.id);
    assert_eq!(img.size, base.layer.size + top.layer.size);
    assert_eq!(
        ImageConfig::from_slice(&s.image_config(&img.id).unwrap())
            .unwrap()
            .rootfs
            .diff_ids
            .len(),
        2
    );

    let mounts = s.prepare_container_layer("c1", img.top_chain_id()).unwrap();
    let mnt = tmp.path().join("rootfs");
    {
        let _m = Mounted::new(&mounts, &mnt).unwrap();
        assert_eq!(std::fs::read(mnt.join("etc/passwd")).unwrap(), b"root");
        std::fs::write(mnt.join("etc/passwd"), b"root\napp").unwrap();
        std::fs::remove_file(mnt.join("etc/gone")).unwrap();
        std::fs::write(mnt.join("new"), b"n").unwrap();
    }
    let changes: Vec<String> = s
        .container_changes("c1")
        .unwrap()
        .iter()
        .map(|c| format!("{} {}", c.kind.letter(), c.path))
        .collect();
    assert_eq!(
        changes,
        vec!["C /etc", "D /etc/gone", "C /etc/passwd", "A /new"]
    );
    assert!(s.container_layer_usage("c1").unwrap().size >= 9);
    assert_eq!(s.container_layers().unwrap(), vec!["c1".to_string()]);

    // Commit: a new layer with a whiteout, on top of the image's, usable by a new image.
    let lease = s.lease().unwrap();
    let committed = Kept::from(
        s.commit_container_layer(&lease, "c1", &ImportOptions::default())
            .unwrap(),
    );
    let mut layers = img.layers.clone();
    layers.push(committed.layer.clone());
    let img2 = make_image(&s, &lease, layers, Some("app:2"));
    drop(lease);
    let m2 = s
        .prepare_container_layer("c2", img2.top_chain_id())
        .unwrap();
    {
        let _m = Mounted::new(&m2, &mnt).unwrap();
        assert_eq!(std::fs::read(mnt.join("etc/passwd")).unwrap(), b"root\napp");
        assert!(!mnt.join("etc/gone").exists());
        assert!(mnt.join("new").exists() && mnt.join("app/run").exists());
    }
    // Images in use by containers keep their layers through GC.
    s.gc().unwrap();
    assert!(s.has_layer(&committed.layer.chain_id).unwrap());
    s.remove_container_layer("c1").unwrap();
    s.remove_container_layer("c2").unwrap();
    assert_eq!(
        s.remove_container_layer("c2").unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

#[test]
fn containers_of_an_image_share_its_init_layer_until_the_image_goes() {
    let tmp = tempfile::tempdir().unwrap();
    let s = open(tmp.path());
    let lease = s.lease().unwrap();
    let base = import_layer(
        &s,
        &lease,
        &tar_of(&[("etc/", b""), ("etc/passwd", b"root")])[..],
        None,
        &ImportOptions::default(),
    )
    .unwrap();
    let img = make_image(&s, &lease, vec![base.layer.clone()], Some("app:1"));
    lease.release().unwrap();
    let init = format!("container-init/{}", base.layer.chain_id);
    for c in ["c1", "c2", "c3"] {
        s.prepare_container_layer(c, img.top_chain_id()).unwrap();
        let info = s.snapshotter().stat(&format!("container/{c}")).unwrap();
        assert_eq!(info.parent.as_deref(), Some(init.as_str()));
        // The init layer's files are mount targets, not the container's changes.
        assert!(s.container_changes(c).unwrap().is_empty());
        let lowers = s
            .snapshotter()
            .parent_dirs(&format!("container/{c}"))
            .unwrap();
        assert!(lowers[0].join("etc/hostname").is_file());
        assert!(lowers[0].join("proc").is_dir());
    }
    // Image layer, one init layer, three rw layers.
    assert_eq!(snapshot_count(&s), 5);
    for c in ["c1", "c2", "c3"] {
        s.remove_container_layer(c).unwrap();
    }
    // The init layer stays for the image's next container, and is not garbage.
    assert!(s.snapshotter().exists(&init).unwrap());
    assert!(
        s.garbage().unwrap().is_empty(),
        "{:?}",
        s.garbage().unwrap()
    );
    s.gc().unwrap();
    assert!(s.snapshotter().exists(&init).unwrap());
    // It goes with the image.
    s.untag(&Reference::parse_tagged("app:1").unwrap()).unwrap();
    s.delete_image(&img.id, false).unwrap();
    s.gc().unwrap();
    assert_eq!(snapshot_count(&s), 0);
    assert!(s.snapshotter().dir_ids().unwrap().is_empty());
}

#[test]
fn a_container_with_its_own_init_layer_removes_it() {
    // Containers made before init layers were shared have `container-init/<id>` of their own.
    let tmp = tempfile::tempdir().unwrap();
    let s = open(tmp.path());
    s.prepare_snapshot(None, "extract/x", None, Labels::new(), Kind::Active, true)
        .unwrap();
    let sn = s.snapshotter();
    let mut owner = Labels::new();
    owner.insert(
        crate::store::OWNER_LABEL.to_string(),
        "container".to_string(),
    );
    let rec = s
        .inner
        .db
        .write(|tx| {
            crate::snapshot::overlay::commit_record(
                tx,
                "container-init/old",
                "extract/x",
                Labels::new(),
            )?;
            sn.create_record(
                tx,
                "container/old",
                Some("container-init/old"),
                owner,
                Kind::Active,
            )
        })
        .unwrap();
    sn.make_dirs(&rec).unwrap();
    s.prepare_container_layer("new", None).unwrap();
    s.remove_container_layer("old").unwrap();
    let mut keys = Vec::new();
    sn.walk(&mut |i| keys.push(i.key.clone())).unwrap();
    keys.sort();
    assert_eq!(keys, ["container-init/scratch", "container/new"]);
    assert_eq!(sn.dir_ids().unwrap().len(), 2);
}

#[test]
fn unpack_verifies_the_diff_id_and_leaves_nothing_on_mismatch() {
    let tmp = tempfile::tempdir().unwrap();
    let s = open(tmp.path());
    let lease = s.lease().unwrap();
    let tar = tar_of(&[("f", b"data")]);
    let wrong = Digest::sha256_of(b"something else");
    let e = unpack_layer(&s, &lease, &gzip(&tar)[..], None, &wrong).unwrap_err();
    assert!(matches!(e, StoreError::DiffIdMismatch { .. }), "{e}");
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert_eq!(snapshot_count(&s), 0);
    assert!(s.snapshotter().dir_ids().unwrap().is_empty());
    // A corrupt stream fails the same clean way.
    let mut bad = gzip(&tar);
    let n = bad.len();
    bad[n / 2] ^= 0xff;
    assert!(unpack_layer(&s, &lease, &bad[..], None, &Digest::sha256_of(&tar)).is_err());
    assert_eq!(snapshot_count(&s), 0);

    // From the content store, twice concurrently: unpacked once.
    let info = s.put_blob(&lease, &gzip(&tar)).unwrap();
    let desc = oci::Descriptor::new(
        oci::media_type::DOCKER_LAYER_GZIP,
        info.digest.clone(),
        info.size,
    );
    let diff = Digest::sha256_of(&tar);
    std::thread::scope(|sc| {
        let a = sc.spawn(|| s.unpack_blob(&lease, &desc, None, &diff).unwrap());
        let b = sc.spawn(|| s.unpack_blob(&lease, &desc, None, &diff).unwrap());
        assert_eq!(a.join().unwrap(), b.join().unwrap());
    });
    assert_eq!(snapshot_count(&s), 1);
    let missing = oci::Descriptor::new(
        oci::media_type::DOCKER_LAYER_GZIP,
        Digest::sha256_of(b"nope"),
        1,
    );
    assert!(matches!(
        s.unpack_blob(&lease, &missing, None, &diff),
        Err(StoreError::MissingBlob { .. })
    ));
}

#[test]
fn create_image_checks_layers_against_the_config() {
    let tmp = tempfile::tempdir().unwrap();
    let s = open(tmp.path());
    let lease = s.lease().unwrap();
    let l = import_layer(
        &s,
        &lease,
        &tar_of(&[("a", b"a")])[..],
        None,
        &ImportOptions::default(),
    )
    .unwrap()
    .layer;
    let img = |config: Vec<u8>, layers: Vec<LayerRecord>| NewImage {
        config,
        config_media_type: oci::media_type::OCI_CONFIG.into(),
        layers,
        ..NewImage::default()
    };
    let e = s
        .create_image(&lease, img(config_for(&[]), vec![l.clone()]))
        .unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::LayerCount {
                config: 0,
                given: 1
            }
        ),
        "{e}"
    );
    let e = s
        .create_image(
            &lease,
            img(config_for(&[Digest::sha256_of(b"x")]), vec![l.clone()]),
        )
        .unwrap_err();
    assert!(e.to_string().contains("diff ID"), "{e}");
    let e = s
        .create_image(&lease, img(b"{not json".to_vec(), vec![]))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    // An image with no layers at all is fine.
    let empty = s
        .create_image(&lease, img(config_for(&[]), vec![]))
        .unwrap();
    assert_eq!(empty.size, 0);
    assert_eq!(empty.id, Digest::sha256_of(&config_for(&[])));
}

#[test]
fn gc_removes_exactly_what_nothing_references() {
    let tmp = tempfile::tempdir().unwrap();
    let s = open(tmp.path());
    let lease = s.lease().unwrap();
    let shared = import_layer(
        &s,
        &lease,
        &tar_of(&[("base", b"b")])[..],
        None,
        &ImportOptions::default(),
    )
    .unwrap()
    .layer;
    let only_a = import_layer(
        &s,
        &lease,
        &tar_of(&[("a", b"a")])[..],
        Some(&shared.chain_id),
        &ImportOptions::default(),
    )
    .unwrap()
    .layer;
    let only_b = import_layer(
        &s,
        &lease,
        &tar_of(&[("b", b"b")])[..],
        Some(&shared.chain_id),
        &ImportOptions::default(),
    )
    .unwrap()
    .layer;
    let a = make_image(&s, &lease, vec![shared.clone(), only_a.clone()], Some("a"));
    let b = make_image(&s, &lease, vec![shared.clone(), only_b.clone()], Some("b"));
    // While the lease is held nothing goes, even after the images are gone.
    let e = s.delete_image(&a.id, false).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict);
    s.untag(&Reference::parse_tagged("a").unwrap()).unwrap();
    s.delete_image(&a.id, false).unwrap();
    assert!(s.has_layer(&only_a.chain_id).unwrap());
    lease.release().unwrap();
    let st = s.gc().unwrap();
    assert_eq!(st.snapshots_removed, 1);
    assert!(!s.has_layer(&only_a.chain_id).unwrap());
    assert!(s.has_layer(&shared.chain_id).unwrap() && s.has_layer(&only_b.chain_id).unwrap());
    assert!(!s.content().exists(&only_a.blob.digest) && !s.content().exists(&a.id));
    assert!(s.content().exists(&shared.blob.digest) && s.content().exists(&b.id));

    s.delete_image(&b.id, true).unwrap();
    assert_eq!(snapshot_count(&s), 0);
    assert!(
        s.content().list().unwrap().is_empty(),
        "{:?}",
        s.content().list().unwrap()
    );
    assert!(s.snapshotter().dir_ids().unwrap().is_empty());
}

#[test]
fn a_crash_mid_import_leaves_nothing_visible_after_reopen() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let s = open(tmp.path());
        let lease = s.lease().unwrap();
        // A layer fully imported but never made into an image, an unpack stopped halfway,
        // an ingest stopped halfway: then the process dies (the lease is never released).
        import_layer(
            &s,
            &lease,
            &tar_of(&[("x", b"x")])[..],
            None,
            &ImportOptions::default(),
        )
        .unwrap();
        let rec = s
            .prepare_leased(Some(&lease), "extract/half", None, Labels::new())
            .unwrap();
        std::fs::write(
            s.snapshotter()
                .root()
                .join(rec.id.to_string())
                .join("fs/partial"),
            b"p",
        )
        .unwrap();
        let mut w = s.ingest(&lease, "pull/half", Some(100)).unwrap();
        w.write_all(b"half").unwrap();
        // A container's rw layer must survive.
        s.prepare_container_layer("keep", None).unwrap();
        // Debris: a snapshot dir with no record, an ingest dir with no status.
        std::fs::create_dir_all(s.snapshotter().root().join("999/fs")).unwrap();
        std::fs::create_dir_all(tmp.path().join("content/ingest/broken")).unwrap();
        lease.abandon();
    }
    let s = open(tmp.path());
    let mut keys = Vec::new();
    s.snapshotter()
        .walk(&mut |i| keys.push(i.key.clone()))
        .unwrap();
    keys.sort();
    assert_eq!(
        keys,
        vec![
            "container-init/scratch".to_string(),
            "container/keep".to_string()
        ]
    );
    assert!(s.content().list().unwrap().is_empty());
    assert_eq!(s.snapshotter().dir_ids().unwrap().len(), 2);
    assert!(!tmp.path().join("content/ingest/broken").exists());
    // The partial download stays for a resume (it is younger than the ingest age bound).
    assert_eq!(
        s.content()
            .ingest_status("pull/half")
            .unwrap()
            .unwrap()
            .offset,
        4
    );
    drop(s);
    let short = Store::open(
        tmp.path(),
        StoreOptions {
            ingest_max_age: std::time::Duration::ZERO,
            ..StoreOptions::default()
        },
    )
    .unwrap();
    assert!(short.content().ingests().unwrap().is_empty());
}

#[test]
fn persistent_leases_survive_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let digest;
    {
        let s = open(tmp.path());
        let lease = s
            .lease_with(&LeaseOptions {
                persistent: true,
                ..LeaseOptions::default()
            })
            .unwrap();
        digest = s.put_blob(&lease, b"{\"keep\":1}").unwrap().digest;
        lease.abandon();
    }
    let s = open(tmp.path());
    assert!(s.content().exists(&digest));
}

#[test]
fn engine_tables_share_the_database() {
    let tmp = tempfile::tempdir().unwrap();
    let s = open(tmp.path());
    s.db()
        .write(|tx| tx.insert_unique("names", "/web", &"abc"))
        .unwrap();
    let e = s
        .db()
        .write(|tx| tx.insert_unique("names", "/web", &"def"))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict);
    drop(s);
    let s = open(tmp.path());
    assert_eq!(
        s.db()
            .read(|tx| tx.get::<String>("names", "/web"))
            .unwrap()
            .as_deref(),
        Some("abc")
    );
}

#[test]
fn handles_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Store>();
    check::<Lease>();
    check::<OverlaySnapshotter>();
    check::<MetaDb>();
    fn check_send<T: Send>() {}
    check_send::<IngestWriter>();
}

#[test]
fn a_failed_import_leaves_no_snapshot_blob_or_ingest() {
    let tmp = tempfile::tempdir().unwrap();
    let s = open(tmp.path());
    let lease = s.lease().unwrap();
    let mut tar = tar_of(&[("big", &[7u8; 100_000])]);
    tar.truncate(50_000);
    for bad in [gzip(&tar), tar.clone(), b"BZh91AY&SY".to_vec()] {
        let e = import_layer(&s, &lease, &bad[..], None, &ImportOptions::default()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    }
    assert_eq!(snapshot_count(&s), 0);
    assert!(s.snapshotter().dir_ids().unwrap().is_empty());
    assert!(s.content().ingests().unwrap().is_empty());
    assert!(s.content().list().unwrap().is_empty());
}
