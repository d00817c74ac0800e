//! The Engine API over HTTP: axum routes on top of the engine services, `/vX.Y` prefixes,
//! `/_ping` headers, error kind → HTTP status (the only place), streamed JSON and hijacked
//! attach (`101 UPGRADED`).
//!
//! Modules: `routes` (one file per API tag), `version` (prefix and headers), `error` (status
//! mapping), `hijack` (connection upgrade), `stream` (multiplexed framing).

pub mod body;
pub mod error;
pub mod hijack;
pub mod routes;
pub mod stream;
pub mod version;

use std::future::Future;
use std::sync::Arc;

use axum::extract::Request;
use axum::http::Method;
use axum::routing::{any, get, post};
use axum::{middleware, Router, ServiceExt};
use tower::Layer;

use engine::Engine;
use routes::{
    archive as ar, build as b, commit as cm, containers as c, exec as x, images as i, system as s,
    usage as u,
};

/// The router for every endpoint berthd serves.
pub fn router(engine: Arc<Engine>) -> Router {
    Router::new()
        .route("/_ping", get(s::ping).head(s::ping))
        .route("/version", get(s::version))
        .route("/info", get(s::info))
        .route("/events", get(s::events))
        .route("/containers/create", post(c::create))
        .route("/containers/json", get(c::list))
        .route("/containers/prune", post(c::prune))
        .route("/containers/{id}", axum::routing::delete(c::delete))
        .route("/containers/{id}/json", get(c::inspect))
        .route("/containers/{id}/start", post(c::start))
        .route("/containers/{id}/stop", post(c::stop))
        .route("/containers/{id}/restart", post(c::restart))
        .route("/containers/{id}/kill", post(c::kill))
        .route("/containers/{id}/wait", post(c::wait))
        .route("/containers/{id}/logs", get(c::logs))
        .route("/containers/{id}/attach", post(c::attach))
        .route("/containers/{id}/resize", post(c::resize))
        .route("/containers/{id}/rename", post(c::rename))
        .route("/containers/{id}/top", get(c::top))
        .route("/containers/{id}/exec", post(x::create))
        .route("/exec/{id}/start", post(x::start))
        .route("/exec/{id}/resize", post(x::resize))
        .route("/exec/{id}/json", get(x::inspect))
        .route("/containers/{id}/changes", get(cm::changes))
        .route("/containers/{id}/export", get(cm::export))
        .route("/commit", post(cm::commit))
        .route("/images/create", post(i::create))
        .route("/images/json", get(i::list))
        .route("/images/get", get(ar::save))
        .route("/images/load", post(ar::load))
        .route("/images/prune", post(u::images_prune))
        .route("/system/df", get(u::df))
        .route("/networks/prune", post(u::networks_prune))
        .route("/build", post(b::build))
        .route("/build/context", post(b::sync_context))
        .route("/build/prune", post(b::prune))
        .route("/images/search", get(routes::registry::search))
        .route("/auth", post(routes::registry::auth))
        .route("/images/{*rest}", any(i::by_name))
        .fallback(not_found)
        .with_state(engine)
}

async fn not_found(method: Method, req: Request) -> error::ApiError {
    tracing::debug!(%method, path = %req.uri().path(), "no such route");
    error::ApiError::not_found("page not found")
}

/// Serves the API on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::UnixListener,
    engine: Arc<Engine>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = middleware::from_fn(version::layer).layer(router(engine));
    axum::serve(listener, ServiceExt::<Request>::into_make_service(app))
        .with_graceful_shutdown(shutdown)
        .await
}
