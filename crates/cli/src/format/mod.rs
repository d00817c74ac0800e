//! Output formatting: the Go-template engine, docker's table writer and formatter contexts
//! (`ps`, `images`), human-readable durations and sizes.

pub mod container;
pub mod gotime;
pub mod image;
pub mod json_indent;
pub mod jsonmessage;
pub mod network;
pub mod reference;
pub mod table;
pub mod template;
pub mod units;

use template::{ObjKind, Value};

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
