//! Routes, one module per Engine API tag; each talks to one engine service.

pub mod archive;
pub mod attach_ws;
pub mod build;

pub mod commit;
pub mod containers;
pub mod copy;
pub mod exec;
pub mod images;
pub mod networks;
pub mod operate;
pub mod registry;
pub mod system;
pub mod usage;
pub mod volumes;

use axum::body::Bytes;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Parses a JSON body, naming the offending field on error (`HostConfig.Memory: invalid type…`).
pub fn json_body<T: DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    if body.is_empty() {
        return Err(ApiError::bad_request(
            "empty request body: expected a JSON object",
        ));
    }
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path.is_empty() || path == "." {
            ApiError::bad_request(format!("invalid JSON body: {inner}"))
        } else {
            ApiError::bad_request(format!("invalid JSON body: {path}: {inner}"))
        }
    })
}

/// Parses a query string into `T`, with a 400 naming the bad parameter.
pub fn query<T: DeserializeOwned>(raw: Option<&str>) -> Result<T, ApiError> {
    serde_urlencoded::from_str(raw.unwrap_or(""))
        .map_err(|e| ApiError::bad_request(format!("invalid query parameters: {e}")))
}

#[cfg(test)]
mod tests;
