//! The one place an error kind becomes an HTTP status (moby's `httpstatus`), and the
//! `{"message": …}` body every error response carries.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use engine::{Error as EngineError, ErrorKind};

/// An error on its way to the client.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    /// 400 with a message.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    /// 404 with a message.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
        }
    }
}

/// Maps an error kind to its HTTP status.
pub fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::InvalidArgument => StatusCode::BAD_REQUEST,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::NotModified => StatusCode::NOT_MODIFIED,
        ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::NotImplemented => StatusCode::NOT_IMPLEMENTED,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> ApiError {
        let status = status_of(e.kind());
        if status.is_server_error() {
            tracing::error!(error = %e, "request failed");
        }
        ApiError {
            status,
            message: e.to_string(),
        }
    }
}

impl From<engine::volume::VolumeError> for ApiError {
    fn from(e: engine::volume::VolumeError) -> ApiError {
        EngineError::from(e).into()
    }
}

impl From<engine::network::NetError> for ApiError {
    fn from(e: engine::network::NetError) -> ApiError {
        EngineError::from(e).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status == StatusCode::NOT_MODIFIED {
            // A 304 has no body.
            return self.status.into_response();
        }
        let body = serde_json::to_vec(&api_types::ErrorResponse {
            message: self.message,
        })
        .unwrap_or_default();
        (
            self.status,
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response()
    }
}

/// Makes every error response JSON `{"message": …}`: the rejections of axum's extractors
/// (a body over the size limit, a missing content type …) are plain text, and the docker CLI
/// and docker-py read `message`.
pub async fn ensure_json(resp: Response) -> Response {
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if status.as_u16() < 400 || is_json {
        return resp;
    }
    // These bodies are short texts made by the server itself.
    let body = axum::body::to_bytes(resp.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&body).trim().to_string();
    ApiError {
        status,
        message: if text.is_empty() {
            status.canonical_reason().unwrap_or("error").to_string()
        } else {
            text
        },
    }
    .into_response()
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
