//! `-p/--publish` and `--expose` (docker's `nat.ParsePortSpec`): `[ip:][hostPort:]port[/proto]`
//! with ranges, into `ExposedPorts` and `PortBindings`.

use std::collections::BTreeMap;

use api_types::PortBinding;

/// Published and exposed ports of a container.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Ports {
    /// `"80/tcp"` keys.
    pub exposed: BTreeMap<String, ()>,
    pub bindings: BTreeMap<String, Vec<PortBinding>>,
}

fn split_proto(raw: &str) -> (String, String) {
    let mut parts = raw.splitn(2, '/');
    let port = parts.next().unwrap_or("");
    match parts.next() {
        _ if port.is_empty() => (String::new(), String::new()),
        None | Some("") => ("tcp".into(), port.into()),
        Some(p) => (p.into(), port.into()),
    }
}

fn port_range(s: &str) -> Result<(u16, u16), String> {
    if s.is_empty() {
        return Err("empty string specified for ports".into());
    }
    let num = |x: &str| {
        x.parse::<u16>()
            .map_err(|_| format!("strconv.ParseUint: parsing {x:?}: invalid syntax"))
    };
    match s.split_once('-') {
        None => {
            let p = num(s)?;
            Ok((p, p))
        }
        Some((a, b)) => {
            let (a, b) = (num(a)?, num(b)?);
            if b < a {
                return Err(format!("invalid range specified for port: {s}"));
            }
            Ok((a, b))
        }
    }
}

fn valid_ip(ip: &str) -> bool {
    ip.parse::<std::net::IpAddr>().is_ok()
}

impl Ports {
    /// Adds one `-p` value.
    pub fn publish(&mut self, raw: &str) -> Result<(), String> {
        let parts: Vec<&str> = raw.split(':').collect();
        let n = parts.len();
        let container = parts[n - 1];
        let (mut ip, host) = match n {
            1 => (String::new(), ""),
            2 => (String::new(), parts[0]),
            3 => (parts[0].to_string(), parts[1]),
            _ => (parts[..n - 2].join(":"), parts[n - 2]),
        };
        let (proto, container) = split_proto(container);
        if ip.starts_with('[') {
            ip = ip.trim_start_matches('[').trim_end_matches(']').to_string();
        }
        if !ip.is_empty() && !valid_ip(&ip) {
            return Err(format!("invalid IP address: {ip}"));
        }
        if container.is_empty() {
            return Err(format!("no port specified: {raw}<empty>"));
        }
        let (start, end) =
            port_range(&container).map_err(|_| format!("invalid containerPort: {container}"))?;
        let (hstart, hend) = if host.is_empty() {
            (0, 0)
        } else {
            port_range(host).map_err(|_| format!("invalid hostPort: {host}"))?
        };
        if !host.is_empty() && (end - start) != (hend - hstart) && end != start {
            return Err(format!(
                "invalid ranges specified for container and host Ports: {container} and {host}"
            ));
        }
        let proto = proto.to_lowercase();
        if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
            return Err(format!("invalid proto: {proto}"));
        }
        for i in 0..=(end - start) {
            let key = format!("{}/{proto}", start + i);
            let mut host_port = if host.is_empty() {
                String::new()
            } else {
                (hstart + i).to_string()
            };
            if start == end && hstart != hend {
                host_port = format!("{host_port}-{hend}");
            }
            self.exposed.insert(key.clone(), ());
            self.bindings.entry(key).or_default().push(PortBinding {
                host_ip: ip.clone(),
                host_port,
            });
        }
        Ok(())
    }

    /// Adds one `--expose` value.
    pub fn expose(&mut self, raw: &str) -> Result<(), String> {
        if raw.contains(':') {
            return Err(format!("invalid port format for --expose: {raw}"));
        }
        let (proto, port) = split_proto(raw);
        let (start, end) = port_range(&port)
            .map_err(|e| format!("invalid range format for --expose: {raw}, error: {e}"))?;
        for p in start..=end {
            self.exposed.insert(format!("{p}/{proto}"), ());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(raw: &str) -> Ports {
        let mut p = Ports::default();
        p.publish(raw).unwrap();
        p
    }

    #[test]
    fn publish_forms() {
        let p = one("8080:80");
        assert_eq!(
            p.bindings["80/tcp"],
            vec![PortBinding {
                host_ip: String::new(),
                host_port: "8080".into()
            }]
        );
        let p = one("127.0.0.1::53/udp");
        assert_eq!(
            p.bindings["53/udp"][0],
            PortBinding {
                host_ip: "127.0.0.1".into(),
                host_port: String::new()
            }
        );
        let p = one("[::1]:8080:80");
        assert_eq!(p.bindings["80/tcp"][0].host_ip, "::1");
        let p = one("8000-8001:80-81");
        assert_eq!(p.bindings["81/tcp"][0].host_port, "8001");
        let p = one("8000-8010:80");
        assert_eq!(p.bindings["80/tcp"][0].host_port, "8000-8010");
        assert!(one("80").exposed.contains_key("80/tcp"));
        let mut p = Ports::default();
        assert_eq!(
            p.publish("1.2.3:80:80").unwrap_err(),
            "invalid IP address: 1.2.3"
        );
        assert_eq!(p.publish("80:x").unwrap_err(), "invalid containerPort: x");
        assert_eq!(p.publish("80/foo").unwrap_err(), "invalid proto: foo");
        assert!(p.publish("1-2:80-82").is_err());
    }

    #[test]
    fn expose_forms() {
        let mut p = Ports::default();
        p.expose("90-91/udp").unwrap();
        assert!(p.exposed.contains_key("91/udp"));
        assert_eq!(
            p.expose("1:2").unwrap_err(),
            "invalid port format for --expose: 1:2"
        );
    }
}
