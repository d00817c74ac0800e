//! Helpers for the build tests: context directories written from a list of files, the docker
//! CLI's classic builder (`DOCKER_BUILDKIT=0 docker build`) and `berth build` against a
//! daemon, and raw `POST /build` requests for what no CLI sends (hostile context tars).

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use anyhow::{Context as _, Result};
use store::Snapshotter;

use crate::daemon::{tail, Daemon};

/// Writes `files` (path, content) under a fresh directory `name` of the fixture's root.
pub fn context(d: &Daemon, name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = d.root.path().join(name);
    std::fs::create_dir_all(&dir).expect("creating the context");
    for (p, content) in files {
        let f = dir.join(p);
        if let Some(parent) = f.parent() {
            std::fs::create_dir_all(parent).expect("creating a context dir");
        }
        std::fs::write(&f, content).expect("writing a context file");
    }
    dir
}

/// `DOCKER_BUILDKIT=0 docker build args…` (the context directory is one of `args`).
pub fn docker_build(d: &Daemon, args: &[&str]) -> Output {
    let mut c = d.docker_cmd(&["build"]);
    c.args(args)
        .env("DOCKER_BUILDKIT", "0")
        .stdin(Stdio::null());
    c.output().expect("running docker build")
}

/// `berth build args…`.
pub fn berth_build(d: &Daemon, args: &[&str]) -> Output {
    let mut c = d.berth_cmd(&["build"]);
    c.args(args).stdin(Stdio::null());
    c.output().expect("running berth build")
}

/// The combined stdout and stderr of a command.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Asserts a build succeeded; returns its output.
pub fn ok(d: &Daemon, o: Output) -> String {
    let t = text(&o);
    assert!(
        o.status.success(),
        "build failed ({}):\n{t}\ndaemon log:\n{}",
        o.status,
        tail(&d.log_text(), 40)
    );
    t
}

/// The id `Successfully built <id>` names.
pub fn built_id(out: &str) -> String {
    out.lines()
        .rev()
        .find_map(|l| l.strip_prefix("Successfully built "))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| panic!("no `Successfully built` in:\n{out}"))
}

/// `POST /build?query` with `body` as the context; returns the status and the body.
pub fn post_build(socket: &Path, query: &str, body: &[u8]) -> Result<(u16, String)> {
    let mut s = UnixStream::connect(socket)?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    let head = format!(
        "POST /v1.47/build?{query} HTTP/1.1\r\nHost: berth\r\nConnection: close\r\nContent-Type: application/x-tar\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes())?;
    // The daemon may answer before reading everything: a failed write is not the result.
    let _ = s.write_all(body);
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).context("reading the response")?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .context("no status line")?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

/// One tar entry written raw (any name, any link target): what a hostile client sends.
pub struct RawEntry<'a> {
    /// The name as written in the header.
    pub name: &'a str,
    /// Regular, directory, symlink, hard link …
    pub kind: tar::EntryType,
    /// File content.
    pub data: &'a [u8],
    /// Link target.
    pub link: &'a str,
}

/// A tar of raw entries.
pub fn raw_tar(entries: &[RawEntry<'_>]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(e.kind);
        h.set_mode(0o644);
        h.set_size(e.data.len() as u64);
        let gnu = h.as_gnu_mut().expect("gnu header");
        gnu.name[..e.name.len()].copy_from_slice(e.name.as_bytes());
        gnu.linkname[..e.link.len()].copy_from_slice(e.link.as_bytes());
        h.set_cksum();
        b.append(&h, e.data).expect("appending");
    }
    b.into_inner().expect("tar")
}

/// A regular-file entry.
pub fn file<'a>(name: &'a str, data: &'a [u8]) -> RawEntry<'a> {
    RawEntry {
        name,
        kind: tar::EntryType::Regular,
        data,
        link: "",
    }
}

/// The snapshots of builds (step layers, views, contexts) still recorded, and what the store
/// holds unreferenced: both must be empty once builds are over. The daemon is stopped for
/// the look and started again.
pub fn leftovers(d: &mut Daemon) -> (Vec<String>, store::Garbage) {
    d.stop().expect("stopping berthd");
    let found = {
        let s = store::Store::open_without_recovery(&d.data_root, store::StoreOptions::default())
            .expect("opening the store");
        let mut keys = Vec::new();
        s.snapshotter()
            .walk(&mut |i| {
                if i.key.starts_with("build/") || i.key.starts_with("build-view/") {
                    keys.push(i.key.clone());
                }
            })
            .expect("walking snapshots");
        (keys, s.garbage().expect("computing garbage"))
    };
    d.spawn().expect("restarting berthd");
    found
}
