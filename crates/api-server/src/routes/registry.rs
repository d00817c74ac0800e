//! The registry endpoints: pull (`POST /images/create?fromImage=`), push
//! (`POST /images/{name}/push`), search (`GET /images/search`) and login (`POST /auth`).
//! Pull and push stream docker's JSON progress; a failure before the first message is a
//! plain HTTP error (as dockerd answers `pull access denied` with a 404), a later one is the
//! stream's last message.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::stream;

use api_types::{Filters, JsonMessage};
use distribution::{AuthConfig, Credentials};
use engine::image::progress::{Event, Receiver};
use engine::image::{PullOptions, PushOptions, SearchOptions};

use crate::backend::ImageBackend;

use super::json_body;
use crate::error::{ApiError, ApiResult};

/// The credentials of `X-Registry-Auth`, if any.
pub fn registry_auth(headers: &HeaderMap) -> ApiResult<Option<AuthConfig>> {
    match headers.get("x-registry-auth").and_then(|v| v.to_str().ok()) {
        None => Ok(None),
        Some(v) => AuthConfig::from_header(v).map_err(|e| ApiError::bad_request(e.to_string())),
    }
}

/// Turns a progress receiver into a streamed JSON response, or an HTTP error when the
/// operation failed before saying anything.
async fn progress_response(mut rx: Receiver) -> ApiResult<Response> {
    let first = match rx.recv().await {
        Some(Event::Failed(e)) => return Err(e.into()),
        Some(Event::Message(m)) => Some(m),
        None => None,
    };
    let head = stream::iter(first.map(|m| Ok::<_, std::io::Error>(Bytes::from(m.to_line()))));
    let rest = stream::unfold(Some(rx), |rx| async move {
        let mut rx = rx?;
        match rx.recv().await {
            Some(Event::Message(m)) => Some((Ok(Bytes::from(m.to_line())), Some(rx))),
            Some(Event::Failed(e)) => {
                tracing::info!(error = %e, "operation failed mid-stream");
                Some((
                    Ok(Bytes::from(JsonMessage::error(e.to_string()).to_line())),
                    None,
                ))
            }
            None => None,
        }
    });
    use futures_util::StreamExt;
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(head.chain(rest)),
    )
        .into_response())
}

/// `POST /images/create?fromImage=&tag=&platform=`.
pub async fn pull<B: ImageBackend>(
    engine: &B,
    image: &str,
    tag: Option<&str>,
    platform: Option<&str>,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    let opts = PullOptions {
        image: image.to_string(),
        tag: tag.map(str::to_string),
        platform: platform.map(str::to_string),
        auth: registry_auth(headers)?,
    };
    progress_response(engine.pull(opts)).await
}

/// `POST /images/{name}/push?tag=`.
pub async fn push<B: ImageBackend>(
    engine: &B,
    name: &str,
    tag: Option<&str>,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    let opts = PushOptions {
        name: name.to_string(),
        tag: tag.map(str::to_string),
        auth: registry_auth(headers)?,
    };
    progress_response(engine.push(opts)).await
}

#[derive(serde::Deserialize, Default)]
struct SearchQuery {
    term: Option<String>,
    limit: Option<String>,
    filters: Option<String>,
}

/// `GET /images/search?term=&limit=&filters=`.
pub async fn search<B: ImageBackend>(
    State(engine): State<Arc<B>>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let q: SearchQuery = super::query(q.as_deref())?;
    let limit = match q.limit.as_deref().filter(|l| !l.is_empty()) {
        None => None,
        Some(l) => Some(
            l.parse::<u32>()
                .map_err(|_| ApiError::bad_request(format!("invalid limit {l:?}")))?,
        ),
    };
    let filters = Filters::parse(q.filters.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let rows = engine
        .search(SearchOptions {
            term: q.term.unwrap_or_default(),
            limit,
            filters,
            auth: registry_auth(&headers)?,
        })
        .await?;
    Ok(Json(rows).into_response())
}

/// `POST /auth`.
pub async fn auth<B: ImageBackend>(
    State(engine): State<Arc<B>>,
    body: Bytes,
) -> ApiResult<Response> {
    let cfg: AuthConfig = json_body(&body)?;
    Ok(Json(engine.login(cfg).await?).into_response())
}
