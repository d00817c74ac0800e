//! berth's packet rules, all in ONE nftables table of its own (`table inet <name>`, the name
//! configurable so several daemons and test runs coexist). Nothing here reads, flushes or
//! rewrites any other table: every change replaces our table atomically with one `nft -f`
//! transaction (`table …; delete table …; table … { … }`), which is also how the daemon
//! reconciles at start; [`Firewall::teardown`] deletes it at shutdown.
//!
//! Vocabulary: a [`BridgeRules`] is what one bridge network needs (masquerade of its subnets
//! to the outside, `--internal` confinement, isolation from the other bridges, dockerd's
//! DOCKER-ISOLATION); a [`DnatRule`] is one published port's kernel path. The table is a
//! pure function of the [`RuleSet`] ([`render`]), so tests compare text.
//!
//! Chains: `prerouting`/`output` (nat) jump to `published` for packets to a local address
//! (`fib daddr type local`); loopback destinations are left alone (they need
//! `route_localnet`, which berth never changes: the userland proxy serves them);
//! `postrouting` masquerades; `forward` (filter) drops what isolation forbids. Our accepts do
//! not override another table's drop, so a host whose own firewall drops forwarded traffic
//! still decides for it.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::net::IpAddr;
use std::process::Stdio;

use ipnet::IpNet;
use tokio::io::AsyncWriteExt;

use crate::ports::Proto;
use crate::ErrorKind;

/// A firewall failure.
#[derive(Debug, thiserror::Error)]
pub enum FirewallError {
    /// `nft` could not be run.
    #[error("run {program}: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    /// `nft` refused the transaction (nothing was changed: it is atomic).
    #[error("nft refused the rules of table inet {table}: {stderr}")]
    Nft { table: String, stderr: String },
    /// The table name is not usable.
    #[error("invalid nftables table name {name:?}: use 1-32 letters, digits, - or _, starting with a letter")]
    InvalidTable { name: String },
}

impl FirewallError {
    /// The error's kind.
    pub fn kind(&self) -> ErrorKind {
        match self {
            FirewallError::InvalidTable { .. } => ErrorKind::InvalidArgument,
            _ => ErrorKind::Internal,
        }
    }
}

/// What one bridge network needs from the firewall.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeRules {
    /// The bridge interface.
    pub bridge: String,
    /// Its subnets.
    pub subnets: Vec<IpNet>,
    /// `--internal`: nothing in or out of the bridge but to itself.
    pub internal: bool,
    /// Masquerade traffic leaving the bridge (`com.docker.network.bridge.enable_ip_masquerade`).
    pub masquerade: bool,
}

/// The kernel path of one published port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnatRule {
    /// Protocol.
    pub proto: Proto,
    /// The host address it was published on (`None` = every local address).
    pub host_ip: Option<IpAddr>,
    /// The host port.
    pub host_port: u16,
    /// The endpoint's address (same family as `host_ip` when that is set).
    pub container_ip: IpAddr,
    /// The container port.
    pub container_port: u16,
    /// The endpoint's bridge.
    pub bridge: String,
    /// Leave packets arriving from `bridge` alone so they reach the userland proxy (hairpin
    /// without forwarding); `false` when the proxy is off and hairpin is NATed in the kernel.
    pub skip_from_bridge: bool,
}

/// Everything the table holds: networks by id and published ports by endpoint id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleSet {
    /// Bridge networks by network id.
    pub networks: BTreeMap<String, BridgeRules>,
    /// Published ports by endpoint id.
    pub ports: BTreeMap<String, Vec<DnatRule>>,
}

/// Whether `name` is a usable table name.
pub fn check_table_name(name: &str) -> Result<(), FirewallError> {
    let ok = (1..=32).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(FirewallError::InvalidTable {
            name: name.to_string(),
        })
    }
}

fn family_kw(a: &IpAddr) -> &'static str {
    if a.is_ipv4() {
        "ip"
    } else {
        "ip6"
    }
}

fn net_kw(n: &IpNet) -> &'static str {
    match n {
        IpNet::V4(_) => "ip",
        IpNet::V6(_) => "ip6",
    }
}

fn sock(ip: &IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(a) => format!("{a}:{port}"),
        IpAddr::V6(a) => format!("[{a}]:{port}"),
    }
}

fn dnat_line(r: &DnatRule) -> String {
    let mut line = String::from("\t\t");
    if r.skip_from_bridge {
        let _ = write!(line, "iifname != \"{}\" ", r.bridge);
    }
    match r.host_ip {
        Some(h) => {
            let _ = write!(line, "{} daddr {h} ", family_kw(&h));
        }
        None => {
            let nfproto = if r.container_ip.is_ipv4() {
                "ipv4"
            } else {
                "ipv6"
            };
            let _ = write!(line, "meta nfproto {nfproto} ");
        }
    }
    let _ = writeln!(
        line,
        "{} dport {} dnat {} to {}",
        r.proto,
        r.host_port,
        family_kw(&r.container_ip),
        sock(&r.container_ip, r.container_port)
    );
    line
}

/// The table's full definition (the part inside `table inet <name> { … }` included).
pub fn render(table: &str, rs: &RuleSet) -> String {
    let mut s = format!("table inet {table} {{\n");
    let bridges: Vec<&str> = rs.networks.values().map(|n| n.bridge.as_str()).collect();
    s.push_str("\tset bridges {\n\t\ttype ifname\n");
    if !bridges.is_empty() {
        let quoted: Vec<String> = bridges.iter().map(|b| format!("\"{b}\"")).collect();
        let _ = writeln!(s, "\t\telements = {{ {} }}", quoted.join(", "));
    }
    s.push_str("\t}\n");
    s.push_str(
        "\tchain prerouting {\n\t\ttype nat hook prerouting priority -100; policy accept;\n\
         \t\tfib daddr type local jump published\n\t}\n\
         \tchain output {\n\t\ttype nat hook output priority -100; policy accept;\n\
         \t\tip daddr != 127.0.0.0/8 fib daddr type local jump published\n\
         \t\tip6 daddr != ::1 fib daddr type local jump published\n\t}\n",
    );
    s.push_str("\tchain published {\n");
    for r in rs.ports.values().flatten() {
        if r.host_ip.is_some_and(|h| h.is_loopback()) {
            continue; // the userland proxy's job
        }
        s.push_str(&dnat_line(r));
    }
    s.push_str("\t}\n");
    s.push_str(
        "\tchain postrouting {\n\t\ttype nat hook postrouting priority 100; policy accept;\n",
    );
    for n in rs.networks.values().filter(|n| n.masquerade && !n.internal) {
        for sub in &n.subnets {
            let _ = writeln!(
                s,
                "\t\t{} saddr {sub} oifname != \"{}\" masquerade",
                net_kw(sub),
                n.bridge
            );
        }
    }
    for r in rs.ports.values().flatten().filter(|r| !r.skip_from_bridge) {
        // Kernel hairpin: a container reaching its own published port comes back with its
        // own address as source unless masqueraded.
        let f = family_kw(&r.container_ip);
        let _ = writeln!(
            s,
            "\t\t{f} saddr {c} {f} daddr {c} {} dport {} masquerade",
            r.proto,
            r.container_port,
            c = r.container_ip
        );
    }
    s.push_str("\t}\n");
    s.push_str("\tchain forward {\n\t\ttype filter hook forward priority 0; policy accept;\n");
    for n in rs.networks.values().filter(|n| n.internal) {
        let b = &n.bridge;
        let _ = writeln!(s, "\t\tiifname \"{b}\" oifname != \"{b}\" drop");
        let _ = writeln!(s, "\t\toifname \"{b}\" iifname != \"{b}\" drop");
    }
    if bridges.len() > 1 {
        for b in &bridges {
            let _ = writeln!(
                s,
                "\t\tiifname \"{b}\" oifname @bridges oifname != \"{b}\" drop"
            );
        }
    }
    s.push_str("\t}\n}\n");
    s
}

/// Where the firewall's table lives and whether to program it at all.
#[derive(Debug, Clone)]
pub struct FirewallConfig {
    /// The table name (`table inet <name>`).
    pub table: String,
    /// `--iptables=false` turns rule programming off (published ports are then served by
    /// the userland proxy only).
    pub enabled: bool,
    /// The `nft` binary.
    pub nft: String,
}

impl FirewallConfig {
    /// Rules on, in `table`, with `nft` from PATH.
    pub fn new(table: &str) -> Result<Self, FirewallError> {
        check_table_name(table)?;
        Ok(FirewallConfig {
            table: table.to_string(),
            enabled: true,
            nft: "nft".into(),
        })
    }
}

/// The table's owner: keeps the rule set and rewrites the table on each change.
pub struct Firewall {
    cfg: FirewallConfig,
    rules: tokio::sync::Mutex<RuleSet>,
}

impl Firewall {
    /// A firewall with an empty rule set; nothing is applied until the first change or
    /// [`Firewall::reconcile`].
    pub fn new(cfg: FirewallConfig) -> Self {
        Firewall {
            cfg,
            rules: tokio::sync::Mutex::new(RuleSet::default()),
        }
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.cfg.table
    }

    /// Whether rules are programmed at all.
    pub fn enabled(&self) -> bool {
        self.cfg.enabled
    }

    /// A copy of the current rule set.
    pub async fn rules(&self) -> RuleSet {
        self.rules.lock().await.clone()
    }

    /// Applies `change` to the rule set and rewrites the table; on failure the rule set is
    /// left as it was (the kernel's table is unchanged too: the transaction is atomic).
    async fn update(&self, change: impl FnOnce(&mut RuleSet)) -> Result<(), FirewallError> {
        let mut rules = self.rules.lock().await;
        let mut next = rules.clone();
        change(&mut next);
        if next == *rules {
            return Ok(());
        }
        self.apply(&next).await?;
        *rules = next;
        Ok(())
    }

    /// Adds or replaces a network's rules.
    pub async fn set_network(&self, id: &str, net: BridgeRules) -> Result<(), FirewallError> {
        self.update(|r| {
            r.networks.insert(id.to_string(), net);
        })
        .await
    }

    /// Removes a network's rules.
    pub async fn remove_network(&self, id: &str) -> Result<(), FirewallError> {
        self.update(|r| {
            r.networks.remove(id);
        })
        .await
    }

    /// Sets an endpoint's published ports.
    pub async fn set_ports(
        &self,
        endpoint: &str,
        rules: Vec<DnatRule>,
    ) -> Result<(), FirewallError> {
        self.update(|r| {
            if rules.is_empty() {
                r.ports.remove(endpoint);
            } else {
                r.ports.insert(endpoint.to_string(), rules);
            }
        })
        .await
    }

    /// Removes an endpoint's published ports.
    pub async fn remove_ports(&self, endpoint: &str) -> Result<(), FirewallError> {
        self.update(|r| {
            r.ports.remove(endpoint);
        })
        .await
    }

    /// Replaces the whole rule set and the table at once (start-up: the engine rebuilds the
    /// set from its records, then this makes the kernel match, dropping stale rules).
    pub async fn restore(&self, set: RuleSet) -> Result<(), FirewallError> {
        let mut rules = self.rules.lock().await;
        self.apply(&set).await?;
        *rules = set;
        Ok(())
    }

    /// Rewrites the table from the current rule set.
    pub async fn reconcile(&self) -> Result<(), FirewallError> {
        let rules = self.rules.lock().await;
        self.apply(&rules).await
    }

    /// Deletes our table (shutdown). Absent is fine.
    pub async fn teardown(&self) -> Result<(), FirewallError> {
        if !self.cfg.enabled {
            return Ok(());
        }
        let t = &self.cfg.table;
        self.run_nft(format!("table inet {t}\ndelete table inet {t}\n"))
            .await
    }

    async fn apply(&self, set: &RuleSet) -> Result<(), FirewallError> {
        if !self.cfg.enabled {
            return Ok(());
        }
        let t = &self.cfg.table;
        // Create-if-absent, delete, recreate: one atomic transaction.
        let script = format!("table inet {t}\ndelete table inet {t}\n{}", render(t, set));
        self.run_nft(script).await
    }

    async fn run_nft(&self, script: String) -> Result<(), FirewallError> {
        let spawn_err = |source| FirewallError::Spawn {
            program: self.cfg.nft.clone(),
            source,
        };
        let mut child = tokio::process::Command::new(&self.cfg.nft)
            .args(["-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(spawn_err)?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(script.as_bytes())
                .await
                .map_err(spawn_err)?;
        }
        let out = child.wait_with_output().await.map_err(spawn_err)?;
        if out.status.success() {
            tracing::debug!(table = %self.cfg.table, "nft table rewritten");
            Ok(())
        } else {
            Err(FirewallError::Nft {
                table: self.cfg.table.clone(),
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            })
        }
    }
}

#[cfg(test)]
mod tests;
