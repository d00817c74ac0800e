//! What every formatter row does the same way: a method without arguments, `Label "key"`,
//! and the JSON map of its string fields (docker's `MarshalJSON` of a context).

use std::collections::BTreeMap;

use gotemplate::{ObjKind, Value};

/// A row method that takes no arguments: `value`, or docker's error for arguments given.
pub fn no_args(name: &str, args: &[Value], value: String) -> Result<Value, String> {
    if args.is_empty() {
        Ok(Value::Str(value))
    } else {
        Err(format!(
            "wrong number of args for {name}: want 0 got {}",
            args.len()
        ))
    }
}

/// `{{.Label "key"}}` over a row's labels.
pub fn label(labels: Option<&BTreeMap<String, String>>, args: &[Value]) -> Result<Value, String> {
    match args {
        [Value::Str(k)] => Ok(Value::Str(
            labels.and_then(|l| l.get(k)).cloned().unwrap_or_default(),
        )),
        [v] => Err(format!(
            "wrong type for value; expected string; got {}",
            v.type_name()
        )),
        _ => Err(format!(
            "wrong number of args for Label: want 1 got {}",
            args.len()
        )),
    }
}

/// The `{{json .}}` of a row: its `fields`, as strings.
pub fn fields_json(fields: &[&str], get: impl Fn(&str) -> Option<String>) -> Value {
    Value::Obj(
        ObjKind::Map,
        fields
            .iter()
            .filter_map(|f| Some((f.to_string(), Value::Str(get(f)?))))
            .collect(),
    )
}
