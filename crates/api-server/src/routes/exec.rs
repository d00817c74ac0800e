//! Exec: `POST /containers/{id}/exec`, `POST /exec/{id}/start` (hijacked like attach unless
//! detached), `POST /exec/{id}/resize`, `GET /exec/{id}/json`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use crate::backend::ExecBackend;
use api_types::version::ApiVersion;
use api_types::{ExecConfig, ExecStartConfig, IdResponse};
use engine::container::{ExecStart, ExecStartOptions};

use super::containers::ResizeQuery;
use super::{json_body, query};
use crate::error::{ApiError, ApiResult};
use crate::stream;
use crate::version::RequestedVersion;

/// The exec router.
pub fn routes<B: ExecBackend>(svc: Arc<B>) -> Router {
    Router::new()
        .route("/containers/{id}/exec", post(create::<B>))
        .route("/exec/{id}/start", post(start::<B>))
        .route("/exec/{id}/resize", post(resize::<B>))
        .route("/exec/{id}/json", get(inspect::<B>))
        .with_state(svc)
}

/// Console sizes are ignored before API 1.42, as dockerd ignores them.
fn console_sizes_supported(v: Option<&RequestedVersion>) -> bool {
    v.is_none_or(|v| v.0 >= ApiVersion::parse("1.42").expect("constant"))
}

/// `POST /containers/{id}/exec`.
pub async fn create<B: ExecBackend>(
    State(svc): State<Arc<B>>,
    Path(id): Path<String>,
    version: Option<axum::Extension<RequestedVersion>>,
    body: Bytes,
) -> ApiResult<Response> {
    let mut cfg: ExecConfig = json_body(&body)?;
    if !console_sizes_supported(version.as_deref()) {
        cfg.console_size = None;
    }
    let id = svc.exec_create(&id, cfg).await?;
    Ok((StatusCode::CREATED, Json(IdResponse { id })).into_response())
}

/// `POST /exec/{id}/start`: `200` at once when detached, else the upgraded stream: raw when
/// the start request's `Tty` is set, multiplexed when not (labelled raw before API 1.42), as
/// dockerd decides it — whatever the exec was created with.
pub async fn start<B: ExecBackend>(
    State(svc): State<Arc<B>>,
    Path(id): Path<String>,
    version: Option<axum::Extension<RequestedVersion>>,
    req: Request,
) -> ApiResult<Response> {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .map_err(|e| ApiError::bad_request(format!("reading the request body: {e}")))?;
    // An empty body is all defaults, as dockerd reads it.
    let cfg: ExecStartConfig = if bytes.iter().all(u8::is_ascii_whitespace) {
        ExecStartConfig::default()
    } else {
        json_body(&bytes)?
    };
    let new_api = console_sizes_supported(version.as_deref());
    let opts = ExecStartOptions {
        detach: cfg.detach,
        tty: cfg.tty,
        console_size: cfg.console_size.filter(|_| new_api && cfg.tty),
    };
    match svc.exec_start(&id, opts).await? {
        ExecStart::Detached => Ok(StatusCode::OK.into_response()),
        ExecStart::Attached(session) => {
            let ctype = if !session.tty() && new_api {
                stream::MULTIPLEXED_STREAM
            } else {
                stream::RAW_STREAM
            };
            let req = Request::from_parts(parts, axum::body::Body::empty());
            Ok(crate::hijack::upgrade(req, ctype, move |io| {
                session.run(io)
            }))
        }
    }
}

/// `POST /exec/{id}/resize?h=&w=`.
pub async fn resize<B: ExecBackend>(
    State(svc): State<Arc<B>>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<StatusCode> {
    let q: ResizeQuery = query(q.as_deref())?;
    let (h, w) = (dimension("height", q.h)?, dimension("width", q.w)?);
    svc.exec_resize(&id, h, w).await?;
    Ok(StatusCode::OK)
}

fn dimension(name: &str, v: Option<i64>) -> Result<u16, ApiError> {
    match v {
        Some(v) if (0..=u16::MAX as i64).contains(&v) => Ok(v as u16),
        Some(v) => Err(ApiError::bad_request(format!(
            "invalid resize {name} \"{v}\": out of range"
        ))),
        None => Err(ApiError::bad_request(format!(
            "invalid resize {name} \"\": missing"
        ))),
    }
}

/// `GET /exec/{id}/json`.
pub async fn inspect<B: ExecBackend>(
    State(svc): State<Arc<B>>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    Ok(Json(svc.exec_inspect(&id)?).into_response())
}
