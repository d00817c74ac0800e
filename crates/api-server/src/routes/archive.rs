//! `docker save` and `docker load`: `GET /images/get`, `GET /images/{name}/get` (a tar
//! streamed out) and `POST /images/load` (a tar streamed in, JSON progress streamed out).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{RawQuery, Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;

use crate::backend::ImageBackend;
use api_types::query::parse_bool;

use crate::error::{ApiError, ApiResult};

/// `GET /images/get?names=…&names=…`.
pub async fn save<B: ImageBackend>(
    State(engine): State<Arc<B>>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let p: Vec<(String, String)> = serde_urlencoded::from_str(q.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::bad_request(format!("invalid query parameters: {e}")))?;
    let names = p
        .into_iter()
        .filter(|(k, _)| k == "names")
        .map(|(_, v)| v)
        .collect();
    save_names(&*engine, names).await
}

/// The archive of `names`, streamed.
pub async fn save_names<B: ImageBackend>(engine: &B, names: Vec<String>) -> ApiResult<Response> {
    let stream = engine.save(names).await?;
    Ok((
        [(header::CONTENT_TYPE, "application/x-tar")],
        Body::from_stream(stream),
    )
        .into_response())
}

/// `POST /images/load?quiet=`: always 200 with JSON lines; a failure is the last line.
pub async fn load<B: ImageBackend>(
    State(engine): State<Arc<B>>,
    RawQuery(q): RawQuery,
    req: Request,
) -> ApiResult<Response> {
    let p: Vec<(String, String)> = serde_urlencoded::from_str(q.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::bad_request(format!("invalid query parameters: {e}")))?;
    // dockerd's default is quiet.
    let quiet = p
        .iter()
        .find(|(k, _)| k == "quiet")
        .map(|(_, v)| v.is_empty() || parse_bool(v))
        .unwrap_or(true);
    let (reader, drain) = crate::body::reader(req);
    // The response ends once the client has sent its whole archive, even after a failure,
    // so that it reads the failure rather than a broken pipe.
    let drained = futures_util::stream::once(drain.finish()).filter_map(|()| async { None });
    let lines = engine
        .load(reader, quiet)
        .map(|m| Ok::<_, std::io::Error>(m.to_line()))
        .chain(drained);
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(lines),
    )
        .into_response())
}
