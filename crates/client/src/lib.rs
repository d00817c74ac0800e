//! A typed Docker Engine API client over a unix socket (or plain TCP), used by `berth` and
//! by the end-to-end tests.
//!
//! Vocabulary: a [`Client`] talks to one daemon [`Host`]. Its first request *negotiates* the
//! API version (`HEAD /_ping`, then `min(ours, the daemon's Api-Version)`), and every later
//! path is prefixed with `/v<version>`. Each method maps to one endpoint and returns the
//! `api-types` body, a [`BodyReader`] for raw streams (logs), a [`JsonStream`] for
//! line-delimited JSON (events, progress), or an [`AttachConn`] for hijacked connections.
//! Errors carry the HTTP status and the daemon's `message`; their `Display` is docker's
//! wording.
//!
//! Modules: `container` (create … prune), `attach` (hijacked streams, resize), `exec`
//! (create, start, resize, inspect), `build` (`POST /build`), `image`
//! (import, list, inspect, tag, delete, history, pull), `image_ops` (commit, changes,
//! export, save, load, prunes, disk usage), `volume` (volumes, and the archive endpoints of
//! `docker cp`), `network` (networks), `system` (ping, version, info, events), `stdcopy`
//! (demultiplexing 8-byte framed streams), `body` (request and response
//! bodies), `request` (URIs, error mapping), `transport` (connections), `host` (addresses).

pub mod attach;
pub mod body;
pub mod build;
pub mod container;
pub mod error;
pub mod exec;
pub mod host;
pub mod image;
pub mod image_ops;
pub mod network;
pub mod operate;
pub mod registry;
pub mod request;
pub mod stdcopy;
pub mod system;
pub mod transport;
pub mod volume;

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Method, Request, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::OnceCell;

pub use attach::{AttachConn, AttachOptions, AttachReader, AttachWriter};
pub use body::{BodyReader, JsonStream, Upload};
pub use build::ImageBuildOptions;
pub use container::{
    ListContainersOptions, LogsOptions, RemoveOptions, StopOptions, WaitCondition, WaitHandle,
};
pub use error::{Error, ErrorKind, Result};
pub use host::{Host, DEFAULT_HOST};
pub use image::{ImportOptions, ListImagesOptions, PullOptions};
pub use image_ops::CommitOptions;
pub use registry::{encode_auth, SearchOptions};
pub use request::Query;
pub use stdcopy::{Demux, Frame, StdStream};
pub use system::{EventActor, EventMessage, EventsOptions, PingInfo};

use transport::ReqBody;

/// The newest API version this client speaks.
pub const CLIENT_API_VERSION: &str = api_types::version::API_VERSION;
/// The version assumed when the daemon does not announce one (moby's fallback).
const FALLBACK_API_VERSION: &str = "1.24";

/// A handle on one daemon. Cheap to clone; clones share the negotiated version.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    host: Host,
    /// Set when the user pinned a version (`DOCKER_API_VERSION`): no negotiation then.
    pinned: Option<String>,
    negotiated: OnceCell<String>,
    ping: OnceCell<PingInfo>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("host", &self.inner.host)
            .finish()
    }
}

impl Client {
    /// A client for `host`; the API version is negotiated on first use.
    pub fn new(host: Host) -> Client {
        Client {
            inner: Arc::new(Inner {
                host,
                pinned: None,
                negotiated: OnceCell::new(),
                ping: OnceCell::new(),
            }),
        }
    }

    /// A client for `unix://<path>`.
    pub fn unix(path: impl Into<std::path::PathBuf>) -> Client {
        Client::new(Host::Unix(path.into()))
    }

    /// A client for the host named by `flag`, `BERTH_HOST`, `DOCKER_HOST` or the default,
    /// pinned to `BERTH_API_VERSION`/`DOCKER_API_VERSION` when set.
    pub fn from_env(flag: Option<&str>) -> Result<Client> {
        let host = Host::resolve(flag)?;
        let pinned = ["BERTH_API_VERSION", "DOCKER_API_VERSION"]
            .iter()
            .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()));
        let client = Client::new(host);
        Ok(match pinned {
            Some(v) => client.with_version(v),
            None => client,
        })
    }

    /// Uses `version` for every request instead of negotiating.
    pub fn with_version(self, version: impl Into<String>) -> Client {
        let inner = Inner {
            host: self.inner.host.clone(),
            pinned: Some(version.into()),
            negotiated: OnceCell::new(),
            ping: OnceCell::new(),
        };
        Client {
            inner: Arc::new(inner),
        }
    }

    /// The daemon address.
    pub fn host(&self) -> &Host {
        &self.inner.host
    }

    /// The API version requests use, negotiating it first if needed.
    pub async fn api_version(&self) -> Result<String> {
        if let Some(v) = &self.inner.pinned {
            return Ok(v.clone());
        }
        self.inner
            .negotiated
            .get_or_try_init(|| async {
                let ping = self.ping_cached().await?;
                Ok(negotiate(&ping.api_version))
            })
            .await
            .cloned()
    }

    /// The result of the first `/_ping`, pinging now if nothing has yet.
    pub async fn ping_cached(&self) -> Result<PingInfo> {
        self.inner
            .ping
            .get_or_try_init(|| self.ping())
            .await
            .cloned()
    }

    /// `GET <path>` (versioned), the body as sent: for endpoints without a typed method
    /// (`/networks/{id}`, `/volumes/{name}`, `/plugins/{name}/json`).
    pub async fn get_raw(&self, path: &str) -> Result<bytes::Bytes> {
        let resp = self.get(path, Query::new()).await?;
        body::collect(resp.into_body()).await
    }

    /// Sends a versioned request and checks its status.
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        query: Query,
        body: ReqBody,
        headers: &[(&str, &str)],
    ) -> Result<Response<Incoming>> {
        let version = self.api_version().await?;
        let uri = request::uri(Some(&version), path, &query);
        let req = build(method, &uri, body, headers)?;
        let resp = transport::send(&self.inner.host, req).await?;
        request::check(resp, &uri).await
    }

    pub(crate) async fn get(&self, path: &str, query: Query) -> Result<Response<Incoming>> {
        self.send(Method::GET, path, query, body::empty(), &[])
            .await
    }

    pub(crate) async fn post(&self, path: &str, query: Query) -> Result<Response<Incoming>> {
        self.send(Method::POST, path, query, body::empty(), &[])
            .await
    }

    pub(crate) async fn post_json<B: Serialize>(
        &self,
        path: &str,
        query: Query,
        what: &'static str,
        value: &B,
    ) -> Result<Response<Incoming>> {
        let bytes = serde_json::to_vec(value).map_err(|source| Error::Encode { what, source })?;
        let ct = [("Content-Type", "application/json")];
        self.send(Method::POST, path, query, body::full(bytes), &ct)
            .await
    }

    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        path: &str,
        query: Query,
        what: &'static str,
    ) -> Result<T> {
        let resp = self.get(path, query).await?;
        body::json(resp.into_body(), what).await
    }

    /// Sends a request and drains the body, for endpoints that answer `204`.
    pub(crate) async fn send_discard(
        &self,
        method: Method,
        path: &str,
        query: Query,
    ) -> Result<()> {
        let resp = self.send(method, path, query, body::empty(), &[]).await?;
        body::collect(resp.into_body()).await?;
        Ok(())
    }
}

/// Builds a request with the headers every call carries.
pub(crate) fn build(
    method: Method,
    uri: &str,
    body: ReqBody,
    headers: &[(&str, &str)],
) -> Result<Request<ReqBody>> {
    let mut b = Request::builder()
        .method(method)
        .uri(uri)
        // A unix socket has no host name; docker's client sends this placeholder.
        .header("Host", "api.moby.localhost")
        .header(
            "User-Agent",
            concat!("berth-client/", env!("CARGO_PKG_VERSION")),
        );
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(body).map_err(|source| Error::Request {
        uri: uri.to_string(),
        source,
    })
}

/// `min(ours, theirs)`, or the fallback when the daemon announces nothing usable.
pub fn negotiate(server: &str) -> String {
    use api_types::version::ApiVersion;
    let ours = ApiVersion::current();
    match ApiVersion::parse(server) {
        Some(theirs) if theirs < ours => theirs.to_string(),
        Some(_) => ours.to_string(),
        None => FALLBACK_API_VERSION.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_takes_the_lower_version() {
        assert_eq!(negotiate("1.50"), "1.47");
        assert_eq!(negotiate("1.44"), "1.44");
        assert_eq!(negotiate(""), "1.24");
        assert_eq!(negotiate("garbage"), "1.24");
    }
}
