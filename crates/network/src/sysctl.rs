//! The few kernel switches networking depends on, read and written through `/proc/sys`.
//! `/proc/sys/net` shows the namespace of the thread that opens it, so a write done on a
//! thread that entered a container's namespace applies there (see [`crate::netns`]).
//!
//! The daemon decides what to change: dockerd turns `net.ipv4.ip_forward` on at start
//! (`--ip-forward`, default true); berth's engine passes the flag through and tests run
//! with it off, leaving the host as found. `route_localnet` is never changed: loopback
//! publishing goes through the userland proxy instead.

use std::path::PathBuf;

use crate::ErrorKind;

/// A sysctl could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("sysctl {path}: {source}")]
pub struct SysctlError {
    /// The `/proc/sys` file.
    pub path: PathBuf,
    /// Why.
    #[source]
    pub source: std::io::Error,
}

impl SysctlError {
    /// The error's kind.
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::Internal
    }
}

fn path(name: &str) -> PathBuf {
    PathBuf::from("/proc/sys").join(name.replace('.', "/"))
}

/// Reads a sysctl (`net.ipv4.ip_forward`), trimmed. Interface names containing dots are not
/// supported by this dotted form; use [`read_path`].
pub fn read(name: &str) -> Result<String, SysctlError> {
    read_path(path(name))
}

/// Reads a `/proc/sys` file, trimmed.
pub fn read_path(p: PathBuf) -> Result<String, SysctlError> {
    std::fs::read_to_string(&p)
        .map(|s| s.trim().to_string())
        .map_err(|source| SysctlError { path: p, source })
}

/// Writes a `/proc/sys` file if it does not already hold `value`. Returns the old value.
pub fn write_path(p: PathBuf, value: &str) -> Result<String, SysctlError> {
    let old = read_path(p.clone())?;
    if old != value {
        std::fs::write(&p, value).map_err(|source| SysctlError { path: p, source })?;
    }
    Ok(old)
}

/// `net.ipv4.ip_forward` on (dockerd's `--ip-forward`). Returns whether it was on before.
pub fn enable_ipv4_forwarding() -> Result<bool, SysctlError> {
    Ok(write_path(path("net.ipv4.ip_forward"), "1")? == "1")
}

/// `net.ipv6.conf.all.forwarding` on, for IPv6 networks. Returns whether it was on before.
pub fn enable_ipv6_forwarding() -> Result<bool, SysctlError> {
    Ok(write_path(path("net.ipv6.conf.all.forwarding"), "1")? == "1")
}

/// Whether `net.ipv4.ip_forward` is on.
pub fn ipv4_forwarding() -> Result<bool, SysctlError> {
    Ok(read("net.ipv4.ip_forward")? == "1")
}

/// Whether `route_localnet` is on for `iface` (or for `all`): DNAT of 127.0.0.0/8 only
/// works then.
pub fn route_localnet(iface: &str) -> Result<bool, SysctlError> {
    let p = PathBuf::from("/proc/sys/net/ipv4/conf")
        .join(iface)
        .join("route_localnet");
    Ok(read_path(p)? == "1")
}

/// The `disable_ipv6` file of an interface in the calling thread's namespace.
pub fn disable_ipv6_path(iface: &str) -> PathBuf {
    PathBuf::from("/proc/sys/net/ipv6/conf")
        .join(iface)
        .join("disable_ipv6")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_without_writing() {
        let fwd = ipv4_forwarding().unwrap();
        assert_eq!(fwd, read("net.ipv4.ip_forward").unwrap() == "1");
        route_localnet("all").unwrap();
        assert!(read("net.ipv4.no_such_thing").is_err());
        // Writing the value a file already holds changes nothing and returns it.
        let cur = read("net.ipv4.ip_forward").unwrap();
        assert_eq!(write_path(path("net.ipv4.ip_forward"), &cur).unwrap(), cur);
    }
}
