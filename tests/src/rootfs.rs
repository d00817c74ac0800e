//! The offline `busybox` root filesystem: Debian's static busybox plus one link per applet,
//! a minimal `/etc/passwd` and `/etc/group`. This is what `scripts/make-busybox.sh` tars up
//! for `berth import`, and what lower-level tests run directly.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

/// Where the static busybox comes from (Debian `busybox-static`).
pub const HOST_BUSYBOX: &str = "/bin/busybox";

/// Fills `dir` with a busybox root filesystem: `bin/busybox`, a symlink per applet in `bin/`,
/// `etc/passwd` (root, nobody, and an unprivileged `app` user 1000:1000), `etc/group`, and the
/// empty directories a container expects (`proc`, `sys`, `dev`, `tmp`, `etc`, `root`).
pub fn make_busybox_rootfs(dir: &Path) -> Result<()> {
    let busybox = Path::new(HOST_BUSYBOX);
    if !busybox.exists() {
        bail!("{HOST_BUSYBOX} is missing: install Debian's busybox-static");
    }
    for d in [
        "bin", "etc", "proc", "sys", "dev", "tmp", "root", "home/app", "var",
    ] {
        fs::create_dir_all(dir.join(d)).with_context(|| format!("mkdir {d}"))?;
    }
    fs::copy(busybox, dir.join("bin/busybox")).context("copy busybox")?;
    let out = Command::new(busybox)
        .arg("--list")
        .output()
        .context("busybox --list")?;
    for applet in String::from_utf8_lossy(&out.stdout).lines() {
        let applet = applet.trim();
        if applet.is_empty() || applet == "busybox" {
            continue;
        }
        let link = dir.join("bin").join(applet);
        if !link.exists() {
            symlink("busybox", &link).with_context(|| format!("link {applet}"))?;
        }
    }
    fs::write(
        dir.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    )?;
    fs::write(
        dir.join("etc/group"),
        "root:x:0:\nwheel:x:10:app\napp:x:1000:\nnogroup:x:65534:\n",
    )?;
    let tmp = dir.join("tmp");
    let mut perm = fs::metadata(&tmp)?.permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o1777);
    fs::set_permissions(&tmp, perm)?;
    Ok(())
}

/// Makes a busybox rootfs in a fresh subdirectory of `parent` and returns its path.
pub fn busybox_rootfs_in(parent: &Path) -> Result<PathBuf> {
    let dir = parent.join("rootfs");
    make_busybox_rootfs(&dir)?;
    Ok(dir)
}
