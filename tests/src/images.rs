//! Helpers for the image tests: layered images made by commit, archives written by hand or
//! by third-party tools, and the store's own view of what is unreferenced.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use crate::daemon::{tail, Daemon};

/// Runs `sh -c script` in a container of `base`, commits it as `name`, removes the container;
/// returns the new image's id.
pub fn layered(d: &Daemon, name: &str, base: &str, script: &str) -> String {
    let c = format!("mk-{}", name.replace([':', '/'], "-"));
    d.docker_ok(&["run", "--name", &c, base, "sh", "-c", script]);
    let id = d.docker_ok(&["commit", &c, name]);
    d.docker_ok(&["rm", &c]);
    id
}

/// What the store holds that nothing references, as it is on disk. The daemon is stopped for
/// the look (the metadata database has one owner) and started again.
pub fn garbage(d: &mut Daemon) -> store::Garbage {
    d.stop().expect("stopping berthd");
    let g = {
        let s = store::Store::open_without_recovery(&d.data_root, store::StoreOptions::default())
            .expect("opening the store");
        s.garbage().expect("computing garbage")
    };
    d.spawn().expect("restarting berthd");
    g
}

/// Files under `dir`, recursively (for counting blobs and snapshot directories).
pub fn count_entries(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|it| it.flatten().count())
        .unwrap_or(0)
}

/// Entries of a tar file, as `tar -tf` lists them.
pub fn tar_list(tar: &Path) -> Vec<String> {
    let out = Command::new("tar")
        .arg("-tf")
        .arg(tar)
        .output()
        .expect("running tar");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// One file out of a tar.
pub fn tar_file(tar: &Path, name: &str) -> String {
    let out = Command::new("tar")
        .arg("-xOf")
        .arg(tar)
        .arg(name)
        .output()
        .expect("running tar");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `skopeo args`, failing with its output.
pub fn skopeo(args: &[&str]) -> Result<String> {
    let out = Command::new("skopeo")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .context("running skopeo (Debian package skopeo)")?;
    if !out.status.success() {
        bail!(
            "skopeo {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `berth` with `args`, failing with its stderr and the daemon log.
pub fn berth_ok(d: &Daemon, args: &[&str]) -> String {
    let out = d.berth(args);
    assert!(
        out.status.success(),
        "berth {args:?} failed ({}):\n{}{}\ndaemon log:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        tail(&d.log_text(), 40)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A scratch path inside the fixture's root.
pub fn scratch(d: &Daemon, name: &str) -> PathBuf {
    d.root.path().join(name)
}
