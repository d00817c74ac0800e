//! Published ports: `-p` specs ([`parse_port_spec`]), host ports held by bound sockets
//! ([`PortAllocator`]), the userland proxy ([`Proxy`]) and the [`PortPublisher`] that ties
//! them to the firewall's DNAT rules for one endpoint.

mod alloc;
mod proxy;
mod publish;
mod spec;

pub use alloc::{ephemeral_range, HeldSocket, PortAllocator, PortError, PortLease};
pub(crate) use proxy::connect_udp;
pub use proxy::{Proxy, UDP_IDLE};
pub use publish::{PortPublisher, PublishRequest, PublishTarget, PublishedPort};
pub use spec::{
    parse_port_range, parse_port_spec, parse_port_specs, PortMapping, PortSpecError, Proto,
};
