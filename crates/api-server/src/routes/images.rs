//! `/images/...`: create (import from a tarball; pull arrives with the distribution issue),
//! list, inspect, tag, delete, history. Image names may contain `/` and are not escaped by the
//! docker client, so the per-image routes are one wildcard dispatched on their last segment.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use serde::Deserialize;

use api_types::query::parse_bool;
use api_types::{Filters, JsonMessage};
use engine::image::{ImportOptions, ListImagesOptions};

use crate::backend::ImageBackend;

use super::query;
use crate::error::{ApiError, ApiResult};

/// Every value of a repeated query parameter (`changes=…&changes=…`).
fn params(raw: Option<&str>) -> ApiResult<Vec<(String, String)>> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(raw.unwrap_or(""))
        .map_err(|e| ApiError::bad_request(format!("invalid query parameters: {e}")))
}

fn first<'a>(p: &'a [(String, String)], key: &str) -> Option<&'a str> {
    p.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// `POST /images/create`: `fromSrc=-` imports the request body as a root filesystem,
/// `fromSrc=<URL>` the tarball at that URL (with dockerd's `Downloading from` line).
pub async fn create<B: ImageBackend>(
    State(engine): State<Arc<B>>,
    RawQuery(q): RawQuery,
    req: Request,
) -> ApiResult<Response> {
    let p = params(q.as_deref())?;
    if let Some(src) = first(&p, "fromSrc") {
        let opts = ImportOptions {
            repo: first(&p, "repo").map(str::to_string),
            tag: first(&p, "tag").map(str::to_string),
            message: first(&p, "message").unwrap_or("").to_string(),
            changes: p
                .iter()
                .filter(|(k, _)| k == "changes")
                .map(|(_, v)| v.clone())
                .collect(),
            platform: first(&p, "platform").map(str::to_string),
        };
        if src != "-" {
            // Nothing is streamed before the import ends: a failed download gets its status.
            let id = engine.import_url(src, opts).await?;
            let url = if src.contains("://") {
                src.to_string()
            } else {
                format!("http://{src}")
            };
            let mut body = JsonMessage::status(format!("Downloading from {url}")).to_line();
            body.push_str(&JsonMessage::status(id).to_line());
            return Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response());
        }
        let (reader, drain) = crate::body::reader(req);
        // Nothing is streamed before the import ends, so a failure gets its own status (as
        // dockerd answers an error that comes before its first flush).
        return match engine.import(reader, opts).await {
            Ok(id) => Ok((
                [(header::CONTENT_TYPE, "application/json")],
                JsonMessage::status(id).to_line(),
            )
                .into_response()),
            Err(e) => {
                drain.finish().await;
                Err(e.into())
            }
        };
    }
    if let Some(image) = first(&p, "fromImage") {
        let (tag, platform) = (first(&p, "tag"), first(&p, "platform"));
        return super::registry::pull(&*engine, image, tag, platform, req.headers()).await;
    }
    Err(ApiError::bad_request(
        "either fromSrc or fromImage must be given",
    ))
}

#[derive(Deserialize, Default)]
struct ListQuery {
    all: Option<String>,
    filters: Option<String>,
    digests: Option<String>,
    #[serde(rename = "shared-size")]
    shared_size: Option<String>,
}

/// The image router: import and pull, list, save and load, search and login, and the
/// operations on one image.
pub fn routes<B: ImageBackend>(svc: Arc<B>) -> Router {
    use super::{archive as ar, registry as reg};
    Router::new()
        .route("/images/create", post(create::<B>))
        .route("/images/json", get(list::<B>))
        .route("/images/get", get(ar::save::<B>))
        .route("/images/load", post(ar::load::<B>))
        .route("/images/search", get(reg::search::<B>))
        .route("/auth", post(reg::auth::<B>))
        .route("/images/{*rest}", any(by_name::<B>))
        .with_state(svc)
}

/// `GET /images/json`.
pub async fn list<B: ImageBackend>(
    State(engine): State<Arc<B>>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q: ListQuery = query(q.as_deref())?;
    let filters = Filters::parse(q.filters.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let rows = engine
        .list(ListImagesOptions {
            all: q.all.as_deref().is_some_and(parse_bool),
            filters,
            digests: q.digests.as_deref().is_some_and(parse_bool),
            shared_size: q.shared_size.as_deref().is_some_and(parse_bool),
        })
        .await?;
    Ok(Json(rows).into_response())
}

/// `GET|POST|DELETE /images/{name…}[/json|/history|/tag]`.
pub async fn by_name<B: ImageBackend>(
    State(engine): State<Arc<B>>,
    Path(rest): Path<String>,
    RawQuery(q): RawQuery,
    method: Method,
    headers: axum::http::HeaderMap,
) -> ApiResult<Response> {
    let rest = rest.trim_start_matches('/');
    if method == Method::DELETE {
        let p = params(q.as_deref())?;
        let force = first(&p, "force").is_some_and(parse_bool);
        let noprune = first(&p, "noprune").is_some_and(parse_bool);
        let items = engine.delete(rest, force, noprune).await?;
        return Ok(Json(items).into_response());
    }
    let (name, op) = rest
        .rsplit_once('/')
        .ok_or_else(|| ApiError::not_found("page not found"))?;
    match (method, op) {
        (Method::GET, "json") => Ok(Json(engine.inspect(name).await?).into_response()),
        (Method::GET, "history") => Ok(Json(engine.history(name).await?).into_response()),
        (Method::GET, "get") => super::archive::save_names(&*engine, vec![name.to_string()]).await,
        (Method::POST, "tag") => {
            let p = params(q.as_deref())?;
            let repo = first(&p, "repo").unwrap_or("");
            let tag = first(&p, "tag");
            engine.tag(name, repo, tag).await?;
            Ok(StatusCode::CREATED.into_response())
        }
        (Method::POST, "push") => {
            let p = params(q.as_deref())?;
            super::registry::push(&*engine, name, first(&p, "tag"), &headers).await
        }
        _ => Err(ApiError::not_found("page not found")),
    }
}
