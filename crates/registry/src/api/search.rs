//! Docker's v1 search (`GET /v1/search?q=&n=&page=`, what `docker search HOST/term` calls through
//! the daemon, after `GET /v1/_ping`) in Docker Hub's response shape.

use axum::extract::{Query, State};
use axum::response::Response;
use http::{HeaderMap, HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};

use super::{json_response, ApiError, AppState};
use crate::auth::Identity;

/// Query of `/v1/search`.
#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    /// The search term.
    #[serde(default)]
    pub q: String,
    /// Page size (default 25, at most 100).
    pub n: Option<String>,
    /// 1-based page.
    pub page: Option<String>,
}

/// One search hit, as Docker Hub's v1 search returns it.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SearchResult {
    /// Repository name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Always 0: no stars here.
    pub star_count: u64,
    /// Whether it is an official image (never, here).
    pub is_official: bool,
    /// Whether it is an automated build (never, here).
    pub is_automated: bool,
    /// Manifest pulls.
    pub pull_count: u64,
}

/// The v1 search response.
#[derive(Debug, Serialize, Deserialize)]
pub struct SearchResults {
    /// Pages at this page size.
    pub num_pages: usize,
    /// Total hits.
    pub num_results: usize,
    /// This page.
    pub page: usize,
    /// Page size.
    pub page_size: usize,
    /// The query.
    pub query: String,
    /// The hits.
    pub results: Vec<SearchResult>,
}

/// `GET /v1/_ping`: the daemon checks it before searching a registry.
pub async fn ping() -> Response {
    let mut resp = json_response(StatusCode::OK, &serde_json::json!({"standalone": true}));
    resp.headers_mut()
        .insert("x-docker-registry-version", HeaderValue::from_static("2.0"));
    resp.headers_mut().insert(
        "x-docker-registry-standalone",
        HeaderValue::from_static("true"),
    );
    resp
}

fn bad_number(what: &str, v: &str) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "PAGINATION_NUMBER_INVALID",
        format!("invalid {what} {v:?}: want a positive integer"),
    )
}

/// Runs a search as `who` sees it (the UI shares this).
pub fn run_search(
    app: &crate::api::App,
    who: &Identity,
    q: &str,
    n: usize,
    page: usize,
) -> SearchResults {
    let hits = app.index.search(q, |name| app.can_pull(who, name));
    let total = hits.len();
    let results = hits
        .into_iter()
        .skip((page - 1).saturating_mul(n))
        .take(n)
        .map(|(name, s)| SearchResult {
            name: name.to_string(),
            description: s.description,
            star_count: 0,
            is_official: false,
            is_automated: false,
            pull_count: s.pulls,
        })
        .collect();
    SearchResults {
        num_pages: total.div_ceil(n).max(1),
        num_results: total,
        page,
        page_size: n,
        query: q.to_owned(),
        results,
    }
}

/// `GET /v1/search`.
pub async fn search(
    State(app): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<SearchQuery>,
) -> Result<Response, ApiError> {
    let who = app.auth.listing_identity(&headers).await?;
    let n = match q.n.as_deref() {
        None | Some("") => 25,
        Some(s) => s
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| bad_number("n", s))?
            .min(100),
    };
    let page = match q.page.as_deref() {
        None | Some("") => 1,
        Some(s) => s
            .parse::<usize>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| bad_number("page", s))?,
    };
    Ok(json_response(
        StatusCode::OK,
        &run_search(&app, &who, &q.q, n, page),
    ))
}
