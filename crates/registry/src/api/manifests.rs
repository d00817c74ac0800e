//! Manifests, tags, referrers and the catalog (spec "Pulling manifests", "Pushing manifests",
//! "Listing tags", "Listing referrers", "Deleting"; distribution's `/v2/_catalog`).

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use serde_json::json;

use super::blobs::hv;
use super::{
    content_length, empty, json_response, query_param, ApiError, ApiResult, App, AppState,
};
use crate::auth::{Action, Need};
use crate::digest::Digest;
use crate::media;
use crate::name::{Reference, RepoName};
use crate::store::unix_now;

pub(super) async fn get(app: &App, repo: &RepoName, reference: &str, req: Request) -> ApiResult {
    app.authorize(req.headers(), Need::Repo(repo.as_str(), Action::Pull))
        .await?;
    let reference = Reference::parse(reference)?;
    let head = req.method() == Method::HEAD;
    let (link, body) = if head {
        (app.store.resolve(repo, &reference).await?, Body::empty())
    } else {
        let (link, bytes) = app.store.get_manifest(repo, &reference).await?;
        app.index.record_pull(repo);
        (link, Body::from(bytes))
    };
    let mut resp = Response::new(body);
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, hv(&link.media_type));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(link.size));
    h.insert("docker-content-digest", hv(link.digest.as_str()));
    h.insert(header::ETAG, hv(&format!("\"{}\"", link.digest)));
    Ok(resp)
}

pub(super) async fn put(app: &App, repo: &RepoName, reference: &str, req: Request) -> ApiResult {
    app.authorize(req.headers(), Need::Repo(repo.as_str(), Action::Push))
        .await?;
    let reference = Reference::parse(reference)?;
    let limit = app.limits.max_manifest_bytes;
    if content_length(req.headers()).is_some_and(|n| n > limit) {
        return Err(ApiError::too_large(limit));
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = axum::body::to_bytes(req.into_body(), limit as usize)
        .await
        .map_err(|_| ApiError::too_large(limit))?;
    let put = app
        .store
        .put_manifest(repo, &reference, content_type.as_deref(), body)
        .await?;
    match &reference {
        Reference::Tag(_) => app.index.tag_pushed(repo, &put.digest, unix_now()).await,
        // A push by digest adds no tag, but may create the repository.
        Reference::Digest(_) => app.index.touch(repo),
    }
    let mut headers = vec![
        ("location", format!("/v2/{repo}/manifests/{}", put.digest)),
        ("docker-content-digest", put.digest.to_string()),
    ];
    if let Some(s) = put.subject {
        headers.push(("oci-subject", s.to_string()));
    }
    Ok(empty(StatusCode::CREATED, &headers))
}

pub(super) async fn delete(app: &App, repo: &RepoName, reference: &str, req: Request) -> ApiResult {
    app.authorize(req.headers(), Need::Repo(repo.as_str(), Action::Delete))
        .await?;
    let reference = Reference::parse(reference)?;
    app.store.delete_manifest(repo, &reference).await?;
    if let Err(e) = app.index.refresh(repo).await {
        tracing::warn!(repo = %repo, error = %e, "index refresh failed");
    }
    Ok(empty(StatusCode::ACCEPTED, &[]))
}

/// `n` and `last` of a paginated listing.
fn pagination(uri: &http::Uri) -> Result<(Option<usize>, Option<String>), ApiError> {
    let n = match query_param(uri, "n") {
        None => None,
        Some(s) => Some(s.parse::<usize>().map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "PAGINATION_NUMBER_INVALID",
                format!("invalid number of results requested: {s:?}"),
            )
        })?),
    };
    Ok((n, query_param(uri, "last")))
}

/// Applies `last` and `n` to a sorted list; returns the page and, if there is more, the `Link`
/// header for the next page.
fn paginate(
    items: Vec<String>,
    n: Option<usize>,
    last: Option<&str>,
    path: &str,
) -> (Vec<String>, Option<String>) {
    let mut page: Vec<String> = items
        .into_iter()
        .filter(|i| last.is_none_or(|l| i.as_str() > l))
        .collect();
    let mut link = None;
    if let Some(n) = n {
        if page.len() > n {
            page.truncate(n);
            if let Some(last) = page.last() {
                let q = serde_urlencoded::to_string([("n", n.to_string()), ("last", last.clone())])
                    .unwrap_or_default();
                link = Some(format!("<{path}?{q}>; rel=\"next\""));
            }
        }
    }
    (page, link)
}

fn with_link(mut resp: Response, link: Option<String>) -> Response {
    if let Some(l) = link {
        if let Ok(v) = HeaderValue::from_str(&l) {
            resp.headers_mut().insert(header::LINK, v);
        }
    }
    resp
}

pub(super) async fn tags(app: &App, repo: &RepoName, req: Request) -> ApiResult {
    app.authorize(req.headers(), Need::Repo(repo.as_str(), Action::Pull))
        .await?;
    let (n, last) = pagination(req.uri())?;
    let mut all = app.store.tags(repo).await?;
    all.sort();
    let (page, link) = paginate(all, n, last.as_deref(), &format!("/v2/{repo}/tags/list"));
    let resp = json_response(
        StatusCode::OK,
        &json!({ "name": repo.as_str(), "tags": page }),
    );
    Ok(with_link(resp, link))
}

pub(super) async fn referrers(app: &App, repo: &RepoName, digest: &str, req: Request) -> ApiResult {
    app.authorize(req.headers(), Need::Repo(repo.as_str(), Action::Pull))
        .await?;
    let subject: Digest = digest.parse()?;
    let filter = query_param(req.uri(), "artifactType");
    let manifests = app
        .store
        .referrers(repo, &subject, filter.as_deref())
        .await?;
    let index = json!({
        "schemaVersion": 2,
        "mediaType": media::OCI_INDEX,
        "manifests": manifests,
    });
    let mut resp = json_response(StatusCode::OK, &index);
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(media::OCI_INDEX),
    );
    if filter.is_some() {
        resp.headers_mut().insert(
            "oci-filters-applied",
            HeaderValue::from_static("artifactType"),
        );
    }
    Ok(resp)
}

pub(super) async fn catalog(
    State(app): State<AppState>,
    headers: HeaderMap,
    uri: http::Uri,
) -> Response {
    match catalog_inner(&app, &headers, &uri).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn catalog_inner(app: &App, headers: &HeaderMap, uri: &http::Uri) -> ApiResult {
    let (n, last) = pagination(uri)?;
    let who = app.authorize(headers, Need::Listing).await?;
    let names: Vec<String> = app
        .index
        .all()
        .into_iter()
        .filter(|(name, _)| app.can_pull(&who, name))
        .map(|(name, _)| name.to_string())
        .collect();
    let (page, link) = paginate(names, n, last.as_deref(), "/v2/_catalog");
    let resp = json_response(StatusCode::OK, &json!({ "repositories": page }));
    Ok(with_link(resp, link))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pagination_links_to_the_next_page() {
        let items: Vec<String> = ["a", "b", "c", "d"].iter().map(|s| s.to_string()).collect();
        let (p, l) = paginate(items.clone(), Some(2), None, "/v2/x/tags/list");
        assert_eq!(p, vec!["a", "b"]);
        assert_eq!(l.unwrap(), "</v2/x/tags/list?n=2&last=b>; rel=\"next\"");
        let (p, l) = paginate(items.clone(), Some(2), Some("b"), "/p");
        assert_eq!((p, l), (vec!["c".to_string(), "d".to_string()], None));
        let (p, _) = paginate(items.clone(), Some(0), None, "/p");
        assert!(p.is_empty());
        let (p, l) = paginate(items, None, Some("c"), "/p");
        assert_eq!((p, l), (vec!["d".to_string()], None));
    }
}
