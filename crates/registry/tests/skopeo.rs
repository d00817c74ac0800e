//! Interoperability with a real third-party client: Debian's `skopeo` copies an image (an OCI
//! layout built here from a small tar) to the registry and back, converts it to Docker schema2,
//! lists and deletes tags, through the token flow and over TLS.
//!
//! Needs `skopeo` on PATH (Debian package `skopeo`).

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use common::{layer_tar_gz, TestServer, OCI_CONFIG, OCI_LAYER, OCI_MANIFEST};
use registry::auth::Action;
use registry::config::{AccessRule, AuthMode, TlsConfig};
use registry::Digest;
use serde_json::{json, Value};

/// An OCI image layout with one image tagged `v1`; returns the manifest and layer digests.
fn oci_layout(dir: &Path) -> (Digest, Digest) {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |data: &[u8]| {
        let d = Digest::sha256_of(data);
        std::fs::write(blobs.join(d.hex()), data).unwrap();
        d
    };
    let layer = layer_tar_gz(&[
        ("bin/hello", b"#!/bin/sh\necho hello\n"),
        ("etc/motd", b"welcome\n"),
    ]);
    let layer_d = put(&layer);
    let diff_id = {
        let mut raw = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&layer[..]), &mut raw)
            .unwrap();
        Digest::sha256_of(&raw)
    };
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64", "os": "linux",
        "config": {"Cmd": ["/bin/hello"], "Labels": {"org.opencontainers.image.description": "skopeo interop"}},
        "rootfs": {"type": "layers", "diff_ids": [diff_id.to_string()]},
        "history": [{"created_by": "ADD hello /bin/hello"}]
    }))
    .unwrap();
    let config_d = put(&config);
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config_d.to_string(), "size": config.len()},
        "layers": [{"mediaType": OCI_LAYER, "digest": layer_d.to_string(), "size": layer.len()}]
    }))
    .unwrap();
    let manifest_d = put(&manifest);
    let index = json!({
        "schemaVersion": 2,
        "manifests": [{"mediaType": OCI_MANIFEST, "digest": manifest_d.to_string(), "size": manifest.len(),
                       "annotations": {"org.opencontainers.image.ref.name": "v1"}}]
    });
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    (manifest_d, layer_d)
}

struct Skopeo {
    home: tempfile::TempDir,
    policy: PathBuf,
}

impl Skopeo {
    fn new() -> Skopeo {
        let home = tempfile::tempdir().unwrap();
        let policy = home.path().join("policy.json");
        std::fs::write(
            &policy,
            br#"{"default":[{"type":"insecureAcceptAnything"}]}"#,
        )
        .unwrap();
        Skopeo { home, policy }
    }

    /// Runs skopeo with `args`; returns stdout, panicking with stderr on failure unless `may_fail`.
    async fn run(&self, args: &[&str], may_fail: bool) -> (bool, String) {
        let mut cmd = tokio::process::Command::new("skopeo");
        cmd.arg("--policy")
            .arg(&self.policy)
            .args(args)
            .env("HOME", self.home.path())
            .env("XDG_RUNTIME_DIR", self.home.path())
            .env("REGISTRY_AUTH_FILE", self.home.path().join("auth.json"))
            .kill_on_drop(true);
        let out = tokio::time::timeout(Duration::from_secs(120), cmd.output())
            .await
            .expect("skopeo did not finish in 120 s")
            .expect("skopeo must be installed (Debian package skopeo)");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if !may_fail {
            assert!(
                out.status.success(),
                "skopeo {args:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        (out.status.success(), stdout)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skopeo_copies_to_and_from_the_registry() {
    let s = TestServer::start(|_| {}).await;
    let sk = Skopeo::new();
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("src");
    let (manifest_d, layer_d) = oci_layout(&src);
    let reg = format!("docker://{}/interop/app", s.addr);
    let src_ref = format!("oci:{}:v1", src.display());

    sk.run(
        &[
            "copy",
            "--dest-tls-verify=false",
            &src_ref,
            &format!("{reg}:v1"),
        ],
        false,
    )
    .await;
    let (_, out) = sk
        .run(
            &["inspect", "--tls-verify=false", &format!("{reg}:v1")],
            false,
        )
        .await;
    let info: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(info["Digest"], manifest_d.to_string());
    assert_eq!(info["Layers"], json!([layer_d.to_string()]));
    assert_eq!(
        info["Labels"]["org.opencontainers.image.description"],
        "skopeo interop"
    );

    // Back into a fresh layout: the same layer bytes.
    let back = work.path().join("back");
    sk.run(
        &[
            "copy",
            "--src-tls-verify=false",
            &format!("{reg}:v1"),
            &format!("oci:{}:v1", back.display()),
        ],
        false,
    )
    .await;
    let a = std::fs::read(src.join("blobs/sha256").join(layer_d.hex())).unwrap();
    let b = std::fs::read(back.join("blobs/sha256").join(layer_d.hex())).unwrap();
    assert_eq!(a, b);

    // Converted to Docker schema2 on the way.
    sk.run(
        &[
            "copy",
            "--dest-tls-verify=false",
            "--format",
            "v2s2",
            &src_ref,
            &format!("{reg}:docker"),
        ],
        false,
    )
    .await;
    let (_, raw) = sk
        .run(
            &[
                "inspect",
                "--raw",
                "--tls-verify=false",
                &format!("{reg}:docker"),
            ],
            false,
        )
        .await;
    let raw: Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(
        raw["mediaType"],
        "application/vnd.docker.distribution.manifest.v2+json"
    );

    let (_, tags) = sk
        .run(&["list-tags", "--tls-verify=false", &reg], false)
        .await;
    let tags: Value = serde_json::from_str(&tags).unwrap();
    assert_eq!(tags["Tags"], json!(["docker", "v1"]));

    sk.run(
        &["delete", "--tls-verify=false", &format!("{reg}:v1")],
        false,
    )
    .await;
    let (ok, _) = sk
        .run(
            &["inspect", "--tls-verify=false", &format!("{reg}:v1")],
            true,
        )
        .await;
    assert!(!ok, "deleted tag still inspectable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skopeo_through_token_auth_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    let ck =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap();
    let certs = dir.path().join("certs");
    std::fs::create_dir_all(&certs).unwrap();
    std::fs::write(certs.join("ca.crt"), ck.cert.pem()).unwrap();
    std::fs::write(dir.path().join("cert.pem"), ck.cert.pem()).unwrap();
    std::fs::write(dir.path().join("key.pem"), ck.signing_key.serialize_pem()).unwrap();
    let ht = dir.path().join("htpasswd");
    std::fs::write(
        &ht,
        format!("alice:{}\n", bcrypt::hash("alice-pw", 4).unwrap()),
    )
    .unwrap();
    let tls = TlsConfig {
        cert: dir.path().join("cert.pem"),
        key: dir.path().join("key.pem"),
    };
    let mut s = TestServer::start(move |c| {
        c.tls = Some(tls);
        c.auth.mode = AuthMode::Token;
        c.auth.htpasswd = Some(ht);
        c.auth.access = vec![AccessRule {
            repository: "alice/*".into(),
            users: vec!["alice".into()],
            anonymous: false,
            actions: vec![Action::Pull, Action::Push],
        }];
    })
    .await;
    let roots = {
        let mut r = rustls::RootCertStore::empty();
        r.add(ck.cert.der().clone()).unwrap();
        r
    };
    s.tls = Some(Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth(),
    ));
    let sk = Skopeo::new();
    let src = dir.path().join("src");
    let (manifest_d, _) = oci_layout(&src);
    let certdir = certs.display().to_string();
    let dest = format!("docker://{}/alice/app:v1", s.addr);
    let src_ref = format!("oci:{}:v1", src.display());
    let (ok, _) = sk
        .run(
            &[
                "copy",
                "--dest-cert-dir",
                &certdir,
                "--dest-creds",
                "alice:wrong",
                &src_ref,
                &dest,
            ],
            true,
        )
        .await;
    assert!(!ok, "wrong password accepted");
    let (ok, _) = sk
        .run(
            &[
                "copy",
                "--dest-cert-dir",
                &certdir,
                "--dest-creds",
                "alice:alice-pw",
                &src_ref,
                &format!("docker://{}/bob/app:v1", s.addr),
            ],
            true,
        )
        .await;
    assert!(!ok, "push outside alice's repositories accepted");
    sk.run(
        &[
            "copy",
            "--dest-cert-dir",
            &certdir,
            "--dest-creds",
            "alice:alice-pw",
            &src_ref,
            &dest,
        ],
        false,
    )
    .await;
    let (_, out) = sk
        .run(
            &[
                "inspect",
                "--cert-dir",
                &certdir,
                "--creds",
                "alice:alice-pw",
                &dest,
            ],
            false,
        )
        .await;
    let info: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(info["Digest"], manifest_d.to_string());
    // Without credentials: refused.
    let (ok, _) = sk
        .run(&["inspect", "--cert-dir", &certdir, &dest], true)
        .await;
    assert!(!ok);
    s.client()
        .get("/v2/")
        .await
        .expect(401, Some("UNAUTHORIZED"));
}
