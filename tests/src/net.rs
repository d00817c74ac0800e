//! Helpers of the networking tests: a daemon with busybox, detached httpd containers, their
//! published ports and the daemon's DNAT rules; HTTP through `curl` on the host (bounded
//! retries, as a container's server takes a moment to listen); a fake DNS resolver on a
//! loopback address (the daemon's upstream in tests: no query ever leaves the machine); the
//! key order of JSON objects.

use std::net::{Ipv4Addr, UdpSocket};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::Daemon;

/// A daemon with the busybox image.
pub fn daemon() -> Daemon {
    let d = Daemon::start().expect("start berthd");
    d.import_busybox().expect("import busybox");
    d
}

/// A command's stderr, as text.
pub fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The args of a detached busybox httpd serving `text` on port 80.
pub fn httpd(text: &str) -> Vec<String> {
    vec![
        "busybox".into(),
        "sh".into(),
        "-c".into(),
        format!("mkdir -p /www && echo {text} > /www/index.html && exec httpd -f -p 80 -h /www"),
    ]
}

/// `docker run -d FLAGS CMD`; the container id.
pub fn run_d(d: &Daemon, flags: &[&str], cmd: &[String]) -> String {
    let mut args = vec!["run", "-d"];
    args.extend_from_slice(flags);
    args.extend(cmd.iter().map(String::as_str));
    d.docker_ok(&args)
}

/// `docker inspect WHAT`, the object.
pub fn inspect(d: &Daemon, what: &str) -> Value {
    let out = d.docker_ok(&["inspect", what]);
    let v: Value = serde_json::from_str(&out).unwrap();
    v[0].clone()
}

/// The host port `docker port` reports for `port` (`80/tcp`) of a container.
pub fn host_port(d: &Daemon, name: &str, port: &str) -> u16 {
    let out = d.docker_ok(&["port", name, port]);
    out.lines()
        .next()
        .and_then(|l| l.rsplit(':').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("docker port {name} {port}: {out}"))
}

/// The DNAT rules of the daemon's table (the `published` chain).
pub fn dnat_rules(d: &Daemon) -> String {
    let out = std::process::Command::new("nft")
        .args(["list", "chain", "inet", &d.net.nft_table, "published"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("dnat"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `curl -s` of `url` until it answers (at most `secs`); the body, or `None`.
pub fn curl(url: &str, secs: u64) -> Option<String> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let out = Command::new("curl")
            .args(["-s", "-m", "2", url])
            .output()
            .expect("curl is needed (scripts/deps.sh installs it)");
        if out.status.success() {
            return Some(String::from_utf8_lossy(&out.stdout).into_owned());
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// One `curl` attempt: whether `url` answers within 2 s.
pub fn answers(url: &str) -> bool {
    Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-m", "2", url])
        .status()
        .is_ok_and(|s| s.success())
}

/// Polls `f` every 50 ms for at most `secs`; whether it became true.
pub fn wait_until(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if f() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A DNS server on `ip:53` (UDP) that answers every A query with `answer`, until dropped.
/// It is a fake for the host's resolver, which tests must never reach.
pub struct FakeDns {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// The names it was asked, lower-cased.
    pub asked: Arc<std::sync::Mutex<Vec<String>>>,
}

impl FakeDns {
    /// Starts the server.
    pub fn start(ip: &str, answer: Ipv4Addr) -> std::io::Result<FakeDns> {
        let sock = UdpSocket::bind((ip, 53))?;
        sock.set_read_timeout(Some(Duration::from_millis(100)))?;
        let stop = Arc::new(AtomicBool::new(false));
        let asked = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (s2, a2) = (stop.clone(), asked.clone());
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            while !s2.load(Ordering::Relaxed) {
                let Ok((n, from)) = sock.recv_from(&mut buf) else {
                    continue;
                };
                if let Some((name, reply)) = answer_a(&buf[..n], answer) {
                    a2.lock().unwrap().push(name);
                    let _ = sock.send_to(&reply, from);
                }
            }
        });
        Ok(FakeDns {
            stop,
            thread: Some(thread),
            asked,
        })
    }
}

impl Drop for FakeDns {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The reply to a one-question query: its name and the message (an A record for A
/// queries, an empty answer otherwise).
fn answer_a(q: &[u8], ip: Ipv4Addr) -> Option<(String, Vec<u8>)> {
    if q.len() < 12 {
        return None;
    }
    let mut i = 12;
    let mut labels = Vec::new();
    loop {
        let len = *q.get(i)? as usize;
        i += 1;
        if len == 0 {
            break;
        }
        labels.push(String::from_utf8_lossy(q.get(i..i + len)?).to_lowercase());
        i += len;
    }
    let qtype = u16::from_be_bytes([*q.get(i)?, *q.get(i + 1)?]);
    let question_end = i + 4;
    let is_a = qtype == 1;
    let mut r = Vec::with_capacity(question_end + 16);
    r.extend_from_slice(&q[..2]);
    r.extend_from_slice(&[0x81, 0x80, 0, 1, 0, u8::from(is_a), 0, 0, 0, 0]);
    r.extend_from_slice(q.get(12..question_end)?);
    if is_a {
        r.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
        r.extend_from_slice(&ip.octets());
    }
    Some((labels.join("."), r))
}

/// The keys of the JSON object at `path` (object keys, from the top) in `raw`, in the order
/// they are written (serde_json's maps sort them; dockerd's field order is part of its
/// shape). `None` when the path is not there.
pub fn json_keys(raw: &str, path: &[&str]) -> Option<Vec<String>> {
    let b = raw.as_bytes();
    let mut i = skip_ws(b, 0);
    for key in path {
        i = find_key(b, i, key)?;
    }
    let mut keys = Vec::new();
    if *b.get(i)? != b'{' {
        return None;
    }
    i = skip_ws(b, i + 1);
    while *b.get(i)? != b'}' {
        let (k, after) = read_string(b, i)?;
        keys.push(k);
        i = skip_ws(b, after);
        i = skip_ws(b, i + 1); // ':'
        i = skip_ws(b, skip_value(b, i)?);
        if *b.get(i)? == b',' {
            i = skip_ws(b, i + 1);
        }
    }
    Some(keys)
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

fn read_string(b: &[u8], i: usize) -> Option<(String, usize)> {
    if *b.get(i)? != b'"' {
        return None;
    }
    let mut j = i + 1;
    while *b.get(j)? != b'"' {
        j += if b[j] == b'\\' { 2 } else { 1 };
    }
    Some((String::from_utf8_lossy(&b[i + 1..j]).into_owned(), j + 1))
}

fn skip_value(b: &[u8], i: usize) -> Option<usize> {
    match *b.get(i)? {
        b'"' => read_string(b, i).map(|(_, j)| j),
        b'{' | b'[' => {
            let mut depth = 0i32;
            let mut j = i;
            loop {
                match *b.get(j)? {
                    b'"' => {
                        j = read_string(b, j)?.1;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
        }
        _ => {
            let mut j = i;
            while j < b.len() && !matches!(b[j], b',' | b'}' | b']') && !b[j].is_ascii_whitespace()
            {
                j += 1;
            }
            Some(j)
        }
    }
}

/// The index of the value of `key` in the object starting at `i`.
fn find_key(b: &[u8], i: usize, key: &str) -> Option<usize> {
    if *b.get(i)? != b'{' {
        return None;
    }
    let mut i = skip_ws(b, i + 1);
    while *b.get(i)? != b'}' {
        let (k, after) = read_string(b, i)?;
        let v = skip_ws(b, skip_ws(b, after) + 1);
        if k == key {
            return Some(v);
        }
        i = skip_ws(b, skip_value(b, v)?);
        if *b.get(i)? == b',' {
            i = skip_ws(b, i + 1);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_in_written_order() {
        let raw = r#"{"b":1,"a":{"z":[1,{"q":2}],"y":"s\"x","x":null},"c":true}"#;
        assert_eq!(json_keys(raw, &[]).unwrap(), ["b", "a", "c"]);
        assert_eq!(json_keys(raw, &["a"]).unwrap(), ["z", "y", "x"]);
        assert!(json_keys(raw, &["nope"]).is_none());
    }
}
