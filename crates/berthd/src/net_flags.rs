//! The networking flags of `berthd` (dockerd's names: `--bridge`, `--bip`, `--fixed-cidr`,
//! `--default-address-pool`, `--iptables`, `--ip-forward`, `--userland-proxy`, `--mtu`,
//! `--dns*`, `--host-gateway-ip`; berth's own: `--nft-table`, `--resolv-conf`) and the same
//! keys of `daemon.json`. A flag given on the command line wins over the file.

use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use engine::network::NetworkConfig;
use network::ipam::PoolSpec;
use serde::Deserialize;

/// Go's `strconv.ParseBool`, as dockerd's boolean flags take it.
fn go_bool(s: &str) -> Result<bool, String> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(format!("strconv.ParseBool: parsing {s:?}: invalid syntax")),
    }
}

/// Networking flags.
#[derive(Args, Debug, Default)]
pub struct NetFlags {
    /// Attach containers to this network bridge (default "berth0"; "none" disables the default bridge)
    #[arg(short = 'b', long = "bridge", value_name = "string")]
    pub bridge: Option<String>,
    /// Network address (and prefix) of the default bridge, e.g. 172.17.0.1/16
    #[arg(long, value_name = "CIDR")]
    pub bip: Option<String>,
    /// IPv4 subnet of the default bridge containers get addresses from
    #[arg(long = "fixed-cidr", value_name = "CIDR")]
    pub fixed_cidr: Option<String>,
    /// Default address pool for new networks: base=CIDR,size=N (repeatable)
    #[arg(long = "default-address-pool", value_name = "pool-options")]
    pub default_address_pool: Vec<String>,
    /// Program berth's nftables table (published ports, masquerade, isolation)
    #[arg(long, value_name = "bool", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = go_bool)]
    pub iptables: Option<bool>,
    /// Turn net.ipv4.ip_forward on at start
    #[arg(long = "ip-forward", value_name = "bool", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = go_bool)]
    pub ip_forward: Option<bool>,
    /// Serve loopback connections to published ports with a userland proxy
    #[arg(long = "userland-proxy", value_name = "bool", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = go_bool)]
    pub userland_proxy: Option<bool>,
    /// Name of berth's own nftables table (table inet NAME; default "berth")
    #[arg(long = "nft-table", value_name = "string")]
    pub nft_table: Option<String>,
    /// MTU of the default bridge and default of new networks (default 1500)
    #[arg(long, value_name = "int")]
    pub mtu: Option<u32>,
    /// DNS server containers use by default (repeatable)
    #[arg(long = "dns", value_name = "IP")]
    pub dns: Vec<String>,
    /// DNS search domain containers use by default (repeatable)
    #[arg(long = "dns-search", value_name = "domain")]
    pub dns_search: Vec<String>,
    /// DNS option containers use by default (repeatable)
    #[arg(long = "dns-opt", value_name = "option")]
    pub dns_opt: Vec<String>,
    /// Address --add-host NAME:host-gateway resolves to (default: the default bridge's gateway)
    #[arg(long = "host-gateway-ip", value_name = "IP")]
    pub host_gateway_ip: Option<IpAddr>,
    /// The resolv.conf containers' DNS settings and the embedded DNS server's upstreams come from (default /etc/resolv.conf)
    #[arg(long = "resolv-conf", value_name = "path")]
    pub resolv_conf: Option<PathBuf>,
}

/// `default-address-pools` entries of daemon.json.
#[derive(Debug, Deserialize)]
pub struct PoolKey {
    pub base: String,
    pub size: u8,
}

/// The networking keys of daemon.json.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct NetKeys {
    pub bridge: Option<String>,
    pub bip: Option<String>,
    pub fixed_cidr: Option<String>,
    #[serde(default)]
    pub default_address_pools: Vec<PoolKey>,
    pub iptables: Option<bool>,
    pub ip_forward: Option<bool>,
    pub userland_proxy: Option<bool>,
    pub nft_table: Option<String>,
    pub mtu: Option<u32>,
    #[serde(default)]
    pub dns: Vec<String>,
    #[serde(default)]
    pub dns_search: Vec<String>,
    #[serde(default)]
    pub dns_opts: Vec<String>,
    pub host_gateway_ip: Option<IpAddr>,
    pub resolv_conf: Option<PathBuf>,
}

/// The daemon.json keys [`NetKeys`] reads.
pub const KEYS: &[&str] = &[
    "bridge",
    "bip",
    "fixed-cidr",
    "default-address-pools",
    "iptables",
    "ip-forward",
    "userland-proxy",
    "nft-table",
    "mtu",
    "dns",
    "dns-search",
    "dns-opts",
    "host-gateway-ip",
    "resolv-conf",
];

fn list(flag: &[String], file: &[String]) -> Vec<String> {
    if flag.is_empty() {
        file.to_vec()
    } else {
        flag.to_vec()
    }
}

/// The engine's networking settings from the flags and the file.
pub fn network_config(f: &NetFlags, k: &NetKeys) -> Result<NetworkConfig> {
    let d = NetworkConfig::default();
    let bridge = f.bridge.clone().or_else(|| k.bridge.clone());
    let mut pools = Vec::new();
    for p in &f.default_address_pool {
        pools.push(
            p.parse::<PoolSpec>()
                .with_context(|| format!("--default-address-pool {p}"))?,
        );
    }
    if pools.is_empty() {
        for p in &k.default_address_pools {
            let spec = format!("base={},size={}", p.base, p.size);
            pools.push(
                spec.parse::<PoolSpec>()
                    .with_context(|| format!("default-address-pools {spec}"))?,
            );
        }
    }
    let mtu = f.mtu.or(k.mtu).unwrap_or(d.mtu);
    if !(68..=65535).contains(&mtu) {
        bail!("invalid --mtu {mtu}: must be 68 to 65535");
    }
    let bip = f.bip.clone().or_else(|| k.bip.clone()).unwrap_or_default();
    let fixed_cidr = f
        .fixed_cidr
        .clone()
        .or_else(|| k.fixed_cidr.clone())
        .unwrap_or_default();
    network::ipam::default_bridge_request(&bip, &fixed_cidr).context("--bip/--fixed-cidr")?;
    let cfg = NetworkConfig {
        bridge_flag: bridge.is_some(),
        bridge: match bridge.as_deref() {
            Some("none") => None,
            Some(b) => Some(b.to_string()),
            None => d.bridge.clone(),
        },
        bip,
        fixed_cidr,
        default_address_pools: pools,
        iptables: f.iptables.or(k.iptables).unwrap_or(d.iptables),
        ip_forward: f.ip_forward.or(k.ip_forward).unwrap_or(d.ip_forward),
        userland_proxy: f
            .userland_proxy
            .or(k.userland_proxy)
            .unwrap_or(d.userland_proxy),
        nft_table: f
            .nft_table
            .clone()
            .or_else(|| k.nft_table.clone())
            .unwrap_or(d.nft_table),
        mtu,
        dns: list(&f.dns, &k.dns),
        dns_search: list(&f.dns_search, &k.dns_search),
        dns_options: list(&f.dns_opt, &k.dns_opts),
        host_gateway_ip: f.host_gateway_ip.or(k.host_gateway_ip),
        resolv_conf: f
            .resolv_conf
            .clone()
            .or_else(|| k.resolv_conf.clone())
            .unwrap_or(d.resolv_conf),
    };
    if let Some(b) = &cfg.bridge {
        network::link::check_ifname(b).with_context(|| format!("--bridge {b}"))?;
    }
    network::firewall::check_table_name(&cfg.nft_table)?;
    for dns in &cfg.dns {
        dns.parse::<IpAddr>()
            .with_context(|| format!("--dns {dns}: not an IP address"))?;
    }
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_file() {
        let k: NetKeys = serde_json::from_str(
            r#"{"bridge":"br9","bip":"10.9.0.1/24","iptables":false,"default-address-pools":[{"base":"10.10.0.0/16","size":24}],"dns":["9.9.9.9"]}"#,
        )
        .unwrap();
        let f = NetFlags {
            iptables: Some(true),
            dns: vec!["1.1.1.1".into()],
            ..Default::default()
        };
        let c = network_config(&f, &k).unwrap();
        assert_eq!(c.bridge.as_deref(), Some("br9"));
        assert!(c.bridge_flag && c.iptables);
        assert_eq!(c.bip, "10.9.0.1/24");
        assert_eq!(c.default_address_pools.len(), 1);
        assert_eq!(c.dns, vec!["1.1.1.1"]);
        let none = NetFlags {
            bridge: Some("none".into()),
            ..Default::default()
        };
        assert!(network_config(&none, &NetKeys::default())
            .unwrap()
            .bridge
            .is_none());
        let bad = NetFlags {
            bip: Some("10.9.0.0/24".into()),
            ..Default::default()
        };
        assert!(network_config(&bad, &NetKeys::default()).is_err());
        let bad = NetFlags {
            nft_table: Some("no spaces".into()),
            ..Default::default()
        };
        assert!(network_config(&bad, &NetKeys::default()).is_err());
    }
}
