//! Endpoints that move images and container filesystems around and account for disk space:
//! commit, changes (diff), export, save, load, image prune, system df, and the prunes of
//! `docker system prune`.

use crate::body::Upload;
use api_types::filters::Filters;
use api_types::{
    BuildCachePruneResponse, ContainerChange, ContainerConfig, DiskUsage, IdResponse,
    ImagePruneResponse, JsonMessage,
};
use hyper::Method;

use crate::body::{self, BodyReader, JsonStream};
use crate::error::{Error, Result};
use crate::request::Query;
use crate::Client;

/// Options of `POST /commit`.
#[derive(Debug, Clone, Default)]
pub struct CommitOptions {
    /// Repository (normalised name) to tag the image with.
    pub repo: Option<String>,
    pub tag: Option<String>,
    /// `--message`.
    pub comment: String,
    /// `--author`.
    pub author: String,
    /// `--change` instructions.
    pub changes: Vec<String>,
    /// Pause the container while committing (docker's default).
    pub pause: bool,
    /// A config to use instead of the container's.
    pub config: Option<ContainerConfig>,
}

impl Client {
    /// `POST /commit?container=…`: returns the new image's ID.
    pub async fn container_commit(&self, container: &str, opts: &CommitOptions) -> Result<String> {
        let mut q = Query::new()
            .set("container", container)
            .set("repo", opts.repo.clone().unwrap_or_default())
            .set("tag", opts.tag.clone().unwrap_or_default())
            .set("comment", opts.comment.clone())
            .set("author", opts.author.clone());
        for c in &opts.changes {
            q = q.set("changes", c.clone());
        }
        if !opts.pause {
            q = q.set("pause", "0");
        }
        let resp = match &opts.config {
            Some(c) => self.post_json("/commit", q, "commit config", c).await?,
            None => self.post("/commit", q).await?,
        };
        let r: IdResponse = body::json(resp.into_body(), "commit response").await?;
        Ok(r.id)
    }

    /// `GET /containers/{id}/changes`.
    pub async fn container_changes(&self, id: &str) -> Result<Vec<ContainerChange>> {
        let list: Option<Vec<ContainerChange>> = self
            .get_json(
                &format!("/containers/{id}/changes"),
                Query::new(),
                "container changes",
            )
            .await?;
        Ok(list.unwrap_or_default())
    }

    /// `GET /containers/{id}/export`: the tar, as a byte stream.
    pub async fn container_export(&self, id: &str) -> Result<BodyReader> {
        let resp = self
            .get(&format!("/containers/{id}/export"), Query::new())
            .await?;
        Ok(BodyReader::new(resp.into_body()))
    }

    /// `GET /images/get?names=…`: the archive, as a byte stream.
    pub async fn image_save(&self, names: &[String]) -> Result<BodyReader> {
        let mut q = Query::new();
        for n in names {
            q = q.set("names", n.clone());
        }
        let resp = self.get("/images/get", q).await?;
        Ok(BodyReader::new(resp.into_body()))
    }

    /// `POST /images/load?quiet=`: the archive is the body; the answer is a progress stream.
    pub async fn image_load(&self, tar: Upload, quiet: bool) -> Result<JsonStream<JsonMessage>> {
        let q = Query::new().set("quiet", if quiet { "1" } else { "0" });
        let headers = [("Content-Type", "application/x-tar")];
        let resp = self
            .send(Method::POST, "/images/load", q, tar.0, &headers)
            .await?;
        Ok(JsonStream::new(BodyReader::new(resp.into_body())))
    }

    /// `POST /images/prune?filters=`.
    pub async fn images_prune(&self, filters: &Filters) -> Result<ImagePruneResponse> {
        let resp = self.post("/images/prune", filter_query(filters)).await?;
        body::json(resp.into_body(), "image prune report").await
    }

    /// `POST /build/prune?filters=&all=`.
    pub async fn build_cache_prune(
        &self,
        filters: &Filters,
        all: bool,
    ) -> Result<BuildCachePruneResponse> {
        let q = filter_query(filters).flag("all", all);
        let resp = self.post("/build/prune", q).await?;
        body::json(resp.into_body(), "build cache prune report").await
    }

    /// `GET /system/df`.
    pub async fn disk_usage(&self) -> Result<DiskUsage> {
        let resp = self.get("/system/df", Query::new()).await?;
        let bytes = body::collect(resp.into_body()).await?;
        serde_json::from_slice(&bytes).map_err(|source| Error::Decode {
            what: "disk usage",
            source,
        })
    }
}

pub(crate) fn filter_query(f: &Filters) -> Query {
    if f.is_empty() {
        Query::new()
    } else {
        Query::new().set("filters", f.to_json())
    }
}
