//! `docker network ls` rows: the `networkContext` placeholders (`.ID .Name .Driver .Scope
//! .IPv4 .IPv6 .Internal .Labels .Label "k" .CreatedAt`) and the default formats.

use std::rc::Rc;

use api_types::network::Network;

use super::container::Header;
use super::ids::truncate_id;
use gotemplate::{Object, Value};

const DEFAULT_TABLE: &str = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}";

/// docker's network `newFormat`.
pub fn network_format(source: &str, quiet: bool) -> String {
    match source {
        "table" if quiet => "{{.ID}}".into(),
        "table" => DEFAULT_TABLE.into(),
        "raw" if quiet => "network_id: {{.ID}}".into(),
        "raw" => {
            "network_id: {{.ID}}\\nname: {{.Name}}\\ndriver: {{.Driver}}\\nscope: {{.Scope}}\\n"
                .into()
        }
        other => other.into(),
    }
}

/// The header of network tables.
pub fn network_header() -> Value {
    Value::Object(Rc::new(Header {
        names: vec![
            ("ID", "NETWORK ID"),
            ("Name", "NAME"),
            ("Driver", "DRIVER"),
            ("Scope", "SCOPE"),
            ("IPv4", "IPV4"),
            ("IPv6", "IPV6"),
            ("Internal", "INTERNAL"),
            ("Labels", "LABELS"),
            ("CreatedAt", "CREATED AT"),
        ],
    }))
}

const FIELDS: &[&str] = &[
    "CreatedAt",
    "Driver",
    "ID",
    "IPv4",
    "IPv6",
    "Internal",
    "Labels",
    "Name",
    "Scope",
];

/// Go's `time.Time.String()` of an RFC 3339 UTC timestamp: `2006-01-02 15:04:05.999999999
/// +0000 UTC`.
fn go_utc_string(rfc3339: &str) -> String {
    let t = rfc3339.trim_end_matches('Z').replacen('T', " ", 1);
    let t = match t.split_once('.') {
        Some((whole, frac)) => {
            let frac = frac.trim_end_matches('0');
            if frac.is_empty() {
                whole.to_string()
            } else {
                format!("{whole}.{frac}")
            }
        }
        None => t,
    };
    format!("{t} +0000 UTC")
}

/// One network as a template object.
pub struct NetworkContext {
    pub n: Network,
    pub trunc: bool,
}

impl NetworkContext {
    fn get(&self, name: &str) -> Option<String> {
        let n = &self.n;
        Some(match name {
            "ID" if self.trunc => truncate_id(&n.id).to_string(),
            "ID" => n.id.clone(),
            "Name" => n.name.clone(),
            "Driver" => n.driver.clone(),
            "Scope" => n.scope.clone(),
            "IPv4" => n.enable_ipv4.to_string(),
            "IPv6" => n.enable_ipv6.to_string(),
            "Internal" => n.internal.to_string(),
            "Labels" => {
                let mut l: Vec<String> = n.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
                l.sort();
                l.join(",")
            }
            "CreatedAt" => go_utc_string(&n.created),
            _ => return None,
        })
    }
}

impl Object for NetworkContext {
    fn type_name(&self) -> &'static str {
        "*network.networkContext"
    }

    fn call(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        if name == "Label" {
            return Some(match args {
                [Value::Str(k)] => Ok(Value::Str(
                    self.n.labels.get(k).cloned().unwrap_or_default(),
                )),
                _ => Err(format!(
                    "wrong number of args for Label: want 1 got {}",
                    args.len()
                )),
            });
        }
        super::string_method(name, args, self.get(name))
    }

    fn to_json(&self) -> Value {
        super::string_fields_json(FIELDS, |f| self.get(f))
    }
}

/// The rows of `network ls`.
pub fn network_rows(networks: Vec<Network>, trunc: bool) -> Vec<Value> {
    networks
        .into_iter()
        .map(|n| Value::Object(Rc::new(NetworkContext { n, trunc })))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_at_like_go() {
        assert_eq!(
            go_utc_string("2026-12-07T14:56:13.278793730Z"),
            "2026-12-07 14:56:13.27879373 +0000 UTC"
        );
        assert_eq!(
            go_utc_string("2026-12-07T14:56:13Z"),
            "2026-12-07 14:56:13 +0000 UTC"
        );
    }
}
