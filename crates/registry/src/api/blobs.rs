//! `GET`/`HEAD`/`DELETE /v2/<name>/blobs/<digest>` (spec "Pulling blobs", "Deleting blobs"),
//! with single byte ranges.

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use http::{header, HeaderValue, Method, StatusCode};

use super::{empty, ApiError, ApiResult, App};
use crate::auth::{Action, Need};
use crate::digest::Digest;
use crate::name::RepoName;

/// A parsed `Range: bytes=…` request, resolved against the blob size.
#[derive(Debug, PartialEq, Eq)]
pub enum ByteRange {
    /// No (usable) range: send everything.
    Full,
    /// `[start, end]`, inclusive.
    Part(u64, u64),
    /// Cannot be satisfied: 416.
    Unsatisfiable,
}

/// Parses a single `bytes=` range (`a-b`, `a-`, `-n`). Several ranges, or another unit, are
/// ignored (RFC 9110 lets a server answer 200 with the whole content).
pub fn parse_range(value: Option<&str>, size: u64) -> ByteRange {
    let Some(spec) = value.and_then(|v| v.trim().strip_prefix("bytes=")) else {
        return ByteRange::Full;
    };
    if spec.contains(',') {
        return ByteRange::Full;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return ByteRange::Unsatisfiable;
    };
    let (a, b) = (a.trim(), b.trim());
    let parsed = match (a.is_empty(), b.is_empty()) {
        (false, _) => {
            let Ok(start) = a.parse::<u64>() else {
                return ByteRange::Unsatisfiable;
            };
            let end = if b.is_empty() {
                size.saturating_sub(1)
            } else {
                match b.parse::<u64>() {
                    Ok(e) => e.min(size.saturating_sub(1)),
                    Err(_) => return ByteRange::Unsatisfiable,
                }
            };
            (start, end)
        }
        (true, false) => {
            let Ok(n) = b.parse::<u64>() else {
                return ByteRange::Unsatisfiable;
            };
            if n == 0 {
                return ByteRange::Unsatisfiable;
            }
            (size.saturating_sub(n), size.saturating_sub(1))
        }
        (true, true) => return ByteRange::Unsatisfiable,
    };
    if size == 0 || parsed.0 > parsed.1 || parsed.0 >= size {
        return ByteRange::Unsatisfiable;
    }
    ByteRange::Part(parsed.0, parsed.1)
}

pub(super) async fn get(app: &App, repo: &RepoName, digest: &str, req: Request) -> ApiResult {
    app.authorize(req.headers(), Need::Repo(repo.as_str(), Action::Pull))
        .await?;
    let digest: Digest = digest.parse()?;
    let size = app.store.stat_blob(repo, &digest).await?;
    let range = parse_range(
        req.headers()
            .get(header::RANGE)
            .and_then(|v| v.to_str().ok()),
        size,
    );
    let (status, offset, len) = match range {
        ByteRange::Full => (StatusCode::OK, 0, size),
        ByteRange::Part(a, b) => (StatusCode::PARTIAL_CONTENT, a, b - a + 1),
        ByteRange::Unsatisfiable => {
            return Err(ApiError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "BLOB_UNKNOWN",
                format!("range not satisfiable for blob of {size} bytes"),
            )
            .header(header::CONTENT_RANGE, format!("bytes */{size}")));
        }
    };
    let body = if req.method() == Method::HEAD || len == 0 {
        Body::empty()
    } else {
        Body::from_stream(app.store.read_blob(&digest, offset, Some(len)).await?)
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::ETAG, hv(&format!("\"{digest}\"")));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=31536000"),
    );
    h.insert("docker-content-digest", hv(digest.as_str()));
    if status == StatusCode::PARTIAL_CONTENT {
        let cr = format!("bytes {offset}-{}/{size}", offset + len - 1);
        h.insert(header::CONTENT_RANGE, hv(&cr));
    }
    Ok(resp)
}

pub(super) async fn delete(app: &App, repo: &RepoName, digest: &str, req: Request) -> ApiResult {
    app.authorize(req.headers(), Need::Repo(repo.as_str(), Action::Delete))
        .await?;
    let digest: Digest = digest.parse()?;
    app.store.delete_layer(repo, &digest).await?;
    Ok(empty(
        StatusCode::ACCEPTED,
        &[("docker-content-digest", digest.to_string())],
    ))
}

/// A header value from text we built (digests, numbers): always valid.
pub(super) fn hv(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).expect("generated header values are ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range(None, 10), ByteRange::Full);
        assert_eq!(parse_range(Some("bytes=0-4"), 10), ByteRange::Part(0, 4));
        assert_eq!(parse_range(Some("bytes=5-"), 10), ByteRange::Part(5, 9));
        assert_eq!(parse_range(Some("bytes=-3"), 10), ByteRange::Part(7, 9));
        assert_eq!(parse_range(Some("bytes=8-100"), 10), ByteRange::Part(8, 9));
        assert_eq!(parse_range(Some("bytes=10-"), 10), ByteRange::Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=4-2"), 10), ByteRange::Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=x-2"), 10), ByteRange::Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=0-1,3-4"), 10), ByteRange::Full);
        assert_eq!(parse_range(Some("items=0-1"), 10), ByteRange::Full);
    }
}
