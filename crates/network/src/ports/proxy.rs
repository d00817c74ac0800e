//! The userland proxy: for what the kernel path cannot serve (connections to 127.0.0.1/::1
//! without `route_localnet`, a container reaching its own published port through the host
//! without forwarding, everything when rules are off), the daemon accepts on the held host
//! socket and relays to the endpoint (dockerd's docker-proxy, in-process).
//!
//! TCP: accept, connect to the target, `copy_bidirectional`. UDP: one connected socket per
//! client address, replies sent back from the host socket, flows forgotten after
//! [`UDP_IDLE`] (docker-proxy's conntrack timeout). A [`Proxy`] owns its tasks: stopping it
//! (awaited) closes the host socket and every relayed connection.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::{JoinHandle, JoinSet};

/// How long a UDP flow lives without traffic.
pub const UDP_IDLE: Duration = Duration::from_secs(90);

/// At most this many live UDP flows per published port (each is a socket).
const UDP_MAX_FLOWS: usize = 1024;

/// A running relay for one host socket.
#[derive(Debug)]
pub struct Proxy {
    task: JoinHandle<()>,
}

impl Proxy {
    /// Relays TCP connections accepted on `listener` to `target`. Call inside a runtime.
    pub fn tcp(listener: std::net::TcpListener, target: SocketAddr) -> std::io::Result<Self> {
        listener.set_nonblocking(true)?;
        let listener = TcpListener::from_std(listener)?;
        Ok(Proxy {
            task: tokio::spawn(serve_tcp(listener, target)),
        })
    }

    /// Relays UDP datagrams received on `socket` to `target`. Call inside a runtime.
    pub fn udp(socket: std::net::UdpSocket, target: SocketAddr) -> std::io::Result<Self> {
        socket.set_nonblocking(true)?;
        let socket = Arc::new(UdpSocket::from_std(socket)?);
        Ok(Proxy {
            task: tokio::spawn(serve_udp(socket, target)),
        })
    }

    /// Stops the relay and waits until its sockets are closed (the host port is free for a
    /// new bind when this returns).
    pub async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

async fn serve_tcp(listener: TcpListener, target: SocketAddr) {
    // Connections live in this set: when the accept loop is aborted the set is dropped and
    // every relayed connection with it.
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((client, peer)) => {
                    conns.spawn(relay_tcp(client, peer, target));
                }
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(error = %e, %target, "userland proxy accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

async fn relay_tcp(mut client: TcpStream, peer: SocketAddr, target: SocketAddr) {
    let mut upstream = match TcpStream::connect(target).await {
        Ok(s) => s,
        Err(e) => {
            tracing::debug!(error = %e, %peer, %target, "userland proxy: target refused");
            return;
        }
    };
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    if let Err(e) = tokio::io::copy_bidirectional(&mut client, &mut upstream).await {
        tracing::debug!(error = %e, %peer, %target, "userland proxy: connection ended");
    }
}

async fn serve_udp(socket: Arc<UdpSocket>, target: SocketAddr) {
    let mut flows: HashMap<SocketAddr, Arc<UdpSocket>> = HashMap::new();
    let mut replies = JoinSet::new();
    let mut buf = vec![0u8; 65535];
    loop {
        tokio::select! {
            got = socket.recv_from(&mut buf) => {
                let Ok((n, client)) = got else { continue };
                let upstream = match flows.get(&client) {
                    Some(u) => u.clone(),
                    None => {
                        if flows.len() >= UDP_MAX_FLOWS {
                            continue;
                        }
                        let Ok(u) = connect_udp(target).await else { continue };
                        let u = Arc::new(u);
                        flows.insert(client, u.clone());
                        replies.spawn(relay_udp_replies(u.clone(), socket.clone(), client));
                        u
                    }
                };
                let _ = upstream.send(&buf[..n]).await;
            }
            Some(done) = replies.join_next(), if !replies.is_empty() => {
                if let Ok(client) = done {
                    flows.remove(&client);
                }
            }
        }
    }
}

/// A UDP socket on an ephemeral port of `target`'s family, connected to it.
pub(crate) async fn connect_udp(target: SocketAddr) -> std::io::Result<UdpSocket> {
    let local: SocketAddr = if target.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let u = UdpSocket::bind(local).await?;
    u.connect(target).await?;
    Ok(u)
}

/// Sends the target's replies back to `client` until the flow is idle; returns the client
/// so the flow can be forgotten.
async fn relay_udp_replies(
    upstream: Arc<UdpSocket>,
    host: Arc<UdpSocket>,
    client: SocketAddr,
) -> SocketAddr {
    let mut buf = vec![0u8; 65535];
    while let Ok(Ok(n)) = tokio::time::timeout(UDP_IDLE, upstream.recv(&mut buf)).await {
        let _ = host.send_to(&buf[..n], client).await;
    }
    client
}
