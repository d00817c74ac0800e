//! HTTP routes: the distribution API under `/v2/`, Docker's v1 search, the token endpoint and
//! the web UI.
//!
//! Repository names contain slashes, so `/v2/<name>/<rest>` cannot be routed by path patterns;
//! [`parse_route`] reads the route from the end of the path, as distribution's router does.

pub mod blobs;
pub mod error;
pub mod manifests;
pub mod search;
pub mod token;
pub mod uploads;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::Router;
use futures_util::TryStreamExt;
use http::{header, HeaderMap, HeaderValue, Method, StatusCode};

use crate::auth::{Action, Authenticator, Identity, Need};
use crate::config::{Limits, UiConfig};
use crate::index::Index;
use crate::name::RepoName;
use crate::store::{BodyStream, Store};

pub use error::ApiError;

/// Everything a request handler needs.
pub struct App {
    /// The storage layout.
    pub store: Store,
    /// Search index and pull counts.
    pub index: Arc<Index>,
    /// Authentication and access rules.
    pub auth: Authenticator,
    /// Size limits.
    pub limits: Limits,
    /// Web UI settings.
    pub ui: UiConfig,
    /// The externally visible base URL, if configured.
    pub public_url: Option<String>,
    /// Whether the listener is HTTPS (for derived URLs).
    pub tls: bool,
}

/// Shared state.
pub type AppState = Arc<App>;

/// A handler's result.
pub type ApiResult = Result<Response, ApiError>;

impl App {
    /// The base URL of this server as the client sees it.
    pub fn base_url(&self, headers: &HeaderMap) -> String {
        if let Some(u) = &self.public_url {
            return u.trim_end_matches('/').to_owned();
        }
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost");
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{host}")
    }

    /// Authorizes a request, with the token realm derived from the request.
    pub async fn authorize(
        &self,
        headers: &HeaderMap,
        need: Need<'_>,
    ) -> Result<Identity, ApiError> {
        let realm = format!("{}/token", self.base_url(headers));
        Ok(self.auth.authorize(headers, need, &realm).await?)
    }

    /// Whether `who` may pull `repo`; listings show only those.
    pub fn can_pull(&self, who: &Identity, repo: &RepoName) -> bool {
        self.auth.access().allows(who, repo.as_str(), Action::Pull)
    }
}

/// The router for `app`.
pub fn router(app: AppState) -> Router {
    let v2 = Router::new()
        .route("/v2/", get(base))
        .route("/v2", get(base))
        .route("/v2/_catalog", get(manifests::catalog))
        .route("/v2/{*rest}", any(dispatch))
        .layer(axum::middleware::map_response(api_version_header));
    let mut r = Router::new()
        .merge(v2)
        .route("/v1/_ping", get(search::ping))
        .route("/v1/search", get(search::search))
        .route("/token", get(token::get).post(token::post));
    if app.ui.enabled {
        r = r.merge(crate::ui::router());
    }
    r.layer(axum::middleware::from_fn(access_log))
        .with_state(app)
}

/// Logs each request at debug level (`RUST_LOG=registry=debug`): method, path, status and the
/// time to the response head.
async fn access_log(req: Request, next: axum::middleware::Next) -> Response {
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    let start = std::time::Instant::now();
    let resp = next.run(req).await;
    tracing::debug!(
        %method,
        path,
        status = resp.status().as_u16(),
        ms = start.elapsed().as_millis() as u64,
        "request"
    );
    resp
}

async fn api_version_header(mut resp: Response) -> Response {
    resp.headers_mut().insert(
        "docker-distribution-api-version",
        HeaderValue::from_static("registry/2.0"),
    );
    resp
}

async fn base(State(app): State<AppState>, headers: HeaderMap) -> ApiResult {
    app.authorize(&headers, Need::Base).await?;
    Ok(json_response(StatusCode::OK, &serde_json::json!({})))
}

/// What a `/v2/<name>/…` path addresses.
#[derive(Debug, PartialEq, Eq)]
pub enum Route<'a> {
    /// `tags/list`.
    Tags,
    /// `manifests/<reference>`.
    Manifest(&'a str),
    /// `blobs/<digest>`.
    Blob(&'a str),
    /// `blobs/uploads/`.
    UploadStart,
    /// `blobs/uploads/<id>`.
    Upload(&'a str),
    /// `referrers/<digest>`.
    Referrers(&'a str),
}

/// Splits `rest` (the path after `/v2/`) into the repository name and the route, reading from
/// the end. `None` when no route matches.
pub fn parse_route(rest: &str) -> Option<(&str, Route<'_>)> {
    let c: Vec<&str> = rest.split('/').collect();
    let n = c.len();
    let name_of = |k: usize| -> Option<&str> {
        if n <= k {
            return None;
        }
        let len: usize = c[..n - k].iter().map(|s| s.len() + 1).sum::<usize>() - 1;
        Some(&rest[..len])
    };
    let route = if n >= 3 && c[n - 2] == "tags" && c[n - 1] == "list" {
        (name_of(2)?, Route::Tags)
    } else if n >= 3 && c[n - 2] == "manifests" {
        (name_of(2)?, Route::Manifest(c[n - 1]))
    } else if n >= 3 && c[n - 2] == "referrers" {
        (name_of(2)?, Route::Referrers(c[n - 1]))
    } else if n >= 4 && c[n - 3] == "blobs" && c[n - 2] == "uploads" {
        let name = name_of(3)?;
        if c[n - 1].is_empty() {
            (name, Route::UploadStart)
        } else {
            (name, Route::Upload(c[n - 1]))
        }
    } else if n >= 3 && c[n - 2] == "blobs" && c[n - 1] == "uploads" {
        (name_of(2)?, Route::UploadStart)
    } else if n >= 3 && c[n - 2] == "blobs" {
        (name_of(2)?, Route::Blob(c[n - 1]))
    } else {
        return None;
    };
    (!route.0.is_empty()).then_some(route)
}

async fn dispatch(State(app): State<AppState>, req: Request) -> ApiResult {
    let path = req.uri().path().to_owned();
    let rest = path.strip_prefix("/v2/").unwrap_or("");
    let Some((name, route)) = parse_route(rest) else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("no route for {path}"),
        ));
    };
    let repo = RepoName::parse(name)?;
    let method = req.method().clone();
    match (route, method) {
        (Route::Tags, Method::GET) => manifests::tags(&app, &repo, req).await,
        (Route::Manifest(r), Method::GET | Method::HEAD) => {
            manifests::get(&app, &repo, r, req).await
        }
        (Route::Manifest(r), Method::PUT) => manifests::put(&app, &repo, r, req).await,
        (Route::Manifest(r), Method::DELETE) => manifests::delete(&app, &repo, r, req).await,
        (Route::Referrers(d), Method::GET) => manifests::referrers(&app, &repo, d, req).await,
        (Route::Blob(d), Method::GET | Method::HEAD) => blobs::get(&app, &repo, d, req).await,
        (Route::Blob(d), Method::DELETE) => blobs::delete(&app, &repo, d, req).await,
        (Route::UploadStart, Method::POST) => uploads::start(&app, &repo, req).await,
        (Route::Upload(id), Method::GET) => uploads::status(&app, &repo, id, req).await,
        (Route::Upload(id), Method::PATCH) => uploads::patch(&app, &repo, id, req).await,
        (Route::Upload(id), Method::PUT) => uploads::put(&app, &repo, id, req).await,
        (Route::Upload(id), Method::DELETE) => uploads::cancel(&app, &repo, id, req).await,
        (_, m) => Err(ApiError::unsupported(&format!("{m} {path}"))),
    }
}

/// A JSON response.
pub fn json_response<T: serde::Serialize>(status: StatusCode, v: &T) -> Response {
    let body = serde_json::to_vec(v).expect("responses serialize");
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// An empty response with headers.
pub fn empty(status: StatusCode, headers: &[(&str, String)]) -> Response {
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = status;
    for (k, v) in headers {
        if let (Ok(name), Ok(value)) = (header::HeaderName::try_from(*k), HeaderValue::from_str(v))
        {
            resp.headers_mut().insert(name, value);
        }
    }
    resp.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
    resp
}

/// The `Range` header of an upload holding `size` bytes (`0-<last byte>`; `0-0` when empty, as
/// distribution writes it).
pub fn range_header(size: u64) -> String {
    format!("0-{}", size.saturating_sub(1))
}

/// The request body as a byte stream for the store.
pub fn body_stream(req: Request) -> BodyStream {
    Box::pin(
        req.into_body()
            .into_data_stream()
            .map_err(std::io::Error::other),
    )
}

/// The declared `Content-Length`, if any.
pub fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

/// One query parameter (the first occurrence), percent-decoded.
pub fn query_param(uri: &http::Uri, key: &str) -> Option<String> {
    let q = uri.query()?;
    serde_urlencoded::from_str::<Vec<(String, String)>>(q)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_read_from_the_end() {
        assert_eq!(parse_route("a/b/tags/list"), Some(("a/b", Route::Tags)));
        assert_eq!(
            parse_route("a/manifests/latest"),
            Some(("a", Route::Manifest("latest")))
        );
        assert_eq!(
            parse_route("a/blobs/uploads/"),
            Some(("a", Route::UploadStart))
        );
        assert_eq!(
            parse_route("a/blobs/uploads"),
            Some(("a", Route::UploadStart))
        );
        assert_eq!(
            parse_route("a/blobs/uploads/x1"),
            Some(("a", Route::Upload("x1")))
        );
        assert_eq!(
            parse_route("x/blobs/blobs/sha256:1"),
            Some(("x/blobs", Route::Blob("sha256:1")))
        );
        assert_eq!(
            parse_route("x/referrers/sha256:1"),
            Some(("x", Route::Referrers("sha256:1")))
        );
        assert_eq!(parse_route("manifests/latest"), None);
        assert_eq!(parse_route("a/unknown/x"), None);
        assert_eq!(parse_route(""), None);
    }
}
