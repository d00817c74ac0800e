//! The token endpoint of the bearer-token flow: `GET /token?service=&scope=…` with optional
//! Basic credentials (Docker's client, skopeo), and `POST /token` with an OAuth2 password grant
//! (containerd tries it first). Both grant the requested scopes the access rules allow.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};

use super::{json_response, ApiError, AppState};
use crate::auth::{Identity, TokenService};
use crate::config::AuthMode;

fn no_tokens() -> Response {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "UNSUPPORTED",
        "this registry issues no tokens",
    )
    .into_response()
}

/// All values of `key` in a form-encoded string (`scope` may repeat).
fn values(pairs: &[(String, String)], key: &str) -> Vec<String> {
    pairs
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .collect()
}

/// The refusal of a request naming another service, if it does.
fn foreign_service(tokens: &TokenService, pairs: &[(String, String)]) -> Option<Response> {
    let s = values(pairs, "service").into_iter().next()?;
    (s != tokens.service()).then(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "UNSUPPORTED",
            format!("unknown service {s:?}"),
        )
        .into_response()
    })
}

fn token_service(app: &AppState) -> Option<&TokenService> {
    app.auth
        .tokens()
        .filter(|_| app.auth.mode() == AuthMode::Token)
}

/// `GET /token`.
pub async fn get(State(app): State<AppState>, headers: HeaderMap, raw: RawQuery) -> Response {
    let Some(tokens) = token_service(&app) else {
        return no_tokens();
    };
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(raw.0.as_deref().unwrap_or("")).unwrap_or_default();
    if let Some(r) = foreign_service(tokens, &pairs) {
        return r;
    }
    let who = match app.auth.basic_identity(&headers).await {
        Ok(Some(u)) => Identity::User(u),
        Ok(None) => Identity::Anonymous,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let scopes = values(&pairs, "scope");
    json_response(
        StatusCode::OK,
        &tokens.issue(&who, &scopes, app.auth.access()),
    )
}

/// OAuth2's error body (RFC 6749 §5.2).
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    json_response(
        status,
        &serde_json::json!({ "error": error, "error_description": description }),
    )
}

/// `POST /token` (form body): `grant_type=password` with `username` and `password`. Refresh
/// tokens are never issued, so `grant_type=refresh_token` is refused with 400, on which
/// clients fall back to `GET`.
pub async fn post(State(app): State<AppState>, body: Bytes) -> Response {
    let Some(tokens) = token_service(&app) else {
        return no_tokens();
    };
    let Ok(pairs) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "body is not a form",
        );
    };
    if let Some(r) = foreign_service(tokens, &pairs) {
        return r;
    }
    let field = |k: &str| values(&pairs, k).into_iter().next();
    if field("grant_type").as_deref() != Some("password") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "only the password grant is supported",
        );
    }
    let (Some(user), Some(pass)) = (field("username"), field("password")) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "username and password are required",
        );
    };
    if !app.auth.check_password(&user, &pass).await {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_grant",
            "wrong user name or password",
        );
    }
    // OAuth2 scopes are one space-separated parameter; issue() splits on spaces.
    let scopes = values(&pairs, "scope");
    json_response(
        StatusCode::OK,
        &tokens.issue(&Identity::User(user), &scopes, app.auth.access()),
    )
}
