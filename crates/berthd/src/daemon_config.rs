//! The daemon configuration file (`--config-file`, like dockerd's `daemon.json`): a JSON
//! object whose registry, networking, runtime and logging keys berthd applies, whose other
//! dockerd keys are accepted with a warning, and whose unknown keys are refused, as dockerd
//! refuses them.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use distribution::options::InsecureEntry;
use distribution::RegistryOptions;
use serde::Deserialize;

/// The keys berthd applies.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct DaemonFile {
    #[serde(default)]
    pub insecure_registries: Vec<String>,
    #[serde(default)]
    pub registry_mirrors: Vec<String>,
    pub max_concurrent_downloads: Option<usize>,
    pub max_concurrent_uploads: Option<usize>,
    pub max_download_attempts: Option<usize>,
    /// berth's own: where `<host>/ca.crt` lives (default `/etc/berth/certs.d`).
    pub certs_dir: Option<PathBuf>,
    /// berth's own: blobs larger than this (bytes) are pushed in `PATCH` chunks of this size.
    pub upload_chunk_size: Option<u64>,
    /// OCI runtimes by name (`{"path": …, "runtimeArgs": […]}`).
    #[serde(default)]
    pub runtimes: std::collections::BTreeMap<String, engine::runtimes::DeclaredRuntime>,
    /// The runtime of containers that name none.
    pub default_runtime: Option<String>,
    /// The log driver of containers that name none.
    pub log_driver: Option<String>,
    /// That driver's default options.
    #[serde(default)]
    pub log_opts: std::collections::BTreeMap<String, String>,
    /// The networking keys (`bridge`, `bip`, `iptables` …).
    #[serde(flatten)]
    pub network: crate::net_flags::NetKeys,
}

/// dockerd keys berth does not act on (yet); accepted so an existing daemon.json loads.
const IGNORED: &[&str] = &[
    "authorization-plugins",
    "debug",
    "log-level",
    "builder",
    "cgroup-parent",
    "containerd",
    "data-root",
    "default-shm-size",
    "default-ulimits",
    "exec-opts",
    "exec-root",
    "experimental",
    "features",
    "group",
    "hosts",
    "icc",
    "init",
    "init-path",
    "ip",
    "ip-masq",
    "ip6tables",
    "ipv6",
    "labels",
    "live-restore",
    "log-format",
    "no-new-privileges",
    "oom-score-adjust",
    "pidfile",
    "seccomp-profile",
    "selinux-enabled",
    "shutdown-timeout",
    "storage-driver",
    "storage-opts",
    "tls",
    "tlscacert",
    "tlscert",
    "tlskey",
    "tlsverify",
    "userns-remap",
];

const KNOWN: &[&str] = &[
    "insecure-registries",
    "registry-mirrors",
    "max-concurrent-downloads",
    "max-concurrent-uploads",
    "max-download-attempts",
    "certs-dir",
    "upload-chunk-size",
    "runtimes",
    "default-runtime",
    "log-driver",
    "log-opts",
];

impl DaemonFile {
    /// Reads and checks the file.
    pub fn load(path: &Path) -> Result<DaemonFile> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the config file {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("config file {}", path.display()))
    }

    /// Parses the JSON text.
    pub fn parse(text: &str) -> Result<DaemonFile> {
        let v: serde_json::Value = serde_json::from_str(text).context("invalid JSON")?;
        let Some(obj) = v.as_object() else {
            bail!("the configuration must be a JSON object");
        };
        let unknown: Vec<&str> = obj
            .keys()
            .map(String::as_str)
            .filter(|k| {
                !KNOWN.contains(k) && !IGNORED.contains(k) && !crate::net_flags::KEYS.contains(k)
            })
            .collect();
        if !unknown.is_empty() {
            bail!(
                "the following directives don't match any configuration option: {}",
                unknown.join(", ")
            );
        }
        for k in obj.keys().filter(|k| IGNORED.contains(&k.as_str())) {
            tracing::warn!(key = %k, "configuration option not supported by berthd; ignored");
        }
        Ok(serde_json::from_value(v)?)
    }

    /// Merges the file's registry settings with the flags' (lists add up; flags win for
    /// numbers) into `opts`.
    pub fn apply(
        &self,
        opts: &mut RegistryOptions,
        insecure_flags: &[String],
        mirror_flags: &[String],
    ) -> Result<()> {
        for s in self.insecure_registries.iter().chain(insecure_flags) {
            opts.insecure.push(InsecureEntry::parse(s)?);
        }
        opts.mirrors
            .extend(self.registry_mirrors.iter().chain(mirror_flags).cloned());
        if let Some(n) = self.max_concurrent_downloads {
            opts.max_concurrent_downloads = n;
        }
        if let Some(n) = self.max_concurrent_uploads {
            opts.max_concurrent_uploads = n;
        }
        if let Some(n) = self.max_download_attempts {
            opts.max_download_attempts = n.max(1);
        }
        if let Some(d) = &self.certs_dir {
            opts.certs_dir = d.clone();
        }
        if let Some(n) = self.upload_chunk_size {
            opts.chunk_size = n;
        }
        opts.validate()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_registry_keys_and_refuses_unknown_ones() {
        let f = DaemonFile::parse(
            r#"{"insecure-registries":["10.0.0.0/8","reg:5000"],"registry-mirrors":["http://127.0.0.1:5001"],
                "max-concurrent-downloads":2,"log-driver":"json-file"}"#,
        )
        .unwrap();
        let mut o = RegistryOptions::default();
        f.apply(&mut o, &["other:1".into()], &[]).unwrap();
        assert_eq!(o.insecure.len(), 3);
        assert_eq!(o.mirrors, vec!["http://127.0.0.1:5001".to_string()]);
        assert_eq!(o.max_concurrent_downloads, 2);
        assert!(o.is_insecure("10.2.3.4:5000") && o.is_insecure("reg:5000"));
        let f = DaemonFile::parse(
            r#"{"runtimes":{"dbg":{"path":"runc","runtimeArgs":["--debug"]}},"default-runtime":"dbg","log-driver":"local","log-opts":{"max-size":"1m"}}"#,
        )
        .unwrap();
        assert_eq!(f.runtimes["dbg"].runtime_args, ["--debug"]);
        assert_eq!(f.default_runtime.as_deref(), Some("dbg"));
        assert_eq!(f.log_driver.as_deref(), Some("local"));
        assert_eq!(f.log_opts["max-size"], "1m");
        let e = DaemonFile::parse(r#"{"bogus":1}"#).unwrap_err();
        assert!(e.to_string().contains("bogus"), "{e}");
        let e = DaemonFile::parse(r#"{"registry-mirrors":["ftp://x"]}"#)
            .unwrap()
            .apply(&mut RegistryOptions::default(), &[], &[])
            .unwrap_err();
        assert!(e.to_string().contains("ftp://x"), "{e}");
        assert!(DaemonFile::parse("[1]").is_err());
    }
}
