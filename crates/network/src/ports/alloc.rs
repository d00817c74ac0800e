//! Host ports, held: a published port is a socket the daemon keeps bound (TCP listening) on
//! the host address, so neither another container nor another process can take it while
//! the mapping lives (dockerd does the same since 25). Two tables answer "is it free?": the
//! daemon's own reservations (dockerd's message `Bind for 0.0.0.0:8080 failed: port is
//! already allocated`) and the kernel's (`bind`: `address already in use`).
//!
//! A [`PortLease`] owns the sockets and the reservation; dropping it frees both.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::{Arc, Mutex};

use nix::errno::Errno;
use nix::sys::socket::{
    bind, listen, setsockopt, socket, sockopt, AddressFamily, Backlog, SockFlag, SockType,
    SockaddrStorage,
};

use super::Proto;
use crate::ErrorKind;

/// Why a host port could not be had.
#[derive(Debug, thiserror::Error)]
pub enum PortError {
    /// Another mapping of this daemon holds it.
    #[error("Bind for {addr} failed: port is already allocated")]
    AlreadyAllocated { addr: String },
    /// The kernel refused the bind (another process has it).
    #[error("failed to bind host port {addr}/{proto}: {}", errno_text(.source))]
    Bind {
        addr: String,
        proto: Proto,
        #[source]
        source: std::io::Error,
    },
    /// Every port of the range (or the ephemeral range) is taken.
    #[error("no free host port for {addr}/{proto} in {start}-{end}: all ports are allocated")]
    Exhausted {
        addr: String,
        proto: Proto,
        start: u16,
        end: u16,
    },
    /// A protocol berth cannot hold or proxy.
    #[error("publishing {proto} ports is not supported")]
    Unsupported { proto: Proto },
    /// A binding that does not make sense (bad address, port 0 in a range …).
    #[error("invalid port binding {binding}: {reason}")]
    Invalid { binding: String, reason: String },
    /// The firewall refused the DNAT rules.
    #[error(transparent)]
    Firewall(#[from] crate::firewall::FirewallError),
}

impl PortError {
    /// The error's kind: a taken port is a conflict (409).
    pub fn kind(&self) -> ErrorKind {
        match self {
            PortError::AlreadyAllocated { .. } | PortError::Exhausted { .. } => ErrorKind::Conflict,
            PortError::Bind { source, .. } if source.raw_os_error() == Some(libc::EADDRINUSE) => {
                ErrorKind::Conflict
            }
            PortError::Unsupported { .. } | PortError::Invalid { .. } => ErrorKind::InvalidArgument,
            PortError::Firewall(e) => e.kind(),
            PortError::Bind { .. } => ErrorKind::Internal,
        }
    }
}

/// An OS error as Go prints it: `address already in use`, no `(os error 98)`.
fn errno_text(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => Errno::from_raw(n).desc().to_lowercase(),
        None => e.to_string(),
    }
}

/// `addr:port` as dockerd prints it (`0.0.0.0:8080`, `[::]:8080`).
pub(crate) fn show(ip: IpAddr, port: u16) -> String {
    SocketAddr::new(ip, port).to_string()
}

/// A bound socket holding one host address and port.
#[derive(Debug)]
pub enum HeldSocket {
    /// A listening TCP socket.
    Tcp(std::net::TcpListener),
    /// A bound UDP socket.
    Udp(std::net::UdpSocket),
}

type Key = (Proto, IpAddr, u16);

/// The daemon's reservations, shared by every lease.
#[derive(Debug, Default)]
struct Reservations(Mutex<BTreeSet<Key>>);

impl Reservations {
    fn clashes(set: &BTreeSet<Key>, proto: Proto, ip: IpAddr, port: u16) -> bool {
        // 0.0.0.0 (or ::) covers every address of its family, as bind(2) sees it.
        set.iter().any(|(p, i, n)| {
            *p == proto
                && *n == port
                && i.is_ipv4() == ip.is_ipv4()
                && (*i == ip || i.is_unspecified() || ip.is_unspecified())
        })
    }
}

/// One held host port on one or more addresses; dropping it closes the sockets and frees
/// the reservation.
#[derive(Debug)]
pub struct PortLease {
    /// The protocol.
    pub proto: Proto,
    /// The port.
    pub port: u16,
    /// One socket per host address, in request order.
    pub sockets: Vec<(IpAddr, HeldSocket)>,
    reserved: Vec<IpAddr>,
    owner: Arc<Reservations>,
}

impl PortLease {
    /// Takes the sockets out (to hand them to the userland proxy); the reservation stays
    /// until the lease is dropped.
    pub fn take_sockets(&mut self) -> Vec<(IpAddr, HeldSocket)> {
        std::mem::take(&mut self.sockets)
    }
}

impl Drop for PortLease {
    fn drop(&mut self) {
        // Close the sockets before the reservation goes, so a port is never reserved-free
        // yet still bound.
        self.sockets.clear();
        let mut set = self.owner.0.lock().unwrap_or_else(|p| p.into_inner());
        for ip in &self.reserved {
            set.remove(&(self.proto, *ip, self.port));
        }
    }
}

/// Hands out host ports.
#[derive(Debug, Clone)]
pub struct PortAllocator {
    reservations: Arc<Reservations>,
    ephemeral: (u16, u16),
}

/// The kernel's ephemeral range (`net.ipv4.ip_local_port_range`), dockerd's default range
/// for `-p 80` without a host port; 49153–65535 if it cannot be read.
pub fn ephemeral_range() -> (u16, u16) {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| {
            let mut it = s.split_whitespace().map(|v| v.parse::<u16>());
            match (it.next(), it.next()) {
                (Some(Ok(a)), Some(Ok(b))) if a > 0 && a <= b => Some((a, b)),
                _ => None,
            }
        })
        .unwrap_or((49153, 65535))
}

impl PortAllocator {
    /// An allocator whose ephemeral ports come from `ephemeral` (inclusive).
    pub fn new(ephemeral: (u16, u16)) -> Self {
        PortAllocator {
            reservations: Arc::default(),
            ephemeral,
        }
    }

    /// Holds one port, the same on every address of `addrs`: `range` `(p, p)` exactly p,
    /// `(a, b)` the first free in a..=b, `(0, 0)` a free ephemeral one (starting at a
    /// random point, as the kernel does). `listen`: TCP sockets listen (to be accepted by
    /// the userland proxy); otherwise they are only bound, so a stray connection to them is
    /// refused rather than left hanging.
    pub fn request(
        &self,
        addrs: &[IpAddr],
        proto: Proto,
        range: (u16, u16),
        listen: bool,
    ) -> Result<PortLease, PortError> {
        if proto == Proto::Sctp {
            return Err(PortError::Unsupported { proto });
        }
        let shown = addrs.first().copied().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        if range.0 == range.1 && range.0 != 0 {
            return self.try_port(addrs, proto, range.0, listen);
        }
        let (start, end, ephemeral) = if range == (0, 0) {
            (self.ephemeral.0, self.ephemeral.1, true)
        } else {
            (range.0.max(1), range.1, false)
        };
        let span = u32::from(end) - u32::from(start) + 1;
        let offset = if ephemeral {
            rand::random::<u32>() % span
        } else {
            0
        };
        for i in 0..span {
            let port = (u32::from(start) + (offset + i) % span) as u16;
            match self.try_port(addrs, proto, port, listen) {
                Ok(lease) => return Ok(lease),
                Err(e) if e.kind() == ErrorKind::Conflict => continue,
                Err(e) => return Err(e),
            }
        }
        Err(PortError::Exhausted {
            addr: shown.to_string(),
            proto,
            start,
            end,
        })
    }

    fn try_port(
        &self,
        addrs: &[IpAddr],
        proto: Proto,
        port: u16,
        listen: bool,
    ) -> Result<PortLease, PortError> {
        let mut lease = PortLease {
            proto,
            port,
            sockets: Vec::new(),
            reserved: Vec::new(),
            owner: self.reservations.clone(),
        };
        {
            let mut set = self
                .reservations
                .0
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if let Some(ip) = addrs
                .iter()
                .find(|ip| Reservations::clashes(&set, proto, **ip, port))
            {
                return Err(PortError::AlreadyAllocated {
                    addr: show(*ip, port),
                });
            }
            for ip in addrs {
                set.insert((proto, *ip, port));
                lease.reserved.push(*ip);
            }
        }
        // From here on, dropping `lease` frees the reservation (and the sockets bound so far).
        for ip in addrs {
            let sock = bind_socket(*ip, port, proto, listen).map_err(|source| PortError::Bind {
                addr: show(*ip, port),
                proto,
                source,
            })?;
            lease.sockets.push((*ip, sock));
        }
        Ok(lease)
    }
}

/// A socket bound to `ip:port`, IPV6_V6ONLY for IPv6 (so `::` and `0.0.0.0` are held
/// separately, as dockerd does). A listening TCP socket gets SO_REUSEADDR (a port left in
/// TIME_WAIT by a previous proxy is reusable; a live listener still refuses others); a
/// bound-only one must not have it, or another SO_REUSEADDR socket could share the port.
fn bind_socket(
    ip: IpAddr,
    port: u16,
    proto: Proto,
    listen_tcp: bool,
) -> std::io::Result<HeldSocket> {
    let family = if ip.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    };
    let ty = match proto {
        Proto::Udp => SockType::Datagram,
        _ => SockType::Stream,
    };
    let fd: OwnedFd = socket(family, ty, SockFlag::SOCK_CLOEXEC, None)?;
    if ty == SockType::Stream && listen_tcp {
        setsockopt(&fd, sockopt::ReuseAddr, &true)?;
    }
    if ip.is_ipv6() {
        setsockopt(&fd, sockopt::Ipv6V6Only, &true)?;
    }
    let addr = SockaddrStorage::from(SocketAddr::new(ip, port));
    bind(fd.as_raw_fd(), &addr).map_err(std::io::Error::from)?;
    Ok(match ty {
        SockType::Stream => {
            if listen_tcp {
                listen(&fd, Backlog::MAXCONN).map_err(|e: Errno| std::io::Error::from(e))?;
            }
            HeldSocket::Tcp(std::net::TcpListener::from(fd))
        }
        _ => HeldSocket::Udp(std::net::UdpSocket::from(fd)),
    })
}

#[cfg(test)]
mod tests;
