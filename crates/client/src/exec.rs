//! Exec: `POST /containers/{id}/exec`, `POST /exec/{id}/start` (detached, or hijacked like
//! attach), `POST /exec/{id}/resize` and `GET /exec/{id}/json`, in the docker CLI's order:
//! create, start (attached: the stream; detached: at once), resize, then inspect for the exit
//! code once the stream ended.

use api_types::{ExecConfig, ExecInspect, ExecStartConfig, IdResponse};
use hyper::Method;

use crate::attach::AttachConn;
use crate::body;
use crate::error::{Error, Result};
use crate::request::Query;
use crate::Client;

impl Client {
    /// `POST /containers/{id}/exec`: returns the exec's id.
    pub async fn exec_create(&self, container: &str, config: &ExecConfig) -> Result<String> {
        let path = format!("/containers/{container}/exec");
        let resp = self
            .post_json(&path, Query::new(), "exec config", config)
            .await?;
        let id: IdResponse = body::json(resp.into_body(), "exec create response").await?;
        Ok(id.id)
    }

    /// `POST /exec/{id}/start` with `Detach: true`: returns once the process runs.
    pub async fn exec_start_detached(&self, id: &str, config: &ExecStartConfig) -> Result<()> {
        let path = format!("/exec/{id}/start");
        let config = ExecStartConfig {
            detach: true,
            ..config.clone()
        };
        let resp = self
            .post_json(&path, Query::new(), "exec start config", &config)
            .await?;
        body::collect(resp.into_body()).await?;
        Ok(())
    }

    /// `POST /exec/{id}/start`, hijacked: the exec's stdio both ways (raw with a TTY,
    /// multiplexed without).
    pub async fn exec_attach(&self, id: &str, config: &ExecStartConfig) -> Result<AttachConn> {
        let path = format!("/exec/{id}/start");
        let bytes = serde_json::to_vec(config).map_err(|source| Error::Encode {
            what: "exec start config",
            source,
        })?;
        self.hijack_with(&path, Query::new(), body::full(bytes), "application/json")
            .await
    }

    /// `POST /exec/{id}/resize?h=&w=`.
    pub async fn exec_resize(&self, id: &str, height: u16, width: u16) -> Result<()> {
        let path = format!("/exec/{id}/resize");
        let q = Query::new()
            .set("h", height.to_string())
            .set("w", width.to_string());
        self.send_discard(Method::POST, &path, q).await
    }

    /// `GET /exec/{id}/json`.
    pub async fn exec_inspect(&self, id: &str) -> Result<ExecInspect> {
        let path = format!("/exec/{id}/json");
        self.get_json(&path, Query::new(), "exec inspect").await
    }
}
