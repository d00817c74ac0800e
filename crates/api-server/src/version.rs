//! The `/vX.Y` path prefix: stripped before routing, checked against the range berthd serves
//! (1.24–1.47), and the headers every response carries (`Api-Version`, `Ostype`, …).

use axum::extract::Request;
use axum::http::{HeaderValue, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use api_types::version::{ApiVersion, API_VERSION, MIN_API_VERSION};

use crate::error::ApiError;

/// The API version a request asked for (absent: the current one), kept in request extensions.
#[derive(Debug, Clone, Copy)]
pub struct RequestedVersion(pub ApiVersion);

/// Splits `/v1.47/containers/json` into (`1.47`, `/containers/json`).
pub fn split_version(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix("/v")?;
    let end = rest.find('/').unwrap_or(rest.len());
    let (ver, tail) = rest.split_at(end);
    if ver.is_empty() || !ver.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return None;
    }
    Some((ver, if tail.is_empty() { "/" } else { tail }))
}

/// Middleware: strips and checks the version prefix, then adds the standard headers.
pub async fn layer(mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let mut requested = ApiVersion::current();
    if let Some((ver, tail)) = split_version(&path) {
        let Some(v) = ApiVersion::parse(ver) else {
            return with_headers(
                ApiError::bad_request(format!("invalid API version {ver}")).into_response(),
            );
        };
        if v > ApiVersion::current() {
            return with_headers(
                ApiError::bad_request(format!(
                    "client version {ver} is too new. Maximum supported API version is {API_VERSION}"
                ))
                .into_response(),
            );
        }
        if v < ApiVersion::min() {
            return with_headers(
                ApiError::bad_request(format!(
                    "client version {ver} is too old. Minimum supported API version is {MIN_API_VERSION}, please upgrade your client to a newer version"
                ))
                .into_response(),
            );
        }
        requested = v;
        let new_pq = match req.uri().query() {
            Some(q) => format!("{tail}?{q}"),
            None => tail.to_string(),
        };
        let mut parts = req.uri().clone().into_parts();
        parts.path_and_query = new_pq.parse().ok();
        if let Ok(uri) = Uri::from_parts(parts) {
            *req.uri_mut() = uri;
        }
    }
    req.extensions_mut().insert(RequestedVersion(requested));
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let t0 = std::time::Instant::now();
    let heavy = crate::memory::is_heavy(&method, &path).then(crate::memory::Heavy::begin);
    let mut resp = crate::error::ensure_json(next.run(req).await).await;
    if let Some(guard) = heavy {
        resp = crate::memory::hold_until_sent(resp, guard);
    }
    tracing::debug!(%method, %path, status = resp.status().as_u16(), elapsed_us = t0.elapsed().as_micros() as u64, "request");
    with_headers(resp)
}

fn with_headers(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert("Api-Version", HeaderValue::from_static(API_VERSION));
    h.insert("Docker-Experimental", HeaderValue::from_static("false"));
    h.insert("Ostype", HeaderValue::from_static("linux"));
    h.insert(
        "Server",
        HeaderValue::from_static(concat!("berth/", env!("CARGO_PKG_VERSION"), " (linux)")),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_prefix() {
        assert_eq!(
            split_version("/v1.47/containers/json"),
            Some(("1.47", "/containers/json"))
        );
        assert_eq!(split_version("/v1.24"), Some(("1.24", "/")));
        assert_eq!(split_version("/volumes"), None);
        assert_eq!(split_version("/containers/json"), None);
    }
}
