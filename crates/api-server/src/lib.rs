//! The Engine API over HTTP: axum routes on top of the engine services, `/vX.Y` prefixes,
//! `/_ping` headers, error kind → HTTP status (the only place), streamed JSON and hijacked
//! attach (`101 UPGRADED`).
//!
//! Routers depend on narrow backend traits (`backend`: containers with their archives, exec,
//! system, images, volumes, networks), not on the engine: `berthd` passes the engine, unit
//! tests pass fakes.
//!
//! Modules: `routes` (one file per API tag), `backend` (what each router needs), `version`
//! (prefix and headers), `error` (status mapping, JSON error bodies), `hijack` (connection
//! upgrade), `stream` (multiplexed framing), `body` (request bodies read as streams, drained
//! after an error), `memory` (the heap trimmed once the last heavy request is done).

pub mod backend;
pub mod body;
pub mod error;
pub mod hijack;
pub mod memory;
pub mod routes;
pub mod stream;
pub mod version;

use std::future::Future;
use std::sync::Arc;

use axum::extract::Request;
use axum::http::Method;
use axum::routing::{get, post};
use axum::{middleware, Router, ServiceExt};
use tower::Layer;

use engine::Engine;
use routes::{commit as cm, usage as u};

/// The router for every endpoint berthd serves.
pub fn router(engine: Arc<Engine>) -> Router {
    // Commit, diff, export, disk usage and prune span services: they take the engine.
    let spanning = Router::new()
        .route("/containers/{id}/changes", get(cm::changes))
        .route("/containers/{id}/export", get(cm::export))
        .route("/commit", post(cm::commit))
        .route("/images/prune", post(u::images_prune))
        .route("/system/df", get(u::df))
        .with_state(engine.clone());
    let served = routes::system::Served::default();
    let router = Router::new()
        .merge(routes::system::routes_with(engine.clone(), served.clone()))
        .merge(routes::containers::routes(engine.clone()))
        .merge(routes::exec::routes(engine.clone()))
        .merge(routes::images::routes(engine.clone()))
        .merge(routes::build::routes(engine.clone()))
        .merge(routes::volumes::routes(engine.clone()))
        .merge(routes::networks::routes(engine))
        .merge(spanning)
        .fallback(not_found);
    served.set(router.clone());
    router
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
