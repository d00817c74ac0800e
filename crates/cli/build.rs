//! Records the compiler version and the git commit for `berth version` (the client's "Rust
//! version", "Git commit" and "Built" lines: the commit and its time); `unknown` outside a
//! git checkout.

use std::process::Command;

fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.split_whitespace().nth(1).unwrap_or("").to_string())
        .unwrap_or_default();
    println!("cargo:rustc-env=BERTH_RUSTC_VERSION={version}");
    println!("cargo:rerun-if-env-changed=RUSTC");
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .filter(|s| !s.is_empty())
    };
    let commit = git(&["rev-parse", "--short=7", "HEAD"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=BERTH_GIT_COMMIT={commit}");
    if let Some(time) = git(&["log", "-1", "--format=%cI"]) {
        println!("cargo:rustc-env=BERTH_BUILD_TIME={time}");
    }
    if let Some(path) = git(&["rev-parse", "--git-path", "logs/HEAD"]) {
        let p = std::path::Path::new(&path);
        let abs = if p.is_absolute() {
            p.to_path_buf()
        } else {
            std::env::current_dir().unwrap_or_default().join(p)
        };
        println!("cargo:rerun-if-changed={}", abs.display());
    }
}
