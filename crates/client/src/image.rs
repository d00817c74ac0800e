//! Image endpoints: import and pull (`POST /images/create`), list, inspect, tag, delete,
//! history.

use crate::body::Upload;
use api_types::filters::Filters;
use api_types::{
    HistoryResponseItem, ImageDeleteResponseItem, ImageInspect, ImageSummary, JsonMessage,
};
use bytes::Bytes;
use hyper::Method;

use crate::body::{self, BodyReader, JsonStream};
use crate::error::{Error, Result};
use crate::request::Query;
use crate::Client;

/// Options of an import (`docker import`): the tar is the request body.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// `-` (the body) or a URL the daemon fetches.
    pub from_src: String,
    /// Repository (optionally `repo:tag`) to tag the result with.
    pub repo: Option<String>,
    pub tag: Option<String>,
    /// Commit message (`-m`).
    pub message: Option<String>,
    /// Dockerfile instructions to apply (`-c`), one query value each.
    pub changes: Vec<String>,
    pub platform: Option<String>,
}

/// Options of a pull (`POST /images/create?fromImage=`).
#[derive(Debug, Clone, Default)]
pub struct PullOptions {
    /// Familiar or full repository name, without tag.
    pub from_image: String,
    /// Tag or digest; docker sends `latest` when none is given.
    pub tag: Option<String>,
    pub platform: Option<String>,
    /// Base64url JSON credentials for `X-Registry-Auth`.
    pub registry_auth: Option<String>,
}

/// Options of `GET /images/json`.
#[derive(Debug, Clone, Default)]
pub struct ListImagesOptions {
    /// Include intermediate images (`-a`).
    pub all: bool,
    pub filters: Filters,
    /// Compute `SharedSize`.
    pub shared_size: bool,
}

impl Client {
    /// `POST /images/create?fromSrc=-…` with `tar` as the body; the progress stream ends
    /// with the new image id as a `status`.
    pub async fn image_import(
        &self,
        opts: &ImportOptions,
        tar: Upload,
    ) -> Result<JsonStream<JsonMessage>> {
        let mut q = Query::new()
            .set("fromSrc", opts.from_src.clone())
            .opt("repo", opts.repo.as_deref())
            .opt("tag", opts.tag.as_deref())
            .opt("message", opts.message.as_deref())
            .opt("platform", opts.platform.as_deref().map(str::to_lowercase));
        for c in &opts.changes {
            q = q.set("changes", c.clone());
        }
        let headers = [("Content-Type", "application/x-tar")];
        let resp = self
            .send(Method::POST, "/images/create", q, tar.0, &headers)
            .await?;
        Ok(JsonStream::new(BodyReader::new(resp.into_body())))
    }

    /// `POST /images/create?fromImage=&tag=`: a pull, as progress messages.
    pub async fn image_pull(&self, opts: &PullOptions) -> Result<JsonStream<JsonMessage>> {
        let q = Query::new()
            .set("fromImage", opts.from_image.clone())
            .opt("tag", opts.tag.as_deref())
            .opt("platform", opts.platform.as_deref());
        let auth = opts.registry_auth.as_deref().unwrap_or("");
        let headers = [("X-Registry-Auth", auth)];
        let resp = self
            .send(Method::POST, "/images/create", q, body::empty(), &headers)
            .await?;
        Ok(JsonStream::new(BodyReader::new(resp.into_body())))
    }

    /// `GET /images/json`.
    pub async fn image_list(&self, opts: &ListImagesOptions) -> Result<Vec<ImageSummary>> {
        let mut q = Query::new()
            .flag("all", opts.all)
            .flag("shared-size", opts.shared_size);
        if !opts.filters.is_empty() {
            q = q.set("filters", opts.filters.to_json());
        }
        self.get_json("/images/json", q, "image list").await
    }

    /// `GET /images/{name}/json`.
    pub async fn image_inspect(&self, name: &str) -> Result<ImageInspect> {
        let bytes = self.image_inspect_raw(name).await?;
        serde_json::from_slice(&bytes).map_err(|source| Error::Decode {
            what: "image inspect",
            source,
        })
    }

    /// `GET /images/{name}/json`, the body as sent.
    pub async fn image_inspect_raw(&self, name: &str) -> Result<Bytes> {
        let resp = self
            .get(&format!("/images/{name}/json"), Query::new())
            .await?;
        body::collect(resp.into_body()).await
    }

    /// `POST /images/{source}/tag?repo=&tag=`.
    pub async fn image_tag(&self, source: &str, repo: &str, tag: Option<&str>) -> Result<()> {
        let q = Query::new().set("repo", repo).opt("tag", tag);
        self.send_discard(Method::POST, &format!("/images/{source}/tag"), q)
            .await
    }

    /// `DELETE /images/{name}?force=&noprune=`.
    pub async fn image_remove(
        &self,
        name: &str,
        force: bool,
        no_prune: bool,
    ) -> Result<Vec<ImageDeleteResponseItem>> {
        let q = Query::new().flag("force", force).flag("noprune", no_prune);
        let resp = self
            .send(
                Method::DELETE,
                &format!("/images/{name}"),
                q,
                body::empty(),
                &[],
            )
            .await?;
        body::json(resp.into_body(), "image delete response").await
    }

    /// `GET /images/{name}/history`.
    pub async fn image_history(&self, name: &str) -> Result<Vec<HistoryResponseItem>> {
        self.get_json(
            &format!("/images/{name}/history"),
            Query::new(),
            "image history",
        )
        .await
    }
}

/// Drains a progress stream, returning every message, or the stream's error if it ended with
/// one (`errorDetail`). Convenient for tests and for `--quiet` callers.
pub async fn collect_progress(mut stream: JsonStream<JsonMessage>) -> Result<Vec<JsonMessage>> {
    let mut out = Vec::new();
    while let Some(msg) = stream.next().await {
        let msg = msg?;
        if let Some(detail) = &msg.error_detail {
            return Err(Error::Stream {
                message: detail.message.clone(),
            });
        }
        if let Some(e) = &msg.error {
            return Err(Error::Stream { message: e.clone() });
        }
        out.push(msg);
    }
    Ok(out)
}
