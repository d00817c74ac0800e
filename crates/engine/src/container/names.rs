//! Container names: validation (`[a-zA-Z0-9][a-zA-Z0-9_.-]+`, an optional leading `/`) and
//! generated `adjective_scientist` names for containers created without `--name`.

use rand::Rng;

use crate::error::{Error, Result};

/// Checks a user-given name and returns it without its leading `/`.
pub fn validate(name: &str) -> Result<String> {
    let bare = name.strip_prefix('/').unwrap_or(name);
    let mut chars = bare.chars();
    let ok = match chars.next() {
        Some(c) if c.is_ascii_alphanumeric() => {
            bare.len() >= 2
                && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        }
        _ => false,
    };
    if ok {
        Ok(bare.to_string())
    } else {
        Err(Error::InvalidName(bare.to_string()))
    }
}

const LEFT: &[&str] = &[
    "agile", "bold", "brave", "bright", "calm", "clever", "cosmic", "crisp", "daring", "eager",
    "fervent", "gentle", "happy", "hardy", "jolly", "keen", "kind", "lively", "lucid", "merry",
    "nimble", "noble", "patient", "placid", "proud", "quick", "quiet", "rapid", "serene", "sharp",
    "steady", "sturdy", "swift", "tender", "tidy", "vivid", "warm", "wise", "witty", "zesty",
];

const RIGHT: &[&str] = &[
    "babbage",
    "bohr",
    "curie",
    "darwin",
    "dirac",
    "euclid",
    "euler",
    "faraday",
    "fermat",
    "fermi",
    "feynman",
    "gauss",
    "hamilton",
    "hopper",
    "hypatia",
    "kepler",
    "lamarr",
    "lovelace",
    "maxwell",
    "meitner",
    "mendel",
    "newton",
    "noether",
    "pascal",
    "planck",
    "ramanujan",
    "ritchie",
    "shannon",
    "somerville",
    "tesla",
    "thompson",
    "torvalds",
    "turing",
    "volta",
    "wozniak",
    "yalow",
];

/// A random `adjective_name`; callers retry on a collision, appending a digit as dockerd does.
pub fn generate(attempt: u32) -> String {
    let mut rng = rand::rng();
    let left = LEFT[rng.random_range(0..LEFT.len())];
    let right = RIGHT[rng.random_range(0..RIGHT.len())];
    if attempt == 0 {
        format!("{left}_{right}")
    } else {
        format!("{left}_{right}{}", rng.random_range(0..10))
    }
}

/// A new 64-hex-digit container id.
pub fn new_id() -> String {
    let mut rng = rand::rng();
    let bytes: [u8; 32] = rng.random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_like_dockerd() {
        assert_eq!(validate("/web").unwrap(), "web");
        assert_eq!(validate("a.b-c_1").unwrap(), "a.b-c_1");
        for bad in ["", "/", "a", "-x", "_x", "a b", "a/b", "é1"] {
            assert!(matches!(validate(bad), Err(Error::InvalidName(_))), "{bad}");
        }
        assert!(validate(&generate(0)).is_ok());
        assert!(validate(&generate(3)).is_ok());
        let id = new_id();
        assert_eq!(id.len(), 64);
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
    }
}
