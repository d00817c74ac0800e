//! Blob uploads (spec "Pushing blobs"): `POST /v2/<name>/blobs/uploads/` (a new session, a
//! monolithic upload with `?digest=`, or a cross-repository mount with `?mount=&from=`), and
//! `GET`/`PATCH`/`PUT`/`DELETE` on a session.

use axum::extract::Request;
use axum::response::Response;
use http::{header, StatusCode};

use super::{
    body_stream, content_length, empty, query_param, range_header, ApiError, ApiResult, App,
};
use crate::auth::{Action, Need};
use crate::digest::Digest;
use crate::name::RepoName;

fn upload_location(repo: &RepoName, id: &str) -> String {
    format!("/v2/{repo}/blobs/uploads/{id}")
}

fn session_response(status: StatusCode, repo: &RepoName, id: &str, size: u64) -> Response {
    empty(
        status,
        &[
            ("location", upload_location(repo, id)),
            ("range", range_header(size)),
            ("docker-upload-uuid", id.to_owned()),
        ],
    )
}

fn created(repo: &RepoName, digest: &Digest) -> Response {
    empty(
        StatusCode::CREATED,
        &[
            ("location", format!("/v2/{repo}/blobs/{digest}")),
            ("docker-content-digest", digest.to_string()),
        ],
    )
}

/// Refuses up front a body whose declared length is over the blob limit.
fn check_declared(app: &App, req: &Request) -> Result<(), ApiError> {
    if let (Some(limit), Some(len)) = (app.limits.max_blob_bytes, content_length(req.headers())) {
        if len > limit {
            return Err(ApiError::too_large(limit));
        }
    }
    Ok(())
}

pub(super) async fn start(app: &App, repo: &RepoName, req: Request) -> ApiResult {
    app.authorize(req.headers(), Need::Repo(repo.as_str(), Action::Push))
        .await?;
    if let (Some(mount), Some(from)) = (
        query_param(req.uri(), "mount"),
        query_param(req.uri(), "from"),
    ) {
        let digest: Digest = mount.parse()?;
        // A mount the caller may not read from silently becomes a plain upload (spec: "the
        // registry MAY... start a regular upload"); so does one of a blob `from` lacks.
        if let Ok(from) = RepoName::parse(&from) {
            let readable = app
                .authorize(req.headers(), Need::Repo(from.as_str(), Action::Pull))
                .await
                .is_ok();
            if readable && app.store.mount(&from, repo, &digest).await? {
                app.index.touch(repo);
                return Ok(created(repo, &digest));
            }
        }
    }
    if let Some(d) = query_param(req.uri(), "digest") {
        let digest: Digest = d.parse()?;
        check_declared(app, &req)?;
        let limit = app.limits.max_blob_bytes;
        app.store
            .uploads()
            .put_direct(&app.store, repo, &digest, body_stream(req), limit)
            .await?;
        app.index.touch(repo);
        return Ok(created(repo, &digest));
    }
    let id = app.store.uploads().start(repo).await?;
    Ok(session_response(StatusCode::ACCEPTED, repo, &id, 0))
}

pub(super) async fn status(app: &App, repo: &RepoName, id: &str, req: Request) -> ApiResult {
    app.authorize(req.headers(), Need::Repo(repo.as_str(), Action::Push))
        .await?;
    let size = app.store.uploads().size(repo, id).await?;
    Ok(session_response(StatusCode::NO_CONTENT, repo, id, size))
}

/// `Content-Range: <start>-<end>` (optionally with a `bytes ` prefix), inclusive.
fn content_range(req: &Request) -> Result<Option<(u64, u64)>, ApiError> {
    let Some(v) = req.headers().get(header::CONTENT_RANGE) else {
        return Ok(None);
    };
    let bad = || {
        ApiError::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "BLOB_UPLOAD_INVALID",
            "malformed Content-Range: want <start>-<end>",
        )
    };
    let s = v.to_str().map_err(|_| bad())?.trim();
    let s = s.strip_prefix("bytes ").unwrap_or(s);
    let s = s.split('/').next().unwrap_or(s);
    let (a, b) = s.split_once('-').ok_or_else(bad)?;
    let (a, b): (u64, u64) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
    if b < a {
        return Err(bad());
    }
    Ok(Some((a, b)))
}

pub(super) async fn patch(app: &App, repo: &RepoName, id: &str, req: Request) -> ApiResult {
    app.authorize(req.headers(), Need::Repo(repo.as_str(), Action::Push))
        .await?;
    let range = content_range(&req)?;
    if let (Some((a, b)), Some(len)) = (range, content_length(req.headers())) {
        if b - a + 1 != len {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "SIZE_INVALID",
                format!("Content-Range {a}-{b} does not match Content-Length {len}"),
            ));
        }
    }
    check_declared(app, &req)?;
    let limit = app.limits.max_blob_bytes;
    let start = range.map(|(a, _)| a);
    let size = app
        .store
        .uploads()
        .append(repo, id, start, body_stream(req), limit)
        .await?;
    if let Some((_, b)) = range {
        if size != b + 1 {
            // The body was shorter or longer than its Content-Range; keep the bytes (the client
            // can see the offset in Range) but tell it.
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "SIZE_INVALID",
                format!("chunk ended at byte {size}, Content-Range said {}", b + 1),
            )
            .header(header::RANGE, range_header(size)));
        }
    }
    Ok(session_response(StatusCode::ACCEPTED, repo, id, size))
}

pub(super) async fn put(app: &App, repo: &RepoName, id: &str, req: Request) -> ApiResult {
    app.authorize(req.headers(), Need::Repo(repo.as_str(), Action::Push))
        .await?;
    let Some(d) = query_param(req.uri(), "digest") else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "DIGEST_INVALID",
            "completing an upload needs ?digest=",
        ));
    };
    let digest: Digest = d.parse()?;
    check_declared(app, &req)?;
    let has_body = content_length(req.headers()).is_none_or(|n| n > 0);
    if let Some((a, _)) = content_range(&req)? {
        let size = app.store.uploads().size(repo, id).await?;
        if a != size {
            return Err(crate::store::StoreError::RangeInvalid {
                id: id.to_owned(),
                size,
                got: a,
            }
            .into());
        }
    }
    let limit = app.limits.max_blob_bytes;
    let body = has_body.then(|| body_stream(req));
    app.store
        .uploads()
        .finish(&app.store, repo, id, &digest, body, limit)
        .await?;
    app.index.touch(repo);
    Ok(created(repo, &digest))
}

pub(super) async fn cancel(app: &App, repo: &RepoName, id: &str, req: Request) -> ApiResult {
    app.authorize(req.headers(), Need::Repo(repo.as_str(), Action::Push))
        .await?;
    app.store.uploads().cancel(repo, id).await?;
    Ok(empty(StatusCode::NO_CONTENT, &[]))
}
