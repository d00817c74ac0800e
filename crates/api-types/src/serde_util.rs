//! Deserialisation helpers for the loose JSON that Docker clients send: `null` where a value
//! is expected, a string where a list is expected (`StrSlice`), numbers as strings.

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};

/// Deserialises `null` as the type's default, as Go's encoding/json does for value types.
pub fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A list of strings that also accepts a single string on the wire (moby's `strslice.StrSlice`):
/// `"Cmd": "echo hi"` is `["echo hi"]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StrSlice(pub Vec<String>);

impl Serialize for StrSlice {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for StrSlice {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            One(String),
            Many(Vec<String>),
        }
        match Either::deserialize(d) {
            Ok(Either::One(s)) => Ok(StrSlice(vec![s])),
            Ok(Either::Many(v)) => Ok(StrSlice(v)),
            Err(_) => Err(de::Error::custom("expected a string or a list of strings")),
        }
    }
}

impl From<Vec<String>> for StrSlice {
    fn from(v: Vec<String>) -> Self {
        StrSlice(v)
    }
}

impl std::ops::Deref for StrSlice {
    type Target = Vec<String>;
    fn deref(&self) -> &Vec<String> {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct T {
        #[serde(default, deserialize_with = "null_default")]
        s: String,
        c: Option<StrSlice>,
    }

    #[test]
    fn null_becomes_default_and_string_becomes_slice() {
        let t: T = serde_json::from_str(r#"{"s":null,"c":"echo hi"}"#).unwrap();
        assert_eq!(t.s, "");
        assert_eq!(t.c.unwrap().0, vec!["echo hi"]);
        let t: T = serde_json::from_str(r#"{"c":["a","b"]}"#).unwrap();
        assert_eq!(t.c.unwrap().0, vec!["a", "b"]);
        assert!(serde_json::from_str::<T>(r#"{"c":3}"#).is_err());
    }
}
