//! Container networking mechanisms: everything the engine needs to give a container a network,
//! with no knowledge of containers' lifecycles or of the Engine API.
//!
//! Map of the crate:
//! - [`netns`]: network namespaces pinned on a file (the runtime spec points at the file).
//! - [`ipam`]: pure IP address management: subnet pools, subnets, gateways, addresses. The
//!   state is plain serialisable data the caller persists.
//! - [`driver`]: the [`driver::NetworkDriver`] trait and the `bridge`, `host` and `none`
//!   drivers. The bridge driver talks netlink through [`link`] and programs the firewall.
//! - [`firewall`]: berth's own nftables table (DNAT, masquerade, isolation, `--internal`).
//! - [`ports`]: `-p` specs, host ports held by bound sockets, the userland proxy, and the
//!   [`ports::PortPublisher`] that ties them to the firewall.
//! - [`dns`]: the embedded DNS server for user-defined networks (127.0.0.11 in each container).
//! - [`files`]: `/etc/hosts` and `/etc/resolv.conf` contents, legacy `--link` variables.
//! - [`sysctl`]: the few kernel switches networking depends on.
//!
//! Vocabulary: a **network** is a named L2 domain (for `bridge`, one Linux bridge); an
//! **endpoint** is one container's attachment to one network (a veth pair, its addresses);
//! a **netns path** is a file on which a network namespace is bind-mounted ([`netns::create`]);
//! a **published port** maps a host address and port to an endpoint's address and port.

pub mod dns;
pub mod driver;
pub mod files;
pub mod firewall;
pub mod ipam;
pub mod link;
pub mod netns;
pub mod ports;
pub mod sysctl;

/// What kind of failure an error is (the one `errdefs` vocabulary).
pub use errdefs::ErrorKind;
