//! Headless Chromium (Debian package `chromium`) for UI tests: one-shot `--dump-dom` and
//! `--screenshot` runs, and a small Chrome DevTools Protocol client for interaction.
//!
//! Every Chromium runs in its own process group with a fresh profile directory; the guard kills
//! the group (by the leader's PID) on drop, so no renderer or zygote outlives a test.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

const BIN: &str = "chromium";
const WAIT: Duration = Duration::from_secs(60);

fn base_args(profile: &Path) -> Vec<String> {
    [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([format!("--user-data-dir={}", profile.display())])
    .collect()
}

/// Kills a process group by its leader's PID when dropped.
struct GroupGuard(i32);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(self.0),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

fn command(profile: &Path, extra: &[String]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(BIN);
    // HOME, TMPDIR and the XDG dirs point into the profile too, so nothing lands in the user's
    // home or is left in /tmp (Chromium's singleton socket dir survives a SIGKILL otherwise).
    let tmp = profile.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    cmd.args(base_args(profile))
        .args(extra)
        .env("HOME", profile)
        .env("TMPDIR", &tmp)
        .env("XDG_CONFIG_HOME", profile.join("config"))
        .env("XDG_CACHE_HOME", profile.join("cache"))
        .process_group(0)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    cmd
}

/// Runs a one-shot Chromium and returns its stdout.
async fn one_shot(extra: Vec<String>) -> String {
    let profile = tempfile::tempdir().unwrap();
    let child = command(profile.path(), &extra)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("chromium must be installed (Debian package chromium)");
    let _guard = GroupGuard(child.id().unwrap() as i32);
    let out = tokio::time::timeout(WAIT, child.wait_with_output())
        .await
        .expect("chromium did not finish")
        .unwrap();
    assert!(out.status.success(), "chromium {extra:?} failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The DOM of `url` after load, serialised.
pub async fn dump_dom(url: &str) -> String {
    one_shot(vec!["--dump-dom".into(), url.into()]).await
}

/// A screenshot of `url` at `width`×`height`, saved to `path`.
pub async fn screenshot(url: &str, path: &Path, width: u32, height: u32) {
    one_shot(vec![
        format!("--screenshot={}", path.display()),
        format!("--window-size={width},{height}"),
        url.into(),
    ])
    .await;
    let meta = std::fs::metadata(path).expect("screenshot written");
    assert!(meta.len() > 1000, "screenshot {} is empty", path.display());
}

/// Where tests put their screenshots: under the target directory, never the repository.
pub fn artifacts_dir(test: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("registry-ui")
        .join(test);
    std::fs::create_dir_all(&d).unwrap();
    d
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A Chromium driven over CDP, with one page attached.
pub struct Browser {
    ws: Ws,
    session: String,
    next_id: u64,
    events: VecDeque<Value>,
    _guard: GroupGuard,
    _child: tokio::process::Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts Chromium with remote debugging on a free port and attaches to a new page.
    pub async fn start() -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let child = command(
            profile.path(),
            &["--remote-debugging-port=0".into(), "about:blank".into()],
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("chromium must be installed (Debian package chromium)");
        let guard = GroupGuard(child.id().unwrap() as i32);
        // Chromium writes the port it chose to DevToolsActivePort once it listens.
        let port_file = profile.path().join("DevToolsActivePort");
        let mut text = String::new();
        for _ in 0..1200 {
            text = std::fs::read_to_string(&port_file).unwrap_or_default();
            if text.lines().count() >= 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mut lines = text.lines();
        let (port, path) = (
            lines.next().expect("DevToolsActivePort"),
            lines.next().expect("ws path"),
        );
        let url = format!("ws://127.0.0.1:{port}{path}");
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("CDP websocket");
        let mut b = Browser {
            ws,
            session: String::new(),
            next_id: 0,
            events: VecDeque::new(),
            _guard: guard,
            _child: child,
            _profile: profile,
        };
        let target = b
            .call_raw(None, "Target.createTarget", json!({"url": "about:blank"}))
            .await;
        let tid = target["targetId"].as_str().unwrap().to_owned();
        let att = b
            .call_raw(
                None,
                "Target.attachToTarget",
                json!({"targetId": tid, "flatten": true}),
            )
            .await;
        b.session = att["sessionId"].as_str().unwrap().to_owned();
        b.call("Page.enable", json!({})).await;
        b.call("Runtime.enable", json!({})).await;
        b
    }

    async fn recv(&mut self) -> Value {
        loop {
            let msg = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("no CDP message in time")
                .expect("CDP connection closed")
                .expect("CDP read");
            if let Message::Text(t) = msg {
                return serde_json::from_str(&t).unwrap();
            }
        }
    }

    async fn call_raw(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        self.ws
            .send(Message::Text(msg.to_string().into()))
            .await
            .unwrap();
        loop {
            let v = self.recv().await;
            if v["id"] == json!(id) {
                assert!(v.get("error").is_none(), "{method} failed: {v}");
                return v["result"].clone();
            }
            if v.get("method").is_some() {
                self.events.push_back(v);
            }
        }
    }

    /// Calls a method on the page.
    pub async fn call(&mut self, method: &str, params: Value) -> Value {
        let s = self.session.clone();
        self.call_raw(Some(&s), method, params).await
    }

    /// Waits for an event of the page.
    pub async fn wait_event(&mut self, method: &str) -> Value {
        if let Some(i) = self.events.iter().position(|e| e["method"] == method) {
            return self.events.remove(i).unwrap();
        }
        loop {
            let v = self.recv().await;
            if v["method"] == method {
                return v;
            }
            if v.get("method").is_some() {
                self.events.push_back(v);
            }
        }
    }

    /// Navigates and waits for the load event.
    pub async fn goto(&mut self, url: &str) {
        self.events.clear();
        self.call("Page.navigate", json!({"url": url})).await;
        self.wait_event("Page.loadEventFired").await;
    }

    /// Evaluates a JavaScript expression in the page and returns its value.
    pub async fn eval(&mut self, expr: &str) -> Value {
        let r = self
            .call(
                "Runtime.evaluate",
                json!({"expression": expr, "returnByValue": true}),
            )
            .await;
        assert!(r.get("exceptionDetails").is_none(), "{expr}: {r}");
        r["result"]["value"].clone()
    }

    /// Types text into the focused element, then presses Enter and waits for the navigation.
    pub async fn type_and_submit(&mut self, text: &str) {
        self.call("Input.insertText", json!({"text": text})).await;
        self.events.clear();
        let key = json!({"key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13, "nativeVirtualKeyCode": 13});
        let mut down = key.clone();
        down["type"] = json!("keyDown");
        down["text"] = json!("\r");
        let mut up = key;
        up["type"] = json!("keyUp");
        self.call("Input.dispatchKeyEvent", down).await;
        self.call("Input.dispatchKeyEvent", up).await;
        self.wait_event("Page.loadEventFired").await;
    }

    /// Clicks the first element matching `selector` and waits for the page it leads to.
    pub async fn click_and_wait(&mut self, selector: &str) {
        self.events.clear();
        let sel = serde_json::to_string(selector).unwrap();
        self.eval(&format!("document.querySelector({sel}).click()"))
            .await;
        self.wait_event("Page.loadEventFired").await;
    }

    /// Emulates a phone-sized viewport.
    pub async fn phone(&mut self, width: u32, height: u32) {
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 2, "mobile": true}),
        )
        .await;
    }

    /// Saves a PNG of the viewport.
    pub async fn screenshot(&mut self, path: &Path) {
        let r = self
            .call("Page.captureScreenshot", json!({"format": "png"}))
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(r["data"].as_str().unwrap())
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"));
        std::fs::write(path, png).unwrap();
    }

    /// Closes the browser and waits (bounded) for it to exit; the guard still kills the group
    /// afterwards.
    pub async fn close(mut self) {
        self.next_id += 1;
        let msg = json!({"id": self.next_id, "method": "Browser.close", "params": {}});
        let _ = self.ws.send(Message::Text(msg.to_string().into())).await;
        let _ = tokio::time::timeout(WAIT, self._child.wait()).await;
    }
}
