//! The daemon's registry settings (the registry part of `daemon.json`): which registries are
//! insecure, the mirrors, where per-host certificates live, and concurrency limits.

use std::net::IpAddr;
use std::path::PathBuf;

use crate::error::{Error, Result};

/// Registry settings of a daemon.
#[derive(Debug, Clone)]
pub struct RegistryOptions {
    /// Registries that may be reached over plain HTTP or unverified TLS: `host[:port]` names
    /// and CIDR ranges. 127.0.0.0/8 and ::1 are always included, as in Docker.
    pub insecure: Vec<InsecureEntry>,
    /// Mirror base URLs (`https://mirror.example`, `http://127.0.0.1:5001`), tried in order
    /// before the origin for every pull, whatever the registry (not only docker.io).
    pub mirrors: Vec<String>,
    /// Where `<host>/ca.crt`, `<host>/client.cert` and `<host>/client.key` are looked up.
    pub certs_dir: PathBuf,
    /// Layers downloaded at once per pull (`max-concurrent-downloads`, default 3).
    pub max_concurrent_downloads: usize,
    /// Layers uploaded at once per push (`max-concurrent-uploads`, default 5).
    pub max_concurrent_uploads: usize,
    /// Attempts per layer download before the pull fails (`max-download-attempts`, default
    /// 5); each retry resumes where the last one stopped.
    pub max_download_attempts: usize,
    /// Blobs larger than this are pushed in chunks (`PATCH` with `Content-Range`); smaller ones
    /// in one `PUT`. Default 64 MiB; at least 1 MiB.
    pub chunk_size: u64,
    /// `User-Agent` of every request.
    pub user_agent: String,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        RegistryOptions {
            insecure: Vec::new(),
            mirrors: Vec::new(),
            certs_dir: PathBuf::from("/etc/berth/certs.d"),
            max_concurrent_downloads: 3,
            max_concurrent_uploads: 5,
            max_download_attempts: 5,
            chunk_size: 64 << 20,
            user_agent: format!("berth/{}", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// One `insecure-registries` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InsecureEntry {
    /// A registry name, `host` or `host:port`, matched exactly.
    Host(String),
    /// An address range; a registry whose host is an IP literal in it matches.
    Cidr {
        /// The network address.
        addr: IpAddr,
        /// The prefix length.
        prefix: u8,
    },
}

impl InsecureEntry {
    /// Parses `10.0.0.0/8`, `myreg:5000`, `http://myreg:5000` (the scheme is ignored).
    pub fn parse(s: &str) -> Result<InsecureEntry> {
        let s = s.trim();
        let s = s
            .strip_prefix("http://")
            .or_else(|| s.strip_prefix("https://"))
            .unwrap_or(s)
            .trim_end_matches('/');
        if s.is_empty() || s.contains(char::is_whitespace) {
            return Err(Error::Config {
                reason: format!("insecure registry {s:?} is not a host[:port] or a CIDR"),
            });
        }
        if let Some((a, p)) = s.split_once('/') {
            let addr: IpAddr = a.parse().map_err(|_| Error::Config {
                reason: format!("insecure registry {s:?}: {a:?} is not an IP address"),
            })?;
            let max = if addr.is_ipv4() { 32 } else { 128 };
            let prefix: u8 = p
                .parse()
                .ok()
                .filter(|n| *n <= max)
                .ok_or_else(|| Error::Config {
                    reason: format!("insecure registry {s:?}: bad prefix length {p:?}"),
                })?;
            return Ok(InsecureEntry::Cidr { addr, prefix });
        }
        Ok(InsecureEntry::Host(s.to_ascii_lowercase()))
    }
}

fn in_cidr(ip: IpAddr, net: IpAddr, prefix: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = if prefix == 0 {
                0
            } else {
                u32::MAX << (32 - prefix)
            };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = if prefix == 0 {
                0
            } else {
                u128::MAX << (128 - prefix)
            };
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// The host part of `host[:port]` (IPv6 literals in brackets).
pub(crate) fn host_only(registry: &str) -> &str {
    if let Some(rest) = registry.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    registry
        .rsplit_once(':')
        .map(|(h, _)| h)
        .unwrap_or(registry)
}

impl RegistryOptions {
    /// True when `registry` (`host[:port]`) is insecure: listed by name, inside a listed
    /// range, or on loopback.
    pub fn is_insecure(&self, registry: &str) -> bool {
        let registry = registry.to_ascii_lowercase();
        let host = host_only(&registry);
        let ip: Option<IpAddr> = if host == "localhost" {
            Some(IpAddr::from([127, 0, 0, 1]))
        } else {
            host.parse().ok()
        };
        if ip.is_some_and(|ip| ip.is_loopback()) {
            return true;
        }
        self.insecure.iter().any(|e| match e {
            InsecureEntry::Host(h) => *h == registry || *h == host,
            InsecureEntry::Cidr { addr, prefix } => {
                ip.is_some_and(|ip| in_cidr(ip, *addr, *prefix))
            }
        })
    }

    /// True when `registry` is named (by host or range) in `insecure-registries` itself, not
    /// only insecure by the loopback default.
    pub fn is_listed_insecure(&self, registry: &str) -> bool {
        let opts = RegistryOptions {
            insecure: self.insecure.clone(),
            ..RegistryOptions::default()
        };
        let registry = registry.to_ascii_lowercase();
        let host = host_only(&registry);
        let ip: Option<IpAddr> = host.parse().ok();
        opts.insecure.iter().any(|e| match e {
            InsecureEntry::Host(h) => *h == registry || *h == host,
            InsecureEntry::Cidr { addr, prefix } => {
                ip.is_some_and(|ip| in_cidr(ip, *addr, *prefix))
            }
        })
    }

    /// Checks the mirror URLs (scheme and host present).
    pub fn validate(&self) -> Result<()> {
        for m in &self.mirrors {
            let u = reqwest::Url::parse(m).map_err(|e| Error::Config {
                reason: format!("registry mirror {m:?}: {e}"),
            })?;
            if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
                return Err(Error::Config {
                    reason: format!("registry mirror {m:?}: must be an http:// or https:// URL"),
                });
            }
        }
        if self.max_concurrent_downloads == 0 || self.max_concurrent_uploads == 0 {
            return Err(Error::Config {
                reason: "max-concurrent-downloads and max-concurrent-uploads must be at least 1"
                    .into(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insecure_matching() {
        let o = RegistryOptions {
            insecure: vec![
                InsecureEntry::parse("10.1.0.0/16").unwrap(),
                InsecureEntry::parse("http://myreg:5000/").unwrap(),
            ],
            ..Default::default()
        };
        assert!(o.is_insecure("127.0.0.1:5000"));
        assert!(o.is_insecure("127.3.4.5"));
        assert!(o.is_insecure("localhost:5000"));
        assert!(o.is_insecure("[::1]:5000"));
        assert!(o.is_insecure("10.1.2.3:443"));
        assert!(!o.is_insecure("10.2.0.1"));
        assert!(o.is_insecure("myreg:5000"));
        assert!(!o.is_insecure("docker.io"));
        assert!(!o.is_listed_insecure("127.0.0.1:5000"));
        assert!(o.is_listed_insecure("10.1.9.9:5000"));
        assert!(InsecureEntry::parse("1.2.3.4/40").is_err());
        assert!(InsecureEntry::parse("x/8").is_err());
    }

    #[test]
    fn mirror_validation() {
        let mut o = RegistryOptions {
            mirrors: vec!["http://127.0.0.1:5001".into()],
            ..Default::default()
        };
        o.validate().unwrap();
        o.mirrors.push("ftp://x".into());
        assert!(o.validate().unwrap_err().to_string().contains("ftp://x"));
    }
}
