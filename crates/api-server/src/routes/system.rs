//! `/_ping`, `/version`, `/info`, `/events`.
//!
//! `/info`'s `Plugins` lists the volume and network drivers only when the daemon serves the
//! `/volumes` and `/networks` endpoints: the router is asked ([`Served`]), so the list follows
//! whatever routers `api_server::router` merges.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures_util::StreamExt;
use serde::Deserialize;

use crate::backend::SystemBackend;
use api_types::Filters;

use crate::error::{ApiError, ApiResult};

/// The system router: `/_ping`, `/version`, `/info`, `/events`.
pub fn routes<B: SystemBackend>(svc: Arc<B>) -> Router {
    routes_with(svc, Served::default())
}

/// The system router, with the daemon's whole router to ask which endpoints it serves.
pub fn routes_with<B: SystemBackend>(svc: Arc<B>, served: Served) -> Router {
    Router::new()
        .route("/_ping", get(ping).head(ping))
        .route("/version", get(version::<B>))
        .route("/info", get(info::<B>))
        .route("/events", get(events::<B>))
        .layer(axum::Extension(served))
        .with_state(svc)
}

/// The daemon's whole router (set once it is built), to learn whether a path is served.
#[derive(Clone, Default)]
pub struct Served(Arc<std::sync::OnceLock<Router>>);

impl Served {
    /// Records the daemon's router.
    pub fn set(&self, router: Router) {
        let _ = self.0.set(router);
    }

    /// Whether the daemon serves `path` (any method); true when no router was set.
    pub async fn serves(&self, path: &str) -> bool {
        use tower::ServiceExt;
        let Some(router) = self.0.get() else {
            return true;
        };
        // An unrouted method on a routed path is a 405; an unrouted path is the fallback's 404.
        let req = axum::http::Request::builder()
            .method(axum::http::Method::OPTIONS)
            .uri(path)
            .body(Body::empty());
        let Ok(req) = req else {
            return false;
        };
        match router.clone().oneshot(req).await {
            Ok(resp) => resp.status() != StatusCode::NOT_FOUND,
            Err(_) => false,
        }
    }
}

/// `GET|HEAD /_ping`: `OK`, uncached, with the builder version the legacy builder announces.
pub async fn ping() -> Response {
    let mut resp = (StatusCode::OK, "OK").into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store, must-revalidate"),
    );
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert("Builder-Version", HeaderValue::from_static("1"));
    h.insert("Swarm", HeaderValue::from_static("inactive"));
    resp
}

/// `GET /version`.
pub async fn version<B: SystemBackend>(
    State(svc): State<Arc<B>>,
) -> Json<api_types::SystemVersion> {
    Json(svc.version())
}

/// `GET /info`: `Plugins` keeps the volume and network drivers only when their endpoints
/// are served.
pub async fn info<B: SystemBackend>(
    State(svc): State<Arc<B>>,
    axum::Extension(served): axum::Extension<Served>,
) -> ApiResult<Json<api_types::SystemInfo>> {
    let mut info = svc.info().await?;
    for (kind, path) in [("Volume", "/volumes"), ("Network", "/networks")] {
        if !served.serves(path).await {
            if let Some(p) = info.plugins.get_mut(kind) {
                *p = serde_json::json!([]);
            }
        }
    }
    Ok(Json(info))
}

#[derive(Deserialize, Default)]
struct EventsQuery {
    since: Option<String>,
    until: Option<String>,
    filters: Option<String>,
}

/// `GET /events`: a never-ending stream of JSON event objects (until `until`, if given).
pub async fn events<B: SystemBackend>(
    State(svc): State<Arc<B>>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q: EventsQuery = super::query(q.as_deref())?;
    let filters = Filters::parse(q.filters.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let stream = svc.events(q.since.as_deref(), q.until.as_deref(), filters)?;
    let body = Body::from_stream(stream.map(|ev| {
        let mut line = serde_json::to_vec(&*ev).unwrap_or_default();
        line.push(b'\n');
        Ok::<_, std::io::Error>(line)
    }));
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}
