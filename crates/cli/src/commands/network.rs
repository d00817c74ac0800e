//! `network create/connect/disconnect/inspect/ls/prune/rm` and `port`, as the docker CLI
//! prints them.

use std::collections::BTreeMap;

use api_types::network::{
    EndpointIpamConfig, EndpointSettings, Ipam, IpamConfig, NetworkCreateRequest,
};

use super::{eprintln, print, println, Ctx};
use crate::args::{
    NetworkCommand, NetworkConnectArgs, NetworkCreateArgs, NetworkLsArgs, NetworkRmArgs, PortArgs,
    PruneArgs,
};
use crate::error::CliError;
use crate::format::network::{network_format, network_header, network_rows};
use crate::format::table::render;
use crate::opts::filters;

/// Runs one `network` subcommand.
pub async fn network(ctx: &Ctx, cmd: NetworkCommand) -> Result<(), CliError> {
    use NetworkCommand as N;
    match cmd {
        N::Create(a) => create(ctx, a).await,
        N::Connect(a) => connect(ctx, a).await,
        N::Disconnect(a) => Ok(ctx
            .client
            .network_disconnect(&a.network, &a.container, a.force)
            .await?),
        N::Inspect(a) => {
            super::inspect::run_inspect(&a.names, a.format.as_deref(), |name| async move {
                ctx.client
                    .get_raw(&format!("/networks/{name}"))
                    .await
                    .map_err(CliError::from)
            })
            .await
        }
        N::Ls(a) => ls(ctx, a).await,
        N::Prune(a) => prune(ctx, a).await,
        N::Rm(a) => rm(ctx, a).await,
    }
}

/// Whether `data` (an address or a CIDR) is in `subnet`, as docker's `subnetMatches`.
fn subnet_matches(subnet: &str, data: &str) -> Result<bool, CliError> {
    let net: ipnet::IpNet = subnet
        .parse()
        .map_err(|_| CliError::new(format!("invalid subnet: invalid CIDR address: {subnet}")))?;
    let ip: std::net::IpAddr = match data.split_once('/') {
        Some((ip, _)) => ip.parse(),
        None => data.parse(),
    }
    .map_err(|_| CliError::new(format!("invalid CIDR address: {data}")))?;
    Ok(net.contains(&ip))
}

/// docker's `createIPAMConfig`: subnets with their ranges, gateways and aux addresses.
fn ipam_config(a: &NetworkCreateArgs) -> Result<Ipam, CliError> {
    if a.subnet.len() < a.ip_range.len() || a.subnet.len() < a.gateway.len() {
        return Err(CliError::new(
            "every ip-range or gateway must have a corresponding subnet",
        ));
    }
    let mut configs: Vec<IpamConfig> = Vec::new();
    for s in &a.subnet {
        for c in &configs {
            if subnet_matches(s, &c.subnet)? || subnet_matches(&c.subnet, s)? {
                return Err(CliError::new(
                    "multiple overlapping subnet configuration is not supported",
                ));
            }
        }
        configs.push(IpamConfig {
            subnet: s.clone(),
            ..Default::default()
        });
    }
    let attach = |configs: &mut Vec<IpamConfig>, value: &str, what: &str| -> Result<(), CliError> {
        let mut matched = false;
        for c in configs.iter_mut() {
            if !subnet_matches(&c.subnet.clone(), value)? {
                continue;
            }
            let slot = if what == "range" {
                &mut c.ip_range
            } else {
                &mut c.gateway
            };
            if !slot.is_empty() {
                return Err(CliError::new(if what == "range" {
                    format!("cannot configure multiple ranges ({value}, {slot}) on the same subnet ({})", c.subnet)
                } else {
                    format!("cannot configure multiple gateways ({value}, {slot}) for the same subnet ({})", c.subnet)
                }));
            }
            *slot = value.to_string();
            matched = true;
        }
        if !matched {
            return Err(CliError::new(format!(
                "no matching subnet for {what} {value}"
            )));
        }
        Ok(())
    };
    for r in &a.ip_range {
        attach(&mut configs, r, "range")?;
    }
    for g in &a.gateway {
        attach(&mut configs, g, "gateway")?;
    }
    for (k, v) in super::kv_map(&a.aux_address) {
        let mut matched = false;
        for c in configs.iter_mut() {
            if subnet_matches(&c.subnet.clone(), &v)? {
                c.aux_addresses.insert(k.clone(), v.clone());
                matched = true;
            }
        }
        if !matched {
            return Err(CliError::new(format!(
                "no matching subnet for aux-address {v}"
            )));
        }
    }
    Ok(Ipam {
        driver: a.ipam_driver.clone(),
        options: Some(super::kv_map(&a.ipam_opt)),
        config: Some(configs),
    })
}

async fn create(ctx: &Ctx, a: NetworkCreateArgs) -> Result<(), CliError> {
    for l in &a.label {
        crate::opts::values::validate_label(l).map_err(|e| {
            CliError::status(
                format!("invalid argument {l:?} for \"--label\" flag: {e}"),
                125,
            )
        })?;
    }
    let req = NetworkCreateRequest {
        name: a.name.clone(),
        driver: a.driver.clone(),
        scope: a.scope.clone().unwrap_or_default(),
        enable_ipv4: a.ipv4,
        enable_ipv6: a.ipv6,
        ipam: Some(ipam_config(&a)?),
        internal: a.internal,
        attachable: a.attachable,
        ingress: a.ingress,
        config_only: a.config_only,
        config_from: a
            .config_from
            .clone()
            .map(|n| api_types::network::ConfigReference { network: n }),
        options: Some(super::kv_map(&a.opt)),
        labels: Some(super::kv_map(&a.label)),
        ..Default::default()
    };
    let resp = ctx.client.network_create(&req).await?;
    println(&resp.id);
    Ok(())
}

async fn connect(ctx: &Ctx, a: NetworkConnectArgs) -> Result<(), CliError> {
    let mut driver_opts = BTreeMap::new();
    for o in &a.driver_opt {
        match o.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                driver_opts.insert(k.trim().to_string(), v.trim().to_string());
            }
            _ => {
                return Err(CliError::new(
                    "invalid key/value pair format in driver options",
                ))
            }
        }
    }
    let settings = EndpointSettings {
        ipam_config: Some(EndpointIpamConfig {
            ipv4_address: a.ip.clone().unwrap_or_default(),
            ipv6_address: a.ip6.clone().unwrap_or_default(),
            link_local_ips: a.link_local_ip.clone(),
        }),
        links: (!a.link.is_empty()).then(|| a.link.clone()),
        aliases: Some(a.alias.clone()),
        driver_opts: Some(driver_opts),
        gw_priority: (a.gw_priority != 0).then_some(a.gw_priority),
        ..Default::default()
    };
    ctx.client
        .network_connect(&a.network, &a.container, Some(settings))
        .await?;
    Ok(())
}

async fn ls(ctx: &Ctx, a: NetworkLsArgs) -> Result<(), CliError> {
    let f = filters(&a.filter).map_err(CliError::new)?;
    let mut list = ctx.client.network_list(&f).await?;
    list.sort_by(|x, y| natural_cmp(&x.name, &y.name));
    let mut format = a.format.clone().unwrap_or_default();
    if format.is_empty() {
        format = match &ctx.config.networks_format {
            Some(f) if !a.quiet && !f.is_empty() => f.clone(),
            _ => "table".into(),
        };
    }
    let format = network_format(&format, a.quiet);
    let out = render(&format, &network_header(), &network_rows(list, !a.no_trunc))
        .map_err(|e| CliError::new(e.to_string()))?;
    print(&out);
    Ok(())
}

async fn prune(ctx: &Ctx, a: PruneArgs) -> Result<(), CliError> {
    let f = filters(&a.filter).map_err(CliError::new)?;
    if !a.force
        && !super::rm::confirm("WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue?")
    {
        return Err(CliError::exit(1));
    }
    let report = ctx.client.networks_prune(&f).await?;
    let deleted = report.networks_deleted.unwrap_or_default();
    if !deleted.is_empty() {
        let mut out = String::from("Deleted Networks:\n");
        for n in &deleted {
            out.push_str(n);
            out.push('\n');
        }
        println(&out);
    }
    Ok(())
}

async fn rm(ctx: &Ctx, a: NetworkRmArgs) -> Result<(), CliError> {
    let mut failed = false;
    for n in &a.networks {
        match ctx.client.network_remove(n).await {
            Ok(()) => println(n),
            Err(e) if a.force && e.is_not_found() => {}
            Err(e) => {
                eprintln(&e.to_string());
                failed = true;
            }
        }
    }
    if failed {
        // docker's `cli.StatusError` prints its status line too.
        Err(CliError::status("exit status 1", 1))
    } else {
        Ok(())
    }
}

/// `berth port CONTAINER [PRIVATE_PORT[/PROTO]]`.
pub async fn port(ctx: &Ctx, a: PortArgs) -> Result<(), CliError> {
    let c = ctx.client.container_inspect(&a.container, false).await?;
    let join = |ip: &str, port: &str| {
        if ip.contains(':') {
            format!("[{ip}]:{port}")
        } else {
            format!("{ip}:{port}")
        }
    };
    let mut out = Vec::new();
    let ports = &c.network_settings.ports;
    match &a.port {
        Some(p) => {
            let (num, proto) = p.split_once('/').unwrap_or((p, ""));
            let proto = if proto.is_empty() { "tcp" } else { proto };
            if num.parse::<u16>().is_err() {
                return Err(CliError::new(format!(
                    "Error: invalid port ({num}): strconv.ParseUint: parsing {num:?}: invalid syntax"
                )));
            }
            let frontends = ports
                .get(&format!("{num}/{proto}"))
                .and_then(|b| b.as_ref())
                .filter(|b| !b.is_empty())
                .ok_or_else(|| {
                    CliError::new(format!(
                        "Error: No public port '{p}' published for {}",
                        a.container
                    ))
                })?;
            for f in frontends {
                out.push(join(&f.host_ip, &f.host_port));
            }
        }
        None => {
            for (from, frontends) in ports {
                for f in frontends.iter().flatten() {
                    out.push(format!("{from} -> {}", join(&f.host_ip, &f.host_port)));
                }
            }
        }
    }
    if !out.is_empty() {
        out.sort_by(|x, y| natural_cmp(x, y));
        println(&out.join("\n"));
    }
    Ok(())
}

/// `sortorder.NaturalLess` as an ordering: runs of digits compare as numbers.
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i].is_ascii_digit() && b[j].is_ascii_digit() {
            let si = i;
            while i < a.len() && a[i].is_ascii_digit() {
                i += 1;
            }
            let sj = j;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            let na = std::str::from_utf8(&a[si..i])
                .unwrap_or("")
                .trim_start_matches('0');
            let nb = std::str::from_utf8(&b[sj..j])
                .unwrap_or("")
                .trim_start_matches('0');
            let ord = na.len().cmp(&nb.len()).then(na.cmp(nb));
            if ord != Ordering::Equal {
                return ord;
            }
        } else {
            if a[i] != b[j] {
                return a[i].cmp(&b[j]);
            }
            i += 1;
            j += 1;
        }
    }
    (a.len() - i).cmp(&(b.len() - j))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order() {
        use std::cmp::Ordering::*;
        assert_eq!(natural_cmp("net2", "net10"), Less);
        assert_eq!(natural_cmp("a", "b"), Less);
        assert_eq!(
            natural_cmp("80/tcp -> 0.0.0.0:9", "80/tcp -> 0.0.0.0:10"),
            Less
        );
        assert_eq!(natural_cmp("x", "x"), Equal);
        assert_eq!(natural_cmp("bridge", "br"), Greater);
    }
}
