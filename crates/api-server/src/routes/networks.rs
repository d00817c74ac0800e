//! `/networks/...`: create, list, inspect, remove, connect, disconnect, prune, over a
//! [`NetworkBackend`]. Networks are the network service's; connect and disconnect change a
//! container, so the engine routes them through the container service.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use api_types::network::{NetworkConnectRequest, NetworkCreateRequest, NetworkDisconnectRequest};
use api_types::Filters;

use super::{json_body, query};
use crate::backend::NetworkBackend;
use crate::error::{ApiError, ApiResult};

/// The network router.
pub fn routes<B: NetworkBackend>(svc: Arc<B>) -> Router {
    Router::new()
        .route("/networks", get(list::<B>))
        .route("/networks/create", post(create::<B>))
        .route("/networks/prune", post(prune::<B>))
        .route("/networks/{id}", get(inspect::<B>).delete(delete::<B>))
        .route("/networks/{id}/connect", post(connect::<B>))
        .route("/networks/{id}/disconnect", post(disconnect::<B>))
        .with_state(svc)
}

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
pub async fn list<B: NetworkBackend>(
    State(svc): State<Arc<B>>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let f = filters(q.as_deref())?;
    Ok(Json(svc.network_list(&f)?).into_response())
}

#[derive(Deserialize, Default)]
struct InspectQuery {
    verbose: Option<String>,
    scope: Option<String>,
}

/// `GET /networks/{id}?verbose=&scope=` (`verbose` only adds swarm services, which berth has
/// none of).
pub async fn inspect<B: NetworkBackend>(
    State(svc): State<Arc<B>>,
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
    let _ = q.verbose;
    Ok(Json(svc.network_inspect(&id)?).into_response())
}

/// `POST /networks/create`.
pub async fn create<B: NetworkBackend>(
    State(svc): State<Arc<B>>,
    body: Bytes,
) -> ApiResult<Response> {
    let req: NetworkCreateRequest = json_body(&body)?;
    let resp = svc.network_create(req).await?;
    Ok((StatusCode::CREATED, Json(resp)).into_response())
}

/// `DELETE /networks/{id}`.
pub async fn delete<B: NetworkBackend>(
    State(svc): State<Arc<B>>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    svc.network_remove(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /networks/{id}/connect`.
pub async fn connect<B: NetworkBackend>(
    State(svc): State<Arc<B>>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<StatusCode> {
    let req: NetworkConnectRequest = json_body(&body)?;
    svc.network_connect(&id, &req.container, req.endpoint_config)
        .await?;
    Ok(StatusCode::OK)
}

/// `POST /networks/{id}/disconnect`.
pub async fn disconnect<B: NetworkBackend>(
    State(svc): State<Arc<B>>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<StatusCode> {
    let req: NetworkDisconnectRequest = json_body(&body)?;
    svc.network_disconnect(&id, &req.container).await?;
    Ok(StatusCode::OK)
}

/// `POST /networks/prune?filters=`.
pub async fn prune<B: NetworkBackend>(
    State(svc): State<Arc<B>>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let f = filters(q.as_deref())?;
    Ok(Json(svc.network_prune(&f).await?).into_response())
}
