//! `/networks/...`: create, list, inspect, remove, connect, disconnect, prune. Networks are
//! the network service's; connect and disconnect change a container, so they go through the
//! container service, which asks the network service.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use api_types::network::{NetworkConnectRequest, NetworkCreateRequest, NetworkDisconnectRequest};
use api_types::Filters;
use engine::Engine;

use super::{json_body, query};
use crate::error::{ApiError, ApiResult};

#[derive(Deserialize, Default)]
struct FiltersQuery {
    filters: Option<String>,
}

fn filters(q: Option<&str>) -> ApiResult<Filters> {
    let q: FiltersQuery = query(q)?;
    Filters::parse(q.filters.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::bad_request(e.to_string()))
}

/// `GET /networks?filters=`.
pub async fn list(State(engine): State<Arc<Engine>>, RawQuery(q): RawQuery) -> ApiResult<Response> {
    let f = filters(q.as_deref())?;
    Ok(Json(engine.networks().list(&f)?).into_response())
}

#[derive(Deserialize, Default)]
struct InspectQuery {
    verbose: Option<String>,
    scope: Option<String>,
}

/// `GET /networks/{id}?verbose=&scope=`.
pub async fn inspect(
    State(engine): State<Arc<Engine>>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q: InspectQuery = query(q.as_deref())?;
    if let Some(scope) = q
        .scope
        .as_deref()
        .filter(|s| !s.is_empty() && *s != "local")
    {
        return Err(ApiError::not_found(format!(
            "network {id} not found (berth only has local networks, not scope {scope})"
        )));
    }
    let _ = q.verbose; // verbose only adds swarm services, which berth has none of
    Ok(Json(engine.networks().inspect(&id)?).into_response())
}

/// `POST /networks/create`.
pub async fn create(State(engine): State<Arc<Engine>>, body: Bytes) -> ApiResult<Response> {
    let req: NetworkCreateRequest = json_body(&body)?;
    let resp = engine.networks().create(req).await?;
    Ok((StatusCode::CREATED, Json(resp)).into_response())
}

/// `DELETE /networks/{id}`.
pub async fn delete(
    State(engine): State<Arc<Engine>>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    engine.networks().remove(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /networks/{id}/connect`.
pub async fn connect(
    State(engine): State<Arc<Engine>>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<StatusCode> {
    let req: NetworkConnectRequest = json_body(&body)?;
    engine
        .containers()
        .connect_network(&req.container, &id, req.endpoint_config)
        .await?;
    Ok(StatusCode::OK)
}

/// `POST /networks/{id}/disconnect`.
pub async fn disconnect(
    State(engine): State<Arc<Engine>>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<StatusCode> {
    let req: NetworkDisconnectRequest = json_body(&body)?;
    engine
        .containers()
        .disconnect_network(&req.container, &id)
        .await?;
    Ok(StatusCode::OK)
}

/// `POST /networks/prune?filters=`.
pub async fn prune(
    State(engine): State<Arc<Engine>>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let f = filters(q.as_deref())?;
    Ok(Json(engine.networks().prune(&f).await?).into_response())
}
