//! Container networking: network namespaces, and (later) bridges, veth pairs, IPAM, port
//! publishing and the `/etc/hosts` entries for links.
