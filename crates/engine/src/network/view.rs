//! How a container's networking is shown: `NetworkSettings` in inspect (filled as dockerd
//! fills it: the configured part of each network always, the operational part while it
//! runs, the deprecated top-level fields from the default bridge's endpoint), the
//! `NetworkSettings.Networks` and `Ports` of a `ps` row.

use std::collections::BTreeMap;

use api_types::network::EndpointSettings;
use api_types::{NetworkSettings, Port};

use super::plan::ContainerNet;
use super::NetworkService;

impl NetworkService {
    /// `NetworkSettings.Networks`: every attachment, with its endpoint's data while the
    /// container runs.
    pub fn endpoints_of(&self, c: &ContainerNet<'_>) -> BTreeMap<String, EndpointSettings> {
        let sb = self.read(|s| s.sandboxes.get(c.id).cloned());
        c.attachments
            .iter()
            .map(|a| {
                let mut s = a.settings();
                if let Some(ep) = sb.as_ref().and_then(|sb| sb.endpoint(&a.network_id)) {
                    ep.fill(&mut s);
                }
                (a.network.clone(), s)
            })
            .collect()
    }

    /// The whole `NetworkSettings` of inspect.
    pub fn settings(&self, c: &ContainerNet<'_>) -> NetworkSettings {
        let networks = self.endpoints_of(c);
        let sb = self.read(|s| s.sandboxes.get(c.id).cloned());
        let mut out = NetworkSettings {
            networks,
            ..Default::default()
        };
        if c.host_config.network_mode == "bridge" && self.cfg.bridge_flag {
            out.bridge = self.cfg.bridge.clone().unwrap_or_default();
        }
        if let Some(sb) = &sb {
            out.sandbox_id = sb.sandbox_id.clone();
            out.sandbox_key = sb.netns.display().to_string();
            if let Some(ep) = sb.gateway_endpoint() {
                out.ports = ep.port_map();
            }
        }
        if let Some(b) = out.networks.get("bridge").filter(|_| sb.is_some()) {
            out.endpoint_id = b.endpoint_id.clone();
            out.gateway = b.gateway.clone();
            out.global_ipv6_address = b.global_ipv6_address.clone();
            out.global_ipv6_prefix_len = b.global_ipv6_prefix_len;
            out.ip_address = b.ip_address.clone();
            out.ip_prefix_len = b.ip_prefix_len;
            out.ipv6_gateway = b.ipv6_gateway.clone();
            out.mac_address = b.mac_address.clone();
        }
        out
    }

    /// The `Ports` of a `ps` row: each exposed port, with its host bindings when published
    /// (empty while the container does not run).
    pub fn ports_of(&self, container_id: &str) -> Vec<Port> {
        let Some(ep) = self.read(|s| {
            s.sandboxes
                .get(container_id)
                .and_then(|sb| sb.gateway_endpoint().cloned())
        }) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (port, proto) in &ep.exposed {
            let published: Vec<_> = ep
                .ports
                .iter()
                .filter(|p| p.container_port == *port && p.proto == *proto)
                .collect();
            if published.is_empty() {
                out.push(Port {
                    ip: String::new(),
                    private_port: *port,
                    public_port: None,
                    r#type: proto.to_string(),
                });
            }
            for p in published {
                out.push(Port {
                    ip: p.host_ip.to_string(),
                    private_port: p.container_port,
                    public_port: Some(p.host_port),
                    r#type: p.proto.to_string(),
                });
            }
        }
        out
    }
}
