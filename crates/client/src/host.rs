//! Where the daemon listens: `unix:///path` or `tcp://host:port`, chosen from `-H`/`--host`,
//! then `BERTH_HOST`, then `DOCKER_HOST`, then the default socket.

use std::fmt;
use std::path::PathBuf;

use crate::error::{Error, Result};

/// The socket berthd listens on when nobody says otherwise.
pub const DEFAULT_HOST: &str = "unix:///run/berth/berth.sock";

/// A daemon address the client can dial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// A unix socket path.
    Unix(PathBuf),
    /// A `host:port` reached over plain TCP.
    Tcp(String),
}

impl Host {
    /// Parses `unix:///path`, `tcp://host:port` (a missing port is 2375, as docker's), or a
    /// bare absolute path (taken as a unix socket).
    pub fn parse(s: &str) -> Result<Host> {
        let s = s.trim();
        let invalid = |reason| Error::InvalidHost {
            host: s.to_string(),
            reason,
        };
        if let Some(path) = s.strip_prefix("unix://") {
            if path.is_empty() {
                return Host::parse(DEFAULT_HOST);
            }
            if !path.starts_with('/') {
                return Err(invalid("the socket path must be absolute"));
            }
            return Ok(Host::Unix(PathBuf::from(path)));
        }
        if let Some(addr) = s.strip_prefix("tcp://") {
            let addr = addr.trim_end_matches('/');
            if addr.is_empty() {
                return Err(invalid("no address given"));
            }
            if addr.contains('/') {
                return Err(invalid("paths are not supported in tcp hosts"));
            }
            let has_port = match addr.rsplit_once(':') {
                Some((h, p)) => !p.is_empty() && !h.ends_with(':') && p.parse::<u16>().is_ok(),
                None => false,
            };
            let addr = if has_port {
                addr.to_string()
            } else {
                format!("{}:2375", addr.trim_end_matches(':'))
            };
            return Ok(Host::Tcp(addr));
        }
        if s.starts_with('/') {
            return Ok(Host::Unix(PathBuf::from(s)));
        }
        if s.contains("://") {
            return Err(invalid("unsupported protocol"));
        }
        Err(invalid("expected unix:///path or tcp://host:port"))
    }

    /// The host from an explicit flag, else `BERTH_HOST`, else `DOCKER_HOST`, else the default.
    pub fn resolve(flag: Option<&str>) -> Result<Host> {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        match flag
            .map(str::to_string)
            .or_else(|| env("BERTH_HOST"))
            .or_else(|| env("DOCKER_HOST"))
        {
            Some(h) => Host::parse(&h),
            None => Host::parse(DEFAULT_HOST),
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Unix(p) => write!(f, "unix://{}", p.display()),
            Host::Tcp(a) => write!(f, "tcp://{a}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_docker_host_forms() {
        assert_eq!(
            Host::parse("unix:///tmp/x.sock").unwrap(),
            Host::Unix("/tmp/x.sock".into())
        );
        assert_eq!(
            Host::parse("unix://").unwrap(),
            Host::Unix("/run/berth/berth.sock".into())
        );
        assert_eq!(Host::parse("/a/b").unwrap(), Host::Unix("/a/b".into()));
        assert_eq!(
            Host::parse("tcp://127.0.0.1:2376").unwrap(),
            Host::Tcp("127.0.0.1:2376".into())
        );
        assert_eq!(
            Host::parse("tcp://localhost").unwrap(),
            Host::Tcp("localhost:2375".into())
        );
        assert!(Host::parse("ssh://me@host").is_err());
        assert!(Host::parse("unix://relative").is_err());
        assert!(Host::parse("nonsense").is_err());
        assert_eq!(
            Host::parse("unix:///tmp/x.sock").unwrap().to_string(),
            "unix:///tmp/x.sock"
        );
    }
}
