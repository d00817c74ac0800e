//! Query-string conventions of the Engine API: booleans are `1`/`true` or `0`/`false`/empty
//! (moby's `httputils.BoolValue`), integers may be empty.

/// moby's `BoolValue`: false for `""`, `0`, `no`, `false`, `none` (any case); true otherwise.
pub fn parse_bool(v: &str) -> bool {
    !matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "" | "0" | "no" | "false" | "none"
    )
}

/// Serde helper: a query bool in moby's loose form.
pub fn de_bool<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    let s: Option<String> = serde::Deserialize::deserialize(d)?;
    Ok(s.as_deref().map(parse_bool).unwrap_or(false))
}

/// Serde helper: an optional integer that may be given as an empty string.
pub fn de_opt_i64<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let s: Option<String> = serde::Deserialize::deserialize(d)?;
    match s.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("invalid integer value '{v}'"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bools_like_moby() {
        for t in ["1", "true", "True", "yes", "anything"] {
            assert!(parse_bool(t), "{t}");
        }
        for f in ["", "0", "false", "FALSE", "no", "none"] {
            assert!(!parse_bool(f), "{f}");
        }
    }
}
