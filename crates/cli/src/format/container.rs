//! `docker ps` rows: the `ContainerContext` placeholders (`.ID .Image .Command .CreatedAt
//! .RunningFor .Ports .State .Status .Size .Names .Labels .Label "k" .Mounts .Networks …`)
//! and the default formats.

use std::cell::Cell;
use std::rc::Rc;

use api_types::{ContainerSummary, Port};

use super::ids::truncate_id;
use super::units::{human_duration, human_size_with_precision};
use api_types::time::{go_time_string, Zone};
use gotemplate::{ObjKind, Object, Value};
use oci::Reference;

/// docker's default `ps` table.
pub const DEFAULT_TABLE: &str =
    "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";

/// The format `ps` uses: docker's `NewContainerFormat`.
pub fn container_format(source: &str, quiet: bool, size: bool) -> String {
    match source {
        "table" | "" => {
            if quiet {
                return "{{.ID}}".into();
            }
            let mut f = DEFAULT_TABLE.to_string();
            if size {
                f.push_str("\t{{.Size}}");
            }
            f
        }
        "raw" => {
            if quiet {
                return "container_id: {{.ID}}".into();
            }
            let mut f = String::from(
                "container_id: {{.ID}}\nimage: {{.Image}}\ncommand: {{.Command}}\ncreated_at: {{.CreatedAt}}\nstate: {{- pad .State 1 0}}\nstatus: {{- pad .Status 1 0}}\nnames: {{.Names}}\nlabels: {{- pad .Labels 1 0}}\nports: {{- pad .Ports 1 0}}\n",
            );
            if size {
                f.push_str("size: {{.Size}}\\n");
            }
            f
        }
        _ if quiet => "{{.ID}}".into(),
        other => other.to_string(),
    }
}

/// One container as a template object.
pub struct ContainerContext {
    pub c: ContainerSummary,
    pub trunc: bool,
    /// Current unix time, for `RunningFor`.
    pub now: f64,
    pub zone: &'static Zone,
    /// Set when the template reads `.Size` (docker then asks the daemon for sizes).
    pub size_used: Rc<Cell<bool>>,
}

const FIELDS: &[&str] = &[
    "Command",
    "CreatedAt",
    "ID",
    "Image",
    "Labels",
    "LocalVolumes",
    "Mounts",
    "Names",
    "Networks",
    "Platform",
    "Ports",
    "RunningFor",
    "Size",
    "State",
    "Status",
];

impl ContainerContext {
    fn id(&self) -> String {
        if self.trunc {
            truncate_id(&self.c.id).to_string()
        } else {
            self.c.id.clone()
        }
    }

    fn names(&self) -> String {
        let names: Vec<&str> = self
            .c
            .names
            .iter()
            .map(|n| n.strip_prefix('/').unwrap_or(n))
            .collect();
        if self.trunc {
            // Only the container's own name, not the names legacy links give it.
            if let Some(n) = names.iter().find(|n| !n.contains('/')) {
                return n.to_string();
            }
        }
        names.join(",")
    }

    fn image(&self) -> String {
        let c = &self.c;
        if c.image.is_empty() {
            return "<no image>".into();
        }
        if self.trunc {
            let t = truncate_id(&c.image_id);
            if t == truncate_id(&c.image) {
                return t.to_string();
            }
            if let Ok(r) = Reference::parse(&c.image) {
                let r = match r.tag() {
                    Some(t) => r.with_tag(t).unwrap_or(r),
                    None => r.name_only(),
                };
                return r.familiar();
            }
        }
        c.image.clone()
    }

    fn command(&self) -> String {
        let cmd = if self.trunc {
            ellipsis(&self.c.command, 20)
        } else {
            self.c.command.clone()
        };
        go_quote(&cmd)
    }

    fn size(&self) -> String {
        self.size_used.set(true);
        let rw = self.c.size_rw.unwrap_or(0);
        let root = self.c.size_root_fs.unwrap_or(0);
        let srw = human_size_with_precision(rw as f64, 3);
        if root > 0 {
            format!(
                "{srw} (virtual {})",
                human_size_with_precision(root as f64, 3)
            )
        } else {
            srw
        }
    }

    fn labels(&self) -> String {
        let mut l: Vec<String> = self
            .c
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        l.sort();
        l.join(",")
    }

    fn mounts(&self) -> String {
        let names: Vec<String> = self
            .c
            .mounts
            .iter()
            .map(|m| {
                let n = if m.name.is_empty() {
                    &m.source
                } else {
                    &m.name
                };
                if self.trunc {
                    ellipsis(n, 15)
                } else {
                    n.clone()
                }
            })
            .collect();
        names.join(",")
    }

    fn get(&self, name: &str) -> Option<Value> {
        let s = |x: String| Some(Value::Str(x));
        match name {
            "ID" => s(self.id()),
            "Names" => s(self.names()),
            "Image" => s(self.image()),
            "Command" => s(self.command()),
            "CreatedAt" => s(go_time_string(self.c.created, self.zone)),
            "RunningFor" => s(format!(
                "{} ago",
                human_duration(self.now - self.c.created as f64)
            )),
            "Ports" => s(displayable_ports(&self.c.ports)),
            "State" => s(self.c.state.clone()),
            "Status" => s(self.c.status.clone()),
            "Size" => s(self.size()),
            "Labels" => s(self.labels()),
            "Mounts" => s(self.mounts()),
            "LocalVolumes" => s(self
                .c
                .mounts
                .iter()
                .filter(|m| m.driver == "local")
                .count()
                .to_string()),
            "Networks" => {
                let mut n: Vec<&String> = self.c.network_settings.networks.keys().collect();
                n.sort();
                s(n.into_iter().cloned().collect::<Vec<_>>().join(","))
            }
            "Platform" => Some(Value::Nil),
            _ => None,
        }
    }
}

impl Object for ContainerContext {
    fn type_name(&self) -> &'static str {
        "*formatter.ContainerContext"
    }

    fn call(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        if name == "Label" {
            return Some(match args {
                [Value::Str(k)] => Ok(Value::Str(
                    self.c.labels.get(k).cloned().unwrap_or_default(),
                )),
                [v] => Err(format!(
                    "wrong type for value; expected string; got {}",
                    v.type_name()
                )),
                _ => Err(format!(
                    "wrong number of args for Label: want 1 got {}",
                    args.len()
                )),
            });
        }
        let v = self.get(name)?;
        if !args.is_empty() {
            return Some(Err(format!(
                "wrong number of args for {name}: want 0 got {}",
                args.len()
            )));
        }
        Some(Ok(v))
    }

    fn to_json(&self) -> Value {
        Value::Obj(
            ObjKind::Map,
            FIELDS
                .iter()
                .filter_map(|f| Some((f.to_string(), self.get(f)?)))
                .collect(),
        )
    }
}

/// The header object of a table: column names by placeholder, and `Label "a.b-c"` → `c`.
pub struct Header {
    pub names: Vec<(&'static str, &'static str)>,
}

impl Object for Header {
    fn type_name(&self) -> &'static str {
        "formatter.SubHeaderContext"
    }

    fn call(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        if name == "Label" {
            let arg = args.first().map(Value::to_go_string).unwrap_or_default();
            let last = arg
                .rsplit('.')
                .next()
                .unwrap_or("")
                .replace(['-', '_'], " ");
            return Some(Ok(Value::Str(last)));
        }
        Some(Ok(self
            .names
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| Value::Str(v.to_string()))
            .unwrap_or(Value::Missing)))
    }

    fn to_json(&self) -> Value {
        Value::Obj(
            ObjKind::Map,
            self.names
                .iter()
                .map(|(k, v)| (k.to_string(), Value::Str(v.to_string())))
                .collect(),
        )
    }
}

/// The header of `ps` tables.
pub fn container_header() -> Value {
    Value::Object(Rc::new(Header {
        names: vec![
            ("ID", "CONTAINER ID"),
            ("Names", "NAMES"),
            ("Image", "IMAGE"),
            ("Command", "COMMAND"),
            ("CreatedAt", "CREATED AT"),
            ("RunningFor", "CREATED"),
            ("Ports", "PORTS"),
            ("State", "STATE"),
            ("Status", "STATUS"),
            ("Size", "SIZE"),
            ("Labels", "LABELS"),
            ("Mounts", "MOUNTS"),
            ("LocalVolumes", "LOCAL VOLUMES"),
            ("Networks", "NETWORKS"),
            ("Platform", "PLATFORM"),
        ],
    }))
}

/// Go's `strconv.Quote`.
pub fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// docker's `Ellipsis`: at most `max` display columns, ending in `…` when cut.
pub fn ellipsis(s: &str, max: usize) -> String {
    if max == 0 {
        return String::new();
    }
    let chars: Vec<char> = s.chars().collect();
    if max == 1 {
        return chars.first().map(|c| c.to_string()).unwrap_or_default();
    }
    let width = |c: char| if is_wide(c) { 2 } else { 1 };
    let total: usize = chars.iter().map(|c| width(*c)).sum();
    if total <= max {
        return s.to_string();
    }
    let mut out = String::new();
    let mut w = 0;
    for c in chars {
        if w + width(c) > max - 1 {
            break;
        }
        w += width(c);
        out.push(c);
    }
    out.push('…');
    out
}

/// East Asian wide and fullwidth characters (the ranges that matter in practice).
fn is_wide(c: char) -> bool {
    matches!(c as u32, 0x1100..=0x115F | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xA000..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6 | 0x1F300..=0x1F64F | 0x20000..=0x3FFFD)
}

/// docker's `DisplayablePorts`: `0.0.0.0:80->8080/tcp, 9988/tcp`, consecutive ports grouped.
pub fn displayable_ports(ports: &[Port]) -> String {
    let mut ports = ports.to_vec();
    ports.sort_by(|a, b| {
        (a.private_port, &a.ip, a.public_port.unwrap_or(0), &a.r#type).cmp(&(
            b.private_port,
            &b.ip,
            b.public_port.unwrap_or(0),
            &b.r#type,
        ))
    });
    let mut groups: Vec<(String, u16, u16)> = Vec::new();
    let mut result = Vec::new();
    let mut host_mappings = Vec::new();
    for p in &ports {
        let cur = p.private_port;
        let public = p.public_port.unwrap_or(0);
        let mut key = p.r#type.clone();
        if !p.ip.is_empty() {
            if public != cur {
                host_mappings.push(format!(
                    "{}->{}/{}",
                    join_host_port(&p.ip, public),
                    cur,
                    p.r#type
                ));
                continue;
            }
            key = format!("{}/{}", p.ip, p.r#type);
        }
        match groups.iter_mut().find(|g| g.0 == key) {
            None => groups.push((key, cur, cur)),
            Some(g) if cur == g.2.wrapping_add(1) => g.2 = cur,
            Some(g) => {
                result.push(form_group(&g.0, g.1, g.2));
                *g = (key, cur, cur);
            }
        }
    }
    for (k, first, last) in &groups {
        result.push(form_group(k, *first, *last));
    }
    result.extend(host_mappings);
    result.join(", ")
}

fn join_host_port(ip: &str, port: impl std::fmt::Display) -> String {
    if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
}

fn form_group(key: &str, first: u16, last: u16) -> String {
    let (ip, ty) = match key.rsplit_once('/') {
        Some((ip, ty)) => (ip, ty),
        None => ("", key),
    };
    let mut group = first.to_string();
    if first != last {
        group = format!("{group}-{last}");
    }
    if !ip.is_empty() {
        group = format!("{}->{group}", join_host_port(ip, &group));
    }
    format!("{group}/{ty}")
}

#[cfg(test)]
mod tests;
