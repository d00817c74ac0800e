//! `/_ping`, `/version`, `/info`, `/events`.

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
    Router::new()
        .route("/_ping", get(ping).head(ping))
        .route("/version", get(version::<B>))
        .route("/info", get(info::<B>))
        .route("/events", get(events::<B>))
        .with_state(svc)
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

/// `GET /info`.
pub async fn info<B: SystemBackend>(
    State(svc): State<Arc<B>>,
) -> ApiResult<Json<api_types::SystemInfo>> {
    Ok(Json(svc.info().await?))
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
        let mut line = serde_json::to_vec(&ev).unwrap_or_default();
        line.push(b'\n');
        Ok::<_, std::io::Error>(line)
    }));
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}
