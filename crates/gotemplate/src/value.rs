//! The values a template works on, and how Go's `fmt` prints them.
//!
//! Docker templates run over Go structs (typed inspect results) or over the formatter
//! contexts of `ps`/`images` (objects with methods). Here both become a [`Value`]: JSON
//! objects decoded with their key order kept, marked `Struct` (printed `{a b}`) or `Map`
//! (printed `map[k:v]`, sorted) by the Go type docker's field has, and [`Object`]s that
//! answer field and method lookups themselves.

use std::fmt::Write as _;
use std::rc::Rc;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// Whether a JSON object stands for a Go struct or a Go map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjKind {
    /// A struct: fields print in order, `{v1 v2}`.
    Struct,
    /// A map: entries print sorted, `map[k1:v1 k2:v2]`.
    Map,
}

/// An object that resolves its own fields and methods (docker's formatter contexts).
pub trait Object {
    /// The Go type name used in error messages (`*formatter.ContainerContext`).
    fn type_name(&self) -> &'static str;
    /// The value of field or method `name` called with `args`; `None` if there is none.
    fn call(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>>;
    /// What `{{json .}}` prints: every argument-less method, as a map.
    fn to_json(&self) -> Value;
}

/// A template value.
#[derive(Clone)]
pub enum Value {
    /// Go's nil (`<nil>`).
    Nil,
    /// A missing map entry (`<no value>`).
    Missing,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<Value>),
    Obj(ObjKind, Vec<(String, Value)>),
    Object(Rc<dyn Object>),
}

impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Value({})", self.to_go_string())
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Nil | Value::Missing, Value::Nil | Value::Missing) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a == b,
            (Value::Int(a), Value::Float(b)) | (Value::Float(b), Value::Int(a)) => *a as f64 == *b,
            (Value::Str(a), Value::Str(b)) => a == b,
            (Value::List(a), Value::List(b)) => a == b,
            (Value::Obj(ka, a), Value::Obj(kb, b)) => ka == kb && a == b,
            _ => false,
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Str(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Str(s)
    }
}

impl Value {
    /// Go's notion of truth: false, 0, nil, and empty strings, slices and maps are false.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Nil | Value::Missing => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Obj(ObjKind::Map, m) => !m.is_empty(),
            Value::Obj(ObjKind::Struct, _) | Value::Object(_) => true,
        }
    }

    /// The Go type name, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Nil | Value::Missing => "<nil>",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float64",
            Value::Str(_) => "string",
            Value::List(_) => "[]interface {}",
            Value::Obj(ObjKind::Map, _) => "map[string]interface {}",
            Value::Obj(ObjKind::Struct, _) => "struct",
            Value::Object(o) => o.type_name(),
        }
    }

    /// Looks up a key of a map or struct value.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Obj(_, fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The value as `fmt.Sprint` prints it.
    pub fn to_go_string(&self) -> String {
        let mut s = String::new();
        self.write_go(&mut s, true);
        s
    }

    fn write_go(&self, out: &mut String, top: bool) {
        match self {
            Value::Nil => out.push_str("<nil>"),
            Value::Missing => out.push_str(if top { "<no value>" } else { "<nil>" }),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Value::Float(f) => out.push_str(&go_float(*f)),
            Value::Str(s) => out.push_str(s),
            Value::List(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    v.write_go(out, false);
                }
                out.push(']');
            }
            Value::Obj(ObjKind::Map, entries) => {
                let mut sorted: Vec<&(String, Value)> = entries.iter().collect();
                sorted.sort_by(|a, b| a.0.cmp(&b.0));
                out.push_str("map[");
                for (i, (k, v)) in sorted.into_iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    out.push_str(k);
                    out.push(':');
                    v.write_go(out, false);
                }
                out.push(']');
            }
            Value::Obj(ObjKind::Struct, fields) => {
                out.push('{');
                for (i, (_, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    v.write_go(out, false);
                }
                out.push('}');
            }
            Value::Object(o) => o.to_json().write_go(out, top),
        }
    }

    /// The value as JSON, the way docker's `json` template function writes it: Go's
    /// encoder without HTML escaping, maps with sorted keys, structs in field order.
    pub fn to_json(&self) -> String {
        let mut s = String::new();
        self.write_json(&mut s, false);
        s
    }

    /// `html`: escape `<`, `>`, `&` as Go's `json.Marshal` does. Docker's formatter contexts
    /// marshal themselves that way, so their JSON keeps the escapes.
    fn write_json(&self, out: &mut String, html: bool) {
        match self {
            Value::Nil | Value::Missing => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Value::Float(f) => out.push_str(&json_float(*f)),
            Value::Str(s) => json_string(out, s, html),
            Value::List(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write_json(out, html);
                }
                out.push(']');
            }
            Value::Obj(kind, entries) => {
                let mut refs: Vec<&(String, Value)> = entries.iter().collect();
                if *kind == ObjKind::Map {
                    refs.sort_by(|a, b| a.0.cmp(&b.0));
                }
                out.push('{');
                for (i, (k, v)) in refs.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    json_string(out, k, html);
                    out.push(':');
                    v.write_json(out, html);
                }
                out.push('}');
            }
            Value::Object(o) => o.to_json().write_json(out, true),
        }
    }

    /// Decodes JSON into a value, keeping key order and classifying objects by docker's
    /// Go types (see [`classify`]).
    pub fn from_json_slice(bytes: &[u8]) -> Result<Value, serde_json::Error> {
        let raw: Raw = serde_json::from_slice(bytes)?;
        Ok(raw.into_value(""))
    }
}

/// Writes a JSON string as Go's encoder does, HTML-escaping when asked.
fn json_string(out: &mut String, s: &str, html: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            '<' if html => out.push_str("\\u003c"),
            '>' if html => out.push_str("\\u003e"),
            '&' if html => out.push_str("\\u0026"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Go's `%v` for a float64: shortest representation, exponent form below 1e-4 or from
/// 1e21 up (`strconv.FormatFloat(f, 'g', -1, 64)` with Go's `%v` thresholds).
pub fn go_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let abs = f.abs();
    if f != 0.0 && !(1e-4..1e21).contains(&abs) {
        return go_exp(f);
    }
    format!("{f}")
}

/// Go's JSON float encoding: plain decimal, exponent outside `[1e-6, 1e21)`.
fn json_float(f: f64) -> String {
    let abs = f.abs();
    if f != 0.0 && !(1e-6..1e21).contains(&abs) {
        return go_exp(f);
    }
    format!("{f}")
}

/// Shortest exponent form with Go's two-digit minimum exponent: `1e+21`, `1.5e-07`.
fn go_exp(f: f64) -> String {
    let s = format!("{f:e}");
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let (sign, digits) = match exp.strip_prefix('-') {
        Some(d) => ('-', d),
        None => ('+', exp),
    };
    format!("{mant}e{sign}{digits:0>2}")
}

/// Fields whose Go type is a map (printed `map[…]`, keys sorted).
const MAP_FIELDS: &[&str] = &[
    "Labels",
    "Volumes",
    "ExposedPorts",
    "Ports",
    "Networks",
    "PortBindings",
    "Options",
    "DriverOpts",
    "Data",
    "Sysctls",
    "Tmpfs",
    "StorageOpt",
    "Annotations",
    "Details",
    "Runtimes",
    "IndexConfigs",
    "Attributes",
];

/// Fields whose Go type is a slice: `null` prints `[]`, as a nil slice does.
const LIST_FIELDS: &[&str] = &[
    "Cmd",
    "Entrypoint",
    "Env",
    "Binds",
    "Links",
    "CapAdd",
    "CapDrop",
    "Dns",
    "DnsOptions",
    "DnsSearch",
    "ExtraHosts",
    "GroupAdd",
    "SecurityOpt",
    "VolumesFrom",
    "Mounts",
    "Ulimits",
    "OnBuild",
    "Shell",
    "ExecIDs",
    "Args",
    "RepoTags",
    "RepoDigests",
    "Layers",
    "Devices",
    "DeviceRequests",
    "DeviceCgroupRules",
    "MaskedPaths",
    "ReadonlyPaths",
    "Aliases",
    "DNSNames",
    "Warnings",
    "Names",
    "Processes",
    "Titles",
    "BlkioWeightDevice",
    "BlkioDeviceReadBps",
    "BlkioDeviceWriteBps",
    "BlkioDeviceReadIOps",
    "BlkioDeviceWriteIOps",
    "ConsoleSize",
    "SecondaryIPAddresses",
    "SecondaryIPv6Addresses",
    "Links",
];

/// How the object under `key` (inside `parent`) is typed in docker's Go structs.
pub fn classify(parent: &str, key: &str) -> ObjKind {
    if MAP_FIELDS.contains(&key) || (key == "Config" && parent == "LogConfig") {
        ObjKind::Map
    } else {
        ObjKind::Struct
    }
}

/// JSON decoded with key order kept (serde_json's `Map` sorts without `preserve_order`).
enum Raw {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<Raw>),
    Obj(Vec<(String, Raw)>),
}

impl Raw {
    fn into_value(self, key: &str) -> Value {
        self.into_value_in("", key)
    }

    fn into_value_in(self, parent: &str, key: &str) -> Value {
        match self {
            Raw::Null if LIST_FIELDS.contains(&key) => Value::List(vec![]),
            Raw::Null if MAP_FIELDS.contains(&key) => Value::Obj(ObjKind::Map, vec![]),
            Raw::Null => Value::Nil,
            Raw::Bool(b) => Value::Bool(b),
            Raw::Int(i) => Value::Int(i),
            Raw::Float(f) => Value::Float(f),
            Raw::Str(s) => Value::Str(s),
            Raw::List(items) => Value::List(
                items
                    .into_iter()
                    .map(|r| r.into_value_in(key, ""))
                    .collect(),
            ),
            Raw::Obj(entries) => {
                // Objects whose keys are not Go field names can only be maps.
                let kind = if entries
                    .iter()
                    .any(|(k, _)| !k.starts_with(|c: char| c.is_ascii_uppercase()))
                {
                    ObjKind::Map
                } else {
                    classify(parent, key)
                };
                let fields = entries
                    .into_iter()
                    .map(|(k, v)| {
                        let v = v.into_value_in(key, &k);
                        (k, v)
                    })
                    .collect();
                Value::Obj(kind, fields)
            }
        }
    }
}

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Raw, D::Error> {
        d.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = Raw;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<Raw, E> {
        Ok(Raw::Null)
    }
    fn visit_none<E>(self) -> Result<Raw, E> {
        Ok(Raw::Null)
    }
    fn visit_bool<E>(self, b: bool) -> Result<Raw, E> {
        Ok(Raw::Bool(b))
    }
    fn visit_i64<E>(self, i: i64) -> Result<Raw, E> {
        Ok(Raw::Int(i))
    }
    fn visit_u64<E>(self, u: u64) -> Result<Raw, E> {
        Ok(i64::try_from(u)
            .map(Raw::Int)
            .unwrap_or(Raw::Float(u as f64)))
    }
    fn visit_f64<E>(self, f: f64) -> Result<Raw, E> {
        Ok(Raw::Float(f))
    }
    fn visit_str<E>(self, s: &str) -> Result<Raw, E> {
        Ok(Raw::Str(s.to_string()))
    }
    fn visit_string<E>(self, s: String) -> Result<Raw, E> {
        Ok(Raw::Str(s))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw, A::Error> {
        let mut v = Vec::new();
        while let Some(x) = seq.next_element()? {
            v.push(x);
        }
        Ok(Raw::List(v))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
        let mut v = Vec::new();
        while let Some((k, x)) = map.next_entry::<String, Raw>()? {
            v.push((k, x));
        }
        Ok(Raw::Obj(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_like_go_fmt() {
        let v = Value::from_json_slice(
            br#"{"State":{"Status":"running","Pid":42,"Health":null},
                 "Config":{"Labels":{"b":"2","a":"1"},"Cmd":["sh","-c"],"Entrypoint":null,"Env":null},
                 "HostConfig":{"LogConfig":{"Type":"json-file","Config":{}}}}"#,
        )
        .unwrap();
        let cfg = v.get("Config").unwrap();
        assert_eq!(cfg.get("Labels").unwrap().to_go_string(), "map[a:1 b:2]");
        assert_eq!(cfg.get("Cmd").unwrap().to_go_string(), "[sh -c]");
        assert_eq!(cfg.get("Entrypoint").unwrap().to_go_string(), "[]");
        assert_eq!(v.get("State").unwrap().to_go_string(), "{running 42 <nil>}");
        let lc = v.get("HostConfig").unwrap().get("LogConfig").unwrap();
        assert_eq!(lc.to_go_string(), "{json-file map[]}");
        assert_eq!(Value::Missing.to_go_string(), "<no value>");
    }

    #[test]
    fn json_keeps_struct_order_and_sorts_maps() {
        let v =
            Value::from_json_slice(br#"{"Z":1,"A":{"Labels":{"y":"<b>","x":"\u0001"}}}"#).unwrap();
        assert_eq!(
            v.to_json(),
            r#"{"Z":1,"A":{"Labels":{"x":"\u0001","y":"<b>"}}}"#
        );
    }

    #[test]
    fn floats_like_go() {
        assert_eq!(go_float(1.5), "1.5");
        assert_eq!(go_float(1e21), "1e+21");
        assert_eq!(go_float(0.00001), "1e-05");
        assert_eq!(go_float(100.0), "100");
        assert_eq!(json_float(1e-7), "1e-07");
    }
}
