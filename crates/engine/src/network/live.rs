//! Changes to a running container's network stack: `docker network connect` and
//! `disconnect` while it runs (an interface more or less, its DNS names, hosts and
//! resolv.conf rewritten in place), and a rename (its DNS names follow).

use std::path::Path;

use network::dns::ContainerDns;

use super::hostfiles::{self, ResolvKind};
use super::plan::ContainerNet;
use super::record::Attachment;
use super::sandbox::{dns_record, endpoint_spec};
use super::{NetError, NetworkService, Result};

impl NetworkService {
    /// Connects a running container to one more network (`docker network connect`).
    pub async fn connect(&self, c: &ContainerNet<'_>, a: &Attachment, dir: &Path) -> Result<()> {
        let _op = self.op.lock().await;
        let Some(mut sb) = self.sandbox_of(c.id) else {
            return Err(NetError::Conflict(format!(
                "container {} is not running",
                c.id
            )));
        };
        let net = self.network_of(a)?;
        if sb.endpoint(&net.id).is_some() {
            return Err(NetError::AlreadyConnected {
                container: c.name.to_string(),
                network: net.name,
            });
        }
        let used: Vec<&str> = sb.endpoints.iter().map(|e| e.ifname.as_str()).collect();
        let ifname = (0..)
            .map(|n| format!("eth{n}"))
            .find(|n| !used.contains(&n.as_str()))
            .unwrap_or_default();
        let first_route = !sb.endpoints.iter().any(|e| e.default_route);
        let ep = self
            .new_endpoint(c, &net, a, &ifname, first_route, &sb.netns)
            .await?;
        sb.endpoints.push(ep.clone());
        let res = async {
            if net.has_dns() {
                let rec = dns_record(c, a, &ep);
                self.dns.update(|r| r.add_endpoint(&net.id, &ep.id, rec));
                if !sb.dns {
                    let (_, up) =
                        hostfiles::resolv(&self.cfg, c.host_config, ResolvKind::Internal)?;
                    self.dns
                        .attach(ContainerDns {
                            container_id: c.id.to_string(),
                            netns: sb.netns.clone(),
                            upstreams: up.clone(),
                            forward: !net.internal,
                            listen: network::dns::server::LISTEN,
                        })
                        .await?;
                    sb.dns = true;
                    sb.dns_upstreams = up;
                }
            }
            self.write_hosts_resolv(c, &sb, dir, &[])?;
            self.save_sandbox(&sb).await
        }
        .await;
        if let Err(e) = res {
            sb.endpoints.pop();
            self.dns.update(|r| r.remove_endpoint(&net.id, &ep.id));
            let spec = endpoint_spec(&sb, &ep);
            self.disconnect_driver(&net, &spec, false).await;
            self.release_addresses(&net.id, &ep.addresses);
            return Err(e);
        }
        self.write(|s| s.sandboxes.insert(c.id.to_string(), sb));
        self.event("connect", &net, Some(c.id));
        Ok(())
    }

    /// Disconnects a running container from a network (its veth is deleted at once).
    pub async fn disconnect(
        &self,
        c: &ContainerNet<'_>,
        network_id: &str,
        dir: &Path,
    ) -> Result<()> {
        let _op = self.op.lock().await;
        let Some(mut sb) = self.sandbox_of(c.id) else {
            return Ok(());
        };
        let net = self.network_of_id(network_id)?;
        let Some(pos) = sb.endpoints.iter().position(|e| e.network_id == network_id) else {
            return Err(NetError::NotConnected {
                container: c.id.to_string(),
                network: net.name,
            });
        };
        let ep = sb.endpoints.remove(pos);
        if ep.default_route {
            let _ = self.publisher.unpublish(&ep.id).await;
        }
        self.dns.update(|r| r.remove_endpoint(&net.id, &ep.id));
        let spec = endpoint_spec(&sb, &ep);
        self.disconnect_driver(&net, &spec, false).await;
        self.release_addresses(&net.id, &ep.addresses);
        let dns_left = sb
            .endpoints
            .iter()
            .any(|e| self.network_of_id(&e.network_id).is_ok_and(|n| n.has_dns()));
        if sb.dns && !dns_left {
            self.dns.detach(c.id).await;
            sb.dns = false;
        }
        let res = self.write_hosts_resolv(c, &sb, dir, &[]);
        self.save_sandbox(&sb).await?;
        self.write(|s| s.sandboxes.insert(c.id.to_string(), sb));
        self.event("disconnect", &net, Some(c.id));
        res
    }

    /// A container was renamed: its DNS names follow.
    pub async fn renamed(&self, c: &ContainerNet<'_>) {
        let _op = self.op.lock().await;
        let Some(mut sb) = self.sandbox_of(c.id) else {
            return;
        };
        sb.container_name = c.name.to_string();
        self.register_dns(c, &sb);
        if let Err(e) = self.save_sandbox(&sb).await {
            tracing::warn!(container_id = %c.id, error = %e, "saving sandbox state");
        }
        self.write(|s| s.sandboxes.insert(c.id.to_string(), sb));
    }
}
