//! Operating a running container: `GET /containers/{id}/stats`, `POST
//! /containers/{id}/pause`, `…/unpause` and `…/update`. Part of the container router.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::StreamExt;
use serde::Deserialize;

use crate::backend::ContainerBackend;
use api_types::query::parse_bool;
use api_types::UpdateConfig;
use engine::container::StatsOptions;

use super::{json_body, query};
use crate::error::ApiResult;

#[derive(Deserialize, Default)]
struct StatsQuery {
    stream: Option<String>,
    #[serde(rename = "one-shot")]
    one_shot: Option<String>,
}

/// `GET /containers/{id}/stats?stream=&one-shot=`: JSON samples, one per line; streaming
/// unless `stream=false` (the default is true, as dockerd's).
pub async fn stats<B: ContainerBackend>(
    State(svc): State<Arc<B>>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q: StatsQuery = query(q.as_deref())?;
    let opts = StatsOptions {
        stream: q.stream.as_deref().is_none_or(parse_bool),
        one_shot: q.one_shot.as_deref().is_some_and(parse_bool),
    };
    let samples = svc.stats(&id, opts).await?;
    let body = Body::from_stream(samples.map(|s| {
        let mut line = serde_json::to_vec(&s).unwrap_or_default();
        line.push(b'\n');
        Ok::<_, std::io::Error>(Bytes::from(line))
    }));
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// `POST /containers/{id}/pause`.
pub async fn pause<B: ContainerBackend>(
    State(svc): State<Arc<B>>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    svc.pause(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /containers/{id}/unpause`.
pub async fn unpause<B: ContainerBackend>(
    State(svc): State<Arc<B>>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    svc.unpause(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /containers/{id}/update`: `{"Warnings": […]}`.
pub async fn update<B: ContainerBackend>(
    State(svc): State<Arc<B>>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let cfg: UpdateConfig = json_body(&body)?;
    Ok(Json(svc.update(&id, cfg).await?).into_response())
}
