//! Volumes (`/volumes…`) and the archive endpoints of `docker cp`
//! (`HEAD`/`GET`/`PUT /containers/{id}/archive`).

use base64::Engine as _;
use hyper::Method;
use tokio::io::AsyncRead;

use api_types::{
    ContainerPathStat, Filters, Volume, VolumeCreateOptions, VolumeListResponse,
    VolumePruneResponse,
};

use crate::body::{self, BodyReader};
use crate::error::{Error, Result};
use crate::request::Query;
use crate::Client;

/// The header that carries a path's stat.
const PATH_STAT: &str = "X-Docker-Container-Path-Stat";

fn filter_query(f: &Filters) -> Query {
    if f.is_empty() {
        Query::new()
    } else {
        Query::new().set("filters", f.to_json())
    }
}

fn path_stat(headers: &http::HeaderMap) -> Result<ContainerPathStat> {
    let raw = headers
        .get(PATH_STAT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let json = base64::engine::general_purpose::STANDARD
        .decode(raw)
        .map_err(|e| Error::Stream {
            message: format!("unable to decode container path stat header: {e}"),
        })?;
    serde_json::from_slice(&json).map_err(|source| Error::Decode {
        what: "container path stat",
        source,
    })
}

impl Client {
    /// `POST /volumes/create`.
    pub async fn volume_create(&self, opts: &VolumeCreateOptions) -> Result<Volume> {
        let resp = self
            .post_json("/volumes/create", Query::new(), "volume", opts)
            .await?;
        body::json(resp.into_body(), "volume").await
    }

    /// `GET /volumes?filters=`.
    pub async fn volume_list(&self, filters: &Filters) -> Result<VolumeListResponse> {
        self.get_json("/volumes", filter_query(filters), "volume list")
            .await
    }

    /// `GET /volumes/{name}`.
    pub async fn volume_inspect(&self, name: &str) -> Result<Volume> {
        self.get_json(&format!("/volumes/{name}"), Query::new(), "volume")
            .await
    }

    /// `DELETE /volumes/{name}?force=`.
    pub async fn volume_remove(&self, name: &str, force: bool) -> Result<()> {
        let q = Query::new().flag("force", force);
        self.send_discard(Method::DELETE, &format!("/volumes/{name}"), q)
            .await
    }

    /// `POST /volumes/prune?filters=`, the full report.
    pub async fn volume_prune(&self, filters: &Filters) -> Result<VolumePruneResponse> {
        let resp = self.post("/volumes/prune", filter_query(filters)).await?;
        body::json(resp.into_body(), "volume prune report").await
    }

    /// `HEAD /containers/{id}/archive?path=`: the stat of a path in a container.
    pub async fn container_stat_path(&self, id: &str, path: &str) -> Result<ContainerPathStat> {
        let q = Query::new().set("path", path);
        let resp = self
            .send(
                Method::HEAD,
                &format!("/containers/{id}/archive"),
                q,
                body::empty(),
                &[],
            )
            .await?;
        path_stat(resp.headers())
    }

    /// `GET /containers/{id}/archive?path=`: the stat of the path and a tar of it.
    pub async fn copy_from_container(
        &self,
        id: &str,
        path: &str,
    ) -> Result<(ContainerPathStat, BodyReader)> {
        let q = Query::new().set("path", path);
        let resp = self.get(&format!("/containers/{id}/archive"), q).await?;
        let stat = path_stat(resp.headers())?;
        Ok((stat, BodyReader::new(resp.into_body())))
    }

    /// `PUT /containers/{id}/archive?path=&noOverwriteDirNonDir=true[&copyUIDGID=true]`:
    /// extracts the tar `content` into the directory `path`.
    pub async fn copy_to_container<R>(
        &self,
        id: &str,
        path: &str,
        content: R,
        copy_uid_gid: bool,
    ) -> Result<()>
    where
        R: AsyncRead + Send + Sync + 'static,
    {
        let q = Query::new()
            .set("path", path)
            .set("noOverwriteDirNonDir", "true")
            .flag("copyUIDGID", copy_uid_gid);
        let resp = self
            .send(
                Method::PUT,
                &format!("/containers/{id}/archive"),
                q,
                body::from_reader(content),
                &[("Content-Type", "application/x-tar")],
            )
            .await?;
        body::collect(resp.into_body()).await?;
        Ok(())
    }
}
