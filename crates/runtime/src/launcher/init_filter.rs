//! The container init's seccomp filter, compiled once per profile instead of once per container.
//!
//! libcontainer turns the spec's profile into BPF with libseccomp inside every new init, which
//! costs more than the rest of its setup for Docker's default profile (~10–20 ms). Instead the
//! shim looks the program up in a cache directory shared by all shims (`<exec-root>/seccomp`),
//! compiling it in a forked child on a miss ([`super::bpf::compile_in_child`]), and hands
//! libcontainer a copy of the spec without `linux.seccomp`; the init then loads the program
//! itself, just before exec, exactly as the execs of a container do (see [`super::exec`]):
//! without no-new-privileges it holds `CAP_SYS_ADMIN` and `CAP_SETPCAP` until the filter is in,
//! then drops to the spec's capability sets (runc's order: filter, final capabilities, exec).
//! The container's own `config.json` is left whole (execs read their filter from it).
//!
//! A cache entry holds the profile it was compiled from and is used only for that exact
//! profile, so a hash collision can never apply the wrong filter.

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxCapabilities, LinuxSeccomp, Spec};

use super::bpf::{self, Bpf};

/// The spec libcontainer is given, and what the init must do before exec.
pub(super) struct InitFilter {
    /// The bundle to hand libcontainer (its `config.json` has no `linux.seccomp`).
    pub bundle: PathBuf,
    /// The program to load.
    pub bpf: Bpf,
    /// The capability sets to drop to once the filter is in (when they were raised for it).
    pub caps: Option<LinuxCapabilities>,
}

/// Prepares the precompiled path for the init of `bundle`, writing the spec copy under
/// `scratch`. `None` when the container has no filter, or its profile cannot be precompiled
/// (a notify action): then libcontainer does it all as usual.
pub(super) fn prepare(
    bundle: &Path,
    scratch: &Path,
    cache: &Path,
) -> Result<Option<InitFilter>, String> {
    let path = bundle.join("config.json");
    let mut spec = Spec::load(&path).map_err(|e| format!("load {}: {e}", path.display()))?;
    let Some(mut linux) = spec.linux().clone() else {
        return Ok(None);
    };
    let Some(profile) = linux.seccomp().clone() else {
        return Ok(None);
    };
    let Ok(bpf) = cached(cache, &profile) else {
        return Ok(None);
    };
    linux.set_seccomp(None);
    spec.set_linux(Some(linux));
    let mut caps = None;
    if let Some(mut process) = spec.process().clone() {
        caps = super::exec::raise_for_seccomp(&mut process, true);
        spec.set_process(Some(process));
    }
    if let Some(root) = spec.root().clone() {
        if root.path().is_relative() {
            let mut root = root;
            root.set_path(bundle.join(root.path()));
            spec.set_root(Some(root));
        }
    }
    if scratch == bundle {
        return Err(format!(
            "the init's spec copy would replace {}",
            path.display()
        ));
    }
    std::fs::create_dir_all(scratch).map_err(|e| format!("create {}: {e}", scratch.display()))?;
    let out = scratch.join("config.json");
    spec.save(&out)
        .map_err(|e| format!("write {}: {e}", out.display()))?;
    Ok(Some(InitFilter {
        bundle: scratch.to_owned(),
        bpf,
        caps,
    }))
}

/// The program for `profile`, from the cache or compiled (and cached).
fn cached(dir: &Path, profile: &LinuxSeccomp) -> Result<Bpf, String> {
    let key = serde_json::to_vec(profile).map_err(|e| e.to_string())?;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    let file = dir.join(format!("{:016x}.bpf", h.finish()));
    if let Some(b) = std::fs::read(&file).ok().and_then(|d| decode(&d, &key)) {
        return Ok(b);
    }
    let b = bpf::compile_in_child(profile)?;
    // A cache that cannot be written only costs the next container the compile.
    let _ = store(dir, &file, &encode(&key, &b));
    Ok(b)
}

/// `len(key) key flags program`, integers little-endian u32.
fn encode(key: &[u8], b: &Bpf) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + key.len() + b.program.len());
    out.extend_from_slice(&(key.len() as u32).to_le_bytes());
    out.extend_from_slice(key);
    out.extend_from_slice(&b.flags.to_le_bytes());
    out.extend_from_slice(&b.program);
    out
}

fn decode(data: &[u8], key: &[u8]) -> Option<Bpf> {
    let word = |at: usize| -> Option<u32> {
        Some(u32::from_le_bytes(data.get(at..at + 4)?.try_into().ok()?))
    };
    let n = word(0)? as usize;
    if data.get(4..4 + n)? != key {
        return None;
    }
    let flags = word(4 + n)?;
    let program = data.get(8 + n..)?.to_vec();
    (!program.is_empty()).then_some(Bpf { program, flags })
}

/// Writes `data` to `file` atomically (a unique temp file, then rename).
fn store(dir: &Path, file: &Path, data: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{}.tmp", std::process::id()));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(data)?;
    drop(f);
    std::fs::rename(&tmp, file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_serve_only_their_own_profile() {
        let b = Bpf {
            program: vec![6, 0, 0, 0, 0, 0, 0xff, 0x7f],
            flags: 2,
        };
        let data = encode(b"profile-a", &b);
        assert_eq!(decode(&data, b"profile-a"), Some(b));
        assert_eq!(decode(&data, b"profile-b"), None);
        assert_eq!(decode(&data[..6], b"profile-a"), None);
        assert_eq!(decode(&[], b""), None);
    }
}
