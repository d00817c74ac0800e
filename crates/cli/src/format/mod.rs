//! Output formatting: docker's table writer and formatter contexts (`ps`, `images`) over the
//! `gotemplate` engine, JSON indentation and the progress stream.

pub mod container;
pub mod ids;
pub mod image;
pub mod json_indent;
pub mod jsonmessage;
pub mod network;
pub mod row;
pub mod stats;

pub mod table;
pub mod units;

use api_types::time::Zone;
use gotemplate::{ObjKind, Value};

/// The local time zone as Go's `time.Local` finds it: the zone named by `TZ` (empty: UTC;
/// a leading `:` ignored; a relative name under `/usr/share/zoneinfo`), else
/// `/etc/localtime`, else UTC. Read once.
pub fn local_zone() -> &'static Zone {
    static LOCAL: std::sync::OnceLock<Zone> = std::sync::OnceLock::new();
    LOCAL.get_or_init(|| {
        let path = match std::env::var("TZ") {
            Ok(tz) if tz.is_empty() => return Zone::utc(),
            Ok(tz) => {
                let tz = tz.trim_start_matches(':').to_string();
                if tz.starts_with('/') {
                    tz
                } else {
                    format!("/usr/share/zoneinfo/{tz}")
                }
            }
            Err(_) => "/etc/localtime".into(),
        };
        std::fs::read(path)
            .ok()
            .and_then(|b| Zone::from_tzif(&b))
            .unwrap_or_else(Zone::utc)
    })
}

/// A formatter context's method that returns a string and takes no argument (docker's
/// `(c *xContext) Name() string`): `value` is `None` when the context has no such method.
pub fn string_method(
    name: &str,
    args: &[Value],
    value: Option<String>,
) -> Option<Result<Value, String>> {
    let v = value?;
    if !args.is_empty() {
        return Some(Err(format!(
            "wrong number of args for {name}: want 0 got {}",
            args.len()
        )));
    }
    Some(Ok(Value::Str(v)))
}

/// `{{json .}}` of a context made of string methods: the methods' values by name.
pub fn string_fields_json(fields: &[&str], get: impl Fn(&str) -> Option<String>) -> Value {
    Value::Obj(
        ObjKind::Map,
        fields
            .iter()
            .filter_map(|f| Some((f.to_string(), Value::Str(get(f)?))))
            .collect(),
    )
}
