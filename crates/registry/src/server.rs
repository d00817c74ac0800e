//! Opening a registry from its config and serving it on a listener until a shutdown future
//! resolves (so tests bind `127.0.0.1:0`), over plain HTTP or HTTPS (rustls with the `ring`
//! provider).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::{Listener, ListenerExt};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use crate::api::{self, App, AppState};
use crate::auth::{AuthError, Authenticator};
use crate::config::{Config, TlsConfig};
use crate::index::Index;
use crate::storage::fs::{FsDriver, RootLock};
use crate::storage::DriverError;
use crate::store::{Store, StoreError};
use crate::ErrorKind;

/// How long a client may take over the TLS handshake before it is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a registry could not start.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The storage root could not be opened.
    #[error("cannot open storage")]
    Storage(#[source] DriverError),
    /// The index could not be built.
    #[error("cannot index the store")]
    Index(#[source] StoreError),
    /// Auth files could not be loaded.
    #[error("cannot set up authentication")]
    Auth(#[source] AuthError),
    /// The TLS certificate or key is unusable.
    #[error("cannot set up TLS from {path}: {reason}")]
    Tls {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}

impl OpenError {
    /// The error's kind.
    pub fn kind(&self) -> ErrorKind {
        match self {
            OpenError::Storage(e) => e.kind(),
            OpenError::Index(e) => e.kind(),
            OpenError::Auth(e) => e.kind(),
            OpenError::Tls { .. } => ErrorKind::InvalidArgument,
        }
    }
}

/// A registry ready to serve.
pub struct Registry {
    app: AppState,
    tls: Option<TlsAcceptor>,
    // Held until `serve` returns (not in `App`, whose clones may outlive it briefly).
    _lock: RootLock,
}

fn tls_acceptor(cfg: &TlsConfig) -> Result<TlsAcceptor, OpenError> {
    let err = |path: &std::path::Path, reason: String| OpenError::Tls {
        path: path.display().to_string(),
        reason,
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cfg.cert)
        .map_err(|e| err(&cfg.cert, e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| err(&cfg.cert, e.to_string()))?;
    if certs.is_empty() {
        return Err(err(&cfg.cert, "no certificate in file".into()));
    }
    let key = PrivateKeyDer::from_pem_file(&cfg.key).map_err(|e| err(&cfg.key, e.to_string()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut sc = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| err(&cfg.cert, e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| err(&cfg.key, e.to_string()))?;
    sc.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(sc)))
}

impl Registry {
    /// Opens the store, builds the index and loads auth and TLS material.
    pub async fn open(config: &Config) -> Result<Registry, OpenError> {
        let root = &config.storage.filesystem.root;
        let driver = FsDriver::new(root).map_err(OpenError::Storage)?;
        let lock = RootLock::acquire(root).map_err(OpenError::Storage)?;
        let store = Store::new(Arc::new(driver));
        let index = Index::build(store.clone())
            .await
            .map_err(OpenError::Index)?;
        let auth = Authenticator::from_config(&config.auth).map_err(OpenError::Auth)?;
        let tls = config.tls.as_ref().map(tls_acceptor).transpose()?;
        let app = Arc::new(App {
            store,
            index,
            auth,
            limits: config.limits.clone(),
            ui: config.ui.clone(),
            public_url: config.server.public_url.clone(),
            tls: tls.is_some(),
        });
        Ok(Registry {
            app,
            tls,
            _lock: lock,
        })
    }

    /// The shared state (for tests and embedding).
    pub fn app(&self) -> &AppState {
        &self.app
    }

    /// Serves on `listener` until `shutdown` resolves, then lets in-flight requests finish and
    /// saves pull counts.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> io::Result<()> {
        let router = api::router(Arc::clone(&self.app));
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        // A serve task that is aborted drops `stop_tx` unsent: no last flush then.
        let flusher =
            tokio::spawn(Arc::clone(&self.app.index).flush_loop(async { stop_rx.await.is_ok() }));
        let result = match self.tls {
            None => {
                let listener = listener.tap_io(|tcp| {
                    let _ = tcp.set_nodelay(true);
                });
                axum::serve(listener, router)
                    .with_graceful_shutdown(shutdown)
                    .await
            }
            Some(acceptor) => {
                let listener = TlsListener::new(listener, acceptor)?;
                axum::serve(listener, router)
                    .with_graceful_shutdown(shutdown)
                    .await
            }
        };
        let _ = stop_tx.send(());
        let _ = flusher.await;
        result
    }
}

/// A registry serving in a background task (for embedding, and for other crates' tests:
/// `spawn(&Config::anonymous("127.0.0.1:0".parse()?, dir))`). Dropping it stops the task.
pub struct Running {
    /// The address it listens on.
    pub addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<io::Result<()>>>,
}

impl Running {
    /// Stops gracefully (in-flight requests finish, pull counts are saved) and waits.
    pub async fn stop(mut self) -> io::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.task.take() {
            Some(t) => t.await.map_err(io::Error::other)?,
            None => Ok(()),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

impl Registry {
    /// Serves on `listener` in a background task.
    pub fn spawn(self, listener: TcpListener) -> io::Result<Running> {
        let addr = listener.local_addr()?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(self.serve(listener, async {
            let _ = rx.await;
        }));
        Ok(Running {
            addr,
            shutdown: Some(tx),
            task: Some(task),
        })
    }
}

/// Opens a registry from `config`, binds `config.server.addr` and serves in the background.
pub async fn spawn(config: &Config) -> Result<Running, ServeError> {
    let reg = Registry::open(config).await.map_err(ServeError::Open)?;
    let listener = TcpListener::bind(config.server.addr)
        .await
        .map_err(ServeError::Io)?;
    reg.spawn(listener).map_err(ServeError::Io)
}

/// Opens a registry from `config` and serves it on `listener` until `shutdown`.
pub async fn serve(
    config: &Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let reg = Registry::open(config).await.map_err(ServeError::Open)?;
    reg.serve(listener, shutdown).await.map_err(ServeError::Io)
}

/// A failure of [`serve`].
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Start-up failed.
    #[error("cannot start the registry")]
    Open(#[source] OpenError),
    /// The listener failed.
    #[error("serving failed")]
    Io(#[source] io::Error),
}

impl ServeError {
    /// The error's kind.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ServeError::Open(e) => e.kind(),
            ServeError::Io(_) => ErrorKind::Unavailable,
        }
    }
}

/// A listener yielding TLS streams. Handshakes run in their own tasks so one slow client cannot
/// hold up the others; finished ones are handed to the server through a channel.
struct TlsListener {
    rx: tokio::sync::mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
    acceptor_task: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    fn new(listener: TcpListener, acceptor: TlsAcceptor) -> io::Result<TlsListener> {
        let local = listener.local_addr()?;
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        let acceptor_task = tokio::spawn(async move {
            loop {
                let (tcp, peer) = match listener.accept().await {
                    Ok(x) => x,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = tcp.set_nodelay(true);
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(tls)) => {
                            let _ = tx.send((tls, peer)).await;
                        }
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(TlsListener {
            rx,
            local,
            acceptor_task,
        })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.acceptor_task.abort();
    }
}

impl Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.rx.recv().await {
            Some(x) => x,
            // The acceptor task only ends when the listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local)
    }
}
