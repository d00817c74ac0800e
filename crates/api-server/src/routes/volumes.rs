//! `/volumes…`: list, create, inspect, remove, prune, and update (cluster volumes only).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use api_types::query::de_bool;
use api_types::version::ApiVersion;
use api_types::{Filters, Volume, VolumeCreateOptions, VolumeListResponse, VolumePruneResponse};
use engine::Engine;

use super::{json_body, query};
use crate::error::{ApiError, ApiResult};
use crate::version::RequestedVersion;

#[derive(Deserialize, Default)]
struct FilterQuery {
    filters: Option<String>,
}

fn filters(q: Option<&str>) -> ApiResult<Filters> {
    let q: FilterQuery = query(q)?;
    Filters::parse(q.filters.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::bad_request(e.to_string()))
}

/// `GET /volumes?filters=`.
pub async fn list(
    State(engine): State<Arc<Engine>>,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<VolumeListResponse>> {
    let f = filters(q.as_deref())?;
    Ok(Json(engine.volumes().list(&f)?))
}

/// `POST /volumes/create`.
pub async fn create(State(engine): State<Arc<Engine>>, body: Bytes) -> ApiResult<Response> {
    let opts: VolumeCreateOptions = json_body(&body)?;
    let v = engine.volumes().create(opts).await?;
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

/// `GET /volumes/{name}`.
pub async fn inspect(
    State(engine): State<Arc<Engine>>,
    Path(name): Path<String>,
) -> ApiResult<Json<Volume>> {
    Ok(Json(engine.volumes().inspect(&name)?))
}

#[derive(Deserialize, Default)]
struct RemoveQuery {
    #[serde(default, deserialize_with = "de_bool")]
    force: bool,
}

/// `DELETE /volumes/{name}?force=`.
pub async fn remove(
    State(engine): State<Arc<Engine>>,
    Path(name): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<StatusCode> {
    let q: RemoveQuery = query(q.as_deref())?;
    engine.volumes().remove(&name, q.force).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /volumes/prune?filters=`: before API 1.42 every unused volume, named ones too.
pub async fn prune(
    State(engine): State<Arc<Engine>>,
    RawQuery(q): RawQuery,
    version: Option<axum::Extension<RequestedVersion>>,
) -> ApiResult<Json<VolumePruneResponse>> {
    let f = filters(q.as_deref())?;
    let before_1_42 = version
        .as_deref()
        .is_some_and(|v| v.0 < ApiVersion::parse("1.42").expect("constant"));
    Ok(Json(engine.volumes().prune(f, before_1_42).await?))
}

/// `PUT /volumes/{name}`: only cluster volumes can be updated, and there is no swarm.
pub async fn update() -> ApiError {
    ApiError {
        status: StatusCode::SERVICE_UNAVAILABLE,
        message: "volume update only valid for cluster volumes, but swarm is not enabled".into(),
    }
}
