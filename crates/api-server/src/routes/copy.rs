//! `docker cp`: `HEAD`, `GET` and `PUT /containers/{id}/archive?path=` (moby's
//! `router/container/copy.go`). The stat of the path travels base64-encoded in the
//! `X-Docker-Container-Path-Stat` header.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::Engine as _;
use serde::Deserialize;

use api_types::query::de_bool;
use api_types::ContainerPathStat;
use engine::container::ExtractOptions;

use crate::backend::ContainerBackend;

use super::query;
use crate::error::{ApiError, ApiResult};

/// The archive routes, part of the container router.
pub fn routes<B: ContainerBackend>(svc: Arc<B>) -> Router {
    Router::new()
        .route(
            "/containers/{id}/archive",
            get(get_archive::<B>).head(head::<B>).put(put::<B>),
        )
        .with_state(svc)
}

/// The header carrying a path's stat.
pub const PATH_STAT_HEADER: &str = "X-Docker-Container-Path-Stat";

#[derive(Deserialize, Default)]
struct ArchiveQuery {
    #[serde(default)]
    path: String,
    #[serde(default, rename = "noOverwriteDirNonDir", deserialize_with = "de_bool")]
    no_overwrite_dir_non_dir: bool,
    #[serde(default, rename = "copyUIDGID", deserialize_with = "de_bool")]
    copy_uid_gid: bool,
}

fn archive_query(q: Option<&str>) -> ApiResult<ArchiveQuery> {
    let q: ArchiveQuery = query(q)?;
    if q.path.is_empty() {
        return Err(ApiError::bad_request("bad parameter: path cannot be empty"));
    }
    Ok(q)
}

fn stat_headers(stat: &ContainerPathStat) -> ApiResult<HeaderMap> {
    let json = serde_json::to_vec(stat)
        .map_err(|e| ApiError::bad_request(format!("encoding the path stat: {e}")))?;
    let value = base64::engine::general_purpose::STANDARD.encode(json);
    let mut h = HeaderMap::new();
    h.insert(
        PATH_STAT_HEADER,
        HeaderValue::from_str(&value).map_err(|e| ApiError::bad_request(e.to_string()))?,
    );
    Ok(h)
}

/// `HEAD /containers/{id}/archive?path=`.
pub async fn head<B: ContainerBackend>(
    State(svc): State<Arc<B>>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q = archive_query(q.as_deref())?;
    let stat = svc.stat_path(&id, &q.path).await?;
    Ok((StatusCode::OK, stat_headers(&stat)?).into_response())
}

/// `GET /containers/{id}/archive?path=`: the tar, uncompressed.
pub async fn get_archive<B: ContainerBackend>(
    State(svc): State<Arc<B>>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q = archive_query(q.as_deref())?;
    let (stat, stream) = svc.archive_path(&id, &q.path).await?;
    let mut h = stat_headers(&stat)?;
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-tar"),
    );
    Ok((h, Body::from_stream(stream)).into_response())
}

/// `PUT /containers/{id}/archive?path=&noOverwriteDirNonDir=&copyUIDGID=`: the body is a
/// tar (possibly compressed) to extract into the directory `path`.
pub async fn put<B: ContainerBackend>(
    State(svc): State<Arc<B>>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    req: Request,
) -> ApiResult<StatusCode> {
    let q = archive_query(q.as_deref())?;
    let opts = ExtractOptions {
        no_overwrite_dir_non_dir: q.no_overwrite_dir_non_dir,
        copy_uid_gid: q.copy_uid_gid,
    };
    let (body, drain) = crate::body::reader(req);
    match svc.extract_to_dir(&id, &q.path, opts, body).await {
        Ok(()) => Ok(StatusCode::OK),
        Err(e) => {
            drain.finish().await;
            Err(e.into())
        }
    }
}
