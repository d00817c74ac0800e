//! The distribution spec's error responses: a status and
//! `{"errors":[{"code":…,"message":…,"detail":…}]}`. This is the one place that maps store,
//! name, digest and auth errors to HTTP.

use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, StatusCode};
use serde_json::json;

use crate::auth::AuthError;
use crate::digest::DigestError;
use crate::name::NameError;
use crate::store::StoreError;

/// A spec error about to be sent.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Spec error code (`BLOB_UNKNOWN` …).
    pub code: &'static str,
    /// Human-readable message.
    pub message: String,
    /// Structured detail.
    pub detail: serde_json::Value,
    /// Extra headers (`WWW-Authenticate`, `Range` …).
    pub headers: Vec<(header::HeaderName, String)>,
}

impl ApiError {
    /// A new error without detail.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            detail: serde_json::Value::Null,
            headers: Vec::new(),
        }
    }

    /// Adds detail.
    pub fn detail(mut self, detail: serde_json::Value) -> ApiError {
        self.detail = detail;
        self
    }

    /// Adds a header.
    pub fn header(mut self, name: header::HeaderName, value: impl Into<String>) -> ApiError {
        self.headers.push((name, value.into()));
        self
    }

    /// 405 for a method a route does not have.
    pub fn unsupported(what: &str) -> ApiError {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "UNSUPPORTED",
            format!("the operation is unsupported: {what}"),
        )
    }

    /// 413 for a body over a limit.
    pub fn too_large(limit: u64) -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "SIZE_INVALID",
            format!("content exceeds the limit of {limit} bytes"),
        )
        .detail(json!({ "limit": limit }))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "errors": [{ "code": self.code, "message": self.message, "detail": self.detail }]
        });
        let mut resp = (self.status, axum::Json(body)).into_response();
        for (name, value) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&value) {
                resp.headers_mut().append(name, v);
            }
        }
        resp
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        use StoreError::*;
        let msg = e.to_string();
        match e {
            BlobUnknown { digest, .. } => ApiError::new(StatusCode::NOT_FOUND, "BLOB_UNKNOWN", msg)
                .detail(json!({ "digest": digest })),
            ManifestUnknown { reference, .. } => {
                ApiError::new(StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN", msg)
                    .detail(json!({ "reference": reference }))
            }
            NameUnknown { repo } => ApiError::new(StatusCode::NOT_FOUND, "NAME_UNKNOWN", msg)
                .detail(json!({ "name": repo })),
            UploadUnknown { .. } => {
                ApiError::new(StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN", msg)
            }
            RangeInvalid { size, .. } => ApiError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "BLOB_UPLOAD_INVALID",
                msg,
            )
            .header(header::RANGE, super::range_header(size)),
            DigestMismatch { expected, actual } => {
                ApiError::new(StatusCode::BAD_REQUEST, "DIGEST_INVALID", msg)
                    .detail(json!({ "expected": expected, "actual": actual }))
            }
            TooLarge { limit } => ApiError::too_large(limit),
            SizeInvalid { .. } => ApiError::new(StatusCode::BAD_REQUEST, "SIZE_INVALID", msg),
            ManifestInvalid(inner) => ApiError::new(
                StatusCode::BAD_REQUEST,
                "MANIFEST_INVALID",
                format!("{msg}: {inner}"),
            ),
            ManifestSizeMismatch { .. } => {
                ApiError::new(StatusCode::BAD_REQUEST, "MANIFEST_INVALID", msg)
            }
            ManifestBlobUnknown { digest, .. } => {
                ApiError::new(StatusCode::BAD_REQUEST, "MANIFEST_BLOB_UNKNOWN", msg)
                    .detail(json!({ "digest": digest }))
            }
            Body(inner) => ApiError::new(
                StatusCode::BAD_REQUEST,
                "BLOB_UPLOAD_INVALID",
                format!("{msg}: {inner}"),
            ),
            Corrupt { .. } | Driver(_) => {
                tracing::error!(error = %e_chain(&e), "storage failure");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "UNKNOWN",
                    "storage failure",
                )
            }
        }
    }
}

fn e_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

impl From<NameError> for ApiError {
    fn from(e: NameError) -> ApiError {
        let msg = e.to_string();
        match e {
            NameError::InvalidName(n) => {
                ApiError::new(StatusCode::BAD_REQUEST, "NAME_INVALID", msg)
                    .detail(json!({ "name": n }))
            }
            // The spec has no tag code; distribution's TAG_INVALID is not in the OCI list, so an
            // invalid tag is an invalid manifest reference.
            NameError::InvalidTag(t) => {
                ApiError::new(StatusCode::BAD_REQUEST, "MANIFEST_INVALID", msg)
                    .detail(json!({ "tag": t }))
            }
            NameError::Digest(d) => d.into(),
        }
    }
}

impl From<DigestError> for ApiError {
    fn from(e: DigestError) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "DIGEST_INVALID", e.to_string())
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> ApiError {
        let msg = e.to_string();
        match &e {
            AuthError::Denied { repo, action, .. } => {
                ApiError::new(StatusCode::FORBIDDEN, "DENIED", msg)
                    .detail(json!({ "name": repo, "action": action }))
            }
            AuthError::Load { .. } => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "UNKNOWN",
                "auth unavailable",
            ),
            _ => {
                let mut err = ApiError::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", msg);
                if let Some(c) = e.challenge() {
                    err = err.header(header::WWW_AUTHENTICATE, c);
                }
                err
            }
        }
    }
}
