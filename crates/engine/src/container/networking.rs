//! The container service's side of networking: the hooks that call the network service at
//! create (checks; legacy links resolved and recorded as dockerd records them), start (the
//! namespace's network stack, or another container's namespace for `container:<id>`), stop,
//! and `docker network connect/disconnect`. What only containers know — which container a
//! link or a `container:` mode names, whether it runs — is resolved here and handed over.

use std::path::PathBuf;
use std::sync::Arc;

use api_types::network::EndpointSettings;
use api_types::{ContainerConfig, HostConfig, NetworkingConfig};

use super::record::ContainerRecord;
use super::{shim, ContainerService, Inner};
use crate::error::{Error, Result};
use crate::network::{AttachRequest, Attachment, ContainerNet, LinkTarget, NetError, UserConfig};

/// The network service's view of a container record.
pub(crate) fn net_view(r: &ContainerRecord) -> ContainerNet<'_> {
    ContainerNet {
        id: &r.id,
        name: &r.name,
        hostname: &r.config.hostname,
        domainname: &r.config.domainname,
        host_config: &r.host_config,
        exposed: r.config.exposed_ports.as_ref(),
        attachments: &r.networks,
    }
}

/// One `--link` as given (`db`, `db:alias`) or as recorded (`/db:/web/alias`): the linked
/// container and the alias.
fn parse_link(link: &str) -> (String, String) {
    let (child, alias) = link.split_once(':').unwrap_or((link, link));
    let alias = alias.rsplit('/').next().unwrap_or(alias);
    (child.trim_start_matches('/').to_string(), alias.to_string())
}

/// What a start set up: the namespace the runtime joins, the one the container owns (removed
/// at teardown), and the environment its legacy links add.
pub(crate) struct NetStart {
    pub spec_netns: Option<PathBuf>,
    pub own_netns: Option<PathBuf>,
    pub link_env: Vec<String>,
}

impl ContainerService {
    /// Create-time: checks the container's networking, records its links as
    /// `/child:/name/alias`, normalises the network mode. Returns the attachments and the
    /// warnings for the client.
    pub(crate) fn plan_network(
        &self,
        c: ContainerNet<'_>,
        user: &ContainerConfig,
        host_config: &mut HostConfig,
        networking: &NetworkingConfig,
    ) -> Result<(Vec<Attachment>, Vec<String>)> {
        let mut links = Vec::new();
        for l in host_config.links.iter().flatten() {
            let (child, alias) = parse_link(l);
            let child = self
                .get(&child)
                .map_err(|_| Error::from(NetError::NoSuchContainerToLink(child.clone())))?
                .view();
            if child.host_config.network_mode == "host" {
                return Err(Error::invalid(
                    "conflicting options: host type networking can't be used with links. This would result in undefined behavior",
                ));
            }
            links.push(format!("/{}:/{}/{alias}", child.name, c.name));
        }
        if let Some(peer) = crate::network::container_mode(&host_config.network_mode) {
            // A 404 would make the docker CLI pull the image: the request is what is wrong.
            if !peer.is_empty() && self.get(peer).is_err() {
                return Err(Error::invalid(format!("No such container: {peer}")));
            }
        }
        let user = UserConfig {
            mac: user.mac_address.as_deref().unwrap_or(""),
            exposed: user.exposed_ports.as_ref().is_some_and(|p| !p.is_empty()),
            hostname: !user.hostname.is_empty(),
        };
        let view = ContainerNet { host_config, ..c };
        let plan = self.networks.plan(&view, &user, networking)?;
        if !links.is_empty() {
            host_config.links = Some(links);
        }
        host_config.network_mode = plan.network_mode;
        Ok((plan.attachments, plan.warnings))
    }

    /// A record from before berth had networks: its attachments are those its network mode
    /// names (kept from its next write on).
    pub(crate) fn migrate_networks(&self, rec: &mut ContainerRecord) {
        if rec.networks_recorded {
            return;
        }
        rec.networks_recorded = true;
        let mut hc = rec.host_config.clone();
        hc.links = None;
        let view = ContainerNet {
            host_config: &hc,
            ..net_view(rec)
        };
        match self
            .networks
            .plan(&view, &UserConfig::default(), &NetworkingConfig::default())
        {
            Ok(plan) => {
                rec.networks = plan.attachments;
                rec.host_config.network_mode = plan.network_mode;
            }
            Err(e) => {
                tracing::warn!(container_id = %rec.id, error = %e, "giving an old container its network")
            }
        }
    }

    /// The legacy links of a starting container; each linked container must be running.
    pub(crate) fn link_targets(&self, r: &ContainerRecord) -> Result<Vec<LinkTarget>> {
        let mut out = Vec::new();
        for l in r.host_config.links.iter().flatten() {
            let (child, alias) = parse_link(l);
            let child = self.get(&child)?.view();
            if !child.state.status().is_running() {
                return Err(Error::Conflict(format!(
                    "Cannot link to a non running container: /{} AS /{}/{alias}",
                    child.name, r.name
                )));
            }
            out.push(LinkTarget {
                name: format!("/{}/{alias}", r.name),
                alias,
                container_id: child.id.clone(),
                container_name: child.name.clone(),
                hostname: child.config.hostname.clone(),
                env: child.config.env.clone().unwrap_or_default(),
                exposed: child
                    .config
                    .exposed_ports
                    .iter()
                    .flatten()
                    .map(|(k, _)| k.clone())
                    .collect(),
            });
        }
        Ok(out)
    }

    /// Before the bundle is written: where the container's network namespace comes from
    /// and what its links add to its environment. For `container:<id>`, the other
    /// container's namespace, host name and files.
    pub(crate) fn prepare_network(&self, inner: &mut Inner) -> Result<NetStart> {
        let r = &inner.record;
        let mode = r.host_config.network_mode.clone();
        if mode == "host" {
            return Ok(NetStart {
                spec_netns: None,
                own_netns: None,
                link_env: Vec::new(),
            });
        }
        if let Some(peer) = crate::network::container_mode(&mode) {
            let peer = self.get(peer)?.view();
            if !peer.state.status().is_running() {
                return Err(Error::Conflict(format!(
                    "cannot join network of a non running container: {}",
                    peer.id
                )));
            }
            let (from, to) = (self.paths(&peer.id), self.paths(&r.id));
            for (src, dst) in [
                (from.hosts(), to.hosts()),
                (from.resolv(), to.resolv()),
                (from.hostname(), to.hostname()),
            ] {
                std::fs::copy(&src, &dst).map_err(|e| Error::file(&dst, e))?;
            }
            let spec_netns = (peer.host_config.network_mode != "host")
                .then(|| self.cfg.exec_root.join("netns").join(&peer.id));
            inner.record.config.hostname = peer.config.hostname.clone();
            inner.record.config.domainname = peer.config.domainname.clone();
            return Ok(NetStart {
                spec_netns,
                own_netns: None,
                link_env: Vec::new(),
            });
        }
        let links = self.link_targets(r)?;
        let link_env = self.networks.link_env(&links)?;
        let ns = self.cfg.exec_root.join("netns").join(&r.id);
        Ok(NetStart {
            spec_netns: Some(ns.clone()),
            own_netns: Some(ns),
            link_env,
        })
    }

    /// Makes the container's own namespace (if it has one) and its network stack. Returns
    /// whether the namespace was made (teardown removes it) and how the stack went.
    pub(crate) async fn setup_network(
        &self,
        r: &ContainerRecord,
        own_netns: Option<&std::path::Path>,
    ) -> (bool, Result<()>) {
        let mut made = false;
        if let Some(ns) = own_netns {
            let ns = ns.to_path_buf();
            let res = tokio::task::spawn_blocking(move || shim::create_netns(&ns))
                .await
                .map_err(Error::task("netns"))
                .and_then(|r| r);
            if let Err(e) = res {
                return (false, Err(e));
            }
            made = true;
        }
        if crate::network::container_mode(&r.host_config.network_mode).is_some() {
            return (made, Ok(()));
        }
        let links = match self.link_targets(r) {
            Ok(l) => l,
            Err(e) => return (made, Err(e)),
        };
        let dir = self.paths(&r.id).dir;
        let req = AttachRequest {
            container: net_view(r),
            netns: own_netns,
            dir: &dir,
            links: &links,
        };
        (made, self.networks.attach(&req).await.map_err(Error::from))
    }

    /// `POST /networks/{id}/connect`: recorded for a stopped container, made at once for a
    /// running one.
    pub async fn connect_network(
        self: &Arc<Self>,
        key: &str,
        network: &str,
        settings: Option<EndpointSettings>,
    ) -> Result<()> {
        let c = self.get(key)?;
        let mut inner = c.inner.lock().await;
        let a = self
            .networks
            .plan_connect(&net_view(&inner.record), network, settings.as_ref())?;
        let mut record = inner.record.clone();
        record.networks.push(a.clone());
        if inner.shim.is_some() {
            let dir = self.paths(&c.id).dir;
            self.networks.connect(&net_view(&record), &a, &dir).await?;
        }
        if let Err(e) = self.persist(&c, &record).await {
            if inner.shim.is_some() {
                let dir = self.paths(&c.id).dir;
                let _ = self
                    .networks
                    .disconnect(&net_view(&record), &a.network_id, &dir)
                    .await;
            }
            return Err(e);
        }
        inner.record = record;
        Ok(())
    }

    /// `POST /networks/{id}/disconnect`.
    pub async fn disconnect_network(self: &Arc<Self>, key: &str, network: &str) -> Result<()> {
        let c = self.get(key)?;
        let net = self.networks.find(network)?;
        let mut inner = c.inner.lock().await;
        let Some(pos) = inner
            .record
            .networks
            .iter()
            .position(|a| a.network_id == net.id || a.network == net.name)
        else {
            return Err(NetError::NotConnected {
                container: c.id.clone(),
                network: net.name,
            }
            .into());
        };
        if net.driver == "host" {
            return Err(Error::invalid(
                "container cannot be disconnected from host network or connected to host network",
            ));
        }
        if inner.shim.is_some() {
            let dir = self.paths(&c.id).dir;
            self.networks
                .disconnect(&net_view(&inner.record), &net.id, &dir)
                .await?;
        }
        let mut record = inner.record.clone();
        record.networks.remove(pos);
        if record.networks.is_empty() && record.host_config.network_mode == net.name {
            // dockerd leaves the mode as it was: the container then has no network.
            tracing::debug!(container_id = %c.id, "container left its last network");
        }
        self.persist(&c, &record).await?;
        inner.record = record;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_parse_as_given_and_as_recorded() {
        assert_eq!(parse_link("db"), ("db".into(), "db".into()));
        assert_eq!(parse_link("db:data"), ("db".into(), "data".into()));
        assert_eq!(parse_link("/db:/web/data"), ("db".into(), "data".into()));
    }
}
