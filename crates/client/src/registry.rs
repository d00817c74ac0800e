//! Registry endpoints: push (`POST /images/{name}/push`), search (`GET /images/search`),
//! login (`POST /auth`), and the `X-Registry-Auth` encoding they (and pull) use.

use api_types::filters::Filters;
use api_types::{AuthConfig, AuthResponse, ImageSearchResponseItem, JsonMessage};
use base64::Engine as _;
use hyper::Method;

use crate::body::{self, BodyReader, JsonStream};
use crate::error::Result;
use crate::request::Query;
use crate::Client;

/// `X-Registry-Auth`: base64url of the credentials' JSON (`{}` when anonymous).
pub fn encode_auth(auth: Option<&AuthConfig>) -> String {
    let json = match auth {
        Some(a) => serde_json::to_vec(a).unwrap_or_else(|_| b"{}".to_vec()),
        None => b"{}".to_vec(),
    };
    base64::engine::general_purpose::URL_SAFE.encode(json)
}

/// Options of `GET /images/search`.
#[derive(Debug, Clone, Default)]
pub struct SearchOptions {
    pub term: String,
    pub limit: Option<u32>,
    pub filters: Filters,
    pub registry_auth: Option<String>,
}

impl Client {
    /// `POST /images/{name}/push?tag=`: the push's progress messages. `tag` empty pushes
    /// every local tag of the repository.
    pub async fn image_push(
        &self,
        name: &str,
        tag: Option<&str>,
        registry_auth: &str,
    ) -> Result<JsonStream<JsonMessage>> {
        let q = Query::new().opt("tag", tag);
        let headers = [("X-Registry-Auth", registry_auth)];
        let resp = self
            .send(
                Method::POST,
                &format!("/images/{name}/push"),
                q,
                body::empty(),
                &headers,
            )
            .await?;
        Ok(JsonStream::new(BodyReader::new(resp.into_body())))
    }

    /// `GET /images/search`.
    pub async fn image_search(&self, opts: &SearchOptions) -> Result<Vec<ImageSearchResponseItem>> {
        let mut q = Query::new()
            .set("term", opts.term.clone())
            .opt("limit", opts.limit.map(|l| l.to_string()).as_deref());
        if !opts.filters.is_empty() {
            q = q.set("filters", opts.filters.to_json());
        }
        let auth = opts.registry_auth.as_deref().unwrap_or("");
        let headers = [("X-Registry-Auth", auth)];
        let resp = self
            .send(Method::GET, "/images/search", q, body::empty(), &headers)
            .await?;
        body::json(resp.into_body(), "search results").await
    }

    /// `POST /auth`: checks credentials with their registry.
    pub async fn login(&self, auth: &AuthConfig) -> Result<AuthResponse> {
        let resp = self
            .post_json("/auth", Query::new(), "auth config", auth)
            .await?;
        body::json(resp.into_body(), "login answer").await
    }
}
