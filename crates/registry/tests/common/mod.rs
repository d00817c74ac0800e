//! Test fixtures: an in-process registry on `127.0.0.1:0` with a temporary root, a small HTTP
//! client (one connection per request, plain or TLS), and helpers that push blobs and images.
#![allow(dead_code)]

pub mod chromium;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Method, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use registry::config::Config;
use registry::Digest;
use serde_json::{json, Value};
use tokio::net::TcpStream;

/// A registry served in-process until dropped or stopped.
pub struct TestServer {
    pub addr: SocketAddr,
    pub root: PathBuf,
    running: Option<registry::Running>,
    pub tls: Option<Arc<rustls::ClientConfig>>,
    _dir: Option<tempfile::TempDir>,
}

impl Drop for TestServer {
    /// Stops the server, then removes its root — retrying (bounded): a write the server had
    /// in flight (a pull count, an upload chunk) may land while the tree is being removed.
    fn drop(&mut self) {
        drop(self.running.take());
        let Some(dir) = self._dir.take() else { return };
        let path = dir.keep();
        for _ in 0..50 {
            match std::fs::remove_dir_all(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    std::thread::sleep(std::time::Duration::from_millis(20))
                }
                _ if path.exists() => std::thread::sleep(std::time::Duration::from_millis(20)),
                _ => return,
            }
        }
    }
}

impl TestServer {
    /// Starts an anonymous registry on a fresh root; `tweak` may change the config.
    pub async fn start(tweak: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        let mut s = TestServer::start_at(&root, tweak).await;
        s._dir = Some(dir);
        s
    }

    /// Starts a registry on an existing root (to test restarts).
    pub async fn start_at(root: &Path, tweak: impl FnOnce(&mut Config)) -> TestServer {
        let mut cfg = Config::anonymous("127.0.0.1:0".parse().unwrap(), root);
        tweak(&mut cfg);
        let running = registry::spawn(&cfg).await.unwrap();
        TestServer {
            addr: running.addr,
            root: root.to_owned(),
            _dir: None,
            running: Some(running),
            tls: None,
        }
    }

    /// Stops gracefully and waits until the server has finished.
    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await.unwrap();
        }
    }

    /// A client without credentials.
    pub fn client(&self) -> Client {
        Client {
            addr: self.addr,
            tls: self.tls.clone(),
            auth: None,
        }
    }
}

/// A response, fully read.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// The first spec error code of the body.
    pub fn code(&self) -> String {
        self.json()["errors"][0]["code"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    }

    /// Asserts the status and, for errors, the spec code.
    #[track_caller]
    pub fn expect(&self, status: u16, code: Option<&str>) -> &Resp {
        assert_eq!(
            self.status,
            status,
            "body: {}",
            String::from_utf8_lossy(&self.body)
        );
        if let Some(c) = code {
            assert_eq!(
                self.code(),
                c,
                "body: {}",
                String::from_utf8_lossy(&self.body)
            );
            assert!(self.json()["errors"][0]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()));
        }
        self
    }
}

/// A minimal HTTP/1.1 client.
#[derive(Clone)]
pub struct Client {
    pub addr: SocketAddr,
    pub tls: Option<Arc<rustls::ClientConfig>>,
    pub auth: Option<String>,
}

impl Client {
    pub fn with_auth(&self, value: impl Into<String>) -> Client {
        Client {
            auth: Some(value.into()),
            ..self.clone()
        }
    }

    pub fn basic(&self, user: &str, pass: &str) -> Client {
        use base64::Engine as _;
        let v = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        self.with_auth(format!("Basic {v}"))
    }

    pub async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Resp {
        let body: Bytes = body.into();
        let mut b = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).unwrap())
            .uri(path)
            .header("host", self.addr.to_string());
        if let Some(a) = &self.auth {
            b = b.header("authorization", a.as_str());
        }
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let req = b.body(Full::new(body)).unwrap();
        let tcp = TcpStream::connect(self.addr).await.unwrap();
        let resp = match &self.tls {
            None => {
                let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
                    .await
                    .unwrap();
                tokio::spawn(conn);
                sender.send_request(req).await.unwrap()
            }
            Some(cfg) => {
                let connector = tokio_rustls::TlsConnector::from(Arc::clone(cfg));
                let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
                let tls = connector.connect(name, tcp).await.unwrap();
                let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
                    .await
                    .unwrap();
                tokio::spawn(conn);
                sender.send_request(req).await.unwrap()
            }
        };
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        Resp {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send("GET", path, &[], Bytes::new()).await
    }

    pub async fn head(&self, path: &str) -> Resp {
        self.send("HEAD", path, &[], Bytes::new()).await
    }

    /// Monolithic upload of `data` to `repo`; returns the response.
    pub async fn push_blob(&self, repo: &str, data: &[u8]) -> (Digest, Resp) {
        let d = Digest::sha256_of(data);
        let r = self
            .send(
                "POST",
                &format!("/v2/{repo}/blobs/uploads/?digest={d}"),
                &[("content-type", "application/octet-stream")],
                Bytes::copy_from_slice(data),
            )
            .await;
        (d, r)
    }

    /// PUT of a manifest.
    pub async fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        body: &[u8],
    ) -> Resp {
        self.send(
            "PUT",
            &format!("/v2/{repo}/manifests/{reference}"),
            &[("content-type", media_type)],
            Bytes::copy_from_slice(body),
        )
        .await
    }
}

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// A gzipped tar with the given files.
pub fn layer_tar_gz(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (path, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o755);
        h.set_mtime(1_700_000_000);
        h.set_cksum();
        tar.append_data(&mut h, path, *data).unwrap();
    }
    let raw = tar.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &raw).unwrap();
    gz.finish().unwrap()
}

/// An image: its layer, config and manifest bytes.
pub struct TestImage {
    pub layer: Vec<u8>,
    pub config: Vec<u8>,
    pub manifest: Vec<u8>,
}

impl TestImage {
    /// A one-layer linux/amd64 image with history, labels, ports and a description.
    pub fn new(seed: &str, description: &str) -> TestImage {
        let layer = layer_tar_gz(&[("hello.txt", format!("hello {seed}\n").as_bytes())]);
        let diff_id = {
            let mut d = flate2::read::GzDecoder::new(&layer[..]);
            let mut raw = Vec::new();
            std::io::Read::read_to_end(&mut d, &mut raw).unwrap();
            Digest::sha256_of(&raw)
        };
        let config = serde_json::to_vec(&json!({
            "architecture": "amd64",
            "os": "linux",
            "created": "2026-01-02T03:04:05Z",
            "config": {
                "Entrypoint": ["/bin/hello"],
                "Cmd": ["--greet", seed],
                "Env": ["PATH=/usr/bin:/bin"],
                "ExposedPorts": {"8080/tcp": {}},
                "Labels": {"org.opencontainers.image.description": description, "maintainer": "tests"},
                "WorkingDir": "/app"
            },
            "rootfs": {"type": "layers", "diff_ids": [diff_id.to_string()]},
            "history": [
                {"created_by": "/bin/sh -c #(nop) ADD file:abc in / ", "created": "2026-01-02T03:04:05Z"},
                {"created_by": "/bin/sh -c #(nop)  CMD [\"--greet\"]", "empty_layer": true}
            ]
        }))
        .unwrap();
        let manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": Digest::sha256_of(&config).to_string(), "size": config.len()},
            "layers": [{"mediaType": OCI_LAYER, "digest": Digest::sha256_of(&layer).to_string(), "size": layer.len()}]
        }))
        .unwrap();
        TestImage {
            layer,
            config,
            manifest,
        }
    }

    pub fn digest(&self) -> Digest {
        Digest::sha256_of(&self.manifest)
    }

    /// Pushes blobs and the manifest under `tag`.
    pub async fn push(&self, c: &Client, repo: &str, tag: &str) {
        c.push_blob(repo, &self.layer).await.1.expect(201, None);
        c.push_blob(repo, &self.config).await.1.expect(201, None);
        c.put_manifest(repo, tag, OCI_MANIFEST, &self.manifest)
            .await
            .expect(201, None);
    }
}

/// Files under `dir`, recursively (relative paths), for "stores nothing" checks. Pull counts
/// (`_meta/`) and the scratch files of their atomic writes (`_tmp/`) are left out: they are
/// written in the background after pulls. So is the root's `.lock` file.
pub fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if !p
                .components()
                .any(|c| c.as_os_str() == "_meta" || c.as_os_str() == "_tmp")
                && p.file_name().is_some_and(|n| n != ".lock")
            {
                out.push(p.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}
