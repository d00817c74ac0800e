//! `docker network create/ls/inspect/rm/prune`: networks as objects. Create checks the
//! whole request before it makes anything, and undoes what it made when a later step fails.

use std::collections::BTreeMap;
use std::sync::Arc;

use api_types::network::{
    EndpointResource, Network, NetworkCreateRequest, NetworkCreateResponse, NetworkPruneResponse,
};
use api_types::Filters;
use network::driver::{default_bridge_name, parse_bridge_options, NetworkDriver};
use network::ipam::{validate_config, IpamConfigInput, NetworkRequest};

use super::record::{NetworkRecord, TABLE};
use super::{new_id, NetError, NetworkService, Result};
use crate::clock;

const PREDEFINED: &[&str] = &["bridge", "host", "none", "default"];

fn invalid(msg: impl Into<String>) -> NetError {
    NetError::Invalid(msg.into())
}

/// Refuses what berth does not implement in a create request, by name.
fn check_request(req: &NetworkCreateRequest) -> Result<()> {
    if let Some(field) = req.extra.keys().next() {
        return Err(invalid(format!(
            "{field} is not supported by berth's network create"
        )));
    }
    if req.name.is_empty() {
        return Err(invalid("network name cannot be empty"));
    }
    if PREDEFINED.contains(&req.name.as_str()) {
        return Err(NetError::Predefined(format!(
            "operation is not permitted on predefined {} network ",
            req.name
        )));
    }
    match req.driver.as_str() {
        "" | "bridge" => {}
        d @ ("host" | "null") => {
            return Err(NetError::Predefined(format!(
                "only one instance of \"{d}\" network is allowed"
            )))
        }
        d => {
            return Err(invalid(format!(
                "network driver \"{d}\" is not supported by berth (bridge only)"
            )))
        }
    }
    if !matches!(req.scope.as_str(), "" | "local") {
        return Err(invalid(format!(
            "scope \"{}\" is not supported by berth (local only)",
            req.scope
        )));
    }
    for (set, what) in [
        (req.ingress, "--ingress"),
        (req.config_only, "--config-only"),
        (
            req.config_from
                .as_ref()
                .is_some_and(|c| !c.network.is_empty()),
            "--config-from",
        ),
    ] {
        if set {
            return Err(invalid(format!("{what} is not supported by berth")));
        }
    }
    if let Some(ipam) = &req.ipam {
        if !matches!(ipam.driver.as_str(), "" | "default") {
            return Err(invalid(format!(
                "IPAM driver \"{}\" is not supported by berth (default only)",
                ipam.driver
            )));
        }
        if let Some(k) = ipam.options.iter().flatten().map(|(k, _)| k).next() {
            return Err(invalid(format!(
                "IPAM option {k} is not supported by the default IPAM driver"
            )));
        }
    }
    Ok(())
}

impl NetworkService {
    /// `POST /networks/create`.
    #[tracing::instrument(skip(self, req), fields(network = %req.name))]
    pub async fn create(&self, req: NetworkCreateRequest) -> Result<NetworkCreateResponse> {
        check_request(&req)?;
        let mut options = req.options.clone().unwrap_or_default();
        if options.contains_key("com.docker.network.bridge.default_bridge") {
            return Err(invalid(
                "com.docker.network.bridge.default_bridge: only the daemon's default bridge has it",
            ));
        }
        let opts = parse_bridge_options(&options)?;
        let enable_ipv6 = req.enable_ipv6.unwrap_or(false);
        let enable_ipv4 = req.enable_ipv4.unwrap_or(true);
        if !enable_ipv4 && !enable_ipv6 {
            return Err(invalid("IPv4 or IPv6 must be enabled"));
        }
        let inputs: Vec<IpamConfigInput> = req
            .ipam
            .iter()
            .flat_map(|i| i.config.iter().flatten())
            .map(|c| IpamConfigInput {
                subnet: c.subnet.clone(),
                ip_range: c.ip_range.clone(),
                gateway: c.gateway.clone(),
                aux_addresses: c.aux_addresses.clone(),
            })
            .collect();
        let subnets = validate_config(&inputs, enable_ipv6)?;
        let _op = self.op.lock().await;
        if self.read(|s| s.networks.values().any(|n| n.name == req.name)) {
            return Err(NetError::NameInUse(req.name));
        }
        let id = new_id();
        let bridge = opts
            .name
            .clone()
            .unwrap_or_else(|| default_bridge_name(&id));
        if self.read(|s| s.networks.values().any(|n| n.bridge == bridge)) {
            return Err(NetError::Conflict(format!(
                "bridge name {bridge} is already used by another network"
            )));
        }
        options.retain(|k, _| !k.is_empty());
        let avoid = self.bridge.netlink().host_prefixes().await?;
        let ipam_req = NetworkRequest {
            id: id.clone(),
            name: req.name.clone(),
            ipv4: enable_ipv4,
            ipv6: enable_ipv6,
            subnets,
        };
        let allocated = self.write(|s| {
            s.ipam
                .add_network(&ipam_req, &avoid)
                .map(|n| n.subnets.clone())
        })?;
        let rec = NetworkRecord {
            id: id.clone(),
            name: req.name.clone(),
            driver: "bridge".into(),
            created: clock::now_nanos(),
            internal: req.internal,
            enable_ipv4,
            enable_ipv6,
            attachable: req.attachable,
            options,
            labels: req.labels.clone().unwrap_or_default(),
            ipam_options: req.ipam.as_ref().and_then(|i| i.options.clone()),
            subnets: allocated,
            bridge,
            mtu: opts.mtu.unwrap_or(self.cfg.mtu),
            masquerade: opts.masquerade,
            host_binding_ipv4: opts.host_binding_ipv4,
            predefined: false,
        };
        if let Err(e) = self.make_network(&rec).await {
            self.write(|s| s.ipam.remove_network(&id));
            return Err(e);
        }
        self.event("create", &rec, None);
        Ok(NetworkCreateResponse {
            id,
            warning: String::new(),
        })
    }

    /// Kernel objects, then the record; the kernel objects go again if the record fails.
    async fn make_network(&self, rec: &NetworkRecord) -> Result<()> {
        self.bridge.validate(&rec.spec())?;
        self.bridge.create(&rec.spec()).await?;
        if let Err(e) = self.persist(rec).await {
            let _ = self.bridge.delete(&rec.spec()).await;
            return Err(e);
        }
        if rec.enable_ipv6 && self.cfg.ip_forward {
            network::sysctl::enable_ipv6_forwarding()?;
        }
        self.dns.update(|r| r.add_network(&rec.id, &rec.name));
        self.write(|s| s.networks.insert(rec.id.clone(), rec.clone()));
        Ok(())
    }

    pub(super) async fn persist(&self, rec: &NetworkRecord) -> Result<()> {
        let store = self.store.clone();
        let rec = rec.clone();
        tokio::task::spawn_blocking(move || store.db().write(|tx| tx.put(TABLE, &rec.id, &rec)))
            .await
            .map_err(|_| NetError::Task("persist network"))??;
        Ok(())
    }

    /// `DELETE /networks/{id}`: 409 while containers run on it.
    #[tracing::instrument(skip(self))]
    pub async fn remove(&self, term: &str) -> Result<()> {
        let _op = self.op.lock().await;
        let net = self.find(term)?;
        if net.predefined {
            return Err(NetError::Predefined(format!(
                "{} is a pre-defined network and cannot be removed",
                net.name
            )));
        }
        let endpoints: Vec<String> = self.read(|s| {
            let mut v: Vec<String> = s
                .sandboxes
                .values()
                .filter_map(|sb| {
                    sb.endpoint(&net.id).map(|ep| {
                        format!(
                            "name:{:?} id:{:?}",
                            sb.container_name,
                            ep.id.chars().take(12).collect::<String>()
                        )
                    })
                })
                .collect();
            v.sort();
            v
        });
        if !endpoints.is_empty() {
            return Err(NetError::ActiveEndpoints {
                network: net.name,
                endpoints,
            });
        }
        self.bridge.delete(&net.spec()).await?;
        let store = self.store.clone();
        let id = net.id.clone();
        tokio::task::spawn_blocking(move || store.db().write(|tx| tx.delete(TABLE, &id)))
            .await
            .map_err(|_| NetError::Task("remove network"))??;
        self.write(|s| {
            s.networks.remove(&net.id);
            s.ipam.remove_network(&net.id);
        });
        self.dns.update(|r| r.remove_network(&net.id));
        self.event("destroy", &net, None);
        Ok(())
    }

    /// The containers running on a network, by container id (network inspect).
    fn containers_on(&self, network_id: &str) -> BTreeMap<String, EndpointResource> {
        self.read(|s| {
            s.sandboxes
                .values()
                .filter_map(|sb| {
                    sb.endpoint(network_id)
                        .map(|ep| (sb.container_id.clone(), ep.resource(&sb.container_name)))
                })
                .collect()
        })
    }

    /// `GET /networks/{id}`.
    pub fn inspect(&self, term: &str) -> Result<Network> {
        let net = self.find(term)?;
        Ok(net.to_api(self.containers_on(&net.id)))
    }

    /// `GET /networks`: every network matching `filters` (`driver`, `id`, `label`, `name`,
    /// `scope`, `type`, `dangling`), without their containers, as dockerd lists them.
    pub fn list(&self, filters: &Filters) -> Result<Vec<Network>> {
        filters
            .validate(&["driver", "id", "label", "name", "scope", "type", "dangling"])
            .map_err(|e| invalid(e.to_string()))?;
        for t in filters.get("type") {
            if !matches!(t, "custom" | "builtin") {
                return Err(invalid(format!("invalid filter: 'type'='{t}'")));
            }
        }
        let nets: Vec<NetworkRecord> = self.read(|s| s.networks.values().cloned().collect());
        let mut out = Vec::new();
        for n in nets {
            if !self.matches(&n, filters)? {
                continue;
            }
            out.push(n.to_api(BTreeMap::new()));
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn matches(&self, n: &NetworkRecord, f: &Filters) -> Result<bool> {
        let any = |key: &str, pred: &dyn Fn(&str) -> bool| !f.contains(key) || f.get(key).any(pred);
        let used = || self.read(|s| s.sandboxes.values().any(|sb| sb.endpoint(&n.id).is_some()));
        let dangling = match f.get("dangling").next() {
            None => true,
            Some("true" | "1") => !n.predefined && !used(),
            Some("false" | "0") => n.predefined || used(),
            Some(v) => return Err(invalid(format!("invalid filter 'dangling={v}'"))),
        };
        Ok(dangling
            && any("driver", &|d| d == n.driver)
            && any("id", &|p| n.id.starts_with(p))
            && any("name", &|p| n.name.contains(p))
            && any("scope", &|s| s == "local")
            && any("type", &|t| (t == "builtin") == n.predefined)
            && f.match_labels(&n.labels))
    }

    /// `POST /networks/prune`: removes the user-defined networks no container runs on.
    pub async fn prune(self: &Arc<Self>, filters: &Filters) -> Result<NetworkPruneResponse> {
        filters
            .validate(&["until", "label", "label!"])
            .map_err(|e| invalid(e.to_string()))?;
        let until = match filters.get("until").next() {
            Some(u) => Some(
                clock::parse_timestamp(u)
                    .ok_or_else(|| invalid(format!("invalid until value: {u}")))?,
            ),
            None => None,
        };
        let candidates: Vec<NetworkRecord> = self.read(|s| {
            s.networks
                .values()
                .filter(|n| !n.predefined)
                .filter(|n| !s.sandboxes.values().any(|sb| sb.endpoint(&n.id).is_some()))
                .cloned()
                .collect()
        });
        let mut deleted = Vec::new();
        for n in candidates {
            if until.is_some_and(|u| n.created >= u) || !filters.match_labels(&n.labels) {
                continue;
            }
            let excluded = filters
                .get("label!")
                .any(|want| match want.split_once('=') {
                    Some((k, v)) => n.labels.get(k).is_some_and(|have| have == v),
                    None => n.labels.contains_key(want),
                });
            if excluded {
                continue;
            }
            match self.remove(&n.id).await {
                Ok(()) => deleted.push(n.name),
                Err(e) => tracing::warn!(network = %n.name, error = %e, "prune"),
            }
        }
        if !deleted.is_empty() {
            let attrs = BTreeMap::from([("reclaimed".to_string(), "0".to_string())]);
            self.events.publish("network", "prune", "", attrs);
        }
        Ok(NetworkPruneResponse {
            networks_deleted: (!deleted.is_empty()).then_some(deleted),
        })
    }
}
