//! `/networks/...`: create, list, inspect, remove, connect, disconnect, prune.

use api_types::filters::Filters;
use api_types::network::{
    EndpointSettings, Network, NetworkConnectRequest, NetworkCreateRequest, NetworkCreateResponse,
    NetworkDisconnectRequest, NetworkPruneResponse,
};
use hyper::Method;

use crate::body;
use crate::error::Result;
use crate::image_ops::filter_query;
use crate::request::Query;
use crate::Client;

impl Client {
    /// `POST /networks/create`.
    pub async fn network_create(
        &self,
        req: &NetworkCreateRequest,
    ) -> Result<NetworkCreateResponse> {
        let resp = self
            .post_json("/networks/create", Query::new(), "network create", req)
            .await?;
        body::json(resp.into_body(), "network create response").await
    }

    /// `GET /networks?filters=`.
    pub async fn network_list(&self, filters: &Filters) -> Result<Vec<Network>> {
        self.get_json("/networks", filter_query(filters), "network list")
            .await
    }

    /// `GET /networks/{id}`.
    pub async fn network_inspect(&self, id: &str) -> Result<Network> {
        self.get_json(&format!("/networks/{id}"), Query::new(), "network")
            .await
    }

    /// `DELETE /networks/{id}`.
    pub async fn network_remove(&self, id: &str) -> Result<()> {
        self.send_discard(Method::DELETE, &format!("/networks/{id}"), Query::new())
            .await
    }

    /// `POST /networks/{id}/connect`.
    pub async fn network_connect(
        &self,
        id: &str,
        container: &str,
        settings: Option<EndpointSettings>,
    ) -> Result<()> {
        let req = NetworkConnectRequest {
            container: container.to_string(),
            endpoint_config: settings,
        };
        let resp = self
            .post_json(
                &format!("/networks/{id}/connect"),
                Query::new(),
                "network connect",
                &req,
            )
            .await?;
        body::collect(resp.into_body()).await?;
        Ok(())
    }

    /// `POST /networks/{id}/disconnect`.
    pub async fn network_disconnect(&self, id: &str, container: &str, force: bool) -> Result<()> {
        let req = NetworkDisconnectRequest {
            container: container.to_string(),
            force,
        };
        let resp = self
            .post_json(
                &format!("/networks/{id}/disconnect"),
                Query::new(),
                "network disconnect",
                &req,
            )
            .await?;
        body::collect(resp.into_body()).await?;
        Ok(())
    }

    /// `POST /networks/prune?filters=`.
    pub async fn networks_prune(&self, filters: &Filters) -> Result<NetworkPruneResponse> {
        let resp = self.post("/networks/prune", filter_query(filters)).await?;
        body::json(resp.into_body(), "network prune report").await
    }
}
