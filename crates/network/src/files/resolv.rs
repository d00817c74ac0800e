//! A container's `/etc/resolv.conf`, built from the host's as dockerd builds it (moby
//! `libnetwork/internal/resolvconf`):
//! - parse the host's file, apply `--dns`, `--dns-search`, `--dns-option` overrides;
//! - **legacy** networks (the default bridge, no embedded DNS): drop loopback nameservers
//!   (they only work in the host's namespace) and IPv6 ones when the container has no IPv6;
//!   fall back to Google's public resolvers when nothing is left;
//! - **internal resolver** (user-defined networks): the only nameserver is 127.0.0.11 and
//!   the host's (or overridden) nameservers become the embedded DNS server's upstreams;
//!   `ndots:0` is added unless an ndots option is already there;
//! - host networking: the host's file with the overrides.
//!
//! The generated text ends with dockerd's trailing comments (`# Based on host file …`,
//! `# ExtServers: […]`, `# Overrides: […]`), which tools and users read when debugging.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::FilesError;

/// The embedded DNS server's address inside every container on a user-defined network.
pub const INTERNAL_NAMESERVER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 11));

/// The options the embedded DNS server needs (dockerd's `ResolverOptions`).
pub const INTERNAL_RESOLVER_OPTIONS: &[&str] = &["ndots:0"];

/// dockerd's fallback nameservers when the host leaves none usable.
const FALLBACK_V4: [Ipv4Addr; 2] = [Ipv4Addr::new(8, 8, 8, 8), Ipv4Addr::new(8, 8, 4, 4)];
const FALLBACK_V6: [Ipv6Addr; 2] = [
    Ipv6Addr::new(0x2001, 0x4860, 0x4860, 0, 0, 0, 0, 0x8888),
    Ipv6Addr::new(0x2001, 0x4860, 0x4860, 0, 0, 0, 0, 0x8844),
];

/// An upstream of the embedded DNS server, as taken out of the file by
/// [`ResolvConf::transform_for_internal_resolver`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtServer {
    /// The nameserver's address.
    pub addr: IpAddr,
    /// It came from the host's file (so it is reached from the host's namespace, where a
    /// loopback address such as 127.0.0.53 works); `false` for `--dns` overrides.
    pub host_loopback: bool,
}

impl std::fmt::Display for ExtServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host_loopback {
            write!(f, "host({})", self.addr)
        } else {
            write!(f, "{}", self.addr)
        }
    }
}

/// A parsed resolv.conf plus where its parts came from (for the trailing comments).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolvConf {
    nameservers: Vec<IpAddr>,
    search: Vec<String>,
    options: Vec<String>,
    other: Vec<String>,
    source_path: String,
    header: String,
    ns_override: bool,
    search_override: bool,
    options_override: bool,
    ndots_from: &'static str,
    transform: &'static str,
    invalid_nameservers: Vec<String>,
    ext_servers: Vec<ExtServer>,
    warnings: Vec<&'static str>,
}

impl ResolvConf {
    /// Parses the host's file; `source_path` is only quoted in the trailing comment.
    pub fn parse(content: &str, source_path: &str) -> Self {
        let mut rc = ResolvConf {
            source_path: source_path.to_string(),
            ..Default::default()
        };
        for line in content.lines() {
            rc.parse_line(line);
        }
        if rc.option("ndots").is_some() {
            rc.ndots_from = "host";
        }
        rc
    }

    fn parse_line(&mut self, line: &str) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            return;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields.as_slice() {
            [] => {}
            ["nameserver", addr, ..] => match addr.parse::<IpAddr>() {
                Ok(a) => self.nameservers.push(a),
                Err(_) => self.invalid_nameservers.push(addr.to_string()),
            },
            ["domain" | "search", rest @ ..] if !rest.is_empty() => {
                // Only the last search (or obsolete domain) line counts.
                self.search = rest.iter().map(|s| s.to_string()).collect();
            }
            ["options", rest @ ..] if !rest.is_empty() => {
                self.options.extend(rest.iter().map(|s| s.to_string()));
            }
            ["nameserver" | "domain" | "search" | "options"] => {}
            _ => self.other.push(line.to_string()),
        }
    }

    /// Sets the comment block written at the top.
    pub fn set_header(&mut self, header: &str) {
        self.header = header.to_string();
    }

    /// The nameservers.
    pub fn nameservers(&self) -> &[IpAddr] {
        &self.nameservers
    }

    /// The search domains.
    pub fn search(&self) -> &[String] {
        &self.search
    }

    /// The options.
    pub fn options(&self) -> &[String] {
        &self.options
    }

    /// The value of the last option called `name` (`""` for a bare flag).
    pub fn option(&self, name: &str) -> Option<&str> {
        self.options.iter().rev().find_map(|o| {
            let (k, v) = o.split_once(':').unwrap_or((o.as_str(), ""));
            (k == name).then_some(v)
        })
    }

    /// `--dns`: replaces the nameservers (each must be an IP address).
    pub fn override_nameservers(&mut self, servers: &[String]) -> Result<(), FilesError> {
        self.nameservers = servers
            .iter()
            .map(|s| {
                s.parse().map_err(|_| FilesError::BadNameserver {
                    value: s.to_string(),
                })
            })
            .collect::<Result<_, _>>()?;
        self.ns_override = true;
        Ok(())
    }

    /// `--dns-search`: replaces the search domains (`.` alone means none).
    pub fn override_search(&mut self, search: &[String]) {
        self.search = search.iter().filter(|s| *s != ".").cloned().collect();
        self.search_override = true;
    }

    /// `--dns-option`: replaces the options.
    pub fn override_options(&mut self, options: &[String]) {
        self.options = options.to_vec();
        self.ndots_from = if self.option("ndots").is_some() {
            "override"
        } else {
            ""
        };
        self.options_override = true;
    }

    /// For a network without embedded DNS: keep only nameservers usable from the
    /// container, falling back to Google's when none is left (unless `--dns` was given).
    pub fn transform_for_legacy_network(&mut self, ipv6: bool) {
        self.transform = "legacy";
        if self.ns_override {
            return;
        }
        self.nameservers
            .retain(|a| !a.is_loopback() && (a.is_ipv4() || ipv6));
        if self.nameservers.is_empty() {
            self.nameservers = FALLBACK_V4.iter().map(|a| IpAddr::V4(*a)).collect();
            if ipv6 {
                self.nameservers
                    .extend(FALLBACK_V6.iter().map(|a| IpAddr::V6(*a)));
            }
            self.warnings.push("Used default nameservers.");
        }
    }

    /// For a network with the embedded DNS server: the file lists only `internal_ns`, and
    /// the nameservers it had are returned as the server's upstreams.
    pub fn transform_for_internal_resolver(
        &mut self,
        internal_ns: IpAddr,
        required_options: &[&str],
    ) -> Vec<ExtServer> {
        self.ext_servers = self
            .nameservers
            .iter()
            .map(|addr| ExtServer {
                addr: *addr,
                host_loopback: !self.ns_override,
            })
            .collect();
        self.nameservers = vec![internal_ns];
        for opt in required_options {
            let name = opt.split_once(':').map_or(*opt, |(k, _)| k);
            if name == "ndots" {
                self.options.retain(|o| valid_ndots(o));
            }
            if self.option(name).is_none() {
                if opt.starts_with("ndots:") {
                    self.ndots_from = "internal";
                }
                self.options.push(opt.to_string());
            }
        }
        self.transform = "internal resolver";
        if self.ext_servers.is_empty() {
            self.warnings.push("NO EXTERNAL NAMESERVERS DEFINED");
        }
        self.ext_servers.clone()
    }

    /// The file's text; `comments` adds the header and the trailing notes.
    pub fn generate(&self, comments: bool) -> String {
        let mut out = String::new();
        if comments && !self.header.is_empty() {
            out.push_str(&self.header);
            out.push_str("\n\n");
        }
        for ns in &self.nameservers {
            out.push_str(&format!("nameserver {ns}\n"));
        }
        if !self.search.is_empty() {
            out.push_str(&format!("search {}\n", self.search.join(" ")));
        }
        if !self.options.is_empty() {
            out.push_str(&format!("options {}\n", self.options.join(" ")));
        }
        for o in &self.other {
            out.push_str(o);
            out.push('\n');
        }
        if comments {
            self.trailing_comments(&mut out);
        }
        out
    }

    fn trailing_comments(&self, out: &mut String) {
        out.push_str(&format!("\n# Based on host file: '{}'", self.source_path));
        if !self.transform.is_empty() {
            out.push_str(&format!(" ({})", self.transform));
        }
        out.push('\n');
        for w in &self.warnings {
            out.push_str(&format!("# {w}\n"));
        }
        if !self.ext_servers.is_empty() {
            let list: Vec<String> = self.ext_servers.iter().map(|e| e.to_string()).collect();
            out.push_str(&format!("# ExtServers: [{}]\n", list.join(" ")));
        }
        if !self.invalid_nameservers.is_empty() {
            out.push_str(&format!(
                "# Invalid nameservers: [{}]\n",
                self.invalid_nameservers.join(" ")
            ));
        }
        let overrides: Vec<&str> = [
            (self.ns_override, "nameservers"),
            (self.search_override, "search"),
            (self.options_override, "options"),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, n)| *n)
        .collect();
        out.push_str(&format!("# Overrides: [{}]\n", overrides.join(" ")));
        if !self.ndots_from.is_empty() {
            out.push_str(&format!("# Option ndots from: {}\n", self.ndots_from));
        }
    }
}

/// Whether an option is not a malformed ndots (`ndots`, `ndots:`, `ndots:-1`, `ndots:x`).
fn valid_ndots(opt: &str) -> bool {
    match opt.split_once(':') {
        Some(("ndots", v)) => v.parse::<u32>().is_ok(),
        None => opt != "ndots",
        _ => true,
    }
}

#[cfg(test)]
mod tests;
