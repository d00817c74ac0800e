//! Per-step cache keys. A step's key is a digest of what the classic builder's image cache
//! compares — the image the step starts from and the step's container config (whose `Cmd`
//! carries the instruction: `#(nop) COPY file:<content hash> in /dst`, `|1 A=v /bin/sh -c …`
//! for a RUN with build args in use) — plus what berth runs beyond the classic builder and
//! must not be confused: RUN `--mount`s (with the content hash of a bound context
//! directory), `--network`, a heredoc script's text, and COPY's `--chmod`/`--link`/
//! `--exclude`/`--parents`. Hostname-like fields that differ between identical steps are
//! left out.

use oci::config::ContainerConfig;
use sha2::{Digest as _, Sha256};

/// The config fields that never count (per-container noise, and the parent, which is keyed
/// separately).
const IGNORED: [&str; 3] = ["Hostname", "Domainname", "Image"];

/// The canonical JSON of a container config for keying.
fn canonical(config: &ContainerConfig) -> String {
    let mut v = serde_json::to_value(config).unwrap_or_default();
    if let Some(m) = v.as_object_mut() {
        for k in IGNORED {
            m.remove(k);
        }
        // Empty and missing mean the same to the builder.
        m.retain(|_, v| {
            !v.is_null()
                && *v != serde_json::json!([])
                && *v != serde_json::json!({})
                && *v != serde_json::json!("")
        });
    }
    v.to_string()
}

/// The key of a step starting from `parent` (`None`: scratch) whose container config is
/// `config`, with `extra` material (empty for a classic step).
pub fn key(
    parent: Option<&str>,
    config: &ContainerConfig,
    platform: &str,
    extra: &[String],
) -> String {
    let mut h = Sha256::new();
    h.update(b"berth-build-cache/v1\0");
    h.update(parent.unwrap_or("scratch").as_bytes());
    h.update(b"\0");
    h.update(platform.as_bytes());
    h.update(b"\0");
    h.update(canonical(config).as_bytes());
    for e in extra {
        h.update(b"\0");
        h.update(e.as_bytes());
    }
    format!("sha256:{}", hex::encode(h.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(json: &str) -> ContainerConfig {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn keys_ignore_noise_but_not_commands() {
        let a =
            cfg(r##"{"Cmd":["/bin/sh","-c","#(nop) ","ENV A=1"],"Env":["A=1"],"Hostname":"abc"}"##);
        let b = cfg(
            r##"{"Cmd":["/bin/sh","-c","#(nop) ","ENV A=1"],"Env":["A=1"],"Hostname":"def","Labels":{}}"##,
        );
        let c = cfg(r##"{"Cmd":["/bin/sh","-c","#(nop) ","ENV A=2"],"Env":["A=2"]}"##);
        let p = Some("sha256:p");
        assert_eq!(
            key(p, &a, "linux/amd64", &[]),
            key(p, &b, "linux/amd64", &[])
        );
        assert_ne!(
            key(p, &a, "linux/amd64", &[]),
            key(p, &c, "linux/amd64", &[])
        );
        assert_ne!(
            key(p, &a, "linux/amd64", &[]),
            key(Some("sha256:q"), &a, "linux/amd64", &[])
        );
        assert_ne!(
            key(p, &a, "linux/amd64", &[]),
            key(p, &a, "linux/amd64", &["mount".into()])
        );
    }
}
