//! The DNS sockets: per container, one UDP and one TCP socket bound inside its namespace,
//! served by the daemon's runtime; forwarding of foreign names to upstream resolvers.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::Semaphore;
use tokio::task::{JoinHandle, JoinSet};

use super::message::{self, RCODE_FORMERR, RCODE_SERVFAIL};
use super::{decide, Decision, DnsRecords};
use crate::netns::{self, NetnsError};
use crate::ErrorKind;

/// Where the server listens inside each container (dockerd's address).
pub const LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::new(127, 0, 0, 11)), 53);

/// How long an upstream has to answer (dockerd's `extIOTimeout`).
pub const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(4);
/// Upstreams tried per query, at most (dockerd's `maxExtDNS`).
const MAX_UPSTREAMS: usize = 3;
/// Forwarded queries in flight per container, at most.
const MAX_IN_FLIGHT: usize = 256;
/// A TCP client idle this long is dropped.
const TCP_IDLE: Duration = Duration::from_secs(10);

/// A DNS server failure.
#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    /// The container's namespace could not be entered.
    #[error(transparent)]
    Netns(#[from] NetnsError),
    /// A socket could not be bound inside the container.
    #[error("DNS server for container {container}: bind {addr}: {source}")]
    Bind {
        container: String,
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

impl DnsError {
    /// The error's kind.
    pub fn kind(&self) -> ErrorKind {
        match self {
            DnsError::Netns(e) => e.kind(),
            DnsError::Bind { .. } => ErrorKind::Internal,
        }
    }
}

/// What the server needs to serve one container.
#[derive(Debug, Clone)]
pub struct ContainerDns {
    /// The container id (the asker of every query on its sockets).
    pub container_id: String,
    /// Its pinned netns file.
    pub netns: PathBuf,
    /// Where foreign names go (port 53 normally); empty = SERVFAIL for them.
    pub upstreams: Vec<SocketAddr>,
    /// Forward at all (dockerd forwards only for containers with external access, i.e. on
    /// at least one non-internal network).
    pub forward: bool,
    /// The address to listen on inside the container ([`LISTEN`]).
    pub listen: SocketAddr,
}

struct Served {
    udp: JoinHandle<()>,
    tcp: JoinHandle<()>,
}

/// The server: shared records plus the sockets of every attached container.
#[derive(Default)]
pub struct DnsServer {
    records: Arc<RwLock<DnsRecords>>,
    served: tokio::sync::Mutex<HashMap<String, Served>>,
}

struct Ctx {
    records: Arc<RwLock<DnsRecords>>,
    cfg: ContainerDns,
    in_flight: Semaphore,
}

impl DnsServer {
    /// An empty server.
    pub fn new() -> Self {
        Self::default()
    }

    /// Changes the records (every attached container sees the change at once).
    pub fn update<T>(&self, f: impl FnOnce(&mut DnsRecords) -> T) -> T {
        let mut r = self.records.write().unwrap_or_else(|p| p.into_inner());
        f(&mut r)
    }

    /// Reads the records.
    pub fn read<T>(&self, f: impl FnOnce(&DnsRecords) -> T) -> T {
        let r = self.records.read().unwrap_or_else(|p| p.into_inner());
        f(&r)
    }

    /// Opens the container's sockets inside its namespace and serves them; replaces a
    /// previous attachment of the same container.
    pub async fn attach(&self, cfg: ContainerDns) -> Result<(), DnsError> {
        self.detach(&cfg.container_id).await;
        let listen = cfg.listen;
        let (udp, tcp) = netns::run_in_async(&cfg.netns, move || {
            let udp = std::net::UdpSocket::bind(listen)?;
            let tcp = std::net::TcpListener::bind(listen)?;
            udp.set_nonblocking(true)?;
            tcp.set_nonblocking(true)?;
            Ok::<_, std::io::Error>((udp, tcp))
        })
        .await?
        .map_err(|source| DnsError::Bind {
            container: cfg.container_id.clone(),
            addr: listen,
            source,
        })?;
        let bind_err = |source| DnsError::Bind {
            container: cfg.container_id.clone(),
            addr: listen,
            source,
        };
        let udp = UdpSocket::from_std(udp).map_err(bind_err)?;
        let tcp = TcpListener::from_std(tcp).map_err(bind_err)?;
        let id = cfg.container_id.clone();
        let ctx = Arc::new(Ctx {
            records: self.records.clone(),
            cfg,
            in_flight: Semaphore::new(MAX_IN_FLIGHT),
        });
        let served = Served {
            udp: tokio::spawn(serve_udp(Arc::new(udp), ctx.clone())),
            tcp: tokio::spawn(serve_tcp(tcp, ctx)),
        };
        self.served.lock().await.insert(id, served);
        Ok(())
    }

    /// Stops serving a container and closes its sockets (when this returns).
    pub async fn detach(&self, container_id: &str) {
        let served = self.served.lock().await.remove(container_id);
        if let Some(s) = served {
            s.udp.abort();
            s.tcp.abort();
            let _ = s.udp.await;
            let _ = s.tcp.await;
        }
    }

    /// The containers being served.
    pub async fn attached(&self) -> Vec<String> {
        self.served.lock().await.keys().cloned().collect()
    }

    /// Stops everything.
    pub async fn shutdown(&self) {
        let ids = self.attached().await;
        for id in ids {
            self.detach(&id).await;
        }
    }
}

/// The response to one message from the container, or None to stay silent (a response
/// sent to us, garbage without even an id).
async fn handle(ctx: &Ctx, msg: &[u8], tcp: bool) -> Option<Vec<u8>> {
    let query = match message::parse_query(msg) {
        Ok(q) => q,
        Err(_) => return message::error_response(msg, RCODE_FORMERR),
    };
    let max_len = if tcp {
        65535
    } else {
        query.udp_size.min(65535)
    };
    let decision = {
        let records = ctx.records.read().unwrap_or_else(|p| p.into_inner());
        decide(&records, &ctx.cfg.container_id, &query, max_len)
    };
    match decision {
        Decision::Reply(r) => Some(r),
        Decision::Forward => {
            let servfail = || message::build_response(&query, RCODE_SERVFAIL, &[], max_len);
            if !ctx.cfg.forward || ctx.cfg.upstreams.is_empty() {
                return Some(servfail());
            }
            let Ok(_permit) = ctx.in_flight.try_acquire() else {
                return Some(message::build_response(
                    &query,
                    message::RCODE_REFUSED,
                    &[],
                    max_len,
                ));
            };
            Some(
                forward(&ctx.cfg.upstreams, msg, query.id, tcp)
                    .await
                    .unwrap_or_else(servfail),
            )
        }
    }
}

/// Asks the upstreams in turn; the first answer that is not SERVFAIL/REFUSED wins.
async fn forward(upstreams: &[SocketAddr], msg: &[u8], id: u16, tcp: bool) -> Option<Vec<u8>> {
    let mut last = None;
    for up in upstreams.iter().take(MAX_UPSTREAMS) {
        let got = tokio::time::timeout(UPSTREAM_TIMEOUT, async {
            if tcp {
                exchange_tcp(*up, msg).await
            } else {
                exchange_udp(*up, msg, id).await
            }
        })
        .await;
        let Ok(Ok(resp)) = got else { continue };
        match message::rcode_of(&resp) {
            Some(message::RCODE_SERVFAIL) | Some(message::RCODE_REFUSED) => last = Some(resp),
            _ => return Some(resp),
        }
    }
    last
}

async fn exchange_udp(up: SocketAddr, msg: &[u8], id: u16) -> std::io::Result<Vec<u8>> {
    let sock = crate::ports::connect_udp(up).await?;
    sock.send(msg).await?;
    let mut buf = vec![0u8; 65535];
    loop {
        let n = sock.recv(&mut buf).await?;
        // A connected socket only hears `up`; still ignore stray ids.
        if n >= 2 && buf[..2] == id.to_be_bytes() {
            buf.truncate(n);
            return Ok(buf);
        }
    }
}

async fn exchange_tcp(up: SocketAddr, msg: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut s = TcpStream::connect(up).await?;
    let len = u16::try_from(msg.len()).map_err(|_| std::io::ErrorKind::InvalidInput)?;
    s.write_all(&len.to_be_bytes()).await?;
    s.write_all(msg).await?;
    read_framed(&mut s).await
}

async fn read_framed(s: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let len = s.read_u16().await? as usize;
    let mut buf = vec![0u8; len];
    s.read_exact(&mut buf).await?;
    Ok(buf)
}

async fn serve_udp(sock: Arc<UdpSocket>, ctx: Arc<Ctx>) {
    let mut work = JoinSet::new();
    let mut buf = vec![0u8; 65535];
    loop {
        tokio::select! {
            got = sock.recv_from(&mut buf) => {
                let Ok((n, from)) = got else { continue };
                let msg = buf[..n].to_vec();
                let (sock, ctx) = (sock.clone(), ctx.clone());
                // Each query on its own task: a slow upstream delays only its own answer.
                work.spawn(async move {
                    if let Some(resp) = handle(&ctx, &msg, false).await {
                        let _ = sock.send_to(&resp, from).await;
                    }
                });
            }
            Some(_) = work.join_next(), if !work.is_empty() => {}
        }
    }
}

async fn serve_tcp(listener: TcpListener, ctx: Arc<Ctx>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            got = listener.accept() => {
                let Ok((stream, _)) = got else {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                conns.spawn(serve_tcp_conn(stream, ctx.clone()));
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

async fn serve_tcp_conn(mut stream: TcpStream, ctx: Arc<Ctx>) {
    while let Ok(Ok(msg)) = tokio::time::timeout(TCP_IDLE, read_framed(&mut stream)).await {
        let Some(resp) = handle(&ctx, &msg, true).await else {
            return;
        };
        let Ok(len) = u16::try_from(resp.len()) else {
            return;
        };
        if stream.write_all(&len.to_be_bytes()).await.is_err()
            || stream.write_all(&resp).await.is_err()
        {
            return;
        }
    }
}
