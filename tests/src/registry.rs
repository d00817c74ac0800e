//! Registries for end-to-end tests, on 127.0.0.1 only, each stopped by PID when dropped:
//! Debian's `docker-registry` (CNCF distribution) with plain HTTP or with htpasswd over TLS
//! (a CA and server certificate generated with openssl), our `berth-registry` with token
//! auth, and a small TCP proxy that records requests and can cut a response mid-body.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("binding 127.0.0.1:0")
}

fn wait_listening(addr: &str, child: &mut Child, log: &Path) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Some(st) = child.try_wait()? {
            bail!(
                "registry exited with {st}: {}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        if TcpStream::connect(addr).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    bail!("registry on {addr} did not listen in 20s")
}

fn stop_child(child: &mut Option<Child>) {
    if let Some(mut c) = child.take() {
        let _ = Command::new("kill").arg(c.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = c.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = c.kill();
        let _ = c.wait();
    }
}

/// A CA and a server certificate for 127.0.0.1, made with openssl.
pub struct TestCa {
    /// The CA certificate (PEM).
    pub ca_cert: PathBuf,
    /// The server certificate and key.
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TestCa {
    /// Generates a CA (named `name`) and a server certificate signed by it into `dir`.
    pub fn generate(dir: &Path, name: &str) -> Result<TestCa> {
        std::fs::create_dir_all(dir)?;
        let p = |f: &str| dir.join(format!("{name}-{f}"));
        let run = |args: &[&str]| -> Result<()> {
            let out = Command::new("openssl")
                .args(args)
                .output()
                .context("running openssl")?;
            if !out.status.success() {
                bail!("openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
            }
            Ok(())
        };
        let s = |x: &PathBuf| x.to_string_lossy().into_owned();
        run(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            &format!("/CN=berth test CA {name}"),
            "-keyout",
            &s(&p("ca.key")),
            "-out",
            &s(&p("ca.crt")),
        ])?;
        run(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            &s(&p("server.key")),
            "-out",
            &s(&p("server.csr")),
        ])?;
        std::fs::write(p("ext.cnf"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n")?;
        run(&[
            "x509",
            "-req",
            "-in",
            &s(&p("server.csr")),
            "-CA",
            &s(&p("ca.crt")),
            "-CAkey",
            &s(&p("ca.key")),
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &s(&p("ext.cnf")),
            "-out",
            &s(&p("server.crt")),
        ])?;
        Ok(TestCa {
            ca_cert: p("ca.crt"),
            cert: p("server.crt"),
            key: p("server.key"),
        })
    }
}

/// Options of a [`DockerRegistry`].
#[derive(Default)]
pub struct RegistryOptions {
    /// htpasswd basic auth with this user and password (needs TLS: distribution refuses
    /// basic auth over plain HTTP only by convention; we always pair them).
    pub htpasswd: Option<(String, String)>,
    /// Serve HTTPS with this certificate.
    pub tls: Option<(PathBuf, PathBuf)>,
}

/// Debian's `docker-registry` on 127.0.0.1:<free port>.
pub struct DockerRegistry {
    /// `127.0.0.1:port`.
    pub addr: String,
    /// Its storage root (blobs under `docker/registry/v2/blobs/sha256/<xx>/<hex>/data`).
    pub storage: PathBuf,
    _dir: tempfile::TempDir,
    child: Option<Child>,
}

impl DockerRegistry {
    /// A plain-HTTP registry with no auth.
    pub fn start() -> Result<DockerRegistry> {
        Self::start_with(RegistryOptions::default())
    }

    /// A registry with `opts` (on another port if the one picked was taken meanwhile).
    pub fn start_with(opts: RegistryOptions) -> Result<DockerRegistry> {
        let mut last = None;
        for _ in 0..3 {
            match Self::try_start(&opts) {
                Ok(r) => return Ok(r),
                Err(e) => last = Some(e),
            }
        }
        Err(last.expect("tried"))
    }

    fn try_start(opts: &RegistryOptions) -> Result<DockerRegistry> {
        let dir = tempfile::Builder::new()
            .prefix("berth-registry-")
            .tempdir()?;
        let addr = format!("127.0.0.1:{}", free_port());
        let storage = dir.path().join("data");
        let mut cfg = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {addr}\n",
            storage.display()
        );
        if let Some((cert, key)) = &opts.tls {
            cfg.push_str(&format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                cert.display(),
                key.display()
            ));
        }
        if let Some((user, pass)) = &opts.htpasswd {
            let file = dir.path().join("htpasswd");
            let out = Command::new("htpasswd")
                .args(["-Bbn", user, pass])
                .output()
                .context("running htpasswd (apache2-utils)")?;
            if !out.status.success() {
                bail!("htpasswd failed");
            }
            std::fs::write(&file, out.stdout)?;
            cfg.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: berth-test\n    path: {}\n",
                file.display()
            ));
        }
        let cfg_path = dir.path().join("config.yml");
        std::fs::write(&cfg_path, cfg)?;
        let log = dir.path().join("registry.log");
        let mut child = Command::new("docker-registry")
            .arg("serve")
            .arg(&cfg_path)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log)?)
            .stderr(std::fs::File::create(dir.path().join("registry.err"))?)
            .spawn()
            .context("spawning docker-registry (Debian package docker-registry)")?;
        wait_listening(&addr, &mut child, &log)?;
        Ok(DockerRegistry {
            addr,
            storage,
            _dir: dir,
            child: Some(child),
        })
    }

    /// The data file of blob `hex` in the storage.
    pub fn blob_file(&self, hex: &str) -> PathBuf {
        self.storage
            .join("docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }
}

impl Drop for DockerRegistry {
    fn drop(&mut self) {
        stop_child(&mut self.child);
    }
}

/// Our `berth-registry` with token auth: `users` may push and pull everything, anonymous
/// users may pull.
pub struct BerthRegistry {
    /// `127.0.0.1:port`.
    pub addr: String,
    _dir: tempfile::TempDir,
    child: Option<Child>,
}

impl BerthRegistry {
    /// Starts it with htpasswd users (`(name, password)`).
    pub fn start(users: &[(&str, &str)]) -> Result<BerthRegistry> {
        let dir = tempfile::Builder::new()
            .prefix("berth-registry-")
            .tempdir()?;
        let addr = format!("127.0.0.1:{}", free_port());
        let htpasswd = dir.path().join("htpasswd");
        let mut lines = String::new();
        for (u, p) in users {
            let out = Command::new("htpasswd").args(["-Bbn", u, p]).output()?;
            lines.push_str(String::from_utf8_lossy(&out.stdout).trim());
            lines.push('\n');
        }
        std::fs::write(&htpasswd, lines)?;
        let cfg = format!(
            "[server]\naddr = \"{addr}\"\n\n[storage.filesystem]\nroot = \"{}\"\n\n[auth]\nmode = \"token\"\nhtpasswd = \"{}\"\n\n[auth.token]\nservice = \"berth-registry\"\nissuer = \"berth-registry\"\nexpires_in = 300\n\n[[auth.access]]\nrepository = \"*\"\nanonymous = true\nactions = [\"pull\"]\n\n[[auth.access]]\nrepository = \"*\"\nusers = [\"*\"]\nactions = [\"pull\", \"push\", \"delete\"]\n",
            dir.path().join("data").display(),
            htpasswd.display()
        );
        let cfg_path = dir.path().join("registry.toml");
        std::fs::write(&cfg_path, cfg)?;
        let log = dir.path().join("registry.log");
        let mut child = Command::new(crate::bin("berth-registry"))
            .arg("serve")
            .arg("--config")
            .arg(&cfg_path)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log)?)
            .stderr(std::fs::File::create(dir.path().join("registry.err"))?)
            .spawn()
            .context("spawning berth-registry")?;
        wait_listening(&addr, &mut child, &log)?;
        Ok(BerthRegistry {
            addr,
            _dir: dir,
            child: Some(child),
        })
    }
}

impl Drop for BerthRegistry {
    fn drop(&mut self) {
        stop_child(&mut self.child);
    }
}

/// One request seen by a [`Proxy`]: method, path, and its `Range` header if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenRequest {
    pub method: String,
    pub path: String,
    pub range: Option<String>,
}

struct ProxyState {
    seen: Mutex<Vec<SeenRequest>>,
    /// Cut responses to requests whose path contains this, after `cut_after` body bytes...
    cut_path: Mutex<Option<String>>,
    cut_after: AtomicUsize,
    /// ...this many times.
    cuts_left: AtomicUsize,
    stop: AtomicBool,
}

/// A TCP proxy on 127.0.0.1 in front of `target` that records every HTTP request and can
/// cut chosen responses mid-body (a dropped connection). Stops its threads when dropped.
pub struct Proxy {
    /// `127.0.0.1:port`.
    pub addr: String,
    state: Arc<ProxyState>,
}

impl Proxy {
    /// Starts a proxy to `target`.
    pub fn start(target: &str) -> Result<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?.to_string();
        let state = Arc::new(ProxyState {
            seen: Mutex::new(Vec::new()),
            cut_path: Mutex::new(None),
            cut_after: AtomicUsize::new(0),
            cuts_left: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
        });
        let (st, target) = (state.clone(), target.to_string());
        std::thread::spawn(move || {
            while !st.stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((client, _)) => {
                        let _ = client.set_nonblocking(false);
                        let (st2, t2) = (st.clone(), target.clone());
                        std::thread::spawn(move || {
                            let _ = serve_conn(client, &t2, st2);
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Ok(Proxy { addr, state })
    }

    /// Cuts the next `times` responses to requests whose path contains `path_part` after
    /// `after` bytes of response (headers included).
    pub fn cut(&self, path_part: &str, after: usize, times: usize) {
        *self.state.cut_path.lock().unwrap() = Some(path_part.to_string());
        self.state.cut_after.store(after, Ordering::SeqCst);
        self.state.cuts_left.store(times, Ordering::SeqCst);
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<SeenRequest> {
        self.state.seen.lock().unwrap().clone()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::Relaxed);
    }
}

fn serve_conn(client: TcpStream, target: &str, st: Arc<ProxyState>) -> Result<()> {
    let upstream = TcpStream::connect(target)?;
    let current = Arc::new(Mutex::new(String::new()));
    // client -> upstream, noting request heads.
    {
        let (mut c, mut u, st, cur) = (
            client.try_clone()?,
            upstream.try_clone()?,
            st.clone(),
            current.clone(),
        );
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            let mut head = Vec::new();
            // Body bytes of the current request still to come (Content-Length).
            let mut body_left = 0usize;
            loop {
                let n = match c.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                let skip = body_left.min(n);
                body_left -= skip;
                head.extend_from_slice(&buf[skip..n]);
                while body_left == 0 {
                    let Some(end) = find(&head, b"\r\n\r\n") else {
                        break;
                    };
                    let text = String::from_utf8_lossy(&head[..end]).into_owned();
                    head.drain(..end + 4);
                    let mut lines = text.lines();
                    let mut first = lines.next().unwrap_or("").split_whitespace();
                    let method = first.next().unwrap_or("").to_string();
                    let path = first.next().unwrap_or("").to_string();
                    let headers: Vec<(String, String)> = lines
                        .filter_map(|l| l.split_once(':'))
                        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
                        .collect();
                    let header = |name: &str| {
                        headers
                            .iter()
                            .find(|(k, _)| k == name)
                            .map(|(_, v)| v.clone())
                    };
                    let range = header("range");
                    let len: usize = header("content-length")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                    let in_buf = len.min(head.len());
                    head.drain(..in_buf);
                    body_left = len - in_buf;
                    *cur.lock().unwrap() = path.clone();
                    st.seen.lock().unwrap().push(SeenRequest {
                        method,
                        path,
                        range,
                    });
                }
                if u.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            let _ = u.shutdown(Shutdown::Write);
        });
    }
    // upstream -> client, cutting when told.
    let (mut u, mut c) = (upstream, client);
    let mut buf = vec![0u8; 16 * 1024];
    let mut sent_for: (String, usize) = (String::new(), 0);
    loop {
        let n = match u.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let path = current.lock().unwrap().clone();
        if sent_for.0 != path {
            sent_for = (path.clone(), 0);
        }
        let cut_part = st.cut_path.lock().unwrap().clone();
        let matches = cut_part.is_some_and(|p| path.contains(&p));
        if matches && st.cuts_left.load(Ordering::SeqCst) > 0 {
            let after = st.cut_after.load(Ordering::SeqCst);
            if sent_for.1 + n >= after {
                let k = after.saturating_sub(sent_for.1);
                let _ = c.write_all(&buf[..k]);
                st.cuts_left.fetch_sub(1, Ordering::SeqCst);
                let _ = c.shutdown(Shutdown::Both);
                let _ = u.shutdown(Shutdown::Both);
                return Ok(());
            }
        }
        sent_for.1 += n;
        if c.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = c.shutdown(Shutdown::Both);
    Ok(())
}

fn find(h: &[u8], needle: &[u8]) -> Option<usize> {
    h.windows(needle.len()).position(|w| w == needle)
}
