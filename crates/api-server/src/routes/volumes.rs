//! `/volumes…`: list, create, inspect, remove, prune, and update (cluster volumes only).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use api_types::query::de_bool;
use api_types::version::ApiVersion;
use api_types::{Filters, Volume, VolumeCreateOptions, VolumeListResponse, VolumePruneResponse};

use crate::backend::VolumeBackend;

use super::{json_body, query};
use crate::error::{ApiError, ApiResult};
use crate::version::RequestedVersion;

/// The volume router.
pub fn routes<B: VolumeBackend>(svc: Arc<B>) -> Router {
    Router::new()
        .route("/volumes", get(list::<B>))
        .route("/volumes/create", post(create::<B>))
        .route("/volumes/prune", post(prune::<B>))
        .route(
            "/volumes/{name}",
            get(inspect::<B>).delete(remove::<B>).put(update),
        )
        .with_state(svc)
}

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
pub async fn list<B: VolumeBackend>(
    State(svc): State<Arc<B>>,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<VolumeListResponse>> {
    let f = filters(q.as_deref())?;
    Ok(Json(svc.volume_list(&f)?))
}

/// `POST /volumes/create`.
pub async fn create<B: VolumeBackend>(
    State(svc): State<Arc<B>>,
    body: Bytes,
) -> ApiResult<Response> {
    let opts: VolumeCreateOptions = json_body(&body)?;
    let v = svc.volume_create(opts).await?;
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

/// `GET /volumes/{name}`.
pub async fn inspect<B: VolumeBackend>(
    State(svc): State<Arc<B>>,
    Path(name): Path<String>,
) -> ApiResult<Json<Volume>> {
    Ok(Json(svc.volume_inspect(&name)?))
}

#[derive(Deserialize, Default)]
struct RemoveQuery {
    #[serde(default, deserialize_with = "de_bool")]
    force: bool,
}

/// `DELETE /volumes/{name}?force=`.
pub async fn remove<B: VolumeBackend>(
    State(svc): State<Arc<B>>,
    Path(name): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<StatusCode> {
    let q: RemoveQuery = query(q.as_deref())?;
    svc.volume_remove(&name, q.force).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /volumes/prune?filters=`: before API 1.42 every unused volume, named ones too.
pub async fn prune<B: VolumeBackend>(
    State(svc): State<Arc<B>>,
    RawQuery(q): RawQuery,
    version: Option<axum::Extension<RequestedVersion>>,
) -> ApiResult<Json<VolumePruneResponse>> {
    let f = filters(q.as_deref())?;
    let before_1_42 = version
        .as_deref()
        .is_some_and(|v| v.0 < ApiVersion::parse("1.42").expect("constant"));
    Ok(Json(svc.volume_prune(f, before_1_42).await?))
}

/// `PUT /volumes/{name}`: only cluster volumes can be updated, and there is no swarm.
pub async fn update() -> ApiError {
    ApiError {
        status: StatusCode::SERVICE_UNAVAILABLE,
        message: "volume update only valid for cluster volumes, but swarm is not enabled".into(),
    }
}
