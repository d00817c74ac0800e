//! Disk usage and pruning across services: `GET /system/df`, `POST /images/prune`
//! (`/build/prune` is in `build`, `/networks/prune` in `networks`).

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::Json;
use serde::Deserialize;

use api_types::{DiskUsage, Filters, ImagePruneResponse};
use engine::container::ListOptions;
use engine::Engine;

use super::query;
use crate::error::{ApiError, ApiResult};

#[derive(Deserialize, Default)]
struct PruneQuery {
    filters: Option<String>,
}

fn prune_filters(q: Option<&str>) -> ApiResult<Filters> {
    let q: PruneQuery = query(q)?;
    Filters::parse(q.filters.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::bad_request(e.to_string()))
}

/// `POST /images/prune?filters=`.
pub async fn images_prune(
    State(engine): State<Arc<Engine>>,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<ImagePruneResponse>> {
    let f = prune_filters(q.as_deref())?;
    Ok(Json(engine.images().prune(f).await?))
}

/// `GET /system/df`.
pub async fn df(State(engine): State<Arc<Engine>>) -> ApiResult<Json<DiskUsage>> {
    let (layers_size, images) = engine.images().disk_usage().await?;
    let containers = engine
        .containers()
        .list(ListOptions {
            all: true,
            limit: None,
            size: true,
            filters: Filters::default(),
        })
        .await?;
    Ok(Json(DiskUsage {
        layers_size,
        images,
        containers,
        volumes: engine.volumes().disk_usage().await?,
        build_cache: engine.builds().disk_usage().await?,
    }))
}
