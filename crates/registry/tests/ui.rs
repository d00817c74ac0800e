//! The web UI in a real browser: headless Chromium (Debian package `chromium`) loads every page,
//! the tests check what it rendered, search from the box, check that pushed content is escaped
//! and that pages fit a phone's width; screenshots go to the target directory.

mod common;

use common::chromium::{artifacts_dir, dump_dom, screenshot, Browser};
use common::{Client, TestImage, TestServer, OCI_INDEX, OCI_MANIFEST};
use registry::Digest;
use serde_json::json;

/// A two-platform index tagged `multi` in `repo`.
async fn push_multi(c: &Client, repo: &str) {
    let amd = TestImage::new("amd", "multi-platform demo");
    amd.push(c, repo, "amd64-only").await;
    let mut cfg: serde_json::Value = serde_json::from_slice(&amd.config).unwrap();
    cfg["architecture"] = json!("arm64");
    cfg["variant"] = json!("v8");
    cfg["config"]["Cmd"] = json!(["--arm"]);
    let cfg = serde_json::to_vec(&cfg).unwrap();
    c.push_blob(repo, &cfg).await.1.expect(201, None);
    let mut m: serde_json::Value = serde_json::from_slice(&amd.manifest).unwrap();
    m["config"]["digest"] = json!(Digest::sha256_of(&cfg).to_string());
    m["config"]["size"] = json!(cfg.len());
    let arm = serde_json::to_vec(&m).unwrap();
    c.put_manifest(repo, Digest::sha256_of(&arm).as_str(), OCI_MANIFEST, &arm)
        .await
        .expect(201, None);
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_INDEX,
        "manifests": [
            {"mediaType": OCI_MANIFEST, "digest": amd.digest().to_string(), "size": amd.manifest.len(),
             "platform": {"os": "linux", "architecture": "amd64"}},
            {"mediaType": OCI_MANIFEST, "digest": Digest::sha256_of(&arm).to_string(), "size": arm.len(),
             "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}}
        ]
    }))
    .unwrap();
    c.put_manifest(repo, "multi", OCI_INDEX, &index)
        .await
        .expect(201, None);
}

async fn seeded() -> TestServer {
    let s = TestServer::start(|c| c.ui.title = "Berth Hub".into()).await;
    let c = s.client();
    TestImage::new("web", "A tiny web server")
        .push(&c, "team/webserver", "1.0")
        .await;
    TestImage::new("web2", "A tiny web server")
        .push(&c, "team/webserver", "latest")
        .await;
    TestImage::new("db", "Database engine")
        .push(&c, "team/db", "latest")
        .await;
    push_multi(&c, "multi/app").await;
    // Hostile content: must show as text.
    TestImage::new(
        "evil",
        "<img src=x onerror=\"window.pwned=1\"><script>window.pwned=2</script>",
    )
    .push(&c, "evil", "latest")
    .await;
    for _ in 0..3 {
        c.get("/v2/team/db/manifests/latest")
            .await
            .expect(200, None);
    }
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_renders_its_content_in_chromium() {
    let s = seeded().await;
    let base = format!("http://{}", s.addr);
    let shots = artifacts_dir("pages");

    let home = dump_dom(&format!("{base}/")).await;
    assert!(home.contains("Berth Hub"));
    assert!(home.contains("Recently pushed") && home.contains("Most pulled"));
    for r in ["team/webserver", "team/db", "multi/app", "evil"] {
        assert!(home.contains(&format!("href=\"/r/{r}\"")), "home lacks {r}");
    }
    let popular = &home[home.find("id=\"popular\"").unwrap()..];
    assert!(
        popular.find("team/db").unwrap() < popular.find("team/webserver").unwrap(),
        "most pulled first"
    );

    let search = dump_dom(&format!("{base}/search?q=web")).await;
    assert!(search.contains("1 result for"), "{search}");
    assert!(search.contains("team/webserver") && !search.contains("team/db<"));

    let repo = dump_dom(&format!("{base}/r/team/webserver")).await;
    assert!(repo.contains(&format!("docker pull {}/team/webserver", s.addr)));
    assert!(repo.contains("A tiny web server"));
    assert!(
        repo.contains("href=\"/r/team/webserver/-/tag/1.0\"")
            && repo.contains("href=\"/r/team/webserver/-/tag/latest\"")
    );
    assert!(repo.contains("linux/amd64"));
    assert!(repo.contains("sha256:"));

    let tag = dump_dom(&format!("{base}/r/team/webserver/-/tag/1.0")).await;
    assert!(tag.contains(&format!("docker pull {}/team/webserver:1.0", s.addr)));
    assert!(tag.contains("ADD file:abc in /"), "history");
    assert!(
        tag.contains("CMD [&quot;--greet&quot;]") || tag.contains("CMD [\"--greet\"]"),
        "history"
    );
    assert!(tag.contains("8080/tcp"), "ports");
    assert!(
        tag.contains("maintainer") && tag.contains("tests"),
        "labels"
    );
    assert!(
        tag.contains("[&quot;/bin/hello&quot;]") || tag.contains("[\"/bin/hello\"]"),
        "entrypoint"
    );
    assert!(tag.contains("Layers (1"), "layers");

    let multi = dump_dom(&format!("{base}/r/multi/app/-/tag/multi")).await;
    assert!(multi.contains("linux/amd64") && multi.contains("linux/arm64/v8"));
    let arm = dump_dom(&format!(
        "{base}/r/multi/app/-/tag/multi?platform=linux/arm64/v8"
    ))
    .await;
    assert!(
        arm.contains("--arm"),
        "platform switch shows the arm64 config"
    );

    let missing = dump_dom(&format!("{base}/r/no/such")).await;
    assert!(missing.contains("Not found"));

    for (name, path) in [
        ("home", "/"),
        ("search", "/search?q=web"),
        ("repo", "/r/team/webserver"),
        ("tag", "/r/team/webserver/-/tag/1.0"),
        ("multi", "/r/multi/app/-/tag/multi"),
    ] {
        screenshot(
            &format!("{base}{path}"),
            &shots.join(format!("{name}-desktop.png")),
            1280,
            900,
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushed_content_is_escaped() {
    let s = seeded().await;
    let base = format!("http://{}", s.addr);
    for path in ["/", "/search?q=evil", "/r/evil", "/r/evil/-/tag/latest"] {
        let dom = dump_dom(&format!("{base}{path}")).await;
        assert!(
            !dom.contains("<script>window.pwned"),
            "{path}: script injected"
        );
        assert!(!dom.contains("<img src=\"x\""), "{path}: img injected");
        assert!(
            dom.contains("&lt;script&gt;window.pwned=2&lt;/script&gt;"),
            "{path}: text missing"
        );
    }
    // Reflected input (the query) is escaped too.
    let dom = dump_dom(&format!(
        "{base}/search?q=%3Cscript%3Ewindow.pwned%3D3%3C%2Fscript%3E"
    ))
    .await;
    assert!(!dom.contains("<script>window.pwned=3"));
    let mut b = Browser::start().await;
    for path in [
        "/",
        "/r/evil",
        "/r/evil/-/tag/latest",
        "/search?q=%3Cscript%3Ewindow.pwned%3D3%3C%2Fscript%3E",
    ] {
        b.goto(&format!("{base}{path}")).await;
        assert_eq!(
            b.eval("typeof window.pwned").await,
            json!("undefined"),
            "{path}"
        );
        assert_eq!(
            b.eval("document.querySelectorAll('main img, main script').length")
                .await,
            json!(0)
        );
    }
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn searching_from_the_box_and_reading_at_phone_width() {
    let s = seeded().await;
    let base = format!("http://{}", s.addr);
    let shots = artifacts_dir("phone");
    let mut b = Browser::start().await;

    b.goto(&format!("{base}/")).await;
    b.eval("document.querySelector('#q').focus()").await;
    b.type_and_submit("web").await;
    assert_eq!(
        b.eval("location.pathname + location.search").await,
        json!("/search?q=web")
    );
    let names = b
        .eval("Array.from(document.querySelectorAll('#results li strong')).map(e => e.textContent)")
        .await;
    assert_eq!(names, json!(["team/webserver"]));
    assert_eq!(
        b.eval("document.querySelector('#q').value").await,
        json!("web")
    );
    // Follow the result to the repository page.
    b.click_and_wait("#results a").await;
    assert_eq!(
        b.eval("location.pathname").await,
        json!("/r/team/webserver")
    );

    b.phone(375, 812).await;
    for (name, path) in [
        ("home", "/"),
        ("search", "/search?q=web"),
        ("repo", "/r/team/webserver"),
        ("tag", "/r/team/webserver/-/tag/1.0"),
        ("multi", "/r/multi/app/-/tag/multi"),
    ] {
        b.goto(&format!("{base}{path}")).await;
        let fits = b
            .eval("document.documentElement.scrollWidth <= window.innerWidth")
            .await;
        assert_eq!(fits, json!(true), "{path} scrolls sideways at phone width");
        assert_eq!(b.eval("window.innerWidth").await, json!(375));
        // Definition lists stack at this width: every value gets a usable line.
        let narrow = b
            .eval("Array.from(document.querySelectorAll('dd')).filter(e => e.getBoundingClientRect().width < 200).length")
            .await;
        assert_eq!(narrow, json!(0), "{path}: squeezed values");
        b.screenshot(&shots.join(format!("{name}-phone.png"))).await;
    }
    b.close().await;
}
