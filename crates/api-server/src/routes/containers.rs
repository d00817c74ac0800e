//! `/containers/...`: create, start, stop, restart, kill, wait, delete, list, inspect, logs,
//! attach (hijacked, or over a websocket), resize, rename, top, prune; and (in `operate`)
//! stats, pause, unpause, update.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use futures_util::StreamExt;
use serde::Deserialize;

use crate::backend::ContainerBackend;
use api_types::query::{de_bool, de_opt_i64};
use api_types::{ContainerCreateRequest, Filters};
use engine::container::{
    AttachOptions, ListOptions, LogsOptions, RemoveOptions, StopOptions, WaitCondition,
};

use super::{json_body, query};
use crate::error::{ApiError, ApiResult};
use crate::stream;

/// The container router: create, list, prune, and the lifecycle of one container.
pub fn routes<B: ContainerBackend>(svc: Arc<B>) -> Router {
    Router::new()
        .route("/containers/create", post(create::<B>))
        .route("/containers/json", get(list::<B>))
        .route("/containers/prune", post(prune::<B>))
        .route("/containers/{id}", delete(remove::<B>))
        .route("/containers/{id}/json", get(inspect::<B>))
        .route("/containers/{id}/start", post(start::<B>))
        .route("/containers/{id}/stop", post(stop::<B>))
        .route("/containers/{id}/restart", post(restart::<B>))
        .route("/containers/{id}/kill", post(kill::<B>))
        .route("/containers/{id}/wait", post(wait::<B>))
        .route("/containers/{id}/logs", get(logs::<B>))
        .route("/containers/{id}/attach", post(attach::<B>))
        .route(
            "/containers/{id}/attach/ws",
            get(super::attach_ws::attach_ws::<B>),
        )
        .route("/containers/{id}/resize", post(resize::<B>))
        .route("/containers/{id}/rename", post(rename::<B>))
        .route("/containers/{id}/top", get(top::<B>))
        .route("/containers/{id}/stats", get(super::operate::stats::<B>))
        .route("/containers/{id}/pause", post(super::operate::pause::<B>))
        .route(
            "/containers/{id}/unpause",
            post(super::operate::unpause::<B>),
        )
        .route("/containers/{id}/update", post(super::operate::update::<B>))
        .with_state(svc.clone())
        .merge(super::copy::routes(svc))
}

#[derive(Deserialize, Default)]
struct CreateQuery {
    name: Option<String>,
    platform: Option<String>,
}

/// `POST /containers/create?name=`.
pub async fn create<B: ContainerBackend>(
    State(svc): State<Arc<B>>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> ApiResult<Response> {
    let q: CreateQuery = query(q.as_deref())?;
    if let Some(p) = q.platform.as_deref().filter(|p| !p.is_empty()) {
        if !p.starts_with("linux") {
            return Err(ApiError::bad_request(format!(
                "requested platform {p} is not supported by this daemon (linux/amd64)"
            )));
        }
    }
    let req: ContainerCreateRequest = json_body(&body)?;
    let resp = svc
        .create(q.name.as_deref().filter(|n| !n.is_empty()), req)
        .await?;
    Ok((StatusCode::CREATED, Json(resp)).into_response())
}

/// `POST /containers/{id}/start`.
pub async fn start<B: ContainerBackend>(
    State(svc): State<Arc<B>>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    svc.start(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, Default)]
struct StopQuery {
    signal: Option<String>,
    #[serde(default, deserialize_with = "de_opt_i64")]
    t: Option<i64>,
}

fn stop_options(q: Option<&str>) -> ApiResult<StopOptions> {
    let q: StopQuery = query(q)?;
    Ok(StopOptions {
        signal: q.signal.filter(|s| !s.is_empty()),
        timeout: q.t,
    })
}

/// `POST /containers/{id}/stop?t=&signal=`.
pub async fn stop<B: ContainerBackend>(
    State(svc): State<Arc<B>>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<StatusCode> {
    svc.stop(&id, stop_options(q.as_deref())?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /containers/{id}/restart?t=&signal=`.
pub async fn restart<B: ContainerBackend>(
    State(svc): State<Arc<B>>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<StatusCode> {
    svc.restart(&id, stop_options(q.as_deref())?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, Default)]
struct KillQuery {
    signal: Option<String>,
}

/// `POST /containers/{id}/kill?signal=`.
pub async fn kill<B: ContainerBackend>(
    State(svc): State<Arc<B>>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<StatusCode> {
    let q: KillQuery = query(q.as_deref())?;
    svc.kill(&id, q.signal.as_deref().filter(|s| !s.is_empty()))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, Default)]
struct WaitQuery {
    condition: Option<String>,
}

/// `POST /containers/{id}/wait?condition=`: headers go out as soon as the waiter is
/// registered (the docker CLI only calls start after that), the body when the condition holds.
pub async fn wait<B: ContainerBackend>(
    State(svc): State<Arc<B>>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q: WaitQuery = query(q.as_deref())?;
    let cond = match q.condition.as_deref().unwrap_or("") {
        "" | "not-running" => WaitCondition::NotRunning,
        "next-exit" => WaitCondition::NextExit,
        "removed" => WaitCondition::Removed,
        other => {
            return Err(ApiError::bad_request(format!(
                "invalid condition: \"{other}\""
            )))
        }
    };
    let waiter = svc.wait(&id, cond).await?;
    let body = futures_util::stream::once(async move {
        let resp = waiter.await;
        let mut line = serde_json::to_vec(&resp).unwrap_or_default();
        line.push(b'\n');
        Ok::<_, std::io::Error>(Bytes::from(line))
    });
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(body),
    )
        .into_response())
}

#[derive(Deserialize, Default)]
struct DeleteQuery {
    #[serde(default, deserialize_with = "de_bool")]
    force: bool,
    #[serde(default, deserialize_with = "de_bool")]
    v: bool,
    #[serde(default, deserialize_with = "de_bool")]
    link: bool,
}

/// `DELETE /containers/{id}?force=&v=`.
pub async fn remove<B: ContainerBackend>(
    State(svc): State<Arc<B>>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<StatusCode> {
    let q: DeleteQuery = query(q.as_deref())?;
    if q.link {
        return Err(ApiError::bad_request(
            "links are not supported yet: cannot remove a link",
        ));
    }
    svc.remove(
        &id,
        RemoveOptions {
            force: q.force,
            volumes: q.v,
        },
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, Default)]
struct ListQuery {
    #[serde(default, deserialize_with = "de_bool")]
    all: bool,
    #[serde(default, deserialize_with = "de_opt_i64")]
    limit: Option<i64>,
    #[serde(default, deserialize_with = "de_bool")]
    size: bool,
    filters: Option<String>,
}

/// `GET /containers/json`.
pub async fn list<B: ContainerBackend>(
    State(svc): State<Arc<B>>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q: ListQuery = query(q.as_deref())?;
    let filters = Filters::parse(q.filters.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let rows = svc
        .list(ListOptions {
            all: q.all,
            limit: q.limit.filter(|l| *l > 0).map(|l| l as usize),
            size: q.size,
            filters,
        })
        .await?;
    Ok(Json(rows).into_response())
}

#[derive(Deserialize, Default)]
struct InspectQuery {
    #[serde(default, deserialize_with = "de_bool")]
    size: bool,
}

/// `GET /containers/{id}/json`.
pub async fn inspect<B: ContainerBackend>(
    State(svc): State<Arc<B>>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q: InspectQuery = query(q.as_deref())?;
    Ok(Json(svc.inspect(&id, q.size).await?).into_response())
}

#[derive(Deserialize, Default)]
struct LogsQuery {
    #[serde(default, deserialize_with = "de_bool")]
    follow: bool,
    #[serde(default, deserialize_with = "de_bool")]
    stdout: bool,
    #[serde(default, deserialize_with = "de_bool")]
    stderr: bool,
    since: Option<String>,
    until: Option<String>,
    #[serde(default, deserialize_with = "de_bool")]
    timestamps: bool,
    tail: Option<String>,
    #[serde(default, deserialize_with = "de_bool")]
    details: bool,
}

/// `GET /containers/{id}/logs`: raw with a TTY, multiplexed frames without.
pub async fn logs<B: ContainerBackend>(
    State(svc): State<Arc<B>>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q: LogsQuery = query(q.as_deref())?;
    if !q.stdout && !q.stderr {
        return Err(ApiError::bad_request(
            "Bad parameters: you must choose at least one stream",
        ));
    }
    let tail = match q.tail.as_deref().map(str::trim) {
        None | Some("") | Some("all") => None,
        Some(t) => match t.parse::<i64>() {
            Ok(n) if n >= 0 => Some(n as usize),
            Ok(_) => None,
            Err(_) => return Err(ApiError::bad_request(format!("invalid tail value \"{t}\""))),
        },
    };
    let opts = LogsOptions {
        follow: q.follow,
        stdout: q.stdout,
        stderr: q.stderr,
        since: parse_time(q.since.as_deref(), "since")?,
        until: parse_time(q.until.as_deref(), "until")?,
        timestamps: q.timestamps,
        tail,
        details: q.details,
    };
    let logs = svc.logs(&id, opts).await?;
    let tty = logs.tty;
    let body = Body::from_stream(logs.frames.map(move |f| {
        Ok::<_, std::io::Error>(if tty {
            f.bytes
        } else {
            stream::frame(f.stream as u8, &f.bytes)
        })
    }));
    let ctype = if tty {
        stream::RAW_STREAM
    } else {
        stream::MULTIPLEXED_STREAM
    };
    Ok(([(header::CONTENT_TYPE, ctype)], body).into_response())
}

fn parse_time(v: Option<&str>, name: &str) -> ApiResult<Option<i128>> {
    match v.map(str::trim) {
        None | Some("") | Some("0") => Ok(None),
        Some(s) => engine::clock::parse_timestamp(s)
            .map(Some)
            .ok_or_else(|| ApiError::bad_request(format!("invalid value for \"{name}\": {s}"))),
    }
}

#[derive(Deserialize, Default)]
struct AttachQuery {
    #[serde(rename = "detachKeys")]
    detach_keys: Option<String>,
    #[serde(default, deserialize_with = "de_bool")]
    logs: bool,
    #[serde(default, deserialize_with = "de_bool")]
    stream: bool,
    #[serde(default, deserialize_with = "de_bool")]
    stdin: bool,
    #[serde(default, deserialize_with = "de_bool")]
    stdout: bool,
    #[serde(default, deserialize_with = "de_bool")]
    stderr: bool,
}

/// The query of attach (and of its websocket form).
pub(super) fn attach_options(q: Option<&str>) -> ApiResult<AttachOptions> {
    let q: AttachQuery = query(q)?;
    Ok(AttachOptions {
        detach_keys: q.detach_keys.filter(|k| !k.is_empty()),
        logs: q.logs,
        stream: q.stream,
        stdin: q.stdin,
        stdout: q.stdout,
        stderr: q.stderr,
    })
}

/// `POST /containers/{id}/attach`: answers `101 UPGRADED` and splices the connection onto the
/// container's streams.
pub async fn attach<B: ContainerBackend>(
    State(svc): State<Arc<B>>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    req: Request,
) -> ApiResult<Response> {
    let session = svc.attach(&id, attach_options(q.as_deref())?).await?;
    let ctype = if session.tty() {
        stream::RAW_STREAM
    } else {
        stream::MULTIPLEXED_STREAM
    };
    Ok(crate::hijack::upgrade(req, ctype, move |io| {
        session.run(io)
    }))
}

/// `?h=&w=` of the container and exec resize endpoints.
#[derive(Deserialize, Default)]
pub(super) struct ResizeQuery {
    #[serde(default, deserialize_with = "de_opt_i64")]
    pub(super) h: Option<i64>,
    #[serde(default, deserialize_with = "de_opt_i64")]
    pub(super) w: Option<i64>,
}

/// `POST /containers/{id}/resize?h=&w=`.
pub async fn resize<B: ContainerBackend>(
    State(svc): State<Arc<B>>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<StatusCode> {
    let q: ResizeQuery = query(q.as_deref())?;
    let (h, w) = (q.h.unwrap_or(0), q.w.unwrap_or(0));
    if !(0..=u16::MAX as i64).contains(&h) || !(0..=u16::MAX as i64).contains(&w) {
        return Err(ApiError::bad_request(format!(
            "invalid terminal size {h}x{w}"
        )));
    }
    svc.resize(&id, h as u16, w as u16).await?;
    Ok(StatusCode::OK)
}

#[derive(Deserialize, Default)]
struct RenameQuery {
    name: Option<String>,
}

/// `POST /containers/{id}/rename?name=`.
pub async fn rename<B: ContainerBackend>(
    State(svc): State<Arc<B>>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<StatusCode> {
    let q: RenameQuery = query(q.as_deref())?;
    let name = q.name.unwrap_or_default();
    svc.rename(&id, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, Default)]
struct TopQuery {
    ps_args: Option<String>,
}

/// `GET /containers/{id}/top?ps_args=`.
pub async fn top<B: ContainerBackend>(
    State(svc): State<Arc<B>>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q: TopQuery = query(q.as_deref())?;
    let args = q
        .ps_args
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| "-ef".into());
    Ok(Json(svc.top(&id, &args).await?).into_response())
}

#[derive(Deserialize, Default)]
struct PruneQuery {
    filters: Option<String>,
}

/// `POST /containers/prune?filters=`.
pub async fn prune<B: ContainerBackend>(
    State(svc): State<Arc<B>>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q: PruneQuery = query(q.as_deref())?;
    let filters = Filters::parse(q.filters.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok(Json(svc.prune(filters).await?).into_response())
}
