//! Docker's `filters` query parameter: a JSON object mapping a filter name to its values,
//! either `{"label":{"a=b":true}}` (current) or `{"label":["a=b"]}` (API < 1.22).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

/// A parsed `filters` argument.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters(pub BTreeMap<String, BTreeSet<String>>);

/// A `filters` value that is not valid JSON of either accepted shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError(pub String);

impl std::fmt::Display for FilterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FilterError {}

impl FilterError {
    /// Always a bad request.
    pub fn kind(&self) -> errdefs::ErrorKind {
        errdefs::ErrorKind::InvalidArgument
    }
}

impl Filters {
    /// Parses the raw query value; empty means no filters.
    pub fn parse(raw: &str) -> Result<Filters, FilterError> {
        if raw.trim().is_empty() {
            return Ok(Filters::default());
        }
        let v: Value = serde_json::from_str(raw)
            .map_err(|e| FilterError(format!("invalid filter '{raw}': {e}")))?;
        let Value::Object(obj) = v else {
            return Err(FilterError(format!(
                "invalid filter '{raw}': not an object"
            )));
        };
        let mut out = BTreeMap::new();
        for (name, vals) in obj {
            let set: BTreeSet<String> = match vals {
                Value::Object(m) => m
                    .into_iter()
                    .filter(|(_, on)| on.as_bool().unwrap_or(false))
                    .map(|(k, _)| k)
                    .collect(),
                Value::Array(a) => a
                    .into_iter()
                    .map(|x| match x {
                        Value::String(s) => Ok(s),
                        other => Err(FilterError(format!(
                            "invalid filter '{name}': value {other} is not a string"
                        ))),
                    })
                    .collect::<Result<_, _>>()?,
                other => {
                    return Err(FilterError(format!(
                        "invalid filter '{name}': {other} is not a list or map"
                    )))
                }
            };
            out.insert(name, set);
        }
        Ok(Filters(out))
    }

    /// Serialises in the current map form.
    pub fn to_json(&self) -> String {
        let obj: serde_json::Map<String, Value> = self
            .0
            .iter()
            .map(|(k, vs)| {
                let m: serde_json::Map<String, Value> =
                    vs.iter().map(|v| (v.clone(), Value::Bool(true))).collect();
                (k.clone(), Value::Object(m))
            })
            .collect();
        Value::Object(obj).to_string()
    }

    /// Adds one `name=value` filter.
    pub fn add(&mut self, name: &str, value: &str) {
        self.0
            .entry(name.to_string())
            .or_default()
            .insert(value.to_string());
    }

    /// The values of one filter (empty when absent).
    pub fn get(&self, name: &str) -> impl Iterator<Item = &str> {
        self.0.get(name).into_iter().flatten().map(String::as_str)
    }

    /// Whether the filter is present at all.
    pub fn contains(&self, name: &str) -> bool {
        self.0.get(name).is_some_and(|s| !s.is_empty())
    }

    /// Fails naming the first filter not in `allowed`, as dockerd does (`invalid filter 'x'`).
    pub fn validate(&self, allowed: &[&str]) -> Result<(), FilterError> {
        match self.0.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(k) => Err(FilterError(format!("invalid filter '{k}'"))),
            None => Ok(()),
        }
    }

    /// Whether `labels` satisfy every `label` filter (`key` or `key=value`; all must match).
    pub fn match_labels(&self, labels: &BTreeMap<String, String>) -> bool {
        self.get("label").all(|want| match want.split_once('=') {
            Some((k, v)) => labels.get(k).is_some_and(|have| have == v),
            None => labels.contains_key(want),
        })
    }

    /// Whether no filters are set.
    pub fn is_empty(&self) -> bool {
        self.0.values().all(BTreeSet::is_empty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_shapes() {
        let a = Filters::parse(r#"{"label":{"a=b":true},"status":{"exited":true}}"#).unwrap();
        let b = Filters::parse(r#"{"label":["a=b"],"status":["exited"]}"#).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.get("status").collect::<Vec<_>>(), vec!["exited"]);
        assert_eq!(Filters::parse(&a.to_json()).unwrap(), a);
        assert!(Filters::parse("{").is_err());
        assert!(Filters::parse(r#"{"label":3}"#).is_err());
        assert_eq!(
            a.validate(&["label"]).unwrap_err().to_string(),
            "invalid filter 'status'"
        );
    }

    #[test]
    fn label_matching() {
        let f = Filters::parse(r#"{"label":["a=b","c"]}"#).unwrap();
        let mut l = BTreeMap::new();
        l.insert("a".to_string(), "b".to_string());
        assert!(!f.match_labels(&l));
        l.insert("c".to_string(), "x".to_string());
        assert!(f.match_labels(&l));
        l.insert("a".to_string(), "z".to_string());
        assert!(!f.match_labels(&l));
    }
}
