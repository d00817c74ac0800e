//! The per-container files dockerd bind-mounts into every container: `/etc/hostname`,
//! `/etc/hosts` and `/etc/resolv.conf`, written into the container's directory at create.

use std::fs;
use std::path::Path;

use crate::error::{Error, Result};

/// Default `/etc/hosts` lines of every container (dockerd's `etchosts.defaultContent`).
const HOSTS_BASE: &str = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::\tip6-localnet\nff00::\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n";

/// Nameservers used when the host only has loopback resolvers (dockerd's defaults).
const FALLBACK_DNS: &str = "nameserver 8.8.8.8\nnameserver 8.8.4.4\n";

/// The `/etc/hosts` of a container: the defaults, then `extra` (`host:ip` from
/// `--add-host`), then its own address line if it has one.
pub fn hosts_content(own: Option<(&str, &str)>, extra: &[String]) -> Result<String> {
    let mut out = String::from(HOSTS_BASE);
    for e in extra {
        let (host, ip) = e.split_once(':').ok_or_else(|| {
            Error::invalid(format!(
                "invalid argument \"{e}\" for \"--add-host\": bad format"
            ))
        })?;
        out.push_str(&format!("{ip}\t{host}\n"));
    }
    if let Some((ip, name)) = own {
        out.push_str(&format!("{ip}\t{name}\n"));
    }
    Ok(out)
}

/// The `/etc/resolv.conf` of a container: the host's, without loopback nameservers when the
/// container has its own network namespace (they would point at the container itself), with
/// `--dns`, `--dns-search` and `--dns-option` replacing the host's lines of their kind.
pub fn resolv_content(
    host: &str,
    own_netns: bool,
    dns: &[String],
    search: &[String],
    options: &[String],
) -> String {
    let mut out = String::new();
    let mut have_ns = false;
    for line in host.lines() {
        let t = line.trim();
        if let Some(ns) = t.strip_prefix("nameserver") {
            let ns = ns.trim();
            let loopback = ns.starts_with("127.") || ns == "::1";
            if !dns.is_empty() || (own_netns && loopback) {
                continue;
            }
            have_ns = true;
        }
        if !search.is_empty() && (t.starts_with("search") || t.starts_with("domain")) {
            continue;
        }
        if !options.is_empty() && t.starts_with("options") {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    for ns in dns {
        out.push_str(&format!("nameserver {ns}\n"));
        have_ns = true;
    }
    if !search.is_empty() {
        out.push_str(&format!("search {}\n", search.join(" ")));
    }
    if !options.is_empty() {
        out.push_str(&format!("options {}\n", options.join(" ")));
    }
    if !have_ns {
        out.push_str(FALLBACK_DNS);
    }
    out
}

/// Writes `hostname`, `hosts` and `resolv.conf` into `dir`.
pub fn write_all(dir: &Path, hostname: &str, hosts: &str, resolv: &str) -> Result<()> {
    for (name, content) in [
        ("hostname", format!("{hostname}\n")),
        ("hosts", hosts.to_string()),
        ("resolv.conf", resolv.to_string()),
    ] {
        let p = dir.join(name);
        fs::write(&p, content).map_err(|e| Error::file(&p, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_resolv() {
        let h = hosts_content(Some(("10.0.0.2", "abc")), &["db:10.0.0.3".into()]).unwrap();
        assert!(h.starts_with("127.0.0.1\tlocalhost\n"));
        assert!(h.contains("10.0.0.3\tdb\n"));
        assert!(h.ends_with("10.0.0.2\tabc\n"));
        assert!(hosts_content(None, &["nocolon".into()]).is_err());

        let host = "# comment\nnameserver 127.0.0.53\nsearch lan\n";
        let r = resolv_content(host, true, &[], &[], &[]);
        assert!(!r.contains("127.0.0.53"));
        assert!(r.contains("nameserver 8.8.8.8"));
        assert!(r.contains("search lan"));
        let r = resolv_content(host, false, &[], &[], &[]);
        assert!(r.contains("127.0.0.53") && !r.contains("8.8.8.8"));
        let r = resolv_content(
            "nameserver 1.1.1.1\n",
            true,
            &["9.9.9.9".into()],
            &["x".into()],
            &["ndots:2".into(), "timeout:1".into()],
        );
        assert!(
            !r.contains("1.1.1.1") && r.contains("nameserver 9.9.9.9") && r.contains("search x")
        );
        assert!(r.ends_with("options ndots:2 timeout:1\n"), "{r}");
    }
}
