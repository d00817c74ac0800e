//! Operating running containers: stats (one sample or a stream), pause, unpause, update.

use api_types::stats::StatsResponse;
use api_types::{UpdateConfig, UpdateResponse};
use hyper::Method;

use crate::body::{self, BodyReader, JsonStream};
use crate::error::Result;
use crate::request::Query;
use crate::Client;

impl Client {
    /// `GET /containers/{id}/stats?stream=`: one sample (`stream=false`, with `precpu_stats`
    /// primed by the daemon) or a sample a second until dropped.
    pub async fn container_stats(
        &self,
        id: &str,
        stream: bool,
    ) -> Result<JsonStream<StatsResponse>> {
        let path = format!("/containers/{id}/stats");
        let q = Query::new().set("stream", if stream { "1" } else { "0" });
        let resp = self.get(&path, q).await?;
        Ok(JsonStream::new(BodyReader::new(resp.into_body())))
    }

    /// `POST /containers/{id}/pause`.
    pub async fn container_pause(&self, id: &str) -> Result<()> {
        let path = format!("/containers/{id}/pause");
        self.send_discard(Method::POST, &path, Query::new()).await
    }

    /// `POST /containers/{id}/unpause`.
    pub async fn container_unpause(&self, id: &str) -> Result<()> {
        let path = format!("/containers/{id}/unpause");
        self.send_discard(Method::POST, &path, Query::new()).await
    }

    /// `POST /containers/{id}/update`.
    pub async fn container_update(&self, id: &str, cfg: &UpdateConfig) -> Result<UpdateResponse> {
        let path = format!("/containers/{id}/update");
        let resp = self
            .post_json(&path, Query::new(), "update config", cfg)
            .await?;
        body::json(resp.into_body(), "update response").await
    }
}
