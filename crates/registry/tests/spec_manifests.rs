//! Distribution-spec tests for manifests, tags, referrers, the catalog and deletion.

mod common;

use bytes::Bytes;
use common::{files_under, TestImage, TestServer, OCI_CONFIG, OCI_INDEX, OCI_MANIFEST};
use registry::Digest;
use serde_json::json;

#[tokio::test]
async fn push_and_pull_a_manifest_by_tag_and_digest() {
    let s = TestServer::start(|_| {}).await;
    let c = s.client();
    let img = TestImage::new("a", "first");
    c.push_blob("lib/app", &img.layer).await.1.expect(201, None);
    c.push_blob("lib/app", &img.config)
        .await
        .1
        .expect(201, None);
    let r = c
        .put_manifest("lib/app", "v1", OCI_MANIFEST, &img.manifest)
        .await;
    r.expect(201, None);
    let d = img.digest();
    assert_eq!(
        r.header("location"),
        Some(format!("/v2/lib/app/manifests/{d}").as_str())
    );
    assert_eq!(
        r.header("docker-content-digest"),
        Some(d.to_string().as_str())
    );
    assert!(r.header("oci-subject").is_none());

    for reference in ["v1".to_owned(), d.to_string()] {
        let g = c.get(&format!("/v2/lib/app/manifests/{reference}")).await;
        g.expect(200, None);
        assert_eq!(&g.body[..], &img.manifest[..]);
        assert_eq!(g.header("content-type"), Some(OCI_MANIFEST));
        assert_eq!(
            g.header("docker-content-digest"),
            Some(d.to_string().as_str())
        );
        let h = c.head(&format!("/v2/lib/app/manifests/{reference}")).await;
        h.expect(200, None);
        assert_eq!(
            h.header("content-length"),
            Some(img.manifest.len().to_string().as_str())
        );
        assert!(h.body.is_empty());
    }
    c.get("/v2/lib/app/manifests/v2")
        .await
        .expect(404, Some("MANIFEST_UNKNOWN"));
    c.head("/v2/lib/app/manifests/v2").await.expect(404, None);
    c.get(&format!(
        "/v2/lib/app/manifests/{}",
        Digest::sha256_of(b"x")
    ))
    .await
    .expect(404, Some("MANIFEST_UNKNOWN"));
    c.get("/v2/lib/app/manifests/-bad-tag")
        .await
        .expect(400, Some("MANIFEST_INVALID"));
    // Push by digest works too, and re-pushing is idempotent.
    c.put_manifest("lib/app", d.as_str(), OCI_MANIFEST, &img.manifest)
        .await
        .expect(201, None);
}

#[tokio::test]
async fn bad_manifests_get_spec_errors_and_store_nothing() {
    let s = TestServer::start(|c| c.limits.max_manifest_bytes = 64 * 1024).await;
    let c = s.client();
    let img = TestImage::new("b", "b");
    // Blobs missing: MANIFEST_BLOB_UNKNOWN with the digest as detail.
    let r = c.put_manifest("m", "v1", OCI_MANIFEST, &img.manifest).await;
    r.expect(400, Some("MANIFEST_BLOB_UNKNOWN"));
    assert!(r.json()["errors"][0]["detail"]["digest"].as_str().is_some());
    c.push_blob("m", &img.layer).await;
    c.put_manifest("m", "v1", OCI_MANIFEST, &img.manifest)
        .await
        .expect(400, Some("MANIFEST_BLOB_UNKNOWN"));
    c.push_blob("m", &img.config).await;
    let before = files_under(&s.root);

    c.put_manifest("m", "v1", OCI_MANIFEST, b"{not json")
        .await
        .expect(400, Some("MANIFEST_INVALID"));
    c.put_manifest("m", "v1", OCI_MANIFEST, br#"{"schemaVersion":2}"#)
        .await
        .expect(400, Some("MANIFEST_INVALID"));
    c.put_manifest(
        "m",
        "v1",
        OCI_MANIFEST,
        br#"{"schemaVersion":1,"config":{}}"#,
    )
    .await
    .expect(400, Some("MANIFEST_INVALID"));
    // mediaType field and Content-Type disagree.
    c.put_manifest("m", "v1", OCI_INDEX, &img.manifest)
        .await
        .expect(400, Some("MANIFEST_INVALID"));
    c.put_manifest("m", "v1", "application/x-unknown", &img.manifest)
        .await
        .expect(400, Some("MANIFEST_INVALID"));
    // A descriptor whose size lies.
    let mut m: serde_json::Value = serde_json::from_slice(&img.manifest).unwrap();
    m["layers"][0]["size"] = json!(1);
    let lying = serde_json::to_vec(&m).unwrap();
    c.put_manifest("m", "v1", OCI_MANIFEST, &lying)
        .await
        .expect(400, Some("MANIFEST_INVALID"));
    // A descriptor with a malformed digest.
    m["layers"][0]["digest"] = json!("sha256:xyz");
    c.put_manifest("m", "v1", OCI_MANIFEST, &serde_json::to_vec(&m).unwrap())
        .await
        .expect(400, Some("MANIFEST_INVALID"));
    // Pushed by a digest that is not its own.
    let wrong = Digest::sha256_of(b"other");
    c.put_manifest("m", wrong.as_str(), OCI_MANIFEST, &img.manifest)
        .await
        .expect(400, Some("DIGEST_INVALID"));
    // Too large (declared and streamed).
    let mut big: serde_json::Value = serde_json::from_slice(&img.manifest).unwrap();
    big["annotations"] = json!({"pad": "x".repeat(70 * 1024)});
    c.put_manifest("m", "v1", OCI_MANIFEST, &serde_json::to_vec(&big).unwrap())
        .await
        .expect(413, Some("SIZE_INVALID"));
    c.put_manifest("m", "bad%20tag", OCI_MANIFEST, &img.manifest)
        .await
        .expect(400, Some("MANIFEST_INVALID"));

    assert_eq!(
        files_under(&s.root),
        before,
        "a refused manifest left files behind"
    );
    let tags = c.get("/v2/m/tags/list").await;
    assert_eq!(tags.json()["tags"], json!([]));
}

#[tokio::test]
async fn an_index_needs_its_children() {
    let s = TestServer::start(|_| {}).await;
    let c = s.client();
    let img = TestImage::new("c", "c");
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": OCI_MANIFEST, "digest": img.digest().to_string(), "size": img.manifest.len(),
                       "platform": {"os": "linux", "architecture": "amd64"}}]
    }))
    .unwrap();
    c.put_manifest("multi", "latest", OCI_INDEX, &index)
        .await
        .expect(400, Some("MANIFEST_BLOB_UNKNOWN"));
    img.push(&c, "multi", "amd64").await;
    let r = c.put_manifest("multi", "latest", OCI_INDEX, &index).await;
    r.expect(201, None);
    let g = c.get("/v2/multi/manifests/latest").await;
    assert_eq!(g.header("content-type"), Some(OCI_INDEX));
}

#[tokio::test]
async fn tags_list_paginates_with_link_headers() {
    let s = TestServer::start(|_| {}).await;
    let c = s.client();
    let img = TestImage::new("t", "t");
    for tag in ["b", "a", "d", "c", "e"] {
        img.push(&c, "paged", tag).await;
    }
    let all = c.get("/v2/paged/tags/list").await;
    all.expect(200, None);
    assert_eq!(
        all.json(),
        json!({"name": "paged", "tags": ["a", "b", "c", "d", "e"]})
    );
    assert!(all.header("link").is_none());
    let p1 = c.get("/v2/paged/tags/list?n=2").await;
    assert_eq!(p1.json()["tags"], json!(["a", "b"]));
    assert_eq!(
        p1.header("link"),
        Some("</v2/paged/tags/list?n=2&last=b>; rel=\"next\"")
    );
    let p2 = c.get("/v2/paged/tags/list?n=2&last=b").await;
    assert_eq!(p2.json()["tags"], json!(["c", "d"]));
    let p3 = c.get("/v2/paged/tags/list?n=2&last=d").await;
    assert_eq!(p3.json()["tags"], json!(["e"]));
    assert!(p3.header("link").is_none());
    c.get("/v2/paged/tags/list?n=0").await.json()["tags"]
        .as_array()
        .unwrap()
        .is_empty()
        .then_some(())
        .unwrap();
    c.get("/v2/paged/tags/list?n=abc")
        .await
        .expect(400, Some("PAGINATION_NUMBER_INVALID"));
    c.get("/v2/nosuch/tags/list")
        .await
        .expect(404, Some("NAME_UNKNOWN"));
}

#[tokio::test]
async fn catalog_lists_repositories_with_pagination() {
    let s = TestServer::start(|_| {}).await;
    let c = s.client();
    let img = TestImage::new("k", "k");
    for repo in ["zeta", "alpha/one", "alpha/two", "mid"] {
        img.push(&c, repo, "latest").await;
    }
    let all = c.get("/v2/_catalog").await;
    all.expect(200, None);
    assert_eq!(
        all.json(),
        json!({"repositories": ["alpha/one", "alpha/two", "mid", "zeta"]})
    );
    let p1 = c.get("/v2/_catalog?n=3").await;
    assert_eq!(
        p1.json()["repositories"],
        json!(["alpha/one", "alpha/two", "mid"])
    );
    assert_eq!(
        p1.header("link"),
        Some("</v2/_catalog?n=3&last=mid>; rel=\"next\"")
    );
    let p2 = c.get("/v2/_catalog?n=3&last=mid").await;
    assert_eq!(p2.json()["repositories"], json!(["zeta"]));
}

/// An artifact manifest referring to `subject`.
fn artifact(
    c_digest: &Digest,
    c_size: usize,
    subject: &Digest,
    subject_size: usize,
    artifact_type: &str,
) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": c_digest.to_string(), "size": c_size},
        "layers": [{"mediaType": "application/vnd.oci.empty.v1+json", "digest": c_digest.to_string(), "size": c_size}],
        "subject": {"mediaType": OCI_MANIFEST, "digest": subject.to_string(), "size": subject_size},
        "annotations": {"org.example.kind": artifact_type}
    }))
    .unwrap()
}

#[tokio::test]
async fn referrers_api_with_artifact_type_filter_and_subject_header() {
    let s = TestServer::start(|_| {}).await;
    let c = s.client();
    let img = TestImage::new("r", "r");
    img.push(&c, "ref", "v1").await;
    let subject = img.digest();
    let (empty, _) = c.push_blob("ref", b"{}").await;
    let sig = artifact(
        &empty,
        2,
        &subject,
        img.manifest.len(),
        "application/vnd.example.sig",
    );
    let sbom = artifact(
        &empty,
        2,
        &subject,
        img.manifest.len(),
        "application/vnd.example.sbom",
    );
    let r = c
        .put_manifest("ref", Digest::sha256_of(&sig).as_str(), OCI_MANIFEST, &sig)
        .await;
    r.expect(201, None);
    assert_eq!(r.header("oci-subject"), Some(subject.to_string().as_str()));
    c.put_manifest(
        "ref",
        Digest::sha256_of(&sbom).as_str(),
        OCI_MANIFEST,
        &sbom,
    )
    .await
    .expect(201, None);

    let all = c.get(&format!("/v2/ref/referrers/{subject}")).await;
    all.expect(200, None);
    assert_eq!(all.header("content-type"), Some(OCI_INDEX));
    let idx = all.json();
    assert_eq!(idx["schemaVersion"], 2);
    assert_eq!(idx["mediaType"], OCI_INDEX);
    let ms = idx["manifests"].as_array().unwrap();
    assert_eq!(ms.len(), 2);
    for m in ms {
        assert_eq!(m["mediaType"], OCI_MANIFEST);
        assert!(m["artifactType"]
            .as_str()
            .unwrap()
            .starts_with("application/vnd.example."));
        assert_eq!(m["annotations"]["org.example.kind"], m["artifactType"]);
    }
    let f = c
        .get(&format!(
            "/v2/ref/referrers/{subject}?artifactType=application/vnd.example.sbom"
        ))
        .await;
    assert_eq!(f.header("oci-filters-applied"), Some("artifactType"));
    let fm = f.json()["manifests"].as_array().unwrap().clone();
    assert_eq!(fm.len(), 1);
    assert_eq!(fm[0]["digest"], Digest::sha256_of(&sbom).to_string());
    assert_eq!(fm[0]["size"], sbom.len());

    // Unknown subjects have an empty list, not a 404; malformed digests are a 400.
    let none = c
        .get(&format!(
            "/v2/ref/referrers/{}",
            Digest::sha256_of(b"nothing")
        ))
        .await;
    none.expect(200, None);
    assert_eq!(none.json()["manifests"], json!([]));
    c.get("/v2/ref/referrers/sha256:1234")
        .await
        .expect(400, Some("DIGEST_INVALID"));

    // Deleting a referrer removes it from the list.
    c.send(
        "DELETE",
        &format!("/v2/ref/manifests/{}", Digest::sha256_of(&sig)),
        &[],
        Bytes::new(),
    )
    .await
    .expect(202, None);
    let after = c.get(&format!("/v2/ref/referrers/{subject}")).await.json();
    assert_eq!(after["manifests"].as_array().unwrap().len(), 1);
    // The image config media type is the artifact type of a plain image.
    let _ = OCI_CONFIG;
}

#[tokio::test]
async fn deleting_tags_and_manifests() {
    let s = TestServer::start(|_| {}).await;
    let c = s.client();
    let img = TestImage::new("d", "d");
    img.push(&c, "del", "v1").await;
    c.put_manifest("del", "v2", OCI_MANIFEST, &img.manifest)
        .await
        .expect(201, None);
    let d = img.digest();
    // By tag: only the tag goes.
    c.send("DELETE", "/v2/del/manifests/v1", &[], Bytes::new())
        .await
        .expect(202, None);
    c.get("/v2/del/manifests/v1")
        .await
        .expect(404, Some("MANIFEST_UNKNOWN"));
    c.get(&format!("/v2/del/manifests/{d}"))
        .await
        .expect(200, None);
    c.send("DELETE", "/v2/del/manifests/v1", &[], Bytes::new())
        .await
        .expect(404, Some("MANIFEST_UNKNOWN"));
    // By digest: the manifest and every tag on it.
    c.send(
        "DELETE",
        &format!("/v2/del/manifests/{d}"),
        &[],
        Bytes::new(),
    )
    .await
    .expect(202, None);
    c.get(&format!("/v2/del/manifests/{d}"))
        .await
        .expect(404, Some("MANIFEST_UNKNOWN"));
    c.get("/v2/del/manifests/v2")
        .await
        .expect(404, Some("MANIFEST_UNKNOWN"));
    assert_eq!(c.get("/v2/del/tags/list").await.json()["tags"], json!([]));
    c.send(
        "DELETE",
        &format!("/v2/del/manifests/{d}"),
        &[],
        Bytes::new(),
    )
    .await
    .expect(404, Some("MANIFEST_UNKNOWN"));
}

#[tokio::test]
async fn docker_schema2_manifests_and_schema1_refusal() {
    let s = TestServer::start(|_| {}).await;
    let c = s.client();
    let img = TestImage::new("s2", "s2");
    c.push_blob("d2", &img.layer).await;
    c.push_blob("d2", &img.config).await;
    let docker = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": Digest::sha256_of(&img.config).to_string(), "size": img.config.len()},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "digest": Digest::sha256_of(&img.layer).to_string(), "size": img.layer.len()}]
    }))
    .unwrap();
    c.put_manifest(
        "d2",
        "latest",
        "application/vnd.docker.distribution.manifest.v2+json",
        &docker,
    )
    .await
    .expect(201, None);
    let g = c.get("/v2/d2/manifests/latest").await;
    assert_eq!(
        g.header("content-type"),
        Some("application/vnd.docker.distribution.manifest.v2+json")
    );
    c.put_manifest(
        "d2",
        "old",
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
        br#"{"schemaVersion":1,"name":"d2"}"#,
    )
    .await
    .expect(400, Some("MANIFEST_INVALID"));
}

#[tokio::test]
async fn search_follows_pushes_deletes_and_pulls() {
    let s = TestServer::start(|_| {}).await;
    let c = s.client();
    TestImage::new("1", "A tiny web server")
        .push(&c, "team/webserver", "latest")
        .await;
    TestImage::new("2", "Database <engine>")
        .push(&c, "team/db", "latest")
        .await;
    TestImage::new("3", "Another web thing")
        .push(&c, "web", "1.0")
        .await;

    let ping = c.get("/v1/_ping").await;
    ping.expect(200, None);
    assert!(ping.header("x-docker-registry-version").is_some());

    let r = c.get("/v1/search?q=web&n=25").await;
    r.expect(200, None);
    let v = r.json();
    assert_eq!(v["query"], "web");
    assert_eq!(v["num_results"], 2);
    assert_eq!(v["page"], 1);
    assert_eq!(v["page_size"], 25);
    assert_eq!(v["num_pages"], 1);
    let names: Vec<&str> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["web", "team/webserver"], "exact name first");
    let first = &v["results"][0];
    for key in [
        "description",
        "star_count",
        "is_official",
        "is_automated",
        "pull_count",
    ] {
        assert!(first.get(key).is_some(), "missing {key}");
    }
    assert_eq!(first["description"], "Another web thing");

    // Description words match too; paging.
    let db = c.get("/v1/search?q=database").await.json();
    assert_eq!(db["results"][0]["name"], "team/db");
    assert_eq!(db["results"][0]["description"], "Database <engine>");
    let p2 = c.get("/v1/search?q=web&n=1&page=2").await.json();
    assert_eq!(p2["num_pages"], 2);
    assert_eq!(p2["results"][0]["name"], "team/webserver");
    c.get("/v1/search?q=web&n=x").await.expect(400, None);

    // Pulls are counted per manifest GET (not HEAD).
    for _ in 0..3 {
        c.get("/v2/team/db/manifests/latest")
            .await
            .expect(200, None);
    }
    c.head("/v2/team/db/manifests/latest").await;
    assert_eq!(
        c.get("/v1/search?q=db").await.json()["results"][0]["pull_count"],
        3
    );

    // Deleting the only tag takes the repository out of search.
    c.send("DELETE", "/v2/web/manifests/1.0", &[], Bytes::new())
        .await
        .expect(202, None);
    let after = c.get("/v1/search?q=web").await.json();
    assert_eq!(after["num_results"], 1);
}

#[tokio::test]
async fn pull_counts_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let s = TestServer::start_at(&root, |_| {}).await;
    let c = s.client();
    TestImage::new("p", "p").push(&c, "counted", "latest").await;
    for _ in 0..4 {
        c.get("/v2/counted/manifests/latest")
            .await
            .expect(200, None);
    }
    s.stop().await;
    let s = TestServer::start_at(&root, |_| {}).await;
    let v = s.client().get("/v1/search?q=counted").await.json();
    assert_eq!(v["results"][0]["pull_count"], 4);
}
