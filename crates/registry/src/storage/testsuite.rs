//! The conformance suite every [`StorageDriver`] must pass (the contract in [`super`]). A driver's
//! tests call [`run`] on a fresh, empty instance; it panics on the first broken promise.

use bytes::Bytes;
use futures_util::TryStreamExt;

use super::{DriverError, StorageDriver};

async fn read_all(d: &dyn StorageDriver, path: &str, offset: u64, len: Option<u64>) -> Vec<u8> {
    let s = d.read_stream(path, offset, len).await.expect("read_stream");
    let chunks: Vec<Bytes> = s.try_collect().await.expect("stream");
    chunks.concat()
}

/// Runs every check against `d`, which must be empty.
pub async fn run(d: &dyn StorageDriver) {
    missing_and_unclean_paths(d).await;
    put_get_and_ranges(d).await;
    writers(d).await;
    rename_and_delete(d).await;
}

async fn missing_and_unclean_paths(d: &dyn StorageDriver) {
    // Missing paths are NotFound everywhere.
    assert!(d.get_content("a/missing").await.unwrap_err().is_not_found());
    assert!(d.stat("a/missing").await.unwrap_err().is_not_found());
    assert!(d.list("a").await.unwrap_err().is_not_found());
    assert!(d.delete("a/missing").await.unwrap_err().is_not_found());
    assert!(d.read_stream("a/missing", 0, None).await.is_err());

    // Unclean paths are refused before touching anything.
    for bad in ["", "/abs", "a/../b", "a//b", "./a", "a/."] {
        assert!(
            matches!(
                d.put_content(bad, Bytes::new()).await,
                Err(DriverError::InvalidPath { .. })
            ),
            "{bad:?}"
        );
    }
}

async fn put_get_and_ranges(d: &dyn StorageDriver) {
    // put/get/overwrite, with parents created on the way.
    d.put_content("a/b/c", Bytes::from_static(b"one"))
        .await
        .unwrap();
    assert_eq!(&d.get_content("a/b/c").await.unwrap()[..], b"one");
    d.put_content("a/b/c", Bytes::from_static(b"second"))
        .await
        .unwrap();
    assert_eq!(&d.get_content("a/b/c").await.unwrap()[..], b"second");
    let st = d.stat("a/b/c").await.unwrap();
    assert_eq!((st.size, st.is_dir), (6, false));
    assert!(d.stat("a/b").await.unwrap().is_dir);
    d.put_content("a/b/a", Bytes::new()).await.unwrap();
    assert_eq!(d.list("a/b").await.unwrap(), vec!["a", "c"]);

    // Ranged streams.
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    d.put_content("big", Bytes::from(big.clone()))
        .await
        .unwrap();
    assert_eq!(read_all(d, "big", 0, None).await, big);
    assert_eq!(
        read_all(d, "big", 1_000_001, Some(10)).await,
        &big[1_000_001..1_000_011]
    );
    assert_eq!(read_all(d, "big", 2_999_990, None).await, &big[2_999_990..]);
}

async fn writers(d: &dyn StorageDriver) {
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    // Writers append; abort_to drops a failed tail.
    let mut w = d.writer("up/data", false).await.unwrap();
    w.write(Bytes::from(big[..1_000_000].to_vec()))
        .await
        .unwrap();
    w.commit().await.unwrap();
    let mut w = d.writer("up/data", true).await.unwrap();
    assert_eq!(w.size(), 1_000_000);
    w.write(Bytes::from(big[1_000_000..].to_vec()))
        .await
        .unwrap();
    assert_eq!(w.size(), 3_000_000);
    w.commit().await.unwrap();
    assert_eq!(read_all(d, "up/data", 0, None).await, big);
    let mut w = d.writer("up/data", true).await.unwrap();
    w.write(Bytes::from_static(b"garbage")).await.unwrap();
    w.abort_to(3_000_000).await.unwrap();
    assert_eq!(d.stat("up/data").await.unwrap().size, 3_000_000);
    // A fresh (non-append) writer truncates.
    let w = d.writer("up/data", false).await.unwrap();
    assert_eq!(w.size(), 0);
    w.commit().await.unwrap();
}

async fn rename_and_delete(d: &dyn StorageDriver) {
    // Rename replaces and creates parents; delete is recursive.
    d.rename("big", "x/y/z").await.unwrap();
    assert!(d.stat("big").await.unwrap_err().is_not_found());
    assert_eq!(d.stat("x/y/z").await.unwrap().size, 3_000_000);
    d.put_content("x/other", Bytes::from_static(b"o"))
        .await
        .unwrap();
    d.rename("x/other", "x/y/z").await.unwrap();
    assert_eq!(&d.get_content("x/y/z").await.unwrap()[..], b"o");
    d.delete("x").await.unwrap();
    assert!(d.stat("x/y/z").await.unwrap_err().is_not_found());
    d.delete("a/b/c").await.unwrap();
    assert_eq!(d.list("a/b").await.unwrap(), vec!["a"]);
}
