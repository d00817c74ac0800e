//! Registry-facing bodies: credentials (`POST /auth`, `X-Registry-Auth`), the login answer,
//! and search hits (`GET /images/search`).

use serde::{Deserialize, Serialize};

/// Credentials for a registry, as `POST /auth` takes them and as the base64url JSON of the
/// `X-Registry-Auth` header (moby's `registry.AuthConfig`: lower-case keys).
#[derive(Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct AuthConfig {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub username: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub password: String,
    /// `base64(username:password)`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub auth: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub email: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub serveraddress: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub identitytoken: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub registrytoken: String,
}

impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthConfig")
            .field("username", &self.username)
            .field("serveraddress", &self.serveraddress)
            .finish_non_exhaustive()
    }
}

/// The answer of `POST /auth`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct AuthResponse {
    #[serde(rename = "Status")]
    pub status: String,
    #[serde(
        rename = "IdentityToken",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub identity_token: String,
}

/// One hit of `GET /images/search` (snake_case on the wire, as Docker Hub's).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ImageSearchResponseItem {
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub is_official: bool,
    #[serde(default)]
    pub is_automated: bool,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub star_count: i64,
}
