//! Distribution-spec tests for blobs and uploads: every endpoint, its headers and its error
//! paths, against an in-process registry.

mod common;

use bytes::Bytes;
use common::{files_under, TestServer};
use registry::digest::{Algorithm, Hasher};
use registry::Digest;

fn data(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

#[tokio::test]
async fn base_endpoint_answers_with_the_api_version_header() {
    let s = TestServer::start(|_| {}).await;
    let r = s.client().get("/v2/").await;
    r.expect(200, None);
    assert_eq!(
        r.header("docker-distribution-api-version"),
        Some("registry/2.0")
    );
    assert_eq!(r.json(), serde_json::json!({}));
    s.client().get("/v2").await.expect(200, None);
    let r = s.client().get("/v2/nothing/here").await;
    r.expect(404, None);
    assert_eq!(
        r.header("docker-distribution-api-version"),
        Some("registry/2.0")
    );
}

#[tokio::test]
async fn monolithic_upload_then_head_get_and_ranges() {
    let s = TestServer::start(|_| {}).await;
    let c = s.client();
    let blob = data(100_000, 1);
    let (d, r) = c.push_blob("lib/app", &blob).await;
    r.expect(201, None);
    assert_eq!(
        r.header("location"),
        Some(format!("/v2/lib/app/blobs/{d}").as_str())
    );
    assert_eq!(
        r.header("docker-content-digest"),
        Some(d.to_string().as_str())
    );

    let h = c.head(&format!("/v2/lib/app/blobs/{d}")).await;
    h.expect(200, None);
    assert_eq!(h.header("content-length"), Some("100000"));
    assert_eq!(
        h.header("docker-content-digest"),
        Some(d.to_string().as_str())
    );
    assert!(h.body.is_empty());

    let g = c.get(&format!("/v2/lib/app/blobs/{d}")).await;
    g.expect(200, None);
    assert_eq!(&g.body[..], &blob[..]);

    let p = c
        .send(
            "GET",
            &format!("/v2/lib/app/blobs/{d}"),
            &[("range", "bytes=10-19")],
            Bytes::new(),
        )
        .await;
    p.expect(206, None);
    assert_eq!(&p.body[..], &blob[10..20]);
    assert_eq!(p.header("content-range"), Some("bytes 10-19/100000"));
    let tail = c
        .send(
            "GET",
            &format!("/v2/lib/app/blobs/{d}"),
            &[("range", "bytes=-5")],
            Bytes::new(),
        )
        .await;
    assert_eq!(&tail.body[..], &blob[99_995..]);
    let bad = c
        .send(
            "GET",
            &format!("/v2/lib/app/blobs/{d}"),
            &[("range", "bytes=100000-")],
            Bytes::new(),
        )
        .await;
    bad.expect(416, None);
    assert_eq!(bad.header("content-range"), Some("bytes */100000"));

    // The same blob in another repository is unknown until linked there.
    c.head(&format!("/v2/other/blobs/{d}"))
        .await
        .expect(404, None);
    c.get(&format!("/v2/other/blobs/{d}"))
        .await
        .expect(404, Some("BLOB_UNKNOWN"));
}

#[tokio::test]
async fn chunked_upload_with_out_of_order_chunk_and_status() {
    let s = TestServer::start(|_| {}).await;
    let c = s.client();
    let blob = data(3000, 2);
    let d = Digest::sha256_of(&blob);
    let r = c
        .send("POST", "/v2/chunky/blobs/uploads/", &[], Bytes::new())
        .await;
    r.expect(202, None);
    let loc = r.header("location").unwrap().to_owned();
    assert!(loc.starts_with("/v2/chunky/blobs/uploads/"), "{loc}");
    assert_eq!(r.header("range"), Some("0-0"));
    let uuid = r.header("docker-upload-uuid").unwrap().to_owned();
    assert!(loc.ends_with(&uuid));

    let r = c
        .send(
            "PATCH",
            &loc,
            &[
                ("content-range", "0-999"),
                ("content-type", "application/octet-stream"),
            ],
            blob[..1000].to_vec(),
        )
        .await;
    r.expect(202, None);
    assert_eq!(r.header("range"), Some("0-999"));
    assert_eq!(r.header("location"), Some(loc.as_str()));

    // A chunk that does not start where the upload ends: 416, and nothing appended.
    let r = c
        .send(
            "PATCH",
            &loc,
            &[("content-range", "1500-1999")],
            blob[1500..2000].to_vec(),
        )
        .await;
    r.expect(416, Some("BLOB_UPLOAD_INVALID"));
    assert_eq!(r.header("range"), Some("0-999"));
    let st = c.get(&loc).await;
    st.expect(204, None);
    assert_eq!(st.header("range"), Some("0-999"));
    assert_eq!(st.header("docker-upload-uuid"), Some(uuid.as_str()));

    // A Content-Range that disagrees with Content-Length is refused before reading.
    c.send(
        "PATCH",
        &loc,
        &[("content-range", "1000-1009")],
        blob[1000..1005].to_vec(),
    )
    .await
    .expect(400, Some("SIZE_INVALID"));

    c.send(
        "PATCH",
        &loc,
        &[("content-range", "1000-1999")],
        blob[1000..2000].to_vec(),
    )
    .await
    .expect(202, None);
    // Final chunk with the PUT.
    let r = c
        .send(
            "PUT",
            &format!("{loc}?digest={d}"),
            &[("content-range", "2000-2999")],
            blob[2000..].to_vec(),
        )
        .await;
    r.expect(201, None);
    assert_eq!(
        r.header("location"),
        Some(format!("/v2/chunky/blobs/{d}").as_str())
    );
    assert_eq!(
        &c.get(&format!("/v2/chunky/blobs/{d}")).await.body[..],
        &blob[..]
    );
    // The session is gone.
    c.get(&loc).await.expect(404, Some("BLOB_UPLOAD_UNKNOWN"));
}

#[tokio::test]
async fn streamed_patches_then_put_without_body() {
    let s = TestServer::start(|_| {}).await;
    let c = s.client();
    let blob = data(5 * 1024 * 1024 + 17, 3);
    let d = Digest::sha256_of(&blob);
    let loc = c
        .send("POST", "/v2/s/blobs/uploads/", &[], Bytes::new())
        .await
        .header("location")
        .unwrap()
        .to_owned();
    let mid = 2 * 1024 * 1024 + 5;
    c.send("PATCH", &loc, &[], blob[..mid].to_vec())
        .await
        .expect(202, None);
    let r = c.send("PATCH", &loc, &[], blob[mid..].to_vec()).await;
    r.expect(202, None);
    assert_eq!(
        r.header("range"),
        Some(format!("0-{}", blob.len() - 1).as_str())
    );
    c.send(
        "PUT",
        &format!("{loc}?digest={d}"),
        &[("content-length", "0")],
        Bytes::new(),
    )
    .await
    .expect(201, None);
    let g = c.get(&format!("/v2/s/blobs/{d}")).await;
    assert_eq!(g.body.len(), blob.len());
    assert!(g.body[..] == blob[..]);
}

#[tokio::test]
async fn single_put_upload_and_sha512() {
    let s = TestServer::start(|_| {}).await;
    let c = s.client();
    let blob = data(4321, 4);
    let mut h = Hasher::new(Algorithm::Sha512);
    h.update(&blob);
    let d = h.finish();
    let loc = c
        .send("POST", "/v2/x/blobs/uploads/", &[], Bytes::new())
        .await
        .header("location")
        .unwrap()
        .to_owned();
    let r = c
        .send("PUT", &format!("{loc}?digest={d}"), &[], blob.clone())
        .await;
    r.expect(201, None);
    assert_eq!(
        r.header("docker-content-digest"),
        Some(d.to_string().as_str())
    );
    let g = c.get(&format!("/v2/x/blobs/{d}")).await;
    g.expect(200, None);
    assert_eq!(&g.body[..], &blob[..]);
    // Monolithic sha512 too.
    let blob2 = data(99, 5);
    let mut h = Hasher::new(Algorithm::Sha512);
    h.update(&blob2);
    let d2 = h.finish();
    c.send(
        "POST",
        &format!("/v2/x/blobs/uploads/?digest={d2}"),
        &[],
        blob2,
    )
    .await
    .expect(201, None);
    c.head(&format!("/v2/x/blobs/{d2}")).await.expect(200, None);
}

#[tokio::test]
async fn digest_mismatch_and_bad_digests_store_nothing() {
    let s = TestServer::start(|_| {}).await;
    let c = s.client();
    let blob = data(1000, 6);
    let wrong = Digest::sha256_of(b"something else");
    c.send(
        "POST",
        &format!("/v2/m/blobs/uploads/?digest={wrong}"),
        &[],
        blob.clone(),
    )
    .await
    .expect(400, Some("DIGEST_INVALID"));
    c.head(&format!("/v2/m/blobs/{wrong}"))
        .await
        .expect(404, None);
    c.head(&format!("/v2/m/blobs/{}", Digest::sha256_of(&blob)))
        .await
        .expect(404, None);
    assert!(
        files_under(&s.root.join("blobs")).is_empty(),
        "{:?}",
        files_under(&s.root)
    );
    assert!(files_under(&s.root.join("uploads")).is_empty());

    let loc = c
        .send("POST", "/v2/m/blobs/uploads/", &[], Bytes::new())
        .await
        .header("location")
        .unwrap()
        .to_owned();
    c.send("PATCH", &loc, &[], blob.clone())
        .await
        .expect(202, None);
    c.send("PUT", &format!("{loc}?digest={wrong}"), &[], Bytes::new())
        .await
        .expect(400, Some("DIGEST_INVALID"));
    c.get(&loc).await.expect(404, Some("BLOB_UPLOAD_UNKNOWN"));
    assert!(files_under(&s.root.join("blobs")).is_empty());

    for bad in [
        "sha256:abc",
        "md5:d41d8cd98f00b204e9800998ecf8427e",
        "nocolon",
        "sha256:ZZZ",
    ] {
        c.send(
            "POST",
            &format!("/v2/m/blobs/uploads/?digest={bad}"),
            &[],
            blob.clone(),
        )
        .await
        .expect(400, Some("DIGEST_INVALID"));
        c.head(&format!("/v2/m/blobs/{bad}"))
            .await
            .expect(400, None);
    }
    let loc = c
        .send("POST", "/v2/m/blobs/uploads/", &[], Bytes::new())
        .await
        .header("location")
        .unwrap()
        .to_owned();
    c.send("PUT", &loc, &[], Bytes::new())
        .await
        .expect(400, Some("DIGEST_INVALID"));
    assert!(files_under(&s.root.join("blobs")).is_empty());
}

#[tokio::test]
async fn unknown_and_cancelled_uploads() {
    let s = TestServer::start(|_| {}).await;
    let c = s.client();
    let fake = "/v2/u/blobs/uploads/0123456789abcdef0123456789abcdef";
    c.get(fake).await.expect(404, Some("BLOB_UPLOAD_UNKNOWN"));
    c.send("PATCH", fake, &[], b"x".to_vec())
        .await
        .expect(404, Some("BLOB_UPLOAD_UNKNOWN"));
    c.send(
        "PATCH",
        "/v2/u/blobs/uploads/..%2f..%2fetc",
        &[],
        b"x".to_vec(),
    )
    .await
    .expect(404, Some("BLOB_UPLOAD_UNKNOWN"));
    let loc = c
        .send("POST", "/v2/u/blobs/uploads/", &[], Bytes::new())
        .await
        .header("location")
        .unwrap()
        .to_owned();
    c.send("DELETE", &loc, &[], Bytes::new())
        .await
        .expect(204, None);
    c.get(&loc).await.expect(404, Some("BLOB_UPLOAD_UNKNOWN"));
    c.send("DELETE", &loc, &[], Bytes::new())
        .await
        .expect(404, Some("BLOB_UPLOAD_UNKNOWN"));
}

#[tokio::test]
async fn an_upload_session_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let blob = data(300_000, 7);
    let d = Digest::sha256_of(&blob);
    let s = TestServer::start_at(&root, |_| {}).await;
    let c = s.client();
    let loc = c
        .send("POST", "/v2/r/blobs/uploads/", &[], Bytes::new())
        .await
        .header("location")
        .unwrap()
        .to_owned();
    c.send(
        "PATCH",
        &loc,
        &[("content-range", "0-99999")],
        blob[..100_000].to_vec(),
    )
    .await
    .expect(202, None);
    s.stop().await;

    let s = TestServer::start_at(&root, |_| {}).await;
    let c = s.client();
    assert_eq!(c.get(&loc).await.header("range"), Some("0-99999"));
    c.send(
        "PATCH",
        &loc,
        &[("content-range", "100000-299999")],
        blob[100_000..].to_vec(),
    )
    .await
    .expect(202, None);
    c.send("PUT", &format!("{loc}?digest={d}"), &[], Bytes::new())
        .await
        .expect(201, None);
    assert_eq!(
        &c.get(&format!("/v2/r/blobs/{d}")).await.body[..],
        &blob[..]
    );
}

#[tokio::test]
async fn cross_repository_mount() {
    let s = TestServer::start(|_| {}).await;
    let c = s.client();
    let blob = data(777, 8);
    let (d, _) = c.push_blob("src/repo", &blob).await;
    let r = c
        .send(
            "POST",
            &format!("/v2/dst/repo/blobs/uploads/?mount={d}&from=src/repo"),
            &[],
            Bytes::new(),
        )
        .await;
    r.expect(201, None);
    assert_eq!(
        r.header("location"),
        Some(format!("/v2/dst/repo/blobs/{d}").as_str())
    );
    assert_eq!(
        r.header("docker-content-digest"),
        Some(d.to_string().as_str())
    );
    assert_eq!(
        &c.get(&format!("/v2/dst/repo/blobs/{d}")).await.body[..],
        &blob[..]
    );

    // A blob the source lacks: the registry starts a normal upload instead (202).
    let other = Digest::sha256_of(b"absent");
    let r = c
        .send(
            "POST",
            &format!("/v2/dst/repo/blobs/uploads/?mount={other}&from=src/repo"),
            &[],
            Bytes::new(),
        )
        .await;
    r.expect(202, None);
    assert!(r
        .header("location")
        .unwrap()
        .starts_with("/v2/dst/repo/blobs/uploads/"));
    let r = c
        .send(
            "POST",
            &format!("/v2/dst/repo/blobs/uploads/?mount={d}&from=nowhere"),
            &[],
            Bytes::new(),
        )
        .await;
    r.expect(202, None);
    c.send(
        "POST",
        "/v2/dst/repo/blobs/uploads/?mount=sha256:bad&from=src/repo",
        &[],
        Bytes::new(),
    )
    .await
    .expect(400, Some("DIGEST_INVALID"));
}

#[tokio::test]
async fn deleting_a_blob_unlinks_it_from_that_repository_only() {
    let s = TestServer::start(|_| {}).await;
    let c = s.client();
    let blob = data(50, 9);
    let (d, _) = c.push_blob("a", &blob).await;
    c.push_blob("b", &blob).await.1.expect(201, None);
    let r = c
        .send("DELETE", &format!("/v2/a/blobs/{d}"), &[], Bytes::new())
        .await;
    r.expect(202, None);
    c.head(&format!("/v2/a/blobs/{d}")).await.expect(404, None);
    c.send("DELETE", &format!("/v2/a/blobs/{d}"), &[], Bytes::new())
        .await
        .expect(404, Some("BLOB_UNKNOWN"));
    c.head(&format!("/v2/b/blobs/{d}")).await.expect(200, None);
}

#[tokio::test]
async fn invalid_repository_names_are_refused_and_create_nothing() {
    let s = TestServer::start(|_| {}).await;
    let c = s.client();
    let blob = data(10, 10);
    let d = Digest::sha256_of(&blob);
    for name in [
        "Upper/case",
        "a/../b",
        "..",
        "a/./b",
        "a//b",
        "-a",
        "a__-b",
        "a%2e%2e",
    ] {
        let r = c
            .send(
                "POST",
                &format!("/v2/{name}/blobs/uploads/?digest={d}"),
                &[],
                blob.clone(),
            )
            .await;
        r.expect(400, Some("NAME_INVALID"));
        c.get(&format!("/v2/{name}/tags/list"))
            .await
            .expect(400, Some("NAME_INVALID"));
        c.put_manifest(name, "latest", common::OCI_MANIFEST, b"{}")
            .await
            .expect(400, Some("NAME_INVALID"));
    }
    assert!(
        files_under(&s.root).is_empty(),
        "{:?}",
        files_under(&s.root)
    );
}

#[tokio::test]
async fn oversized_blobs_get_413_and_store_nothing() {
    let s = TestServer::start(|c| c.limits.max_blob_bytes = Some(1000)).await;
    let c = s.client();
    let big = data(1001, 11);
    let d = Digest::sha256_of(&big);
    c.send(
        "POST",
        &format!("/v2/o/blobs/uploads/?digest={d}"),
        &[],
        big.clone(),
    )
    .await
    .expect(413, Some("SIZE_INVALID"));
    let loc = c
        .send("POST", "/v2/o/blobs/uploads/", &[], Bytes::new())
        .await
        .header("location")
        .unwrap()
        .to_owned();
    c.send("PATCH", &loc, &[], big[..600].to_vec())
        .await
        .expect(202, None);
    // Over the limit in total: refused, and the session keeps its 600 bytes.
    c.send("PATCH", &loc, &[], big[600..].to_vec())
        .await
        .expect(413, Some("SIZE_INVALID"));
    assert_eq!(c.get(&loc).await.header("range"), Some("0-599"));
    // Declared too large up front.
    c.send(
        "PUT",
        &format!("{loc}?digest={d}"),
        &[],
        big[600..].to_vec(),
    )
    .await
    .expect(413, Some("SIZE_INVALID"));
    assert!(files_under(&s.root.join("blobs")).is_empty());
    let ok = data(1000, 12);
    c.push_blob("o", &ok).await.1.expect(201, None);
}

#[tokio::test]
async fn methods_a_route_lacks_are_unsupported() {
    let s = TestServer::start(|_| {}).await;
    let c = s.client();
    c.send("POST", "/v2/a/manifests/latest", &[], Bytes::new())
        .await
        .expect(405, Some("UNSUPPORTED"));
    c.send(
        "PUT",
        &format!("/v2/a/blobs/{}", Digest::sha256_of(b"")),
        &[],
        Bytes::new(),
    )
    .await
    .expect(405, Some("UNSUPPORTED"));
    c.send("DELETE", "/v2/a/tags/list", &[], Bytes::new())
        .await
        .expect(405, Some("UNSUPPORTED"));
}
