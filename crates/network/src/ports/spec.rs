//! `-p/--publish` specs, parsed exactly as the docker CLI parses them (go-connections
//! `nat.ParsePortSpec`): `[ip:][hostPort[-range]:]containerPort[-range][/tcp|udp|sctp]`.
//! Pure; no host port is taken here.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use crate::ErrorKind;

/// A transport protocol of a port (`tcp`, `udp`, `sctp` on the wire).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
}

impl Proto {
    /// `tcp`, `udp` or `sctp`.
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Sctp => "sctp",
        }
    }
}

impl fmt::Display for Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Proto {
    type Err = PortSpecError;

    /// Case-insensitive; empty is `tcp`.
    fn from_str(s: &str) -> Result<Self, PortSpecError> {
        match s.to_ascii_lowercase().as_str() {
            "" | "tcp" => Ok(Proto::Tcp),
            "udp" => Ok(Proto::Udp),
            "sctp" => Ok(Proto::Sctp),
            other => Err(PortSpecError::InvalidProto {
                proto: other.to_string(),
            }),
        }
    }
}

/// Why a spec did not parse; messages are go-connections'.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortSpecError {
    /// Nothing after the last colon.
    #[error("no port specified: {spec}<empty>")]
    NoPort { spec: String },
    /// Not tcp, udp or sctp.
    #[error("invalid proto: {proto}")]
    InvalidProto { proto: String },
    /// The host part is not an IP address.
    #[error("invalid IP address: {ip}")]
    InvalidIp { ip: String },
    /// The container port (range) is wrong.
    #[error("invalid containerPort: {value}")]
    InvalidContainerPort { value: String },
    /// The host port (range) is wrong.
    #[error("invalid hostPort: {value}")]
    InvalidHostPort { value: String },
    /// Both are ranges, of different lengths.
    #[error("invalid ranges specified for container and host Ports: {container} and {host}")]
    RangeMismatch { container: String, host: String },
    /// A port range alone (`NewPort`, `docker port`) is wrong.
    #[error("{reason}")]
    InvalidRange { reason: String },
}

impl PortSpecError {
    /// The error's kind: always the caller's input.
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::InvalidArgument
    }
}

/// One container port and how to publish it: the unit `-p` expands to (`nat.PortMapping`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortMapping {
    /// The container port.
    pub container_port: u16,
    /// Its protocol.
    pub proto: Proto,
    /// The host address, as written (empty = all addresses).
    pub host_ip: String,
    /// The host port as the API carries it: empty (ephemeral), `8080`, or `8080-8090` (pick
    /// one in the range).
    pub host_port: String,
}

impl PortMapping {
    /// The API's port key, `80/tcp`.
    pub fn port_key(&self) -> String {
        format!("{}/{}", self.container_port, self.proto)
    }
}

impl fmt::Display for PortMapping {
    /// As go-connections prints it: `[::1]:8080:80/udp`, `192.0.2.1::80/tcp`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host_ip.contains(':') {
            write!(f, "[{}]", self.host_ip)?;
        } else {
            f.write_str(&self.host_ip)?;
        }
        write!(f, ":{}:{}", self.host_port, self.port_key())
    }
}

/// Go's `strconv.ParseInt` then the 0–65535 check, with go-connections' reasons.
fn parse_port_number(raw: &str) -> Result<u16, String> {
    if raw.is_empty() {
        return Err("value is empty".into());
    }
    let digits = raw.strip_prefix(['+', '-']).unwrap_or(raw);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("invalid syntax".into());
    }
    let negative = raw.starts_with('-');
    match digits.parse::<u64>() {
        Ok(0) => Ok(0),
        Ok(n) if !negative && n <= 65535 => Ok(n as u16),
        _ => Err("value out of range (0–65535)".into()),
    }
}

/// Parses `8000` or `8000-9000` (go-connections `ParsePortRange`).
pub fn parse_port_range(ports: &str) -> Result<(u16, u16), PortSpecError> {
    let invalid = |reason: String| PortSpecError::InvalidRange { reason };
    if ports.is_empty() {
        return Err(invalid("empty string specified for ports".into()));
    }
    let (start, end) = match ports.split_once('-') {
        Some((s, e)) => (s, Some(e)),
        None => (ports, None),
    };
    let s = parse_port_number(start)
        .map_err(|e| invalid(format!("invalid start port '{start}': {e}")))?;
    let Some(end) = end.filter(|e| *e != start) else {
        return Ok((s, s));
    };
    let e =
        parse_port_number(end).map_err(|e| invalid(format!("invalid end port '{end}': {e}")))?;
    if e < s {
        return Err(invalid(format!("invalid port range: {ports}")));
    }
    Ok((s, e))
}

fn split_parts(raw: &str) -> (String, &str, &str) {
    let parts: Vec<&str> = raw.split(':').collect();
    match parts.as_slice() {
        [c] => (String::new(), "", c),
        [h, c] => (String::new(), h, c),
        [ip, h, c] => (ip.to_string(), h, c),
        many => {
            let n = many.len();
            (many[..n - 2].join(":"), many[n - 2], many[n - 1])
        }
    }
}

/// Parses one `-p` value into one mapping per container port.
pub fn parse_port_spec(raw: &str) -> Result<Vec<PortMapping>, PortSpecError> {
    let (mut ip, host_port, container) = split_parts(raw);
    let (container_port, proto) = match container.split_once('/') {
        Some((p, proto)) => (p, proto),
        None => (container, ""),
    };
    if container_port.is_empty() {
        return Err(PortSpecError::NoPort {
            spec: raw.to_string(),
        });
    }
    let proto: Proto = proto.parse()?;
    if let Some(inner) = ip.strip_prefix('[') {
        // `[::1]` — the brackets must close at the very end.
        ip = inner
            .strip_suffix(']')
            .filter(|i| !i.contains(['[', ']']))
            .ok_or_else(|| PortSpecError::InvalidIp { ip: ip.clone() })?
            .to_string();
    }
    if !ip.is_empty() && ip.parse::<IpAddr>().is_err() {
        return Err(PortSpecError::InvalidIp { ip });
    }
    let (start, end) =
        parse_port_range(container_port).map_err(|_| PortSpecError::InvalidContainerPort {
            value: container_port.to_string(),
        })?;
    let (mut host_start, mut host_end) = (0, 0);
    if !host_port.is_empty() {
        (host_start, host_end) =
            parse_port_range(host_port).map_err(|_| PortSpecError::InvalidHostPort {
                value: host_port.to_string(),
            })?;
        // A host range may be longer than a single container port: it is then the range
        // to pick a free host port from.
        if end - start != host_end - host_start && end != start {
            return Err(PortSpecError::RangeMismatch {
                container: container_port.to_string(),
                host: host_port.to_string(),
            });
        }
    }
    let count = u32::from(end - start) + 1;
    Ok((0..count)
        .map(|i| {
            let mut hp = String::new();
            if !host_port.is_empty() {
                hp = (u32::from(host_start) + i).to_string();
                if count == 1 && host_start != host_end {
                    hp = format!("{hp}-{host_end}");
                }
            }
            PortMapping {
                container_port: (u32::from(start) + i) as u16,
                proto,
                host_ip: ip.clone(),
                host_port: hp,
            }
        })
        .collect())
}

/// Parses several `-p` values: the exposed port keys (`80/tcp`) and every mapping, in
/// order (`nat.ParsePortSpecs`).
pub fn parse_port_specs(specs: &[String]) -> Result<Vec<PortMapping>, PortSpecError> {
    let mut out = Vec::new();
    for s in specs {
        out.extend(parse_port_spec(s)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
