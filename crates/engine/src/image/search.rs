//! `GET /images/search` and `POST /auth`: a registry's search index (with docker's
//! `is-official`, `is-automated` and `stars` filters applied here), and credential checks.

use api_types::{AuthResponse, Filters, ImageSearchResponseItem};
use distribution::{AuthConfig, Credentials};

use super::ImageService;
use crate::error::{Error, Result};

/// Options of a search.
#[derive(Debug, Clone, Default)]
pub struct SearchOptions {
    /// `term`: `query` or `registry/query`.
    pub term: String,
    /// `limit` (1–100; default 25, as docker's).
    pub limit: Option<u32>,
    /// `filters`.
    pub filters: Filters,
    /// Credentials from `X-Registry-Auth`.
    pub auth: Option<AuthConfig>,
}

fn bool_filter(f: &Filters, name: &str) -> Result<Option<bool>> {
    match f.get(name).next() {
        None => Ok(None),
        Some("true") | Some("1") => Ok(Some(true)),
        Some("false") | Some("0") => Ok(Some(false)),
        Some(v) => Err(Error::invalid(format!("invalid filter '{name}={v}'"))),
    }
}

impl ImageService {
    /// Searches a registry's index.
    pub async fn search(&self, opts: SearchOptions) -> Result<Vec<ImageSearchResponseItem>> {
        let f = &opts.filters;
        f.validate(&["is-official", "is-automated", "stars"])
            .map_err(Error::from)?;
        let official = bool_filter(f, "is-official")?;
        let automated = bool_filter(f, "is-automated")?;
        let stars = match f.get("stars").next() {
            None => 0,
            Some(v) => v
                .parse::<i64>()
                .map_err(|_| Error::invalid(format!("invalid filter 'stars={v}'")))?,
        };
        let limit = opts.limit.unwrap_or(25);
        if !(1..=100).contains(&limit) {
            return Err(Error::invalid(format!(
                "limit {limit} is outside the range of [1, 100]"
            )));
        }
        if opts.term.trim().is_empty() {
            return Err(Error::invalid("a search term is required"));
        }
        let res = self
            .registries
            .search(&opts.term, Some(limit), opts.auth.clone())
            .await
            .map_err(Error::from)?;
        Ok(res
            .results
            .into_iter()
            .filter(|r| official.is_none_or(|o| r.is_official == o))
            .filter(|r| automated.is_none_or(|a| r.is_automated == a))
            .filter(|r| r.star_count >= stars)
            .take(limit as usize)
            .map(|r| ImageSearchResponseItem {
                description: r.description,
                is_official: r.is_official,
                is_automated: r.is_automated,
                name: r.name,
                star_count: r.star_count,
            })
            .collect())
    }

    /// `POST /auth`: checks the credentials against their registry.
    pub async fn login(&self, auth: AuthConfig) -> Result<AuthResponse> {
        let auth = auth.normalized().map_err(Error::from)?;
        let server = auth.serveraddress.clone();
        let token = self
            .registries
            .login(&server, auth)
            .await
            .map_err(Error::from)?;
        Ok(AuthResponse {
            status: "Login Succeeded".into(),
            identity_token: token.unwrap_or_default(),
        })
    }
}
