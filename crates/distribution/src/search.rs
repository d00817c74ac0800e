//! `docker search`: a registry's `/v1/search` (Docker Hub's shape), term `host/query` for
//! registries other than Docker Hub.

use std::sync::Arc;

use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::auth::AuthConfig;
use crate::error::{Error, Result};
use crate::registry::{AuthState, Endpoint, Registries, Req};

/// Docker Hub's search index host.
pub const INDEX_HOST: &str = "index.docker.io";

/// One search hit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchResult {
    /// Repository name (prefixed with the registry for registries other than Docker Hub).
    #[serde(default)]
    pub name: String,
    /// Short description.
    #[serde(default)]
    pub description: String,
    /// Stars.
    #[serde(default)]
    pub star_count: i64,
    /// An official image.
    #[serde(default)]
    pub is_official: bool,
    /// Built automatically (deprecated by Docker Hub; kept for the response shape).
    #[serde(default)]
    pub is_automated: bool,
}

/// A `/v1/search` answer.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SearchResults {
    /// Hits the index reports in total.
    #[serde(default)]
    pub num_results: i64,
    /// The query as sent.
    #[serde(default)]
    pub query: String,
    /// The hits.
    #[serde(default)]
    pub results: Vec<SearchResult>,
}

/// Splits `host/query` into the registry and the query; terms without a registry host go to
/// Docker Hub.
pub fn split_term(term: &str) -> (&str, &str) {
    if let Some((first, rest)) = term.split_once('/') {
        if first.contains(['.', ':']) || first == "localhost" {
            return (first, rest);
        }
    }
    ("docker.io", term)
}

impl Registries {
    /// Searches the registry named in `term` (Docker Hub by default) for `limit` hits.
    pub async fn search(
        self: &Arc<Self>,
        term: &str,
        limit: Option<u32>,
        creds: Option<AuthConfig>,
    ) -> Result<SearchResults> {
        let (domain, query) = split_term(term);
        let auth = Arc::new(AuthState::new(creds));
        let hub = matches!(domain, "docker.io" | INDEX_HOST);
        let ep = if hub {
            Endpoint {
                base: format!("https://{INDEX_HOST}"),
                host: INDEX_HOST.to_string(),
                mirror_ns: None,
                client: self.client(INDEX_HOST)?,
                auth,
            }
        } else {
            self.origin(domain, auth).await?
        };
        let mut path = format!(
            "/v1/search?q={}",
            percent_encoding::utf8_percent_encode(query, percent_encoding::NON_ALPHANUMERIC)
        );
        if let Some(n) = limit {
            path.push_str(&format!("&n={n}"));
        }
        let resp = ep.send(Req::new(Method::GET, &path, &[])).await?;
        if !resp.status().is_success() {
            return Err(ep.status_error(&Method::GET, resp).await);
        }
        let url = resp.url().to_string();
        let body = resp
            .bytes()
            .await
            .map_err(|e| Error::transport("GET", &url, e))?;
        let mut r: SearchResults = serde_json::from_slice(&body).map_err(|e| Error::Invalid {
            what: format!("search answer of {}", ep.host),
            reason: e.to_string(),
        })?;
        if !hub {
            // So that a hit can be pulled as shown.
            for res in &mut r.results {
                res.name = format!("{domain}/{}", res.name);
            }
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms() {
        assert_eq!(split_term("busybox"), ("docker.io", "busybox"));
        assert_eq!(split_term("user/app"), ("docker.io", "user/app"));
        assert_eq!(split_term("127.0.0.1:5000/bu"), ("127.0.0.1:5000", "bu"));
        assert_eq!(split_term("localhost/x"), ("localhost", "x"));
    }
}
