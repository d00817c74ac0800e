//! A container's filesystem as images see it: `POST /commit`, `GET /containers/{id}/changes`
//! (`docker diff`) and `GET /containers/{id}/export`.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use api_types::query::parse_bool;
use api_types::{ContainerConfig, IdResponse};
use engine::image::CommitOptions;
use engine::Engine;

use super::json_body;
use crate::error::{ApiError, ApiResult};

fn params(raw: Option<&str>) -> ApiResult<Vec<(String, String)>> {
    serde_urlencoded::from_str(raw.unwrap_or(""))
        .map_err(|e| ApiError::bad_request(format!("invalid query parameters: {e}")))
}

/// `POST /commit?container=&repo=&tag=&comment=&author=&changes=…&pause=`, with an optional
/// container config as the body; answers 201 `{"Id":"sha256:…"}`.
pub async fn commit(
    State(engine): State<Arc<Engine>>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> ApiResult<Response> {
    let p = params(q.as_deref())?;
    let get = |k: &str| {
        p.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let container = get("container");
    if container.is_empty() {
        return Err(ApiError::bad_request("container is required"));
    }
    // An empty body or `null` means: the container's own config.
    let config: Option<ContainerConfig> = match body.iter().all(u8::is_ascii_whitespace) {
        true => None,
        false => json_body::<Option<ContainerConfig>>(&body)?,
    };
    // dockerd pauses unless told otherwise (`pause=0`).
    let pause = p
        .iter()
        .find(|(k, _)| k == "pause")
        .map(|(_, v)| v.is_empty() || parse_bool(v))
        .unwrap_or(true);
    let opts = CommitOptions {
        container,
        repo: get("repo"),
        tag: get("tag"),
        comment: get("comment"),
        author: get("author"),
        changes: p
            .iter()
            .filter(|(k, _)| k == "changes")
            .map(|(_, v)| v.clone())
            .collect(),
        pause,
        config,
    };
    let id = engine.containers().commit(opts).await?;
    Ok((StatusCode::CREATED, Json(IdResponse { id })).into_response())
}

/// `GET /containers/{id}/changes`.
pub async fn changes(
    State(engine): State<Arc<Engine>>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    Ok(Json(engine.containers().changes(&id).await?).into_response())
}

/// `GET /containers/{id}/export`: the flattened filesystem as a tar.
pub async fn export(
    State(engine): State<Arc<Engine>>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let stream = engine.containers().export(&id).await?;
    Ok((
        [(header::CONTENT_TYPE, "application/x-tar")],
        Body::from_stream(stream),
    )
        .into_response())
}
